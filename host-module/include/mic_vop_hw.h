/* SPDX-License-Identifier: GPL-2.0 */
/*
 * micemu: the hardware interface below the host's VOP (mic_vop_host.ko).
 *
 * The x100 PCIe driver registers one struct mic_vop_hw_dev per card while
 * the card runs (a mic_hw client, like the SCIF link). VOP then offers
 * /dev/vop_virtioN with upstream's ABI (uapi/mic_vop.h): user space (mpssd)
 * adds virtio devices to the card's device page and moves the data of
 * their vrings. VOP never touches a register; it only calls the ops.
 */
#ifndef MICEMU_MIC_VOP_HW_H
#define MICEMU_MIC_VOP_HW_H

#include <linux/device.h>
#include <linux/dmaengine.h>
#include <linux/interrupt.h>
#include <linux/types.h>

#include "mic_dma.h"
#include "mic_mw.h"
#include "scif_hw.h"

struct mic_vop_hw_dev;

/**
 * struct mic_vop_hw_ops - card services VOP uses
 * @next_db: a card-to-host doorbell (0-3) for one virtio device.
 * @request_db_irq: call @handler(irq, @data) in hard-irq context each time
 *	the card rings card-to-host doorbell @db; the bus driver acknowledges
 *	the interrupt. Returns a cookie for @free_db_irq or an ERR_PTR().
 * @free_db_irq: undo @request_db_irq; the handler does not run afterwards.
 * @send_intr: ring host-to-card doorbell @db. @db comes from the card:
 *	numbers out of range must be ignored.
 * @map_local: make @len bytes of host memory at @va (page allocator)
 *	reachable by the card and its DMA engine: store the card address in
 *	*@card_addr. Returns 0 or a negative errno.
 * @unmap_local: undo @map_local.
 *
 * All ops but @send_intr may sleep.
 */
struct mic_vop_hw_ops {
	int (*next_db)(struct mic_vop_hw_dev *vhw);
	void *(*request_db_irq)(struct mic_vop_hw_dev *vhw, int db,
				irq_handler_t handler, const char *name,
				void *data);
	void (*free_db_irq)(struct mic_vop_hw_dev *vhw, void *cookie);
	void (*send_intr)(struct mic_vop_hw_dev *vhw, int db);
	int (*map_local)(struct mic_vop_hw_dev *vhw, void *va, size_t len,
			 dma_addr_t *card_addr);
	void (*unmap_local)(struct mic_vop_hw_dev *vhw, dma_addr_t card_addr,
			    size_t len);
};

/**
 * struct mic_vop_hw_dev - one running card, as VOP sees it
 * @dev: the card's PCI device (messages, DMA mappings)
 * @index: card index N of /dev/vop_virtioN
 * @ops: card services
 * @dp: host view of the 4 KiB device page (bootparam at offset 0); it must
 *	be page-allocator memory (VOP maps it into user space read-only)
 * @aper: card memory (BAR0): card physical address X is offset X
 * @dma_ch: host DMA channels for copies (may be none)
 * @num_dma_ch: entries in @dma_ch
 * @vop: private to VOP, set by mic_vop_register()
 *
 * The bus driver fills this and keeps it unchanged between
 * mic_vop_register() and the return of mic_vop_unregister().
 */
struct mic_vop_hw_dev {
	struct device *dev;
	int index;
	const struct mic_vop_hw_ops *ops;
	struct mic_bootparam *dp;
	struct mic_mw aper;
	struct dma_chan *dma_ch[MIC_DMA_NUM_CHAN];
	int num_dma_ch;
	void *vop;
};

int mic_vop_register(struct mic_vop_hw_dev *vhw);
void mic_vop_unregister(struct mic_vop_hw_dev *vhw);

#endif /* MICEMU_MIC_VOP_HW_H */
