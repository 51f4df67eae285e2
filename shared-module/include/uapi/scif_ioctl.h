/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * micemu: the /dev/scif ioctl ABI (facts §7.3).
 *
 * Numbers, argument structures and their layouts are the upstream MIC
 * stack's (include/uapi/linux/scif_ioctl.h of Linux 4.x), so that its
 * user-space library and programs run unchanged. Each open file of
 * /dev/scif is one SCIF endpoint. Pointers travel as __u64; lengths and
 * flags as the upstream types. Values given for x86-64; the kernel and
 * tools/scif-abi-check assert every size, offset and number below.
 *
 * Used by the kernel (scif_fd.c, via scif.h) and by user space
 * (tools/libscif); it needs only <linux/ioctl.h> and <linux/types.h>.
 */
#ifndef MICEMU_UAPI_SCIF_IOCTL_H
#define MICEMU_UAPI_SCIF_IOCTL_H

#include <linux/ioctl.h>
#include <linux/types.h>

/**
 * struct scif_port_id - global name of a SCIF port
 * @node: SCIF node id (0 = host, card N = N + 1)
 * @port: port number on that node
 */
struct scif_port_id {
	__u16 node;
	__u16 port;
};

/**
 * struct scifioctl_connect - SCIF_CONNECT
 * @self: out: the local node and port the endpoint got
 * @peer: in: the listening node and port
 */
struct scifioctl_connect {
	struct scif_port_id self;
	struct scif_port_id peer;
};

/**
 * struct scifioctl_accept - SCIF_ACCEPTREQ
 * @flags: in: SCIF_ACCEPT_SYNC (1) to wait for a request
 * @peer: out: the connecting node and port
 * @endpt: out: handle of the accepted endpoint, for SCIF_ACCEPTREG on a
 *	newly opened /dev/scif file. Opaque: not a kernel address.
 */
struct scifioctl_accept {
	__s32 flags;
	struct scif_port_id peer;
	__u64 endpt;
};

/**
 * struct scifioctl_msg - SCIF_SEND and SCIF_RECV
 * @msg: in: user buffer
 * @len: in: bytes to move
 * @flags: in: SCIF_SEND_BLOCK / SCIF_RECV_BLOCK (1) to move all @len bytes
 * @out_len: out: bytes moved
 */
struct scifioctl_msg {
	__u64 msg;
	__s32 len;
	__s32 flags;
	__s32 out_len;
};

/**
 * struct scifioctl_reg - SCIF_REG
 * @addr: in: start of the user memory to register
 * @len: in: its length
 * @offset: in: wanted window offset (with SCIF_MAP_FIXED)
 * @prot: in: SCIF_PROT_READ | SCIF_PROT_WRITE
 * @flags: in: SCIF_MAP_FIXED (SCIF_MAP_KERNEL is refused)
 * @out_offset: out: the window offset
 */
struct scifioctl_reg {
	__u64 addr;
	__u64 len;
	__s64 offset;
	__s32 prot;
	__s32 flags;
	__s64 out_offset;
};

/**
 * struct scifioctl_unreg - SCIF_UNREG
 * @offset: in: window offset
 * @len: in: length
 */
struct scifioctl_unreg {
	__s64 offset;
	__u64 len;
};

/**
 * struct scifioctl_copy - SCIF_READFROM, SCIF_WRITETO, SCIF_VREADFROM,
 *	SCIF_VWRITETO
 * @loffset: in: local window offset (READFROM/WRITETO)
 * @len: in: bytes to copy
 * @roffset: in: remote window offset
 * @addr: in: local user address (VREADFROM/VWRITETO)
 * @flags: in: SCIF_RMA_* flags
 */
struct scifioctl_copy {
	__s64 loffset;
	__u64 len;
	__s64 roffset;
	__u64 addr;
	__s32 flags;
};

/**
 * struct scifioctl_fence_mark - SCIF_FENCE_MARK
 * @flags: in: SCIF_FENCE_INIT_SELF or SCIF_FENCE_INIT_PEER
 * @mark: in: user address of an int that receives the mark
 */
struct scifioctl_fence_mark {
	__s32 flags;
	__u64 mark;
};

/**
 * struct scifioctl_fence_signal - SCIF_FENCE_SIGNAL
 * @loff: in: local window offset to write @lval to
 * @lval: in: local value
 * @roff: in: remote window offset to write @rval to
 * @rval: in: remote value
 * @flags: in: SCIF_FENCE_INIT_* | SCIF_SIGNAL_LOCAL / SCIF_SIGNAL_REMOTE
 */
struct scifioctl_fence_signal {
	__s64 loff;
	__u64 lval;
	__s64 roff;
	__u64 rval;
	__s32 flags;
};

/**
 * struct scifioctl_node_ids - SCIF_GET_NODEIDS
 * @nodes: in: user address of a __u16 array of @len entries, filled with
 *	the online node ids, lowest first
 * @self: in: user address of a __u16 that receives this node's id
 * @len: in: room in @nodes; out: number of nodes online (may exceed the
 *	room given)
 */
struct scifioctl_node_ids {
	__u64 nodes;
	__u64 self;
	__s32 len;
};

#define SCIF_IOC_MAGIC		's'

/* SCIF_BIND: the argument points at an int: in the port (0 = any), out
 * the port bound. Declared as __u64 upstream; 4 bytes are accessed.
 */
#define SCIF_BIND		_IOWR(SCIF_IOC_MAGIC, 1, __u64)
/* SCIF_LISTEN: the backlog is the ioctl argument itself. */
#define SCIF_LISTEN		_IOW(SCIF_IOC_MAGIC, 2, __s32)
#define SCIF_CONNECT		_IOWR(SCIF_IOC_MAGIC, 3, struct scifioctl_connect)
#define SCIF_ACCEPTREQ		_IOWR(SCIF_IOC_MAGIC, 4, struct scifioctl_accept)
/* SCIF_ACCEPTREG: the argument points at the __u64 handle. */
#define SCIF_ACCEPTREG		_IOWR(SCIF_IOC_MAGIC, 5, __u64)
#define SCIF_SEND		_IOWR(SCIF_IOC_MAGIC, 6, struct scifioctl_msg)
#define SCIF_RECV		_IOWR(SCIF_IOC_MAGIC, 7, struct scifioctl_msg)
#define SCIF_REG		_IOWR(SCIF_IOC_MAGIC, 8, struct scifioctl_reg)
#define SCIF_UNREG		_IOWR(SCIF_IOC_MAGIC, 9, struct scifioctl_unreg)
#define SCIF_READFROM		_IOWR(SCIF_IOC_MAGIC, 10, struct scifioctl_copy)
#define SCIF_WRITETO		_IOWR(SCIF_IOC_MAGIC, 11, struct scifioctl_copy)
#define SCIF_VREADFROM		_IOWR(SCIF_IOC_MAGIC, 12, struct scifioctl_copy)
#define SCIF_VWRITETO		_IOWR(SCIF_IOC_MAGIC, 13, struct scifioctl_copy)
#define SCIF_GET_NODEIDS	_IOWR(SCIF_IOC_MAGIC, 14, struct scifioctl_node_ids)
#define SCIF_FENCE_MARK		_IOWR(SCIF_IOC_MAGIC, 15, struct scifioctl_fence_mark)
/* SCIF_FENCE_WAIT: the mark is the ioctl argument itself. */
#define SCIF_FENCE_WAIT		_IOWR(SCIF_IOC_MAGIC, 16, __s32)
#define SCIF_FENCE_SIGNAL	_IOWR(SCIF_IOC_MAGIC, 17, struct scifioctl_fence_signal)

#endif /* MICEMU_UAPI_SCIF_IOCTL_H */
