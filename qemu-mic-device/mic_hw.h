/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Numbers of the x100 card that more than one part of the emulation
 * needs: the card's physical address map, the SMPT system-memory window
 * and the card memory sizes the emulation accepts.  Register offsets stay
 * in mic_regfile.h, link messages in mic_link.h.
 *
 * Plain C (no QEMU or GLib headers): the devices, the DMA engine and
 * micfw include it alike.
 */
#ifndef MIC_HW_H
#define MIC_HW_H

#include <stdbool.h>
#include <stdint.h>
#include "mic_regfile.h"                /* MIC_NUM_SMPT */

/* Card physical map (facts §2.5, §3.1) */
#define MIC_CARD_MMIO_BASE      0x8007C0000ULL  /* register window */

/* SMPT window (facts §3.3): 32 entries of 16 GiB from 0x80_0000_0000 */
#define MIC_SMPT_BASE           0x8000000000ULL
#define MIC_SMPT_SHIFT          34
#define MIC_SMPT_PAGE           (1ULL << MIC_SMPT_SHIFT)
#define MIC_SMPT_SIZE           (MIC_NUM_SMPT * MIC_SMPT_PAGE)
#define MIC_SMPT_END            (MIC_SMPT_BASE + MIC_SMPT_SIZE)
#define MIC_SMPT_ADDR_SHIFT     2               /* entry bits 31:2 */
#define MIC_SMPT_PHYS_BITS      40              /* the window ends at 2^40 */

/*
 * Host bus address an SMPT entry points its 16 GiB page at: bits 31:2 are
 * the bus address >> 34.  At most 2^64 - 2^34, so adding an offset inside
 * the page cannot wrap.
 */
static inline uint64_t mic_smpt_bus_addr(uint32_t entry)
{
	return (uint64_t)(entry >> MIC_SMPT_ADDR_SHIFT) << MIC_SMPT_SHIFT;
}

/* Cards one host can have (facts §1.1, MIC_MAX_NUM_DEVS) */
#define MIC_MAX_CARDS           128

/*
 * Card memory sizes a device model accepts from its firmware simulator,
 * its mem-size property or a PEER: whole MiB in [MIN, MAX].  (Which sizes
 * a card can have is micfw's to say; this bounds hostile input.)  BAR0 is
 * the next power of two, as a BAR must be: a 6 GiB card has an 8 GiB
 * BAR0 whose last 2 GiB hold no memory (docs/mic-x100.rst).
 */
#define MIC_CARD_MEM_MIN        (1ULL << 20)
#define MIC_CARD_MEM_MAX        (1ULL << 40)
#define MIC_CARD_MEM_ALIGN      (1ULL << 20)

static inline bool mic_card_mem_ok(uint64_t size)
{
	return size >= MIC_CARD_MEM_MIN && size <= MIC_CARD_MEM_MAX &&
	       !(size & (MIC_CARD_MEM_ALIGN - 1));
}

/* BAR0 size of a card with @mem bytes of memory (mic_card_mem_ok()). */
static inline uint64_t mic_bar0_size(uint64_t mem)
{
	return mem & (mem - 1) ? 2ULL << (63 - __builtin_clzll(mem)) : mem;
}

#endif /* MIC_HW_H */
