// SPDX-License-Identifier: GPL-2.0
/*
 * micemu SCIF: debugfs (/sys/kernel/debug/scif/).
 *
 *   nodes   link state of every node that is not down
 *   poll    poll_us and how often a waiter's polling saw what it waited
 *           for (hits), gave up and slept (misses), or was skipped because
 *           polling had not paid on the endpoint (off)
 *   inject  write one 44-byte struct scifmsg: it is queued on the
 *           loopback link and handled like a message from a peer, so
 *           tests can feed SCIF malformed or hostile messages
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>
#include <linux/uaccess.h>

#include "scif_main.h"

static struct dentry *scif_dbg_dir;

static const char *const scif_link_names[] = {
	[SCIF_LINK_DOWN] = "down",
	[SCIF_LINK_WAIT] = "waiting",
	[SCIF_LINK_MAPPED] = "mapped",
	[SCIF_LINK_UP] = "online",
	[SCIF_LINK_EXITING] = "exiting",
};

static int scif_nodes_show(struct seq_file *s, void *unused)
{
	enum scif_link_state state;
	struct scif_dev *dev;
	int node;

	seq_printf(s, "self %d\n", READ_ONCE(scif_info.nodeid));
	for (node = 0; node < SCIF_MAX_NODES; node++) {
		dev = &scif_devs[node];
		state = READ_ONCE(dev->state);
		if (state == SCIF_LINK_DOWN)
			continue;
		if (dev->self) {
			seq_printf(s, "node %d %s loopback\n", node,
				   scif_link_names[state]);
			continue;
		}
		seq_printf(s, "node %d %s db %d peer_db %d%s\n", node,
			   scif_link_names[state], dev->db, dev->rdb,
			   READ_ONCE(dev->p2p) ? " peer-to-peer" : "");
	}
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(scif_nodes);

static int scif_poll_show(struct seq_file *s, void *unused)
{
	seq_printf(s, "poll_us %u\nhits %ld\nmisses %ld\noff %ld\n",
		   READ_ONCE(scif_poll_us), atomic_long_read(&scif_spin_hits),
		   atomic_long_read(&scif_spin_misses),
		   atomic_long_read(&scif_spin_off));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(scif_poll);

static ssize_t scif_inject_write(struct file *file, const char __user *buf,
				 size_t len, loff_t *ppos)
{
	struct scifmsg msg;
	int node = READ_ONCE(scif_info.nodeid);
	int err;

	if (len != sizeof(msg))
		return -EINVAL;
	if (node == SCIF_NO_NODE)
		return -ENODEV;
	if (copy_from_user(&msg, buf, sizeof(msg)))
		return -EFAULT;
	err = scif_nodeqp_send(&scif_devs[node], &msg);
	return err ? err : len;
}

static const struct file_operations scif_inject_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = scif_inject_write,
};

/**
 * scif_debugfs_init() - create /sys/kernel/debug/scif/
 */
void scif_debugfs_init(void)
{
	scif_dbg_dir = debugfs_create_dir("scif", NULL);
	debugfs_create_file("nodes", 0400, scif_dbg_dir, NULL,
			    &scif_nodes_fops);
	debugfs_create_file("poll", 0400, scif_dbg_dir, NULL,
			    &scif_poll_fops);
	debugfs_create_file("inject", 0200, scif_dbg_dir, NULL,
			    &scif_inject_fops);
	scif_rma_debugfs_init(scif_dbg_dir);
}

/**
 * scif_debugfs_exit() - remove /sys/kernel/debug/scif/
 */
void scif_debugfs_exit(void)
{
	debugfs_remove_recursive(scif_dbg_dir);
}
