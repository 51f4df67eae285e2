// SPDX-License-Identifier: GPL-2.0
/*
 * scif-abi-check: checks the /dev/scif ioctl ABI (facts §7.3) of the
 * running kernel, on the loopback node, with raw ioctls (not libscif).
 *
 *   scif-abi-check            all checks, TAP output
 *   scif-abi-check hostile [N]
 *	only the accept-handle checks, with N (default 20000) random
 *	handles besides the systematic ones
 *
 * The numbers, sizes and offsets of the ABI are checked when this
 * program is compiled (against shared-module/include/uapi/scif_ioctl.h);
 * at run time it checks what the kernel does with them: error codes of
 * bad calls, EFAULT for bad user pointers, the two-step accept, a
 * bind/listen/connect/accept/send/recv round, poll() and flush().
 * Exit status: 0 all passed, 1 some check failed, 2 could not run.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "../shared-module/include/uapi/scif_ioctl.h"

#define DEV		"/dev/scif"
#define BAD_PTR		((void *)8)	/* never mapped */

/* facts §7.3 (x86-64): the ABI, checked by the compiler. */
#define ABI(expr) _Static_assert(expr, #expr)
ABI(SCIF_BIND == 0xC0087301);
ABI(SCIF_LISTEN == 0x40047302);
ABI(SCIF_CONNECT == 0xC0087303);
ABI(SCIF_ACCEPTREQ == 0xC0107304);
ABI(SCIF_ACCEPTREG == 0xC0087305);
ABI(SCIF_SEND == 0xC0187306);
ABI(SCIF_RECV == 0xC0187307);
ABI(SCIF_REG == 0xC0287308);
ABI(SCIF_UNREG == 0xC0107309);
ABI(SCIF_READFROM == 0xC028730A);
ABI(SCIF_WRITETO == 0xC028730B);
ABI(SCIF_VREADFROM == 0xC028730C);
ABI(SCIF_VWRITETO == 0xC028730D);
ABI(SCIF_GET_NODEIDS == 0xC018730E);
ABI(SCIF_FENCE_MARK == 0xC010730F);
ABI(SCIF_FENCE_WAIT == 0xC0047310);
ABI(SCIF_FENCE_SIGNAL == 0xC0287311);
ABI(sizeof(struct scif_port_id) == 4);
ABI(offsetof(struct scif_port_id, port) == 2);
ABI(sizeof(struct scifioctl_connect) == 8);
ABI(offsetof(struct scifioctl_connect, peer) == 4);
ABI(sizeof(struct scifioctl_accept) == 16);
ABI(offsetof(struct scifioctl_accept, peer) == 4);
ABI(offsetof(struct scifioctl_accept, endpt) == 8);
ABI(sizeof(struct scifioctl_msg) == 24);
ABI(offsetof(struct scifioctl_msg, len) == 8);
ABI(offsetof(struct scifioctl_msg, flags) == 12);
ABI(offsetof(struct scifioctl_msg, out_len) == 16);
ABI(sizeof(struct scifioctl_reg) == 40);
ABI(offsetof(struct scifioctl_reg, len) == 8);
ABI(offsetof(struct scifioctl_reg, offset) == 16);
ABI(offsetof(struct scifioctl_reg, prot) == 24);
ABI(offsetof(struct scifioctl_reg, flags) == 28);
ABI(offsetof(struct scifioctl_reg, out_offset) == 32);
ABI(sizeof(struct scifioctl_unreg) == 16);
ABI(offsetof(struct scifioctl_unreg, len) == 8);
ABI(sizeof(struct scifioctl_copy) == 40);
ABI(offsetof(struct scifioctl_copy, len) == 8);
ABI(offsetof(struct scifioctl_copy, roffset) == 16);
ABI(offsetof(struct scifioctl_copy, addr) == 24);
ABI(offsetof(struct scifioctl_copy, flags) == 32);
ABI(sizeof(struct scifioctl_node_ids) == 24);
ABI(offsetof(struct scifioctl_node_ids, self) == 8);
ABI(offsetof(struct scifioctl_node_ids, len) == 16);
ABI(sizeof(struct scifioctl_fence_mark) == 16);
ABI(offsetof(struct scifioctl_fence_mark, mark) == 8);
ABI(sizeof(struct scifioctl_fence_signal) == 40);
ABI(offsetof(struct scifioctl_fence_signal, lval) == 8);
ABI(offsetof(struct scifioctl_fence_signal, roff) == 16);
ABI(offsetof(struct scifioctl_fence_signal, rval) == 24);
ABI(offsetof(struct scifioctl_fence_signal, flags) == 32);

static int tests, failures;
static uint16_t self_node;

static void check(int ok, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void check(int ok, const char *fmt, ...)
{
	va_list ap;

	tests++;
	if (!ok)
		failures++;
	printf("%s %d - ", ok ? "ok" : "not ok", tests);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* ioctl() must fail with @want. */
static void check_err(int fd, unsigned long cmd, void *arg, int want,
		      const char *what)
{
	int ret = ioctl(fd, cmd, arg);
	int err = ret < 0 ? errno : 0;

	check(ret < 0 && err == want, "%s: %s (got %d, %s)", what,
	      strerror(want), ret, ret < 0 ? strerror(err) : "success");
}

static int dev_open(void)
{
	int fd = open(DEV, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		printf("Bail out! %s: %s\n", DEV, strerror(errno));
		exit(2);
	}
	return fd;
}

static int bind_port(int fd, int port)
{
	return ioctl(fd, SCIF_BIND, &port) < 0 ? -1 : port;
}

/* A listener on a free port; returns its fd, *@port the port. */
static int listener(int *port)
{
	int fd = dev_open();

	*port = bind_port(fd, 0);
	if (*port < 0 || ioctl(fd, SCIF_LISTEN, 8) < 0) {
		printf("Bail out! listener: %s\n", strerror(errno));
		exit(2);
	}
	return fd;
}

struct connector {
	pthread_t thread;
	int fd;
	int port;
	int ret;
	int err;
	struct scifioctl_connect req;
};

static void *connect_thread(void *arg)
{
	struct connector *c = arg;

	c->req.peer.node = self_node;
	c->req.peer.port = c->port;
	c->ret = ioctl(c->fd, SCIF_CONNECT, &c->req);
	c->err = errno;
	return NULL;
}

/* Start connecting a fresh endpoint to @port in the background. */
static void connect_start(struct connector *c, int port)
{
	memset(c, 0, sizeof(*c));
	c->fd = dev_open();
	c->port = port;
	if (pthread_create(&c->thread, NULL, connect_thread, c)) {
		printf("Bail out! pthread_create\n");
		exit(2);
	}
}

static int connect_join(struct connector *c)
{
	pthread_join(c->thread, NULL);
	errno = c->err;
	return c->ret;
}

/* ACCEPTREQ (blocking) on @lfd; returns the handle, 0 on failure. */
static uint64_t accept_req(int lfd, struct scif_port_id *peer)
{
	struct scifioctl_accept req = { .flags = 1 };

	if (ioctl(lfd, SCIF_ACCEPTREQ, &req) < 0)
		return 0;
	if (peer)
		*peer = req.peer;
	return req.endpt;
}

static long xfer(int fd, unsigned long cmd, void *buf, int len, int flags)
{
	struct scifioctl_msg m = {
		.msg = (uintptr_t)buf, .len = len, .flags = flags,
	};

	if (ioctl(fd, cmd, &m) < 0)
		return -1;
	return m.out_len;
}

static void check_node_ids(void)
{
	uint16_t nodes[4] = { 0xffff, 0xffff, 0xffff, 0xffff }, self = 0xffff;
	struct scifioctl_node_ids req = {
		.nodes = (uintptr_t)nodes, .self = (uintptr_t)&self, .len = 4,
	};
	int fd = dev_open(), i, found = 0, ret;

	ret = ioctl(fd, SCIF_GET_NODEIDS, &req);
	check(ret == 0 && req.len >= 1,
	      "GET_NODEIDS: %d nodes online, self %u", req.len, self);
	for (i = 0; i < req.len && i < 4; i++)
		found |= nodes[i] == self;
	check(found, "GET_NODEIDS: self is among the online nodes");
	self_node = self;
	req.len = 0;
	req.nodes = (uintptr_t)BAD_PTR;
	ret = ioctl(fd, SCIF_GET_NODEIDS, &req);
	check(ret == 0 && req.len >= 1,
	      "GET_NODEIDS with len 0 only counts (%d)", req.len);
	req.len = 4;
	check_err(fd, SCIF_GET_NODEIDS, &req, EFAULT,
		  "GET_NODEIDS, bad nodes pointer");
	req.nodes = (uintptr_t)nodes;
	req.self = (uintptr_t)BAD_PTR;
	check_err(fd, SCIF_GET_NODEIDS, &req, EFAULT,
		  "GET_NODEIDS, bad self pointer");
	req.self = (uintptr_t)&self;
	req.len = -1;
	check_err(fd, SCIF_GET_NODEIDS, &req, EINVAL,
		  "GET_NODEIDS, negative len");
	check_err(fd, SCIF_GET_NODEIDS, BAD_PTR, EFAULT,
		  "GET_NODEIDS, bad argument pointer");
	close(fd);
}

static void check_bad_calls(void)
{
	struct scifioctl_connect conn = { .peer = { .node = 0 } };
	struct scifioctl_accept acc = { .flags = 1 };
	char buf[8] = "abcdefg";
	int fd = dev_open(), fd2 = dev_open(), port, taken, ret;
	uint64_t handle = 0;
	struct pollfd pfd;

	check_err(fd, _IO('s', 0x7f), NULL, ENOTTY, "unknown ioctl number");
	check_err(fd, _IOWR('t', 1, uint64_t), &handle, ENOTTY,
		  "foreign ioctl type");
	check_err(fd, SCIF_BIND, BAD_PTR, EFAULT, "BIND, bad pointer");
	port = 70000;
	check_err(fd, SCIF_BIND, &port, EINVAL, "BIND, port above 65535");
	port = -1;
	check_err(fd, SCIF_BIND, &port, EINVAL, "BIND, negative port");
	check_err(fd, SCIF_LISTEN, (void *)8, EINVAL, "LISTEN while unbound");
	acc.flags = 1;
	check_err(fd, SCIF_ACCEPTREQ, &acc, EINVAL,
		  "ACCEPTREQ, not listening");
	check_err(fd, SCIF_SEND, &(struct scifioctl_msg){
			.msg = (uintptr_t)buf, .len = 8 }, ENOTCONN,
		  "SEND, not connected");
	check_err(fd, SCIF_RECV, &(struct scifioctl_msg){
			.msg = (uintptr_t)buf, .len = 8 }, ENOTCONN,
		  "RECV, not connected");
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN | POLLOUT };
	ret = poll(&pfd, 1, 0);
	check(ret == 1 && pfd.revents == POLLERR,
	      "poll() on an unbound endpoint: POLLERR (revents %#x)",
	      pfd.revents);

	taken = bind_port(fd, 0);
	check(taken > 1088, "BIND 0 picks a port above 1088 (%d)", taken);
	port = taken;
	check_err(fd2, SCIF_BIND, &port, EADDRINUSE, "BIND, port taken");
	port = 0;
	check_err(fd, SCIF_BIND, &port, EINVAL, "BIND, already bound");
	check_err(fd, SCIF_CONNECT, BAD_PTR, EFAULT, "CONNECT, bad pointer");
	conn.peer.node = self_node;
	conn.peer.port = taken;	/* bound, not listening */
	check_err(fd2, SCIF_CONNECT, &conn, ECONNREFUSED,
		  "CONNECT, port bound but nobody listens");
	conn.peer.port = 4321;
	check_err(dev_open(), SCIF_CONNECT, &conn, ECONNREFUSED,
		  "CONNECT, port nobody uses");
	conn.peer.node = 200;
	check_err(fd2, SCIF_CONNECT, &conn, ENODEV, "CONNECT, no such node");
	check(ioctl(fd, SCIF_LISTEN, 4) == 0, "LISTEN on the bound endpoint");
	acc.flags = 0;
	check_err(fd, SCIF_ACCEPTREQ, &acc, EAGAIN,
		  "ACCEPTREQ without SYNC, nothing pending");
	acc.flags = 6;
	check_err(fd, SCIF_ACCEPTREQ, &acc, EINVAL, "ACCEPTREQ, bad flags");
	check_err(fd, SCIF_ACCEPTREQ, BAD_PTR, EFAULT,
		  "ACCEPTREQ, bad pointer");
	check_err(fd, SCIF_ACCEPTREG, BAD_PTR, EFAULT,
		  "ACCEPTREG, bad pointer");
	close(fd);
	close(fd2);
}

/* A full round: bind/listen, connect, ACCEPTREQ/ACCEPTREG, data, close. */
static void check_round(void)
{
	struct connector c;
	struct scif_port_id peer = { 0 };
	char tx[3000], rx[3000];
	int lfd, port, afd, i, ret;
	uint64_t handle;
	struct pollfd pfd;

	lfd = listener(&port);
	connect_start(&c, port);
	pfd = (struct pollfd){ .fd = lfd, .events = POLLIN };
	check(poll(&pfd, 1, 10000) == 1 && (pfd.revents & POLLIN),
	      "poll() on the listener: POLLIN with a request pending");
	handle = accept_req(lfd, &peer);
	check(handle != 0, "ACCEPTREQ: handle %#" PRIx64, handle);
	check(peer.node == self_node, "ACCEPTREQ: peer node %u", peer.node);
	afd = dev_open();
	check(ioctl(afd, SCIF_ACCEPTREG, &handle) == 0, "ACCEPTREG");
	ret = connect_join(&c);
	check(ret == 0, "CONNECT: %s", ret ? strerror(c.err) : "connected");
	check(c.req.self.node == self_node && c.req.self.port == peer.port &&
	      c.req.self.port > 1088,
	      "CONNECT fills in self (node %u port %u), the peer ACCEPTREQ saw",
	      c.req.self.node, c.req.self.port);
	check_err(dev_open(), SCIF_ACCEPTREG, &handle, EINVAL,
		  "ACCEPTREG with a handle already taken");

	for (i = 0; i < (int)sizeof(tx); i++)
		tx[i] = (char)(i * 13 + 1);
	check(xfer(c.fd, SCIF_SEND, tx, sizeof(tx), 1) == sizeof(tx),
	      "SEND 3000 bytes, blocking: out_len 3000");
	pfd = (struct pollfd){ .fd = afd, .events = POLLIN | POLLOUT };
	ret = poll(&pfd, 1, 10000);
	check(ret == 1 && (pfd.revents & POLLIN),
	      "poll() on the accepted endpoint: POLLIN (revents %#x)",
	      pfd.revents);
	memset(rx, 0, sizeof(rx));
	check(xfer(afd, SCIF_RECV, rx, sizeof(rx), 1) == sizeof(rx) &&
	      !memcmp(tx, rx, sizeof(rx)), "RECV 3000 bytes, blocking, equal");
	check(xfer(afd, SCIF_RECV, rx, sizeof(rx), 0) == 0,
	      "RECV non-blocking with nothing queued: out_len 0");
	check(xfer(afd, SCIF_SEND, tx, 100, 0) == 100, "SEND back 100 bytes");
	/* The kernel takes the bytes off the queue before it copies them. */
	check_err(c.fd, SCIF_RECV, &(struct scifioctl_msg){
			.msg = (uintptr_t)BAD_PTR, .len = 100, .flags = 1 },
		  EFAULT, "RECV into a bad buffer");
	check(xfer(afd, SCIF_SEND, tx, 100, 0) == 100, "SEND 100 more");
	check_err(c.fd, SCIF_SEND, &(struct scifioctl_msg){
			.msg = (uintptr_t)BAD_PTR, .len = 100, .flags = 1 },
		  EFAULT, "SEND from a bad buffer");
	check_err(c.fd, SCIF_SEND, &(struct scifioctl_msg){
			.msg = (uintptr_t)tx, .len = -1 },
		  EINVAL, "SEND, negative len");
	check_err(c.fd, SCIF_SEND, BAD_PTR, EFAULT, "SEND, bad argument");
	check_err(c.fd, SCIF_ACCEPTREG, &handle, EINVAL,
		  "ACCEPTREG on an endpoint in use");

	close(afd);
	pfd = (struct pollfd){ .fd = c.fd, .events = POLLIN };
	ret = poll(&pfd, 1, 10000);
	check(ret == 1 && (pfd.revents & POLLHUP),
	      "peer closed: POLLHUP (revents %#x)", pfd.revents);
	check(xfer(c.fd, SCIF_RECV, rx, 100, 1) == 100 &&
	      !memcmp(tx, rx, 100), "queued bytes still readable after close");
	check_err(c.fd, SCIF_RECV, &(struct scifioctl_msg){
			.msg = (uintptr_t)rx, .len = 1, .flags = 1 },
		  ECONNRESET, "RECV after the peer closed");
	close(c.fd);
	close(lfd);
}

/* A handle whose listener closed before ACCEPTREG is stale. */
static void check_stale_handle(void)
{
	struct connector c;
	struct scifioctl_msg m;
	char b;
	int lfd, port;
	uint64_t handle;

	lfd = listener(&port);
	connect_start(&c, port);
	handle = accept_req(lfd, NULL);
	check(handle != 0 && connect_join(&c) == 0,
	      "ACCEPTREQ and CONNECT for the stale-handle check");
	close(lfd);
	check_err(dev_open(), SCIF_ACCEPTREG, &handle, EINVAL,
		  "ACCEPTREG after the listener closed (stale handle)");
	m = (struct scifioctl_msg){ .msg = (uintptr_t)&b, .len = 1, .flags = 1 };
	check_err(c.fd, SCIF_RECV, &m, ECONNRESET,
		  "the connector of a never-registered accept is reset");
	close(c.fd);
}

struct acceptor {
	int fd;
	int ret;
	int err;
};

static void *accept_thread(void *arg)
{
	struct acceptor *a = arg;
	struct scifioctl_accept req = { .flags = 1 };

	a->ret = ioctl(a->fd, SCIF_ACCEPTREQ, &req);
	a->err = errno;
	return NULL;
}

/* close() of the listening fd by another thread ends a blocked accept. */
static void check_flush(void)
{
	struct acceptor a = { 0 };
	struct timespec t0, t1;
	pthread_t th;
	int port;
	double s;

	a.fd = listener(&port);
	pthread_create(&th, NULL, accept_thread, &a);
	usleep(300 * 1000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	close(a.fd);
	pthread_join(th, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s = t1.tv_sec - t0.tv_sec + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	check(a.ret < 0 && a.err == EINTR && s < 5,
	      "close() wakes a blocked ACCEPTREQ: EINTR after %.2f s (got %d, %s)",
	      s, a.ret, a.ret < 0 ? strerror(a.err) : "success");
}

static uint64_t rand64(void)
{
	return (uint64_t)random() << 62 ^ (uint64_t)random() << 31 ^
	       (uint64_t)random();
}

/* Nothing but the exact handle of a parked accept may claim it. */
static void check_hostile(long n)
{
	struct connector c;
	char tx[64] = "hostile handles", rx[64] = "";
	uint64_t handle, h;
	int lfd, port, fd, bit, bad = 0;
	long i;

	lfd = listener(&port);
	connect_start(&c, port);
	handle = accept_req(lfd, NULL);
	check(handle != 0 && connect_join(&c) == 0,
	      "a connection is parked under handle %#" PRIx64, handle);
	fd = dev_open();
	for (bit = 0; bit < 64; bit++) {
		h = handle ^ (1ull << bit);
		bad += ioctl(fd, SCIF_ACCEPTREG, &h) == 0 || errno != EINVAL;
	}
	check(!bad, "64 one-bit changes of the handle: all EINVAL");
	bad = 0;
	{
		uint64_t fixed[] = { 0, 1, ~0ull, handle + 1, handle - 1,
				     handle & 0xffffff, handle & ~0xffffffull,
				     (uintptr_t)&handle, 0xffff888000000000ull,
				     0xffffffff81000000ull };

		for (i = 0; i < (long)(sizeof(fixed) / sizeof(fixed[0])); i++)
			bad += ioctl(fd, SCIF_ACCEPTREG, &fixed[i]) == 0 ||
			       errno != EINVAL;
	}
	check(!bad, "0, ~0, neighbours, kernel-looking addresses: all EINVAL");
	bad = 0;
	srandom(time(NULL));
	for (i = 0; i < n; i++) {
		h = rand64();
		if (h == handle)
			continue;
		bad += ioctl(fd, SCIF_ACCEPTREG, &h) == 0 || errno != EINVAL;
	}
	check(!bad, "%ld random handles: all EINVAL", n);
	check(ioctl(fd, SCIF_ACCEPTREG, &handle) == 0,
	      "the real handle still works on the same fd afterwards");
	check(xfer(c.fd, SCIF_SEND, tx, sizeof(tx), 1) == sizeof(tx) &&
	      xfer(fd, SCIF_RECV, rx, sizeof(rx), 1) == sizeof(rx) &&
	      !memcmp(tx, rx, sizeof(tx)), "and the connection carries data");
	check_err(dev_open(), SCIF_ACCEPTREG, &handle, EINVAL,
		  "the handle is gone once taken");
	close(fd);
	close(c.fd);
	close(lfd);
}

int main(int argc, char **argv)
{
	int hostile = argc > 1 && !strcmp(argv[1], "hostile");
	long n = argc > 2 ? atol(argv[2]) : 20000;

	if (argc > 1 && !hostile) {
		fprintf(stderr, "usage: scif-abi-check [hostile [N]]\n");
		return 2;
	}
	printf("TAP version 13\n");
	printf("# ioctl numbers, sizes and offsets: checked at compile time\n");
	check_node_ids();
	if (!hostile) {
		check_bad_calls();
		check_round();
		check_stale_handle();
		check_flush();
	}
	check_hostile(n);
	printf("1..%d\n", tests);
	printf("# scif-abi-check: %d of %d failed\n", failures, tests);
	return failures ? 1 : 0;
}
