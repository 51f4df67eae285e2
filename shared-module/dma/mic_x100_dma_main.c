// SPDX-License-Identifier: GPL-2.0
/*
 * micemu: x100 DMA engine driver, a dmaengine memcpy provider (facts §5).
 *
 * One instance drives four channels of one side: the host's PCIe driver
 * registers channels 0-3 of each card at probe, the card driver channels
 * 4-7. This file creates and removes instances and holds the exported
 * interface (include/mic_dma.h); mic_x100_dma_chan.c runs the channels.
 */
#include <linux/dma-mapping.h>
#include <linux/io.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "mic_x100_dma.h"

struct dentry *mic_dma_dbg_root;

static int mic_dma_chan_init(struct mic_dma_dev *mdma, int i)
{
	struct mic_dma_chan *ch = &mdma->ch[i];
	struct mic_dma_hw *hw = mdma->hw;
	unsigned long flags;
	int rc;

	ch->mdma = mdma;
	ch->hw_ch = mdma->first_ch + i;
	ch->regs = hw->mmio + MIC_DMA_CH_BASE(ch->hw_ch);
	ch->max_xfer = hw->owner == MIC_DMA_HOST_OWNED ?
		MIC_DMA_HOST_MAX_XFER : MIC_DMA_CARD_MAX_XFER;
	spin_lock_init(&ch->lock);
	INIT_LIST_HEAD(&ch->queued);
	INIT_LIST_HEAD(&ch->active);
	INIT_LIST_HEAD(&ch->completed);
	tasklet_setup(&ch->tasklet, mic_dma_tasklet);
	timer_setup(&ch->watchdog, mic_dma_watchdog, 0);

	ch->ring = dma_alloc_coherent(hw->dev, mic_dma_ring_bytes(),
				      &ch->ring_bus, GFP_KERNEL);
	if (!ch->ring)
		return -ENOMEM;
	ch->ring_card = hw->ops->map(hw, ch->ring_bus, mic_dma_ring_bytes());
	rc = ch->ring_card == DMA_MAPPING_ERROR ? -EIO :
		mic_dma_encode_drar(ch);
	if (rc) {
		dev_err(hw->dev, "%s dma ch%d: ring at %pad has no usable card address\n",
			mdma->name, ch->hw_ch, &ch->ring_bus);
		goto free_ring;
	}

	rc = -EOPNOTSUPP;
	if (hw->ops->request_irq)
		rc = hw->ops->request_irq(hw, ch->hw_ch, mic_dma_irq, ch,
					  &ch->irq_cookie);
	ch->has_irq = !rc;
	if (rc && rc != -EOPNOTSUPP)
		dev_warn(hw->dev, "%s dma ch%d: no interrupt (%d), polling\n",
			 mdma->name, ch->hw_ch, rc);

	spin_lock_irqsave(&ch->lock, flags);
	rc = mic_dma_program(ch);
	spin_unlock_irqrestore(&ch->lock, flags);
	if (rc)
		goto free_irq;

	ch->chan.device = &mdma->dma;
	list_add_tail(&ch->chan.device_node, &mdma->dma.channels);
	return 0;

free_irq:
	if (ch->has_irq)
		hw->ops->free_irq(hw, ch->hw_ch, ch->irq_cookie);
	if (hw->ops->unmap)
		hw->ops->unmap(hw, ch->ring_card, mic_dma_ring_bytes());
free_ring:
	dma_free_coherent(hw->dev, mic_dma_ring_bytes(), ch->ring, ch->ring_bus);
	ch->ring = NULL;
	return rc;
}

/* Stop a channel for good and fail what it still holds. */
static void mic_dma_chan_exit(struct mic_dma_chan *ch)
{
	struct mic_dma_hw *hw = ch->mdma->hw;
	unsigned long flags;
	LIST_HEAD(done);

	if (!ch->ring)
		return;
	spin_lock_irqsave(&ch->lock, flags);
	ch->dead = true;
	mic_dma_quiesce(ch);
	spin_unlock_irqrestore(&ch->lock, flags);

	if (ch->has_irq)
		hw->ops->free_irq(hw, ch->hw_ch, ch->irq_cookie);
	del_timer_sync(&ch->watchdog);
	tasklet_kill(&ch->tasklet);

	spin_lock_irqsave(&ch->lock, flags);
	mic_dma_fail(ch, true);
	list_splice_tail_init(&ch->completed, &done);
	spin_unlock_irqrestore(&ch->lock, flags);
	mic_dma_run_callbacks(&done);

	if (hw->ops->unmap)
		hw->ops->unmap(hw, ch->ring_card, mic_dma_ring_bytes());
	dma_free_coherent(hw->dev, mic_dma_ring_bytes(), ch->ring, ch->ring_bus);
	ch->ring = NULL;
}

/**
 * mic_dma_register() - bring up the four channels of one side
 * @hw: the bus driver's description; it must stay unchanged until
 *	mic_dma_unregister() returns (the ops get it back); @hw->name is
 *	copied
 *
 * Sets the owner bits of card-owned channels (facts §5.2), allocates a
 * ring per channel, requests the completion interrupts, programs the
 * channels and registers a dmaengine device with DMA_MEMCPY and
 * DMA_INTERRUPT (plus immediate data).
 *
 * Context: process context, from the bus driver's probe.
 * Return: the instance or an ERR_PTR().
 */
struct mic_dma_dev *mic_dma_register(struct mic_dma_hw *hw)
{
	struct mic_dma_dev *mdma;
	int i, rc;

	if (!hw || !hw->dev || !hw->ops || !hw->ops->map || !hw->mmio ||
	    !hw->name || (hw->ops->request_irq && !hw->ops->free_irq))
		return ERR_PTR(-EINVAL);
	mdma = kzalloc(sizeof(*mdma), GFP_KERNEL);
	if (!mdma)
		return ERR_PTR(-ENOMEM);
	mdma->hw = hw;
	strscpy(mdma->name, hw->name, sizeof(mdma->name));
	mdma->first_ch = hw->owner == MIC_DMA_HOST_OWNED ?
		MIC_DMA_HOST_FIRST_CH : MIC_DMA_CARD_FIRST_CH;
	spin_lock_init(&mdma->dcr_lock);
	mic_dma_init_device(mdma);

	/* Only the card writes owner bits: it takes channels 4-7. */
	if (hw->owner == MIC_DMA_CARD_OWNED) {
		u32 owner = 0;

		for (i = 0; i < MIC_DMA_NUM_CHAN; i++)
			owner |= MIC_DMA_DCR_OWNER_HOST(mdma->first_ch + i);
		mic_dma_dcr_update(mdma, owner, 0);
	}
	for (i = 0; i < MIC_DMA_NUM_CHAN; i++) {
		rc = mic_dma_chan_init(mdma, i);
		if (rc)
			goto unwind;
	}
	rc = dma_async_device_register(&mdma->dma);
	if (rc)
		goto unwind;
	mic_dma_debugfs_add(mdma);
	dev_info(hw->dev, "%s: DMA channels %d-%d, %s, ring %d descriptors\n",
		 mdma->name, mdma->first_ch, mdma->first_ch + MIC_DMA_NUM_CHAN - 1,
		 mdma->ch[0].has_irq ? "interrupts" : "polled",
		 MIC_DMA_RING_LEN);
	return mdma;

unwind:
	dev_err(hw->dev, "%s: DMA set-up failed: %d\n", mdma->name, rc);
	while (--i >= 0)
		mic_dma_chan_exit(&mdma->ch[i]);
	kfree(mdma);
	return ERR_PTR(rc);
}
EXPORT_SYMBOL_GPL(mic_dma_register);

/**
 * mic_dma_unregister() - stop the channels and remove the device
 * @mdma: a mic_dma_register() result; NULL and ERR_PTR are ignored
 *
 * Outstanding transactions fail (callbacks run with DMA_TRANS_ABORTED).
 * Consumers must have stopped using the channels they got from
 * mic_dma_get_channels(); a consumer that still holds a requested channel
 * only gets errors from it.
 */
void mic_dma_unregister(struct mic_dma_dev *mdma)
{
	int i;

	if (IS_ERR_OR_NULL(mdma))
		return;
	debugfs_remove_recursive(mdma->dbg);
	for (i = 0; i < MIC_DMA_NUM_CHAN; i++)
		mic_dma_chan_exit(&mdma->ch[i]);
	/* Frees @mdma via mic_dma_release() once the last user is gone. */
	dma_async_device_unregister(&mdma->dma);
}
EXPORT_SYMBOL_GPL(mic_dma_unregister);

/**
 * mic_dma_hw_reset() - the card was reset: its DMA state is gone
 * @mdma: the instance (NULL and ERR_PTR are ignored)
 *
 * Fails every transaction in the rings and programs the channels again;
 * queued ones are then started. Called by the host's reset path; the
 * poll finds a reset on its own too (registers at reset values).
 */
void mic_dma_hw_reset(struct mic_dma_dev *mdma)
{
	struct mic_dma_chan *ch;
	unsigned long flags;
	int i;

	if (IS_ERR_OR_NULL(mdma))
		return;
	for (i = 0; i < MIC_DMA_NUM_CHAN; i++) {
		ch = &mdma->ch[i];
		spin_lock_irqsave(&ch->lock, flags);
		if (!ch->dead) {
			if (!list_empty(&ch->active))
				dev_info(mdma->hw->dev, "%s dma ch%d: card reset, %zu transfer(s) failed\n",
					 mdma->name, ch->hw_ch,
					 list_count_nodes(&ch->active));
			ch->stats.resets++;
			mic_dma_recover(ch, false);
		}
		spin_unlock_irqrestore(&ch->lock, flags);
		tasklet_schedule(&ch->tasklet);
	}
}
EXPORT_SYMBOL_GPL(mic_dma_hw_reset);

/**
 * mic_dma_get_channels() - the instance's channels, for its bus driver
 * @mdma: the instance (NULL or ERR_PTR: none)
 * @chans: filled with up to @max channels
 * @max: room in @chans
 *
 * The channels are not requested through dmaengine: the bus driver hands
 * them to a consumer it stops before mic_dma_unregister() (SCIF).
 * Return: the number of channels stored.
 */
int mic_dma_get_channels(struct mic_dma_dev *mdma, struct dma_chan **chans,
			 int max)
{
	int i, n = 0;

	if (IS_ERR_OR_NULL(mdma))
		return 0;
	for (i = 0; i < MIC_DMA_NUM_CHAN && n < max; i++)
		if (mdma->ch[i].ring && !mdma->ch[i].broken)
			chans[n++] = &mdma->ch[i].chan;
	return n;
}
EXPORT_SYMBOL_GPL(mic_dma_get_channels);

/**
 * mic_dma_filter() - dma_request_channel() filter for one instance
 * @chan: candidate channel
 * @name: instance name ("mic0", ... on the host, "card" on a card)
 *
 * Return: true if @chan is an x100 channel of instance @name.
 */
bool mic_dma_filter(struct dma_chan *chan, void *name)
{
	return mic_dma_is_mic_chan(chan) && name &&
	       !strcmp(to_mic_chan(chan)->mdma->name, name);
}
EXPORT_SYMBOL_GPL(mic_dma_filter);

/**
 * mic_dma_hw_chan() - hardware channel number (0-7) of an x100 channel
 * @chan: an x100 DMA channel
 *
 * Return: the number, or -EINVAL for another driver's channel.
 */
int mic_dma_hw_chan(struct dma_chan *chan)
{
	return mic_dma_is_mic_chan(chan) ? to_mic_chan(chan)->hw_ch : -EINVAL;
}
EXPORT_SYMBOL_GPL(mic_dma_hw_chan);

/**
 * mic_dma_map() - card physical address of memory mapped for the channel
 * @chan: an x100 DMA channel
 * @addr: DMA address from dma_map_*() / dma_alloc_coherent() on
 *	@chan->device->dev
 * @len: length in bytes
 *
 * Return: the address to hand to the channel, or DMA_MAPPING_ERROR.
 */
u64 mic_dma_map(struct dma_chan *chan, dma_addr_t addr, size_t len)
{
	struct mic_dma_hw *hw;

	if (!mic_dma_is_mic_chan(chan))
		return DMA_MAPPING_ERROR;
	hw = to_mic_chan(chan)->mdma->hw;
	return hw->ops->map(hw, addr, len);
}
EXPORT_SYMBOL_GPL(mic_dma_map);

/**
 * mic_dma_unmap() - release a mic_dma_map() result
 * @chan: the channel passed to mic_dma_map()
 * @card_addr: its result
 * @len: its length
 */
void mic_dma_unmap(struct dma_chan *chan, u64 card_addr, size_t len)
{
	struct mic_dma_hw *hw;

	if (!mic_dma_is_mic_chan(chan))
		return;
	hw = to_mic_chan(chan)->mdma->hw;
	if (hw->ops->unmap)
		hw->ops->unmap(hw, card_addr, len);
}
EXPORT_SYMBOL_GPL(mic_dma_unmap);

/**
 * mic_dma_get_stats() - copy a channel's counters
 * @chan: an x100 DMA channel
 * @stats: filled in (zeroed for another driver's channel)
 */
void mic_dma_get_stats(struct dma_chan *chan, struct mic_dma_stats *stats)
{
	struct mic_dma_chan *ch;
	unsigned long flags;

	memset(stats, 0, sizeof(*stats));
	if (!mic_dma_is_mic_chan(chan))
		return;
	ch = to_mic_chan(chan);
	spin_lock_irqsave(&ch->lock, flags);
	*stats = ch->stats;
	spin_unlock_irqrestore(&ch->lock, flags);
}
EXPORT_SYMBOL_GPL(mic_dma_get_stats);

static int __init mic_dma_init(void)
{
	mic_dma_dbg_root = debugfs_create_dir("mic_dma", NULL);
	return 0;
}

static void __exit mic_dma_exit(void)
{
	debugfs_remove_recursive(mic_dma_dbg_root);
}

module_init(mic_dma_init);
module_exit(mic_dma_exit);

MODULE_DESCRIPTION("micemu: Intel Xeon Phi x100 DMA engine (dmaengine memcpy provider)");
MODULE_LICENSE("GPL");
