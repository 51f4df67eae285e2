/* SPDX-License-Identifier: GPL-2.0 */
/*
 * micemu card driver: private definitions shared by its files.
 */
#ifndef MICEMU_MIC_CARD_H
#define MICEMU_MIC_CARD_H

#include <linux/interrupt.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/spinlock.h>
#include <linux/types.h>

#include "mic_dma.h"
#include "scif_hw.h"
#include "mic_card_regs.h"
#include "mic_card_vop.h"

/**
 * struct mic_card_vec - one MSI-X vector of the mic-card function
 * @card: owning card
 * @irq: Linux irq number
 * @count: interrupts taken since probe
 * @lock: protects @users against the interrupt handler
 * @users: handlers attached with request_db_irq (doorbell vectors only)
 * @nr_users: length of @users, for least-used doorbell selection
 * @name: irq name shown in /proc/interrupts
 */
struct mic_card_vec {
	struct mic_card *card;
	int irq;
	u64 count;
	spinlock_t lock;		/* protects @users, @nr_users */
	struct list_head users;
	unsigned int nr_users;
	char name[24];
};

/**
 * struct mic_card - the one x100 card this kernel runs on
 * @pdev: the mic-card PCI function (interrupts only)
 * @mmio: register window at MIC_CARD_MMIO_BASE
 * @dp_addr: device page address from SPAD14/15, in the SMPT window
 * @dp: mapping of the device page
 * @node_id: our SCIF node, from the device page
 * @db_lock: serialises doorbell users against each other
 * @vec: one entry per MSI-X vector
 * @dma_hw: what the DMA driver knows of this card
 * @dma: card-owned DMA channels 4-7, NULL if they failed
 * @sdev: SCIF link to the host
 * @scif_up: @sdev is registered with SCIF
 * @scif_lock: protects @scif_up (remove and shutdown may race)
 * @dbg: debugfs directory
 * @vop_hw: what a VOP driver gets from us (mic_card_vop.h)
 */
struct mic_card {
	struct pci_dev *pdev;
	void __iomem *mmio;
	u64 dp_addr;
	struct mic_bootparam __iomem *dp;
	u8 node_id;
	struct mutex db_lock;		/* doorbell users */
	struct mic_card_vec vec[MIC_CARD_NUM_VECTORS];
	struct mic_dma_hw dma_hw;
	struct mic_dma_dev *dma;
	struct scif_hw_dev sdev;
	bool scif_up;
	struct mutex scif_lock;		/* protects @scif_up */
	struct dentry *dbg;
	struct mic_vop_hw vop_hw;
};

static inline u32 mic_card_sbox_read(struct mic_card *card, u32 off)
{
	return ioread32(card->mmio + MIC_SBOX_BASE + off);
}

static inline void mic_card_sbox_write(struct mic_card *card, u32 val,
				       u32 off)
{
	iowrite32(val, card->mmio + MIC_SBOX_BASE + off);
}

/* True if [addr, addr + len) lies inside the SMPT window. */
static inline bool mic_card_in_smpt_window(u64 addr, u64 len)
{
	return len && addr >= MIC_SMPT_WINDOW_BASE &&
	       addr - MIC_SMPT_WINDOW_BASE < MIC_SMPT_WINDOW_LEN &&
	       len <= MIC_SMPT_WINDOW_LEN - (addr - MIC_SMPT_WINDOW_BASE);
}

/* mic_card_intr.c */
int mic_card_intr_init(struct mic_card *card);
void mic_card_intr_exit(struct mic_card *card);
int mic_card_next_db(struct mic_card *card);
void *mic_card_request_db(struct mic_card *card, int db,
			  irq_handler_t handler, void *data);
void *mic_card_request_vec(struct mic_card *card, int v,
			   irq_handler_t handler, void *data);
void mic_card_free_db(struct mic_card *card, void *cookie);
void mic_card_send_host_intr(struct mic_card *card, int db);

/* mic_card_dma.c */
void mic_card_dma_init(struct mic_card *card);
void mic_card_dma_exit(struct mic_card *card);

/* mic_card_scif.c */
int mic_card_scif_init(struct mic_card *card);
void mic_card_scif_exit(struct mic_card *card);

/* mic_card_vophw.c */
void mic_card_vop_attach(struct mic_card *card);
void mic_card_vop_detach(struct mic_card *card);

/* mic_card_debugfs.c */
void mic_card_debugfs_init(struct mic_card *card);
void mic_card_debugfs_exit(struct mic_card *card);

#endif /* MICEMU_MIC_CARD_H */
