/* SPDX-License-Identifier: GPL-2.0 */
/*
 * micemu: Xeon Phi x100 host-visible registers, our reading of facts §1-3.
 *
 * Offsets are BAR4 byte offsets. SBOX registers are given relative to the
 * SBOX block; MIC_X100_SBOX() adds its base.
 */
#ifndef MICEMU_MIC_X100_REGS_H
#define MICEMU_MIC_X100_REGS_H

#include <linux/bits.h>

/* PCI (facts §1.1, §1.2) */
#define MIC_X100_APER_BAR		0
#define MIC_X100_MMIO_BAR		4
/* The last register the drivers use ends here (SDBIC8). */
#define MIC_X100_MMIO_MIN_LEN		0x1CCB4
#define MIC_X100_MAX_CARDS		128

/* Stepping = PCI revision ID */
#define MIC_X100_STEP_A0		0x00
#define MIC_X100_STEP_B0		0x10
#define MIC_X100_STEP_B1		0x11
#define MIC_X100_STEP_C0		0x20

/* Register map (facts §2.1) */
#define MIC_X100_SBOX_BASE		0x10000
#define MIC_X100_SBOX(off)		(MIC_X100_SBOX_BASE + (off))

#define MIC_X100_POSTCODE		0x242C
#define MIC_X100_SMPT(i)		MIC_X100_SBOX(0x3100 + 4 * (i))
#define MIC_X100_RGCR			MIC_X100_SBOX(0x4010)
#define MIC_X100_SICR0			MIC_X100_SBOX(0x9004)
#define MIC_X100_SICE0			MIC_X100_SBOX(0x900C)
#define MIC_X100_SICC0			MIC_X100_SBOX(0x9010)
#define MIC_X100_SIAC0			MIC_X100_SBOX(0x9014)
#define MIC_X100_MXAR(i)		MIC_X100_SBOX(0x9044 + 4 * (i))
#define MIC_X100_MSIXPBACR		MIC_X100_SBOX(0x9084)
#define MIC_X100_APICICR_LO(k)		MIC_X100_SBOX(0xA9D0 + 8 * (k))
#define MIC_X100_APICICR_HI(k)		MIC_X100_SBOX(0xA9D4 + 8 * (k))
#define MIC_X100_SPAD(j)		MIC_X100_SBOX(0xAB20 + 4 * (j))
#define MIC_X100_RDMASR(m)		MIC_X100_SBOX(0xB180 + 4 * (m))

#define MIC_X100_RGCR_RESET		BIT(0)

/* Scratchpads (facts §2.2) */
#define MIC_X100_SPAD_DOWNLOAD		2
#define MIC_X100_SPAD_FW_SIZE		5
#define MIC_X100_SPAD_DP_LO		14
#define MIC_X100_SPAD_DP_HI		15

#define MIC_X100_SPAD2_READY		BIT(0)
#define MIC_X100_SPAD2_APIC_ID(v)	(((v) >> 1) & 0x1FF)
#define MIC_X100_SPAD2_BOOT_ADDR(v)	((v) & 0xFFFFF000)
#define MIC_X100_BOOT_ADDR_MAX		0x80000000U

/* Interrupt sources: SICR0/SICE0/SIAC0/MXAR bits (facts §2.3) */
#define MIC_X100_SRC_DB_FIRST		0
#define MIC_X100_SRC_DB_NUM		4
#define MIC_X100_SRC_DMA_FIRST		8
#define MIC_X100_SRC_DMA_NUM		8
#define MIC_X100_SRC_ERR_FIRST		30
#define MIC_X100_SRC_ERR_NUM		1
#define MIC_X100_NUM_SRC		32
#define MIC_X100_SRC_DB_MASK		GENMASK(3, 0)
#define MIC_X100_SRC_ENABLE_MASK	0x0000FF0F

/* MSI-X budget (facts §1.3) */
#define MIC_X100_MSIX_VECTORS		9

/* Host-to-card doorbells and the boot kick (facts §2.4) */
#define MIC_X100_NUM_APICICR		8
#define MIC_X100_NUM_RDMASR		8
#define MIC_X100_APICICR_SEND		BIT(13)
#define MIC_X100_BSP_VECTOR		229
#define MIC_X100_BOOT_APICICR		7

/* SMPT (facts §3.3) */
#define MIC_X100_SMPT_ENTRIES		32
#define MIC_X100_SMPT_SHIFT		34
#define MIC_X100_SMPT_PAGE		BIT_ULL(MIC_X100_SMPT_SHIFT)
#define MIC_X100_SMPT_BASE		0x8000000000ULL
#define MIC_X100_SMPT_SPAN		(MIC_X100_SMPT_ENTRIES * MIC_X100_SMPT_PAGE)
#define MIC_X100_SMPT_VALUE(addr)	((u32)(((addr) >> MIC_X100_SMPT_SHIFT) << 2))

/* OS download (facts §4.2) */
#define MIC_X100_CMDLINE_MAX		2048
#define MIC_X100_BP_RAMDISK_IMAGE	0x218
#define MIC_X100_BP_RAMDISK_SIZE	0x21C
#define MIC_X100_BP_END			0x220

#endif /* MICEMU_MIC_X100_REGS_H */
