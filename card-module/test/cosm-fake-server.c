// SPDX-License-Identifier: GPL-2.0
/*
 * cosm-fake-server: a user-space stand-in for the host's COSM server, to
 * test the card's COSM clients without a host (over /dev/scif_test, e.g.
 * on a loopback node 0: scif.ko self_node=0).
 *
 *   cosm-fake-server [-p PORT] [-k CONNS] [-t SEC] [-u] [-H N] [-S] [-T SEC]
 *	-p  port to listen on (default 201)
 *	-k  connections to serve before exiting (default 1)
 *	-t  send SYNC_TIME with SEC.123456789 after accepting
 *	-u  send messages with unknown ids (77, 0xFFFFFFFF) after accepting
 *	-H  after N heartbeats on a connection: with -S send SHUTDOWN and
 *	    go on, else close the connection (default 0: never)
 *	-T  give up after SEC seconds (default 120)
 *
 * Prints one line per event: "accept", "rx id=I arg=A nsec=N t=MS" (per
 * 24-byte record, MS on the monotonic clock), "tx", "hup", "close".
 * Exit 0 when all connections were served, 2 on errors or the time limit.
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

#include "scif_test_ioctl.h"

#define REC 24

/* Milliseconds on the monotonic clock, for heartbeat intervals. */
static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

static int xfer(int fd, unsigned long cmd, void *buf, int len, int flags)
{
	struct scift_msg m = { .buf = (uintptr_t)buf, .len = len,
			       .flags = flags };

	if (ioctl(fd, cmd, &m) < 0)
		return -errno;
	return m.out_len;
}

static int send_msg(int fd, __u64 id, __u64 a, __u64 b)
{
	__u64 rec[3] = { id, a, b };

	printf("tx id=%llu arg=%llu\n", (unsigned long long)id,
	       (unsigned long long)a);
	return xfer(fd, SCIFT_SEND, rec, REC, 1) == REC ? 0 : -1;
}

struct opts {
	int port, conns, unknown, shutdown, hb_limit;
	long long sync_sec;
	long deadline;	/* now_ms() */
};

/* Serve one accepted connection; 0 when it ended, -1 on time-out. */
static int serve(int fd, const struct opts *o)
{
	unsigned char buf[REC];
	int fill = 0, hb = 0, acted = 0, n;
	__u64 rec[3];

	if (o->sync_sec >= 0)
		send_msg(fd, 1, o->sync_sec, 123456789);
	if (o->unknown) {
		send_msg(fd, 77, 0, 0);
		send_msg(fd, 0xFFFFFFFFULL, 0, 0);
	}
	while (now_ms() < o->deadline) {
		struct scift_poll p = { .events = POLLIN, .timeout_ms = 500 };

		if (ioctl(fd, SCIFT_POLL, &p) < 0)
			return -1;
		while ((n = xfer(fd, SCIFT_RECV, buf + fill, REC - fill, 0)) > 0) {
			fill += n;
			if (fill < REC)
				continue;
			fill = 0;
			memcpy(rec, buf, REC);
			printf("rx id=%llu arg=%llu nsec=%llu t=%ld\n",
			       (unsigned long long)rec[0],
			       (unsigned long long)rec[1],
			       (unsigned long long)rec[2], now_ms());
			hb += rec[0] == 2;
		}
		fflush(stdout);
		if (p.revents & (POLLHUP | POLLERR)) {
			printf("hup\n");
			return 0;
		}
		if (o->hb_limit && hb >= o->hb_limit && !acted) {
			acted = 1;
			if (o->shutdown) {
				send_msg(fd, 0, 0, 0);
			} else {
				printf("close\n");
				return 0;
			}
		}
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct opts o = { .port = 201, .conns = 1, .sync_sec = -1 };
	struct scift_accept acc = { .flags = 1 };
	int c, lfd, i, timeout = 120;
	__u32 port;

	while ((c = getopt(argc, argv, "p:k:t:uH:ST:")) != -1) {
		switch (c) {
		case 'p':
			o.port = atoi(optarg);
			break;
		case 'k':
			o.conns = atoi(optarg);
			break;
		case 't':
			o.sync_sec = atoll(optarg);
			break;
		case 'u':
			o.unknown = 1;
			break;
		case 'H':
			o.hb_limit = atoi(optarg);
			break;
		case 'S':
			o.shutdown = 1;
			break;
		case 'T':
			timeout = atoi(optarg);
			break;
		default:
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	o.deadline = now_ms() + timeout * 1000L;
	lfd = open("/dev/scif_test", O_RDWR);
	port = o.port;
	if (lfd < 0 || ioctl(lfd, SCIFT_BIND, &port) < 0 ||
	    ioctl(lfd, SCIFT_LISTEN, 16) < 0) {
		perror("cosm-fake-server: listen");
		return 2;
	}
	printf("listening on port %u\n", port);
	for (i = 0; i < o.conns; i++) {
		if (ioctl(lfd, SCIFT_ACCEPT, &acc) < 0) {
			perror("cosm-fake-server: accept");
			return 2;
		}
		printf("accept node=%u port=%u\n", acc.peer.node,
		       acc.peer.port);
		if (serve(acc.fd, &o) < 0) {
			printf("timeout\n");
			return 2;
		}
		close(acc.fd);
	}
	return 0;
}
