// SPDX-License-Identifier: GPL-2.0
/*
 * fail-nth: run one kernel operation with its Nth fault point failing.
 *
 *   fail-nth N write FILE STRING      write(2) STRING to FILE
 *   fail-nth N insmod FILE [PARAMS]   finit_module(2) of FILE
 *   fail-nth N connect NODE PORT      scif_open + scif_bind + scif_connect
 *   fail-nth N register NODE PORT SIZE
 *					connect (not counted), then
 *					scif_register of SIZE bytes (and
 *					scif_unregister if it worked)
 *
 * The kernel's per-task fail-nth (/proc/thread-self/fail-nth, with
 * CONFIG_FAULT_INJECTION) makes the Nth fault point this thread passes
 * fail: every allocation failslab or fail_page_alloc is told to consider,
 * and every function fail_function has armed. Everything the tool needs
 * besides the operation (files opened, memory, the SCIF connection of
 * "register") is set up before the counter is armed, and the counter is
 * read back and disarmed right after, so only the operation's own fault
 * points count. N = 0 fails nothing and counts them; N = - leaves the
 * counter alone (a counter armed even for counting takes precedence over
 * the debugfs fault attributes, fail_function's included).
 *
 * It prints one line:
 *   fail-nth: OP n N points P injected yes|no rc RC errno NAME
 * (points: the fault points passed, N itself when it was injected; -1
 * with N = -) and
 * exits 0 if the operation succeeded, 1 if it failed, 2 on a usage or
 * set-up error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "libscif/scif.h"

/* Counting: a count no operation reaches. */
#define COUNT_ALL	1000000000U

static int nth_fd = -1;

static int die(const char *what)
{
	fprintf(stderr, "fail-nth: %s: %s\n", what, strerror(errno));
	return 2;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: fail-nth N write FILE STRING\n"
		"       fail-nth N insmod FILE [PARAMS]\n"
		"       fail-nth N connect NODE PORT\n"
		"       fail-nth N register NODE PORT SIZE\n");
	return 2;
}

/* Arm the counter: the @n-th fault point from now fails (0: none). */
static int arm(unsigned int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", n ? n : COUNT_ALL);

	return pwrite(nth_fd, buf, len, 0) == len ? 0 : -1;
}

/* Disarm; the fault points left to pass before the armed one. */
static long disarm(void)
{
	char buf[16];
	ssize_t len = pread(nth_fd, buf, sizeof(buf) - 1, 0);

	if (len <= 0)
		return -1;
	buf[len] = 0;
	if (pwrite(nth_fd, "0", 1, 0) != 1)
		return -1;
	return strtol(buf, NULL, 10);
}

static int parse_uint(const char *s, unsigned long max, unsigned long *v)
{
	char *end;

	errno = 0;
	*v = strtoul(s, &end, 0);
	return errno || end == s || *end || *v > max ? -1 : 0;
}

int main(int argc, char **argv)
{
	unsigned long n, node = 0, port = 0, size = 0;
	struct scif_portID dst;
	const char *op;
	void *buf = NULL;
	int fd = -1, rc, err, plain;
	long left, points;
	off_t off = 0;

	if (argc < 3)
		return usage();
	plain = !strcmp(argv[1], "-");
	if (plain)
		n = 0;
	else if (parse_uint(argv[1], 100000000, &n))
		return usage();
	op = argv[2];
	if (!strcmp(op, "write") && argc == 5) {
		fd = open(argv[3], O_WRONLY);
		if (fd < 0)
			return die(argv[3]);
	} else if (!strcmp(op, "insmod") && (argc == 4 || argc == 5)) {
		fd = open(argv[3], O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return die(argv[3]);
	} else if ((!strcmp(op, "connect") && argc == 5) ||
		   (!strcmp(op, "register") && argc == 6)) {
		if (parse_uint(argv[3], 0xffff, &node) ||
		    parse_uint(argv[4], 0xffff, &port))
			return usage();
		dst.node = node;
		dst.port = port;
		if (argc == 6) {
			if (parse_uint(argv[5], 1UL << 30, &size) || !size)
				return usage();
			buf = mmap(NULL, size, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
				   -1, 0);
			if (buf == MAP_FAILED)
				return die("mmap");
			memset(buf, 0x5a, size);
			fd = scif_open();
			if (fd < 0)
				return die("scif_open");
			if (scif_bind(fd, 0) < 0)
				return die("scif_bind");
			if (scif_connect(fd, &dst) < 0)
				return die("scif_connect");
		}
	} else {
		return usage();
	}

	if (!plain) {
		nth_fd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
		if (nth_fd < 0)
			return die("/proc/thread-self/fail-nth");
		if (arm(n))
			return die("arming fail-nth");
	}
	if (!strcmp(op, "write")) {
		size_t len = strlen(argv[4]);
		ssize_t w = write(fd, argv[4], len);

		rc = w == (ssize_t)len ? 0 : -1;
		err = w < 0 ? errno : (rc ? EIO : 0);
	} else if (!strcmp(op, "insmod")) {
		rc = syscall(SYS_finit_module, fd, argc == 5 ? argv[4] : "", 0);
		err = rc ? errno : 0;
	} else if (!strcmp(op, "connect")) {
		fd = scif_open();
		rc = fd < 0 ? -1 : 0;
		if (!rc && scif_bind(fd, 0) < 0)
			rc = -1;
		if (!rc && scif_connect(fd, &dst) < 0)
			rc = -1;
		err = rc ? errno : 0;
	} else {
		off = scif_register(fd, buf, size, 0,
				    SCIF_PROT_READ | SCIF_PROT_WRITE, 0);
		rc = off == SCIF_REGISTER_FAILED ? -1 : 0;
		err = rc ? errno : 0;
	}
	left = plain ? 0 : disarm();
	if (left < 0)
		return die("reading fail-nth");

	/* Not counted any more: undo what worked. */
	if (!strcmp(op, "register") && !rc &&
	    scif_unregister(fd, off, size) < 0)
		fprintf(stderr, "fail-nth: scif_unregister: %s\n",
			strerror(errno));
	if (fd >= 0)
		close(fd);

	if (plain)
		points = -1;
	else if (n)
		points = left ? (long)n - left : (long)n;
	else
		points = (long)COUNT_ALL - left;
	printf("fail-nth: %s n %s points %ld injected %s rc %d errno %s\n",
	       op, argv[1], points, n && !left ? "yes" : "no", rc,
	       err ? strerrorname_np(err) : "0");
	return rc ? 1 : 0;
}
