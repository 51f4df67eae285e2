/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A 128 KiB x100 register window onto a MicRegFile, one implementation
 * for every place that shows one: the host's BAR4 (mic-x100, host side),
 * the card's window at 0x8_007C_0000 (mic-card, card side) and another
 * card's BAR4 as a card reaches it through its SMPT window (mic-card
 * peers, host side).  The register semantics are mic_regfile.c's; this
 * is the MMIO glue: access rules, guest-error logging, tracing, handing
 * the write's events to the owner, and the migration image.
 *
 * Access rules (docs/mic-x100.rst, "Registers"): aligned 32-bit accesses
 * reach a register, an aligned 64-bit access is two of them (low address
 * first); any other access is answered like a PCIe request the function
 * does not support: a read returns all ones, a write is dropped, both
 * logged as guest errors.  Undefined offsets read 0 and drop writes.
 */
#ifndef MIC_REGWIN_H
#define MIC_REGWIN_H

#include "exec/memory.h"
#include "migration/vmstate.h"
#include "mic_regfile.h"

/*
 * MemoryRegionOps.valid of a region that decides itself what every access
 * gets (QEMU's memory core would read 0 for an access it rejects).
 */
#define MIC_ACCESS_ANY { \
    .min_access_size = 1, .max_access_size = 8, .unaligned = true, \
}

typedef struct MicRegWindowOps {
    /* before every access (NULL: nothing), e.g. to resync SMPT aliases */
    void (*sync)(void *opaque);
    /* after every register write, with what it caused */
    void (*events)(void *opaque, hwaddr addr, const MicRegEvents *ev);
} MicRegWindowOps;

typedef struct MicRegWindow {
    MemoryRegion mr;
    MicRegFile *rf;                 /* NULL: reads all ones, writes dropped */
    MicRegSide side;                /* whose semantics the accesses get */
    char who[40];                   /* names the window in logs and traces */
    const MicRegWindowOps *ops;
    void *opaque;

    /* migration image (only a standalone device migrates) */
    uint32_t image[MIC_MMIO_SIZE / 4];
    uint32_t image_host_raised;
    uint32_t image_card_raised;
} MicRegWindow;

void mic_regwin_init(MicRegWindow *w, Object *owner, const char *region,
                     const char *who, MicRegSide side, MicRegFile *rf,
                     const MicRegWindowOps *ops, void *opaque);

/* The register window and the register file's control words. */
extern const VMStateDescription vmstate_mic_regwin;

#endif /* MIC_REGWIN_H */
