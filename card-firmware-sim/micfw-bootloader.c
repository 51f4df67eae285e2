// SPDX-License-Identifier: GPL-2.0
/*
 * micfw bootloader: what the x100 bootstrap does on the boot kick.
 *
 * The host driver has copied into card memory (facts §4.2):
 *   boot_addr = SPAD2 & 0xFFFFF000     an x86 bzImage of SPAD5 bytes
 *   boot_addr + SPAD5                  the NUL-terminated command line,
 *                                      at most 2048 bytes
 *   u32 at image + 0x218 / 0x21C       ramdisk address and size (the
 *                                      boot_params setup header fields)
 *
 * All of it is guest data: every size and address is checked against the
 * card memory before anything is read, in 64-bit arithmetic.  The images
 * are read back out of the memfd (never from the outer disk) into files
 * in the run directory, and the card VM boots from those with -kernel,
 * -initrd and -append.
 *
 * Error POST codes: E1 address/size out of range, E2 not a bzImage,
 * E3 bad command line, E4 bad ramdisk, E5 card VM could not be started.
 * After an error the bootstrap stays ready; the host will reset the card.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "micfw.h"

#define COPY_CHUNK      (1u << 20)

static const char *const run_files[] = { "bzImage", "initrd", "cmdline" };

struct boot_request {
	uint64_t boot_addr;
	uint64_t image_size;
	uint64_t ramdisk_addr;
	uint64_t ramdisk_size;
	uint16_t boot_proto;
	char cmdline[MICFW_CMDLINE_MAX + 1];
};

static bool boot_error(struct micfw *fw, const char code[2], const char *fmt,
		       ...) G_GNUC_PRINTF(3, 4);

static bool boot_error(struct micfw *fw, const char code[2], const char *fmt,
		       ...)
{
	g_autofree char *msg = NULL;
	g_autofree char *q = NULL;
	va_list ap;

	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	q = micfw_quote(msg);
	micfw_event("boot-error code=%c%c reason=%s", code[0], code[1], q);
	micfw_post(fw, code, "boot error");
	return false;
}

/* Is [addr, addr + len) inside card memory?  Written so that no sum can
 * wrap, whatever the guest put into addr and len. */
static bool in_card_mem(const struct micfw *fw, uint64_t addr, uint64_t len)
{
	return addr <= fw->mem_size && len <= fw->mem_size - addr;
}

static bool read_header(struct micfw *fw, struct boot_request *br)
{
	uint8_t hdr[MICFW_BZ_RAMDISK_SZ_OFF + 4];
	uint32_t v;

	if (!micfw_pread_full(fw->mem_fd, hdr, sizeof(hdr), br->boot_addr))
		return boot_error(fw, "E5", "cannot read card memory: %s",
				  g_strerror(errno));
	if (memcmp(hdr + MICFW_BZ_MAGIC_OFF, "HdrS", 4) != 0)
		return boot_error(fw, "E2",
				  "no bzImage header (HdrS) at 0x%" G_GINT64_MODIFIER "x+0x%x",
				  br->boot_addr, MICFW_BZ_MAGIC_OFF);
	br->boot_proto = hdr[MICFW_BZ_VERSION_OFF] |
			 hdr[MICFW_BZ_VERSION_OFF + 1] << 8;
	memcpy(&v, hdr + MICFW_BZ_RAMDISK_OFF, 4);
	br->ramdisk_addr = GUINT32_FROM_LE(v);
	memcpy(&v, hdr + MICFW_BZ_RAMDISK_SZ_OFF, 4);
	br->ramdisk_size = GUINT32_FROM_LE(v);
	return true;
}

static bool read_cmdline(struct micfw *fw, struct boot_request *br)
{
	uint64_t off = br->boot_addr + br->image_size;
	uint64_t len = MIN((uint64_t)MICFW_CMDLINE_MAX, fw->mem_size - off);
	char *nul;

	memset(br->cmdline, 0, sizeof(br->cmdline));
	if (len && !micfw_pread_full(fw->mem_fd, br->cmdline, len, off))
		return boot_error(fw, "E5", "cannot read card memory: %s",
				  g_strerror(errno));
	nul = memchr(br->cmdline, 0, len);
	if (!nul)
		return boot_error(fw, "E3",
				  "command line at 0x%" G_GINT64_MODIFIER "x has no NUL in %" G_GUINT64_FORMAT " bytes",
				  off, len);
	return true;
}

/* Check the download described by SPAD2, SPAD5 and the setup header. */
static bool parse_request(struct micfw *fw, struct boot_request *br)
{
	uint32_t spad2 = mic_regfile_spad(fw->rf, 2);

	br->boot_addr = spad2 & MIC_SPAD2_ADDR_MASK;
	br->image_size = mic_regfile_spad(fw->rf, 5);
	if (br->image_size < MICFW_BZ_MIN_SIZE)
		return boot_error(fw, "E1",
				  "image size (SPAD5) %" G_GUINT64_FORMAT " is below %u bytes",
				  br->image_size, MICFW_BZ_MIN_SIZE);
	if (!in_card_mem(fw, br->boot_addr, br->image_size))
		return boot_error(fw, "E1",
				  "image 0x%" G_GINT64_MODIFIER "x+%" G_GUINT64_FORMAT " is outside card memory (%" G_GUINT64_FORMAT " bytes)",
				  br->boot_addr, br->image_size, fw->mem_size);
	if (!read_header(fw, br) || !read_cmdline(fw, br))
		return false;
	if (br->ramdisk_size && !in_card_mem(fw, br->ramdisk_addr,
					     br->ramdisk_size))
		return boot_error(fw, "E4",
				  "ramdisk 0x%" G_GINT64_MODIFIER "x+%" G_GUINT64_FORMAT " is outside card memory",
				  br->ramdisk_addr, br->ramdisk_size);
	return true;
}

/* Copy [off, off + len) of card memory into a new file in the run dir. */
static char *extract(struct micfw *fw, const char *name, uint64_t off,
		     uint64_t len)
{
	g_autofree char *path = g_build_filename(fw->run_dir, name, NULL);
	g_autofree char *buf = g_malloc(COPY_CHUNK);
	int fd, e = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		e = errno;
	while (fd >= 0 && len && !e) {
		size_t n = MIN(len, (uint64_t)COPY_CHUNK);

		if (!micfw_pread_full(fw->mem_fd, buf, n, off) ||
		    !micfw_write_full(fd, buf, n))
			e = errno ? errno : EIO;
		off += n;
		len -= n;
	}
	if (fd >= 0 && close(fd) < 0 && !e)
		e = errno;
	if (e) {
		boot_error(fw, "E5", "cannot write %s: %s", path,
			   g_strerror(e));
		return NULL;
	}
	return g_steal_pointer(&path);
}

static bool extract_all(struct micfw *fw, const struct boot_request *br,
			struct micfw_boot_files *bf)
{
	g_autofree char *cmdfile = NULL;

	bf->kernel = extract(fw, "bzImage", br->boot_addr, br->image_size);
	if (!bf->kernel)
		return false;
	if (br->ramdisk_size) {
		bf->initrd = extract(fw, "initrd", br->ramdisk_addr,
				     br->ramdisk_size);
		if (!bf->initrd)
			return false;
	}
	bf->cmdline = g_strdup(br->cmdline);
	/* a copy for whoever debugs a boot; the VM gets it via -append */
	cmdfile = g_build_filename(fw->run_dir, "cmdline", NULL);
	g_file_set_contents(cmdfile, br->cmdline, -1, NULL);
	return true;
}

/*
 * The bootstrap has handed the card to the OS and is no longer ready for
 * a download.  Clearing SPAD2 bit 0 makes an upstream host reset the card
 * before its next boot (facts §4.2 step 2) instead of kicking a bootstrap
 * that is not there.
 */
static void bootstrap_gone(struct micfw *fw)
{
	MicRegEvents ev = { 0 };
	uint32_t spad2 = mic_regfile_spad(fw->rf, 2);

	mic_regfile_write(fw->rf, MIC_SIDE_CARD, MIC_REG_SPAD(2),
			  spad2 & ~MIC_SPAD2_READY, &ev);
}

static void free_files(struct micfw_boot_files *bf)
{
	g_free(bf->kernel);
	g_free(bf->initrd);
	g_free(bf->cmdline);
}

/*
 * The boot interrupt (APICICR7 vector 229, facts §2.4), forwarded by the
 * host device as a link BOOT_KICK.
 */
void micfw_boot_kick(struct micfw *fw)
{
	struct micfw_boot_files bf = { 0 };
	g_autofree struct boot_request *br = g_new0(struct boot_request, 1);
	g_autofree char *qcmd = NULL;
	g_autoptr(GError) err = NULL;

	if (fw->vm_pid) {
		micfw_event("boot-kick-ignored reason=\"card VM running\" pid=%d",
			    (int)fw->vm_pid);
		return;
	}
	if (fw->state != MICFW_READY) {
		micfw_event("boot-kick-ignored reason=\"bootstrap not ready\" state=%s",
			    micfw_state_name(fw));
		return;
	}
	micfw_post(fw, "BK", "boot kick");
	micfw_spad_faults_apply(fw);
	if (fw->refuse_image) {
		boot_error(fw, "E6", "image refused (fault injection: refuse-image)");
		return;
	}
	if (!parse_request(fw, br))
		return;
	qcmd = micfw_quote(br->cmdline);
	micfw_event("boot-kick boot_addr=0x%" G_GINT64_MODIFIER "x image=%" G_GUINT64_FORMAT "B boot_proto=0x%04x ramdisk=0x%" G_GINT64_MODIFIER "x+%" G_GUINT64_FORMAT "B cmdline=%s",
		    br->boot_addr, br->image_size, br->boot_proto,
		    br->ramdisk_addr, br->ramdisk_size, qcmd);
	if (extract_all(fw, br, &bf)) {
		if (micfw_cardvm_start(fw, &bf, &err)) {
			micfw_post(fw, "LD", "card VM started");
			bootstrap_gone(fw);
			if (fw->boot_stall &&
			    micfw_cardvm_signal(fw, SIGSTOP, &err))
				micfw_event("boot-stall pid=%d", (int)fw->vm_pid);
		} else {
			boot_error(fw, "E5", "cannot start the card VM: %s",
				   err->message);
		}
	}
	free_files(&bf);
}

/* Remove what the bootloader left in the run directory. */
void micfw_bootloader_cleanup(struct micfw *fw)
{
	for (unsigned int i = 0; i < G_N_ELEMENTS(run_files); i++) {
		g_autofree char *p = g_build_filename(fw->run_dir, run_files[i],
						      NULL);
		unlink(p);
	}
}
