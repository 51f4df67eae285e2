/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mic-card: the card-VM side of an emulated Intel Xeon Phi x100 card.
 *
 * The card VM is a stock x86 "pc" machine whose RAM is the card memory.
 * This device gives it what a Knights Corner card OS finds on the card:
 *
 *   card phys 0x8_007C_0000  128 KiB register window (facts §2.5, §3.1),
 *                            the card's view of the shared register file
 *   card phys 0x80_0000_0000 512 GiB system-memory window, 32 SMPT entries
 *                            of 16 GiB onto host RAM (mic_card_smpt.c)
 *
 * and, because a stock x86 VM has no KNC interrupt lines, a PCI function
 * (8086:225F, micemu's own) whose 20 MSI-X vectors carry the card
 * interrupt sources: APICICR doorbells 0-7, RDMASR 0-7, card DMA 4-7.
 * Card-facing contract: docs/mic-card.rst.
 */
#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/module.h"
#include "qemu/error-report.h"
#include "qapi/error.h"
#include "exec/address-spaces.h"
#include "hw/core/cpu.h"
#include "hw/boards.h"
#include "hw/pci/pci.h"
#include "hw/pci/msix.h"
#include "hw/qdev-properties.h"
#include "hw/qdev-properties-system.h"
#include "migration/blocker.h"
#include "migration/vmstate.h"
#include "mic_card.h"
#include "trace.h"

/* The windows sit at fixed card physical addresses: one card per VM. */
static MicCardState *mic_card_instance;

/* ---- interrupts to the card --------------------------------------------- */

/*
 * Take the card sources raised in the register file and notify their
 * MSI-X vectors.  While the guest has MSI-X disabled they wait in
 * irq_pending; a masked vector waits in the PBA (msix_notify does that).
 */
void mic_card_deliver(MicCardState *s)
{
    PCIDevice *pdev = PCI_DEVICE(s);
    uint32_t src;
    unsigned int v;

    if (!s->rf) {
        return;
    }
    src = (mic_regfile_card_take(s->rf) | s->irq_pending) &
          ((1u << MIC_CARD_MSIX_VECTORS) - 1);
    if (!src) {
        return;
    }
    trace_mic_card_irq(src);
    if (!msix_enabled(pdev)) {
        s->irq_pending = src;
        trace_mic_card_irq_held(src);
        return;
    }
    s->irq_pending = 0;
    for (v = 0; v < MIC_CARD_MSIX_VECTORS; v++) {
        if (src & (1u << v)) {
            trace_mic_card_msix(v);
            msix_notify(pdev, v);
        }
    }
    /* doorbells the firmware simulator's fault knob rings twice */
    src &= mic_regfile_fault_take_dup(s->rf, MIC_FAULT_TO_CARD);
    if (src) {
        trace_mic_card_irq_doubled(src);
        for (v = 0; v < MIC_CARD_MSIX_VECTORS; v++) {
            if (src & (1u << v)) {
                msix_notify(pdev, v);
            }
        }
    }
}

static void mic_card_write_config(PCIDevice *pdev, uint32_t addr,
                                  uint32_t val, int len)
{
    MicCardState *s = MIC_CARD(pdev);

    pci_default_write_config(pdev, addr, val, len);
    if (s->irq_pending && msix_enabled(pdev)) {
        mic_card_deliver(s);        /* the guest just enabled MSI-X */
    }
}

/* ---- register window ---------------------------------------------------- */

static void mic_card_handle_events(void *opaque, hwaddr addr,
                                   const MicRegEvents *ev)
{
    MicCardState *s = opaque;

    if (ev->flags & MIC_EV_HOST_IRQ) {
        trace_mic_card_host_irq();
        mic_link_ring(&s->link);
    }
    if (ev->flags & MIC_EV_CARD_IRQ) {
        /* the card rang itself (APICICR/RDMASR in its own window) */
        mic_card_deliver(s);
    }
    if (ev->flags & MIC_EV_SMPT) {
        mic_card_smpt_sync(s);
    }
    if (ev->flags & MIC_EV_RESET) {
        qemu_log_mask(LOG_GUEST_ERROR, "mic-card: RGCR reset written by the "
                      "card ignored; only the host resets the card\n");
    }
    if (ev->flags & MIC_EV_DMA) {
        mic_dma_doorbell(&s->dma, ev->dma_mask);
    }
    if (ev->flags & MIC_EV_PBA_CLEAR) {
        qemu_log_mask(LOG_GUEST_ERROR, "mic-card: MSIXPBACR clears the "
                      "host's pending bits; card write ignored\n");
    }
}

/* What the card reads or writes may point into SMPT: resync first. */
static void mic_card_regs_sync(void *opaque)
{
    mic_card_smpt_sync(opaque);
}

static const MicRegWindowOps mic_card_regs_ops = {
    .sync = mic_card_regs_sync,
    .events = mic_card_handle_events,
};

/* ---- DMA engine glue (mic_dma.c) --------------------------------------- */

static void mic_card_dma_notify(void *opaque)
{
    mic_card_deliver(opaque);
}

/* A host-owned channel's DHPR: the host VM's engine runs it. */
static void mic_card_dma_kick_host(void *opaque)
{
    MicCardState *s = opaque;

    mic_link_ring(&s->link);
}

static const MicDmaOps mic_card_dma_ops = {
    .notify = mic_card_dma_notify,
    .kick_peer = mic_card_dma_kick_host,
};

/*
 * Card memory is this VM's RAM backend (micfw passes the card memory memfd
 * as -machine memory-backend): card address X = offset X in it, also for
 * the part a pc machine maps above 4 GiB.
 */
static void mic_card_dma_setup(MicCardState *s)
{
    MachineState *ms = MACHINE(qdev_get_machine());
    MemoryRegion *ram = ms->ram;

    address_space_init(&s->host_as, &s->host_bus, "mic-card.dma-host");
    /*
     * The machine maps its RAM backend through aliases (ram-below-4g, ...);
     * the backend itself is in no container, so as an AddressSpace root it
     * renders at 0 (a root in a container would render at its address).
     * Without a RAM backend card memory is empty.
     */
    address_space_init(&s->gddr_as, ram ? ram : &s->host_bus,
                       "mic-card.dma-gddr");
    s->dma_as_ready = true;
    mic_dma_attach(&s->dma, s->rf, &s->gddr_as,
                   ram ? memory_region_size(ram) : 0, &s->host_as);
}

/* ---- realize / unrealize / reset ---------------------------------------- */

/* Warn when something that is RAM already occupies a fixed window. */
static void mic_card_check_free(hwaddr base, uint64_t size, const char *what)
{
    MemoryRegionSection sec = memory_region_find(get_system_memory(), base,
                                                 size);

    if (sec.mr) {
        if (memory_region_is_ram(sec.mr)) {
            warn_report("mic-card: %s hides RAM (%s) at 0x%" HWADDR_PRIx
                        "; give the card VM less memory", what,
                        memory_region_name(sec.mr),
                        (hwaddr)sec.offset_within_address_space);
        }
        memory_region_unref(sec.mr);
    }
}

/* The SMPT window ends at 2^40: the card CPU must be able to address it. */
static void mic_card_check_phys_bits(void)
{
    CPUState *cpu = first_cpu;
    uint64_t bits;

    if (!cpu || !object_property_find(OBJECT(cpu), "phys-bits")) {
        return;
    }
    bits = object_property_get_uint(OBJECT(cpu), "phys-bits", NULL);
    if (bits && bits < MIC_SMPT_PHYS_BITS) {
        warn_report("mic-card: the card CPU has %" PRIu64 " physical address "
                    "bits; the SMPT window at 0x%llx needs %d "
                    "(-cpu ...,phys-bits=%d)", bits, MIC_SMPT_BASE,
                    MIC_SMPT_PHYS_BITS, MIC_SMPT_PHYS_BITS);
    }
}

static void mic_card_map_windows(MicCardState *s)
{
    mic_card_check_free(MIC_CARD_MMIO_BASE, MIC_MMIO_SIZE, "register window");
    mic_card_check_free(MIC_SMPT_BASE, MIC_SMPT_SIZE, "SMPT window");
    mic_card_check_phys_bits();
    memory_region_add_subregion_overlap(get_system_memory(),
                                        MIC_CARD_MMIO_BASE, &s->regs.mr,
                                        MIC_CARD_WINDOW_PRIO);
    s->mmio_mapped = true;
    mic_card_smpt_map(s);
}

/* Undo realize from whatever point it reached; safe to call twice. */
static void mic_card_release(MicCardState *s)
{
    PCIDevice *pdev = PCI_DEVICE(s);

    if (msix_present(pdev)) {
        msix_unuse_all_vectors(pdev);
        msix_uninit_exclusive_bar(pdev);
    }
    mic_dma_exit(&s->dma);
    if (s->dma_as_ready) {
        address_space_destroy(&s->gddr_as);
        address_space_destroy(&s->host_as);
        s->dma_as_ready = false;
    }
    if (s->mmio_mapped) {
        memory_region_del_subregion(get_system_memory(), &s->regs.mr);
        s->mmio_mapped = false;
    }
    mic_card_peer_exit(s);
    mic_card_smpt_exit(s);
    if (s->host_ram_fd >= 0) {
        close(s->host_ram_fd);
        s->host_ram_fd = -1;
    }
    s->regs.rf = NULL;
    if (s->link.state != MIC_LINK_NONE) {
        mic_link_close(&s->link);
    } else {
        g_free(s->rf);
    }
    s->rf = NULL;
    migrate_del_blocker(&s->migration_blocker);
    if (mic_card_instance == s) {
        mic_card_instance = NULL;
    }
}

static bool mic_card_init_resources(MicCardState *s, Error **errp)
{
    if (!mic_link_wanted(&s->link)) {
        /* standalone: a private register file, no host memory */
        s->rf = g_malloc0(sizeof(MicRegFile));
        mic_regfile_init(s->rf);
        return true;
    }
    if (!mic_card_link_connect(s, errp)) {
        return false;
    }
    error_setg(&s->migration_blocker, "mic-card: a card linked to a "
               "firmware simulator cannot be migrated");
    return migrate_add_blocker(&s->migration_blocker, errp) >= 0;
}

static void mic_card_realize(PCIDevice *pdev, Error **errp)
{
    MicCardState *s = MIC_CARD(pdev);
    unsigned int v;

    if (mic_card_instance) {
        error_setg(errp, "only one mic-card per machine: its windows are at "
                   "fixed card physical addresses");
        return;
    }
    mic_card_instance = s;
    s->host_ram_fd = -1;
    mic_link_init(&s->link, MIC_LINK_ROLE_CARD, TYPE_MIC_CARD,
                  &mic_card_link_ops, s);
    mic_dma_init(&s->dma, DEVICE(s), MIC_SIDE_CARD, TYPE_MIC_CARD,
                 &mic_card_dma_ops, s);
    s->dma.rate_mbps = s->dma_rate_mbps;
    s->dma.threads = s->dma_threads;
    pci_config_set_interrupt_pin(pdev->config, 0);  /* MSI-X only */

    if (!mic_card_init_resources(s, errp)) {
        goto fail;
    }
    mic_regwin_init(&s->regs, OBJECT(s), "mic-card.regs", TYPE_MIC_CARD,
                    MIC_SIDE_CARD, s->rf, &mic_card_regs_ops, s);
    if (!mic_card_smpt_init(s, errp)) {
        goto fail;
    }
    if (msix_init_exclusive_bar(pdev, MIC_CARD_MSIX_VECTORS,
                                MIC_CARD_MSIX_BAR, errp)) {
        goto fail;
    }
    for (v = 0; v < MIC_CARD_MSIX_VECTORS; v++) {
        msix_vector_use(pdev, v);
    }
    mic_card_dma_setup(s);
    mic_card_map_windows(s);
    return;

fail:
    mic_card_release(s);
}

static void mic_card_exit(PCIDevice *pdev)
{
    mic_card_release(MIC_CARD(pdev));
}

static void mic_card_reset(DeviceState *dev)
{
    MicCardState *s = MIC_CARD(dev);

    s->irq_pending = 0;             /* the PCI core reset MSI-X already */
    s->unbacked_next_ms = 0;
    s->unbacked_quiet = 0;
    if (s->link.state == MIC_LINK_NONE && s->rf) {
        mic_regfile_init(s->rf);    /* micfw owns a linked register file */
        mic_dma_reset(&s->dma);
    } else {
        mic_dma_drop(&s->dma);      /* micfw resets the DMA registers */
    }
    mic_card_smpt_sync(s);
    mic_dma_kick(&s->dma);
}

/* ---- migration ---------------------------------------------------------- */

static int mic_card_post_load(void *opaque, int version_id)
{
    MicCardState *s = opaque;

    s->irq_pending &= (1u << MIC_CARD_MSIX_VECTORS) - 1;
    mic_card_smpt_sync(s);
    return 0;
}

static const VMStateDescription vmstate_mic_card = {
    .name = TYPE_MIC_CARD,
    .version_id = 3,
    .minimum_version_id = 3,
    .post_load = mic_card_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_PCI_DEVICE(parent_obj, MicCardState),
        VMSTATE_MSIX(parent_obj, MicCardState),
        VMSTATE_UINT32(irq_pending, MicCardState),
        VMSTATE_STRUCT(regs, MicCardState, 1, vmstate_mic_regwin,
                       MicRegWindow),
        VMSTATE_STRUCT(dma, MicCardState, 2, vmstate_mic_dma, MicDma),
        VMSTATE_END_OF_LIST()
    },
};

/* ---- QOM ---------------------------------------------------------------- */

static const Property mic_card_properties[] = {
    DEFINE_PROP_CHR("chardev", MicCardState, link.chr),
    /* per-channel DMA bandwidth in MB/s, 0 = unpaced (docs/dma.rst) */
    DEFINE_PROP_UINT32("dma-rate", MicCardState, dma_rate_mbps, 0),
    DEFINE_PROP_BOOL("dma-threads", MicCardState, dma_threads, true),
    DEFINE_PROP_UINT32("link-timeout", MicCardState, link.timeout_ms,
                       MIC_LINK_DEFAULT_TIMEOUT_MS),
    DEFINE_PROP_UINT32("smpt-poll-ms", MicCardState, smpt_poll_ms,
                       MIC_CARD_SMPT_POLL_MS),
};

static void mic_card_describe_props(ObjectClass *klass)
{
    object_class_property_set_description(klass, "chardev",
        "unix socket chardev to the card firmware simulator (micfw); "
        "without it a private register file and no host memory");
    object_class_property_set_description(klass, "link-timeout",
        "milliseconds to wait for micfw's WELCOME at realize");
    object_class_property_set_description(klass, "smpt-poll-ms",
        "re-read the host-written SMPT registers every N ms of guest time "
        "(0: only on doorbells, register accesses and reset)");
}

static void mic_card_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    PCIDeviceClass *k = PCI_DEVICE_CLASS(klass);

    k->realize = mic_card_realize;
    k->exit = mic_card_exit;
    k->config_write = mic_card_write_config;
    k->vendor_id = PCI_VENDOR_ID_INTEL;
    k->device_id = MIC_CARD_DEVICE_ID;
    k->revision = MIC_CARD_REVISION;
    k->class_id = PCI_CLASS_SYSTEM_OTHER;
    dc->desc = "Xeon Phi x100 card side: register and SMPT windows, "
               "card interrupts as MSI-X (micemu)";
    dc->vmsd = &vmstate_mic_card;
    /* fixed windows in system memory, and a blocking link handshake */
    dc->hotpluggable = false;
    device_class_set_legacy_reset(dc, mic_card_reset);
    device_class_set_props(dc, mic_card_properties);
    mic_card_describe_props(klass);
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
}

static void mic_card_instance_finalize(Object *obj)
{
    mic_card_peer_finalize(MIC_CARD(obj));
}

static const TypeInfo mic_card_info = {
    .name = TYPE_MIC_CARD,
    .parent = TYPE_PCI_DEVICE,
    .instance_size = sizeof(MicCardState),
    .instance_finalize = mic_card_instance_finalize,
    .class_init = mic_card_class_init,
    .interfaces = (InterfaceInfo[]) {
        { INTERFACE_CONVENTIONAL_PCI_DEVICE },
        { }
    },
};

static void mic_card_register_types(void)
{
    type_register_static(&mic_card_info);
}

type_init(mic_card_register_types)
