/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The device end of the micfw link, one implementation embedded by both
 * mic-x100 (role HOST) and mic-card (role CARD): the chardev, the
 * handshake (HELLO out, WELCOME in, bounded by a timeout), the checks on
 * what WELCOME hands over, the mapped register file, the two doorbell
 * eventfds, run-time messages and hang-up.  What a message means stays
 * with each device (MicLinkOps).  Wire format: mic_link.h,
 * docs/link-protocol.rst.
 */
#ifndef MIC_LINK_DEV_H
#define MIC_LINK_DEV_H

#include "chardev/char-fe.h"
#include "mic_link.h"
#include "mic_regfile.h"

#define MIC_LINK_HDR_SIZE ((uint32_t)sizeof(struct mic_link_hdr))
#define MIC_LINK_DEFAULT_TIMEOUT_MS 5000

/* Reassembly of one message: header, payload and the fds sent with it. */
typedef struct MicLinkRx {
    uint8_t buf[sizeof(struct mic_link_hdr) + MIC_LINK_MAX_PAYLOAD];
    uint32_t len;
    int fds[MIC_LINK_MAX_FDS];
    int nfds;
} MicLinkRx;

/* Where the link stands. */
typedef enum MicLinkState {
    MIC_LINK_NONE,          /* no chardev: standalone device */
    MIC_LINK_HANDSHAKE,     /* HELLO sent, waiting for WELCOME */
    MIC_LINK_UP,
    MIC_LINK_DOWN,          /* micfw went away or misbehaved */
} MicLinkState;

typedef struct MicLinkOps {
    /*
     * At connect, after the checks every role shares and with the
     * register file mapped: the role's own checks of l->welcome and the
     * fds it keeps (mic_link_take_fd()).  Fds not taken are closed.
     */
    bool (*welcome)(void *opaque, Error **errp);
    /* The other side rang this side's doorbell eventfd. */
    void (*doorbell)(void *opaque);
    /*
     * A message other than WELCOME or ERROR while the link is up (NULL:
     * logged and ignored).  The callee sets the fds it keeps to -1; the
     * others are closed after it returns.
     */
    void (*message)(void *opaque, uint16_t type, const uint8_t *payload,
                    uint16_t len, int *fds, int nfds);
} MicLinkOps;

typedef struct MicLink {
    /* device properties */
    CharBackend chr;                /* "chardev" */
    uint32_t timeout_ms;            /* "link-timeout": WELCOME wait */

    /* mic_link_init() */
    enum mic_link_role role;
    const char *name;               /* device name for logs and traces */
    const MicLinkOps *ops;
    void *opaque;

    MicLinkState state;
    MicLinkRx rx;
    char hs_error[160];             /* why the handshake failed */
    bool hs_done;
    struct mic_link_welcome welcome;
    int welcome_fds[MIC_LINK_MAX_FDS];  /* enum mic_link_welcome_fd */
    int welcome_nfds;

    /* what the link keeps from WELCOME while it is up */
    MicRegFile *rf;                 /* the mapped register file */
    int rf_fd;                      /* its memfd (PEER hands it on) */
    int ev_to_host;
    int ev_to_card;
} MicLink;

void mic_link_init(MicLink *l, enum mic_link_role role, const char *name,
                   const MicLinkOps *ops, void *opaque);

/* Is a chardev attached (a linked device), or does the device stand alone? */
bool mic_link_wanted(MicLink *l);

/*
 * Send HELLO (with @hello_fd if >= 0), wait for WELCOME, check and adopt
 * it.  On failure everything is released and the state is NONE again.
 */
bool mic_link_connect(MicLink *l, const struct mic_link_hello *hello,
                      int hello_fd, Error **errp);
/* Release everything; safe in any state, and twice. */
void mic_link_close(MicLink *l);

/* Take WELCOME fd @slot (enum mic_link_welcome_fd); -1 if absent. */
int mic_link_take_fd(MicLink *l, unsigned int slot);

/*
 * A run-time message: tried once, never blocks (a guest register write
 * may have brought us here and a peer that stopped reading must not
 * stall the vCPU).  0 sent, -EAGAIN socket full, -EIO link down/broken.
 */
int mic_link_send(MicLink *l, uint16_t type, const void *payload,
                  uint16_t len, int *fds, int nfds);

/* Ring the other side's doorbell eventfd (host: "to card"). */
void mic_link_ring(MicLink *l);

/*
 * Checks on fds from the link: whatever micfw (or something posing as
 * it) hands over is used for the device's life, so a doorbell must be an
 * eventfd (the drain loops read it until EAGAIN) and shared memory a
 * memfd sealed against shrinking and growing (a peer truncating it would
 * turn the next access into SIGBUS).  Both set errp and return false on
 * anything else; @what names the fd in the message.
 */
bool mic_link_check_eventfd(int fd, const char *what, Error **errp);
bool mic_link_check_memfd(int fd, uint64_t min_size, const char *what,
                          Error **errp);

/* Map a register file memfd and check its header; NULL and errp if not. */
MicRegFile *mic_link_map_regfile(int fd, Error **errp);

#endif /* MIC_LINK_DEV_H */
