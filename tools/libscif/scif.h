/* SPDX-License-Identifier: GPL-2.0 */
/*
 * micemu libscif: the SCIF user-space API over /dev/scif.
 *
 * Names, signatures and flag values of Intel's libscif (MPSS), so that
 * programs written for it build against this header. An endpoint
 * descriptor is a file descriptor of /dev/scif: it can be given to
 * poll(), select() or epoll directly. Every call returns -1 and sets
 * errno on failure; the errno values are the kernel's (see
 * shared-module/scif/README.md). The RMA calls (scif_register ...
 * scif_fence_signal, scif_mmap, scif_munmap) are in libscif_rma.c.
 */
#ifndef MICEMU_LIBSCIF_H
#define MICEMU_LIBSCIF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* An endpoint: a file descriptor of /dev/scif. */
typedef int scif_epd_t;

#define SCIF_OPEN_FAILED	((scif_epd_t)-1)
#define SCIF_REGISTER_FAILED	((off_t)-1)
#define SCIF_MMAP_FAILED	((void *)-1)

/* Ports below SCIF_ADMIN_PORT_END need CAP_SYS_ADMIN; up to
 * SCIF_PORT_RSVD they are never handed out by scif_bind(epd, 0).
 */
#define SCIF_ADMIN_PORT_END	1024
#define SCIF_PORT_RSVD		1088

/* Node and port of an endpoint: node 0 is the host, card N is node N+1. */
struct scif_portID {
	uint16_t node;
	uint16_t port;
};

/* scif_poll() entry; laid out like struct pollfd. */
struct scif_pollepd {
	scif_epd_t epd;
	short events;
	short revents;
};

enum {
	SCIF_ACCEPT_SYNC = 1,
	SCIF_SEND_BLOCK = 1,
	SCIF_RECV_BLOCK = 1,
};

enum {
	SCIF_PROT_READ = 1 << 0,
	SCIF_PROT_WRITE = 1 << 1,
};

enum {
	SCIF_MAP_FIXED = 0x10,
	SCIF_MAP_KERNEL = 0x20,
};

enum {
	SCIF_FENCE_INIT_SELF = 1 << 0,
	SCIF_FENCE_INIT_PEER = 1 << 1,
	SCIF_SIGNAL_LOCAL = 1 << 4,
	SCIF_SIGNAL_REMOTE = 1 << 5,
};

enum {
	SCIF_RMA_USECPU = 1 << 0,
	SCIF_RMA_USECACHE = 1 << 1,
	SCIF_RMA_SYNC = 1 << 2,
	SCIF_RMA_ORDERED = 1 << 3,
};

/* A new unbound endpoint (close-on-exec), or SCIF_OPEN_FAILED. */
scif_epd_t scif_open(void);

/* Close an endpoint (connected: the peer sees POLLHUP / ECONNRESET). */
int scif_close(scif_epd_t epd);

/* Bind to port @pn (0: any free port above SCIF_PORT_RSVD); returns the
 * port. EACCES, EADDRINUSE, EINVAL (already bound), EISCONN, ENOSPC.
 */
int scif_bind(scif_epd_t epd, uint16_t pn);

/* Take connection requests, at most @backlog waiting. */
int scif_listen(scif_epd_t epd, int backlog);

/* Connect to a listening port, binding @epd first if needed; blocks.
 * Returns the local port. ECONNREFUSED, ENODEV, EISCONN, EOPNOTSUPP...
 */
int scif_connect(scif_epd_t epd, struct scif_portID *dst);

/* Accept the next connection: *@newepd is a new endpoint, *@peer the
 * connecting node and port. Without SCIF_ACCEPT_SYNC: EAGAIN when none is
 * waiting. EINTR when the listening descriptor is closed meanwhile.
 */
int scif_accept(scif_epd_t epd, struct scif_portID *peer, scif_epd_t *newepd,
		int flags);

/* Send / receive up to @len bytes; with SCIF_SEND_BLOCK / SCIF_RECV_BLOCK
 * all of them. Returns the number of bytes moved (non-blocking: possibly
 * 0). ECONNRESET once the peer closed (recv: after the queued bytes).
 */
int scif_send(scif_epd_t epd, void *msg, int len, int flags);
int scif_recv(scif_epd_t epd, void *msg, int len, int flags);

/* poll() on endpoints: POLLIN, POLLOUT; POLLHUP, POLLERR. */
int scif_poll(struct scif_pollepd *epds, unsigned int nepds, long timeout);

/* Online nodes (up to @len into @nodes) and this node's id; returns the
 * number of nodes online, self included.
 */
int scif_get_nodeIDs(uint16_t *nodes, int len, uint16_t *self);

/* The file descriptor behind an endpoint (the same number). */
int scif_get_fd(scif_epd_t epd);

/* Remote memory access (libscif_rma.c). */
off_t scif_register(scif_epd_t epd, void *addr, size_t len, off_t offset,
		    int prot_flags, int map_flags);
int scif_unregister(scif_epd_t epd, off_t offset, size_t len);
int scif_readfrom(scif_epd_t epd, off_t loffset, size_t len, off_t roffset,
		  int rma_flags);
int scif_writeto(scif_epd_t epd, off_t loffset, size_t len, off_t roffset,
		 int rma_flags);
int scif_vreadfrom(scif_epd_t epd, void *addr, size_t len, off_t roffset,
		   int rma_flags);
int scif_vwriteto(scif_epd_t epd, void *addr, size_t len, off_t roffset,
		  int rma_flags);
int scif_fence_mark(scif_epd_t epd, int flags, int *mark);
int scif_fence_wait(scif_epd_t epd, int mark);
int scif_fence_signal(scif_epd_t epd, off_t loff, uint64_t lval, off_t roff,
		      uint64_t rval, int flags);
void *scif_mmap(void *addr, size_t len, int prot_flags, int map_flags,
		scif_epd_t epd, off_t offset);
int scif_munmap(void *addr, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* MICEMU_LIBSCIF_H */
