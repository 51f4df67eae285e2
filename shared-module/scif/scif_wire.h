/* SPDX-License-Identifier: GPL-2.0 */
/*
 * micemu SCIF: what crosses the link (facts §7.4, §7.5).
 *
 * These layouts are shared with the peer node, which may run upstream's
 * SCIF, so they match it byte for byte. Both nodes are x86-64: fields are
 * little-endian and accessed natively.
 */
#ifndef MICEMU_SCIF_WIRE_H
#define MICEMU_SCIF_WIRE_H

#include <linux/build_bug.h>
#include <linux/stddef.h>
#include <linux/types.h>

#include "scif.h"

/* Node queue-pair message opcodes (facts §7.4). */
enum scif_uop {
	SCIF_INIT = 1,
	SCIF_EXIT,
	SCIF_EXIT_ACK,
	SCIF_NODE_ADD,
	SCIF_NODE_ADD_ACK,
	SCIF_NODE_ADD_NACK,
	SCIF_NODE_REMOVE,
	SCIF_NODE_REMOVE_ACK,
	SCIF_CNCT_REQ,
	SCIF_CNCT_GNT,
	SCIF_CNCT_GNTACK,
	SCIF_CNCT_GNTNACK,
	SCIF_CNCT_REJ,
	SCIF_DISCNCT,
	SCIF_DISCNT_ACK,
	SCIF_CLIENT_SENT,
	SCIF_CLIENT_RCVD,
	SCIF_GET_NODE_INFO,
	SCIF_REGISTER,
	SCIF_REGISTER_ACK,
	SCIF_REGISTER_NACK,
	SCIF_UNREGISTER,
	SCIF_UNREGISTER_ACK,
	SCIF_UNREGISTER_NACK,
	SCIF_ALLOC_REQ,
	SCIF_ALLOC_GNT,
	SCIF_ALLOC_REJ,
	SCIF_FREE_VIRT,
	SCIF_MUNMAP,
	SCIF_MARK,
	SCIF_MARK_ACK,
	SCIF_MARK_NACK,
	SCIF_WAIT,
	SCIF_WAIT_ACK,
	SCIF_WAIT_NACK,
	SCIF_SIG_LOCAL,
	SCIF_SIG_REMOTE,
	SCIF_SIG_ACK,
	SCIF_SIG_NACK,
	SCIF_MAX_UOP = SCIF_SIG_NACK,
};

/**
 * struct scifmsg - one record on a node queue pair
 * @src: sending node and port (not every upstream message fills it)
 * @dst: destination node and port
 * @uop: opcode, enum scif_uop
 * @payload: opcode-specific words; endpoint "cookies" in them are opaque
 *	values chosen by the node that owns the endpoint and only echoed by
 *	the other one
 */
struct scifmsg {
	struct scif_port_id src;
	struct scif_port_id dst;
	u32 uop;
	u64 payload[4];
} __packed;

static_assert(sizeof(struct scifmsg) == 44);

#define SCIF_QP_MAGIC		0x5C1F000000005C1FULL
#define SCIF_QP_OFFLINE		0xdead
#define SCIF_QP_ONLINE		0xc0de

/* Ring sizes: node queue pairs and endpoint queue pairs (facts §7.5). */
#define SCIF_NODE_QP_SIZE	0x10000
#define SCIF_ENDPT_QP_SIZE	0x1000

/**
 * struct scif_qp_wire - the peer-visible part of a queue pair
 * @magic: SCIF_QP_MAGIC; the peer checks it before using the rest
 * @rsvd_out: upstream keeps its outbound ring control here (node-local)
 * @rsvd_in: start of upstream's inbound ring control (node-local)
 * @inbound_size: size of this side's inbound ring; read by the peer
 * @rsvd_ctl: rest of upstream's inbound ring control and padding
 * @local_write: producer offset of this side's inbound ring, stored by
 *	the peer after it wrote a record
 * @rsvd_lw: padding to the next 64-byte line
 * @local_read: consumer offset of this side's outbound ring (the ring in
 *	the peer's memory), stored by the peer after it consumed records
 * @rsvd_lr: padding
 * @remote_qp: upstream keeps a kernel pointer here; always 0 here
 * @local_buf: peer-usable address of this side's inbound ring
 * @local_qp: peer-usable address of this structure
 * @remote_buf: address of the peer's inbound ring, informational
 * @qp_state: SCIF_QP_OFFLINE/ONLINE, used by upstream's P2P links only
 * @rsvd_tail: upstream's node-local locks
 *
 * Every node allocates one per queue pair in its own memory and hands its
 * address to the peer. Only @magic, @inbound_size, @local_buf (read) and
 * @local_write, @local_read (written) are used across the link. Keeping
 * kernel pointers out of it means the peer learns nothing about our
 * address space.
 */
struct scif_qp_wire {
	u64 magic;
	u8 rsvd_out[40];
	u8 rsvd_in[24];
	u32 inbound_size;
	u8 rsvd_ctl[52];
	u32 local_write;
	u8 rsvd_lw[60];
	u32 local_read;
	u32 rsvd_lr;
	u64 remote_qp;
	u64 local_buf;
	u64 local_qp;
	u64 remote_buf;
	u32 qp_state;
	u8 rsvd_tail[20];
};

static_assert(sizeof(struct scif_qp_wire) == 256);
static_assert(offsetof(struct scif_qp_wire, inbound_size) == 72);
static_assert(offsetof(struct scif_qp_wire, local_write) == 128);
static_assert(offsetof(struct scif_qp_wire, local_read) == 192);
static_assert(offsetof(struct scif_qp_wire, local_buf) == 208);
static_assert(offsetof(struct scif_qp_wire, qp_state) == 232);

#endif /* MICEMU_SCIF_WIRE_H */
