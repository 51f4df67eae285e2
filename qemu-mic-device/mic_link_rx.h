/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Receive side of the micfw link, shared by mic-x100 and mic-card: turns
 * the chardev's byte stream (and the fds passed with it) back into whole
 * mic_link messages.  What a message means stays with each device.
 */
#ifndef MIC_LINK_RX_H
#define MIC_LINK_RX_H

#include "chardev/char-fe.h"
#include "mic_link.h"

#define MIC_LINK_HDR_SIZE ((uint32_t)sizeof(struct mic_link_hdr))

typedef struct MicLinkRx {
    uint8_t buf[sizeof(struct mic_link_hdr) + MIC_LINK_MAX_PAYLOAD];
    uint32_t len;
    int fds[MIC_LINK_MAX_FDS];
    int nfds;
} MicLinkRx;

/* What mic_link_rx_feed() found. */
typedef enum MicLinkRxResult {
    MIC_LINK_RX_MORE,       /* input used up, message not complete yet */
    MIC_LINK_RX_MESSAGE,    /* a whole message is in buf: dispatch, reset */
    MIC_LINK_RX_BAD_HEADER, /* bad magic or length: the stream is broken */
} MicLinkRxResult;

/* Drop the partial message and close any fds that came with it. */
void mic_link_rx_reset(MicLinkRx *rx);

static inline const struct mic_link_hdr *mic_link_rx_hdr(MicLinkRx *rx)
{
    return (const struct mic_link_hdr *)rx->buf;
}

static inline const uint8_t *mic_link_rx_payload(MicLinkRx *rx)
{
    return rx->buf + MIC_LINK_HDR_SIZE;
}

/* Bytes still missing from the current message (always > 0 between calls). */
uint32_t mic_link_rx_want(MicLinkRx *rx);

/* Attach the fds that arrived with the chardev's last read. */
void mic_link_rx_collect_fds(MicLinkRx *rx, CharBackend *chr);

/*
 * Consume bytes from buf (size of them) up to the end of the current message.  On
 * MIC_LINK_RX_BAD_HEADER the buffer has already been reset.
 */
MicLinkRxResult mic_link_rx_feed(MicLinkRx *rx, const uint8_t **buf,
                                 int *size);

/*
 * Checks on the fds WELCOME carries: whatever micfw (or something posing
 * as it) hands over is used for the device's life, so a doorbell must be
 * an eventfd (the drain loops read it until EAGAIN) and shared memory a
 * memfd sealed against shrinking and growing (a peer truncating it would
 * turn the next access into SIGBUS).  Both set errp and return false on
 * anything else; @what names the fd in the message.
 */
bool mic_link_check_eventfd(int fd, const char *what, Error **errp);
bool mic_link_check_memfd(int fd, uint64_t min_size, const char *what,
                          Error **errp);

#endif /* MIC_LINK_RX_H */
