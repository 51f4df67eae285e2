// SPDX-License-Identifier: GPL-2.0
/*
 * micfw: command line, the card's resources, main loop, shutdown.
 *
 *   micfw --index N --link PATH --control PATH [--mem-size SIZE]
 *         [--qemu PATH] [--qemu-arg ARG]... [--accel tcg|kvm]
 *         [--dma-rate MBPS] [--qemu-log FILE] [--agent PATH]
 *         [--console-log FILE] [--event-log FILE] [--run-dir DIR]
 *         [--ready-delay MS] [--never-ready]
 *
 * Exit status: 0 after SIGTERM/SIGINT/SIGHUP, 2 for a bad command line,
 * 1 if the resources or sockets cannot be set up.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib-unix.h>

#include "micfw.h"

struct cli {
	int index;
	char *link, *control, *mem_size, *qemu, **qemu_args, *accel;
	char *console_log, *event_log, *run_dir, *qemu_log, *agent;
	int ready_delay, dma_rate;
	gboolean never_ready, refuse_image, boot_stall, check;
};

static void G_GNUC_NORETURN G_GNUC_PRINTF(1, 2) usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("micfw: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see --help)\n", stderr);
	exit(2);
}

static void G_GNUC_NORETURN fatal(const char *what, GError *err)
{
	g_autofree char *q = micfw_quote(err->message);

	micfw_event("fatal what=\"%s\" error=%s", what, q);
	fprintf(stderr, "micfw: %s: %s\n", what, err->message);
	exit(1);
}

/* "1G", "512M", "131072K", "1073741824": a power of two in range. */
static uint64_t parse_mem_size(const char *s)
{
	uint64_t v = 0, shift = 0;
	char *end = NULL;

	errno = 0;
	if (g_ascii_isdigit(*s))
		v = g_ascii_strtoull(s, &end, 10);
	if (!end || errno || end == s)
		usage_error("--mem-size: '%s' is not a size", s);
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	}
	if (*end)
		usage_error("--mem-size: '%s' is not a size (use K, M or G)", s);
	if (v > (MICFW_MAX_MEM >> shift))
		usage_error("--mem-size: '%s' is above the maximum %lluG", s,
			    MICFW_MAX_MEM >> 30);
	v <<= shift;
	if ((v & (v - 1) || v == 0) && v != MICFW_3120_MEM)
		usage_error("--mem-size: '%s' is neither a power of two nor 6G", s);
	if (v < MICFW_MIN_MEM)
		usage_error("--mem-size: '%s' is below the minimum %lluM", s,
			    MICFW_MIN_MEM >> 20);
	return v;
}

static void parse_cli(int argc, char **argv, struct cli *c)
{
	GOptionEntry entries[] = {
		{ "index", 0, 0, G_OPTION_ARG_INT, &c->index, "card index N of micN (0-127, required)", "N" },
		{ "link", 0, 0, G_OPTION_ARG_FILENAME, &c->link, "listen for device links on this unix socket (required)", "PATH" },
		{ "control", 0, 0, G_OPTION_ARG_FILENAME, &c->control, "listen for control clients on this unix socket (required)", "PATH" },
		{ "mem-size", 0, 0, G_OPTION_ARG_STRING, &c->mem_size, "card memory: a power of two from 128M to 16G, or 6G (default 1G)", "SIZE" },
		{ "qemu", 0, 0, G_OPTION_ARG_FILENAME, &c->qemu, "QEMU binary for the card VM (default qemu-system-x86_64 in PATH)", "PATH" },
		{ "qemu-arg", 0, 0, G_OPTION_ARG_STRING_ARRAY, &c->qemu_args, "extra card VM argument, repeatable (the mic-card device and its link are micfw's own)", "ARG" },
		{ "accel", 0, 0, G_OPTION_ARG_STRING, &c->accel, "card VM accelerator: tcg (default) or kvm", "ACCEL" },
		{ "dma-rate", 0, 0, G_OPTION_ARG_INT, &c->dma_rate, "pace the card's DMA channels to MBPS MB/s (default 0: unpaced)", "MBPS" },
		{ "qemu-log", 0, 0, G_OPTION_ARG_FILENAME, &c->qemu_log, "card VM QEMU's guest-error and unimplemented log (-d guest_errors,unimp)", "FILE" },
		{ "agent", 0, 0, G_OPTION_ARG_FILENAME, &c->agent, "give the card VM the test agent's virtio-serial port on this unix socket", "PATH" },
		{ "console-log", 0, 0, G_OPTION_ARG_FILENAME, &c->console_log, "card VM serial console, appended across boots (default RUN-DIR/console.log)", "FILE" },
		{ "event-log", 0, 0, G_OPTION_ARG_FILENAME, &c->event_log, "event log (default stderr)", "FILE" },
		{ "run-dir", 0, 0, G_OPTION_ARG_FILENAME, &c->run_dir, "private runtime directory (default a new temporary one)", "DIR" },
		{ "ready-delay", 0, 0, G_OPTION_ARG_INT, &c->ready_delay, "power-on/reset to SPAD2 ready, ms (default 500)", "MS" },
		{ "never-ready", 0, 0, G_OPTION_ARG_NONE, &c->never_ready, "never post SPAD2 ready (fault injection)", NULL },
		{ "refuse-image", 0, 0, G_OPTION_ARG_NONE, &c->refuse_image, "the bootstrap refuses every image, POST E6 (fault injection)", NULL },
		{ "boot-stall", 0, 0, G_OPTION_ARG_NONE, &c->boot_stall, "card VMs start frozen (fault injection)", NULL },
		{ "check", 0, 0, G_OPTION_ARG_NONE, &c->check, "check --mem-size and exit (for scripts that start micfw later)", NULL },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("- x100 card firmware simulator");
	g_autoptr(GError) err = NULL;

	c->index = -1;
	c->ready_delay = MICFW_DEFAULT_READY_MS;
	g_option_context_add_main_entries(ctx, entries, NULL);
	g_option_context_set_description(ctx,
		"One micfw per emulated card: it owns the card memory and register file,\n"
		"posts POST codes and SPAD2 ready, and runs the card VM on a boot kick.\n"
		"Control socket: line-based JSON, see micfw-control.c and README.md.");
	if (!g_option_context_parse(ctx, &argc, &argv, &err))
		usage_error("%s", err->message);
	if (argc > 1)
		usage_error("unexpected argument '%s'", argv[1]);
	if (c->check) {
		if (c->mem_size)
			parse_mem_size(c->mem_size);
		exit(0);
	}
	if (c->index < 0 || c->index >= MICFW_MAX_CARDS)
		usage_error("--index is required, 0..%d", MICFW_MAX_CARDS - 1);
	if (!c->link || !*c->link)
		usage_error("--link PATH is required");
	if (!c->control || !*c->control)
		usage_error("--control PATH is required");
	if (!strcmp(c->link, c->control))
		usage_error("--link and --control must differ");
	if (c->accel && strcmp(c->accel, "tcg") && strcmp(c->accel, "kvm"))
		usage_error("--accel must be tcg or kvm, not '%s'", c->accel);
	if (c->ready_delay < 0 || (unsigned int)c->ready_delay > MICFW_MAX_READY_MS)
		usage_error("--ready-delay must be 0..%u ms", MICFW_MAX_READY_MS);
	if (c->dma_rate < 0 || (unsigned int)c->dma_rate > MICFW_MAX_DMA_RATE)
		usage_error("--dma-rate must be 0..%u MB/s", MICFW_MAX_DMA_RATE);
	if (c->qemu && !g_file_test(c->qemu, G_FILE_TEST_IS_EXECUTABLE))
		usage_error("--qemu '%s' is not an executable file", c->qemu);
}

static void configure(struct micfw *fw, struct cli *c)
{
	fw->index = c->index;
	fw->link_path = c->link;
	fw->control_path = c->control;
	fw->mem_size = c->mem_size ? parse_mem_size(c->mem_size) :
				     MICFW_DEFAULT_MEM;
	fw->qemu = c->qemu;
	fw->qemu_args = c->qemu_args;
	fw->accel = c->accel ? c->accel : g_strdup("tcg");
	fw->dma_rate_mbps = (unsigned int)c->dma_rate;
	fw->qemu_log = c->qemu_log;
	fw->agent_path = c->agent;
	fw->console_log = c->console_log;
	fw->event_log = c->event_log;
	fw->run_dir = c->run_dir;
	fw->ready_delay_ms = (unsigned int)c->ready_delay;
	fw->never_ready = c->never_ready;
	fw->refuse_image = c->refuse_image;
	fw->boot_stall = c->boot_stall;
	fw->mem_fd = fw->regfile_fd = -1;
	fw->efd_to_host = fw->efd_to_card = -1;
	fw->host_ram_fd = -1;
	fw->link_listen_fd = fw->ctl_listen_fd = -1;
	fw->state = MICFW_OFF;
}

static bool make_run_dir(struct micfw *fw, GError **err)
{
	if (!fw->run_dir) {
		g_autofree char *tmpl = g_strdup_printf("micfw-mic%d-XXXXXX",
							fw->index);

		fw->run_dir = g_dir_make_tmp(tmpl, err);
		fw->run_dir_created = fw->run_dir != NULL;
		return fw->run_dir != NULL;
	}
	if (!g_file_test(fw->run_dir, G_FILE_TEST_IS_DIR)) {
		if (g_mkdir_with_parents(fw->run_dir, 0700) < 0) {
			g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno),
				    "cannot create run dir %s: %s", fw->run_dir,
				    g_strerror(errno));
			return false;
		}
		fw->run_dir_created = true;
	}
	return true;
}

/*
 * Shared memory handed to QEMU processes is sealed at its size: QEMU
 * refuses memfds that a peer could shrink under its mappings.
 */
static int make_memfd(const char *name, uint64_t size, GError **err)
{
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd >= 0 && ftruncate(fd, (off_t)size) == 0 &&
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) == 0)
		return fd;
	g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno),
		    "memfd %s of %" G_GUINT64_FORMAT " bytes: %s", name, size,
		    g_strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

/* Card memory, register file and eventfds: the things the link hands out. */
static bool make_resources(struct micfw *fw, GError **err)
{
	g_autofree char *gddr = g_strdup_printf("mic%d-gddr", fw->index);
	g_autofree char *regs = g_strdup_printf("mic%d-regfile", fw->index);
	void *p;

	fw->mem_fd = make_memfd(gddr, fw->mem_size, err);
	if (fw->mem_fd < 0)
		return false;
	fw->regfile_fd = make_memfd(regs, sizeof(MicRegFile), err);
	if (fw->regfile_fd < 0)
		return false;
	p = mmap(NULL, sizeof(MicRegFile), PROT_READ | PROT_WRITE, MAP_SHARED,
		 fw->regfile_fd, 0);
	if (p == MAP_FAILED) {
		g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno),
			    "mmap register file: %s", g_strerror(errno));
		return false;
	}
	fw->rf = p;
	mic_regfile_init(fw->rf);
	fw->efd_to_host = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	fw->efd_to_card = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fw->efd_to_host < 0 || fw->efd_to_card < 0) {
		g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno),
			    "eventfd: %s", g_strerror(errno));
		return false;
	}
	micfw_event("resources card=%d mem_size=%" G_GUINT64_FORMAT " regfile_size=%zu run_dir=%s",
		    fw->index, fw->mem_size, sizeof(MicRegFile), fw->run_dir);
	return true;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void free_resources(struct micfw *fw)
{
	if (fw->rf)
		munmap(fw->rf, sizeof(MicRegFile));
	fw->rf = NULL;
	close_fd(&fw->mem_fd);
	close_fd(&fw->regfile_fd);
	close_fd(&fw->efd_to_host);
	close_fd(&fw->efd_to_card);
}

static void remove_run_dir(struct micfw *fw)
{
	micfw_bootloader_cleanup(fw);
	if (!fw->console_log) {
		g_autofree char *p = g_build_filename(fw->run_dir,
						      "console.log", NULL);
		unlink(p);
	}
	if (fw->run_dir_created && rmdir(fw->run_dir) < 0)
		micfw_event("run-dir-kept path=%s error=\"%s\"", fw->run_dir,
			    g_strerror(errno));
}

static void free_config(struct micfw *fw, struct cli *c)
{
	g_free(fw->link_path);
	g_free(fw->control_path);
	g_free(fw->qemu);
	g_strfreev(fw->qemu_args);
	g_free(fw->accel);
	g_free(fw->console_log);
	g_free(fw->event_log);
	g_free(fw->run_dir);
	g_free(fw->vm_qmp_path);
	g_free(c->mem_size);
}

static gboolean on_signal(gpointer data)
{
	struct micfw *fw = data;

	micfw_event("signal stopping");
	g_main_loop_quit(fw->loop);
	return G_SOURCE_CONTINUE;
}

/* Every way out after start-up goes through here: no card VM survives. */
static void shutdown_board(struct micfw *fw)
{
	micfw_power_stop(fw);
	micfw_cardvm_kill(fw, "micfw stopping");
	micfw_control_stop(fw);
	micfw_link_stop(fw);
	remove_run_dir(fw);
	free_resources(fw);
}

int main(int argc, char **argv)
{
	struct micfw fw = { 0 };
	struct cli cli = { 0 };
	g_autoptr(GError) err = NULL;

	parse_cli(argc, argv, &cli);
	configure(&fw, &cli);
	/* a peer closing its socket must not kill the board */
	signal(SIGPIPE, SIG_IGN);
	if (!micfw_log_open(fw.event_log, &err))
		usage_error("%s", err->message);
	micfw_event("start card=%d pid=%d link=%s control=%s accel=%s",
		    fw.index, (int)getpid(), fw.link_path, fw.control_path,
		    fw.accel);
	if (!make_run_dir(&fw, &err))
		fatal("run dir", err);
	fw.loop = g_main_loop_new(NULL, FALSE);
	g_unix_signal_add(SIGTERM, on_signal, &fw);
	g_unix_signal_add(SIGINT, on_signal, &fw);
	g_unix_signal_add(SIGHUP, on_signal, &fw);
	if (!make_resources(&fw, &err) || !micfw_link_start(&fw, &err) ||
	    !micfw_control_start(&fw, &err)) {
		g_autofree char *q = micfw_quote(err->message);

		micfw_event("fatal error=%s", q);
		fprintf(stderr, "micfw: %s\n", err->message);
		shutdown_board(&fw);
		return 1;
	}
	micfw_power_on(&fw);
	g_main_loop_run(fw.loop);
	shutdown_board(&fw);
	micfw_event("exit status=0");
	micfw_log_close();
	g_main_loop_unref(fw.loop);
	free_config(&fw, &cli);
	return 0;
}
