/* SPDX-License-Identifier: GPL-2.0 */
/*
 * micemu: private declarations of the mic_x100 PCIe/boot driver.
 */
#ifndef MICEMU_MIC_X100_H
#define MICEMU_MIC_X100_H

#include <linux/io.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/spinlock.h>

#include "mic_cosm.h"
#include "mic_dma.h"
#include "mic_hw.h"
#include "mic_vop_hw.h"
#include "mic_x100_regs.h"

enum mic_x100_irq_mode {
	MIC_X100_IRQ_AUTO = 0,
	MIC_X100_IRQ_MSIX,
	MIC_X100_IRQ_MSI,
	MIC_X100_IRQ_INTX,
};

/**
 * struct mic_hw_irq - one requested interrupt source
 * @node: entry in the source's callback list (MSI/INTx mode)
 * @src: SICR0 bit number
 * @vector: MSI-X table entry (MSI-X mode), else 0
 * @handler: hard irq handler
 * @thread_fn: threaded handler, may be NULL
 * @data: the requester's cookie
 */
struct mic_hw_irq {
	struct list_head node;
	int src;
	int vector;
	irq_handler_t handler;
	irq_handler_t thread_fn;
	void *data;
};

/**
 * struct mic_x100_intr - interrupt state of one card
 * @mode: the mode in use (never AUTO)
 * @num_vectors: MSI-X vectors, or 1
 * @vec_map: sources routed to each vector (mirror of MXAR)
 * @lock: serialises request/free and MXAR read-modify-write
 * @cb_lock: protects @cbs against the hard irq handler
 * @cb_mutex: protects @cbs against the irq thread
 * @cbs: MSI/INTx callbacks per source
 * @pending: sources waiting for the irq thread
 * @next_db: round-robin doorbell counter
 */
struct mic_x100_intr {
	enum mic_x100_irq_mode mode;
	int num_vectors;
	u32 vec_map[MIC_X100_MSIX_VECTORS];
	struct mutex lock; /* request/free, MXAR updates */
	spinlock_t cb_lock; /* @cbs vs. hard irq */
	struct mutex cb_mutex; /* @cbs vs. irq thread */
	struct list_head cbs[MIC_X100_NUM_SRC];
	unsigned long pending;
	atomic_t next_db;
};

/**
 * struct mic_x100_dev - one x100 card
 * @pdev: the PCI device
 * @index: card index (micN), also COSM index; SCIF node = index + 1
 * @stepping: PCI revision ID
 * @hw: services for upper layers; holds the BAR mappings and device page
 * @sdev: the SCIF link to the card, registered while the card runs
 * @vop: the card's VOP device, registered while the card runs
 * @cdev: the COSM device
 * @intr: interrupt state
 * @smpt_lock: protects @smpt_refs
 * @smpt_refs: users of each SMPT entry
 * @dp_bus: bus address of the device page
 * @dma_hw: what the DMA driver knows of this card
 * @dma: host-owned DMA channels 0-3, NULL if they failed
 * @dma_name: DMA instance name, "micN"
 * @dma_irq_name: names of the DMA channels' interrupts
 * @started: upper-layer clients are started (under the COSM lock)
 * @node: entry in the list of cards
 * @dbg_dir: debugfs mic_host/micN
 */
struct mic_x100_dev {
	struct pci_dev *pdev;
	int index;
	u8 stepping;
	struct mic_hw_dev hw;
	struct scif_hw_dev sdev;
	struct mic_vop_hw_dev vop;
	struct cosm_device *cdev;
	struct mic_x100_intr intr;
	spinlock_t smpt_lock; /* @smpt_refs */
	u64 smpt_refs[MIC_X100_SMPT_ENTRIES];
	dma_addr_t dp_bus;
	struct mic_dma_hw dma_hw;
	struct mic_dma_dev *dma;
	char dma_name[8];
	char dma_irq_name[MIC_DMA_NUM_CHAN][16];
	bool started;
	struct list_head node;
	struct dentry *dbg_dir;
};

static inline struct mic_x100_dev *hw_to_x100(struct mic_hw_dev *hw)
{
	return container_of(hw, struct mic_x100_dev, hw);
}

static inline u32 mic_x100_read(struct mic_x100_dev *mdev, u32 off)
{
	return ioread32(mdev->hw.mmio.va + off);
}

static inline void mic_x100_write(struct mic_x100_dev *mdev, u32 val, u32 off)
{
	iowrite32(val, mdev->hw.mmio.va + off);
}

static inline u32 mic_x100_read_spad(struct mic_x100_dev *mdev, int idx)
{
	return mic_x100_read(mdev, MIC_X100_SPAD(idx));
}

static inline void mic_x100_write_spad(struct mic_x100_dev *mdev, int idx,
				       u32 val)
{
	mic_x100_write(mdev, val, MIC_X100_SPAD(idx));
}

/* mic_x100_intr.c */
int mic_x100_intr_init(struct mic_x100_dev *mdev,
		       enum mic_x100_irq_mode mode);
void mic_x100_intr_exit(struct mic_x100_dev *mdev);
void mic_x100_enable_interrupts(struct mic_x100_dev *mdev);
void mic_x100_disable_interrupts(struct mic_x100_dev *mdev);
void mic_x100_intr_restore(struct mic_x100_dev *mdev);
struct mic_hw_irq *mic_x100_request_irq(struct mic_hw_dev *hw,
					enum mic_intr_type type, int src,
					irq_handler_t handler,
					irq_handler_t thread_fn,
					const char *name, void *data);
void mic_x100_free_irq(struct mic_hw_dev *hw, struct mic_hw_irq *irq);
void mic_x100_ack_interrupt(struct mic_hw_dev *hw);
int mic_x100_next_db(struct mic_hw_dev *hw);
void mic_x100_send_intr(struct mic_hw_dev *hw, int db);
const char *mic_x100_irq_mode_name(enum mic_x100_irq_mode mode);

/* mic_x100_smpt.c */
void mic_x100_smpt_init(struct mic_x100_dev *mdev);
void mic_x100_smpt_restore(struct mic_x100_dev *mdev);
dma_addr_t mic_x100_map(struct mic_hw_dev *hw, dma_addr_t bus_addr,
			size_t len);
void mic_x100_unmap(struct mic_hw_dev *hw, dma_addr_t card_addr, size_t len);
dma_addr_t mic_x100_card_to_bus(dma_addr_t card_addr);

/* mic_x100_boot.c */
extern const struct cosm_hw_ops mic_x100_cosm_ops;
void mic_x100_bootparam_init(struct mic_x100_dev *mdev);
void mic_x100_write_dp_addr(struct mic_x100_dev *mdev);

/* mic_x100_client.c */
void mic_x100_add_card(struct mic_x100_dev *mdev);
void mic_x100_remove_card(struct mic_x100_dev *mdev);
int mic_x100_start_clients(struct mic_x100_dev *mdev);
void mic_x100_stop_clients(struct mic_x100_dev *mdev);
void *mic_x100_request_db_irq(struct mic_hw_dev *hw, int db,
			      irq_handler_t handler, const char *name,
			      void *data);
void mic_x100_free_db_irq(void *cookie);
int mic_x100_map_local(struct mic_x100_dev *mdev, void *va, size_t len,
		       dma_addr_t *card_addr);
void mic_x100_unmap_local(struct mic_x100_dev *mdev, dma_addr_t card_addr,
			  size_t len);

/* mic_x100_scif.c */
int mic_x100_scif_init(void);
void mic_x100_scif_exit(void);

/* mic_x100_vop.c */
int mic_x100_vop_init(void);
void mic_x100_vop_exit(void);

/* mic_x100_dma.c */
void mic_x100_dma_init(struct mic_x100_dev *mdev);
void mic_x100_dma_exit(struct mic_x100_dev *mdev);
void mic_x100_dma_reset(struct mic_x100_dev *mdev);

/* mic_x100_debugfs.c */
void mic_x100_debugfs_init(void);
void mic_x100_debugfs_exit(void);
void mic_x100_debugfs_add(struct mic_x100_dev *mdev);
void mic_x100_debugfs_remove(struct mic_x100_dev *mdev);

#endif /* MICEMU_MIC_X100_H */
