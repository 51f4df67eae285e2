// SPDX-License-Identifier: GPL-2.0
/*
 * scif-pingpong: SCIF echo server and round-trip client over /dev/scif_test.
 *
 *   scif-pingpong -s [-p PORT] [-k CONNECTIONS]
 *	echo server: accept connections on PORT and send every byte back
 *	until the peer closes; stop after CONNECTIONS (default: never)
 *   scif-pingpong -c NODE [-p PORT] [-n COUNT] [-S SIZE]
 *	client: send COUNT messages of SIZE bytes to NODE:PORT, check every
 *	echo byte for byte, report round-trip latency and bandwidth
 *   scif-pingpong -i
 *	print this node's id and the nodes online
 *
 * Exit status: 0 success, 1 echo mismatch, 2 any other error.
 * Needs scif_test.ko (which provides /dev/scif_test). Link it statically
 * for the busybox initramfs; host-module/scif/README.md has the command.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "../host-module/scif/scif_test_ioctl.h"

#define DEV_PATH	"/dev/scif_test"
#define DEFAULT_PORT	2000
#define BLOCK		1
#define CHUNK		(64 * 1024)

static const char *prog = "scif-pingpong";

static int die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(errno));
	return 2;
}

static int ep_open(void)
{
	int fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		fprintf(stderr, "%s: %s: %s (is scif_test.ko loaded?)\n",
			prog, DEV_PATH, strerror(errno));
	return fd;
}

/* One send or receive ioctl; returns bytes moved or -1 with errno set. */
static long ep_xfer(int fd, unsigned long cmd, void *buf, size_t len,
		    int flags)
{
	struct scift_msg msg = {
		.buf = (uintptr_t)buf,
		.len = (int32_t)len,
		.flags = flags,
	};

	if (ioctl(fd, cmd, &msg) < 0)
		return -1;
	return msg.out_len;
}

static int ep_poll(int fd, short events, int timeout_ms, short *revents)
{
	struct scift_poll p = { .events = events, .timeout_ms = timeout_ms };

	if (ioctl(fd, SCIFT_POLL, &p) < 0)
		return -1;
	*revents = p.revents;
	return p.result;
}

static int send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		long n = ep_xfer(fd, SCIFT_SEND, (void *)buf, len, BLOCK);

		if (n <= 0)
			return -1;
		buf += n;
		len -= n;
	}
	return 0;
}

/* Echo one connection until the peer closes it. */
static int serve_one(int fd)
{
	static char buf[CHUNK];
	short revents;
	long n;

	for (;;) {
		if (ep_poll(fd, POLLIN, -1, &revents) < 0)
			return die("poll");
		n = ep_xfer(fd, SCIFT_RECV, buf, sizeof(buf), 0);
		if (n < 0)
			return errno == ECONNRESET ? 0 : die("recv");
		if (n == 0) {
			if (revents & POLLHUP)
				return 0;
			continue;
		}
		if (send_all(fd, buf, n))
			return errno == ECONNRESET ? 0 : die("send");
	}
}

static int run_server(int port, long connections)
{
	struct scift_accept acc = { .flags = BLOCK };
	uint32_t bound = port;
	long served = 0;
	int fd, rc;

	fd = ep_open();
	if (fd < 0)
		return 2;
	if (ioctl(fd, SCIFT_BIND, &bound) < 0)
		return die("bind");
	if (ioctl(fd, SCIFT_LISTEN, 16) < 0)
		return die("listen");
	printf("%s: echo server on port %u\n", prog, bound);
	fflush(stdout);
	while (!connections || served < connections) {
		if (ioctl(fd, SCIFT_ACCEPT, &acc) < 0)
			return die("accept");
		rc = serve_one(acc.fd);
		close(acc.fd);
		if (rc)
			return rc;
		served++;
	}
	close(fd);
	return 0;
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void fill(char *buf, size_t size, long seq)
{
	size_t i;

	for (i = 0; i < size; i++)
		buf[i] = (char)(seq * 131 + i * 7 + (i >> 8));
}

/*
 * One round trip. Sending and receiving are interleaved with poll: the
 * echo comes back while we still send, and the 4 KiB rings would fill up
 * (and deadlock) if we only read after sending everything.
 */
static int round_trip(int fd, const char *tx, char *rx, size_t size)
{
	size_t sent = 0, got = 0;
	short revents;
	long n;

	while (got < size) {
		short events = POLLIN | (sent < size ? POLLOUT : 0);

		if (ep_poll(fd, events, -1, &revents) < 0)
			return die("poll");
		if (sent < size && (revents & POLLOUT)) {
			n = ep_xfer(fd, SCIFT_SEND, (void *)(tx + sent),
				    size - sent, 0);
			if (n < 0)
				return die("send");
			sent += n;
		}
		if (revents & POLLIN) {
			n = ep_xfer(fd, SCIFT_RECV, rx + got, size - got, 0);
			if (n < 0)
				return die("recv");
			got += n;
		} else if (revents & (POLLHUP | POLLERR)) {
			fprintf(stderr, "%s: connection lost\n", prog);
			return 2;
		}
	}
	return 0;
}

static int run_client(int node, int port, long count, size_t size)
{
	struct scift_port dst = { .node = node, .port = port };
	double t0, t, start, min = 1e30, max = 0, total;
	char *tx = malloc(size ? size : 1), *rx = malloc(size ? size : 1);
	long i;
	int fd, rc;

	if (!tx || !rx)
		return die("malloc");
	fd = ep_open();
	if (fd < 0)
		return 2;
	if (ioctl(fd, SCIFT_CONNECT, &dst) < 0)
		return die("connect");
	start = now_us();
	for (i = 0; i < count; i++) {
		fill(tx, size, i);
		memset(rx, 0, size);
		t0 = now_us();
		rc = round_trip(fd, tx, rx, size);
		if (rc)
			return rc;
		t = now_us() - t0;
		if (memcmp(tx, rx, size)) {
			fprintf(stderr, "%s: message %ld: echo differs\n",
				prog, i);
			return 1;
		}
		min = t < min ? t : min;
		max = t > max ? t : max;
	}
	total = now_us() - start;
	close(fd);
	if (!count)
		return 0;
	printf("%s: %ld x %zu bytes to node %d port %d: ok\n",
	       prog, count, size, node, port);
	printf("rtt_us min %.1f avg %.1f max %.1f\n", min, total / count, max);
	printf("bandwidth_MBps %.2f (each way)\n",
	       total > 0 ? count * (double)size / total : 0.0);
	free(tx);
	free(rx);
	return 0;
}

static int node_ids(void)
{
	uint16_t nodes[256];
	struct scift_nodes arg = {
		.nodes = (uintptr_t)nodes,
		.len = 256,
	};
	int fd = ep_open(), i;

	if (fd < 0)
		return 2;
	if (ioctl(fd, SCIFT_NODE_IDS, &arg) < 0)
		return die("node ids");
	printf("self %u online %d:", arg.self, arg.online);
	for (i = 0; i < arg.online && i < 256; i++)
		printf(" %u", nodes[i]);
	printf("\n");
	close(fd);
	return 0;
}

static int print_usage(void)
{
	fprintf(stderr,
		"usage: %s -s [-p PORT] [-k CONNECTIONS]\n"
		"       %s -c NODE [-p PORT] [-n COUNT] [-S SIZE]\n"
		"       %s -i\n", prog, prog, prog);
	return 2;
}

int main(int argc, char **argv)
{
	int opt, mode = 0, node = 0, port = DEFAULT_PORT;
	long count = 1000, connections = 0;
	size_t size = 64;

	while ((opt = getopt(argc, argv, "sc:ip:n:S:k:")) != -1) {
		switch (opt) {
		case 's':
		case 'i':
			mode = opt;
			break;
		case 'c':
			mode = 'c';
			node = atoi(optarg);
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 'n':
			count = atol(optarg);
			break;
		case 'S':
			size = strtoul(optarg, NULL, 0);
			break;
		case 'k':
			connections = atol(optarg);
			break;
		default:
			return print_usage();
		}
	}
	if (size > 0x7fffffff || count < 0)
		return print_usage();
	switch (mode) {
	case 's':
		return run_server(port, connections);
	case 'c':
		return run_client(node, port, count, size);
	case 'i':
		return node_ids();
	default:
		return print_usage();
	}
}
