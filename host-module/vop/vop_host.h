/* SPDX-License-Identifier: GPL-2.0 */
/*
 * micemu: private declarations of the host's VOP (mic_vop_host.ko).
 *
 * Trust model: the card writes the descriptor and avail rings (host
 * memory, through its SMPT window), the status, accepted features,
 * used_address and handshake bytes of each device entry, and could write
 * anything else in the device page too. Every such value is read once,
 * checked, and kept in host memory the card cannot reach (struct
 * vop_vring, struct vop_vdev) before it is used. Whatever the host wrote
 * is never read back from the device page for its own use: it is only
 * compared, to notice a card that rewrites it. A check that fails stops
 * that device (VOP_VDEV_BROKEN) with a logged error.
 */
#ifndef MICEMU_VOP_HOST_H
#define MICEMU_VOP_HOST_H

#include <linux/kref.h>
#include <linux/miscdevice.h>
#include <linux/mutex.h>
#include <linux/virtio_ring.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "mic_vop_hw.h"
#include "uapi/mic_vop.h"

/* Bounce buffer per vring for copies to and from user space. */
#define VOP_BOUNCE_SIZE		SZ_64K
/* facts §5.1: the DMA engine moves 64-byte aligned blocks. */
#define VOP_DMA_ALIGN		64
/* No descriptor chain taken. */
#define VOP_NO_HEAD		0xffff

enum vop_vdev_state {
	VOP_VDEV_NEW = 0,	/* file open, nothing added yet */
	VOP_VDEV_LIVE,		/* entry in the device page */
	VOP_VDEV_BROKEN,	/* stopped after bad input from the card */
	VOP_VDEV_GONE,		/* removed (file, card stop or card) */
};

/**
 * struct vop_seg - one buffer of the current descriptor chain
 * @addr: card physical address, checked against card memory
 * @len: its length
 */
struct vop_seg {
	u64 addr;
	u32 len;
};

/**
 * struct vop_vring - one vring of a device; host-private state
 * @va: the vring pages (descriptors, avail ring, the host's used ring
 *	and struct mic_vop_vring_info), from alloc_pages_exact()
 * @len: their length, page aligned
 * @card_addr: where the card reaches @va (vqconfig address)
 * @num: entries, a power of two
 * @desc: descriptor table in @va
 * @avail: avail ring in @va
 * @info: avail index for user space, magic for the card
 * @used: the card's used ring in card memory (through the aperture), or
 *	NULL until the card has given a valid used_address
 * @used_addr: card physical address of @used
 * @last_avail: next avail ring index to take
 * @used_idx: the used index the host has published
 * @head: first descriptor of the current chain, or VOP_NO_HEAD
 * @seg: buffers of the current chain: readable ones, then writable ones
 * @nseg: entries in @seg
 * @nread: readable entries at the start of @seg
 * @cur: the entry the next copy starts in
 * @cur_off: bytes of @seg[@cur] already copied
 * @done: bytes of the chain copied, for the used element
 * @bounce: buffer for copies, VOP_BOUNCE_SIZE bytes
 * @bounce_card: where the DMA engine reaches @bounce, if @bounce_mapped
 * @bounce_mapped: @bounce_card is valid
 */
struct vop_vring {
	void *va;
	size_t len;
	dma_addr_t card_addr;
	u16 num;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct mic_vop_vring_info *info;
	struct vring_used __iomem *used;
	u64 used_addr;
	u16 last_avail;
	u16 used_idx;
	u16 head;
	struct vop_seg seg[MIC_VOP_MAX_ENTRIES];
	unsigned int nseg;
	unsigned int nread;
	unsigned int cur;
	u32 cur_off;
	u32 done;
	void *bounce;
	dma_addr_t bounce_card;
	bool bounce_mapped;
};

/**
 * struct vop_stats - counters of one device (debugfs)
 * @in_bytes: card to user space
 * @out_bytes: user space to card
 * @dma_bytes: of those, moved by the DMA engine
 * @dma_errors: DMA transfers that failed (done by CPU instead)
 * @chains: descriptor chains completed
 * @doorbells: card-to-host doorbells taken
 */
struct vop_stats {
	u64 in_bytes;
	u64 out_bytes;
	u64 dma_bytes;
	u64 dma_errors;
	u64 chains;
	u64 doorbells;
};

struct vop_card;

/**
 * struct vop_vdev - one open /dev/vop_virtioN file and its device
 * @ref: the file and a tearing-down card hold one each
 * @card: the card the file was opened on
 * @lock: serialises ioctls, the bottom half and teardown
 * @map_lock: held by mmap, which runs under mmap_lock and so may not take
 *	@lock (ioctls hold it across user copies); taken inside @lock by the
 *	LIVE and GONE transitions of @state, so that @num_vq and @vr stay
 *	while mmap inserts their pages
 * @state: enum vop_vdev_state
 * @node: entry in the card's device list while LIVE or BROKEN
 * @waitq: poll waiters
 * @poll_wake: the card rang since the last poll
 * @work: bottom half of the card's doorbell
 * @irq: the doorbell interrupt cookie
 * @db: card-to-host doorbell of this device
 * @off: offset of the entry in the device page
 * @size: bytes of the entry, control block included
 * @dd: the entry in the device page
 * @dc: its control block in the device page
 * @type: virtio device id (host copy)
 * @num_vq: vrings (host copy)
 * @feature_len: feature bytes (host copy)
 * @config_len: config bytes (host copy)
 * @vr: the vrings
 * @stats: counters
 * @why: why the device was stopped, for debugfs
 */
struct vop_vdev {
	struct kref ref;
	struct vop_card *card;
	struct mutex lock; /* see above */
	struct mutex map_lock; /* see above */
	enum vop_vdev_state state;
	struct list_head node;
	wait_queue_head_t waitq;
	bool poll_wake;
	struct work_struct work;
	void *irq;
	int db;
	unsigned int off;
	unsigned int size;
	struct mic_vop_desc *dd;
	struct mic_vop_ctrl *dc;
	s8 type;
	u8 num_vq;
	u8 feature_len;
	u8 config_len;
	struct vop_vring vr[MIC_VOP_MAX_VRINGS];
	struct vop_stats stats;
	char why[96];
};

/**
 * struct vop_card - VOP of one running card
 * @ref: the registration and each open file hold one
 * @hw: the card's services; NULL once unregistered
 * @lock: protects @vdevs, @gone, @dp_end, @free_slots and the entries
 * @gone: unregistered: no new devices
 * @vdevs: LIVE and BROKEN devices
 * @dp_end: offset after the last entry created since the card started
 * @free_off: offsets of removed entries, reusable by one of equal @free_size
 * @free_size: their sizes
 * @nfree: entries in @free_off
 * @name: "vop_virtioN"
 * @misc: /dev/vop_virtioN
 * @index: card index
 * @dbg: debugfs file
 */
struct vop_card {
	struct kref ref;
	struct mic_vop_hw_dev *hw;
	struct mutex lock; /* see above */
	bool gone;
	struct list_head vdevs;
	unsigned int dp_end;
	u16 free_off[16];
	u16 free_size[16];
	unsigned int nfree;
	char name[16];
	struct miscdevice misc;
	int index;
	struct dentry *dbg;
};

/* vop_main.c */
void vop_vdev_stop(struct vop_vdev *vdev, const char *fmt, ...) __printf(2, 3);

/* vop_ring.c */
void vop_ring_reset(struct vop_vring *vr);
int vop_ring_set_used(struct vop_vdev *vdev, int i, u64 addr);
int vop_ring_copy(struct vop_vdev *vdev, struct mic_vop_copy *copy);

#endif /* MICEMU_VOP_HOST_H */
