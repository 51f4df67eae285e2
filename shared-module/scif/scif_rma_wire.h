/* SPDX-License-Identifier: GPL-2.0 */
/*
 * micemu SCIF: the RMA memory the peer reads and writes (facts §7.8).
 *
 * Registering a window of N pages (upstream's protocol, both directions):
 *  1. the registering node sends ALLOC_REQ (N); the other node allocates
 *     room for the window description, maps it for the peer and answers
 *     ALLOC_GNT with its handle and the address of struct scif_window_wire;
 *  2. the registering node reads the two lookup addresses from it, writes
 *     its pages as contiguous chunks (address, page count) into the pages
 *     the lookups point to, then offset, prot, chunk count, its handle
 *     and the receiver's endpoint into the structure;
 *  3. it sends REGISTER; the receiver copies and checks everything and
 *     answers REGISTER_ACK or REGISTER_NACK, then frees the room.
 *
 * Upstream's receiver allocates its own in-kernel window structure for
 * this and hands the peer its address, so the peer writes fields of a
 * packed kernel structure. The offsets of the fields that cross the link
 * are fixed by that layout (x86-64); everything else in it is upstream's
 * node-local state and is reserved here.
 */
#ifndef MICEMU_SCIF_RMA_WIRE_H
#define MICEMU_SCIF_RMA_WIRE_H

#include <linux/build_bug.h>
#include <linux/stddef.h>
#include <linux/types.h>

/* 64-bit entries per lookup page: one lookup entry covers 512 chunks. */
#define SCIF_RMA_ADDRS_PER_PAGE	512

/**
 * struct scif_window_wire - the window description the peer fills in
 * @nr_pages: pages, set by the receiver
 * @nr_contig_chunks: chunks written by the registering node
 * @prot: SCIF_PROT_READ / SCIF_PROT_WRITE
 * @rsvd_ref: node-local
 * @magic: node-local
 * @offset: registered offset
 * @rsvd_va: node-local
 * @ep: the receiver's endpoint, as the registering node knows it
 * @rsvd_list: node-local
 * @peer_window: the registering node's handle for its window
 * @rsvd_state: node-local
 * @dma_addr_lookup_va: node-local (upstream: a kernel pointer)
 * @dma_addr_lookup: address of the table of chunk-address pages
 * @num_pages_lookup_va: node-local
 * @num_pages_lookup: address of the table of chunk-length pages
 * @nr_lookup: entries in each table
 * @rsvd_pad: padding
 * @mapped_offset: the address of this structure for the peer
 * @rsvd_tail: node-local
 *
 * Lookup tables: entry j is the peer-usable address of a page holding
 * chunks 512 j .. 512 j + 511: u64 addresses (DMA addresses as the
 * receiver uses them: a host page's SMPT-window address, a card page's
 * physical address) in the dma_addr pages, u64 page counts in the
 * num_pages pages.
 */
struct scif_window_wire {
	u64 nr_pages;
	u32 nr_contig_chunks;
	u32 prot;
	u32 rsvd_ref;
	u64 magic;
	u64 offset;
	u8 rsvd_va[12];
	u64 ep;
	u8 rsvd_list[20];
	u64 peer_window;
	u8 rsvd_state[22];
	u64 dma_addr_lookup_va;
	u64 dma_addr_lookup;
	u64 num_pages_lookup_va;
	u64 num_pages_lookup;
	u32 nr_lookup;
	u32 rsvd_pad;
	u64 mapped_offset;
	u8 rsvd_tail[88];
} __packed;

static_assert(offsetof(struct scif_window_wire, nr_contig_chunks) == 8);
static_assert(offsetof(struct scif_window_wire, prot) == 12);
static_assert(offsetof(struct scif_window_wire, offset) == 28);
static_assert(offsetof(struct scif_window_wire, ep) == 48);
static_assert(offsetof(struct scif_window_wire, peer_window) == 76);
static_assert(offsetof(struct scif_window_wire, dma_addr_lookup) == 114);
static_assert(offsetof(struct scif_window_wire, num_pages_lookup) == 130);
static_assert(offsetof(struct scif_window_wire, nr_lookup) == 138);
static_assert(offsetof(struct scif_window_wire, mapped_offset) == 146);
static_assert(sizeof(struct scif_window_wire) == 242);

/* ALLOC_REQ/FREE_VIRT [3]: what the room is for (upstream's value). */
#define SCIF_ALLOC_FOR_REGISTER	19

#endif /* MICEMU_SCIF_RMA_WIRE_H */
