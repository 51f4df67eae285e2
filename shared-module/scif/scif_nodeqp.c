// SPDX-License-Identifier: GPL-2.0
/*
 * micemu SCIF: node links and their queue pairs (facts §7.4-7.6).
 *
 * Bring-up of a link: allocate our node queue pair and its 64 KiB inbound
 * ring, take a doorbell, publish {doorbell, queue-pair address} in the
 * device page, then poll the device page once per second for the peer's.
 * When it shows up, map it, check it, and send INIT. The link is up once
 * the peer's INIT has arrived as well.
 *
 * The loopback link to this node itself has no queue pair: its messages
 * go through an in-memory list, which can never fill up and so cannot
 * deadlock a handler that answers a message with another one.
 */
#define pr_fmt(fmt) "scif: " fmt

#include <linux/delay.h>
#include <linux/error-injection.h>
#include <linux/io.h>
#include <linux/jiffies.h>
#include <linux/printk.h>
#include <linux/slab.h>

#include "scif_main.h"

/**
 * scif_link_set_state() - change a link's state
 * @dev: link
 * @state: new state
 */
void scif_link_set_state(struct scif_dev *dev, enum scif_link_state state)
{
	mutex_lock(&dev->send_lock);
	WRITE_ONCE(dev->state, state);
	mutex_unlock(&dev->send_lock);
}

/* Both INITs are done: the node is online. Called under send_lock. */
static void scif_link_up_locked(struct scif_dev *dev)
{
	WRITE_ONCE(dev->state, SCIF_LINK_UP);
	dev->init_rcvd = false;
	pr_info("node %u online\n", dev->node);
	schedule_work(&dev->peer_work);
}

static bool scif_dev_is_host(struct scif_dev *dev)
{
	return dev->sdev->snode == SCIF_MGMT_NODE;
}

static void scif_bp_set_db(struct scif_dev *dev, u8 db)
{
	if (scif_dev_is_host(dev))
		WRITE_ONCE(dev->sdev->dp->c2h_scif_db, db);
	else
		iowrite8(db, &dev->sdev->rdp->h2c_scif_db);
}

static void scif_bp_set_addr(struct scif_dev *dev, u64 addr)
{
	if (scif_dev_is_host(dev))
		WRITE_ONCE(dev->sdev->dp->scif_host_dma_addr, cpu_to_le64(addr));
	else
		writeq(addr, &dev->sdev->rdp->scif_card_dma_addr);
}

/**
 * scif_bootparam_publish() - show or withdraw our queue pair in the DP
 * @dev: link with a hardware device
 * @clear: withdraw (address 0, doorbell unset) instead of publishing
 *
 * Host: c2h_scif_db and scif_host_dma_addr; card: h2c_scif_db and
 * scif_card_dma_addr (facts §4.4).
 */
void scif_bootparam_publish(struct scif_dev *dev, bool clear)
{
	if (clear) {
		scif_bp_set_addr(dev, 0);
		/* Withdraw the address before the doorbell it relies on. */
		wmb();
		scif_bp_set_db(dev, MIC_DB_UNSET);
	} else {
		scif_bp_set_db(dev, dev->db);
		/* A non-zero address must always come with a valid doorbell. */
		wmb();
		scif_bp_set_addr(dev, dev->qp.wire_addr);
	}
}

/* The peer's queue-pair address and doorbell from the DP; 0 if unset. */
static u64 scif_bootparam_peer(struct scif_dev *dev, u8 *rdb)
{
	struct scif_hw_dev *sdev = dev->sdev;
	u64 addr;

	if (scif_dev_is_host(dev))
		addr = le64_to_cpu(READ_ONCE(sdev->dp->scif_card_dma_addr));
	else
		addr = readq(&sdev->rdp->scif_host_dma_addr);
	/* Pairs with the barrier in the peer's scif_bootparam_publish(). */
	rmb();
	if (scif_dev_is_host(dev))
		*rdb = READ_ONCE(sdev->dp->h2c_scif_db);
	else
		*rdb = ioread8(&sdev->rdp->c2h_scif_db);
	return *rdb == MIC_DB_UNSET ? 0 : addr;
}

static int scif_loopb_send(struct scif_dev *dev, struct scifmsg *msg)
{
	struct scif_loopb_msg *lm;

	if (dev->state != SCIF_LINK_UP)
		return -ENODEV;
	lm = kmalloc(sizeof(*lm), GFP_KERNEL);
	if (!lm)
		return -ENOMEM;
	lm->msg = *msg;
	spin_lock(&dev->loopb_lock);
	list_add_tail(&lm->list, &dev->loopb_msgs);
	spin_unlock(&dev->loopb_lock);
	queue_work(scif_info.wq, &dev->rx_work);
	return 0;
}

/**
 * scif_nodeqp_send_locked() - queue a message to a node, send_lock held
 * @dev: link
 * @msg: message
 *
 * facts §7.4: only INIT, EXIT and EXIT_ACK may go out while the node is
 * not online. A full queue is retried for up to 3 s.
 *
 * Return: 0, -ENODEV (link not usable or stuck), -ENOMEM.
 */
noinline int scif_nodeqp_send_locked(struct scif_dev *dev, struct scifmsg *msg)
{
	struct scif_rb *rb = &dev->qp.outbound;
	unsigned long deadline;

	lockdep_assert_held(&dev->send_lock);
	if (dev->self)
		return scif_loopb_send(dev, msg);
	if (!dev->tx_ready ||
	    (msg->uop > SCIF_EXIT_ACK && dev->state != SCIF_LINK_UP))
		return -ENODEV;

	deadline = jiffies + msecs_to_jiffies(SCIF_NODEQP_SEND_MS);
	while (scif_rb_space(rb) < sizeof(*msg)) {
		if (time_after(jiffies, deadline)) {
			pr_warn_ratelimited("node %u: queue full, message %u dropped\n",
					    dev->node, msg->uop);
			return -ENODEV;
		}
		usleep_range(200, 1000);
	}
	scif_rb_write(rb, msg, sizeof(*msg));
	scif_rb_commit(rb);
	if (dev->p2p)
		dev->sdev->ops->send_p2p_intr(dev->sdev, dev->rdb, dev->mmio);
	else
		dev->sdev->ops->send_peer_intr(dev->sdev, dev->rdb);
	return 0;
}

/*
 * make faultsweep fails it (fail_function; noinline: every message goes
 * through one place to fail); callers handle errors.
 */
ALLOW_ERROR_INJECTION(scif_nodeqp_send_locked, ERRNO);

/**
 * scif_nodeqp_send() - queue a message to a node
 * @dev: link
 * @msg: message
 *
 * Return: see scif_nodeqp_send_locked().
 */
int scif_nodeqp_send(struct scif_dev *dev, struct scifmsg *msg)
{
	int err;

	mutex_lock(&dev->send_lock);
	err = scif_nodeqp_send_locked(dev, msg);
	mutex_unlock(&dev->send_lock);
	return err;
}

/* facts §7.6 step 2: map the peer's queue pair and say INIT. */
static int scif_link_connect(struct scif_dev *dev, u64 addr, u8 rdb)
{
	struct scifmsg msg = { .uop = SCIF_INIT };
	int err;

	mutex_lock(&dev->rx_lock);
	mutex_lock(&dev->send_lock);
	err = scif_qp_map_peer(dev, &dev->qp, addr, SCIF_NODE_QP_SIZE, false);
	if (err)
		goto unlock;
	dev->rdb = rdb;
	dev->tx_ready = true;
	WRITE_ONCE(dev->state, SCIF_LINK_MAPPED);

	msg.src.node = scif_info.nodeid;
	msg.dst.node = dev->node;
	err = scif_nodeqp_send_locked(dev, &msg);
	if (err) {
		dev->tx_ready = false;
		WRITE_ONCE(dev->state, SCIF_LINK_WAIT);
		scif_qp_unmap_peer(dev, &dev->qp);
	} else if (dev->init_rcvd) {
		scif_link_up_locked(dev);
	}
unlock:
	mutex_unlock(&dev->send_lock);
	mutex_unlock(&dev->rx_lock);
	/* Anything the peer sent before we could answer is read now. */
	if (!err)
		queue_work(scif_info.wq, &dev->rx_work);
	return err;
}

/**
 * scif_poll_work() - look for the peer's queue pair in the device page
 * @work: scif_dev.poll_work
 */
void scif_poll_work(struct work_struct *work)
{
	struct scif_dev *dev = container_of(to_delayed_work(work),
					    struct scif_dev, poll_work);
	u64 addr;
	u8 rdb;

	mutex_lock(&dev->lock);
	if (dev->state != SCIF_LINK_WAIT)
		goto unlock;
	addr = scif_bootparam_peer(dev, &rdb);
	if (!addr || scif_link_connect(dev, addr, rdb))
		schedule_delayed_work(&dev->poll_work,
				      msecs_to_jiffies(scif_poll_ms));
unlock:
	mutex_unlock(&dev->lock);
}

/**
 * scif_link_setup() - start bringing up the link to a node
 * @dev: link, down
 * @sdev: its hardware device
 *
 * Called with @dev->lock held.
 *
 * Return: 0 or a negative errno.
 */
int scif_link_setup(struct scif_dev *dev, struct scif_hw_dev *sdev)
{
	int err;

	dev->sdev = sdev;
	err = scif_link_arm_db(dev, "scif");
	if (err) {
		dev->sdev = NULL;
		return err;
	}
	dev->init_rcvd = false;
	dev->exit_rcvd = false;
	dev->exit_acked = false;
	scif_link_set_state(dev, SCIF_LINK_WAIT);
	scif_bootparam_publish(dev, false);
	schedule_delayed_work(&dev->poll_work, 0);
	return 0;
}

/**
 * scif_link_arm_db() - our half of a link: queue pair and doorbell
 * @dev: link, down, with its hardware device set
 * @name: name of the doorbell interrupt
 *
 * Creates @dev's queue pair and takes a doorbell with its interrupt, the
 * same for the host link of a card and for a card-to-card link.  Undo
 * with scif_link_free_db() and scif_link_free_qp().
 *
 * Return: 0 or a negative errno; on error nothing is left allocated.
 */
int scif_link_arm_db(struct scif_dev *dev, const char *name)
{
	struct scif_hw_dev *sdev = dev->sdev;
	void *irq;
	int err, db;

	err = scif_qp_create(dev, &dev->qp, SCIF_NODE_QP_SIZE);
	if (err)
		return err;
	db = sdev->ops->next_db(sdev);
	if (db < 0 || db >= MIC_DB_UNSET) {
		err = db < 0 ? db : -EINVAL;
		goto free_qp;
	}
	irq = sdev->ops->request_db_irq(sdev, db, scif_db_irq, name, dev);
	if (IS_ERR(irq)) {
		err = PTR_ERR(irq);
		goto free_qp;
	}
	dev->db = db;
	dev->irq = irq;
	dev->rdb = MIC_DB_UNSET;
	dev->tx_ready = false;
	dev->rx_stopped = false;
	return 0;

free_qp:
	scif_link_free_qp(dev);
	return err;
}

/**
 * scif_link_free_db() - give back the doorbell interrupt of a link
 * @dev: link armed by scif_link_arm_db()
 */
void scif_link_free_db(struct scif_dev *dev)
{
	dev->sdev->ops->free_db_irq(dev->sdev, dev->irq, dev);
	dev->irq = NULL;
}

/**
 * scif_link_free_qp() - free our queue pair of a link
 * @dev: link whose peer no longer reads the queue pair
 */
void scif_link_free_qp(struct scif_dev *dev)
{
	scif_qp_unmap_local(dev, &dev->qp);
	scif_qp_free(&dev->qp);
	memset(&dev->qp, 0, sizeof(dev->qp));
}

/* Called from the rx path for INIT; rx_lock held. */
void scif_link_init_rcvd(struct scif_dev *dev)
{
	mutex_lock(&dev->send_lock);
	if (dev->state == SCIF_LINK_MAPPED) {
		scif_link_up_locked(dev);
	} else if (dev->state == SCIF_LINK_WAIT) {
		/* The peer was quicker: find its queue pair now. */
		dev->init_rcvd = true;
		mod_delayed_work(system_wq, &dev->poll_work, 0);
	} else {
		pr_warn_ratelimited("node %u: unexpected INIT\n", dev->node);
	}
	mutex_unlock(&dev->send_lock);
}

static void scif_nodeqp_rx(struct scif_dev *dev)
{
	struct scif_rb *rb = &dev->qp.inbound;
	struct scifmsg msg;
	int budget = SCIF_RX_BUDGET;

	mutex_lock(&dev->rx_lock);
	while (!dev->rx_stopped && dev->qp.wire) {
		/* A P2P peer may write before its NODE_ADD_ACK reached us. */
		if (dev->p2p && READ_ONCE(dev->state) != SCIF_LINK_UP)
			break;
		if (!budget--) {
			/* A flooding peer must not own this worker. */
			queue_work(scif_info.wq, &dev->rx_work);
			break;
		}
		if (scif_rb_count(rb) < sizeof(msg))
			break;
		scif_rb_read(rb, &msg, sizeof(msg));
		scif_handle_msg(dev, &msg);
		/*
		 * facts §7.4: after EXIT_ACK the peer's queue pair is gone,
		 * so our read offset is not published any more.
		 */
		if (dev->rx_stopped && msg.uop == SCIF_EXIT_ACK)
			break;
		scif_rb_publish_read(rb);
	}
	mutex_unlock(&dev->rx_lock);
}

static void scif_loopb_rx(struct scif_dev *dev)
{
	struct scif_loopb_msg *lm;

	for (;;) {
		spin_lock(&dev->loopb_lock);
		lm = list_first_entry_or_null(&dev->loopb_msgs,
					      struct scif_loopb_msg, list);
		if (lm)
			list_del(&lm->list);
		spin_unlock(&dev->loopb_lock);
		if (!lm)
			break;
		scif_handle_msg(dev, &lm->msg);
		kfree(lm);
		cond_resched();
	}
}

/**
 * scif_rx_work() - read and handle the messages a node sent us
 * @work: scif_dev.rx_work
 */
void scif_rx_work(struct work_struct *work)
{
	struct scif_dev *dev = container_of(work, struct scif_dev, rx_work);

	if (dev->self)
		scif_loopb_rx(dev);
	else
		scif_nodeqp_rx(dev);
}

/**
 * scif_db_irq() - the peer rang our doorbell
 * @irq: interrupt number
 * @data: the scif_dev
 *
 * Return: IRQ_HANDLED.
 */
irqreturn_t scif_db_irq(int irq, void *data)
{
	struct scif_dev *dev = data;

	queue_work(scif_info.wq, &dev->rx_work);
	return IRQ_HANDLED;
}
