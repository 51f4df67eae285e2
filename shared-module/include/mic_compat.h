/* SPDX-License-Identifier: GPL-2.0 */
/*
 * micemu's modules build against Linux 6.1 and 6.12 (make KERNEL=...).
 * The interfaces they use that changed in between are bridged here, and
 * the kernel version is tested only here: where the newer form can be had
 * on 6.1 it is provided for 6.1 and callers use it unconditionally;
 * otherwise a mic_ helper hides the difference, or a MIC_ feature macro
 * tells a caller which form to build.
 */
#ifndef MIC_COMPAT_H
#define MIC_COMPAT_H

#include <linux/device/class.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/version.h>
#include <linux/virtio_config.h>

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
/* 6.3 made vma->vm_flags read-only: it is changed through these. */
static inline void vm_flags_set(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->vm_flags |= flags;
}

static inline void vm_flags_clear(struct vm_area_struct *vma,
				  vm_flags_t flags)
{
	vma->vm_flags &= ~flags;
}
#endif

/*
 * 6.12's driver core takes const bus types (bus_register(), device.bus,
 * subsys_interface.subsys); 6.1's does not. A bus is defined as a
 * MIC_BUS_TYPE.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
#define MIC_BUS_TYPE const struct bus_type
#else
#define MIC_BUS_TYPE struct bus_type
#endif

/* 6.8 renamed PCI_IRQ_LEGACY. */
#ifndef PCI_IRQ_INTX
#define PCI_IRQ_INTX PCI_IRQ_LEGACY
#endif

/* 6.4 dropped class_create()'s owner argument. */
static inline struct class *mic_class_create(const char *name)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 4, 0)
	return class_create(name);
#else
	return class_create(THIS_MODULE, name);
#endif
}

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 11, 0)
/*
 * Before 6.11 a virtio transport's find_vqs() got three arrays (callbacks,
 * names, ctx) instead of one of struct virtqueue_info. A transport writes
 * its find_vqs() in the newer form and, under MIC_FIND_VQS_ARRAYS, a
 * wrapper of the older shape that converts with mic_vqs_info().
 */
#define MIC_FIND_VQS_ARRAYS

struct virtqueue_info {
	const char *name;
	vq_callback_t *callback;
	bool ctx;
};

/* The newer form of find_vqs()'s arrays; kfree() it after the call. */
static inline struct virtqueue_info *
mic_vqs_info(unsigned int nvqs, vq_callback_t *callbacks[],
	     const char * const names[], const bool *ctx)
{
	struct virtqueue_info *info;
	unsigned int i;

	info = kcalloc(nvqs, sizeof(*info), GFP_KERNEL);
	if (!info)
		return NULL;
	for (i = 0; i < nvqs; i++) {
		info[i].name = names[i];
		info[i].callback = callbacks[i];
		info[i].ctx = ctx ? ctx[i] : false;
	}
	return info;
}
#endif

#endif /* MIC_COMPAT_H */
