// SPDX-License-Identifier: GPL-2.0
/*
 * micemu SCIF: the host's relay for card-to-card connections.
 *
 * Cards cannot reach each other's memory, only the host's, so the host
 * is the hub. A card's CNCT_REQ for another card's port is not forwarded:
 * the host connects to that port itself, as the requesting card's port
 * (so the listener sees the real peer), and once the listener accepted,
 * grants the request as the listener's port. From then on the relay owns
 * two ordinary host endpoints, one connected to each card, and copies
 * whatever arrives on one into the other:
 *
 *   card A (node a)            host                    card B (node b)
 *   connect(b:P)  CNCT_REQ -->  relay: ep[1] connects
 *                               to b:P as a:port   --> accept: peer a:port
 *                 <-- CNCT_GNT  ep[0] grants as b:P
 *   send ---------------------> ep[0] ring  copy  ep[1] --> B's ring
 *   A's ring  <---------------- ep[0]  copy  ep[1] ring <------ send
 *
 * Each card only ever exchanges messages and ring memory with the host,
 * exactly as for a host connection, so every check the host makes on a
 * card's messages applies unchanged: a card cannot name another card's
 * endpoints, spoof another node (the request's src.node must be the link
 * it came on) or make the host map anything but the queue pairs it
 * offered. A card that floods or stops reading only stalls its own
 * relays, and it may have at most SCIF_RELAY_MAX_PER_NODE of them.
 *
 * When one side closes or its node goes away, the bytes it sent before
 * are still handed to the other side, which then sees the connection
 * closed (POLLHUP, -ECONNRESET once drained); data for a side that is
 * gone is dropped. SCIF has no half-close, so neither does the relay.
 */
#define pr_fmt(fmt) "scif: " fmt

#include <linux/minmax.h>
#include <linux/printk.h>
#include <linux/slab.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "scif_main.h"

/* Relays a card may have open or being set up at a time. */
#define SCIF_RELAY_MAX_PER_NODE	64
/* Copy rounds per work run before other relays get the worker. */
#define SCIF_RELAY_BUDGET	64

/**
 * struct scif_relay - one card-to-card connection, terminated on the host
 * @req: the connecting card's CNCT_REQ and its link
 * @ep: [0] faces the connecting card, [1] the listening card
 * @wait: entries on the endpoints' wait queues; any event queues @work
 * @work: sets the connection up, then moves bytes until it ends
 * @running: both endpoints are connected and @wait is hooked
 * @buf: bounce buffer, one endpoint ring's worth
 */
struct scif_relay {
	struct scif_conreq req;
	struct scif_endpt *ep[2];
	wait_queue_entry_t wait[2];
	struct work_struct work;
	bool running;
	u8 buf[SCIF_ENDPT_QP_SIZE];
};

static struct workqueue_struct *scif_relay_wq;
static DEFINE_SPINLOCK(scif_relay_lock);	/* scif_relay_count */
static unsigned int scif_relay_count[SCIF_MAX_NODES];

static void scif_relay_free(struct scif_relay *r)
{
	spin_lock(&scif_relay_lock);
	scif_relay_count[r->req.dev->node]--;
	spin_unlock(&scif_relay_lock);
	kfree(r);
}

/* Drop a relay endpoint: disconnect it; its port is not ours to release. */
static void scif_relay_ep_drop(struct scif_endpt *ep)
{
	scif_ep_shutdown(ep);
	scif_ep_release_id(ep);
	scif_ep_put(ep);
}

static int scif_relay_wake(struct wait_queue_entry *wait, unsigned int mode,
			   int flags, void *key)
{
	struct scif_relay *r = wait->private;

	queue_work(scif_relay_wq, &r->work);
	return 0;
}

/* Connect to the listening card, then grant the connecting card. */
static int scif_relay_setup(struct scif_relay *r)
{
	struct scifmsg *msg = &r->req.msg;
	struct scif_dev *to = &scif_devs[msg->dst.node];
	struct scif_port_id dst = msg->dst;
	struct scif_endpt *ep;
	int err, i;

	r->ep[0] = scif_ep_alloc();
	r->ep[1] = scif_ep_alloc();
	if (!r->ep[0] || !r->ep[1]) {
		err = -ENOMEM;
		goto refuse;
	}
	r->ep[0]->relay = true;
	r->ep[1]->relay = true;
	ep = r->ep[1];
	spin_lock(&ep->lock);
	ep->port = msg->src;
	ep->state = SCIFEP_CONNECTING;
	WRITE_ONCE(ep->remote_dev, to);
	spin_unlock(&ep->lock);
	err = scif_ep_connect(ep, to, &dst);
	if (err)
		goto refuse;

	/* The connecting card may have given up meanwhile: then err != 0. */
	err = scif_ep_grant(&dst, r->ep[0], &r->req);
	if (err) {
		r->ep[0] = NULL;	/* freed by scif_ep_grant() */
		goto drop;
	}
	for (i = 0; i < 2; i++) {
		init_waitqueue_func_entry(&r->wait[i], scif_relay_wake);
		r->wait[i].private = r;
		add_wait_queue(&r->ep[i]->wq, &r->wait[i]);
	}
	r->running = true;
	return 0;

refuse:
	scif_send_rej(r->req.dev, &dst, msg);
drop:
	for (i = 0; i < 2; i++)
		if (r->ep[i])
			scif_relay_ep_drop(r->ep[i]);
	return err;
}

/* Move what fits from @from's inbound ring into @to's outbound ring. */
static u32 scif_relay_move(struct scif_relay *r, struct scif_endpt *from,
			   struct scif_endpt *to)
{
	int got;
	u32 n;

	if (scif_ep_state(to) != SCIFEP_CONNECTED)
		return 0;
	/* Only the relay reads @from and writes @to: these only grow. */
	n = min3(scif_rb_count(&from->qp.inbound),
		 scif_rb_space(&to->qp.outbound), (u32)sizeof(r->buf));
	if (!n)
		return 0;
	got = scif_recv(from, r->buf, n, 0);
	if (got <= 0)
		return 0;
	/* Short only if @to just went away: then the bytes have no taker. */
	scif_send(to, r->buf, got, 0);
	return got;
}

/* Whether the connection is over and what is left has been handed on. */
static bool scif_relay_done(struct scif_relay *r)
{
	enum scif_ep_state s0 = scif_ep_state(r->ep[0]);
	enum scif_ep_state s1 = scif_ep_state(r->ep[1]);

	if (s0 == SCIFEP_CONNECTED && s1 == SCIFEP_CONNECTED)
		return false;
	if (s0 == SCIFEP_DISCONNECTED && s1 == SCIFEP_CONNECTED)
		return !scif_rb_readable(&r->ep[0]->qp.inbound);
	if (s1 == SCIFEP_DISCONNECTED && s0 == SCIFEP_CONNECTED)
		return !scif_rb_readable(&r->ep[1]->qp.inbound);
	return true;
}

static void scif_relay_finish(struct scif_relay *r)
{
	int i;

	for (i = 0; i < 2; i++)
		remove_wait_queue(&r->ep[i]->wq, &r->wait[i]);
	/* No event can queue @work now; drop one queued meanwhile. */
	cancel_work(&r->work);
	for (i = 0; i < 2; i++)
		scif_relay_ep_drop(r->ep[i]);
	scif_relay_free(r);
}

static void scif_relay_work(struct work_struct *work)
{
	struct scif_relay *r = container_of(work, struct scif_relay, work);
	int budget = SCIF_RELAY_BUDGET;
	u32 moved;

	if (!r->running && scif_relay_setup(r)) {
		scif_relay_free(r);
		return;
	}
	do {
		if (!budget--) {
			queue_work(scif_relay_wq, &r->work);
			return;
		}
		moved = scif_relay_move(r, r->ep[0], r->ep[1]);
		moved += scif_relay_move(r, r->ep[1], r->ep[0]);
	} while (moved);
	if (scif_relay_done(r))
		scif_relay_finish(r);
}

/**
 * scif_relay_cnctreq() - a card asks for a port on another node
 * @dev: link it came on
 * @msg: the CNCT_REQ; dst.node is not this node
 *
 * Runs in the link's receive path: the connection is set up in a work
 * item. Refused (CNCT_REJ) if the destination is not another online card
 * or the card has too many relays; dropped if the card claims to be
 * another node.
 */
void scif_relay_cnctreq(struct scif_dev *dev, struct scifmsg *msg)
{
	struct scif_port_id here = msg->dst;
	u16 to = msg->dst.node;
	struct scif_relay *r;
	bool full;

	if (dev->self || msg->src.node != dev->node) {
		pr_warn_ratelimited("node %u: connection request as node %u dropped\n",
				    dev->node, msg->src.node);
		return;
	}
	if (to >= SCIF_MAX_NODES || to == dev->node || scif_devs[to].self ||
	    !scif_link_up(&scif_devs[to]))
		goto refuse;
	r = kzalloc(sizeof(*r), GFP_KERNEL);
	if (!r)
		goto refuse;
	spin_lock(&scif_relay_lock);
	full = scif_relay_count[dev->node] >= SCIF_RELAY_MAX_PER_NODE;
	if (!full)
		scif_relay_count[dev->node]++;
	spin_unlock(&scif_relay_lock);
	if (full) {
		pr_warn_ratelimited("node %u: too many card-to-card connections\n",
				    dev->node);
		kfree(r);
		goto refuse;
	}
	r->req.msg = *msg;
	r->req.dev = dev;
	INIT_WORK(&r->work, scif_relay_work);
	queue_work(scif_relay_wq, &r->work);
	return;

refuse:
	scif_send_rej(dev, &here, msg);
}

/**
 * scif_relay_init() - create the relay workqueue
 *
 * Return: 0 or -ENOMEM.
 */
int scif_relay_init(void)
{
	scif_relay_wq = alloc_workqueue("scif_relay", WQ_UNBOUND, 0);
	return scif_relay_wq ? 0 : -ENOMEM;
}

/**
 * scif_relay_exit() - wait for the relays to end; every link is down
 */
void scif_relay_exit(void)
{
	destroy_workqueue(scif_relay_wq);
}
