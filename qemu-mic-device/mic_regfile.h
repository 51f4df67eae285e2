/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The x100 register file: one structure, shared by the host's BAR4 view
 * (mic-x100), the card's register window (mic-card) and the firmware
 * simulator (micfw).  It lives in a shared memfd, so every field that more
 * than one process writes is accessed with atomics.
 *
 * Offsets are byte offsets into the 128 KiB MMIO window (host BAR4 = card
 * physical 0x8007C0000), facts sheet §2.1.  This header is the one place
 * that names them on the hardware side; the kernel drivers keep their own
 * definitions on purpose (ARCHITECTURE §4).
 *
 * This library is plain C11 + GCC atomics, no QEMU or GLib headers, so the
 * unit tests, micfw and QEMU all build the same file.
 */
#ifndef MIC_REGFILE_H
#define MIC_REGFILE_H

#include <stdbool.h>
#include <stdint.h>

#define MIC_MMIO_SIZE           0x20000u
#define MIC_SBOX_BASE           0x10000u

/* Register offsets in the MMIO window (facts §2.1) */
#define MIC_REG_POSTCODE        0x0242Cu
#define MIC_REG_SMPT(i)         (MIC_SBOX_BASE + 0x3100u + 4u * (i))
#define MIC_REG_RGCR            (MIC_SBOX_BASE + 0x4010u)
#define MIC_REG_SICR0           (MIC_SBOX_BASE + 0x9004u)
#define MIC_REG_SICE0           (MIC_SBOX_BASE + 0x900Cu)
#define MIC_REG_SICC0           (MIC_SBOX_BASE + 0x9010u)
#define MIC_REG_SIAC0           (MIC_SBOX_BASE + 0x9014u)
#define MIC_REG_MXAR(i)         (MIC_SBOX_BASE + 0x9044u + 4u * (i))
#define MIC_REG_MSIXPBACR       (MIC_SBOX_BASE + 0x9084u)
#define MIC_REG_DMA_CH(n)       (MIC_SBOX_BASE + 0xA000u + 0x40u * (n))
#define MIC_REG_DCR             (MIC_SBOX_BASE + 0xA280u)
#define MIC_REG_APICICR_LO(k)   (MIC_SBOX_BASE + 0xA9D0u + 8u * (k))
#define MIC_REG_APICICR_HI(k)   (MIC_SBOX_BASE + 0xA9D4u + 8u * (k))
#define MIC_REG_SPAD(j)         (MIC_SBOX_BASE + 0xAB20u + 4u * (j))
#define MIC_REG_RDMASR(m)       (MIC_SBOX_BASE + 0xB180u + 4u * (m))
#define MIC_REG_SDBIC(d)        (MIC_SBOX_BASE + 0xCC90u + 4u * (d))

/* Per-DMA-channel register offsets, relative to MIC_REG_DMA_CH(n) (§5.2) */
#define MIC_DMA_DCAR            0x00u
#define MIC_DMA_DHPR            0x04u
#define MIC_DMA_DTPR            0x08u
#define MIC_DMA_DRAR_LO         0x14u
#define MIC_DMA_DRAR_HI         0x18u
#define MIC_DMA_DSTAT           0x20u
#define MIC_DMA_DCHERR          0x2Cu
#define MIC_DMA_DCHERRMSK       0x30u

/* DMA register fields (§5.2; micemu's choices in docs/dma.rst) */
#define MIC_DMA_DCAR_IM0        (1u << 24)      /* mask, card-owned channel */
#define MIC_DMA_DCAR_IM1        (1u << 25)      /* mask, host-owned channel */
#define MIC_DMA_DRAR_SIZE_SHIFT 4               /* DRAR_HI 20:4 ring size */
#define MIC_DMA_DRAR_SIZE_MASK  0x1FFFFu
#define MIC_DMA_DRAR_SYSMEM     (1u << 26)      /* ring in system memory */
#define MIC_DMA_DRAR_SMPT_SHIFT 21              /* DRAR_HI 25:21 SMPT index */
#define MIC_DMA_DRAR_SMPT_MASK  0x1Fu
#define MIC_DMA_DRAR_SYS_HI     0x3u            /* sysmem: address 33:32 */
#define MIC_DMA_DRAR_CARD_HI    0xFu            /* card mem: address 35:32 */
#define MIC_DMA_DSTAT_INDEX     0x1FFFFu        /* completion index */
#define MIC_DMA_DSTAT_STATUS    0xF0000000u
#define MIC_DMA_DSTAT_HALTED    (1u << 29)      /* quiesced / error */

#define MIC_NUM_SMPT            32
#define MIC_NUM_MXAR            16      /* MSI-X vectors (facts §2.1 gap) */
#define MIC_NUM_DMA_CH          8
#define MIC_NUM_APICICR         8
#define MIC_NUM_SPAD            16
#define MIC_NUM_RDMASR          8
#define MIC_NUM_SDBIC           9       /* the card may use 0..8 */

#define MIC_RGCR_RESET          (1u << 0)
#define MIC_APICICR_SEND        (1u << 13)
#define MIC_APICICR_VECTOR_MASK 0xFFu
#define MIC_BOOT_VECTOR         229u
#define MIC_SDBIC_DBREQ         (1u << 31)

/* SICR0/SICE0/SIAC0/MXAR source bits (facts §2.3) */
#define MIC_SRC_DB(d)           (1u << (d))             /* d = 0..3 */
#define MIC_SRC_DB_MASK         0x0000000Fu
#define MIC_SRC_DMA(n)          (1u << (8 + (n)))       /* n = 0..7 */
#define MIC_SRC_DMA_MASK        0x0000FF00u
#define MIC_SRC_ERR             (1u << 30)
#define MIC_SRC_VALID_MASK      (MIC_SRC_DB_MASK | MIC_SRC_DMA_MASK | MIC_SRC_ERR)

/* SPAD2, the bootstrap "download info" (facts §2.2) */
#define MIC_SPAD2_READY         (1u << 0)
#define MIC_SPAD2_APIC_SHIFT    1
#define MIC_SPAD2_APIC_MASK     (0x1FFu << 1)
#define MIC_SPAD2_ADDR_MASK     0xFFFFF000u
#define MIC_DEFAULT_BOOT_ADDR   0x04000000u     /* 64 MiB */

/* DCR reset value: channels 0-3 owned by the host, nothing enabled (§5.2) */
#define MIC_DCR_OWNER_HOST(n)   (1u << (2 * (n)))
#define MIC_DCR_ENABLE(n)       (1u << (2 * (n) + 1))

/*
 * Card-side interrupt sources, numbered as the mic-card device's MSI-X
 * vectors: APICICR doorbells 0-7, RDMASR 0-7, card DMA channels 4-7.
 */
#define MIC_CARD_SRC_APICICR(k) (1u << (k))
#define MIC_CARD_SRC_RDMASR(m)  (1u << (8 + (m)))
#define MIC_CARD_SRC_DMA(n)     (1u << (16 + (n) - 4))  /* n = 4..7 */
#define MIC_CARD_NUM_SRC        20

#define MIC_REGFILE_MAGIC       0x4d494352u     /* "MICR" */
#define MIC_REGFILE_VERSION     1

/*
 * The shared structure.  mmio[] is the register image indexed by
 * offset / 4; the control words after it are not guest visible.
 */
typedef struct MicRegFile {
	uint32_t mmio[MIC_MMIO_SIZE / 4];
	uint32_t magic;                 /* MIC_REGFILE_MAGIC once initialised */
	uint32_t version;
	uint32_t host_raised;           /* SICR0 sources raised, not yet seen by
					 * the host device (atomic) */
	uint32_t card_raised;           /* MIC_CARD_SRC_* raised, not yet seen by
					 * the card device (atomic) */
	uint32_t dma_gen[MIC_NUM_DMA_CH];  /* bumped when a channel is enabled,
					    * disabled, changes owner, gets a
					    * new ring or is reset (atomic) */
	uint32_t dma_same_head;         /* channels whose DHPR was rewritten
					 * with the value it held (atomic) */
	/*
	 * Fault injection, set by the firmware simulator (its control
	 * socket), read by the register file and the devices (atomic).
	 */
	uint32_t fault_link_down;       /* nonzero: the card is off the host's
					 * bus (host side reads all ones) */
	uint32_t fault_db_drop[2];      /* doorbells still to swallow, per
					 * MicFaultDir */
	uint32_t fault_db_dup[2];       /* doorbells still to ring twice */
	uint32_t fault_dup_pending[2];  /* sources to raise once more after
					 * their delivery (host: SICR0 bits,
					 * card: MIC_CARD_SRC_*) */
	uint32_t fault_dma_error;       /* channels whose next descriptor
					 * fails */
	uint32_t reserved[1003];        /* pads the control part to 4 KiB */
} MicRegFile;

/* Doorbell direction of a doorbell fault. */
typedef enum MicFaultDir {
	MIC_FAULT_TO_CARD,              /* APICICR, RDMASR */
	MIC_FAULT_TO_HOST,              /* SDBIC */
} MicFaultDir;

/* Who performs an access: semantics differ per side (e.g. SDBIC). */
typedef enum MicRegSide {
	MIC_SIDE_HOST,                  /* host BAR4 */
	MIC_SIDE_CARD,                  /* card register window */
} MicRegSide;

/* What a write asks the caller to do; filled by mic_regfile_write(). */
enum {
	MIC_EV_HOST_IRQ   = 1u << 0,    /* host sources raised or enables changed:
					 * call mic_regfile_host_deliver() */
	MIC_EV_CARD_IRQ   = 1u << 1,    /* card sources raised (card_sources) */
	MIC_EV_RESET      = 1u << 2,    /* RGCR bit 0 written */
	MIC_EV_BOOT_KICK  = 1u << 3,    /* APICICR7 send with vector 229 */
	MIC_EV_SMPT       = 1u << 4,    /* SMPT entries changed (smpt_mask) */
	MIC_EV_DMA        = 1u << 5,    /* DHPR written (dma_mask) */
	MIC_EV_PBA_CLEAR  = 1u << 6,    /* MSIXPBACR written with bit 0 */
	MIC_EV_DB_DROPPED = 1u << 7,    /* a doorbell swallowed (fault) */
	MIC_EV_DB_DOUBLED = 1u << 8,    /* a doorbell to ring twice (fault) */
	MIC_EV_GUEST_ERR  = 1u << 31,   /* error describes a guest mistake */
};

typedef struct MicRegEvents {
	uint32_t flags;                 /* MIC_EV_* */
	uint32_t card_sources;          /* MIC_CARD_SRC_* newly raised */
	uint32_t smpt_mask;             /* SMPT entries written */
	uint32_t dma_mask;              /* channels whose DHPR was written */
	const char *error;              /* static text, set with MIC_EV_GUEST_ERR */
} MicRegEvents;

/* Power-on state of every register and the control words. */
void mic_regfile_init(MicRegFile *rf);

/*
 * Card reset (RGCR): clear the card-side state (interrupt causes and
 * enables raised by the card, APICICR/RDMASR, DMA channels back to their
 * reset values, SPADs except those the host owns).  SMPT and MXAR keep
 * their values: the host rewrites them before every boot (§3.3, §2.4).
 */
void mic_regfile_reset_card(MicRegFile *rf);

/*
 * DMA part of a card reset: every channel register 0, DCR back to 0x55,
 * every channel's generation bumped (an engine drops its work in flight).
 */
void mic_regfile_reset_dma(MicRegFile *rf);

/*
 * Engine-side access to channel n's registers, without the guest-write
 * semantics (DTPR/DSTAT/DCHERR are read-only for guests).
 */
uint32_t mic_regfile_dma_get(MicRegFile *rf, unsigned int n, uint32_t sub);
void mic_regfile_dma_set(MicRegFile *rf, unsigned int n, uint32_t sub,
			 uint32_t val);
uint32_t mic_regfile_dma_gen(MicRegFile *rf, unsigned int n);
/* Was DHPR of channel n rewritten with its value?  Clears the flag. */
bool mic_regfile_dma_take_same_head(MicRegFile *rf, unsigned int n);

/* Is offset a defined register?  Unknown offsets read 0, writes ignored. */
bool mic_regfile_known(uint32_t offset);

/* 32-bit aligned access.  offset must be < MIC_MMIO_SIZE and 4-aligned. */
uint32_t mic_regfile_read(MicRegFile *rf, MicRegSide side, uint32_t offset);
void mic_regfile_write(MicRegFile *rf, MicRegSide side, uint32_t offset,
		       uint32_t value, MicRegEvents *ev);

/* Raise SICR0 sources (card doorbell, DMA completion); atomic. */
void mic_regfile_host_raise(MicRegFile *rf, uint32_t sources);

/*
 * Host interrupt delivery, called by the host device after MIC_EV_HOST_IRQ
 * or a "to host" eventfd.  For MSI-X: returns the bitmap of vectors to
 * notify for sources that are pending, enabled and newly raised, and
 * clears the auto-clear (SIAC0) ones in SICR0.  *level is set to whether
 * (SICR0 & SICE0) != 0, for INTx.  msi_only routes through MXAR0 only.
 */
uint32_t mic_regfile_host_deliver(MicRegFile *rf, bool msix, bool *level);

/*
 * SICR0 & SICE0 without consuming anything: the INTx level, for a device
 * that only needs to re-evaluate its line (added after v1, additive).
 */
uint32_t mic_regfile_host_level(MicRegFile *rf);

/* Raise card interrupt sources (MIC_CARD_SRC_*); atomic. */
void mic_regfile_card_raise(MicRegFile *rf, uint32_t sources);
/* Take (and clear) the card sources raised since the last call. */
uint32_t mic_regfile_card_take(MicRegFile *rf);

/* Firmware-side helpers */
void mic_regfile_set_postcode(MicRegFile *rf, uint32_t code);
void mic_regfile_post_ready(MicRegFile *rf, uint32_t boot_addr,
			    uint32_t apic_id);
uint32_t mic_regfile_spad(MicRegFile *rf, unsigned int j);

/*
 * Fault injection (the firmware simulator sets, the devices act).
 * link down: the host side of the card reads all ones and drops writes,
 * no interrupt reaches the host.  Doorbells: the next DROP doorbells in
 * direction DIR are swallowed, the DUP after them rung twice.  DMA: the
 * next descriptor of each channel in MASK fails.
 */
void mic_regfile_fault_set_link_down(MicRegFile *rf, bool down);
bool mic_regfile_fault_link_down(MicRegFile *rf);
void mic_regfile_fault_doorbells(MicRegFile *rf, MicFaultDir dir,
				 uint32_t drop, uint32_t dup);
void mic_regfile_fault_doorbells_left(MicRegFile *rf, MicFaultDir dir,
				      uint32_t *drop, uint32_t *dup);
/* Sources delivered that must be raised again, once (taken). */
uint32_t mic_regfile_fault_take_dup(MicRegFile *rf, MicFaultDir dir);
void mic_regfile_fault_dma_error(MicRegFile *rf, uint32_t channels);
uint32_t mic_regfile_fault_dma_error_armed(MicRegFile *rf);
/* Does channel N's next descriptor fail?  (Disarms it.) */
bool mic_regfile_fault_take_dma_error(MicRegFile *rf, unsigned int n);

/* A printable name for the register at offset ("SICR0", "SPAD5", ...). */
const char *mic_regfile_name(uint32_t offset, char *buf, unsigned int len);

#endif /* MIC_REGFILE_H */
