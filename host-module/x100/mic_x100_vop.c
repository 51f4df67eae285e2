// SPDX-License-Identifier: GPL-2.0
/*
 * micemu: the VOP (virtio over PCIe) device of each x100 card.
 *
 * A mic_hw client after SCIF: while a card boots, one struct
 * mic_vop_hw_dev is registered with mic_vop_host.ko (/dev/vop_virtioN
 * appears before the card is "booting", where mpssd waits for it); when
 * the card is stopped or reset it is unregistered, before the SCIF link
 * goes. The ops map onto the card's hardware: card-to-host doorbells 0-3
 * and their interrupts, host-to-card doorbells, the SMPT window for the
 * host's vrings, the aperture for card memory and the host-owned DMA
 * channels.
 */
#include <linux/dma-mapping.h>
#include <linux/slab.h>

#include "mic_x100.h"

/**
 * struct mic_x100_vop_irq - a doorbell interrupt handed to VOP
 * @hw: the card
 * @irq: the interrupt source taken with mic_hw_ops.request_irq
 * @handler: VOP's handler
 * @data: VOP's cookie for @handler
 */
struct mic_x100_vop_irq {
	struct mic_hw_dev *hw;
	struct mic_hw_irq *irq;
	irq_handler_t handler;
	void *data;
};

static struct mic_x100_dev *vhw_to_x100(struct mic_vop_hw_dev *vhw)
{
	return container_of(vhw, struct mic_x100_dev, vop);
}

static int mic_x100_vop_next_db(struct mic_vop_hw_dev *vhw)
{
	struct mic_hw_dev *hw = &vhw_to_x100(vhw)->hw;

	return hw->ops->next_db(hw);
}

static irqreturn_t mic_x100_vop_intr(int irq, void *arg)
{
	struct mic_x100_vop_irq *virq = arg;

	virq->hw->ops->ack_interrupt(virq->hw);
	return virq->handler(irq, virq->data);
}

static void *mic_x100_vop_request_db_irq(struct mic_vop_hw_dev *vhw, int db,
					 irq_handler_t handler,
					 const char *name, void *data)
{
	struct mic_hw_dev *hw = &vhw_to_x100(vhw)->hw;
	struct mic_x100_vop_irq *virq;
	struct mic_hw_irq *irq;

	virq = kzalloc(sizeof(*virq), GFP_KERNEL);
	if (!virq)
		return ERR_PTR(-ENOMEM);
	virq->hw = hw;
	virq->handler = handler;
	virq->data = data;
	irq = hw->ops->request_irq(hw, MIC_INTR_DB, db, mic_x100_vop_intr,
				   NULL, name, virq);
	if (IS_ERR(irq)) {
		kfree(virq);
		return ERR_CAST(irq);
	}
	virq->irq = irq;
	return virq;
}

static void mic_x100_vop_free_db_irq(struct mic_vop_hw_dev *vhw, void *cookie)
{
	struct mic_x100_vop_irq *virq = cookie;

	if (IS_ERR_OR_NULL(virq))
		return;
	virq->hw->ops->free_irq(virq->hw, virq->irq);
	kfree(virq);
}

/* send_intr range-checks the card's doorbell number. */
static void mic_x100_vop_send_intr(struct mic_vop_hw_dev *vhw, int db)
{
	struct mic_hw_dev *hw = &vhw_to_x100(vhw)->hw;

	hw->ops->send_intr(hw, db);
}

/* As for SCIF: DMA-map, then the bus address in the SMPT window. */
static int mic_x100_vop_map_local(struct mic_vop_hw_dev *vhw, void *va,
				  size_t len, dma_addr_t *card_addr)
{
	struct mic_x100_dev *mdev = vhw_to_x100(vhw);
	struct device *dev = &mdev->pdev->dev;
	dma_addr_t bus, card;

	bus = dma_map_single(dev, va, len, DMA_BIDIRECTIONAL);
	if (dma_mapping_error(dev, bus))
		return -ENOMEM;
	card = mdev->hw.ops->map(&mdev->hw, bus, len);
	if (card == DMA_MAPPING_ERROR) {
		dma_unmap_single(dev, bus, len, DMA_BIDIRECTIONAL);
		return -EIO;
	}
	*card_addr = card;
	return 0;
}

static void mic_x100_vop_unmap_local(struct mic_vop_hw_dev *vhw,
				     dma_addr_t card_addr, size_t len)
{
	struct mic_x100_dev *mdev = vhw_to_x100(vhw);

	mdev->hw.ops->unmap(&mdev->hw, card_addr, len);
	dma_unmap_single(&mdev->pdev->dev, mic_x100_card_to_bus(card_addr),
			 len, DMA_BIDIRECTIONAL);
}

static const struct mic_vop_hw_ops mic_x100_vop_ops = {
	.next_db = mic_x100_vop_next_db,
	.request_db_irq = mic_x100_vop_request_db_irq,
	.free_db_irq = mic_x100_vop_free_db_irq,
	.send_intr = mic_x100_vop_send_intr,
	.map_local = mic_x100_vop_map_local,
	.unmap_local = mic_x100_vop_unmap_local,
};

static int mic_x100_vop_start(struct mic_hw_dev *hw)
{
	struct mic_x100_dev *mdev = hw_to_x100(hw);
	struct mic_vop_hw_dev *vhw = &mdev->vop;

	memset(vhw, 0, sizeof(*vhw));
	vhw->dev = hw->dev;
	vhw->index = hw->index;
	vhw->ops = &mic_x100_vop_ops;
	vhw->dp = hw->dp;
	vhw->aper = hw->aper;
	vhw->num_dma_ch = mic_dma_get_channels(mdev->dma, vhw->dma_ch,
					       ARRAY_SIZE(vhw->dma_ch));
	return mic_vop_register(vhw);
}

/* Devices still added are removed; the card is reset next. */
static void mic_x100_vop_stop(struct mic_hw_dev *hw)
{
	mic_vop_unregister(&hw_to_x100(hw)->vop);
}

static struct mic_hw_client mic_x100_vop_client = {
	.name = "vop",
	.start = mic_x100_vop_start,
	.stop = mic_x100_vop_stop,
};

int mic_x100_vop_init(void)
{
	return mic_hw_register_client(&mic_x100_vop_client);
}

void mic_x100_vop_exit(void)
{
	mic_hw_unregister_client(&mic_x100_vop_client);
}
