/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The x100 register file: decode and semantics of the 128 KiB MMIO
 * window, shared by mic-x100 (host BAR4), mic-card (card window) and
 * micfw.  Plain C11 + GCC __atomic builtins so that QEMU, micfw and the
 * unit tests compile this same file.
 *
 * Every mmio[] word is read and written with atomics: the structure lives
 * in a shared memfd and up to three processes touch it concurrently.
 * Registers are referenced as facts-sheet sections (§2.1 register table,
 * §2.3 interrupt sources, §2.4 host sequences, §5.2 DMA registers).
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "mic_regfile.h"

/* What kind of register an offset decodes to. */
typedef enum MicRegKind {
    KIND_NONE,          /* unknown offset: reads 0, writes ignored */
    KIND_POSTCODE,
    KIND_SMPT,
    KIND_RGCR,
    KIND_SICR0,
    KIND_SICE0,
    KIND_SICC0,
    KIND_SIAC0,
    KIND_MXAR,
    KIND_MSIXPBACR,
    KIND_DMA,           /* idx = channel, sub = offset in the channel block */
    KIND_DCR,
    KIND_APICICR_LO,
    KIND_APICICR_HI,
    KIND_SPAD,
    KIND_RDMASR,
    KIND_SDBIC,
} MicRegKind;

typedef struct MicRegDecode {
    MicRegKind kind;
    unsigned int idx;
    unsigned int sub;
} MicRegDecode;

#define WORD(off)   ((off) / 4u)

_Static_assert(sizeof(MicRegFile) == MIC_MMIO_SIZE + 4096,
               "the shared layout is mmio[] plus one 4 KiB control page");

/* Array register at base with n entries of the given stride? */
static bool in_array(uint32_t off, uint32_t base, unsigned int n,
                     uint32_t stride, unsigned int *idx)
{
    if (off < base || off >= base + n * stride) {
        return false;
    }
    if ((off - base) % stride != 0) {
        return false;
    }
    *idx = (off - base) / stride;
    return true;
}

static bool dma_sub_known(uint32_t sub)
{
    switch (sub) {
    case MIC_DMA_DCAR:
    case MIC_DMA_DHPR:
    case MIC_DMA_DTPR:
    case MIC_DMA_DRAR_LO:
    case MIC_DMA_DRAR_HI:
    case MIC_DMA_DSTAT:
    case MIC_DMA_DCHERR:
    case MIC_DMA_DCHERRMSK:
        return true;
    default:
        return false;       /* 0x0C, 0x10, 0x1C, ...: [UNK] in §5.2 */
    }
}

static bool decode_single(uint32_t off, MicRegDecode *d)
{
    static const struct {
        uint32_t off;
        MicRegKind kind;
    } singles[] = {
        { MIC_REG_POSTCODE, KIND_POSTCODE },
        { MIC_REG_RGCR, KIND_RGCR },
        { MIC_REG_SICR0, KIND_SICR0 },
        { MIC_REG_SICE0, KIND_SICE0 },
        { MIC_REG_SICC0, KIND_SICC0 },
        { MIC_REG_SIAC0, KIND_SIAC0 },
        { MIC_REG_MSIXPBACR, KIND_MSIXPBACR },
        { MIC_REG_DCR, KIND_DCR },
    };
    size_t i;

    for (i = 0; i < sizeof(singles) / sizeof(singles[0]); i++) {
        if (singles[i].off == off) {
            d->kind = singles[i].kind;
            return true;
        }
    }
    return false;
}

static MicRegDecode decode(uint32_t off)
{
    MicRegDecode d = { KIND_NONE, 0, 0 };
    unsigned int i;

    if (off >= MIC_MMIO_SIZE || (off & 3u) != 0) {
        return d;
    }
    if (decode_single(off, &d)) {
        return d;
    }
    if (in_array(off, MIC_REG_SMPT(0), MIC_NUM_SMPT, 4, &d.idx)) {
        d.kind = KIND_SMPT;
    } else if (in_array(off, MIC_REG_MXAR(0), MIC_NUM_MXAR, 4, &d.idx)) {
        d.kind = KIND_MXAR;
    } else if (in_array(off, MIC_REG_SPAD(0), MIC_NUM_SPAD, 4, &d.idx)) {
        d.kind = KIND_SPAD;
    } else if (in_array(off, MIC_REG_RDMASR(0), MIC_NUM_RDMASR, 4, &d.idx)) {
        d.kind = KIND_RDMASR;
    } else if (in_array(off, MIC_REG_SDBIC(0), MIC_NUM_SDBIC, 4, &d.idx)) {
        d.kind = KIND_SDBIC;
    } else if (in_array(off, MIC_REG_APICICR_LO(0), MIC_NUM_APICICR, 8,
                        &d.idx)) {
        d.kind = KIND_APICICR_LO;
    } else if (in_array(off, MIC_REG_APICICR_HI(0), MIC_NUM_APICICR, 8,
                        &d.idx)) {
        d.kind = KIND_APICICR_HI;
    } else if (off >= MIC_REG_DMA_CH(0) &&
               off < MIC_REG_DMA_CH(MIC_NUM_DMA_CH)) {
        i = off - MIC_REG_DMA_CH(0);
        if (dma_sub_known(i % 0x40u)) {
            d.kind = KIND_DMA;
            d.idx = i / 0x40u;
            d.sub = i % 0x40u;
        }
    }
    return d;
}

bool mic_regfile_known(uint32_t offset)
{
    return decode(offset).kind != KIND_NONE;
}

/* Atomic accessors for one mmio word (offset already validated). */
static uint32_t reg_get(MicRegFile *rf, uint32_t off)
{
    return __atomic_load_n(&rf->mmio[WORD(off)], __ATOMIC_ACQUIRE);
}

static void reg_set(MicRegFile *rf, uint32_t off, uint32_t val)
{
    __atomic_store_n(&rf->mmio[WORD(off)], val, __ATOMIC_RELEASE);
}

static uint32_t reg_or(MicRegFile *rf, uint32_t off, uint32_t bits)
{
    return __atomic_fetch_or(&rf->mmio[WORD(off)], bits, __ATOMIC_ACQ_REL);
}

static uint32_t reg_andnot(MicRegFile *rf, uint32_t off, uint32_t bits)
{
    return __atomic_fetch_and(&rf->mmio[WORD(off)], ~bits, __ATOMIC_ACQ_REL);
}

static uint32_t dma_off(unsigned int n, uint32_t sub)
{
    return MIC_REG_DMA_CH(n) + sub;
}

static void dma_bump(MicRegFile *rf, unsigned int n)
{
    __atomic_fetch_add(&rf->dma_gen[n], 1, __ATOMIC_ACQ_REL);
}

void mic_regfile_reset_dma(MicRegFile *rf)
{
    unsigned int n;
    uint32_t off, dcr = 0;

    for (off = MIC_REG_DMA_CH(0); off < MIC_REG_DMA_CH(MIC_NUM_DMA_CH);
         off += 4) {
        reg_set(rf, off, 0);
    }
    /* §5.2: the host never writes owner bits, so 0-3 start host-owned */
    for (n = 0; n < MIC_NUM_DMA_CH / 2; n++) {
        dcr |= MIC_DCR_OWNER_HOST(n);
    }
    reg_set(rf, MIC_REG_DCR, dcr);
    __atomic_store_n(&rf->dma_same_head, 0, __ATOMIC_RELEASE);
    for (n = 0; n < MIC_NUM_DMA_CH; n++) {
        dma_bump(rf, n);
    }
}

uint32_t mic_regfile_dma_get(MicRegFile *rf, unsigned int n, uint32_t sub)
{
    return n < MIC_NUM_DMA_CH && sub < 0x40u ? reg_get(rf, dma_off(n, sub))
                                             : 0;
}

void mic_regfile_dma_set(MicRegFile *rf, unsigned int n, uint32_t sub,
                         uint32_t val)
{
    if (n < MIC_NUM_DMA_CH && sub < 0x40u && (sub & 3u) == 0) {
        reg_set(rf, dma_off(n, sub), val);
    }
}

uint32_t mic_regfile_dma_gen(MicRegFile *rf, unsigned int n)
{
    return n < MIC_NUM_DMA_CH ?
           __atomic_load_n(&rf->dma_gen[n], __ATOMIC_ACQUIRE) : 0;
}

bool mic_regfile_dma_take_same_head(MicRegFile *rf, unsigned int n)
{
    uint32_t bit;

    if (n >= MIC_NUM_DMA_CH) {
        return false;
    }
    bit = 1u << n;
    return __atomic_fetch_and(&rf->dma_same_head, ~bit, __ATOMIC_ACQ_REL) &
           bit;
}

void mic_regfile_init(MicRegFile *rf)
{
    memset(rf, 0, sizeof(*rf));
    mic_regfile_reset_dma(rf);
    rf->version = MIC_REGFILE_VERSION;
    __atomic_store_n(&rf->magic, MIC_REGFILE_MAGIC, __ATOMIC_RELEASE);
}

void mic_regfile_reset_card(MicRegFile *rf)
{
    unsigned int i;

    reg_set(rf, MIC_REG_POSTCODE, 0);
    reg_set(rf, MIC_REG_SICR0, 0);
    __atomic_store_n(&rf->host_raised, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&rf->card_raised, 0, __ATOMIC_RELEASE);
    /* doorbells of the card that was reset are not rung again */
    __atomic_store_n(&rf->fault_dup_pending[MIC_FAULT_TO_CARD], 0,
                     __ATOMIC_RELEASE);
    __atomic_store_n(&rf->fault_dup_pending[MIC_FAULT_TO_HOST], 0,
                     __ATOMIC_RELEASE);
    for (i = 0; i < MIC_NUM_APICICR; i++) {
        reg_set(rf, MIC_REG_APICICR_LO(i), 0);
        reg_set(rf, MIC_REG_APICICR_HI(i), 0);
    }
    for (i = 0; i < MIC_NUM_RDMASR; i++) {
        reg_set(rf, MIC_REG_RDMASR(i), 0);
    }
    for (i = 0; i < MIC_NUM_SDBIC; i++) {
        reg_set(rf, MIC_REG_SDBIC(i), 0);
    }
    mic_regfile_reset_dma(rf);
    /* §2.2: SPAD5 (image size) and SPAD14/15 (device page) are the host's */
    for (i = 0; i < MIC_NUM_SPAD; i++) {
        if (i != 5 && i != 14 && i != 15) {
            reg_set(rf, MIC_REG_SPAD(i), 0);
        }
    }
}

uint32_t mic_regfile_read(MicRegFile *rf, MicRegSide side, uint32_t offset)
{
    MicRegDecode d = decode(offset);

    (void)side;
    switch (d.kind) {
    case KIND_NONE:
    case KIND_SICC0:        /* write-only views: read as 0 */
    case KIND_MSIXPBACR:
    case KIND_SDBIC:
        return 0;
    default:
        return reg_get(rf, offset);
    }
}

void mic_regfile_host_raise(MicRegFile *rf, uint32_t sources)
{
    sources &= MIC_SRC_VALID_MASK;
    if (!sources) {
        return;
    }
    /* cause first, so a deliverer that sees the raise also sees the cause */
    reg_or(rf, MIC_REG_SICR0, sources);
    __atomic_fetch_or(&rf->host_raised, sources, __ATOMIC_ACQ_REL);
}

void mic_regfile_card_raise(MicRegFile *rf, uint32_t sources)
{
    sources &= (1u << MIC_CARD_NUM_SRC) - 1;
    __atomic_fetch_or(&rf->card_raised, sources, __ATOMIC_ACQ_REL);
}

uint32_t mic_regfile_card_take(MicRegFile *rf)
{
    return __atomic_exchange_n(&rf->card_raised, 0, __ATOMIC_ACQ_REL);
}

static void guest_err(MicRegEvents *ev, const char *text)
{
    ev->flags |= MIC_EV_GUEST_ERR;
    ev->error = text;
}

/* Decrement *counter if it is above zero; true if it was. */
static bool take_one(uint32_t *counter)
{
    uint32_t v = __atomic_load_n(counter, __ATOMIC_ACQUIRE);

    while (v) {
        if (__atomic_compare_exchange_n(counter, &v, v - 1, false,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            return true;
        }
    }
    return false;
}

/*
 * A doorbell is being rung towards DIR: false if a fault swallows it.
 * A doubled one has its sources raised again after their delivery.
 */
static bool doorbell_passes(MicRegFile *rf, MicFaultDir dir, uint32_t src,
                            MicRegEvents *ev)
{
    if (take_one(&rf->fault_db_drop[dir])) {
        ev->flags |= MIC_EV_DB_DROPPED;
        return false;
    }
    if (take_one(&rf->fault_db_dup[dir])) {
        __atomic_fetch_or(&rf->fault_dup_pending[dir], src, __ATOMIC_ACQ_REL);
        ev->flags |= MIC_EV_DB_DOUBLED;
    }
    return true;
}

static void raise_card(MicRegFile *rf, MicRegEvents *ev, uint32_t src)
{
    if (!doorbell_passes(rf, MIC_FAULT_TO_CARD, src, ev)) {
        return;
    }
    mic_regfile_card_raise(rf, src);
    ev->flags |= MIC_EV_CARD_IRQ;
    ev->card_sources |= src;
}

/* SICR0/SICE0/SICC0/SIAC0/MXAR/MSIXPBACR (§2.1, §2.4) */
static void write_intr(MicRegFile *rf, MicRegDecode d, uint32_t off,
                       uint32_t value, MicRegEvents *ev)
{
    uint32_t old;

    switch (d.kind) {
    case KIND_SICR0:        /* write-1-to-clear */
        reg_andnot(rf, off, value);
        ev->flags |= MIC_EV_HOST_IRQ;
        break;
    case KIND_SICE0:        /* write-1-to-set */
        value &= MIC_SRC_VALID_MASK;
        old = reg_or(rf, off, value);
        /*
         * Sources pending while disabled were swallowed by an earlier
         * delivery; mark newly enabled ones as raised again so the next
         * delivery sends them.
         */
        if (value & ~old) {
            __atomic_fetch_or(&rf->host_raised, value & ~old,
                              __ATOMIC_ACQ_REL);
        }
        ev->flags |= MIC_EV_HOST_IRQ;
        break;
    case KIND_SICC0:        /* write-1-to-clear of SICE0 */
        reg_andnot(rf, MIC_REG_SICE0, value);
        ev->flags |= MIC_EV_HOST_IRQ;
        break;
    case KIND_SIAC0:
    case KIND_MXAR:
        reg_set(rf, off, value);
        break;
    case KIND_MSIXPBACR:
        if (value & 1u) {
            ev->flags |= MIC_EV_PBA_CLEAR;
        }
        break;
    default:
        break;
    }
}

/* Doorbells in both directions: APICICR, RDMASR, SDBIC (§2.1, §2.4, §2.5) */
static void write_doorbell(MicRegFile *rf, MicRegSide side, MicRegDecode d,
                           uint32_t off, uint32_t value, MicRegEvents *ev)
{
    switch (d.kind) {
    case KIND_APICICR_LO:
        /* bit 13 self-clears: reading back 0 means "sent" */
        reg_set(rf, off, value & ~MIC_APICICR_SEND);
        if (!(value & MIC_APICICR_SEND)) {
            break;
        }
        if (side == MIC_SIDE_HOST && d.idx == 7 &&
            (value & MIC_APICICR_VECTOR_MASK) == MIC_BOOT_VECTOR) {
            ev->flags |= MIC_EV_BOOT_KICK;
        } else {
            raise_card(rf, ev, MIC_CARD_SRC_APICICR(d.idx));
        }
        break;
    case KIND_APICICR_HI:
        reg_set(rf, off, value);
        break;
    case KIND_RDMASR:       /* any write raises the card source */
        reg_set(rf, off, value);
        raise_card(rf, ev, MIC_CARD_SRC_RDMASR(d.idx));
        break;
    case KIND_SDBIC:
        if (side != MIC_SIDE_CARD) {
            guest_err(ev, "SDBIC is a card-to-host doorbell; "
                      "host write ignored");
        } else if (!(value & MIC_SDBIC_DBREQ)) {
            break;
        } else if (d.idx < 4) {
            if (doorbell_passes(rf, MIC_FAULT_TO_HOST, MIC_SRC_DB(d.idx),
                                ev)) {
                mic_regfile_host_raise(rf, MIC_SRC_DB(d.idx));
                ev->flags |= MIC_EV_HOST_IRQ;
            }
        } else {
            guest_err(ev, "SDBIC doorbell 4-8 has no SICR0 source; "
                      "dropped");
        }
        break;
    default:
        break;
    }
}

/*
 * DMA channel registers (§5.2, docs/dma.rst).  DTPR, DSTAT and DCHERR
 * belong to the engine; a new ring restarts the indexes at 0.
 */
static void write_dma(MicRegFile *rf, MicRegDecode d, uint32_t off,
                      uint32_t value, MicRegEvents *ev)
{
    unsigned int n = d.idx;
    uint32_t old;

    switch (d.sub) {
    case MIC_DMA_DHPR:
        old = __atomic_exchange_n(&rf->mmio[WORD(off)], value,
                                  __ATOMIC_ACQ_REL);
        if (old == value) {
            /* §5.4: hardware takes this as a full-ring wrap */
            __atomic_fetch_or(&rf->dma_same_head, 1u << n, __ATOMIC_ACQ_REL);
        }
        ev->flags |= MIC_EV_DMA;
        ev->dma_mask |= 1u << n;
        break;
    case MIC_DMA_DTPR:
    case MIC_DMA_DSTAT:
    case MIC_DMA_DCHERR:
        guest_err(ev, "DMA DTPR, DSTAT and DCHERR are read-only");
        break;
    case MIC_DMA_DRAR_LO:
    case MIC_DMA_DRAR_HI:
        reg_set(rf, off, value);
        reg_set(rf, dma_off(n, MIC_DMA_DTPR), 0);
        reg_set(rf, dma_off(n, MIC_DMA_DHPR), 0);
        reg_andnot(rf, dma_off(n, MIC_DMA_DSTAT), MIC_DMA_DSTAT_INDEX);
        dma_bump(rf, n);
        break;
    default:                /* DCAR, DCHERRMSK */
        reg_set(rf, off, value);
        break;
    }
}

/*
 * DCR: enabling a channel starts it afresh (head = tail, errors cleared);
 * any change of a channel's bits makes its engine drop work in flight.
 */
static void write_dcr(MicRegFile *rf, uint32_t value)
{
    uint32_t old = __atomic_exchange_n(&rf->mmio[WORD(MIC_REG_DCR)], value,
                                       __ATOMIC_ACQ_REL);
    uint32_t bits, tail;
    unsigned int n;

    for (n = 0; n < MIC_NUM_DMA_CH; n++) {
        bits = MIC_DCR_OWNER_HOST(n) | MIC_DCR_ENABLE(n);
        if (!((old ^ value) & bits)) {
            continue;
        }
        if ((value & ~old) & MIC_DCR_ENABLE(n)) {
            tail = reg_get(rf, dma_off(n, MIC_DMA_DTPR));
            reg_set(rf, dma_off(n, MIC_DMA_DHPR), tail);
            reg_set(rf, dma_off(n, MIC_DMA_DSTAT),
                    tail & MIC_DMA_DSTAT_INDEX);
            reg_set(rf, dma_off(n, MIC_DMA_DCHERR), 0);
            __atomic_fetch_and(&rf->dma_same_head, ~(1u << n),
                               __ATOMIC_ACQ_REL);
        }
        dma_bump(rf, n);
    }
}

static void write_other(MicRegFile *rf, MicRegSide side, MicRegDecode d,
                        uint32_t off, uint32_t value, MicRegEvents *ev)
{
    switch (d.kind) {
    case KIND_POSTCODE:
        if (side == MIC_SIDE_HOST) {
            guest_err(ev, "POSTCODE is read-only for the host");
        } else {
            reg_set(rf, off, value);
        }
        break;
    case KIND_SMPT:
        reg_set(rf, off, value);
        ev->flags |= MIC_EV_SMPT;
        ev->smpt_mask |= 1u << d.idx;
        break;
    case KIND_RGCR:         /* bit 0 = reset, self-clearing */
        reg_set(rf, off, value & ~MIC_RGCR_RESET);
        if (value & MIC_RGCR_RESET) {
            ev->flags |= MIC_EV_RESET;
        }
        break;
    case KIND_DMA:
        write_dma(rf, d, off, value, ev);
        break;
    case KIND_DCR:
        write_dcr(rf, value);
        break;
    case KIND_SPAD:
        reg_set(rf, off, value);
        break;
    default:
        break;
    }
}

void mic_regfile_write(MicRegFile *rf, MicRegSide side, uint32_t offset,
                       uint32_t value, MicRegEvents *ev)
{
    MicRegEvents scratch;
    MicRegDecode d = decode(offset);

    if (!ev) {
        ev = &scratch;
    }
    memset(ev, 0, sizeof(*ev));

    switch (d.kind) {
    case KIND_NONE:
        if (offset >= MIC_MMIO_SIZE || (offset & 3u)) {
            guest_err(ev, "access outside the register window or unaligned");
        } else {
            guest_err(ev, "write to an undefined register ignored");
        }
        break;
    case KIND_SICR0:
    case KIND_SICE0:
    case KIND_SICC0:
    case KIND_SIAC0:
    case KIND_MXAR:
    case KIND_MSIXPBACR:
        write_intr(rf, d, offset, value, ev);
        break;
    case KIND_APICICR_LO:
    case KIND_APICICR_HI:
    case KIND_RDMASR:
    case KIND_SDBIC:
        write_doorbell(rf, side, d, offset, value, ev);
        break;
    default:
        write_other(rf, side, d, offset, value, ev);
        break;
    }
}

/*
 * Host delivery (§2.4, facts §10.7): a source is sent when it was raised
 * since the last delivery (or newly enabled), is still pending in SICR0 and
 * is enabled in SICE0.  MSI-X routes through every MXAR[i]; MSI uses MXAR0.
 */
uint32_t mic_regfile_host_deliver(MicRegFile *rf, bool msix, bool *level)
{
    uint32_t raised, pending, map, vectors = 0, routed = 0, autoclr;
    unsigned int i, nvec = msix ? MIC_NUM_MXAR : 1;

    raised = __atomic_exchange_n(&rf->host_raised, 0, __ATOMIC_ACQ_REL);
    pending = raised & reg_get(rf, MIC_REG_SICR0) &
              reg_get(rf, MIC_REG_SICE0);

    for (i = 0; pending && i < nvec; i++) {
        map = reg_get(rf, MIC_REG_MXAR(i)) & pending;
        if (map) {
            vectors |= 1u << i;
            routed |= map;
        }
    }
    /* MSI-X only: auto-clear what actually reached a vector */
    autoclr = msix ? routed & reg_get(rf, MIC_REG_SIAC0) : 0;
    if (autoclr) {
        reg_andnot(rf, MIC_REG_SICR0, autoclr);
    }
    if (level) {
        *level = mic_regfile_host_level(rf) != 0;
    }
    return vectors;
}

uint32_t mic_regfile_host_level(MicRegFile *rf)
{
    return reg_get(rf, MIC_REG_SICR0) & reg_get(rf, MIC_REG_SICE0);
}

void mic_regfile_set_postcode(MicRegFile *rf, uint32_t code)
{
    reg_set(rf, MIC_REG_POSTCODE, code);
}

void mic_regfile_post_ready(MicRegFile *rf, uint32_t boot_addr,
                            uint32_t apic_id)
{
    uint32_t v = (boot_addr & MIC_SPAD2_ADDR_MASK) |
                 ((apic_id << MIC_SPAD2_APIC_SHIFT) & MIC_SPAD2_APIC_MASK) |
                 MIC_SPAD2_READY;

    reg_set(rf, MIC_REG_SPAD(2), v);
}

uint32_t mic_regfile_spad(MicRegFile *rf, unsigned int j)
{
    if (j >= MIC_NUM_SPAD) {
        return 0;
    }
    return reg_get(rf, MIC_REG_SPAD(j));
}

static const char *const dma_names[0x40 / 4] = {
    [MIC_DMA_DCAR / 4] = "DCAR",
    [MIC_DMA_DHPR / 4] = "DHPR",
    [MIC_DMA_DTPR / 4] = "DTPR",
    [MIC_DMA_DRAR_LO / 4] = "DRAR_LO",
    [MIC_DMA_DRAR_HI / 4] = "DRAR_HI",
    [MIC_DMA_DSTAT / 4] = "DSTAT",
    [MIC_DMA_DCHERR / 4] = "DCHERR",
    [MIC_DMA_DCHERRMSK / 4] = "DCHERRMSK",
};

const char *mic_regfile_name(uint32_t offset, char *buf, unsigned int len)
{
    static const char *const kind_names[] = {
        [KIND_NONE] = NULL,
        [KIND_POSTCODE] = "POSTCODE",
        [KIND_SMPT] = "SMPT",
        [KIND_RGCR] = "RGCR",
        [KIND_SICR0] = "SICR0",
        [KIND_SICE0] = "SICE0",
        [KIND_SICC0] = "SICC0",
        [KIND_SIAC0] = "SIAC0",
        [KIND_MXAR] = "MXAR",
        [KIND_MSIXPBACR] = "MSIXPBACR",
        [KIND_DMA] = "DMA",
        [KIND_DCR] = "DCR",
        [KIND_APICICR_LO] = "APICICR_LO",
        [KIND_APICICR_HI] = "APICICR_HI",
        [KIND_SPAD] = "SPAD",
        [KIND_RDMASR] = "RDMASR",
        [KIND_SDBIC] = "SDBIC",
    };
    MicRegDecode d = decode(offset);

    if (!buf || len == 0) {
        return "?";
    }
    switch (d.kind) {
    case KIND_NONE:
        snprintf(buf, len, "unknown@0x%05x", offset);
        break;
    case KIND_DMA:
        snprintf(buf, len, "DMA%u.%s", d.idx, dma_names[d.sub / 4]);
        break;
    case KIND_SMPT:
    case KIND_MXAR:
    case KIND_APICICR_LO:
    case KIND_APICICR_HI:
    case KIND_SPAD:
    case KIND_RDMASR:
    case KIND_SDBIC:
        snprintf(buf, len, "%s%u", kind_names[d.kind], d.idx);
        break;
    default:
        snprintf(buf, len, "%s", kind_names[d.kind]);
        break;
    }
    return buf;
}

/* ---- fault injection ----------------------------------------------------- */

void mic_regfile_fault_set_link_down(MicRegFile *rf, bool down)
{
    __atomic_store_n(&rf->fault_link_down, down, __ATOMIC_RELEASE);
}

bool mic_regfile_fault_link_down(MicRegFile *rf)
{
    return __atomic_load_n(&rf->fault_link_down, __ATOMIC_ACQUIRE) != 0;
}

void mic_regfile_fault_doorbells(MicRegFile *rf, MicFaultDir dir,
                                 uint32_t drop, uint32_t dup)
{
    __atomic_store_n(&rf->fault_db_drop[dir], drop, __ATOMIC_RELEASE);
    __atomic_store_n(&rf->fault_db_dup[dir], dup, __ATOMIC_RELEASE);
}

void mic_regfile_fault_doorbells_left(MicRegFile *rf, MicFaultDir dir,
                                      uint32_t *drop, uint32_t *dup)
{
    *drop = __atomic_load_n(&rf->fault_db_drop[dir], __ATOMIC_ACQUIRE);
    *dup = __atomic_load_n(&rf->fault_db_dup[dir], __ATOMIC_ACQUIRE);
}

uint32_t mic_regfile_fault_take_dup(MicRegFile *rf, MicFaultDir dir)
{
    return __atomic_exchange_n(&rf->fault_dup_pending[dir], 0,
                               __ATOMIC_ACQ_REL);
}

void mic_regfile_fault_dma_error(MicRegFile *rf, uint32_t channels)
{
    __atomic_fetch_or(&rf->fault_dma_error,
                      channels & ((1u << MIC_NUM_DMA_CH) - 1),
                      __ATOMIC_ACQ_REL);
}

uint32_t mic_regfile_fault_dma_error_armed(MicRegFile *rf)
{
    return __atomic_load_n(&rf->fault_dma_error, __ATOMIC_ACQUIRE);
}

bool mic_regfile_fault_take_dma_error(MicRegFile *rf, unsigned int n)
{
    uint32_t bit = 1u << n;

    return n < MIC_NUM_DMA_CH &&
           (__atomic_fetch_and(&rf->fault_dma_error, ~bit,
                               __ATOMIC_ACQ_REL) & bit);
}
