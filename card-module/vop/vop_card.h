/* SPDX-License-Identifier: GPL-2.0 */
/*
 * micemu card VOP driver (mic_card_vop.ko): private definitions.
 */
#ifndef MICEMU_VOP_CARD_H
#define MICEMU_VOP_CARD_H

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/virtio.h>
#include <linux/workqueue.h>

#include "mic_card_vop.h"
#include "uapi/mic_vop.h"

/**
 * struct vop_card_vq - one vring of a device, as the card sees it
 * @vq: the virtqueue virtio_ring built on @ring
 * @ring: two pages, virtually contiguous: the host's page with the
 *	descriptors and the avail ring, then @used (see vop_card_map_ring())
 * @used: card page holding the used ring, which the host writes
 * @num: entries
 */
struct vop_card_vq {
	struct virtqueue *vq;
	void __iomem *ring;
	struct page *used;
	u16 num;
};

/**
 * struct vop_card_vdev - one virtio device the host added
 * @vdev: the virtio device (its release frees this)
 * @vop: owning driver instance
 * @node: entry in vop_card.vdevs
 * @offset: offset of its entry in the device page
 * @desc: its entry
 * @dc: its control block
 * @type: virtio id, as read when the device was added
 * @num_vq: vrings, as read when the device was added
 * @feature_len: feature bytes, as read when the device was added
 * @config_len: config bytes, as read when the device was added
 * @status: the status byte we last wrote (the card owns it)
 * @h2c_db: doorbell the host rings for this device
 * @c2h_db: doorbell we ring, as the host gave it
 * @db_cookie: mic_card's handle for @h2c_db
 * @vq_lock: protects @vqs against the doorbell handler
 * @vqs: the vrings in use
 * @nr_vqs: entries of @vqs in use
 * @intr: doorbells taken
 * @kicks: doorbells rung
 * @registered: register_virtio_device() succeeded
 */
struct vop_card_vdev {
	struct virtio_device vdev;
	struct vop_card *vop;
	struct list_head node;
	unsigned int offset;
	struct mic_vop_desc __iomem *desc;
	struct mic_vop_ctrl __iomem *dc;
	s8 type;
	u8 num_vq;
	u8 feature_len;
	u8 config_len;
	u8 status;
	int h2c_db;
	int c2h_db;
	void *db_cookie;
	spinlock_t vq_lock;		/* @vqs vs the doorbell handler */
	struct vop_card_vq vqs[MIC_VOP_MAX_VRINGS];
	unsigned int nr_vqs;
	u64 intr;
	u64 kicks;
	bool registered;
};

/**
 * struct vop_card - the driver bound to the card
 * @hw: the card's services and device page
 * @lock: serialises scans, adds and removals
 * @vdevs: devices we registered, by device page offset
 * @scan_work: rescans the device page after a config doorbell
 * @config_db: doorbell the host rings for config changes and hot plug
 * @config_cookie: mic_card's handle for @config_db
 * @config_intr: config doorbells taken
 * @removing: the card goes away: add nothing more
 * @dbg: debugfs directory
 */
struct vop_card {
	struct mic_vop_hw *hw;
	struct mutex lock;		/* scans, @vdevs */
	struct list_head vdevs;
	struct work_struct scan_work;
	int config_db;
	void *config_cookie;
	u64 config_intr;
	bool removing;
	struct dentry *dbg;
};

static inline struct vop_card_vdev *to_vop_vdev(struct virtio_device *vdev)
{
	return container_of(vdev, struct vop_card_vdev, vdev);
}

/* vop_card_virtio.c */
extern const struct virtio_config_ops vop_card_config_ops;
irqreturn_t vop_card_vdev_intr(int irq, void *data);

/* vop_card_main.c */
void vop_card_send_intr(struct vop_card_vdev *v);

/* vop_card_debugfs.c */
void vop_card_debugfs_init(struct vop_card *vop);
void vop_card_debugfs_exit(struct vop_card *vop);

#endif /* MICEMU_VOP_CARD_H */
