// SPDX-License-Identifier: GPL-2.0
/*
 * micemu SCIF: node messages and node teardown (facts §7.4, §7.6).
 *
 * Every message comes from the other node and may be garbage: unknown
 * opcodes are logged (rate-limited) and dropped, node-level requests are
 * only honoured in the states where they make sense, and endpoint cookies
 * are looked up in our own endpoint table (scif_epd.c), never followed.
 *
 * Teardown, whoever starts it: stop all but INIT/EXIT/EXIT_ACK traffic,
 * disconnect every endpoint on the node and drop its peer device, then
 * exchange EXIT/EXIT_ACK and unmap the peer's queue pair. Our device page
 * fields are cleared first when this side goes away. Unlike upstream we
 * do not route by the src.node field of a message in general: upstream
 * leaves it uninitialised in several messages. Only the P2P set-up
 * messages (NODE_ADD and its answers, scif_p2p.c) are about another node.
 */
#define pr_fmt(fmt) "scif: " fmt

#include <linux/printk.h>
#include <linux/slab.h>

#include "scif_main.h"

typedef void (*scif_msg_handler)(struct scif_dev *dev, struct scifmsg *msg);

static void scif_init_msg(struct scif_dev *dev, struct scifmsg *msg)
{
	scif_link_init_rcvd(dev);
}

/* facts §7.6 step 5: the peer is leaving; called with rx_lock held. */
static void scif_exit_msg(struct scif_dev *dev, struct scifmsg *msg)
{
	struct scifmsg ack = { .uop = SCIF_EXIT_ACK };

	mutex_lock(&dev->send_lock);
	if (dev->state == SCIF_LINK_WAIT) {
		/* It left before we mapped it; nothing to tear down. */
		dev->init_rcvd = false;
		goto unlock;
	}
	dev->rx_stopped = true;
	dev->exit_rcvd = true;
	if (dev->state == SCIF_LINK_EXITING) {
		/* Both sides are leaving: each EXIT answers the other. */
		ack.src.node = scif_info.nodeid;
		ack.dst.node = dev->node;
		scif_nodeqp_send_locked(dev, &ack);
		dev->exit_acked = true;
		wake_up(&dev->exit_wq);
	} else if (dev->state == SCIF_LINK_MAPPED ||
		   dev->state == SCIF_LINK_UP) {
		schedule_work(&dev->exit_work);
	}
unlock:
	mutex_unlock(&dev->send_lock);
}

static void scif_exit_ack_msg(struct scif_dev *dev, struct scifmsg *msg)
{
	if (READ_ONCE(dev->state) != SCIF_LINK_EXITING) {
		pr_warn_ratelimited("node %u: unexpected EXIT_ACK\n", dev->node);
		return;
	}
	dev->rx_stopped = true;
	WRITE_ONCE(dev->exit_acked, true);
	wake_up(&dev->exit_wq);
}

static void scif_node_remove_ack_msg(struct scif_dev *dev,
				     struct scifmsg *msg)
{
	/* The host's NODE_REMOVE needs no answer: nothing waits for it. */
}

/* A card asks the host how big the network is (facts §7.4). */
static void scif_node_info_msg(struct scif_dev *dev, struct scifmsg *msg)
{
	struct scifmsg reply = *msg;
	u16 maxid, total;

	if (!scif_is_mgmt_node() || dev->self)
		return;
	scif_node_stats(&maxid, &total);
	reply.src.node = scif_info.nodeid;
	reply.dst.node = dev->node;
	reply.payload[1] = maxid;
	reply.payload[2] = total;
	scif_nodeqp_send(dev, &reply);
}

static const scif_msg_handler scif_handlers[SCIF_MAX_UOP + 1] = {
	[SCIF_INIT] = scif_init_msg,
	[SCIF_EXIT] = scif_exit_msg,
	[SCIF_EXIT_ACK] = scif_exit_ack_msg,
	[SCIF_NODE_ADD] = scif_node_add_msg,
	[SCIF_NODE_ADD_ACK] = scif_node_add_ack_msg,
	[SCIF_NODE_ADD_NACK] = scif_node_add_ack_msg,
	[SCIF_NODE_REMOVE] = scif_node_remove_msg,
	[SCIF_NODE_REMOVE_ACK] = scif_node_remove_ack_msg,
	[SCIF_CNCT_REQ] = scif_cnctreq,
	[SCIF_CNCT_GNT] = scif_cnctgnt,
	[SCIF_CNCT_GNTACK] = scif_cnctgnt_ack,
	[SCIF_CNCT_GNTNACK] = scif_cnctgnt_ack,
	[SCIF_CNCT_REJ] = scif_cnctrej,
	[SCIF_DISCNCT] = scif_discnct,
	[SCIF_DISCNT_ACK] = scif_discnt_ack,
	[SCIF_CLIENT_SENT] = scif_client_notify,
	[SCIF_CLIENT_RCVD] = scif_client_notify,
	[SCIF_GET_NODE_INFO] = scif_node_info_msg,
	[SCIF_REGISTER ... SCIF_SIG_NACK] = scif_rma_msg,
};

/**
 * scif_handle_msg() - act on one message from a node
 * @dev: the link it arrived on
 * @msg: the message, a private copy
 *
 * Runs in the link's rx work.
 */
void scif_handle_msg(struct scif_dev *dev, struct scifmsg *msg)
{
	scif_msg_handler fn = NULL;
	enum scif_link_state state = READ_ONCE(dev->state);

	if (msg->uop <= SCIF_MAX_UOP)
		fn = scif_handlers[msg->uop];
	if (!fn) {
		/* Unknown, or P2P messages. */
		pr_warn_ratelimited("node %u: message %u not supported, dropped\n",
				    dev->node, msg->uop);
		return;
	}
	if (msg->uop <= SCIF_EXIT_ACK && (dev->self || dev->p2p)) {
		/* Link-level messages travel on hardware links to the host. */
		pr_warn_ratelimited("node %u: link message %u dropped\n",
				    dev->node, msg->uop);
		return;
	}
	if (msg->uop > SCIF_EXIT_ACK && state != SCIF_LINK_UP) {
		/* Late traffic during teardown is expected; anything else is not. */
		if (state != SCIF_LINK_EXITING)
			pr_warn_ratelimited("node %u: message %u before INIT, dropped\n",
					    dev->node, msg->uop);
		return;
	}
	fn(dev, msg);
}

/**
 * scif_link_quiesce() - first half of any teardown
 * @dev: node; its dev->lock is held
 *
 * Refuse new traffic, disconnect endpoints, drop the peer device, and
 * take down what depends on the link (scif_p2p_link_down()).
 */
void scif_link_quiesce(struct scif_dev *dev)
{
	scif_link_set_state(dev, SCIF_LINK_EXITING);
	/* Waiters in connect/accept/close give up and drop ep_sem. */
	scif_eps_wake_node(dev);
	down_write(&dev->ep_sem);
	scif_eps_invalidate_node(dev);
	up_write(&dev->ep_sem);
	scif_peer_remove(dev);
	scif_p2p_link_down(dev);
}

/* Say goodbye: answer the peer's EXIT, or send ours and wait for the ack. */
static void scif_link_goodbye(struct scif_dev *dev)
{
	struct scifmsg msg = {
		.src.node = scif_info.nodeid,
		.dst.node = dev->node,
	};
	bool wait = false;

	mutex_lock(&dev->send_lock);
	if (dev->exit_acked) {
		/* Crossed EXITs, already settled by scif_exit_msg(). */
	} else if (dev->exit_rcvd) {
		msg.uop = SCIF_EXIT_ACK;
		scif_nodeqp_send_locked(dev, &msg);
	} else {
		msg.uop = SCIF_EXIT;
		wait = !scif_nodeqp_send_locked(dev, &msg);
	}
	mutex_unlock(&dev->send_lock);

	if (wait && !wait_event_timeout(dev->exit_wq, READ_ONCE(dev->exit_acked),
					scif_alive_timeout()))
		pr_warn("node %u: no EXIT_ACK, going ahead\n", dev->node);
}

/**
 * scif_link_unmap_peer() - last half of a teardown: forget the peer's QP
 * @dev: node, quiesced, its peer silent; its lock is held
 *
 * Also frees what scif_eps_invalidate_node() kept alive for the peer.
 */
void scif_link_unmap_peer(struct scif_dev *dev)
{
	mutex_lock(&dev->rx_lock);
	mutex_lock(&dev->send_lock);
	dev->tx_ready = false;
	scif_qp_unmap_peer(dev, &dev->qp);
	mutex_unlock(&dev->send_lock);
	mutex_unlock(&dev->rx_lock);
	scif_eps_release_parked(dev);
}

/**
 * scif_exit_work() - the peer sent EXIT: disconnect, then wait for it again
 * @work: scif_dev.exit_work
 *
 * EXIT is the peer's last message, and once it has our EXIT_ACK it may come
 * back at any time and write to our inbound ring from offset 0. So that
 * ring is reset before the EXIT_ACK goes out; our queue pair stays
 * published for the peer's return (facts §7.6 step 5).
 */
void scif_exit_work(struct work_struct *work)
{
	struct scif_dev *dev = container_of(work, struct scif_dev, exit_work);

	mutex_lock(&dev->lock);
	if (dev->state != SCIF_LINK_MAPPED && dev->state != SCIF_LINK_UP)
		goto unlock;
	pr_info("node %u left\n", dev->node);
	scif_link_quiesce(dev);
	mutex_lock(&dev->rx_lock);
	scif_qp_reset_inbound(&dev->qp);
	mutex_unlock(&dev->rx_lock);
	scif_link_goodbye(dev);
	scif_link_unmap_peer(dev);

	mutex_lock(&dev->send_lock);
	WRITE_ONCE(dev->qp.wire->local_read, 0);
	dev->init_rcvd = false;
	dev->exit_rcvd = false;
	dev->exit_acked = false;
	WRITE_ONCE(dev->state, SCIF_LINK_WAIT);
	mutex_unlock(&dev->send_lock);
	mutex_lock(&dev->rx_lock);
	dev->rx_stopped = false;
	mutex_unlock(&dev->rx_lock);
	/* The peer may be back already: read its INIT, look for its QP. */
	queue_work(scif_info.wq, &dev->rx_work);
	schedule_delayed_work(&dev->poll_work, msecs_to_jiffies(scif_poll_ms));
unlock:
	mutex_unlock(&dev->lock);
}

/**
 * scif_link_destroy() - take a hardware link down for good
 * @dev: link with a hardware device
 *
 * On return nothing uses @dev->sdev any more.
 */
void scif_link_destroy(struct scif_dev *dev)
{
	bool online;

	mutex_lock(&dev->lock);
	scif_bootparam_publish(dev, true);
	online = dev->state == SCIF_LINK_MAPPED || dev->state == SCIF_LINK_UP;
	if (online) {
		scif_link_quiesce(dev);
		scif_link_goodbye(dev);
		scif_link_unmap_peer(dev);
	}
	scif_link_set_state(dev, SCIF_LINK_DOWN);
	mutex_unlock(&dev->lock);
	if (online)
		pr_info("node %u offline\n", dev->node);

	scif_link_free_db(dev);
	cancel_work_sync(&dev->rx_work);
	cancel_work_sync(&dev->exit_work);
	cancel_delayed_work_sync(&dev->poll_work);
	cancel_work_sync(&dev->peer_work);
	scif_peer_remove(dev);

	scif_link_free_qp(dev);
	mutex_lock(&dev->lock);
	dev->sdev = NULL;
	mutex_unlock(&dev->lock);
}

/**
 * scif_loopback_destroy() - take the loopback link down (module unload)
 * @dev: the loopback link
 */
void scif_loopback_destroy(struct scif_dev *dev)
{
	struct scif_loopb_msg *lm, *tmp;

	mutex_lock(&dev->lock);
	scif_link_quiesce(dev);
	scif_eps_release_parked(dev);	/* no peer writes to loopback rings */
	scif_link_set_state(dev, SCIF_LINK_DOWN);
	mutex_unlock(&dev->lock);
	cancel_work_sync(&dev->rx_work);
	cancel_work_sync(&dev->peer_work);
	scif_peer_remove(dev);
	list_for_each_entry_safe(lm, tmp, &dev->loopb_msgs, list) {
		list_del(&lm->list);
		kfree(lm);
	}
	dev->self = false;
}
