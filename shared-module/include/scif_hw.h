/* SPDX-License-Identifier: GPL-2.0 */
/*
 * micemu: the hardware interface below SCIF.
 *
 * SCIF runs unchanged on the host and on a card. What differs is how a
 * node reaches its peer: the host goes through a card's PCI aperture and
 * doorbell registers, a card goes through its SMPT window into host RAM.
 * A bus driver hides that behind one struct scif_hw_dev per link:
 *
 *  - on the host, the x100 PCIe driver registers one per card while the
 *    card runs (self node 0, peer node = card index + 1);
 *  - on a card, the card driver registers exactly one (self node =
 *    bootparam node_id, peer node 0).
 *
 * SCIF never touches registers; it only calls the ops below. The device
 * page (facts §4.4) is the rendezvous: each side publishes its doorbell
 * and the address of its node queue pair there and polls for the peer's.
 */
#ifndef MICEMU_SCIF_HW_H
#define MICEMU_SCIF_HW_H

#include <linux/build_bug.h>
#include <linux/device.h>
#include <linux/interrupt.h>
#include <linux/stddef.h>
#include <linux/types.h>

/* The device page (facts §4.4); this is its one definition. */
#define MIC_MAGIC		0xC0FFEE00
#define MIC_DP_SIZE		4096
#define MIC_DB_UNSET		0xFF

/**
 * struct mic_bootparam - host/card rendezvous data in the device page
 * @magic: MIC_MAGIC, written by the host
 * @h2c_config_db: host-to-card doorbell for virtio config changes (card)
 * @node_id: the card's SCIF node, card index + 1 (host)
 * @h2c_scif_db: host-to-card doorbell for SCIF node messages (card)
 * @c2h_scif_db: card-to-host doorbell for SCIF node messages (host)
 * @scif_host_dma_addr: card-visible address of the host node QP (host)
 * @scif_card_dma_addr: card address of the card node QP (card)
 *
 * Little-endian, 24 bytes at offset 0 of the 4 KiB device page (facts
 * §4.4). The doorbells read MIC_DB_UNSET and the addresses 0 while the
 * owning side has nothing published.
 */
struct mic_bootparam {
	__le32 magic;
	__s8 h2c_config_db;
	__u8 node_id;
	__u8 h2c_scif_db;
	__u8 c2h_scif_db;
	__le64 scif_host_dma_addr;
	__le64 scif_card_dma_addr;
};

static_assert(sizeof(struct mic_bootparam) == 24);
static_assert(offsetof(struct mic_bootparam, scif_host_dma_addr) == 8);
static_assert(offsetof(struct mic_bootparam, scif_card_dma_addr) == 16);

struct scif_hw_dev;

/**
 * struct scif_hw_ops - link services a bus driver provides to SCIF
 * @next_db: choose the local doorbell on which this node will receive
 *	node-queue interrupts (host: a card-to-host doorbell 0-3; card: a
 *	host-to-card doorbell). Returns 0-254 or a negative errno. SCIF
 *	publishes the number in the device page for the peer.
 * @request_db_irq: call @handler(irq, @data) each time the peer rings
 *	local doorbell @db. The bus driver acknowledges the interrupt
 *	itself. @handler only queues work and may run in hard-irq or
 *	threaded context. Returns an opaque cookie or an ERR_PTR().
 * @free_db_irq: undo @request_db_irq (@cookie is its result); when it
 *	returns, @handler is not running and is not called again.
 * @send_peer_intr: ring doorbell @peer_db of the peer, the number the
 *	peer published in the device page. Must ignore numbers that are
 *	out of range: the value comes from the other side.
 * @ioremap: map @len bytes at @peer_addr, an address the peer handed
 *	out (host: a card physical address, reached through the aperture;
 *	card: an SMPT-window address, reaching host RAM). The peer is not
 *	trusted: return NULL unless the whole range lies inside the window.
 * @iounmap: undo @ioremap (@va is its result, @len the mapped length).
 * @map_local: make @len bytes of kmalloc'ed memory at @va reachable by
 *	the peer and store the address the peer must use in *@peer_addr
 *	(host: SMPT-window address of a DMA mapping; card: physical
 *	address). Returns 0 or a negative errno.
 * @unmap_local: undo @map_local.
 * @peer_phys: optional: the CPU physical address at which this node
 *	reaches @len bytes at @peer_addr (an address as for @ioremap), for
 *	mapping the peer's memory into user space; 0 unless the whole range
 *	lies inside the window. Without it mmap() of remote windows fails.
 * @send_p2p_intr: ring doorbell @db of another card whose register BAR
 *	is mapped at @mmio (upstream's op of the same name): doorbells
 *	0-7 through that card's APICICR, 8-15 through its RDMASR, exactly
 *	as the host rings a card. Must ignore numbers out of range.
 * @map_bus: host only, for card-to-card links (upstream's dma_map_sg of
 *	a peer's BAR through this card's DMA ops): make @len bytes at host
 *	bus address @bus (another card's BAR) reachable by this card and
 *	store the card's address for them in *@peer_addr. Returns 0 or a
 *	negative errno (-ERANGE: the SMPT cannot reach it).
 * @unmap_bus: host only: undo @map_bus.
 *
 * All ops except @send_peer_intr may sleep. @send_peer_intr is called
 * from process context with a mutex held.
 */
struct scif_hw_ops {
	int (*next_db)(struct scif_hw_dev *sdev);
	void *(*request_db_irq)(struct scif_hw_dev *sdev, int db,
				irq_handler_t handler, const char *name,
				void *data);
	void (*free_db_irq)(struct scif_hw_dev *sdev, void *cookie,
			    void *data);
	void (*send_peer_intr)(struct scif_hw_dev *sdev, int peer_db);
	void __iomem *(*ioremap)(struct scif_hw_dev *sdev, dma_addr_t peer_addr,
				 size_t len);
	void (*iounmap)(struct scif_hw_dev *sdev, void __iomem *va, size_t len);
	int (*map_local)(struct scif_hw_dev *sdev, void *va, size_t len,
			 dma_addr_t *peer_addr);
	void (*unmap_local)(struct scif_hw_dev *sdev, dma_addr_t peer_addr,
			    size_t len);
	phys_addr_t (*peer_phys)(struct scif_hw_dev *sdev, dma_addr_t peer_addr,
				 size_t len);
	void (*send_p2p_intr)(struct scif_hw_dev *sdev, int db,
			      void __iomem *mmio);
	int (*map_bus)(struct scif_hw_dev *sdev, phys_addr_t bus, size_t len,
		       dma_addr_t *peer_addr);
	void (*unmap_bus)(struct scif_hw_dev *sdev, dma_addr_t peer_addr,
			  size_t len);
};

/* A card's register BAR (MMIO), the window send_p2p_intr() writes into. */
#define SCIF_P2P_MMIO_LEN	0x20000

/**
 * struct scif_hw_dev - one SCIF link, as registered by a bus driver
 * @dev: device used for messages and as parent of the SCIF peer device
 *	(the card's PCI device on the host, the card device on a card)
 * @ops: link services
 * @snode: this node's SCIF id (0 on the host)
 * @dnode: the peer's SCIF id (card index + 1 on the host, 0 on a card)
 * @dp: host only: kernel address of the device page (bootparam at 0)
 * @rdp: card only: mapping of the device page in host RAM
 * @aper_pa: host only: bus address of the card's BAR0 (its memory)
 * @aper_len: host only: its length
 * @mmio_pa: host only: bus address of the card's register BAR
 * @mmio_len: host only: its length
 *
 * The bus driver allocates and fills this (usually embedded in its own
 * per-card structure) and keeps it unchanged between
 * scif_register_hw_dev() and the return of scif_unregister_hw_dev().
 */
struct scif_hw_dev {
	struct device *dev;
	const struct scif_hw_ops *ops;
	u8 snode;
	u8 dnode;
	struct mic_bootparam *dp;
	struct mic_bootparam __iomem *rdp;
	phys_addr_t aper_pa;
	u64 aper_len;
	phys_addr_t mmio_pa;
	u64 mmio_len;
	/* this side's DMA channels: memcpy with card-physical addresses */
	struct dma_chan *dma_ch[4];
	int num_dma_ch;
};

int scif_register_hw_dev(struct scif_hw_dev *sdev);
void scif_unregister_hw_dev(struct scif_hw_dev *sdev);

#endif /* MICEMU_SCIF_HW_H */
