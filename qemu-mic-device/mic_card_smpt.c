/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mic-card: the system-memory window (SMPT, facts §3.3).
 *
 * Card physical 0x80_0000_0000 + i * 16 GiB + off reaches host bus address
 * ((SMPT[i] >> 2) << 34) + off.  Host bus addresses are the host VM's
 * guest-physical addresses; the host RAM memfd from WELCOME holds the
 * below-4G RAM (at bus 0) followed by the above-4G RAM (at bus 4 GiB).
 *
 *   system memory
 *    └ mic-card.smpt (container, 512 GiB, priority MIC_CARD_WINDOW_PRIO)
 *       ├ smpt-entry<i> (alias of host-bus at the entry's bus address)
 *       └ smpt-unbacked (I/O, priority -1): all-ones, writes ignored
 *   mic-card.host-bus (container, 2^64): host-low at 0, host-high at 4 GiB,
 *      both aliases of mic-card.host-ram (the memfd, shared)
 *
 * host-bus is a pure container, so whatever an entry maps that is not host
 * RAM falls through to smpt-unbacked.  Card CPU accesses to host RAM are
 * plain memory accesses.
 *
 * While the firmware simulator's link-down knob is set, the entries are
 * disabled: the whole window reads all ones and drops writes, as host
 * memory does for a card that fell off the bus.
 *
 * Nobody tells this process synchronously when the host writes an SMPT
 * register (the register file is shared memory), so the aliases are
 * re-synchronised at realize and reset, before every register window
 * access, on every "to card" eventfd, and from a poll timer.
 */
#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qapi/error.h"
#include "exec/memory.h"
#include "exec/address-spaces.h"
#include "mic_card.h"
#include "trace.h"

static void unbacked_log(MicCardState *s, hwaddr addr, unsigned size,
                         bool is_write)
{
    int64_t now = qemu_clock_get_ms(QEMU_CLOCK_REALTIME);
    unsigned int i = addr >> MIC_SMPT_SHIFT;
    uint64_t off = addr & (MIC_SMPT_PAGE - 1);

    trace_mic_card_smpt_unbacked(addr, size, is_write);
    if (i >= MIC_NUM_SMPT || s->link_down) {
        return;                     /* the memory core never sends these */
    }
    if (now < s->unbacked_next_ms) {
        s->unbacked_quiet++;
        return;
    }
    qemu_log_mask(LOG_GUEST_ERROR, "mic-card: %u-byte %s at card address "
                  "0x%" PRIx64 " (SMPT%u = 0x%08" PRIx32 ", host bus "
                  "0x%" PRIx64 "): no host RAM there, %s (%u more such "
                  "accesses not logged)\n", size,
                  is_write ? "write" : "read",
                  (uint64_t)(MIC_SMPT_BASE + addr), i,
                  s->smpt_val[i], mic_smpt_bus_addr(s->smpt_val[i]) + off,
                  is_write ? "ignored" : "reads all-ones", s->unbacked_quiet);
    s->unbacked_next_ms = now + MIC_CARD_UNBACKED_LOG_MS;
    s->unbacked_quiet = 0;
}

static uint64_t unbacked_read(void *opaque, hwaddr addr, unsigned size)
{
    unbacked_log(opaque, addr, size, false);
    return UINT64_MAX;              /* a master abort reads all-ones */
}

static void unbacked_write(void *opaque, hwaddr addr, uint64_t val,
                           unsigned size)
{
    unbacked_log(opaque, addr, size, true);
}

static const MemoryRegionOps unbacked_ops = {
    .read = unbacked_read,
    .write = unbacked_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = MIC_ACCESS_ANY,
    .impl = MIC_ACCESS_ANY,
};

/* The host RAM memfd as a RAM region, mapped into host-bus. */
static bool host_ram_init(MicCardState *s, Error **errp)
{
    uint64_t below = s->link.welcome.host_ram_below_4g;
    uint64_t above = s->link.welcome.host_ram_above_4g;

    if (s->host_ram_fd < 0) {
        return true;                /* standalone, or a host without memfd */
    }
    /* sizes were bounded by the link code: below <= 4 GiB, above <= 2^46 */
    if (!memory_region_init_ram_from_fd(&s->host_ram, OBJECT(s),
                                        "mic-card.host-ram", below + above,
                                        RAM_SHARED, s->host_ram_fd, 0,
                                        errp)) {
        return false;
    }
    s->host_ram_fd = -1;            /* now owned by the RAM block */
    s->host_ram_ready = true;
    if (below) {
        memory_region_init_alias(&s->host_low, OBJECT(s), "mic-card.host-low",
                                 &s->host_ram, 0, below);
        memory_region_add_subregion(&s->host_bus, 0, &s->host_low);
    }
    if (above) {
        memory_region_init_alias(&s->host_high, OBJECT(s),
                                 "mic-card.host-high", &s->host_ram, below,
                                 above);
        memory_region_add_subregion(&s->host_bus, MIC_CARD_HOST_HIGH_BASE,
                                    &s->host_high);
    }
    return true;
}

static uint32_t smpt_read(MicCardState *s, unsigned int i)
{
    return mic_regfile_read(s->rf, MIC_SIDE_CARD, MIC_REG_SMPT(i));
}

static void smpt_poll(void *opaque)
{
    MicCardState *s = opaque;

    mic_card_smpt_sync(s);
    timer_mod(s->smpt_timer, qemu_clock_get_ms(QEMU_CLOCK_VIRTUAL) +
              s->smpt_poll_ms);
}

bool mic_card_smpt_init(MicCardState *s, Error **errp)
{
    unsigned int i;
    char name[32];

    memory_region_init(&s->host_bus, OBJECT(s), "mic-card.host-bus",
                       UINT64_MAX);
    if (!host_ram_init(s, errp)) {
        return false;
    }
    memory_region_init(&s->smpt, OBJECT(s), "mic-card.smpt",
                       MIC_SMPT_SIZE);
    memory_region_init_io(&s->smpt_unbacked, OBJECT(s), &unbacked_ops, s,
                          "mic-card.smpt-unbacked", MIC_SMPT_SIZE);
    memory_region_add_subregion_overlap(&s->smpt, 0, &s->smpt_unbacked, -1);
    for (i = 0; i < MIC_NUM_SMPT; i++) {
        s->smpt_val[i] = smpt_read(s, i);
        snprintf(name, sizeof(name), "mic-card.smpt-entry%u", i);
        memory_region_init_alias(&s->smpt_alias[i], OBJECT(s), name,
                                 &s->host_bus,
                                 mic_smpt_bus_addr(s->smpt_val[i]),
                                 MIC_SMPT_PAGE);
        memory_region_add_subregion(&s->smpt, i * MIC_SMPT_PAGE,
                                    &s->smpt_alias[i]);
    }
    if (s->smpt_poll_ms) {
        s->smpt_timer = timer_new_ms(QEMU_CLOCK_VIRTUAL, smpt_poll, s);
    }
    return true;
}

/* Called with the BQL from MMIO, fd handlers, timers and reset. */
void mic_card_smpt_sync(MicCardState *s)
{
    bool changed = false;
    unsigned int i;
    uint32_t v;

    if (!s->rf || !s->smpt_mapped) {
        return;
    }
    for (i = 0; i < MIC_NUM_SMPT; i++) {
        v = smpt_read(s, i);
        if (v == s->smpt_val[i]) {
            continue;
        }
        if (!changed) {
            memory_region_transaction_begin();
            changed = true;
        }
        s->smpt_val[i] = v;
        trace_mic_card_smpt_map(i, v, mic_smpt_bus_addr(v));
        memory_region_set_alias_offset(&s->smpt_alias[i], mic_smpt_bus_addr(v));
    }
    v = mic_regfile_fault_link_down(s->rf);
    if (v != s->link_down) {
        if (!changed) {
            memory_region_transaction_begin();
            changed = true;
        }
        s->link_down = v;
        trace_mic_card_smpt_link(v, v ? "gone" : "back");
        for (i = 0; i < MIC_NUM_SMPT; i++) {
            memory_region_set_enabled(&s->smpt_alias[i], !v);
        }
    }
    if (changed) {
        memory_region_transaction_commit();
    }
}

/* Put the window into card physical space and start watching SMPT. */
void mic_card_smpt_map(MicCardState *s)
{
    memory_region_add_subregion_overlap(get_system_memory(),
                                        MIC_SMPT_BASE, &s->smpt,
                                        MIC_CARD_WINDOW_PRIO);
    s->smpt_mapped = true;
    mic_card_smpt_sync(s);
    if (s->smpt_timer) {
        timer_mod(s->smpt_timer, qemu_clock_get_ms(QEMU_CLOCK_VIRTUAL) +
                  s->smpt_poll_ms);
    }
}

/* Take a region out of its container, if it is in one. */
static void detach(MemoryRegion *mr)
{
    if (mr->container) {
        memory_region_del_subregion(mr->container, mr);
    }
}

/*
 * Undo mic_card_smpt_init and the mapping, whatever state they reached:
 * afterwards no region of ours sits in a container, so finalizing the
 * device may release them in any order.
 */
void mic_card_smpt_exit(MicCardState *s)
{
    unsigned int i;

    if (s->smpt_timer) {
        timer_free(s->smpt_timer);
        s->smpt_timer = NULL;
    }
    memory_region_transaction_begin();
    detach(&s->smpt);
    s->smpt_mapped = false;
    for (i = 0; i < MIC_NUM_SMPT; i++) {
        detach(&s->smpt_alias[i]);
    }
    detach(&s->smpt_unbacked);
    detach(&s->host_low);
    detach(&s->host_high);
    memory_region_transaction_commit();
}
