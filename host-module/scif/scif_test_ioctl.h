/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * micemu: /dev/scif_test, a test-only window onto the SCIF kernel API.
 *
 * Each open file of /dev/scif_test is one SCIF endpoint; closing the file
 * closes the endpoint. SCIFT_ACCEPT returns a new file descriptor for the
 * accepted endpoint. This is not the /dev/scif ABI of facts §7.3.
 * Flag values are the kernel API's: 1 = SCIF_ACCEPT_SYNC,
 * SCIF_SEND_BLOCK, SCIF_RECV_BLOCK. Errors are the kernel API's. The RMA
 * ioctls (SCIFT_REG ... SCIFT_FENCE_SIGNAL) take /dev/scif's argument
 * layouts (facts §7.3) and call scif_register() and friends.
 */
#ifndef MICEMU_SCIF_TEST_IOCTL_H
#define MICEMU_SCIF_TEST_IOCTL_H

#include <linux/ioctl.h>
#include <linux/types.h>

/**
 * struct scift_port - a SCIF node and port
 * @node: node id
 * @port: port number
 */
struct scift_port {
	__u16 node;
	__u16 port;
};

/**
 * struct scift_accept - SCIFT_ACCEPT argument
 * @flags: in: 1 to wait for a request
 * @fd: out: file descriptor of the new endpoint
 * @peer: out: the connecting node and port
 */
struct scift_accept {
	__s32 flags;
	__s32 fd;
	struct scift_port peer;
};

/**
 * struct scift_msg - SCIFT_SEND and SCIFT_RECV argument
 * @buf: in: user buffer
 * @len: in: bytes to move
 * @flags: in: 1 to block until all @len bytes moved
 * @out_len: out: bytes moved
 * @pad: zero
 */
struct scift_msg {
	__u64 buf;
	__s32 len;
	__s32 flags;
	__s32 out_len;
	__s32 pad;
};

/**
 * struct scift_poll - SCIFT_POLL argument (scif_poll() on this endpoint)
 * @events: in: POLLIN and/or POLLOUT
 * @revents: out: events found
 * @timeout_ms: in: 0 = do not wait, negative = forever
 * @result: out: scif_poll()'s return value (0 on timeout)
 */
struct scift_poll {
	__s16 events;
	__s16 revents;
	__s32 timeout_ms;
	__s32 result;
};

/**
 * struct scift_nodes - SCIFT_NODE_IDS argument
 * @nodes: in: user array of __u16
 * @len: in: entries in @nodes (at most 256)
 * @online: out: nodes online
 * @self: out: this node's id
 * @pad: zero
 */
struct scift_nodes {
	__u64 nodes;
	__s32 len;
	__s32 online;
	__u16 self;
	__u16 pad[3];
};

/**
 * struct scift_reg - SCIFT_REG argument (layout of /dev/scif's SCIF_REG)
 * @addr: in: page-aligned user address
 * @len: in: bytes, a multiple of the page size
 * @offset: in: offset wanted with SCIF_MAP_FIXED
 * @prot: in: SCIF_PROT_READ (1) | SCIF_PROT_WRITE (2)
 * @flags: in: SCIF_MAP_FIXED (0x10); SCIF_MAP_KERNEL is refused
 * @out_offset: out: the window's offset
 */
struct scift_reg {
	__u64 addr;
	__u64 len;
	__s64 offset;
	__s32 prot;
	__s32 flags;
	__s64 out_offset;
};

/**
 * struct scift_unreg - SCIFT_UNREG argument
 * @offset: in: start of the range
 * @len: in: bytes
 */
struct scift_unreg {
	__s64 offset;
	__u64 len;
};

/**
 * struct scift_copy - SCIFT_READFROM ... SCIFT_VWRITETO argument
 * @loffset: in: local offset (readfrom/writeto)
 * @len: in: bytes
 * @roffset: in: remote offset
 * @addr: in: user buffer (vreadfrom/vwriteto)
 * @flags: in: SCIF_RMA_USECPU (1), USECACHE (2), SYNC (4), ORDERED (8)
 * @pad: zero
 */
struct scift_copy {
	__s64 loffset;
	__u64 len;
	__s64 roffset;
	__u64 addr;
	__s32 flags;
	__s32 pad;
};

/**
 * struct scift_fence_mark - SCIFT_FENCE_MARK argument
 * @flags: in: SCIF_FENCE_INIT_SELF (1) or SCIF_FENCE_INIT_PEER (2)
 * @mark: out: the mark
 */
struct scift_fence_mark {
	__s32 flags;
	__s32 mark;
};

/**
 * struct scift_fence_signal - SCIFT_FENCE_SIGNAL argument
 * @loff: in: local offset
 * @lval: in: value for @loff
 * @roff: in: remote offset
 * @rval: in: value for @roff
 * @flags: in: INIT_SELF/INIT_PEER | SCIF_SIGNAL_LOCAL (0x10) |
 *	SCIF_SIGNAL_REMOTE (0x20)
 * @pad: zero
 */
struct scift_fence_signal {
	__s64 loff;
	__u64 lval;
	__s64 roff;
	__u64 rval;
	__s32 flags;
	__s32 pad;
};

#define SCIFT_BIND	_IOWR('z', 1, __u32)	/* in: port or 0; out: port */
#define SCIFT_LISTEN	_IOW('z', 2, __s32)	/* backlog */
#define SCIFT_CONNECT	_IOW('z', 3, struct scift_port)
#define SCIFT_ACCEPT	_IOWR('z', 4, struct scift_accept)
#define SCIFT_SEND	_IOWR('z', 5, struct scift_msg)
#define SCIFT_RECV	_IOWR('z', 6, struct scift_msg)
#define SCIFT_POLL	_IOWR('z', 7, struct scift_poll)
#define SCIFT_NODE_IDS	_IOWR('z', 8, struct scift_nodes)
#define SCIFT_REG	_IOWR('z', 9, struct scift_reg)
#define SCIFT_UNREG	_IOW('z', 10, struct scift_unreg)
#define SCIFT_READFROM	_IOW('z', 11, struct scift_copy)
#define SCIFT_WRITETO	_IOW('z', 12, struct scift_copy)
#define SCIFT_VREADFROM	_IOW('z', 13, struct scift_copy)
#define SCIFT_VWRITETO	_IOW('z', 14, struct scift_copy)
#define SCIFT_FENCE_MARK _IOWR('z', 15, struct scift_fence_mark)
#define SCIFT_FENCE_WAIT _IOW('z', 16, __s32)	/* mark, by value */
#define SCIFT_FENCE_SIGNAL _IOW('z', 17, struct scift_fence_signal)

#endif /* MICEMU_SCIF_TEST_IOCTL_H */
