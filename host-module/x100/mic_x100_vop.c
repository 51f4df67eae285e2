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

#include "mic_x100.h"

static struct mic_x100_dev *vhw_to_x100(struct mic_vop_hw_dev *vhw)
{
	return container_of(vhw, struct mic_x100_dev, vop);
}

static int mic_x100_vop_next_db(struct mic_vop_hw_dev *vhw)
{
	struct mic_hw_dev *hw = &vhw_to_x100(vhw)->hw;

	return hw->ops->next_db(hw);
}

static void *mic_x100_vop_request_db_irq(struct mic_vop_hw_dev *vhw, int db,
					 irq_handler_t handler,
					 const char *name, void *data)
{
	return mic_x100_request_db_irq(&vhw_to_x100(vhw)->hw, db, handler,
				       name, data);
}

static void mic_x100_vop_free_db_irq(struct mic_vop_hw_dev *vhw, void *cookie)
{
	mic_x100_free_db_irq(cookie);
}

/* send_intr range-checks the card's doorbell number. */
static void mic_x100_vop_send_intr(struct mic_vop_hw_dev *vhw, int db)
{
	struct mic_hw_dev *hw = &vhw_to_x100(vhw)->hw;

	hw->ops->send_intr(hw, db);
}

/* As for SCIF: DMA-mapped, then the bus address in the SMPT window. */
static int mic_x100_vop_map_local(struct mic_vop_hw_dev *vhw, void *va,
				  size_t len, dma_addr_t *card_addr)
{
	return mic_x100_map_local(vhw_to_x100(vhw), va, len, card_addr);
}

static void mic_x100_vop_unmap_local(struct mic_vop_hw_dev *vhw,
				     dma_addr_t card_addr, size_t len)
{
	mic_x100_unmap_local(vhw_to_x100(vhw), card_addr, len);
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
