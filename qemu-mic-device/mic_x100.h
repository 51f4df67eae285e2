/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mic-x100: host-side PCIe function of an emulated Xeon Phi x100 card.
 * Private header shared by mic_x100.c (PCI function, BARs, interrupts)
 * and mic_x100_link.c (the unix-socket link to the firmware simulator).
 * The guest-visible contract is docs/mic-x100.rst.
 */
#ifndef HW_MISC_MIC_X100_H
#define HW_MISC_MIC_X100_H

#include "hw/pci/pci_device.h"
#include "chardev/char-fe.h"
#include "qemu/timer.h"
#include "qom/object.h"
#include "mic_hw.h"
#include "mic_regfile.h"
#include "mic_regwin.h"
#include "mic_dma.h"
#include "mic_link_dev.h"

#define TYPE_MIC_X100 "mic-x100"
OBJECT_DECLARE_SIMPLE_TYPE(MicX100State, MIC_X100)

#define MIC_X100_GDDR_BAR       0
#define MIC_X100_MSIX_BAR       2
#define MIC_X100_MMIO_BAR       4
#define MIC_X100_MSIX_VECTORS   MIC_NUM_MXAR    /* one per MXAR register */
#define MIC_X100_PCIE_CAP       0x80

#define MIC_X100_DEFAULT_DEVID  0x2250
#define MIC_X100_DEFAULT_REV    0x20            /* C0 stepping, facts §1.1 */
#define MIC_X100_DEFAULT_MEM    (1ULL << 30)
#define MIC_X100_READY_DELAY_MS 100             /* standalone RGCR reset */
#define MIC_X100_MAX_PEERS      MIC_MAX_CARDS   /* cards announced by PEER */

/* The last PEER sent to this card's micfw about one other card. */
typedef struct MicX100PeerSent {
    bool valid;
    struct mic_link_peer d;
} MicX100PeerSent;

struct MicX100State {
    PCIDevice parent_obj;

    /* properties */
    uint16_t device_id;
    uint8_t revision;
    uint64_t mem_size;
    uint32_t dma_rate_mbps;         /* "dma-rate": 0 = unpaced */
    bool dma_threads;               /* "dma-threads": copies off the loop */
    bool use_msix;
    bool use_msi;
    HostMemoryBackend *host_mem;

    MicLink link;                   /* to micfw; chardev, link-timeout */
    MemoryRegion bar0;              /* BAR0: card memory, a power of two */
    MemoryRegion gddr;              /* the card memory in it, at 0 */
    MemoryRegion bar0_tail;         /* past the memory: no memory there */
    MemoryRegion gddr_off_bus;      /* over all of BAR0 while the link is
                                     * down (fault injection): all ones */
    bool link_down;                 /* fault injection, as last seen */
    MicRegWindow regs;              /* BAR4: register window */
    MicDma dma;                     /* runs the host-owned channels */
    MemoryRegion gddr_dma;          /* alias of gddr, the root of ... */
    AddressSpace gddr_as;           /* ... card memory as the engine sees it */
    bool gddr_as_ready;
    MicRegFile *rf;                 /* link.rf, or g_malloc'ed standalone */
    bool cold;                      /* no reset seen since realize */
    bool intx_level;
    QEMUTimer *ready_timer;         /* standalone: re-post SPAD2 ready */
    Error *migration_blocker;

    /* the other cards, as told to this card (mic_x100_peer.c) */
    QLIST_ENTRY(MicX100State) peer_next;
    bool peer_listed;
    MicX100PeerSent *peer_sent;     /* [MIC_X100_MAX_PEERS], by card index */
    QEMUTimer *peer_timer;          /* retry after a full socket */
};

/* mic_x100.c */
void mic_x100_deliver(MicX100State *s);

/* mic_x100_link.c */
extern const MicLinkOps mic_x100_link_ops;
bool mic_x100_link_connect(MicX100State *s, Error **errp);
void mic_x100_link_send(MicX100State *s, uint16_t type);

/* mic_x100_peer.c */
void mic_x100_peer_add(MicX100State *s);
void mic_x100_peer_remove(MicX100State *s);
void mic_x100_peer_update(void);

#endif /* HW_MISC_MIC_X100_H */
