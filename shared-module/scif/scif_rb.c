// SPDX-License-Identifier: GPL-2.0
/*
 * micemu SCIF: byte ring shared between two nodes (facts §7.5).
 */
#include <linux/circ_buf.h>
#include <linux/compiler.h>
#include <linux/io.h>
#include <linux/minmax.h>

#include "scif_rb.h"

static void scif_rb_store(u32 __iomem *p, u32 val, bool twice)
{
	writel(val, p);
	/*
	 * facts §7.5: on the x100 a card store followed by a doorbell may
	 * overtake the store unless the same store is issued twice.
	 */
	if (twice)
		writel(val, p);
}

/**
 * scif_rb_init() - set up one direction of a queue pair, empty
 * @rb: ring
 * @buf: ring memory
 * @size: ring size, a power of two
 * @write_ptr: where the producer offset is published
 * @read_ptr: where the consumer offset is published, or NULL for now
 * @twice: apply the x100 double-store erratum to published offsets
 */
void scif_rb_init(struct scif_rb *rb, void __iomem *buf, u32 size,
		  u32 __iomem *write_ptr, u32 __iomem *read_ptr, bool twice)
{
	rb->buf = buf;
	rb->size = size;
	rb->head = 0;
	rb->tail = 0;
	rb->write_ptr = write_ptr;
	rb->read_ptr = read_ptr;
	rb->twice = twice;
}

/**
 * scif_rb_space() - free bytes the producer may write now
 * @rb: outbound ring
 *
 * Return: bytes that scif_rb_write() may take.
 */
u32 scif_rb_space(struct scif_rb *rb)
{
	u32 tail = readl(rb->read_ptr) & (rb->size - 1);

	/* Do not overwrite bytes before the consumer said they are read. */
	mb();
	WRITE_ONCE(rb->tail, tail);
	return CIRC_SPACE(rb->head, tail, rb->size);
}

/**
 * scif_rb_write() - copy bytes into the ring without publishing them
 * @rb: outbound ring
 * @data: bytes
 * @len: count, at most scif_rb_space()
 */
void scif_rb_write(struct scif_rb *rb, const void *data, u32 len)
{
	u32 first = min(len, rb->size - rb->head);

	memcpy_toio(rb->buf + rb->head, data, first);
	if (len > first)
		memcpy_toio(rb->buf, data + first, len - first);
	WRITE_ONCE(rb->head, (rb->head + len) & (rb->size - 1));
}

/**
 * scif_rb_commit() - publish everything written so far to the consumer
 * @rb: outbound ring
 */
void scif_rb_commit(struct scif_rb *rb)
{
	/* The bytes must be visible before the offset that covers them. */
	wmb();
	scif_rb_store(rb->write_ptr, rb->head, rb->twice);
}

/**
 * scif_rb_count() - bytes the consumer may read now
 * @rb: inbound ring
 *
 * Return: bytes that scif_rb_read() may take.
 */
u32 scif_rb_count(struct scif_rb *rb)
{
	u32 head = readl(rb->write_ptr) & (rb->size - 1);

	/* Read the bytes only after the offset that covers them. */
	rmb();
	WRITE_ONCE(rb->head, head);
	return CIRC_CNT(head, rb->tail, rb->size);
}

/**
 * scif_rb_read() - copy bytes out of the ring without releasing them
 * @rb: inbound ring
 * @data: buffer
 * @len: count, at most scif_rb_count()
 */
void scif_rb_read(struct scif_rb *rb, void *data, u32 len)
{
	u32 first = min(len, rb->size - rb->tail);

	memcpy_fromio(data, rb->buf + rb->tail, first);
	if (len > first)
		memcpy_fromio(data + first, rb->buf, len - first);
	WRITE_ONCE(rb->tail, (rb->tail + len) & (rb->size - 1));
}

/**
 * scif_rb_publish_read() - give the bytes read so far back to the producer
 * @rb: inbound ring; nothing happens while it has no @read_ptr
 */
void scif_rb_publish_read(struct scif_rb *rb)
{
	if (!rb->read_ptr)
		return;
	/* Finish reading before the producer may overwrite the bytes. */
	mb();
	scif_rb_store(rb->read_ptr, rb->tail, rb->twice);
}

/**
 * scif_rb_readable() - whether an inbound ring holds data, without locking
 * @rb: inbound ring
 *
 * Return: true if at least one byte can be read.
 */
bool scif_rb_readable(struct scif_rb *rb)
{
	u32 head = readl(rb->write_ptr) & (rb->size - 1);

	return CIRC_CNT(head, READ_ONCE(rb->tail), rb->size) != 0;
}

/**
 * scif_rb_writable() - whether an outbound ring has room, without locking
 * @rb: outbound ring
 *
 * Return: true if at least one byte can be written.
 */
bool scif_rb_writable(struct scif_rb *rb)
{
	u32 tail = readl(rb->read_ptr) & (rb->size - 1);

	return CIRC_SPACE(READ_ONCE(rb->head), tail, rb->size) != 0;
}
