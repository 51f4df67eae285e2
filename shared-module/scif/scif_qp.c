// SPDX-License-Identifier: GPL-2.0
/*
 * micemu SCIF: queue pairs (facts §7.5) and the hardware ops behind them.
 *
 * Node and endpoint queue pairs work alike and differ only in ring size.
 * Each side allocates its queue-pair structure and its inbound ring in its
 * own memory, hands their address to the peer, and maps the peer's pair.
 * The loopback link has no hardware: both ends live in this kernel, so a
 * "peer address" is the physical address of our own memory, and messages
 * on it only ever come from this kernel. On a card, another card's queue
 * pairs live in that card's memory and ours in ours: the peer reaches our
 * memory at our physical address + the base address the host handed out
 * (scif_p2p.c), we reach its memory through our SMPT window.
 */
#define pr_fmt(fmt) "scif: " fmt

#include <linux/error-injection.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/printk.h>
#include <linux/slab.h>

#include "scif_main.h"

/**
 * scif_ioremap() - map memory the peer of @dev gave us the address of
 * @dev: link
 * @addr: address from the peer
 * @len: bytes
 *
 * Return: the mapping, or NULL if the address is unusable.
 */
void __iomem *scif_ioremap(struct scif_dev *dev, u64 addr, size_t len)
{
	if (!dev->self)
		return dev->sdev->ops->ioremap(dev->sdev, addr, len);
	/* Only debugfs injection can bring a bad address here; stay in RAM. */
	if (!len || addr + len < addr || !pfn_valid(PHYS_PFN(addr)) ||
	    !pfn_valid(PHYS_PFN(addr + len - 1)))
		return NULL;
	return (void __iomem __force *)phys_to_virt(addr);
}

/**
 * scif_iounmap() - undo scif_ioremap()
 * @dev: link
 * @va: mapping, may be NULL
 * @len: bytes
 */
void scif_iounmap(struct scif_dev *dev, void __iomem *va, size_t len)
{
	if (va && !dev->self)
		dev->sdev->ops->iounmap(dev->sdev, va, len);
}

/**
 * scif_map_local() - make our memory reachable by the peer of @dev
 * @dev: link
 * @va: linear-map address
 * @len: bytes
 * @addr: filled with the address the peer uses
 *
 * Return: 0 or a negative errno.
 */
int scif_map_local(struct scif_dev *dev, void *va, size_t len,
		   dma_addr_t *addr)
{
	int err;

	if (dev->self) {
		*addr = virt_to_phys(va);
		return 0;
	}
	err = dev->sdev->ops->map_local(dev->sdev, va, len, addr);
	if (!err && dev->p2p)
		*addr += dev->base_addr;
	return err;
}

/**
 * scif_unmap_local() - undo scif_map_local()
 * @dev: link
 * @addr: the peer address
 * @len: bytes
 */
void scif_unmap_local(struct scif_dev *dev, dma_addr_t addr, size_t len)
{
	if (dev->p2p)
		addr -= dev->base_addr;
	if (!dev->self)
		dev->sdev->ops->unmap_local(dev->sdev, addr, len);
}

/**
 * scif_qp_create() - allocate our half of a queue pair, mapped for the peer
 * @dev: link the queue pair will run over
 * @qp: queue pair, zeroed
 * @size: inbound ring size, a power of two
 *
 * Return: 0 or a negative errno.
 */
int scif_qp_create(struct scif_dev *dev, struct scif_qp *qp, u32 size)
{
	struct scif_qp_wire *wire;
	void *ring;
	int err;

	wire = kzalloc(sizeof(*wire), GFP_KERNEL);
	ring = kzalloc(size, GFP_KERNEL);
	if (!wire || !ring) {
		err = -ENOMEM;
		goto free;
	}
	wire->magic = SCIF_QP_MAGIC;
	wire->inbound_size = size;

	err = scif_map_local(dev, ring, size, &qp->ring_addr);
	if (err)
		goto free;
	err = scif_map_local(dev, wire, sizeof(*wire), &qp->wire_addr);
	if (err)
		goto unmap_ring;
	wire->local_buf = qp->ring_addr;
	wire->local_qp = qp->wire_addr;

	qp->wire = wire;
	qp->ring = ring;
	qp->local_mapped = true;
	scif_rb_init(&qp->inbound, (void __iomem __force *)ring, size,
		     (u32 __iomem __force *)&wire->local_write, NULL,
		     !scif_is_mgmt_node());
	return 0;

unmap_ring:
	scif_unmap_local(dev, qp->ring_addr, size);
free:
	kfree(ring);
	kfree(wire);
	return err;
}

/* make faultsweep fails it (fail_function); callers handle errors. */
ALLOW_ERROR_INJECTION(scif_qp_create, ERRNO);

/**
 * scif_qp_map_peer() - map the peer's half and make the pair usable
 * @dev: link
 * @qp: queue pair from scif_qp_create()
 * @addr: the peer's address of its queue-pair structure
 * @size: the ring size both sides use
 * @reset_peer: zero the peer's offsets first (acceptor side)
 *
 * Everything read from the peer is checked: the address must map, the
 * magic must match and the ring must have the expected size.
 *
 * Return: 0 or -EIO.
 */
int scif_qp_map_peer(struct scif_dev *dev, struct scif_qp *qp, u64 addr,
		     u32 size, bool reset_peer)
{
	struct scif_qp_wire __iomem *rwire;
	void __iomem *rring;
	u64 magic, buf;
	u32 rsize;

	rwire = scif_ioremap(dev, addr, sizeof(*rwire));
	if (!rwire) {
		pr_warn_ratelimited("node %u: cannot map queue pair at %#llx\n",
				    dev->node, addr);
		return -EIO;
	}
	magic = readq(&rwire->magic);
	rsize = readl(&rwire->inbound_size);
	buf = readq(&rwire->local_buf);
	if (magic != SCIF_QP_MAGIC || rsize != size) {
		pr_warn_ratelimited("node %u: bad queue pair at %#llx (magic %#llx size %u)\n",
				    dev->node, addr, magic, rsize);
		goto unmap_wire;
	}
	rring = scif_ioremap(dev, buf, size);
	if (!rring) {
		pr_warn_ratelimited("node %u: cannot map ring at %#llx\n",
				    dev->node, buf);
		goto unmap_wire;
	}

	if (reset_peer) {
		writel(0, &rwire->local_write);
		writel(0, &rwire->local_read);
	}
	WRITE_ONCE(qp->wire->local_read, 0);
	qp->wire->remote_buf = buf;
	scif_rb_init(&qp->outbound, rring, size, &rwire->local_write,
		     (u32 __iomem __force *)&qp->wire->local_read,
		     !scif_is_mgmt_node());
	/* Continue where the peer's ring stands, as upstream does. */
	qp->outbound.head = readl(&rwire->local_write) & (size - 1);
	qp->rwire = rwire;
	qp->rring = rring;
	qp->rring_size = size;
	/* From now on our consumer offset can be published to the peer. */
	qp->inbound.read_ptr = &rwire->local_read;
	scif_rb_publish_read(&qp->inbound);
	return 0;

unmap_wire:
	scif_iounmap(dev, rwire, sizeof(*rwire));
	return -EIO;
}

/* make faultsweep fails it (fail_function); callers handle errors. */
ALLOW_ERROR_INJECTION(scif_qp_map_peer, ERRNO);

/**
 * scif_qp_unmap_peer() - forget the peer's half
 * @dev: link
 * @qp: queue pair
 */
void scif_qp_unmap_peer(struct scif_dev *dev, struct scif_qp *qp)
{
	qp->inbound.read_ptr = NULL;
	scif_iounmap(dev, qp->rring, qp->rring_size);
	scif_iounmap(dev, qp->rwire, sizeof(*qp->rwire));
	qp->rring = NULL;
	qp->rwire = NULL;
	qp->outbound.buf = NULL;
}

/**
 * scif_qp_unmap_local() - withdraw the peer's access to our half
 * @dev: link
 * @qp: queue pair
 *
 * Our memory stays allocated, so data already received can still be read.
 */
void scif_qp_unmap_local(struct scif_dev *dev, struct scif_qp *qp)
{
	if (!qp->local_mapped)
		return;
	scif_unmap_local(dev, qp->wire_addr, sizeof(*qp->wire));
	scif_unmap_local(dev, qp->ring_addr, qp->inbound.size);
	qp->local_mapped = false;
}

/**
 * scif_qp_free() - free our half; the peer must no longer reach it
 * @qp: queue pair, unmapped
 */
void scif_qp_free(struct scif_qp *qp)
{
	kfree(qp->ring);
	kfree(qp->wire);
	qp->ring = NULL;
	qp->wire = NULL;
}

/**
 * scif_qp_reset_inbound() - make our inbound ring look fresh for a new peer
 * @qp: queue pair
 *
 * A returning peer continues writing at our local_write, so both go to 0.
 */
void scif_qp_reset_inbound(struct scif_qp *qp)
{
	WRITE_ONCE(qp->wire->local_write, 0);
	qp->inbound.head = 0;
	qp->inbound.tail = 0;
}
