// SPDX-License-Identifier: GPL-2.0
/*
 * micemu card VOP driver: debugfs (/sys/kernel/debug/mic_card_vop/).
 *
 *  devices   config doorbell, then one line per device: entry offset,
 *            type, status, doorbells, interrupts taken, doorbells rung,
 *            and per vring its entries and used ring address
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>

#include "vop_card.h"

static int vop_card_devices_show(struct seq_file *s, void *unused)
{
	struct vop_card *vop = s->private;
	struct vop_card_vdev *v;
	unsigned int i;

	mutex_lock(&vop->lock);
	seq_printf(s, "config_db %d interrupts %llu\n", vop->config_db,
		   READ_ONCE(vop->config_intr));
	list_for_each_entry(v, &vop->vdevs, node) {
		seq_printf(s, "%s offset %u type %d status 0x%02x h2c_db %d c2h_db %d intr %llu kicks %llu",
			   dev_name(&v->vdev.dev), v->offset, v->type,
			   v->status, v->h2c_db, v->c2h_db,
			   READ_ONCE(v->intr), READ_ONCE(v->kicks));
		for (i = 0; i < v->nr_vqs; i++)
			if (v->vqs[i].used)
				seq_printf(s, " vq%u %u@0x%llx", i, v->vqs[i].num,
					   (u64)page_to_phys(v->vqs[i].used));
		seq_putc(s, '\n');
	}
	mutex_unlock(&vop->lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vop_card_devices);

/**
 * vop_card_debugfs_init() - create /sys/kernel/debug/mic_card_vop/
 * @vop: the driver instance
 */
void vop_card_debugfs_init(struct vop_card *vop)
{
	vop->dbg = debugfs_create_dir("mic_card_vop", NULL);
	debugfs_create_file("devices", 0444, vop->dbg, vop,
			    &vop_card_devices_fops);
}

/**
 * vop_card_debugfs_exit() - remove it
 * @vop: the driver instance
 */
void vop_card_debugfs_exit(struct vop_card *vop)
{
	debugfs_remove_recursive(vop->dbg);
}
