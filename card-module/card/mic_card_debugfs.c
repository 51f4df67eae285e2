// SPDX-License-Identifier: GPL-2.0
/*
 * micemu card driver: debugfs (/sys/kernel/debug/mic_card/).
 *
 *  regs       register window: POST code, SPADs, interrupt and DMA control
 *  dp         device page address and bootparam fields
 *  intr       per MSI-X vector: source, irq, interrupts taken, users
 *  send_intr  write a doorbell number d to ring the host (SDBIC[d])
 */
#include <linux/debugfs.h>
#include <linux/kstrtox.h>
#include <linux/seq_file.h>

#include "mic_card.h"

static int mic_card_regs_show(struct seq_file *s, void *unused)
{
	struct mic_card *card = s->private;
	int i;

	seq_printf(s, "window       0x%llx+0x%x\n", MIC_CARD_MMIO_BASE,
		   MIC_CARD_MMIO_LEN);
	seq_printf(s, "POSTCODE     0x%08x\n",
		   ioread32(card->mmio + MIC_POSTCODE));
	for (i = 0; i < MIC_NUM_SPAD; i++)
		seq_printf(s, "SPAD%-2d       0x%08x\n", i,
			   mic_card_sbox_read(card, MIC_SBOX_SPAD(i)));
	seq_printf(s, "SICR0        0x%08x\n",
		   mic_card_sbox_read(card, MIC_SBOX_SICR0));
	seq_printf(s, "SICE0        0x%08x\n",
		   mic_card_sbox_read(card, MIC_SBOX_SICE0));
	seq_printf(s, "SIAC0        0x%08x\n",
		   mic_card_sbox_read(card, MIC_SBOX_SIAC0));
	seq_printf(s, "DCR          0x%08x\n",
		   mic_card_sbox_read(card, MIC_SBOX_DCR));
	for (i = 0; i < MIC_NUM_APICICR; i++)
		seq_printf(s, "APICICR%d     0x%08x 0x%08x\n", i,
			   mic_card_sbox_read(card, MIC_SBOX_APICICR_HI(i)),
			   mic_card_sbox_read(card, MIC_SBOX_APICICR_LO(i)));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(mic_card_regs);

static int mic_card_dp_show(struct seq_file *s, void *unused)
{
	struct mic_card *card = s->private;
	struct mic_bootparam __iomem *dp = card->dp;

	seq_printf(s, "address             0x%llx\n", card->dp_addr);
	seq_printf(s, "magic               0x%08x\n", ioread32(&dp->magic));
	seq_printf(s, "h2c_config_db       %d\n",
		   (s8)ioread8(&dp->h2c_config_db));
	seq_printf(s, "node_id             %u\n", ioread8(&dp->node_id));
	seq_printf(s, "h2c_scif_db         %u\n", ioread8(&dp->h2c_scif_db));
	seq_printf(s, "c2h_scif_db         %u\n", ioread8(&dp->c2h_scif_db));
	seq_printf(s, "scif_host_dma_addr  0x%llx\n",
		   readq(&dp->scif_host_dma_addr));
	seq_printf(s, "scif_card_dma_addr  0x%llx\n",
		   readq(&dp->scif_card_dma_addr));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(mic_card_dp);

static int mic_card_intr_show(struct seq_file *s, void *unused)
{
	struct mic_card *card = s->private;
	struct mic_card_vec *vec;
	int v;

	seq_puts(s, "vector source           irq   count users\n");
	mutex_lock(&card->db_lock);
	for (v = 0; v < MIC_CARD_NUM_VECTORS; v++) {
		vec = &card->vec[v];
		seq_printf(s, "%6d %-16s %5d %7llu %5u\n", v,
			   vec->name + sizeof("mic_card-") - 1, vec->irq,
			   READ_ONCE(vec->count), vec->nr_users);
	}
	mutex_unlock(&card->db_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(mic_card_intr);

static ssize_t mic_card_send_intr_write(struct file *file,
					const char __user *ubuf,
					size_t count, loff_t *ppos)
{
	struct mic_card *card = file->private_data;
	int db, err;

	err = kstrtoint_from_user(ubuf, count, 0, &db);
	if (err)
		return err;
	if (db < 0 || db > MIC_SDBIC_MAX)
		return -EINVAL;
	mic_card_send_host_intr(card, db);
	return count;
}

static const struct file_operations mic_card_send_intr_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = mic_card_send_intr_write,
	.llseek = noop_llseek,
};

/**
 * mic_card_debugfs_init() - create /sys/kernel/debug/mic_card/
 * @card: card, fully set up
 *
 * debugfs failures are not fatal and are not reported.
 */
void mic_card_debugfs_init(struct mic_card *card)
{
	card->dbg = debugfs_create_dir("mic_card", NULL);
	debugfs_create_file("regs", 0400, card->dbg, card,
			    &mic_card_regs_fops);
	debugfs_create_file("dp", 0400, card->dbg, card, &mic_card_dp_fops);
	debugfs_create_file("intr", 0400, card->dbg, card,
			    &mic_card_intr_fops);
	debugfs_create_file("send_intr", 0200, card->dbg, card,
			    &mic_card_send_intr_fops);
}

/**
 * mic_card_debugfs_exit() - remove what mic_card_debugfs_init() created
 * @card: card
 */
void mic_card_debugfs_exit(struct mic_card *card)
{
	debugfs_remove_recursive(card->dbg);
	card->dbg = NULL;
}
