// SPDX-License-Identifier: GPL-2.0
/*
 * micemu: debugfs mic_host/micN/{post_code,smpt,msi_irq_info} (facts §6.7).
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>

#include "mic_x100.h"

static struct dentry *mic_x100_dbg_root;

/* Bytes 0 and 1 of the POST code register, as two characters. */
static int post_code_show(struct seq_file *s, void *unused)
{
	struct mic_x100_dev *mdev = s->private;
	u32 reg = mic_x100_read(mdev, MIC_X100_POSTCODE);

	seq_printf(s, "%c%c", reg & 0xff, (reg >> 8) & 0xff);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(post_code);

static int smpt_show(struct seq_file *s, void *unused)
{
	struct mic_x100_dev *mdev = s->private;
	u64 refs[MIC_X100_SMPT_ENTRIES];
	unsigned long flags;
	int i;

	spin_lock_irqsave(&mdev->smpt_lock, flags);
	memcpy(refs, mdev->smpt_refs, sizeof(refs));
	spin_unlock_irqrestore(&mdev->smpt_lock, flags);

	seq_printf(s, "mic%d SMPT: %d pages of 16 GiB at card 0x%llx\n",
		   mdev->index, MIC_X100_SMPT_ENTRIES, MIC_X100_SMPT_BASE);
	seq_printf(s, "%-5s  %-18s  %-10s  %s\n", "entry", "host address",
		   "register", "refs");
	for (i = 0; i < MIC_X100_SMPT_ENTRIES; i++)
		seq_printf(s, "%-5d  %#-18llx  0x%08x  %llu\n", i,
			   (u64)i << MIC_X100_SMPT_SHIFT,
			   mic_x100_read(mdev, MIC_X100_SMPT(i)), refs[i]);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(smpt);

static int msi_irq_info_show(struct seq_file *s, void *unused)
{
	struct mic_x100_dev *mdev = s->private;
	struct mic_x100_intr *intr = &mdev->intr;
	int vec, src;
	u32 map;

	seq_printf(s, "mode: %s\n", mic_x100_irq_mode_name(intr->mode));
	if (intr->mode == MIC_X100_IRQ_INTX) {
		seq_puts(s, "MSI/MSI-X interrupts not enabled\n");
		return 0;
	}
	mutex_lock(&intr->lock);
	for (vec = 0; vec < intr->num_vectors; vec++) {
		map = intr->vec_map[vec];
		seq_printf(s, "vector %d: irq %d MXAR[%d] 0x%08x sources:",
			   vec, pci_irq_vector(mdev->pdev, vec), vec,
			   mic_x100_read(mdev, MIC_X100_MXAR(vec)));
		for (src = 0; src < MIC_X100_NUM_SRC; src++)
			if (map & BIT(src))
				seq_printf(s, " %d", src);
		seq_puts(s, map ? "\n" : " none\n");
	}
	mutex_unlock(&intr->lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(msi_irq_info);

void mic_x100_debugfs_add(struct mic_x100_dev *mdev)
{
	char name[16];

	if (IS_ERR_OR_NULL(mic_x100_dbg_root))
		return;
	snprintf(name, sizeof(name), "mic%d", mdev->index);
	mdev->dbg_dir = debugfs_create_dir(name, mic_x100_dbg_root);
	debugfs_create_file("post_code", 0444, mdev->dbg_dir, mdev,
			    &post_code_fops);
	debugfs_create_file("smpt", 0444, mdev->dbg_dir, mdev, &smpt_fops);
	debugfs_create_file("msi_irq_info", 0444, mdev->dbg_dir, mdev,
			    &msi_irq_info_fops);
}

void mic_x100_debugfs_remove(struct mic_x100_dev *mdev)
{
	debugfs_remove_recursive(mdev->dbg_dir);
	mdev->dbg_dir = NULL;
}

/* Upstream's host driver was mic_host; tools expect that directory. */
void mic_x100_debugfs_init(void)
{
	mic_x100_dbg_root = debugfs_create_dir("mic_host", NULL);
}

void mic_x100_debugfs_exit(void)
{
	debugfs_remove_recursive(mic_x100_dbg_root);
}
