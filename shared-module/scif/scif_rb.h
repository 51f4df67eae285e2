/* SPDX-License-Identifier: GPL-2.0 */
/*
 * micemu SCIF: byte ring shared between two nodes (facts §7.5).
 *
 * A ring lives in the consumer's memory. The producer copies records into
 * it and then publishes its new write offset into the consumer's queue
 * pair; the consumer copies records out and publishes its new read offset
 * into the producer's queue pair. So each side only ever writes across the
 * link, and reads only its own memory. One byte always stays free, so
 * equal offsets mean "empty". Offsets published by the other node are
 * masked before use: a broken peer can make us read stale bytes, never
 * leave the ring.
 */
#ifndef MICEMU_SCIF_RB_H
#define MICEMU_SCIF_RB_H

#include <linux/types.h>

/**
 * struct scif_rb - one direction of a queue pair
 * @buf: ring memory (the peer's, mapped, for an outbound ring)
 * @size: ring size, a power of two
 * @head: producer offset as this side knows it
 * @tail: consumer offset as this side knows it
 * @write_ptr: where the producer publishes @head
 * @read_ptr: where the consumer publishes @tail; NULL while the consumer
 *	side of an inbound ring cannot publish yet
 * @twice: store published offsets twice (x100 card erratum)
 *
 * For an outbound ring @write_ptr is in the peer's queue pair and
 * @read_ptr in ours; for an inbound ring it is the other way round.
 * Pointers to our own memory are cast to __iomem so one set of accessors
 * serves both (x86 MMIO accessors work on RAM).
 */
struct scif_rb {
	void __iomem *buf;
	u32 size;
	u32 head;
	u32 tail;
	u32 __iomem *write_ptr;
	u32 __iomem *read_ptr;
	bool twice;
};

void scif_rb_init(struct scif_rb *rb, void __iomem *buf, u32 size,
		  u32 __iomem *write_ptr, u32 __iomem *read_ptr, bool twice);
/* producer side */
u32 scif_rb_space(struct scif_rb *rb);
void scif_rb_write(struct scif_rb *rb, const void *data, u32 len);
void scif_rb_commit(struct scif_rb *rb);
/* consumer side */
u32 scif_rb_count(struct scif_rb *rb);
void scif_rb_read(struct scif_rb *rb, void *data, u32 len);
void scif_rb_publish_read(struct scif_rb *rb);
/* lock-free peeks for poll */
bool scif_rb_readable(struct scif_rb *rb);
bool scif_rb_writable(struct scif_rb *rb);

#endif /* MICEMU_SCIF_RB_H */
