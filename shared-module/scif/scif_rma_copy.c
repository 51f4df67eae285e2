// SPDX-License-Identifier: GPL-2.0
/*
 * micemu SCIF: scif_readfrom, scif_writeto, scif_vreadfrom, scif_vwriteto
 * (facts §7.8, §5.1).
 *
 * A transfer walks both ranges at once. The local side is a run of our
 * registered windows, or the pages of a caller's buffer, pinned for the
 * duration; the remote side is a run of the peer's windows, i.e. a list
 * of peer addresses, one per page.
 *
 * CPU path: the peer's pages are reached through the link's ioremap (the
 * host: BAR0 aperture; a card: its SMPT window), one mapping per run of
 * physically contiguous peer pages, and copied with memcpy_toio/fromio.
 *
 * DMA path: memcpy descriptors on the link's DMA channels (round robin)
 * with card-physical addresses on both ends: our page's address from
 * map_local (host: SMPT window; card: physical), the peer's from its
 * window. The engine needs 64-byte aligned source, destination and
 * length (facts §5.1), so the unaligned head and tail of each piece, and
 * pieces whose ends are not co-aligned, go by CPU; so do transfers below
 * SCIF_RMA_DMA_MIN, SCIF_RMA_USECPU ones, the loopback node, and links
 * without channels. Upstream likewise used the CPU for loopback on the
 * host and for the sub-cache-line head and tail, and bounced non
 * co-aligned data through a buffer.
 *
 * Every transfer completes before the call returns (SCIF_RMA_SYNC is
 * always honoured; fences then only have to wait for transfers still in
 * other threads). SCIF_RMA_ORDERED: the destination's last cache line is
 * copied by CPU after everything else is in place. SCIF_RMA_USECACHE is
 * accepted and has no effect (no registration cache).
 */
#define pr_fmt(fmt) "scif: " fmt

#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/dmaengine.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "scif_main.h"

/* Largest peer range mapped at once on the CPU path. */
#define SCIF_RMA_MAP_MAX	BIT(20)
/* Caller buffers of v* calls are pinned this many pages at a time. */
#define SCIF_RMA_PIN_PAGES	1024
/* Kick the DMA channels every this many descriptors. */
#define SCIF_RMA_DMA_BATCH	64

/* Bytes moved by each path, for debugfs scif/rma (tests check the path). */
static atomic64_t scif_rma_cpu_bytes = ATOMIC64_INIT(0);
static atomic64_t scif_rma_dma_bytes = ATOMIC64_INIT(0);
/* Fence signals stored by DMA status descriptors and by CPU. */
static atomic64_t scif_rma_sig_dma = ATOMIC64_INIT(0);
static atomic64_t scif_rma_sig_cpu = ATOMIC64_INIT(0);

/**
 * struct scif_xfer - one transfer in progress
 * @ep: endpoint
 * @dev: its node
 * @to_remote: direction: local -> remote (writeto) or back (readfrom)
 * @dma: the DMA path may be used
 * @lwin: local side: current window (registered ranges), or NULL
 * @loff: offset of byte 0 in our registered space
 * @pages: local side: pinned buffer pages, or NULL
 * @paddr: card-physical address of each of @pages (DMA path only)
 * @poff: offset of byte 0 in @pages[0]
 * @kbuf: local side: a kernel buffer (CPU path only), or NULL
 * @rwin: remote side: current window
 * @roff: offset of byte 0 in the peer's registered space
 * @rhead: the peer's window list
 * @lhead: our window list
 * @last: per DMA channel, the last cookie submitted (0: none)
 * @queued: descriptors submitted since the channels were kicked
 */
struct scif_xfer {
	struct scif_endpt *ep;
	struct scif_dev *dev;
	bool to_remote;
	bool dma;
	struct scif_window *lwin;
	s64 loff;
	struct page **pages;
	dma_addr_t *paddr;
	size_t poff;
	void *kbuf;
	struct scif_window *rwin;
	s64 roff;
	struct list_head *rhead;
	struct list_head *lhead;
	dma_cookie_t last[ARRAY_SIZE(((struct scif_hw_dev *)0)->dma_ch)];
	unsigned int queued;
};

static size_t scif_wlen(struct scif_window *w)
{
	return w->nr_pages << PAGE_SHIFT;
}

/**
 * scif_win_range() - check a range of a registered space
 * @head: window list
 * @off: start offset
 * @len: bytes, at least 1
 * @prot: permissions needed
 * @first: filled with the window holding @off
 *
 * Called with the endpoint's rma.sem held.
 *
 * Return: 0, -ENXIO (not all registered, or windows not contiguous),
 * -EACCES (a window lacks @prot).
 */
static int scif_win_range(struct list_head *head, s64 off, size_t len,
			  int prot, struct scif_window **first)
{
	struct scif_window *w;
	s64 cur = off, end;
	int err = 0;

	if (off < 0 || off >= SCIF_RMA_MAX_OFFSET ||
	    len > SCIF_RMA_MAX_OFFSET - off)
		return -ENXIO;
	end = off + len;
	*first = NULL;
	list_for_each_entry(w, head, list) {
		if (w->offset + (s64)scif_wlen(w) <= cur)
			continue;
		if (w->offset > cur || w->state != SCIF_WIN_READY)
			return -ENXIO;
		if ((w->prot & prot) != prot)
			err = -EACCES;
		if (!*first)
			*first = w;
		cur = w->offset + scif_wlen(w);
		if (cur >= end)
			return err;
	}
	return -ENXIO;
}

/* The window holding @off, from the cursor @w onwards (range checked). */
static struct scif_window *scif_win_at(struct scif_window *w, s64 off)
{
	while (off >= w->offset + (s64)scif_wlen(w))
		w = list_next_entry(w, list);
	return w;
}

/* Local byte @pos: kernel address, and bytes up to its page end in *@n. */
static void *scif_local_va(struct scif_xfer *x, size_t pos, size_t *n)
{
	size_t off;

	if (x->kbuf) {
		*n = SIZE_MAX;
		return x->kbuf + pos;
	}
	if (x->pages) {
		off = x->poff + pos;
		*n = PAGE_SIZE - offset_in_page(off);
		return page_address(x->pages[off >> PAGE_SHIFT]) +
		       offset_in_page(off);
	}
	x->lwin = scif_win_at(x->lwin, x->loff + pos);
	off = x->loff + pos - x->lwin->offset;
	*n = PAGE_SIZE - offset_in_page(off);
	return page_address(x->lwin->pages[off >> PAGE_SHIFT]) +
	       offset_in_page(off);
}

/*
 * Our own engine's address for a page we mapped for the peer: the same,
 * except on a P2P link, where the peer got physical + base_addr (its way
 * into our memory) and our engine wants the physical address.
 */
static u64 scif_own_addr(struct scif_xfer *x, u64 peer_addr)
{
	return x->dev->p2p ? peer_addr - x->dev->base_addr : peer_addr;
}

/* Local byte @pos: card-physical address (DMA path). */
static u64 scif_local_addr(struct scif_xfer *x, size_t pos, size_t *n)
{
	size_t off;

	if (x->pages) {
		off = x->poff + pos;
		*n = PAGE_SIZE - offset_in_page(off);
		return scif_own_addr(x, x->paddr[off >> PAGE_SHIFT]) +
		       offset_in_page(off);
	}
	x->lwin = scif_win_at(x->lwin, x->loff + pos);
	off = x->loff + pos - x->lwin->offset;
	*n = PAGE_SIZE - offset_in_page(off);
	return scif_own_addr(x, x->lwin->addr[off >> PAGE_SHIFT]) +
	       offset_in_page(off);
}

/*
 * Remote byte @pos: the peer address, and in *@n how many bytes from it
 * are contiguous (at most @want, within one window).
 */
static u64 scif_remote_addr(struct scif_xfer *x, size_t pos, size_t want,
			    size_t *n)
{
	struct scif_window *w;
	u64 off, idx, addr;
	size_t len;

	w = scif_win_at(x->rwin, x->roff + pos);
	x->rwin = w;
	off = x->roff + pos - w->offset;
	idx = off >> PAGE_SHIFT;
	addr = w->addr[idx] + offset_in_page(off);
	len = PAGE_SIZE - offset_in_page(off);
	while (len < want && idx + 1 < w->nr_pages &&
	       w->addr[idx + 1] == w->addr[idx] + PAGE_SIZE) {
		idx++;
		len += PAGE_SIZE;
	}
	*n = min(len, want);
	return addr;
}

/* Stop as soon as the connection or the node goes away. */
static int scif_xfer_alive(struct scif_xfer *x)
{
	if (READ_ONCE(x->ep->state) != SCIFEP_CONNECTED ||
	    !scif_link_up(x->dev))
		return scif_rma_verify_ep(x->ep) ?: -ECONNRESET;
	return 0;
}

static int scif_copy_cpu(struct scif_xfer *x, size_t start, size_t end)
{
	size_t pos = start, rn, q, n;
	void __iomem *map;
	u64 raddr;
	void *va;
	int err;

	while (pos < end) {
		err = scif_xfer_alive(x);
		if (err)
			return err;
		raddr = scif_remote_addr(x, pos, min(end - pos, SCIF_RMA_MAP_MAX),
					 &rn);
		map = scif_ioremap(x->dev, raddr, rn);
		if (!map)
			return -EIO;
		for (q = 0; q < rn; q += n) {
			va = scif_local_va(x, pos + q, &n);
			n = min(n, rn - q);
			if (x->to_remote)
				memcpy_toio(map + q, va, n);
			else
				memcpy_fromio(va, map + q, n);
		}
		scif_iounmap(x->dev, map, rn);
		atomic64_add(rn, &scif_rma_cpu_bytes);
		pos += rn;
		cond_resched();
	}
	return 0;
}

/* Queue one aligned DMA memcpy; false if the channel refused it. */
static bool scif_dma_queue(struct scif_xfer *x, u64 dst, u64 src, size_t len)
{
	struct scif_hw_dev *sdev = x->dev->sdev;
	struct dma_async_tx_descriptor *tx;
	unsigned int i = x->ep->rma.dma_next++ % sdev->num_dma_ch;
	struct dma_chan *chan = sdev->dma_ch[i];
	dma_cookie_t cookie;

	tx = dmaengine_prep_dma_memcpy(chan, dst, src, len, 0);
	if (!tx)
		return false;
	cookie = dmaengine_submit(tx);
	if (dma_submit_error(cookie))
		return false;
	x->last[i] = cookie;
	atomic64_add(len, &scif_rma_dma_bytes);
	if (++x->queued >= SCIF_RMA_DMA_BATCH) {
		for (i = 0; i < sdev->num_dma_ch; i++)
			dma_async_issue_pending(sdev->dma_ch[i]);
		x->queued = 0;
	}
	return true;
}

/* Wait for everything queued; SCIF_RMA_SYNC polls, as upstream did. */
static int scif_dma_drain(struct scif_xfer *x)
{
	struct scif_hw_dev *sdev = x->dev->sdev;
	int i, err = 0;

	for (i = 0; i < sdev->num_dma_ch; i++) {
		if (!x->last[i])
			continue;
		dma_async_issue_pending(sdev->dma_ch[i]);
		if (dma_sync_wait(sdev->dma_ch[i], x->last[i]) != DMA_COMPLETE)
			err = -EIO;
		x->last[i] = 0;
	}
	x->queued = 0;
	return err;
}

/* One piece, contiguous on both sides: DMA its aligned middle. */
static int scif_copy_piece(struct scif_xfer *x, size_t pos, size_t n,
			   u64 laddr, u64 raddr)
{
	u64 src = x->to_remote ? laddr : raddr;
	u64 dst = x->to_remote ? raddr : laddr;
	size_t head, body;
	int err;

	if ((src ^ dst) & (SCIF_RMA_DMA_ALIGN - 1) || n < SCIF_RMA_DMA_ALIGN)
		return scif_copy_cpu(x, pos, pos + n);
	head = -src & (SCIF_RMA_DMA_ALIGN - 1);
	body = (n - head) & ~(size_t)(SCIF_RMA_DMA_ALIGN - 1);
	if (head) {
		err = scif_copy_cpu(x, pos, pos + head);
		if (err)
			return err;
	}
	if (body && !scif_dma_queue(x, dst + head, src + head, body)) {
		err = scif_copy_cpu(x, pos + head, pos + head + body);
		if (err)
			return err;
	}
	if (head + body < n)
		return scif_copy_cpu(x, pos + head + body, pos + n);
	return 0;
}

static int scif_copy_dma(struct scif_xfer *x, size_t start, size_t end)
{
	size_t pos = start, ln, rn, n;
	u64 laddr, raddr;
	int err = 0;

	while (pos < end && !err) {
		err = scif_xfer_alive(x);
		if (err)
			break;
		laddr = scif_local_addr(x, pos, &ln);
		raddr = scif_remote_addr(x, pos, end - pos, &rn);
		n = min(ln, rn);
		err = scif_copy_piece(x, pos, n, laddr, raddr);
		pos += n;
	}
	if (scif_dma_drain(x) && !err)
		err = -EIO;
	return err;
}

static int scif_copy_range(struct scif_xfer *x, size_t start, size_t end)
{
	if (start >= end)
		return 0;
	if (x->dma)
		return scif_copy_dma(x, start, end);
	return scif_copy_cpu(x, start, end);
}

/*
 * Copy @len bytes; with @tail, the last @tail bytes (the destination's
 * last cache line) only once all the others are in place.
 */
static int scif_xfer_run(struct scif_xfer *x, size_t len, size_t tail)
{
	int err;

	err = scif_copy_range(x, 0, len - tail);
	if (err || !tail)
		return err;
	/* Everything before the last line is visible before the line. */
	wmb();
	return scif_copy_cpu(x, len - tail, len);
}

static bool scif_rma_use_dma(struct scif_dev *dev, size_t len, int flags)
{
	return !(flags & SCIF_RMA_USECPU) && !dev->self && dev->sdev &&
	       dev->sdev->num_dma_ch > 0 && len >= SCIF_RMA_DMA_MIN;
}

/* The destination's last cache line (or partial line) within @len. */
static size_t scif_ordered_tail(u64 dst_end, size_t len, int flags)
{
	if (!(flags & SCIF_RMA_ORDERED))
		return 0;
	return min_t(size_t, len, ((dst_end - 1) & (L1_CACHE_BYTES - 1)) + 1);
}

/**
 * scif_rma_op_start() - account a transfer for fences
 * @ep: endpoint
 * @op: the transfer's record, until scif_rma_op_end()
 */
void scif_rma_op_start(struct scif_endpt *ep, struct scif_rma_op *op)
{
	spin_lock(&ep->rma.lock);
	ep->rma.seq = (ep->rma.seq + 1) & ~SCIF_REMOTE_FENCE;
	op->seq = ep->rma.seq;
	list_add_tail(&op->list, &ep->rma.inflight);
	spin_unlock(&ep->rma.lock);
}

/**
 * scif_rma_op_end() - a transfer is complete
 * @ep: endpoint
 * @op: its record
 */
void scif_rma_op_end(struct scif_endpt *ep, struct scif_rma_op *op)
{
	spin_lock(&ep->rma.lock);
	list_del(&op->list);
	spin_unlock(&ep->rma.lock);
	wake_up(&ep->wq);
}

/* Registered space to registered space; the caller holds dev->ep_sem. */
static int scif_rma_win(struct scif_xfer *x, size_t len, int flags)
{
	struct scif_ep_rma *rma = &x->ep->rma;
	int lprot = x->to_remote ? SCIF_PROT_READ : SCIF_PROT_WRITE;
	int rprot = x->to_remote ? SCIF_PROT_WRITE : SCIF_PROT_READ;
	u64 dst_end = (x->to_remote ? x->roff : x->loff) + len;
	int err, rerr;

	down_read(&rma->sem);
	err = scif_win_range(&rma->windows, x->loff, len, lprot, &x->lwin);
	rerr = scif_win_range(&rma->rwindows, x->roff, len, rprot, &x->rwin);
	/* A missing range is reported before a protection error. */
	if (err == -ENXIO || rerr == -ENXIO)
		err = -ENXIO;
	else
		err = err ?: rerr;
	if (!err) {
		x->dma = scif_rma_use_dma(x->dev, len, flags);
		err = scif_xfer_run(x, len, scif_ordered_tail(dst_end, len,
							      flags));
	}
	up_read(&rma->sem);
	return err;
}

/* Pin (and for DMA, map) @n pages of the caller's buffer at @uaddr. */
static int scif_pin_buf(struct scif_xfer *x, unsigned long uaddr, int n,
			bool write)
{
	int got, i, err;

	got = pin_user_pages_fast(uaddr, n, write ? FOLL_WRITE : 0, x->pages);
	if (got != n) {
		if (got > 0)
			unpin_user_pages(x->pages, got);
		return got < 0 ? got : -EFAULT;
	}
	if (!x->dma)
		return 0;
	for (i = 0; i < n; i++) {
		err = scif_map_local(x->dev, page_address(x->pages[i]),
				     PAGE_SIZE, &x->paddr[i]);
		if (err) {
			while (i--)
				scif_unmap_local(x->dev, x->paddr[i], PAGE_SIZE);
			unpin_user_pages(x->pages, n);
			return err;
		}
	}
	return 0;
}

static void scif_unpin_buf(struct scif_xfer *x, int n, bool dirty)
{
	int i;

	if (x->dma) {
		for (i = 0; i < n; i++)
			scif_unmap_local(x->dev, x->paddr[i], PAGE_SIZE);
	}
	unpin_user_pages_dirty_lock(x->pages, n, dirty);
}

/* One chunk of a v* call against the peer's windows. */
static int scif_rma_chunk(struct scif_xfer *x, size_t len, size_t tail)
{
	struct scif_ep_rma *rma = &x->ep->rma;
	int rprot = x->to_remote ? SCIF_PROT_WRITE : SCIF_PROT_READ;
	int err;

	down_read(&rma->sem);
	err = scif_win_range(&rma->rwindows, x->roff, len, rprot, &x->rwin);
	if (!err)
		err = scif_xfer_run(x, len, tail);
	up_read(&rma->sem);
	return err;
}

/* A caller's buffer to or from the peer's windows. */
static int scif_rma_buf(struct scif_xfer *x, void *addr, size_t len,
			int flags)
{
	unsigned long uaddr = (unsigned long)addr;
	u64 dst_end = (x->to_remote ? x->roff : uaddr) + len;
	bool dma = scif_rma_use_dma(x->dev, len, flags);
	s64 roff = x->roff;
	size_t done = 0, n, tail;
	int npages, err = 0;

	if (!access_ok(addr, len)) {
		/* A kernel caller's own buffer: CPU only. */
		x->kbuf = addr;
		return scif_rma_chunk(x, len, scif_ordered_tail(dst_end, len,
								flags));
	}
	x->pages = kvmalloc_array(SCIF_RMA_PIN_PAGES, sizeof(*x->pages),
				  GFP_KERNEL);
	x->paddr = kvmalloc_array(SCIF_RMA_PIN_PAGES, sizeof(*x->paddr),
				  GFP_KERNEL);
	if (!x->pages || !x->paddr) {
		err = -ENOMEM;
		goto out;
	}
	while (done < len && !err) {
		x->poff = offset_in_page(uaddr + done);
		n = min_t(size_t, len - done,
			  SCIF_RMA_PIN_PAGES * PAGE_SIZE - x->poff);
		npages = DIV_ROUND_UP(x->poff + n, PAGE_SIZE);
		x->dma = dma && n >= SCIF_RMA_DMA_MIN;
		err = scif_pin_buf(x, (uaddr + done) & PAGE_MASK, npages,
				   !x->to_remote);
		if (err)
			break;
		tail = done + n == len ? scif_ordered_tail(dst_end, n, flags) : 0;
		x->roff = roff + done;
		err = scif_rma_chunk(x, n, tail);
		scif_unpin_buf(x, npages, !x->to_remote);
		done += n;
	}
out:
	kvfree(x->pages);
	kvfree(x->paddr);
	return err;
}

static int scif_rma(scif_epd_t epd, off_t loff, void *addr, size_t len,
		    off_t roff, int flags, bool to_remote)
{
	struct scif_endpt *ep = epd;
	struct scif_xfer x = {
		.ep = ep,
		.to_remote = to_remote,
		.loff = loff,
		.roff = roff,
	};
	struct scif_rma_op op;
	int err;

	might_sleep();
	if (flags & ~(SCIF_RMA_USECPU | SCIF_RMA_USECACHE | SCIF_RMA_SYNC |
		      SCIF_RMA_ORDERED))
		return -EINVAL;
	err = scif_rma_verify_ep(ep);
	if (err)
		return err;
	if (!len)
		return -EINVAL;
	x.dev = ep->remote_dev;

	down_read(&x.dev->ep_sem);
	if (!scif_link_up(x.dev)) {
		err = -ENODEV;
		goto unlock;
	}
	scif_rma_op_start(ep, &op);
	if (addr)
		err = scif_rma_buf(&x, addr, len, flags);
	else
		err = scif_rma_win(&x, len, flags);
	scif_rma_op_end(ep, &op);
unlock:
	up_read(&x.dev->ep_sem);
	return err;
}

int scif_readfrom(scif_epd_t epd, off_t loffset, size_t len, off_t roffset,
		  int rma_flags)
{
	return scif_rma(epd, loffset, NULL, len, roffset, rma_flags, false);
}
EXPORT_SYMBOL_GPL(scif_readfrom);

int scif_writeto(scif_epd_t epd, off_t loffset, size_t len, off_t roffset,
		 int rma_flags)
{
	return scif_rma(epd, loffset, NULL, len, roffset, rma_flags, true);
}
EXPORT_SYMBOL_GPL(scif_writeto);

int scif_vreadfrom(scif_epd_t epd, void *addr, size_t len, off_t roffset,
		   int rma_flags)
{
	if (!addr)
		return -EINVAL;
	return scif_rma(epd, 0, addr, len, roffset, rma_flags, false);
}
EXPORT_SYMBOL_GPL(scif_vreadfrom);

int scif_vwriteto(scif_epd_t epd, void *addr, size_t len, off_t roffset,
		  int rma_flags)
{
	if (!addr)
		return -EINVAL;
	return scif_rma(epd, 0, addr, len, roffset, rma_flags, true);
}
EXPORT_SYMBOL_GPL(scif_vwriteto);

static int scif_rma_stats_show(struct seq_file *s, void *unused)
{
	struct scif_dev *dev;
	int i;

	seq_printf(s, "cpu_bytes %lld\ndma_bytes %lld\n",
		   (long long)atomic64_read(&scif_rma_cpu_bytes),
		   (long long)atomic64_read(&scif_rma_dma_bytes));
	seq_printf(s, "signal_dma %lld\nsignal_cpu %lld\n",
		   (long long)atomic64_read(&scif_rma_sig_dma),
		   (long long)atomic64_read(&scif_rma_sig_cpu));
	for (i = 0; i < SCIF_MAX_NODES; i++) {
		dev = &scif_devs[i];
		mutex_lock(&dev->lock);
		if (dev->sdev)
			seq_printf(s, "node %d dma_channels %d\n", i,
				   dev->sdev->num_dma_ch);
		mutex_unlock(&dev->lock);
	}
	scif_rma_debugfs_windows(s);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(scif_rma_stats);

/**
 * scif_rma_debugfs_init() - create scif/rma: bytes copied by CPU and DMA,
 *	fence signals stored by DMA and CPU, and every window
 * @dir: the scif debugfs directory
 */
void scif_rma_debugfs_init(struct dentry *dir)
{
	debugfs_create_file("rma", 0400, dir, NULL, &scif_rma_stats_fops);
}

/**
 * scif_rma_poke() - store a 64-bit value in a registered space (fences)
 * @ep: connected endpoint
 * @remote: the peer's space (else ours)
 * @off: offset
 * @val: value
 *
 * Return: 0, -ENXIO, -EACCES (window not writable) or an endpoint error.
 */
int scif_rma_poke(struct scif_endpt *ep, bool remote, s64 off, u64 val)
{
	struct scif_xfer x = { .ep = ep, .to_remote = true, .roff = off };
	struct scif_window *w;
	size_t n, pos;
	void *va;
	int err;

	x.dev = ep->remote_dev;
	if (remote) {
		x.kbuf = &val;
		down_read(&x.dev->ep_sem);
		err = scif_link_up(x.dev) ? scif_rma_chunk(&x, sizeof(val), 0)
					  : -ENODEV;
		up_read(&x.dev->ep_sem);
		return err;
	}
	down_read(&ep->rma.sem);
	err = scif_win_range(&ep->rma.windows, off, sizeof(val),
			     SCIF_PROT_WRITE, &w);
	x.lwin = w;
	x.loff = off;
	for (pos = 0; !err && pos < sizeof(val); pos += n) {
		va = scif_local_va(&x, pos, &n);
		n = min(n, sizeof(val) - pos);
		memcpy(va, (u8 *)&val + pos, n);
	}
	up_read(&ep->rma.sem);
	return err;
}

/* Store @val at card-physical @addr with a DMA status descriptor. */
static int scif_signal_dma(struct scif_endpt *ep, struct scif_dev *dev,
			   u64 addr, u64 val)
{
	struct scif_hw_dev *sdev = dev->sdev;
	struct dma_chan *chan = sdev->dma_ch[ep->rma.dma_next++ %
					     sdev->num_dma_ch];
	struct dma_async_tx_descriptor *tx;
	dma_cookie_t cookie;

	if (!chan->device->device_prep_dma_imm_data)
		return -EOPNOTSUPP;
	tx = chan->device->device_prep_dma_imm_data(chan, addr, val, 0);
	if (!tx)
		return -EOPNOTSUPP;
	cookie = dmaengine_submit(tx);
	if (dma_submit_error(cookie))
		return -EOPNOTSUPP;
	if (dma_sync_wait(chan, cookie) != DMA_COMPLETE)
		return -EIO;
	atomic64_inc(&scif_rma_sig_dma);
	return 0;
}

/**
 * scif_rma_signal() - a fence signal: store a 64-bit value in a window
 * @ep: connected endpoint
 * @remote: the peer's space (else ours)
 * @off: offset, 4-byte aligned
 * @val: value
 *
 * With DMA channels on the link the value goes in a status descriptor
 * (immediate data), as upstream does on an x100; by CPU otherwise, and
 * when the 8 bytes are not naturally aligned.
 *
 * Return: 0, -ENXIO, -EACCES (window not writable), -EIO, or an
 * endpoint error.
 */
int scif_rma_signal(struct scif_endpt *ep, bool remote, s64 off, u64 val)
{
	struct scif_dev *dev = ep->remote_dev;
	struct scif_window *w;
	u64 addr;
	int err = -EOPNOTSUPP;

	down_read(&dev->ep_sem);
	if (!scif_link_up(dev)) {
		up_read(&dev->ep_sem);
		return -ENODEV;
	}
	if (!dev->self && dev->sdev && dev->sdev->num_dma_ch > 0 &&
	    IS_ALIGNED(off, sizeof(val))) {
		down_read(&ep->rma.sem);
		err = scif_win_range(remote ? &ep->rma.rwindows :
					      &ep->rma.windows,
				     off, sizeof(val), SCIF_PROT_WRITE, &w);
		if (!err) {
			addr = w->addr[(off - w->offset) >> PAGE_SHIFT] +
			       offset_in_page(off);
			/* Our page as our engine sees it (not the P2P view). */
			if (!remote && dev->p2p)
				addr -= dev->base_addr;
			err = scif_signal_dma(ep, dev, addr, val);
		}
		up_read(&ep->rma.sem);
	}
	up_read(&dev->ep_sem);
	if (err != -EOPNOTSUPP)
		return err;
	err = scif_rma_poke(ep, remote, off, val);
	if (!err)
		atomic64_inc(&scif_rma_sig_cpu);
	return err;
}
