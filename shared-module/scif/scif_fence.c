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

static int scif_fence_mark_peer(struct scif_endpt *ep, u32 *mark)
{
	struct scifmsg msg = { .uop = SCIF_MARK };
	u64 val = 0;
	int err;

	err = scif_rma_request(ep, &msg, SCIF_MARK_ACK, &val);
	*mark = val & ~SCIF_REMOTE_FENCE;
	return err;
}

static int scif_fence_wait_peer(struct scif_endpt *ep, u32 mark)
{
	struct scifmsg msg = { .uop = SCIF_WAIT };

	msg.payload[1] = mark & ~SCIF_REMOTE_FENCE;
	return scif_rma_request(ep, &msg, SCIF_WAIT_ACK, NULL);
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
	u32 mark;
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

	if (init == SCIF_FENCE_INIT_SELF) {
		err = scif_fence_wait_local(ep, scif_rma_mark(ep));
	} else {
		err = scif_fence_mark_peer(ep, &mark);
		if (!err)
			err = scif_fence_wait_peer(ep, mark);
	}
	if (err)
		return err;
	if (sig & SCIF_SIGNAL_LOCAL) {
		err = scif_rma_poke(ep, false, loff, lval);
		if (err)
			return err;
	}
	if (sig & SCIF_SIGNAL_REMOTE)
		err = scif_rma_poke(ep, true, roff, rval);
	return err;
}
EXPORT_SYMBOL_GPL(scif_fence_signal);

/**
 * struct scif_fence_work - a WAIT from the peer, answered from a work item
 * @work: runs scif_fence_wait_work()
 * @dev: link the WAIT came on
 * @msg: the WAIT
 */
struct scif_fence_work {
	struct work_struct work;
	struct scif_dev *dev;
	struct scifmsg msg;
};

static void scif_fence_wait_work(struct work_struct *work)
{
	struct scif_fence_work *fw = container_of(work, struct scif_fence_work,
						  work);
	struct scifmsg *msg = &fw->msg;
	struct scif_endpt *ep = scif_rma_msg_ep(fw->dev, msg->payload[0]);
	u32 mark = msg->payload[1] & ~SCIF_REMOTE_FENCE;
	bool done = false;

	if (ep && ep->remote_ep == msg->payload[3])
		done = wait_event_timeout(ep->wq,
					  scif_rma_marked_done(ep, mark) ||
					  scif_rma_verify_ep(ep),
					  scif_alive_timeout()) &&
		       !scif_rma_verify_ep(ep);
	if (ep)
		scif_ep_put(ep);
	scif_rma_answer(fw->dev, msg, done ? SCIF_WAIT_ACK : SCIF_WAIT_NACK,
			done ? 0 : -ETIMEDOUT);
	kfree(fw);
}

/**
 * scif_fence_msg() - MARK or WAIT from the peer
 * @dev: link it came on
 * @msg: [0] our endpoint cookie, [1] the mark (WAIT), [2] request number
 *	<< 32, [3] the peer's endpoint cookie
 *
 * A WAIT may take as long as our transfers, so it is answered from a
 * work item, not from the node's receive work.
 */
void scif_fence_msg(struct scif_dev *dev, struct scifmsg *msg)
{
	struct scif_fence_work *fw;
	struct scif_endpt *ep;

	if (msg->uop == SCIF_WAIT) {
		fw = kmalloc(sizeof(*fw), GFP_KERNEL);
		if (!fw) {
			scif_rma_answer(dev, msg, SCIF_WAIT_NACK, -ENOMEM);
			return;
		}
		INIT_WORK(&fw->work, scif_fence_wait_work);
		fw->dev = dev;
		fw->msg = *msg;
		queue_work(scif_info.wq, &fw->work);
		return;
	}
	ep = scif_rma_msg_ep(dev, msg->payload[0]);
	if (!ep || ep->remote_ep != msg->payload[3])
		scif_rma_answer(dev, msg, SCIF_MARK_NACK, -ENOTCONN);
	else
		scif_rma_answer(dev, msg, SCIF_MARK_ACK, scif_rma_mark(ep));
	if (ep)
		scif_ep_put(ep);
}
