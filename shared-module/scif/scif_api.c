// SPDX-License-Identifier: GPL-2.0
/*
 * micemu SCIF: open, bind, listen, connect, accept, close (facts §7.2, §7.7).
 *
 * Connection set-up:
 *   connector                            acceptor
 *   queue pair + ring, CNCT_REQ  ---->   queued on the listener (or REJ)
 *                                        scif_accept(): own queue pair,
 *                                        map the connector's, CNCT_GNT
 *   map the acceptor's, CNCT_GNTACK <--
 *   connected                     ---->  connected
 * A connector that cannot map the grant answers CNCT_GNTNACK instead.
 * While a connect or accept uses a node's hardware ops it holds that
 * node's ep_sem for reading; every wait also ends when the node goes down.
 */
#define pr_fmt(fmt) "scif: " fmt

#include <linux/capability.h>
#include <linux/slab.h>

#include "scif_main.h"

scif_epd_t scif_open(void)
{
	might_sleep();
	return scif_ep_alloc();
}
EXPORT_SYMBOL_GPL(scif_open);

static u16 scif_self_node(void)
{
	int node = READ_ONCE(scif_info.nodeid);

	return node == SCIF_NO_NODE ? 0 : node;
}

int scif_bind(scif_epd_t epd, u16 pn)
{
	struct scif_endpt *ep = epd;
	enum scif_ep_state state;
	int port;

	if (pn && pn < SCIF_ADMIN_PORT_END && !capable(CAP_SYS_ADMIN))
		return -EACCES;
	state = scif_ep_state(ep);
	if (state == SCIFEP_BOUND)
		return -EINVAL;
	if (state != SCIFEP_UNBOUND)
		return -EISCONN;

	port = pn ? scif_port_reserve(pn) : scif_port_alloc();
	if (port < 0)
		return port;
	spin_lock(&ep->lock);
	if (ep->state != SCIFEP_UNBOUND) {
		spin_unlock(&ep->lock);
		scif_port_put(port);
		return -EINVAL;
	}
	ep->port.node = scif_self_node();
	ep->port.port = port;
	ep->state = SCIFEP_BOUND;
	spin_unlock(&ep->lock);
	return port;
}
EXPORT_SYMBOL_GPL(scif_bind);

int scif_listen(scif_epd_t epd, int backlog)
{
	struct scif_endpt *ep = epd;

	spin_lock(&ep->lock);
	switch (ep->state) {
	case SCIFEP_BOUND:
		break;
	case SCIFEP_UNBOUND:
	case SCIFEP_DISCONNECTED:
	case SCIFEP_CLOSING:
		spin_unlock(&ep->lock);
		return -EINVAL;
	default:
		spin_unlock(&ep->lock);
		return -EISCONN;
	}
	ep->state = SCIFEP_LISTENING;
	ep->backlog = backlog;
	ep->conreqcnt = 0;
	spin_unlock(&ep->lock);

	mutex_lock(&scif_info.listen_lock);
	list_add_tail(&ep->listen_node, &scif_info.listeners);
	mutex_unlock(&scif_info.listen_lock);
	return 0;
}
EXPORT_SYMBOL_GPL(scif_listen);

/**
 * scif_send_rej() - refuse a connection request
 * @dev: node the request came from
 * @src: the refusing port
 * @req: the CNCT_REQ
 */
void scif_send_rej(struct scif_dev *dev, const struct scif_port_id *src,
		   struct scifmsg *req)
{
	struct scifmsg msg = {
		.uop = SCIF_CNCT_REJ,
		.src = *src,
		.dst = req->src,
		.payload = { req->payload[0], req->payload[1] },
	};

	scif_nodeqp_send(dev, &msg);
}

static int scif_state_conn_err(enum scif_ep_state state)
{
	switch (state) {
	case SCIFEP_LISTENING:
		return -EOPNOTSUPP;
	case SCIFEP_CONNECTING:
	case SCIFEP_MAPPING:
	case SCIFEP_ACCEPTING:
	case SCIFEP_CONNECTED:
		return -EISCONN;
	default:
		return -EINVAL;
	}
}

/* Move a bound (or, after binding it, unbound) endpoint to CONNECTING. */
static int scif_connect_prepare(struct scif_endpt *ep, struct scif_dev *dev)
{
	enum scif_ep_state state = scif_ep_state(ep);
	int err;

	if (state == SCIFEP_UNBOUND) {
		err = scif_bind(ep, 0);
		if (err < 0)
			return err;
	}
	spin_lock(&ep->lock);
	if (ep->state != SCIFEP_BOUND) {
		err = scif_state_conn_err(ep->state);
		spin_unlock(&ep->lock);
		return err;
	}
	ep->state = SCIFEP_CONNECTING;
	ep->port.node = scif_self_node();
	WRITE_ONCE(ep->remote_dev, dev);
	spin_unlock(&ep->lock);
	return 0;
}

/* The connector half after GNT: map the acceptor's queue, answer. */
static int scif_connect_finish(struct scif_endpt *ep, struct scif_dev *dev,
			       struct scifmsg *msg)
{
	int err;

	err = scif_qp_map_peer(dev, &ep->qp, ep->gnt_qp, SCIF_ENDPT_QP_SIZE,
			       false);
	msg->payload[0] = ep->remote_ep;
	if (err) {
		msg->uop = SCIF_CNCT_GNTNACK;
		scif_nodeqp_send(dev, msg);
		return err;
	}
	/*
	 * Connected before GNTACK goes out: once the acceptor has it, it may
	 * send data or DISCNCT at once, and both must find us connected.
	 */
	scif_ep_set_state(ep, SCIFEP_CONNECTED);
	msg->uop = SCIF_CNCT_GNTACK;
	err = scif_nodeqp_send(dev, msg);
	if (err) {
		scif_ep_set_state(ep, SCIFEP_MAPPING);
		scif_qp_unmap_peer(dev, &ep->qp);
	}
	return err;
}

static bool scif_connect_done(struct scif_endpt *ep, struct scif_dev *dev)
{
	return scif_ep_state(ep) != SCIFEP_CONNECTING || !scif_link_up(dev);
}

/* Called with dev->ep_sem held for reading. */
static int scif_connect_handshake(struct scif_endpt *ep, struct scif_dev *dev,
				  struct scif_port_id *dst)
{
	struct scifmsg msg = { .uop = SCIF_CNCT_REQ };
	enum scif_ep_state state;
	int err;

	if (!scif_link_up(dev))
		return -ENODEV;
	err = scif_qp_create(dev, &ep->qp, SCIF_ENDPT_QP_SIZE);
	if (err)
		return err;

	msg.src = ep->port;
	msg.dst = *dst;
	msg.payload[0] = ep->cookie;
	msg.payload[1] = ep->qp.wire_addr;
	err = scif_nodeqp_send(dev, &msg);
	if (err)
		goto free_qp;

	wait_event_timeout(ep->wq, scif_connect_done(ep, dev),
			   scif_alive_timeout());
	state = scif_ep_state(ep);
	if (!scif_link_up(dev))
		err = -ENODEV;
	else if (state == SCIFEP_MAPPING)
		err = scif_connect_finish(ep, dev, &msg);
	else if (state == SCIFEP_CONNECTING || state == SCIFEP_BOUND)
		err = -ECONNREFUSED;	/* REJ, or no answer in time */
	else
		err = -EINVAL;		/* closed under our feet */
	if (!err)
		return 0;
free_qp:
	scif_qp_unmap_local(dev, &ep->qp);
	scif_qp_free(&ep->qp);
	memset(&ep->qp, 0, sizeof(ep->qp));
	return err;
}

/**
 * scif_ep_connect() - connect an endpoint that is CONNECTING to @dev
 * @ep: endpoint with its port and remote_dev set
 * @dev: node to connect to
 * @dst: port there
 *
 * On failure the endpoint is bound again (unless it is being closed).
 *
 * Return: 0 or a negative errno, as scif_connect().
 */
int scif_ep_connect(struct scif_endpt *ep, struct scif_dev *dev,
		    struct scif_port_id *dst)
{
	int err;

	down_read(&dev->ep_sem);
	err = scif_connect_handshake(ep, dev, dst);
	up_read(&dev->ep_sem);
	if (err) {
		spin_lock(&ep->lock);
		if (ep->state != SCIFEP_CLOSING)
			ep->state = SCIFEP_BOUND;
		WRITE_ONCE(ep->remote_dev, NULL);
		spin_unlock(&ep->lock);
	}
	return err;
}

int scif_connect(scif_epd_t epd, struct scif_port_id *dst)
{
	struct scif_endpt *ep = epd;
	struct scif_dev *dev;
	int err;

	might_sleep();
	if (!dst)
		return -EINVAL;
	if (dst->node >= SCIF_MAX_NODES)
		return -ENODEV;
	dev = &scif_devs[dst->node];
	if (!scif_link_up(dev))
		return -ENODEV;
	err = scif_connect_prepare(ep, dev);
	if (err)
		return err;
	return scif_ep_connect(ep, dev, dst);
}
EXPORT_SYMBOL_GPL(scif_connect);

static bool scif_accept_ready(struct scif_endpt *lep)
{
	bool ready;

	spin_lock(&lep->lock);
	ready = lep->conreqcnt || lep->state != SCIFEP_LISTENING;
	spin_unlock(&lep->lock);
	return ready;
}

/* Take the next connection request, waiting for one if @flags says so. */
static int scif_accept_next(struct scif_endpt *lep, int flags,
			    struct scif_conreq **reqp)
{
	struct scif_conreq *req;
	int err;

	for (;;) {
		spin_lock(&lep->lock);
		if (lep->state != SCIFEP_LISTENING) {
			spin_unlock(&lep->lock);
			return -EINVAL;
		}
		req = list_first_entry_or_null(&lep->conreqs,
					       struct scif_conreq, list);
		if (req) {
			list_del(&req->list);
			lep->conreqcnt--;
			spin_unlock(&lep->lock);
			*reqp = req;
			return 0;
		}
		spin_unlock(&lep->lock);
		if (!(flags & SCIF_ACCEPT_SYNC))
			return -EAGAIN;
		err = wait_event_interruptible(lep->wq, scif_accept_ready(lep));
		if (err)
			return err;
		if (scif_ep_state(lep) != SCIFEP_LISTENING)
			return -EINTR;
	}
}

static bool scif_accept_done(struct scif_endpt *cep, struct scif_dev *dev)
{
	return scif_ep_state(cep) != SCIFEP_ACCEPTING || !scif_link_up(dev);
}

/* Grant one request from @port; called with dev->ep_sem held for reading. */
static int scif_accept_grant(const struct scif_port_id *port,
			     struct scif_endpt *cep, struct scif_conreq *req,
			     struct scif_dev *dev)
{
	struct scifmsg msg = { .uop = SCIF_CNCT_GNT, .src = *port };
	enum scif_ep_state state;
	int err;

	if (!scif_link_up(dev))
		return -ENODEV;
	WRITE_ONCE(cep->remote_dev, dev);
	err = scif_qp_create(dev, &cep->qp, SCIF_ENDPT_QP_SIZE);
	if (err)
		goto reject;
	err = scif_qp_map_peer(dev, &cep->qp, req->msg.payload[1],
			       SCIF_ENDPT_QP_SIZE, true);
	if (err)
		goto reject;

	spin_lock(&cep->lock);
	cep->port = *port;
	cep->peer.node = dev->node;
	cep->peer.port = req->msg.src.port;
	cep->remote_ep = req->msg.payload[0];
	cep->state = SCIFEP_ACCEPTING;
	spin_unlock(&cep->lock);

	msg.dst = cep->peer;
	msg.payload[0] = cep->remote_ep;
	msg.payload[1] = cep->qp.wire_addr;
	msg.payload[2] = cep->cookie;
	err = scif_nodeqp_send(dev, &msg);
	if (err)
		return err;

	wait_event_timeout(cep->wq, scif_accept_done(cep, dev),
			   scif_alive_timeout());
	state = scif_ep_state(cep);
	if (state == SCIFEP_CONNECTED)
		return 0;
	if (!scif_link_up(dev))
		return -ENODEV;
	/* GNTNACK, or no answer in time: try the next request. */
	return -EAGAIN;

reject:
	scif_send_rej(dev, port, &req->msg);
	return err;
}

/* Undo a failed grant. */
static void scif_accept_abort(struct scif_endpt *cep, struct scif_dev *dev)
{
	spin_lock(&cep->lock);
	cep->state = SCIFEP_CLOSING;
	cep->port.port = 0;
	spin_unlock(&cep->lock);
	scif_ep_qp_unmap(cep);
	scif_ep_release_id(cep);
	scif_ep_put(cep);
}

/**
 * scif_ep_grant() - grant a connection request to a fresh endpoint
 * @port: the port the connector asked for
 * @cep: new endpoint, unbound; freed on failure
 * @req: the request
 *
 * Return: 0 (connected), -EAGAIN (the connector let go) or another
 * negative errno.
 */
int scif_ep_grant(const struct scif_port_id *port, struct scif_endpt *cep,
		  struct scif_conreq *req)
{
	struct scif_dev *dev = req->dev;
	int err;

	down_read(&dev->ep_sem);
	err = scif_accept_grant(port, cep, req, dev);
	if (err)
		scif_accept_abort(cep, dev);
	up_read(&dev->ep_sem);
	return err;
}

int scif_accept(scif_epd_t epd, struct scif_port_id *peer,
		scif_epd_t *newepd, int flags)
{
	struct scif_endpt *lep = epd, *cep;
	struct scif_conreq *req;
	int err;

	might_sleep();
	if ((flags & ~SCIF_ACCEPT_SYNC) || !peer || !newepd)
		return -EINVAL;
	do {
		err = scif_accept_next(lep, flags, &req);
		if (err)
			return err;
		cep = scif_ep_alloc();
		if (!cep) {
			scif_send_rej(req->dev, &lep->port, &req->msg);
			kfree(req);
			return -ENOMEM;
		}
		err = scif_ep_grant(&lep->port, cep, req);
		kfree(req);
	} while (err == -EAGAIN && (flags & SCIF_ACCEPT_SYNC));
	if (err)
		return err;

	scif_port_get(cep->port.port);
	*peer = cep->peer;
	*newepd = cep;
	return 0;
}
EXPORT_SYMBOL_GPL(scif_accept);

static void scif_close_listener(struct scif_endpt *ep)
{
	struct scif_conreq *req, *tmp;
	LIST_HEAD(pending);

	mutex_lock(&scif_info.listen_lock);
	list_del_init(&ep->listen_node);
	mutex_unlock(&scif_info.listen_lock);

	spin_lock(&ep->lock);
	list_splice_init(&ep->conreqs, &pending);
	ep->conreqcnt = 0;
	spin_unlock(&ep->lock);
	list_for_each_entry_safe(req, tmp, &pending, list) {
		scif_send_rej(req->dev, &ep->port, &req->msg);
		kfree(req);
	}
}

static bool scif_close_done(struct scif_endpt *ep, struct scif_dev *dev)
{
	return READ_ONCE(ep->discon_acked) || !scif_link_up(dev);
}

/* facts §7.7 step 5: DISCNCT, wait for DISCNT_ACK, drop the queue pair. */
static void scif_close_connected(struct scif_endpt *ep, bool notify)
{
	struct scif_dev *dev = ep->remote_dev;
	struct scifmsg msg = {
		.uop = SCIF_DISCNCT,
		.src = ep->port,
		.dst = ep->peer,
		.payload = { ep->cookie, ep->remote_ep },
	};

	if (!dev)
		return;
	down_read(&dev->ep_sem);
	if (notify && scif_link_up(dev)) {
		/* Senders and receivers saw CLOSING; let them leave first. */
		mutex_lock(&ep->sendlock);
		mutex_unlock(&ep->sendlock);
		mutex_lock(&ep->recvlock);
		mutex_unlock(&ep->recvlock);
		if (!scif_nodeqp_send(dev, &msg))
			wait_event_timeout(ep->wq, scif_close_done(ep, dev),
					   scif_alive_timeout());
	}
	scif_ep_qp_unmap(ep);
	up_read(&dev->ep_sem);
}

/**
 * scif_ep_shutdown() - disconnect or stop listening, as scif_close() does
 * @ep: endpoint; its port and table entry are left to the caller
 */
void scif_ep_shutdown(struct scif_endpt *ep)
{
	enum scif_ep_state old;

	might_sleep();
	/* Windows go first, while the peer can still be told. */
	scif_rma_ep_close(ep);
	spin_lock(&ep->lock);
	old = ep->state;
	ep->state = SCIFEP_CLOSING;
	ep->discon_acked = false;
	spin_unlock(&ep->lock);
	wake_up(&ep->wq);

	switch (old) {
	case SCIFEP_LISTENING:
		scif_close_listener(ep);
		break;
	case SCIFEP_CONNECTED:
		scif_close_connected(ep, true);
		break;
	case SCIFEP_DISCONNECTED:
		scif_close_connected(ep, false);
		break;
	default:
		break;
	}
}

int scif_close(scif_epd_t epd)
{
	struct scif_endpt *ep = epd;

	might_sleep();
	scif_ep_shutdown(ep);
	if (ep->port.port)
		scif_port_put(ep->port.port);
	scif_ep_release_id(ep);
	scif_ep_put(ep);
	return 0;
}
EXPORT_SYMBOL_GPL(scif_close);
