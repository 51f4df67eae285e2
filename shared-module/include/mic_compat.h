/* SPDX-License-Identifier: GPL-2.0 */
/*
 * micemu's modules build against Linux 6.1 and 6.12 (make KERNEL=...).
 * The interfaces they use that changed in between are bridged here, and
 * only here: where the newer form can be had on 6.1 it is provided for
 * 6.1 and callers use it unconditionally; otherwise a mic_ helper hides
 * the difference.
 */
#ifndef MIC_COMPAT_H
#define MIC_COMPAT_H

#include <linux/device/class.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/version.h>

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

#endif /* MIC_COMPAT_H */
