// SPDX-License-Identifier: GPL-2.0
/*
 * micfw card VM: the QEMU process that is the card's CPU and OS.
 *
 * Its RAM is the card memory memfd itself, so the host sees every byte
 * the card OS writes through BAR0 and vice versa (ARCHITECTURE §1).  The
 * child inherits that one fd (without CLOEXEC) and opens it as
 * /dev/fd/N.  It runs in its own process group so that "hang" can stop
 * it as a whole, and it dies with micfw: PR_SET_PDEATHSIG covers micfw
 * being SIGKILLed, every other exit path kills it explicitly.
 *
 * QEMU's stdout and stderr come back through pipes and go into the event
 * log line by line, so a card VM that fails to start says why.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "micfw.h"

#define OUTPUT_LINE_MAX 4096

struct micfw_output {
	struct micfw *fw;
	struct micfw_output **owner;    /* &fw->vm_out or &fw->vm_err */
	const char *name;
	int fd;
	guint src;
	GString *line;
};

/* ---- QEMU output -------------------------------------------------------- */

static void output_flush(struct micfw_output *o)
{
	g_autofree char *q = NULL;

	if (!o->line->len)
		return;
	q = micfw_quote(o->line->str);
	micfw_event("card-vm-%s text=%s", o->name, q);
	g_string_truncate(o->line, 0);
}

static void output_close(struct micfw_output *o)
{
	if (!o)
		return;
	output_flush(o);
	if (o->src)
		g_source_remove(o->src);
	close(o->fd);
	g_string_free(o->line, TRUE);
	*o->owner = NULL;
	g_free(o);
}

static gboolean output_ready(int fd, GIOCondition cond, gpointer data)
{
	struct micfw_output *o = data;
	char buf[1024];
	ssize_t n;

	(void)cond;
	n = read(fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return G_SOURCE_CONTINUE;
	if (n <= 0) {
		o->src = 0;
		output_close(o);
		return G_SOURCE_REMOVE;
	}
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] == '\n' || o->line->len >= OUTPUT_LINE_MAX)
			output_flush(o);
		if (buf[i] != '\n')
			g_string_append_c(o->line, buf[i]);
	}
	return G_SOURCE_CONTINUE;
}

static void output_open(struct micfw *fw, struct micfw_output **owner,
			const char *name, int fd)
{
	struct micfw_output *o = g_new0(struct micfw_output, 1);

	output_close(*owner);   /* a previous VM's pipe not at EOF yet */
	o->fw = fw;
	o->owner = owner;
	o->name = name;
	o->fd = fd;
	o->line = g_string_new(NULL);
	g_unix_set_fd_nonblocking(fd, TRUE, NULL);
	o->src = g_unix_fd_add(fd, G_IO_IN | G_IO_HUP | G_IO_ERR,
			       output_ready, o);
	*owner = o;
}

/* ---- starting ------------------------------------------------------------ */

/* QEMU option values escape a comma by doubling it. */
static char *qemu_opt_escape(const char *s)
{
	g_auto(GStrv) parts = g_strsplit(s, ",", -1);

	return g_strjoinv(",,", parts);
}

static char *console_path(struct micfw *fw)
{
	if (fw->console_log)
		return qemu_opt_escape(fw->console_log);
	g_autofree char *p = g_build_filename(fw->run_dir, "console.log", NULL);
	return qemu_opt_escape(p);
}

#define ADD(...) g_ptr_array_add(a, g_strdup(__VA_ARGS__))
#define ADDF(...) g_ptr_array_add(a, g_strdup_printf(__VA_ARGS__))

/*
 * Card memory as the card VM's RAM, at card physical address = BAR0
 * offset.  The pc machine keeps RAM below 4 GiB only up to its PCI hole,
 * so a card larger than MICFW_CARDVM_LOWMEM gets that much as ordinary
 * RAM, nothing for offsets up to 4 GiB (the hole: the host can write
 * there through BAR0 and the DMA engine can reach it, the card CPU
 * cannot) and the rest as a DIMM at 4 GiB, mapped from offset 4 GiB of the
 * same memfd.  The kernel learns about the DIMM from memmap= (no ACPI
 * memory hotplug in the card kernel).
 */
static uint64_t high_mem(struct micfw *fw)
{
	return fw->mem_size > (4ull << 30) ? fw->mem_size - (4ull << 30) : 0;
}

static void add_memory(GPtrArray *a, struct micfw *fw)
{
	uint64_t low = MIN(fw->mem_size, (uint64_t)MICFW_CARDVM_LOWMEM);
	uint64_t high = high_mem(fw);

	ADD("-object");
	ADDF("memory-backend-file,id=gddr,size=%" G_GUINT64_FORMAT
	     ",mem-path=/dev/fd/%d,share=on", low, fw->mem_fd);
	ADD("-m");
	if (!high) {
		ADDF("%" G_GUINT64_FORMAT "M", low >> 20);
		return;
	}
	ADDF("%" G_GUINT64_FORMAT "M,slots=1,maxmem=%" G_GUINT64_FORMAT "M",
	     low >> 20, (low + high) >> 20);
	ADD("-object");
	ADDF("memory-backend-file,id=gddr-high,size=%" G_GUINT64_FORMAT
	     ",offset=%" G_GUINT64_FORMAT ",mem-path=/dev/fd/%d,share=on", high,
	     (uint64_t)4 << 30, fw->mem_fd);
	ADD("-device");
	ADD("pc-dimm,id=gddr-high-dimm,memdev=gddr-high,addr=0x100000000");
}

/*
 * What makes the VM a card: the card side of the device (register and
 * SMPT windows, card interrupts) linked to this micfw, and a clock of its
 * own (a card has no battery-backed copy of the host's; COSM's SYNC_TIME
 * sets it once the card is online).
 */
static void add_card_device(GPtrArray *a, struct micfw *fw)
{
	g_autofree char *link = qemu_opt_escape(fw->link_path);

	ADD("-chardev");
	ADDF("socket,id=link,path=%s", link);
	ADD("-device");
	ADDF("mic-card,chardev=link,dma-rate=%u", fw->dma_rate_mbps);
	ADD("-rtc");
	ADD("base=2000-01-01T00:00:00");
	if (fw->qemu_log) {
		ADD("-d");
		ADD("guest_errors,unimp");
		ADD("-D");
		ADD(fw->qemu_log);
	}
}

/* The test agent's port (scripts/micemu_agent.py), as the host VM has. */
static void add_agent(GPtrArray *a, struct micfw *fw)
{
	g_autofree char *path = NULL;

	if (!fw->agent_path)
		return;
	path = qemu_opt_escape(fw->agent_path);
	ADD("-device");
	ADD("virtio-serial-pci,id=vser");
	ADD("-chardev");
	ADDF("socket,id=agent,path=%s,server=on,wait=off", path);
	ADD("-device");
	ADD("virtserialport,bus=vser.0,chardev=agent,name=micemu.agent");
}

static GPtrArray *build_argv(struct micfw *fw, const struct micfw_boot_files *bf)
{
	GPtrArray *a = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *con = console_path(fw);

	ADD(fw->qemu ? fw->qemu : MICFW_DEFAULT_QEMU);
	ADD("-name");
	ADDF("mic%d-card", fw->index);
	ADD("-machine");
	ADD("pc,memory-backend=gddr");
	/* facts §2.5: the card driver wants family 11, model 1 */
	ADD("-cpu");
	ADD("qemu64,family=11,model=1");
	ADD("-accel");
	ADD(fw->accel);
	add_memory(a, fw);
	ADD("-kernel");
	ADD(bf->kernel);
	if (bf->initrd) {
		ADD("-initrd");
		ADD(bf->initrd);
	}
	ADD("-append");
	if (high_mem(fw))
		ADDF("%s memmap=%" G_GUINT64_FORMAT "M@4G", bf->cmdline,
		     high_mem(fw) >> 20);
	else
		ADD(bf->cmdline);
	ADD("-nodefaults");
	ADD("-display");
	ADD("none");
	ADD("-no-reboot");
	ADD("-chardev");
	ADDF("file,id=con,path=%s,append=on", con);
	ADD("-serial");
	ADD("chardev:con");
	add_card_device(a, fw);
	add_agent(a, fw);
	for (char **p = fw->qemu_args; p && *p; p++)
		ADD(*p);
	g_ptr_array_add(a, NULL);
	return a;
}

#undef ADD
#undef ADDF

/* Shell quoting only where needed keeps the logged command line readable
 * and still copy-and-paste runnable. */
static char *shell_word(const char *s)
{
	const char *safe = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			   "0123456789_-+=.,:/@%";

	if (*s && strspn(s, safe) == strlen(s))
		return g_strdup(s);
	return g_shell_quote(s);
}

static void log_cmdline(GPtrArray *argv)
{
	GString *s = g_string_new(NULL);

	for (guint i = 0; i + 1 < argv->len; i++) {
		g_autofree char *q = shell_word(argv->pdata[i]);

		g_string_append_printf(s, "%s%s", i ? " " : "", q);
	}
	micfw_event("card-vm-cmdline %s", s->str);
	g_string_free(s, TRUE);
}

/*
 * Runs in the child between fork and exec: only async-signal-safe calls.
 * The parent check closes the race where micfw dies before the prctl.
 */
static void child_setup(gpointer data)
{
	pid_t parent = *(pid_t *)data;
	struct sigaction sa;
	sigset_t none;

	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	/* micfw ignores SIGPIPE; QEMU should start from the defaults */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigaction(SIGPIPE, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static char *describe_status(int status)
{
	if (WIFEXITED(status))
		return g_strdup_printf("exit=%d", WEXITSTATUS(status));
	if (WIFSIGNALED(status))
		return g_strdup_printf("signal=%d(%s)", WTERMSIG(status),
				       g_strsignal(WTERMSIG(status)));
	return g_strdup_printf("status=0x%x", status);
}

static void vm_forget(struct micfw *fw)
{
	g_spawn_close_pid(fw->vm_pid);
	fw->vm_pid = 0;
	fw->vm_watch = 0;
	fw->vm_stopped = false;
}

/* The card VM went away on its own: poweroff, QEMU error, or "crash". */
static void vm_exited(GPid pid, int status, gpointer data)
{
	struct micfw *fw = data;
	g_autofree char *st = describe_status(status);

	micfw_event("card-vm-exit pid=%d %s state=%s", (int)pid, st,
		    micfw_state_name(fw));
	vm_forget(fw);
	micfw_link_drop_card(fw);
	if (fw->state == MICFW_BOOTING || fw->state == MICFW_RUNNING) {
		fw->state = MICFW_OFF;
		micfw_post(fw, "HT", "card VM exited");
	}
}

bool micfw_cardvm_start(struct micfw *fw, const struct micfw_boot_files *bf,
			GError **err)
{
	g_autoptr(GPtrArray) argv = build_argv(fw, bf);
	pid_t parent = getpid();
	int fds[1] = { fw->mem_fd };
	int out_fd = -1, err_fd = -1;
	GPid pid;

	log_cmdline(argv);
	if (!g_spawn_async_with_pipes_and_fds(fw->run_dir,
					      (const char *const *)argv->pdata,
					      NULL,
					      G_SPAWN_DO_NOT_REAP_CHILD |
					      G_SPAWN_SEARCH_PATH |
					      G_SPAWN_STDIN_FROM_DEV_NULL,
					      child_setup, &parent, -1, -1, -1,
					      fds, fds, 1, &pid, NULL,
					      &out_fd, &err_fd, err))
		return false;
	/* also from this side: a "hang" right after start must find the group */
	setpgid(pid, pid);
	fw->vm_pid = pid;
	fw->vm_stopped = false;
	fw->boots++;
	fw->state = MICFW_BOOTING;
	fw->vm_watch = g_child_watch_add(pid, vm_exited, fw);
	output_open(fw, &fw->vm_out, "stdout", out_fd);
	output_open(fw, &fw->vm_err, "stderr", err_fd);
	micfw_event("card-vm-start pid=%d boots=%u", (int)pid, fw->boots);
	return true;
}

/* ---- stopping ------------------------------------------------------------ */

/*
 * SIGKILL the whole group and reap synchronously: a reset must not let
 * the old card OS touch card memory once the bootstrap starts over.  The
 * child watch goes first so that GLib does not race us for the status.
 */
void micfw_cardvm_kill(struct micfw *fw, const char *why)
{
	g_autofree char *st = NULL;
	int status = 0;
	pid_t r;

	if (!fw->vm_pid)
		return;
	if (fw->vm_watch)
		g_source_remove(fw->vm_watch);
	kill(-fw->vm_pid, SIGKILL);
	kill(fw->vm_pid, SIGKILL);
	do
		r = waitpid(fw->vm_pid, &status, 0);
	while (r < 0 && errno == EINTR);
	st = r < 0 ? g_strdup_printf("waitpid=%s", g_strerror(errno)) :
		     describe_status(status);
	micfw_event("card-vm-killed pid=%d reason=%s %s", (int)fw->vm_pid,
		    why, st);
	vm_forget(fw);
	output_close(fw->vm_out);
	output_close(fw->vm_err);
}

/* crash (SIGKILL, reaped by the child watch), hang (SIGSTOP), resume. */
bool micfw_cardvm_signal(struct micfw *fw, int sig, GError **err)
{
	if (!fw->vm_pid) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
			    "no card VM is running");
		return false;
	}
	if (kill(-fw->vm_pid, sig) < 0 && kill(fw->vm_pid, sig) < 0) {
		g_set_error(err, G_IO_ERROR, g_io_error_from_errno(errno),
			    "cannot signal card VM %d: %s", (int)fw->vm_pid,
			    g_strerror(errno));
		return false;
	}
	if (sig == SIGSTOP)
		fw->vm_stopped = true;
	else if (sig == SIGCONT)
		fw->vm_stopped = false;
	micfw_event("card-vm-signal pid=%d signal=%s", (int)fw->vm_pid,
		    sig == SIGKILL ? "KILL" : sig == SIGSTOP ? "STOP" :
		    sig == SIGCONT ? "CONT" : "other");
	return true;
}

/* The card VM's mic-card device said HELLO: the card OS is up. */
void micfw_cardvm_linked(struct micfw *fw)
{
	if (fw->vm_pid && fw->state == MICFW_BOOTING) {
		fw->state = MICFW_RUNNING;
		micfw_event("card-vm-running pid=%d", (int)fw->vm_pid);
	}
}
