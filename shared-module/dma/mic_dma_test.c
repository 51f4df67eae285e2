// SPDX-License-Identifier: GPL-2.0
/*
 * micemu: test module for the x100 DMA driver (mic_dma_test.ko), loaded in
 * the host VM and in a card VM. It takes this side's four channels
 * through the dmaengine API (dma_request_channel() with mic_dma_filter())
 * and drives them from a debugfs file:
 *
 *   echo "<command>" > /sys/kernel/debug/mic_dma_test/ctl
 *   cat /sys/kernel/debug/mic_dma_test/ctl         # the command's output
 *
 * Commands (a write fails with the command's error; the output says why):
 *   open <instance>        request the channels of "mic0" (host) or "card",
 *                          allocate two local 4 MiB buffers; prints
 *                          "local <card address> <size>"
 *   peer <addr> <size>     the other side's buffer (card physical address)
 *   fill <seed> <len>      write pattern <seed> into the local buffer
 *   check <seed> <len>     compare the local buffer with pattern <seed>
 *   copy <dir> <len> <ch|all>
 *                          to_peer: local -> peer, from_peer: peer -> local,
 *                          on channel 0-3 or split over all four
 *   status <ch>            immediate-data write of a value into the local
 *                          buffer, then an interrupt request with callback
 *   bench <dir> <len> <nch> <reps>
 *                          MB/s of DMA over nch channels and of memcpy
 *   fault <ch> <kind>      badtype, badaddr, smpt, misaligned, ring0,
 *                          samehead: expect a channel error, then a round
 *                          trip on the same channel must be byte-exact
 *   long <ch> <n> <len>    queue n copies to the peer and return
 *   longwait <seconds>     wait for them; prints done/failed counts
 *   stats <ch>             the channel's counters
 *   close                  release everything
 */
#include <linux/completion.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <linux/dmaengine.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/tlbflush.h>

#include "mic_dma.h"

#define MDT_BUF_SIZE		SZ_4M
#define MDT_WARMUPS		4	/* TCG's TLB: 256 entries to 4096 */
#define MDT_OUT_SIZE		1024
#define MDT_WAIT_MS		60000
#define MDT_MAX_LONG		4096
/* facts §3.1: outside card memory (1 GiB here), below the SMPT window. */
#define MDT_BAD_CARD_ADDR	0x4000000000ULL
/* facts §3.3: SMPT entry 15, 240 GiB into host bus space: no RAM there. */
#define MDT_BAD_SMPT_ADDR	(0x8000000000ULL + 0x3C00000000ULL)
#define MDT_DESC_MEMCPY		BIT_ULL(60)
#define MDT_DESC_BADTYPE	(15ULL << 60)
#define MDT_DESC_LEN_SHIFT	46

struct mdt_wait {
	struct completion done;
	enum dmaengine_tx_result result;
};

static struct {
	struct mutex lock; /* everything below */
	struct dma_chan *chan[MIC_DMA_NUM_CHAN];
	int nchan;
	struct device *dev;
	void *buf[2];
	dma_addr_t bus[2];
	u64 card[2];
	u64 peer;
	u64 peer_size;
	dma_cookie_t long_first, long_last;
	int long_ch;
	int long_n;
	char out[MDT_OUT_SIZE];
	size_t out_len;
	struct dentry *dbg;
} mdt;

static __printf(1, 2) void mdt_out(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mdt.out_len += vscnprintf(mdt.out + mdt.out_len,
				  MDT_OUT_SIZE - mdt.out_len, fmt, ap);
	va_end(ap);
}

static u64 mdt_pattern(u64 seed, u64 word)
{
	u64 w = (seed + 1) * 0x9E3779B97F4A7C15ULL ^ word * 0xBF58476D1CE4E5B9ULL;

	return w ^ (w >> 29);
}

static void mdt_fill(u64 seed, size_t len)
{
	u64 *p = mdt.buf[0];
	size_t i;

	for (i = 0; i < len / 8; i++)
		p[i] = mdt_pattern(seed, i);
}

static int mdt_check(u64 seed, size_t len)
{
	const u8 *p = mdt.buf[0];
	size_t i;
	u64 want;

	for (i = 0; i < len; i++) {
		want = mdt_pattern(seed, i / 8);
		if (p[i] != (u8)(want >> (8 * (i % 8)))) {
			mdt_out("mismatch at %zu: 0x%02x, want 0x%02x\n", i,
				p[i], (u8)(want >> (8 * (i % 8))));
			return -EIO;
		}
	}
	mdt_out("ok %zu bytes\n", len);
	return 0;
}

static void mdt_release(void)
{
	int i;

	for (i = 0; i < 2; i++)
		if (mdt.buf[i]) {
			mic_dma_unmap(mdt.chan[0], mdt.card[i], MDT_BUF_SIZE);
			dma_free_coherent(mdt.dev, MDT_BUF_SIZE, mdt.buf[i],
					  mdt.bus[i]);
			mdt.buf[i] = NULL;
		}
	for (i = 0; i < mdt.nchan; i++) {
		dmaengine_terminate_sync(mdt.chan[i]);
		dma_release_channel(mdt.chan[i]);
		mdt.chan[i] = NULL;
	}
	mdt.nchan = 0;
	mdt.peer = 0;
	mdt.long_n = 0;
}

static int mdt_open(const char *name)
{
	dma_cap_mask_t mask;
	struct dma_chan *chan;
	int i;

	mdt_release();
	dma_cap_zero(mask);
	dma_cap_set(DMA_MEMCPY, mask);
	while (mdt.nchan < MIC_DMA_NUM_CHAN) {
		chan = dma_request_channel(mask, mic_dma_filter, (void *)name);
		if (!chan)
			break;
		mdt.chan[mdt.nchan++] = chan;
	}
	if (mdt.nchan != MIC_DMA_NUM_CHAN) {
		mdt_out("got %d channel(s) of %s, want %d\n", mdt.nchan, name,
			MIC_DMA_NUM_CHAN);
		mdt_release();
		return -ENODEV;
	}
	mdt.dev = mdt.chan[0]->device->dev;
	for (i = 0; i < 2; i++) {
		mdt.buf[i] = dma_alloc_coherent(mdt.dev, MDT_BUF_SIZE,
						&mdt.bus[i], GFP_KERNEL);
		if (!mdt.buf[i]) {
			mdt_out("no memory for a %d-byte buffer\n", MDT_BUF_SIZE);
			mdt_release();
			return -ENOMEM;
		}
		mdt.card[i] = mic_dma_map(mdt.chan[0], mdt.bus[i],
					  MDT_BUF_SIZE);
		if (mdt.card[i] == DMA_MAPPING_ERROR) {
			dma_free_coherent(mdt.dev, MDT_BUF_SIZE, mdt.buf[i],
					  mdt.bus[i]);
			mdt.buf[i] = NULL;
			mdt_release();
			return -EIO;
		}
	}
	mdt_out("local 0x%llx %d channels", mdt.card[0], MDT_BUF_SIZE);
	for (i = 0; i < mdt.nchan; i++)
		mdt_out(" %d", mic_dma_hw_chan(mdt.chan[i]));
	mdt_out("\n");
	return 0;
}

static void mdt_callback(void *param, const struct dmaengine_result *res)
{
	struct mdt_wait *w = param;

	w->result = res->result;
	complete(&w->done);
}

/* Prepare and submit one copy with a completion; false if refused. */
static bool mdt_submit_copy(struct dma_chan *chan, u64 dst, u64 src,
			    size_t len, struct mdt_wait *w)
{
	struct dma_async_tx_descriptor *tx;

	tx = dmaengine_prep_dma_memcpy(chan, dst, src, len,
				       DMA_PREP_INTERRUPT | DMA_CTRL_ACK);
	if (!tx)
		return false;
	init_completion(&w->done);
	w->result = DMA_TRANS_ABORTED;
	tx->callback_result = mdt_callback;
	tx->callback_param = w;
	return !dma_submit_error(dmaengine_submit(tx));
}

static int mdt_wait_all(struct mdt_wait *w, int n, int *chans)
{
	int i, rc = 0;

	for (i = 0; i < n; i++) {
		if (!wait_for_completion_timeout(&w[i].done,
						 msecs_to_jiffies(MDT_WAIT_MS))) {
			mdt_out("timeout on channel %d\n", chans[i]);
			/* No callback may touch @w after we return. */
			dmaengine_terminate_sync(mdt.chan[chans[i]]);
			rc = -ETIMEDOUT;
		} else if (w[i].result != DMA_TRANS_NOERROR) {
			mdt_out("channel %d: result %d\n", chans[i],
				w[i].result);
			rc = -EIO;
		}
	}
	return rc;
}

/* len bytes local <-> peer over channels @first..@first+@n-1. */
static int mdt_copy(bool to_peer, size_t len, int first, int n, u64 *ns)
{
	struct mdt_wait w[MIC_DMA_NUM_CHAN];
	int chans[MIC_DMA_NUM_CHAN];
	size_t chunk, off = 0, part;
	u64 t0, src, dst;
	int i, rc;

	if (!mdt.peer || len > mdt.peer_size || len > MDT_BUF_SIZE) {
		mdt_out("no peer buffer, or %zu bytes do not fit\n", len);
		return -EINVAL;
	}
	chunk = round_up(DIV_ROUND_UP(len, n), 64);
	t0 = ktime_get_ns();
	for (i = 0; i < n && off < len; i++) {
		part = min(chunk, len - off);
		src = to_peer ? mdt.card[0] + off : mdt.peer + off;
		dst = to_peer ? mdt.peer + off : mdt.card[0] + off;
		chans[i] = first + i;
		if (!mdt_submit_copy(mdt.chan[first + i], dst, src, part,
				     &w[i])) {
			mdt_out("channel %d refused %zu bytes at 0x%llx -> 0x%llx\n",
				first + i, part, src, dst);
			n = i;
			for (i = 0; i < n; i++)
				dma_async_issue_pending(mdt.chan[chans[i]]);
			mdt_wait_all(w, n, chans);
			return -EINVAL;
		}
		off += part;
	}
	n = i;
	for (i = 0; i < n; i++)
		dma_async_issue_pending(mdt.chan[chans[i]]);
	rc = mdt_wait_all(w, n, chans);
	if (ns)
		*ns = ktime_get_ns() - t0;
	return rc;
}

static int mdt_parse_ch(const char *s, int *ch)
{
	if (kstrtoint(s, 0, ch) || *ch < 0 || *ch >= mdt.nchan) {
		mdt_out("bad channel '%s' (0-%d)\n", s, mdt.nchan - 1);
		return -EINVAL;
	}
	return 0;
}

static int mdt_cmd_copy(char **argv, int argc)
{
	bool to_peer = !strcmp(argv[1], "to_peer");
	int ch = 0, n = MIC_DMA_NUM_CHAN, rc;
	size_t len;
	u64 ns;

	if (argc != 4 || (!to_peer && strcmp(argv[1], "from_peer")) ||
	    kstrtoul(argv[2], 0, &len))
		return -EINVAL;
	if (strcmp(argv[3], "all")) {
		rc = mdt_parse_ch(argv[3], &ch);
		if (rc)
			return rc;
		n = 1;
	}
	rc = mdt_copy(to_peer, len, ch, n, &ns);
	if (!rc)
		mdt_out("ok %zu bytes in %llu ns\n", len, ns);
	return rc;
}

/* STATUS with a value, then an interrupt request: both observed. */
static int mdt_cmd_status(int ch)
{
	struct dma_chan *chan = mdt.chan[ch];
	struct dma_async_tx_descriptor *tx;
	struct mic_dma_stats before, after;
	u64 value = ktime_get_ns() | 1;
	u64 *dst = mdt.buf[0];
	struct mdt_wait w;

	*dst = 0;
	mic_dma_get_stats(chan, &before);
	tx = chan->device->device_prep_dma_imm_data(chan, mdt.card[0], value,
						    DMA_CTRL_ACK);
	if (!tx || dma_submit_error(dmaengine_submit(tx))) {
		mdt_out("immediate data refused\n");
		return -EIO;
	}
	tx = chan->device->device_prep_dma_interrupt(chan, DMA_PREP_INTERRUPT);
	if (!tx) {
		mdt_out("interrupt request refused\n");
		return -EIO;
	}
	init_completion(&w.done);
	tx->callback_result = mdt_callback;
	tx->callback_param = &w;
	if (dma_submit_error(dmaengine_submit(tx)))
		return -EIO;
	dma_async_issue_pending(chan);
	if (!wait_for_completion_timeout(&w.done,
					 msecs_to_jiffies(MDT_WAIT_MS))) {
		mdt_out("no completion callback\n");
		dmaengine_terminate_sync(chan);
		return -ETIMEDOUT;
	}
	mic_dma_get_stats(chan, &after);
	mdt_out("status value %s, callback result %d, interrupts %llu -> %llu\n",
		READ_ONCE(*dst) == value ? "ok" : "WRONG", w.result,
		before.irqs, after.irqs);
	return READ_ONCE(*dst) == value && w.result == DMA_TRANS_NOERROR ?
		0 : -EIO;
}

static int mdt_cmd_bench(char **argv, int argc)
{
	bool to_peer = !strcmp(argv[1], "to_peer");
	unsigned int nch, reps, i;
	u64 ns, dma_ns = 0, t0, cpu_ns;
	size_t len, cpu_len;
	void *cpu_dst;
	int rc;

	if (argc != 5 || kstrtoul(argv[2], 0, &len) ||
	    kstrtouint(argv[3], 0, &nch) || kstrtouint(argv[4], 0, &reps) ||
	    !nch || nch > mdt.nchan || !reps || len > MDT_BUF_SIZE)
		return -EINVAL;
	/*
	 * Under TCG, QEMU's software TLB is direct mapped, its size a power of
	 * two: two buffers an even number of pages apart can put each source
	 * page on its destination page's entry, so that every byte copied
	 * misses (benches measured 25-30 MB/s instead of about 500).  An odd
	 * distance never does, so the CPU copy goes one page into buf[1] when
	 * the distance is even.  The TLB is also resized by its use only when
	 * the guest flushes it (small after an idle spell): each warm-up copy
	 * and flush lets it double.
	 */
	cpu_dst = mdt.buf[1];
	cpu_len = len;
	if (!(((uintptr_t)mdt.buf[1] - (uintptr_t)mdt.buf[0]) >> PAGE_SHIFT & 1)) {
		cpu_dst += PAGE_SIZE;
		cpu_len = min_t(size_t, len, MDT_BUF_SIZE - PAGE_SIZE);
	}
	for (i = 0; i < MDT_WARMUPS; i++) {
		memcpy(cpu_dst, mdt.buf[0], cpu_len);
		preempt_disable();
		__flush_tlb_all();
		preempt_enable();
	}
	rc = mdt_copy(to_peer, len, 0, nch, NULL);
	if (rc)
		return rc;
	for (i = 0; i < reps; i++) {
		rc = mdt_copy(to_peer, len, 0, nch, &ns);
		if (rc)
			return rc;
		dma_ns += ns;
	}
	t0 = ktime_get_ns();
	for (i = 0; i < reps; i++)
		memcpy(cpu_dst, mdt.buf[0], cpu_len);
	cpu_ns = ktime_get_ns() - t0;
	mdt_out("dma_MBps %llu memcpy_MBps %llu bytes %zu reps %u channels %u\n",
		div64_u64((u64)len * reps * 1000, dma_ns ?: 1),
		div64_u64((u64)cpu_len * reps * 1000, cpu_ns ?: 1), len, reps,
		nch);
	return 0;
}

static enum dma_status mdt_wait_cookie(struct dma_chan *chan,
				       dma_cookie_t cookie, unsigned int ms)
{
	unsigned long end = jiffies + msecs_to_jiffies(ms);
	enum dma_status st;

	do {
		st = dma_async_is_tx_complete(chan, cookie, NULL, NULL);
		if (st != DMA_IN_PROGRESS)
			return st;
		msleep(20);
	} while (time_before(jiffies, end));
	return st;
}

static int mdt_inject(int ch, const char *kind)
{
	struct dma_chan *chan = mdt.chan[ch];
	u64 len64 = 1ULL << MDT_DESC_LEN_SHIFT;
	u64 local = mdt.card[0], peer = mdt.peer;
	enum mic_dma_fault fault = MIC_DMA_FAULT_RAW_DESC;
	u64 qw0 = 0, qw1 = 0;

	if (!strcmp(kind, "badtype")) {
		qw0 = local | len64;
		qw1 = MDT_DESC_BADTYPE | peer;
	} else if (!strcmp(kind, "badaddr")) {
		qw0 = MDT_BAD_CARD_ADDR | len64;
		qw1 = MDT_DESC_MEMCPY | local;
	} else if (!strcmp(kind, "smpt")) {
		qw0 = MDT_BAD_SMPT_ADDR | len64;
		qw1 = MDT_DESC_MEMCPY | local;
	} else if (!strcmp(kind, "misaligned")) {
		qw0 = (local + 8) | len64;
		qw1 = MDT_DESC_MEMCPY | peer;
	} else if (!strcmp(kind, "ring0")) {
		fault = MIC_DMA_FAULT_RING_SIZE_0;
	} else if (!strcmp(kind, "samehead")) {
		fault = MIC_DMA_FAULT_SAME_HEAD;
	} else {
		mdt_out("unknown fault '%s'\n", kind);
		return -EINVAL;
	}
	return mic_dma_inject_fault(chan, fault, qw0, qw1);
}

static int mdt_cmd_fault(int ch, const char *kind)
{
	struct dma_chan *chan = mdt.chan[ch];
	struct mic_dma_stats before, after;
	enum dma_status st;
	int cookie, rc;

	if (!mdt.peer) {
		mdt_out("no peer buffer\n");
		return -EINVAL;
	}
	mic_dma_get_stats(chan, &before);
	cookie = mdt_inject(ch, kind);
	if (cookie < 0) {
		mdt_out("injection failed: %d\n", cookie);
		return cookie;
	}
	st = mdt_wait_cookie(chan, cookie, MDT_WAIT_MS);
	mic_dma_get_stats(chan, &after);
	mdt_out("fault %s: status %s, errors %llu -> %llu, DCHERR 0x%08x DSTAT 0x%08x\n",
		kind, st == DMA_ERROR ? "error" :
		st == DMA_COMPLETE ? "complete" : "in-progress",
		before.errors, after.errors, after.last_dcherr,
		after.last_dstat);
	if (st != DMA_ERROR || after.errors <= before.errors)
		return -EIO;

	/* The channel must work again: a byte-exact round trip. */
	mdt_fill(ch + 77, SZ_4K);
	rc = mdt_copy(true, SZ_4K, ch, 1, NULL);
	if (!rc) {
		memset(mdt.buf[0], 0, SZ_4K);
		rc = mdt_copy(false, SZ_4K, ch, 1, NULL);
	}
	if (!rc)
		rc = mdt_check(ch + 77, SZ_4K);
	mdt_out("after fault %s: %s\n", kind, rc ? "FAILED" : "ok");
	return rc;
}

static int mdt_cmd_long(int ch, unsigned int n, size_t len)
{
	struct dma_chan *chan = mdt.chan[ch];
	struct dma_async_tx_descriptor *tx;
	dma_cookie_t cookie = 0;
	unsigned int i;

	if (!mdt.peer || !n || n > MDT_MAX_LONG || len > mdt.peer_size ||
	    len > MDT_BUF_SIZE)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		tx = dmaengine_prep_dma_memcpy(chan, mdt.peer, mdt.card[0], len,
					       DMA_CTRL_ACK);
		if (!tx)
			break;
		cookie = dmaengine_submit(tx);
		if (dma_submit_error(cookie))
			break;
		if (!i)
			mdt.long_first = cookie;
	}
	if (!i)
		return -EIO;
	mdt.long_last = cookie;
	mdt.long_ch = ch;
	mdt.long_n = i;
	dma_async_issue_pending(chan);
	mdt_out("queued %u copies of %zu bytes on channel %d\n", i, len, ch);
	return 0;
}

static int mdt_cmd_longwait(unsigned int secs)
{
	struct dma_chan *chan = mdt.chan[mdt.long_ch];
	unsigned int done = 0, failed = 0, pending = 0, i;
	enum dma_status st;
	dma_cookie_t c;

	if (!mdt.long_n)
		return -EINVAL;
	st = mdt_wait_cookie(chan, mdt.long_last, secs * 1000);
	for (i = 0, c = mdt.long_first; i < mdt.long_n; i++) {
		st = dma_async_is_tx_complete(chan, c, NULL, NULL);
		if (st == DMA_COMPLETE)
			done++;
		else if (st == DMA_ERROR)
			failed++;
		else
			pending++;
		c = c + 1 < DMA_MIN_COOKIE ? DMA_MIN_COOKIE : c + 1;
	}
	mdt_out("long: done %u failed %u pending %u\n", done, failed, pending);
	mdt.long_n = 0;
	return pending ? -ETIMEDOUT : 0;
}

static int mdt_cmd_stats(int ch)
{
	struct mic_dma_stats st;

	mic_dma_get_stats(mdt.chan[ch], &st);
	mdt_out("channel %d submitted %llu completed %llu failed %llu ",
		mic_dma_hw_chan(mdt.chan[ch]), st.submitted, st.completed,
		st.failed);
	mdt_out("errors %llu resets %llu irqs %llu\n", st.errors, st.resets,
		st.irqs);
	return 0;
}

/* Commands that need open channels and a channel argument. */
static int mdt_run_chan(char **argv, int argc)
{
	unsigned int n;
	size_t len;
	int ch, rc;

	rc = mdt_parse_ch(argv[1], &ch);
	if (rc)
		return rc;
	if (!strcmp(argv[0], "status") && argc == 2)
		return mdt_cmd_status(ch);
	if (!strcmp(argv[0], "fault") && argc == 3)
		return mdt_cmd_fault(ch, argv[2]);
	if (!strcmp(argv[0], "stats") && argc == 2)
		return mdt_cmd_stats(ch);
	if (!strcmp(argv[0], "long") && argc == 4 &&
	    !kstrtouint(argv[2], 0, &n) && !kstrtoul(argv[3], 0, &len))
		return mdt_cmd_long(ch, n, len);
	return -EINVAL;
}

static int mdt_run(char **argv, int argc)
{
	unsigned long len;
	unsigned int secs;
	u64 seed, addr, size;

	if (!strcmp(argv[0], "open") && argc == 2)
		return mdt_open(argv[1]);
	if (!strcmp(argv[0], "close") && argc == 1) {
		mdt_release();
		return 0;
	}
	if (!mdt.nchan) {
		mdt_out("no channels: open first\n");
		return -ENODEV;
	}
	if (!strcmp(argv[0], "peer") && argc == 3 &&
	    !kstrtou64(argv[1], 0, &addr) && !kstrtou64(argv[2], 0, &size)) {
		mdt.peer = addr;
		mdt.peer_size = size;
		mdt_out("peer 0x%llx %llu\n", addr, size);
		return 0;
	}
	if ((!strcmp(argv[0], "fill") || !strcmp(argv[0], "check")) &&
	    argc == 3 && !kstrtou64(argv[1], 0, &seed) &&
	    !kstrtoul(argv[2], 0, &len) && len <= MDT_BUF_SIZE &&
	    IS_ALIGNED(len, 8)) {
		if (argv[0][0] == 'c')
			return mdt_check(seed, len);
		mdt_fill(seed, len);
		mdt_out("filled %lu bytes\n", len);
		return 0;
	}
	if (!strcmp(argv[0], "copy") && argc >= 2)
		return mdt_cmd_copy(argv, argc);
	if (!strcmp(argv[0], "bench") && argc >= 2)
		return mdt_cmd_bench(argv, argc);
	if (!strcmp(argv[0], "longwait") && argc == 2 &&
	    !kstrtouint(argv[1], 0, &secs))
		return mdt_cmd_longwait(secs);
	if (argc >= 2)
		return mdt_run_chan(argv, argc);
	return -EINVAL;
}

static ssize_t mdt_write(struct file *file, const char __user *ubuf,
			 size_t count, loff_t *ppos)
{
	char *buf, *p, *argv[6];
	int argc = 0, rc;

	if (count > 256)
		return -EINVAL;
	buf = memdup_user_nul(ubuf, count);
	if (IS_ERR(buf))
		return PTR_ERR(buf);
	p = strim(buf);
	while (p && *p && argc < ARRAY_SIZE(argv))
		argv[argc++] = strsep(&p, " \t");

	mutex_lock(&mdt.lock);
	mdt.out_len = 0;
	mdt.out[0] = 0;
	rc = argc ? mdt_run(argv, argc) : -EINVAL;
	if (rc == -EINVAL && !mdt.out_len)
		mdt_out("bad command\n");
	if (rc)
		mdt_out("error %d\n", rc);
	mutex_unlock(&mdt.lock);
	kfree(buf);
	return rc ? rc : count;
}

static ssize_t mdt_read(struct file *file, char __user *ubuf, size_t count,
			loff_t *ppos)
{
	ssize_t rc;

	mutex_lock(&mdt.lock);
	rc = simple_read_from_buffer(ubuf, count, ppos, mdt.out, mdt.out_len);
	mutex_unlock(&mdt.lock);
	return rc;
}

static const struct file_operations mdt_fops = {
	.owner = THIS_MODULE,
	.write = mdt_write,
	.read = mdt_read,
	.llseek = default_llseek,
};

static int __init mdt_init(void)
{
	mutex_init(&mdt.lock);
	mdt.dbg = debugfs_create_dir("mic_dma_test", NULL);
	debugfs_create_file("ctl", 0600, mdt.dbg, NULL, &mdt_fops);
	return 0;
}

static void __exit mdt_exit(void)
{
	debugfs_remove_recursive(mdt.dbg);
	mutex_lock(&mdt.lock);
	mdt_release();
	mutex_unlock(&mdt.lock);
}

module_init(mdt_init);
module_exit(mdt_exit);

MODULE_DESCRIPTION("micemu: test driver for the x100 DMA channels (test only)");
MODULE_LICENSE("GPL");
