/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mic-x100: the link to the card's firmware simulator (micfw).
 *
 * At realize the device sends HELLO (role HOST, optionally with the host
 * RAM memfd) and waits, bounded by the link-timeout property, for WELCOME,
 * which carries the card memory memfd, the register file memfd and two
 * eventfds.  The wait runs a private GMainContext that only dispatches this
 * chardev and a timeout, so a silent peer can never hang QEMU.  Afterwards
 * the chardev stays open on the main context for RESET/BOOT_KICK and for
 * noticing micfw going away.  Wire format: mic_link.h, docs/link-protocol.rst.
 */
#include "qemu/osdep.h"
#include "qemu/cutils.h"
#include "qemu/error-report.h"
#include "qemu/log.h"
#include "qemu/main-loop.h"
#include "qapi/error.h"
#include "system/hostmem.h"
#include "system/runstate.h"
#include "hw/pci/pci.h"
#include "hw/pci/pci_bus.h"
#include "chardev/char-socket.h"
#include "mic_x100.h"
#include "trace.h"

static void link_fail(MicX100State *s, const char *why)
{
    if (s->link == MIC_LINK_HANDSHAKE) {
        if (!s->hs_error[0]) {
            pstrcpy(s->hs_error, sizeof(s->hs_error), why);
        }
        s->hs_done = true;
    } else if (s->link == MIC_LINK_UP && runstate_is_running()) {
        /* not while QEMU shuts down: closing chardevs is no news then */
        warn_report("mic-x100: link to the firmware simulator lost (%s); "
                    "the card is frozen, the host keeps running", why);
    }
    trace_mic_x100_link_down(why);
    s->link = MIC_LINK_DOWN;
}

static void handle_welcome(MicX100State *s, const uint8_t *payload,
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

static void handle_error(MicX100State *s, const uint8_t *payload,
                         uint16_t len)
{
    struct mic_link_error err = { 0 };
    char why[sizeof(err.text) + 32];

    memcpy(&err, payload, MIN(len, sizeof(err)));
    err.text[sizeof(err.text) - 1] = '\0';
    snprintf(why, sizeof(why), "micfw refused: %s (errno %u)",
             err.text[0] ? err.text : "no reason given", err.code);
    if (s->link == MIC_LINK_HANDSHAKE) {
        link_fail(s, why);
    } else {
        qemu_log_mask(LOG_UNIMP, "mic-x100: %s\n", why);
    }
}

static void rx_dispatch(MicX100State *s)
{
    const struct mic_link_hdr *h = mic_link_rx_hdr(&s->rx);
    const uint8_t *payload = mic_link_rx_payload(&s->rx);

    trace_mic_x100_link_recv(h->type, h->len, s->rx.nfds);
    if (h->type == MIC_LINK_ERROR) {
        handle_error(s, payload, h->len);
    } else if (h->type == MIC_LINK_WELCOME && s->link == MIC_LINK_HANDSHAKE) {
        handle_welcome(s, payload, h->len);
    } else if (s->link == MIC_LINK_HANDSHAKE) {
        link_fail(s, "unexpected message instead of WELCOME");
    } else {
        qemu_log_mask(LOG_UNIMP, "mic-x100: ignoring link message type %u\n",
                      h->type);
    }
    mic_link_rx_reset(&s->rx);
}

static int link_can_read(void *opaque)
{
    MicX100State *s = opaque;

    return mic_link_rx_want(&s->rx);
}

static void link_read(void *opaque, const uint8_t *buf, int size)
{
    MicX100State *s = opaque;

    mic_link_rx_collect_fds(&s->rx, &s->chr);
    while (size > 0) {
        if (s->link == MIC_LINK_DOWN) {
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
    MicX100State *s = opaque;

    if (event == CHR_EVENT_CLOSED) {
        mic_link_rx_reset(&s->rx);
        link_fail(s, "connection closed");
    } else if (event == CHR_EVENT_OPENED && s->link == MIC_LINK_DOWN) {
        warn_report("mic-x100: the link chardev reconnected; reconnecting "
                    "to a firmware simulator is not supported");
    }
}

static gboolean handshake_timeout(gpointer opaque)
{
    MicX100State *s = opaque;

    link_fail(s, "timed out waiting for WELCOME");
    return G_SOURCE_REMOVE;
}

/*
 * Send one message.  Blocking only at realize; at run time (a guest
 * register write got us here) a peer that stopped reading must not stall
 * the vCPU, so the message is tried once: returns 0 sent, -EAGAIN not
 * sent (socket full), -EIO broken.
 */
static int link_write(MicX100State *s, uint16_t type, const void *payload,
                      uint16_t len, int *fds, int nfds, bool may_block)
{
    int ret;
    uint8_t buf[MIC_LINK_HDR_SIZE + MIC_LINK_MAX_PAYLOAD];
    struct mic_link_hdr h = {
        .magic = MIC_LINK_MAGIC, .type = type, .len = len,
    };

    assert(len <= MIC_LINK_MAX_PAYLOAD);
    memcpy(buf, &h, MIC_LINK_HDR_SIZE);
    if (len) {
        memcpy(buf + MIC_LINK_HDR_SIZE, payload, len);
    }
    if (nfds && qemu_chr_fe_set_msgfds(&s->chr, fds, nfds) < 0) {
        return -EIO;
    }
    trace_mic_x100_link_send(type, len, nfds);
    if (may_block) {
        ret = qemu_chr_fe_write_all(&s->chr, buf, MIC_LINK_HDR_SIZE + len);
    } else {
        ret = qemu_chr_fe_write(&s->chr, buf, MIC_LINK_HDR_SIZE + len);
        if (ret < 0 && errno == EAGAIN) {
            return -EAGAIN;
        }
    }
    return ret == (int)(MIC_LINK_HDR_SIZE + len) ? 0 : -EIO;
}

/* The host VM's RAM layout, from the PCI host bridge (i440FX, Q35). */
static bool host_ram_layout(MicX100State *s, uint64_t *below, uint64_t *above,
                            Error **errp)
{
    PCIBus *root = pci_device_root_bus(PCI_DEVICE(s));
    Object *phb = root ? OBJECT(BUS(root)->parent) : NULL;
    Error *err = NULL;

    if (!phb || !object_property_find(phb, "below-4g-mem-size") ||
        !object_property_find(phb, "above-4g-mem-size")) {
        error_setg(errp, "host-mem: this machine's PCI host bridge does not "
                   "describe the RAM layout (use an x86 pc or q35 machine)");
        return false;
    }
    *below = object_property_get_uint(phb, "below-4g-mem-size", &err);
    if (!err) {
        *above = object_property_get_uint(phb, "above-4g-mem-size", &err);
    }
    if (err) {
        error_propagate(errp, err);
        return false;
    }
    return true;
}

static bool send_hello(MicX100State *s, Error **errp)
{
    struct mic_link_hello hello = {
        .version = MIC_LINK_VERSION, .role = MIC_LINK_ROLE_HOST,
    };
    MemoryRegion *mr;
    uint64_t size;
    int fd = -1;

    if (s->host_mem) {
        mr = host_memory_backend_get_memory(s->host_mem);
        fd = memory_region_get_fd(mr);
        size = memory_region_size(mr);
        if (fd < 0 || !object_property_get_bool(OBJECT(s->host_mem), "share",
                                                NULL)) {
            error_setg(errp, "host-mem must be a shared, fd-based memory "
                       "backend (memory-backend-memfd,share=on)");
            return false;
        }
        if (!host_ram_layout(s, &hello.host_ram_below_4g,
                             &hello.host_ram_above_4g, errp)) {
            return false;
        }
        if (hello.host_ram_below_4g + hello.host_ram_above_4g != size) {
            error_setg(errp, "host-mem is 0x%" PRIx64 " bytes but the "
                       "machine has 0x%" PRIx64 " bytes of RAM: pass the "
                       "machine's RAM backend (-machine memory-backend=ID)",
                       size, hello.host_ram_below_4g +
                       hello.host_ram_above_4g);
            return false;
        }
    }
    if (link_write(s, MIC_LINK_HELLO, &hello, sizeof(hello), &fd,
                   fd >= 0 ? 1 : 0, true) < 0) {
        error_setg(errp, "cannot send HELLO to the firmware simulator "
                   "(is the chardev a connected unix socket?)");
        return false;
    }
    return true;
}

/* Run a private main context until WELCOME, an error or the timeout. */
static void wait_welcome(MicX100State *s)
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
    /* move the chardev back to the main loop before ctx goes away */
    qemu_chr_fe_set_handlers(&s->chr, NULL, NULL, NULL, NULL, NULL, NULL,
                             true);
    g_source_destroy(timer);
    g_source_unref(timer);
    g_main_context_unref(ctx);
}

static bool check_welcome(MicX100State *s, Error **errp)
{
    const struct mic_link_welcome *w = &s->welcome;

    if (w->version != MIC_LINK_VERSION) {
        error_setg(errp, "firmware simulator speaks link version %u, "
                   "this device version %u", w->version, MIC_LINK_VERSION);
        return false;
    }
    if (s->welcome_nfds < 4) {
        error_setg(errp, "WELCOME carried %d file descriptors, 4 needed",
                   s->welcome_nfds);
        return false;
    }
    if (!is_power_of_2(w->card_mem_size) ||
        w->card_mem_size < MIC_X100_MIN_MEM ||
        w->card_mem_size > MIC_X100_MAX_MEM) {
        error_setg(errp, "card memory size 0x%" PRIx64 " from the firmware "
                   "simulator is not a power of two between 1 MiB and 1 TiB",
                   w->card_mem_size);
        return false;
    }
    if (w->regfile_size < sizeof(MicRegFile)) {
        error_setg(errp, "register file from the firmware simulator is "
                   "smaller than %zu bytes", sizeof(MicRegFile));
        return false;
    }
    return mic_link_check_memfd(s->welcome_fds[0], w->card_mem_size,
                                "card memory", errp) &&
           mic_link_check_memfd(s->welcome_fds[1], sizeof(MicRegFile),
                                "register file", errp) &&
           mic_link_check_eventfd(s->welcome_fds[2], "to-host doorbell",
                                  errp) &&
           mic_link_check_eventfd(s->welcome_fds[3], "to-card doorbell",
                                  errp);
}

/* Map the register file and the card memory; takes the fds on success. */
static bool adopt_resources(MicX100State *s, Error **errp)
{
    void *p;

    p = mmap(NULL, sizeof(MicRegFile), PROT_READ | PROT_WRITE, MAP_SHARED,
             s->welcome_fds[1], 0);
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
    if (!memory_region_init_ram_from_fd(&s->gddr, OBJECT(s), "mic-x100.gddr",
                                        s->welcome.card_mem_size, RAM_SHARED,
                                        s->welcome_fds[0], 0, errp)) {
        return false;
    }
    s->welcome_fds[0] = -1;         /* now owned by the RAM block */
    s->rf_fd = s->welcome_fds[1];   /* kept for PEER (mic_x100_peer.c) */
    s->ev_to_host = s->welcome_fds[2];
    s->ev_to_card = s->welcome_fds[3];
    s->welcome_fds[1] = s->welcome_fds[2] = s->welcome_fds[3] = -1;
    g_unix_set_fd_nonblocking(s->ev_to_host, true, NULL);
    g_unix_set_fd_nonblocking(s->ev_to_card, true, NULL);
    return true;
}

static void close_welcome_fds(MicX100State *s)
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

static void to_host_ready(void *opaque)
{
    MicX100State *s = opaque;
    uint64_t count;

    while (read(s->ev_to_host, &count, sizeof(count)) == sizeof(count)) {
        /* drain */
    }
    trace_mic_x100_link_to_host();
    mic_x100_deliver(s);
    mic_x100_dma_kick(s);           /* maybe a forwarded DHPR write */
}

bool mic_x100_link_connect(MicX100State *s, Error **errp)
{
    Chardev *chr = qemu_chr_fe_get_driver(&s->chr);

    if (!object_dynamic_cast(OBJECT(chr), TYPE_CHARDEV_SOCKET) ||
        !qemu_chr_fe_backend_open(&s->chr)) {
        error_setg(errp, "chardev '%s' must be a connected unix socket to "
                   "the firmware simulator", chr->label);
        return false;
    }
    s->link = MIC_LINK_HANDSHAKE;
    s->hs_done = false;
    s->hs_error[0] = '\0';
    if (!send_hello(s, errp)) {
        goto fail;
    }
    wait_welcome(s);
    if (s->link != MIC_LINK_HANDSHAKE) {
        error_setg(errp, "firmware simulator handshake failed: %s",
                   s->hs_error);
        goto fail;
    }
    if (!check_welcome(s, errp) || !adopt_resources(s, errp)) {
        goto fail;
    }
    close_welcome_fds(s);           /* extra fds, if any */
    s->link = MIC_LINK_UP;
    qemu_chr_fe_set_handlers(&s->chr, link_can_read, link_read, link_event,
                             NULL, s, NULL, true);
    qemu_set_fd_handler(s->ev_to_host, to_host_ready, NULL, s);
    trace_mic_x100_link_up(s->welcome.card_index, s->welcome.card_mem_size);
    return true;

fail:
    close_welcome_fds(s);
    mic_link_rx_reset(&s->rx);
    mic_x100_link_close(s);
    return false;
}

void mic_x100_link_close(MicX100State *s)
{
    if (s->rf_fd >= 0) {
        close(s->rf_fd);
        s->rf_fd = -1;
    }
    if (s->ev_to_host >= 0) {
        qemu_set_fd_handler(s->ev_to_host, NULL, NULL, NULL);
        close(s->ev_to_host);
        s->ev_to_host = -1;
    }
    if (s->ev_to_card >= 0) {
        close(s->ev_to_card);
        s->ev_to_card = -1;
    }
    if (s->link != MIC_LINK_NONE) {
        qemu_chr_fe_set_handlers(&s->chr, NULL, NULL, NULL, NULL, NULL, NULL,
                                 true);
    }
    mic_link_rx_reset(&s->rx);
    if (s->rf_mapped) {
        munmap(s->rf, sizeof(MicRegFile));
        s->rf = NULL;
        s->rf_mapped = false;
    }
    s->link = MIC_LINK_NONE;
}

void mic_x100_link_send(MicX100State *s, uint16_t type)
{
    const char *name = type == MIC_LINK_RESET ? "RESET" : "BOOT_KICK";
    int ret;

    if (s->link != MIC_LINK_UP) {
        qemu_log_mask(LOG_UNIMP, "mic-x100: link down, %s not delivered to "
                      "the firmware simulator\n", name);
        return;
    }
    ret = link_write(s, type, NULL, 0, NULL, 0, false);
    if (ret == -EAGAIN) {
        qemu_log_mask(LOG_UNIMP, "mic-x100: firmware simulator is not "
                      "reading its link, %s dropped\n", name);
    } else if (ret < 0 && s->link == MIC_LINK_UP) {
        link_fail(s, "write failed");
    }
}

/* A run-time message of another part of the device (PEER): never blocks. */
int mic_x100_link_write(MicX100State *s, uint16_t type, const void *payload,
                        uint16_t len, int *fds, int nfds)
{
    int ret;

    if (s->link != MIC_LINK_UP) {
        return -EIO;
    }
    ret = link_write(s, type, payload, len, fds, nfds, false);
    if (ret == -EIO && s->link == MIC_LINK_UP) {
        link_fail(s, "write failed");
    }
    return ret;
}

void mic_x100_link_ring_card(MicX100State *s)
{
    uint64_t one = 1;

    if (s->ev_to_card < 0 || s->link != MIC_LINK_UP) {
        trace_mic_x100_card_irq_dropped();
        return;
    }
    if (write(s->ev_to_card, &one, sizeof(one)) != sizeof(one) &&
        errno != EAGAIN) {
        trace_mic_x100_card_irq_dropped();
    }
}
