/* SPDX-License-Identifier: GPL-2.0 */
/*
 * micemu: SCIF (Symmetric Communication InterFace) kernel API.
 *
 * SCIF connects endpoints on the nodes of one machine: node 0 is the host,
 * node N + 1 is card N (facts §7.1). An endpoint is bound to a 16-bit
 * port; a listening endpoint accepts connections, and a connected pair
 * exchanges a reliable, ordered byte stream. Names, argument order, flag
 * values and error codes follow the upstream Linux MIC stack, so kernel
 * clients written for it (COSM) work unchanged. This implementation
 * covers messaging; remote memory access (scif_register and friends) is
 * not available yet.
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

/* Ports below this one need CAP_SYS_ADMIN to bind. */
#define SCIF_ADMIN_PORT_END	1024
/* Ports up to this one are never handed out automatically. */
#define SCIF_PORT_RSVD		1088

typedef struct scif_endpt *scif_epd_t;

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

#endif /* MICEMU_SCIF_H */
