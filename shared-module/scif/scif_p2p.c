// SPDX-License-Identifier: GPL-2.0
/*
 * micemu SCIF: card-to-card links, peer to peer (facts §7.6 step 4).
 *
 * As on the real hardware and with upstream's host, two cards talk to each
 * other directly: a card reaches another card's memory (BAR0, the
 * "aperture") and registers (the MMIO BAR) through its own SMPT window,
 * once the host has mapped those BARs for it. The host only introduces
 * the cards to each other, with upstream's messages and payloads:
 *
 *  - Host, when a card i comes online, for every other online card j:
 *    maps j's BARs for i and i's for j (hw op map_bus, upstream's
 *    dma_map_sg of the peer BARs through the card's DMA ops), then sends
 *    NODE_ADD to i with src.node = j and
 *	[0] i's aperture as j reaches it (i adds it to every address it
 *	    hands j: "base_addr"),
 *	[1] j's MMIO BAR as i reaches it, [2] j's aperture as i reaches it,
 *	[3] the length of j's aperture,
 *    and the mirror image to j.
 *  - Card, on NODE_ADD from the host: the node src.node becomes a P2P link
 *    (scif_devs[N].p2p): ioremap its MMIO BAR through our window, allocate
 *    a node queue pair in our memory (its address for N = our physical
 *    address + [0]), take a doorbell, and answer NODE_ADD_ACK to the host
 *    with dst.node = N, [0] = the queue pair's address, [2] = the doorbell;
 *    NODE_ADD_NACK if any of it fails.
 *  - Host: forwards NODE_ADD_ACK/NACK to dst.node ([1] = highest node id
 *    for an ACK, as upstream).
 *  - Card, on NODE_ADD_ACK (src.node = N): map N's queue pair, ring N's
 *    doorbell [2] through N's registers (hw op send_p2p_intr); node N is
 *    online. Messages N sent before that wait in our ring until then.
 *  - When a card goes away (reset, crash, shutdown, unload), the host
 *    sends NODE_REMOVE ([0] = that card) to the others and drops the BAR
 *    mappings of the pair; a card tears its P2P link down, answers
 *    NODE_REMOVE_ACK. When the host link goes down, every P2P link of the
 *    card goes with it: the host maps the BARs it goes through.
 *
 * Every message may come from a confused or hostile peer: NODE_ADD and
 * NODE_REMOVE are only taken from the host, for a node that may be
 * another card; a card's NODE_ADD_ACK/NACK must speak for the card it came
 * from, about a pair the host introduced; addresses are only used through
 * the window's ioremap, which refuses anything outside it.
 */
#define pr_fmt(fmt) "scif: " fmt

#include <linux/io.h>
#include <linux/list.h>
#include <linux/printk.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "scif_main.h"

/**
 * struct scif_p2p_map - host: one card's view of another card's BARs
 * @from: the card the addresses are for
 * @to: the card whose BARs they reach
 * @aper: @to's aperture in @from's SMPT window
 * @aper_len: its length
 * @mmio: @to's MMIO BAR in @from's SMPT window
 * @mmio_len: its length
 * @list: entry in scif_p2p_maps
 */
struct scif_p2p_map {
	u8 from;
	u8 to;
	dma_addr_t aper;
	u64 aper_len;
	dma_addr_t mmio;
	u64 mmio_len;
	struct list_head list;
};

/* Host: pairs introduced and their mappings; card: P2P teardown. */
static DEFINE_MUTEX(scif_p2p_lock);
static LIST_HEAD(scif_p2p_maps);
static void scif_p2p_work_fn(struct work_struct *work);
static DECLARE_WORK(scif_p2p_work, scif_p2p_work_fn);

/* A node number that may name another card, seen from this card. */
static bool scif_p2p_valid(u64 node)
{
	return node != SCIF_MGMT_NODE && node < SCIF_MAX_NODES &&
	       node != READ_ONCE(scif_info.nodeid);
}

/* Card: whether @dev is the host link, the only one NODE_ADD comes on. */
static bool scif_p2p_from_host(struct scif_dev *dev)
{
	return !scif_is_mgmt_node() && !dev->self && !dev->p2p &&
	       dev->node == SCIF_MGMT_NODE;
}

/* Host: a card link that is online. */
static bool scif_p2p_card_up(struct scif_dev *dev)
{
	return !dev->self && dev->node != SCIF_MGMT_NODE && dev->sdev &&
	       scif_link_up(dev);
}

/* ---- host: introducing cards ------------------------------------------ */

static struct scif_p2p_map *scif_p2p_find(u8 from, u8 to)
{
	struct scif_p2p_map *m;

	list_for_each_entry(m, &scif_p2p_maps, list)
		if (m->from == from && m->to == to)
			return m;
	return NULL;
}

static void scif_p2p_unmap(struct scif_p2p_map *m)
{
	struct scif_hw_dev *sdev = scif_devs[m->from].sdev;

	if (sdev) {
		sdev->ops->unmap_bus(sdev, m->aper, m->aper_len);
		sdev->ops->unmap_bus(sdev, m->mmio, m->mmio_len);
	}
	list_del(&m->list);
	kfree(m);
}

/* Map @to's BARs for @from; scif_p2p_lock held. */
static struct scif_p2p_map *scif_p2p_map(struct scif_dev *from,
					 struct scif_dev *to)
{
	struct scif_hw_dev *fs = from->sdev, *ts = to->sdev;
	struct scif_p2p_map *m;
	int err;

	if (!fs->ops->map_bus || !fs->ops->unmap_bus || !ts->aper_len ||
	    ts->mmio_len < SCIF_P2P_MMIO_LEN)
		return ERR_PTR(-EOPNOTSUPP);
	m = kzalloc(sizeof(*m), GFP_KERNEL);
	if (!m)
		return ERR_PTR(-ENOMEM);
	m->from = from->node;
	m->to = to->node;
	m->aper_len = ts->aper_len;
	m->mmio_len = ts->mmio_len;
	err = fs->ops->map_bus(fs, ts->aper_pa, ts->aper_len, &m->aper);
	if (err)
		goto free;
	err = fs->ops->map_bus(fs, ts->mmio_pa, ts->mmio_len, &m->mmio);
	if (err) {
		fs->ops->unmap_bus(fs, m->aper, m->aper_len);
		goto free;
	}
	list_add_tail(&m->list, &scif_p2p_maps);
	return m;
free:
	kfree(m);
	return ERR_PTR(err);
}

/* Host: send NODE_ADD about @peer to @to, with the pair's addresses. */
static void scif_p2p_node_add(struct scif_dev *to, struct scif_dev *peer,
			      struct scif_p2p_map *to_sees_peer,
			      struct scif_p2p_map *peer_sees_to)
{
	struct scifmsg msg = {
		.src.node = peer->node,
		.dst.node = to->node,
		.uop = SCIF_NODE_ADD,
		.payload = {
			peer_sees_to->aper,
			to_sees_peer->mmio,
			to_sees_peer->aper,
			to_sees_peer->aper_len,
		},
	};

	if (scif_nodeqp_send(to, &msg))
		pr_warn_ratelimited("node %u: NODE_ADD %u not sent\n", to->node,
				    peer->node);
}

/* Host: introduce cards @a and @b to each other; scif_p2p_lock held. */
static void scif_p2p_connect(struct scif_dev *a, struct scif_dev *b)
{
	struct scif_p2p_map *ab, *ba;

	if (scif_p2p_find(a->node, b->node))
		return;			/* introduced already */
	ab = scif_p2p_map(a, b);
	if (IS_ERR(ab))
		goto fail;
	ba = scif_p2p_map(b, a);
	if (IS_ERR(ba)) {
		scif_p2p_unmap(ab);
		ab = ba;
		goto fail;
	}
	pr_info("nodes %u and %u: peer to peer\n", a->node, b->node);
	scif_p2p_node_add(a, b, ab, ba);
	scif_p2p_node_add(b, a, ba, ab);
	return;
fail:
	pr_warn("nodes %u and %u cannot reach each other's BARs (%ld)\n",
		a->node, b->node, PTR_ERR(ab));
}

/**
 * scif_p2p_node_up() - a node came online: introduce it to the other cards
 * @dev: the node; called from its peer work with its peer_lock held, so
 *	that the NODE_REMOVE of its teardown cannot overtake the NODE_ADDs
 */
void scif_p2p_node_up(struct scif_dev *dev)
{
	int node;

	if (!scif_is_mgmt_node() || !scif_p2p_card_up(dev))
		return;
	mutex_lock(&scif_p2p_lock);
	for (node = 1; node < SCIF_MAX_NODES; node++) {
		struct scif_dev *other = &scif_devs[node];

		if (other != dev && scif_p2p_card_up(other))
			scif_p2p_connect(dev, other);
	}
	mutex_unlock(&scif_p2p_lock);
}

/* Host: card @dev is going away: its pairs end, the others are told. */
static void scif_p2p_host_link_down(struct scif_dev *dev)
{
	struct scif_p2p_map *m, *tmp;
	bool told[SCIF_MAX_NODES] = { };
	struct scifmsg msg = {
		.src.node = SCIF_MGMT_NODE,
		.uop = SCIF_NODE_REMOVE,
		.payload[0] = dev->node,
	};

	mutex_lock(&scif_p2p_lock);
	list_for_each_entry_safe(m, tmp, &scif_p2p_maps, list) {
		u8 other;

		if (m->from != dev->node && m->to != dev->node)
			continue;
		other = m->from == dev->node ? m->to : m->from;
		if (!told[other]) {
			told[other] = true;
			msg.dst.node = other;
			if (scif_link_up(&scif_devs[other]))
				scif_nodeqp_send(&scif_devs[other], &msg);
		}
		scif_p2p_unmap(m);
	}
	mutex_unlock(&scif_p2p_lock);
}

/**
 * scif_node_add_ack_msg() - NODE_ADD_ACK / NODE_ADD_NACK
 * @dev: link it came on
 * @msg: src.node = the answering card, dst.node = the card it is for
 *
 * Host: forward it to dst.node (an ACK with [1] = highest node id). Card:
 * src.node's side of the pair is ready (ACK) or failed (NACK).
 */
void scif_node_add_ack_msg(struct scif_dev *dev, struct scifmsg *msg)
{
	struct scif_dev *dst;
	u16 maxid, total;

	if (!scif_is_mgmt_node()) {
		if (scif_p2p_from_host(dev) && scif_p2p_valid(msg->src.node))
			scif_p2p_peer_answer(&scif_devs[msg->src.node], msg);
		else
			pr_warn_ratelimited("node %u: NODE_ADD answer for node %u ignored\n",
					    dev->node, msg->src.node);
		return;
	}
	if (dev->self || msg->src.node != dev->node ||
	    msg->dst.node == SCIF_MGMT_NODE ||
	    msg->dst.node >= SCIF_MAX_NODES || msg->dst.node == dev->node) {
		pr_warn_ratelimited("node %u: NODE_ADD answer %u->%u dropped\n",
				    dev->node, msg->src.node, msg->dst.node);
		return;
	}
	dst = &scif_devs[msg->dst.node];
	mutex_lock(&scif_p2p_lock);
	if (!scif_p2p_find(dev->node, dst->node) || !scif_p2p_card_up(dst)) {
		mutex_unlock(&scif_p2p_lock);
		pr_warn_ratelimited("node %u: NODE_ADD answer for node %u, not introduced\n",
				    dev->node, msg->dst.node);
		return;
	}
	if (msg->uop == SCIF_NODE_ADD_ACK) {
		scif_node_stats(&maxid, &total);
		msg->payload[1] = maxid;
	}
	scif_nodeqp_send(dst, msg);
	mutex_unlock(&scif_p2p_lock);
}

/* ---- card: P2P links --------------------------------------------------- */

/* Card: take P2P link @dev down; its dev->lock is held. */
static void scif_p2p_down_locked(struct scif_dev *dev)
{
	enum scif_link_state state = READ_ONCE(dev->state);
	struct scif_hw_dev *sdev = dev->sdev;

	if (!dev->p2p || state == SCIF_LINK_DOWN)
		return;
	scif_link_quiesce(dev);
	pr_info("node %u offline\n", dev->node);
	scif_link_free_db(dev);
	cancel_work_sync(&dev->rx_work);
	scif_link_unmap_peer(dev);
	cancel_work_sync(&dev->peer_work);
	scif_peer_remove(dev);
	scif_link_free_qp(dev);
	sdev->ops->iounmap(sdev, dev->mmio, SCIF_P2P_MMIO_LEN);
	dev->mmio = NULL;
	mutex_lock(&dev->send_lock);
	dev->sdev = NULL;
	dev->p2p = false;
	WRITE_ONCE(dev->state, SCIF_LINK_DOWN);
	mutex_unlock(&dev->send_lock);
}

static void scif_p2p_work_fn(struct work_struct *work)
{
	struct scif_dev *dev;
	int node;

	for (node = 1; node < SCIF_MAX_NODES; node++) {
		dev = &scif_devs[node];
		if (!READ_ONCE(dev->p2p) ||
		    READ_ONCE(dev->state) != SCIF_LINK_EXITING)
			continue;
		mutex_lock(&dev->lock);
		scif_p2p_down_locked(dev);
		mutex_unlock(&dev->lock);
	}
}

/* Card: NODE_ADD for @dev: set up our half and answer the host. */
static int scif_p2p_setup(struct scif_dev *dev, struct scif_dev *host,
			  struct scifmsg *msg)
{
	struct scif_hw_dev *sdev = host->sdev;
	void __iomem *mmio;
	int err;

	if (!sdev->ops->send_p2p_intr)
		return -EOPNOTSUPP;
	mmio = sdev->ops->ioremap(sdev, msg->payload[1], SCIF_P2P_MMIO_LEN);
	if (!mmio)
		return -EIO;
	dev->sdev = sdev;
	dev->p2p = true;
	dev->mmio = mmio;
	dev->base_addr = msg->payload[0];
	err = scif_link_arm_db(dev, "scif-p2p");
	if (err)
		goto unmap;
	scif_link_set_state(dev, SCIF_LINK_WAIT);
	return 0;

unmap:
	sdev->ops->iounmap(sdev, mmio, SCIF_P2P_MMIO_LEN);
	dev->mmio = NULL;
	dev->p2p = false;
	dev->sdev = NULL;
	return err;
}

/**
 * scif_node_add_msg() - NODE_ADD: the host introduces card src.node
 * @dev: link it came on
 * @msg: upstream's payload (above)
 */
void scif_node_add_msg(struct scif_dev *dev, struct scifmsg *msg)
{
	struct scifmsg ans = {
		.src.node = scif_info.nodeid,
		.dst.node = msg->src.node,
	};
	struct scif_dev *peer;
	int err = -ENODEV;

	if (!scif_p2p_from_host(dev) || !scif_p2p_valid(msg->src.node)) {
		pr_warn_ratelimited("node %u: NODE_ADD for node %u ignored\n",
				    dev->node, msg->src.node);
		return;
	}
	peer = &scif_devs[msg->src.node];
	mutex_lock(&peer->lock);
	if (READ_ONCE(peer->state) != SCIF_LINK_DOWN) {
		mutex_unlock(&peer->lock);
		pr_warn_ratelimited("NODE_ADD for node %u, which is not down\n",
				    peer->node);
		return;
	}
	/* Checked under peer->lock: the host link's teardown takes it too. */
	if (scif_link_up(dev))
		err = scif_p2p_setup(peer, dev, msg);
	if (!err) {
		ans.uop = SCIF_NODE_ADD_ACK;
		ans.payload[0] = peer->qp.wire_addr;
		ans.payload[2] = peer->db;
	} else {
		pr_warn("node %u: peer to peer link not set up (%d)\n",
			peer->node, err);
		ans.uop = SCIF_NODE_ADD_NACK;
	}
	mutex_unlock(&peer->lock);
	scif_nodeqp_send(dev, &ans);
}

/**
 * scif_p2p_peer_answer() - card: the peer answered the host's NODE_ADD
 * @dev: the peer's node
 * @msg: NODE_ADD_ACK ([0] its queue pair, [2] its doorbell) or _NACK
 */
void scif_p2p_peer_answer(struct scif_dev *dev, struct scifmsg *msg)
{
	int err = -EPROTO;

	mutex_lock(&dev->lock);
	if (!dev->p2p || READ_ONCE(dev->state) != SCIF_LINK_WAIT) {
		mutex_unlock(&dev->lock);
		pr_warn_ratelimited("node %u: NODE_ADD answer out of turn\n",
				    dev->node);
		return;
	}
	if (msg->uop == SCIF_NODE_ADD_ACK) {
		mutex_lock(&dev->rx_lock);
		mutex_lock(&dev->send_lock);
		err = scif_qp_map_peer(dev, &dev->qp, msg->payload[0],
				       SCIF_NODE_QP_SIZE, false);
		if (!err) {
			dev->rdb = msg->payload[2];
			dev->tx_ready = true;
			WRITE_ONCE(dev->state, SCIF_LINK_UP);
			pr_info("node %u online, peer to peer\n", dev->node);
			schedule_work(&dev->peer_work);
		}
		mutex_unlock(&dev->send_lock);
		mutex_unlock(&dev->rx_lock);
	}
	if (err) {
		pr_warn("node %u: peer to peer link failed (%s)\n", dev->node,
			msg->uop == SCIF_NODE_ADD_ACK ? "bad queue pair" :
			"refused by the peer");
		scif_link_set_state(dev, SCIF_LINK_EXITING);
		scif_p2p_down_locked(dev);
	}
	mutex_unlock(&dev->lock);
	/* What the peer sent before we were ready is read now. */
	if (!err)
		queue_work(scif_info.wq, &dev->rx_work);
}

/**
 * scif_node_remove_msg() - NODE_REMOVE: the host says card [0] is gone
 * @dev: link it came on
 * @msg: [0] = the card
 *
 * The P2P link stops taking traffic at once and is torn down in the
 * background. NODE_REMOVE_ACK goes back either way, as upstream expects.
 */
void scif_node_remove_msg(struct scif_dev *dev, struct scifmsg *msg)
{
	struct scifmsg ack = { .uop = SCIF_NODE_REMOVE_ACK };
	u64 node = msg->payload[0];
	struct scif_dev *peer;
	bool down = false;

	if (!scif_p2p_from_host(dev))
		return;
	if (scif_p2p_valid(node)) {
		peer = &scif_devs[node];
		mutex_lock(&peer->send_lock);
		if (peer->p2p && (peer->state == SCIF_LINK_UP ||
				  peer->state == SCIF_LINK_WAIT)) {
			WRITE_ONCE(peer->state, SCIF_LINK_EXITING);
			down = true;
		}
		mutex_unlock(&peer->send_lock);
		if (down) {
			scif_eps_wake_node(peer);
			schedule_work(&scif_p2p_work);
		}
	}
	ack.src.node = scif_info.nodeid;
	ack.dst.node = SCIF_MGMT_NODE;
	ack.payload[0] = node;
	scif_nodeqp_send(dev, &ack);
}

/* Card: the host link goes down, and every P2P link with it. */
static void scif_p2p_all_down(void)
{
	struct scif_dev *dev;
	int node;

	for (node = 1; node < SCIF_MAX_NODES; node++) {
		dev = &scif_devs[node];
		if (!READ_ONCE(dev->p2p))
			continue;
		mutex_lock(&dev->lock);
		scif_p2p_down_locked(dev);
		mutex_unlock(&dev->lock);
	}
}

/**
 * scif_p2p_link_down() - a link is being torn down; tell who depends on it
 * @dev: the link, already refusing traffic
 *
 * Host: the other cards get NODE_REMOVE, the pair's BAR mappings go.
 * Card: when it is the host link, every P2P link goes down.
 */
void scif_p2p_link_down(struct scif_dev *dev)
{
	if (dev->self || dev->p2p)
		return;
	if (scif_is_mgmt_node())
		scif_p2p_host_link_down(dev);
	else if (dev->node == SCIF_MGMT_NODE)
		scif_p2p_all_down();
}

/**
 * scif_p2p_exit() - module unload: no P2P work left behind
 */
void scif_p2p_exit(void)
{
	cancel_work_sync(&scif_p2p_work);
}
