// SPDX-License-Identifier: GPL-2.0
/*
 * micemu card VOP driver (mic_card_vop.ko): the virtio devices the host
 * (mpssd, through the host's VOP driver) adds in the device page.
 *
 * Wire behaviour of upstream's card side (drivers/misc/mic/vop), facts
 * taken from there: entries follow the bootparam in the device page; type
 * 0 ends the list, -1 is a removed entry. We publish a config doorbell in
 * bootparam.h2c_config_db; the host rings it after adding an entry or
 * setting an entry's config_change (CONFIG_CHANGED: we call the driver's
 * config hook and set guest_ack; DEV_REMOVE: we unregister the device,
 * with the reset handshake, then set guest_ack and mark the entry -1).
 * Each device gets a host-to-card doorbell of its own (its h2c_vdev_db);
 * we ring its c2h_vdev_db for kicks, status changes, resets and new used
 * rings. When the card goes away (poweroff, reboot, unbind) every device
 * is removed the same way, after h2c_config_db is set back to -1.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/io.h>
#include <linux/io-64-nonatomic-lo-hi.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/virtio_ids.h>

#include "vop_card.h"

/* The host's VOP asserts the same: one layout, both ends. */
static_assert(sizeof(struct mic_vop_desc) == 8);
static_assert(sizeof(struct mic_vop_vqconfig) == 24);
static_assert(sizeof(struct mic_vop_ctrl) == 16);
static_assert(offsetof(struct mic_vop_ctrl, h2c_vdev_db) == 14);
static_assert(sizeof(struct mic_vop_vring_info) == 8);
static_assert(sizeof(struct mic_bootparam) == MIC_VOP_DESC_START);

static const char *vop_card_type_name(s8 type)
{
	switch (type) {
	case VIRTIO_ID_NET:
		return "net";
	case VIRTIO_ID_BLOCK:
		return "block";
	case VIRTIO_ID_CONSOLE:
		return "console";
	default:
		return "other";
	}
}

/**
 * vop_card_send_intr() - ring the host's doorbell for device @v
 * @v: the device
 */
void vop_card_send_intr(struct vop_card_vdev *v)
{
	struct mic_vop_hw *hw = v->vop->hw;

	v->kicks++;
	hw->ops->send_intr(hw, v->c2h_db);
}

static void vop_card_vdev_release(struct device *dev)
{
	kfree(to_vop_vdev(dev_to_virtio(dev)));
}

static struct vop_card_vdev *vop_card_find(struct vop_card *vop,
					   unsigned int offset)
{
	struct vop_card_vdev *v;

	list_for_each_entry(v, &vop->vdevs, node)
		if (v->offset == offset)
			return v;
	return NULL;
}

/* With vop->lock held: register the device whose entry is at @offset. */
static void vop_card_add(struct vop_card *vop, unsigned int offset, s8 type,
			 u8 num_vq, u8 feature_len, u8 config_len)
{
	struct mic_vop_hw *hw = vop->hw;
	struct mic_vop_desc __iomem *d = hw->dp + offset;
	struct vop_card_vdev *v;
	int err;

	if (num_vq > MIC_VOP_MAX_VRINGS) {
		dev_err(hw->dev, "VOP: entry at %u (type %d) has %u vrings, at most %d: ignored\n",
			offset, type, num_vq, MIC_VOP_MAX_VRINGS);
		return;
	}
	v = kzalloc(sizeof(*v), GFP_KERNEL);
	if (!v)
		return;
	v->vop = vop;
	v->offset = offset;
	v->desc = d;
	v->dc = (void __iomem *)d + mic_vop_ctrl_offset(num_vq, feature_len,
						       config_len);
	v->type = type;
	v->num_vq = num_vq;
	v->feature_len = feature_len;
	v->config_len = config_len;
	spin_lock_init(&v->vq_lock);
	v->vdev.dev.parent = hw->dev;
	v->vdev.dev.release = vop_card_vdev_release;
	v->vdev.id.device = (u8)type;
	v->vdev.config = &vop_card_config_ops;

	v->h2c_db = hw->ops->next_db(hw);
	v->db_cookie = hw->ops->request_db(hw, v->h2c_db, vop_card_vdev_intr, v);
	if (IS_ERR(v->db_cookie)) {
		dev_err(hw->dev, "VOP: no doorbell for the entry at %u: %ld\n",
			offset, PTR_ERR(v->db_cookie));
		kfree(v);
		return;
	}
	iowrite8((u8)v->h2c_db, &v->dc->h2c_vdev_db);
	v->c2h_db = (s8)ioread8(&v->dc->c2h_vdev_db);
	/* The card's cookie for the entry; upstream wrote a pointer here. */
	writeq(offset, &v->dc->vdev);

	err = register_virtio_device(&v->vdev);
	if (err) {
		dev_err(hw->dev, "VOP: cannot register %s device (entry at %u): %d\n",
			vop_card_type_name(type), offset, err);
		hw->ops->free_db(hw, v->db_cookie);
		iowrite8(-1, &v->dc->h2c_vdev_db);
		put_device(&v->vdev.dev);
		return;
	}
	v->registered = true;
	list_add_tail(&v->node, &vop->vdevs);
	dev_info(hw->dev, "VOP: added %s device %s (type %d, entry at %u, %u vrings, doorbells h2c %d c2h %d)\n",
		 vop_card_type_name(type), dev_name(&v->vdev.dev), type,
		 offset, num_vq, v->h2c_db, v->c2h_db);
}

/*
 * With vop->lock held: unregister @v (its driver resets it, which is the
 * reset handshake with the host), give its doorbell back, acknowledge and
 * mark the entry removed, as upstream.
 */
static void vop_card_remove(struct vop_card *vop, struct vop_card_vdev *v,
			    const char *why)
{
	struct mic_vop_hw *hw = vop->hw;
	struct mic_vop_desc __iomem *d = v->desc;
	struct mic_vop_ctrl __iomem *dc = v->dc;
	unsigned int offset = v->offset;
	char name[16];

	list_del(&v->node);
	strscpy(name, dev_name(&v->vdev.dev), sizeof(name));
	/* Keep @v until we are done: unregistering drops the last reference. */
	get_device(&v->vdev.dev);
	unregister_virtio_device(&v->vdev);
	hw->ops->free_db(hw, v->db_cookie);
	iowrite8(-1, &dc->h2c_vdev_db);
	iowrite8(1, &dc->guest_ack);
	/* Paired with the rmb() of a scan, ours or the host's. */
	wmb();
	iowrite8(-1, &d->type);
	dev_info(hw->dev, "VOP: removed device %s (entry at %u): %s\n",
		 name, offset, why);
	put_device(&v->vdev.dev);
}

/*
 * With vop->lock held: walk the device page. New entries are added
 * (unless the card goes away), entries of ours get their config change
 * or removal; an entry that changed its shape under us is removed.
 */
static void vop_card_scan(struct vop_card *vop)
{
	struct mic_vop_hw *hw = vop->hw;
	struct mic_vop_desc __iomem *d;
	struct mic_vop_ctrl __iomem *dc;
	struct vop_card_vdev *v;
	u8 num_vq, feature_len, config_len, change;
	unsigned int offset, size;
	s8 type;

	for (offset = MIC_VOP_DESC_START;
	     offset + sizeof(*d) <= MIC_DP_SIZE; offset += size) {
		d = hw->dp + offset;
		/* Paired with the host's write barrier before it sets type. */
		rmb();
		type = (s8)ioread8(&d->type);
		if (!type)
			break;
		num_vq = ioread8(&d->num_vq);
		feature_len = ioread8(&d->feature_len);
		config_len = ioread8(&d->config_len);
		size = mic_vop_entry_size(num_vq, feature_len, config_len);
		if (size > MIC_DP_SIZE - offset) {
			dev_err_ratelimited(hw->dev, "VOP: entry at %u (%u bytes) runs past the device page: scan stopped\n",
					    offset, size);
			break;
		}
		v = vop_card_find(vop, offset);
		if (type == -1) {
			if (v)
				vop_card_remove(vop, v, "entry marked removed by the host");
			continue;
		}
		if (!v) {
			if (!vop->removing)
				vop_card_add(vop, offset, type, num_vq,
					     feature_len, config_len);
			continue;
		}
		if (type != v->type || num_vq != v->num_vq ||
		    feature_len != v->feature_len ||
		    config_len != v->config_len) {
			dev_err(hw->dev, "VOP: entry at %u changed under us (type %d, %u vrings, %u+%u bytes; was %d, %u, %u+%u)\n",
				offset, type, num_vq, feature_len, config_len,
				v->type, v->num_vq, v->feature_len,
				v->config_len);
			vop_card_remove(vop, v, "entry rewritten");
			continue;
		}
		dc = v->dc;
		change = ioread8(&dc->config_change);
		if (change == MIC_VOP_CONFIG_CHANGED) {
			virtio_config_changed(&v->vdev);
			iowrite8(1, &dc->guest_ack);
		} else if (change == MIC_VOP_DEV_REMOVE) {
			vop_card_remove(vop, v, "host asked");
		}
	}
}

static void vop_card_scan_work(struct work_struct *work)
{
	struct vop_card *vop = container_of(work, struct vop_card, scan_work);

	mutex_lock(&vop->lock);
	vop_card_scan(vop);
	mutex_unlock(&vop->lock);
}

static irqreturn_t vop_card_config_intr(int irq, void *data)
{
	struct vop_card *vop = data;

	vop->config_intr++;
	schedule_work(&vop->scan_work);
	return IRQ_HANDLED;
}

static int vop_card_probe(struct mic_vop_hw *hw)
{
	struct mic_bootparam __iomem *bp = hw->dp;
	struct vop_card *vop;

	vop = kzalloc(sizeof(*vop), GFP_KERNEL);
	if (!vop)
		return -ENOMEM;
	vop->hw = hw;
	mutex_init(&vop->lock);
	INIT_LIST_HEAD(&vop->vdevs);
	INIT_WORK(&vop->scan_work, vop_card_scan_work);

	vop->config_db = hw->ops->next_db(hw);
	vop->config_cookie = hw->ops->request_db(hw, vop->config_db,
						 vop_card_config_intr, vop);
	if (IS_ERR(vop->config_cookie)) {
		long err = PTR_ERR(vop->config_cookie);

		kfree(vop);
		return err;
	}
	hw->priv = vop;
	vop_card_debugfs_init(vop);
	/*
	 * Publish the doorbell first, then scan: an entry the host adds in
	 * between rings it and gets a second scan.
	 */
	iowrite8((u8)vop->config_db, &bp->h2c_config_db);
	schedule_work(&vop->scan_work);
	dev_info(hw->dev, "VOP: config doorbell %d\n", vop->config_db);
	return 0;
}

static void vop_card_remove_all(struct mic_vop_hw *hw)
{
	struct mic_bootparam __iomem *bp = hw->dp;
	struct vop_card *vop = hw->priv;
	struct vop_card_vdev *v, *n;
	struct mic_vop_ctrl __iomem *dc;

	iowrite8(-1, &bp->h2c_config_db);
	hw->ops->free_db(hw, vop->config_cookie);
	cancel_work_sync(&vop->scan_work);

	mutex_lock(&vop->lock);
	vop->removing = true;
	list_for_each_entry_safe(v, n, &vop->vdevs, node) {
		dc = v->dc;
		/* As upstream: our own removal request, cleared afterwards. */
		iowrite8(MIC_VOP_DEV_REMOVE, &dc->config_change);
		vop_card_remove(vop, v, "card going away");
		iowrite8(0, &dc->config_change);
		iowrite8(0, &dc->guest_ack);
	}
	mutex_unlock(&vop->lock);
	vop_card_debugfs_exit(vop);
	hw->priv = NULL;
	kfree(vop);
}

static struct mic_vop_driver vop_card_driver = {
	.name = KBUILD_MODNAME,
	.probe = vop_card_probe,
	.remove = vop_card_remove_all,
};

static int __init vop_card_init(void)
{
	return mic_card_vop_register(&vop_card_driver);
}
module_init(vop_card_init);

static void __exit vop_card_exit(void)
{
	mic_card_vop_unregister(&vop_card_driver);
}
module_exit(vop_card_exit);

MODULE_DESCRIPTION("micemu: VOP (virtio over PCIe) devices on an x100 card");
MODULE_LICENSE("GPL");
