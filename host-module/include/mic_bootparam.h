/* SPDX-License-Identifier: GPL-2.0 */
/*
 * micemu: the boot parameters at offset 0 of the device page (facts §4.4).
 *
 * This is a wire format shared with the card: little-endian, 24 bytes,
 * natural alignment. VOP device descriptors follow at offset 24.
 */
#ifndef MICEMU_MIC_BOOTPARAM_H
#define MICEMU_MIC_BOOTPARAM_H

#include <linux/build_bug.h>
#include <linux/stddef.h>
#include <linux/types.h>

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

#endif /* MICEMU_MIC_BOOTPARAM_H */
