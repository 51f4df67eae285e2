// SPDX-License-Identifier: GPL-2.0
/*
 * micemu: x100 hardware ops for COSM: reset, ready, OS download and boot
 * kick (facts §2.4, §4.2).
 *
 * Everything the card hands us (SPAD2) and every size (BAR0, files) is
 * checked before it is used as an offset into the aperture.
 */
#include <linux/delay.h>
#include <linux/firmware.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "mic_x100.h"

static unsigned int reset_settle_ms = 1000;
module_param(reset_settle_ms, uint, 0644);
MODULE_PARM_DESC(reset_settle_ms,
		 "Delay after writing the reset bit, in ms (default 1000)");

static struct mic_x100_dev *cosm_to_x100(struct cosm_device *cdev)
{
	return cdev->priv;
}

/* facts §4.4; also run at every start and stop. */
void mic_x100_bootparam_init(struct mic_x100_dev *mdev)
{
	struct mic_bootparam *bp = mdev->hw.dp;

	bp->magic = cpu_to_le32(MIC_MAGIC);
	bp->h2c_config_db = -1;
	bp->node_id = mdev->index + 1;
	bp->h2c_scif_db = MIC_DB_UNSET;
	bp->c2h_scif_db = MIC_DB_UNSET;
	bp->scif_host_dma_addr = 0;
	bp->scif_card_dma_addr = 0;
}

void mic_x100_write_dp_addr(struct mic_x100_dev *mdev)
{
	mic_x100_write_spad(mdev, MIC_X100_SPAD_DP_LO,
			    lower_32_bits(mdev->hw.dp_card_addr));
	mic_x100_write_spad(mdev, MIC_X100_SPAD_DP_HI,
			    upper_32_bits(mdev->hw.dp_card_addr));
}

/* Clear "bootstrap ready", then pull the reset bit (facts §2.4, §4.2). */
static void mic_x100_reset(struct cosm_device *cdev)
{
	struct mic_x100_dev *mdev = cosm_to_x100(cdev);
	u32 reg;

	mic_x100_write_spad(mdev, MIC_X100_SPAD_DOWNLOAD, 0);
	/* Order the reset after every earlier access to the card. */
	mb();
	reg = mic_x100_read(mdev, MIC_X100_RGCR);
	mic_x100_write(mdev, reg | MIC_X100_RGCR_RESET, MIC_X100_RGCR);
	msleep(reset_settle_ms);
	/* The reset took the DMA channels' state with it (facts §10.4). */
	mic_x100_dma_reset(mdev);
}

static bool mic_x100_ready(struct cosm_device *cdev)
{
	struct mic_x100_dev *mdev = cosm_to_x100(cdev);
	u32 spad2 = mic_x100_read_spad(mdev, MIC_X100_SPAD_DOWNLOAD);

	if (spad2 == ~0U) {
		dev_warn_ratelimited(&mdev->pdev->dev,
				     "SPAD2 reads all ones, card not responding\n");
		return false;
	}
	return spad2 & MIC_X100_SPAD2_READY;
}

static int mic_x100_boot_addr(struct mic_x100_dev *mdev, u32 *boot_addr)
{
	u32 spad2 = mic_x100_read_spad(mdev, MIC_X100_SPAD_DOWNLOAD);
	u32 addr = MIC_X100_SPAD2_BOOT_ADDR(spad2);

	if (spad2 == ~0U || !(spad2 & MIC_X100_SPAD2_READY)) {
		dev_err(&mdev->pdev->dev, "card not ready, SPAD2 0x%08x\n",
			spad2);
		return -EIO;
	}
	if (addr > MIC_X100_BOOT_ADDR_MAX) {
		dev_err(&mdev->pdev->dev,
			"SPAD2 0x%08x: boot address 0x%x above 2 GiB\n",
			spad2, addr);
		return -EINVAL;
	}
	if ((u64)addr + MIC_X100_BP_END > mdev->hw.aper.len) {
		dev_err(&mdev->pdev->dev,
			"SPAD2 0x%08x: boot address 0x%x beyond card memory (%pa)\n",
			spad2, addr, &mdev->hw.aper.len);
		return -EINVAL;
	}
	*boot_addr = addr;
	return 0;
}

/* Copy the OS image to BAR0[boot_addr] and report its size in SPAD5. */
static int mic_x100_load_image(struct mic_x100_dev *mdev, const char *name,
			       u32 boot_addr, size_t *size)
{
	struct mic_mw *aper = &mdev->hw.aper;
	const struct firmware *fw;
	int rc;

	rc = request_firmware(&fw, name, &mdev->pdev->dev);
	if (rc) {
		dev_err(&mdev->pdev->dev, "cannot load firmware %s: %d\n",
			name, rc);
		return rc;
	}
	if (!fw->size || fw->size > U32_MAX ||
	    fw->size > aper->len - boot_addr) {
		dev_err(&mdev->pdev->dev,
			"image %s (%zu bytes) does not fit at 0x%x in %pa bytes of card memory\n",
			name, fw->size, boot_addr, &aper->len);
		release_firmware(fw);
		return -EINVAL;
	}
	memcpy_toio(aper->va + boot_addr, fw->data, fw->size);
	mic_x100_write_spad(mdev, MIC_X100_SPAD_FW_SIZE, fw->size);
	*size = fw->size;
	release_firmware(fw);
	return 0;
}

/* " mem=<MiB>M" plus " <cmdline>", NUL-terminated, after the image. */
static int mic_x100_load_cmdline(struct mic_x100_dev *mdev,
				 const char *cmdline, u64 dest, u64 *end)
{
	struct mic_mw *aper = &mdev->hw.aper;
	size_t len;
	char *buf;
	int rc = 0;

	buf = kmalloc(MIC_X100_CMDLINE_MAX, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	len = snprintf(buf, MIC_X100_CMDLINE_MAX, " mem=%lluM",
		       (u64)aper->len >> 20);
	if (cmdline && *cmdline)
		len += snprintf(buf + len, MIC_X100_CMDLINE_MAX - len, " %s",
				cmdline);
	if (len >= MIC_X100_CMDLINE_MAX) {
		dev_err(&mdev->pdev->dev,
			"command line of %zu bytes exceeds %d\n", len + 1,
			MIC_X100_CMDLINE_MAX);
		rc = -EINVAL;
	} else if (dest + len + 1 > aper->len) {
		dev_err(&mdev->pdev->dev,
			"command line does not fit in card memory\n");
		rc = -EINVAL;
	} else {
		memcpy_toio(aper->va + dest, buf, len + 1);
		*end = dest + len + 1;
	}
	kfree(buf);
	return rc;
}

/* The ramdisk goes to 2 * boot_addr; its place in boot_params is set. */
static int mic_x100_load_ramdisk(struct mic_x100_dev *mdev, const char *name,
				 u32 boot_addr, u64 image_end)
{
	struct mic_mw *aper = &mdev->hw.aper;
	u64 rd_addr = 2ULL * boot_addr;
	const struct firmware *fw;
	int rc;

	if (rd_addr > U32_MAX || image_end > rd_addr) {
		dev_err(&mdev->pdev->dev,
			"no room for a ramdisk at 0x%llx (image ends at 0x%llx)\n",
			rd_addr, image_end);
		return -EINVAL;
	}
	rc = request_firmware(&fw, name, &mdev->pdev->dev);
	if (rc) {
		dev_err(&mdev->pdev->dev, "cannot load ramdisk %s: %d\n",
			name, rc);
		return rc;
	}
	if (fw->size > U32_MAX || rd_addr > aper->len ||
	    fw->size > aper->len - rd_addr) {
		dev_err(&mdev->pdev->dev,
			"ramdisk %s (%zu bytes) does not fit at 0x%llx\n",
			name, fw->size, rd_addr);
		release_firmware(fw);
		return -EINVAL;
	}
	memcpy_toio(aper->va + rd_addr, fw->data, fw->size);
	iowrite32(rd_addr, aper->va + boot_addr + MIC_X100_BP_RAMDISK_IMAGE);
	iowrite32(fw->size, aper->va + boot_addr + MIC_X100_BP_RAMDISK_SIZE);
	release_firmware(fw);
	return 0;
}

/* facts §4.2 step 5. */
static int mic_x100_load_os(struct mic_x100_dev *mdev,
			    struct cosm_device *cdev)
{
	const char *ramdisk;
	u32 boot_addr;
	size_t size;
	u64 end;
	int rc;

	rc = mic_x100_boot_addr(mdev, &boot_addr);
	if (rc)
		return rc;
	if (!cdev->firmware || !*cdev->firmware) {
		dev_err(&mdev->pdev->dev, "boot: firmware not set\n");
		return -EINVAL;
	}
	rc = mic_x100_load_image(mdev, cdev->firmware, boot_addr, &size);
	if (rc)
		return rc;
	if (!strcmp(cdev->bootmode, "flash")) {
		dev_err(&mdev->pdev->dev,
			"bootmode flash is not supported on x100\n");
		return -EINVAL;
	}
	rc = mic_x100_load_cmdline(mdev, cdev->cmdline, (u64)boot_addr + size,
				   &end);
	if (rc)
		return rc;
	ramdisk = cdev->ramdisk && *cdev->ramdisk ? cdev->ramdisk : NULL;
	if (ramdisk)
		rc = mic_x100_load_ramdisk(mdev, ramdisk, boot_addr, end);
	if (!rc)
		dev_info(&mdev->pdev->dev, "loaded %s (%zu bytes) at 0x%x%s%s\n",
			 cdev->firmware, size, boot_addr,
			 ramdisk ? " with ramdisk " : "", ramdisk ?: "");
	return rc;
}

/* facts §2.4: interrupt the bootstrap CPU with vector 229. */
static void mic_x100_boot_kick(struct mic_x100_dev *mdev)
{
	u32 spad2 = mic_x100_read_spad(mdev, MIC_X100_SPAD_DOWNLOAD);

	/* Image, command line and device page before the kick. */
	wmb();
	mic_x100_write(mdev, MIC_X100_SPAD2_APIC_ID(spad2),
		       MIC_X100_APICICR_HI(MIC_X100_BOOT_APICICR));
	/* Destination before the send bit (facts §2.4). */
	wmb();
	mic_x100_write(mdev, MIC_X100_BSP_VECTOR | MIC_X100_APICICR_SEND,
		       MIC_X100_APICICR_LO(MIC_X100_BOOT_APICICR));
}

static int mic_x100_start(struct cosm_device *cdev, int index)
{
	struct mic_x100_dev *mdev = cosm_to_x100(cdev);
	int rc;

	mic_x100_bootparam_init(mdev);
	rc = mic_x100_start_clients(mdev);
	if (rc)
		return rc;
	rc = mic_x100_load_os(mdev, cdev);
	if (rc)
		goto stop_clients;
	/* facts §4.2 step 6: some steppings lose these across a reset. */
	mic_x100_smpt_restore(mdev);
	mic_x100_intr_restore(mdev);
	mic_x100_enable_interrupts(mdev);
	mic_x100_write_dp_addr(mdev);
	mic_x100_boot_kick(mdev);
	return 0;

stop_clients:
	mic_x100_stop_clients(mdev);
	return rc;
}

static void mic_x100_stop(struct cosm_device *cdev, bool force)
{
	struct mic_x100_dev *mdev = cosm_to_x100(cdev);

	mic_x100_stop_clients(mdev);
	mic_x100_bootparam_init(mdev);
}

static ssize_t mic_x100_family(struct cosm_device *cdev, char *buf)
{
	return sysfs_emit(buf, "x100\n");
}

static ssize_t mic_x100_stepping(struct cosm_device *cdev, char *buf)
{
	struct mic_x100_dev *mdev = cosm_to_x100(cdev);
	const char *name;

	switch (mdev->stepping) {
	case MIC_X100_STEP_A0:
		name = "A0";
		break;
	case MIC_X100_STEP_B0:
		name = "B0";
		break;
	case MIC_X100_STEP_B1:
		name = "B1";
		break;
	case MIC_X100_STEP_C0:
		name = "C0";
		break;
	default:
		name = "??";
		break;
	}
	return sysfs_emit(buf, "%s\n", name);
}

static struct mic_mw *mic_x100_aper(struct cosm_device *cdev)
{
	return &cosm_to_x100(cdev)->hw.aper;
}

const struct cosm_hw_ops mic_x100_cosm_ops = {
	.reset = mic_x100_reset,
	.force_reset = mic_x100_reset,
	.ready = mic_x100_ready,
	.start = mic_x100_start,
	.stop = mic_x100_stop,
	.family = mic_x100_family,
	.stepping = mic_x100_stepping,
	.aper = mic_x100_aper,
};
