// SPDX-License-Identifier: GPL-2.0
/*
 * micemu card driver (mic_card.ko): runs inside an emulated x100 card.
 *
 * facts §4.3 step 2: check the CPU, map the register window, find the
 * device page through SPAD14/15 and the SMPT window, check its magic,
 * read our SCIF node id and bring up the SCIF link to the host. The
 * card's interrupts come from the mic-card PCI function (MSI-X), so this
 * is a PCI driver for it; the register window and the SMPT window sit at
 * the card's fixed physical addresses, not in a BAR.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/io.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <asm/processor.h>

#include "mic_card.h"

static bool ignore_cpu;
module_param(ignore_cpu, bool, 0444);
MODULE_PARM_DESC(ignore_cpu,
		 "bind even if the CPU is not an x100 (family 11, model 1); default: no, as upstream");

/* The register and SMPT windows are fixed: one card per kernel. */
static atomic_t mic_card_bound = ATOMIC_INIT(0);

static int mic_card_check_cpu(struct pci_dev *pdev)
{
	if (boot_cpu_data.x86 == MIC_CARD_CPU_FAMILY &&
	    boot_cpu_data.x86_model == MIC_CARD_CPU_MODEL)
		return 0;
	if (ignore_cpu) {
		dev_warn(&pdev->dev, "CPU family %u model %u is not an x100, going on anyway\n",
			 boot_cpu_data.x86, boot_cpu_data.x86_model);
		return 0;
	}
	dev_err(&pdev->dev, "not running on an x100: CPU family %u model %u, want %u/%u\n",
		boot_cpu_data.x86, boot_cpu_data.x86_model,
		MIC_CARD_CPU_FAMILY, MIC_CARD_CPU_MODEL);
	return -ENODEV;
}

/* facts §2.2, §4.3: find, map and check the device page. */
static int mic_card_map_dp(struct mic_card *card)
{
	struct device *dev = &card->pdev->dev;
	u32 lo, hi, magic;
	u8 node;

	lo = mic_card_sbox_read(card, MIC_SBOX_SPAD(MIC_SPAD_DP_LO));
	hi = mic_card_sbox_read(card, MIC_SBOX_SPAD(MIC_SPAD_DP_HI));
	card->dp_addr = (u64)hi << 32 | lo;
	if (!card->dp_addr) {
		dev_err(dev, "no device page: SPAD14/15 are 0\n");
		return -EIO;
	}
	if (card->dp_addr < MIC_SMPT_WINDOW_BASE ||
	    card->dp_addr - MIC_SMPT_WINDOW_BASE >
	    MIC_SMPT_WINDOW_LEN - MIC_DP_SIZE) {
		dev_err(dev, "device page address 0x%llx (SPAD14/15) is outside the SMPT window 0x%llx-0x%llx\n",
			card->dp_addr, MIC_SMPT_WINDOW_BASE,
			MIC_SMPT_WINDOW_BASE + MIC_SMPT_WINDOW_LEN - 1);
		return -EIO;
	}
	card->dp = ioremap(card->dp_addr, MIC_DP_SIZE);
	if (!card->dp) {
		dev_err(dev, "cannot map the device page at 0x%llx\n",
			card->dp_addr);
		return -ENOMEM;
	}
	magic = ioread32(&card->dp->magic);
	if (magic != MIC_MAGIC) {
		dev_err(dev, "device page at 0x%llx: bad magic 0x%08x, want 0x%08x\n",
			card->dp_addr, magic, MIC_MAGIC);
		goto unmap;
	}
	node = ioread8(&card->dp->node_id);
	if (node == MIC_HOST_NODE || node > MIC_MAX_CARD_NODE) {
		dev_err(dev, "device page: node id %u is not a card node (1-%d)\n",
			node, MIC_MAX_CARD_NODE);
		goto unmap;
	}
	card->node_id = node;
	return 0;

unmap:
	iounmap(card->dp);
	card->dp = NULL;
	return -EIO;
}

static int mic_card_setup_pci(struct mic_card *card)
{
	struct pci_dev *pdev = card->pdev;
	int err;

	err = pci_enable_device(pdev);
	if (err) {
		dev_err(&pdev->dev, "cannot enable the PCI function: %d\n",
			err);
		return err;
	}
	/* MSI-X messages are bus-master writes. */
	pci_set_master(pdev);
	card->mmio = ioremap(MIC_CARD_MMIO_BASE, MIC_CARD_MMIO_LEN);
	if (!card->mmio) {
		dev_err(&pdev->dev, "cannot map the register window at 0x%llx\n",
			MIC_CARD_MMIO_BASE);
		pci_clear_master(pdev);
		pci_disable_device(pdev);
		return -ENOMEM;
	}
	return 0;
}

static void mic_card_teardown_pci(struct mic_card *card)
{
	iounmap(card->mmio);
	pci_clear_master(card->pdev);
	pci_disable_device(card->pdev);
}

static int mic_card_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct mic_card *card;
	int err;

	err = mic_card_check_cpu(pdev);
	if (err)
		return err;
	if (atomic_cmpxchg(&mic_card_bound, 0, 1)) {
		dev_err(&pdev->dev, "another mic-card function is bound already\n");
		return -EBUSY;
	}
	card = kzalloc(sizeof(*card), GFP_KERNEL);
	if (!card) {
		err = -ENOMEM;
		goto unbind;
	}
	card->pdev = pdev;
	pci_set_drvdata(pdev, card);

	err = mic_card_setup_pci(card);
	if (err)
		goto free_card;
	err = mic_card_intr_init(card);
	if (err)
		goto teardown_pci;
	err = mic_card_map_dp(card);
	if (err)
		goto intr_exit;
	mic_card_dma_init(card);
	err = mic_card_scif_init(card);
	if (err) {
		dev_err(&pdev->dev, "SCIF registration failed: %d\n", err);
		goto dma_exit;
	}
	mic_card_debugfs_init(card);
	mic_card_vop_attach(card);
	dev_info(&pdev->dev, "x100 card node %u, device page at 0x%llx\n",
		 card->node_id, card->dp_addr);
	return 0;

dma_exit:
	mic_card_dma_exit(card);
	iounmap(card->dp);
intr_exit:
	mic_card_intr_exit(card);
teardown_pci:
	mic_card_teardown_pci(card);
free_card:
	pci_set_drvdata(pdev, NULL);
	kfree(card);
unbind:
	atomic_set(&mic_card_bound, 0);
	return err;
}

static void mic_card_remove(struct pci_dev *pdev)
{
	struct mic_card *card = pci_get_drvdata(pdev);

	mic_card_vop_detach(card);
	mic_card_debugfs_exit(card);
	mic_card_scif_exit(card);
	mic_card_dma_exit(card);
	iounmap(card->dp);
	mic_card_intr_exit(card);
	mic_card_teardown_pci(card);
	pci_set_drvdata(pdev, NULL);
	kfree(card);
	atomic_set(&mic_card_bound, 0);
}

/*
 * facts §4.5 step 3: on poweroff or reboot, after the reboot notifiers
 * (the COSM client's shutdown status) ran, leave SCIF so that the host
 * sees our endpoints close, and take the VOP devices away with upstream's
 * removal handshake. Like upstream's card driver, which removed itself on
 * shutdown.
 */
static void mic_card_shutdown(struct pci_dev *pdev)
{
	struct mic_card *card = pci_get_drvdata(pdev);

	if (!card)
		return;
	mic_card_vop_detach(card);
	mic_card_scif_exit(card);
}

static const struct pci_device_id mic_card_ids[] = {
	{ PCI_DEVICE(MIC_CARD_PCI_VENDOR, MIC_CARD_PCI_DEVICE) },
	{ }
};
MODULE_DEVICE_TABLE(pci, mic_card_ids);

static struct pci_driver mic_card_driver = {
	.name = "mic_card",
	.id_table = mic_card_ids,
	.probe = mic_card_probe,
	.remove = mic_card_remove,
	.shutdown = mic_card_shutdown,
};
module_pci_driver(mic_card_driver);

MODULE_DESCRIPTION("micemu: Intel Xeon Phi x100 card-side driver");
MODULE_LICENSE("GPL");
