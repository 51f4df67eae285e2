// SPDX-License-Identifier: GPL-2.0
/*
 * micemu: the host side of a VOP vring: take descriptor chains the card
 * made available, copy their buffers to and from user space, complete
 * them in the card's used ring.
 *
 * The descriptor table and avail ring live in host memory and are
 * written by the card; the used ring and every buffer live in card
 * memory, reached through the aperture. Each descriptor is read once into
 * host-private struct vop_seg entries after these checks, any failure of
 * which stops the device (vop_vdev_stop()):
 *  - the avail index moves by at most the ring size;
 *  - every head and next index is below the ring size;
 *  - a chain has at most ring-size descriptors (so a loop ends);
 *  - no indirect descriptors (never offered), no readable after writable;
 *  - each buffer lies wholly inside card memory (no wrap).
 * Copies then only touch [addr, addr + len) of a checked buffer; DMA
 * rounds to 64 bytes only where the rounded range is checked too.
 */
#include <linux/dmaengine.h>
#include <linux/module.h>
#include <linux/uaccess.h>
#include <linux/uio.h>

#include "vop_host.h"

/*
 * Measured under TCG (host-module/README.md): every copy waits for its DMA,
 * and 32 MiB through virtio-blk moved 2-3 times slower by DMA than by CPU
 * (the emulated BAR0 is plain RAM), for page-sized and for large segments
 * alike, so DMA is off by default. On real PCIe, CPU reads of card memory
 * are uncached and DMA would pay; use_dma=1 turns it on for buffers of at
 * least dma_min_bytes.
 */
static bool use_dma;
module_param(use_dma, bool, 0644);
MODULE_PARM_DESC(use_dma, "Copy buffers with the card's DMA engine (default off)");

static unsigned int dma_min_bytes = 8192;
module_param(dma_min_bytes, uint, 0644);
MODULE_PARM_DESC(dma_min_bytes,
		 "With use_dma, smallest copy done by DMA (default 8192)");

static struct device *vop_dev(struct vop_vdev *vdev)
{
	return vdev->card->hw->dev;
}

/* Forget the current chain and the indices (device reset). */
void vop_ring_reset(struct vop_vring *vr)
{
	vr->last_avail = 0;
	vr->used_idx = 0;
	vr->head = VOP_NO_HEAD;
	vr->nseg = 0;
	vr->nread = 0;
	vr->cur = 0;
	vr->cur_off = 0;
	vr->done = 0;
	if (vr->info)
		WRITE_ONCE(vr->info->avail_idx, 0);
}

/* A range of card memory: inside the aperture, no wrap. */
static bool vop_card_range_ok(struct vop_vdev *vdev, u64 addr, u64 len)
{
	u64 size = vdev->card->hw->aper.len;

	return addr <= size && len <= size - addr;
}

/**
 * vop_ring_set_used() - take the used ring address the card gave
 * @vdev: the device, lock held
 * @i: vring index
 * @addr: card physical address of the used ring
 *
 * Return: 0, or -EIO after stopping the device.
 */
int vop_ring_set_used(struct vop_vdev *vdev, int i, u64 addr)
{
	struct vop_vring *vr = &vdev->vr[i];
	u64 size = PAGE_ALIGN(sizeof(__virtio16) * 3 +
			      sizeof(struct vring_used_elem) * vr->num);

	if (!addr) {
		vr->used = NULL;
		return 0;
	}
	if (addr & 3 || !vop_card_range_ok(vdev, addr, size)) {
		vop_vdev_stop(vdev,
			      "vring %d: used ring at %#llx (+%llu) outside card memory or misaligned",
			      i, addr, size);
		return -EIO;
	}
	vr->used_addr = addr;
	vr->used = vdev->card->hw->aper.va + addr;
	return 0;
}

/* Read the next available chain into @vr->seg: 1, 0 if none, -EIO. */
static int vop_ring_get_chain(struct vop_vdev *vdev, int idx)
{
	struct vop_vring *vr = &vdev->vr[idx];
	u16 avail, head, i, flags, next;
	unsigned int count = 0;
	bool writable = false;
	u64 addr;
	u32 len;

	avail = le16_to_cpu(READ_ONCE(vr->avail->idx));
	if (avail == vr->last_avail)
		return 0;
	if ((u16)(avail - vr->last_avail) > vr->num) {
		vop_vdev_stop(vdev,
			      "vring %d: avail index jumped from %u to %u (ring of %u)",
			      idx, vr->last_avail, avail, vr->num);
		return -EIO;
	}
	/* The ring entry after the index (the card's write barrier). */
	virt_rmb();
	head = le16_to_cpu(READ_ONCE(vr->avail->ring[vr->last_avail &
						     (vr->num - 1)]));
	if (head >= vr->num) {
		vop_vdev_stop(vdev, "vring %d: head %u out of range (ring of %u)",
			      idx, head, vr->num);
		return -EIO;
	}
	vr->nseg = 0;
	vr->nread = 0;
	for (i = head;; i = next) {
		if (++count > vr->num) {
			vop_vdev_stop(vdev,
				      "vring %d: descriptor chain from %u loops (more than %u)",
				      idx, head, vr->num);
			return -EIO;
		}
		addr = le64_to_cpu(READ_ONCE(vr->desc[i].addr));
		len = le32_to_cpu(READ_ONCE(vr->desc[i].len));
		flags = le16_to_cpu(READ_ONCE(vr->desc[i].flags));
		next = le16_to_cpu(READ_ONCE(vr->desc[i].next));
		if (flags & VRING_DESC_F_INDIRECT) {
			vop_vdev_stop(vdev,
				      "vring %d: indirect descriptor %u (not offered)",
				      idx, i);
			return -EIO;
		}
		if (!vop_card_range_ok(vdev, addr, len)) {
			vop_vdev_stop(vdev,
				      "vring %d: descriptor %u buffer %#llx+%u outside card memory (%pa)",
				      idx, i, addr, len,
				      &vdev->card->hw->aper.len);
			return -EIO;
		}
		if (!(flags & VRING_DESC_F_WRITE) && writable) {
			vop_vdev_stop(vdev,
				      "vring %d: readable descriptor %u after a writable one",
				      idx, i);
			return -EIO;
		}
		if (flags & VRING_DESC_F_WRITE)
			writable = true;
		else
			vr->nread++;
		vr->seg[vr->nseg].addr = addr;
		vr->seg[vr->nseg].len = len;
		vr->nseg++;
		if (!(flags & VRING_DESC_F_NEXT))
			break;
		if (next >= vr->num) {
			vop_vdev_stop(vdev,
				      "vring %d: descriptor %u: next %u out of range (ring of %u)",
				      idx, i, next, vr->num);
			return -EIO;
		}
	}
	vr->head = head;
	vr->cur = 0;
	vr->cur_off = 0;
	vr->done = 0;
	vr->last_avail++;
	return 1;
}

/* One DMA memcpy between card addresses, waited for; 0 or -EIO. */
static int vop_dma_copy(struct vop_vdev *vdev, int idx, u64 dst, u64 src,
			size_t len)
{
	struct mic_vop_hw_dev *hw = vdev->card->hw;
	struct dma_async_tx_descriptor *tx;
	struct dma_chan *chan;
	dma_cookie_t cookie;

	chan = hw->dma_ch[(vdev->type + idx) % hw->num_dma_ch];
	tx = dmaengine_prep_dma_memcpy(chan, dst, src, len, 0);
	if (!tx)
		goto fail;
	cookie = dmaengine_submit(tx);
	if (dma_submit_error(cookie))
		goto fail;
	dma_async_issue_pending(chan);
	if (dma_sync_wait(chan, cookie) != DMA_COMPLETE)
		goto fail;
	vdev->stats.dma_bytes += len;
	return 0;
fail:
	vdev->stats.dma_errors++;
	dev_warn_ratelimited(vop_dev(vdev),
			     "vop%d: DMA of %zu bytes failed, copying by CPU\n",
			     vdev->card->index, len);
	return -EIO;
}

static bool vop_dma_ok(struct vop_vdev *vdev, struct vop_vring *vr,
		       size_t len)
{
	return use_dma && vr->bounce_mapped && vdev->card->hw->num_dma_ch &&
	       len >= dma_min_bytes;
}

/*
 * Card buffer [addr, addr + len) to user space, through the bounce buffer.
 * By DMA, the engine reads from addr rounded down to 64 bytes up to the
 * end rounded up, when that stays in card memory; it only reads.
 */
static int vop_copy_to_user(struct vop_vdev *vdev, int idx,
			    void __user *ubuf, u64 addr, size_t len)
{
	struct vop_vring *vr = &vdev->vr[idx];
	void __iomem *src = vdev->card->hw->aper.va + addr;
	size_t n, head, span;
	u64 start;

	while (len) {
		n = min_t(size_t, len, VOP_BOUNCE_SIZE - VOP_DMA_ALIGN);
		start = round_down(addr, VOP_DMA_ALIGN);
		head = addr - start;
		span = ALIGN(head + n, VOP_DMA_ALIGN);
		if (vop_dma_ok(vdev, vr, n) &&
		    vop_card_range_ok(vdev, start, span) &&
		    !vop_dma_copy(vdev, idx, vr->bounce_card, start, span)) {
			if (copy_to_user(ubuf, vr->bounce + head, n))
				return -EFAULT;
		} else {
			memcpy_fromio(vr->bounce, src, n);
			if (copy_to_user(ubuf, vr->bounce, n))
				return -EFAULT;
		}
		vdev->stats.in_bytes += n;
		ubuf += n;
		src += n;
		addr += n;
		len -= n;
	}
	return 0;
}

/*
 * User space to card buffer [addr, addr + len); @room is how far the
 * buffer goes on from @addr. DMA writes whole 64-byte blocks, so it is
 * used only when @addr is aligned and the rounded length stays in the
 * buffer.
 */
static int vop_copy_from_user(struct vop_vdev *vdev, int idx,
			      const void __user *ubuf, u64 addr, size_t len,
			      size_t room)
{
	struct vop_vring *vr = &vdev->vr[idx];
	void __iomem *dst = vdev->card->hw->aper.va + addr;
	size_t n;

	while (len) {
		n = min_t(size_t, len, VOP_BOUNCE_SIZE);
		if (copy_from_user(vr->bounce, ubuf, n))
			return -EFAULT;
		if (!(vop_dma_ok(vdev, vr, n) && !(addr & (VOP_DMA_ALIGN - 1)) &&
		      ALIGN(n, VOP_DMA_ALIGN) <= room &&
		      !vop_dma_copy(vdev, idx, addr, vr->bounce_card,
				    ALIGN(n, VOP_DMA_ALIGN))))
			memcpy_toio(dst, vr->bounce, n);
		vdev->stats.out_bytes += n;
		ubuf += n;
		dst += n;
		addr += n;
		room -= n;
		len -= n;
	}
	return 0;
}

/* Publish the finished chain in the card's used ring; ring if wanted. */
static void vop_ring_complete(struct vop_vdev *vdev, int idx)
{
	struct vop_vring *vr = &vdev->vr[idx];
	struct vring_used __iomem *used = vr->used;
	u16 slot = vr->used_idx & (vr->num - 1);
	s8 db;

	iowrite32(vr->head, &used->ring[slot].id);
	iowrite32(vr->done, &used->ring[slot].len);
	/* The element before the index that exposes it. */
	wmb();
	vr->used_idx++;
	iowrite16(vr->used_idx, &used->idx);
	vdev->stats.chains++;
	vr->head = VOP_NO_HEAD;
	vr->nseg = 0;
	vr->cur = 0;
	vr->cur_off = 0;
	WRITE_ONCE(vr->info->avail_idx, vr->last_avail);
	/* The used index before the card's flags (it may sleep on them). */
	mb();
	if (le16_to_cpu(READ_ONCE(vr->avail->flags)) &
	    VRING_AVAIL_F_NO_INTERRUPT)
		return;
	db = READ_ONCE(vdev->dc->h2c_vdev_db);
	if (db != -1)
		vdev->card->hw->ops->send_intr(vdev->card->hw, db);
}

/**
 * vop_ring_copy() - MIC_VIRTIO_COPY_DESC on one vring
 * @vdev: a LIVE device, lock held
 * @copy: the request; @copy->out_len is set
 *
 * Takes a new chain when the current one is used up, copies its readable
 * buffers into the user's iovecs and then the user's remaining bytes into
 * its writable buffers, and completes the chain when asked to and when
 * something was copied.
 *
 * Return: 0 (also when nothing was available) or a negative errno.
 */
int vop_ring_copy(struct vop_vdev *vdev, struct mic_vop_copy *copy)
{
	struct vop_vring *vr = &vdev->vr[copy->vr_idx];
	const struct iovec __user *uiov = u64_to_user_ptr(copy->iov);
	struct vop_seg *seg;
	struct iovec iov;
	u32 left = copy->iovcnt;
	size_t n;
	int rc;

	copy->out_len = 0;
	if (copy->iovcnt > UIO_MAXIOV)
		return -EINVAL;
	if (!vr->used)
		return 0;
	if (vr->cur == vr->nseg) {
		rc = vop_ring_get_chain(vdev, copy->vr_idx);
		if (rc <= 0)
			return rc;
	}
	iov.iov_len = 0;
	while (left && vr->cur < vr->nseg) {
		if (!iov.iov_len) {
			if (copy_from_user(&iov, uiov, sizeof(iov)))
				return -EFAULT;
			if (!iov.iov_len) {
				uiov++;
				left--;
				continue;
			}
		}
		seg = &vr->seg[vr->cur];
		n = min_t(size_t, iov.iov_len, seg->len - vr->cur_off);
		if (vr->cur < vr->nread)
			rc = vop_copy_to_user(vdev, copy->vr_idx, iov.iov_base,
					      seg->addr + vr->cur_off, n);
		else
			rc = vop_copy_from_user(vdev, copy->vr_idx,
						iov.iov_base,
						seg->addr + vr->cur_off, n,
						seg->len - vr->cur_off);
		if (rc)
			return rc;
		copy->out_len += n;
		vr->done += n;
		vr->cur_off += n;
		iov.iov_base += n;
		iov.iov_len -= n;
		if (vr->cur_off == seg->len) {
			vr->cur++;
			vr->cur_off = 0;
		}
		if (!iov.iov_len) {
			uiov++;
			left--;
		}
	}
	if (vr->head != VOP_NO_HEAD && copy->out_len && copy->update_used)
		vop_ring_complete(vdev, copy->vr_idx);
	return 0;
}
