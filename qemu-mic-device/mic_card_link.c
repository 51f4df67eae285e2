/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mic-card: the link to the card's firmware simulator (micfw).
 *
 * At realize the device sends HELLO (role CARD, no fds) and waits, bounded
 * by the link-timeout property, for WELCOME: card memory, register file,
 * the "to host" and "to card" eventfds and, when the host device shared
 * it, the host RAM memfd.  The wait runs a private GMainContext that only
 * dispatches this chardev and a timeout, so a silent peer cannot hang
 * QEMU.  Afterwards the chardev stays on the main loop only to notice
 * micfw going away: the card keeps running without it.
 * Wire format: mic_link.h, docs/link-protocol.rst.
 */
#include "qemu/osdep.h"
#include "qemu/cutils.h"
#include "qemu/error-report.h"
#include "qemu/log.h"
#include "qemu/main-loop.h"
#include "qapi/error.h"
#include "hw/boards.h"
#include "system/runstate.h"
#include "chardev/char-socket.h"
#include "mic_card.h"
#include "trace.h"

/* WELCOME fd slots (link-protocol.rst) */
enum { FD_CARD_MEM, FD_REGFILE, FD_TO_HOST, FD_TO_CARD, FD_HOST_RAM };

static void link_fail(MicCardState *s, const char *why)
{
    if (s->link == MIC_CARD_LINK_HANDSHAKE) {
        if (!s->hs_error[0]) {
            pstrcpy(s->hs_error, sizeof(s->hs_error), why);
        }
        s->hs_done = true;
    } else if (s->link == MIC_CARD_LINK_UP && runstate_is_running()) {
        warn_report("mic-card: link to the firmware simulator lost (%s); "
                    "the card keeps running", why);
    }
    trace_mic_card_link_down(why);
    s->link = MIC_CARD_LINK_DOWN;
}

static void handle_welcome(MicCardState *s, const uint8_t *payload,
                           uint16_t len)
{
    int i;

    if (len < sizeof(s->welcome)) {
        link_fail(s, "WELCOME payload too short");
        return;
    }
    memcpy(&s->welcome, payload, sizeof(s->welcome));
    for (i = 0; i < s->rx.nfds; i++) {
        s->welcome_fds[i] = s->rx.fds[i];
    }
    s->welcome_nfds = s->rx.nfds;
    s->rx.nfds = 0;                 /* ownership moved */
    s->hs_done = true;
}

static void handle_error(MicCardState *s, const uint8_t *payload,
                         uint16_t len)
{
    struct mic_link_error err = { 0 };
    char why[sizeof(err.text) + 32];

    memcpy(&err, payload, MIN(len, sizeof(err)));
    err.text[sizeof(err.text) - 1] = '\0';
    snprintf(why, sizeof(why), "micfw refused: %s (errno %u)",
             err.text[0] ? err.text : "no reason given", err.code);
    if (s->link == MIC_CARD_LINK_HANDSHAKE) {
        link_fail(s, why);
    } else {
        qemu_log_mask(LOG_UNIMP, "mic-card: %s\n", why);
    }
}

static void rx_dispatch(MicCardState *s)
{
    const struct mic_link_hdr *h = mic_link_rx_hdr(&s->rx);
    const uint8_t *payload = mic_link_rx_payload(&s->rx);

    trace_mic_card_link_recv(h->type, h->len, s->rx.nfds);
    if (h->type == MIC_LINK_ERROR) {
        handle_error(s, payload, h->len);
    } else if (h->type == MIC_LINK_PEER && s->link == MIC_CARD_LINK_UP) {
        mic_card_peer_msg(s, payload, h->len, s->rx.fds, s->rx.nfds);
        s->rx.nfds = 0;             /* taken or closed */
    } else if (s->link != MIC_CARD_LINK_HANDSHAKE) {
        qemu_log_mask(LOG_UNIMP, "mic-card: ignoring link message type %u\n",
                      h->type);
    } else if (h->type == MIC_LINK_WELCOME) {
        handle_welcome(s, payload, h->len);
    } else {
        link_fail(s, "unexpected message instead of WELCOME");
    }
    mic_link_rx_reset(&s->rx);
}

static int link_can_read(void *opaque)
{
    MicCardState *s = opaque;

    return mic_link_rx_want(&s->rx);
}

static void link_read(void *opaque, const uint8_t *buf, int size)
{
    MicCardState *s = opaque;

    mic_link_rx_collect_fds(&s->rx, &s->chr);
    while (size > 0) {
        if (s->link == MIC_CARD_LINK_DOWN) {
            mic_link_rx_reset(&s->rx); /* a broken peer: drop what it sends */
            return;
        }
        switch (mic_link_rx_feed(&s->rx, &buf, &size)) {
        case MIC_LINK_RX_BAD_HEADER:
            link_fail(s, "bad message header (magic or length)");
            return;
        case MIC_LINK_RX_MESSAGE:
            rx_dispatch(s);
            break;
        case MIC_LINK_RX_MORE:
            break;
        }
    }
}

static void link_event(void *opaque, QEMUChrEvent event)
{
    MicCardState *s = opaque;

    if (event == CHR_EVENT_CLOSED) {
        mic_link_rx_reset(&s->rx);
        link_fail(s, "connection closed");
    }
}

static gboolean handshake_timeout(gpointer opaque)
{
    link_fail(opaque, "timed out waiting for WELCOME");
    return G_SOURCE_REMOVE;
}

static bool send_hello(MicCardState *s, Error **errp)
{
    struct mic_link_hello hello = {
        .version = MIC_LINK_VERSION, .role = MIC_LINK_ROLE_CARD,
    };
    struct mic_link_hdr h = {
        .magic = MIC_LINK_MAGIC, .type = MIC_LINK_HELLO, .len = sizeof(hello),
    };
    uint8_t buf[MIC_LINK_HDR_SIZE + sizeof(hello)];

    memcpy(buf, &h, MIC_LINK_HDR_SIZE);
    memcpy(buf + MIC_LINK_HDR_SIZE, &hello, sizeof(hello));
    trace_mic_card_link_send(h.type, h.len);
    if (qemu_chr_fe_write_all(&s->chr, buf, sizeof(buf)) != sizeof(buf)) {
        error_setg(errp, "cannot send HELLO to the firmware simulator "
                   "(is the chardev a connected unix socket?)");
        return false;
    }
    return true;
}

/* Run a private main context until WELCOME, an error or the timeout. */
static void wait_welcome(MicCardState *s)
{
    GMainContext *ctx = g_main_context_new();
    GSource *timer = g_timeout_source_new(s->link_timeout_ms);

    g_source_set_callback(timer, handshake_timeout, s, NULL);
    g_source_attach(timer, ctx);
    qemu_chr_fe_set_handlers(&s->chr, link_can_read, link_read, link_event,
                             NULL, s, ctx, true);
    while (!s->hs_done) {
        g_main_context_iteration(ctx, TRUE);
    }
    qemu_chr_fe_set_handlers(&s->chr, NULL, NULL, NULL, NULL, NULL, NULL,
                             true);
    g_source_destroy(timer);
    g_source_unref(timer);
    g_main_context_unref(ctx);
}

/* The host RAM layout must describe a file we really got (HELLO rules). */
static bool check_host_ram(MicCardState *s, Error **errp)
{
    const struct mic_link_welcome *w = &s->welcome;

    if (!w->host_ram_below_4g && !w->host_ram_above_4g) {
        return true;                /* no host memory behind the window */
    }
    if (w->host_ram_below_4g > MIC_CARD_HOST_HIGH_BASE ||
        w->host_ram_above_4g > MIC_CARD_HOST_MAX_HIGH ||
        !QEMU_IS_ALIGNED(w->host_ram_below_4g, qemu_real_host_page_size()) ||
        !QEMU_IS_ALIGNED(w->host_ram_above_4g, qemu_real_host_page_size())) {
        error_setg(errp, "host RAM layout from the firmware simulator is "
                   "impossible (below 4G 0x%" PRIx64 ", above 0x%" PRIx64 ")",
                   w->host_ram_below_4g, w->host_ram_above_4g);
        return false;
    }
    if (s->welcome_nfds <= FD_HOST_RAM) {
        error_setg(errp, "WELCOME announced 0x%" PRIx64 " bytes of host RAM "
                   "but carried no fd for it",
                   w->host_ram_below_4g + w->host_ram_above_4g);
        return false;
    }
    return mic_link_check_memfd(s->welcome_fds[FD_HOST_RAM],
                                w->host_ram_below_4g + w->host_ram_above_4g,
                                "host RAM", errp);
}

static bool check_welcome(MicCardState *s, Error **errp)
{
    const struct mic_link_welcome *w = &s->welcome;

    if (w->version != MIC_LINK_VERSION) {
        error_setg(errp, "firmware simulator speaks link version %u, "
                   "this device version %u", w->version, MIC_LINK_VERSION);
        return false;
    }
    if (s->welcome_nfds <= FD_TO_CARD) {
        error_setg(errp, "WELCOME carried %d file descriptors, 4 needed",
                   s->welcome_nfds);
        return false;
    }
    if (w->regfile_size < sizeof(MicRegFile)) {
        error_setg(errp, "register file from the firmware simulator is "
                   "smaller than %zu bytes", sizeof(MicRegFile));
        return false;
    }
    return mic_link_check_memfd(s->welcome_fds[FD_CARD_MEM], 0,
                                "card memory", errp) &&
           mic_link_check_memfd(s->welcome_fds[FD_REGFILE],
                                sizeof(MicRegFile), "register file", errp) &&
           mic_link_check_eventfd(s->welcome_fds[FD_TO_HOST],
                                  "to-host doorbell", errp) &&
           mic_link_check_eventfd(s->welcome_fds[FD_TO_CARD],
                                  "to-card doorbell", errp) &&
           check_host_ram(s, errp);
}

/*
 * The card VM's RAM should be the card memory itself (micfw starts it with
 * -machine memory-backend=<the memfd>); otherwise host writes through BAR0
 * never reach this VM.  Only a diagnostic: tests run without it.
 */
static void check_card_ram(MicCardState *s)
{
    MachineState *ms = MACHINE(qdev_get_machine());
    int ram_fd = ms->ram ? memory_region_get_fd(ms->ram) : -1;
    struct stat a, b;

    if (ram_fd < 0 || fstat(ram_fd, &a) < 0 ||
        fstat(s->welcome_fds[FD_CARD_MEM], &b) < 0 ||
        a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
        warn_report("mic-card: this VM's RAM is not mic%u's card memory; "
                    "the host's BAR0 and this VM do not share memory",
                    s->welcome.card_index);
    }
}

/* Map the register file, keep the eventfds and the host RAM fd. */
static bool adopt_resources(MicCardState *s, Error **errp)
{
    void *p;

    p = mmap(NULL, sizeof(MicRegFile), PROT_READ | PROT_WRITE, MAP_SHARED,
             s->welcome_fds[FD_REGFILE], 0);
    if (p == MAP_FAILED) {
        error_setg_errno(errp, errno, "cannot map the register file");
        return false;
    }
    s->rf = p;
    s->rf_mapped = true;
    if (__atomic_load_n(&s->rf->magic, __ATOMIC_ACQUIRE) !=
        MIC_REGFILE_MAGIC || s->rf->version != MIC_REGFILE_VERSION) {
        error_setg(errp, "register file has no valid header (magic 0x%x, "
                   "version %u)", s->rf->magic, s->rf->version);
        return false;
    }
    check_card_ram(s);
    s->ev_to_host = s->welcome_fds[FD_TO_HOST];
    s->ev_to_card = s->welcome_fds[FD_TO_CARD];
    s->welcome_fds[FD_TO_HOST] = s->welcome_fds[FD_TO_CARD] = -1;
    g_unix_set_fd_nonblocking(s->ev_to_host, true, NULL);
    g_unix_set_fd_nonblocking(s->ev_to_card, true, NULL);
    if (s->welcome.host_ram_below_4g || s->welcome.host_ram_above_4g) {
        s->host_ram_fd = s->welcome_fds[FD_HOST_RAM];
        s->welcome_fds[FD_HOST_RAM] = -1;
    }
    return true;
}

static void close_welcome_fds(MicCardState *s)
{
    int i;

    for (i = 0; i < s->welcome_nfds; i++) {
        if (s->welcome_fds[i] >= 0) {
            close(s->welcome_fds[i]);
        }
        s->welcome_fds[i] = -1;
    }
    s->welcome_nfds = 0;
}

/* The host device (or micfw) raised card sources, or changed SMPT. */
static void to_card_ready(void *opaque)
{
    MicCardState *s = opaque;
    uint64_t count;

    while (read(s->ev_to_card, &count, sizeof(count)) == sizeof(count)) {
        /* drain */
    }
    trace_mic_card_link_to_card();
    mic_card_smpt_sync(s);          /* a doorbell may announce a new map */
    mic_card_deliver(s);
    mic_card_dma_kick(s);           /* maybe a forwarded DHPR write */
}

bool mic_card_link_connect(MicCardState *s, Error **errp)
{
    Chardev *chr = qemu_chr_fe_get_driver(&s->chr);

    if (!object_dynamic_cast(OBJECT(chr), TYPE_CHARDEV_SOCKET) ||
        !qemu_chr_fe_backend_open(&s->chr)) {
        error_setg(errp, "chardev '%s' must be a connected unix socket to "
                   "the firmware simulator", chr->label);
        return false;
    }
    s->link = MIC_CARD_LINK_HANDSHAKE;
    s->hs_done = false;
    s->hs_error[0] = '\0';
    if (!send_hello(s, errp)) {
        goto fail;
    }
    wait_welcome(s);
    if (s->link != MIC_CARD_LINK_HANDSHAKE) {
        error_setg(errp, "firmware simulator handshake failed: %s",
                   s->hs_error);
        goto fail;
    }
    if (!check_welcome(s, errp) || !adopt_resources(s, errp)) {
        goto fail;
    }
    close_welcome_fds(s);           /* card memory and extras */
    s->link = MIC_CARD_LINK_UP;
    qemu_chr_fe_set_handlers(&s->chr, link_can_read, link_read, link_event,
                             NULL, s, NULL, true);
    qemu_set_fd_handler(s->ev_to_card, to_card_ready, NULL, s);
    trace_mic_card_link_up(s->welcome.card_index,
                           s->welcome.host_ram_below_4g,
                           s->welcome.host_ram_above_4g);
    return true;

fail:
    close_welcome_fds(s);
    mic_link_rx_reset(&s->rx);
    mic_card_link_close(s);
    return false;
}

void mic_card_link_close(MicCardState *s)
{
    if (s->ev_to_card >= 0) {
        qemu_set_fd_handler(s->ev_to_card, NULL, NULL, NULL);
        close(s->ev_to_card);
        s->ev_to_card = -1;
    }
    if (s->ev_to_host >= 0) {
        close(s->ev_to_host);
        s->ev_to_host = -1;
    }
    if (s->host_ram_fd >= 0) {
        close(s->host_ram_fd);
        s->host_ram_fd = -1;
    }
    if (s->link != MIC_CARD_LINK_NONE) {
        qemu_chr_fe_set_handlers(&s->chr, NULL, NULL, NULL, NULL, NULL, NULL,
                                 true);
    }
    mic_link_rx_reset(&s->rx);
    if (s->rf_mapped) {
        munmap(s->rf, sizeof(MicRegFile));
        s->rf = NULL;
        s->rf_mapped = false;
    }
    s->link = MIC_CARD_LINK_NONE;
}

/* SICR0 sources were raised through our window: tell the host device. */
void mic_card_link_ring_host(MicCardState *s)
{
    uint64_t one = 1;

    if (s->ev_to_host < 0) {
        trace_mic_card_host_irq_dropped();
        return;
    }
    if (write(s->ev_to_host, &one, sizeof(one)) != sizeof(one) &&
        errno != EAGAIN) {
        trace_mic_card_host_irq_dropped();
    }
}
