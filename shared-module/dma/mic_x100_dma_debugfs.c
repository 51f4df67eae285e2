// SPDX-License-Identifier: GPL-2.0
/*
 * micemu: x100 DMA driver, debugfs (mic_dma/<instance>/chN) and the
 * fault injection used by the test module.
 */
#include <linux/module.h>
#include <linux/seq_file.h>

#include "mic_x100_dma.h"

static int mic_dma_chan_show(struct seq_file *s, void *unused)
{
	struct mic_dma_chan *ch = s->private;
	struct mic_dma_stats st;
	unsigned long flags;
	u32 regs[8];
	u32 dcr;

	spin_lock_irqsave(&ch->lock, flags);
	st = ch->stats;
	if (ch->dead) {
		spin_unlock_irqrestore(&ch->lock, flags);
		seq_puts(s, "removed\n");
		return 0;
	}
	dcr = ioread32(ch->mdma->hw->mmio + MIC_DMA_DCR);
	regs[0] = mic_dma_ch_read(ch, MIC_DMA_DCAR);
	regs[1] = mic_dma_ch_read(ch, MIC_DMA_DHPR);
	regs[2] = mic_dma_ch_read(ch, MIC_DMA_DTPR);
	regs[3] = mic_dma_ch_read(ch, MIC_DMA_DRAR_LO);
	regs[4] = mic_dma_ch_read(ch, MIC_DMA_DRAR_HI);
	regs[5] = mic_dma_ch_read(ch, MIC_DMA_DSTAT);
	regs[6] = mic_dma_ch_read(ch, MIC_DMA_DCHERR);
	regs[7] = mic_dma_ch_read(ch, MIC_DMA_DCHERRMSK);
	seq_printf(s, "channel %d %s-owned, %s%s\n", ch->hw_ch,
		   mic_dma_host_owned(ch) ? "host" : "card",
		   ch->has_irq ? "interrupts" : "polled",
		   ch->broken ? ", BROKEN" : "");
	seq_printf(s, "DCR 0x%08x DCAR 0x%08x DHPR 0x%08x DTPR 0x%08x\n",
		   dcr, regs[0], regs[1], regs[2]);
	seq_printf(s, "DRAR_LO 0x%08x DRAR_HI 0x%08x DSTAT 0x%08x DCHERR 0x%08x DCHERRMSK 0x%08x\n",
		   regs[3], regs[4], regs[5], regs[6], regs[7]);
	seq_printf(s, "ring 0x%llx len %d head %u tail %u in_ring %llu queued %zu active %zu\n",
		   ch->ring_card, MIC_DMA_RING_LEN, ch->head, ch->tail,
		   ch->written - ch->done, list_count_nodes(&ch->queued),
		   list_count_nodes(&ch->active));
	spin_unlock_irqrestore(&ch->lock, flags);
	seq_printf(s, "submitted %llu completed %llu failed %llu errors %llu resets %llu irqs %llu last_dcherr 0x%08x last_dstat 0x%08x\n",
		   st.submitted, st.completed, st.failed, st.errors, st.resets,
		   st.irqs, st.last_dcherr, st.last_dstat);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(mic_dma_chan);

void mic_dma_debugfs_add(struct mic_dma_dev *mdma)
{
	char name[8];
	int i;

	if (IS_ERR_OR_NULL(mic_dma_dbg_root))
		return;
	mdma->dbg = debugfs_create_dir(mdma->name, mic_dma_dbg_root);
	for (i = 0; i < MIC_DMA_NUM_CHAN; i++) {
		snprintf(name, sizeof(name), "ch%d", mdma->ch[i].hw_ch);
		debugfs_create_file(name, 0444, mdma->dbg, &mdma->ch[i],
				    &mic_dma_chan_fops);
	}
}

/**
 * mic_dma_inject_fault() - make the channel fail, for tests only
 * @chan: an x100 DMA channel
 * @fault: what to do
 * @qw0: MIC_DMA_FAULT_RAW_DESC: the descriptor's first word
 * @qw1: MIC_DMA_FAULT_RAW_DESC: the descriptor's second word
 *
 * Each fault queues one transaction that the hardware should refuse:
 * the raw descriptor itself, or a STATUS descriptor to the channel's
 * scratch word handed over with ring size 0 in DRAR_HI, or handed over by
 * writing DHPR with the value it already holds (facts §5.4). The driver
 * must then report a channel error, fail the transaction and program the
 * channel again. The channel must be idle (-EBUSY otherwise).
 *
 * Return: the transaction's cookie or a negative errno.
 */
int mic_dma_inject_fault(struct dma_chan *chan, enum mic_dma_fault fault,
			 u64 qw0, u64 qw1)
{
	struct mic_dma_chan *ch;
	struct mic_dma_txd *txd;
	unsigned long flags;
	dma_cookie_t cookie;
	int rc = 0;

	if (!mic_dma_is_mic_chan(chan) || fault < MIC_DMA_FAULT_RAW_DESC ||
	    fault > MIC_DMA_FAULT_SAME_HEAD)
		return -EINVAL;
	ch = to_mic_chan(chan);
	txd = mic_dma_txd_alloc(ch, fault == MIC_DMA_FAULT_RAW_DESC ?
				MIC_DMA_TXD_RAW : MIC_DMA_TXD_STATUS, 0);
	if (!txd)
		return -ENOMEM;
	txd->nslots = 1;

	spin_lock_irqsave(&ch->lock, flags);
	if (ch->dead || ch->broken || !list_empty(&ch->queued) ||
	    !list_empty(&ch->active) || mic_dma_free_slots(ch) < 1) {
		rc = -EBUSY;
		goto unlock;
	}
	cookie = mic_dma_submit_locked(ch, txd);
	list_add_tail(&txd->node, &ch->active);
	switch (fault) {
	case MIC_DMA_FAULT_RAW_DESC:
		mic_dma_put_desc(ch, qw0, qw1);
		txd->end = ch->written;
		mic_dma_kick(ch);
		break;
	case MIC_DMA_FAULT_RING_SIZE_0:
		mic_dma_put_desc(ch, 0, MIC_DMA_DESC_STATUS <<
				 MIC_DMA_DESC_TYPE_SHIFT |
				 (mic_dma_scratch_card(ch) &
				  MIC_DMA_DESC_ADDR_MASK));
		txd->end = ch->written;
		ch->drar_faulted = true;
		ch->drar_fault_end = jiffies + MIC_DMA_DRAR_FAULT_WAIT;
		mic_dma_ch_write(ch, ch->drar_hi & ~MIC_DMA_DRAR_SIZE_MASK,
				 MIC_DMA_DRAR_HI);
		mic_dma_kick(ch);
		break;
	case MIC_DMA_FAULT_SAME_HEAD:
		mic_dma_put_desc(ch, 0, MIC_DMA_DESC_STATUS <<
				 MIC_DMA_DESC_TYPE_SHIFT |
				 (mic_dma_scratch_card(ch) &
				  MIC_DMA_DESC_ADDR_MASK));
		txd->end = ch->written;
		/* Descriptors in memory before the head moves. */
		wmb();
		mic_dma_ch_write(ch, ch->last_dhpr, MIC_DMA_DHPR);
		break;
	}
	mic_dma_arm_watchdog(ch);
	spin_unlock_irqrestore(&ch->lock, flags);
	dev_info(ch->mdma->hw->dev, "%s dma ch%d: fault %d injected (test)\n",
		 ch->mdma->name, ch->hw_ch, fault);
	return cookie;

unlock:
	spin_unlock_irqrestore(&ch->lock, flags);
	kfree(txd);
	return rc;
}
EXPORT_SYMBOL_GPL(mic_dma_inject_fault);
