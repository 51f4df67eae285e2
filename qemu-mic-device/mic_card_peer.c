/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mic-card: the other cards' BARs on the host bus (link PEER).
 *
 * On a real system the host can point one of this card's SMPT entries at
 * another card's BAR0 (its memory, "aperture") or BAR4 (its registers):
 * card-to-card SCIF (upstream's NODE_ADD) puts its queue pairs in peer
 * memory and rings the peer's doorbells through the peer's registers.
 * The host device tells micfw where every other card's BARs sit on the
 * host bus, with that card's memory memfd, register file memfd and
 * doorbell eventfds; micfw hands it to us as PEER (docs/link-protocol.rst).
 *
 *   mic-card.host-bus (container, 2^64)
 *    ├ host-low, host-high (host RAM)
 *    ├ mic-card.peer<N>.aperture at the peer's BAR0: RAM, the peer's memfd
 *    └ mic-card.peer<N>.regs at the peer's BAR4: I/O, host-view semantics
 *
 * so an SMPT entry that covers them reaches the peer's memory at memory
 * speed, and a register write lands in the peer's register file as if
 * the host had written its BAR4: APICICR/RDMASR doorbells interrupt the
 * peer card, SDBIC and SICR0 changes the host (through the peer's
 * eventfds).  The card DMA engine reaches them too (host_as).
 *
 * Everything in a PEER may be hostile.  A peer must not be this card,
 * its ranges must be naturally aligned BARs of plausible sizes that
 * overlap neither host RAM nor each other nor another peer, and its fds
 * must be what WELCOME's are (sealed memfds of the right size, eventfds);
 * otherwise the message is refused with a warning and the peer's old
 * ranges are withdrawn.  The memory and register regions of a peer are
 * created once and live as long as the device (QEMU does not destroy RAM
 * regions at run time); a later PEER may move or withdraw them, not swap
 * the memory behind them.
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/host-utils.h"
#include "qemu/log.h"
#include "qapi/error.h"
#include "exec/memory.h"
#include "mic_card.h"
#include "trace.h"

#define PEER_BUS_LIMIT      (1ULL << 52)    /* x86 physical address bits */

struct MicCardPeer {
    MicCardState *card;
    uint32_t index;
    struct mic_link_peer d;         /* where it is mapped, if mapped */
    bool mapped;
    bool ready;                     /* regions and fds below are set up */
    dev_t mem_dev, rf_dev;          /* identity of the fds adopted */
    ino_t mem_ino, rf_ino;
    MemoryRegion aper;
    MicRegWindow regs;              /* its BAR4, host-side semantics */
    MicRegFile *rf;
    int ev_to_card;
    int ev_to_host;
};

/* ---- the peer's registers, as the host's BAR4 view ---------------------- */

static void peer_ring(int fd)
{
    uint64_t one = 1;

    if (write(fd, &one, sizeof(one)) != sizeof(one) && errno != EAGAIN) {
        trace_mic_card_peer_ring_failed(errno);
    }
}

static void peer_regs_events(void *opaque, hwaddr addr,
                             const MicRegEvents *ev)
{
    MicCardPeer *p = opaque;
    char name[32];

    /* the peer card takes interrupts, SMPT and DMA news from "to card" */
    if (ev->flags & (MIC_EV_CARD_IRQ | MIC_EV_SMPT | MIC_EV_DMA)) {
        peer_ring(p->ev_to_card);
    }
    /* the host device of that card re-delivers and kicks its channels */
    if (ev->flags & (MIC_EV_HOST_IRQ | MIC_EV_DMA)) {
        peer_ring(p->ev_to_host);
    }
    if (ev->flags & (MIC_EV_RESET | MIC_EV_BOOT_KICK | MIC_EV_PBA_CLEAR)) {
        qemu_log_mask(LOG_UNIMP, "mic-card: %s of mic%u written from a "
                      "peer card: only the host's own writes reset, boot "
                      "or clear MSI-X state in micemu\n",
                      mic_regfile_name(addr, name, sizeof(name)), p->index);
    }
}

static const MicRegWindowOps peer_regs_ops = {
    .events = peer_regs_events,
};

/* ---- PEER checks -------------------------------------------------------- */

static bool ranges_overlap64(uint64_t a, uint64_t alen, uint64_t b,
                             uint64_t blen)
{
    return a < b + blen && b < a + alen;
}

static bool check_range(uint64_t base, uint64_t size, const char *what,
                        Error **errp)
{
    if (!size || base % size || base >= PEER_BUS_LIMIT ||
        size > PEER_BUS_LIMIT - base) {
        error_setg(errp, "%s 0x%" PRIx64 "+0x%" PRIx64 " is not a naturally "
                   "aligned BAR below 2^52", what, base, size);
        return false;
    }
    return true;
}

/* Neither host RAM nor another peer may sit where this peer claims to. */
static bool check_overlaps(MicCardState *s, const struct mic_link_peer *d,
                           Error **errp)
{
    uint64_t below = s->link.welcome.host_ram_below_4g;
    uint64_t above = s->link.welcome.host_ram_above_4g;
    const uint64_t base[2] = { d->aper_base, d->mmio_base };
    const uint64_t size[2] = { d->aper_size, d->mmio_size };
    unsigned int i, j;

    if (ranges_overlap64(base[0], size[0], base[1], size[1])) {
        error_setg(errp, "its aperture and register BARs overlap");
        return false;
    }
    for (i = 0; i < 2; i++) {
        if ((below && ranges_overlap64(base[i], size[i], 0, below)) ||
            (above && ranges_overlap64(base[i], size[i],
                                       MIC_CARD_HOST_HIGH_BASE, above))) {
            error_setg(errp, "0x%" PRIx64 "+0x%" PRIx64 " overlaps host RAM",
                       base[i], size[i]);
            return false;
        }
        for (j = 0; j < MIC_CARD_MAX_PEERS; j++) {
            MicCardPeer *o = s->peers[j];

            if (!o || !o->mapped || o->index == d->peer_index) {
                continue;
            }
            if (ranges_overlap64(base[i], size[i], o->d.aper_base,
                                 o->d.aper_size) ||
                ranges_overlap64(base[i], size[i], o->d.mmio_base,
                                 o->d.mmio_size)) {
                error_setg(errp, "0x%" PRIx64 "+0x%" PRIx64 " overlaps "
                           "mic%u's BARs", base[i], size[i], o->index);
                return false;
            }
        }
    }
    return true;
}

static bool check_peer(MicCardState *s, const struct mic_link_peer *d,
                       int *fds, int nfds, Error **errp)
{
    if (!mic_card_mem_ok(d->aper_size)) {
        error_setg(errp, "aperture size 0x%" PRIx64 " is not whole MiB "
                   "between 1 MiB and 1 TiB", d->aper_size);
        return false;
    }
    if (d->mmio_size != MIC_MMIO_SIZE) {
        error_setg(errp, "register BAR size 0x%" PRIx64 " is not 0x%x",
                   d->mmio_size, MIC_MMIO_SIZE);
        return false;
    }
    /* the BAR is the memory rounded up to a power of two (mic_hw.h) */
    if (!check_range(d->aper_base, mic_bar0_size(d->aper_size), "aperture",
                     errp) ||
        !check_range(d->mmio_base, d->mmio_size, "register BAR", errp) ||
        !check_overlaps(s, d, errp)) {
        return false;
    }
    if (nfds < MIC_LINK_PEER_NFDS) {
        error_setg(errp, "it carried %d file descriptors, %d needed", nfds,
                   MIC_LINK_PEER_NFDS);
        return false;
    }
    return mic_link_check_memfd(fds[MIC_LINK_PEER_FD_MEM], d->aper_size,
                                "peer memory", errp) &&
           mic_link_check_memfd(fds[MIC_LINK_PEER_FD_REGFILE],
                                sizeof(MicRegFile), "peer register file",
                                errp) &&
           mic_link_check_eventfd(fds[MIC_LINK_PEER_FD_TO_CARD],
                                  "peer to-card doorbell", errp) &&
           mic_link_check_eventfd(fds[MIC_LINK_PEER_FD_TO_HOST],
                                  "peer to-host doorbell", errp);
}

/* ---- adopting and mapping a peer ---------------------------------------- */

static bool same_file(int fd, dev_t dev, ino_t ino)
{
    struct stat st;

    return fstat(fd, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

/* First PEER with fds for this index: create its regions, take the fds. */
static bool peer_adopt(MicCardState *s, MicCardPeer *p,
                       const struct mic_link_peer *d, int *fds, Error **errp)
{
    g_autofree char *aname = g_strdup_printf("mic-card.peer%u.aperture",
                                             p->index);
    g_autofree char *rname = g_strdup_printf("mic-card.peer%u.regs",
                                             p->index);
    g_autofree char *who = g_strdup_printf("mic-card (mic%u's registers)",
                                           p->index);
    int *mem_fd = &fds[MIC_LINK_PEER_FD_MEM];
    int *rf_fd = &fds[MIC_LINK_PEER_FD_REGFILE];
    struct stat mst, rst;
    MicRegFile *rf;

    if (fstat(*mem_fd, &mst) < 0 || fstat(*rf_fd, &rst) < 0) {
        error_setg_errno(errp, errno, "cannot stat its fds");
        return false;
    }
    rf = mic_link_map_regfile(*rf_fd, errp);
    if (!rf) {
        return false;
    }
    if (!memory_region_init_ram_from_fd(&p->aper, OBJECT(s), aname,
                                        d->aper_size, RAM_SHARED, *mem_fd, 0,
                                        errp)) {
        munmap(rf, sizeof(MicRegFile));
        return false;
    }
    *mem_fd = -1;                   /* owned by the RAM block now */
    mic_regwin_init(&p->regs, OBJECT(s), rname, who, MIC_SIDE_HOST, rf,
                    &peer_regs_ops, p);
    p->rf = rf;
    p->mem_dev = mst.st_dev;
    p->mem_ino = mst.st_ino;
    p->rf_dev = rst.st_dev;
    p->rf_ino = rst.st_ino;
    p->ev_to_card = fds[MIC_LINK_PEER_FD_TO_CARD];
    p->ev_to_host = fds[MIC_LINK_PEER_FD_TO_HOST];
    fds[MIC_LINK_PEER_FD_TO_CARD] = fds[MIC_LINK_PEER_FD_TO_HOST] = -1;
    g_unix_set_fd_nonblocking(p->ev_to_card, true, NULL);
    g_unix_set_fd_nonblocking(p->ev_to_host, true, NULL);
    p->ready = true;
    return true;
}

static void peer_unmap(MicCardState *s, MicCardPeer *p)
{
    if (!p->mapped) {
        return;
    }
    memory_region_transaction_begin();
    memory_region_del_subregion(&s->host_bus, &p->aper);
    memory_region_del_subregion(&s->host_bus, &p->regs.mr);
    memory_region_transaction_commit();
    p->mapped = false;
    trace_mic_card_peer_unmap(p->index);
}

static void peer_map(MicCardState *s, MicCardPeer *p,
                     const struct mic_link_peer *d)
{
    memory_region_transaction_begin();
    peer_unmap(s, p);
    p->d = *d;
    memory_region_add_subregion(&s->host_bus, d->aper_base, &p->aper);
    memory_region_add_subregion(&s->host_bus, d->mmio_base, &p->regs.mr);
    memory_region_transaction_commit();
    p->mapped = true;
    trace_mic_card_peer_map(p->index, d->aper_base, d->aper_size,
                            d->mmio_base);
}

static void close_fds(int *fds, int nfds)
{
    int i;

    for (i = 0; i < nfds; i++) {
        if (fds[i] >= 0) {
            close(fds[i]);
            fds[i] = -1;
        }
    }
}

/* A PEER from micfw; the fds are ours to keep or close. */
void mic_card_peer_msg(MicCardState *s, const uint8_t *payload, uint16_t len,
                       int *fds, int nfds)
{
    struct mic_link_peer d;
    MicCardPeer *p = NULL;
    Error *err = NULL;

    if (len < sizeof(d)) {
        warn_report("mic-card: PEER refused: payload of %u bytes, %zu "
                    "needed", len, sizeof(d));
        goto out;
    }
    memcpy(&d, payload, sizeof(d));
    if (d.peer_index >= MIC_CARD_MAX_PEERS ||
        d.peer_index == s->link.welcome.card_index) {
        warn_report("mic-card: PEER refused: mic%u cannot be a peer of "
                    "mic%u", d.peer_index, s->link.welcome.card_index);
        goto out;
    }
    p = s->peers[d.peer_index];
    if (!(d.flags & MIC_LINK_PEER_PRESENT)) {
        if (p) {
            peer_unmap(s, p);
        }
        goto out;
    }
    if (!check_peer(s, &d, fds, nfds, &err)) {
        goto refuse;
    }
    if (!p) {
        p = g_new0(MicCardPeer, 1);
        p->card = s;
        p->index = d.peer_index;
        p->ev_to_card = p->ev_to_host = -1;
        s->peers[d.peer_index] = p;
    }
    if (!p->ready) {
        if (!peer_adopt(s, p, &d, fds, &err)) {
            goto refuse;
        }
    } else if (!same_file(fds[MIC_LINK_PEER_FD_MEM], p->mem_dev,
                          p->mem_ino) ||
               !same_file(fds[MIC_LINK_PEER_FD_REGFILE], p->rf_dev,
                          p->rf_ino) ||
               d.aper_size != memory_region_size(&p->aper)) {
        error_setg(&err, "its memory or register file is not the one "
                   "announced before");
        goto refuse;
    }
    peer_map(s, p, &d);
    goto out;

refuse:
    warn_report("mic-card: PEER for mic%u refused: %s", d.peer_index,
                error_get_pretty(err));
    error_free(err);
    if (p) {
        peer_unmap(s, p);
    }
out:
    close_fds(fds, nfds);
}

/* The device goes away: no peer region stays in a container. */
void mic_card_peer_exit(MicCardState *s)
{
    unsigned int i;

    for (i = 0; i < MIC_CARD_MAX_PEERS; i++) {
        MicCardPeer *p = s->peers[i];

        if (!p) {
            continue;
        }
        peer_unmap(s, p);
        if (p->ev_to_card >= 0) {
            close(p->ev_to_card);
            p->ev_to_card = -1;
        }
        if (p->ev_to_host >= 0) {
            close(p->ev_to_host);
            p->ev_to_host = -1;
        }
    }
}

/* instance_finalize: only now may the regions and their memory go. */
void mic_card_peer_finalize(MicCardState *s)
{
    unsigned int i;

    for (i = 0; i < MIC_CARD_MAX_PEERS; i++) {
        MicCardPeer *p = s->peers[i];

        if (!p) {
            continue;
        }
        if (p->ready) {
            object_unparent(OBJECT(&p->aper));
            object_unparent(OBJECT(&p->regs.mr));
            munmap(p->rf, sizeof(MicRegFile));
        }
        g_free(p);
        s->peers[i] = NULL;
    }
}
