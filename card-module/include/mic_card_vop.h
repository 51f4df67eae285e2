/* SPDX-License-Identifier: GPL-2.0 */
/*
 * micemu card: the interface between the card driver (mic_card.ko) and a
 * VOP (virtio over PCIe) driver on the card (mic_card_vop.ko, or a test
 * module in its place).
 *
 * Upstream put a "vop bus" between the two. A card has exactly one host
 * and one device page, so micemu's card driver offers one slot instead:
 * a VOP driver registers itself with mic_card_vop_register(); while the
 * card driver is bound and a VOP driver is registered, the driver's
 * probe() runs once with the card's services below, and remove() runs
 * when either goes away (unbind, rmmod, poweroff and reboot). Either
 * module may be loaded first.
 */
#ifndef MICEMU_MIC_CARD_VOP_H
#define MICEMU_MIC_CARD_VOP_H

#include <linux/device.h>
#include <linux/interrupt.h>
#include <linux/types.h>

#include "scif_hw.h"

struct mic_vop_hw;

/**
 * struct mic_vop_hw_ops - card services for the VOP driver
 * @next_db: the host-to-card doorbell the card should hand out next
 *	(least used, 0-15); the VOP driver publishes it in the device page
 * @request_db: call @handler(irq, @data) in hard-irq context each time
 *	the host rings doorbell @db; returns a cookie or an ERR_PTR()
 * @free_db: undo @request_db; when it returns @handler does not run
 * @send_intr: ring card-to-host doorbell @db (a number the host wrote
 *	into the device page: out-of-range values are dropped and logged)
 * @ioremap: map @len bytes of host memory at @addr, an address the host
 *	wrote into the device page (a card physical address in the SMPT
 *	window); NULL unless the whole range lies in the window
 * @iounmap: undo @ioremap
 */
struct mic_vop_hw_ops {
	int (*next_db)(struct mic_vop_hw *hw);
	void *(*request_db)(struct mic_vop_hw *hw, int db,
			    irq_handler_t handler, void *data);
	void (*free_db)(struct mic_vop_hw *hw, void *cookie);
	void (*send_intr)(struct mic_vop_hw *hw, int db);
	void __iomem *(*ioremap)(struct mic_vop_hw *hw, u64 addr, size_t len);
	void (*iounmap)(struct mic_vop_hw *hw, void __iomem *va);
};

/**
 * struct mic_vop_hw - what the card driver hands a VOP driver
 * @dev: parent for the virtio devices (the card's PCI function)
 * @ops: card services
 * @dp: the device page in host memory (MIC_DP_SIZE bytes, bootparam at 0,
 *	virtio device descriptors after it); written by the host at any time
 * @priv: the VOP driver's own data, NULL before probe()
 */
struct mic_vop_hw {
	struct device *dev;
	const struct mic_vop_hw_ops *ops;
	void __iomem *dp;
	void *priv;
};

/**
 * struct mic_vop_driver - a VOP driver
 * @name: for messages
 * @probe: the card is there; 0 or a negative errno (then no remove())
 * @remove: the card goes away or the driver is unregistered; undo
 *	everything probe() did, telling the host as upstream does
 */
struct mic_vop_driver {
	const char *name;
	int (*probe)(struct mic_vop_hw *hw);
	void (*remove)(struct mic_vop_hw *hw);
};

int mic_card_vop_register(struct mic_vop_driver *drv);
void mic_card_vop_unregister(struct mic_vop_driver *drv);

#endif /* MICEMU_MIC_CARD_VOP_H */
