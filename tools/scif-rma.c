// SPDX-License-Identifier: GPL-2.0
/*
 * scif-rma: SCIF remote memory access checks and benchmarks over
 * /dev/scif, through libscif.
 *
 *   scif-rma -s [-p PORT]
 *	server: accepts connections and does what the client asks over the
 *	connection: register a window filled with a pattern, check its
 *	bytes, refill it, unregister it, write into the client's window,
 *	wait for a fence value (one connection at a time, forever)
 *   scif-rma -c NODE [-p PORT] [-u] [-U] [-S SIZE] [-l LOFF] [-r ROFF] [-n N] TEST
 *	client; TEST is one of
 *	  xfer    writeto SIZE bytes from our window (at byte LOFF) to the
 *		  server's (at byte ROFF), the server checks every byte of
 *		  its window; then readfrom back a refilled window, checked
 *	  vxfer   the same with vwriteto/vreadfrom and a malloc'ed buffer
 *		  (LOFF bytes into it)
 *	  fence   fence_mark/wait (own and peer RMAs), fence_signal local
 *		  and remote: the server sees the signal value only after
 *		  the data
 *	  errors  -EACCES, -ENXIO, -EINVAL, -EADDRINUSE cases
 *	  mmap    map the server's windows (scif_mmap), read and write them
 *		  through the mapping; SIGBUS once the server unregisters
 *	  loop    writeto SIZE bytes until an RMA fails (peer reset/close):
 *		  exit 0 if it ended with ECONNRESET, ENODEV or ENOTCONN
 *	  bench   writeto/readfrom bandwidth of SIZE bytes, N times, 64-byte
 *		  RMA latency, and memcpy of the same sizes here
 *	  regloop register, writeto 4 KiB, unregister SIZE-byte windows until
 *		  something fails (peer killed): exit 0 if it ended with
 *		  ECONNRESET, ENODEV or ENOTCONN
 *	  silent  once /tmp/rma-go exists (the peer is frozen meanwhile):
 *		  scif_register and fence_mark(INIT_PEER) must give up
 *		  (EAGAIN, ETIMEDOUT); once /tmp/rma-go2 exists (the peer
 *		  is back): register and RMA work again
 *	  kapi    the kernel-only calls, through /dev/scif_test (scif_test.ko
 *		  loaded): scif_get_pages on the server's window, checked
 *		  byte for byte; the server unregisters and the pages stay
 *		  readable until scif_put_pages; then a window registered
 *		  with scif_pin_pages + scif_register_pinned_pages is
 *		  written by the server and checked. If /tmp/kapi-hold
 *		  exists, it keeps the pages (after "holding pages") until
 *		  /tmp/kapi-go appears (at most 60 s)
 *	-u uses SCIF_RMA_USECPU, -y SCIF_RMA_SYNC (upstream's SCIF returns
 *	before a DMA transfer is complete without it; micemu's always
 *	completes first).  The client binds to port 0 before
 *	connecting (upstream's SCIF does not connect unbound endpoints);
 *	-U connects unbound.
 *
 * Exit status: 0 success, 1 data mismatch or wrong result, 2 other error.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <sys/mman.h>

#include "libscif/scif.h"
#include "../shared-module/scif/scif_test_ioctl.h"

#define DEFAULT_PORT	2100
#define PAGE		4096UL

#define PROT_R		SCIF_PROT_READ
#define PROT_W		SCIF_PROT_WRITE
#define RMA_USECPU	SCIF_RMA_USECPU
#define RMA_SYNC	SCIF_RMA_SYNC
#define FENCE_SELF	SCIF_FENCE_INIT_SELF
#define FENCE_PEER	SCIF_FENCE_INIT_PEER
#define SIGNAL_LOCAL	SCIF_SIGNAL_LOCAL
#define SIGNAL_REMOTE	SCIF_SIGNAL_REMOTE

enum rma_op { WRITETO, READFROM, VWRITETO, VREADFROM };

enum op {
	OP_REG = 1,	/* a0 len, a1 prot, a2 seed -> window offset */
	OP_CHECK,	/* a0 win, a1 at, a2 n, a3 seed, a4 from: -> 0/1 */
	OP_FILL,	/* a0 win, a1 seed */
	OP_UNREG,	/* a0 win */
	OP_WRITETO,	/* a0 loff, a1 len, a2 roff, a3 flags -> ret */
	OP_WAITVAL,	/* a0 win, a1 at, a2 value, a3 seed, a4 n -> 0/1 */
	OP_QUIT,
};

struct cmd {
	int64_t op;
	int64_t a[5];
};

struct reply {
	int64_t ret;
};

static const char *prog = "scif-rma";
static int failures;

static int die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(errno));
	return 2;
}

/* The byte at position @i of a pattern with @seed. */
static uint8_t pat(uint64_t seed, uint64_t i)
{
	return (uint8_t)(i * 131 + (i >> 9) * 7 + seed * 29 + 1);
}

static void fill(uint8_t *buf, size_t len, uint64_t seed, uint64_t from)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = pat(seed, from + i);
}

/* First index where @buf differs from the pattern, or -1. */
static long verify(const uint8_t *buf, size_t len, uint64_t seed,
		   uint64_t from)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i] != pat(seed, from + i))
			return (long)i;
	return -1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Send or receive exactly @len bytes. */
static int xfer_all(int fd, int send, void *buf, size_t len)
{
	int n = send ? scif_send(fd, buf, len, SCIF_SEND_BLOCK)
		     : scif_recv(fd, buf, len, SCIF_RECV_BLOCK);

	if (n < 0)
		return -1;
	if ((size_t)n != len) {
		errno = ECONNRESET;
		return -1;
	}
	return 0;
}

static int64_t reg(int fd, void *addr, size_t len, int64_t off, int prot,
		   int flags)
{
	off_t o = scif_register(fd, addr, len, off, prot, flags);

	return o == SCIF_REGISTER_FAILED ? -errno : o;
}

static int unreg(int fd, int64_t off, size_t len)
{
	return scif_unregister(fd, off, len) ? -errno : 0;
}

static int rma(int fd, enum rma_op op, int64_t loff, void *addr,
	       size_t len, int64_t roff, int flags)
{
	int ret;

	switch (op) {
	case WRITETO:
		ret = scif_writeto(fd, loff, len, roff, flags);
		break;
	case READFROM:
		ret = scif_readfrom(fd, loff, len, roff, flags);
		break;
	case VWRITETO:
		ret = scif_vwriteto(fd, addr, len, roff, flags);
		break;
	default:
		ret = scif_vreadfrom(fd, addr, len, roff, flags);
		break;
	}
	return ret ? -errno : 0;
}

static int fence_mark(int fd, int flags, int *mark)
{
	return scif_fence_mark(fd, flags, mark) ? -errno : 0;
}

static int fence_wait(int fd, int mark)
{
	return scif_fence_wait(fd, mark) ? -errno : 0;
}

static int fence_signal(int fd, int64_t loff, uint64_t lval, int64_t roff,
			uint64_t rval, int flags)
{
	return scif_fence_signal(fd, loff, lval, roff, rval, flags) ? -errno : 0;
}

static size_t page_up(size_t n)
{
	return (n + PAGE - 1) & ~(PAGE - 1);
}

static void *page_alloc(size_t len)
{
	void *p = NULL;

	if (posix_memalign(&p, PAGE, len ? len : PAGE))
		return NULL;
	return p;
}

/* ---- server --------------------------------------------------------- */

#define MAX_WINS 16

struct win {
	uint8_t *buf;
	size_t len;
	int64_t off;
	uint64_t seed;
};

static struct win wins[MAX_WINS];

static struct win *win_find(int64_t off)
{
	for (int i = 0; i < MAX_WINS; i++)
		if (wins[i].buf && wins[i].off == off)
			return &wins[i];
	return NULL;
}

static int64_t srv_reg(int fd, struct cmd *c)
{
	size_t len = c->a[0];
	struct win *w = NULL;
	int64_t off;

	for (int i = 0; i < MAX_WINS && !w; i++)
		if (!wins[i].buf)
			w = &wins[i];
	if (!w || !len || len > (256UL << 20))
		return -ENOSPC;
	w->buf = page_alloc(len);
	if (!w->buf)
		return -ENOMEM;
	w->len = len;
	w->seed = c->a[2];
	fill(w->buf, len, w->seed, 0);
	off = reg(fd, w->buf, len, 0, (int)c->a[1], 0);
	if (off < 0) {
		free(w->buf);
		w->buf = NULL;
		return off;
	}
	w->off = off;
	return off;
}

/* Bytes [at, at + n) hold pattern seed from `from`, the rest its own. */
static int64_t srv_check(struct win *w, size_t at, size_t n, uint64_t seed,
			 uint64_t from)
{
	long bad;

	if (at > w->len || n > w->len - at)
		return -EINVAL;
	bad = verify(w->buf, at, w->seed, 0);
	if (bad < 0) {
		bad = verify(w->buf + at, n, seed, from);
		if (bad >= 0)
			bad += at;
	}
	if (bad < 0) {
		bad = verify(w->buf + at + n, w->len - at - n, w->seed, at + n);
		if (bad >= 0)
			bad += at + n;
	}
	if (bad >= 0) {
		fprintf(stderr, "%s: server: window %#llx byte %ld is %#x\n",
			prog, (long long)w->off, bad, w->buf[bad]);
		return 1;
	}
	return 0;
}

/* Wait for a 64-bit value at @at, then check the data before it. */
static int64_t srv_waitval(struct win *w, struct cmd *c)
{
	size_t at = c->a[1];
	volatile uint64_t *flag;
	double end = now() + 60;

	if (at > w->len - 8 || at % 4 || (size_t)c->a[4] > at)
		return -EINVAL;
	flag = (volatile uint64_t *)(w->buf + at);
	while (*flag != (uint64_t)c->a[2]) {
		if (now() > end)
			return -ETIMEDOUT;
	}
	/* The data must be complete the moment the value is seen. */
	if (verify(w->buf, c->a[4], c->a[3], 0) >= 0) {
		fprintf(stderr, "%s: server: value seen before the data\n",
			prog);
		return 1;
	}
	return 0;
}

static int64_t srv_cmd(int fd, struct cmd *c)
{
	struct win *w = NULL;

	if (c->op != OP_REG && c->op != OP_WRITETO && c->op != OP_QUIT) {
		w = win_find(c->a[0]);
		if (!w)
			return -ENXIO;
	}
	switch (c->op) {
	case OP_REG:
		return srv_reg(fd, c);
	case OP_CHECK:
		return srv_check(w, c->a[1], c->a[2], c->a[3], c->a[4]);
	case OP_FILL:
		w->seed = c->a[1];
		fill(w->buf, w->len, w->seed, 0);
		return 0;
	case OP_UNREG: {
		int err = unreg(fd, w->off, w->len);

		if (!err) {
			free(w->buf);
			w->buf = NULL;
		}
		return err;
	}
	case OP_WRITETO:
		return rma(fd, WRITETO, c->a[0], NULL, c->a[1], c->a[2],
			   c->a[3]);
	case OP_WAITVAL:
		return srv_waitval(w, c);
	default:
		return -EINVAL;
	}
}

static int serve(int port)
{
	struct scif_portID peer;
	scif_epd_t lfd = scif_open(), afd;

	if (lfd == SCIF_OPEN_FAILED)
		return die("/dev/scif");
	if (scif_bind(lfd, port) < 0)
		return die("bind");
	if (scif_listen(lfd, 4) < 0)
		return die("listen");
	printf("listening on port %d\n", port);
	fflush(stdout);
	for (;;) {
		struct cmd c;
		struct reply r;

		if (scif_accept(lfd, &peer, &afd, SCIF_ACCEPT_SYNC) < 0)
			return die("accept");
		while (!xfer_all(afd, 0, &c, sizeof(c))) {
			if (c.op == OP_QUIT)
				break;
			r.ret = srv_cmd(afd, &c);
			if (xfer_all(afd, 1, &r, sizeof(r)))
				break;
		}
		scif_close(afd);	/* unregisters the windows */
		for (int i = 0; i < MAX_WINS; i++) {
			free(wins[i].buf);
			wins[i].buf = NULL;
		}
	}
}

/* ---- client --------------------------------------------------------- */

static int cfd;

static int64_t call(int64_t op, int64_t a0, int64_t a1, int64_t a2,
		    int64_t a3, int64_t a4)
{
	struct cmd c = { .op = op, .a = { a0, a1, a2, a3, a4 } };
	struct reply r;

	if (xfer_all(cfd, 1, &c, sizeof(c)) ||
	    xfer_all(cfd, 0, &r, sizeof(r))) {
		fprintf(stderr, "%s: server request %lld: %s\n", prog,
			(long long)op, strerror(errno));
		exit(2);
	}
	return r.ret;
}

static void expect(const char *what, int got, int want)
{
	if (got == want) {
		printf("ok: %s = %s\n", what, want ? strerror(-want) : "0");
		return;
	}
	printf("FAIL: %s = %d (%s), want %d (%s)\n", what, got,
	       strerror(-got), want, strerror(-want));
	failures++;
}

static void result(const char *what, long bad)
{
	if (bad < 0) {
		printf("%s: ok\n", what);
		return;
	}
	printf("%s: MISMATCH at byte %ld\n", what, bad);
	failures++;
}

struct opts {
	size_t size;
	size_t loff;
	size_t roff;
	int flags;
	int count;
};

static int test_xfer(struct opts *o)
{
	size_t llen = page_up(o->loff + o->size);
	size_t rlen = page_up(o->roff + o->size);
	uint8_t *lbuf = page_alloc(llen);
	int64_t lwin, rwin;
	char what[160];
	int err;

	if (!lbuf)
		return die("malloc");
	fill(lbuf, llen, 1, 0);
	lwin = reg(cfd, lbuf, llen, 0, PROT_R | PROT_W, 0);
	if (lwin < 0)
		return errno = -lwin, die("register");
	rwin = call(OP_REG, rlen, PROT_R | PROT_W, 2, 0, 0);
	if (rwin < 0)
		return errno = -rwin, die("server register");

	snprintf(what, sizeof(what), "writeto %zu bytes (loff %zu roff %zu%s)",
		 o->size, o->loff, o->roff, o->flags & RMA_USECPU ? " cpu" : "");
	err = rma(cfd, WRITETO, lwin + o->loff, NULL, o->size,
		  rwin + o->roff, o->flags);
	if (err)
		return errno = -err, die("writeto");
	result(what, call(OP_CHECK, rwin, o->roff, o->size, 1, o->loff) ? 0 : -1);

	call(OP_FILL, rwin, 3, 0, 0, 0);
	snprintf(what, sizeof(what), "readfrom %zu bytes (loff %zu roff %zu%s)",
		 o->size, o->loff, o->roff, o->flags & RMA_USECPU ? " cpu" : "");
	err = rma(cfd, READFROM, lwin + o->loff, NULL, o->size,
		  rwin + o->roff, o->flags);
	if (err)
		return errno = -err, die("readfrom");
	{
		long bad = verify(lbuf, o->loff, 1, 0);

		if (bad < 0) {
			bad = verify(lbuf + o->loff, o->size, 3, o->roff);
			if (bad >= 0)
				bad += o->loff;
		}
		if (bad < 0) {
			bad = verify(lbuf + o->loff + o->size,
				     llen - o->loff - o->size, 1,
				     o->loff + o->size);
			if (bad >= 0)
				bad += o->loff + o->size;
		}
		result(what, bad);
	}
	return failures ? 1 : 0;
}

static int test_vxfer(struct opts *o)
{
	size_t rlen = page_up(o->roff + o->size);
	uint8_t *buf = malloc(o->loff + o->size + 1);
	uint8_t *src;
	int64_t rwin;
	char what[160];
	int err;

	if (!buf)
		return die("malloc");
	src = buf + o->loff;
	fill(src, o->size, 5, 0);
	rwin = call(OP_REG, rlen, PROT_R | PROT_W, 2, 0, 0);
	if (rwin < 0)
		return errno = -rwin, die("server register");
	snprintf(what, sizeof(what), "vwriteto %zu bytes (addr+%zu roff %zu%s)",
		 o->size, o->loff, o->roff, o->flags & RMA_USECPU ? " cpu" : "");
	err = rma(cfd, VWRITETO, 0, src, o->size, rwin + o->roff,
		  o->flags);
	if (err)
		return errno = -err, die("vwriteto");
	result(what, call(OP_CHECK, rwin, o->roff, o->size, 5, 0) ? 0 : -1);

	call(OP_FILL, rwin, 6, 0, 0, 0);
	memset(src, 0, o->size);
	snprintf(what, sizeof(what), "vreadfrom %zu bytes (addr+%zu roff %zu%s)",
		 o->size, o->loff, o->roff, o->flags & RMA_USECPU ? " cpu" : "");
	err = rma(cfd, VREADFROM, 0, src, o->size, rwin + o->roff,
		  o->flags);
	if (err)
		return errno = -err, die("vreadfrom");
	result(what, verify(src, o->size, 6, o->roff));
	return failures ? 1 : 0;
}

static int test_fence(struct opts *o)
{
	size_t len = page_up(o->size) + PAGE;	/* data, then a flag page */
	size_t flag = len - PAGE + 8;
	uint8_t *lbuf = page_alloc(len);
	volatile uint64_t *lflag = (uint64_t *)(lbuf + flag);
	int64_t lwin, rwin, ret;
	int mark, err;

	if (!lbuf)
		return die("malloc");
	fill(lbuf, len, 7, 0);
	*lflag = 0;
	lwin = reg(cfd, lbuf, len, 0, PROT_R | PROT_W, 0);
	rwin = call(OP_REG, len, PROT_R | PROT_W, 8, 0, 0);
	if (lwin < 0 || rwin < 0)
		return errno = EIO, die("register");

	/* Own RMAs: mark, wait, then the data must be there. */
	err = rma(cfd, WRITETO, lwin, NULL, o->size, rwin, o->flags);
	expect("writeto", err, 0);
	expect("fence_mark(INIT_SELF)", fence_mark(cfd, FENCE_SELF, &mark), 0);
	expect("fence_wait(self mark)", fence_wait(cfd, mark), 0);
	result("data after own mark/wait",
	       call(OP_CHECK, rwin, 0, o->size, 7, 0) ? 0 : -1);

	/* Signal to the peer: its poller must see the data with the value. */
	call(OP_FILL, rwin, 8, 0, 0, 0);
	fill(lbuf, o->size, 9, 0);
	{
		struct cmd c = {
			.op = OP_WAITVAL,
			.a = { rwin, flag, 0x5157a11, 9, o->size },
		};
		struct reply r;

		if (xfer_all(cfd, 1, &c, sizeof(c)))
			return die("send");
		err = rma(cfd, WRITETO, lwin, NULL, o->size, rwin,
			  o->flags);
		expect("writeto before signal", err, 0);
		err = fence_signal(cfd, lwin + flag, 0x10ca1, rwin + flag,
				   0x5157a11, FENCE_SELF | SIGNAL_LOCAL |
				   SIGNAL_REMOTE);
		expect("fence_signal(INIT_SELF, LOCAL|REMOTE)", err, 0);
		if (xfer_all(cfd, 0, &r, sizeof(r)))
			return die("recv");
		expect("peer saw the value after the data", (int)r.ret, 0);
		expect("local signal value", *lflag == 0x10ca1 ? 0 : -EIO, 0);
	}

	/* The peer's RMAs: it writes into our window, we mark and wait. */
	memset(lbuf, 0, o->size);
	call(OP_FILL, rwin, 10, 0, 0, 0);
	ret = call(OP_WRITETO, rwin, o->size, lwin, o->flags, 0);
	expect("peer writeto", (int)ret, 0);
	expect("fence_mark(INIT_PEER)", fence_mark(cfd, FENCE_PEER, &mark), 0);
	expect("peer mark has SCIF_REMOTE_FENCE", mark < 0 ? 0 : -EINVAL, 0);
	expect("fence_wait(peer mark)", fence_wait(cfd, mark), 0);
	result("data after peer mark/wait", verify(lbuf, o->size, 10, 0));
	*lflag = 0;
	err = fence_signal(cfd, lwin + flag, 0x9ee7, 0, 0,
			   FENCE_PEER | SIGNAL_LOCAL);
	expect("fence_signal(INIT_PEER, LOCAL)", err, 0);
	expect("local value after peer fence", *lflag == 0x9ee7 ? 0 : -EIO, 0);
	return failures ? 1 : 0;
}

static int test_errors(struct opts *o)
{
	uint8_t *lbuf = page_alloc(4 * PAGE);
	int64_t lwin, rowin, rwwin, ro_local;
	int mark;

	if (!lbuf)
		return die("malloc");
	fill(lbuf, 4 * PAGE, 11, 0);
	lwin = reg(cfd, lbuf, 2 * PAGE, 0, PROT_R | PROT_W, 0);
	ro_local = reg(cfd, lbuf + 2 * PAGE, PAGE, 0, PROT_R, 0);
	rowin = call(OP_REG, 2 * PAGE, PROT_R, 12, 0, 0);
	rwwin = call(OP_REG, 2 * PAGE, PROT_R | PROT_W, 13, 0, 0);
	if (lwin < 0 || ro_local < 0 || rowin < 0 || rwwin < 0)
		return errno = EIO, die("register");

	expect("writeto read-only remote window",
	       rma(cfd, WRITETO, lwin, NULL, 64, rowin, o->flags),
	       -EACCES);
	expect("readfrom read-only remote window",
	       rma(cfd, READFROM, lwin, NULL, 64, rowin, o->flags), 0);
	expect("readfrom into read-only local window",
	       rma(cfd, READFROM, ro_local, NULL, 64, rwwin, o->flags),
	       -EACCES);
	expect("vwriteto read-only remote window",
	       rma(cfd, VWRITETO, 0, lbuf, 64, rowin, o->flags),
	       -EACCES);
	expect("writeto unregistered remote offset",
	       rma(cfd, WRITETO, lwin, NULL, 64, rwwin + (1 << 30),
		   o->flags), -ENXIO);
	expect("writeto past the end of a remote window",
	       rma(cfd, WRITETO, lwin, NULL, 2 * PAGE, rwwin + 64,
		   o->flags), -ENXIO);
	expect("writeto unregistered local offset",
	       rma(cfd, WRITETO, lwin + (1 << 30), NULL, 64, rwwin,
		   o->flags), -ENXIO);
	expect("vreadfrom unregistered remote offset",
	       rma(cfd, VREADFROM, 0, lbuf, 64, 1 << 30, o->flags),
	       -ENXIO);
	expect("writeto negative offset",
	       rma(cfd, WRITETO, -4096, NULL, 64, rwwin, o->flags),
	       -ENXIO);
	expect("writeto bad flags",
	       rma(cfd, WRITETO, lwin, NULL, 64, rwwin, 0x100), -EINVAL);
	expect("fence_signal unaligned remote offset",
	       fence_signal(cfd, 0, 0, rwwin + 2, 1,
			    FENCE_SELF | SIGNAL_REMOTE), -EINVAL);
	expect("fence_signal unregistered remote offset",
	       fence_signal(cfd, 0, 0, 1 << 30, 1, FENCE_SELF | SIGNAL_REMOTE),
	       -ENXIO);
	expect("fence_signal read-only remote window",
	       fence_signal(cfd, 0, 0, rowin, 1, FENCE_SELF | SIGNAL_REMOTE),
	       -EACCES);
	expect("fence_mark bad flags", fence_mark(cfd, 3, &mark), -EINVAL);
	expect("register MAP_FIXED on a used offset",
	       (int)reg(cfd, lbuf + 3 * PAGE, PAGE, lwin, PROT_R, SCIF_MAP_FIXED),
	       -EADDRINUSE);
	expect("register unaligned length",
	       (int)reg(cfd, lbuf + 3 * PAGE, 100, 0, PROT_R, 0), -EINVAL);
	expect("register SCIF_MAP_KERNEL from user space",
	       (int)reg(cfd, lbuf + 3 * PAGE, PAGE, 0, PROT_R, 0x20), -EINVAL);
	expect("unregister part of a window", unreg(cfd, lwin, PAGE), -EINVAL);
	expect("unregister nothing", unreg(cfd, 1 << 30, PAGE), -ENXIO);
	expect("peer unregisters", (int)call(OP_UNREG, rwwin, 0, 0, 0, 0), 0);
	expect("writeto after the peer unregistered",
	       rma(cfd, WRITETO, lwin, NULL, 64, rwwin, o->flags),
	       -ENXIO);
	expect("unregister", unreg(cfd, lwin, 2 * PAGE), 0);
	expect("writeto from an unregistered window",
	       rma(cfd, WRITETO, lwin, NULL, 64, rowin, o->flags),
	       -ENXIO);
	return failures ? 1 : 0;
}

static int test_loop(struct opts *o)
{
	size_t len = page_up(o->size);
	uint8_t *lbuf = page_alloc(len);
	int64_t lwin, rwin;
	long n = 0;
	int err;

	if (!lbuf)
		return die("malloc");
	fill(lbuf, len, 14, 0);
	lwin = reg(cfd, lbuf, len, 0, PROT_R | PROT_W, 0);
	rwin = call(OP_REG, len, PROT_R | PROT_W, 15, 0, 0);
	if (lwin < 0 || rwin < 0)
		return errno = EIO, die("register");
	printf("looping\n");
	fflush(stdout);
	do {
		err = rma(cfd, n & 1 ? READFROM : WRITETO, lwin,
			  NULL, o->size, rwin, o->flags);
		n++;
	} while (!err);
	printf("rma stopped after %ld transfers: %s\n", n - 1, strerror(-err));
	return err == -ECONNRESET || err == -ENODEV || err == -ENOTCONN ? 0 : 2;
}

static sigjmp_buf bus_jmp;

static void on_sigbus(int sig)
{
	siglongjmp(bus_jmp, sig);
}

/* Read one byte; 0 if it was readable, else the signal that stopped it. */
static int probe_read(volatile uint8_t *p)
{
	struct sigaction sa = { .sa_handler = on_sigbus }, old_bus, old_segv;
	int sig;

	sigaction(SIGBUS, &sa, &old_bus);
	sigaction(SIGSEGV, &sa, &old_segv);
	sig = sigsetjmp(bus_jmp, 1);
	if (!sig)
		(void)*p;
	sigaction(SIGBUS, &old_bus, NULL);
	sigaction(SIGSEGV, &old_segv, NULL);
	return sig;
}

static int test_mmap(struct opts *o)
{
	size_t len = page_up(o->size);
	int64_t rwin, rowin;
	uint8_t *p;

	rwin = call(OP_REG, len, PROT_R | PROT_W, 20, 0, 0);
	rowin = call(OP_REG, PAGE, PROT_R, 21, 0, 0);
	if (rwin < 0 || rowin < 0)
		return errno = EIO, die("server register");

	p = scif_mmap(NULL, len, PROT_R | PROT_W, 0, cfd, rwin);
	if (p == SCIF_MMAP_FAILED)
		return die("scif_mmap");
	result("mmap read of the peer's window", verify(p, len, 20, 0));
	fill(p, len, 22, 0);
	result("mmap write into the peer's window",
	       call(OP_CHECK, rwin, 0, len, 22, 0) ? 0 : -1);
	expect("scif_munmap", scif_munmap(p, len) ? -errno : 0, 0);

	p = scif_mmap(NULL, PAGE, PROT_R | PROT_W, 0, cfd, rowin);
	expect("mmap read-only window for writing",
	       p == SCIF_MMAP_FAILED ? -errno : 0, -EACCES);
	p = scif_mmap(NULL, PAGE, PROT_R, 0, cfd, rowin);
	if (p == SCIF_MMAP_FAILED)
		return die("scif_mmap read-only");
	result("mmap read of a read-only window", verify(p, PAGE, 21, 0));
	p = scif_mmap(NULL, PAGE, PROT_R, 0, cfd, 1L << 30);
	expect("mmap unregistered offset",
	       p == SCIF_MMAP_FAILED ? -errno : 0, -ENXIO);

	/* Once the peer unregisters, its pages are out of our mapping. */
	p = scif_mmap(NULL, len, PROT_R, 0, cfd, rwin);
	if (p == SCIF_MMAP_FAILED)
		return die("scif_mmap again");
	expect("read through the mapping", probe_read(p), 0);
	expect("peer unregisters", (int)call(OP_UNREG, rwin, 0, 0, 0, 0), 0);
	expect("read after the peer unregistered gets SIGBUS",
	       probe_read(p) == SIGBUS ? 0 : -EIO, 0);
	return failures ? 1 : 0;
}

static double bw(double bytes, double secs)
{
	return bytes / secs / 1e6;
}

static int test_bench(struct opts *o)
{
	size_t len = page_up(o->size);
	uint8_t *lbuf = page_alloc(len), *other = page_alloc(len);
	int64_t lwin, rwin;
	double t;
	int i, n = o->count, err = 0;

	if (!lbuf || !other)
		return die("malloc");
	fill(lbuf, len, 16, 0);
	lwin = reg(cfd, lbuf, len, 0, PROT_R | PROT_W, 0);
	rwin = call(OP_REG, len, PROT_R | PROT_W, 17, 0, 0);
	if (lwin < 0 || rwin < 0)
		return errno = EIO, die("register");

	t = now();
	for (i = 0; i < n && !err; i++)
		err = rma(cfd, WRITETO, lwin, NULL, o->size, rwin,
			  o->flags | RMA_SYNC);
	printf("writeto_MBps %.1f size %zu\n", bw((double)o->size * n,
						  now() - t), o->size);
	t = now();
	for (i = 0; i < n && !err; i++)
		err = rma(cfd, READFROM, lwin, NULL, o->size, rwin,
			  o->flags | RMA_SYNC);
	printf("readfrom_MBps %.1f size %zu\n", bw((double)o->size * n,
						   now() - t), o->size);
	t = now();
	for (i = 0; i < n; i++) {
		memcpy(other, lbuf, o->size);
		__asm__ volatile("" : : "r"(other) : "memory");
	}
	printf("memcpy_MBps %.1f size %zu\n", bw((double)o->size * n,
						 now() - t), o->size);

	n = 200;
	t = now();
	for (i = 0; i < n && !err; i++)
		err = rma(cfd, WRITETO, lwin, NULL, 64, rwin,
			  o->flags | RMA_SYNC);
	printf("writeto64_us %.2f\n", (now() - t) * 1e6 / n);
	t = now();
	for (i = 0; i < n && !err; i++)
		err = rma(cfd, READFROM, lwin, NULL, 64, rwin,
			  o->flags | RMA_SYNC);
	printf("readfrom64_us %.2f\n", (now() - t) * 1e6 / n);
	t = now();
	for (i = 0; i < 100000; i++) {
		memcpy(other, lbuf + (i & 63), 64);
		__asm__ volatile("" : : "r"(other) : "memory");
	}
	printf("memcpy64_us %.4f\n", (now() - t) * 1e6 / 100000);
	if (err)
		return errno = -err, die("rma");
	return 0;
}


/* Wait (at most 60 s) until @path exists. */
static void wait_file(const char *path)
{
	for (int i = 0; i < 600 && access(path, F_OK); i++)
		usleep(100000);
}

static int test_regloop(struct opts *o)
{
	size_t len = page_up(o->size);
	uint8_t *lbuf = page_alloc(len);
	int64_t lwin, rwin;
	long n = 0;
	int err = 0;

	if (!lbuf)
		return die("malloc");
	fill(lbuf, len, 51, 0);
	rwin = call(OP_REG, PAGE, PROT_R | PROT_W, 52, 0, 0);
	if (rwin < 0)
		return errno = (int)-rwin, die("server register");
	printf("looping\n");
	fflush(stdout);
	for (;;) {
		lwin = reg(cfd, lbuf, len, 0, PROT_R | PROT_W, 0);
		if (lwin < 0) {
			err = (int)lwin;
			break;
		}
		err = rma(cfd, WRITETO, lwin, NULL, PAGE, rwin, 0);
		if (!err)
			err = unreg(cfd, lwin, len);
		if (err)
			break;
		n++;
	}
	printf("rma stopped after %ld registrations: %s\n", n, strerror(-err));
	return err == -ECONNRESET || err == -ENODEV || err == -ENOTCONN ? 0 : 1;
}

static int test_silent(struct opts *o)
{
	size_t len = page_up(o->size);
	uint8_t *lbuf = page_alloc(len);
	int64_t lwin, rwin;
	double t;
	int mark;

	if (!lbuf)
		return die("malloc");
	printf("connected\n");
	fflush(stdout);
	wait_file("/tmp/rma-go");
	t = now();
	expect("register with a silent peer",
	       (int)reg(cfd, lbuf, len, 0, PROT_R | PROT_W, 0), -EAGAIN);
	printf("register gave up after %.1f s\n", now() - t);
	t = now();
	expect("fence_mark(INIT_PEER) with a silent peer",
	       fence_mark(cfd, FENCE_PEER, &mark), -ETIMEDOUT);
	printf("fence_mark gave up after %.1f s\n", now() - t);
	printf("waiting for the peer\n");
	fflush(stdout);
	wait_file("/tmp/rma-go2");
	fill(lbuf, len, 53, 0);
	lwin = reg(cfd, lbuf, len, 0, PROT_R | PROT_W, 0);
	expect("register after the peer is back", lwin < 0 ? (int)lwin : 0, 0);
	rwin = call(OP_REG, len, PROT_R | PROT_W, 54, 0, 0);
	expect("peer registers", rwin < 0 ? (int)rwin : 0, 0);
	if (lwin < 0 || rwin < 0)
		return 1;
	expect("writeto after the peer is back",
	       rma(cfd, WRITETO, lwin, NULL, len, rwin, o->flags), 0);
	result("peer's window after the writeto",
	       call(OP_CHECK, rwin, 0, len, 53, 0) ? 0 : -1);
	return failures ? 1 : 0;
}

/* ---- kernel-only calls through /dev/scif_test ------------------------ */

static int kapi(int tfd, struct scift_kapi *a)
{
	a->fd = cfd;
	return ioctl(tfd, SCIFT_KAPI, a) ? -errno : 0;
}

static int test_kapi(struct opts *o)
{
	size_t wlen = 64 * PAGE, at = 16 * PAGE, n = 32 * PAGE;
	uint8_t *got = page_alloc(n), *mine = page_alloc(n);
	struct scift_kapi a = { .op = SCIFT_KAPI_GET_PAGES };
	int64_t rwin, rwin2;
	int tfd, err;

	(void)o;
	if (!got || !mine)
		return die("malloc");
	tfd = open("/dev/scif_test", O_RDWR);
	if (tfd < 0)
		return die("/dev/scif_test");
	/* 256 KiB: the server's buffer is its own mapping, unmapped on free. */
	rwin = call(OP_REG, wlen, PROT_R | PROT_W, 31, 0, 0);
	if (rwin < 0)
		return errno = (int)-rwin, die("server register");

	a.offset = rwin + at;
	a.len = n;
	a.buf = (uintptr_t)got;
	err = kapi(tfd, &a);
	expect("scif_get_pages", err, 0);
	if (err)
		return failures ? 1 : 0;
	printf("get_pages: %d pages, prot %d\n", a.nr_pages, a.prot);
	result("get_pages bytes", verify(got, n, 31, at));
	a.op = SCIFT_KAPI_GET_PAGES;
	a.slot = 1;
	a.offset = rwin + wlen - PAGE;
	a.len = 2 * PAGE;
	expect("scif_get_pages across the window end", kapi(tfd, &a), -ENXIO);
	a.slot = 0;

	/* The server unregisters: it succeeds, the pages stay ours. */
	expect("server unregisters while pages are lent",
	       (int)call(OP_UNREG, rwin, 0, 0, 0, 0), 0);
	memset(got, 0, n);
	a.op = SCIFT_KAPI_READ;
	a.len = n;
	expect("read lent pages again", kapi(tfd, &a), 0);
	result("lent pages after the server unregistered",
	       verify(got, n, 31, at));
	/* Let the test look at the server's side, if it wants to. */
	printf("holding pages\n");
	fflush(stdout);
	if (!access("/tmp/kapi-hold", F_OK))
		wait_file("/tmp/kapi-go");
	a.op = SCIFT_KAPI_PUT_PAGES;
	expect("scif_put_pages", kapi(tfd, &a), 0);
	expect("scif_put_pages again", kapi(tfd, &a), -ENOENT);

	/* Pinned pages, registered; the server writes into them. */
	memset(mine, 0, n);
	a.op = SCIFT_KAPI_PIN_REGISTER;
	a.buf = (uintptr_t)mine;
	a.len = n;
	a.prot = PROT_R | PROT_W;
	err = kapi(tfd, &a);
	expect("scif_pin_pages + scif_register_pinned_pages", err, 0);
	if (err)
		return failures ? 1 : 0;
	rwin2 = call(OP_REG, n, PROT_R | PROT_W, 32, 0, 0);
	/* SYNC: upstream's SCIF would return before its DMA is done. */
	expect("server writeto the pinned window",
	       (int)call(OP_WRITETO, rwin2, n, a.offset, RMA_SYNC, 0), 0);
	result("pinned window bytes", verify(mine, n, 32, 0));
	expect("unregister the pinned window", unreg(cfd, a.offset, n), 0);
	close(tfd);
	return failures ? 1 : 0;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: %s -s [-p PORT]\n"
		"       %s -c NODE [-p PORT] [-u] [-y] [-U] [-S SIZE] [-l LOFF] [-r ROFF]"
		" [-n N] xfer|vxfer|fence|errors|mmap|loop|bench|kapi|regloop|silent\n",
		prog, prog);
	return 2;
}

int main(int argc, char **argv)
{
	struct opts o = { .size = 4096, .count = 10 };
	int opt, server = 0, node = -1, port = DEFAULT_PORT, unbound = 0, ret;
	struct scif_portID dst;
	const char *test;

	while ((opt = getopt(argc, argv, "sc:p:uyUS:l:r:n:")) != -1) {
		switch (opt) {
		case 's': server = 1; break;
		case 'c': node = atoi(optarg); break;
		case 'p': port = atoi(optarg); break;
		case 'u': o.flags |= RMA_USECPU; break;
		case 'y': o.flags |= RMA_SYNC; break;
		case 'U': unbound = 1; break;
		case 'S': o.size = strtoul(optarg, NULL, 0); break;
		case 'l': o.loff = strtoul(optarg, NULL, 0); break;
		case 'r': o.roff = strtoul(optarg, NULL, 0); break;
		case 'n': o.count = atoi(optarg); break;
		default: return usage();
		}
	}
	if (server)
		return serve(port);
	if (node < 0 || optind != argc - 1 || !o.size)
		return usage();
	test = argv[optind];
	cfd = scif_open();
	if (cfd == SCIF_OPEN_FAILED)
		return die("/dev/scif");
	dst.node = node;
	dst.port = port;
	/* Bind first: upstream's SCIF does not connect unbound endpoints. */
	if (!unbound && scif_bind(cfd, 0) < 0)
		return die("bind");
	if (scif_connect(cfd, &dst) < 0)
		return die("connect");
	if (!strcmp(test, "xfer"))
		ret = test_xfer(&o);
	else if (!strcmp(test, "vxfer"))
		ret = test_vxfer(&o);
	else if (!strcmp(test, "fence"))
		ret = test_fence(&o);
	else if (!strcmp(test, "errors"))
		ret = test_errors(&o);
	else if (!strcmp(test, "loop"))
		return test_loop(&o);
	else if (!strcmp(test, "mmap"))
		ret = test_mmap(&o);
	else if (!strcmp(test, "bench"))
		ret = test_bench(&o);
	else if (!strcmp(test, "kapi"))
		ret = test_kapi(&o);
	else if (!strcmp(test, "regloop"))
		return test_regloop(&o);
	else if (!strcmp(test, "silent"))
		ret = test_silent(&o);
	else
		return usage();
	if (ret == 0) {
		struct cmd c = { .op = OP_QUIT };

		xfer_all(cfd, 1, &c, sizeof(c));
	}
	return ret;
}
