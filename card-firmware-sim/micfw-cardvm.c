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
 *
 * The card VM also gets a QMP monitor (CARDVM_QMP in the run directory):
 * the board's wires into the card CPU that a process cannot reach by
 * signals, today only the NMI of the "card-panic" fault knob.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-glib/json-glib.h>

#include "micfw.h"

#define OUTPUT_LINE_MAX 4096
#define CARDVM_QMP      "card-qmp.sock"
#define QMP_LINE_MAX    65536
#define QMP_TIMEOUT_S   10

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

/* ---- the card VM's monitor ---------------------------------------------- */

/*
 * One request on the card VM's QMP socket: capabilities, then COMMAND.
 * Both go out at once; the replies are read from the main loop and the
 * outcome goes into the event log as card-vm-qmp.  The control client is
 * answered when the request is sent, not when QEMU answers: a stopped
 * (hung) card VM never answers, and the connection gives up after
 * QMP_TIMEOUT_S.
 */
struct micfw_qmp {
	struct micfw *fw;
	const char *command;
	int fd;
	guint src;
	guint timer;
	GString *in;
	unsigned int replies;           /* answers to our two commands */
};

static void qmp_close(struct micfw_qmp *q, const char *result,
		      const char *text)
{
	g_autofree char *qt = micfw_quote(text ? text : "");

	micfw_event("card-vm-qmp command=%s result=%s text=%s", q->command,
		    result, qt);
	if (q->src)
		g_source_remove(q->src);
	if (q->timer)
		g_source_remove(q->timer);
	close(q->fd);
	g_string_free(q->in, TRUE);
	q->fw->vm_qmp = NULL;
	g_free(q);
}

/*
 * One line from QEMU.  Returns false once the request is finished (and
 * @q freed).  Events and the greeting are skipped; the first reply is
 * qmp_capabilities', the second COMMAND's.
 */
static bool qmp_line(struct micfw_qmp *q, const char *line, gssize len)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonObject *o;

	if (!json_parser_load_from_data(parser, line, len, NULL) ||
	    !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser))) {
		qmp_close(q, "garbage", line);
		return false;
	}
	o = json_node_get_object(json_parser_get_root(parser));
	if (json_object_has_member(o, "error")) {
		JsonNode *e = json_object_get_member(o, "error");
		const char *desc = NULL;

		if (JSON_NODE_HOLDS_OBJECT(e))
			desc = json_object_get_string_member_with_default(
				json_node_get_object(e), "desc", NULL);
		qmp_close(q, "error", desc ? desc : "error without desc");
		return false;
	}
	if (json_object_has_member(o, "return") && ++q->replies == 2) {
		qmp_close(q, "ok", NULL);
		return false;
	}
	return true;
}

/* Read what is there; returns false once @q is gone. */
static bool qmp_read(struct micfw_qmp *q)
{
	char buf[4096], *nl;
	ssize_t n;

	for (;;) {
		n = recv(q->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return true;
		if (n <= 0) {
			qmp_close(q, "closed", n < 0 ? g_strerror(errno) :
				  "card VM closed its monitor");
			return false;
		}
		g_string_append_len(q->in, buf, n);
		while ((nl = memchr(q->in->str, '\n', q->in->len))) {
			gssize len = nl - q->in->str;
			g_autofree char *line = g_strndup(q->in->str, len);

			g_string_erase(q->in, 0, len + 1);
			g_strchomp(line);
			if (*line && !qmp_line(q, line, -1))
				return false;
		}
		if (q->in->len > QMP_LINE_MAX) {
			qmp_close(q, "garbage", "monitor line too long");
			return false;
		}
	}
}

static gboolean qmp_readable(int fd, GIOCondition cond, gpointer data)
{
	struct micfw_qmp *q = data;

	(void)fd;
	(void)cond;
	/* once the request is finished, qmp_close() has removed us already */
	return qmp_read(q) ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static gboolean qmp_timeout(gpointer data)
{
	struct micfw_qmp *q = data;

	q->timer = 0;
	qmp_close(q, "timeout", "no answer from the card VM's monitor");
	return G_SOURCE_REMOVE;
}

/* The card VM is gone: take what it answered before it died. */
static void qmp_vm_gone(struct micfw *fw)
{
	if (fw->vm_qmp && qmp_read(fw->vm_qmp))
		qmp_close(fw->vm_qmp, "closed", "card VM gone");
}

static char *qmp_path(struct micfw *fw)
{
	g_autofree char *p = g_build_filename(fw->run_dir, CARDVM_QMP, NULL);

	if (strlen(p) >= sizeof(((struct sockaddr_un *)NULL)->sun_path)) {
		g_autofree char *qp = micfw_quote(p);

		micfw_event("card-vm-qmp-unavailable reason=\"path too long\" path=%s",
			    qp);
		return NULL;
	}
	return g_steal_pointer(&p);
}

static bool qmp_request(struct micfw *fw, const char *command, GError **err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	g_autofree char *out = NULL;
	struct micfw_qmp *q;
	size_t len;
	int fd;

	if (!fw->vm_pid) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
			    "no card VM is running");
		return false;
	}
	if (!fw->vm_qmp_path) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
			    "the card VM has no monitor (run dir path too long)");
		return false;
	}
	if (fw->vm_qmp) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_BUSY,
			    "a monitor request (%s) is still in flight",
			    fw->vm_qmp->command);
		return false;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	g_strlcpy(sa.sun_path, fw->vm_qmp_path, sizeof(sa.sun_path));
	/* a local listener: connect does not wait for the VM to run */
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		g_set_error(err, G_IO_ERROR, g_io_error_from_errno(errno),
			    "cannot reach the card VM's monitor: %s",
			    g_strerror(errno));
		if (fd >= 0)
			close(fd);
		return false;
	}
	out = g_strdup_printf("{\"execute\":\"qmp_capabilities\"}\r\n"
			      "{\"execute\":\"%s\"}\r\n", command);
	len = strlen(out);
	if (send(fd, out, len, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)len) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "cannot send to the card VM's monitor: %s",
			    g_strerror(errno));
		close(fd);
		return false;
	}
	q = g_new0(struct micfw_qmp, 1);
	q->fw = fw;
	q->command = command;
	q->fd = fd;
	q->in = g_string_new(NULL);
	q->src = g_unix_fd_add(fd, G_IO_IN | G_IO_HUP | G_IO_ERR,
			       qmp_readable, q);
	q->timer = g_timeout_add_seconds(QMP_TIMEOUT_S, qmp_timeout, q);
	fw->vm_qmp = q;
	micfw_event("card-vm-qmp-sent command=%s pid=%d", command,
		    (int)fw->vm_pid);
	return true;
}

/*
 * An NMI into the card CPU (fault knob "card-panic"): the card image sets
 * kernel.unknown_nmi_panic, so the card kernel panics on it, as on any
 * fatal error it cannot recover from.
 */
bool micfw_cardvm_nmi(struct micfw *fw, GError **err)
{
	return qmp_request(fw, "inject-nmi", err);
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
	if (fw->vm_qmp_path) {
		/* relative: the card VM runs in the run directory */
		ADD("-qmp");
		ADD("unix:" CARDVM_QMP ",server=on,wait=off");
	}
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
	qmp_vm_gone(fw);
	if (fw->vm_qmp_path)
		unlink(fw->vm_qmp_path);
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
	g_autoptr(GPtrArray) argv = NULL;
	pid_t parent = getpid();
	int fds[1] = { fw->mem_fd };
	int out_fd = -1, err_fd = -1;
	GPid pid;

	g_free(fw->vm_qmp_path);
	fw->vm_qmp_path = qmp_path(fw);
	if (fw->vm_qmp_path)
		unlink(fw->vm_qmp_path);        /* one a killed VM left */
	argv = build_argv(fw, bf);
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
