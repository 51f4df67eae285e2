// SPDX-License-Identifier: GPL-2.0
/*
 * micemu SCIF: the receiving side of RMA registration (facts §7.8):
 * rooms for the peer's windows (ALLOC_REQ, FREE_VIRT), REGISTER and
 * UNREGISTER from the peer, MUNMAP, orphan windows, scif_get_pages() and
 * scif_put_pages(), and what a node leaves behind when it goes away.
 *
 * Everything the peer wrote into a room is copied out before it is
 * checked; the peer names rooms and windows only by the handles we gave
 * it. Limits keep a flooding peer from pinning our memory: at most
 * SCIF_RMA_MAX_ALLOCS rooms and SCIF_RMA_MAX_ALLOC_PAGES room pages per
 * node.
 */
#define pr_fmt(fmt) "scif: " fmt

#include <linux/io.h>
#include <linux/mm.h>
#include <linux/printk.h>
#include <linux/slab.h>
#include <linux/xarray.h>

#include "scif_main.h"
#include "scif_rma_wire.h"

/* Pending allocations and orphan windows, and their per-node counters. */
static DEFINE_MUTEX(scif_rma_lock);
static LIST_HEAD(scif_rma_orphans);
static unsigned int scif_rma_nallocs[SCIF_MAX_NODES];
static unsigned int scif_rma_nalloc_pages[SCIF_MAX_NODES];
/* All pending allocations of one node together stay below 32 MiB. */
#define SCIF_RMA_MAX_ALLOC_PAGES	8192

/*
 * Keep a window the peer may still reach: pinned and mapped until MUNMAP
 * for it arrives or the node goes away.
 */
void scif_win_orphan(struct scif_window *w, int state)
{
	mutex_lock(&scif_rma_lock);
	xa_lock(&scif_rma_xa);
	w->ep = NULL;
	w->state = state;
	xa_unlock(&scif_rma_xa);
	list_add_tail(&w->list, &scif_rma_orphans);
	mutex_unlock(&scif_rma_lock);
}

/* ---------------------------------------------- the receiving node's side */

static void scif_alloc_free(struct scif_rma_alloc *a)
{
	unsigned int i;

	if (!a)
		return;
	for (i = 0; i < a->mapped; i++)
		scif_unmap_local(a->h.dev, a->addr[i], PAGE_SIZE);
	for (i = 0; i < a->nbufs; i++)
		free_page((unsigned long)a->buf[i]);
	kfree(a->buf);
	kfree(a->addr);
	kfree(a);
}

/* Room for a peer window of @n pages, mapped for the peer of @dev. */
static struct scif_rma_alloc *scif_alloc_new(struct scif_dev *dev, u64 n)
{
	struct scif_window_wire *ww;
	struct scif_rma_alloc *a;
	u64 *dl, *nlk;
	unsigned int i;

	a = kzalloc(sizeof(*a), GFP_KERNEL);
	if (!a)
		return NULL;
	a->h.dev = dev;
	a->nr_pages = n;
	a->nr_lookup = DIV_ROUND_UP(n, SCIF_RMA_ADDRS_PER_PAGE);
	a->nbufs = 3 + 2 * a->nr_lookup;
	a->buf = kcalloc(a->nbufs, sizeof(*a->buf), GFP_KERNEL);
	a->addr = kcalloc(a->nbufs, sizeof(*a->addr), GFP_KERNEL);
	if (!a->buf || !a->addr)
		goto fail;
	for (i = 0; i < a->nbufs; i++) {
		a->buf[i] = (void *)get_zeroed_page(GFP_KERNEL);
		if (!a->buf[i])
			goto fail;
	}
	for (i = 0; i < a->nbufs; i++) {
		if (scif_map_local(dev, a->buf[i], PAGE_SIZE, &a->addr[i]))
			goto fail;
		a->mapped = i + 1;
	}
	dl = a->buf[1];
	nlk = a->buf[2];
	for (i = 0; i < a->nr_lookup; i++) {
		dl[i] = a->addr[3 + i];
		nlk[i] = a->addr[3 + a->nr_lookup + i];
	}
	ww = a->buf[0];
	ww->nr_pages = n;
	ww->dma_addr_lookup = a->addr[1];
	ww->num_pages_lookup = a->addr[2];
	ww->nr_lookup = a->nr_lookup;
	ww->mapped_offset = a->addr[0];
	if (scif_handle_add(&a->h, SCIF_RMA_ALLOC, dev))
		goto fail;
	return a;
fail:
	scif_alloc_free(a);
	return NULL;
}

/* Take pending allocation @val of @dev off the table; NULL if none. */
static struct scif_rma_alloc *scif_alloc_claim(struct scif_dev *dev, u64 val)
{
	struct scif_rma_handle *h;
	struct scif_rma_alloc *a = NULL;

	mutex_lock(&scif_rma_lock);
	xa_lock(&scif_rma_xa);
	h = scif_handle_find(val, SCIF_RMA_ALLOC, dev);
	if (h) {
		/* a->h.id stays: the registered window takes the value over. */
		a = container_of(h, struct scif_rma_alloc, h);
		__xa_erase(&scif_rma_xa, h->id);
	}
	xa_unlock(&scif_rma_xa);
	if (a) {
		scif_rma_nallocs[dev->node]--;
		scif_rma_nalloc_pages[dev->node] -= a->nbufs;
	}
	mutex_unlock(&scif_rma_lock);
	return a;
}

/* ALLOC_REQ: [1] page count; answered ALLOC_GNT [0] handle, [1] address. */
void scif_alloc_req_msg(struct scif_dev *dev, struct scifmsg *msg)
{
	u64 n = msg->payload[1];
	struct scif_rma_alloc *a = NULL;
	unsigned int pages;

	if (!n || n > SCIF_RMA_MAX_PAGES) {
		pr_warn_ratelimited("node %u: ALLOC_REQ for %llu pages refused\n",
				    dev->node, n);
		goto rej;
	}
	pages = 3 + 2 * DIV_ROUND_UP(n, SCIF_RMA_ADDRS_PER_PAGE);
	down_read(&dev->ep_sem);
	if (!scif_link_up(dev)) {
		up_read(&dev->ep_sem);
		return;
	}
	mutex_lock(&scif_rma_lock);
	if (scif_rma_nallocs[dev->node] < SCIF_RMA_MAX_ALLOCS &&
	    scif_rma_nalloc_pages[dev->node] + pages <=
	    SCIF_RMA_MAX_ALLOC_PAGES) {
		a = scif_alloc_new(dev, n);
		if (a) {
			scif_rma_nallocs[dev->node]++;
			scif_rma_nalloc_pages[dev->node] += a->nbufs;
		}
	} else {
		pr_warn_ratelimited("node %u: too many windows being registered, ALLOC_REQ refused\n",
				    dev->node);
	}
	mutex_unlock(&scif_rma_lock);
	up_read(&dev->ep_sem);
	if (!a)
		goto rej;
	msg->payload[0] = scif_handle_val(&a->h);
	msg->payload[1] = a->addr[0];
	scif_rma_send_answer(dev, msg, SCIF_ALLOC_GNT);
	return;
rej:
	scif_rma_send_answer(dev, msg, SCIF_ALLOC_REJ);
}

/* FREE_VIRT: [1] our room; the peer gave up registering. */
void scif_free_virt_msg(struct scif_dev *dev, struct scifmsg *msg)
{
	struct scif_rma_alloc *a;

	down_read(&dev->ep_sem);
	a = scif_alloc_claim(dev, msg->payload[1]);
	if (!a)
		pr_warn_ratelimited("node %u: FREE_VIRT for no allocation, dropped\n",
				    dev->node);
	scif_alloc_free(a);
	up_read(&dev->ep_sem);
}

static u64 scif_alloc_word(struct scif_rma_alloc *a, unsigned int first,
			   u32 idx)
{
	u64 *pg = a->buf[first + idx / SCIF_RMA_ADDRS_PER_PAGE];

	return READ_ONCE(pg[idx % SCIF_RMA_ADDRS_PER_PAGE]);
}

/* What the peer wrote into room @a, copied and checked; or NULL. */
static struct scif_window *scif_rwin_build(struct scif_endpt *ep,
					   struct scif_rma_alloc *a)
{
	struct scif_window_wire *ww = a->buf[0];
	struct scif_window *w;
	u64 off, da, np, p = 0, k;
	u32 chunks, prot, c;

	chunks = READ_ONCE(ww->nr_contig_chunks);
	prot = READ_ONCE(ww->prot);
	off = READ_ONCE(ww->offset);
	if (!chunks || chunks > a->nr_pages ||
	    prot & ~(SCIF_PROT_READ | SCIF_PROT_WRITE) ||
	    !PAGE_ALIGNED(off) ||
	    off > SCIF_RMA_MAX_OFFSET - (a->nr_pages << PAGE_SHIFT) ||
	    READ_ONCE(ww->ep) != ep->cookie)
		return NULL;
	w = scif_win_new(a->nr_pages, prot);
	if (!w)
		return NULL;
	w->ep = ep;
	w->offset = off;
	w->peer_win = READ_ONCE(ww->peer_window);
	for (c = 0; c < chunks; c++) {
		da = scif_alloc_word(a, 3, c);
		np = scif_alloc_word(a, 3 + a->nr_lookup, c);
		if (!np || np > a->nr_pages - p || !PAGE_ALIGNED(da) ||
		    da + (np << PAGE_SHIFT) < da)
			goto bad;
		for (k = 0; k < np; k++)
			w->addr[p++] = da + (k << PAGE_SHIFT);
	}
	if (p != a->nr_pages)
		goto bad;
	w->state = SCIF_WIN_READY;
	return w;
bad:
	scif_win_free(w);
	return NULL;
}

/* REGISTER: [0] our endpoint, [1] our room, [2] the peer's request. */
void scif_register_msg(struct scif_dev *dev, struct scifmsg *msg)
{
	struct scif_endpt *ep = scif_rma_msg_ep(dev, msg->payload[0]);
	struct scif_window *w = NULL;
	struct scif_rma_alloc *a;
	const char *why = "no such endpoint";
	bool ok = false;

	down_read(&dev->ep_sem);
	a = scif_alloc_claim(dev, msg->payload[1]);
	if (!a)
		why = "no such allocation";
	if (a && ep) {
		why = "bad window description";
		w = scif_rwin_build(ep, a);
	}
	if (w && !scif_handle_adopt(&w->h, &a->h, SCIF_RMA_RWIN)) {
		down_write(&ep->rma.sem);
		why = "offset in use";
		if (ep->rma.closed) {
			why = "endpoint closing";
		} else if (!scif_win_overlap(&ep->rma.rwindows, w->offset,
					     scif_win_len(w))) {
			scif_win_insert(&ep->rma.rwindows, w);
			ok = true;
		}
		up_write(&ep->rma.sem);
	}
	if (!ok) {
		pr_warn_ratelimited("node %u: REGISTER refused: %s\n",
				    dev->node, why);
		scif_win_free(w);
	}
	scif_rma_send_answer(dev, msg, ok ? SCIF_REGISTER_ACK :
				       SCIF_REGISTER_NACK);
	/* The window is copied: the room goes. */
	scif_alloc_free(a);
	up_read(&dev->ep_sem);
	if (ep)
		scif_ep_put(ep);
}

/*
 * The remote window @val of @dev with a reference on its endpoint and the
 * endpoint's rma.sem held for writing; NULL if there is none.
 */
static struct scif_window *scif_rwin_get(struct scif_dev *dev, u64 val)
{
	struct scif_rma_handle *h;
	struct scif_window *w = NULL;
	struct scif_endpt *ep = NULL;

	xa_lock(&scif_rma_xa);
	h = scif_handle_find(val, SCIF_RMA_RWIN, dev);
	if (h) {
		w = container_of(h, struct scif_window, h);
		ep = w->ep;
		if (!kref_get_unless_zero(&ep->ref))
			ep = NULL;
	}
	xa_unlock(&scif_rma_xa);
	if (!ep)
		return NULL;
	down_write(&ep->rma.sem);
	xa_lock(&scif_rma_xa);
	/* Still there: it cannot have been freed, ep->rma.sem is held. */
	if (scif_handle_find(val, SCIF_RMA_RWIN, dev) != h)
		w = NULL;
	xa_unlock(&scif_rma_xa);
	if (!w) {
		up_write(&ep->rma.sem);
		scif_ep_put(ep);
	}
	return w;
}

static void scif_rwin_put(struct scif_window *w)
{
	struct scif_endpt *ep = w->ep;

	up_write(&ep->rma.sem);
	scif_ep_put(ep);
}

/* UNREGISTER: [0] our handle for the window, [1] the peer's request. */
void scif_unregister_msg(struct scif_dev *dev, struct scifmsg *msg)
{
	struct scif_window *w;
	struct scif_endpt *ep;
	u32 uop = SCIF_UNREGISTER_ACK;

	w = scif_rwin_get(dev, msg->payload[0]);
	if (!w) {
		/*
		 * Nothing to remove: as upstream, that is a success. Both ends
		 * closing at once get here normally (our close already freed
		 * the peer's windows).
		 */
		pr_debug("node %u: UNREGISTER for no window\n", dev->node);
		msg->payload[0] = 0;
		scif_rma_send_answer(dev, msg, uop);
		return;
	}
	ep = w->ep;
	msg->payload[0] = ep->remote_ep;
	if (w->unreg) {
		uop = SCIF_UNREGISTER_NACK;
	} else if (w->gp_refs) {
		/* Pages are lent out: MUNMAP follows when they are back. */
		w->unreg = true;
		list_move_tail(&w->list, &ep->rma.lent);
		uop = SCIF_UNREGISTER_NACK;
	} else {
		list_del_init(&w->list);
		scif_handle_del(&w->h);
		/* The peer unpins once answered: no user mapping may remain. */
		scif_rwin_zap(ep, w);
	}
	kref_get(&ep->ref);
	scif_rwin_put(w);
	if (uop == SCIF_UNREGISTER_ACK)
		scif_win_free(w);
	scif_rma_send_answer(dev, msg, uop);
	scif_ep_put(ep);
}

/* MUNMAP: [0] our window; the peer returned the last page it held. */
void scif_munmap_msg(struct scif_dev *dev, struct scifmsg *msg)
{
	struct scif_rma_handle *h;
	struct scif_window *w = NULL;

	down_read(&dev->ep_sem);
	mutex_lock(&scif_rma_lock);
	xa_lock(&scif_rma_xa);
	h = scif_handle_find(msg->payload[0], SCIF_RMA_LWIN, dev);
	if (h && !container_of(h, struct scif_window, h)->ep) {
		w = container_of(h, struct scif_window, h);
		__xa_erase(&scif_rma_xa, h->id);
		h->id = 0;
		list_del_init(&w->list);
	}
	xa_unlock(&scif_rma_xa);
	mutex_unlock(&scif_rma_lock);
	if (w) {
		scif_win_unmap(dev, w);
		scif_win_free(w);
	} else {
		pr_warn_ratelimited("node %u: MUNMAP for no unregistered window, dropped\n",
				    dev->node);
	}
	up_read(&dev->ep_sem);
}

/**
 * scif_rma_node_down() - free what only the node's peer could release
 * @dev: node; the caller holds its ep_sem for writing
 *
 * Rooms the peer never registered and orphan windows it never released.
 */
void scif_rma_node_down(struct scif_dev *dev)
{
	struct scif_rma_handle *h;
	struct scif_rma_alloc *a, *atmp;
	struct scif_window *w, *wtmp;
	unsigned long id;
	LIST_HEAD(allocs);
	LIST_HEAD(wins);

	mutex_lock(&scif_rma_lock);
	xa_lock(&scif_rma_xa);
	xa_for_each(&scif_rma_xa, id, h) {
		if (h->dev != dev || h->kind != SCIF_RMA_ALLOC)
			continue;
		a = container_of(h, struct scif_rma_alloc, h);
		__xa_erase(&scif_rma_xa, id);
		h->id = 0;
		list_add_tail(&a->list, &allocs);
	}
	list_for_each_entry_safe(w, wtmp, &scif_rma_orphans, list) {
		if (w->h.dev != dev)
			continue;
		__xa_erase(&scif_rma_xa, w->h.id);
		w->h.id = 0;
		list_move_tail(&w->list, &wins);
	}
	xa_unlock(&scif_rma_xa);
	scif_rma_nallocs[dev->node] = 0;
	scif_rma_nalloc_pages[dev->node] = 0;
	mutex_unlock(&scif_rma_lock);

	list_for_each_entry_safe(a, atmp, &allocs, list)
		scif_alloc_free(a);
	list_for_each_entry_safe(w, wtmp, &wins, list) {
		list_del(&w->list);
		scif_win_unmap(dev, w);
		scif_win_free(w);
	}
}

/* -------------------------------------------------------------- get_pages */

/* The CPU physical address of a peer page at @addr, or 0. */
static phys_addr_t scif_peer_phys(struct scif_dev *dev, u64 addr, size_t len)
{
	if (dev->self)
		return addr;
	if (!dev->sdev || !dev->sdev->ops->peer_phys)
		return 0;
	return dev->sdev->ops->peer_phys(dev->sdev, addr, len);
}

int scif_get_pages(scif_epd_t epd, off_t offset, size_t len,
		   struct scif_range **pages)
{
	struct scif_endpt *ep = epd;
	struct scif_dev *dev;
	struct scif_range *r;
	struct scif_window *w, *found = NULL;
	int i, n, err;

	might_sleep();
	if (!pages || !len || offset < 0 || !PAGE_ALIGNED(offset) ||
	    !PAGE_ALIGNED(len))
		return -EINVAL;
	/* No window reaches past the registered space. */
	if (offset >= SCIF_RMA_MAX_OFFSET ||
	    len > SCIF_RMA_MAX_OFFSET - offset)
		return -ENXIO;
	err = scif_rma_verify_ep(ep);
	if (err)
		return err;
	dev = ep->remote_dev;
	n = len >> PAGE_SHIFT;
	r = kzalloc(sizeof(*r), GFP_KERNEL);
	if (!r)
		return -ENOMEM;
	r->phys_addr = kvcalloc(n, sizeof(*r->phys_addr), GFP_KERNEL);
	if (!r->phys_addr) {
		kfree(r);
		return -ENOMEM;
	}

	down_read(&dev->ep_sem);
	down_write(&ep->rma.sem);
	err = -ENXIO;
	list_for_each_entry(w, &ep->rma.rwindows, list) {
		if (offset >= w->offset &&
		    offset + (s64)len <= w->offset + (s64)scif_win_len(w)) {
			found = w;
			break;
		}
	}
	if (found) {
		err = 0;
		for (i = 0; i < n && !err; i++) {
			u64 a = found->addr[((offset - found->offset) >>
					     PAGE_SHIFT) + i];

			r->phys_addr[i] = scif_peer_phys(dev, a, PAGE_SIZE);
			if (!r->phys_addr[i])
				err = -ENODEV;
		}
	}
	if (!err) {
		found->gp_refs += n;
		r->cookie = (void *)(unsigned long)scif_handle_val(&found->h);
		r->nr_pages = n;
		r->prot_flags = found->prot;
	}
	up_write(&ep->rma.sem);
	up_read(&dev->ep_sem);
	if (err) {
		kvfree(r->phys_addr);
		kfree(r);
		return err;
	}
	*pages = r;
	return 0;
}
EXPORT_SYMBOL_GPL(scif_get_pages);

int scif_put_pages(struct scif_range *pages)
{
	struct scif_window *w;
	struct scif_endpt *ep;
	bool done = false;

	if (!pages || !pages->cookie || pages->nr_pages <= 0)
		return -EINVAL;
	w = scif_rwin_get(NULL, (u64)(unsigned long)pages->cookie);
	if (w) {
		ep = w->ep;
		if (w->gp_refs >= pages->nr_pages)
			w->gp_refs -= pages->nr_pages;
		else
			w->gp_refs = 0;
		if (!w->gp_refs && w->unreg) {
			list_del_init(&w->list);
			scif_handle_del(&w->h);
			done = true;
		}
		kref_get(&ep->ref);
		scif_rwin_put(w);
		if (done) {
			if (!scif_rma_verify_ep(ep))
				scif_munmap_send(ep, w);
			scif_win_free(w);
		}
		scif_ep_put(ep);
	}
	/* The window may be gone (closed, node lost): the range goes anyway. */
	kvfree(pages->phys_addr);
	kfree(pages);
	return 0;
}
EXPORT_SYMBOL_GPL(scif_put_pages);

