/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mic-x100: what the host role adds to the micfw link (mic_link_dev.c).
 *
 * HELLO may carry the host VM's RAM memfd and its layout, so that the
 * card VM can put host RAM behind its SMPT window.  From WELCOME the host
 * device keeps the card memory, which becomes BAR0; the register file and
 * the doorbells the link keeps.  At run time it sends RESET and
 * BOOT_KICK (and PEER, mic_x100_peer.c) and hears the card's doorbell.
 */
#include "qemu/osdep.h"
#include "qemu/host-utils.h"
#include "qemu/log.h"
#include "qapi/error.h"
#include "system/hostmem.h"
#include "hw/pci/pci.h"
#include "hw/pci/pci_bus.h"
#include "mic_x100.h"
#include "trace.h"

/* The host VM's RAM layout, from the PCI host bridge (i440FX, Q35). */
static bool host_ram_layout(MicX100State *s, uint64_t *below, uint64_t *above,
                            Error **errp)
{
    PCIBus *root = pci_device_root_bus(PCI_DEVICE(s));
    Object *phb = root ? OBJECT(BUS(root)->parent) : NULL;
    Error *err = NULL;

    if (!phb || !object_property_find(phb, "below-4g-mem-size") ||
        !object_property_find(phb, "above-4g-mem-size")) {
        error_setg(errp, "host-mem: this machine's PCI host bridge does not "
                   "describe the RAM layout (use an x86 pc or q35 machine)");
        return false;
    }
    *below = object_property_get_uint(phb, "below-4g-mem-size", &err);
    if (!err) {
        *above = object_property_get_uint(phb, "above-4g-mem-size", &err);
    }
    if (err) {
        error_propagate(errp, err);
        return false;
    }
    return true;
}

/* HELLO's payload, and the host RAM memfd to pass with it (or -1). */
static bool make_hello(MicX100State *s, struct mic_link_hello *hello,
                       int *fd, Error **errp)
{
    MemoryRegion *mr;
    uint64_t size;

    *hello = (struct mic_link_hello) {
        .version = MIC_LINK_VERSION, .role = MIC_LINK_ROLE_HOST,
    };
    *fd = -1;
    if (!s->host_mem) {
        return true;
    }
    mr = host_memory_backend_get_memory(s->host_mem);
    *fd = memory_region_get_fd(mr);
    size = memory_region_size(mr);
    if (*fd < 0 || !object_property_get_bool(OBJECT(s->host_mem), "share",
                                             NULL)) {
        error_setg(errp, "host-mem must be a shared, fd-based memory "
                   "backend (memory-backend-memfd,share=on)");
        return false;
    }
    if (!host_ram_layout(s, &hello->host_ram_below_4g,
                         &hello->host_ram_above_4g, errp)) {
        return false;
    }
    if (hello->host_ram_below_4g + hello->host_ram_above_4g != size) {
        error_setg(errp, "host-mem is 0x%" PRIx64 " bytes but the machine "
                   "has 0x%" PRIx64 " bytes of RAM: pass the machine's RAM "
                   "backend (-machine memory-backend=ID)", size,
                   hello->host_ram_below_4g + hello->host_ram_above_4g);
        return false;
    }
    return true;
}

/* The card memory becomes BAR0 (rounded up to a power of two there). */
static bool mic_x100_link_welcome(void *opaque, Error **errp)
{
    MicX100State *s = opaque;
    uint64_t size = s->link.welcome.card_mem_size;
    int fd;

    if (!mic_card_mem_ok(size)) {
        error_setg(errp, "card memory size 0x%" PRIx64 " from the firmware "
                   "simulator is not whole MiB between 1 MiB and 1 TiB",
                   size);
        return false;
    }
    if (!mic_link_check_memfd(s->link.welcome_fds[MIC_LINK_FD_CARD_MEM],
                              size, "card memory", errp)) {
        return false;
    }
    fd = mic_link_take_fd(&s->link, MIC_LINK_FD_CARD_MEM);
    if (!memory_region_init_ram_from_fd(&s->gddr, OBJECT(s), "mic-x100.gddr",
                                        size, RAM_SHARED, fd, 0, errp)) {
        close(fd);
        return false;
    }
    s->rf = s->link.rf;
    return true;                    /* fd now owned by the RAM block */
}

/* The card rang: SICR0 sources, or a forwarded DHPR write. */
static void mic_x100_link_doorbell(void *opaque)
{
    MicX100State *s = opaque;

    mic_x100_deliver(s);
    mic_dma_kick(&s->dma);
}

const MicLinkOps mic_x100_link_ops = {
    .welcome = mic_x100_link_welcome,
    .doorbell = mic_x100_link_doorbell,
};

bool mic_x100_link_connect(MicX100State *s, Error **errp)
{
    struct mic_link_hello hello;
    int fd;

    return make_hello(s, &hello, &fd, errp) &&
           mic_link_connect(&s->link, &hello, fd, errp);
}

/* RESET or BOOT_KICK, caused by a guest register write: never blocks. */
void mic_x100_link_send(MicX100State *s, uint16_t type)
{
    const char *name = type == MIC_LINK_RESET ? "RESET" : "BOOT_KICK";
    int ret;

    ret = mic_link_send(&s->link, type, NULL, 0, NULL, 0);
    if (ret == -EAGAIN) {
        qemu_log_mask(LOG_UNIMP, "mic-x100: firmware simulator is not "
                      "reading its link, %s dropped\n", name);
    } else if (ret < 0) {
        qemu_log_mask(LOG_UNIMP, "mic-x100: link down, %s not delivered to "
                      "the firmware simulator\n", name);
    }
}
