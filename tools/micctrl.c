// SPDX-License-Identifier: GPL-2.0
/*
 * micctrl - control Xeon Phi x100 cards through /sys/class/mic.
 *
 *   micctrl status [micN...]
 *   micctrl boot|reset micN...
 *   micctrl shutdown|reboot micN... [--timeout S]
 *   micctrl wait micN STATE [--timeout S]
 *   micctrl config micN [--cmdline S] [--firmware F] [--ramdisk F]
 *                       [--bootmode M]
 *   micctrl log micN [--raw]
 *
 * wait returns when the card reaches STATE; without --timeout it waits
 * for ever, S may be fractional and 0 checks once. shutdown does what
 * mpssd does: request it, wait for the card's shutdown status (or for the
 * card to leave shutting_down), reset the card and wait for ready; reboot
 * then boots it again.
 *
 * Exit status: 0 success, 1 failure, 2 usage error. MICCTRL_SYSFS replaces
 * /sys/class/mic, MICCTRL_DEBUGFS /sys/kernel/debug and MICCTRL_SYSTEM_MAP
 * /lib/firmware/mic/System.map (for tests against a fake tree).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "micctrl.h"

/* Re-read at least this often, in case a notification is missed. */
#ifndef WAIT_SLICE_MS
#define WAIT_SLICE_MS	1000
#endif

static const char *const card_states[] = {
	"ready", "booting", "online", "shutting_down", "resetting",
	"reset_failed",
};

static const char *const status_attrs[] = {
	"state", "shutdown_status", "family", "stepping", "bootmode",
	"firmware", "ramdisk", "cmdline", "heartbeat_enable",
};

static const char *sysfs_root(void)
{
	const char *root = getenv("MICCTRL_SYSFS");

	return root && *root ? root : "/sys/class/mic";
}

void print_usage(FILE *out)
{
	fputs("usage: micctrl status [micN...]\n"
	      "       micctrl boot micN...\n"
	      "       micctrl reset micN...\n"
	      "       micctrl shutdown micN... [--timeout SECONDS]\n"
	      "       micctrl reboot micN... [--timeout SECONDS]\n"
	      "       micctrl wait micN STATE [--timeout SECONDS]\n"
	      "       micctrl config micN [--cmdline S] [--firmware F]\n"
	      "                           [--ramdisk F] [--bootmode linux|flash]\n"
	      "       micctrl log micN [--raw]\n"
	      "states: ready booting online shutting_down resetting reset_failed\n"
	      "MICCTRL_SYSFS overrides /sys/class/mic, MICCTRL_DEBUGFS\n"
	      "/sys/kernel/debug, MICCTRL_SYSTEM_MAP /lib/firmware/mic/System.map.\n",
	      out);
}

/* Accept "micN" or "N"; write the canonical "micN" into name. */
bool card_name(const char *arg, char *name)
{
	const char *digits = strncmp(arg, "mic", 3) ? arg : arg + 3;
	char *end;
	long n;

	if (!*digits || *digits == '-' || *digits == '+')
		return false;
	errno = 0;
	n = strtol(digits, &end, 10);
	if (*end || errno || n < 0 || n > INT_MAX)
		return false;
	snprintf(name, NAME_MAX_LEN, "mic%ld", n);
	return true;
}

static void attr_path(char *path, size_t len, const char *card,
		      const char *attr)
{
	snprintf(path, len, "%s/%s/%s", sysfs_root(), card, attr);
}

/* Checks every card argument; returns 0, 1 (missing card) or 2 (bad). */
int check_cards(int argc, char **argv)
{
	char name[NAME_MAX_LEN], path[PATH_MAX];
	struct stat st;
	int i, rc = 0;

	for (i = 0; i < argc; i++) {
		if (!card_name(argv[i], name))
			return usage_error("%s: not a card name (expected micN)",
					   argv[i]);
		snprintf(path, sizeof(path), "%s/%s", sysfs_root(), name);
		if (stat(path, &st) || !S_ISDIR(st.st_mode)) {
			err_msg("%s: no such card", name);
			rc = 1;
		}
	}
	return rc;
}

/* Read an attribute into buf without its trailing newline. */
static int read_fd(int fd, char *buf, size_t len)
{
	ssize_t n;

	if (lseek(fd, 0, SEEK_SET) < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	return 0;
}

int read_attr(const char *card, const char *attr, char *buf, size_t len)
{
	char path[PATH_MAX];
	int fd, rc;

	attr_path(path, sizeof(path), card, attr);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	rc = read_fd(fd, buf, len);
	close(fd);
	return rc;
}

/* Write value; on failure print "micctrl: micN: what: <errno text>". */
int write_attr(const char *card, const char *attr, const char *value,
	       const char *what)
{
	/*
	 * O_TRUNC as in "echo >": sysfs ignores it, a fake tree needs it.
	 * A zero-length write never reaches sysfs: "\n" clears a value.
	 */
	const char *data = *value ? value : "\n";
	size_t len = strlen(data);
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	attr_path(path, sizeof(path), card, attr);
	fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0) {
		err_msg("%s: %s: %s", card, what, strerror(errno));
		return 1;
	}
	n = write(fd, data, len);
	if (n < 0 || (size_t)n != len) {
		err_msg("%s: %s: %s", card, what,
			n < 0 ? strerror(errno) : "short write");
		close(fd);
		return 1;
	}
	if (close(fd)) {
		err_msg("%s: %s: %s", card, what, strerror(errno));
		return 1;
	}
	return 0;
}

static int print_card(const char *card)
{
	char value[VALUE_MAX];
	size_t i;
	int rc;

	printf("%s:\n", card);
	for (i = 0; i < ARRAY_SIZE(status_attrs); i++) {
		rc = read_attr(card, status_attrs[i], value, sizeof(value));
		if (rc)
			printf("  %-17s (%s)\n", status_attrs[i], strerror(-rc));
		else
			printf("  %-17s %s\n", status_attrs[i], value);
	}
	return 0;
}

static int card_index_cmp(const void *a, const void *b)
{
	long x = strtol(*(char *const *)a + 3, NULL, 10);
	long y = strtol(*(char *const *)b + 3, NULL, 10);

	return (x > y) - (x < y);
}

/* status without arguments: every micN directory, in numeric order. */
static int status_all(void)
{
	char *names[512], name[NAME_MAX_LEN];
	struct dirent *de;
	size_t n = 0, i;
	DIR *dir;

	dir = opendir(sysfs_root());
	if (!dir) {
		err_msg("%s: %s", sysfs_root(), strerror(errno));
		return 1;
	}
	while ((de = readdir(dir)) && n < ARRAY_SIZE(names)) {
		if (strncmp(de->d_name, "mic", 3) || !card_name(de->d_name, name) ||
		    strcmp(name, de->d_name))
			continue;
		names[n] = strdup(de->d_name);
		if (names[n])
			n++;
	}
	closedir(dir);
	if (!n) {
		err_msg("no cards in %s", sysfs_root());
		return 1;
	}
	qsort(names, n, sizeof(names[0]), card_index_cmp);
	for (i = 0; i < n; i++) {
		print_card(names[i]);
		free(names[i]);
	}
	return 0;
}

static int cmd_status(int argc, char **argv)
{
	char name[NAME_MAX_LEN];
	int i, rc;

	if (!argc)
		return status_all();
	rc = check_cards(argc, argv);
	if (rc)
		return rc;
	for (i = 0; i < argc; i++) {
		card_name(argv[i], name);
		print_card(name);
	}
	return 0;
}

/* boot, reset: write the command to each card's state. */
static int cmd_state_write(const char *cmd, int argc, char **argv)
{
	char name[NAME_MAX_LEN];
	int i, rc;

	if (!argc)
		return usage_error("%s: no card given", cmd);
	rc = check_cards(argc, argv);
	if (rc)
		return rc;
	for (i = 0; i < argc; i++) {
		card_name(argv[i], name);
		if (write_attr(name, "state", cmd, cmd))
			rc = 1;
	}
	return rc;
}

static bool valid_state(const char *state)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(card_states); i++)
		if (!strcmp(state, card_states[i]))
			return true;
	return false;
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int parse_timeout(const char *arg, double *timeout)
{
	char *end;

	errno = 0;
	*timeout = strtod(arg, &end);
	if (!*arg || *end || errno || !isfinite(*timeout) || *timeout < 0)
		return usage_error("invalid timeout '%s'", arg);
	return 0;
}

/*
 * "--timeout S" or "--timeout=S" at argv[*i]: returns 1 if taken (*i
 * moved past it), 0 if argv[*i] is something else, or a usage error
 * (negated exit status).
 */
static int timeout_opt(int argc, char **argv, int *i, double *timeout)
{
	int rc;

	if (!strcmp(argv[*i], "--timeout")) {
		if (++*i == argc)
			return -usage_error("--timeout needs a value");
		rc = parse_timeout(argv[*i], timeout);
	} else if (!strncmp(argv[*i], "--timeout=", 10)) {
		rc = parse_timeout(argv[*i] + 10, timeout);
	} else {
		return 0;
	}
	return rc ? -rc : 1;
}

/* What a wait looks at. */
struct card_view {
	char state[VALUE_MAX];
	char status[VALUE_MAX];
};

typedef bool (*wait_done_fn)(const struct card_view *view, const char *arg);

static bool state_is(const struct card_view *view, const char *want)
{
	return !strcmp(view->state, want);
}

/*
 * The card published its shutdown status, or went on to another state
 * (one we know: anything else is taken as a transition still under way).
 */
static bool shutdown_over(const struct card_view *view, const char *unused)
{
	(void)unused;
	return strcmp(view->status, "nop") ||
	       (strcmp(view->state, "shutting_down") &&
		valid_state(view->state));
}

static int open_attr(const char *card, const char *attr)
{
	char path[PATH_MAX];

	attr_path(path, sizeof(path), card, attr);
	return open(path, O_RDONLY);
}

/*
 * Wait until done(view, arg) holds. Sleeps in poll() until sysfs notifies
 * a change of "state" or "shutdown_status" (POLLPRI | POLLERR), then seeks
 * back and re-reads: sysfs only reports a change relative to the last read
 * of the same open file. what names the goal in the timeout message.
 */
static int wait_card(const char *card, wait_done_fn done, const char *arg,
		     double timeout, const char *what, struct card_view *view)
{
	double deadline = now_seconds() + timeout;
	struct pollfd pfd[2];
	int rc, ms, nfds = 2;

	strcpy(view->status, "nop");
	pfd[0].fd = open_attr(card, "state");
	if (pfd[0].fd < 0) {
		err_msg("%s: state: %s", card, strerror(errno));
		return 1;
	}
	/* Older kernels may lack it; then only state counts. */
	pfd[1].fd = open_attr(card, "shutdown_status");
	if (pfd[1].fd < 0)
		nfds = 1;
	for (;;) {
		rc = read_fd(pfd[0].fd, view->state, sizeof(view->state));
		if (!rc && nfds == 2)
			rc = read_fd(pfd[1].fd, view->status,
				     sizeof(view->status));
		if (rc) {
			err_msg("%s: %s", card, strerror(-rc));
			break;
		}
		if (done(view, arg)) {
			rc = 0;
			goto out;
		}
		ms = WAIT_SLICE_MS;
		if (timeout >= 0) {
			double left = deadline - now_seconds();

			if (left <= 0) {
				err_msg("%s: timed out after %g s waiting for %s (state is %s)",
					card, timeout, what, view->state);
				break;
			}
			if (left * 1000 < ms)
				ms = (int)(left * 1000) + 1;
		}
		pfd[0].events = POLLPRI | POLLERR;
		pfd[1].events = POLLPRI | POLLERR;
		if (poll(pfd, nfds, ms) < 0 && errno != EINTR) {
			err_msg("%s: poll: %s", card, strerror(errno));
			break;
		}
	}
	rc = 1;
out:
	if (nfds == 2)
		close(pfd[1].fd);
	close(pfd[0].fd);
	return rc;
}

static int cmd_wait(int argc, char **argv)
{
	const char *card_arg = NULL, *state = NULL;
	char name[NAME_MAX_LEN];
	struct card_view view;
	double timeout = -1;	/* no --timeout: wait for ever */
	int i, rc;

	for (i = 0; i < argc; i++) {
		rc = timeout_opt(argc, argv, &i, &timeout);
		if (rc < 0)
			return -rc;
		if (rc)
			continue;
		if (argv[i][0] == '-' && argv[i][1])
			return usage_error("wait: unknown option '%s'", argv[i]);
		if (!card_arg)
			card_arg = argv[i];
		else if (!state)
			state = argv[i];
		else
			return usage_error("wait: unexpected argument '%s'",
					   argv[i]);
	}
	if (!card_arg || !state)
		return usage_error("wait: need a card and a state");
	if (!valid_state(state))
		return usage_error("wait: unknown state '%s'", state);
	rc = check_cards(1, (char **)&card_arg);
	if (rc)
		return rc;
	card_name(card_arg, name);
	return wait_card(name, state_is, state, timeout, state, &view);
}

/*
 * After "shutdown" was accepted: wait for the card's shutdown status (or
 * for the card to leave shutting_down), reset it and wait for ready, as
 * mpssd does (facts §8.4). Returns 0 when the card reported a status and
 * is ready; *ready tells whether it reached ready at all.
 */
static int finish_shutdown(const char *card, double status_timeout,
			   double ready_timeout, bool *ready)
{
	char status[VALUE_MAX];
	struct card_view view;
	int rc;

	*ready = false;
	rc = wait_card(card, shutdown_over, NULL, status_timeout,
		       "a shutdown status", &view);
	if (rc)
		err_msg("%s: resetting it anyway", card);
	snprintf(status, sizeof(status), "%s", view.status);
	if (!state_is(&view, "ready") &&
	    write_attr(card, "state", "reset", "reset"))
		return 1;
	if (wait_card(card, state_is, "ready", ready_timeout, "ready", &view))
		return 1;
	*ready = true;
	printf("%s: shutdown_status %s, state ready\n", card, status);
	return rc || !strcmp(status, "nop");
}

/* shutdown and reboot: upstream waits 60 s for the status, 120 s for ready. */
static int cmd_shutdown(const char *cmd, int argc, char **argv)
{
	double status_timeout = 60, ready_timeout = 120, timeout = -1;
	bool reboot = !strcmp(cmd, "reboot"), *sent, ready;
	char name[NAME_MAX_LEN];
	int i, n = 0, rc;

	for (i = 0; i < argc; i++) {
		rc = timeout_opt(argc, argv, &i, &timeout);
		if (rc < 0)
			return -rc;
		if (rc)
			continue;
		if (argv[i][0] == '-' && argv[i][1])
			return usage_error("%s: unknown option '%s'", cmd,
					   argv[i]);
		argv[n++] = argv[i];
	}
	if (!n)
		return usage_error("%s: no card given", cmd);
	if (timeout >= 0) {
		status_timeout = timeout;
		ready_timeout = timeout;
	}
	rc = check_cards(n, argv);
	if (rc)
		return rc;
	sent = calloc(n, sizeof(*sent));
	if (!sent) {
		err_msg("out of memory");
		return 1;
	}
	/* Ask every card first, so that they shut down in parallel. */
	for (i = 0; i < n; i++) {
		card_name(argv[i], name);
		sent[i] = !write_attr(name, "state", "shutdown", "shutdown");
		if (!sent[i])
			rc = 1;
	}
	for (i = 0; i < n; i++) {
		if (!sent[i])
			continue;
		card_name(argv[i], name);
		if (finish_shutdown(name, status_timeout, ready_timeout, &ready))
			rc = 1;
		if (reboot && ready && write_attr(name, "state", "boot", "boot"))
			rc = 1;
	}
	free(sent);
	return rc;
}

struct config_opt {
	const char *option;
	const char *attr;
	const char *value;
};

static int config_show(const char *card, struct config_opt *opts, int n)
{
	char value[VALUE_MAX];
	int i, rc;

	printf("%s:\n", card);
	for (i = 0; i < n; i++) {
		rc = read_attr(card, opts[i].attr, value, sizeof(value));
		printf("  %-9s %s\n", opts[i].attr, rc ? strerror(-rc) : value);
	}
	return 0;
}

static int cmd_config(int argc, char **argv)
{
	struct config_opt opts[] = {
		{ "--cmdline", "cmdline", NULL },
		{ "--firmware", "firmware", NULL },
		{ "--ramdisk", "ramdisk", NULL },
		{ "--bootmode", "bootmode", NULL },
	};
	const int nopts = ARRAY_SIZE(opts);
	const char *card_arg = NULL;
	char name[NAME_MAX_LEN];
	int i, j, rc, any = 0;

	for (i = 0; i < argc; i++) {
		for (j = 0; j < nopts; j++) {
			size_t len = strlen(opts[j].option);

			if (!strcmp(argv[i], opts[j].option)) {
				if (++i == argc)
					return usage_error("%s needs a value",
							   opts[j].option);
				opts[j].value = argv[i];
				break;
			}
			if (!strncmp(argv[i], opts[j].option, len) &&
			    argv[i][len] == '=') {
				opts[j].value = argv[i] + len + 1;
				break;
			}
		}
		if (j < nopts) {
			any = 1;
			continue;
		}
		if (argv[i][0] == '-' && argv[i][1])
			return usage_error("config: unknown option '%s'", argv[i]);
		if (card_arg)
			return usage_error("config: unexpected argument '%s'",
					   argv[i]);
		card_arg = argv[i];
	}
	if (!card_arg)
		return usage_error("config: no card given");
	rc = check_cards(1, (char **)&card_arg);
	if (rc)
		return rc;
	card_name(card_arg, name);
	if (!any)
		return config_show(name, opts, nopts);
	for (j = 0; j < nopts; j++)
		if (opts[j].value &&
		    write_attr(name, opts[j].attr, opts[j].value, opts[j].attr))
			rc = 1;
	return rc;
}

int main(int argc, char **argv)
{
	const char *cmd;

	if (argc < 2)
		return usage_error("no command given");
	cmd = argv[1];
	argc -= 2;
	argv += 2;

	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") ||
	    !strcmp(cmd, "help")) {
		print_usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "status"))
		return cmd_status(argc, argv);
	if (!strcmp(cmd, "boot") || !strcmp(cmd, "reset"))
		return cmd_state_write(cmd, argc, argv);
	if (!strcmp(cmd, "shutdown") || !strcmp(cmd, "reboot"))
		return cmd_shutdown(cmd, argc, argv);
	if (!strcmp(cmd, "wait"))
		return cmd_wait(argc, argv);
	if (!strcmp(cmd, "config"))
		return cmd_config(argc, argv);
	if (!strcmp(cmd, "log"))
		return cmd_log(argc, argv);
	return usage_error("unknown command '%s'", cmd);
}
