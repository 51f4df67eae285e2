/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * micemu: /dev/scif_test, a test-only window onto the SCIF kernel API.
 *
 * Each open file of /dev/scif_test is one SCIF endpoint; closing the file
 * closes the endpoint. SCIFT_ACCEPT returns a new file descriptor for the
 * accepted endpoint. This is not the /dev/scif ABI of facts §7.3.
 * Flag values are the kernel API's: 1 = SCIF_ACCEPT_SYNC,
 * SCIF_SEND_BLOCK, SCIF_RECV_BLOCK. Errors are the kernel API's.
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
 * struct scift_kapi - SCIFT_KAPI argument: kernel-only RMA calls on the
 *	endpoint of an open /dev/scif file
 * @fd: in: the /dev/scif file descriptor
 * @op: in: SCIFT_KAPI_*
 * @slot: in: which held range (0 .. SCIFT_KAPI_SLOTS - 1)
 * @prot: in: PIN_REGISTER: SCIF_PROT_*; out: GET_PAGES: the window's
 * @offset: in: GET_PAGES: the peer's offset; out: PIN_REGISTER: ours
 * @len: in: bytes
 * @buf: in: GET_PAGES/READ: user buffer for the bytes of the range;
 *	PIN_REGISTER: the user buffer to pin and register
 * @nr_pages: out: GET_PAGES: pages in the range
 * @pad: zero
 *
 * GET_PAGES calls scif_get_pages(), keeps the range in @slot and copies
 * its bytes (read through the returned physical addresses) to @buf; READ
 * copies them again; PUT_PAGES calls scif_put_pages(); PIN_REGISTER calls
 * scif_pin_pages(), scif_register_pinned_pages() and scif_unpin_pages().
 */
struct scift_kapi {
	__s32 fd;
	__u32 op;
	__s32 slot;
	__s32 prot;
	__s64 offset;
	__u64 len;
	__u64 buf;
	__s32 nr_pages;
	__s32 pad;
};

#define SCIFT_KAPI_GET_PAGES	1
#define SCIFT_KAPI_READ		2
#define SCIFT_KAPI_PUT_PAGES	3
#define SCIFT_KAPI_PIN_REGISTER	4
#define SCIFT_KAPI_SLOTS	8

#define SCIFT_BIND	_IOWR('z', 1, __u32)	/* in: port or 0; out: port */
#define SCIFT_LISTEN	_IOW('z', 2, __s32)	/* backlog */
#define SCIFT_CONNECT	_IOW('z', 3, struct scift_port)
#define SCIFT_ACCEPT	_IOWR('z', 4, struct scift_accept)
#define SCIFT_SEND	_IOWR('z', 5, struct scift_msg)
#define SCIFT_RECV	_IOWR('z', 6, struct scift_msg)
#define SCIFT_POLL	_IOWR('z', 7, struct scift_poll)
#define SCIFT_NODE_IDS	_IOWR('z', 8, struct scift_nodes)
#define SCIFT_KAPI	_IOWR('z', 9, struct scift_kapi)

#endif /* MICEMU_SCIF_TEST_IOCTL_H */
