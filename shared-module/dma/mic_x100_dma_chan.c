// SPDX-License-Identifier: GPL-2.0
/*
 * micemu: x100 DMA driver, one channel: registers, ring, completion,
 * errors and the dmaengine operations (facts §5.2-5.4).
 *
 * Transactions are kept in software until issue_pending() writes them
 * into the ring; each batch ends with the interrupt request of facts
 * §5.4 (two STATUS descriptors to a scratch word, the second with the
 * interrupt bit) when the channel's interrupt is delivered. Completion is
 * read from DSTAT's index, from the interrupt's tasklet, from
 * tx_status() and from a watchdog timer that runs while work is
 * outstanding (and is the only poll when there is no interrupt). The
 * same poll checks DCHERR and whether the registers went back to reset
 * values (a card reset): both fail the transactions in the ring and
 * program the channel again.
 */
#include <linux/io.h>
#include <linux/slab.h>

#include "mic_x100_dma.h"

size_t mic_dma_ring_bytes(void)
{
	return MIC_DMA_RING_LEN * sizeof(struct mic_dma_hwdesc) +
	       MIC_DMA_ALIGN;
}

u64 mic_dma_scratch_card(struct mic_dma_chan *ch)
{
	return ch->ring_card + MIC_DMA_RING_LEN * sizeof(struct mic_dma_hwdesc);
}

/* --- cookies (the dmaengine conventions, written out) ------------------ */

static dma_cookie_t mic_dma_cookie_assign(struct mic_dma_txd *txd)
{
	struct dma_chan *chan = txd->tx.chan;
	dma_cookie_t cookie = chan->cookie + 1;

	if (cookie < DMA_MIN_COOKIE)
		cookie = DMA_MIN_COOKIE;
	txd->tx.cookie = cookie;
	chan->cookie = cookie;
	return cookie;
}

static bool mic_dma_cookie_between(dma_cookie_t c, dma_cookie_t first,
				   dma_cookie_t last)
{
	if (first <= last)
		return c >= first && c <= last;
	return c >= first || c <= last;
}

static bool mic_dma_cookie_failed(struct mic_dma_chan *ch, dma_cookie_t c)
{
	int i;

	for (i = 0; i < MIC_DMA_FAILED_RANGES; i++)
		if (ch->failed_first[i] &&
		    mic_dma_cookie_between(c, ch->failed_first[i],
					   ch->failed_last[i]))
			return true;
	return false;
}

/* --- registers ---------------------------------------------------------- */

void mic_dma_dcr_update(struct mic_dma_dev *mdma, u32 clear, u32 set)
{
	void __iomem *dcr = mdma->hw->mmio + MIC_DMA_DCR;
	unsigned long flags;
	u32 old, val;

	spin_lock_irqsave(&mdma->dcr_lock, flags);
	old = ioread32(dcr);
	val = (old & ~clear) | set;
	/* The other side owns half of DCR: write only when needed. */
	if (val != old)
		iowrite32(val, dcr);
	spin_unlock_irqrestore(&mdma->dcr_lock, flags);
}

static u32 mic_dma_intr_mask_bit(struct mic_dma_chan *ch)
{
	return mic_dma_host_owned(ch) ? MIC_DMA_DCAR_IM1 : MIC_DMA_DCAR_IM0;
}

static void mic_dma_mask_intr(struct mic_dma_chan *ch, bool mask)
{
	u32 dcar = mic_dma_ch_read(ch, MIC_DMA_DCAR);

	if (mask)
		dcar |= mic_dma_intr_mask_bit(ch);
	else
		dcar &= ~mic_dma_intr_mask_bit(ch);
	mic_dma_ch_write(ch, dcar, MIC_DMA_DCAR);
}

static void mic_dma_enable(struct mic_dma_chan *ch, bool on)
{
	u32 bit = MIC_DMA_DCR_ENABLE(ch->hw_ch);

	mic_dma_dcr_update(ch->mdma, on ? 0 : bit, on ? bit : 0);
}

/* Did the channel lose its programming (a card reset, facts §10.4)? */
static bool mic_dma_regs_lost(struct mic_dma_chan *ch)
{
	u32 dcr = ioread32(ch->mdma->hw->mmio + MIC_DMA_DCR);

	return !(dcr & MIC_DMA_DCR_ENABLE(ch->hw_ch)) ||
	       mic_dma_ch_read(ch, MIC_DMA_DRAR_HI) != ch->drar_hi ||
	       mic_dma_ch_read(ch, MIC_DMA_DRAR_LO) != ch->drar_lo;
}

/* DRAR for our ring (facts §5.2). */
int mic_dma_encode_drar(struct mic_dma_chan *ch)
{
	u64 addr = ch->ring_card;
	u32 size = MIC_DMA_RING_LEN << MIC_DMA_DRAR_SIZE_SHIFT;
	u64 off;

	if (mic_dma_host_owned(ch)) {
		/* Host RAM behind the SMPT window: entry index + offset. */
		if (addr < MIC_DMA_SMPT_BASE)
			return -EINVAL;
		off = addr - MIC_DMA_SMPT_BASE;
		if ((off >> MIC_DMA_SMPT_SHIFT) >= MIC_DMA_SMPT_ENTRIES)
			return -EINVAL;
		ch->drar_lo = lower_32_bits(off);
		ch->drar_hi = size | MIC_DMA_DRAR_SYSMEM |
			((u32)(off >> MIC_DMA_SMPT_SHIFT) <<
			 MIC_DMA_DRAR_SMPT_SHIFT) |
			(upper_32_bits(off) & MIC_DMA_DRAR_HOST_HI_MASK);
	} else {
		/* Card memory: 36 address bits. */
		if (addr >> 36)
			return -EINVAL;
		ch->drar_lo = lower_32_bits(addr);
		ch->drar_hi = size |
			(upper_32_bits(addr) & MIC_DMA_DRAR_CARD_HI_MASK);
	}
	return 0;
}

/*
 * Channel set-up, facts §5.2 (the owner bits were set at registration).
 * Called with the lock held; forgets the ring contents.
 */
int mic_dma_program(struct mic_dma_chan *ch)
{
	u32 dtpr, dstat, err;

	mic_dma_enable(ch, false);
	mic_dma_mask_intr(ch, true);
	mic_dma_ch_write(ch, 0, MIC_DMA_DCHERRMSK);
	mic_dma_ch_write(ch, ch->drar_lo, MIC_DMA_DRAR_LO);
	mic_dma_ch_write(ch, ch->drar_hi, MIC_DMA_DRAR_HI);

	dtpr = mic_dma_ch_read(ch, MIC_DMA_DTPR) & MIC_DMA_DSTAT_INDEX;
	if (dtpr >= MIC_DMA_RING_LEN)
		dtpr = 0;
	ch->head = dtpr;
	ch->tail = dtpr;
	ch->written = 0;
	ch->done = 0;
	/* Start with DHPR = DTPR so that no later value repeats DHPR. */
	ch->last_dhpr = mic_dma_ch_read(ch, MIC_DMA_DHPR);
	if (ch->last_dhpr != dtpr) {
		mic_dma_ch_write(ch, dtpr, MIC_DMA_DHPR);
		ch->last_dhpr = dtpr;
	}

	mic_dma_mask_intr(ch, !ch->has_irq);
	mic_dma_enable(ch, true);

	err = mic_dma_ch_read(ch, MIC_DMA_DCHERR);
	dstat = mic_dma_ch_read(ch, MIC_DMA_DSTAT);
	if (err || (dstat & MIC_DMA_DSTAT_ERROR)) {
		dev_err_ratelimited(ch->mdma->hw->dev,
				    "%s dma ch%d: not ready after set-up: DCHERR 0x%08x DSTAT 0x%08x\n",
				    ch->mdma->name, ch->hw_ch, err, dstat);
		ch->broken = true;
		return -EBUSY;
	}
	if ((dstat & MIC_DMA_DSTAT_INDEX) != dtpr)
		dev_warn_ratelimited(ch->mdma->hw->dev,
				     "%s dma ch%d: DSTAT index %u differs from DTPR %u after set-up\n",
				     ch->mdma->name, ch->hw_ch,
				     (u32)(dstat & MIC_DMA_DSTAT_INDEX), dtpr);
	ch->tail = dstat & MIC_DMA_DSTAT_INDEX;
	if (ch->tail >= MIC_DMA_RING_LEN)
		ch->tail = dtpr;
	ch->broken = false;
	ch->drar_faulted = false;
	return 0;
}

void mic_dma_quiesce(struct mic_dma_chan *ch)
{
	mic_dma_mask_intr(ch, true);
	mic_dma_enable(ch, false);
}

/* --- ring ---------------------------------------------------------------- */

u32 mic_dma_free_slots(struct mic_dma_chan *ch)
{
	return MIC_DMA_RING_LEN - 1 - (u32)(ch->written - ch->done);
}

void mic_dma_put_desc(struct mic_dma_chan *ch, u64 qw0, u64 qw1)
{
	struct mic_dma_hwdesc *d = &ch->ring[ch->head];

	WRITE_ONCE(d->qw0, cpu_to_le64(qw0));
	WRITE_ONCE(d->qw1, cpu_to_le64(qw1));
	ch->head = (ch->head + 1) % MIC_DMA_RING_LEN;
	ch->written++;
}

static void mic_dma_put_status(struct mic_dma_chan *ch, u64 value, u64 dst,
			       bool intr)
{
	mic_dma_put_desc(ch, value,
			 MIC_DMA_DESC_STATUS << MIC_DMA_DESC_TYPE_SHIFT |
			 (intr ? MIC_DMA_DESC_STATUS_INTR : 0) |
			 (dst & MIC_DMA_DESC_ADDR_MASK));
}

static void mic_dma_put_txd(struct mic_dma_chan *ch, struct mic_dma_txd *txd)
{
	u64 src = txd->src, dst = txd->dst;
	size_t left = txd->len, n;

	switch (txd->kind) {
	case MIC_DMA_TXD_MEMCPY:
		while (left) {
			n = min(left, ch->max_xfer);
			mic_dma_put_desc(ch, (src & MIC_DMA_DESC_ADDR_MASK) |
					 (u64)(n >> MIC_DMA_ALIGN_SHIFT) <<
					 MIC_DMA_DESC_LEN_SHIFT,
					 MIC_DMA_DESC_MEMCPY <<
					 MIC_DMA_DESC_TYPE_SHIFT |
					 (dst & MIC_DMA_DESC_ADDR_MASK));
			src += n;
			dst += n;
			left -= n;
		}
		break;
	case MIC_DMA_TXD_STATUS:
		mic_dma_put_status(ch, txd->value, txd->dst, false);
		break;
	case MIC_DMA_TXD_INTR:
		/* The batch's interrupt request follows. */
		break;
	case MIC_DMA_TXD_RAW:
		mic_dma_put_desc(ch, txd->src, txd->dst);
		break;
	}
	txd->end = ch->written;
}

/* Hand the hardware what was written; DHPR never gets one value twice. */
void mic_dma_kick(struct mic_dma_chan *ch)
{
	if (ch->head == ch->last_dhpr)
		return;
	/* Descriptors in memory before the head moves. */
	wmb();
	mic_dma_ch_write(ch, ch->head, MIC_DMA_DHPR);
	ch->last_dhpr = ch->head;
}

void mic_dma_arm_watchdog(struct mic_dma_chan *ch)
{
	unsigned long delay = ch->has_irq ?
		msecs_to_jiffies(MIC_DMA_WATCHDOG_MS) : 1;

	if (!ch->dead && !timer_pending(&ch->watchdog))
		mod_timer(&ch->watchdog, jiffies + delay);
}

/* Move queued transactions into the ring as far as they fit. Locked. */
static void mic_dma_push(struct mic_dma_chan *ch)
{
	struct mic_dma_txd *txd, *tmp;
	u32 extra = ch->has_irq ? MIC_DMA_INTR_SLOTS : 0;
	bool pushed = false;

	if (ch->dead || ch->broken || list_empty(&ch->queued))
		return;
	/* An idle channel may have been reset since it last ran. */
	if (list_empty(&ch->active) && mic_dma_regs_lost(ch)) {
		ch->stats.resets++;
		if (mic_dma_program(ch))
			return;
	}
	list_for_each_entry_safe(txd, tmp, &ch->queued, node) {
		if (txd->nslots + extra > mic_dma_free_slots(ch))
			break;
		mic_dma_put_txd(ch, txd);
		list_move_tail(&txd->node, &ch->active);
		pushed = true;
	}
	if (!pushed)
		return;
	if (ch->has_irq) {
		/* facts §5.4: two STATUS descriptors, the second interrupts. */
		mic_dma_put_status(ch, 0, mic_dma_scratch_card(ch), false);
		mic_dma_put_status(ch, 0, mic_dma_scratch_card(ch), true);
	}
	mic_dma_kick(ch);
	mic_dma_arm_watchdog(ch);
}

/* --- completion and errors ---------------------------------------------- */

static void mic_dma_finish(struct mic_dma_chan *ch, struct mic_dma_txd *txd,
			   enum dmaengine_tx_result result)
{
	txd->result = result;
	ch->chan.completed_cookie = txd->tx.cookie;
	if (result == DMA_TRANS_NOERROR)
		ch->stats.completed++;
	else
		ch->stats.failed++;
	list_move_tail(&txd->node, &ch->completed);
}

/* Fail every transaction in the ring (and, if @all, the queued ones). */
u32 mic_dma_fail(struct mic_dma_chan *ch, bool all)
{
	struct mic_dma_txd *txd, *tmp, *first = NULL, *last = NULL;
	u32 n = 0;

	if (all)
		list_splice_tail_init(&ch->queued, &ch->active);
	list_for_each_entry_safe(txd, tmp, &ch->active, node) {
		if (!first)
			first = txd;
		last = txd;
		mic_dma_finish(ch, txd, DMA_TRANS_ABORTED);
		n++;
	}
	if (first) {
		ch->failed_first[ch->failed_next] = first->tx.cookie;
		ch->failed_last[ch->failed_next] = last->tx.cookie;
		ch->failed_next = (ch->failed_next + 1) % MIC_DMA_FAILED_RANGES;
	}
	return n;
}

/* Fail what is in the ring and program the channel again. Locked. */
void mic_dma_recover(struct mic_dma_chan *ch, bool all)
{
	mic_dma_fail(ch, all);
	if (ch->dead)
		return;
	if (!mic_dma_program(ch))
		mic_dma_push(ch);
	else
		mic_dma_fail(ch, true);
}

/* Completions up to the hardware's index @idx; false if @idx is bogus. */
static bool mic_dma_complete_to(struct mic_dma_chan *ch, u32 idx)
{
	struct mic_dma_txd *txd, *tmp;
	u32 adv;

	if (idx >= MIC_DMA_RING_LEN)
		return false;
	adv = (idx + MIC_DMA_RING_LEN - ch->tail) % MIC_DMA_RING_LEN;
	if (adv > ch->written - ch->done)
		return false;
	ch->tail = idx;
	ch->done += adv;
	list_for_each_entry_safe(txd, tmp, &ch->active, node) {
		if (txd->end > ch->done)
			break;
		mic_dma_finish(ch, txd, DMA_TRANS_NOERROR);
	}
	return true;
}

/*
 * Poll the hardware: completions, channel errors, lost programming.
 * Locked. Finished transactions go to @completed for the tasklet.
 */
static void mic_dma_update(struct mic_dma_chan *ch)
{
	struct device *dev = ch->mdma->hw->dev;
	u32 dstat, err, n;

	if (ch->dead)
		return;
	if (ch->broken) {
		/* Try again: the hardware may have come back. */
		mic_dma_recover(ch, false);
		return;
	}
	dstat = mic_dma_ch_read(ch, MIC_DMA_DSTAT);
	err = mic_dma_ch_read(ch, MIC_DMA_DCHERR);
	if (dstat == ~0U && err == ~0U) {
		dev_err_ratelimited(dev, "%s dma ch%d: registers read all ones\n",
				    ch->mdma->name, ch->hw_ch);
		mic_dma_fail(ch, true);
		ch->broken = true;
		return;
	}
	/*
	 * Writing DRAR set DSTAT's index to 0; the engine (in the other
	 * process for a forwarded channel) reports the bad ring when it
	 * runs. Wait for that a while instead of reading index 0 as a
	 * completion.
	 */
	if (ch->drar_faulted && !err && !(dstat & MIC_DMA_DSTAT_ERROR) &&
	    time_before(jiffies, ch->drar_fault_end))
		return;
	/* An error first: a channel halted on one keeps its registers. */
	if (!err && !(dstat & MIC_DMA_DSTAT_ERROR) && !ch->drar_faulted &&
	    mic_dma_regs_lost(ch)) {
		/* DSTAT was reset too: nothing in the ring can be trusted. */
		ch->stats.resets++;
		n = (u32)list_count_nodes(&ch->active);
		dev_warn_ratelimited(dev, "%s dma ch%d: registers back at reset values (card reset?), %u transfer(s) failed, channel programmed again\n",
				     ch->mdma->name, ch->hw_ch, n);
		mic_dma_recover(ch, false);
		return;
	}
	if (!err && !(dstat & MIC_DMA_DSTAT_ERROR)) {
		if (mic_dma_complete_to(ch, dstat & MIC_DMA_DSTAT_INDEX))
			return;
		dev_err_ratelimited(dev, "%s dma ch%d: DSTAT 0x%08x: completion index beyond the %llu descriptor(s) queued\n",
				    ch->mdma->name, ch->hw_ch, dstat,
				    ch->written - ch->done);
	} else {
		/* Descriptors before the failing one did complete. */
		mic_dma_complete_to(ch, dstat & MIC_DMA_DSTAT_INDEX);
	}
	ch->stats.errors++;
	ch->stats.last_dcherr = err;
	ch->stats.last_dstat = dstat;
	n = (u32)list_count_nodes(&ch->active);
	dev_err_ratelimited(dev, "%s dma ch%d: channel error, DCHERR 0x%08x DSTAT 0x%08x: %u transfer(s) failed, channel programmed again\n",
			    ch->mdma->name, ch->hw_ch, err, dstat, n);
	mic_dma_recover(ch, false);
}

void mic_dma_run_callbacks(struct list_head *done)
{
	struct mic_dma_txd *txd, *tmp;
	struct dmaengine_result res;

	list_for_each_entry_safe(txd, tmp, done, node) {
		list_del(&txd->node);
		res.result = txd->result;
		res.residue = txd->result == DMA_TRANS_NOERROR ? 0 : txd->len;
		if (txd->tx.callback_result)
			txd->tx.callback_result(txd->tx.callback_param, &res);
		else if (txd->tx.callback)
			txd->tx.callback(txd->tx.callback_param);
		dma_run_dependencies(&txd->tx);
		kfree(txd);
	}
}

void mic_dma_tasklet(struct tasklet_struct *t)
{
	struct mic_dma_chan *ch = from_tasklet(ch, t, tasklet);
	unsigned long flags;
	LIST_HEAD(done);

	spin_lock_irqsave(&ch->lock, flags);
	if (!ch->dead) {
		mic_dma_update(ch);
		mic_dma_push(ch);
		if (!list_empty(&ch->active) || !list_empty(&ch->queued))
			mic_dma_arm_watchdog(ch);
	}
	list_splice_tail_init(&ch->completed, &done);
	spin_unlock_irqrestore(&ch->lock, flags);
	mic_dma_run_callbacks(&done);
}

void mic_dma_watchdog(struct timer_list *t)
{
	struct mic_dma_chan *ch = from_timer(ch, t, watchdog);

	tasklet_schedule(&ch->tasklet);
}

irqreturn_t mic_dma_irq(int irq, void *data)
{
	struct mic_dma_chan *ch = data;
	struct mic_dma_hw *hw = ch->mdma->hw;

	spin_lock(&ch->lock);
	ch->stats.irqs++;
	/* facts §5.4: card-owned channels mask and unmask DCAR (erratum). */
	if (!mic_dma_host_owned(ch) && !ch->dead) {
		mic_dma_mask_intr(ch, true);
		mic_dma_mask_intr(ch, false);
	}
	spin_unlock(&ch->lock);
	if (hw->ops->ack_irq)
		hw->ops->ack_irq(hw, ch->hw_ch);
	tasklet_schedule(&ch->tasklet);
	return IRQ_HANDLED;
}

/* --- dmaengine operations ------------------------------------------------ */

/* Give @txd its cookie; the caller queues it. Locked. */
dma_cookie_t mic_dma_submit_locked(struct mic_dma_chan *ch,
				   struct mic_dma_txd *txd)
{
	ch->stats.submitted++;
	return mic_dma_cookie_assign(txd);
}

static dma_cookie_t mic_dma_tx_submit(struct dma_async_tx_descriptor *tx)
{
	struct mic_dma_txd *txd = container_of(tx, struct mic_dma_txd, tx);
	struct mic_dma_chan *ch = to_mic_chan(tx->chan);
	unsigned long flags;
	dma_cookie_t cookie;

	spin_lock_irqsave(&ch->lock, flags);
	if (ch->dead) {
		spin_unlock_irqrestore(&ch->lock, flags);
		return -ENODEV;
	}
	cookie = mic_dma_submit_locked(ch, txd);
	list_add_tail(&txd->node, &ch->queued);
	spin_unlock_irqrestore(&ch->lock, flags);
	return cookie;
}

struct mic_dma_txd *mic_dma_txd_alloc(struct mic_dma_chan *ch,
				      enum mic_dma_txd_kind kind,
				      unsigned long flags)
{
	struct mic_dma_txd *txd;

	if (READ_ONCE(ch->dead))
		return NULL;
	txd = kzalloc(sizeof(*txd), GFP_NOWAIT);
	if (!txd)
		return NULL;
	dma_async_tx_descriptor_init(&txd->tx, &ch->chan);
	txd->tx.flags = flags;
	txd->tx.tx_submit = mic_dma_tx_submit;
	INIT_LIST_HEAD(&txd->node);
	txd->kind = kind;
	return txd;
}

static bool mic_dma_addr_ok(u64 addr, size_t len)
{
	return addr <= MIC_DMA_DESC_ADDR_MASK &&
	       len <= MIC_DMA_DESC_ADDR_MASK - addr + 1;
}

static struct dma_async_tx_descriptor *
mic_dma_prep_memcpy(struct dma_chan *chan, dma_addr_t dst, dma_addr_t src,
		    size_t len, unsigned long flags)
{
	struct mic_dma_chan *ch = to_mic_chan(chan);
	struct mic_dma_txd *txd;
	size_t nslots;

	/* facts §5.1: 64-byte alignment; 40-bit card addresses. */
	if (!len || !IS_ALIGNED(src | dst | len, MIC_DMA_ALIGN) ||
	    !mic_dma_addr_ok(src, len) || !mic_dma_addr_ok(dst, len)) {
		dev_dbg_ratelimited(ch->mdma->hw->dev,
				    "%s dma ch%d: refusing copy %pad -> %pad, %zu bytes\n",
				    ch->mdma->name, ch->hw_ch, &src, &dst, len);
		return NULL;
	}
	nslots = DIV_ROUND_UP(len, ch->max_xfer);
	if (nslots + MIC_DMA_INTR_SLOTS > MIC_DMA_RING_LEN - 1)
		return NULL;
	txd = mic_dma_txd_alloc(ch, MIC_DMA_TXD_MEMCPY, flags);
	if (!txd)
		return NULL;
	txd->src = src;
	txd->dst = dst;
	txd->len = len;
	txd->nslots = nslots;
	return &txd->tx;
}

static struct dma_async_tx_descriptor *
mic_dma_prep_interrupt(struct dma_chan *chan, unsigned long flags)
{
	struct mic_dma_chan *ch = to_mic_chan(chan);
	struct mic_dma_txd *txd;

	txd = mic_dma_txd_alloc(ch, MIC_DMA_TXD_INTR, flags);
	return txd ? &txd->tx : NULL;
}

/* facts §5.4: immediate data = one STATUS descriptor, no interrupt. */
static struct dma_async_tx_descriptor *
mic_dma_prep_imm_data(struct dma_chan *chan, dma_addr_t dst, u64 data,
		      unsigned long flags)
{
	struct mic_dma_chan *ch = to_mic_chan(chan);
	struct mic_dma_txd *txd;

	if (!IS_ALIGNED(dst, sizeof(u64)) || !mic_dma_addr_ok(dst, 8))
		return NULL;
	txd = mic_dma_txd_alloc(ch, MIC_DMA_TXD_STATUS, flags);
	if (!txd)
		return NULL;
	txd->dst = dst;
	txd->value = data;
	txd->nslots = 1;
	return &txd->tx;
}

static void mic_dma_issue_pending(struct dma_chan *chan)
{
	struct mic_dma_chan *ch = to_mic_chan(chan);
	unsigned long flags;

	spin_lock_irqsave(&ch->lock, flags);
	mic_dma_push(ch);
	spin_unlock_irqrestore(&ch->lock, flags);
}

static enum dma_status mic_dma_status(struct mic_dma_chan *ch,
				      dma_cookie_t cookie,
				      struct dma_tx_state *state)
{
	dma_cookie_t used = ch->chan.cookie;
	dma_cookie_t complete = ch->chan.completed_cookie;
	enum dma_status ret = dma_async_is_complete(cookie, complete, used);

	dma_set_tx_state(state, complete, used, 0);
	if (ret == DMA_COMPLETE && mic_dma_cookie_failed(ch, cookie))
		return DMA_ERROR;
	return ret;
}

static enum dma_status mic_dma_tx_status(struct dma_chan *chan,
					 dma_cookie_t cookie,
					 struct dma_tx_state *state)
{
	struct mic_dma_chan *ch = to_mic_chan(chan);
	enum dma_status ret;
	unsigned long flags;
	bool finished;

	spin_lock_irqsave(&ch->lock, flags);
	ret = mic_dma_status(ch, cookie, state);
	if (ret == DMA_IN_PROGRESS && !ch->dead) {
		mic_dma_update(ch);
		ret = mic_dma_status(ch, cookie, state);
	}
	finished = !list_empty(&ch->completed);
	spin_unlock_irqrestore(&ch->lock, flags);
	/* Callbacks run from the tasklet, never in the caller's context. */
	if (finished)
		tasklet_schedule(&ch->tasklet);
	return ret;
}

static int mic_dma_terminate_all(struct dma_chan *chan)
{
	struct mic_dma_chan *ch = to_mic_chan(chan);
	struct mic_dma_txd *txd;
	unsigned long flags;

	spin_lock_irqsave(&ch->lock, flags);
	mic_dma_recover(ch, true);
	/* Terminated transactions get no callback. */
	list_for_each_entry(txd, &ch->completed, node)
		if (txd->result != DMA_TRANS_NOERROR) {
			txd->tx.callback = NULL;
			txd->tx.callback_result = NULL;
		}
	spin_unlock_irqrestore(&ch->lock, flags);
	tasklet_schedule(&ch->tasklet);
	return 0;
}

static void mic_dma_synchronize(struct dma_chan *chan)
{
	tasklet_kill(&to_mic_chan(chan)->tasklet);
}

static int mic_dma_alloc_chan_resources(struct dma_chan *chan)
{
	/* The ring exists from registration on. */
	return to_mic_chan(chan)->dead ? -ENODEV : MIC_DMA_RING_LEN;
}

static void mic_dma_free_chan_resources(struct dma_chan *chan)
{
}

static void mic_dma_release(struct dma_device *dma)
{
	kfree(container_of(dma, struct mic_dma_dev, dma));
}

void mic_dma_init_device(struct mic_dma_dev *mdma)
{
	struct dma_device *dma = &mdma->dma;

	dma->dev = mdma->hw->dev;
	INIT_LIST_HEAD(&dma->channels);
	dma_cap_zero(dma->cap_mask);
	dma_cap_set(DMA_MEMCPY, dma->cap_mask);
	dma_cap_set(DMA_INTERRUPT, dma->cap_mask);
	/* Consumers take channels explicitly (facts §5.1: host private). */
	dma_cap_set(DMA_PRIVATE, dma->cap_mask);
	dma->copy_align = DMAENGINE_ALIGN_64_BYTES;
	dma->device_alloc_chan_resources = mic_dma_alloc_chan_resources;
	dma->device_free_chan_resources = mic_dma_free_chan_resources;
	dma->device_prep_dma_memcpy = mic_dma_prep_memcpy;
	dma->device_prep_dma_interrupt = mic_dma_prep_interrupt;
	dma->device_prep_dma_imm_data = mic_dma_prep_imm_data;
	dma->device_issue_pending = mic_dma_issue_pending;
	dma->device_tx_status = mic_dma_tx_status;
	dma->device_terminate_all = mic_dma_terminate_all;
	dma->device_synchronize = mic_dma_synchronize;
	dma->device_release = mic_dma_release;
}

/**
 * mic_dma_is_mic_chan() - does @chan belong to this driver?
 * @chan: any dmaengine channel
 *
 * Return: true for an x100 DMA channel.
 */
bool mic_dma_is_mic_chan(struct dma_chan *chan)
{
	return chan && chan->device &&
	       chan->device->device_prep_dma_memcpy == mic_dma_prep_memcpy;
}
EXPORT_SYMBOL_GPL(mic_dma_is_mic_chan);
