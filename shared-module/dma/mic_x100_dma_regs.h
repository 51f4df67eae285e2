/* SPDX-License-Identifier: GPL-2.0 */
/*
 * micemu: x100 DMA engine registers and descriptors, our reading of
 * facts §5. Offsets are from the start of the register window (host BAR4,
 * card 0x8_007C_0000), which both sides see with the same layout.
 */
#ifndef MICEMU_MIC_X100_DMA_REGS_H
#define MICEMU_MIC_X100_DMA_REGS_H

#include <linux/bits.h>
#include <linux/sizes.h>

/* facts §5.1 */
#define MIC_DMA_HOST_FIRST_CH		0
#define MIC_DMA_CARD_FIRST_CH		4
#define MIC_DMA_NUM_HW_CH		8
#define MIC_DMA_ALIGN_SHIFT		6	/* 64-byte src, dst and length */
#define MIC_DMA_ALIGN			BIT(MIC_DMA_ALIGN_SHIFT)
#define MIC_DMA_HOST_MAX_XFER		SZ_512K
#define MIC_DMA_CARD_MAX_XFER		(SZ_1M - MIC_DMA_ALIGN)

/* facts §5.2: DCR, bit 2n owner (1 = host), bit 2n+1 enable */
#define MIC_DMA_DCR			0x1A280
#define MIC_DMA_DCR_OWNER_HOST(n)	BIT(2 * (n))
#define MIC_DMA_DCR_ENABLE(n)		BIT(2 * (n) + 1)

/* facts §5.2: per-channel block */
#define MIC_DMA_CH_BASE(n)		(0x1A000 + 0x40 * (n))
#define MIC_DMA_DCAR			0x00
#define MIC_DMA_DHPR			0x04
#define MIC_DMA_DTPR			0x08
#define MIC_DMA_DRAR_LO			0x14
#define MIC_DMA_DRAR_HI			0x18
#define MIC_DMA_DSTAT			0x20
#define MIC_DMA_DCHERR			0x2C
#define MIC_DMA_DCHERRMSK		0x30

#define MIC_DMA_DCAR_IM0		BIT(24)	/* card-owned interrupt mask */
#define MIC_DMA_DCAR_IM1		BIT(25)	/* host-owned interrupt mask */

#define MIC_DMA_DRAR_SIZE_SHIFT		4
#define MIC_DMA_DRAR_SIZE_MASK		GENMASK(20, 4)
#define MIC_DMA_DRAR_SYSMEM		BIT(26)	/* host-owned: ring in host RAM */
#define MIC_DMA_DRAR_SMPT_SHIFT		21
#define MIC_DMA_DRAR_SMPT_MASK		GENMASK(25, 21)
#define MIC_DMA_DRAR_HOST_HI_MASK	GENMASK(1, 0)	/* addr bits 33:32 */
#define MIC_DMA_DRAR_CARD_HI_MASK	GENMASK(3, 0)	/* addr bits 35:32 */

#define MIC_DMA_DSTAT_INDEX		GENMASK(16, 0)
#define MIC_DMA_DSTAT_ERROR		BIT(29)	/* quiesced/error */

/* facts §3.1, §3.3: card physical map */
#define MIC_DMA_SMPT_BASE		0x8000000000ULL
#define MIC_DMA_SMPT_SHIFT		34
#define MIC_DMA_SMPT_ENTRIES		32
#define MIC_DMA_CARD_ADDR_BITS		40

/* facts §5.3: 16-byte descriptors, type in qw1[63:60] */
#define MIC_DMA_DESC_TYPE_SHIFT		60
#define MIC_DMA_DESC_MEMCPY		1ULL
#define MIC_DMA_DESC_STATUS		2ULL
#define MIC_DMA_DESC_ADDR_MASK		GENMASK_ULL(39, 0)
#define MIC_DMA_DESC_LEN_SHIFT		46
#define MIC_DMA_DESC_STATUS_INTR	BIT_ULL(59)

#endif /* MICEMU_MIC_X100_DMA_REGS_H */
