/* SPDX-License-Identifier: GPL-2.0 */
/*
 * micemu: a host mapping of one card PCI window.
 */
#ifndef MICEMU_MIC_MW_H
#define MICEMU_MIC_MW_H

#include <linux/types.h>

/**
 * struct mic_mw - a mapped card window (BAR)
 * @pa: bus address of the window
 * @va: kernel mapping of the window
 * @len: length of the window in bytes
 *
 * For the aperture (x100 BAR0), byte offset X is card physical address X.
 */
struct mic_mw {
	phys_addr_t pa;
	void __iomem *va;
	resource_size_t len;
};

#endif /* MICEMU_MIC_MW_H */
