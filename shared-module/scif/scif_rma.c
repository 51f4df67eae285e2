// SPDX-License-Identifier: GPL-2.0
/*
 * micemu SCIF: our registered windows (facts §7.8) on upstream's wire
 * protocol: scif_register(), scif_unregister(), scif_pin_pages() and
 * scif_register_pinned_pages(), and closing an endpoint's windows. The
 * peer's side of the same protocol is in scif_rma_peer.c, handles and
 * request/answer matching in scif_rma_handle.c.
 *
 * Registering (scif_rma_wire.h has the memory layout): ALLOC_REQ with the
 * page count; the peer allocates room and answers ALLOC_GNT (or
 * ALLOC_REJ) with a handle and the room's address; we write our pages as
 * contiguous chunks into it across the link, then send REGISTER; the
 * peer copies, checks and answers REGISTER_ACK or REGISTER_NACK. As the
 * receiver we do the same in reverse. A registering node that gives up
 * after ALLOC_GNT sends FREE_VIRT so the room is freed.
 *
 * Unregistering: UNREGISTER names the receiver's handle; the receiver
 * waits until none of its transfers uses the window, zaps it from user
 * mappings and answers UNREGISTER_ACK, after which the pages are
 * unpinned. If pages of the window are lent out with scif_get_pages() the
 * receiver answers UNREGISTER_NACK instead and sends MUNMAP once the last
 * of them is returned; only then are they unpinned.
 *
 * Words that upstream fills with kernel pointers (its windows, its
 * allocation handles, its fence requests) carry handles here: an index
 * into one table plus 32 random bits, accepted only from the link they
 * were handed to and only for the kind of object they were made for.
 * The peer's own words are opaque values we echo. Every count, offset and
 * address read from the peer's messages or written by it into our memory
 * is checked before use, and what the peer wrote is copied before it is
 * checked. A peer that never answers costs the caller -EAGAIN after the
 * node-alive timeout (upstream waits as long as the node lives); a window
 * whose fate the peer never told us stays pinned ("lost") until the
 * endpoint closes, or, if the peer still does not answer then, until the
 * node goes away: pages the peer may still reach are never freed.
 */
#define pr_fmt(fmt) "scif: " fmt

#include <linux/io.h>
#include <linux/mm.h>
#include <linux/printk.h>
#include <linux/random.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/xarray.h>

#include "scif_main.h"
#include "scif_rma_wire.h"

/* ------------------------------------------------------------- endpoints */

/**
 * scif_rma_ep_init() - set up the RMA state of a new endpoint
 * @ep: endpoint
 */
void scif_rma_ep_init(struct scif_endpt *ep)
{
	struct scif_ep_rma *rma = &ep->rma;

	init_rwsem(&rma->sem);
	INIT_LIST_HEAD(&rma->windows);
	INIT_LIST_HEAD(&rma->rwindows);
	INIT_LIST_HEAD(&rma->lent);
	spin_lock_init(&rma->lock);
	INIT_LIST_HEAD(&rma->inflight);
}

/**
 * scif_rma_verify_ep() - may this endpoint do RMA now?
 * @ep: endpoint
 *
 * Return: 0, -ECONNRESET (the peer closed), -ENODEV (its node is gone),
 * -ENOTCONN.
 */
int scif_rma_verify_ep(struct scif_endpt *ep)
{
	enum scif_ep_state state = scif_ep_state(ep);
	struct scif_dev *dev = READ_ONCE(ep->remote_dev);

	if (state == SCIFEP_DISCONNECTED)
		return -ECONNRESET;
	if (state != SCIFEP_CONNECTED || !dev)
		return -ENOTCONN;
	if (!scif_link_up(dev))
		return -ENODEV;
	return 0;
}

/**
 * scif_rma_msg_ep() - the connected endpoint an RMA message names
 * @dev: link the message came on
 * @cookie: our endpoint cookie from the message
 *
 * Return: the endpoint with a reference, or NULL.
 */
struct scif_endpt *scif_rma_msg_ep(struct scif_dev *dev, u64 cookie)
{
	struct scif_endpt *ep = scif_ep_get(cookie);

	if (!ep)
		return NULL;
	if (READ_ONCE(ep->remote_dev) != dev ||
	    scif_ep_state(ep) != SCIFEP_CONNECTED) {
		scif_ep_put(ep);
		return NULL;
	}
	return ep;
}

/* -------------------------------------------------------- window helpers */

/* The window of @head that overlaps [off, off + len), or NULL. */
struct scif_window *scif_win_overlap(struct list_head *head, s64 off,
				     size_t len)
{
	struct scif_window *w;

	list_for_each_entry(w, head, list) {
		if (w->offset < off + (s64)len &&
		    off < w->offset + (s64)scif_win_len(w))
			return w;
	}
	return NULL;
}

/* Keep @head sorted by offset. */
void scif_win_insert(struct list_head *head, struct scif_window *new)
{
	struct scif_window *w;

	list_for_each_entry(w, head, list) {
		if (w->offset > new->offset)
			break;
	}
	list_add_tail(&new->list, &w->list);
}

/* Lowest free offset for @len bytes, or -ENOMEM. */
static s64 scif_win_find_gap(struct list_head *head, size_t len)
{
	struct scif_window *w;
	s64 off = 0;

	list_for_each_entry(w, head, list) {
		if (w->offset - off >= (s64)len)
			break;
		off = w->offset + scif_win_len(w);
	}
	if (off + (s64)len > SCIF_RMA_MAX_OFFSET)
		return -ENOMEM;
	return off;
}

/* Pin @n pages at @addr: user or kernel memory; *@user says which. */
static int scif_pages_pin(struct page **pages, u64 n, void *addr,
			  bool kernel, bool write, bool *user)
{
	unsigned long uaddr = (unsigned long)addr;
	u64 i;
	int got;

	*user = false;
	if (!kernel) {
		got = pin_user_pages_fast(uaddr, n,
					  FOLL_LONGTERM | (write ? FOLL_WRITE : 0),
					  pages);
		if (got == n) {
			*user = true;
			return 0;
		}
		if (got > 0)
			unpin_user_pages(pages, got);
		return got < 0 ? got : -EFAULT;
	}
	for (i = 0; i < n; i++) {
		void *va = addr + (i << PAGE_SHIFT);
		struct page *page = NULL;

		if (is_vmalloc_addr(va))
			page = vmalloc_to_page(va);
		else if (virt_addr_valid(va))
			page = virt_to_page(va);
		if (!page) {
			while (i--)
				put_page(pages[i]);
			return -EFAULT;
		}
		get_page(page);
		pages[i] = page;
	}
	return 0;
}

static void scif_pages_unpin(struct page **pages, u64 n, bool user,
			     bool dirty)
{
	u64 i;

	if (user) {
		unpin_user_pages_dirty_lock(pages, n, dirty);
		return;
	}
	for (i = 0; i < n; i++)
		put_page(pages[i]);
}

/* Withdraw the peer's access; the caller keeps the link's ops usable. */
void scif_win_unmap(struct scif_dev *dev, struct scif_window *w)
{
	u64 i;

	for (i = 0; i < w->mapped; i++)
		scif_unmap_local(dev, w->addr[i], PAGE_SIZE);
	w->mapped = 0;
}

/* Take a remote window's pages out of every user mapping (mmap). */
void scif_rwin_zap(struct scif_endpt *ep, struct scif_window *w)
{
	struct address_space *mapping = READ_ONCE(ep->rma.mapping);

	if (mapping && w)
		unmap_mapping_range(mapping, w->offset, scif_win_len(w), 1);
}

void scif_win_free(struct scif_window *w)
{
	if (!w)
		return;
	scif_handle_del(&w->h);
	if (w->pin)
		scif_unpin_pages(w->pin);
	else if (w->pages)
		scif_pages_unpin(w->pages, w->nr_pages, w->user,
				 w->prot & SCIF_PROT_WRITE);
	if (!w->pin)
		kvfree(w->pages);
	kvfree(w->addr);
	kfree(w);
}

/* Map every page for the peer. */
static int scif_win_map(struct scif_dev *dev, struct scif_window *w)
{
	dma_addr_t addr;
	u64 i;
	int err;

	for (i = 0; i < w->nr_pages; i++) {
		err = scif_map_local(dev, page_address(w->pages[i]), PAGE_SIZE,
				     &addr);
		if (err)
			return err;
		w->addr[i] = addr;
		w->mapped = i + 1;
	}
	return 0;
}

/* Reserve the offset and list the window (not usable until acknowledged). */
static int scif_win_place(struct scif_endpt *ep, struct scif_window *w,
			  off_t offset, int flags)
{
	struct scif_ep_rma *rma = &ep->rma;
	size_t len = scif_win_len(w);
	s64 off = offset;
	int err = 0;

	down_write(&rma->sem);
	if (rma->closed) {
		err = -ENOTCONN;
	} else if (flags & SCIF_MAP_FIXED) {
		if (scif_win_overlap(&rma->windows, off, len))
			err = -EADDRINUSE;
	} else {
		off = scif_win_find_gap(&rma->windows, len);
		if (off < 0)
			err = off;
	}
	if (!err) {
		w->offset = off;
		scif_win_insert(&rma->windows, w);
	}
	up_write(&rma->sem);
	return err;
}

static void scif_win_release(struct scif_endpt *ep, struct scif_dev *dev,
			     struct scif_window *w);

/* ------------------------------------------------------------ registering */

/* Our window as contiguous chunks: addresses and page counts. */
static u32 scif_win_chunks(struct scif_window *w, u64 *da, u64 *np)
{
	u32 n = 0;
	u64 i;

	for (i = 0; i < w->nr_pages; i++) {
		if (n && w->addr[i] == da[n - 1] + (np[n - 1] << PAGE_SHIFT)) {
			np[n - 1]++;
			continue;
		}
		da[n] = w->addr[i];
		np[n] = 1;
		n++;
	}
	return n;
}

static u64 scif_ioread64(const void __iomem *p)
{
	u64 v;

	memcpy_fromio(&v, p, sizeof(v));
	return v;
}

static void scif_iowrite(void __iomem *base, size_t off, const void *v,
			 size_t len)
{
	memcpy_toio(base + off, v, len);
}

/* Write one lookup table's pages: @vals[0 .. @n) in pages of 512. */
static int scif_win_write_table(struct scif_dev *dev, u64 table, u32 nl,
				const u64 *vals, u32 n)
{
	void __iomem *lk, *pg;
	u32 j, cnt;
	int err = 0;

	lk = scif_ioremap(dev, table, nl * sizeof(u64));
	if (!lk)
		return -EIO;
	for (j = 0; j < nl && !err; j++) {
		cnt = min_t(u32, SCIF_RMA_ADDRS_PER_PAGE,
			    n - j * SCIF_RMA_ADDRS_PER_PAGE);
		pg = scif_ioremap(dev, scif_ioread64(lk + j * sizeof(u64)),
				  cnt * sizeof(u64));
		if (!pg) {
			err = -EIO;
			break;
		}
		memcpy_toio(pg, vals + j * SCIF_RMA_ADDRS_PER_PAGE,
			    cnt * sizeof(u64));
		scif_iounmap(dev, pg, cnt * sizeof(u64));
	}
	scif_iounmap(dev, lk, nl * sizeof(u64));
	return err;
}

/* Fill the room the peer granted at @room with our window. */
static int scif_win_send_lists(struct scif_endpt *ep, struct scif_window *w,
			       u64 room)
{
	struct scif_dev *dev = ep->remote_dev;
	void __iomem *ww;
	u64 *da, *np, dl, nlk, v;
	u32 n, nl, v32;
	int err = -ENOMEM;

	da = kvmalloc_array(w->nr_pages, sizeof(*da), GFP_KERNEL);
	np = kvmalloc_array(w->nr_pages, sizeof(*np), GFP_KERNEL);
	if (!da || !np)
		goto out;
	n = scif_win_chunks(w, da, np);
	nl = DIV_ROUND_UP(n, SCIF_RMA_ADDRS_PER_PAGE);
	err = -EIO;
	ww = scif_ioremap(dev, room, sizeof(struct scif_window_wire));
	if (!ww)
		goto out;
	dl = scif_ioread64(ww + offsetof(struct scif_window_wire,
					 dma_addr_lookup));
	nlk = scif_ioread64(ww + offsetof(struct scif_window_wire,
					  num_pages_lookup));
	err = scif_win_write_table(dev, dl, nl, da, n);
	if (!err)
		err = scif_win_write_table(dev, nlk, nl, np, n);
	if (!err) {
		v = scif_handle_val(&w->h);
		scif_iowrite(ww, offsetof(struct scif_window_wire, peer_window),
			     &v, sizeof(v));
		v = w->offset;
		scif_iowrite(ww, offsetof(struct scif_window_wire, offset),
			     &v, sizeof(v));
		v32 = w->prot;
		scif_iowrite(ww, offsetof(struct scif_window_wire, prot),
			     &v32, sizeof(v32));
		scif_iowrite(ww, offsetof(struct scif_window_wire,
					  nr_contig_chunks), &n, sizeof(n));
		v = ep->remote_ep;
		scif_iowrite(ww, offsetof(struct scif_window_wire, ep),
			     &v, sizeof(v));
		/* All of it is in place before REGISTER goes out. */
		wmb();
	}
	scif_iounmap(dev, ww, sizeof(struct scif_window_wire));
out:
	kvfree(da);
	kvfree(np);
	return err;
}

/*
 * ALLOC_REQ, fill the room, REGISTER. Called with dev->ep_sem held for
 * reading and @w listed as pending; on return @w is ready, lost (still
 * listed) or unlisted (error).
 */
static int scif_register_on(struct scif_endpt *ep, struct scif_dev *dev,
			    struct scif_window *w)
{
	struct scifmsg msg = { .uop = SCIF_ALLOC_REQ };
	u64 ans[4];
	int r;

	msg.payload[0] = ep->remote_ep;
	msg.payload[1] = w->nr_pages;
	msg.payload[3] = SCIF_ALLOC_FOR_REGISTER;
	r = scif_rma_request(ep, &msg, 2, SCIF_ALLOC_GNT, SCIF_ALLOC_REJ, ans);
	if (r)
		return r == 1 ? -ENOMEM : r;
	w->peer_win = ans[0];

	r = scif_win_send_lists(ep, w, ans[1]);
	if (r) {
		pr_warn_ratelimited("node %u: granted room %#llx unusable\n",
				    dev->node, ans[1]);
		scif_free_virt_send(dev, w->peer_win, scif_handle_val(&w->h),
				    ep);
		return r;
	}

	memset(&msg, 0, sizeof(msg));
	msg.uop = SCIF_REGISTER;
	msg.payload[0] = ep->remote_ep;
	msg.payload[1] = w->peer_win;
	r = scif_rma_request(ep, &msg, 2, SCIF_REGISTER_ACK,
			     SCIF_REGISTER_NACK, NULL);
	if (r == 0) {
		down_write(&ep->rma.sem);
		w->state = SCIF_WIN_READY;
		up_write(&ep->rma.sem);
		return 0;
	}
	if (r == -EAGAIN) {
		/* The peer may or may not have the window: keep it pinned. */
		down_write(&ep->rma.sem);
		w->state = SCIF_WIN_LOST;
		up_write(&ep->rma.sem);
		return -EAGAIN;
	}
	return r == 1 ? -ENOTCONN : r;
}

/*
 * Register @w and return its offset; on failure @w is freed, or kept
 * pinned when the peer may have it (lost, or unregistered again because
 * the endpoint closed meanwhile).
 */
static off_t scif_register_window(struct scif_endpt *ep, struct scif_window *w,
				  off_t offset, int flags)
{
	struct scif_dev *dev = ep->remote_dev;
	off_t ret;
	int err;

	down_read(&dev->ep_sem);
	err = scif_link_up(dev) ? 0 : -ENODEV;
	if (!err)
		err = scif_handle_add(&w->h, SCIF_RMA_LWIN, dev);
	if (!err)
		err = scif_win_map(dev, w);
	if (!err)
		err = scif_win_place(ep, w, offset, flags);
	if (err) {
		scif_win_unmap(dev, w);
		up_read(&dev->ep_sem);
		scif_win_free(w);
		return err;
	}
	err = scif_register_on(ep, dev, w);
	ret = w->offset;
	down_write(&ep->rma.sem);
	if (!ep->rma.closed && (!err || w->state == SCIF_WIN_LOST)) {
		/* Listed: ready, or lost until unregistered or closed. */
		up_write(&ep->rma.sem);
		up_read(&dev->ep_sem);
		return err ?: ret;
	}
	/* Failed, or scif_close() ran meanwhile and left it to us. */
	list_del_init(&w->list);
	up_write(&ep->rma.sem);
	if (!err || w->state == SCIF_WIN_LOST) {
		scif_win_release(ep, dev, w);
		err = err ?: -ENOTCONN;
	} else {
		scif_win_unmap(dev, w);
		scif_win_free(w);
	}
	up_read(&dev->ep_sem);
	return err;
}

static int scif_register_check(size_t len, off_t offset, int flags)
{
	if (!len || !PAGE_ALIGNED(len))
		return -EINVAL;
	if ((flags & SCIF_MAP_FIXED) &&
	    (offset < 0 || !PAGE_ALIGNED(offset) ||
	     offset > SCIF_RMA_MAX_OFFSET - (s64)len))
		return -EINVAL;
	if (len >> PAGE_SHIFT > SCIF_RMA_MAX_PAGES)
		return -ENOMEM;
	return 0;
}

struct scif_window *scif_win_new(u64 nr_pages, int prot)
{
	struct scif_window *w = kzalloc(sizeof(*w), GFP_KERNEL);

	if (!w)
		return NULL;
	INIT_LIST_HEAD(&w->list);
	w->nr_pages = nr_pages;
	w->prot = prot;
	w->addr = kvcalloc(nr_pages, sizeof(*w->addr), GFP_KERNEL);
	if (!w->addr) {
		kfree(w);
		return NULL;
	}
	return w;
}

off_t scif_register(scif_epd_t epd, void *addr, size_t len, off_t offset,
		    int prot_flags, int map_flags)
{
	struct scif_endpt *ep = epd;
	struct scif_window *w;
	int err;

	might_sleep();
	if (prot_flags & ~(SCIF_PROT_READ | SCIF_PROT_WRITE) ||
	    map_flags & ~(SCIF_MAP_FIXED | SCIF_MAP_KERNEL) ||
	    !PAGE_ALIGNED(addr))
		return -EINVAL;
	err = scif_register_check(len, offset, map_flags);
	if (err)
		return err;
	err = scif_rma_verify_ep(ep);
	if (err)
		return err;

	w = scif_win_new(len >> PAGE_SHIFT, prot_flags);
	if (!w)
		return -ENOMEM;
	w->ep = ep;
	w->pages = kvcalloc(w->nr_pages, sizeof(*w->pages), GFP_KERNEL);
	if (!w->pages) {
		err = -ENOMEM;
		goto free;
	}
	err = scif_pages_pin(w->pages, w->nr_pages, addr,
			     map_flags & SCIF_MAP_KERNEL,
			     prot_flags & SCIF_PROT_WRITE, &w->user);
	if (err) {
		kvfree(w->pages);
		w->pages = NULL;
		goto free;
	}
	return scif_register_window(ep, w, offset, map_flags);
free:
	scif_win_free(w);
	return err;
}
EXPORT_SYMBOL_GPL(scif_register);

int scif_pin_pages(void *addr, size_t len, int prot_flags, int map_flags,
		   scif_pinned_pages_t *pages)
{
	struct scif_pinned_pages *pin;
	int err;

	might_sleep();
	if (!pages || prot_flags & ~(SCIF_PROT_READ | SCIF_PROT_WRITE) ||
	    map_flags & ~SCIF_MAP_KERNEL || !len || !PAGE_ALIGNED(len) ||
	    !PAGE_ALIGNED(addr))
		return -EINVAL;
	if (len >> PAGE_SHIFT > SCIF_RMA_MAX_PAGES)
		return -ENOMEM;
	pin = kzalloc(sizeof(*pin), GFP_KERNEL);
	if (!pin)
		return -ENOMEM;
	pin->nr_pages = len >> PAGE_SHIFT;
	pin->prot = prot_flags;
	pin->pages = kvcalloc(pin->nr_pages, sizeof(*pin->pages), GFP_KERNEL);
	if (!pin->pages) {
		kfree(pin);
		return -ENOMEM;
	}
	err = scif_pages_pin(pin->pages, pin->nr_pages, addr,
			     map_flags & SCIF_MAP_KERNEL,
			     prot_flags & SCIF_PROT_WRITE, &pin->user);
	if (err) {
		kvfree(pin->pages);
		kfree(pin);
		return err;
	}
	refcount_set(&pin->ref, 1);
	pin->magic = SCIF_PIN_MAGIC;
	*pages = pin;
	return 0;
}
EXPORT_SYMBOL_GPL(scif_pin_pages);

int scif_unpin_pages(scif_pinned_pages_t pin)
{
	if (!pin || pin->magic != SCIF_PIN_MAGIC)
		return -EINVAL;
	if (!refcount_dec_and_test(&pin->ref))
		return 0;
	pin->magic = 0;
	scif_pages_unpin(pin->pages, pin->nr_pages, pin->user,
			 pin->prot & SCIF_PROT_WRITE);
	kvfree(pin->pages);
	kfree(pin);
	return 0;
}
EXPORT_SYMBOL_GPL(scif_unpin_pages);

off_t scif_register_pinned_pages(scif_epd_t epd, scif_pinned_pages_t pin,
				 off_t offset, int map_flags)
{
	struct scif_endpt *ep = epd;
	struct scif_window *w;
	int err;

	might_sleep();
	if (!pin || pin->magic != SCIF_PIN_MAGIC ||
	    map_flags & ~SCIF_MAP_FIXED)
		return -EINVAL;
	err = scif_register_check(pin->nr_pages << PAGE_SHIFT, offset,
				  map_flags);
	if (err)
		return err;
	err = scif_rma_verify_ep(ep);
	if (err)
		return err;
	/* Pages unpinned by their owner cannot be registered any more. */
	if (!refcount_inc_not_zero(&pin->ref))
		return -EINVAL;
	w = scif_win_new(pin->nr_pages, pin->prot);
	if (!w) {
		scif_unpin_pages(pin);
		return -ENOMEM;
	}
	w->ep = ep;
	w->pin = pin;
	w->pages = pin->pages;
	w->user = pin->user;
	return scif_register_window(ep, w, offset, map_flags);
}
EXPORT_SYMBOL_GPL(scif_register_pinned_pages);

/* ---------------------------------------------------------- unregistering */

/* Move the windows inside [off, off + len) from the list to @out. */
static int scif_win_take(struct scif_ep_rma *rma, s64 off, size_t len,
			 struct list_head *out)
{
	struct scif_window *w, *tmp;
	s64 end = off + len;
	bool any = false;

	list_for_each_entry(w, &rma->windows, list) {
		s64 wend = w->offset + scif_win_len(w);

		if (wend <= off || w->offset >= end)
			continue;
		if (w->offset < off || wend > end ||
		    w->state == SCIF_WIN_PENDING)
			return -EINVAL;
		any = true;
	}
	if (!any)
		return -ENXIO;
	list_for_each_entry_safe(w, tmp, &rma->windows, list) {
		if (w->offset >= off && w->offset < end)
			list_move_tail(&w->list, out);
	}
	return 0;
}

/*
 * Tell the peer, then free, or keep as an orphan when the peer still
 * holds pages (UNREGISTER_NACK) or did not answer. The caller holds
 * dev->ep_sem for reading; @w is on no list.
 */
static void scif_win_release(struct scif_endpt *ep, struct scif_dev *dev,
			     struct scif_window *w)
{
	struct scifmsg msg = { .uop = SCIF_UNREGISTER };
	int r = -ENOTCONN;

	list_del_init(&w->list);
	if (!scif_rma_verify_ep(ep)) {
		msg.payload[0] = w->peer_win;
		r = scif_rma_request(ep, &msg, 1, SCIF_UNREGISTER_ACK,
				     SCIF_UNREGISTER_NACK, NULL);
	}
	if (r == 1 || r == -EAGAIN) {
		if (r == -EAGAIN)
			pr_warn_ratelimited("node %u: no answer to UNREGISTER, window kept pinned\n",
					    dev->node);
		scif_win_orphan(w, r == 1 ? SCIF_WIN_HELD : SCIF_WIN_LOST);
		return;
	}
	scif_win_unmap(dev, w);
	scif_win_free(w);
}

int scif_unregister(scif_epd_t epd, off_t offset, size_t len)
{
	struct scif_endpt *ep = epd;
	struct scif_window *w, *tmp;
	struct scif_dev *dev;
	LIST_HEAD(list);
	int err;

	might_sleep();
	if (offset < 0 || !PAGE_ALIGNED(offset) || !PAGE_ALIGNED(len))
		return -EINVAL;
	if (!len || offset >= SCIF_RMA_MAX_OFFSET)
		return -ENXIO;
	len = min_t(u64, len, SCIF_RMA_MAX_OFFSET - offset);
	err = scif_rma_verify_ep(ep);
	if (err && err != -ECONNRESET && err != -ENODEV)
		return err;
	dev = ep->remote_dev;

	down_read(&dev->ep_sem);
	down_write(&ep->rma.sem);
	err = scif_win_take(&ep->rma, offset, len, &list);
	up_write(&ep->rma.sem);
	list_for_each_entry_safe(w, tmp, &list, list)
		scif_win_release(ep, dev, w);
	up_read(&dev->ep_sem);
	return err;
}
EXPORT_SYMBOL_GPL(scif_unregister);

/* Tell the peer the last lent page of its window came back. */
void scif_munmap_send(struct scif_endpt *ep, struct scif_window *w)
{
	struct scifmsg msg = {
		.uop = SCIF_MUNMAP,
		.src = ep->port,
		.dst = ep->peer,
		.payload = { w->peer_win },
	};

	scif_nodeqp_send(ep->remote_dev, &msg);
}

/**
 * scif_rma_ep_unmap() - the endpoint's node is going away
 * @ep: endpoint; the caller holds its node's ep_sem for writing
 *
 * Our windows lose their peer mappings (the pages stay pinned until they
 * are unregistered or the endpoint closes); the peer's windows are
 * forgotten.
 */
void scif_rma_ep_unmap(struct scif_endpt *ep)
{
	struct scif_window *w, *tmp;
	struct scif_dev *dev = ep->remote_dev;
	LIST_HEAD(gone);

	down_write(&ep->rma.sem);
	list_for_each_entry(w, &ep->rma.windows, list)
		scif_win_unmap(dev, w);
	list_splice_init(&ep->rma.rwindows, &gone);
	list_splice_init(&ep->rma.lent, &gone);
	list_for_each_entry_safe(w, tmp, &gone, list) {
		list_del(&w->list);
		scif_rwin_zap(ep, w);
		scif_win_free(w);
	}
	up_write(&ep->rma.sem);
}

/**
 * scif_rma_ep_close() - free all windows of a closing endpoint
 * @ep: endpoint, still in its old state
 *
 * Our windows are unregistered with the peer while it is connected; those
 * the peer keeps (pages lent out, or no answer) become orphans. Remote
 * windows whose pages we lent out are handed back with MUNMAP.
 */
void scif_rma_ep_close(struct scif_endpt *ep)
{
	struct scif_dev *dev = ep->remote_dev;
	struct scif_window *w, *tmp;
	LIST_HEAD(local);
	LIST_HEAD(remote);
	LIST_HEAD(lent);

	down_write(&ep->rma.sem);
	ep->rma.closed = true;
	/* Windows still being registered are released by their registrar. */
	list_for_each_entry_safe(w, tmp, &ep->rma.windows, list) {
		if (w->state != SCIF_WIN_PENDING)
			list_move_tail(&w->list, &local);
	}
	list_splice_init(&ep->rma.rwindows, &remote);
	list_splice_init(&ep->rma.lent, &lent);
	up_write(&ep->rma.sem);

	if (list_empty(&local) && list_empty(&remote) && list_empty(&lent))
		return;
	down_read(&dev->ep_sem);
	list_for_each_entry_safe(w, tmp, &remote, list) {
		list_del(&w->list);
		scif_rwin_zap(ep, w);
		scif_win_free(w);
	}
	list_for_each_entry_safe(w, tmp, &lent, list) {
		list_del(&w->list);
		if (!scif_rma_verify_ep(ep))
			scif_munmap_send(ep, w);
		scif_win_free(w);
	}
	list_for_each_entry_safe(w, tmp, &local, list)
		scif_win_release(ep, dev, w);
	up_read(&dev->ep_sem);
}

