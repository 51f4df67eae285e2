// SPDX-License-Identifier: GPL-2.0
/*
 * micemu: the host's VOP (virtio over PCIe) for current kernels.
 *
 * While a card runs, /dev/vop_virtioN offers upstream's ABI
 * (uapi/mic_vop.h), so that upstream's mpssd serves the card's virtio
 * console, block and network devices: each open file adds one device
 * (MIC_VIRTIO_ADD_DEVICE) as an entry of the card's device page, maps the
 * device page and its vrings read-only, polls for the card's doorbell and
 * moves buffers with MIC_VIRTIO_COPY_DESC (vop_ring.c). Closing the file
 * removes the device with upstream's handshake (config_change
 * DEV_REMOVE, config doorbell, guest_ack); so does stopping the card.
 *
 * The card's handshakes, as upstream's card driver uses them: it rings
 * the device's card-to-host doorbell after writing status, after new
 * used ring addresses (used_address_updated, cleared by the host) and
 * after a device reset (vdev_reset, answered with status 0 and host_ack).
 * See vop_host.h for what is checked; bad input stops one device, never
 * the card or the host.
 */
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/fs.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/virtio_config.h>

#include "mic_compat.h"
#include "vop_host.h"

static unsigned int remove_wait_ms = 3000;
module_param(remove_wait_ms, uint, 0644);
MODULE_PARM_DESC(remove_wait_ms,
		 "How long to wait for the card to acknowledge device removals, in ms (default 3000)");

static unsigned int config_wait_ms = 10000;
module_param(config_wait_ms, uint, 0644);
MODULE_PARM_DESC(config_wait_ms,
		 "How long to wait for the card to acknowledge a config change, in ms (default 10000)");

static struct dentry *vop_dbg_root;

/* Upstream's numbers: the size field is that of a pointer. */
static_assert(MIC_VIRTIO_ADD_DEVICE == 0xc0087301);
static_assert(MIC_VIRTIO_COPY_DESC == 0xc0087302);
static_assert(MIC_VIRTIO_CONFIG_CHANGE == 0xc0087305);
static_assert(sizeof(struct mic_vop_desc) == 8);
static_assert(sizeof(struct mic_vop_vqconfig) == 24);
static_assert(sizeof(struct mic_vop_ctrl) == 16);
static_assert(sizeof(struct mic_vop_vring_info) == 8);
static_assert(offsetof(struct mic_vop_vring_info, magic) == 4);
static_assert(sizeof(struct mic_vop_copy) == 24);
static_assert(offsetof(struct mic_vop_copy, out_len) == 16);
static_assert(sizeof(struct mic_bootparam) == MIC_VOP_DESC_START);

static const char * const vop_state_names[] = {
	[VOP_VDEV_NEW] = "new",
	[VOP_VDEV_LIVE] = "live",
	[VOP_VDEV_BROKEN] = "stopped",
	[VOP_VDEV_GONE] = "removed",
};

static void vop_card_release(struct kref *ref)
{
	kfree(container_of(ref, struct vop_card, ref));
}

static void vop_vdev_release(struct kref *ref)
{
	kfree(container_of(ref, struct vop_vdev, ref));
}

static struct mic_vop_vqconfig *vop_vqconfig(struct mic_vop_desc *dd)
{
	return (struct mic_vop_vqconfig *)(dd + 1);
}

static u8 *vop_features(struct mic_vop_desc *dd, u8 num_vq)
{
	return (u8 *)(vop_vqconfig(dd) + num_vq);
}

static unsigned int vop_desc_size(const struct mic_vop_desc *dd)
{
	return mic_vop_desc_size(dd->num_vq, dd->feature_len, dd->config_len);
}

/**
 * vop_vdev_stop() - stop a device after bad input from the card
 * @vdev: the device, lock held
 * @fmt: what was wrong
 *
 * The device stays in the device page but is not served any more: copies
 * fail with -EIO and poll reports nothing, until the file is closed or
 * the card stops. The card sees VIRTIO_CONFIG_S_NEEDS_RESET in status.
 */
void vop_vdev_stop(struct vop_vdev *vdev, const char *fmt, ...)
{
	va_list args;

	if (vdev->state != VOP_VDEV_LIVE)
		return;
	va_start(args, fmt);
	vsnprintf(vdev->why, sizeof(vdev->why), fmt, args);
	va_end(args);
	vdev->state = VOP_VDEV_BROKEN;
	WRITE_ONCE(vdev->dd->status,
		   READ_ONCE(vdev->dd->status) | VIRTIO_CONFIG_S_NEEDS_RESET);
	dev_err(vdev->card->hw->dev,
		"vop_virtio%d: virtio device %d at %u: %s; device stopped\n",
		vdev->card->index, vdev->type, vdev->off, vdev->why);
}

/*
 * What the host wrote in the entry must still be there: a card that
 * rewrites it stops the device. Type -1 is the card's own removal
 * (upstream's card driver writes it when it lets a device go).
 */
static int vop_vdev_check_entry(struct vop_vdev *vdev)
{
	struct mic_vop_desc *dd = vdev->dd;
	struct mic_vop_vqconfig *vq = vop_vqconfig(dd);
	s8 type = READ_ONCE(dd->type);
	u64 addr;
	u16 num;
	int i;

	if (type == -1) {
		if (vdev->state == VOP_VDEV_LIVE) {
			snprintf(vdev->why, sizeof(vdev->why),
				 "removed by the card");
			vdev->state = VOP_VDEV_BROKEN;
			dev_info(vdev->card->hw->dev,
				 "vop_virtio%d: virtio device %d removed by the card\n",
				 vdev->card->index, vdev->type);
		}
		return -ENODEV;
	}
	if (type != vdev->type || READ_ONCE(dd->num_vq) != vdev->num_vq ||
	    READ_ONCE(dd->feature_len) != vdev->feature_len ||
	    READ_ONCE(dd->config_len) != vdev->config_len) {
		vop_vdev_stop(vdev,
			      "device page entry rewritten (type %d num_vq %u feature_len %u config_len %u)",
			      type, READ_ONCE(dd->num_vq),
			      READ_ONCE(dd->feature_len),
			      READ_ONCE(dd->config_len));
		return -EIO;
	}
	for (i = 0; i < vdev->num_vq; i++) {
		addr = le64_to_cpu(READ_ONCE(vq[i].address));
		num = le16_to_cpu(READ_ONCE(vq[i].num));
		if (addr != vdev->vr[i].card_addr || num != vdev->vr[i].num) {
			vop_vdev_stop(vdev,
				      "device page entry rewritten (vring %d at %#llx, %u entries)",
				      i, addr, num);
			return -EIO;
		}
	}
	if (READ_ONCE(vdev->dc->c2h_vdev_db) != vdev->db) {
		vop_vdev_stop(vdev,
			      "device page entry rewritten (doorbell %d)",
			      READ_ONCE(vdev->dc->c2h_vdev_db));
		return -EIO;
	}
	return 0;
}

/* The card reset the device: forget the rings, answer host_ack. */
static void vop_vdev_reset(struct vop_vdev *vdev)
{
	int i;

	for (i = 0; i < vdev->num_vq; i++) {
		vop_ring_reset(&vdev->vr[i]);
		vdev->vr[i].used = NULL;
	}
	WRITE_ONCE(vdev->dd->status, 0);
	WRITE_ONCE(vdev->dc->vdev_reset, 0);
	/* Everything above before the card sees the acknowledgment. */
	smp_wmb();
	WRITE_ONCE(vdev->dc->host_ack, 1);
}

/* Bottom half of the device's doorbell. */
static void vop_vdev_work(struct work_struct *work)
{
	struct vop_vdev *vdev = container_of(work, struct vop_vdev, work);
	struct mic_vop_vqconfig *vq;
	int i;

	mutex_lock(&vdev->lock);
	if (vdev->state != VOP_VDEV_LIVE && vdev->state != VOP_VDEV_BROKEN)
		goto unlock;
	vdev->stats.doorbells++;
	if (vdev->state == VOP_VDEV_LIVE && !vop_vdev_check_entry(vdev) &&
	    READ_ONCE(vdev->dc->used_address_updated)) {
		vq = vop_vqconfig(vdev->dd);
		for (i = 0; i < vdev->num_vq; i++)
			if (vop_ring_set_used(vdev, i,
					      le64_to_cpu(READ_ONCE(vq[i].used_address))))
				break;
		WRITE_ONCE(vdev->dc->used_address_updated, 0);
	}
	/* Answered even when stopped: the card waits for it. */
	if (READ_ONCE(vdev->dc->vdev_reset))
		vop_vdev_reset(vdev);
	vdev->poll_wake = true;
	wake_up(&vdev->waitq);
unlock:
	mutex_unlock(&vdev->lock);
}

static irqreturn_t vop_vdev_intr(int irq, void *data)
{
	struct vop_vdev *vdev = data;

	schedule_work(&vdev->work);
	return IRQ_HANDLED;
}

static void vop_ring_free(struct vop_vdev *vdev, struct vop_vring *vr)
{
	struct mic_vop_hw_dev *hw = vdev->card->hw;

	if (vr->bounce_mapped)
		hw->ops->unmap_local(hw, vr->bounce_card, VOP_BOUNCE_SIZE);
	vr->bounce_mapped = false;
	kfree(vr->bounce);
	vr->bounce = NULL;
	if (vr->card_addr)
		hw->ops->unmap_local(hw, vr->card_addr, vr->len);
	vr->card_addr = 0;
	/* Pages still mapped into user space stay until munmap. */
	if (vr->va)
		free_pages_exact(vr->va, vr->len);
	vr->va = NULL;
	vr->used = NULL;
}

/* The vring pages: descriptors, avail, used (unused), the info trailer. */
static int vop_ring_alloc(struct vop_vdev *vdev, int i, u16 num)
{
	struct mic_vop_hw_dev *hw = vdev->card->hw;
	struct vop_vring *vr = &vdev->vr[i];
	size_t info_off = mic_vop_vring_info_offset(num);
	struct vring vring;
	int rc;

	vr->num = num;
	vr->len = PAGE_ALIGN(info_off + sizeof(*vr->info));
	vr->va = alloc_pages_exact(vr->len, GFP_KERNEL | __GFP_ZERO);
	if (!vr->va)
		return -ENOMEM;
	vring_init(&vring, num, vr->va, MIC_VOP_RING_ALIGN);
	vr->desc = vring.desc;
	vr->avail = vring.avail;
	vr->info = vr->va + info_off;
	vr->info->magic = cpu_to_le32(MIC_VOP_VRING_MAGIC + vdev->type + i);
	vop_ring_reset(vr);
	rc = hw->ops->map_local(hw, vr->va, vr->len, &vr->card_addr);
	if (rc) {
		vr->card_addr = 0;
		return rc;
	}
	vr->bounce = kmalloc(VOP_BOUNCE_SIZE, GFP_KERNEL);
	if (!vr->bounce)
		return -ENOMEM;
	vr->bounce_mapped = !hw->ops->map_local(hw, vr->bounce,
						VOP_BOUNCE_SIZE,
						&vr->bounce_card);
	return 0;
}

/* Check an entry from user space; 0 or -EINVAL. */
static int vop_check_new_entry(struct vop_card *card, struct mic_vop_desc *dd)
{
	struct mic_vop_vqconfig *vq = vop_vqconfig(dd);
	u8 *features = vop_features(dd, dd->num_vq);
	u32 offered = 0;
	u16 num;
	int i;

	for (i = 0; i < dd->num_vq; i++) {
		num = le16_to_cpu(vq[i].num);
		if (!is_power_of_2(num) || num > MIC_VOP_MAX_ENTRIES) {
			dev_err(card->hw->dev,
				"vop_virtio%d: vring %d of %u entries (a power of two up to %d)\n",
				card->index, i, num, MIC_VOP_MAX_ENTRIES);
			return -EINVAL;
		}
	}
	for (i = 0; i < min_t(int, dd->feature_len, 4); i++)
		offered |= features[i] << (8 * i);
	if (offered & (BIT(VIRTIO_RING_F_INDIRECT_DESC) |
		       BIT(VIRTIO_RING_F_EVENT_IDX))) {
		dev_err(card->hw->dev,
			"vop_virtio%d: indirect descriptors and event index are not supported (features %#x)\n",
			card->index, offered);
		return -EINVAL;
	}
	return 0;
}

/* A place for an entry of @size bytes in the device page, or -ENOSPC. */
static int vop_find_slot(struct vop_card *card, unsigned int size)
{
	unsigned int i, off;

	for (i = 0; i < card->nfree; i++) {
		if (card->free_size[i] != size)
			continue;
		off = card->free_off[i];
		card->nfree--;
		card->free_off[i] = card->free_off[card->nfree];
		card->free_size[i] = card->free_size[card->nfree];
		return off;
	}
	if (size > MIC_DP_SIZE - card->dp_end)
		return -ENOSPC;
	off = card->dp_end;
	card->dp_end += size;
	return off;
}

static void vop_put_slot(struct vop_card *card, unsigned int off,
			 unsigned int size)
{
	if (off + size == card->dp_end) {
		/* The last one: its type -1 stays until a new entry. */
		card->dp_end = off;
		return;
	}
	if (card->nfree < ARRAY_SIZE(card->free_off)) {
		card->free_off[card->nfree] = off;
		card->free_size[card->nfree] = size;
		card->nfree++;
	}
}

/* Write the entry, allocate vrings and doorbell; card and vdev locked. */
static int vop_vdev_add(struct vop_vdev *vdev, struct mic_vop_desc *new,
			unsigned int desc_size)
{
	struct vop_card *card = vdev->card;
	struct mic_vop_hw_dev *hw = card->hw;
	struct mic_vop_vqconfig *vq;
	struct mic_vop_desc *dd;
	char name[24];
	int rc, i, off;
	s8 cfg_db;

	vdev->size = mic_vop_entry_size(new->num_vq, new->feature_len,
					new->config_len);
	off = vop_find_slot(card, vdev->size);
	if (off < 0) {
		dev_err(hw->dev, "vop_virtio%d: no room for %u more bytes in the device page\n",
			card->index, vdev->size);
		return off;
	}
	vdev->off = off;
	vdev->type = new->type;
	vdev->num_vq = new->num_vq;
	vdev->feature_len = new->feature_len;
	vdev->config_len = new->config_len;
	dd = (void *)hw->dp + off;
	vdev->dd = dd;
	vdev->dc = (void *)dd + mic_vop_ctrl_offset(new->num_vq,
						    new->feature_len,
						    new->config_len);

	/* Hidden (type 0) until complete; the card stops its walk there. */
	WRITE_ONCE(dd->type, 0);
	/* Type 0 before the rest changes under a card walking the page. */
	smp_wmb();
	memcpy((u8 *)dd + 1, (u8 *)new + 1, desc_size - 1);
	memset((u8 *)dd + desc_size, 0, vdev->size - desc_size);
	dd->status = 0;
	vdev->dc->c2h_vdev_db = -1;
	vdev->dc->h2c_vdev_db = -1;
	vq = vop_vqconfig(dd);
	for (i = 0; i < vdev->num_vq; i++) {
		rc = vop_ring_alloc(vdev, i, le16_to_cpu(vq[i].num));
		if (rc)
			goto unwind;
		vq[i].address = cpu_to_le64(vdev->vr[i].card_addr);
		vq[i].used_address = 0;
	}
	vdev->db = hw->ops->next_db(hw);
	snprintf(name, sizeof(name), "vop%d-virtio%d", card->index, vdev->type);
	vdev->irq = hw->ops->request_db_irq(hw, vdev->db, vop_vdev_intr, name,
					    vdev);
	if (IS_ERR(vdev->irq)) {
		rc = PTR_ERR(vdev->irq);
		vdev->irq = NULL;
		goto unwind;
	}
	vdev->dc->c2h_vdev_db = vdev->db;
	mutex_lock(&vdev->map_lock);
	vdev->state = VOP_VDEV_LIVE;
	mutex_unlock(&vdev->map_lock);
	list_add_tail(&vdev->node, &card->vdevs);
	/* The whole entry before its type (the card reads type first). */
	smp_wmb();
	WRITE_ONCE(dd->type, vdev->type);
	cfg_db = READ_ONCE(hw->dp->h2c_config_db);
	if (cfg_db != -1)
		hw->ops->send_intr(hw, cfg_db);
	dev_info(hw->dev, "vop_virtio%d: added virtio device %d at %u, doorbell %d\n",
		 card->index, vdev->type, off, vdev->db);
	return 0;

unwind:
	for (i = 0; i < vdev->num_vq; i++)
		vop_ring_free(vdev, &vdev->vr[i]);
	WRITE_ONCE(dd->type, -1);
	vop_put_slot(card, off, vdev->size);
	dev_err(hw->dev, "vop_virtio%d: adding virtio device %d failed: %d\n",
		card->index, vdev->type, rc);
	return rc;
}

static long vop_ioctl_add(struct vop_vdev *vdev, void __user *arg)
{
	struct vop_card *card = vdev->card;
	struct mic_vop_desc head, *new;
	unsigned int size;
	int rc;

	if (copy_from_user(&head, arg, sizeof(head)))
		return -EFAULT;
	size = vop_desc_size(&head);
	if (head.type <= 0 || head.num_vq > MIC_VOP_MAX_VRINGS ||
	    ALIGN(size, 8) > MIC_VOP_MAX_DESC_SIZE)
		return -EINVAL;
	new = memdup_user(arg, size);
	if (IS_ERR(new))
		return PTR_ERR(new);
	/* User space may have changed it since the first read. */
	if (memcmp(&head, new, sizeof(head))) {
		rc = -EINVAL;
		goto free;
	}
	mutex_lock(&card->lock);
	mutex_lock(&vdev->lock);
	if (card->gone)
		rc = -ENODEV;
	else if (vdev->state != VOP_VDEV_NEW)
		rc = -EBUSY;
	else
		rc = vop_check_new_entry(card, new) ?:
		     vop_vdev_add(vdev, new, size);
	mutex_unlock(&vdev->lock);
	mutex_unlock(&card->lock);
free:
	kfree(new);
	return rc;
}

static long vop_ioctl_copy(struct vop_vdev *vdev, void __user *arg)
{
	struct mic_vop_copy __user *ucopy = arg;
	struct mic_vop_copy copy;
	long rc;

	if (copy_from_user(&copy, ucopy, sizeof(copy)))
		return -EFAULT;
	mutex_lock(&vdev->lock);
	if (vdev->state == VOP_VDEV_NEW) {
		rc = -EINVAL;
	} else if (vdev->state == VOP_VDEV_GONE) {
		rc = -ENODEV;
	} else if (vdev->state == VOP_VDEV_BROKEN) {
		rc = -EIO;
	} else if (copy.vr_idx >= vdev->num_vq) {
		rc = -EINVAL;
	} else {
		/* -ENODEV: the card let it go; -EIO: stopped. */
		rc = vop_vdev_check_entry(vdev);
		/* Status 0: the card's driver has not set the device up. */
		if (!rc && !READ_ONCE(vdev->dd->status))
			rc = -ENODEV;
		if (!rc)
			rc = vop_ring_copy(vdev, &copy);
		if (!rc && put_user(copy.out_len, &ucopy->out_len))
			rc = -EFAULT;
	}
	mutex_unlock(&vdev->lock);
	return rc;
}

/* Wait for the card to set *@ack; true if it did within @ms. */
static bool vop_wait_ack(u8 *ack, unsigned int ms)
{
	unsigned long end = jiffies + msecs_to_jiffies(ms);

	do {
		if (READ_ONCE(*ack))
			return true;
		usleep_range(10000, 20000);
	} while (time_before(jiffies, end));
	return READ_ONCE(*ack);
}

static long vop_ioctl_config(struct vop_vdev *vdev, void __user *arg)
{
	struct mic_vop_hw_dev *hw;
	void *buf;
	long rc = 0;
	s8 db;

	mutex_lock(&vdev->lock);
	if (vdev->state != VOP_VDEV_LIVE) {
		rc = vdev->state == VOP_VDEV_NEW ? -EINVAL : -ENODEV;
		goto unlock;
	}
	buf = memdup_user(arg, vdev->config_len);
	if (IS_ERR(buf)) {
		rc = PTR_ERR(buf);
		goto unlock;
	}
	hw = vdev->card->hw;
	db = READ_ONCE(hw->dp->h2c_config_db);
	if (db == -1 || vop_vdev_check_entry(vdev)) {
		rc = -EIO;
		goto free;
	}
	memcpy(vop_features(vdev->dd, vdev->num_vq) + 2 * vdev->feature_len,
	       buf, vdev->config_len);
	WRITE_ONCE(vdev->dc->guest_ack, 0);
	/* Config space and a clear ack before the request. */
	smp_wmb();
	WRITE_ONCE(vdev->dc->config_change, MIC_VOP_CONFIG_CHANGED);
	hw->ops->send_intr(hw, db);
	if (!vop_wait_ack(&vdev->dc->guest_ack, config_wait_ms))
		rc = -ETIMEDOUT;
	WRITE_ONCE(vdev->dc->config_change, 0);
	WRITE_ONCE(vdev->dc->guest_ack, 0);
free:
	kfree(buf);
unlock:
	mutex_unlock(&vdev->lock);
	return rc;
}

static long vop_ioctl(struct file *f, unsigned int cmd, unsigned long arg)
{
	struct vop_vdev *vdev = f->private_data;
	void __user *argp = (void __user *)arg;

	switch (cmd) {
	case MIC_VIRTIO_ADD_DEVICE:
		return vop_ioctl_add(vdev, argp);
	case MIC_VIRTIO_COPY_DESC:
		return vop_ioctl_copy(vdev, argp);
	case MIC_VIRTIO_CONFIG_CHANGE:
		return vop_ioctl_config(vdev, argp);
	default:
		return -ENOIOCTLCMD;
	}
}

/*
 * Take the device out of service: no doorbell, no bottom half, type -1,
 * vrings unmapped from the card and freed. Caller holds a reference and
 * not the lock; the card's services are still registered.
 */
static void vop_vdev_teardown(struct vop_vdev *vdev)
{
	struct mic_vop_hw_dev *hw = vdev->card->hw;
	int i;

	mutex_lock(&vdev->lock);
	if (vdev->state != VOP_VDEV_LIVE && vdev->state != VOP_VDEV_BROKEN) {
		mutex_unlock(&vdev->lock);
		return;
	}
	mutex_lock(&vdev->map_lock);
	vdev->state = VOP_VDEV_GONE;
	mutex_unlock(&vdev->map_lock);
	mutex_unlock(&vdev->lock);

	hw->ops->free_db_irq(hw, vdev->irq);
	vdev->irq = NULL;
	cancel_work_sync(&vdev->work);

	mutex_lock(&vdev->lock);
	/* Everything the card may still read before the entry goes. */
	smp_wmb();
	WRITE_ONCE(vdev->dd->type, -1);
	for (i = 0; i < vdev->num_vq; i++)
		vop_ring_free(vdev, &vdev->vr[i]);
	wake_up(&vdev->waitq);
	mutex_unlock(&vdev->lock);
}

/* Upstream's removal handshake, for devices not yet acknowledged. */
static void vop_remove_handshake(struct vop_card *card, struct list_head *list)
{
	struct mic_vop_hw_dev *hw = card->hw;
	unsigned long end = jiffies + msecs_to_jiffies(remove_wait_ms);
	struct vop_vdev *vdev;
	bool pending = false;
	s8 db;

	list_for_each_entry(vdev, list, node) {
		mutex_lock(&vdev->lock);
		if (vdev->state == VOP_VDEV_LIVE ||
		    (vdev->state == VOP_VDEV_BROKEN &&
		     READ_ONCE(vdev->dd->type) != -1)) {
			WRITE_ONCE(vdev->dc->guest_ack, 0);
			/* A clear ack before the request. */
			smp_wmb();
			WRITE_ONCE(vdev->dc->config_change, MIC_VOP_DEV_REMOVE);
			pending = true;
		}
		mutex_unlock(&vdev->lock);
	}
	db = READ_ONCE(hw->dp->h2c_config_db);
	if (!pending || db == -1)
		return;
	hw->ops->send_intr(hw, db);
	list_for_each_entry(vdev, list, node) {
		if (READ_ONCE(vdev->dc->config_change) != MIC_VOP_DEV_REMOVE)
			continue;
		if (!vop_wait_ack(&vdev->dc->guest_ack,
				  time_before(jiffies, end) ?
				  jiffies_to_msecs(end - jiffies) : 0))
			dev_warn(hw->dev,
				 "vop_virtio%d: card did not acknowledge the removal of virtio device %d\n",
				 card->index, vdev->type);
		WRITE_ONCE(vdev->dc->config_change, 0);
		WRITE_ONCE(vdev->dc->guest_ack, 0);
	}
}

static int vop_open(struct inode *inode, struct file *f)
{
	struct vop_card *card = container_of(f->private_data, struct vop_card,
					     misc);
	struct vop_vdev *vdev;

	vdev = kzalloc(sizeof(*vdev), GFP_KERNEL);
	if (!vdev)
		return -ENOMEM;
	kref_init(&vdev->ref);
	mutex_init(&vdev->lock);
	mutex_init(&vdev->map_lock);
	INIT_LIST_HEAD(&vdev->node);
	init_waitqueue_head(&vdev->waitq);
	INIT_WORK(&vdev->work, vop_vdev_work);
	kref_get(&card->ref);
	vdev->card = card;
	f->private_data = vdev;
	return 0;
}

static int vop_release(struct inode *inode, struct file *f)
{
	struct vop_vdev *vdev = f->private_data;
	struct vop_card *card = vdev->card;
	LIST_HEAD(one);
	bool listed;

	/*
	 * Under the card lock, so that a card stop waits for it. A device
	 * not listed is not added, or a card stop owns its teardown.
	 */
	mutex_lock(&card->lock);
	listed = !list_empty(&vdev->node);
	if (listed) {
		list_move(&vdev->node, &one);
		vop_remove_handshake(card, &one);
		list_del_init(&vdev->node);
		vop_vdev_teardown(vdev);
		vop_put_slot(card, vdev->off, vdev->size);
	}
	mutex_unlock(&card->lock);
	kref_put(&vdev->ref, vop_vdev_release);
	kref_put(&card->ref, vop_card_release);
	return 0;
}

/*
 * Read-only, as upstream: the device page at offset 0, then the vrings.
 * Pages are inserted with references, so they outlive a removed device
 * until munmap. Under map_lock, not lock: see struct vop_vdev.
 */
static int vop_mmap(struct file *f, struct vm_area_struct *vma)
{
	struct vop_vdev *vdev = f->private_data;
	unsigned long pos = vma->vm_pgoff << PAGE_SHIFT;
	unsigned long len = vma->vm_end - vma->vm_start;
	unsigned long addr = vma->vm_start, start, off;
	struct page *page;
	int rc = 0, i;

	if (vma->vm_flags & VM_WRITE)
		return -EACCES;
	vm_flags_clear(vma, VM_MAYWRITE);
	mutex_lock(&vdev->map_lock);
	if (vdev->state != VOP_VDEV_LIVE && vdev->state != VOP_VDEV_BROKEN) {
		rc = -EINVAL;
		goto unlock;
	}
	if (!virt_addr_valid(vdev->card->hw->dp)) {
		rc = -ENXIO;
		goto unlock;
	}
	while (len && !rc) {
		page = NULL;
		if (pos < MIC_DP_SIZE) {
			page = virt_to_page((void *)vdev->card->hw->dp);
		} else {
			start = MIC_DP_SIZE;
			for (i = 0; i < vdev->num_vq; i++) {
				off = pos - start;
				if (pos >= start && off < vdev->vr[i].len) {
					page = virt_to_page(vdev->vr[i].va + off);
					break;
				}
				start += vdev->vr[i].len;
			}
		}
		if (!page) {
			rc = -EINVAL;
			break;
		}
		rc = vm_insert_page(vma, addr, page);
		addr += PAGE_SIZE;
		pos += PAGE_SIZE;
		len -= PAGE_SIZE;
	}
unlock:
	mutex_unlock(&vdev->map_lock);
	return rc;
}

/*
 * EPOLLIN | EPOLLOUT once after each doorbell of the card, as upstream;
 * EPOLLERR without a device. A stopped or removed device reports
 * nothing (mpssd would spin on an error), its ioctls fail.
 */
static __poll_t vop_poll(struct file *f, poll_table *wait)
{
	struct vop_vdev *vdev = f->private_data;
	__poll_t mask = 0;

	poll_wait(f, &vdev->waitq, wait);
	mutex_lock(&vdev->lock);
	if (vdev->state == VOP_VDEV_NEW) {
		mask = EPOLLERR;
	} else if (vdev->state == VOP_VDEV_LIVE && vdev->poll_wake) {
		vdev->poll_wake = false;
		mask = EPOLLIN | EPOLLOUT;
	}
	mutex_unlock(&vdev->lock);
	return mask;
}

static const struct file_operations vop_fops = {
	.owner = THIS_MODULE,
	.open = vop_open,
	.release = vop_release,
	.unlocked_ioctl = vop_ioctl,
	.mmap = vop_mmap,
	.poll = vop_poll,
};

static int vop_debugfs_show(struct seq_file *s, void *unused)
{
	struct vop_card *card = s->private;
	struct vop_vdev *vdev;

	mutex_lock(&card->lock);
	seq_printf(s, "device page used %u of %d bytes\n", card->dp_end,
		   MIC_DP_SIZE);
	list_for_each_entry(vdev, &card->vdevs, node) {
		mutex_lock(&vdev->lock);
		seq_printf(s, "type %d at %u: %s%s%s, doorbell %d, status %#x\n",
			   vdev->type, vdev->off, vop_state_names[vdev->state],
			   vdev->why[0] ? ": " : "", vdev->why, vdev->db,
			   READ_ONCE(vdev->dd->status));
		seq_printf(s, "  in %llu out %llu dma %llu dma_errors %llu chains %llu doorbells %llu\n",
			   vdev->stats.in_bytes, vdev->stats.out_bytes,
			   vdev->stats.dma_bytes, vdev->stats.dma_errors,
			   vdev->stats.chains, vdev->stats.doorbells);
		mutex_unlock(&vdev->lock);
	}
	mutex_unlock(&card->lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vop_debugfs);

/**
 * mic_vop_register() - offer /dev/vop_virtioN for a card that boots
 * @vhw: the card's services, filled in by the bus driver
 *
 * Clears the device page after the bootparam: devices of an earlier boot
 * are gone.
 *
 * Return: 0 or a negative errno.
 */
int mic_vop_register(struct mic_vop_hw_dev *vhw)
{
	struct vop_card *card;
	char name[16];
	int rc;

	card = kzalloc(sizeof(*card), GFP_KERNEL);
	if (!card)
		return -ENOMEM;
	kref_init(&card->ref);
	mutex_init(&card->lock);
	INIT_LIST_HEAD(&card->vdevs);
	card->hw = vhw;
	card->index = vhw->index;
	card->dp_end = MIC_VOP_DESC_START;
	memset((u8 *)vhw->dp + MIC_VOP_DESC_START, 0,
	       MIC_DP_SIZE - MIC_VOP_DESC_START);
	snprintf(card->name, sizeof(card->name), "vop_virtio%d", vhw->index);
	card->misc.minor = MISC_DYNAMIC_MINOR;
	card->misc.name = card->name;
	card->misc.fops = &vop_fops;
	card->misc.parent = vhw->dev;
	vhw->vop = card;
	rc = misc_register(&card->misc);
	if (rc) {
		dev_err(vhw->dev, "cannot register %s: %d\n", card->name, rc);
		vhw->vop = NULL;
		kfree(card);
		return rc;
	}
	snprintf(name, sizeof(name), "mic%d", vhw->index);
	card->dbg = debugfs_create_file(name, 0444, vop_dbg_root, card,
					&vop_debugfs_fops);
	return 0;
}
EXPORT_SYMBOL_GPL(mic_vop_register);

/**
 * mic_vop_unregister() - the card stops: remove its devices
 * @vhw: as registered
 *
 * Asks the card to let every device go (one config doorbell, at most
 * remove_wait_ms for all acknowledgments), then takes them out of
 * service. Open files stay valid; their ioctls fail with -ENODEV.
 */
void mic_vop_unregister(struct mic_vop_hw_dev *vhw)
{
	struct vop_card *card = vhw->vop;
	struct vop_vdev *vdev, *tmp;
	LIST_HEAD(list);

	if (!card)
		return;
	misc_deregister(&card->misc);
	debugfs_remove(card->dbg);
	mutex_lock(&card->lock);
	card->gone = true;
	list_for_each_entry(vdev, &card->vdevs, node)
		kref_get(&vdev->ref);
	list_splice_init(&card->vdevs, &list);
	mutex_unlock(&card->lock);

	vop_remove_handshake(card, &list);
	list_for_each_entry_safe(vdev, tmp, &list, node) {
		list_del_init(&vdev->node);
		vop_vdev_teardown(vdev);
		kref_put(&vdev->ref, vop_vdev_release);
	}
	vhw->vop = NULL;
	kref_put(&card->ref, vop_card_release);
}
EXPORT_SYMBOL_GPL(mic_vop_unregister);

static int __init mic_vop_init(void)
{
	vop_dbg_root = debugfs_create_dir("mic_vop", NULL);
	return 0;
}

static void __exit mic_vop_exit(void)
{
	debugfs_remove_recursive(vop_dbg_root);
}

module_init(mic_vop_init);
module_exit(mic_vop_exit);

MODULE_DESCRIPTION("micemu host VOP: /dev/vop_virtioN for virtio devices of x100 cards");
MODULE_LICENSE("GPL");
