/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The device end of the micfw link, shared by mic-x100 and mic-card.
 *
 * At realize the device sends HELLO and waits, bounded by its
 * link-timeout property, for WELCOME, which carries the card memory
 * memfd, the register file memfd, the two doorbell eventfds and, for the
 * card role, maybe the host RAM memfd.  The wait runs a private
 * GMainContext that only dispatches this chardev and a timeout, so a
 * silent peer can never hang QEMU.  Afterwards the chardev stays on the
 * main loop for run-time messages and for noticing micfw going away.
 *
 * The peer may be hostile: a bad header breaks the link, a message of an
 * unexpected type during the handshake fails it, fds are checked for
 * what they must be before anything maps or reads them, and after the
 * link is down nothing the peer sends is looked at.
 * Wire format: mic_link.h, docs/link-protocol.rst.
 */
#include "qemu/osdep.h"
#include "qemu/cutils.h"
#include "qemu/error-report.h"
#include "qemu/log.h"
#include "qemu/main-loop.h"
#include "qapi/error.h"
#include "system/runstate.h"
#include "chardev/char-socket.h"
#include "mic_link_dev.h"
#include "trace.h"

#define MIC_LINK_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)

/* ---- reassembly of messages --------------------------------------------- */

typedef enum MicLinkRxResult {
    MIC_LINK_RX_MORE,       /* input used up, message not complete yet */
    MIC_LINK_RX_MESSAGE,    /* a whole message is in buf: dispatch, reset */
    MIC_LINK_RX_BAD_HEADER, /* bad magic or length: the stream is broken */
} MicLinkRxResult;

static const struct mic_link_hdr *rx_hdr(MicLinkRx *rx)
{
    return (const struct mic_link_hdr *)rx->buf;
}

/* Drop the partial message and close any fds that came with it. */
static void rx_reset(MicLinkRx *rx)
{
    int i;

    for (i = 0; i < rx->nfds; i++) {
        if (rx->fds[i] >= 0) {
            close(rx->fds[i]);
        }
    }
    rx->nfds = 0;
    rx->len = 0;
}

/* Bytes still missing from the current message (always > 0 between calls). */
static uint32_t rx_want(MicLinkRx *rx)
{
    if (rx->len < MIC_LINK_HDR_SIZE) {
        return MIC_LINK_HDR_SIZE - rx->len;
    }
    return MIC_LINK_HDR_SIZE + rx_hdr(rx)->len - rx->len;
}

/* Attach the fds that arrived with the chardev's last read. */
static void rx_collect_fds(MicLinkRx *rx, CharBackend *chr)
{
    int fds[MIC_LINK_MAX_FDS];
    int n, i;

    n = qemu_chr_fe_get_msgfds(chr, fds, MIC_LINK_MAX_FDS);
    for (i = 0; i < n; i++) {
        if (rx->nfds < MIC_LINK_MAX_FDS) {
            rx->fds[rx->nfds++] = fds[i];
        } else {
            close(fds[i]);
        }
    }
}

/* Consume bytes up to the end of the current message. */
static MicLinkRxResult rx_feed(MicLinkRx *rx, const uint8_t **buf, int *size)
{
    const struct mic_link_hdr *h = rx_hdr(rx);
    uint32_t n = MIN((uint32_t)*size, rx_want(rx));

    memcpy(rx->buf + rx->len, *buf, n);
    rx->len += n;
    *buf += n;
    *size -= n;
    /* Check the header before its length decides how much more to read. */
    if (rx->len == MIC_LINK_HDR_SIZE &&
        (h->magic != MIC_LINK_MAGIC || h->len > MIC_LINK_MAX_PAYLOAD)) {
        rx_reset(rx);
        return MIC_LINK_RX_BAD_HEADER;
    }
    if (rx->len >= MIC_LINK_HDR_SIZE && rx_want(rx) == 0) {
        return MIC_LINK_RX_MESSAGE;
    }
    return MIC_LINK_RX_MORE;
}

/* ---- checks on what the peer hands over --------------------------------- */

bool mic_link_check_eventfd(int fd, const char *what, Error **errp)
{
    g_autofree char *link = g_strdup_printf("/proc/self/fd/%d", fd);
    char target[32] = "";
    ssize_t n = fd >= 0 ? readlink(link, target, sizeof(target) - 1) : -1;

    if (n < 0 || strcmp(target, "anon_inode:[eventfd]")) {
        error_setg(errp, "%s from the firmware simulator is not an eventfd "
                   "(%s)", what, n < 0 ? "no such fd" : target);
        return false;
    }
    return true;
}

bool mic_link_check_memfd(int fd, uint64_t min_size, const char *what,
                          Error **errp)
{
    struct stat st;
    int seals = fd >= 0 ? fcntl(fd, F_GET_SEALS) : -1;

    if (seals < 0 || (seals & MIC_LINK_SEALS) != MIC_LINK_SEALS) {
        error_setg(errp, "%s from the firmware simulator is not a memfd "
                   "sealed against resizing (F_SEAL_SHRINK, F_SEAL_GROW, "
                   "F_SEAL_SEAL)", what);
        return false;
    }
    if (fstat(fd, &st) < 0 || (uint64_t)st.st_size < min_size) {
        error_setg(errp, "%s from the firmware simulator is smaller than "
                   "0x%" PRIx64 " bytes", what, min_size);
        return false;
    }
    return true;
}

MicRegFile *mic_link_map_regfile(int fd, Error **errp)
{
    MicRegFile *rf;
    void *p;

    p = mmap(NULL, sizeof(MicRegFile), PROT_READ | PROT_WRITE, MAP_SHARED,
             fd, 0);
    if (p == MAP_FAILED) {
        error_setg_errno(errp, errno, "cannot map the register file");
        return NULL;
    }
    rf = p;
    if (__atomic_load_n(&rf->magic, __ATOMIC_ACQUIRE) != MIC_REGFILE_MAGIC ||
        rf->version != MIC_REGFILE_VERSION) {
        error_setg(errp, "register file has no valid header (magic 0x%x, "
                   "version %u)", rf->magic, rf->version);
        munmap(p, sizeof(MicRegFile));
        return NULL;
    }
    return rf;
}

/* ---- receiving ---------------------------------------------------------- */

static void link_fail(MicLink *l, const char *why)
{
    if (l->state == MIC_LINK_HANDSHAKE) {
        if (!l->hs_error[0]) {
            pstrcpy(l->hs_error, sizeof(l->hs_error), why);
        }
        l->hs_done = true;
    } else if (l->state == MIC_LINK_UP && runstate_is_running()) {
        /* not while QEMU shuts down: closing chardevs is no news then */
        warn_report("%s: link to the firmware simulator lost (%s); %s",
                    l->name, why, l->role == MIC_LINK_ROLE_HOST ?
                    "the card is frozen, the host keeps running" :
                    "the card keeps running");
    }
    trace_mic_link_down(l->name, why);
    l->state = MIC_LINK_DOWN;
}

static void handle_welcome(MicLink *l, const uint8_t *payload, uint16_t len)
{
    int i;

    if (len < sizeof(l->welcome)) {
        link_fail(l, "WELCOME payload too short");
        return;
    }
    memcpy(&l->welcome, payload, sizeof(l->welcome));
    for (i = 0; i < l->rx.nfds; i++) {
        l->welcome_fds[i] = l->rx.fds[i];
    }
    l->welcome_nfds = l->rx.nfds;
    l->rx.nfds = 0;                 /* ownership moved */
    l->hs_done = true;
}

static void handle_error(MicLink *l, const uint8_t *payload, uint16_t len)
{
    struct mic_link_error err = { 0 };
    char why[sizeof(err.text) + 32];

    memcpy(&err, payload, MIN(len, sizeof(err)));
    err.text[sizeof(err.text) - 1] = '\0';
    snprintf(why, sizeof(why), "micfw refused: %s (errno %u)",
             err.text[0] ? err.text : "no reason given", err.code);
    if (l->state == MIC_LINK_HANDSHAKE) {
        link_fail(l, why);
    } else {
        qemu_log_mask(LOG_UNIMP, "%s: %s\n", l->name, why);
    }
}

static void rx_dispatch(MicLink *l)
{
    const struct mic_link_hdr *h = rx_hdr(&l->rx);
    const uint8_t *payload = l->rx.buf + MIC_LINK_HDR_SIZE;

    trace_mic_link_recv(l->name, h->type, h->len, l->rx.nfds);
    if (h->type == MIC_LINK_ERROR) {
        handle_error(l, payload, h->len);
    } else if (l->state == MIC_LINK_HANDSHAKE) {
        if (h->type == MIC_LINK_WELCOME) {
            handle_welcome(l, payload, h->len);
        } else {
            link_fail(l, "unexpected message instead of WELCOME");
        }
    } else if (l->ops->message) {
        l->ops->message(l->opaque, h->type, payload, h->len, l->rx.fds,
                        l->rx.nfds);
    } else {
        qemu_log_mask(LOG_UNIMP, "%s: ignoring link message type %u\n",
                      l->name, h->type);
    }
    rx_reset(&l->rx);
}

static int link_can_read(void *opaque)
{
    MicLink *l = opaque;

    return rx_want(&l->rx);
}

static void link_read(void *opaque, const uint8_t *buf, int size)
{
    MicLink *l = opaque;

    rx_collect_fds(&l->rx, &l->chr);
    while (size > 0) {
        if (l->state == MIC_LINK_DOWN) {
            rx_reset(&l->rx);       /* a broken peer: drop what it sends */
            return;
        }
        switch (rx_feed(&l->rx, &buf, &size)) {
        case MIC_LINK_RX_BAD_HEADER:
            link_fail(l, "bad message header (magic or length)");
            return;
        case MIC_LINK_RX_MESSAGE:
            rx_dispatch(l);
            break;
        case MIC_LINK_RX_MORE:
            break;
        }
    }
}

static void link_event(void *opaque, QEMUChrEvent event)
{
    MicLink *l = opaque;

    if (event == CHR_EVENT_CLOSED) {
        rx_reset(&l->rx);
        link_fail(l, "connection closed");
    } else if (event == CHR_EVENT_OPENED && l->state == MIC_LINK_DOWN) {
        warn_report("%s: the link chardev reconnected; reconnecting to a "
                    "firmware simulator is not supported", l->name);
    }
}

/* ---- sending ------------------------------------------------------------ */

/*
 * Send one message; blocking only at realize.  Returns 0 sent, -EAGAIN
 * not sent (socket full, non-blocking only), -EIO broken.
 */
static int link_write(MicLink *l, uint16_t type, const void *payload,
                      uint16_t len, int *fds, int nfds, bool may_block)
{
    uint8_t buf[MIC_LINK_HDR_SIZE + MIC_LINK_MAX_PAYLOAD];
    struct mic_link_hdr h = {
        .magic = MIC_LINK_MAGIC, .type = type, .len = len,
    };
    int ret;

    assert(len <= MIC_LINK_MAX_PAYLOAD);
    memcpy(buf, &h, MIC_LINK_HDR_SIZE);
    if (len) {
        memcpy(buf + MIC_LINK_HDR_SIZE, payload, len);
    }
    if (nfds && qemu_chr_fe_set_msgfds(&l->chr, fds, nfds) < 0) {
        return -EIO;
    }
    trace_mic_link_send(l->name, type, len, nfds);
    if (may_block) {
        ret = qemu_chr_fe_write_all(&l->chr, buf, MIC_LINK_HDR_SIZE + len);
    } else {
        ret = qemu_chr_fe_write(&l->chr, buf, MIC_LINK_HDR_SIZE + len);
        if (ret < 0 && errno == EAGAIN) {
            return -EAGAIN;
        }
    }
    return ret == (int)(MIC_LINK_HDR_SIZE + len) ? 0 : -EIO;
}

int mic_link_send(MicLink *l, uint16_t type, const void *payload,
                  uint16_t len, int *fds, int nfds)
{
    int ret;

    if (l->state != MIC_LINK_UP) {
        return -EIO;
    }
    ret = link_write(l, type, payload, len, fds, nfds, false);
    if (ret == -EIO && l->state == MIC_LINK_UP) {
        link_fail(l, "write failed");
    }
    return ret;
}

void mic_link_ring(MicLink *l)
{
    int fd = l->role == MIC_LINK_ROLE_HOST ? l->ev_to_card : l->ev_to_host;
    uint64_t one = 1;

    if (fd < 0) {
        trace_mic_link_ring_dropped(l->name);
        return;
    }
    if (write(fd, &one, sizeof(one)) != sizeof(one) && errno != EAGAIN) {
        trace_mic_link_ring_dropped(l->name);
    }
}

static void doorbell_ready(void *opaque)
{
    MicLink *l = opaque;
    int fd = l->role == MIC_LINK_ROLE_HOST ? l->ev_to_host : l->ev_to_card;
    uint64_t count;

    while (read(fd, &count, sizeof(count)) == sizeof(count)) {
        /* drain */
    }
    trace_mic_link_doorbell(l->name);
    l->ops->doorbell(l->opaque);
}

/* ---- handshake ---------------------------------------------------------- */

static gboolean handshake_timeout(gpointer opaque)
{
    link_fail(opaque, "timed out waiting for WELCOME");
    return G_SOURCE_REMOVE;
}

/* Run a private main context until WELCOME, an error or the timeout. */
static void wait_welcome(MicLink *l)
{
    GMainContext *ctx = g_main_context_new();
    GSource *timer = g_timeout_source_new(l->timeout_ms);

    g_source_set_callback(timer, handshake_timeout, l, NULL);
    g_source_attach(timer, ctx);
    qemu_chr_fe_set_handlers(&l->chr, link_can_read, link_read, link_event,
                             NULL, l, ctx, true);
    while (!l->hs_done) {
        g_main_context_iteration(ctx, TRUE);
    }
    /* move the chardev back to the main loop before ctx goes away */
    qemu_chr_fe_set_handlers(&l->chr, NULL, NULL, NULL, NULL, NULL, NULL,
                             true);
    g_source_destroy(timer);
    g_source_unref(timer);
    g_main_context_unref(ctx);
}

/* What every role requires of WELCOME. */
static bool check_welcome(MicLink *l, Error **errp)
{
    const struct mic_link_welcome *w = &l->welcome;
    const int *fds = l->welcome_fds;

    if (w->version != MIC_LINK_VERSION) {
        error_setg(errp, "firmware simulator speaks link version %u, "
                   "this device version %u", w->version, MIC_LINK_VERSION);
        return false;
    }
    if (l->welcome_nfds < MIC_LINK_WELCOME_NFDS) {
        error_setg(errp, "WELCOME carried %d file descriptors, %d needed",
                   l->welcome_nfds, MIC_LINK_WELCOME_NFDS);
        return false;
    }
    if (w->regfile_size < sizeof(MicRegFile)) {
        error_setg(errp, "register file from the firmware simulator is "
                   "smaller than %zu bytes", sizeof(MicRegFile));
        return false;
    }
    return mic_link_check_memfd(fds[MIC_LINK_FD_CARD_MEM], 0, "card memory",
                                errp) &&
           mic_link_check_memfd(fds[MIC_LINK_FD_REGFILE], sizeof(MicRegFile),
                                "register file", errp) &&
           mic_link_check_eventfd(fds[MIC_LINK_FD_TO_HOST],
                                  "to-host doorbell", errp) &&
           mic_link_check_eventfd(fds[MIC_LINK_FD_TO_CARD],
                                  "to-card doorbell", errp);
}

int mic_link_take_fd(MicLink *l, unsigned int slot)
{
    int fd;

    if (slot >= (unsigned int)l->welcome_nfds) {
        return -1;
    }
    fd = l->welcome_fds[slot];
    l->welcome_fds[slot] = -1;
    return fd;
}

/* The register file and the doorbells: what every role keeps. */
static bool adopt_welcome(MicLink *l, Error **errp)
{
    l->rf = mic_link_map_regfile(l->welcome_fds[MIC_LINK_FD_REGFILE], errp);
    if (!l->rf) {
        return false;
    }
    l->rf_fd = mic_link_take_fd(l, MIC_LINK_FD_REGFILE);
    l->ev_to_host = mic_link_take_fd(l, MIC_LINK_FD_TO_HOST);
    l->ev_to_card = mic_link_take_fd(l, MIC_LINK_FD_TO_CARD);
    g_unix_set_fd_nonblocking(l->ev_to_host, true, NULL);
    g_unix_set_fd_nonblocking(l->ev_to_card, true, NULL);
    return true;
}

static void close_welcome_fds(MicLink *l)
{
    int i;

    for (i = 0; i < l->welcome_nfds; i++) {
        if (l->welcome_fds[i] >= 0) {
            close(l->welcome_fds[i]);
        }
        l->welcome_fds[i] = -1;
    }
    l->welcome_nfds = 0;
}

void mic_link_init(MicLink *l, enum mic_link_role role, const char *name,
                   const MicLinkOps *ops, void *opaque)
{
    l->role = role;
    l->name = name;
    l->ops = ops;
    l->opaque = opaque;
    l->state = MIC_LINK_NONE;
    l->rf = NULL;
    l->rf_fd = l->ev_to_host = l->ev_to_card = -1;
    l->welcome_nfds = 0;
}

bool mic_link_wanted(MicLink *l)
{
    return qemu_chr_fe_backend_connected(&l->chr);
}

bool mic_link_connect(MicLink *l, const struct mic_link_hello *hello,
                      int hello_fd, Error **errp)
{
    Chardev *chr = qemu_chr_fe_get_driver(&l->chr);

    if (!object_dynamic_cast(OBJECT(chr), TYPE_CHARDEV_SOCKET) ||
        !qemu_chr_fe_backend_open(&l->chr)) {
        error_setg(errp, "chardev '%s' must be a connected unix socket to "
                   "the firmware simulator", chr->label);
        return false;
    }
    l->state = MIC_LINK_HANDSHAKE;
    l->hs_done = false;
    l->hs_error[0] = '\0';
    if (link_write(l, MIC_LINK_HELLO, hello, sizeof(*hello), &hello_fd,
                   hello_fd >= 0 ? 1 : 0, true) < 0) {
        error_setg(errp, "cannot send HELLO to the firmware simulator "
                   "(is the chardev a connected unix socket?)");
        goto fail;
    }
    wait_welcome(l);
    if (l->state != MIC_LINK_HANDSHAKE) {
        error_setg(errp, "firmware simulator handshake failed: %s",
                   l->hs_error);
        goto fail;
    }
    if (!check_welcome(l, errp) || !adopt_welcome(l, errp) ||
        !l->ops->welcome(l->opaque, errp)) {
        goto fail;
    }
    close_welcome_fds(l);           /* what the role did not take */
    l->state = MIC_LINK_UP;
    qemu_chr_fe_set_handlers(&l->chr, link_can_read, link_read, link_event,
                             NULL, l, NULL, true);
    qemu_set_fd_handler(l->role == MIC_LINK_ROLE_HOST ? l->ev_to_host :
                        l->ev_to_card, doorbell_ready, NULL, l);
    trace_mic_link_up(l->name, l->welcome.card_index,
                      l->welcome.card_mem_size);
    return true;

fail:
    close_welcome_fds(l);
    mic_link_close(l);
    return false;
}

static void close_fd(int *fd, bool watched)
{
    if (*fd >= 0) {
        if (watched) {
            qemu_set_fd_handler(*fd, NULL, NULL, NULL);
        }
        close(*fd);
        *fd = -1;
    }
}

void mic_link_close(MicLink *l)
{
    bool host = l->role == MIC_LINK_ROLE_HOST;

    close_fd(&l->rf_fd, false);
    close_fd(&l->ev_to_host, host);
    close_fd(&l->ev_to_card, !host);
    if (l->state != MIC_LINK_NONE) {
        qemu_chr_fe_set_handlers(&l->chr, NULL, NULL, NULL, NULL, NULL, NULL,
                                 true);
    }
    rx_reset(&l->rx);
    if (l->rf) {
        munmap(l->rf, sizeof(MicRegFile));
        l->rf = NULL;
    }
    l->state = MIC_LINK_NONE;
}
