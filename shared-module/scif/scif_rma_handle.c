// SPDX-License-Identifier: GPL-2.0
/*
 * micemu SCIF: RMA handles, requests and answers, and the dispatch of RMA
 * messages (facts §7.8; protocol in scif_rma.c and README.md).
 *
 * Words that upstream fills with kernel pointers (its windows, its
 * allocation handles, its fence requests) carry handles here: an index
 * into one table plus 32 random bits, accepted only from the link they
 * were handed to and only for the kind of object they were made for. A
 * request waits for its answer with a handle of its own; an answer is
 * matched by that handle and its opcode, anything else is dropped.
 */
#define pr_fmt(fmt) "scif: " fmt

#include <linux/printk.h>
#include <linux/random.h>
#include <linux/seq_file.h>
#include <linux/xarray.h>

#include "scif_main.h"
#include "scif_rma_wire.h"

/* Every RMA handle, by index. */
DEFINE_XARRAY_ALLOC(scif_rma_xa);
static u32 scif_rma_xa_next;

/* ---------------------------------------------------------------- handles */

int scif_handle_add(struct scif_rma_handle *h, u8 kind,
		    struct scif_dev *dev)
{
	h->kind = kind;
	h->dev = dev;
	h->tag = get_random_u32() | 1;
	if (xa_alloc_cyclic(&scif_rma_xa, &h->id, h, XA_LIMIT(1, INT_MAX),
			    &scif_rma_xa_next, GFP_KERNEL) < 0) {
		h->id = 0;
		return -ENOMEM;
	}
	return 0;
}

/*
 * Give @h the value @old had (its entry already erased): the peer names
 * a registered window by the value it got for the room in ALLOC_GNT.
 */
int scif_handle_adopt(struct scif_rma_handle *h,
		      const struct scif_rma_handle *old, u8 kind)
{
	h->kind = kind;
	h->dev = old->dev;
	h->tag = old->tag;
	h->id = old->id;
	if (xa_insert(&scif_rma_xa, h->id, h, GFP_KERNEL)) {
		h->id = 0;
		return -EBUSY;
	}
	return 0;
}

void scif_handle_del(struct scif_rma_handle *h)
{
	if (h->id)
		xa_erase(&scif_rma_xa, h->id);
	h->id = 0;
}

u64 scif_handle_val(const struct scif_rma_handle *h)
{
	return (u64)h->tag << 32 | h->id;
}

/* The object @val names, if it is a @kind handed to @dev; table locked. */
struct scif_rma_handle *scif_handle_find(u64 val, u8 kind,
					 struct scif_dev *dev)
{
	struct scif_rma_handle *h;

	if (!lower_32_bits(val) || lower_32_bits(val) > INT_MAX)
		return NULL;
	h = xa_load(&scif_rma_xa, lower_32_bits(val));
	if (!h || h->tag != upper_32_bits(val) || h->kind != kind ||
	    (dev && h->dev != dev))
		return NULL;
	return h;
}

/* ------------------------------------------------------ requests, answers */

/**
 * scif_rma_request() - send a request to the peer and wait for the answer
 * @ep: connected endpoint
 * @msg: request; src, dst and [@hpos] are filled in here
 * @hpos: payload word that carries the request's handle, both ways
 * @ack: positive answer opcode
 * @nack: negative answer opcode
 * @ans: filled with the answer's payload, may be NULL
 *
 * Waits at most the node-alive timeout.
 *
 * Return: 0 for @ack, 1 for @nack, -EAGAIN without an answer, an endpoint
 * error when the connection went away, or a send error.
 */
int scif_rma_request(struct scif_endpt *ep, struct scifmsg *msg, int hpos,
		     u32 ack, u32 nack, u64 *ans)
{
	struct scif_rma_req req = { .ep = ep, .ack = ack, .nack = nack };
	struct scif_dev *dev = ep->remote_dev;
	int err;

	err = scif_handle_add(&req.h, SCIF_RMA_REQ, dev);
	if (err)
		return err;
	msg->src = ep->port;
	msg->dst = ep->peer;
	msg->payload[hpos] = scif_handle_val(&req.h);
	err = scif_nodeqp_send(dev, msg);
	if (!err)
		wait_event_timeout(ep->wq, READ_ONCE(req.done) ||
				   scif_rma_verify_ep(ep),
				   scif_alive_timeout());
	/* After this no answer can touch @req any more. */
	scif_handle_del(&req.h);
	if (err)
		return err;
	if (req.done) {
		if (ans)
			memcpy(ans, req.ans, sizeof(req.ans));
		return req.ok ? 0 : 1;
	}
	return scif_rma_verify_ep(ep) ?: -EAGAIN;
}

/**
 * scif_rma_send_answer() - answer a request the way upstream does
 * @dev: link the request came on
 * @msg: the request, payload already adjusted
 * @uop: answer opcode
 *
 * Upstream answers with the request itself, opcode changed: every word
 * the requester put in comes back.
 */
void scif_rma_send_answer(struct scif_dev *dev, struct scifmsg *msg,
			  u32 uop)
{
	struct scifmsg ans = *msg;

	ans.uop = uop;
	ans.src = msg->dst;
	ans.dst = msg->src;
	scif_nodeqp_send(dev, &ans);
}

void scif_free_virt_send(struct scif_dev *dev, u64 peer_room,
			 u64 ours, struct scif_endpt *ep)
{
	struct scifmsg msg = { .uop = SCIF_FREE_VIRT };

	if (ep) {
		msg.src = ep->port;
		msg.dst = ep->peer;
		msg.payload[0] = ep->remote_ep;
	}
	msg.payload[1] = peer_room;
	msg.payload[2] = ours;
	msg.payload[3] = SCIF_ALLOC_FOR_REGISTER;
	scif_nodeqp_send(dev, &msg);
}

/* An answer to one of our requests: [@hpos] is the request's handle. */
static void scif_rma_answer_msg(struct scif_dev *dev, struct scifmsg *msg,
				int hpos)
{
	struct scif_rma_handle *h;
	struct scif_rma_req *req;
	bool hit = false;

	xa_lock(&scif_rma_xa);
	h = scif_handle_find(msg->payload[hpos], SCIF_RMA_REQ, dev);
	if (h) {
		req = container_of(h, struct scif_rma_req, h);
		if (!req->done && (msg->uop == req->ack ||
				   msg->uop == req->nack)) {
			memcpy(req->ans, msg->payload, sizeof(req->ans));
			req->ok = msg->uop == req->ack;
			WRITE_ONCE(req->done, true);
			wake_up(&req->ep->wq);
			hit = true;
		}
	}
	xa_unlock(&scif_rma_xa);
	if (hit)
		return;
	/*
	 * Normal when the requester gave up (its endpoint closed, or the
	 * peer answered after alive_timeout_ms); a peer sending garbage
	 * gets here too.
	 */
	pr_debug("node %u: RMA answer %u for no request, dropped\n",
		 dev->node, msg->uop);
	/* A grant that came too late: the peer must not keep the room. */
	if (msg->uop == SCIF_ALLOC_GNT)
		scif_free_virt_send(dev, msg->payload[0], msg->payload[2],
				    NULL);
}

/* ---------------------------------------------------------------- dispatch */

/**
 * scif_rma_msg() - an RMA message from the peer (uops 19 to 39)
 * @dev: link it came on
 * @msg: the message
 */
void scif_rma_msg(struct scif_dev *dev, struct scifmsg *msg)
{
	switch (msg->uop) {
	case SCIF_ALLOC_REQ:
		scif_alloc_req_msg(dev, msg);
		break;
	case SCIF_REGISTER:
		scif_register_msg(dev, msg);
		break;
	case SCIF_UNREGISTER:
		scif_unregister_msg(dev, msg);
		break;
	case SCIF_FREE_VIRT:
		scif_free_virt_msg(dev, msg);
		break;
	case SCIF_MUNMAP:
		scif_munmap_msg(dev, msg);
		break;
	case SCIF_ALLOC_GNT:
	case SCIF_ALLOC_REJ:
	case SCIF_REGISTER_ACK:
	case SCIF_REGISTER_NACK:
		scif_rma_answer_msg(dev, msg, 2);
		break;
	case SCIF_UNREGISTER_ACK:
	case SCIF_UNREGISTER_NACK:
	case SCIF_MARK_ACK:
	case SCIF_MARK_NACK:
	case SCIF_WAIT_ACK:
	case SCIF_WAIT_NACK:
		scif_rma_answer_msg(dev, msg, 1);
		break;
	case SCIF_SIG_ACK:
	case SCIF_SIG_NACK:
		scif_rma_answer_msg(dev, msg, 3);
		break;
	case SCIF_MARK:
	case SCIF_WAIT:
	case SCIF_SIG_LOCAL:
	case SCIF_SIG_REMOTE:
		scif_fence_msg(dev, msg);
		break;
	default:
		pr_warn_ratelimited("node %u: RMA message %u unknown, dropped\n",
				    dev->node, msg->uop);
	}
}

/**
 * scif_rma_debugfs_windows() - list windows, rooms and requests
 * @s: the debugfs file
 */
void scif_rma_debugfs_windows(struct seq_file *s)
{
	static const char * const states[] = {
		"pending", "ready", "held", "lost",
	};
	struct scif_rma_handle *h;
	struct scif_window *w;
	unsigned long id;

	xa_lock(&scif_rma_xa);
	xa_for_each(&scif_rma_xa, id, h) {
		switch (h->kind) {
		case SCIF_RMA_LWIN:
		case SCIF_RMA_RWIN:
			w = container_of(h, struct scif_window, h);
			seq_printf(s, "%s node %u offset %#llx pages %llu prot %d state %s%s",
				   h->kind == SCIF_RMA_LWIN ? "window" : "peer_window",
				   h->dev->node, (u64)w->offset, w->nr_pages,
				   w->prot, states[w->state & 3],
				   h->kind == SCIF_RMA_LWIN && !w->ep ?
				   " orphan" : "");
			if (h->kind == SCIF_RMA_RWIN)
				seq_printf(s, " lent %d%s", w->gp_refs,
					   w->unreg ? " unregistered" : "");
			seq_putc(s, '\n');
			break;
		case SCIF_RMA_ALLOC:
			seq_printf(s, "room node %u pages %llu\n", h->dev->node,
				   container_of(h, struct scif_rma_alloc,
						h)->nr_pages);
			break;
		case SCIF_RMA_REQ:
			seq_printf(s, "request node %u\n", h->dev->node);
			break;
		}
	}
	xa_unlock(&scif_rma_xa);
}

