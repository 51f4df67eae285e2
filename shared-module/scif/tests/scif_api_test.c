// SPDX-License-Identifier: GPL-2.0
/*
 * scif_api_test: checks the SCIF kernel API's rules and error codes
 * through /dev/scif_test on one node (loopback), and feeds the node
 * malformed messages through debugfs. Prints KTAP; exit status 0 when
 * every test passed. Needs root, scif.ko with a self node and
 * scif_test.ko; the inject tests also need debugfs.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/types.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../scif_test_ioctl.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define INJECT_PATH	"/sys/kernel/debug/scif/inject"

static int failures, testno;
static __u16 self_node;

static void check(int cond, const char *what)
{
	testno++;
	printf("%sok %d - %s\n", cond ? "" : "not ", testno, what);
	if (!cond)
		failures++;
}

static int ep(void)
{
	int fd = open("/dev/scif_test", O_RDWR);

	if (fd < 0) {
		perror("/dev/scif_test");
		exit(2);
	}
	return fd;
}

/* ioctl result as 0 or -errno */
static int io(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) < 0 ? -errno : 0;
}

static int bind_port(int fd, __u32 port)
{
	int err = io(fd, SCIFT_BIND, &port);

	return err ? err : (int)port;
}

static int listen_on(int fd, int backlog)
{
	return ioctl(fd, SCIFT_LISTEN, backlog) < 0 ? -errno : 0;
}

static int connect_to(int fd, int node, int port)
{
	struct scift_port dst = { .node = node, .port = port };

	return io(fd, SCIFT_CONNECT, &dst);
}

static long xfer(int fd, unsigned long cmd, void *buf, int len, int flags)
{
	struct scift_msg m = { .buf = (uintptr_t)buf, .len = len,
			       .flags = flags };
	int err = io(fd, cmd, &m);

	return err ? err : m.out_len;
}

static short poll_ep(int fd, short events, int timeout_ms)
{
	struct scift_poll p = { .events = events, .timeout_ms = timeout_ms };

	if (io(fd, SCIFT_POLL, &p))
		return -1;
	return p.revents;
}

struct conn_arg {
	int fd, port, err;
};

static void *connect_thread(void *p)
{
	struct conn_arg *a = p;

	a->err = connect_to(a->fd, self_node, a->port);
	return NULL;
}

/* Connect a fresh endpoint to a fresh listener; returns both ends. */
static void make_pair(int *cfd, int *afd, int *lfd)
{
	struct scift_accept acc = { .flags = 1 };
	struct conn_arg a;
	pthread_t t;

	*lfd = ep();
	a.port = bind_port(*lfd, 0);
	listen_on(*lfd, 4);
	a.fd = ep();
	pthread_create(&t, NULL, connect_thread, &a);
	check(io(*lfd, SCIFT_ACCEPT, &acc) == 0, "accept (blocking)");
	pthread_join(t, NULL);
	check(a.err == 0, "connect to a listener");
	*cfd = a.fd;
	*afd = acc.fd;
}

static int drop_cap_sys_admin(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return -1;
	data[0].effective &= ~(1u << CAP_SYS_ADMIN);
	return syscall(SYS_capset, &hdr, data);
}

static void test_bind(void)
{
	int a = ep(), b = ep(), c = ep(), port, status;
	pid_t pid;

	port = bind_port(a, 0);
	check(port > 1088 && port <= 65535, "bind 0 picks a port above 1088");
	check(bind_port(a, 0) == -EINVAL, "bind twice: EINVAL");
	check(bind_port(b, port) == -EADDRINUSE, "bind a taken port: EADDRINUSE");
	check(bind_port(b, 500) == 500, "bind below 1024 with CAP_SYS_ADMIN");
	check(listen_on(c, 1) == -EINVAL, "listen unbound: EINVAL");
	check(listen_on(a, 1) == 0, "listen");
	check(listen_on(a, 1) == -EISCONN, "listen twice: EISCONN");
	check(bind_port(a, 0) == -EISCONN, "bind a listener: EISCONN");
	check(connect_to(a, self_node, 1) == -EOPNOTSUPP,
	      "connect a listener: EOPNOTSUPP");
	pid = fork();
	if (!pid) {
		int d = ep();

		if (drop_cap_sys_admin())
			_exit(3);
		_exit(bind_port(d, 600) == -EACCES ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	check(WIFEXITED(status) && !WEXITSTATUS(status),
	      "bind below 1024 without CAP_SYS_ADMIN: EACCES");
	close(a);
	close(b);
	close(c);
	a = ep();
	check(bind_port(a, port) == port, "port is free again after close");
	close(a);
}

static void test_connect_errors(void)
{
	struct scift_accept acc = { .flags = 0 };
	int a = ep(), l = ep(), port;

	check(connect_to(a, self_node, 4000) == -ECONNREFUSED,
	      "connect without listener: ECONNREFUSED");
	check(connect_to(a, 200, 4000) == -ENODEV, "connect node 200: ENODEV");
	check(connect_to(a, self_node == 5 ? 6 : 5, 4000) == -ENODEV,
	      "connect a node that is down: ENODEV");
	check(io(l, SCIFT_ACCEPT, &acc) == -EINVAL,
	      "accept on an unbound endpoint: EINVAL");
	port = bind_port(l, 0);
	listen_on(l, 1);
	check(io(l, SCIFT_ACCEPT, &acc) == -EAGAIN,
	      "non-blocking accept with nothing pending: EAGAIN");
	acc.flags = 2;
	check(io(l, SCIFT_ACCEPT, &acc) == -EINVAL, "accept bad flags: EINVAL");
	check(xfer(a, SCIFT_SEND, "x", 1, 0) == -ENOTCONN,
	      "send unconnected: ENOTCONN");
	(void)port;
	close(a);
	close(l);
}

static void test_backlog(void)
{
	struct conn_arg a1, a2;
	pthread_t t1;
	int l = ep();

	a1.port = bind_port(l, 0);
	a2.port = a1.port;
	listen_on(l, 1);
	a1.fd = ep();
	a2.fd = ep();
	pthread_create(&t1, NULL, connect_thread, &a1);
	while (!(poll_ep(l, POLLIN, 100) & POLLIN))
		;
	check(poll_ep(l, POLLIN, 0) & POLLIN, "listener polls POLLIN");
	connect_thread(&a2);
	check(a2.err == -ECONNREFUSED, "backlog full: ECONNREFUSED");
	close(l);
	pthread_join(t1, NULL);
	check(a1.err == -ECONNREFUSED, "listener closed: pending connect refused");
	close(a1.fd);
	close(a2.fd);
}

static void test_data(void)
{
	static char big[10000], buf[10000];
	int c, a, l;
	long n;
	short ev;

	make_pair(&c, &a, &l);
	ev = poll_ep(c, POLLIN | POLLOUT, 0);
	check(ev == POLLOUT, "fresh connection polls POLLOUT only");
	check(xfer(c, SCIFT_RECV, buf, 10, 0) == 0,
	      "non-blocking recv with no data returns 0");
	memset(big, 'a', sizeof(big));
	n = xfer(c, SCIFT_SEND, big, sizeof(big), 0);
	check(n == 4095, "non-blocking send fills the 4 KiB ring (4095)");
	check(!(poll_ep(c, POLLOUT, 0) & POLLOUT), "full ring: no POLLOUT");
	check(poll_ep(a, POLLIN, 1000) & POLLIN, "peer polls POLLIN");
	check(xfer(a, SCIFT_RECV, buf, 100, 1) == 100, "blocking recv 100");
	check(poll_ep(c, POLLOUT, 1000) & POLLOUT, "room again: POLLOUT");
	check(xfer(a, SCIFT_RECV, buf, sizeof(buf), 0) == 3995,
	      "non-blocking recv takes what is there");
	check(xfer(c, SCIFT_SEND, "hello", 5, 1) == 5, "blocking send");
	close(c);
	check(poll_ep(a, POLLIN, 2000) & POLLHUP, "peer closed: POLLHUP");
	check(xfer(a, SCIFT_RECV, buf, 10, 0) == 5 && !memcmp(buf, "hello", 5),
	      "queued data readable after peer closed");
	check(xfer(a, SCIFT_RECV, buf, 10, 0) == -ECONNRESET,
	      "recv after drain: ECONNRESET");
	check(xfer(a, SCIFT_SEND, buf, 10, 1) == -ECONNRESET,
	      "send to closed peer: ECONNRESET");
	close(a);
	close(l);
}

static void test_node_ids(void)
{
	__u16 nodes[8];
	struct scift_nodes n = { .nodes = (uintptr_t)nodes, .len = 8 };
	int fd = ep();

	check(io(fd, SCIFT_NODE_IDS, &n) == 0 && n.online >= 1 &&
	      nodes[0] <= n.self, "get_node_ids lists the self node");
	self_node = n.self;
	close(fd);
}

static void inject_to(int fd, __u16 port, __u32 uop, __u64 p0, __u64 p1,
		      __u64 p2)
{
	unsigned char m[44] = { 0 };
	__u64 p[4] = { p0, p1, p2, 0 };

	memcpy(m + 2, &port, 2);
	memcpy(m + 6, &port, 2);
	memcpy(m + 8, &uop, 4);
	memcpy(m + 12, p, sizeof(p));
	if (write(fd, m, sizeof(m)) != sizeof(m))
		perror("inject");
}

static void inject(int fd, __u32 uop, __u64 p0, __u64 p1, __u64 p2)
{
	inject_to(fd, 0, uop, p0, p1, p2);
}

static void test_hostile(void)
{
	static const __u32 uops[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11,
		12, 13, 14, 15, 16, 17, 18, 19, 25, 28, 30, 39, 40, 1000,
		0xffffffff };
	int fd = open(INJECT_PATH, O_WRONLY), c, a, l, i, h, lport;
	struct scift_accept acc;
	char buf[4];

	if (fd < 0) {
		printf("ok %d # SKIP hostile messages: no %s\n", ++testno,
		       INJECT_PATH);
		return;
	}
	make_pair(&c, &a, &l);
	h = ep();
	for (i = 0; i < (int)ARRAY_SIZE(uops); i++) {
		inject(fd, uops[i], 0, 0, 0);
		inject(fd, uops[i], 0x1234567800000001ULL, 0xdeadbeefULL,
		       0xffff888000000000ULL);
		inject(fd, uops[i], ~0ULL, ~0ULL, ~0ULL);
	}
	/* Connection requests whose queue-pair address is garbage. */
	acc.flags = 0;
	lport = bind_port(h, 0);
	listen_on(h, 4);
	inject_to(fd, lport, 9, 1, 0x10, 0);
	inject_to(fd, lport, 9, 2, ~0ULL, 0);
	usleep(200000);
	check(io(h, SCIFT_ACCEPT, &acc) == -EIO &&
	      io(h, SCIFT_ACCEPT, &acc) == -EIO,
	      "accept of a request with a bad queue pair: EIO");
	close(h);
	check(xfer(c, SCIFT_SEND, "ok", 2, 1) == 2 &&
	      xfer(a, SCIFT_RECV, buf, 2, 1) == 2 && !memcmp(buf, "ok", 2),
	      "connection survives garbage messages");
	close(c);
	close(a);
	close(l);
	close(fd);
}

int main(void)
{
	printf("KTAP version 1\n");
	test_node_ids();
	test_bind();
	test_connect_errors();
	test_backlog();
	test_data();
	test_hostile();
	printf("1..%d\n", testno);
	printf("# %d failed\n", failures);
	return failures ? 1 : 0;
}
