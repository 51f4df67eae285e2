/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The x100 DMA engine (facts §5), shared by mic-x100 (host-owned channels,
 * in the host VM's QEMU) and mic-card (card-owned channels, in the card
 * VM's QEMU).  Registers live in the shared MicRegFile; the engine keeps
 * only the work in flight.  Each device reaches memory through MicDmaOps.
 * Contract, including micemu's own choices: docs/dma.rst.
 */
#ifndef HW_MISC_MIC_DMA_H
#define HW_MISC_MIC_DMA_H

#include "exec/memattrs.h"
#include "exec/memory.h"
#include "hw/qdev-core.h"
#include "system/runstate.h"
#include "migration/vmstate.h"
#include "mic_hw.h"
#include "mic_regfile.h"

/* Descriptors: two little-endian u64, type in qw1[63:60] (§5.3) */
#define MIC_DMA_DESC_SIZE       16
#define MIC_DMA_TYPE_SHIFT      60
#define MIC_DMA_TYPE_MEMCPY     1
#define MIC_DMA_TYPE_STATUS     2
#define MIC_DMA_ADDR_BITS       40
#define MIC_DMA_ADDR_MASK       ((1ULL << MIC_DMA_ADDR_BITS) - 1)
#define MIC_DMA_LEN_SHIFT       46              /* qw0[63:46] = length / 64 */
#define MIC_DMA_ALIGN           64
#define MIC_DMA_STATUS_INTR     (1ULL << 59)
#define MIC_DMA_STATUS_ALIGN    8
/* bits that must be 0: qw0[45:40] (MEMCPY), qw1[59:40] / qw1[58:40] */
#define MIC_DMA_QW0_RSVD        (((1ULL << MIC_DMA_LEN_SHIFT) - 1) & \
                                 ~MIC_DMA_ADDR_MASK)
#define MIC_DMA_QW1_RSVD        (((1ULL << MIC_DMA_TYPE_SHIFT) - 1) & \
                                 ~MIC_DMA_ADDR_MASK)

/* DCHERR bits: micemu's own assignment (docs/dma.rst, "Errors") */
#define MIC_DMA_ERR_RING        (1u << 0)
#define MIC_DMA_ERR_HEAD        (1u << 1)
#define MIC_DMA_ERR_DESC        (1u << 2)
#define MIC_DMA_ERR_ALIGN       (1u << 3)
#define MIC_DMA_ERR_ADDR        (1u << 4)
#define MIC_DMA_ERR_BUS         (1u << 5)

/* Work per bottom-half run, over all channels, before yielding */
#define MIC_DMA_RUN_BYTES       (1u << 20)
#define MIC_DMA_RUN_DESCS       256
/*
 * MEMCPYs with this much left go to a worker in a thread (below it, the
 * hand-off costs more than the copy); work per worker (no BQL held)
 */
#define MIC_DMA_THREAD_MIN      (256u << 10)
#define MIC_DMA_JOB_BYTES       (16u << 20)
#define MIC_DMA_JOB_DESCS       1024
/* A MEMCPY moves in chunks: checks for reset and pacing between them */
#define MIC_DMA_CHUNK           (64u << 10)
/* Bandwidth model: time an idle channel may bank (ns) */
#define MIC_DMA_PACE_SLACK_NS   100000

typedef struct MicDmaOps {
    /* deliver the interrupt sources the engine raised in the regfile */
    void (*notify)(void *opaque);
    /* a DHPR write for a channel that the other side's process runs */
    void (*kick_peer)(void *opaque);
} MicDmaOps;

typedef struct MicDmaChan {
    uint32_t gen;           /* MicRegFile.dma_gen[n] the work below is for */
    uint64_t done;          /* bytes of the MEMCPY at DTPR already copied */
    uint32_t epoch;         /* MicDma.epoch the progress is for */
    int64_t busy_until;     /* pacing: virtual-clock ns the copy is due */
} MicDmaChan;

typedef struct MicDma {
    MicRegSide side;        /* runs the channels this side owns */
    const char *name;       /* device name for logs and traces */
    const MicDmaOps *ops;
    void *opaque;
    MicRegFile *rf;
    AddressSpace *card_as;  /* card memory, card address = its address */
    uint64_t card_mem_size;
    AddressSpace *host_as;  /* host bus, where SMPT entries point */
    QEMUBH *bh;
    QEMUBH *notify_bh;      /* interrupts a worker raised */
    VMChangeStateEntry *vmstate;    /* resumes work when the VM runs */
    MicDmaChan ch[MIC_NUM_DMA_CH];
    uint32_t next;          /* round-robin start channel */
    /*
     * Big MEMCPYs run in workers in QEMU's thread pool (the device's
     * dma-threads property; not when paced).  epoch counts mic_dma_drop()
     * calls, which void the progress workers hold.  Under lock: ch[n].gen
     * and .done, busy (channels being run), want (channels waiting for a
     * worker), workers (in flight).
     */
    bool threads;
    QemuMutex lock;
    uint32_t epoch;
    uint32_t busy;
    uint32_t want;
    uint32_t worker_next;   /* round-robin start of the next claim */
    unsigned int workers;
    unsigned int max_workers;
    /*
     * Bandwidth model: each channel moves at most rate_mbps MB/s of guest
     * (virtual clock) time; 0 = as fast as the host copies.  A paced
     * channel waits for pace_timer instead of holding the bottom half.
     */
    uint32_t rate_mbps;
    QEMUTimer *pace_timer;

    /* migration image of the regfile's DMA control words */
    uint32_t saved_gen[MIC_NUM_DMA_CH];
    uint32_t saved_same_head;
} MicDma;

void mic_dma_init(MicDma *d, DeviceState *dev, MicRegSide side,
                  const char *name, const MicDmaOps *ops, void *opaque);
/*
 * Start using a register file, card memory (an address space whose
 * address is the card address, of the given size) and the host bus as
 * this side's device reaches it (only its RAM answers).
 */
void mic_dma_attach(MicDma *d, MicRegFile *rf, AddressSpace *card_as,
                    uint64_t card_mem_size, AddressSpace *host_as);
void mic_dma_exit(MicDma *d);

/* Look for work (a "to host"/"to card" eventfd fired, reset, load). */
void mic_dma_kick(MicDma *d);
/* This side wrote DHPR of the channels in mask (MIC_EV_DMA). */
void mic_dma_doorbell(MicDma *d, uint32_t mask);
/*
 * Card reset: DMA registers to reset values, all work in flight dropped
 * (a copy in a worker stops within 64 KiB).
 */
void mic_dma_reset(MicDma *d);
/* Drop local work in flight only (the registers belong to someone else). */
void mic_dma_drop(MicDma *d);

extern const VMStateDescription vmstate_mic_dma;

#endif /* HW_MISC_MIC_DMA_H */
