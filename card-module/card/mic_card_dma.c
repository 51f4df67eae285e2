// SPDX-License-Identifier: GPL-2.0
/*
 * micemu card driver: the card-owned DMA channels 4-7 (facts §5).
 *
 * Registered with mic_x100_dma.ko at probe. The card is the only side
 * that writes DCR owner bits; the DMA driver takes channels 4-7 for the
 * card there. Their rings live in card memory, whose physical addresses
 * are card physical addresses already; host memory is reached through
 * the SMPT window, whose addresses the host hands out. Completion
 * interrupts arrive on the mic-card function's MSI-X vectors 16-19
 * (mic_card_regs.h).
 */
#include <linux/dma-mapping.h>

#include "mic_card.h"

/* facts §5.3: descriptors carry 40-bit card addresses. */
#define MIC_CARD_DMA_ADDR_LIMIT		BIT_ULL(40)

static struct mic_card *dma_hw_to_card(struct mic_dma_hw *hw)
{
	return container_of(hw, struct mic_card, dma_hw);
}

static int mic_card_dma_request_irq(struct mic_dma_hw *hw, int ch,
				    irq_handler_t handler, void *data,
				    void **cookie)
{
	void *user;

	if (ch < MIC_CARD_DMA_FIRST ||
	    ch >= MIC_CARD_DMA_FIRST + MIC_CARD_NUM_DMA)
		return -EINVAL;
	user = mic_card_request_vec(dma_hw_to_card(hw),
				    MIC_CARD_DMA_VECTOR(ch), handler, data);
	if (IS_ERR(user))
		return PTR_ERR(user);
	*cookie = user;
	return 0;
}

static void mic_card_dma_free_irq(struct mic_dma_hw *hw, int ch, void *cookie)
{
	mic_card_free_db(dma_hw_to_card(hw), cookie);
}

/* Card memory: the bus address is the physical address (no IOMMU). */
static u64 mic_card_dma_map(struct mic_dma_hw *hw, dma_addr_t addr,
			    size_t len)
{
	if (!len || addr >= MIC_CARD_DMA_ADDR_LIMIT ||
	    len > MIC_CARD_DMA_ADDR_LIMIT - addr)
		return DMA_MAPPING_ERROR;
	return addr;
}

static const struct mic_dma_hw_ops mic_card_dma_ops = {
	.request_irq = mic_card_dma_request_irq,
	.free_irq = mic_card_dma_free_irq,
	.map = mic_card_dma_map,
};

/**
 * mic_card_dma_init() - register the card-owned DMA channels
 * @card: card with registers mapped and interrupts hooked
 *
 * A failure is logged and leaves @card->dma NULL: SCIF then runs without
 * DMA channels.
 */
void mic_card_dma_init(struct mic_card *card)
{
	struct mic_dma_hw *hw = &card->dma_hw;

	hw->dev = &card->pdev->dev;
	hw->ops = &mic_card_dma_ops;
	hw->mmio = card->mmio;
	hw->owner = MIC_DMA_CARD_OWNED;
	hw->name = "card";
	card->dma = mic_dma_register(hw);
	if (IS_ERR(card->dma)) {
		dev_warn(&card->pdev->dev, "no DMA channels: %ld\n",
			 PTR_ERR(card->dma));
		card->dma = NULL;
	}
}

void mic_card_dma_exit(struct mic_card *card)
{
	mic_dma_unregister(card->dma);
	card->dma = NULL;
}
