// SPDX-License-Identifier: GPL-2.0
/*
 * micemu: PCIe driver for Intel Xeon Phi x100 (Knights Corner) cards.
 *
 * Probe follows facts §4.1: PCI set-up, BAR mappings, interrupts, SMPT
 * identity map, device page, then registration with mic_cosm, which owns
 * the card's life cycle from there on.
 */
#include <linux/dma-mapping.h>
#include <linux/idr.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/sizes.h>

#include "mic_x100.h"

static char *irq_mode = "auto";
module_param(irq_mode, charp, 0444);
MODULE_PARM_DESC(irq_mode,
		 "Interrupt mode: auto (MSI-X, then MSI, then INTx), msix, msi or intx");

static enum mic_x100_irq_mode mic_x100_irq_mode;
static DEFINE_IDA(mic_x100_ida);

static const struct pci_device_id mic_x100_pci_ids[] = {
	{ PCI_VDEVICE(INTEL, 0x2250) },
	{ PCI_VDEVICE(INTEL, 0x2251) },
	{ PCI_VDEVICE(INTEL, 0x2252) },
	{ PCI_VDEVICE(INTEL, 0x2253) },
	{ PCI_VDEVICE(INTEL, 0x2254) },
	{ PCI_VDEVICE(INTEL, 0x2255) },
	{ PCI_VDEVICE(INTEL, 0x2256) },
	{ PCI_VDEVICE(INTEL, 0x2257) },
	{ PCI_VDEVICE(INTEL, 0x2258) },
	{ PCI_VDEVICE(INTEL, 0x2259) },
	{ PCI_VDEVICE(INTEL, 0x225A) },
	{ PCI_VDEVICE(INTEL, 0x225B) },
	{ PCI_VDEVICE(INTEL, 0x225C) },
	{ PCI_VDEVICE(INTEL, 0x225D) },
	{ PCI_VDEVICE(INTEL, 0x225E) },
	{ }
};
MODULE_DEVICE_TABLE(pci, mic_x100_pci_ids);

static const struct mic_hw_ops mic_x100_hw_ops = {
	.request_irq = mic_x100_request_irq,
	.free_irq = mic_x100_free_irq,
	.ack_interrupt = mic_x100_ack_interrupt,
	.next_db = mic_x100_next_db,
	.send_intr = mic_x100_send_intr,
	.map = mic_x100_map,
	.unmap = mic_x100_unmap,
};

/* Check what the BARs claim before mapping them (facts §1.2). */
static int mic_x100_check_bars(struct pci_dev *pdev)
{
	resource_size_t mmio_len = pci_resource_len(pdev, MIC_X100_MMIO_BAR);
	resource_size_t aper_len = pci_resource_len(pdev, MIC_X100_APER_BAR);

	if (!(pci_resource_flags(pdev, MIC_X100_MMIO_BAR) & IORESOURCE_MEM) ||
	    mmio_len < MIC_X100_MMIO_MIN_LEN) {
		dev_err(&pdev->dev,
			"BAR%d: %pa bytes, need a memory BAR of at least 0x%x\n",
			MIC_X100_MMIO_BAR, &mmio_len, MIC_X100_MMIO_MIN_LEN);
		return -ENODEV;
	}
	if (!(pci_resource_flags(pdev, MIC_X100_APER_BAR) & IORESOURCE_MEM) ||
	    aper_len < SZ_1M) {
		dev_err(&pdev->dev,
			"BAR%d: %pa bytes, need a memory BAR of at least 1 MiB\n",
			MIC_X100_APER_BAR, &aper_len);
		return -ENODEV;
	}
	return 0;
}

static int mic_x100_map_bars(struct mic_x100_dev *mdev)
{
	struct pci_dev *pdev = mdev->pdev;
	struct mic_mw *mmio = &mdev->hw.mmio;
	struct mic_mw *aper = &mdev->hw.aper;
	int rc;

	rc = mic_x100_check_bars(pdev);
	if (rc)
		return rc;

	mmio->pa = pci_resource_start(pdev, MIC_X100_MMIO_BAR);
	mmio->len = pci_resource_len(pdev, MIC_X100_MMIO_BAR);
	mmio->va = pci_ioremap_bar(pdev, MIC_X100_MMIO_BAR);
	if (!mmio->va) {
		dev_err(&pdev->dev, "cannot map the register BAR\n");
		return -EIO;
	}

	aper->pa = pci_resource_start(pdev, MIC_X100_APER_BAR);
	aper->len = pci_resource_len(pdev, MIC_X100_APER_BAR);
	aper->va = ioremap_wc(aper->pa, aper->len);
	if (!aper->va) {
		dev_err(&pdev->dev, "cannot map the aperture BAR\n");
		iounmap(mmio->va);
		mmio->va = NULL;
		return -EIO;
	}
	return 0;
}

static void mic_x100_unmap_bars(struct mic_x100_dev *mdev)
{
	iounmap(mdev->hw.aper.va);
	iounmap(mdev->hw.mmio.va);
}

/* facts §4.1 step 4: a page of host RAM the card reaches through SMPT. */
static int mic_x100_dp_init(struct mic_x100_dev *mdev)
{
	struct mic_hw_dev *hw = &mdev->hw;
	dma_addr_t card;

	hw->dp = dma_alloc_coherent(&mdev->pdev->dev, MIC_DP_SIZE,
				    &mdev->dp_bus, GFP_KERNEL);
	if (!hw->dp)
		return -ENOMEM;
	card = mic_x100_map(hw, mdev->dp_bus, MIC_DP_SIZE);
	if (card == DMA_MAPPING_ERROR) {
		dma_free_coherent(&mdev->pdev->dev, MIC_DP_SIZE, hw->dp,
				  mdev->dp_bus);
		hw->dp = NULL;
		return -EIO;
	}
	hw->dp_card_addr = card;
	mic_x100_write_dp_addr(mdev);
	return 0;
}

static void mic_x100_dp_exit(struct mic_x100_dev *mdev)
{
	struct mic_hw_dev *hw = &mdev->hw;
	dma_addr_t card = hw->dp_card_addr;

	/* Do not leave the card a pointer into freed host memory. */
	hw->dp_card_addr = 0;
	mic_x100_write_dp_addr(mdev);
	mic_x100_unmap(hw, card, MIC_DP_SIZE);
	dma_free_coherent(&mdev->pdev->dev, MIC_DP_SIZE, hw->dp, mdev->dp_bus);
	hw->dp = NULL;
}

static int mic_x100_pci_init(struct mic_x100_dev *mdev)
{
	struct pci_dev *pdev = mdev->pdev;
	int rc;

	rc = pci_enable_device(pdev);
	if (rc) {
		dev_err(&pdev->dev, "cannot enable device: %d\n", rc);
		return rc;
	}
	pci_set_master(pdev);
	rc = pci_request_regions(pdev, "mic");
	if (rc) {
		dev_err(&pdev->dev, "cannot claim BARs: %d\n", rc);
		goto disable;
	}
	rc = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(64));
	if (rc) {
		dev_err(&pdev->dev, "no 64-bit DMA: %d\n", rc);
		goto release;
	}
	rc = mic_x100_map_bars(mdev);
	if (rc)
		goto release;
	return 0;

release:
	pci_release_regions(pdev);
disable:
	pci_disable_device(pdev);
	return rc;
}

static void mic_x100_pci_exit(struct mic_x100_dev *mdev)
{
	mic_x100_unmap_bars(mdev);
	pci_release_regions(mdev->pdev);
	pci_disable_device(mdev->pdev);
}

static int mic_x100_probe(struct pci_dev *pdev,
			  const struct pci_device_id *id)
{
	struct mic_x100_dev *mdev;
	int rc;

	mdev = kzalloc(sizeof(*mdev), GFP_KERNEL);
	if (!mdev)
		return -ENOMEM;
	rc = ida_alloc_max(&mic_x100_ida, MIC_X100_MAX_CARDS - 1, GFP_KERNEL);
	if (rc < 0)
		goto free_mdev;
	mdev->index = rc;
	mdev->pdev = pdev;
	mdev->stepping = pdev->revision;
	mdev->hw.dev = &pdev->dev;
	mdev->hw.index = mdev->index;
	mdev->hw.ops = &mic_x100_hw_ops;

	rc = mic_x100_pci_init(mdev);
	if (rc)
		goto free_id;
	rc = mic_x100_intr_init(mdev, mic_x100_irq_mode);
	if (rc)
		goto pci_exit;
	mic_x100_smpt_init(mdev);
	rc = mic_x100_dp_init(mdev);
	if (rc) {
		dev_err(&pdev->dev, "device page set-up failed: %d\n", rc);
		goto intr_exit;
	}
	mic_x100_bootparam_init(mdev);
	mic_x100_dma_init(mdev);
	pci_set_drvdata(pdev, mdev);
	mic_x100_debugfs_add(mdev);
	mic_x100_add_card(mdev);

	mdev->cdev = cosm_register_device(&pdev->dev, mdev->index,
					  &mic_x100_cosm_ops, mdev);
	if (IS_ERR(mdev->cdev)) {
		rc = PTR_ERR(mdev->cdev);
		dev_err(&pdev->dev, "COSM registration failed: %d\n", rc);
		goto remove_card;
	}
	dev_info(&pdev->dev, "mic%d: x100 rev 0x%02x, %llu MiB card memory\n",
		 mdev->index, mdev->stepping, (u64)mdev->hw.aper.len >> 20);
	return 0;

remove_card:
	mic_x100_remove_card(mdev);
	mic_x100_debugfs_remove(mdev);
	pci_set_drvdata(pdev, NULL);
	mic_x100_dma_exit(mdev);
	mic_x100_dp_exit(mdev);
intr_exit:
	mic_x100_intr_exit(mdev);
pci_exit:
	mic_x100_pci_exit(mdev);
free_id:
	ida_free(&mic_x100_ida, mdev->index);
free_mdev:
	kfree(mdev);
	return rc;
}

static void mic_x100_remove(struct pci_dev *pdev)
{
	struct mic_x100_dev *mdev = pci_get_drvdata(pdev);

	if (!mdev)
		return;
	cosm_unregister_device(mdev->cdev);
	mic_x100_remove_card(mdev);
	mic_x100_debugfs_remove(mdev);
	pci_set_drvdata(pdev, NULL);
	mic_x100_dma_exit(mdev);
	mic_x100_dp_exit(mdev);
	mic_x100_intr_exit(mdev);
	mic_x100_pci_exit(mdev);
	ida_free(&mic_x100_ida, mdev->index);
	kfree(mdev);
}

static struct pci_driver mic_x100_driver = {
	.name = "mic",
	.id_table = mic_x100_pci_ids,
	.probe = mic_x100_probe,
	.remove = mic_x100_remove,
};

static int mic_x100_parse_irq_mode(void)
{
	static const char * const names[] = {
		[MIC_X100_IRQ_AUTO] = "auto",
		[MIC_X100_IRQ_MSIX] = "msix",
		[MIC_X100_IRQ_MSI] = "msi",
		[MIC_X100_IRQ_INTX] = "intx",
	};
	int i;

	i = irq_mode ? sysfs_match_string(names, irq_mode) : -EINVAL;
	if (i < 0) {
		pr_err("mic_x100: irq_mode=%s: use auto, msix, msi or intx\n",
		       irq_mode ?: "");
		return -EINVAL;
	}
	mic_x100_irq_mode = i;
	return 0;
}

static int __init mic_x100_init(void)
{
	int rc;

	rc = mic_x100_parse_irq_mode();
	if (rc)
		return rc;
	mic_x100_debugfs_init();
	rc = mic_x100_scif_init();
	if (rc)
		goto debugfs_exit;
	rc = mic_x100_vop_init();
	if (rc)
		goto scif_exit;
	rc = pci_register_driver(&mic_x100_driver);
	if (rc)
		goto vop_exit;
	return 0;

vop_exit:
	mic_x100_vop_exit();
scif_exit:
	mic_x100_scif_exit();
debugfs_exit:
	mic_x100_debugfs_exit();
	return rc;
}

static void __exit mic_x100_exit(void)
{
	pci_unregister_driver(&mic_x100_driver);
	mic_x100_vop_exit();
	mic_x100_scif_exit();
	mic_x100_debugfs_exit();
	ida_destroy(&mic_x100_ida);
}

module_init(mic_x100_init);
module_exit(mic_x100_exit);

MODULE_DESCRIPTION("micemu PCIe/boot driver for Intel Xeon Phi x100 cards");
MODULE_LICENSE("GPL");
