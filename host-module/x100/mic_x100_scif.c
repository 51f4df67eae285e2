// SPDX-License-Identifier: GPL-2.0
/*
 * micemu: the SCIF link of each x100 card (facts §4.2 step 3.3, §7.6).
 *
 * A mic_hw client: while a card boots, before the boot kick, one struct
 * scif_hw_dev is registered for it (self node 0, peer node = card index
 * + 1); when the card is stopped or reset it is unregistered, and SCIF
 * tells the card with an EXIT (facts §4.5). The link ops map onto the
 * card's hardware: card-to-host doorbells 0-3 and their interrupts,
 * host-to-card doorbells (APICICR/RDMASR), the aperture for card memory
 * and the SMPT window for host memory.
 */
#include <linux/dma-mapping.h>

#include "mic_x100.h"

static struct mic_x100_dev *sdev_to_x100(struct scif_hw_dev *sdev)
{
	return container_of(sdev, struct mic_x100_dev, sdev);
}

static int mic_x100_scif_next_db(struct scif_hw_dev *sdev)
{
	struct mic_hw_dev *hw = &sdev_to_x100(sdev)->hw;

	return hw->ops->next_db(hw);
}

static void *mic_x100_scif_request_db_irq(struct scif_hw_dev *sdev, int db,
					  irq_handler_t handler,
					  const char *name, void *data)
{
	return mic_x100_request_db_irq(&sdev_to_x100(sdev)->hw, db, handler,
				       name, data);
}

static void mic_x100_scif_free_db_irq(struct scif_hw_dev *sdev, void *cookie,
				      void *data)
{
	mic_x100_free_db_irq(cookie);
}

/* The doorbell number comes from the card; send_intr range-checks it. */
static void mic_x100_scif_send_peer_intr(struct scif_hw_dev *sdev,
					 int peer_db)
{
	struct mic_hw_dev *hw = &sdev_to_x100(sdev)->hw;

	hw->ops->send_intr(hw, peer_db);
}

/* Card physical address X is aperture offset X (facts §1.2, §3.2). */
static void __iomem *mic_x100_scif_ioremap(struct scif_hw_dev *sdev,
					   dma_addr_t peer_addr, size_t len)
{
	struct mic_x100_dev *mdev = sdev_to_x100(sdev);
	struct mic_mw *aper = &mdev->hw.aper;
	u64 addr = peer_addr;

	if (!len || addr >= aper->len || len > aper->len - addr) {
		dev_warn_ratelimited(&mdev->pdev->dev,
				     "card range %pad+%zu outside the aperture\n",
				     &peer_addr, len);
		return NULL;
	}
	return aper->va + addr;
}

/* BAR0's bus address is the CPU's physical address on x86 (no IOMMU). */
static phys_addr_t mic_x100_scif_peer_phys(struct scif_hw_dev *sdev,
					   dma_addr_t peer_addr, size_t len)
{
	struct mic_mw *aper = &sdev_to_x100(sdev)->hw.aper;
	u64 addr = peer_addr;

	if (!len || addr >= aper->len || len > aper->len - addr)
		return 0;
	return aper->pa + addr;
}

/* The aperture stays mapped for the life of the device. */
static void mic_x100_scif_iounmap(struct scif_hw_dev *sdev,
				  void __iomem *va, size_t len)
{
}

static int mic_x100_scif_map_local(struct scif_hw_dev *sdev, void *va,
				   size_t len, dma_addr_t *peer_addr)
{
	return mic_x100_map_local(sdev_to_x100(sdev), va, len, peer_addr);
}

static void mic_x100_scif_unmap_local(struct scif_hw_dev *sdev,
				      dma_addr_t peer_addr, size_t len)
{
	mic_x100_unmap_local(sdev_to_x100(sdev), peer_addr, len);
}

/*
 * Another card's register BAR, mapped by SCIF at @mmio: ring its doorbell
 * the way the host rings a card (APICICR 0-7, RDMASR 8-15). The host stack
 * has no P2P link of its own; the op is here so that both ops tables
 * offer upstream's set.
 */
static void mic_x100_scif_send_p2p_intr(struct scif_hw_dev *sdev, int db,
					void __iomem *mmio)
{
	u32 reg;

	if (!mmio || db < 0 ||
	    db >= MIC_X100_NUM_APICICR + MIC_X100_NUM_RDMASR) {
		dev_warn_ratelimited(sdev->dev, "ignoring peer doorbell %d\n",
				     db);
		return;
	}
	/* That card must see everything written before the doorbell. */
	wmb();
	if (db < MIC_X100_NUM_APICICR) {
		reg = ioread32(mmio + MIC_X100_APICICR_LO(db));
		iowrite32(reg | MIC_X100_APICICR_SEND,
			  mmio + MIC_X100_APICICR_LO(db));
	} else {
		iowrite32(0, mmio + MIC_X100_RDMASR(db - MIC_X100_NUM_APICICR));
	}
}

/*
 * Another card's BAR for this card (upstream: dma_map_sg of the peer's
 * BAR through this card's DMA ops): the SMPT window address of that bus
 * range, with the entries it needs referenced.
 */
static int mic_x100_scif_map_bus(struct scif_hw_dev *sdev, phys_addr_t bus,
				 size_t len, dma_addr_t *peer_addr)
{
	struct mic_x100_dev *mdev = sdev_to_x100(sdev);
	dma_addr_t card;

	card = mdev->hw.ops->map(&mdev->hw, bus, len);
	if (card == DMA_MAPPING_ERROR)
		return -ERANGE;
	*peer_addr = card;
	return 0;
}

static void mic_x100_scif_unmap_bus(struct scif_hw_dev *sdev,
				    dma_addr_t peer_addr, size_t len)
{
	struct mic_x100_dev *mdev = sdev_to_x100(sdev);

	mdev->hw.ops->unmap(&mdev->hw, peer_addr, len);
}

static const struct scif_hw_ops mic_x100_scif_ops = {
	.next_db = mic_x100_scif_next_db,
	.request_db_irq = mic_x100_scif_request_db_irq,
	.free_db_irq = mic_x100_scif_free_db_irq,
	.send_peer_intr = mic_x100_scif_send_peer_intr,
	.ioremap = mic_x100_scif_ioremap,
	.iounmap = mic_x100_scif_iounmap,
	.map_local = mic_x100_scif_map_local,
	.unmap_local = mic_x100_scif_unmap_local,
	.peer_phys = mic_x100_scif_peer_phys,
	.send_p2p_intr = mic_x100_scif_send_p2p_intr,
	.map_bus = mic_x100_scif_map_bus,
	.unmap_bus = mic_x100_scif_unmap_bus,
};

/* SCIF publishes its doorbell and queue pair in the fresh bootparam. */
static int mic_x100_scif_start(struct mic_hw_dev *hw)
{
	struct mic_x100_dev *mdev = hw_to_x100(hw);
	struct scif_hw_dev *sdev = &mdev->sdev;

	memset(sdev, 0, sizeof(*sdev));
	sdev->dev = hw->dev;
	sdev->ops = &mic_x100_scif_ops;
	sdev->snode = 0;
	sdev->dnode = hw->index + 1;
	sdev->dp = hw->dp;
	sdev->aper_pa = hw->aper.pa;
	sdev->aper_len = hw->aper.len;
	sdev->mmio_pa = hw->mmio.pa;
	sdev->mmio_len = hw->mmio.len;
	sdev->num_dma_ch = mic_dma_get_channels(mdev->dma, sdev->dma_ch,
						ARRAY_SIZE(sdev->dma_ch));
	return scif_register_hw_dev(sdev);
}

/* SCIF disconnects the node's endpoints and sends EXIT to the card. */
static void mic_x100_scif_stop(struct mic_hw_dev *hw)
{
	scif_unregister_hw_dev(&hw_to_x100(hw)->sdev);
}

static struct mic_hw_client mic_x100_scif_client = {
	.name = "scif",
	.start = mic_x100_scif_start,
	.stop = mic_x100_scif_stop,
};

int mic_x100_scif_init(void)
{
	return mic_hw_register_client(&mic_x100_scif_client);
}

void mic_x100_scif_exit(void)
{
	mic_hw_unregister_client(&mic_x100_scif_client);
}
