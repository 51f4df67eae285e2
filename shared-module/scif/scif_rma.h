/* SPDX-License-Identifier: GPL-2.0 */
/*
 * micemu SCIF: remote memory access (facts §7.8), private definitions.
 *
 * Every endpoint has a registered address space: windows of pages at
 * page-aligned offsets. Our own windows ("local") are pinned pages plus
 * the address the peer uses for each page (map_local). The peer's windows
 * ("remote") are what it wrote, in upstream's layout, into room we
 * allocated on its ALLOC_REQ (scif_rma_wire.h): offset, protection and
 * its pages as contiguous chunks, copied and checked before use
 * (README.md, "RMA wire protocol").
 *
 * Locking, outermost first (after the locks listed in scif_main.h):
 *   scif_rma_lock               pending allocations and orphan windows
 *   scif_dev.ep_sem (read)      the link's hw ops stay usable during a copy
 *   scif_endpt.rma.sem          window lists: read while a transfer uses
 *                               them, write to add or remove a window
 *   scif_endpt.rma.lock         in-flight list (spinlock)
 *   the handle table's lock     handle lookups, answers to requests
 */
#ifndef MICEMU_SCIF_RMA_H
#define MICEMU_SCIF_RMA_H

#include <asm/page.h>
#include <linux/bits.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/refcount.h>
#include <linux/rwsem.h>
#include <linux/spinlock.h>
#include <linux/limits.h>
#include <linux/types.h>
#include <linux/xarray.h>

struct scif_dev;
struct scif_endpt;
struct scifmsg;
struct file;
struct dentry;
struct vm_area_struct;
struct address_space;
struct seq_file;

/* Largest window: 1 GiB. */
#define SCIF_RMA_MAX_PAGES	BIT(18)
/*
 * Registered offsets and their ends stay below 2^63 (upstream hands out
 * offsets from the top of that range down), so offset + length never
 * wraps.
 */
#define SCIF_RMA_MAX_OFFSET	((s64)(S64_MAX & ~(s64)(PAGE_SIZE - 1)))
/* Marks of peer-initiated RMAs carry this bit (facts §7.8). */
#define SCIF_REMOTE_FENCE	BIT(31)
/* Transfers below this size, and unaligned head/tail bytes, use the CPU. */
#define SCIF_RMA_DMA_MIN	4096
#define SCIF_RMA_DMA_ALIGN	64
/* Windows the peer may have allocated here and not yet registered. */
#define SCIF_RMA_MAX_ALLOCS	64

/* What a handle names (struct scif_rma_handle.kind). */
enum scif_rma_kind {
	SCIF_RMA_LWIN = 1,	/* our window */
	SCIF_RMA_RWIN,		/* the peer's window, registered */
	SCIF_RMA_ALLOC,		/* room for a peer window, not registered yet */
	SCIF_RMA_REQ,		/* a request waiting for its answer */
};

/**
 * struct scif_rma_handle - what a 64-bit value in a message can name
 * @id: index in the handle table
 * @tag: random bits; the value is @tag << 32 | @id, checked in full
 * @kind: enum scif_rma_kind
 * @dev: the only link the value is accepted from
 *
 * Upstream puts kernel pointers into RMA messages and follows the ones
 * the peer echoes. Here those words are handles, looked up and checked.
 */
struct scif_rma_handle {
	u32 id;
	u32 tag;
	u8 kind;
	struct scif_dev *dev;
};

/* Window states (struct scif_window.state). */
enum scif_win_state {
	SCIF_WIN_PENDING,	/* being registered */
	SCIF_WIN_READY,		/* usable */
	SCIF_WIN_HELD,		/* unregistered, the peer still holds pages */
	SCIF_WIN_LOST,		/* the peer never answered: kept pinned */
};

/**
 * struct scif_window - one window of a registered address space
 * @list: entry in scif_ep_rma.windows or .rwindows, sorted by @offset,
 *	or in the orphan list
 * @h: handle (local window: the peer's peer_window; remote window: the
 *	value the peer unregisters it by)
 * @ep: remote window: its endpoint
 * @peer_win: local window: the peer's handle for its copy (ALLOC_GNT);
 *	remote window: the peer's handle for its window (peer_window)
 * @offset: registered offset
 * @nr_pages: pages
 * @prot: SCIF_PROT_READ / SCIF_PROT_WRITE
 * @addr: per page, the address the peer (local window) or we (remote
 *	window) use to reach it
 * @pages: local window: the pinned pages
 * @pin: local window: the pinned page set (scif_pin_pages) or NULL
 * @user: local window: @pages are pinned user pages (else kernel pages
 *	with a reference)
 * @mapped: local window: pages of @addr that are mapped with map_local
 * @gp_refs: remote window: pages lent out with scif_get_pages()
 * @unreg: remote window: the peer unregistered it while pages were lent
 * @state: enum scif_win_state
 */
struct scif_window {
	struct list_head list;
	struct scif_rma_handle h;
	struct scif_endpt *ep;
	u64 peer_win;
	s64 offset;
	u64 nr_pages;
	int prot;
	u64 *addr;
	struct page **pages;
	struct scif_pinned_pages *pin;
	bool user;
	u64 mapped;
	int gp_refs;
	bool unreg;
	int state;
};

/**
 * struct scif_pinned_pages - pages pinned with scif_pin_pages()
 * @magic: SCIF_PIN_MAGIC while valid
 * @ref: the owner's reference plus one per window using the pages
 * @nr_pages: pages
 * @prot: SCIF_PROT_READ / SCIF_PROT_WRITE
 * @user: user pages (else kernel pages with a reference)
 * @pages: the pages
 */
struct scif_pinned_pages {
	u64 magic;
	refcount_t ref;
	u64 nr_pages;
	int prot;
	bool user;
	struct page **pages;
};

#define SCIF_PIN_MAGIC		0x5343494650494e53ULL

/**
 * struct scif_ep_rma - RMA state of an endpoint
 * @sem: protects @windows and @rwindows
 * @closed: the endpoint is closing: no new remote windows
 * @windows: our registered windows
 * @rwindows: the peer's registered windows
 * @lent: the peer's windows it unregistered while pages were lent out
 *	with scif_get_pages(); they go when the last page comes back
 * @lock: protects @inflight, @seq
 * @seq: sequence number of the last RMA started here
 * @inflight: struct scif_rma_op entries of running transfers
 * @dma_next: round-robin DMA channel index
 * @mapping: the /dev/scif file mapping of the peer's windows, or NULL
 */
struct scif_ep_rma {
	struct rw_semaphore sem;
	bool closed;
	struct list_head windows;
	struct list_head rwindows;
	struct list_head lent;
	spinlock_t lock;		/* @inflight, @seq */
	u32 seq;
	struct list_head inflight;
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

/**
 * struct scif_rma_req - a request to the peer waiting for its answer
 * @h: handle, sent in the request, echoed in the answer
 * @ep: endpoint (woken through its wait queue)
 * @ack: positive answer opcode
 * @nack: negative answer opcode
 * @done: an answer arrived
 * @ok: it was @ack
 * @ans: its payload
 */
struct scif_rma_req {
	struct scif_rma_handle h;
	struct scif_endpt *ep;
	u32 ack;
	u32 nack;
	bool done;
	bool ok;
	u64 ans[4];
};

/**
 * struct scif_rma_alloc - room for a window the peer is registering
 * @h: handle (ALLOC_GNT [0]; REGISTER [1] and FREE_VIRT [1] name it, and
 *	once registered the window keeps the value: UNREGISTER [0])
 * @list: entry in a teardown list
 * @nr_pages: pages of the peer's window
 * @nr_lookup: entries in each lookup table
 * @nbufs: pages below: struct scif_window_wire, the two lookup tables,
 *	@nr_lookup chunk-address pages, @nr_lookup chunk-length pages
 * @mapped: pages of @buf mapped for the peer
 * @buf: the pages (linear map)
 * @addr: their peer addresses
 */
struct scif_rma_alloc {
	struct scif_rma_handle h;
	struct list_head list;
	u64 nr_pages;
	unsigned int nr_lookup;
	unsigned int nbufs;
	unsigned int mapped;
	void **buf;
	dma_addr_t *addr;
};

/* scif_rma_handle.c: handles, requests, answers, dispatch */
extern struct xarray scif_rma_xa;
int scif_handle_add(struct scif_rma_handle *h, u8 kind, struct scif_dev *dev);
int scif_handle_adopt(struct scif_rma_handle *h,
		      const struct scif_rma_handle *old, u8 kind);
void scif_handle_del(struct scif_rma_handle *h);
u64 scif_handle_val(const struct scif_rma_handle *h);
struct scif_rma_handle *scif_handle_find(u64 val, u8 kind,
					 struct scif_dev *dev);
int scif_rma_request(struct scif_endpt *ep, struct scifmsg *msg, int hpos,
		     u32 ack, u32 nack, u64 *ans);
void scif_rma_send_answer(struct scif_dev *dev, struct scifmsg *msg,
			  u32 uop);
void scif_free_virt_send(struct scif_dev *dev, u64 peer_room, u64 ours,
			 struct scif_endpt *ep);
void scif_rma_msg(struct scif_dev *dev, struct scifmsg *msg);
void scif_rma_debugfs_windows(struct seq_file *s);

static inline size_t scif_win_len(struct scif_window *w)
{
	return w->nr_pages << PAGE_SHIFT;
}

/* scif_rma.c: our windows */
void scif_rma_ep_init(struct scif_endpt *ep);
void scif_rma_ep_close(struct scif_endpt *ep);
void scif_rma_ep_unmap(struct scif_endpt *ep);
int scif_rma_verify_ep(struct scif_endpt *ep);
struct scif_endpt *scif_rma_msg_ep(struct scif_dev *dev, u64 cookie);
struct scif_window *scif_win_overlap(struct list_head *head, s64 off,
				     size_t len);
void scif_win_insert(struct list_head *head, struct scif_window *new);
struct scif_window *scif_win_new(u64 nr_pages, int prot);
void scif_win_free(struct scif_window *w);
void scif_win_unmap(struct scif_dev *dev, struct scif_window *w);
void scif_rwin_zap(struct scif_endpt *ep, struct scif_window *w);
void scif_munmap_send(struct scif_endpt *ep, struct scif_window *w);

/* scif_rma_peer.c: the peer's windows, rooms, orphans, get_pages */
void scif_win_orphan(struct scif_window *w, int state);
void scif_alloc_req_msg(struct scif_dev *dev, struct scifmsg *msg);
void scif_free_virt_msg(struct scif_dev *dev, struct scifmsg *msg);
void scif_register_msg(struct scif_dev *dev, struct scifmsg *msg);
void scif_unregister_msg(struct scif_dev *dev, struct scifmsg *msg);
void scif_munmap_msg(struct scif_dev *dev, struct scifmsg *msg);
void scif_rma_node_down(struct scif_dev *dev);

/* scif_rma_copy.c: transfers */
void scif_rma_op_start(struct scif_endpt *ep, struct scif_rma_op *op);
void scif_rma_op_end(struct scif_endpt *ep, struct scif_rma_op *op);
void scif_rma_debugfs_init(struct dentry *dir);
int scif_rma_poke(struct scif_endpt *ep, bool remote, s64 off, u64 val);
int scif_rma_signal(struct scif_endpt *ep, bool remote, s64 off, u64 val);
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
