/* SPDX-License-Identifier: GPL-2.0 */
/*
 * micemu: per-card hardware services for upper host layers.
 *
 * The PCIe driver (mic_x100) describes each card with a struct mic_hw_dev
 * and a struct mic_hw_ops table. Upper layers (SCIF, the host DMA driver,
 * VOP) register a struct mic_hw_client; its ->start runs for every card
 * while the card boots and its ->stop when the card is stopped or reset,
 * in reverse registration order. They never touch registers directly.
 *
 * The device page starts with struct mic_bootparam (facts §4.4); its one
 * definition lives in scif_hw.h, next to the SCIF link that uses it.
 */
#ifndef MICEMU_MIC_HW_H
#define MICEMU_MIC_HW_H

#include <linux/bitmap.h>
#include <linux/device.h>
#include <linux/dma-mapping.h>
#include <linux/interrupt.h>
#include <linux/list.h>

#include "mic_mw.h"
#include "scif_hw.h"

#define MIC_HW_MAX_CARDS	128

/* Interrupt source groups of the x100 (facts §2.3). */
enum mic_intr_type {
	MIC_INTR_DB = 0,	/* card-to-host doorbells 0-3 */
	MIC_INTR_DMA,		/* DMA channels 0-7 */
	MIC_INTR_ERR,		/* the error source */
	MIC_NUM_INTR_TYPES
};

struct mic_hw_dev;
struct mic_hw_irq;

/**
 * struct mic_hw_ops - hardware services of one card
 * @request_irq: route interrupt source @src of group @type to @handler
 *	(hard irq context) and @thread_fn (threaded, may be NULL). In MSI-X
 *	mode the source gets a vector of its own (-ENOSPC when none is
 *	left); in MSI/INTx mode only doorbells are delivered. Returns a
 *	cookie for @free_irq or an ERR_PTR.
 * @free_irq: undo @request_irq.
 * @ack_interrupt: per-interrupt acknowledgment and stepping workaround;
 *	call from every doorbell and DMA handler.
 * @next_db: next card-to-host doorbell to hand out (round robin 0-3).
 * @send_intr: ring host-to-card doorbell @db (0-7 APICICR, 8-15 RDMASR).
 * @map: card-visible address (SMPT window) of @len bytes of host memory at
 *	bus address @bus_addr, or DMA_MAPPING_ERROR.
 * @unmap: release a @map result.
 */
struct mic_hw_ops {
	struct mic_hw_irq *(*request_irq)(struct mic_hw_dev *hw,
					  enum mic_intr_type type, int src,
					  irq_handler_t handler,
					  irq_handler_t thread_fn,
					  const char *name, void *data);
	void (*free_irq)(struct mic_hw_dev *hw, struct mic_hw_irq *irq);
	void (*ack_interrupt)(struct mic_hw_dev *hw);
	int (*next_db)(struct mic_hw_dev *hw);
	void (*send_intr)(struct mic_hw_dev *hw, int db);
	dma_addr_t (*map)(struct mic_hw_dev *hw, dma_addr_t bus_addr,
			  size_t len);
	void (*unmap)(struct mic_hw_dev *hw, dma_addr_t card_addr, size_t len);
};

/**
 * struct mic_hw_dev - one card as seen by upper layers
 * @dev: the PCI device (for DMA mapping and messages)
 * @index: card index; its SCIF node id is @index + 1
 * @ops: hardware services
 * @aper: card memory (BAR0)
 * @mmio: register window (BAR4)
 * @dp: host view of the device page; bootparam at offset 0
 * @dp_card_addr: card-visible address of the device page
 */
struct mic_hw_dev {
	struct device *dev;
	int index;
	const struct mic_hw_ops *ops;
	struct mic_mw aper;
	struct mic_mw mmio;
	struct mic_bootparam *dp;
	dma_addr_t dp_card_addr;
};

/**
 * struct mic_hw_client - an upper layer started and stopped with the card
 * @name: for messages
 * @start: the card is booting; set up host-side state. Called under the
 *	card's COSM lock (do not call back into COSM).
 * @stop: the card is stopped or reset, or the client goes away.
 * @node: private, list of clients
 * @active: private, cards on which @start succeeded
 */
struct mic_hw_client {
	const char *name;
	int (*start)(struct mic_hw_dev *hw);
	void (*stop)(struct mic_hw_dev *hw);
	struct list_head node;
	DECLARE_BITMAP(active, MIC_HW_MAX_CARDS);
};

int mic_hw_register_client(struct mic_hw_client *client);
void mic_hw_unregister_client(struct mic_hw_client *client);

#endif /* MICEMU_MIC_HW_H */
