/* SPDX-License-Identifier: GPL-2.0 */
/*
 * micemu: private declarations of mic_x100_dma.ko.
 */
#ifndef MICEMU_MIC_X100_DMA_H
#define MICEMU_MIC_X100_DMA_H

#include <linux/debugfs.h>
#include <linux/dmaengine.h>
#include <linux/interrupt.h>
#include <linux/list.h>
#include <linux/spinlock.h>
#include <linux/timer.h>

#include "mic_dma.h"
#include "mic_x100_dma_regs.h"

/*
 * Descriptors per ring. Upstream used 128 Ki - 4 (2 MiB per channel) so
 * that SCIF RMA could queue a lot; 4 Ki - 4 (64 KiB with the 64-byte
 * scratch word behind it, an order-4 allocation that does not fail on a
 * busy host) still holds about 2 GiB of copies on a host channel (4 GiB on
 * a card channel), and transactions that do not fit wait in software
 * until completions free slots.
 */
#define MIC_DMA_RING_LEN		4092
/* The interrupt request: two STATUS descriptors (facts §5.4). */
#define MIC_DMA_INTR_SLOTS		2
/* Failed cookie ranges remembered for tx_status(). */
#define MIC_DMA_FAILED_RANGES		8
/* Progress/error poll while work is outstanding, with and without irq. */
#define MIC_DMA_WATCHDOG_MS		100
/*
 * After an injected size-0 DRAR, how long the engine's error may take: it
 * comes from another QEMU for a forwarded channel, and a loaded machine
 * delayed it past one second.
 */
#define MIC_DMA_DRAR_FAULT_WAIT		(10 * HZ)

/**
 * struct mic_dma_hwdesc - one ring entry (facts §5.3)
 * @qw0: MEMCPY: source and length/64; STATUS: the value
 * @qw1: type, interrupt bit, destination
 */
struct mic_dma_hwdesc {
	__le64 qw0;
	__le64 qw1;
};

enum mic_dma_txd_kind {
	MIC_DMA_TXD_MEMCPY,
	MIC_DMA_TXD_STATUS,	/* immediate data: STATUS with a value */
	MIC_DMA_TXD_INTR,	/* interrupt request only */
	MIC_DMA_TXD_RAW,	/* fault injection: one descriptor as given */
};

/**
 * struct mic_dma_txd - one dmaengine transaction
 * @tx: the dmaengine descriptor handed to the client
 * @node: entry in the channel's queued, active or completed list
 * @kind: what the transaction writes into the ring
 * @src: MEMCPY source (card physical); RAW: qw0
 * @dst: MEMCPY/STATUS destination (card physical); RAW: qw1
 * @len: MEMCPY length in bytes
 * @value: STATUS value
 * @nslots: ring entries the transaction takes
 * @end: the channel's written count after its last entry
 * @result: outcome reported to the client
 */
struct mic_dma_txd {
	struct dma_async_tx_descriptor tx;
	struct list_head node;
	enum mic_dma_txd_kind kind;
	u64 src;
	u64 dst;
	size_t len;
	u64 value;
	u32 nslots;
	u64 end;
	enum dmaengine_tx_result result;
};

/**
 * struct mic_dma_chan - one hardware channel
 * @chan: the dmaengine channel
 * @mdma: owning instance
 * @hw_ch: hardware channel number 0-7
 * @regs: the channel's register block
 * @max_xfer: longest copy per descriptor
 * @lock: protects everything below and the channel's registers
 * @ring: descriptor ring, MIC_DMA_RING_LEN entries, then a 64-byte
 *	scratch area for the interrupt STATUS descriptors
 * @ring_bus: bus address of @ring on mic_dma_hw.dev
 * @ring_card: card physical address of @ring
 * @drar_lo: value programmed into DRAR_LO
 * @drar_hi: value programmed into DRAR_HI
 * @head: next ring index to write
 * @tail: ring index of the next descriptor the hardware completes
 * @last_dhpr: what DHPR holds (never written twice with one value)
 * @written: ring entries written since the last programming
 * @done: ring entries completed since the last programming
 * @queued: submitted transactions not in the ring yet
 * @active: transactions in the ring, in ring order
 * @completed: finished transactions whose callbacks have not run
 * @failed_first: first cookies of failed ranges
 * @failed_last: last cookies of failed ranges
 * @failed_next: next slot in @failed_first/@failed_last
 * @irq_cookie: from mic_dma_hw_ops.request_irq, if @has_irq
 * @has_irq: completion interrupts are delivered
 * @dead: the instance is going away; nothing new is accepted
 * @broken: the channel could not be programmed; it fails everything
 * @drar_faulted: fault injection changed DRAR_HI on purpose: do not take
 *	that for a reset until the channel is programmed again
 * @drar_fault_end: until then (jiffies), a faulted DRAR without an error
 *	yet means the engine has not run: DSTAT holds the new ring's index 0
 * @tasklet: completion processing and callbacks
 * @watchdog: polls progress, errors and resets while work is outstanding
 * @stats: counters
 */
struct mic_dma_chan {
	struct dma_chan chan;
	struct mic_dma_dev *mdma;
	int hw_ch;
	void __iomem *regs;
	size_t max_xfer;
	spinlock_t lock; /* the channel's state and registers */
	struct mic_dma_hwdesc *ring;
	dma_addr_t ring_bus;
	u64 ring_card;
	u32 drar_lo;
	u32 drar_hi;
	u32 head;
	u32 tail;
	u32 last_dhpr;
	u64 written;
	u64 done;
	struct list_head queued;
	struct list_head active;
	struct list_head completed;
	dma_cookie_t failed_first[MIC_DMA_FAILED_RANGES];
	dma_cookie_t failed_last[MIC_DMA_FAILED_RANGES];
	int failed_next;
	void *irq_cookie;
	bool has_irq;
	bool dead;
	bool broken;
	bool drar_faulted;
	unsigned long drar_fault_end;
	struct tasklet_struct tasklet;
	struct timer_list watchdog;
	struct mic_dma_stats stats;
};

/**
 * struct mic_dma_dev - one instance: four channels of one side of a card
 * @dma: the dmaengine device
 * @hw: the bus driver's description, passed back to its ops
 * @name: copy of hw.name
 * @first_ch: hardware number of the first channel (0 or 4)
 * @dcr_lock: serialises read-modify-write of DCR on this side
 * @ch: the channels
 * @dbg: debugfs directory
 */
struct mic_dma_dev {
	struct dma_device dma;
	struct mic_dma_hw *hw;
	char name[16];
	int first_ch;
	spinlock_t dcr_lock; /* DCR read-modify-write */
	struct mic_dma_chan ch[MIC_DMA_NUM_CHAN];
	struct dentry *dbg;
};

static inline struct mic_dma_chan *to_mic_chan(struct dma_chan *chan)
{
	return container_of(chan, struct mic_dma_chan, chan);
}

static inline u32 mic_dma_ch_read(struct mic_dma_chan *ch, u32 off)
{
	return ioread32(ch->regs + off);
}

static inline void mic_dma_ch_write(struct mic_dma_chan *ch, u32 val, u32 off)
{
	iowrite32(val, ch->regs + off);
}

static inline bool mic_dma_host_owned(struct mic_dma_chan *ch)
{
	return ch->mdma->hw->owner == MIC_DMA_HOST_OWNED;
}

/* mic_x100_dma_chan.c */
size_t mic_dma_ring_bytes(void);
void mic_dma_dcr_update(struct mic_dma_dev *mdma, u32 clear, u32 set);
int mic_dma_encode_drar(struct mic_dma_chan *ch);
int mic_dma_program(struct mic_dma_chan *ch);
void mic_dma_quiesce(struct mic_dma_chan *ch);
u32 mic_dma_fail(struct mic_dma_chan *ch, bool all);
void mic_dma_recover(struct mic_dma_chan *ch, bool all);
void mic_dma_run_callbacks(struct list_head *done);
void mic_dma_tasklet(struct tasklet_struct *t);
void mic_dma_watchdog(struct timer_list *t);
irqreturn_t mic_dma_irq(int irq, void *data);
void mic_dma_init_device(struct mic_dma_dev *mdma);
void mic_dma_put_desc(struct mic_dma_chan *ch, u64 qw0, u64 qw1);
void mic_dma_kick(struct mic_dma_chan *ch);
void mic_dma_arm_watchdog(struct mic_dma_chan *ch);
struct mic_dma_txd *mic_dma_txd_alloc(struct mic_dma_chan *ch,
				      enum mic_dma_txd_kind kind,
				      unsigned long flags);
u32 mic_dma_free_slots(struct mic_dma_chan *ch);
dma_cookie_t mic_dma_submit_locked(struct mic_dma_chan *ch,
				   struct mic_dma_txd *txd);
u64 mic_dma_scratch_card(struct mic_dma_chan *ch);

/* mic_x100_dma_main.c */
extern struct dentry *mic_dma_dbg_root;

/* mic_x100_dma_debugfs.c */
void mic_dma_debugfs_add(struct mic_dma_dev *mdma);

#endif /* MICEMU_MIC_X100_DMA_H */
