// SPDX-License-Identifier: GPL-2.0
/*
 * scif-pingpong: SCIF echo and sink servers, round-trip and one-way
 * clients, on libscif (/dev/scif).
 *
 *   scif-pingpong -s [-p PORT] [-k CONNECTIONS]
 *	echo server: accept connections on PORT and send every byte back
 *	until the peer closes; stop after CONNECTIONS (default: never)
 *   scif-pingpong -d [-p PORT] [-k CONNECTIONS]
 *	sink server: per connection, read a stream header, then the
 *	messages it announces (checked byte for byte), answer one ack byte
 *   scif-pingpong -c NODE [-U] [-p PORT] [-n COUNT] [-S SIZE]
 *	round-trip client: send COUNT messages of SIZE bytes to NODE:PORT,
 *	check every echo byte for byte, report latency and bandwidth
 *   scif-pingpong -c NODE -o [-p PORT] [-n COUNT] [-S SIZE]
 *	one-way client (to a sink server): only scif_send() COUNT messages
 *	of SIZE bytes, then wait for the sink's ack; the time runs from the
 *	first send to the ack, so everything was received
 *   scif-pingpong -i
 *	print this node's id and the nodes online ("(N filled in)" when the
 *	driver filled in fewer ids than it says are online)
 *
 * Clients bind their endpoint to a free port (port 0) before connecting,
 * which every SCIF accepts; -U connects the endpoint unbound instead.
 * Upstream's scif.ko (Linux 5.9) cannot do that: on an unbound endpoint
 * its connect picks a port and returns it without connecting.
 *
 * Servers print "accepted node N port P" for every connection, clients
 * "connected to node N port P from port L" (L: the local port).
 * Exit status: 0 success, 1 data mismatch, 2 any other error.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "libscif/scif.h"

#define DEFAULT_PORT	2000
#define CHUNK		(64 * 1024)
#define SINK_MAGIC	0x4b4e4953u	/* "SINK" */
#define ACK_OK		'K'
#define ACK_BAD		'X'
#define NPAT		8	/* distinct one-way messages */

/* One-way stream header, sent before the messages (host byte order). */
struct sink_hdr {
	uint32_t magic;
	uint32_t size;
	uint64_t count;
};

static const char *prog = "scif-pingpong";

static int die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(errno));
	return 2;
}

static scif_epd_t ep_open(void)
{
	scif_epd_t epd = scif_open();

	if (epd < 0)
		fprintf(stderr, "%s: /dev/scif: %s (is scif.ko loaded?)\n",
			prog, strerror(errno));
	return epd;
}

static int ep_poll(scif_epd_t epd, short events, short *revents)
{
	struct scif_pollepd p = { .epd = epd, .events = events };

	if (scif_poll(&p, 1, -1) < 0)
		return -1;
	*revents = p.revents;
	return 0;
}

static int send_all(scif_epd_t epd, const char *buf, size_t len)
{
	while (len) {
		int n = scif_send(epd, (void *)buf, len, SCIF_SEND_BLOCK);

		if (n <= 0)
			return -1;
		buf += n;
		len -= n;
	}
	return 0;
}

static int recv_all(scif_epd_t epd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		int n = scif_recv(epd, p, len, SCIF_RECV_BLOCK);

		if (n <= 0) {
			if (!n)
				errno = ECONNRESET;
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}

static void fill(char *buf, size_t size, uint64_t seq)
{
	size_t i;

	for (i = 0; i < size; i++)
		buf[i] = (char)(seq * 131 + i * 7 + (i >> 8));
}

/* Echo one connection until the peer closes it. */
static int serve_echo(scif_epd_t epd)
{
	static char buf[CHUNK];
	short revents;
	int n;

	for (;;) {
		if (ep_poll(epd, POLLIN, &revents) < 0)
			return die("poll");
		n = scif_recv(epd, buf, sizeof(buf), 0);
		if (n < 0)
			return errno == ECONNRESET ? 0 : die("recv");
		if (n == 0) {
			if (revents & POLLHUP)
				return 0;
			continue;
		}
		if (send_all(epd, buf, n))
			return errno == ECONNRESET ? 0 : die("send");
	}
}

/* Buffers of a pattern; message i of a stream carries pattern i % NPAT. */
static char **patterns(size_t size)
{
	char **pat = calloc(NPAT, sizeof(*pat));
	int i;

	for (i = 0; pat && i < NPAT; i++) {
		pat[i] = malloc(size ? size : 1);
		if (!pat[i])
			return NULL;
		fill(pat[i], size, i);
	}
	return pat;
}

/* Take one announced stream, check it, ack it. */
static int serve_sink(scif_epd_t epd)
{
	struct sink_hdr hdr;
	char *buf, **want, ack = ACK_OK;
	uint64_t i;

	if (recv_all(epd, &hdr, sizeof(hdr)))
		return errno == ECONNRESET ? 0 : die("recv header");
	if (hdr.magic != SINK_MAGIC || hdr.size > 0x7fffffff) {
		fprintf(stderr, "%s: bad stream header\n", prog);
		return 2;
	}
	buf = malloc(hdr.size ? hdr.size : 1);
	want = patterns(hdr.size);
	if (!buf || !want)
		return die("malloc");
	for (i = 0; i < hdr.count; i++) {
		if (recv_all(epd, buf, hdr.size))
			return die("recv");
		if (ack == ACK_OK && memcmp(buf, want[i % NPAT], hdr.size)) {
			fprintf(stderr, "%s: message %" PRIu64 " differs\n",
				prog, i);
			ack = ACK_BAD;
		}
	}
	if (send_all(epd, &ack, 1))
		return die("send ack");
	free(buf);
	for (i = 0; i < NPAT; i++)
		free(want[i]);
	free(want);
	return 0;
}

static int run_server(int port, long connections, int sink)
{
	struct scif_portID peer;
	long served = 0;
	scif_epd_t epd, conn;
	int bound, rc;

	epd = ep_open();
	if (epd < 0)
		return 2;
	bound = scif_bind(epd, port);
	if (bound < 0)
		return die("bind");
	if (scif_listen(epd, 16) < 0)
		return die("listen");
	printf("%s: %s server on port %d\n", prog, sink ? "sink" : "echo",
	       bound);
	fflush(stdout);
	while (!connections || served < connections) {
		if (scif_accept(epd, &peer, &conn, SCIF_ACCEPT_SYNC) < 0)
			return die("accept");
		printf("%s: accepted node %u port %u\n", prog, peer.node,
		       peer.port);
		fflush(stdout);
		rc = sink ? serve_sink(conn) : serve_echo(conn);
		scif_close(conn);
		if (rc)
			return rc;
		served++;
	}
	scif_close(epd);
	return 0;
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/*
 * One round trip. Sending and receiving are interleaved with poll: the
 * echo comes back while we still send, and the 4 KiB rings would fill up
 * (and deadlock) if we only read after sending everything.
 */
static int round_trip(scif_epd_t epd, const char *tx, char *rx, size_t size)
{
	size_t sent = 0, got = 0;
	short revents;
	int n;

	while (got < size) {
		short events = POLLIN | (sent < size ? POLLOUT : 0);

		if (ep_poll(epd, events, &revents) < 0)
			return die("poll");
		if (sent < size && (revents & POLLOUT)) {
			n = scif_send(epd, (void *)(tx + sent), size - sent, 0);
			if (n < 0)
				return die("send");
			sent += n;
		}
		if (revents & POLLIN) {
			n = scif_recv(epd, rx + got, size - got, 0);
			if (n < 0)
				return die("recv");
			got += n;
		} else if (revents & (POLLHUP | POLLERR)) {
			/* A receive tells why: ECONNRESET for a peer gone. */
			if (scif_recv(epd, rx + got, size - got, 0) < 0)
				return die("recv");
			fprintf(stderr, "%s: connection lost\n", prog);
			return 2;
		}
	}
	return 0;
}

static int unbound;	/* -U: connect without binding first */

static scif_epd_t connect_to(int node, int port)
{
	struct scif_portID dst = { .node = node, .port = port };
	scif_epd_t epd = ep_open();

	if (epd < 0)
		return -1;
	if (!unbound && scif_bind(epd, 0) < 0) {
		die("bind");
		scif_close(epd);
		return -1;
	}
	/* scif_connect() returns the local port (upstream libscif). */
	int local = scif_connect(epd, &dst);

	if (local < 0) {
		die("connect");
		scif_close(epd);
		return -1;
	}
	printf("%s: connected to node %d port %d from port %d\n", prog, node,
	       port, local);
	return epd;
}

static int run_client(int node, int port, long count, size_t size)
{
	double t0, t, start, min = 1e30, max = 0, total;
	char *tx = malloc(size ? size : 1), *rx = malloc(size ? size : 1);
	scif_epd_t epd;
	long i;
	int rc;

	if (!tx || !rx)
		return die("malloc");
	epd = connect_to(node, port);
	if (epd < 0)
		return 2;
	start = now_us();
	for (i = 0; i < count; i++) {
		fill(tx, size, i);
		memset(rx, 0, size);
		t0 = now_us();
		rc = round_trip(epd, tx, rx, size);
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
	scif_close(epd);
	free(tx);
	free(rx);
	if (!count)
		return 0;
	printf("%s: %ld x %zu bytes to node %d port %d: ok\n",
	       prog, count, size, node, port);
	printf("rtt_us min %.1f avg %.1f max %.1f\n", min, total / count, max);
	printf("bandwidth_MBps %.2f (each way)\n",
	       total > 0 ? count * (double)size / total : 0.0);
	return 0;
}

/*
 * One-way: the messages are prepared before the clock starts, so the
 * figure is what scif_send() and the link move, not our fill loop.
 */
static int run_oneway(int node, int port, long count, size_t size)
{
	struct sink_hdr hdr = {
		.magic = SINK_MAGIC, .size = size, .count = count,
	};
	char **msgs = patterns(size);
	double start, total;
	scif_epd_t epd;
	char ack = 0;
	long i;

	if (!msgs)
		return die("malloc");
	epd = connect_to(node, port);
	if (epd < 0)
		return 2;
	start = now_us();
	if (send_all(epd, (char *)&hdr, sizeof(hdr)))
		return die("send header");
	for (i = 0; i < count; i++)
		if (send_all(epd, msgs[i % NPAT], size))
			return die("send");
	if (recv_all(epd, &ack, 1))
		return die("recv ack");
	total = now_us() - start;
	scif_close(epd);
	if (ack != ACK_OK) {
		fprintf(stderr, "%s: the sink saw different data\n", prog);
		return 1;
	}
	printf("%s: %ld x %zu bytes one-way to node %d port %d: ok\n",
	       prog, count, size, node, port);
	printf("oneway_MBps %.2f\n",
	       total > 0 ? count * (double)size / total : 0.0);
	return 0;
}

static int node_ids(void)
{
	uint16_t nodes[256], self;
	int online, filled = 0, i;

	/*
	 * Upstream's SCIF fills fewer entries than it reports online (at most
	 * its highest node id): print only what was filled in.
	 */
	memset(nodes, 0xff, sizeof(nodes));
	online = scif_get_nodeIDs(nodes, 256, &self);
	if (online < 0)
		return die("node ids");
	printf("self %u online %d:", self, online);
	for (i = 0; i < online && i < 256; i++) {
		if (nodes[i] == 0xffff)
			continue;
		printf(" %u", nodes[i]);
		filled++;
	}
	if (filled < online)
		printf(" (%d filled in)", filled);
	printf("\n");
	return 0;
}

static int print_usage(void)
{
	fprintf(stderr,
		"usage: %s -s|-d [-p PORT] [-k CONNECTIONS]\n"
		"       %s -c NODE [-o] [-U] [-p PORT] [-n COUNT] [-S SIZE]\n"
		"       %s -i\n", prog, prog, prog);
	return 2;
}

int main(int argc, char **argv)
{
	int opt, mode = 0, node = 0, port = DEFAULT_PORT, oneway = 0;
	long count = 1000, connections = 0;
	size_t size = 64;

	while ((opt = getopt(argc, argv, "sdc:ioUp:n:S:k:")) != -1) {
		switch (opt) {
		case 's':
		case 'd':
		case 'i':
			mode = opt;
			break;
		case 'c':
			mode = 'c';
			node = atoi(optarg);
			break;
		case 'o':
			oneway = 1;
			break;
		case 'U':
			unbound = 1;
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
	if (size > 0x7fffffff || count < 0 || port < 0 || port > 65535)
		return print_usage();
	switch (mode) {
	case 's':
	case 'd':
		return run_server(port, connections, mode == 'd');
	case 'c':
		if (oneway)
			return run_oneway(node, port, count, size);
		return run_client(node, port, count, size);
	case 'i':
		return node_ids();
	default:
		return print_usage();
	}
}
