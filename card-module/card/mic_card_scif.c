// SPDX-License-Identifier: GPL-2.0
/*
 * micemu card driver: the SCIF link to the host (scif_hw.h).
 *
 * A card reaches host memory through its SMPT window: every address the
 * host hands out (device page, node and endpoint queue pairs) is already
 * a card physical address inside that window, so mapping it is a plain
 * ioremap. The host reaches card memory through its BAR0 aperture at the
 * same offset as our physical address (facts §3.1, §3.2), so our memory
 * is "mapped" for the host by handing out its physical address.
 */
#include <linux/io.h>
#include <linux/mm.h>

#include "mic_card.h"

static inline struct mic_card *sdev_to_card(struct scif_hw_dev *sdev)
{
	return container_of(sdev, struct mic_card, sdev);
}

static int mic_card_scif_next_db(struct scif_hw_dev *sdev)
{
	return mic_card_next_db(sdev_to_card(sdev));
}

static void *mic_card_scif_request_db_irq(struct scif_hw_dev *sdev, int db,
					  irq_handler_t handler,
					  const char *name, void *data)
{
	return mic_card_request_db(sdev_to_card(sdev), db, handler, data);
}

static void mic_card_scif_free_db_irq(struct scif_hw_dev *sdev, void *cookie,
				      void *data)
{
	mic_card_free_db(sdev_to_card(sdev), cookie);
}

static void mic_card_scif_send_peer_intr(struct scif_hw_dev *sdev,
					 int peer_db)
{
	mic_card_send_host_intr(sdev_to_card(sdev), peer_db);
}

static void __iomem *mic_card_scif_ioremap(struct scif_hw_dev *sdev,
					   dma_addr_t peer_addr, size_t len)
{
	if (!mic_card_in_smpt_window(peer_addr, len)) {
		dev_warn_ratelimited(sdev->dev,
				     "host address %pad + %zu is outside the SMPT window\n",
				     &peer_addr, len);
		return NULL;
	}
	return ioremap(peer_addr, len);
}

static void mic_card_scif_iounmap(struct scif_hw_dev *sdev, void __iomem *va,
				  size_t len)
{
	iounmap(va);
}

/* The SMPT window is plain card physical address space. */
static phys_addr_t mic_card_scif_peer_phys(struct scif_hw_dev *sdev,
					   dma_addr_t peer_addr, size_t len)
{
	return mic_card_in_smpt_window(peer_addr, len) ? peer_addr : 0;
}

static int mic_card_scif_map_local(struct scif_hw_dev *sdev, void *va,
				   size_t len, dma_addr_t *peer_addr)
{
	/* Only the kernel's linear map is physically contiguous. */
	if (!len || !virt_addr_valid(va) || !virt_addr_valid(va + len - 1))
		return -EINVAL;
	*peer_addr = virt_to_phys(va);
	return 0;
}

static void mic_card_scif_unmap_local(struct scif_hw_dev *sdev,
				      dma_addr_t peer_addr, size_t len)
{
}

/*
 * Another card's register BAR, mapped by SCIF through our SMPT window at
 * @mmio (upstream: mic_send_p2p_intr): doorbells 0-7 through its APICICR
 * with the send bit, 8-15 through its RDMASR, as the host rings a card.
 */
static void mic_card_scif_send_p2p_intr(struct scif_hw_dev *sdev, int db,
					void __iomem *mmio)
{
	u32 reg;

	if (!mmio || db < 0 || db >= MIC_NUM_DB) {
		dev_warn_ratelimited(sdev->dev, "ignoring peer doorbell %d\n",
				     db);
		return;
	}
	/* The peer must see our stores to its memory before the interrupt. */
	wmb();
	if (db < MIC_NUM_SBOX_DB) {
		reg = ioread32(mmio + MIC_SBOX_BASE + MIC_SBOX_APICICR_LO(db));
		iowrite32(reg | MIC_APICICR_SEND,
			  mmio + MIC_SBOX_BASE + MIC_SBOX_APICICR_LO(db));
	} else {
		iowrite32(0, mmio + MIC_SBOX_BASE +
			  MIC_SBOX_RDMASR(db - MIC_NUM_SBOX_DB));
	}
}

static const struct scif_hw_ops mic_card_scif_ops = {
	.next_db = mic_card_scif_next_db,
	.request_db_irq = mic_card_scif_request_db_irq,
	.free_db_irq = mic_card_scif_free_db_irq,
	.send_peer_intr = mic_card_scif_send_peer_intr,
	.ioremap = mic_card_scif_ioremap,
	.iounmap = mic_card_scif_iounmap,
	.map_local = mic_card_scif_map_local,
	.unmap_local = mic_card_scif_unmap_local,
	.peer_phys = mic_card_scif_peer_phys,
	.send_p2p_intr = mic_card_scif_send_p2p_intr,
};

/**
 * mic_card_scif_init() - register our SCIF link to the host
 * @card: card with its device page mapped and node id read
 *
 * Return: 0 or a negative errno from SCIF.
 */
int mic_card_scif_init(struct mic_card *card)
{
	int err;

	mutex_init(&card->scif_lock);
	card->sdev.dev = &card->pdev->dev;
	card->sdev.ops = &mic_card_scif_ops;
	card->sdev.snode = card->node_id;
	card->sdev.dnode = MIC_HOST_NODE;
	card->sdev.rdp = card->dp;
	card->sdev.num_dma_ch =
		mic_dma_get_channels(card->dma, card->sdev.dma_ch,
				     ARRAY_SIZE(card->sdev.dma_ch));

	mutex_lock(&card->scif_lock);
	err = scif_register_hw_dev(&card->sdev);
	card->scif_up = !err;
	mutex_unlock(&card->scif_lock);
	return err;
}

/**
 * mic_card_scif_exit() - take the SCIF link down (EXIT to the host)
 * @card: card
 *
 * Safe to call more than once (shutdown, then remove).
 */
void mic_card_scif_exit(struct mic_card *card)
{
	mutex_lock(&card->scif_lock);
	if (card->scif_up)
		scif_unregister_hw_dev(&card->sdev);
	card->scif_up = false;
	mutex_unlock(&card->scif_lock);
}
