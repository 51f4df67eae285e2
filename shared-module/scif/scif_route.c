// SPDX-License-Identifier: GPL-2.0
/*
 * micemu SCIF: other cards, reached through the host.
 *
 * A card reaches its own memory and, through its SMPT window, the host's
 * RAM, never another card's memory. So a connection between two cards is
 * terminated on the host by a pair of host endpoints that copy the bytes
 * across (scif_relay.c), and what a card needs is to know which other
 * cards are online and how to address them:
 *
 *  - Host: when a card comes online, every other online card gets
 *    NODE_ADD with src.node = the new card, and the new card gets one
 *    NODE_ADD per other online card. When a card goes away, the others
 *    get NODE_REMOVE with [0] = that card. These are upstream's opcodes
 *    (facts §7.4), but the payload, upstream's peer-to-peer apertures, is
 *    all zero here: the node is reached through the host.
 *  - Card: another card N is a routed node, scif_devs[N] with @via set to
 *    the host link. It is online while the host says so; its messages and
 *    its endpoint mappings go over the host link, where the host relay
 *    plays the other end. A connection request that the relay forwards on
 *    behalf of card N comes from the host with src.node = N (the host
 *    checks that a card only ever speaks for itself) and is queued for
 *    routed node N, which comes online with it if NODE_ADD is still on
 *    its way.
 *
 * A routed node is set online in the host link's receive path and taken
 * down in a work item (endpoints have to be disconnected, which sleeps);
 * an announcement that arrives meanwhile brings it back afterwards. When
 * the host link goes down, every routed node goes with it.
 */
#define pr_fmt(fmt) "scif: " fmt

#include <linux/printk.h>
#include <linux/workqueue.h>

#include "scif_main.h"

static DEFINE_MUTEX(scif_route_lock);	/* routed node teardown */
static void scif_route_work_fn(struct work_struct *work);
static DECLARE_WORK(scif_route_work, scif_route_work_fn);

/* A node number that may name another card, seen from this card. */
static bool scif_route_valid(u64 node)
{
	return node != SCIF_MGMT_NODE && node < SCIF_MAX_NODES &&
	       node != READ_ONCE(scif_info.nodeid);
}

/* Host: tell card @to that card @node came (@add) or went. */
static void scif_route_tell(struct scif_dev *to, u8 node, bool add)
{
	struct scifmsg msg = {
		.src.node = add ? node : SCIF_MGMT_NODE,
		.dst.node = to->node,
		.uop = add ? SCIF_NODE_ADD : SCIF_NODE_REMOVE,
	};

	if (!add)
		msg.payload[0] = node;
	if (scif_nodeqp_send(to, &msg))
		pr_warn_ratelimited("node %u: NODE_%s %u not sent\n", to->node,
				    add ? "ADD" : "REMOVE", node);
}

/* Host: the cards that are online, but @skip. */
static bool scif_route_other_card(struct scif_dev *dev, struct scif_dev *skip)
{
	return dev != skip && !dev->self && dev->node != SCIF_MGMT_NODE &&
	       scif_link_up(dev);
}

/**
 * scif_route_node_up() - a node came online: introduce cards to each other
 * @dev: the node; called from its peer work with its peer_lock held, so
 *	that the NODE_REMOVE of its teardown cannot overtake these
 */
void scif_route_node_up(struct scif_dev *dev)
{
	int node;

	if (!scif_is_mgmt_node() || dev->self || !scif_link_up(dev))
		return;
	for (node = 1; node < SCIF_MAX_NODES; node++) {
		struct scif_dev *other = &scif_devs[node];

		if (!scif_route_other_card(other, dev))
			continue;
		scif_route_tell(other, dev->node, true);
		scif_route_tell(dev, node, true);
	}
}

/* Card: routed node @dev is EXITING; disconnect it. scif_route_lock held. */
static void scif_route_down(struct scif_dev *dev, bool may_readd)
{
	bool readd;

	scif_link_quiesce(dev);
	mutex_lock(&dev->send_lock);
	readd = may_readd && dev->route_readd && scif_link_up(dev->via);
	dev->route_readd = false;
	WRITE_ONCE(dev->state, readd ? SCIF_LINK_UP : SCIF_LINK_DOWN);
	mutex_unlock(&dev->send_lock);
	pr_info("node %u %s\n", dev->node, readd ? "back" : "offline");
	if (readd)
		schedule_work(&dev->peer_work);
}

static void scif_route_work_fn(struct work_struct *work)
{
	struct scif_dev *dev;
	int node;

	mutex_lock(&scif_route_lock);
	for (node = 1; node < SCIF_MAX_NODES; node++) {
		dev = &scif_devs[node];
		if (READ_ONCE(dev->via) &&
		    READ_ONCE(dev->state) == SCIF_LINK_EXITING)
			scif_route_down(dev, true);
	}
	mutex_unlock(&scif_route_lock);
}

/* Card: the host link is going down, and every routed node with it. */
static void scif_route_all_down(void)
{
	enum scif_link_state state;
	struct scif_dev *dev;
	int node;

	mutex_lock(&scif_route_lock);
	for (node = 1; node < SCIF_MAX_NODES; node++) {
		dev = &scif_devs[node];
		state = READ_ONCE(dev->state);
		if (READ_ONCE(dev->via) &&
		    (state == SCIF_LINK_UP || state == SCIF_LINK_EXITING))
			scif_route_down(dev, false);
	}
	mutex_unlock(&scif_route_lock);
}

/**
 * scif_route_link_down() - a link is being torn down; tell who depends on it
 * @dev: the link, already refusing traffic
 *
 * Host: the other cards get NODE_REMOVE. Card: the routed nodes behind
 * the host link go down.
 */
void scif_route_link_down(struct scif_dev *dev)
{
	int node;

	if (dev->self || READ_ONCE(dev->via))
		return;
	if (!scif_is_mgmt_node()) {
		if (dev->node == SCIF_MGMT_NODE)
			scif_route_all_down();
		return;
	}
	for (node = 1; node < SCIF_MAX_NODES; node++) {
		struct scif_dev *other = &scif_devs[node];

		if (scif_route_other_card(other, dev))
			scif_route_tell(other, dev->node, false);
	}
}

/**
 * scif_route_send() - send a message to a routed node
 * @dev: the routed node
 * @msg: message; its dst.node names @dev, the host relay reads no more
 *
 * Return: 0 or -ENODEV, as scif_nodeqp_send().
 */
int scif_route_send(struct scif_dev *dev, struct scifmsg *msg)
{
	if (!scif_link_up(dev))
		return -ENODEV;
	return scif_nodeqp_send(dev->via, msg);
}

/* Card: bring routed node @node up; from the host link's receive path. */
static struct scif_dev *scif_route_up(struct scif_dev *link, u8 node)
{
	struct scif_dev *dev = &scif_devs[node];
	bool up;

	mutex_lock(&dev->send_lock);
	WRITE_ONCE(dev->via, link);
	/* Checked after the host link's teardown set it EXITING, or before. */
	if (dev->state == SCIF_LINK_DOWN && scif_link_up(link)) {
		WRITE_ONCE(dev->state, SCIF_LINK_UP);
		pr_info("node %u online, through the host\n", node);
		schedule_work(&dev->peer_work);
	} else if (dev->state == SCIF_LINK_EXITING) {
		dev->route_readd = true;
	}
	up = dev->state == SCIF_LINK_UP;
	mutex_unlock(&dev->send_lock);
	return up ? dev : NULL;
}

/* Card: whether @dev is the host link, the only one routed nodes use. */
static bool scif_route_from_host(struct scif_dev *dev)
{
	return !scif_is_mgmt_node() && !dev->self &&
	       dev->node == SCIF_MGMT_NODE;
}

/**
 * scif_route_origin() - the node a connection request comes from
 * @dev: link it arrived on
 * @msg: the CNCT_REQ
 *
 * Return: @dev, or on a card for a request the host relays from another
 * card, that card's routed node; NULL if there is no such node.
 */
struct scif_dev *scif_route_origin(struct scif_dev *dev, struct scifmsg *msg)
{
	u16 node = msg->src.node;

	if (!scif_route_from_host(dev) || node == SCIF_MGMT_NODE)
		return dev;
	if (!scif_route_valid(node)) {
		pr_warn_ratelimited("connection request from node %u refused\n",
				    node);
		return NULL;
	}
	return scif_route_up(dev, node);
}

/**
 * scif_node_add_msg() - NODE_ADD: the host announces card src.node
 * @dev: link it came on
 * @msg: src.node = the card; the payload (P2P apertures upstream) is
 *	not used
 */
void scif_node_add_msg(struct scif_dev *dev, struct scifmsg *msg)
{
	if (!scif_route_from_host(dev) || !scif_route_valid(msg->src.node)) {
		pr_warn_ratelimited("node %u: NODE_ADD for node %u ignored\n",
				    dev->node, msg->src.node);
		return;
	}
	scif_route_up(dev, msg->src.node);
}

/**
 * scif_node_remove_msg() - NODE_REMOVE: the host says card [0] is gone
 * @dev: link it came on
 * @msg: [0] = the card
 *
 * The routed node stops taking traffic at once; its endpoints are
 * disconnected in the background. NODE_REMOVE_ACK goes back either way,
 * so that an upstream host does not wait for us.
 */
void scif_node_remove_msg(struct scif_dev *dev, struct scifmsg *msg)
{
	struct scifmsg ack = { .uop = SCIF_NODE_REMOVE_ACK };
	u64 node = msg->payload[0];
	struct scif_dev *rdev;
	bool down = false;

	if (!scif_route_from_host(dev))
		return;
	if (scif_route_valid(node)) {
		rdev = &scif_devs[node];
		mutex_lock(&rdev->send_lock);
		if (rdev->via && rdev->state == SCIF_LINK_UP) {
			WRITE_ONCE(rdev->state, SCIF_LINK_EXITING);
			down = true;
		}
		rdev->route_readd = false;
		mutex_unlock(&rdev->send_lock);
		if (down) {
			scif_eps_wake_node(rdev);
			schedule_work(&scif_route_work);
		}
	}
	ack.src.node = scif_info.nodeid;
	ack.dst.node = SCIF_MGMT_NODE;
	ack.payload[0] = node;
	scif_nodeqp_send(dev, &ack);
}

/**
 * scif_route_exit() - module unload: no routed node work left behind
 */
void scif_route_exit(void)
{
	cancel_work_sync(&scif_route_work);
}
