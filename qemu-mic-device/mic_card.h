/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mic-card: the card-VM side of an emulated Xeon Phi x100 card.
 * Private header shared by mic_card.c (PCI function, register window,
 * MSI-X), mic_card_smpt.c (the system-memory window onto host RAM) and
 * mic_card_link.c (the unix-socket link to the firmware simulator).
 * The card-facing contract is docs/mic-card.rst.
 */
#ifndef HW_MISC_MIC_CARD_H
#define HW_MISC_MIC_CARD_H

#include "hw/pci/pci_device.h"
#include "chardev/char-fe.h"
#include "qemu/timer.h"
#include "qom/object.h"
#include "mic_hw.h"
#include "mic_regfile.h"
#include "mic_regwin.h"
#include "mic_dma.h"
#include "mic_link_dev.h"

#define TYPE_MIC_CARD "mic-card"
OBJECT_DECLARE_SIMPLE_TYPE(MicCardState, MIC_CARD)

/*
 * PCI identity of the interrupt function.  A real card has no such
 * function (its interrupts are KNC lines); 0x225F is a micemu invention,
 * the first device ID after the host-side range 0x2250-0x225E (facts §1.1).
 */
#define MIC_CARD_DEVICE_ID      0x225F
#define MIC_CARD_REVISION       0x20
#define MIC_CARD_MSIX_BAR       0
#define MIC_CARD_MSIX_VECTORS   MIC_CARD_NUM_SRC    /* vector v = source v */

/* Host bus layout of the host RAM memfd (link-protocol.rst, HELLO) */
#define MIC_CARD_HOST_HIGH_BASE (4ULL << 30)        /* above-4G RAM */
#define MIC_CARD_HOST_MAX_HIGH  (1ULL << 46)        /* sanity bound */

/* Our windows win over RAM and the PCI hole (which sits at -1). */
#define MIC_CARD_WINDOW_PRIO    1

#define MIC_CARD_SMPT_POLL_MS   100
#define MIC_CARD_UNBACKED_LOG_MS 1000               /* log rate limit */
#define MIC_CARD_MAX_PEERS      MIC_MAX_CARDS       /* other cards (PEER) */

typedef struct MicCardPeer MicCardPeer;             /* mic_card_peer.c */

struct MicCardState {
    PCIDevice parent_obj;

    /* properties */
    uint32_t dma_rate_mbps;         /* "dma-rate": 0 = unpaced */
    bool dma_threads;               /* "dma-threads": copies off the loop */
    uint32_t smpt_poll_ms;

    MicLink link;                   /* to micfw; chardev, link-timeout */
    MicRegFile *rf;                 /* link.rf, or g_malloc'ed standalone */
    MicRegWindow regs;              /* register window, MIC_CARD_MMIO_BASE */
    bool mmio_mapped;
    int host_ram_fd;                /* from WELCOME, until host_ram owns it */
    Error *migration_blocker;
    uint32_t irq_pending;           /* sources held while MSI-X is off */

    /* DMA engine: the card-owned channels (mic_dma.c) */
    MicDma dma;
    AddressSpace gddr_as;           /* card memory = this VM's RAM backend */
    AddressSpace host_as;           /* host bus (host_bus below) */
    bool dma_as_ready;

    /* SMPT window (mic_card_smpt.c) */
    MemoryRegion smpt;              /* container, MIC_SMPT_BASE */
    MemoryRegion smpt_unbacked;     /* background: all-ones, writes ignored */
    MemoryRegion smpt_alias[MIC_NUM_SMPT];  /* entry i -> host bus */
    MemoryRegion host_bus;          /* host guest-physical space (container) */
    MemoryRegion host_ram;          /* the host RAM memfd */
    MemoryRegion host_low;          /* alias: below-4G RAM at bus 0 */
    MemoryRegion host_high;         /* alias: above-4G RAM at bus 4 GiB */
    bool smpt_mapped;
    bool link_down;                 /* fault injection: host memory gone */
    bool host_ram_ready;
    uint32_t smpt_val[MIC_NUM_SMPT];    /* values the aliases reflect */
    QEMUTimer *smpt_timer;
    int64_t unbacked_next_ms;       /* rate limit of the unbacked log */
    uint32_t unbacked_quiet;        /* accesses not logged since */

    /* other cards' BARs on host_bus (mic_card_peer.c), by card index */
    MicCardPeer *peers[MIC_CARD_MAX_PEERS];
};

/* mic_card.c */
void mic_card_deliver(MicCardState *s);

/* mic_card_smpt.c */
bool mic_card_smpt_init(MicCardState *s, Error **errp);
void mic_card_smpt_map(MicCardState *s);
void mic_card_smpt_sync(MicCardState *s);
void mic_card_smpt_exit(MicCardState *s);

/* mic_card_peer.c */
void mic_card_peer_msg(MicCardState *s, const uint8_t *payload, uint16_t len,
                       int *fds, int nfds);
void mic_card_peer_exit(MicCardState *s);
void mic_card_peer_finalize(MicCardState *s);

/* mic_card_link.c */
extern const MicLinkOps mic_card_link_ops;
bool mic_card_link_connect(MicCardState *s, Error **errp);

#endif /* HW_MISC_MIC_CARD_H */
