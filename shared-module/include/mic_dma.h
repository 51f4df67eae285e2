/* SPDX-License-Identifier: GPL-2.0 */
/*
 * micemu: the x100 DMA engine as a dmaengine provider (mic_x100_dma.ko).
 *
 * One driver serves both sides (facts §5.1): the host's PCIe driver
 * registers the four host-owned channels 0-3 of each card, the card
 * driver registers the card-owned channels 4-7. The bus driver fills a
 * struct mic_dma_hw: the register window, how to request a channel's
 * completion interrupt and how to turn a DMA mapping of its device into
 * a card physical address. Every address handed to the channels is a
 * card physical address (facts §5.1): card memory directly, host memory
 * through the SMPT window.
 *
 * Consumers either take the channels of an instance straight from its bus
 * driver (mic_dma_get_channels(), as the SCIF glue does) or request one
 * with dma_request_channel(mask, mic_dma_filter, "mic0" / "card").
 */
#ifndef MICEMU_MIC_DMA_H
#define MICEMU_MIC_DMA_H

#include <linux/device.h>
#include <linux/dmaengine.h>
#include <linux/interrupt.h>
#include <linux/types.h>

#define MIC_DMA_NUM_CHAN	4

struct mic_dma_hw;
struct mic_dma_dev;

/* Which side's channels an instance drives (facts §5.1). */
enum mic_dma_owner {
	MIC_DMA_HOST_OWNED = 0,	/* channels 0-3, driven by the host */
	MIC_DMA_CARD_OWNED,	/* channels 4-7, driven by the card */
};

/**
 * struct mic_dma_hw_ops - services of the bus driver
 * @request_irq: call @handler(irq, @data) in hard-irq context for each
 *	completion interrupt of channel @ch (0-7); store a cookie for
 *	@free_irq in *@cookie. Return -EOPNOTSUPP when the channel's
 *	interrupt is not delivered (host MSI or INTx mode): the driver then
 *	polls. May be NULL (always poll).
 * @free_irq: undo @request_irq; the handler does not run afterwards.
 * @ack_irq: per-interrupt acknowledgment (the host's stepping
 *	workaround, facts §2.4); called from the handler. May be NULL.
 * @map: card physical address of @len bytes at bus address @addr of
 *	mic_dma_hw.dev (host: the SMPT window; card: the address itself),
 *	or DMA_MAPPING_ERROR.
 * @unmap: release a @map result. May be NULL.
 */
struct mic_dma_hw_ops {
	int (*request_irq)(struct mic_dma_hw *hw, int ch,
			   irq_handler_t handler, void *data, void **cookie);
	void (*free_irq)(struct mic_dma_hw *hw, int ch, void *cookie);
	void (*ack_irq)(struct mic_dma_hw *hw, int ch);
	u64 (*map)(struct mic_dma_hw *hw, dma_addr_t addr, size_t len);
	void (*unmap)(struct mic_dma_hw *hw, u64 card_addr, size_t len);
};

/**
 * struct mic_dma_hw - what a bus driver tells the DMA driver
 * @dev: the bound device that owns the channels (its driver's module is
 *	pinned while a consumer holds a channel); rings are allocated with
 *	dma_alloc_coherent() on it
 * @ops: bus services
 * @mmio: the x100 register window (host BAR4 / the card's window at
 *	0x8_007C_0000: same layout)
 * @owner: host-owned channels 0-3 or card-owned channels 4-7
 * @name: instance name for messages, debugfs and mic_dma_filter()
 *	("mic0", "mic1", ... on the host, "card" on a card)
 */
struct mic_dma_hw {
	struct device *dev;
	const struct mic_dma_hw_ops *ops;
	void __iomem *mmio;
	enum mic_dma_owner owner;
	const char *name;
};

struct mic_dma_dev *mic_dma_register(struct mic_dma_hw *hw);
void mic_dma_unregister(struct mic_dma_dev *mdma);
void mic_dma_hw_reset(struct mic_dma_dev *mdma);
int mic_dma_get_channels(struct mic_dma_dev *mdma, struct dma_chan **chans,
			 int max);
bool mic_dma_filter(struct dma_chan *chan, void *name);
bool mic_dma_is_mic_chan(struct dma_chan *chan);
int mic_dma_hw_chan(struct dma_chan *chan);
u64 mic_dma_map(struct dma_chan *chan, dma_addr_t addr, size_t len);
void mic_dma_unmap(struct dma_chan *chan, u64 card_addr, size_t len);

/**
 * struct mic_dma_stats - counters of one channel (also in debugfs)
 * @submitted: transactions submitted
 * @completed: transactions completed without error
 * @failed: transactions failed by a channel error, reset or terminate
 * @errors: channel errors seen (DCHERR/DSTAT error)
 * @resets: times the channel's registers were found at reset values
 * @irqs: completion interrupts taken
 * @last_dcherr: DCHERR at the last error
 * @last_dstat: DSTAT at the last error
 */
struct mic_dma_stats {
	u64 submitted;
	u64 completed;
	u64 failed;
	u64 errors;
	u64 resets;
	u64 irqs;
	u32 last_dcherr;
	u32 last_dstat;
};

void mic_dma_get_stats(struct dma_chan *chan, struct mic_dma_stats *stats);

/* Fault injection for the test module only (mic_dma_test.ko). */
enum mic_dma_fault {
	MIC_DMA_FAULT_RAW_DESC,		/* queue the descriptor qw0/qw1 as is */
	MIC_DMA_FAULT_RING_SIZE_0,	/* ring size 0 in DRAR_HI, then DHPR */
	MIC_DMA_FAULT_SAME_HEAD,	/* write DHPR with its current value */
};

int mic_dma_inject_fault(struct dma_chan *chan, enum mic_dma_fault fault,
			 u64 qw0, u64 qw1);

#endif /* MICEMU_MIC_DMA_H */
