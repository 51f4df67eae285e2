/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mic-x100: telling each card where the other cards are (link PEER).
 *
 * A real x100 reaches another card's BAR0 (its memory) and BAR4 (its
 * registers) through its own SMPT, because the host programs an SMPT
 * entry with the peer's bus address; upstream's SCIF does exactly that
 * for card-to-card queue pairs and doorbells.  In micemu every card is
 * its own process, so the card VM must be told what lives at those bus
 * addresses.  All mic-x100 devices of a host VM live in this process,
 * which knows every card's BAR addresses and holds every card's memory,
 * register file and doorbells: after a change it sends each linked card's
 * micfw one PEER per other card, which micfw hands to its card VM
 * (docs/link-protocol.rst).
 *
 * Only changes are sent.  A peer whose ranges move is first withdrawn
 * from every card (PEER without the present flag), then announced at its
 * new place, so a receiver never sees two peers overlap in passing.
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/log.h"
#include "qemu/main-loop.h"
#include "hw/pci/pci.h"
#include "mic_x100.h"
#include "trace.h"

#define MIC_X100_PEER_RETRY_MS  100

static QLIST_HEAD(, MicX100State) mic_x100_cards =
    QLIST_HEAD_INITIALIZER(mic_x100_cards);

static bool peer_linked(MicX100State *s)
{
    return s->link.state == MIC_LINK_UP && s->link.rf_fd >= 0 &&
           s->link.welcome.card_index < MIC_X100_MAX_PEERS;
}

/* What @p looks like to the other cards right now. */
static void peer_describe(MicX100State *p, struct mic_link_peer *d)
{
    PCIDevice *pdev = PCI_DEVICE(p);
    pcibus_t aper = pci_get_bar_addr(pdev, MIC_X100_GDDR_BAR);
    pcibus_t mmio = pci_get_bar_addr(pdev, MIC_X100_MMIO_BAR);

    memset(d, 0, sizeof(*d));
    d->peer_index = p->link.welcome.card_index;
    if (aper == PCI_BAR_UNMAPPED || mmio == PCI_BAR_UNMAPPED) {
        return;
    }
    d->flags = MIC_LINK_PEER_PRESENT;
    d->aper_base = aper;
    d->aper_size = memory_region_size(&p->gddr);
    d->mmio_base = mmio;
    d->mmio_size = MIC_MMIO_SIZE;
}

static void peer_schedule_retry(MicX100State *s)
{
    if (!s->peer_timer) {
        return;
    }
    timer_mod(s->peer_timer, qemu_clock_get_ms(QEMU_CLOCK_REALTIME) +
              MIC_X100_PEER_RETRY_MS);
}

/* Send @d (about @p, NULL when withdrawn) to @s's micfw; true if sent. */
static bool peer_send(MicX100State *s, MicX100State *p,
                      const struct mic_link_peer *d)
{
    int fds[MIC_LINK_PEER_NFDS];
    int ret;

    if (d->flags & MIC_LINK_PEER_PRESENT) {
        fds[MIC_LINK_PEER_FD_MEM] = memory_region_get_fd(&p->gddr);
        fds[MIC_LINK_PEER_FD_REGFILE] = p->link.rf_fd;
        fds[MIC_LINK_PEER_FD_TO_CARD] = p->link.ev_to_card;
        fds[MIC_LINK_PEER_FD_TO_HOST] = p->link.ev_to_host;
    }
    ret = mic_link_send(&s->link, MIC_LINK_PEER, d, sizeof(*d), fds,
                        (d->flags & MIC_LINK_PEER_PRESENT) ?
                        MIC_LINK_PEER_NFDS : 0);
    trace_mic_x100_peer_send(s->link.welcome.card_index, d->peer_index,
                             d->flags, d->aper_base, d->mmio_base, ret);
    if (ret == -EAGAIN) {
        peer_schedule_retry(s);
    }
    return ret == 0;
}

static MicX100State *peer_find(uint32_t index)
{
    MicX100State *p;

    QLIST_FOREACH(p, &mic_x100_cards, peer_next) {
        if (peer_linked(p) && p->link.welcome.card_index == index) {
            return p;
        }
    }
    return NULL;
}

/*
 * Bring every card's view of every other card up to date.  Pass 1
 * withdraws what moved or went away, pass 2 announces what is new.
 */
void mic_x100_peer_update(void)
{
    struct mic_link_peer d, gone;
    MicX100State *s, *p;
    unsigned int i;
    int pass;

    for (pass = 0; pass < 2; pass++) {
        QLIST_FOREACH(s, &mic_x100_cards, peer_next) {
            if (!peer_linked(s)) {
                continue;
            }
            for (i = 0; i < MIC_X100_MAX_PEERS; i++) {
                MicX100PeerSent *sent = &s->peer_sent[i];

                p = i == s->link.welcome.card_index ? NULL : peer_find(i);
                if (p) {
                    peer_describe(p, &d);
                } else {
                    memset(&d, 0, sizeof(d));
                    d.peer_index = i;
                }
                if (sent->valid && !memcmp(&sent->d, &d, sizeof(d))) {
                    continue;
                }
                if (pass == 0) {
                    if (!sent->valid ||
                        !(sent->d.flags & MIC_LINK_PEER_PRESENT)) {
                        continue;           /* nothing to withdraw */
                    }
                    memset(&gone, 0, sizeof(gone));
                    gone.peer_index = i;
                    if (peer_send(s, NULL, &gone)) {
                        sent->d = gone;
                    }
                    continue;
                }
                if (!sent->valid && !(d.flags & MIC_LINK_PEER_PRESENT)) {
                    continue;               /* never announced, still absent */
                }
                if (peer_send(s, p, &d)) {
                    sent->d = d;
                    sent->valid = true;
                }
            }
        }
    }
}

static void peer_retry(void *opaque)
{
    mic_x100_peer_update();
}

void mic_x100_peer_add(MicX100State *s)
{
    MicX100State *o;

    if (s->link.state != MIC_LINK_UP) {
        return;
    }
    QLIST_FOREACH(o, &mic_x100_cards, peer_next) {
        if (o->link.state == MIC_LINK_UP &&
            o->link.welcome.card_index == s->link.welcome.card_index) {
            warn_report("mic-x100: two devices are linked to a mic%u; "
                        "neither is announced to the other cards",
                        s->link.welcome.card_index);
        }
    }
    if (s->link.welcome.card_index >= MIC_X100_MAX_PEERS) {
        warn_report("mic-x100: mic%u is not announced to the other cards "
                    "(at most %u cards take part in peer-to-peer)",
                    s->link.welcome.card_index, MIC_X100_MAX_PEERS);
    }
    s->peer_sent = g_new0(MicX100PeerSent, MIC_X100_MAX_PEERS);
    s->peer_timer = timer_new_ms(QEMU_CLOCK_REALTIME, peer_retry, s);
    QLIST_INSERT_HEAD(&mic_x100_cards, s, peer_next);
    s->peer_listed = true;
    mic_x100_peer_update();
}

void mic_x100_peer_remove(MicX100State *s)
{
    if (!s->peer_listed) {
        return;
    }
    QLIST_REMOVE(s, peer_next);
    s->peer_listed = false;
    timer_free(s->peer_timer);
    s->peer_timer = NULL;
    g_free(s->peer_sent);
    s->peer_sent = NULL;
    mic_x100_peer_update();         /* the others forget this card */
}
