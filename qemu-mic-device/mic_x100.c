/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mic-x100: the host-facing PCIe function of an Intel Xeon Phi x100
 * (Knights Corner) coprocessor card.
 *
 *   BAR0  card memory (GDDR), 64-bit prefetchable, plain RAM
 *   BAR2  MSI-X table and PBA (16 vectors)
 *   BAR4  128 KiB register window, semantics in mic_regfile.c
 *
 * With a "chardev" the card's resources (memory, register file, doorbell
 * eventfds) come from the firmware simulator micfw; without one the device
 * stands alone with local memory and a register file that reports the
 * bootstrap as ready, enough for a host driver to probe.
 * Guest-visible contract: docs/mic-x100.rst.
 */
#include "qemu/osdep.h"
#include "qemu/units.h"
#include "qemu/host-utils.h"
#include "qemu/log.h"
#include "qemu/module.h"
#include "qemu/error-report.h"
#include "qapi/error.h"
#include "hw/pci/pci.h"
#include "hw/pci/pcie.h"
#include "hw/pci/msi.h"
#include "hw/pci/msix.h"
#include "hw/qdev-properties.h"
#include "hw/qdev-properties-system.h"
#include "migration/blocker.h"
#include "migration/vmstate.h"
#include "system/hostmem.h"
#include "mic_x100.h"
#include "trace.h"

/* ---- link down (fault injection) ----------------------------------------- */

/*
 * The firmware simulator's link-down knob takes the card off the host's
 * bus: BAR4 (mic_regwin.c) and BAR0 read all ones and drop writes, config
 * space too, and no interrupt reaches the host.  The card itself runs on.
 * Called whenever micfw rings the host, which it does after the change.
 */
static void mic_x100_link_fault_sync(MicX100State *s)
{
    bool down = s->rf && mic_regfile_fault_link_down(s->rf);

    if (down != s->link_down) {
        s->link_down = down;
        trace_mic_x100_link_fault(down);
        memory_region_set_enabled(&s->gddr_off_bus, down);
    }
}

static uint64_t mic_x100_off_bus_read(void *opaque, hwaddr addr,
                                      unsigned size)
{
    return MAKE_64BIT_MASK(0, size * 8);
}

static void mic_x100_off_bus_write(void *opaque, hwaddr addr, uint64_t val,
                                   unsigned size)
{
}

static const MemoryRegionOps mic_x100_off_bus_ops = {
    .read = mic_x100_off_bus_read,
    .write = mic_x100_off_bus_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = MIC_ACCESS_ANY,
    .impl = {
        .min_access_size = 1,
        .max_access_size = 8,
        .unaligned = true,
    },
};

static uint32_t mic_x100_read_config(PCIDevice *pdev, uint32_t addr, int len)
{
    MicX100State *s = MIC_X100(pdev);

    mic_x100_link_fault_sync(s);
    if (s->link_down) {
        return MAKE_64BIT_MASK(0, len * 8);
    }
    return pci_default_read_config(pdev, addr, len);
}

/* ---- interrupts --------------------------------------------------------- */

/*
 * Send whatever the register file says is due, in the mode the guest
 * enabled: MSI-X (MXAR routing), MSI (MXAR0) or INTx (level).  Doorbells
 * the doorbell-fault knob doubles are raised and sent once more.
 */
void mic_x100_deliver(MicX100State *s)
{
    PCIDevice *pdev = PCI_DEVICE(s);
    uint32_t vectors, dup;
    bool level;
    unsigned int v, pass;

    if (!s->rf) {
        return;
    }
    mic_x100_link_fault_sync(s);
    if (s->link_down) {
        return;                     /* nothing reaches the host now */
    }
    if (msix_enabled(pdev)) {
        for (pass = 0; pass < 2; pass++) {
            vectors = mic_regfile_host_deliver(s->rf, true, &level);
            for (v = 0; v < MIC_X100_MSIX_VECTORS; v++) {
                if (vectors & (1u << v)) {
                    trace_mic_x100_irq_msix(v);
                    msix_notify(pdev, v);
                }
            }
            dup = mic_regfile_fault_take_dup(s->rf, MIC_FAULT_TO_HOST);
            if (!dup) {
                break;
            }
            trace_mic_x100_irq_doubled(dup);
            mic_regfile_host_raise(s->rf, dup);
        }
        level = false;
    } else if (msi_enabled(pdev)) {
        if (mic_regfile_host_deliver(s->rf, false, &level)) {
            trace_mic_x100_irq_msi();
            msi_notify(pdev, 0);
        }
        level = false;
    } else {
        mic_regfile_host_deliver(s->rf, false, &level);
    }
    if (level != s->intx_level) {
        s->intx_level = level;
        trace_mic_x100_irq_intx(level);
        pci_set_irq(pdev, level);
    }
}

static void mic_x100_write_config(PCIDevice *pdev, uint32_t addr,
                                  uint32_t val, int len)
{
    MicX100State *s = MIC_X100(pdev);

    mic_x100_link_fault_sync(s);
    if (s->link_down) {
        return;
    }
    pci_default_write_config(pdev, addr, val, len);
    /* the interrupt mode may have changed: move INTx/MSI state along */
    mic_x100_deliver(MIC_X100(pdev));
    /* and the BARs may have moved: tell the other cards */
    mic_x100_peer_update();
}

/* ---- register window (BAR4) --------------------------------------------- */

static void mic_x100_ready_timer(void *opaque)
{
    MicX100State *s = opaque;

    mic_regfile_post_ready(s->rf, MIC_DEFAULT_BOOT_ADDR, 0);
    trace_mic_x100_ready(mic_regfile_spad(s->rf, 2));
}

static void mic_x100_card_reset(MicX100State *s)
{
    trace_mic_x100_card_reset(s->link.state == MIC_LINK_NONE);
    /*
     * Stop the DMA channels now, not when micfw gets round to it: no
     * host-owned channel may copy after the RGCR write (docs/dma.rst).
     */
    mic_dma_reset(&s->dma);
    if (s->link.state != MIC_LINK_NONE) {
        mic_x100_link_send(s, MIC_LINK_RESET);
        return;
    }
    /* facts §10.4: reset the card side, re-post "ready" a little later */
    mic_regfile_reset_card(s->rf);
    timer_mod(s->ready_timer, qemu_clock_get_ms(QEMU_CLOCK_VIRTUAL) +
              MIC_X100_READY_DELAY_MS);
    mic_x100_deliver(s);
}

static void mic_x100_boot_kick(MicX100State *s)
{
    trace_mic_x100_boot_kick(mic_regfile_spad(s->rf, 2),
                             mic_regfile_spad(s->rf, 5));
    if (s->link.state == MIC_LINK_NONE) {
        qemu_log_mask(LOG_UNIMP, "mic-x100: boot kick ignored, no firmware "
                      "simulator attached (chardev property)\n");
        return;
    }
    mic_x100_link_send(s, MIC_LINK_BOOT_KICK);
}

static void mic_x100_handle_events(void *opaque, hwaddr addr,
                                   const MicRegEvents *ev)
{
    MicX100State *s = opaque;
    PCIDevice *pdev = PCI_DEVICE(s);
    unsigned int v;

    if (ev->flags & MIC_EV_PBA_CLEAR) {
        trace_mic_x100_pba_clear();
        for (v = 0; v < MIC_X100_MSIX_VECTORS && msix_present(pdev); v++) {
            msix_clr_pending(pdev, v);
        }
    }
    if (ev->flags & MIC_EV_SMPT) {
        trace_mic_x100_smpt(ev->smpt_mask);
    }
    if (ev->flags & MIC_EV_DMA) {
        trace_mic_x100_dma_doorbell(ev->dma_mask);
        mic_dma_doorbell(&s->dma, ev->dma_mask);
    }
    if (ev->flags & MIC_EV_CARD_IRQ) {
        trace_mic_x100_card_irq(ev->card_sources);
        mic_link_ring(&s->link);
    }
    if (ev->flags & MIC_EV_BOOT_KICK) {
        mic_x100_boot_kick(s);
    }
    if (ev->flags & MIC_EV_RESET) {
        mic_x100_card_reset(s);
    }
    if (ev->flags & MIC_EV_HOST_IRQ) {
        mic_x100_deliver(s);
    }
}

static const MicRegWindowOps mic_x100_regs_ops = {
    .events = mic_x100_handle_events,
};

/* ---- DMA engine glue (mic_dma.c) --------------------------------------- */

static void mic_x100_dma_notify(void *opaque)
{
    mic_x100_deliver(opaque);
}

/* A card-owned channel's DHPR: the card VM's engine runs it. */
static void mic_x100_dma_kick_card(void *opaque)
{
    MicX100State *s = opaque;

    mic_link_ring(&s->link);
}

static const MicDmaOps mic_x100_dma_ops = {
    .notify = mic_x100_dma_notify,
    .kick_peer = mic_x100_dma_kick_card,
};

/* ---- BAR0 ---------------------------------------------------------------- */

/*
 * A BAR is a power of two; a card whose memory is not (6 GiB: a 3120)
 * leaves the rest of BAR0 without memory.  What a host reads there is what
 * a request nothing completes gives on PCIe: all ones, like the register
 * window's unsupported accesses; writes are dropped (docs/mic-x100.rst).
 */
static void mic_x100_tail_log(MicX100State *s, hwaddr addr, unsigned size,
                              bool is_write)
{
    qemu_log_mask(LOG_GUEST_ERROR, "mic-x100: %u-byte %s at BAR0 offset "
                  "0x%" PRIx64 ", past the card's 0x%" PRIx64 " bytes of "
                  "memory: %s\n", size, is_write ? "write" : "read",
                  memory_region_size(&s->gddr) + addr,
                  memory_region_size(&s->gddr),
                  is_write ? "dropped" : "all ones");
}

static uint64_t mic_x100_tail_read(void *opaque, hwaddr addr, unsigned size)
{
    mic_x100_tail_log(opaque, addr, size, false);
    return MAKE_64BIT_MASK(0, size * 8);
}

static void mic_x100_tail_write(void *opaque, hwaddr addr, uint64_t val,
                                unsigned size)
{
    mic_x100_tail_log(opaque, addr, size, true);
}

static const MemoryRegionOps mic_x100_tail_ops = {
    .read = mic_x100_tail_read,
    .write = mic_x100_tail_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = MIC_ACCESS_ANY,
    .impl = MIC_ACCESS_ANY,
};

static void mic_x100_bar0_init(MicX100State *s)
{
    uint64_t mem = memory_region_size(&s->gddr);
    uint64_t bar = mic_bar0_size(mem);

    memory_region_init(&s->bar0, OBJECT(s), "mic-x100.bar0", bar);
    memory_region_add_subregion(&s->bar0, 0, &s->gddr);
    if (bar > mem) {
        memory_region_init_io(&s->bar0_tail, OBJECT(s), &mic_x100_tail_ops,
                              s, "mic-x100.bar0-tail", bar - mem);
        memory_region_add_subregion(&s->bar0, mem, &s->bar0_tail);
    }
    /* fault injection: the card off the bus (mic_x100_link_fault_sync) */
    memory_region_init_io(&s->gddr_off_bus, OBJECT(s), &mic_x100_off_bus_ops,
                          s, "mic-x100.gddr-off-bus", bar);
    memory_region_set_enabled(&s->gddr_off_bus, false);
    memory_region_add_subregion_overlap(&s->bar0, 0, &s->gddr_off_bus, 1);
}

/* ---- realize / unrealize / reset ---------------------------------------- */

static bool mic_x100_standalone_init(MicX100State *s, Error **errp)
{
    if (s->host_mem) {
        error_setg(errp, "host-mem needs chardev: only the firmware "
                   "simulator uses the host memory");
        return false;
    }
    if (!mic_card_mem_ok(s->mem_size)) {
        error_setg(errp, "mem-size 0x%" PRIx64 " must be whole MiB "
                   "between 1 MiB and 1 TiB", s->mem_size);
        return false;
    }
    if (!memory_region_init_ram(&s->gddr, OBJECT(s), "mic-x100.gddr",
                                s->mem_size, errp)) {
        return false;
    }
    s->rf = g_malloc0(sizeof(MicRegFile));
    mic_regfile_init(s->rf);
    s->ready_timer = timer_new_ms(QEMU_CLOCK_VIRTUAL, mic_x100_ready_timer, s);
    return true;
}

static void mic_x100_uninit_msix(PCIDevice *pdev)
{
    if (msix_present(pdev)) {
        msix_unuse_all_vectors(pdev);
        msix_uninit_exclusive_bar(pdev);
    }
}

static bool mic_x100_init_irqs(MicX100State *s, Error **errp)
{
    PCIDevice *pdev = PCI_DEVICE(s);
    Error *err = NULL;
    unsigned int v;
    int ret;

    pci_config_set_interrupt_pin(pdev->config, 1);
    if (pci_is_express(pdev) &&
        pcie_endpoint_cap_init(pdev, MIC_X100_PCIE_CAP) < 0) {
        error_setg(errp, "cannot add the PCI Express capability");
        return false;
    }
    if (s->use_msix) {
        if (msix_init_exclusive_bar(pdev, MIC_X100_MSIX_VECTORS,
                                    MIC_X100_MSIX_BAR, errp)) {
            return false;
        }
        for (v = 0; v < MIC_X100_MSIX_VECTORS; v++) {
            msix_vector_use(pdev, v);
        }
    }
    ret = s->use_msi ? msi_init(pdev, 0, 1, true, false, &err) : 0;
    if (ret == -ENOTSUP) {
        error_free(err);            /* no MSI on this machine: INTx only */
    } else if (ret < 0) {
        error_propagate(errp, err);
        mic_x100_uninit_msix(pdev);
        return false;
    }
    return true;
}

static void mic_x100_release(MicX100State *s)
{
    /* out of BAR0 (no longer on the bus): finalize frees them in any order */
    if (s->gddr.container) {
        memory_region_del_subregion(&s->bar0, &s->gddr);
    }
    if (s->bar0_tail.container) {
        memory_region_del_subregion(&s->bar0, &s->bar0_tail);
    }
    if (s->gddr_off_bus.container) {
        memory_region_del_subregion(&s->bar0, &s->gddr_off_bus);
    }
    mic_x100_peer_remove(s);
    mic_dma_exit(&s->dma);
    if (s->gddr_as_ready) {
        /*
         * The memory API caches each address space's flat view until the
         * memory map next changes, and the view of card memory holds a
         * reference on this device: change the map (the alias off) once
         * the address space is gone, or nothing might finalize the device
         * (and free its chardev) until some unrelated change.
         */
        memory_region_transaction_begin();
        memory_region_set_enabled(&s->gddr_dma, false);
        address_space_destroy(&s->gddr_as);
        memory_region_transaction_commit();
        s->gddr_as_ready = false;
    }
    if (s->ready_timer) {
        timer_free(s->ready_timer);
        s->ready_timer = NULL;
    }
    s->regs.rf = NULL;
    if (s->link.state != MIC_LINK_NONE) {
        mic_link_close(&s->link);
        s->rf = NULL;
    } else {
        /*
         * The RAMBlock outlives unrealize until the device is finalized;
         * its name must go now, or a device_add at the same address
         * meanwhile aborts on a duplicate RAMBlock.
         */
        if (memory_region_size(&s->gddr) && memory_region_is_ram(&s->gddr)) {
            vmstate_unregister_ram(&s->gddr, DEVICE(s));
        }
        g_free(s->rf);
        s->rf = NULL;
    }
    migrate_del_blocker(&s->migration_blocker);
}

static void mic_x100_realize(PCIDevice *pdev, Error **errp)
{
    MicX100State *s = MIC_X100(pdev);

    mic_link_init(&s->link, MIC_LINK_ROLE_HOST, TYPE_MIC_X100,
                  &mic_x100_link_ops, s);
    mic_dma_init(&s->dma, DEVICE(s), MIC_SIDE_HOST, TYPE_MIC_X100,
                 &mic_x100_dma_ops, s);
    s->dma.rate_mbps = s->dma_rate_mbps;
    s->dma.threads = s->dma_threads;
    pci_config_set_device_id(pdev->config, s->device_id);
    pci_config_set_revision(pdev->config, s->revision);

    /* every way out after mic_dma_init() goes through mic_x100_release() */
    if (mic_link_wanted(&s->link)) {
        if (!mic_x100_link_connect(s, errp)) {
            goto fail;
        }
        error_setg(&s->migration_blocker, "mic-x100: a card linked to a "
                   "firmware simulator cannot be migrated");
        if (migrate_add_blocker(&s->migration_blocker, errp) < 0) {
            goto fail;
        }
    } else if (!mic_x100_standalone_init(s, errp)) {
        goto fail;
    }

    /*
     * Card memory as the engine sees it: an alias of BAR0's RAM as an
     * address space root renders at 0 (gddr itself would render at its
     * place in BAR0).  The host bus is this function's bus-master view of
     * the host VM.
     */
    memory_region_init_alias(&s->gddr_dma, OBJECT(s), "mic-x100.dma-gddr",
                             &s->gddr, 0, memory_region_size(&s->gddr));
    address_space_init(&s->gddr_as, &s->gddr_dma, "mic-x100.dma-gddr");
    s->gddr_as_ready = true;
    mic_dma_attach(&s->dma, s->rf, &s->gddr_as,
                   memory_region_size(&s->gddr), pci_get_address_space(pdev));
    mic_regwin_init(&s->regs, OBJECT(s), "mic-x100.regs", TYPE_MIC_X100,
                    MIC_SIDE_HOST, s->rf, &mic_x100_regs_ops, s);
    mic_x100_bar0_init(s);
    pci_register_bar(pdev, MIC_X100_GDDR_BAR,
                     PCI_BASE_ADDRESS_SPACE_MEMORY |
                     PCI_BASE_ADDRESS_MEM_TYPE_64 |
                     PCI_BASE_ADDRESS_MEM_PREFETCH, &s->bar0);
    pci_register_bar(pdev, MIC_X100_MMIO_BAR,
                     PCI_BASE_ADDRESS_SPACE_MEMORY |
                     PCI_BASE_ADDRESS_MEM_TYPE_64, &s->regs.mr);
    if (!mic_x100_init_irqs(s, errp)) {
        goto fail;
    }
    s->cold = true;
    mic_x100_peer_add(s);
    return;

fail:
    mic_x100_release(s);
}

static void mic_x100_exit(PCIDevice *pdev)
{
    MicX100State *s = MIC_X100(pdev);

    msi_uninit(pdev);
    mic_x100_uninit_msix(pdev);
    if (pci_is_express(pdev)) {
        pcie_cap_exit(pdev);
    }
    mic_x100_release(s);
}

static void mic_x100_reset(DeviceState *dev)
{
    MicX100State *s = MIC_X100(dev);
    bool cold = s->cold;

    s->cold = false;
    s->intx_level = false;          /* the PCI core lowered INTx already */
    mic_x100_peer_update();         /* a reset unmaps the BARs */
    if (s->link.state == MIC_LINK_NONE) {
        timer_del(s->ready_timer);
        mic_regfile_init(s->rf);
        mic_dma_reset(&s->dma);
        mic_regfile_post_ready(s->rf, MIC_DEFAULT_BOOT_ADDR, 0);
        return;
    }
    if (cold) {
        return;                     /* micfw just set the card up */
    }
    /* a host reset also resets the card (like PCIe hot reset) */
    mic_regfile_write(s->rf, MIC_SIDE_HOST, MIC_REG_SICC0, ~0u, NULL);
    mic_regfile_write(s->rf, MIC_SIDE_HOST, MIC_REG_SIAC0, 0, NULL);
    for (unsigned int i = 0; i < MIC_NUM_MXAR; i++) {
        mic_regfile_write(s->rf, MIC_SIDE_HOST, MIC_REG_MXAR(i), 0, NULL);
    }
    mic_x100_card_reset(s);
}

/* ---- migration and QOM --------------------------------------------------- */

static const VMStateDescription vmstate_mic_x100 = {
    .name = TYPE_MIC_X100,
    .version_id = 3,
    .minimum_version_id = 3,
    .fields = (const VMStateField[]) {
        VMSTATE_PCI_DEVICE(parent_obj, MicX100State),
        VMSTATE_MSIX(parent_obj, MicX100State),
        VMSTATE_STRUCT(regs, MicX100State, 1, vmstate_mic_regwin,
                       MicRegWindow),
        VMSTATE_BOOL(intx_level, MicX100State),
        VMSTATE_STRUCT(dma, MicX100State, 2, vmstate_mic_dma, MicDma),
        VMSTATE_END_OF_LIST()
    },
};

static const Property mic_x100_properties[] = {
    DEFINE_PROP_UINT16("device-id", MicX100State, device_id,
                       MIC_X100_DEFAULT_DEVID),
    DEFINE_PROP_UINT8("revision", MicX100State, revision,
                      MIC_X100_DEFAULT_REV),
    DEFINE_PROP_SIZE("mem-size", MicX100State, mem_size,
                     MIC_X100_DEFAULT_MEM),
    DEFINE_PROP_CHR("chardev", MicX100State, link.chr),
    DEFINE_PROP_LINK("host-mem", MicX100State, host_mem, TYPE_MEMORY_BACKEND,
                     HostMemoryBackend *),
    DEFINE_PROP_UINT32("link-timeout", MicX100State, link.timeout_ms,
                       MIC_LINK_DEFAULT_TIMEOUT_MS),
    /* per-channel DMA bandwidth in MB/s, 0 = unpaced (docs/dma.rst) */
    DEFINE_PROP_UINT32("dma-rate", MicX100State, dma_rate_mbps, 0),
    DEFINE_PROP_BOOL("dma-threads", MicX100State, dma_threads, true),
    DEFINE_PROP_BOOL("msix", MicX100State, use_msix, true),
    DEFINE_PROP_BOOL("msi", MicX100State, use_msi, true),
};

static void mic_x100_describe_props(ObjectClass *klass)
{
    object_class_property_set_description(klass, "device-id",
        "PCI device ID; the upstream MIC driver binds 0x2250-0x225e");
    object_class_property_set_description(klass, "revision",
        "PCI revision = stepping: 0x00 A0, 0x10 B0, 0x11 B1, 0x20 C0");
    object_class_property_set_description(klass, "mem-size",
        "card memory size without chardev, whole MiB (BAR0 is the next "
        "power of two); with chardev the firmware simulator decides");
    object_class_property_set_description(klass, "chardev",
        "unix socket chardev to the card firmware simulator (micfw); "
        "without it the card stands alone and cannot boot");
    object_class_property_set_description(klass, "host-mem",
        "the machine's shared RAM backend (memory-backend-memfd,share=on), "
        "handed to micfw so the card can reach host memory; needs chardev");
    object_class_property_set_description(klass, "link-timeout",
        "milliseconds to wait for micfw's WELCOME at realize");
    object_class_property_set_description(klass, "msix",
        "offer MSI-X (16 vectors); off tests the driver's MSI/INTx fallback");
    object_class_property_set_description(klass, "msi",
        "offer MSI (1 vector); with msix=off as well, INTx only");
}

static void mic_x100_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    PCIDeviceClass *k = PCI_DEVICE_CLASS(klass);

    k->realize = mic_x100_realize;
    k->exit = mic_x100_exit;
    k->config_write = mic_x100_write_config;
    k->config_read = mic_x100_read_config;
    k->vendor_id = PCI_VENDOR_ID_INTEL;
    k->device_id = MIC_X100_DEFAULT_DEVID;
    k->revision = MIC_X100_DEFAULT_REV;
    k->class_id = PCI_CLASS_PROCESSOR_CO;
    dc->desc = "Intel Xeon Phi x100 (Knights Corner) coprocessor";
    dc->vmsd = &vmstate_mic_x100;
    device_class_set_legacy_reset(dc, mic_x100_reset);
    device_class_set_props(dc, mic_x100_properties);
    mic_x100_describe_props(klass);
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
}

static const TypeInfo mic_x100_info = {
    .name = TYPE_MIC_X100,
    .parent = TYPE_PCI_DEVICE,
    .instance_size = sizeof(MicX100State),
    .class_init = mic_x100_class_init,
    .interfaces = (InterfaceInfo[]) {
        { INTERFACE_PCIE_DEVICE },
        { }
    },
};

static void mic_x100_register_types(void)
{
    type_register_static(&mic_x100_info);
}

type_init(mic_x100_register_types)
