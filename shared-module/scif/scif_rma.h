/* SPDX-License-Identifier: GPL-2.0 */
/*
 * micemu SCIF: remote memory access (facts §7.8), private definitions.
 *
 * Every endpoint has a registered address space: windows of pages at
 * page-aligned offsets. Our own windows ("local") are pinned pages plus
 * the address the peer uses for each page (map_local). The peer's windows
 * ("remote") are known from the descriptor it handed over with REGISTER:
 * offset, protection and one peer-side address per page, all checked
 * before use (README.md, "RMA wire protocol").
 *
 * Locking, outermost first (after the locks listed in scif_main.h):
 *   scif_endpt.rma.fence_lock   one remote fence request at a time
 *   scif_dev.ep_sem (read)      the link's hw ops stay usable during a copy
 *   scif_endpt.rma.sem          window lists: read while a transfer uses
 *                               them, write to add or remove a window
 *   scif_endpt.rma.lock         in-flight list, reply slot (spinlock)
 */
#ifndef MICEMU_SCIF_RMA_H
#define MICEMU_SCIF_RMA_H

#include <linux/bits.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/spinlock.h>
#include <linux/types.h>

struct scif_dev;
struct scif_endpt;
struct scifmsg;
struct file;
struct dentry;
struct vm_area_struct;
struct address_space;

/* Descriptor magic: "SCIFWIN1". */
#define SCIF_WIN_MAGIC		0x314e495746494353ULL
/* Largest window: 1 GiB (a 2 MiB descriptor). */
#define SCIF_RMA_MAX_PAGES	BIT(18)
/* Registered offsets stay below 2^52, so offset + length never wraps. */
#define SCIF_RMA_MAX_OFFSET	((s64)BIT_ULL(52))
/* Marks of peer-initiated RMAs carry this bit (facts §7.8). */
#define SCIF_REMOTE_FENCE	BIT(31)
/* Transfers below this size, and unaligned head/tail bytes, use the CPU. */
#define SCIF_RMA_DMA_MIN	4096
#define SCIF_RMA_DMA_ALIGN	64

/**
 * struct scif_win_desc - a window as the registering node describes it
 * @magic: SCIF_WIN_MAGIC
 * @offset: registered offset, page aligned
 * @nr_pages: number of pages
 * @prot: SCIF_PROT_READ / SCIF_PROT_WRITE
 * @rsvd: zero
 * @addr: for each page, the address the peer uses to reach it (card
 *	physical: a card page, or host memory in the SMPT window)
 *
 * Our own layout (both ends are micemu), little-endian, in the memory of
 * the registering node; the peer reads it once while handling REGISTER.
 */
struct scif_win_desc {
	__le64 magic;
	__le64 offset;
	__le64 nr_pages;
	__le32 prot;
	__le32 rsvd;
	__le64 addr[];
};

/**
 * struct scif_window - one window of the registered address space
 * @list: entry in scif_ep_rma.windows or .rwindows, sorted by @offset
 * @offset: registered offset
 * @nr_pages: pages
 * @prot: SCIF_PROT_READ / SCIF_PROT_WRITE
 * @addr: per page, the address the peer (local window) or we (remote
 *	window) use to reach it
 * @pages: local window: the pinned pages
 * @user: local window: @pages are pinned user pages (else kernel pages
 *	with a reference)
 * @mapped: local window: pages of @addr that are mapped with map_local
 * @desc: local window during registration: the descriptor
 * @desc_addr: its peer address
 * @desc_len: its size
 * @state: local window: 0 pending, 1 acknowledged, -errno refused
 */
struct scif_window {
	struct list_head list;
	s64 offset;
	u64 nr_pages;
	int prot;
	u64 *addr;
	struct page **pages;
	bool user;
	u64 mapped;
	struct scif_win_desc *desc;
	dma_addr_t desc_addr;
	size_t desc_len;
	int state;
};

/**
 * struct scif_rma_reply - the answer to our last request to the peer
 * @uop: opcode expected (REGISTER_ACK, MARK_ACK, ...), 0 when idle
 * @id: number of the request
 * @done: an answer arrived
 * @ok: it was the positive one
 * @val: its value (a mark)
 */
struct scif_rma_reply {
	u32 uop;
	u32 id;
	bool done;
	bool ok;
	u64 val;
};

/**
 * struct scif_ep_rma - RMA state of an endpoint
 * @sem: protects @windows and @rwindows
 * @closed: the endpoint is closing: no new remote windows
 * @windows: our registered windows
 * @rwindows: the peer's registered windows
 * @lock: protects @inflight, @seq, @reply
 * @seq: sequence number of the last RMA started here
 * @inflight: struct scif_rma_op entries of running transfers
 * @fence_lock: serialises requests that wait for a @reply
 * @reply: the pending request's answer
 * @dma_next: round-robin DMA channel index
 * @mapping: the /dev/scif file mapping of the peer's windows, or NULL
 */
struct scif_ep_rma {
	struct rw_semaphore sem;
	bool closed;
	struct list_head windows;
	struct list_head rwindows;
	spinlock_t lock;		/* @inflight, @seq, @reply */
	u32 seq;
	struct list_head inflight;
	struct mutex fence_lock;	/* one remote request at a time */
	struct scif_rma_reply reply;
	unsigned int dma_next;
	struct address_space *mapping;
};

/**
 * struct scif_rma_op - a transfer in progress, for fences
 * @list: entry in scif_ep_rma.inflight
 * @seq: its sequence number
 */
struct scif_rma_op {
	struct list_head list;
	u32 seq;
};

/* scif_rma.c: windows */
void scif_rma_ep_init(struct scif_endpt *ep);
void scif_rma_ep_close(struct scif_endpt *ep);
void scif_rma_ep_unmap(struct scif_endpt *ep);
int scif_rma_verify_ep(struct scif_endpt *ep);
int scif_rma_request(struct scif_endpt *ep, struct scifmsg *msg,
		     u32 reply_uop, u64 *val);
void scif_rma_answer(struct scif_dev *dev, struct scifmsg *req, u32 uop,
		     u64 val);
void scif_rma_reply_msg(struct scif_dev *dev, struct scifmsg *msg);
void scif_register_msg(struct scif_dev *dev, struct scifmsg *msg);
void scif_unregister_msg(struct scif_dev *dev, struct scifmsg *msg);
struct scif_endpt *scif_rma_msg_ep(struct scif_dev *dev, u64 cookie);

/* scif_rma_copy.c: transfers */
void scif_rma_op_start(struct scif_endpt *ep, struct scif_rma_op *op);
void scif_rma_op_end(struct scif_endpt *ep, struct scif_rma_op *op);
void scif_rma_debugfs_init(struct dentry *dir);
int scif_rma_poke(struct scif_endpt *ep, bool remote, s64 off, u64 val);
bool scif_rma_marked_done(struct scif_endpt *ep, u32 mark);
u32 scif_rma_mark(struct scif_endpt *ep);

/* scif_fd_rma.c: /dev/scif RMA ioctls and mmap */
long scif_fd_rma_ioctl(struct scif_endpt *ep, unsigned int cmd,
		       unsigned long arg);
int scif_fd_mmap(struct file *file, struct scif_endpt *ep,
		 struct vm_area_struct *vma);

/* scif_fence.c: fences */
void scif_fence_msg(struct scif_dev *dev, struct scifmsg *msg);

#endif /* MICEMU_SCIF_RMA_H */
