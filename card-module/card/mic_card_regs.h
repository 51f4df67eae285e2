/* SPDX-License-Identifier: GPL-2.0 */
/*
 * micemu card driver: everything the card side knows about the x100
 * hardware, read from shared/spec/mic-x100-facts.md. This is the only
 * place in card-module/ that names register offsets or fixed addresses;
 * nothing here comes from the device models.
 */
#ifndef MICEMU_MIC_CARD_REGS_H
#define MICEMU_MIC_CARD_REGS_H

#include <linux/bits.h>
#include <linux/sizes.h>

/* The card VM's PCI function that carries the card's interrupts. */
#define MIC_CARD_PCI_VENDOR		0x8086
#define MIC_CARD_PCI_DEVICE		0x225F

/* facts §2.5: an upstream card driver only loads on family 11, model 1. */
#define MIC_CARD_CPU_FAMILY		11
#define MIC_CARD_CPU_MODEL		1

/* facts §2.5, §3.1: register window, same contents as the host's BAR4. */
#define MIC_CARD_MMIO_BASE		0x8007C0000ULL
#define MIC_CARD_MMIO_LEN		0x20000

/* facts §2.1: offsets from the start of the window. */
#define MIC_POSTCODE			0x242C
#define MIC_SBOX_BASE			0x10000

/* facts §2.1: offsets from SBOX. */
#define MIC_SBOX_RGCR			0x4010
#define MIC_SBOX_SICR0			0x9004
#define MIC_SBOX_SICE0			0x900C
#define MIC_SBOX_SIAC0			0x9014
#define MIC_SBOX_DCR			0xA280
#define MIC_SBOX_APICICR_LO(k)		(0xA9D0 + 8 * (k))
#define MIC_SBOX_APICICR_HI(k)		(0xA9D4 + 8 * (k))
#define MIC_SBOX_SPAD(j)		(0xAB20 + 4 * (j))
#define MIC_SBOX_RDMASR(m)		(0xB180 + 4 * (m))
#define MIC_SBOX_SDBIC(d)		(0xCC90 + 4 * (d))

#define MIC_NUM_APICICR			8
/* facts §2.5: the bit that sends an APICICR interrupt (a peer's, for P2P) */
#define MIC_APICICR_SEND		BIT(13)
#define MIC_NUM_SPAD			16
#define MIC_NUM_RDMASR			8

/* facts §2.2: the host puts the device page address here. */
#define MIC_SPAD_DP_LO			14
#define MIC_SPAD_DP_HI			15

/* facts §2.1, §2.5: card-to-host doorbells, DBREQ after a write barrier. */
#define MIC_SDBIC_DBREQ			BIT(31)
#define MIC_SDBIC_MAX			8

/*
 * facts §2.5: host-to-card doorbells the card can pick, least used first:
 * 0-7 are the APICICR ("SBOX") doorbells, 8-15 the RDMASR ones.
 */
#define MIC_NUM_SBOX_DB			8
#define MIC_NUM_RDMASR_DB		8
#define MIC_NUM_DB			(MIC_NUM_SBOX_DB + MIC_NUM_RDMASR_DB)

/* facts §5.1: DMA channels 4-7 belong to the card. */
#define MIC_CARD_DMA_FIRST		4
#define MIC_CARD_NUM_DMA		4

/*
 * mic-card MSI-X vectors (our deviation from the KNC IRQ lines 26+k /
 * 17+m / n of facts §2.5): vector v is card interrupt source v, so
 * doorbell d arrives on vector d and card DMA channel n on 16 + n - 4.
 */
#define MIC_CARD_DB_VECTOR(d)		(d)
#define MIC_CARD_DMA_VECTOR(n)		(MIC_NUM_DB + (n) - MIC_CARD_DMA_FIRST)
#define MIC_CARD_NUM_VECTORS		(MIC_NUM_DB + MIC_CARD_NUM_DMA)

/* facts §3.1, §3.3: 32 SMPT pages of 16 GiB onto host bus addresses. */
#define MIC_SMPT_WINDOW_BASE		0x8000000000ULL
#define MIC_SMPT_NUM_ENTRIES		32
#define MIC_SMPT_PAGE_SHIFT		34
#define MIC_SMPT_WINDOW_LEN		((u64)MIC_SMPT_NUM_ENTRIES << \
					 MIC_SMPT_PAGE_SHIFT)

/* facts §7.1: node 0 is the host, cards are nodes 1-128. */
#define MIC_HOST_NODE			0
#define MIC_MAX_CARD_NODE		128

#endif /* MICEMU_MIC_CARD_REGS_H */
