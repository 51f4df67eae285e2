/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mic-card: what the card role adds to the micfw link (mic_link_dev.c).
 *
 * HELLO carries no fds.  From WELCOME the card device keeps, besides the
 * register file and doorbells the link keeps, the host RAM memfd (when
 * the host device shared it) for the SMPT window; the card memory memfd
 * only serves to check that this VM's RAM is that memory.  Once up, the
 * chardev brings PEER messages (mic_card_peer.c) and notices micfw going
 * away: the card keeps running without it.
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/log.h"
#include "qapi/error.h"
#include "hw/boards.h"
#include "mic_card.h"
#include "trace.h"

/* The host RAM layout must describe a file we really got (HELLO rules). */
static bool check_host_ram(MicCardState *s, Error **errp)
{
    const struct mic_link_welcome *w = &s->link.welcome;

    if (!w->host_ram_below_4g && !w->host_ram_above_4g) {
        return true;                /* no host memory behind the window */
    }
    if (w->host_ram_below_4g > MIC_CARD_HOST_HIGH_BASE ||
        w->host_ram_above_4g > MIC_CARD_HOST_MAX_HIGH ||
        !QEMU_IS_ALIGNED(w->host_ram_below_4g, qemu_real_host_page_size()) ||
        !QEMU_IS_ALIGNED(w->host_ram_above_4g, qemu_real_host_page_size())) {
        error_setg(errp, "host RAM layout from the firmware simulator is "
                   "impossible (below 4G 0x%" PRIx64 ", above 0x%" PRIx64 ")",
                   w->host_ram_below_4g, w->host_ram_above_4g);
        return false;
    }
    if (s->link.welcome_nfds <= MIC_LINK_FD_HOST_RAM) {
        error_setg(errp, "WELCOME announced 0x%" PRIx64 " bytes of host RAM "
                   "but carried no fd for it",
                   w->host_ram_below_4g + w->host_ram_above_4g);
        return false;
    }
    return mic_link_check_memfd(s->link.welcome_fds[MIC_LINK_FD_HOST_RAM],
                                w->host_ram_below_4g + w->host_ram_above_4g,
                                "host RAM", errp);
}

/*
 * The card VM's RAM should be the card memory itself (micfw starts it with
 * -machine memory-backend=<the memfd>); otherwise host writes through BAR0
 * never reach this VM.  Only a diagnostic: tests run without it.
 */
static void check_card_ram(MicCardState *s)
{
    MachineState *ms = MACHINE(qdev_get_machine());
    int ram_fd = ms->ram ? memory_region_get_fd(ms->ram) : -1;
    struct stat a, b;

    if (ram_fd < 0 || fstat(ram_fd, &a) < 0 ||
        fstat(s->link.welcome_fds[MIC_LINK_FD_CARD_MEM], &b) < 0 ||
        a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
        warn_report("mic-card: this VM's RAM is not mic%u's card memory; "
                    "the host's BAR0 and this VM do not share memory",
                    s->link.welcome.card_index);
    }
}

static bool mic_card_link_welcome(void *opaque, Error **errp)
{
    MicCardState *s = opaque;
    const struct mic_link_welcome *w = &s->link.welcome;

    if (!check_host_ram(s, errp)) {
        return false;
    }
    check_card_ram(s);
    if (w->host_ram_below_4g || w->host_ram_above_4g) {
        s->host_ram_fd = mic_link_take_fd(&s->link, MIC_LINK_FD_HOST_RAM);
    }
    s->rf = s->link.rf;
    trace_mic_card_host_ram(w->card_index, w->host_ram_below_4g,
                            w->host_ram_above_4g);
    return true;
}

/* The host device (or micfw) raised card sources, or changed SMPT. */
static void mic_card_link_doorbell(void *opaque)
{
    MicCardState *s = opaque;

    mic_card_smpt_sync(s);          /* a doorbell may announce a new map */
    mic_card_deliver(s);
    mic_dma_kick(&s->dma);          /* maybe a forwarded DHPR write */
}

static void mic_card_link_message(void *opaque, uint16_t type,
                                  const uint8_t *payload, uint16_t len,
                                  int *fds, int nfds)
{
    MicCardState *s = opaque;

    if (type == MIC_LINK_PEER) {
        mic_card_peer_msg(s, payload, len, fds, nfds);
    } else {
        qemu_log_mask(LOG_UNIMP, "mic-card: ignoring link message type %u\n",
                      type);
    }
}

const MicLinkOps mic_card_link_ops = {
    .welcome = mic_card_link_welcome,
    .doorbell = mic_card_link_doorbell,
    .message = mic_card_link_message,
};

bool mic_card_link_connect(MicCardState *s, Error **errp)
{
    struct mic_link_hello hello = {
        .version = MIC_LINK_VERSION, .role = MIC_LINK_ROLE_CARD,
    };

    return mic_link_connect(&s->link, &hello, -1, errp);
}
