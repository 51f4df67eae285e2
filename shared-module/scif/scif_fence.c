// SPDX-License-Identifier: GPL-2.0
/*
 * micemu SCIF: scif_fence_mark, scif_fence_wait, scif_fence_signal
 * (facts §7.2, §7.8) and the MARK/WAIT messages.
 *
 * Every RMA started on an endpoint gets a sequence number and stays on
 * the endpoint's in-flight list until it is complete. A mark is the last
 * number handed out; waiting for it means waiting until no transfer with
 * that number or an older one is in flight. Marks of the peer's RMAs
 * (SCIF_FENCE_INIT_PEER) are obtained with MARK and waited for with WAIT,
 * and carry SCIF_REMOTE_FENCE. scif_fence_signal() waits for the marked
 * RMAs itself and then stores the values by CPU; for the peer's RMAs it
 * uses MARK and WAIT first, so upstream's SIG_LOCAL/SIG_REMOTE messages
 * are not needed (they are refused like any unknown message).
 */
#define pr_fmt(fmt) "scif: " fmt

#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "scif_main.h"

/* Sequence numbers are 31 bits; @a is at or before @b. */
static bool scif_seq_before_eq(u32 a, u32 b)
{
	return ((b - a) & ~SCIF_REMOTE_FENCE) < (SCIF_REMOTE_FENCE >> 1);
}

/**
 * scif_rma_mark() - the number of the last RMA started on @ep
 * @ep: endpoint
 *
 * Return: the mark, below SCIF_REMOTE_FENCE.
 */
u32 scif_rma_mark(struct scif_endpt *ep)
{
	u32 seq;

	spin_lock(&ep->rma.lock);
	seq = ep->rma.seq;
	spin_unlock(&ep->rma.lock);
	return seq;
}

/**
 * scif_rma_marked_done() - are all RMAs up to @mark complete?
 * @ep: endpoint
 * @mark: a mark from scif_rma_mark()
 *
 * Return: true when none of them is in flight.
 */
bool scif_rma_marked_done(struct scif_endpt *ep, u32 mark)
{
	struct scif_rma_op *op;
	bool done = true;

	spin_lock(&ep->rma.lock);
	list_for_each_entry(op, &ep->rma.inflight, list) {
		if (scif_seq_before_eq(op->seq, mark)) {
			done = false;
			break;
		}
	}
	spin_unlock(&ep->rma.lock);
	return done;
}

/* Transfers always end (they notice a dead link), so this cannot hang. */
static int scif_fence_wait_local(struct scif_endpt *ep, u32 mark)
{
	return wait_event_interruptible(ep->wq,
					scif_rma_marked_done(ep, mark));
}

/* A request to the peer's fence code; its silence is -ETIMEDOUT. */
static int scif_fence_request(struct scif_endpt *ep, struct scifmsg *msg,
			      int hpos, u32 ack, u64 *ans, int nack_err)
{
	int r;

	msg->payload[0] = ep->remote_ep;
	r = scif_rma_request(ep, msg, hpos, ack, ack + 1, ans);
	if (r == 1)
		return nack_err;
	return r == -EAGAIN ? -ETIMEDOUT : r;
}

static int scif_fence_mark_peer(struct scif_endpt *ep, u32 *mark)
{
	struct scifmsg msg = { .uop = SCIF_MARK };
	u64 ans[4];
	int err;

	err = scif_fence_request(ep, &msg, 1, SCIF_MARK_ACK, ans, -ENOMEM);
	if (!err)
		*mark = (u32)ans[2] & ~SCIF_REMOTE_FENCE;
	return err;
}

static int scif_fence_wait_peer(struct scif_endpt *ep, u32 mark)
{
	struct scifmsg msg = { .uop = SCIF_WAIT };

	msg.payload[2] = mark & ~SCIF_REMOTE_FENCE;
	return scif_fence_request(ep, &msg, 1, SCIF_WAIT_ACK, NULL, -ENOMEM);
}

/* SIG_LOCAL: the peer writes into its own space; SIG_REMOTE: into ours. */
static int scif_fence_signal_peer(struct scif_endpt *ep, u32 uop, s64 off,
				  u64 val)
{
	struct scifmsg msg = { .uop = uop };

	msg.payload[1] = off;
	msg.payload[2] = val;
	return scif_fence_request(ep, &msg, 3, SCIF_SIG_ACK, NULL, -ENXIO);
}

int scif_fence_mark(scif_epd_t epd, int flags, int *mark)
{
	struct scif_endpt *ep = epd;
	u32 m;
	int err;

	might_sleep();
	if ((flags != SCIF_FENCE_INIT_SELF && flags != SCIF_FENCE_INIT_PEER) ||
	    !mark)
		return -EINVAL;
	err = scif_rma_verify_ep(ep);
	if (err)
		return err;
	if (flags == SCIF_FENCE_INIT_SELF) {
		*mark = scif_rma_mark(ep);
		return 0;
	}
	err = scif_fence_mark_peer(ep, &m);
	if (!err)
		*mark = m | SCIF_REMOTE_FENCE;
	return err;
}
EXPORT_SYMBOL_GPL(scif_fence_mark);

int scif_fence_wait(scif_epd_t epd, int mark)
{
	struct scif_endpt *ep = epd;
	int err;

	might_sleep();
	err = scif_rma_verify_ep(ep);
	if (err)
		return err;
	if (mark & SCIF_REMOTE_FENCE)
		return scif_fence_wait_peer(ep, mark);
	return scif_fence_wait_local(ep, mark);
}
EXPORT_SYMBOL_GPL(scif_fence_wait);

int scif_fence_signal(scif_epd_t epd, off_t loff, u64 lval, off_t roff,
		      u64 rval, int flags)
{
	struct scif_endpt *ep = epd;
	int init = flags & (SCIF_FENCE_INIT_SELF | SCIF_FENCE_INIT_PEER);
	int sig = flags & (SCIF_SIGNAL_LOCAL | SCIF_SIGNAL_REMOTE);
	int err;

	might_sleep();
	if ((init != SCIF_FENCE_INIT_SELF && init != SCIF_FENCE_INIT_PEER) ||
	    !sig || flags & ~(init | sig))
		return -EINVAL;
	if (((sig & SCIF_SIGNAL_LOCAL) && (loff & 3)) ||
	    ((sig & SCIF_SIGNAL_REMOTE) && (roff & 3)))
		return -EINVAL;
	err = scif_rma_verify_ep(ep);
	if (err)
		return err;

	if (init == SCIF_FENCE_INIT_PEER) {
		/*
		 * The peer writes once its RMAs are done. SIG_LOCAL and
		 * SIG_REMOTE are named from the receiver's side: our
		 * SIGNAL_LOCAL (lval into our space) is its SIG_REMOTE.
		 * Upstream sends SIG_LOCAL with roff/rval for SIGNAL_LOCAL and
		 * SIG_REMOTE with loff/lval for SIGNAL_REMOTE: each value lands
		 * where its offset says, but each flag triggers the other
		 * value (README.md, upstream quirks).
		 */
		if (sig & SCIF_SIGNAL_LOCAL)
			err = scif_fence_signal_peer(ep, SCIF_SIG_REMOTE, loff,
						     lval);
		if (!err && (sig & SCIF_SIGNAL_REMOTE))
			err = scif_fence_signal_peer(ep, SCIF_SIG_LOCAL, roff,
						     rval);
		return err;
	}
	err = scif_fence_wait_local(ep, scif_rma_mark(ep));
	if (err)
		return err;
	if (sig & SCIF_SIGNAL_LOCAL) {
		err = scif_rma_signal(ep, false, loff, lval);
		if (err)
			return err;
	}
	if (sig & SCIF_SIGNAL_REMOTE)
		err = scif_rma_signal(ep, true, roff, rval);
	return err;
}
EXPORT_SYMBOL_GPL(scif_fence_signal);

/**
 * struct scif_fence_work - a WAIT or SIG_* from the peer, answered from a
 *	work item because it waits for our RMAs
 * @work: runs scif_fence_work_fn()
 * @dev: link the request came on
 * @msg: the request
 */
struct scif_fence_work {
	struct work_struct work;
	struct scif_dev *dev;
	struct scifmsg msg;
};

/* The endpoint a fence request names, checked against its sender. */
static struct scif_endpt *scif_fence_ep(struct scif_dev *dev,
					struct scifmsg *msg)
{
	struct scif_endpt *ep = scif_rma_msg_ep(dev, msg->payload[0]);

	/* Upstream fills src with the requesting endpoint's port. */
	if (ep && msg->src.port != ep->peer.port) {
		scif_ep_put(ep);
		ep = NULL;
	}
	if (!ep)
		pr_warn_ratelimited("node %u: fence request %u for no endpoint\n",
				    dev->node, msg->uop);
	return ep;
}

static void scif_fence_work_fn(struct work_struct *work)
{
	struct scif_fence_work *fw = container_of(work, struct scif_fence_work,
						  work);
	struct scifmsg *msg = &fw->msg;
	struct scif_endpt *ep = scif_fence_ep(fw->dev, msg);
	u32 mark;
	bool ok = false;

	if (ep) {
		mark = msg->uop == SCIF_WAIT ?
		       (u32)msg->payload[2] & ~SCIF_REMOTE_FENCE :
		       scif_rma_mark(ep);
		ok = wait_event_timeout(ep->wq,
					scif_rma_marked_done(ep, mark) ||
					scif_rma_verify_ep(ep),
					scif_alive_timeout()) &&
		     !scif_rma_verify_ep(ep);
		if (ok && msg->uop != SCIF_WAIT)
			ok = !scif_rma_signal(ep, msg->uop == SCIF_SIG_REMOTE,
					      msg->payload[1], msg->payload[2]);
		msg->payload[0] = ep->remote_ep;
		scif_ep_put(ep);
	} else {
		msg->payload[0] = 0;
	}
	if (msg->uop == SCIF_WAIT)
		scif_rma_send_answer(fw->dev, msg,
				     ok ? SCIF_WAIT_ACK : SCIF_WAIT_NACK);
	else
		scif_rma_send_answer(fw->dev, msg,
				     ok ? SCIF_SIG_ACK : SCIF_SIG_NACK);
	kfree(fw);
}

/**
 * scif_fence_msg() - MARK, WAIT, SIG_LOCAL or SIG_REMOTE from the peer
 * @dev: link it came on
 * @msg: [0] our endpoint, then MARK: [1] the peer's request; WAIT: [1]
 *	the peer's request, [2] the mark; SIG_*: [1] offset, [2] value, [3]
 *	the peer's request
 *
 * WAIT and SIG_* may take as long as our transfers, so they are answered
 * from a work item, not from the node's receive work.
 */
void scif_fence_msg(struct scif_dev *dev, struct scifmsg *msg)
{
	struct scif_fence_work *fw;
	struct scif_endpt *ep;

	if (msg->uop == SCIF_MARK) {
		ep = scif_fence_ep(dev, msg);
		if (ep) {
			msg->payload[0] = ep->remote_ep;
			msg->payload[2] = scif_rma_mark(ep);
			scif_ep_put(ep);
			scif_rma_send_answer(dev, msg, SCIF_MARK_ACK);
		} else {
			msg->payload[0] = 0;
			scif_rma_send_answer(dev, msg, SCIF_MARK_NACK);
		}
		return;
	}
	fw = kmalloc(sizeof(*fw), GFP_KERNEL);
	if (!fw) {
		scif_rma_send_answer(dev, msg, msg->uop == SCIF_WAIT ?
				     SCIF_WAIT_NACK : SCIF_SIG_NACK);
		return;
	}
	INIT_WORK(&fw->work, scif_fence_work_fn);
	fw->dev = dev;
	fw->msg = *msg;
	queue_work(scif_info.wq, &fw->work);
}
