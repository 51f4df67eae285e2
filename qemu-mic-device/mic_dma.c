/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The x100 DMA engine (facts §5, docs/dma.rst), one implementation for
 * both device models.  Each process runs the channels its side owns
 * (DCR bit 2n: 1 = host); a DHPR write for a channel of the other side is
 * forwarded with ops->kick_peer and picked up by that side's engine.
 *
 * Channels run in a bottom half, bounded per run, so that neither a
 * register write nor a hostile ring can hold the BQL for long; big copies
 * go to workers in QEMU's thread pool, so that channels copy side by side
 * and the main loop stays free (docs/dma.rst, "Threads"; not with
 * dma-threads=off or a paced engine).  Every address is a card physical
 * address; mic_dma_resolve() is the one place that turns it into card
 * memory or a host bus address, after checking that the whole range stays
 * inside one mapping.
 */
#include "qemu/osdep.h"
#include "qemu/lockable.h"
#include "qemu/log.h"
#include "qemu/main-loop.h"
#include "qemu/bswap.h"
#include "qemu/host-utils.h"
#include "qemu/timer.h"
#include "block/aio-wait.h"
#include "block/thread-pool.h"
#include "system/dma.h"
#include "system/runstate.h"
#include "mic_dma.h"
#include "trace.h"

#define REG(d, n, sub)          mic_regfile_dma_get((d)->rf, (n), (sub))
#define SET(d, n, sub, v)       mic_regfile_dma_set((d)->rf, (n), (sub), (v))

typedef struct MicDmaBudget {
    uint64_t bytes;
    uint32_t descs;
    uint64_t big;           /* leave MEMCPYs with this much left to ... */
    bool deferred;          /* ... a worker: one was left (bottom half) */
} MicDmaBudget;

static bool budget_left(const MicDmaBudget *b)
{
    return b->bytes > 0 && b->descs > 0;
}

/* Is channel n run by this process? */
static bool mic_dma_owns(MicDma *d, uint32_t dcr, unsigned int n)
{
    bool host = dcr & MIC_DCR_OWNER_HOST(n);

    return host == (d->side == MIC_SIDE_HOST);
}

/*
 * Check that [addr, addr + len) lies in card memory or inside one SMPT
 * entry; returns 0 or MIC_DMA_ERR_ADDR.  *bus is set for the SMPT case,
 * *is_host tells which.
 */
static uint32_t mic_dma_translate(MicDma *d, uint64_t addr, uint64_t len,
                                  bool *is_host, uint64_t *bus)
{
    uint64_t off, in_page;
    uint32_t smpt;
    unsigned int i;

    if (addr < d->card_mem_size) {
        *is_host = false;
        return len <= d->card_mem_size - addr ? 0 : MIC_DMA_ERR_ADDR;
    }
    if (addr < MIC_SMPT_BASE || addr >= MIC_SMPT_END) {
        return MIC_DMA_ERR_ADDR;
    }
    off = addr - MIC_SMPT_BASE;
    i = off >> MIC_SMPT_SHIFT;
    in_page = off & (MIC_SMPT_PAGE - 1);
    if (len > MIC_SMPT_PAGE - in_page) {
        return MIC_DMA_ERR_ADDR;        /* leaves the entry */
    }
    smpt = mic_regfile_read(d->rf, d->side, MIC_REG_SMPT(i));
    /* §3.3: bits 31:2 = bus >> 34; at most 2^64 - 2^34, + in_page fits */
    *bus = mic_smpt_bus_addr(smpt) + in_page;
    *is_host = true;
    return 0;
}

static uint32_t mic_dma_check(MicDma *d, uint64_t addr, uint64_t len)
{
    bool is_host;
    uint64_t bus;

    return mic_dma_translate(d, addr, len, &is_host, &bus);
}

/*
 * Is [addr, addr + len) RAM all through in @as?  The engine moves data
 * between memories: a target that is another device's MMIO is a bus error.
 */
static bool target_is_ram(AddressSpace *as, hwaddr addr, hwaddr len,
                          bool is_write)
{
    RCU_READ_LOCK_GUARD();

    while (len) {
        hwaddr xlat, l = len;
        MemoryRegion *mr = address_space_translate(as, addr, &xlat, &l,
                                                   is_write,
                                                   MEMTXATTRS_UNSPECIFIED);

        if (!l || !memory_region_is_ram(mr) ||
            memory_region_is_ram_device(mr) ||
            (is_write && memory_region_is_rom(mr))) {
            return false;
        }
        addr += l;
        len -= l;
    }
    return true;
}

/*
 * Can the engine reach [addr, addr + len) of this memory?  The host bus
 * answers only with its RAM (facts §10.3), and not at all while the link
 * is down (fault injection: the engine sits on the card).
 */
static bool mic_dma_reachable(MicDma *d, bool is_host, hwaddr addr,
                              uint64_t len, bool is_write)
{
    if (!is_host) {
        return d->card_as && target_is_ram(d->card_as, addr, len, is_write);
    }
    if (mic_regfile_fault_link_down(d->rf)) {
        trace_mic_dma_link_down(d->name, addr, len);
        return false;
    }
    if (!d->host_as || !target_is_ram(d->host_as, addr, len, is_write)) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: DMA %s host bus 0x%" PRIx64
                      "+0x%" PRIx64 ", which is not RAM: bus error\n",
                      d->name, is_write ? "to" : "from", addr, len);
        return false;
    }
    return true;
}

/*
 * Turn the card physical range [addr, addr + len) into an address in card
 * memory or on the host bus; 0 or a MIC_DMA_ERR_* bit.
 */
static uint32_t mic_dma_resolve(MicDma *d, uint64_t addr, uint64_t len,
                                bool is_write, AddressSpace **as, hwaddr *at)
{
    bool is_host;
    uint64_t bus = 0;
    uint32_t err = mic_dma_translate(d, addr, len, &is_host, &bus);

    if (err) {
        return err;
    }
    *as = is_host ? d->host_as : d->card_as;
    *at = is_host ? bus : addr;
    return mic_dma_reachable(d, is_host, *at, len, is_write) ?
           0 : MIC_DMA_ERR_BUS;
}

/* Read or write a card physical range; 0 or a MIC_DMA_ERR_* bit. */
static uint32_t mic_dma_access(MicDma *d, uint64_t addr, void *buf,
                               uint64_t len, bool is_write)
{
    AddressSpace *as;
    hwaddr at;
    uint32_t err;

    if (!len) {
        return mic_dma_check(d, addr, len);
    }
    err = mic_dma_resolve(d, addr, len, is_write, &as, &at);
    if (err) {
        return err;
    }
    return dma_memory_rw(as, at, buf, len,
                         is_write ? DMA_DIRECTION_FROM_DEVICE :
                                    DMA_DIRECTION_TO_DEVICE,
                         MEMTXATTRS_UNSPECIFIED) == MEMTX_OK ?
           0 : MIC_DMA_ERR_BUS;
}

/*
 * Move up to *len bytes of a checked MEMCPY from src to dst: map both
 * ends and copy between the mappings, once (no bounce buffer).  memmove,
 * as a hostile ring may overlap them.  *len becomes what both mappings
 * covered.  Needs no BQL: memory is reached under RCU, a mapping holds its
 * region, and unmapping the destination marks it dirty (and drops any
 * translated code in it).
 */
static uint32_t mic_dma_move(MicDma *d, uint64_t src, uint64_t dst,
                             uint64_t *len)
{
    AddressSpace *sas, *das;
    hwaddr sa, da, slen = *len, dlen;
    void *sp, *dp;
    uint32_t err;

    err = mic_dma_resolve(d, src, *len, false, &sas, &sa);
    if (!err) {
        err = mic_dma_resolve(d, dst, *len, true, &das, &da);
    }
    if (err) {
        return err;
    }
    sp = address_space_map(sas, sa, &slen, false, MEMTXATTRS_UNSPECIFIED);
    if (!sp) {
        return MIC_DMA_ERR_BUS;
    }
    dlen = slen;
    dp = address_space_map(das, da, &dlen, true, MEMTXATTRS_UNSPECIFIED);
    if (!dp) {
        address_space_unmap(sas, sp, slen, false, 0);
        return MIC_DMA_ERR_BUS;
    }
    memmove(dp, sp, dlen);
    address_space_unmap(das, dp, dlen, true, dlen);
    address_space_unmap(sas, sp, slen, false, dlen);
    *len = dlen;
    return 0;
}

/*
 * Deliver the sources raised in the register file: at once under the BQL
 * (the bottom half), from the main loop when a worker raised them.
 */
static void mic_dma_notify(MicDma *d)
{
    if (bql_locked()) {
        d->ops->notify(d->opaque);
    } else {
        qemu_bh_schedule(d->notify_bh);
    }
}

static void mic_dma_notify_bh(void *opaque)
{
    MicDma *d = opaque;

    if (d->rf) {
        d->ops->notify(d->opaque);
    }
}

/* Raise channel n's interrupt on the owner's side, unless DCAR masks it. */
static void mic_dma_irq(MicDma *d, unsigned int n)
{
    uint32_t dcar = REG(d, n, MIC_DMA_DCAR);

    if (d->side == MIC_SIDE_HOST) {
        if (dcar & MIC_DMA_DCAR_IM1) {
            trace_mic_dma_irq(d->name, n, true);
            return;
        }
        mic_regfile_host_raise(d->rf, MIC_SRC_DMA(n));
    } else {
        if (dcar & MIC_DMA_DCAR_IM0) {
            trace_mic_dma_irq(d->name, n, true);
            return;
        }
        if (n < MIC_NUM_DMA_CH / 2) {
            qemu_log_mask(LOG_UNIMP, "%s: DMA channel %u is card-owned but "
                          "has no card interrupt (only 4-7 do); dropped\n",
                          d->name, n);
            return;
        }
        mic_regfile_card_raise(d->rf, MIC_CARD_SRC_DMA(n));
    }
    trace_mic_dma_irq(d->name, n, false);
    mic_dma_notify(d);
}

/* Halt channel n at its current tail (docs/dma.rst, "Errors"). */
static void mic_dma_halt(MicDma *d, unsigned int n, MicDmaChan *c,
                         uint32_t err)
{
    /* traced before the guest can see it, also from a worker */
    trace_mic_dma_error(d->name, n, REG(d, n, MIC_DMA_DTPR), err);
    SET(d, n, MIC_DMA_DCHERR, REG(d, n, MIC_DMA_DCHERR) | err);
    SET(d, n, MIC_DMA_DSTAT, REG(d, n, MIC_DMA_DSTAT) | MIC_DMA_DSTAT_HALTED);
    c->done = 0;
    if (!(REG(d, n, MIC_DMA_DCHERRMSK) & err)) {
        mic_dma_irq(d, n);
    }
}

/* A descriptor or ring the guest got wrong. */
static void mic_dma_error(MicDma *d, unsigned int n, MicDmaChan *c,
                          uint32_t err, const char *why)
{
    qemu_log_mask(LOG_GUEST_ERROR, "%s: DMA channel %u halted at descriptor "
                  "%u: %s (DCHERR 0x%x)\n", d->name, n,
                  REG(d, n, MIC_DMA_DTPR), why, err);
    mic_dma_halt(d, n, c, err);
}

/*
 * Is the work c holds still the channel's?  Not once the channel was
 * reset, disabled or re-programmed (its generation moved), nor once the
 * engine dropped its work (a worker's epoch).
 */
static bool mic_dma_current(MicDma *d, unsigned int n, MicDmaChan *c)
{
    return mic_regfile_dma_gen(d->rf, n) == c->gen &&
           qatomic_read(&d->epoch) == c->epoch;
}

/* Ring base address from DRAR (docs/dma.rst, DRAR_HI). */
static uint64_t mic_dma_ring_addr(uint32_t lo, uint32_t hi)
{
    uint64_t idx;

    if (hi & MIC_DMA_DRAR_SYSMEM) {
        idx = (hi >> MIC_DMA_DRAR_SMPT_SHIFT) & MIC_DMA_DRAR_SMPT_MASK;
        return MIC_SMPT_BASE + (idx << MIC_SMPT_SHIFT) +
               ((uint64_t)(hi & MIC_DMA_DRAR_SYS_HI) << 32) + lo;
    }
    return ((uint64_t)(hi & MIC_DMA_DRAR_CARD_HI) << 32) + lo;
}

/*
 * Bandwidth model.  A paced channel is charged len / rate of virtual time
 * for every chunk it copies; while its charge lies in the future it does
 * nothing and the pace timer brings the bottom half back when it is due.
 * A descriptor completes only once its last chunk's time has passed, so
 * the guest sees completions at the modelled rate.
 */
static bool mic_dma_must_wait(MicDma *d, unsigned int n)
{
    MicDmaChan *c = &d->ch[n];

    if (!d->rate_mbps ||
        c->busy_until <= qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL)) {
        return false;
    }
    trace_mic_dma_paced(d->name, n, c->busy_until);
    timer_mod_anticipate(d->pace_timer, c->busy_until);
    return true;
}

static void mic_dma_charge(MicDma *d, unsigned int n, uint64_t bytes)
{
    MicDmaChan *c = &d->ch[n];
    int64_t now;

    if (!d->rate_mbps) {
        return;
    }
    now = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    /*
     * MB/s = bytes per microsecond: bytes * 1000 / rate nanoseconds.  A
     * bottom half that ran late catches up (time is charged from the due
     * time), but an idle channel banks at most MIC_DMA_PACE_SLACK_NS.
     */
    c->busy_until = MAX(c->busy_until, now - MIC_DMA_PACE_SLACK_NS) +
                    muldiv64(bytes, 1000, d->rate_mbps);
}

static void mic_dma_pace_timer(void *opaque)
{
    mic_dma_kick(opaque);
}

/*
 * Copy what the budget allows of a MEMCPY descriptor.  Returns 0 when the
 * descriptor is complete, -1 when it goes on later (budget used up, paced,
 * or no longer the channel's work), or an error bit (with *why set).
 */
static int64_t mic_dma_memcpy(MicDma *d, unsigned int n, MicDmaChan *c,
                              uint64_t qw0, uint64_t qw1, MicDmaBudget *b,
                              const char **why)
{
    uint64_t src = qw0 & MIC_DMA_ADDR_MASK;
    uint64_t dst = qw1 & MIC_DMA_ADDR_MASK;
    uint64_t len = (qw0 >> MIC_DMA_LEN_SHIFT) * MIC_DMA_ALIGN;
    uint64_t chunk;
    uint32_t err;

    if ((qw0 & MIC_DMA_QW0_RSVD) || (qw1 & MIC_DMA_QW1_RSVD)) {
        *why = "MEMCPY descriptor with reserved bits set";
        return MIC_DMA_ERR_DESC;
    }
    if ((src | dst) % MIC_DMA_ALIGN) {
        *why = "MEMCPY source or destination not 64-byte aligned";
        return MIC_DMA_ERR_ALIGN;
    }
    if (len && (mic_dma_check(d, src, len) || mic_dma_check(d, dst, len))) {
        *why = "MEMCPY source or destination outside card memory and the "
               "SMPT window, or leaving its mapping";
        return MIC_DMA_ERR_ADDR;
    }
    if (b->big && len - c->done >= b->big) {
        b->deferred = true;         /* a worker copies it */
        return -1;
    }
    while (c->done < len) {
        /* out of budget, or reset/disabled by the other process: stop */
        if (!b->bytes || !mic_dma_current(d, n, c) ||
            mic_dma_must_wait(d, n)) {
            return -1;
        }
        chunk = MIN(MIN(len - c->done, MIC_DMA_CHUNK), b->bytes);
        err = mic_dma_move(d, src + c->done, dst + c->done, &chunk);
        if (err) {
            *why = "MEMCPY memory access failed";
            return err;
        }
        c->done += chunk;
        b->bytes -= chunk;
        mic_dma_charge(d, n, chunk);
    }
    return mic_dma_must_wait(d, n) ? -1 : 0;
}

/* A STATUS descriptor; *irq tells whether it asks for the interrupt. */
static int64_t mic_dma_status(MicDma *d, uint64_t qw0, uint64_t qw1,
                              bool *irq, const char **why)
{
    uint64_t dst = qw1 & MIC_DMA_ADDR_MASK;
    uint64_t val = cpu_to_le64(qw0);
    uint32_t err;

    if (qw1 & MIC_DMA_QW1_RSVD & ~MIC_DMA_STATUS_INTR) {
        *why = "STATUS descriptor with reserved bits set";
        return MIC_DMA_ERR_DESC;
    }
    if (dst % MIC_DMA_STATUS_ALIGN) {
        *why = "STATUS destination not 8-byte aligned";
        return MIC_DMA_ERR_ALIGN;
    }
    err = mic_dma_access(d, dst, &val, sizeof(val), true);
    if (err) {
        *why = err == MIC_DMA_ERR_ADDR ? "STATUS destination outside card "
               "memory and the SMPT window" : "STATUS write failed";
        return err;
    }
    *irq = qw1 & MIC_DMA_STATUS_INTR;
    return 0;
}

/* Run (part of) the descriptor at the tail: 0 done, -1 budget, or error. */
static int64_t mic_dma_desc(MicDma *d, unsigned int n, MicDmaChan *c,
                            uint64_t ring, uint32_t tail, MicDmaBudget *b,
                            bool *irq, const char **why)
{
    uint64_t desc[2];
    uint32_t type;

    if (mic_dma_access(d, ring + (uint64_t)tail * MIC_DMA_DESC_SIZE, desc,
                       sizeof(desc), false)) {
        *why = "descriptor fetch failed";
        return MIC_DMA_ERR_RING;
    }
    desc[0] = le64_to_cpu(desc[0]);
    desc[1] = le64_to_cpu(desc[1]);
    type = desc[1] >> MIC_DMA_TYPE_SHIFT;
    if (!c->done) {
        trace_mic_dma_desc(d->name, n, tail, desc[0], desc[1]);
    }
    switch (type) {
    case MIC_DMA_TYPE_MEMCPY:
        return mic_dma_memcpy(d, n, c, desc[0], desc[1], b, why);
    case MIC_DMA_TYPE_STATUS:
        return mic_dma_status(d, desc[0], desc[1], irq, why);
    default:
        *why = "descriptor type is not MEMCPY (1) or STATUS (2)";
        return MIC_DMA_ERR_DESC;
    }
}

/* Validate the ring set-up of a channel with work; 0 or an error bit. */
static uint32_t mic_dma_ring_ok(MicDma *d, unsigned int n, uint32_t size,
                                uint32_t head, uint32_t tail, uint64_t *ring,
                                const char **why)
{
    *ring = mic_dma_ring_addr(REG(d, n, MIC_DMA_DRAR_LO),
                              REG(d, n, MIC_DMA_DRAR_HI));
    if (!size) {
        *why = "ring size 0";
    } else if (head >= size || tail >= size) {
        *why = "DHPR beyond the ring size";
    } else if (mic_dma_check(d, *ring, (uint64_t)size * MIC_DMA_DESC_SIZE)) {
        *why = "ring not inside card memory or one SMPT entry";
    } else {
        return 0;
    }
    return MIC_DMA_ERR_RING;
}

/*
 * Run channel n until it is idle, halts or the budget is used up, with c
 * holding the channel's progress: d->ch[n] in the bottom half, a worker's
 * copy of it in a thread.  Everything else it touches is the register
 * file's atomics (the other process runs beside it anyway) or memory.
 */
static void mic_dma_run_channel(MicDma *d, unsigned int n, MicDmaChan *c,
                                MicDmaBudget *b)
{
    uint32_t gen = mic_regfile_dma_gen(d->rf, n);
    uint32_t dcr, size, head, tail;
    const char *why = NULL;
    uint64_t ring;
    int64_t r;
    bool irq;

    if (gen != c->gen) {
        c->gen = gen;               /* enabled, disabled, new ring, reset */
        c->done = 0;
    }
    dcr = mic_regfile_read(d->rf, d->side, MIC_REG_DCR);
    if (!mic_dma_owns(d, dcr, n) || !(dcr & MIC_DCR_ENABLE(n)) ||
        (REG(d, n, MIC_DMA_DSTAT) & MIC_DMA_DSTAT_HALTED)) {
        return;
    }
    if (mic_regfile_dma_take_same_head(d->rf, n)) {
        mic_dma_error(d, n, c, MIC_DMA_ERR_HEAD, "DHPR written with the "
                      "value it held (a full-ring wrap on hardware)");
        return;
    }
    size = (REG(d, n, MIC_DMA_DRAR_HI) >> MIC_DMA_DRAR_SIZE_SHIFT) &
           MIC_DMA_DRAR_SIZE_MASK;
    head = REG(d, n, MIC_DMA_DHPR);
    tail = REG(d, n, MIC_DMA_DTPR);
    if (head == tail) {
        return;
    }
    if (mic_dma_ring_ok(d, n, size, head, tail, &ring, &why)) {
        mic_dma_error(d, n, c, MIC_DMA_ERR_RING, why);
        return;
    }
    trace_mic_dma_run(d->name, n, tail, head);
    while (tail != head) {
        if (!budget_left(b)) {
            return;
        }
        /*
         * Fault injection (the firmware simulator's dma-error knob): the
         * next descriptor fails as on a bus error, before it moves data.
         */
        if (!c->done && mic_regfile_fault_take_dma_error(d->rf, n)) {
            trace_mic_dma_fault(d->name, n, tail);
            mic_dma_halt(d, n, c, MIC_DMA_ERR_BUS);
            return;
        }
        irq = false;
        r = mic_dma_desc(d, n, c, ring, tail, b, &irq, &why);
        if (r < 0) {
            return;                 /* budget used up mid-descriptor */
        }
        if (!mic_dma_current(d, n, c)) {
            return;                 /* reset or re-programmed meanwhile */
        }
        if (r > 0) {
            mic_dma_error(d, n, c, r, why);
            return;
        }
        c->done = 0;
        b->descs--;
        tail = (tail + 1) % size;
        trace_mic_dma_complete(d->name, n, tail);
        SET(d, n, MIC_DMA_DTPR, tail);
        SET(d, n, MIC_DMA_DSTAT,
            (REG(d, n, MIC_DMA_DSTAT) & MIC_DMA_DSTAT_STATUS) | tail);
        if (irq) {
            mic_dma_irq(d, n);
        }
        /* the other process may have moved the head meanwhile */
        head = REG(d, n, MIC_DMA_DHPR);
        if (head >= size) {
            mic_dma_error(d, n, c, MIC_DMA_ERR_RING,
                          "DHPR beyond the ring size");
            return;
        }
    }
}

/*
 * Channels in threads (docs/dma.rst, "Threads").  The bottom half runs
 * each channel until it meets a MEMCPY with MIC_DMA_THREAD_MIN or more
 * left to copy, which it leaves to a worker: a job in QEMU's thread pool
 * that claims such a channel, runs it (descriptors and data, no BQL: see
 * mic_dma_run_channel) until it is idle or MIC_DMA_JOB_BYTES or _DESCS
 * are used up, gives it back and takes the next.  So STATUS descriptors
 * and small copies complete in the main loop as promptly as ever, and big
 * copies run side by side, off the main loop, at most one worker per host
 * CPU.  Whoever runs a channel has claimed it (d->busy) and works on a
 * copy of its progress, put back when it lets go.  Interrupts a worker
 * raises reach the guest through notify_bh.  d->lock guards ch[].gen and
 * .done, busy, want (channels waiting for a worker) and workers.
 */
static bool mic_dma_claim_locked(MicDma *d, unsigned int n, MicDmaChan *c)
{
    if (d->busy & (1u << n)) {
        return false;
    }
    d->busy |= 1u << n;
    *c = d->ch[n];
    c->epoch = d->epoch;
    return true;
}

static void mic_dma_unclaim(MicDma *d, MicDmaChan *c, unsigned int n)
{
    QEMU_LOCK_GUARD(&d->lock);
    if (c->epoch == d->epoch) {     /* else mic_dma_drop() voided it */
        d->ch[n].gen = c->gen;
        d->ch[n].done = c->done;
    }
    d->busy &= ~(1u << n);
}

/* A channel waiting for a worker that no one runs; false if none. */
static bool mic_dma_claim_wanted(MicDma *d, MicDmaChan *c, unsigned int *pn)
{
    unsigned int i, n;

    QEMU_LOCK_GUARD(&d->lock);
    if (!runstate_is_running()) {
        return false;
    }
    for (i = 0; i < MIC_NUM_DMA_CH; i++) {
        n = (d->worker_next + i) % MIC_NUM_DMA_CH;
        if ((d->want & (1u << n)) && mic_dma_claim_locked(d, n, c)) {
            d->want &= ~(1u << n);
            d->worker_next = (n + 1) % MIC_NUM_DMA_CH;
            *pn = n;
            return true;
        }
    }
    return false;
}

static int mic_dma_worker(void *opaque)
{
    MicDma *d = opaque;
    MicDmaBudget b = { .bytes = MIC_DMA_JOB_BYTES,
                       .descs = MIC_DMA_JOB_DESCS };
    MicDmaChan c;
    unsigned int n;

    while (budget_left(&b) && mic_dma_claim_wanted(d, &c, &n)) {
        trace_mic_dma_worker_run(d->name, n, c.done);
        mic_dma_run_channel(d, n, &c, &b);
        mic_dma_unclaim(d, &c, n);
    }
    return 0;
}

static void mic_dma_worker_done(void *opaque, int ret)
{
    MicDma *d = opaque;

    WITH_QEMU_LOCK_GUARD(&d->lock) {
        d->workers--;
    }
    mic_dma_kick(d);                /* work may be left */
}

/* Start workers for the channels that wait for one. */
static void mic_dma_start_workers(MicDma *d)
{
    unsigned int want;

    WITH_QEMU_LOCK_GUARD(&d->lock) {
        want = MIN(ctpop32(d->want & ~d->busy), d->max_workers);
        want = want > d->workers ? want - d->workers : 0;
        d->workers += want;
    }
    while (want--) {
        trace_mic_dma_worker(d->name);
        thread_pool_submit_aio(mic_dma_worker, d, mic_dma_worker_done, d);
    }
}

/* Wait for the workers: after this the engine changes no memory. */
static void mic_dma_drain(MicDma *d)
{
    AIO_WAIT_WHILE(NULL, qatomic_read(&d->workers) > 0);
}

static void mic_dma_bh(void *opaque)
{
    MicDma *d = opaque;
    MicDmaBudget b = { .bytes = MIC_DMA_RUN_BYTES,
                       .descs = MIC_DMA_RUN_DESCS };
    uint32_t want = 0;
    unsigned int i, n;
    MicDmaChan c;
    bool ours;

    /* a stopped VM (paused, migrating) must not see its memory change */
    if (!d->rf || !runstate_is_running()) {
        return;
    }
    if (d->threads && !d->rate_mbps) {
        b.big = MIC_DMA_THREAD_MIN;
    }
    for (i = 0; i < MIC_NUM_DMA_CH && budget_left(&b); i++) {
        n = (d->next + i) % MIC_NUM_DMA_CH;
        WITH_QEMU_LOCK_GUARD(&d->lock) {
            ours = !(d->want & (1u << n)) && mic_dma_claim_locked(d, n, &c);
        }
        if (!ours) {
            continue;               /* a worker has it, or will */
        }
        b.deferred = false;
        mic_dma_run_channel(d, n, &c, &b);
        mic_dma_unclaim(d, &c, n);
        if (b.deferred) {
            want |= 1u << n;
        }
    }
    d->next = (d->next + 1) % MIC_NUM_DMA_CH;
    if (b.big) {
        WITH_QEMU_LOCK_GUARD(&d->lock) {
            d->want |= want;
        }
        mic_dma_start_workers(d);   /* also for channels waiting since */
    }
    if (!budget_left(&b)) {
        trace_mic_dma_yield(d->name);
        qemu_bh_schedule(d->bh);    /* more may be left: continue later */
    }
}

void mic_dma_kick(MicDma *d)
{
    if (d->bh && d->rf) {
        qemu_bh_schedule(d->bh);
    }
}

void mic_dma_doorbell(MicDma *d, uint32_t mask)
{
    uint32_t dcr, peer = 0;
    unsigned int n;

    if (!d->rf) {
        return;
    }
    dcr = mic_regfile_read(d->rf, d->side, MIC_REG_DCR);
    for (n = 0; n < MIC_NUM_DMA_CH; n++) {
        if ((mask & (1u << n)) && !mic_dma_owns(d, dcr, n)) {
            peer |= 1u << n;
        }
    }
    trace_mic_dma_doorbell(d->name, mask, peer);
    if (peer) {
        d->ops->kick_peer(d->opaque);
    }
    if (mask & ~peer) {
        mic_dma_kick(d);
    }
}

void mic_dma_drop(MicDma *d)
{
    unsigned int n;

    /* workers stop within a chunk; the progress they hold is void */
    QEMU_LOCK_GUARD(&d->lock);
    qatomic_set(&d->epoch, d->epoch + 1);
    d->want = 0;
    for (n = 0; n < MIC_NUM_DMA_CH; n++) {
        d->ch[n].done = 0;
        d->ch[n].busy_until = 0;
        d->ch[n].gen = d->rf ? mic_regfile_dma_gen(d->rf, n) : 0;
    }
    if (d->bh) {
        qemu_bh_cancel(d->bh);
    }
    if (d->pace_timer) {
        timer_del(d->pace_timer);
    }
}

void mic_dma_reset(MicDma *d)
{
    if (d->rf) {
        mic_regfile_reset_dma(d->rf);
    }
    mic_dma_drop(d);
}

/*
 * Work that waited for the VM to run again; and a VM that stops (pause,
 * the last phase of a migration) must see no more writes: the copies in
 * flight finish first (a worker stops picking channels, and moves at
 * most MIC_DMA_JOB_BYTES).
 */
static void mic_dma_vm_state(void *opaque, bool running, RunState state)
{
    if (running) {
        mic_dma_kick(opaque);
    } else {
        mic_dma_drain(opaque);
    }
}

void mic_dma_init(MicDma *d, DeviceState *dev, MicRegSide side,
                  const char *name, const MicDmaOps *ops, void *opaque)
{
    memset(d, 0, sizeof(*d));
    qemu_mutex_init(&d->lock);
    /* copying threads beyond the host's CPUs would only take turns */
    d->max_workers = MAX(1, MIN(MIC_NUM_DMA_CH / 2,
                                sysconf(_SC_NPROCESSORS_ONLN)));
    d->side = side;
    d->name = name;
    d->ops = ops;
    d->opaque = opaque;
    /* a DMA into the device's own registers hits the re-entrancy guard */
    d->bh = qemu_bh_new_guarded(mic_dma_bh, d, &dev->mem_reentrancy_guard);
    d->notify_bh = qemu_bh_new_guarded(mic_dma_notify_bh, d,
                                       &dev->mem_reentrancy_guard);
    d->pace_timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, mic_dma_pace_timer, d);
    d->vmstate = qemu_add_vm_change_state_handler(mic_dma_vm_state, d);
}

void mic_dma_attach(MicDma *d, MicRegFile *rf, AddressSpace *card_as,
                    uint64_t card_mem_size, AddressSpace *host_as)
{
    d->rf = rf;
    d->card_as = card_as;
    d->card_mem_size = card_mem_size;
    d->host_as = host_as;
    mic_dma_drop(d);
    mic_dma_kick(d);
}

void mic_dma_exit(MicDma *d)
{
    if (d->vmstate) {
        qemu_del_vm_change_state_handler(d->vmstate);
        d->vmstate = NULL;
    }
    if (d->bh) {
        qemu_bh_delete(d->bh);      /* no new workers: kicks are off */
        d->bh = NULL;
    }
    if (d->pace_timer) {
        timer_free(d->pace_timer);
        d->pace_timer = NULL;
    }
    mic_dma_drain(d);
    if (d->notify_bh) {
        qemu_bh_delete(d->notify_bh);
        d->notify_bh = NULL;
        qemu_mutex_destroy(&d->lock);
    }
    d->rf = NULL;
}

/* ---- migration ---------------------------------------------------------- */

static int mic_dma_pre_save(void *opaque)
{
    MicDma *d = opaque;
    unsigned int n;

    for (n = 0; n < MIC_NUM_DMA_CH; n++) {
        d->saved_gen[n] = mic_regfile_dma_gen(d->rf, n);
    }
    d->saved_same_head = __atomic_load_n(&d->rf->dma_same_head,
                                         __ATOMIC_ACQUIRE);
    return 0;
}

static int mic_dma_post_load(void *opaque, int version_id)
{
    MicDma *d = opaque;
    unsigned int n;

    for (n = 0; n < MIC_NUM_DMA_CH; n++) {
        __atomic_store_n(&d->rf->dma_gen[n], d->saved_gen[n],
                         __ATOMIC_RELEASE);
        if (d->ch[n].done % MIC_DMA_ALIGN) {
            d->ch[n].done = 0;      /* not from us: start the copy over */
        }
    }
    __atomic_store_n(&d->rf->dma_same_head,
                     d->saved_same_head & ((1u << MIC_NUM_DMA_CH) - 1),
                     __ATOMIC_RELEASE);
    d->next %= MIC_NUM_DMA_CH;
    mic_dma_kick(d);
    return 0;
}

static const VMStateDescription vmstate_mic_dma_chan = {
    .name = "mic-dma-channel",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(gen, MicDmaChan),
        VMSTATE_UINT64(done, MicDmaChan),
        VMSTATE_END_OF_LIST()
    },
};

const VMStateDescription vmstate_mic_dma = {
    .name = "mic-dma",
    .version_id = 1,
    .minimum_version_id = 1,
    .pre_save = mic_dma_pre_save,
    .post_load = mic_dma_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_STRUCT_ARRAY(ch, MicDma, MIC_NUM_DMA_CH, 1,
                             vmstate_mic_dma_chan, MicDmaChan),
        VMSTATE_UINT32(next, MicDma),
        VMSTATE_UINT32_ARRAY(saved_gen, MicDma, MIC_NUM_DMA_CH),
        VMSTATE_UINT32(saved_same_head, MicDma),
        VMSTATE_END_OF_LIST()
    },
};
