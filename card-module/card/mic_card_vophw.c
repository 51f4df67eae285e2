// SPDX-License-Identifier: GPL-2.0
/*
 * micemu card driver: the slot a VOP driver plugs into (mic_card_vop.h).
 *
 * One card, one device page, so one slot: the VOP driver registered last
 * is probed while the card is bound, and removed when the card is
 * unbound, shuts down, or the driver unregisters.
 */
#include <linux/io.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/reboot.h>

#include "mic_card.h"

static DEFINE_MUTEX(mic_card_vop_lock);
/* Protected by mic_card_vop_lock. */
static struct mic_vop_driver *mic_card_vop_drv;
static struct mic_card *mic_card_vop_card;
static bool mic_card_vop_probed;

static inline struct mic_card *hw_to_card(struct mic_vop_hw *hw)
{
	return container_of(hw, struct mic_card, vop_hw);
}

static int mic_card_vop_next_db(struct mic_vop_hw *hw)
{
	return mic_card_next_db(hw_to_card(hw));
}

static void *mic_card_vop_request_db(struct mic_vop_hw *hw, int db,
				     irq_handler_t handler, void *data)
{
	return mic_card_request_db(hw_to_card(hw), db, handler, data);
}

static void mic_card_vop_free_db(struct mic_vop_hw *hw, void *cookie)
{
	mic_card_free_db(hw_to_card(hw), cookie);
}

static void mic_card_vop_send_intr(struct mic_vop_hw *hw, int db)
{
	mic_card_send_host_intr(hw_to_card(hw), db);
}

static void __iomem *mic_card_vop_ioremap(struct mic_vop_hw *hw, u64 addr,
					  size_t len)
{
	if (!mic_card_in_smpt_window(addr, len)) {
		dev_warn_ratelimited(hw->dev,
				     "VOP: host address 0x%llx + %zu is outside the SMPT window\n",
				     addr, len);
		return NULL;
	}
	return ioremap(addr, len);
}

static void mic_card_vop_iounmap(struct mic_vop_hw *hw, void __iomem *va)
{
	iounmap(va);
}

static const struct mic_vop_hw_ops mic_card_vop_ops = {
	.next_db = mic_card_vop_next_db,
	.request_db = mic_card_vop_request_db,
	.free_db = mic_card_vop_free_db,
	.send_intr = mic_card_vop_send_intr,
	.ioremap = mic_card_vop_ioremap,
	.iounmap = mic_card_vop_iounmap,
};

/* With mic_card_vop_lock held: probe the driver if both are there. */
static void mic_card_vop_try_probe(void)
{
	struct mic_card *card = mic_card_vop_card;
	int err;

	if (!card || !mic_card_vop_drv || mic_card_vop_probed)
		return;
	card->vop_hw.priv = NULL;
	err = mic_card_vop_drv->probe(&card->vop_hw);
	if (err) {
		dev_err(&card->pdev->dev, "VOP driver %s: probe failed: %d\n",
			mic_card_vop_drv->name, err);
		return;
	}
	mic_card_vop_probed = true;
}

/* With mic_card_vop_lock held. */
static void mic_card_vop_do_remove(void)
{
	if (!mic_card_vop_probed)
		return;
	mic_card_vop_drv->remove(&mic_card_vop_card->vop_hw);
	mic_card_vop_probed = false;
}

/**
 * mic_card_vop_register() - plug a VOP driver into the card
 * @drv: the driver; probed at once if the card is bound
 *
 * Return: 0, or -EBUSY if another VOP driver is registered.
 */
int mic_card_vop_register(struct mic_vop_driver *drv)
{
	if (!drv || !drv->probe || !drv->remove)
		return -EINVAL;
	mutex_lock(&mic_card_vop_lock);
	if (mic_card_vop_drv) {
		mutex_unlock(&mic_card_vop_lock);
		return -EBUSY;
	}
	mic_card_vop_drv = drv;
	mic_card_vop_try_probe();
	mutex_unlock(&mic_card_vop_lock);
	return 0;
}
EXPORT_SYMBOL_GPL(mic_card_vop_register);

/**
 * mic_card_vop_unregister() - unplug a VOP driver (removing it first)
 * @drv: the driver mic_card_vop_register() took
 */
void mic_card_vop_unregister(struct mic_vop_driver *drv)
{
	mutex_lock(&mic_card_vop_lock);
	if (mic_card_vop_drv == drv) {
		mic_card_vop_do_remove();
		mic_card_vop_drv = NULL;
	}
	mutex_unlock(&mic_card_vop_lock);
}
EXPORT_SYMBOL_GPL(mic_card_vop_unregister);

/*
 * Poweroff and reboot: remove the VOP devices before device_shutdown()
 * runs. Linux 6.1 shuts a virtio device down by marking its vrings broken,
 * and virtio_net's NAPI poll then spins on a broken vring that still has
 * used entries; removed first, each driver stops its device cleanly (and
 * the host sees upstream's removal handshake before the card's shutdown
 * status). Priority above the COSM client's notifier for that order.
 */
static int mic_card_vop_reboot(struct notifier_block *nb, unsigned long event,
			       void *unused)
{
	mutex_lock(&mic_card_vop_lock);
	mic_card_vop_do_remove();
	mutex_unlock(&mic_card_vop_lock);
	return NOTIFY_DONE;
}

static struct notifier_block mic_card_vop_reboot_nb = {
	.notifier_call = mic_card_vop_reboot,
	.priority = 1,
};

/**
 * mic_card_vop_attach() - the card is up: offer it to the VOP driver
 * @card: card with its device page mapped and interrupts hooked
 */
void mic_card_vop_attach(struct mic_card *card)
{
	card->vop_hw.dev = &card->pdev->dev;
	card->vop_hw.ops = &mic_card_vop_ops;
	card->vop_hw.dp = (void __iomem *)card->dp;
	mutex_lock(&mic_card_vop_lock);
	mic_card_vop_card = card;
	mic_card_vop_try_probe();
	mutex_unlock(&mic_card_vop_lock);
	if (register_reboot_notifier(&mic_card_vop_reboot_nb))
		dev_warn(&card->pdev->dev, "VOP: no reboot notifier: devices go at device shutdown\n");
}

/**
 * mic_card_vop_detach() - the card goes away (unbind, poweroff, reboot)
 * @card: card passed to mic_card_vop_attach(); a second call is a no-op
 */
void mic_card_vop_detach(struct mic_card *card)
{
	/* Not registered (second call, or it failed): -ENOENT, harmless. */
	unregister_reboot_notifier(&mic_card_vop_reboot_nb);
	mutex_lock(&mic_card_vop_lock);
	if (mic_card_vop_card == card) {
		mic_card_vop_do_remove();
		mic_card_vop_card = NULL;
	}
	mutex_unlock(&mic_card_vop_lock);
}
