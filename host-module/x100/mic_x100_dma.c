// SPDX-License-Identifier: GPL-2.0
/*
 * micemu: the host-owned DMA channels 0-3 of each x100 card (facts §5).
 *
 * Registered with mic_x100_dma.ko at PCI probe, so the host's channels
 * work whenever the device is there, booted or not: they copy between
 * host RAM (through the SMPT window) and card memory without the card
 * OS. Completion interrupts are SICR0 sources 8-11 on MSI-X vectors of
 * their own; in MSI and INTx mode they are not delivered (facts §1.3) and
 * the DMA driver polls. A card reset puts the channel registers back to
 * reset values: the reset op tells the DMA driver, which fails what was
 * in flight and programs the channels again.
 */
#include "mic_x100.h"

static struct mic_x100_dev *dma_hw_to_x100(struct mic_dma_hw *hw)
{
	return container_of(hw, struct mic_x100_dev, dma_hw);
}

static int mic_x100_dma_request_irq(struct mic_dma_hw *dhw, int ch,
				    irq_handler_t handler, void *data,
				    void **cookie)
{
	struct mic_x100_dev *mdev = dma_hw_to_x100(dhw);
	struct mic_hw_irq *irq;

	if (mdev->intr.mode != MIC_X100_IRQ_MSIX)
		return -EOPNOTSUPP;
	if (ch < 0 || ch >= MIC_DMA_NUM_CHAN)
		return -EINVAL;
	snprintf(mdev->dma_irq_name[ch], sizeof(mdev->dma_irq_name[ch]),
		 "mic%d-dma%d", mdev->index, ch);
	irq = mic_x100_request_irq(&mdev->hw, MIC_INTR_DMA, ch, handler, NULL,
				   mdev->dma_irq_name[ch], data);
	if (IS_ERR(irq))
		return PTR_ERR(irq);
	*cookie = irq;
	return 0;
}

static void mic_x100_dma_free_irq(struct mic_dma_hw *dhw, int ch,
				  void *cookie)
{
	mic_x100_free_irq(&dma_hw_to_x100(dhw)->hw, cookie);
}

static void mic_x100_dma_ack_irq(struct mic_dma_hw *dhw, int ch)
{
	mic_x100_ack_interrupt(&dma_hw_to_x100(dhw)->hw);
}

static u64 mic_x100_dma_map(struct mic_dma_hw *dhw, dma_addr_t addr,
			    size_t len)
{
	return mic_x100_map(&dma_hw_to_x100(dhw)->hw, addr, len);
}

static void mic_x100_dma_unmap(struct mic_dma_hw *dhw, u64 card_addr,
			       size_t len)
{
	mic_x100_unmap(&dma_hw_to_x100(dhw)->hw, card_addr, len);
}

static const struct mic_dma_hw_ops mic_x100_dma_ops = {
	.request_irq = mic_x100_dma_request_irq,
	.free_irq = mic_x100_dma_free_irq,
	.ack_irq = mic_x100_dma_ack_irq,
	.map = mic_x100_dma_map,
	.unmap = mic_x100_dma_unmap,
};

/**
 * mic_x100_dma_init() - register the card's host-owned DMA channels
 * @mdev: the card, with BARs, interrupts and SMPT set up
 *
 * A failure is logged and leaves @mdev->dma NULL: the card works without
 * DMA (SCIF gets no channels).
 */
void mic_x100_dma_init(struct mic_x100_dev *mdev)
{
	struct mic_dma_hw *dhw = &mdev->dma_hw;

	snprintf(mdev->dma_name, sizeof(mdev->dma_name), "mic%d", mdev->index);
	dhw->dev = &mdev->pdev->dev;
	dhw->ops = &mic_x100_dma_ops;
	dhw->mmio = mdev->hw.mmio.va;
	dhw->owner = MIC_DMA_HOST_OWNED;
	dhw->name = mdev->dma_name;
	mdev->dma = mic_dma_register(dhw);
	if (IS_ERR(mdev->dma)) {
		dev_warn(&mdev->pdev->dev, "no DMA channels: %ld\n",
			 PTR_ERR(mdev->dma));
		mdev->dma = NULL;
	}
}

void mic_x100_dma_exit(struct mic_x100_dev *mdev)
{
	mic_dma_unregister(mdev->dma);
	mdev->dma = NULL;
}

/* After a card reset: the DMA registers are back at reset values. */
void mic_x100_dma_reset(struct mic_x100_dev *mdev)
{
	mic_dma_hw_reset(mdev->dma);
}
