// SPDX-License-Identifier: GPL-2.0
/*
 * micfw power: the bootstrap's life from power-on or reset to "ready for
 * a download" (SPAD2 bit 0), and the card reset itself.
 *
 * POST codes (facts §2.1, §12.5: the real values are not known).  The
 * host's debugfs prints POSTCODE byte 0 then byte 1 as ASCII, so each code
 * is two printable characters.  micfw's own sequence:
 *
 *   PW  power good, reset released            t = 0
 *   MT  GDDR training                         t = delay / 4
 *   MR  GDDR ready                            t = delay / 2
 *   BS  bootstrap running                     t = 3 * delay / 4
 *   RD  ready for download, SPAD2 ready set   t = delay
 *
 * and on the way to the OS (micfw-bootloader.c, micfw-cardvm.c):
 *
 *   BK  boot kick accepted                    LD  images loaded, card VM started
 *   HT  card VM exited (halted)               E1..E5 boot errors (see there)
 *
 * With never-ready set the sequence stops after BS: the card never
 * becomes ready and the host's reset poll runs out (reset_failed).
 */
#include <errno.h>
#include <unistd.h>

#include "micfw.h"

static const struct {
	char code[3];
	const char *what;
} post_seq[] = {
	{ "PW", "power good" },
	{ "MT", "GDDR training" },
	{ "MR", "GDDR ready" },
	{ "BS", "bootstrap running" },
};

#define POST_STEPS ((unsigned int)G_N_ELEMENTS(post_seq))

void micfw_post(struct micfw *fw, const char code[2], const char *what)
{
	uint32_t v = (uint8_t)code[0] | (uint32_t)(uint8_t)code[1] << 8;

	mic_regfile_set_postcode(fw->rf, v);
	micfw_event("postcode code=%c%c value=0x%04x what=\"%s\"",
		    code[0], code[1], v, what);
}

uint32_t micfw_postcode(struct micfw *fw)
{
	return mic_regfile_read(fw->rf, MIC_SIDE_HOST, MIC_REG_POSTCODE);
}

const char *micfw_state_name(const struct micfw *fw)
{
	if (fw->vm_pid && fw->vm_stopped)
		return "hung";
	switch (fw->state) {
	case MICFW_RESETTING:
		return "resetting";
	case MICFW_READY:
		return "ready";
	case MICFW_BOOTING:
		return "booting";
	case MICFW_RUNNING:
		return "running";
	case MICFW_OFF:
		break;
	}
	return "off";
}

static void post_finish(struct micfw *fw)
{
	if (fw->never_ready) {
		fw->state = MICFW_OFF;
		micfw_event("ready-withheld reason=never-ready spad2=0x%08x",
			    mic_regfile_spad(fw->rf, 2));
		return;
	}
	/* facts §2.2/§10.4: boot address 64 MiB, bootstrap APIC id 0 */
	mic_regfile_post_ready(fw->rf, MIC_DEFAULT_BOOT_ADDR, 0);
	micfw_post(fw, "RD", "ready for download");
	fw->state = MICFW_READY;
	micfw_event("ready spad2=0x%08x", mic_regfile_spad(fw->rf, 2));
}

/* One step of the POST sequence; the last one posts ready. */
static bool post_step(struct micfw *fw)
{
	if (fw->post_step < POST_STEPS) {
		micfw_post(fw, post_seq[fw->post_step].code,
			   post_seq[fw->post_step].what);
		fw->post_step++;
		return true;
	}
	post_finish(fw);
	return false;
}

static gboolean post_tick(gpointer data)
{
	struct micfw *fw = data;

	if (post_step(fw))
		return G_SOURCE_CONTINUE;
	fw->post_timer = 0;
	return G_SOURCE_REMOVE;
}

void micfw_power_stop(struct micfw *fw)
{
	if (fw->post_timer)
		g_source_remove(fw->post_timer);
	fw->post_timer = 0;
}

/*
 * Run the POST sequence spread over the ready delay.  The delay is read
 * now, so a control "ready-delay" applies from the next power-on/reset.
 */
void micfw_power_on(struct micfw *fw)
{
	unsigned int interval = fw->ready_delay_ms / POST_STEPS;

	micfw_power_stop(fw);
	fw->state = MICFW_RESETTING;
	fw->post_step = 0;
	micfw_event("power-on ready_delay_ms=%u never_ready=%s",
		    fw->ready_delay_ms, fw->never_ready ? "true" : "false");
	post_step(fw);
	if (fw->ready_delay_ms == 0) {
		while (post_step(fw))
			;
		return;
	}
	fw->post_timer = g_timeout_add(interval, post_tick, fw);
}

static unsigned int drain_eventfd(int fd)
{
	uint64_t v;
	unsigned int n = 0;

	while (read(fd, &v, sizeof(v)) == sizeof(v))
		n++;
	return n;
}

/*
 * Forget every notification raised for the card that was just killed: a
 * stale "to card" kick or raised source would otherwise reach the next
 * card OS before it set anything up.  The register reset has already
 * cleared the raised words; the eventfd count is ours to clear.
 */
static void drain_stale(struct micfw *fw)
{
	unsigned int kicks = drain_eventfd(fw->efd_to_card);
	uint32_t card = mic_regfile_card_take(fw->rf);

	micfw_event("drain to_card_kicks=%u card_raised=0x%x", kicks, card);
}

/*
 * The reset cleared SICR0 behind the host device's back: "to host" makes
 * it re-evaluate its interrupt line (link-protocol.rst, micfw's side).
 */
void micfw_kick_host(struct micfw *fw)
{
	uint64_t one = 1;

	if (write(fw->efd_to_host, &one, sizeof(one)) != sizeof(one))
		micfw_event("to-host-kick-failed error=\"%s\"", g_strerror(errno));
}

/*
 * Card reset (RGCR bit 0, ARCHITECTURE §2.6): the card OS dies without a
 * goodbye, the card-side registers go back to their reset values, and the
 * bootstrap starts over.
 */
void micfw_power_reset(struct micfw *fw, const char *why)
{
	fw->resets++;
	micfw_event("reset source=%s state=%s resets=%u", why,
		    micfw_state_name(fw), fw->resets);
	micfw_power_stop(fw);
	micfw_cardvm_kill(fw, "reset");
	micfw_link_drop_card(fw);
	mic_regfile_reset_card(fw->rf);
	drain_stale(fw);
	micfw_kick_host(fw);
	micfw_power_on(fw);
}
