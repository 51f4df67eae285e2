// SPDX-License-Identifier: GPL-2.0
/*
 * micemu SCIF: endpoint table and endpoint messages (facts §7.7).
 *
 * Upstream hands out kernel pointers as endpoint cookies and follows the
 * cookies the peer echoes. Here a cookie is an index into our endpoint
 * table plus 32 random bits: an echoed cookie is looked up, compared in
 * full, and the endpoint is only acted on if it talks to the node the
 * message came from and is in the state the message expects. Anything
 * else is dropped, so a confused or hostile peer cannot make us touch
 * memory that is not one of our live endpoints. On a card, an endpoint
 * connected to another card talks to it directly, over the P2P link
 * (scif_p2p.c).
 */
#define pr_fmt(fmt) "scif: " fmt

#include <linux/printk.h>
#include <linux/random.h>
#include <linux/slab.h>

#include "scif_main.h"

/* Whether @ep talks to a node whose messages come over link @dev. */
static bool scif_ep_on_link(struct scif_endpt *ep, struct scif_dev *dev)
{
	struct scif_dev *rdev = READ_ONCE(ep->remote_dev);

	return rdev == dev;
}

/**
 * scif_ep_alloc() - allocate an unbound endpoint and give it a cookie
 *
 * Return: the endpoint with one reference, or NULL.
 */
struct scif_endpt *scif_ep_alloc(void)
{
	struct scif_endpt *ep;
	u32 tag = get_random_u32() | 1;

	ep = kzalloc(sizeof(*ep), GFP_KERNEL);
	if (!ep)
		return NULL;
	kref_init(&ep->ref);
	spin_lock_init(&ep->lock);
	init_waitqueue_head(&ep->wq);
	mutex_init(&ep->sendlock);
	mutex_init(&ep->recvlock);
	INIT_LIST_HEAD(&ep->conreqs);
	INIT_LIST_HEAD(&ep->listen_node);
	INIT_LIST_HEAD(&ep->tmp_node);
	INIT_LIST_HEAD(&ep->park_node);
	scif_rma_ep_init(ep);
	ep->state = SCIFEP_UNBOUND;
	if (xa_alloc(&scif_info.eps, &ep->id, ep, XA_LIMIT(1, INT_MAX),
		     GFP_KERNEL)) {
		kfree(ep);
		return NULL;
	}
	WRITE_ONCE(ep->cookie, (u64)tag << 32 | ep->id);
	return ep;
}

/**
 * scif_ep_get() - find the endpoint a peer-supplied cookie names
 * @cookie: value from a message
 *
 * Return: the endpoint with a reference held, or NULL.
 */
struct scif_endpt *scif_ep_get(u64 cookie)
{
	struct scif_endpt *ep;

	xa_lock(&scif_info.eps);
	ep = xa_load(&scif_info.eps, lower_32_bits(cookie));
	if (ep && (READ_ONCE(ep->cookie) != cookie ||
		   !kref_get_unless_zero(&ep->ref)))
		ep = NULL;
	xa_unlock(&scif_info.eps);
	return ep;
}

static void scif_ep_free(struct kref *ref)
{
	struct scif_endpt *ep = container_of(ref, struct scif_endpt, ref);

	scif_qp_free(&ep->qp);
	kfree(ep);
}

/**
 * scif_ep_put() - drop an endpoint reference
 * @ep: endpoint
 */
void scif_ep_put(struct scif_endpt *ep)
{
	kref_put(&ep->ref, scif_ep_free);
}

/**
 * scif_ep_release_id() - remove an endpoint from the table
 * @ep: endpoint; messages naming it are ignored from now on
 */
void scif_ep_release_id(struct scif_endpt *ep)
{
	xa_erase(&scif_info.eps, ep->id);
}

/**
 * scif_ep_state() - read an endpoint's state
 * @ep: endpoint
 *
 * Return: the state.
 */
enum scif_ep_state scif_ep_state(struct scif_endpt *ep)
{
	enum scif_ep_state state;

	spin_lock(&ep->lock);
	state = ep->state;
	spin_unlock(&ep->lock);
	return state;
}

/**
 * scif_ep_set_state() - change an endpoint's state and wake its waiters
 * @ep: endpoint
 * @state: new state
 */
void scif_ep_set_state(struct scif_endpt *ep, enum scif_ep_state state)
{
	spin_lock(&ep->lock);
	ep->state = state;
	spin_unlock(&ep->lock);
	wake_up(&ep->wq);
}

/**
 * scif_ep_qp_unmap() - cut an endpoint's queue pair off its link
 * @ep: endpoint; the caller holds ep_sem of its node
 *
 * Waits for senders and receivers in flight. Received data stays
 * readable; the memory is freed with the endpoint.
 */
void scif_ep_qp_unmap(struct scif_endpt *ep)
{
	struct scif_dev *dev = ep->remote_dev;

	mutex_lock(&ep->sendlock);
	mutex_lock(&ep->recvlock);
	if (dev && ep->qp.wire) {
		scif_qp_unmap_peer(dev, &ep->qp);
		scif_qp_unmap_local(dev, &ep->qp);
	}
	mutex_unlock(&ep->recvlock);
	mutex_unlock(&ep->sendlock);
}

/**
 * scif_eps_wake_node() - wake everybody waiting on an endpoint of a node
 * @dev: node going down
 */
void scif_eps_wake_node(struct scif_dev *dev)
{
	struct scif_endpt *ep;
	unsigned long id;

	xa_lock(&scif_info.eps);
	xa_for_each(&scif_info.eps, id, ep) {
		if (READ_ONCE(ep->remote_dev) == dev)
			wake_up(&ep->wq);
	}
	xa_unlock(&scif_info.eps);
}

static void scif_listeners_drop_node(struct scif_dev *dev)
{
	struct scif_conreq *req, *tmp;
	struct scif_endpt *ep;
	LIST_HEAD(drop);

	mutex_lock(&scif_info.listen_lock);
	list_for_each_entry(ep, &scif_info.listeners, listen_node) {
		spin_lock(&ep->lock);
		list_for_each_entry_safe(req, tmp, &ep->conreqs, list) {
			if (req->dev != dev)
				continue;
			list_move_tail(&req->list, &drop);
			ep->conreqcnt--;
		}
		spin_unlock(&ep->lock);
	}
	mutex_unlock(&scif_info.listen_lock);
	list_for_each_entry_safe(req, tmp, &drop, list)
		kfree(req);
}

/**
 * scif_eps_invalidate_node() - disconnect every endpoint of a dying node
 * @dev: node; the caller holds its lock, and its ep_sem for writing
 *
 * Connected endpoints become disconnected (POLLHUP, -ECONNRESET once
 * drained) and lose their mappings; queued connection requests from the
 * node are dropped.
 *
 * The peer learns of this only from the EXIT that follows, and until it
 * has read it, it may still be working through older messages that make
 * it write into these endpoints' rings. So each endpoint is parked on
 * @dev with a reference: a user that closes it now does not free its
 * queue pair under the peer's writes. scif_eps_release_parked() lets go
 * once the peer is silent.
 */
void scif_eps_invalidate_node(struct scif_dev *dev)
{
	struct scif_endpt *ep, *tmp;
	unsigned long id;
	LIST_HEAD(list);

	xa_lock(&scif_info.eps);
	xa_for_each(&scif_info.eps, id, ep) {
		if (READ_ONCE(ep->remote_dev) == dev &&
		    kref_get_unless_zero(&ep->ref))
			list_add_tail(&ep->tmp_node, &list);
	}
	xa_unlock(&scif_info.eps);

	list_for_each_entry_safe(ep, tmp, &list, tmp_node) {
		list_del_init(&ep->tmp_node);
		spin_lock(&ep->lock);
		if (ep->state == SCIFEP_CONNECTED)
			ep->state = SCIFEP_DISCONNECTED;
		spin_unlock(&ep->lock);
		wake_up(&ep->wq);
		scif_ep_qp_unmap(ep);
		scif_rma_ep_unmap(ep);
		if (list_empty(&ep->park_node))
			list_add_tail(&ep->park_node, &dev->parked_eps);
		else
			scif_ep_put(ep);
	}
	scif_rma_node_down(dev);
	scif_listeners_drop_node(dev);
}

/**
 * scif_eps_release_parked() - drop the endpoints a teardown kept alive
 * @dev: node whose peer no longer writes to our memory (it acknowledged
 *	our EXIT, we acknowledged its EXIT, or it did not answer in time);
 *	the caller holds its lock
 */
void scif_eps_release_parked(struct scif_dev *dev)
{
	struct scif_endpt *ep, *tmp;

	list_for_each_entry_safe(ep, tmp, &dev->parked_eps, park_node) {
		list_del_init(&ep->park_node);
		scif_ep_put(ep);
	}
}

/**
 * scif_cnctreq() - CNCT_REQ: queue it on the listener, or refuse it
 * @dev: link it came on (a card's request to another card comes on
 *	their P2P link)
 * @msg: [0] connector cookie, [1] connector queue-pair address
 */
void scif_cnctreq(struct scif_dev *dev, struct scifmsg *msg)
{
	struct scif_dev *link = dev;
	struct scif_conreq *req = NULL;
	struct scif_endpt *ep;
	bool queued = false;

	if (msg->dst.node != scif_info.nodeid)
		/* Cards talk to each other peer to peer, not through us. */
		pr_warn_ratelimited("node %u: connection request for node %u refused\n",
				    dev->node, msg->dst.node);
	else
		req = kzalloc(sizeof(*req), GFP_KERNEL);
	mutex_lock(&scif_info.listen_lock);
	list_for_each_entry(ep, &scif_info.listeners, listen_node) {
		if (ep->port.port != msg->dst.port)
			continue;
		spin_lock(&ep->lock);
		if (req && ep->state == SCIFEP_LISTENING &&
		    ep->conreqcnt < ep->backlog) {
			req->msg = *msg;
			req->dev = dev;
			list_add_tail(&req->list, &ep->conreqs);
			ep->conreqcnt++;
			queued = true;
		}
		spin_unlock(&ep->lock);
		if (queued)
			wake_up(&ep->wq);
		break;
	}
	mutex_unlock(&scif_info.listen_lock);
	if (queued)
		return;

	kfree(req);
	/* The request goes back unchanged but for the opcode. */
	msg->uop = SCIF_CNCT_REJ;
	scif_nodeqp_send(link, msg);
}

/**
 * scif_cnctgnt() - CNCT_GNT: the acceptor granted our connect
 * @dev: link it came on
 * @msg: [0] our cookie, [1] acceptor queue-pair address, [2] its cookie
 */
void scif_cnctgnt(struct scif_dev *dev, struct scifmsg *msg)
{
	struct scif_endpt *ep = scif_ep_get(msg->payload[0]);
	bool taken = false;

	if (ep) {
		spin_lock(&ep->lock);
		if (scif_ep_on_link(ep, dev) && ep->state == SCIFEP_CONNECTING) {
			ep->peer.node = ep->remote_dev->node;
			ep->peer.port = msg->src.port;
			ep->gnt_qp = msg->payload[1];
			ep->remote_ep = msg->payload[2];
			ep->state = SCIFEP_MAPPING;
			taken = true;
		}
		spin_unlock(&ep->lock);
		if (taken)
			wake_up(&ep->wq);
		scif_ep_put(ep);
	}
	if (taken)
		return;
	/* Gave up already (timeout, close): let the acceptor go too. */
	msg->uop = SCIF_CNCT_GNTNACK;
	msg->payload[0] = msg->payload[2];
	scif_nodeqp_send(dev, msg);
}

/**
 * scif_cnctgnt_ack() - CNCT_GNTACK/GNTNACK: the connector's verdict
 * @dev: link it came on
 * @msg: [0] our (acceptor) cookie
 */
void scif_cnctgnt_ack(struct scif_dev *dev, struct scifmsg *msg)
{
	struct scif_endpt *ep = scif_ep_get(msg->payload[0]);
	bool hit = false;

	if (!ep)
		return;
	spin_lock(&ep->lock);
	if (scif_ep_on_link(ep, dev) && ep->state == SCIFEP_ACCEPTING) {
		if (msg->uop == SCIF_CNCT_GNTACK) {
			ep->state = SCIFEP_CONNECTED;
		} else {
			ep->state = SCIFEP_CLOSING;
			ep->conn_err = true;
		}
		hit = true;
	}
	spin_unlock(&ep->lock);
	if (hit)
		wake_up(&ep->wq);
	scif_ep_put(ep);
}

/**
 * scif_cnctrej() - CNCT_REJ: our connect was refused
 * @dev: link it came on
 * @msg: [0] our cookie
 */
void scif_cnctrej(struct scif_dev *dev, struct scifmsg *msg)
{
	struct scif_endpt *ep = scif_ep_get(msg->payload[0]);
	bool hit = false;

	if (!ep)
		return;
	spin_lock(&ep->lock);
	if (scif_ep_on_link(ep, dev) && ep->state == SCIFEP_CONNECTING) {
		ep->state = SCIFEP_BOUND;
		hit = true;
	}
	spin_unlock(&ep->lock);
	if (hit)
		wake_up(&ep->wq);
	scif_ep_put(ep);
}

/**
 * scif_discnct() - DISCNCT: the peer closed its endpoint
 * @dev: link it came on
 * @msg: [0] peer cookie, [1] our cookie
 *
 * Once we acknowledge, the peer frees its queue pair, so our senders and
 * receivers must be out of it first. The acknowledgment goes out even
 * when the endpoint is unknown: the peer waits for it either way.
 */
void scif_discnct(struct scif_dev *dev, struct scifmsg *msg)
{
	struct scif_endpt *ep = scif_ep_get(msg->payload[1]);
	bool hit = false;

	if (ep) {
		spin_lock(&ep->lock);
		if (scif_ep_on_link(ep, dev) && ep->remote_ep == msg->payload[0] &&
		    ep->state == SCIFEP_CONNECTED) {
			ep->state = SCIFEP_DISCONNECTED;
			hit = true;
		}
		spin_unlock(&ep->lock);
		if (hit) {
			wake_up(&ep->wq);
			mutex_lock(&ep->sendlock);
			mutex_unlock(&ep->sendlock);
			mutex_lock(&ep->recvlock);
			mutex_unlock(&ep->recvlock);
		}
		scif_ep_put(ep);
	}
	msg->uop = SCIF_DISCNT_ACK;
	scif_nodeqp_send(dev, msg);
}

/**
 * scif_discnt_ack() - DISCNT_ACK: the peer let go of our endpoint
 * @dev: link it came on
 * @msg: [0] our cookie
 */
void scif_discnt_ack(struct scif_dev *dev, struct scifmsg *msg)
{
	struct scif_endpt *ep = scif_ep_get(msg->payload[0]);
	bool hit = false;

	if (!ep)
		return;
	spin_lock(&ep->lock);
	if (scif_ep_on_link(ep, dev) && ep->state == SCIFEP_CLOSING) {
		ep->discon_acked = true;
		hit = true;
	}
	spin_unlock(&ep->lock);
	if (hit)
		wake_up(&ep->wq);
	scif_ep_put(ep);
}

/**
 * scif_client_notify() - CLIENT_SENT/RCVD: data or room on an endpoint
 * @dev: link it came on
 * @msg: [0] our cookie
 */
void scif_client_notify(struct scif_dev *dev, struct scifmsg *msg)
{
	struct scif_endpt *ep = scif_ep_get(msg->payload[0]);

	if (!ep)
		return;
	if (scif_ep_on_link(ep, dev))
		wake_up(&ep->wq);
	scif_ep_put(ep);
}
