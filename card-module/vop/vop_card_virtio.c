// SPDX-License-Identifier: GPL-2.0
/*
 * micemu card VOP driver: the virtio transport of one device.
 *
 * Where things live (upstream's placement, so that upstream's host and
 * mpssd work unchanged):
 *  - the device's entry (features, config space, status) and control
 *    block are in the device page in host memory;
 *  - each vring's descriptors and avail ring are in host memory, where
 *    the host allocated them (vqconfig.address); mpssd reads the avail
 *    ring there;
 *  - each used ring is in card memory: we allocate it and publish its
 *    address (vqconfig.used_address); the host writes it through the
 *    aperture.
 * virtio_ring wants one contiguous vring, used ring one page after the
 * avail ring (align 4096, at most 128 entries: descriptors and avail ring
 * fit in the first page). vop_card_map_ring() builds such a view: a
 * mapping of two host pages whose second page table entry is pointed at
 * the card's used-ring page before anything touches the mapping.
 *
 * Everything in the device page can be rewritten by the host at any time:
 * lengths are the ones read when the device was added, indices are
 * checked, and our own status byte is what we last wrote.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/io.h>
#include <linux/io-64-nonatomic-lo-hi.h>
#include <linux/mm.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <asm/pgtable.h>

#include "mic_compat.h"
#include "vop_card.h"

/* How long we wait for the host's answers, as upstream: 100 x 100 ms. */
#define VOP_CARD_ACK_TRIES	100
#define VOP_CARD_ACK_MS		100

static struct device *vop_dev(struct vop_card_vdev *v)
{
	return &v->vdev.dev;
}

static struct mic_vop_vqconfig __iomem *
vop_card_vqconfig(struct vop_card_vdev *v, unsigned int i)
{
	return (struct mic_vop_vqconfig __iomem *)(v->desc + 1) + i;
}

static u8 __iomem *vop_card_features(struct vop_card_vdev *v)
{
	return (u8 __iomem *)vop_card_vqconfig(v, v->num_vq);
}

static u8 __iomem *vop_card_configspace(struct vop_card_vdev *v)
{
	return vop_card_features(v) + 2 * v->feature_len;
}

static u64 vop_card_get_features(struct virtio_device *vdev)
{
	struct vop_card_vdev *v = to_vop_vdev(vdev);
	u8 __iomem *offered = vop_card_features(v);
	unsigned int i, bytes = min_t(unsigned int, v->feature_len, sizeof(u64));
	u64 features = 0;

	for (i = 0; i < bytes; i++)
		features |= (u64)ioread8(offered + i) << (8 * i);
	return features;
}

static int vop_card_finalize_features(struct virtio_device *vdev)
{
	struct vop_card_vdev *v = to_vop_vdev(vdev);
	u8 __iomem *accepted = vop_card_features(v) + v->feature_len;
	unsigned int i, bytes = min_t(unsigned int, v->feature_len, sizeof(u64));

	vring_transport_features(vdev);
	/* Our vrings are split rings on memory the host placed. */
	__virtio_clear_bit(vdev, VIRTIO_F_RING_PACKED);

	memset_io(accepted, 0, v->feature_len);
	for (i = 0; i < bytes; i++)
		iowrite8((u8)(vdev->features >> (8 * i)), accepted + i);
	return 0;
}

static void vop_card_get(struct virtio_device *vdev, unsigned int offset,
			 void *buf, unsigned int len)
{
	struct vop_card_vdev *v = to_vop_vdev(vdev);

	if (offset > v->config_len || len > v->config_len - offset) {
		dev_warn_ratelimited(vop_dev(v),
				     "config read %u+%u past its %u bytes\n",
				     offset, len, v->config_len);
		memset(buf, 0, len);
		return;
	}
	memcpy_fromio(buf, vop_card_configspace(v) + offset, len);
}

static void vop_card_set(struct virtio_device *vdev, unsigned int offset,
			 const void *buf, unsigned int len)
{
	struct vop_card_vdev *v = to_vop_vdev(vdev);

	if (offset > v->config_len || len > v->config_len - offset) {
		dev_warn_ratelimited(vop_dev(v),
				     "config write %u+%u past its %u bytes\n",
				     offset, len, v->config_len);
		return;
	}
	memcpy_toio(vop_card_configspace(v) + offset, buf, len);
}

static u8 vop_card_get_status(struct virtio_device *vdev)
{
	return to_vop_vdev(vdev)->status;
}

static void vop_card_set_status(struct virtio_device *vdev, u8 status)
{
	struct vop_card_vdev *v = to_vop_vdev(vdev);

	/* 0 is a reset: that goes through vop_card_reset(). */
	if (!status)
		return;
	v->status = status;
	iowrite8(status, &v->desc->status);
	vop_card_send_intr(v);
}

/*
 * Tell the host the device is reset and wait (10 s at most) until it says
 * it stopped touching our rings. The avail indices go to 0 first: a host
 * that rewinds its own index to 0 on reset then sees no stale entries.
 */
static void vop_card_reset(struct virtio_device *vdev)
{
	struct vop_card_vdev *v = to_vop_vdev(vdev);
	struct vring_avail __iomem *avail;
	unsigned int i;
	int tries;

	for (i = 0; i < v->nr_vqs; i++) {
		if (!v->vqs[i].ring)
			continue;
		avail = v->vqs[i].ring + v->vqs[i].num * sizeof(struct vring_desc);
		iowrite16(0, &avail->idx);
	}
	iowrite8(0, &v->dc->host_ack);
	iowrite8(1, &v->dc->vdev_reset);
	vop_card_send_intr(v);
	for (tries = 0; tries < VOP_CARD_ACK_TRIES; tries++) {
		if (ioread8(&v->dc->host_ack))
			break;
		msleep(VOP_CARD_ACK_MS);
	}
	if (tries == VOP_CARD_ACK_TRIES)
		dev_warn(vop_dev(v), "host did not acknowledge the reset in %d ms\n",
			 VOP_CARD_ACK_TRIES * VOP_CARD_ACK_MS);
	v->status = 0;
	iowrite8(0, &v->desc->status);
}

static bool vop_card_notify(struct virtqueue *vq)
{
	vop_card_send_intr(vq->priv);
	return true;
}

/**
 * vop_card_vdev_intr() - the host rang this device's doorbell
 * @irq: card interrupt
 * @data: the device
 *
 * Return: IRQ_HANDLED.
 */
irqreturn_t vop_card_vdev_intr(int irq, void *data)
{
	struct vop_card_vdev *v = data;
	unsigned int i;

	spin_lock(&v->vq_lock);
	v->intr++;
	for (i = 0; i < v->nr_vqs; i++)
		if (v->vqs[i].vq)
			vring_interrupt(irq, v->vqs[i].vq);
	spin_unlock(&v->vq_lock);
	return IRQ_HANDLED;
}

/*
 * Two pages, virtually contiguous: host memory at @addr (descriptors and
 * avail ring), then @used. The second entry is rewritten before the
 * mapping is used at all, so no CPU can hold a translation of it yet.
 */
static void __iomem *vop_card_map_ring(struct vop_card_vdev *v, u64 addr,
				       struct page *used)
{
	struct mic_vop_hw *hw = v->vop->hw;
	void __iomem *va;
	unsigned int level;
	pte_t *pte;

	va = hw->ops->ioremap(hw, addr, 2 * PAGE_SIZE);
	if (!va)
		return NULL;
	pte = lookup_address((unsigned long)va + PAGE_SIZE, &level);
	if (!pte || level != PG_LEVEL_4K) {
		dev_err(vop_dev(v), "cannot place the used ring after 0x%llx\n",
			addr);
		hw->ops->iounmap(hw, va);
		return NULL;
	}
	set_pte(pte, mk_pte(used, PAGE_KERNEL));
	return va;
}

static void vop_card_del_vq(struct vop_card_vdev *v, unsigned int i)
{
	struct mic_vop_hw *hw = v->vop->hw;
	struct vop_card_vq *q = &v->vqs[i];
	unsigned long flags;
	struct virtqueue *vq;

	spin_lock_irqsave(&v->vq_lock, flags);
	vq = q->vq;
	q->vq = NULL;
	spin_unlock_irqrestore(&v->vq_lock, flags);
	if (vq)
		vring_del_virtqueue(vq);
	if (q->ring)
		hw->ops->iounmap(hw, q->ring);
	q->ring = NULL;
	if (q->used)
		__free_page(q->used);
	q->used = NULL;
}

static void vop_card_del_vqs(struct virtio_device *vdev)
{
	struct vop_card_vdev *v = to_vop_vdev(vdev);
	unsigned int i;

	for (i = 0; i < v->nr_vqs; i++)
		vop_card_del_vq(v, i);
	v->nr_vqs = 0;
}

/* Check the host's vring @i, clear it and check its magic (upstream's). */
static int vop_card_check_ring(struct vop_card_vdev *v, unsigned int i,
			       u64 addr, u16 num)
{
	struct mic_vop_hw *hw = v->vop->hw;
	struct mic_vop_vring_info __iomem *info;
	size_t ring_len, map_len;
	void __iomem *va;
	u32 magic, want;

	if (!num || num > MIC_VOP_MAX_ENTRIES || (num & (num - 1))) {
		dev_err(vop_dev(v), "vring %u: %u entries (want a power of 2 up to %d)\n",
			i, num, MIC_VOP_MAX_ENTRIES);
		return -EINVAL;
	}
	if (!PAGE_ALIGNED(addr)) {
		dev_err(vop_dev(v), "vring %u: address 0x%llx is not page aligned\n",
			i, addr);
		return -EINVAL;
	}
	ring_len = mic_vop_vring_info_offset(num);
	map_len = PAGE_ALIGN(ring_len + sizeof(*info));
	va = hw->ops->ioremap(hw, addr, map_len);
	if (!va)
		return -ENOMEM;
	memset_io(va, 0, ring_len);
	info = va + ring_len;
	magic = ioread32(&info->magic);
	want = MIC_VOP_VRING_MAGIC + v->type + i;
	hw->ops->iounmap(hw, va);
	if (magic != want) {
		dev_err(vop_dev(v), "vring %u at 0x%llx: magic 0x%08x, want 0x%08x\n",
			i, addr, magic, want);
		return -EIO;
	}
	return 0;
}

static struct virtqueue *vop_card_find_vq(struct vop_card_vdev *v,
					  unsigned int i,
					  vq_callback_t *callback,
					  const char *name, bool ctx)
{
	struct mic_vop_vqconfig __iomem *cfg = vop_card_vqconfig(v, i);
	struct vop_card_vq *q = &v->vqs[i];
	unsigned long flags;
	struct virtqueue *vq;
	u64 addr;
	u16 num;
	int err;

	addr = readq(&cfg->address);
	num = ioread16(&cfg->num);
	err = vop_card_check_ring(v, i, addr, num);
	if (err)
		return ERR_PTR(err);

	q->num = num;
	q->used = alloc_page(GFP_KERNEL | __GFP_ZERO);
	if (!q->used)
		return ERR_PTR(-ENOMEM);
	q->ring = vop_card_map_ring(v, addr, q->used);
	if (!q->ring) {
		err = -ENOMEM;
		goto free_used;
	}
	/* Upstream's rings are accessed without io accessors too. */
	vq = vring_new_virtqueue(i, num, MIC_VOP_RING_ALIGN, &v->vdev, false,
				 ctx, (void __force *)q->ring, vop_card_notify,
				 callback, name);
	if (!vq) {
		err = -ENOMEM;
		goto unmap;
	}
	vq->priv = v;
	writeq(page_to_phys(q->used), &cfg->used_address);
	spin_lock_irqsave(&v->vq_lock, flags);
	q->vq = vq;
	spin_unlock_irqrestore(&v->vq_lock, flags);
	return vq;

unmap:
	v->vop->hw->ops->iounmap(v->vop->hw, q->ring);
	q->ring = NULL;
free_used:
	__free_page(q->used);
	q->used = NULL;
	return ERR_PTR(err);
}

static int vop_card_find_vqs(struct virtio_device *vdev, unsigned int nvqs,
			     struct virtqueue *vqs[],
			     struct virtqueue_info vqs_info[],
			     struct irq_affinity *desc)
{
	struct vop_card_vdev *v = to_vop_vdev(vdev);
	unsigned int i, idx = 0;
	int err, tries;

	if (nvqs > v->num_vq)
		return -ENOENT;
	for (i = 0; i < nvqs; i++) {
		if (!vqs_info[i].name) {
			vqs[i] = NULL;
			continue;
		}
		v->nr_vqs = idx + 1;
		vqs[i] = vop_card_find_vq(v, idx, vqs_info[i].callback,
					  vqs_info[i].name, vqs_info[i].ctx);
		if (IS_ERR(vqs[i])) {
			err = PTR_ERR(vqs[i]);
			goto del;
		}
		idx++;
	}

	/* Have the host pick up the used ring addresses, as upstream. */
	iowrite8(1, &v->dc->used_address_updated);
	vop_card_send_intr(v);
	for (tries = 0; tries < VOP_CARD_ACK_TRIES; tries++) {
		if (!ioread8(&v->dc->used_address_updated))
			return 0;
		msleep(VOP_CARD_ACK_MS);
	}
	dev_err(vop_dev(v), "host did not take the used rings in %d ms\n",
		VOP_CARD_ACK_TRIES * VOP_CARD_ACK_MS);
	err = -ENODEV;
del:
	vop_card_del_vqs(vdev);
	return err;
}

#ifdef MIC_FIND_VQS_ARRAYS
static int vop_card_find_vqs_arrays(struct virtio_device *vdev,
				    unsigned int nvqs, struct virtqueue *vqs[],
				    vq_callback_t *callbacks[],
				    const char * const names[],
				    const bool *ctx, struct irq_affinity *desc)
{
	struct virtqueue_info *info = mic_vqs_info(nvqs, callbacks, names, ctx);
	int err;

	if (!info)
		return -ENOMEM;
	err = vop_card_find_vqs(vdev, nvqs, vqs, info, desc);
	kfree(info);
	return err;
}
#endif

static const char *vop_card_bus_name(struct virtio_device *vdev)
{
	return "mic_card_vop";
}

const struct virtio_config_ops vop_card_config_ops = {
	.get = vop_card_get,
	.set = vop_card_set,
	.get_status = vop_card_get_status,
	.set_status = vop_card_set_status,
	.reset = vop_card_reset,
#ifdef MIC_FIND_VQS_ARRAYS
	.find_vqs = vop_card_find_vqs_arrays,
#else
	.find_vqs = vop_card_find_vqs,
#endif
	.del_vqs = vop_card_del_vqs,
	.get_features = vop_card_get_features,
	.finalize_features = vop_card_finalize_features,
	.bus_name = vop_card_bus_name,
};
