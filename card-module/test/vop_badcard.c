// SPDX-License-Identifier: GPL-2.0
/*
 * micemu test module (mic_vop_badcard.ko): a hostile card-side VOP driver.
 *
 * Takes over one virtio device the host added to the device page (type
 * "type", default 127, which no card driver serves): gives the host used
 * rings in card memory, sets DRIVER_OK, and then does what "attack" says
 * on vring "vq" (default 0), ringing the device's doorbell after each
 * step. Every step is logged with the "vop_badcard:" prefix.
 *
 *   good      a readable buffer of len bytes at offset "off" of a page on
 *             vring 0 and a writable one on vring 1; waits for both in the
 *             used rings and logs their used lengths and FNV-1a hashes
 *   used_idx  writes 0x1234 into its used index first, then as good
 *   head      an avail entry naming descriptor num + 5
 *   next      a chain whose next index is 200
 *   loop      descriptors 0 -> 1 -> 0 -> ...
 *   len       a buffer starting 16 bytes before the end of card memory
 *   wrap      a buffer at 2^64 - 100 (its end wraps)
 *   indirect  an indirect descriptor (never offered)
 *   order     a readable descriptor after a writable one
 *   avail     the avail index jumps by num + 3
 *   used_addr a used ring address at the end of card memory
 *   rewrite   the entry's vring 0 address rewritten
 *   rewrite_type  the entry's type rewritten (5)
 *   rewrite_db    the entry's card-to-host doorbell rewritten (7)
 *
 * On unload it resets the device (vdev_reset, waits for host_ack), marks
 * the entry removed (type -1) as upstream's card driver does, and frees
 * its memory.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/io.h>
#include <linux/io-64-nonatomic-lo-hi.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "mic_card_regs.h"
#include "scif_hw.h"
#include "uapi/mic_vop.h"

static char *attack = "good";
module_param(attack, charp, 0444);
MODULE_PARM_DESC(attack, "what to do, see the source");

static int type = 127;
module_param(type, int, 0444);
MODULE_PARM_DESC(type, "virtio type of the device to take over");

static unsigned int len = 4096;
module_param(len, uint, 0444);
MODULE_PARM_DESC(len, "buffer length for good and used_idx");

static unsigned int off;
module_param(off, uint, 0444);
MODULE_PARM_DESC(off, "offset of the buffers in their pages");

static int seed = 1;
module_param(seed, int, 0444);
MODULE_PARM_DESC(seed, "pattern seed of the readable buffer");

static unsigned long long mem_end = SZ_1G;
module_param(mem_end, ullong, 0444);
MODULE_PARM_DESC(mem_end, "size of card memory (default 1 GiB)");

static unsigned int wait_ms = 10000;
module_param(wait_ms, uint, 0444);
MODULE_PARM_DESC(wait_ms, "how long to wait for the host");

struct bad_vring {
	void __iomem *va;
	size_t len;
	unsigned int num;
	struct vring_used *used;
	size_t used_len;
	u16 avail_idx;
};

static struct {
	void __iomem *regs;
	void __iomem *dp;
	struct mic_vop_desc __iomem *d;
	struct mic_vop_vqconfig __iomem *vq;
	struct mic_vop_ctrl __iomem *dc;
	int num_vq;
	int c2h_db;
	struct bad_vring vr[MIC_VOP_MAX_VRINGS];
	void *buf[2];
	size_t buf_len;
} bad;

static u32 bad_fnv(const u8 *p, size_t n)
{
	u32 h = 2166136261u;

	while (n--) {
		h ^= *p++;
		h *= 16777619u;
	}
	return h;
}

static void bad_ring(void)
{
	/* Everything written for the host before its doorbell. */
	wmb();
	iowrite32(MIC_SDBIC_DBREQ,
		  bad.regs + MIC_SBOX_BASE + MIC_SBOX_SDBIC(bad.c2h_db));
}

static bool bad_wait(u8 __iomem *p, u8 want)
{
	unsigned int t;

	for (t = 0; t < wait_ms; t += 20) {
		if (ioread8(p) == want)
			return true;
		msleep(20);
	}
	return false;
}

static void bad_desc(int q, int i, u64 addr, u32 n, u16 flags, u16 next)
{
	struct vring_desc __iomem *d = bad.vr[q].va + 16 * i;

	writeq(addr, &d->addr);
	iowrite32(n, &d->len);
	iowrite16(flags, &d->flags);
	iowrite16(next, &d->next);
}

/* Make head @head available on vring @q and ring. */
static void bad_post(int q, u16 head)
{
	struct bad_vring *vr = &bad.vr[q];
	void __iomem *avail = vr->va + 16 * vr->num;

	iowrite16(head, avail + 4 + 2 * (vr->avail_idx & (vr->num - 1)));
	/* The ring entry before the index that exposes it. */
	wmb();
	vr->avail_idx++;
	iowrite16(vr->avail_idx, avail + 2);
	bad_ring();
}

static int bad_find_entry(void)
{
	unsigned int o = MIC_VOP_DESC_START, size;
	struct mic_vop_desc __iomem *d;
	s8 t;

	while (o + sizeof(*d) <= MIC_DP_SIZE) {
		d = bad.dp + o;
		t = ioread8(&d->type);
		if (!t)
			break;
		size = mic_vop_entry_size(ioread8(&d->num_vq),
					  ioread8(&d->feature_len),
					  ioread8(&d->config_len));
		if (o + size > MIC_DP_SIZE)
			break;
		if (t == type) {
			bad.d = d;
			bad.vq = (void __iomem *)(d + 1);
			bad.dc = bad.dp + o + size - sizeof(struct mic_vop_ctrl);
			bad.num_vq = min_t(int, ioread8(&d->num_vq),
					   MIC_VOP_MAX_VRINGS);
			pr_info("entry type %d at %u, %d vrings\n", t, o,
				bad.num_vq);
			return 0;
		}
		o += size;
	}
	pr_err("no entry of type %d in the device page\n", type);
	return -ENODEV;
}

static int bad_setup_rings(void)
{
	struct bad_vring *vr;
	u64 addr;
	int i;

	for (i = 0; i < bad.num_vq; i++) {
		vr = &bad.vr[i];
		addr = readq(&bad.vq[i].address);
		vr->num = ioread16(&bad.vq[i].num);
		if (!is_power_of_2(vr->num) || vr->num > MIC_VOP_MAX_ENTRIES)
			return -EINVAL;
		vr->len = vring_size(vr->num, MIC_VOP_RING_ALIGN);
		vr->va = ioremap(addr, vr->len);
		if (!vr->va)
			return -ENOMEM;
		vr->used_len = PAGE_ALIGN(6 + 8 * vr->num);
		vr->used = alloc_pages_exact(vr->used_len,
					     GFP_KERNEL | __GFP_ZERO);
		if (!vr->used)
			return -ENOMEM;
		writeq(virt_to_phys(vr->used), &bad.vq[i].used_address);
	}
	bad.c2h_db = (s8)ioread8(&bad.dc->c2h_vdev_db);
	if (bad.c2h_db < 0 || bad.c2h_db > MIC_SDBIC_MAX)
		return -EINVAL;
	iowrite8(-1, &bad.dc->h2c_vdev_db);
	iowrite8(1, &bad.dc->used_address_updated);
	iowrite8(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		 VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK,
		 &bad.d->status);
	bad_ring();
	if (!bad_wait(&bad.dc->used_address_updated, 0)) {
		pr_err("host did not take the used rings\n");
		return -ETIMEDOUT;
	}
	pr_info("host took the used rings, doorbell %d\n", bad.c2h_db);
	return 0;
}

/* good / used_idx: one buffer each way, check what came back. */
static int bad_good(void)
{
	struct vring_used *u0 = bad.vr[0].used, *u1 = bad.vr[1].used;
	u8 *rd, *wr;
	unsigned int t, k;

	if (bad.num_vq < 2)
		return -EINVAL;
	bad.buf_len = PAGE_ALIGN(len + off);
	bad.buf[0] = alloc_pages_exact(bad.buf_len, GFP_KERNEL);
	bad.buf[1] = alloc_pages_exact(bad.buf_len, GFP_KERNEL | __GFP_ZERO);
	if (!bad.buf[0] || !bad.buf[1])
		return -ENOMEM;
	rd = bad.buf[0] + off;
	wr = bad.buf[1] + off;
	for (k = 0; k < len; k++)
		rd[k] = (u8)(k * 13 + seed);
	pr_info("posting %u bytes at offset %u each way, readable fnv %#010x\n",
		len, off, bad_fnv(rd, len));
	bad_desc(0, 0, virt_to_phys(rd), len, 0, 0);
	bad_desc(1, 0, virt_to_phys(wr), len, VRING_DESC_F_WRITE, 0);
	bad_post(0, 0);
	bad_post(1, 0);
	for (t = 0; t < wait_ms; t += 20) {
		if (READ_ONCE(u0->idx) == 1 && READ_ONCE(u1->idx) == 1)
			break;
		msleep(20);
	}
	/* The host's used elements after its used index. */
	rmb();
	pr_info("vq 0: used idx %u id %u len %u\n", READ_ONCE(u0->idx),
		u0->ring[0].id, u0->ring[0].len);
	pr_info("vq 1: used idx %u id %u len %u, written fnv %#010x\n",
		READ_ONCE(u1->idx), u1->ring[0].id, u1->ring[0].len,
		bad_fnv(wr, len));
	return 0;
}

static int bad_attack(void)
{
	struct bad_vring *vr = &bad.vr[0];
	u64 scratch;

	bad.buf_len = PAGE_SIZE;
	bad.buf[0] = alloc_pages_exact(PAGE_SIZE, GFP_KERNEL | __GFP_ZERO);
	if (!bad.buf[0])
		return -ENOMEM;
	scratch = virt_to_phys(bad.buf[0]);

	if (!strcmp(attack, "good"))
		return bad_good();
	if (!strcmp(attack, "used_idx")) {
		WRITE_ONCE(bad.vr[0].used->idx, 0x1234);
		free_pages_exact(bad.buf[0], bad.buf_len);
		bad.buf[0] = NULL;
		return bad_good();
	}
	if (!strcmp(attack, "head")) {
		bad_post(0, vr->num + 5);
	} else if (!strcmp(attack, "next")) {
		bad_desc(0, 0, scratch, 16, VRING_DESC_F_NEXT, 200);
		bad_post(0, 0);
	} else if (!strcmp(attack, "loop")) {
		bad_desc(0, 0, scratch, 16, VRING_DESC_F_NEXT, 1);
		bad_desc(0, 1, scratch, 16, VRING_DESC_F_NEXT, 0);
		bad_post(0, 0);
	} else if (!strcmp(attack, "len")) {
		bad_desc(0, 0, mem_end - 16, 4096, 0, 0);
		bad_post(0, 0);
	} else if (!strcmp(attack, "wrap")) {
		bad_desc(0, 0, ~0ULL - 100, 4096, 0, 0);
		bad_post(0, 0);
	} else if (!strcmp(attack, "indirect")) {
		bad_desc(0, 0, scratch, 16, VRING_DESC_F_INDIRECT, 0);
		bad_post(0, 0);
	} else if (!strcmp(attack, "order")) {
		bad_desc(0, 0, scratch, 16,
			 VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
		bad_desc(0, 1, scratch + 16, 16, 0, 0);
		bad_post(0, 0);
	} else if (!strcmp(attack, "avail")) {
		bad_desc(0, 0, scratch, 16, 0, 0);
		vr->avail_idx += vr->num + 2;
		bad_post(0, 0);
	} else if (!strcmp(attack, "used_addr")) {
		writeq(mem_end, &bad.vq[0].used_address);
		iowrite8(1, &bad.dc->used_address_updated);
		bad_ring();
	} else if (!strcmp(attack, "rewrite")) {
		writeq(0x1000, &bad.vq[0].address);
		bad_ring();
	} else if (!strcmp(attack, "rewrite_type")) {
		iowrite8(5, &bad.d->type);
		bad_ring();
	} else if (!strcmp(attack, "rewrite_db")) {
		iowrite8(7, &bad.dc->c2h_vdev_db);
		bad_ring();
	} else {
		pr_err("unknown attack %s\n", attack);
		return -EINVAL;
	}
	pr_info("sent %s\n", attack);
	return 0;
}

static void bad_cleanup(void)
{
	int i;

	for (i = 0; i < 2; i++)
		if (bad.buf[i])
			free_pages_exact(bad.buf[i], bad.buf_len);
	for (i = 0; i < MIC_VOP_MAX_VRINGS; i++) {
		if (bad.vr[i].va)
			iounmap(bad.vr[i].va);
		if (bad.vr[i].used)
			free_pages_exact(bad.vr[i].used, bad.vr[i].used_len);
	}
	if (bad.dp)
		iounmap(bad.dp);
	if (bad.regs)
		iounmap(bad.regs);
}

static int __init bad_init(void)
{
	u64 dp_addr;
	int rc;

	bad.regs = ioremap(MIC_CARD_MMIO_BASE, MIC_CARD_MMIO_LEN);
	if (!bad.regs)
		return -ENOMEM;
	dp_addr = ioread32(bad.regs + MIC_SBOX_BASE +
			   MIC_SBOX_SPAD(MIC_SPAD_DP_LO)) |
		  (u64)ioread32(bad.regs + MIC_SBOX_BASE +
				MIC_SBOX_SPAD(MIC_SPAD_DP_HI)) << 32;
	bad.dp = ioremap(dp_addr, MIC_DP_SIZE);
	rc = bad.dp ? bad_find_entry() : -ENOMEM;
	if (!rc)
		rc = bad_setup_rings();
	if (!rc)
		rc = bad_attack();
	if (rc) {
		pr_err("%s failed: %d\n", attack, rc);
		bad_cleanup();
	}
	return rc;
}

static void __exit bad_exit(void)
{
	iowrite8(0, &bad.dc->host_ack);
	iowrite8(1, &bad.dc->vdev_reset);
	bad_ring();
	pr_info("reset %s by the host\n",
		bad_wait(&bad.dc->host_ack, 1) ? "acknowledged" :
		"not acknowledged");
	iowrite8(0, &bad.d->status);
	/* Status 0 before the entry is gone, as upstream's card does. */
	wmb();
	iowrite8(-1, &bad.d->type);
	bad_ring();
	/* The host forgot the used rings with the reset. */
	bad_cleanup();
}

module_init(bad_init);
module_exit(bad_exit);

MODULE_DESCRIPTION("micemu test: hostile card-side VOP driver");
MODULE_LICENSE("GPL");
