/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A register window onto a MicRegFile (mic_regwin.h), shared by the host
 * device's BAR4, the card device's window and the peer cards' windows.
 */
#include "qemu/osdep.h"
#include "qemu/bitops.h"
#include "qemu/cutils.h"
#include "qemu/log.h"
#include "mic_regwin.h"
#include "trace.h"

/* Only aligned 32-bit accesses inside the window reach a register. */
static bool access_ok(MicRegWindow *w, hwaddr addr, unsigned size,
                      bool is_write)
{
    if (addr < MIC_MMIO_SIZE && size == 4 && !(addr & 3) && w->rf) {
        return true;
    }
    qemu_log_mask(LOG_GUEST_ERROR, "%s: %u-byte %s at 0x%05" HWADDR_PRIx
                  ": the register window takes aligned 32-bit accesses "
                  "only; %s\n", w->who, size, is_write ? "write" : "read",
                  addr, is_write ? "dropped" : "reads all ones");
    return false;
}

/*
 * A card whose link is down (fault injection) is gone from the host's
 * bus: the host side's accesses end like ones to an absent function.
 */
static bool link_down(MicRegWindow *w, hwaddr addr, bool is_write)
{
    if (w->side != MIC_SIDE_HOST || !w->rf ||
        !mic_regfile_fault_link_down(w->rf)) {
        return false;
    }
    trace_mic_regwin_link_down(w->who, addr, is_write);
    return true;
}

static uint64_t mic_regwin_read(void *opaque, hwaddr addr, unsigned size)
{
    MicRegWindow *w = opaque;
    char name[32];
    uint32_t val;

    if (link_down(w, addr, false) || !access_ok(w, addr, size, false)) {
        return MAKE_64BIT_MASK(0, size * 8);
    }
    if (w->ops->sync) {
        w->ops->sync(w->opaque);
    }
    val = mic_regfile_read(w->rf, w->side, addr);
    if (!mic_regfile_known(addr)) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: read of undefined register "
                      "0x%05" HWADDR_PRIx "\n", w->who, addr);
    }
    if (trace_event_get_state_backends(TRACE_MIC_REGWIN_READ)) {
        trace_mic_regwin_read(w->who, mic_regfile_name(addr, name,
                                                       sizeof(name)),
                              addr, val);
    }
    return val;
}

static void mic_regwin_write(void *opaque, hwaddr addr, uint64_t val,
                             unsigned size)
{
    MicRegWindow *w = opaque;
    MicRegEvents ev;
    char name[32];

    if (link_down(w, addr, true) || !access_ok(w, addr, size, true)) {
        return;
    }
    if (w->ops->sync) {
        w->ops->sync(w->opaque);
    }
    mic_regfile_write(w->rf, w->side, addr, val, &ev);
    if (trace_event_get_state_backends(TRACE_MIC_REGWIN_WRITE)) {
        trace_mic_regwin_write(w->who, mic_regfile_name(addr, name,
                                                        sizeof(name)),
                               addr, val, ev.flags);
    }
    if (ev.flags & MIC_EV_GUEST_ERR) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: write 0x%08" PRIx64 " to %s "
                      "(0x%05" HWADDR_PRIx "): %s\n", w->who, val,
                      mic_regfile_name(addr, name, sizeof(name)), addr,
                      ev.error ? ev.error : "invalid");
    }
    w->ops->events(w->opaque, addr, &ev);
}

/*
 * Every access reaches the device, so that what a bad one gets is decided
 * here and not by the memory core (which would read 0); an 8-byte access
 * arrives as two 4-byte ones.
 */
static const MemoryRegionOps mic_regwin_ops = {
    .read = mic_regwin_read,
    .write = mic_regwin_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = MIC_ACCESS_ANY,
    .impl = {
        .min_access_size = 1,
        .max_access_size = 4,
        .unaligned = true,
    },
};

void mic_regwin_init(MicRegWindow *w, Object *owner, const char *region,
                     const char *who, MicRegSide side, MicRegFile *rf,
                     const MicRegWindowOps *ops, void *opaque)
{
    pstrcpy(w->who, sizeof(w->who), who);
    w->side = side;
    w->rf = rf;
    w->ops = ops;
    w->opaque = opaque;
    memory_region_init_io(&w->mr, owner, &mic_regwin_ops, w, region,
                          MIC_MMIO_SIZE);
}

/* ---- migration ---------------------------------------------------------- */

static int mic_regwin_pre_save(void *opaque)
{
    MicRegWindow *w = opaque;
    unsigned int i;

    for (i = 0; i < ARRAY_SIZE(w->image); i++) {
        w->image[i] = __atomic_load_n(&w->rf->mmio[i], __ATOMIC_ACQUIRE);
    }
    w->image_host_raised = __atomic_load_n(&w->rf->host_raised,
                                           __ATOMIC_ACQUIRE);
    w->image_card_raised = __atomic_load_n(&w->rf->card_raised,
                                           __ATOMIC_ACQUIRE);
    return 0;
}

static int mic_regwin_post_load(void *opaque, int version_id)
{
    MicRegWindow *w = opaque;
    unsigned int i;

    for (i = 0; i < ARRAY_SIZE(w->image); i++) {
        __atomic_store_n(&w->rf->mmio[i], w->image[i], __ATOMIC_RELEASE);
    }
    __atomic_store_n(&w->rf->host_raised, w->image_host_raised,
                     __ATOMIC_RELEASE);
    __atomic_store_n(&w->rf->card_raised, w->image_card_raised,
                     __ATOMIC_RELEASE);
    return 0;
}

const VMStateDescription vmstate_mic_regwin = {
    .name = "mic-regwin",
    .version_id = 1,
    .minimum_version_id = 1,
    .pre_save = mic_regwin_pre_save,
    .post_load = mic_regwin_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32_ARRAY(image, MicRegWindow, MIC_MMIO_SIZE / 4),
        VMSTATE_UINT32(image_host_raised, MicRegWindow),
        VMSTATE_UINT32(image_card_raised, MicRegWindow),
        VMSTATE_END_OF_LIST()
    },
};
