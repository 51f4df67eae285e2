// SPDX-License-Identifier: GPL-2.0
/*
 * micemu SCIF: registered windows (facts §7.8), scif_register() and
 * scif_unregister(), and the REGISTER/UNREGISTER messages.
 *
 * Registering a window: pin the pages, map each for the peer
 * (scif_map_local), put the page addresses into a descriptor
 * (struct scif_win_desc) in our memory, mapped for the peer too, and send
 * REGISTER with its address. The peer reads and checks the descriptor,
 * keeps a copy as a remote window and answers REGISTER_ACK; then the
 * descriptor is freed. Unregistering sends UNREGISTER; the peer drops its
 * copy once no transfer of its own uses it and answers UNREGISTER_ACK;
 * only then are our pages unmapped and unpinned. Upstream instead has the
 * peer allocate the remote window (ALLOC_REQ/ALLOC_GNT) and writes into it
 * across the link; one message fewer here, and the peer never lets us
 * write into its memory.
 *
 * Requests that wait for an answer (REGISTER, UNREGISTER, MARK, WAIT) go
 * one at a time per endpoint; the answer names the endpoint by its cookie
 * and echoes a request number, so a late answer to an abandoned request
 * is not taken for the current one.
 */
#define pr_fmt(fmt) "scif: " fmt

#include <linux/io.h>
#include <linux/mm.h>
#include <linux/printk.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "scif_main.h"

/* Request words: [2] = request number << 32 | argument (facts §7.4 uops). */
#define SCIF_REQ_ID(w)		((u32)((w) >> 32))
#define SCIF_REQ_ARG(w)		((u32)(w))

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
	spin_lock_init(&rma->lock);
	INIT_LIST_HEAD(&rma->inflight);
	mutex_init(&rma->fence_lock);
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

static bool scif_rma_reply_ready(struct scif_endpt *ep)
{
	bool done;

	spin_lock(&ep->rma.lock);
	done = ep->rma.reply.done;
	spin_unlock(&ep->rma.lock);
	return done || scif_rma_verify_ep(ep);
}

/**
 * scif_rma_request() - send a request to the peer and wait for the answer
 * @ep: connected endpoint
 * @msg: request; [0], [3] and the number in [2] are filled in here
 * @reply_uop: the positive answer's opcode (the negative one is +1)
 * @val: filled with the answer's value ([1]), may be NULL
 *
 * Waits at most the node-alive timeout.
 *
 * Return: 0 on a positive answer; the peer's errno (or -EAGAIN) on a
 * negative one; -EAGAIN without an answer; an endpoint error when the
 * connection went away.
 */
int scif_rma_request(struct scif_endpt *ep, struct scifmsg *msg,
		     u32 reply_uop, u64 *val)
{
	struct scif_ep_rma *rma = &ep->rma;
	static atomic_t next_id = ATOMIC_INIT(0);
	u32 id = atomic_inc_return(&next_id);
	int err;

	mutex_lock(&rma->fence_lock);
	spin_lock(&rma->lock);
	rma->reply.uop = reply_uop;
	rma->reply.id = id;
	rma->reply.done = false;
	spin_unlock(&rma->lock);

	msg->src = ep->port;
	msg->dst = ep->peer;
	msg->payload[0] = ep->remote_ep;
	msg->payload[2] = (u64)id << 32 | SCIF_REQ_ARG(msg->payload[2]);
	msg->payload[3] = ep->cookie;
	err = scif_nodeqp_send(ep->remote_dev, msg);
	if (!err)
		wait_event_timeout(ep->wq, scif_rma_reply_ready(ep),
				   scif_alive_timeout());

	spin_lock(&rma->lock);
	if (err) {
		/* not sent */
	} else if (rma->reply.done && rma->reply.ok) {
		if (val)
			*val = rma->reply.val;
	} else if (rma->reply.done) {
		err = (s64)rma->reply.val;
		if (err >= 0 || err < -MAX_ERRNO)
			err = -EAGAIN;
	} else {
		err = scif_rma_verify_ep(ep) ?: -EAGAIN;
	}
	rma->reply.uop = 0;
	spin_unlock(&rma->lock);
	mutex_unlock(&rma->fence_lock);
	return err;
}

/**
 * scif_rma_reply_msg() - an answer to one of our requests
 * @dev: link it came on
 * @msg: [0] our endpoint cookie, [1] value or -errno, [2] request number
 */
void scif_rma_reply_msg(struct scif_dev *dev, struct scifmsg *msg)
{
	struct scif_endpt *ep = scif_rma_msg_ep(dev, msg->payload[0]);
	struct scif_rma_reply *reply;
	bool hit = false;

	if (!ep)
		return;
	reply = &ep->rma.reply;
	spin_lock(&ep->rma.lock);
	if (reply->uop && !reply->done &&
	    (msg->uop == reply->uop || msg->uop == reply->uop + 1) &&
	    reply->id == msg->payload[2]) {
		reply->done = true;
		reply->ok = msg->uop == reply->uop;
		reply->val = msg->payload[1];
		hit = true;
	}
	spin_unlock(&ep->rma.lock);
	if (hit)
		wake_up(&ep->wq);
	else
		pr_warn_ratelimited("node %u: unexpected RMA answer %u\n",
				    dev->node, msg->uop);
	scif_ep_put(ep);
}

/**
 * scif_rma_answer() - answer a request of the peer
 * @dev: link the request came on
 * @req: the request
 * @uop: answer opcode
 * @val: value or -errno for [1]
 */
void scif_rma_answer(struct scif_dev *dev, struct scifmsg *req, u32 uop,
		     u64 val)
{
	struct scifmsg msg = {
		.uop = uop,
		.src = req->dst,
		.dst = req->src,
		.payload = { req->payload[3], val, SCIF_REQ_ID(req->payload[2]) },
	};

	scif_nodeqp_send(dev, &msg);
}

static size_t scif_win_len(struct scif_window *w)
{
	return w->nr_pages << PAGE_SHIFT;
}

/* The window of @head that overlaps [off, off + len), or NULL. */
static struct scif_window *scif_win_overlap(struct list_head *head, s64 off,
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
static void scif_win_insert(struct list_head *head, struct scif_window *new)
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

/* Pin the pages of [addr, addr + n pages): user or kernel memory. */
static int scif_win_pin(struct scif_window *w, void *addr, bool kernel,
			bool write)
{
	unsigned long uaddr = (unsigned long)addr;
	u64 i;
	int got;

	w->pages = kvcalloc(w->nr_pages, sizeof(*w->pages), GFP_KERNEL);
	if (!w->pages)
		return -ENOMEM;
	if (!kernel) {
		got = pin_user_pages_fast(uaddr, w->nr_pages,
					  FOLL_LONGTERM | (write ? FOLL_WRITE : 0),
					  w->pages);
		if (got == w->nr_pages) {
			w->user = true;
			return 0;
		}
		if (got > 0)
			unpin_user_pages(w->pages, got);
		return got < 0 ? got : -EFAULT;
	}
	for (i = 0; i < w->nr_pages; i++) {
		void *va = addr + (i << PAGE_SHIFT);
		struct page *page = NULL;

		if (is_vmalloc_addr(va))
			page = vmalloc_to_page(va);
		else if (virt_addr_valid(va))
			page = virt_to_page(va);
		if (!page) {
			while (i--)
				put_page(w->pages[i]);
			return -EFAULT;
		}
		get_page(page);
		w->pages[i] = page;
	}
	return 0;
}

static void scif_win_unpin(struct scif_window *w)
{
	u64 i;

	if (!w->pages)
		return;
	if (w->user) {
		unpin_user_pages_dirty_lock(w->pages, w->nr_pages,
					    w->prot & SCIF_PROT_WRITE);
	} else {
		for (i = 0; i < w->nr_pages; i++)
			put_page(w->pages[i]);
	}
}

/* Withdraw the peer's access; the caller keeps the link's ops usable. */
static void scif_win_unmap(struct scif_dev *dev, struct scif_window *w)
{
	u64 i;

	for (i = 0; i < w->mapped; i++)
		scif_unmap_local(dev, w->addr[i], PAGE_SIZE);
	w->mapped = 0;
	if (w->desc_addr) {
		scif_unmap_local(dev, w->desc_addr, w->desc_len);
		w->desc_addr = 0;
	}
}

/* Take a remote window's pages out of every user mapping (mmap). */
static void scif_rwin_zap(struct scif_endpt *ep, struct scif_window *w)
{
	struct address_space *mapping = READ_ONCE(ep->rma.mapping);

	if (mapping && w)
		unmap_mapping_range(mapping, w->offset, scif_win_len(w), 1);
}

static void scif_win_free(struct scif_window *w)
{
	if (!w)
		return;
	scif_win_unpin(w);
	kvfree(w->pages);
	kvfree(w->addr);
	kfree(w->desc);
	kfree(w);
}

/* Map every page and the descriptor for the peer. */
static int scif_win_map(struct scif_dev *dev, struct scif_window *w)
{
	struct scif_win_desc *d;
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
	w->desc_len = struct_size(d, addr, w->nr_pages);
	d = kzalloc(w->desc_len, GFP_KERNEL | __GFP_NOWARN);
	if (!d)
		return -ENOMEM;
	w->desc = d;
	d->magic = cpu_to_le64(SCIF_WIN_MAGIC);
	d->nr_pages = cpu_to_le64(w->nr_pages);
	d->prot = cpu_to_le32(w->prot);
	for (i = 0; i < w->nr_pages; i++)
		d->addr[i] = cpu_to_le64(w->addr[i]);
	return scif_map_local(dev, d, w->desc_len, &w->desc_addr);
}

static int scif_register_check(void *addr, size_t len, off_t offset,
			       int prot, int flags)
{
	if (prot & ~(SCIF_PROT_READ | SCIF_PROT_WRITE))
		return -EINVAL;
	if (flags & ~(SCIF_MAP_FIXED | SCIF_MAP_KERNEL))
		return -EINVAL;
	if (!len || !PAGE_ALIGNED(len) || !PAGE_ALIGNED(addr))
		return -EINVAL;
	if ((flags & SCIF_MAP_FIXED) &&
	    (offset < 0 || !PAGE_ALIGNED(offset) ||
	     offset > SCIF_RMA_MAX_OFFSET - (s64)len))
		return -EINVAL;
	if (len >> PAGE_SHIFT > SCIF_RMA_MAX_PAGES)
		return -ENOMEM;
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
	if (flags & SCIF_MAP_FIXED) {
		if (scif_win_overlap(&rma->windows, off, len))
			err = -EADDRINUSE;
	} else {
		off = scif_win_find_gap(&rma->windows, len);
		if (off < 0)
			err = off;
	}
	if (!err) {
		w->offset = off;
		w->desc->offset = cpu_to_le64(off);
		scif_win_insert(&rma->windows, w);
	}
	up_write(&rma->sem);
	return err;
}

/* Called with dev->ep_sem held for reading. */
static int scif_register_on(struct scif_endpt *ep, struct scif_dev *dev,
			    struct scif_window *w, off_t offset, int flags)
{
	struct scifmsg msg = { .uop = SCIF_REGISTER };
	int err;

	if (!scif_link_up(dev))
		return -ENODEV;
	err = scif_win_map(dev, w);
	if (err)
		return err;
	err = scif_win_place(ep, w, offset, flags);
	if (err)
		return err;

	msg.payload[1] = w->desc_addr;
	msg.payload[2] = w->nr_pages;
	err = scif_rma_request(ep, &msg, SCIF_REGISTER_ACK, NULL);

	down_write(&ep->rma.sem);
	if (err)
		list_del(&w->list);
	else
		w->state = 1;
	/* The peer has its copy (or gave up): the descriptor can go. */
	scif_unmap_local(dev, w->desc_addr, w->desc_len);
	w->desc_addr = 0;
	kfree(w->desc);
	w->desc = NULL;
	up_write(&ep->rma.sem);
	return err;
}

off_t scif_register(scif_epd_t epd, void *addr, size_t len, off_t offset,
		    int prot_flags, int map_flags)
{
	struct scif_endpt *ep = epd;
	struct scif_window *w;
	struct scif_dev *dev;
	int err;

	might_sleep();
	err = scif_register_check(addr, len, offset, prot_flags, map_flags);
	if (err)
		return err;
	err = scif_rma_verify_ep(ep);
	if (err)
		return err;
	dev = ep->remote_dev;

	w = kzalloc(sizeof(*w), GFP_KERNEL);
	if (!w)
		return -ENOMEM;
	w->nr_pages = len >> PAGE_SHIFT;
	w->prot = prot_flags;
	w->addr = kvcalloc(w->nr_pages, sizeof(*w->addr), GFP_KERNEL);
	if (!w->addr) {
		err = -ENOMEM;
		goto free;
	}
	err = scif_win_pin(w, addr, map_flags & SCIF_MAP_KERNEL,
			   prot_flags & SCIF_PROT_WRITE);
	if (err) {
		kvfree(w->pages);
		w->pages = NULL;
		goto free;
	}

	down_read(&dev->ep_sem);
	err = scif_register_on(ep, dev, w, offset, map_flags);
	if (err)
		scif_win_unmap(dev, w);
	up_read(&dev->ep_sem);
	if (!err)
		return w->offset;
free:
	scif_win_free(w);
	return err;
}
EXPORT_SYMBOL_GPL(scif_register);

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
		if (w->offset < off || wend > end || w->state != 1)
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

/* Tell the peer, then free; the caller holds dev->ep_sem for reading. */
static void scif_win_release(struct scif_endpt *ep, struct scif_dev *dev,
			     struct scif_window *w, bool tell)
{
	struct scifmsg msg = { .uop = SCIF_UNREGISTER };

	if (tell && !scif_rma_verify_ep(ep)) {
		msg.payload[1] = w->offset;
		msg.payload[2] = w->nr_pages;
		if (scif_rma_request(ep, &msg, SCIF_UNREGISTER_ACK, NULL))
			pr_debug("window %#llx: no UNREGISTER_ACK\n",
				 w->offset);
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
	list_for_each_entry_safe(w, tmp, &list, list) {
		list_del(&w->list);
		scif_win_release(ep, dev, w, true);
	}
	up_read(&dev->ep_sem);
	return err;
}
EXPORT_SYMBOL_GPL(scif_unregister);

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

	down_write(&ep->rma.sem);
	list_for_each_entry(w, &ep->rma.windows, list)
		scif_win_unmap(dev, w);
	list_for_each_entry_safe(w, tmp, &ep->rma.rwindows, list) {
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
 * Our windows are unregistered with the peer while it is connected.
 */
void scif_rma_ep_close(struct scif_endpt *ep)
{
	struct scif_dev *dev = ep->remote_dev;
	struct scif_window *w, *tmp;
	LIST_HEAD(local);
	LIST_HEAD(remote);

	down_write(&ep->rma.sem);
	ep->rma.closed = true;
	list_splice_init(&ep->rma.windows, &local);
	list_splice_init(&ep->rma.rwindows, &remote);
	up_write(&ep->rma.sem);

	list_for_each_entry_safe(w, tmp, &remote, list)
		scif_win_free(w);
	if (list_empty(&local))
		return;
	down_read(&dev->ep_sem);
	list_for_each_entry_safe(w, tmp, &local, list)
		scif_win_release(ep, dev, w, true);
	up_read(&dev->ep_sem);
}

/* Read and check the peer's descriptor; returns a remote window. */
static struct scif_window *scif_rwin_read(struct scif_dev *dev, u64 addr,
					  u32 n, int *err)
{
	struct scif_win_desc __iomem *d;
	struct scif_window *w;
	size_t len;
	u64 i;

	*err = -EINVAL;
	if (!n || n > SCIF_RMA_MAX_PAGES)
		return NULL;
	len = struct_size(d, addr, n);
	d = scif_ioremap(dev, addr, len);
	if (!d) {
		*err = -EIO;
		return NULL;
	}
	w = kzalloc(sizeof(*w), GFP_KERNEL);
	if (!w)
		goto nomem;
	w->addr = kvmalloc_array(n, sizeof(*w->addr), GFP_KERNEL);
	if (!w->addr)
		goto nomem;
	w->offset = readq(&d->offset);
	w->nr_pages = readq(&d->nr_pages);
	w->prot = readl(&d->prot);
	memcpy_fromio(w->addr, d->addr, n * sizeof(*w->addr));
	if (readq(&d->magic) != SCIF_WIN_MAGIC || w->nr_pages != n ||
	    w->offset < 0 || !PAGE_ALIGNED(w->offset) ||
	    w->offset > SCIF_RMA_MAX_OFFSET - (s64)scif_win_len(w) ||
	    (w->prot & ~(SCIF_PROT_READ | SCIF_PROT_WRITE)))
		goto bad;
	for (i = 0; i < n; i++) {
		if (!PAGE_ALIGNED(w->addr[i]) || w->addr[i] + PAGE_SIZE < w->addr[i])
			goto bad;
	}
	scif_iounmap(dev, d, len);
	w->state = 1;
	return w;
nomem:
	*err = -ENOMEM;
bad:
	scif_iounmap(dev, d, len);
	if (*err == -EINVAL)
		pr_warn_ratelimited("node %u: bad window descriptor at %#llx\n",
				    dev->node, addr);
	scif_win_free(w);
	return NULL;
}

/**
 * scif_register_msg() - REGISTER: the peer registered a window
 * @dev: link it came on
 * @msg: [0] our endpoint cookie, [1] descriptor address, [2] request
 *	number and page count, [3] the peer's endpoint cookie
 */
void scif_register_msg(struct scif_dev *dev, struct scifmsg *msg)
{
	struct scif_endpt *ep = scif_rma_msg_ep(dev, msg->payload[0]);
	struct scif_window *w = NULL;
	int err = -ENOTCONN;

	if (!ep || ep->remote_ep != msg->payload[3])
		goto answer;
	w = scif_rwin_read(dev, msg->payload[1], SCIF_REQ_ARG(msg->payload[2]),
			   &err);
	if (!w)
		goto answer;
	down_write(&ep->rma.sem);
	if (ep->rma.closed) {
		err = -ENOTCONN;
	} else if (scif_win_overlap(&ep->rma.rwindows, w->offset,
				    scif_win_len(w))) {
		err = -EADDRINUSE;
	} else {
		scif_win_insert(&ep->rma.rwindows, w);
		w = NULL;
		err = 0;
	}
	up_write(&ep->rma.sem);
answer:
	scif_win_free(w);
	if (ep)
		scif_ep_put(ep);
	scif_rma_answer(dev, msg, err ? SCIF_REGISTER_NACK : SCIF_REGISTER_ACK,
			err);
}

/**
 * scif_unregister_msg() - UNREGISTER: the peer removes a window
 * @dev: link it came on
 * @msg: [0] our endpoint cookie, [1] window offset, [2] request number
 *	and page count, [3] the peer's endpoint cookie
 *
 * Taking the window lists for writing waits for our transfers that use
 * the window; after the answer the peer unpins its pages.
 */
void scif_unregister_msg(struct scif_dev *dev, struct scifmsg *msg)
{
	struct scif_endpt *ep = scif_rma_msg_ep(dev, msg->payload[0]);
	struct scif_window *w, *found = NULL;
	int err = -ENXIO;

	if (ep && ep->remote_ep == msg->payload[3]) {
		down_write(&ep->rma.sem);
		list_for_each_entry(w, &ep->rma.rwindows, list) {
			if (w->offset == (s64)msg->payload[1] &&
			    w->nr_pages == SCIF_REQ_ARG(msg->payload[2])) {
				list_del(&w->list);
				found = w;
				err = 0;
				break;
			}
		}
		up_write(&ep->rma.sem);
		/* The peer unpins once answered: no user mapping may remain. */
		scif_rwin_zap(ep, found);
		scif_win_free(found);
	}
	if (ep)
		scif_ep_put(ep);
	scif_rma_answer(dev, msg,
			err ? SCIF_UNREGISTER_NACK : SCIF_UNREGISTER_ACK, err);
}
