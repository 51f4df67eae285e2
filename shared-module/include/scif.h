/* SPDX-License-Identifier: GPL-2.0 */
/*
 * micemu: SCIF (Symmetric Communication InterFace) kernel API.
 *
 * SCIF connects endpoints on the nodes of one machine: node 0 is the host,
 * node N + 1 is card N (facts §7.1). An endpoint is bound to a 16-bit
 * port; a listening endpoint accepts connections, and a connected pair
 * exchanges a reliable, ordered byte stream. Names, argument order, flag
 * values and error codes follow the upstream Linux MIC stack, so kernel
 * clients written for it (COSM) work unchanged. Besides messaging, an
 * endpoint has a registered address space: scif_register() exposes pages
 * at an offset, and the peer copies to and from them with scif_writeto()
 * and friends (remote memory access, RMA).
 *
 * Unless stated otherwise every function may sleep, returns a negative
 * errno on failure, and must not be called on an endpoint after
 * scif_close() returned for it.
 */
#ifndef MICEMU_SCIF_H
#define MICEMU_SCIF_H

#include <linux/device.h>
#include <linux/poll.h>
#include <linux/types.h>

/* struct scif_port_id, shared with the /dev/scif ABI */
#include "uapi/scif_ioctl.h"

#define SCIF_ACCEPT_SYNC	1
#define SCIF_SEND_BLOCK		1
#define SCIF_RECV_BLOCK		1

/* scif_register() protection and map flags (facts §7.2) */
#define SCIF_PROT_READ		1
#define SCIF_PROT_WRITE		2
#define SCIF_MAP_FIXED		0x10
#define SCIF_MAP_KERNEL		0x20

/* RMA flags */
#define SCIF_RMA_USECPU		1
#define SCIF_RMA_USECACHE	2
#define SCIF_RMA_SYNC		4
#define SCIF_RMA_ORDERED	8

/* Fence flags */
#define SCIF_FENCE_INIT_SELF	1
#define SCIF_FENCE_INIT_PEER	2
#define SCIF_SIGNAL_LOCAL	0x10
#define SCIF_SIGNAL_REMOTE	0x20

/* Ports below this one need CAP_SYS_ADMIN to bind. */
#define SCIF_ADMIN_PORT_END	1024
/* Ports up to this one are never handed out automatically. */
#define SCIF_PORT_RSVD		1088

typedef struct scif_endpt *scif_epd_t;
typedef struct scif_pinned_pages *scif_pinned_pages_t;

/**
 * struct scif_range - pages of the peer's window lent by scif_get_pages()
 * @cookie: names the window for scif_put_pages(); opaque
 * @nr_pages: pages
 * @prot_flags: the window's %SCIF_PROT_READ / %SCIF_PROT_WRITE
 * @phys_addr: per page, the CPU physical address it is reached at (host:
 *	in the card's BAR0; card: in the SMPT window onto host memory)
 * @va: upstream fills it on the host with aperture mappings; always NULL
 *	here
 */
struct scif_range {
	void *cookie;
	int nr_pages;
	int prot_flags;
	dma_addr_t *phys_addr;
	void __iomem **va;
};

/**
 * struct scif_pollepd - one endpoint watched by scif_poll()
 * @epd: the endpoint
 * @events: POLLIN and/or POLLOUT wanted
 * @revents: events found, filled in by scif_poll()
 */
struct scif_pollepd {
	scif_epd_t epd;
	short events;
	short revents;
};

/**
 * struct scif_peer_dev - a SCIF node as seen by kernel clients
 * @dev: device on the SCIF peer bus
 * @dnode: the node id
 *
 * One exists for every node this node can talk to, itself included.
 */
struct scif_peer_dev {
	struct device dev;
	u8 dnode;
};

/**
 * struct scif_client - a kernel user notified as nodes come and go
 * @name: client name
 * @probe: called when a node comes up (and, at registration, for every
 *	node already up). It may call the SCIF API, including blocking
 *	calls such as scif_connect().
 * @remove: called when a node goes away or the client unregisters
 * @si: private
 */
struct scif_client {
	const char *name;
	void (*probe)(struct scif_peer_dev *spdev);
	void (*remove)(struct scif_peer_dev *spdev);
	struct subsys_interface si;
};

/**
 * scif_open() - create an endpoint
 *
 * Return: a new unbound endpoint, or NULL when memory ran out.
 */
scif_epd_t scif_open(void);

/**
 * scif_bind() - bind an endpoint to a local port
 * @epd: endpoint from scif_open()
 * @pn: port number, or 0 to pick a free port above %SCIF_PORT_RSVD
 *
 * Return: the bound port number, or -EACCES (@pn below
 * %SCIF_ADMIN_PORT_END without CAP_SYS_ADMIN), -EADDRINUSE (@pn taken),
 * -EINVAL (@epd already bound), -EISCONN (@epd listening or connected),
 * -ENOSPC (no free port left).
 */
int scif_bind(scif_epd_t epd, u16 pn);

/**
 * scif_listen() - accept connection requests on a bound endpoint
 * @epd: bound endpoint
 * @backlog: most requests kept waiting for scif_accept(); more are refused
 *
 * Return: 0, -EINVAL (@epd not bound) or -EISCONN (@epd already
 * listening or connected).
 */
int scif_listen(scif_epd_t epd, int backlog);

/**
 * scif_connect() - connect to a listening port
 * @epd: unbound or bound endpoint; an unbound one gets a free port
 * @dst: node and port to connect to
 *
 * Blocks until the peer accepted or refused, or up to the node-alive
 * timeout (30 s by default).
 *
 * Return: 0 when connected, or -ECONNREFUSED (nobody listening, backlog
 * full, or no answer), -ENODEV (@dst->node does not exist or is down),
 * -EINVAL (@dst is NULL or @epd is closing), -EISCONN, -EOPNOTSUPP (@epd
 * is listening), -ENOSPC, -ENOMEM or -EIO (the peer's queue could not be
 * mapped).
 */
int scif_connect(scif_epd_t epd, struct scif_port_id *dst);

/**
 * scif_accept() - take the next connection request of a listening endpoint
 * @epd: listening endpoint
 * @peer: filled with the connecting node and port
 * @newepd: filled with the new connected endpoint, bound to @epd's port
 * @flags: %SCIF_ACCEPT_SYNC to wait for a request; without it the call
 *	fails with -EAGAIN when none is pending
 *
 * Return: 0, or -EAGAIN, -EINVAL (@epd not listening, bad @flags, NULL
 * pointers), -EINTR (@epd was closed while waiting), -ERESTARTSYS (a
 * signal arrived), -ENODEV (the connecting node went away), -ENOMEM, -EIO.
 */
int scif_accept(scif_epd_t epd, struct scif_port_id *peer,
		scif_epd_t *newepd, int flags);

/**
 * scif_close() - close an endpoint and free it
 * @epd: endpoint
 *
 * A connected endpoint tells its peer (which then sees POLLHUP and
 * -ECONNRESET once its receive queue is drained) and waits for the
 * acknowledgment; a listening endpoint refuses all pending requests.
 *
 * Return: 0.
 */
int scif_close(scif_epd_t epd);

/**
 * scif_send() - send bytes to the peer of a connected endpoint
 * @epd: connected endpoint
 * @msg: data
 * @len: number of bytes, any size
 * @flags: %SCIF_SEND_BLOCK to wait until all @len bytes are queued;
 *	without it only what fits into the peer's queue now is sent
 *
 * Return: the number of bytes sent (0 if @len is 0 or nothing fitted),
 * or -ECONNRESET (the peer closed), -ENOTCONN, -ENODEV (the peer node
 * went away), -EINVAL (bad @flags or @len), -ERESTARTSYS. A blocking
 * call interrupted after sending some bytes returns their number.
 */
int scif_send(scif_epd_t epd, void *msg, int len, int flags);

/**
 * scif_recv() - receive bytes from the peer of a connected endpoint
 * @epd: connected endpoint, or one whose peer closed (its queued bytes
 *	can still be read)
 * @msg: buffer
 * @len: number of bytes wanted
 * @flags: %SCIF_RECV_BLOCK to wait until all @len bytes arrived; without
 *	it only what is queued now is returned
 *
 * Return: the number of bytes received, or -ECONNRESET (the peer closed
 * and nothing is left), -ENOTCONN, -EINVAL, -ERESTARTSYS.
 */
int scif_recv(scif_epd_t epd, void *msg, int len, int flags);

/**
 * scif_poll() - wait for events on several endpoints
 * @ufds: endpoints and wanted events (POLLIN, POLLOUT)
 * @nfds: number of entries in @ufds
 * @timeout_msecs: how long to wait; 0 returns at once, negative waits
 *	forever
 *
 * POLLIN: data to read, or a connection request on a listening endpoint.
 * POLLOUT: room to send. POLLHUP: the peer closed or its node went away
 * (always reported). POLLERR: the endpoint can do neither (always
 * reported).
 *
 * Return: the number of endpoints with events, 0 on timeout, -EINTR on a
 * signal, -ENOMEM.
 */
int scif_poll(struct scif_pollepd *ufds, unsigned int nfds,
	      long timeout_msecs);

/**
 * scif_get_node_ids() - list the nodes this node can reach
 * @nodes: filled with up to @len node ids, lowest first
 * @len: room in @nodes
 * @self: filled with this node's id
 *
 * Return: the number of nodes online, this node included (may exceed @len).
 */
int scif_get_node_ids(u16 *nodes, int len, u16 *self);

/**
 * scif_client_register() - get probe/remove calls for SCIF nodes
 * @client: client with @name, @probe and @remove set
 *
 * Return: 0 or a negative errno.
 */
int scif_client_register(struct scif_client *client);

/**
 * scif_client_unregister() - stop node notifications
 * @client: a registered client; @remove runs for every node still up
 */
void scif_client_unregister(struct scif_client *client);

/**
 * scif_register() - expose pages in the endpoint's registered address space
 * @epd: connected endpoint
 * @addr: page-aligned start: a user address of the calling process, or a
 *	kernel address (linear map or vmalloc) with %SCIF_MAP_KERNEL
 * @len: bytes, a non-zero multiple of the page size
 * @offset: with %SCIF_MAP_FIXED, the page-aligned offset to use
 * @prot_flags: %SCIF_PROT_READ and/or %SCIF_PROT_WRITE: what the peer
 *	and our own RMAs may do with the window
 * @map_flags: %SCIF_MAP_FIXED, %SCIF_MAP_KERNEL
 *
 * The pages stay pinned until the window is unregistered or the endpoint
 * closed; the peer learns about the window before this returns.
 *
 * Return: the offset of the window, or -EINVAL (bad flags, alignment,
 * @len 0, negative @offset), -EADDRINUSE (%SCIF_MAP_FIXED range taken),
 * -ENOMEM, -EFAULT (@addr not mapped), -ENOTCONN, -ECONNRESET (peer
 * gone), -ENODEV (node gone), -EAGAIN (the peer refused or did not
 * answer).
 */
off_t scif_register(scif_epd_t epd, void *addr, size_t len, off_t offset,
		    int prot_flags, int map_flags);

/**
 * scif_unregister() - remove the windows inside a range
 * @epd: endpoint
 * @offset: page-aligned start
 * @len: bytes, a multiple of the page size
 *
 * Every window entirely inside [@offset, @offset + @len) is removed, on
 * the peer first; nothing is removed if one only partly overlaps.
 *
 * Return: 0, -EINVAL (alignment, negative @offset, a window partly
 * inside), -ENXIO (no window in the range), -ENOTCONN.
 */
int scif_unregister(scif_epd_t epd, off_t offset, size_t len);

/**
 * scif_readfrom() - copy from the peer's registered space into ours
 * @epd: connected endpoint
 * @loffset: destination offset in our registered space
 * @len: bytes
 * @roffset: source offset in the peer's registered space
 * @rma_flags: %SCIF_RMA_USECPU, %SCIF_RMA_SYNC, %SCIF_RMA_ORDERED,
 *	%SCIF_RMA_USECACHE (accepted, no effect)
 *
 * Each range must lie in windows that are contiguous in their registered
 * space. Transfers here always complete before the call returns.
 *
 * Return: 0, or -EINVAL (flags, @len 0), -ENXIO (a range not
 * registered), -EACCES (our window not writable or the peer's not
 * readable), -ENOTCONN, -ECONNRESET, -ENODEV, -EIO (bad peer address).
 */
int scif_readfrom(scif_epd_t epd, off_t loffset, size_t len, off_t roffset,
		  int rma_flags);

/**
 * scif_writeto() - copy from our registered space into the peer's
 * @epd: connected endpoint
 * @loffset: source offset in our registered space
 * @len: bytes
 * @roffset: destination offset in the peer's registered space
 * @rma_flags: as for scif_readfrom()
 *
 * Return: as scif_readfrom(); -EACCES when our window is not readable or
 * the peer's not writable.
 */
int scif_writeto(scif_epd_t epd, off_t loffset, size_t len, off_t roffset,
		 int rma_flags);

/**
 * scif_vreadfrom() - copy from the peer's registered space to memory
 * @epd: connected endpoint
 * @addr: destination, a user address of the calling process (a kernel
 *	address when called from a kernel thread)
 * @len: bytes
 * @roffset: source offset in the peer's registered space
 * @rma_flags: as for scif_readfrom()
 *
 * Return: as scif_readfrom(); -EFAULT for a bad @addr.
 */
int scif_vreadfrom(scif_epd_t epd, void *addr, size_t len, off_t roffset,
		   int rma_flags);

/**
 * scif_vwriteto() - copy from memory to the peer's registered space
 * @epd: connected endpoint
 * @addr: source, as for scif_vreadfrom()
 * @len: bytes
 * @roffset: destination offset in the peer's registered space
 * @rma_flags: as for scif_readfrom()
 *
 * Return: as scif_vreadfrom().
 */
int scif_vwriteto(scif_epd_t epd, void *addr, size_t len, off_t roffset,
		  int rma_flags);

/**
 * scif_fence_mark() - mark the RMAs started so far
 * @epd: connected endpoint
 * @flags: %SCIF_FENCE_INIT_SELF (ours) or %SCIF_FENCE_INIT_PEER (the
 *	peer's, on this connection)
 * @mark: filled with the mark for scif_fence_wait()
 *
 * Return: 0, -EINVAL, -ENOTCONN, -ECONNRESET, -ENODEV, -EAGAIN (the peer
 * did not answer).
 */
int scif_fence_mark(scif_epd_t epd, int flags, int *mark);

/**
 * scif_fence_wait() - wait until the RMAs of a mark are complete
 * @epd: connected endpoint
 * @mark: from scif_fence_mark()
 *
 * Return: as scif_fence_mark().
 */
int scif_fence_wait(scif_epd_t epd, int mark);

/**
 * scif_fence_signal() - write values once the RMAs started so far are done
 * @epd: connected endpoint
 * @loff: 4-byte aligned offset in our registered space
 * @lval: value (64 bits) for @loff with %SCIF_SIGNAL_LOCAL
 * @roff: 4-byte aligned offset in the peer's registered space
 * @rval: value (64 bits) for @roff with %SCIF_SIGNAL_REMOTE
 * @flags: exactly one of %SCIF_FENCE_INIT_SELF / %SCIF_FENCE_INIT_PEER,
 *	plus at least one of %SCIF_SIGNAL_LOCAL / %SCIF_SIGNAL_REMOTE
 *
 * Return: 0, -EINVAL (flags, alignment), -ENXIO (offset not registered),
 * -EACCES (window not writable), -ENOTCONN, -ECONNRESET, -ENODEV.
 */
int scif_fence_signal(scif_epd_t epd, off_t loff, u64 lval, off_t roff,
		      u64 rval, int flags);

/**
 * scif_pin_pages() - pin pages for later scif_register_pinned_pages()
 * @addr: page-aligned start, a user address of the calling process or a
 *	kernel address with %SCIF_MAP_KERNEL
 * @len: bytes, a non-zero multiple of the page size
 * @prot_flags: %SCIF_PROT_READ and/or %SCIF_PROT_WRITE
 * @map_flags: 0 or %SCIF_MAP_KERNEL
 * @pages: filled with the pinned set
 *
 * Return: 0, -EINVAL (flags, alignment), -ENOMEM, -EFAULT.
 */
int scif_pin_pages(void *addr, size_t len, int prot_flags, int map_flags,
		   scif_pinned_pages_t *pages);

/**
 * scif_unpin_pages() - drop the owner's reference to a pinned set
 * @pages: from scif_pin_pages()
 *
 * The pages stay pinned while windows registered from them exist.
 *
 * Return: 0, -EINVAL (not a pinned set).
 */
int scif_unpin_pages(scif_pinned_pages_t pages);

/**
 * scif_register_pinned_pages() - register a window of pinned pages
 * @epd: connected endpoint
 * @pages: from scif_pin_pages(), not yet unpinned
 * @offset: with %SCIF_MAP_FIXED, the page-aligned offset to use
 * @map_flags: 0 or %SCIF_MAP_FIXED
 *
 * Return: as scif_register().
 */
off_t scif_register_pinned_pages(scif_epd_t epd, scif_pinned_pages_t pages,
				 off_t offset, int map_flags);

/**
 * scif_get_pages() - borrow the pages of a peer window
 * @epd: connected endpoint
 * @offset: page-aligned offset in the peer's registered space
 * @len: bytes, a non-zero multiple of the page size, inside one window
 * @pages: filled with the range; give it back with scif_put_pages()
 *
 * While pages are lent the peer cannot free them: its scif_unregister()
 * leaves them pinned until scif_put_pages() (upstream's UNREGISTER_NACK,
 * then MUNMAP).
 *
 * Return: 0, -EINVAL (alignment, @len 0), -ENXIO (not inside one peer
 * window), -ENOMEM, -ENOTCONN, -ECONNRESET, -ENODEV.
 */
int scif_get_pages(scif_epd_t epd, off_t offset, size_t len,
		   struct scif_range **pages);

/**
 * scif_put_pages() - return pages from scif_get_pages()
 * @pages: the range; freed here
 *
 * Return: 0, -EINVAL (not a range).
 */
int scif_put_pages(struct scif_range *pages);

/* micemu's test hook: the endpoint of an open /dev/scif file, or NULL. */
struct file;
scif_epd_t scif_file_epd(struct file *file);

#endif /* MICEMU_SCIF_H */
