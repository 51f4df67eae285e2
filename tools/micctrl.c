// SPDX-License-Identifier: GPL-2.0
/*
 * micctrl - control Xeon Phi x100 cards through /sys/class/mic.
 *
 *   micctrl status [micN...]
 *   micctrl boot|reset|shutdown micN...
 *   micctrl wait micN STATE [--timeout S]
 *   micctrl config micN [--cmdline S] [--firmware F] [--ramdisk F]
 *                       [--bootmode M]
 *
 * wait returns when the card reaches STATE; without --timeout it waits
 * for ever, S may be fractional and 0 checks once.
 *
 * Exit status: 0 success, 1 failure, 2 usage error. MICCTRL_SYSFS replaces
 * /sys/class/mic (for tests against a fake tree).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define EXIT_USAGE	2
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define NAME_MAX_LEN	32
#define VALUE_MAX	4096
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

static void err_msg(const char *fmt, ...)
{
	va_list ap;

	fputs("micctrl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void print_usage(FILE *out)
{
	fputs("usage: micctrl status [micN...]\n"
	      "       micctrl boot micN...\n"
	      "       micctrl reset micN...\n"
	      "       micctrl shutdown micN...\n"
	      "       micctrl wait micN STATE [--timeout SECONDS]\n"
	      "       micctrl config micN [--cmdline S] [--firmware F]\n"
	      "                           [--ramdisk F] [--bootmode linux|flash]\n"
	      "states: ready booting online shutting_down resetting reset_failed\n"
	      "MICCTRL_SYSFS overrides /sys/class/mic.\n", out);
}

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("micctrl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	print_usage(stderr);
	return EXIT_USAGE;
}

/* Accept "micN" or "N"; write the canonical "micN" into name. */
static bool card_name(const char *arg, char *name)
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
static int check_cards(int argc, char **argv)
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

static int read_attr(const char *card, const char *attr, char *buf,
		     size_t len)
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
static int write_attr(const char *card, const char *attr, const char *value,
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

/* boot, reset, shutdown: write the command to each card's state. */
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
 * Sleep in poll() until sysfs notifies a change of "state" (POLLPRI |
 * POLLERR), then seek back and re-read: sysfs only reports a change
 * relative to the last read of the same open file.
 */
static int wait_state(const char *card, const char *want, double timeout)
{
	double deadline = now_seconds() + timeout;
	char path[PATH_MAX], value[VALUE_MAX] = "";
	struct pollfd pfd;
	int fd, rc, ms;

	attr_path(path, sizeof(path), card, "state");
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		err_msg("%s: state: %s", card, strerror(errno));
		return 1;
	}
	for (;;) {
		rc = read_fd(fd, value, sizeof(value));
		if (rc) {
			err_msg("%s: state: %s", card, strerror(-rc));
			break;
		}
		if (!strcmp(value, want)) {
			close(fd);
			return 0;
		}
		ms = WAIT_SLICE_MS;
		if (timeout >= 0) {
			double left = deadline - now_seconds();

			if (left <= 0) {
				err_msg("%s: timed out after %g s waiting for %s (state is %s)",
					card, timeout, want, value);
				break;
			}
			if (left * 1000 < ms)
				ms = (int)(left * 1000) + 1;
		}
		pfd.fd = fd;
		pfd.events = POLLPRI | POLLERR;
		if (poll(&pfd, 1, ms) < 0 && errno != EINTR) {
			err_msg("%s: poll: %s", card, strerror(errno));
			break;
		}
	}
	close(fd);
	return 1;
}

static int cmd_wait(int argc, char **argv)
{
	const char *card_arg = NULL, *state = NULL;
	char name[NAME_MAX_LEN];
	double timeout = -1;	/* no --timeout: wait for ever */
	int i, rc;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--timeout")) {
			if (++i == argc)
				return usage_error("--timeout needs a value");
			rc = parse_timeout(argv[i], &timeout);
			if (rc)
				return rc;
		} else if (!strncmp(argv[i], "--timeout=", 10)) {
			rc = parse_timeout(argv[i] + 10, &timeout);
			if (rc)
				return rc;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return usage_error("wait: unknown option '%s'", argv[i]);
		} else if (!card_arg) {
			card_arg = argv[i];
		} else if (!state) {
			state = argv[i];
		} else {
			return usage_error("wait: unexpected argument '%s'",
					   argv[i]);
		}
	}
	if (!card_arg || !state)
		return usage_error("wait: need a card and a state");
	if (!valid_state(state))
		return usage_error("wait: unknown state '%s'", state);
	rc = check_cards(1, (char **)&card_arg);
	if (rc)
		return rc;
	card_name(card_arg, name);
	return wait_state(name, state, timeout);
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
	if (!strcmp(cmd, "boot") || !strcmp(cmd, "reset") ||
	    !strcmp(cmd, "shutdown"))
		return cmd_state_write(cmd, argc, argv);
	if (!strcmp(cmd, "wait"))
		return cmd_wait(argc, argv);
	if (!strcmp(cmd, "config"))
		return cmd_config(argc, argv);
	return usage_error("unknown command '%s'", cmd);
}
