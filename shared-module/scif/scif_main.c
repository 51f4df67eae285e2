// SPDX-License-Identifier: GPL-2.0
/*
 * micemu SCIF: module set-up and hardware device registration.
 *
 * The same module runs on the host and on the cards. A node learns its
 * own id from the first hardware device registered with it (0 on the
 * host, bootparam node_id on a card) and then brings up its loopback link,
 * so that endpoints on one node can connect to each other. The self_node
 * parameter brings the loopback link up at load time instead, which lets
 * a host without cards (or a test) use SCIF on its own.
 */
#define pr_fmt(fmt) "scif: " fmt

#include <linux/lockdep.h>
#include <linux/module.h>
#include <linux/printk.h>

#include "scif_main.h"

struct scif_info scif_info = {
	.nodeid = SCIF_NO_NODE,
};

struct scif_dev scif_devs[SCIF_MAX_NODES];

unsigned int scif_alive_timeout_ms = 30000;
module_param_named(alive_timeout_ms, scif_alive_timeout_ms, uint, 0644);
MODULE_PARM_DESC(alive_timeout_ms,
		 "how long to wait for a node's answer (connect, close, exit); upstream: 30000");

unsigned int scif_poll_ms = 1000;
module_param_named(bootparam_poll_ms, scif_poll_ms, uint, 0644);
MODULE_PARM_DESC(bootparam_poll_ms,
		 "device page poll period while waiting for a peer; upstream: 1000");

unsigned int scif_poll_us = 400;
module_param_named(poll_us, scif_poll_us, uint, 0644);
MODULE_PARM_DESC(poll_us,
		 "how long a waiter for data or ring room on a connection to another node polls the ring before it sleeps (us, at most 10000; 0: never)");

static int self_node = SCIF_NO_NODE;
module_param(self_node, int, 0444);
MODULE_PARM_DESC(self_node,
		 "this node's id, to bring up the loopback node at load (0 on a host); default: from the first hardware device");

/*
 * On a card, node 0's link is the one the others hang off: NODE_ADD for a
 * peer card arrives on it (its rx work running, its rx_lock held, the
 * peer's lock taken) and its teardown takes every P2P link down (its lock
 * held, theirs taken, their works cancelled). Every link also takes its
 * own lock, then its own rx_lock, and cancels its own works under its
 * lock. These nest in one direction only, node 0 outside, but with one
 * lockdep class for all nodes lockdep sees a cycle. So node 0's locks and
 * works get classes of their own: lockdep_set_class() for the mutexes,
 * and, for the works, a second INIT_WORK() call site (each site has its
 * own class).
 */
static struct lock_class_key scif_node0_lock_key;
static struct lock_class_key scif_node0_send_key;
static struct lock_class_key scif_node0_rx_key;

static void scif_node0_init_works(struct scif_dev *dev)
{
	INIT_WORK(&dev->rx_work, scif_rx_work);
	INIT_DELAYED_WORK(&dev->poll_work, scif_poll_work);
	INIT_WORK(&dev->exit_work, scif_exit_work);
	INIT_WORK(&dev->peer_work, scif_peer_work);
}

static void scif_dev_init(struct scif_dev *dev, u8 node)
{
	dev->node = node;
	dev->state = SCIF_LINK_DOWN;
	mutex_init(&dev->lock);
	mutex_init(&dev->send_lock);
	mutex_init(&dev->rx_lock);
	init_rwsem(&dev->ep_sem);
	mutex_init(&dev->peer_lock);
	init_waitqueue_head(&dev->exit_wq);
	INIT_LIST_HEAD(&dev->loopb_msgs);
	INIT_LIST_HEAD(&dev->parked_eps);
	spin_lock_init(&dev->loopb_lock);
	if (node == SCIF_MGMT_NODE) {
		lockdep_set_class(&dev->lock, &scif_node0_lock_key);
		lockdep_set_class(&dev->send_lock, &scif_node0_send_key);
		lockdep_set_class(&dev->rx_lock, &scif_node0_rx_key);
		scif_node0_init_works(dev);
		return;
	}
	INIT_WORK(&dev->rx_work, scif_rx_work);
	INIT_DELAYED_WORK(&dev->poll_work, scif_poll_work);
	INIT_WORK(&dev->exit_work, scif_exit_work);
	INIT_WORK(&dev->peer_work, scif_peer_work);
}

/* Fix this node's id and bring up its loopback link; conf_lock held. */
static int scif_set_self(int node)
{
	struct scif_dev *dev;

	if (scif_info.nodeid == node)
		return 0;
	if (scif_info.nodeid != SCIF_NO_NODE) {
		pr_err("this is node %d, not %d\n", scif_info.nodeid, node);
		return -EINVAL;
	}
	dev = &scif_devs[node];
	mutex_lock(&dev->lock);
	if (dev->state != SCIF_LINK_DOWN) {
		mutex_unlock(&dev->lock);
		return -EBUSY;
	}
	WRITE_ONCE(scif_info.nodeid, node);
	dev->self = true;
	scif_link_set_state(dev, SCIF_LINK_UP);
	schedule_work(&dev->peer_work);
	mutex_unlock(&dev->lock);
	pr_info("this is node %d\n", node);
	return 0;
}

static bool scif_hw_dev_valid(struct scif_hw_dev *sdev)
{
	const struct scif_hw_ops *ops = sdev->ops;

	if (!sdev->dev || !ops || !ops->next_db || !ops->request_db_irq ||
	    !ops->free_db_irq || !ops->send_peer_intr || !ops->ioremap ||
	    !ops->iounmap || !ops->map_local || !ops->unmap_local)
		return false;
	if (sdev->snode >= SCIF_MAX_NODES || sdev->dnode >= SCIF_MAX_NODES ||
	    sdev->snode == sdev->dnode)
		return false;
	/* Only host-card links exist: the host drives one per card. */
	if (sdev->snode == SCIF_MGMT_NODE)
		return !!sdev->dp;
	return sdev->dnode == SCIF_MGMT_NODE && !!sdev->rdp;
}

/**
 * scif_register_hw_dev() - bring up the SCIF link a bus driver provides
 * @sdev: the link, filled in by the bus driver
 *
 * Allocates the node queue pair, hooks the doorbell, publishes both in
 * the device page and starts polling for the peer. The peer node comes
 * online (and SCIF clients are probed for it) once both sides are set up.
 *
 * Return: 0, -EINVAL (inconsistent @sdev, or a self node that differs
 * from the one already known), -EBUSY (a link to that node exists) or
 * an error from the hardware ops.
 */
int scif_register_hw_dev(struct scif_hw_dev *sdev)
{
	struct scif_dev *dev;
	int err;

	if (!sdev || !scif_hw_dev_valid(sdev))
		return -EINVAL;
	mutex_lock(&scif_info.conf_lock);
	err = scif_set_self(sdev->snode);
	mutex_unlock(&scif_info.conf_lock);
	if (err)
		return err;

	dev = &scif_devs[sdev->dnode];
	mutex_lock(&dev->lock);
	if (dev->state != SCIF_LINK_DOWN || dev->sdev)
		err = -EBUSY;
	else
		err = scif_link_setup(dev, sdev);
	mutex_unlock(&dev->lock);
	if (err)
		dev_err(sdev->dev, "SCIF link to node %u failed: %d\n",
			sdev->dnode, err);
	return err;
}
EXPORT_SYMBOL_GPL(scif_register_hw_dev);

/**
 * scif_unregister_hw_dev() - take a SCIF link down
 * @sdev: a link registered with scif_register_hw_dev()
 *
 * Clears our device page fields, disconnects every endpoint on the peer
 * node, tells the peer (EXIT, waiting up to alive_timeout_ms for
 * EXIT_ACK) and frees the node queue pair. On return SCIF no longer uses
 * @sdev or anything reached through it. Sleeps.
 */
void scif_unregister_hw_dev(struct scif_hw_dev *sdev)
{
	struct scif_dev *dev;

	if (!sdev || sdev->dnode >= SCIF_MAX_NODES)
		return;
	dev = &scif_devs[sdev->dnode];
	if (WARN_ON(READ_ONCE(dev->sdev) != sdev))
		return;
	scif_link_destroy(dev);
}
EXPORT_SYMBOL_GPL(scif_unregister_hw_dev);

static int __init scif_init(void)
{
	int node, err;

	if (self_node < SCIF_NO_NODE || self_node >= SCIF_MAX_NODES)
		return -EINVAL;
	mutex_init(&scif_info.conf_lock);
	mutex_init(&scif_info.listen_lock);
	INIT_LIST_HEAD(&scif_info.listeners);
	xa_init_flags(&scif_info.eps, XA_FLAGS_ALLOC1);
	for (node = 0; node < SCIF_MAX_NODES; node++)
		scif_dev_init(&scif_devs[node], node);

	scif_info.wq = alloc_workqueue("scif", WQ_UNBOUND, 0);
	if (!scif_info.wq)
		return -ENOMEM;
	err = scif_peer_bus_init();
	if (err)
		goto destroy_wq;
	if (self_node != SCIF_NO_NODE) {
		mutex_lock(&scif_info.conf_lock);
		err = scif_set_self(self_node);
		mutex_unlock(&scif_info.conf_lock);
		if (err)
			goto bus_exit;
	}
	err = scif_fd_init();
	if (err)
		goto loopback_destroy;
	scif_debugfs_init();
	return 0;

loopback_destroy:
	if (scif_info.nodeid != SCIF_NO_NODE)
		scif_loopback_destroy(&scif_devs[scif_info.nodeid]);
bus_exit:
	scif_peer_bus_exit();
destroy_wq:
	destroy_workqueue(scif_info.wq);
	return err;
}

static void __exit scif_exit(void)
{
	int node;

	scif_debugfs_exit();
	scif_fd_exit();
	/* Bus drivers use our symbols, so their links are gone already. */
	for (node = 0; node < SCIF_MAX_NODES; node++)
		WARN_ON(scif_devs[node].sdev);
	/* With every link down, no P2P teardown is left to run. */
	scif_p2p_exit();
	if (scif_info.nodeid != SCIF_NO_NODE)
		scif_loopback_destroy(&scif_devs[scif_info.nodeid]);
	WARN_ON(!xa_empty(&scif_info.eps));
	scif_peer_bus_exit();
	destroy_workqueue(scif_info.wq);
	xa_destroy(&scif_info.eps);
}

module_init(scif_init);
module_exit(scif_exit);

MODULE_DESCRIPTION("micemu SCIF: Symmetric Communication InterFace messaging");
MODULE_LICENSE("GPL");
