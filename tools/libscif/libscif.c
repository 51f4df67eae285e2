// SPDX-License-Identifier: GPL-2.0
/*
 * micemu libscif: the SCIF user-space API as ioctls on /dev/scif
 * (facts §7.3; the ABI is shared-module/include/uapi/scif_ioctl.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "scif.h"
#include "../../shared-module/include/uapi/scif_ioctl.h"

#define SCIF_DEV	"/dev/scif"

/* scif_poll() hands the array to poll() as it is. */
_Static_assert(sizeof(struct scif_pollepd) == sizeof(struct pollfd),
	       "scif_pollepd is a pollfd");
_Static_assert(offsetof(struct scif_pollepd, events) ==
	       offsetof(struct pollfd, events), "scif_pollepd.events");
_Static_assert(offsetof(struct scif_pollepd, revents) ==
	       offsetof(struct pollfd, revents), "scif_pollepd.revents");

scif_epd_t scif_open(void)
{
	return open(SCIF_DEV, O_RDWR | O_CLOEXEC);
}

int scif_close(scif_epd_t epd)
{
	return close(epd) ? -1 : 0;
}

int scif_bind(scif_epd_t epd, uint16_t pn)
{
	int port = pn;	/* the kernel reads and writes an int */

	if (ioctl(epd, SCIF_BIND, &port) < 0)
		return -1;
	return port;
}

int scif_listen(scif_epd_t epd, int backlog)
{
	return ioctl(epd, SCIF_LISTEN, backlog) < 0 ? -1 : 0;
}

int scif_connect(scif_epd_t epd, struct scif_portID *dst)
{
	struct scifioctl_connect req = { 0 };

	if (!dst) {
		errno = EINVAL;
		return -1;
	}
	req.peer.node = dst->node;
	req.peer.port = dst->port;
	if (ioctl(epd, SCIF_CONNECT, &req) < 0)
		return -1;
	return req.self.port;
}

/* Close @fd without losing the errno of the failure that got us here. */
static int fail_close(int fd)
{
	int err = errno;

	close(fd);
	errno = err;
	return -1;
}

int scif_accept(scif_epd_t epd, struct scif_portID *peer, scif_epd_t *newepd,
		int flags)
{
	struct scifioctl_accept req = { .flags = flags };
	int fd;

	if (!peer || !newepd) {
		errno = EINVAL;
		return -1;
	}
	/* Open first: once accepted, a connection must find a home. */
	fd = scif_open();
	if (fd < 0)
		return -1;
	if (ioctl(epd, SCIF_ACCEPTREQ, &req) < 0)
		return fail_close(fd);
	if (ioctl(fd, SCIF_ACCEPTREG, &req.endpt) < 0)
		return fail_close(fd);
	peer->node = req.peer.node;
	peer->port = req.peer.port;
	*newepd = fd;
	return 0;
}

static int scif_msg(scif_epd_t epd, unsigned long cmd, void *msg, int len,
		    int flags)
{
	struct scifioctl_msg req = {
		.msg = (uintptr_t)msg,
		.len = len,
		.flags = flags,
	};

	if (ioctl(epd, cmd, &req) < 0)
		return -1;
	return req.out_len;
}

int scif_send(scif_epd_t epd, void *msg, int len, int flags)
{
	return scif_msg(epd, SCIF_SEND, msg, len, flags);
}

int scif_recv(scif_epd_t epd, void *msg, int len, int flags)
{
	return scif_msg(epd, SCIF_RECV, msg, len, flags);
}

int scif_poll(struct scif_pollepd *epds, unsigned int nepds, long timeout)
{
	if (timeout > INT_MAX)
		timeout = INT_MAX;
	else if (timeout < 0)
		timeout = -1;
	return poll((struct pollfd *)epds, nepds, (int)timeout);
}

int scif_get_nodeIDs(uint16_t *nodes, int len, uint16_t *self)
{
	struct scifioctl_node_ids req = {
		.nodes = (uintptr_t)nodes,
		.self = (uintptr_t)self,
		.len = len,
	};
	int fd = scif_open();

	if (fd < 0)
		return -1;
	if (ioctl(fd, SCIF_GET_NODEIDS, &req) < 0)
		return fail_close(fd);
	close(fd);
	return req.len;
}

int scif_get_fd(scif_epd_t epd)
{
	return epd;
}
