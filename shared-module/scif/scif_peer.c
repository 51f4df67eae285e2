// SPDX-License-Identifier: GPL-2.0
/*
 * micemu SCIF: peer devices and kernel clients.
 *
 * Every node this node can talk to, itself included, is represented by a
 * struct scif_peer_dev on the "scif_peer" bus while its link is up. Kernel
 * clients (the COSM client on a card, for instance) register a subsystem
 * interface on that bus and so get probe/remove calls per node, including
 * one probe per node that is already up when they register.
 */
#define pr_fmt(fmt) "scif: " fmt

#include <linux/device.h>
#include <linux/printk.h>
#include <linux/slab.h>

#include "mic_compat.h"
#include "scif_main.h"

static MIC_BUS_TYPE scif_peer_bus = {
	.name = "scif_peer",
};

static void scif_peer_release(struct device *d)
{
	kfree(container_of(d, struct scif_peer_dev, dev));
}

/**
 * scif_peer_work() - publish the peer device of a node that came up
 * @work: scif_dev.peer_work
 *
 * Runs client probes, which may block (in scif_connect(), for instance);
 * that is why this is not done in the rx path.
 */
void scif_peer_work(struct work_struct *work)
{
	struct scif_dev *dev = container_of(work, struct scif_dev, peer_work);
	struct scif_peer_dev *spdev;
	int err;

	mutex_lock(&dev->peer_lock);
	if (dev->spdev || !scif_link_up(dev))
		goto unlock;
	spdev = kzalloc(sizeof(*spdev), GFP_KERNEL);
	if (!spdev)
		goto unlock;
	spdev->dnode = dev->node;
	spdev->dev.bus = &scif_peer_bus;
	spdev->dev.parent = scif_log_dev(dev);
	spdev->dev.release = scif_peer_release;
	dev_set_name(&spdev->dev, "scif-node%u", dev->node);
	err = device_register(&spdev->dev);
	if (err) {
		pr_err("node %u: peer device not registered (%d)\n",
		       dev->node, err);
		put_device(&spdev->dev);
		goto unlock;
	}
	dev->spdev = spdev;
	scif_p2p_node_up(dev);
unlock:
	mutex_unlock(&dev->peer_lock);
}

/**
 * scif_peer_remove() - withdraw a node's peer device, running client removes
 * @dev: node
 */
void scif_peer_remove(struct scif_dev *dev)
{
	mutex_lock(&dev->peer_lock);
	if (dev->spdev) {
		device_unregister(&dev->spdev->dev);
		dev->spdev = NULL;
	}
	mutex_unlock(&dev->peer_lock);
}

/**
 * scif_node_stats() - highest node id online and number of nodes online
 * @maxid: filled with the highest id
 * @total: filled with the count, this node included
 */
void scif_node_stats(u16 *maxid, u16 *total)
{
	int node;

	*maxid = 0;
	*total = 0;
	for (node = 0; node < SCIF_MAX_NODES; node++) {
		if (!scif_link_up(&scif_devs[node]))
			continue;
		*maxid = node;
		(*total)++;
	}
}

int scif_get_node_ids(u16 *nodes, int len, u16 *self)
{
	int node, online = 0;

	*self = scif_info.nodeid == SCIF_NO_NODE ? 0 : scif_info.nodeid;
	for (node = 0; node < SCIF_MAX_NODES; node++) {
		if (!scif_link_up(&scif_devs[node]))
			continue;
		if (online < len)
			nodes[online] = node;
		online++;
	}
	return online;
}
EXPORT_SYMBOL_GPL(scif_get_node_ids);

static int scif_client_add_dev(struct device *d, struct subsys_interface *si)
{
	struct scif_client *client = container_of(si, struct scif_client, si);

	if (client->probe)
		client->probe(container_of(d, struct scif_peer_dev, dev));
	return 0;
}

static void scif_client_remove_dev(struct device *d,
				   struct subsys_interface *si)
{
	struct scif_client *client = container_of(si, struct scif_client, si);

	if (client->remove)
		client->remove(container_of(d, struct scif_peer_dev, dev));
}

int scif_client_register(struct scif_client *client)
{
	struct subsys_interface *si = &client->si;

	si->name = client->name;
	si->subsys = &scif_peer_bus;
	si->add_dev = scif_client_add_dev;
	si->remove_dev = scif_client_remove_dev;
	return subsys_interface_register(si);
}
EXPORT_SYMBOL_GPL(scif_client_register);

void scif_client_unregister(struct scif_client *client)
{
	subsys_interface_unregister(&client->si);
}
EXPORT_SYMBOL_GPL(scif_client_unregister);

/**
 * scif_peer_bus_init() - register the peer bus
 *
 * Return: 0 or a negative errno.
 */
int scif_peer_bus_init(void)
{
	return bus_register(&scif_peer_bus);
}

/**
 * scif_peer_bus_exit() - unregister the peer bus
 */
void scif_peer_bus_exit(void)
{
	bus_unregister(&scif_peer_bus);
}
