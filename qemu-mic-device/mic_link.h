/* SPDX-License-Identifier: GPL-2.0 */
/*
 * micemu link protocol: the unix-socket messages between a device model
 * (mic-x100 in the host VM, mic-card in the card VM) and the card's
 * firmware simulator (micfw).  The normative description is
 * docs/link-protocol.rst; this header holds the wire structs.
 *
 * All integers are little-endian (every participant runs on the same
 * x86_64 machine, so they are native).  A message is a mic_link_hdr
 * followed by hdr.len bytes of payload.  File descriptors travel as
 * SCM_RIGHTS ancillary data on the first byte of the header.
 */
#ifndef MIC_LINK_H
#define MIC_LINK_H

#include <stdint.h>

#define MIC_LINK_MAGIC          0x4c43494du     /* "MICL" */
#define MIC_LINK_VERSION        1
#define MIC_LINK_MAX_PAYLOAD    4096
#define MIC_LINK_MAX_FDS        8

enum mic_link_type {
	/* device -> micfw: first message on a new connection */
	MIC_LINK_HELLO          = 1,
	/* micfw -> device: answer to HELLO, carries the card's resources */
	MIC_LINK_WELCOME        = 2,
	/* host device -> micfw: the host set RGCR bit 0 (card reset) */
	MIC_LINK_RESET          = 3,
	/* host device -> micfw: boot interrupt (APICICR7, vector 229, bit 13) */
	MIC_LINK_BOOT_KICK      = 4,
	/* micfw -> device: a message was refused; payload mic_link_error */
	MIC_LINK_ERROR          = 5,
	/*
	 * host device -> micfw -> card device: where another card's BAR0
	 * (aperture) and BAR4 (registers) sit in the host's bus address
	 * space, with that card's memory, register file and doorbells
	 */
	MIC_LINK_PEER           = 6,
};

enum mic_link_role {
	MIC_LINK_ROLE_HOST      = 1,    /* mic-x100, in the host VM */
	MIC_LINK_ROLE_CARD      = 2,    /* mic-card, in the card VM */
};

struct mic_link_hdr {
	uint32_t magic;                 /* MIC_LINK_MAGIC */
	uint16_t type;                  /* enum mic_link_type */
	uint16_t len;                   /* payload bytes, <= MIC_LINK_MAX_PAYLOAD */
};

/*
 * HELLO.  Host role: if the host VM's RAM is a shareable memfd the
 * device passes it as the only fd and fills in the layout; otherwise it
 * passes no fd and zero sizes (the card then sees no host memory).
 * Card role: no fds.
 */
struct mic_link_hello {
	uint32_t version;               /* MIC_LINK_VERSION */
	uint32_t role;                  /* enum mic_link_role */
	uint64_t host_ram_below_4g;     /* bytes of host RAM at guest phys 0 */
	uint64_t host_ram_above_4g;     /* bytes at guest phys 4 GiB, following
					 * the below-4G part in the memfd */
};

/*
 * WELCOME.  fds, in the order of enum mic_link_welcome_fd; the first
 * MIC_LINK_WELCOME_NFDS always come, the host RAM memfd only to the card
 * role and only if host_ram_* != 0.
 */
enum mic_link_welcome_fd {
	MIC_LINK_FD_CARD_MEM,           /* card memory (GDDR) memfd,
					 * card_mem_size bytes */
	MIC_LINK_FD_REGFILE,            /* register file memfd, regfile_size
					 * bytes (struct MicRegFile) */
	MIC_LINK_FD_TO_HOST,            /* eventfd, written after raising
					 * SICR0 sources */
	MIC_LINK_FD_TO_CARD,            /* eventfd, written after raising
					 * card interrupt sources */
	MIC_LINK_FD_HOST_RAM,           /* card role: the host RAM memfd */
};
#define MIC_LINK_WELCOME_NFDS   4       /* mandatory: up to TO_CARD */

struct mic_link_welcome {
	uint32_t version;
	uint32_t card_index;            /* N of micN */
	uint64_t card_mem_size;
	uint64_t regfile_size;
	uint64_t host_ram_below_4g;     /* card role: host layout from HELLO */
	uint64_t host_ram_above_4g;
};

/* RESET and BOOT_KICK have no payload. */

/*
 * PEER.  One message per other card.  With MIC_LINK_PEER_PRESENT the
 * peer's BARs are decoded at the given host bus addresses and the fds of
 * enum mic_link_peer_fd follow.  Without the flag (no fds) the peer is
 * gone or its BARs are not decoded: its ranges vanish from the
 * receiver's host bus.
 */
#define MIC_LINK_PEER_PRESENT   (1u << 0)

enum mic_link_peer_fd {
	MIC_LINK_PEER_FD_MEM,           /* its card memory memfd (aper_size
					 * bytes, sealed) */
	MIC_LINK_PEER_FD_REGFILE,       /* its register file memfd (struct
					 * MicRegFile, sealed) */
	MIC_LINK_PEER_FD_TO_CARD,       /* its "to card" eventfd */
	MIC_LINK_PEER_FD_TO_HOST,       /* its "to host" eventfd */
	MIC_LINK_PEER_NFDS
};

struct mic_link_peer {
	uint32_t peer_index;            /* N of the peer's micN */
	uint32_t flags;                 /* MIC_LINK_PEER_* */
	uint64_t aper_base;             /* host bus address of the peer's BAR0 */
	uint64_t aper_size;             /* its size = the peer's card memory */
	uint64_t mmio_base;             /* host bus address of the peer's BAR4 */
	uint64_t mmio_size;             /* its size, MIC_MMIO_SIZE */
};

struct mic_link_error {
	uint32_t code;                  /* an errno value */
	char text[124];                 /* NUL-terminated reason */
};

#endif /* MIC_LINK_H */
