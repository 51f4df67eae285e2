/*
 * Receive side of the micfw link, shared by mic-x100 and mic-card.
 *
 * SPDX-License-Identifier: GPL-2.0
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "mic_link_rx.h"

#define MIC_LINK_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)

void mic_link_rx_reset(MicLinkRx *rx)
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

uint32_t mic_link_rx_want(MicLinkRx *rx)
{
    if (rx->len < MIC_LINK_HDR_SIZE) {
        return MIC_LINK_HDR_SIZE - rx->len;
    }
    return MIC_LINK_HDR_SIZE + mic_link_rx_hdr(rx)->len - rx->len;
}

void mic_link_rx_collect_fds(MicLinkRx *rx, CharBackend *chr)
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

MicLinkRxResult mic_link_rx_feed(MicLinkRx *rx, const uint8_t **buf,
                                 int *size)
{
    const struct mic_link_hdr *h = mic_link_rx_hdr(rx);
    uint32_t n = MIN((uint32_t)*size, mic_link_rx_want(rx));

    memcpy(rx->buf + rx->len, *buf, n);
    rx->len += n;
    *buf += n;
    *size -= n;
    /* Check the header before its length decides how much more to read. */
    if (rx->len == MIC_LINK_HDR_SIZE &&
        (h->magic != MIC_LINK_MAGIC || h->len > MIC_LINK_MAX_PAYLOAD)) {
        mic_link_rx_reset(rx);
        return MIC_LINK_RX_BAD_HEADER;
    }
    if (rx->len >= MIC_LINK_HDR_SIZE && mic_link_rx_want(rx) == 0) {
        return MIC_LINK_RX_MESSAGE;
    }
    return MIC_LINK_RX_MORE;
}

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
