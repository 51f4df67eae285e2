// SPDX-License-Identifier: GPL-2.0
/*
 * micemu: x100 interrupt layer (facts §1.3, §2.3, §2.4).
 *
 * MSI-X: each requested source gets a vector with no other source mapped,
 * routed through its MXAR register; the card auto-clears the cause bit.
 * MSI and INTx: one handler of ours reads SICR0, writes the value back to
 * clear it and calls the callbacks of the doorbell sources that are set.
 */
#include <linux/interrupt.h>
#include <linux/slab.h>

#include "mic_compat.h"
#include "mic_x100.h"

struct mic_x100_src_group {
	int first;
	int num;
};

static const struct mic_x100_src_group mic_x100_src_groups[] = {
	[MIC_INTR_DB] = { MIC_X100_SRC_DB_FIRST, MIC_X100_SRC_DB_NUM },
	[MIC_INTR_DMA] = { MIC_X100_SRC_DMA_FIRST, MIC_X100_SRC_DMA_NUM },
	[MIC_INTR_ERR] = { MIC_X100_SRC_ERR_FIRST, MIC_X100_SRC_ERR_NUM },
};

static const char * const mic_x100_irq_mode_names[] = {
	[MIC_X100_IRQ_AUTO] = "auto",
	[MIC_X100_IRQ_MSIX] = "MSI-X",
	[MIC_X100_IRQ_MSI] = "MSI",
	[MIC_X100_IRQ_INTX] = "INTx",
};

const char *mic_x100_irq_mode_name(enum mic_x100_irq_mode mode)
{
	return mic_x100_irq_mode_names[mode];
}

/* facts §2.4: SICE0 |= mask; auto-clear only makes sense with MSI-X. */
void mic_x100_enable_interrupts(struct mic_x100_dev *mdev)
{
	u32 reg;

	reg = mic_x100_read(mdev, MIC_X100_SICE0);
	mic_x100_write(mdev, reg | MIC_X100_SRC_ENABLE_MASK, MIC_X100_SICE0);
	if (mdev->intr.mode == MIC_X100_IRQ_MSIX) {
		reg = mic_x100_read(mdev, MIC_X100_SIAC0);
		mic_x100_write(mdev, reg | MIC_X100_SRC_ENABLE_MASK,
			       MIC_X100_SIAC0);
	}
}

void mic_x100_disable_interrupts(struct mic_x100_dev *mdev)
{
	u32 reg;

	reg = mic_x100_read(mdev, MIC_X100_SICE0);
	mic_x100_write(mdev, reg, MIC_X100_SICC0);
	if (mdev->intr.mode == MIC_X100_IRQ_MSIX) {
		reg = mic_x100_read(mdev, MIC_X100_SIAC0);
		mic_x100_write(mdev, reg & ~MIC_X100_SRC_ENABLE_MASK,
			       MIC_X100_SIAC0);
	}
}

/* Read-modify-write one MXAR bit; intr.lock held. */
static void mic_x100_route(struct mic_x100_dev *mdev, int vec, int src,
			   bool on)
{
	u32 reg = mic_x100_read(mdev, MIC_X100_MXAR(vec));

	if (on)
		reg |= BIT(src);
	else
		reg &= ~BIT(src);
	mic_x100_write(mdev, reg, MIC_X100_MXAR(vec));
}

/* Some steppings lose MXAR across a reset: re-apply every mapping. */
void mic_x100_intr_restore(struct mic_x100_dev *mdev)
{
	struct mic_x100_intr *intr = &mdev->intr;
	u32 reg;
	int vec;

	if (intr->mode == MIC_X100_IRQ_INTX)
		return;
	mutex_lock(&intr->lock);
	for (vec = 0; vec < intr->num_vectors; vec++) {
		if (!intr->vec_map[vec])
			continue;
		reg = mic_x100_read(mdev, MIC_X100_MXAR(vec));
		mic_x100_write(mdev, reg | intr->vec_map[vec],
			       MIC_X100_MXAR(vec));
	}
	mutex_unlock(&intr->lock);
}

/* facts §2.4: per-interrupt workaround, chosen by stepping. */
void mic_x100_ack_interrupt(struct mic_hw_dev *hw)
{
	struct mic_x100_dev *mdev = hw_to_x100(hw);

	if (mdev->stepping == MIC_X100_STEP_A0)
		mic_x100_write(mdev, 1, MIC_X100_MSIXPBACR);
	if (mdev->stepping >= MIC_X100_STEP_B0)
		mic_x100_enable_interrupts(mdev);
}

int mic_x100_next_db(struct mic_hw_dev *hw)
{
	struct mic_x100_dev *mdev = hw_to_x100(hw);
	unsigned int n = atomic_inc_return(&mdev->intr.next_db) - 1;

	return n % MIC_X100_SRC_DB_NUM;
}

/* Host-to-card doorbell: 0-7 through APICICR, 8-15 through RDMASR. */
void mic_x100_send_intr(struct mic_hw_dev *hw, int db)
{
	struct mic_x100_dev *mdev = hw_to_x100(hw);
	u32 reg;

	if (db < 0 || db >= MIC_X100_NUM_APICICR + MIC_X100_NUM_RDMASR) {
		dev_warn_ratelimited(&mdev->pdev->dev,
				     "ignoring doorbell %d\n", db);
		return;
	}
	/* The card must see everything written before the doorbell. */
	wmb();
	if (db < MIC_X100_NUM_APICICR) {
		reg = mic_x100_read(mdev, MIC_X100_APICICR_LO(db));
		mic_x100_write(mdev, reg | MIC_X100_APICICR_SEND,
			       MIC_X100_APICICR_LO(db));
	} else {
		mic_x100_write(mdev, 0,
			       MIC_X100_RDMASR(db - MIC_X100_NUM_APICICR));
	}
}

static irqreturn_t mic_x100_shared_irq(int irq, void *data)
{
	struct mic_x100_dev *mdev = data;
	struct mic_x100_intr *intr = &mdev->intr;
	struct mic_hw_irq *cb;
	unsigned long dbs;
	u32 cause;
	int src;

	cause = mic_x100_read(mdev, MIC_X100_SICR0);
	if (!cause)
		return IRQ_NONE;
	if (cause == ~0U) {
		dev_warn_ratelimited(&mdev->pdev->dev,
				     "SICR0 reads all ones, card gone?\n");
		return IRQ_NONE;
	}
	mic_x100_write(mdev, cause, MIC_X100_SICR0);

	dbs = cause & MIC_X100_SRC_DB_MASK;
	if (!dbs)
		return IRQ_HANDLED;
	spin_lock(&intr->cb_lock);
	for_each_set_bit(src, &dbs, MIC_X100_SRC_DB_NUM) {
		list_for_each_entry(cb, &intr->cbs[src], node)
			if (cb->handler)
				cb->handler(irq, cb->data);
		set_bit(src, &intr->pending);
	}
	spin_unlock(&intr->cb_lock);
	return IRQ_WAKE_THREAD;
}

static irqreturn_t mic_x100_shared_thread(int irq, void *data)
{
	struct mic_x100_dev *mdev = data;
	struct mic_x100_intr *intr = &mdev->intr;
	struct mic_hw_irq *cb;
	int src;

	mutex_lock(&intr->cb_mutex);
	for (src = 0; src < MIC_X100_SRC_DB_NUM; src++) {
		if (!test_and_clear_bit(src, &intr->pending))
			continue;
		list_for_each_entry(cb, &intr->cbs[src], node)
			if (cb->thread_fn)
				cb->thread_fn(irq, cb->data);
	}
	mutex_unlock(&intr->cb_mutex);
	return IRQ_HANDLED;
}

static int mic_x100_request_vector(struct mic_x100_dev *mdev,
				   struct mic_hw_irq *irq, const char *name)
{
	struct mic_x100_intr *intr = &mdev->intr;
	unsigned long flags = irq->handler ? 0 : IRQF_ONESHOT;
	int vec, rc;

	for (vec = 0; vec < intr->num_vectors; vec++)
		if (!intr->vec_map[vec])
			break;
	if (vec == intr->num_vectors)
		return -ENOSPC;

	rc = request_threaded_irq(pci_irq_vector(mdev->pdev, vec),
				  irq->handler, irq->thread_fn, flags, name,
				  irq->data);
	if (rc)
		return rc;
	irq->vector = vec;
	intr->vec_map[vec] |= BIT(irq->src);
	mic_x100_route(mdev, vec, irq->src, true);
	return 0;
}

static void mic_x100_add_callback(struct mic_x100_dev *mdev,
				  struct mic_hw_irq *irq)
{
	struct mic_x100_intr *intr = &mdev->intr;
	unsigned long flags;

	mutex_lock(&intr->cb_mutex);
	spin_lock_irqsave(&intr->cb_lock, flags);
	list_add_tail(&irq->node, &intr->cbs[irq->src]);
	spin_unlock_irqrestore(&intr->cb_lock, flags);
	mutex_unlock(&intr->cb_mutex);

	if (irq->src >= MIC_X100_SRC_DB_NUM)
		dev_dbg(&mdev->pdev->dev,
			"source %d is not delivered in %s mode\n", irq->src,
			mic_x100_irq_mode_name(intr->mode));
	if (intr->mode == MIC_X100_IRQ_MSI) {
		intr->vec_map[0] |= BIT(irq->src);
		mic_x100_route(mdev, 0, irq->src, true);
	}
}

/**
 * mic_x100_request_irq() - route one interrupt source to a handler
 * @hw: the card
 * @type: source group
 * @src: source number within the group (doorbell 0-3, DMA channel 0-7)
 * @handler: hard irq handler, called with @data
 * @thread_fn: threaded handler, may be NULL
 * @name: name for /proc/interrupts (MSI-X mode)
 * @data: cookie for the handlers; also the dev_id of an MSI-X vector
 *
 * Context: process context.
 * Return: a cookie for mic_x100_free_irq(), or an ERR_PTR: -EINVAL for a
 * bad source, -ENOSPC when every MSI-X vector is taken.
 */
struct mic_hw_irq *mic_x100_request_irq(struct mic_hw_dev *hw,
					enum mic_intr_type type, int src,
					irq_handler_t handler,
					irq_handler_t thread_fn,
					const char *name, void *data)
{
	struct mic_x100_dev *mdev = hw_to_x100(hw);
	struct mic_hw_irq *irq;
	int rc = 0;

	if (type >= MIC_NUM_INTR_TYPES || src < 0 ||
	    src >= mic_x100_src_groups[type].num || (!handler && !thread_fn))
		return ERR_PTR(-EINVAL);

	irq = kzalloc(sizeof(*irq), GFP_KERNEL);
	if (!irq)
		return ERR_PTR(-ENOMEM);
	INIT_LIST_HEAD(&irq->node);
	irq->src = mic_x100_src_groups[type].first + src;
	irq->handler = handler;
	irq->thread_fn = thread_fn;
	irq->data = data;

	mutex_lock(&mdev->intr.lock);
	if (mdev->intr.mode == MIC_X100_IRQ_MSIX)
		rc = mic_x100_request_vector(mdev, irq, name);
	else
		mic_x100_add_callback(mdev, irq);
	mutex_unlock(&mdev->intr.lock);
	if (rc) {
		dev_err(&mdev->pdev->dev, "no interrupt for source %d: %d\n",
			irq->src, rc);
		kfree(irq);
		return ERR_PTR(rc);
	}
	return irq;
}

static void mic_x100_del_callback(struct mic_x100_dev *mdev,
				  struct mic_hw_irq *irq)
{
	struct mic_x100_intr *intr = &mdev->intr;
	unsigned long flags;

	mutex_lock(&intr->cb_mutex);
	spin_lock_irqsave(&intr->cb_lock, flags);
	list_del(&irq->node);
	spin_unlock_irqrestore(&intr->cb_lock, flags);
	mutex_unlock(&intr->cb_mutex);

	if (intr->mode == MIC_X100_IRQ_MSI &&
	    list_empty(&intr->cbs[irq->src])) {
		intr->vec_map[0] &= ~BIT(irq->src);
		mic_x100_route(mdev, 0, irq->src, false);
	}
}

/**
 * mic_x100_free_irq() - release a source taken with mic_x100_request_irq()
 * @hw: the card
 * @irq: the cookie; freed by this call
 *
 * Context: process context. On return no handler of @irq is running.
 */
void mic_x100_free_irq(struct mic_hw_dev *hw, struct mic_hw_irq *irq)
{
	struct mic_x100_dev *mdev = hw_to_x100(hw);
	struct mic_x100_intr *intr = &mdev->intr;

	if (IS_ERR_OR_NULL(irq))
		return;
	mutex_lock(&intr->lock);
	if (intr->mode == MIC_X100_IRQ_MSIX) {
		free_irq(pci_irq_vector(mdev->pdev, irq->vector), irq->data);
		intr->vec_map[irq->vector] &= ~BIT(irq->src);
		mic_x100_route(mdev, irq->vector, irq->src, false);
	} else {
		mic_x100_del_callback(mdev, irq);
	}
	mutex_unlock(&intr->lock);
	kfree(irq);
}

static int mic_x100_setup_msix(struct mic_x100_dev *mdev)
{
	int rc;

	rc = pci_alloc_irq_vectors(mdev->pdev, MIC_X100_MSIX_VECTORS,
				   MIC_X100_MSIX_VECTORS, PCI_IRQ_MSIX);
	if (rc < 0)
		return rc;
	mdev->intr.mode = MIC_X100_IRQ_MSIX;
	mdev->intr.num_vectors = MIC_X100_MSIX_VECTORS;
	return 0;
}

static int mic_x100_setup_shared(struct mic_x100_dev *mdev,
				 enum mic_x100_irq_mode mode)
{
	bool msi = mode == MIC_X100_IRQ_MSI;
	int rc;

	rc = pci_alloc_irq_vectors(mdev->pdev, 1, 1,
				   msi ? PCI_IRQ_MSI : PCI_IRQ_INTX);
	if (rc < 0)
		return rc;
	rc = request_threaded_irq(pci_irq_vector(mdev->pdev, 0),
				  mic_x100_shared_irq, mic_x100_shared_thread,
				  msi ? 0 : IRQF_SHARED,
				  msi ? "mic-msi" : "mic-intx", mdev);
	if (rc) {
		pci_free_irq_vectors(mdev->pdev);
		return rc;
	}
	mdev->intr.mode = mode;
	mdev->intr.num_vectors = 1;
	return 0;
}

static int mic_x100_setup_mode(struct mic_x100_dev *mdev,
			       enum mic_x100_irq_mode mode)
{
	return mode == MIC_X100_IRQ_MSIX ? mic_x100_setup_msix(mdev) :
					   mic_x100_setup_shared(mdev, mode);
}

/**
 * mic_x100_intr_init() - set up interrupts and enable the card's sources
 * @mdev: the card
 * @mode: a mode to force, or MIC_X100_IRQ_AUTO for MSI-X, MSI, INTx in turn
 *
 * Return: 0 or a negative errno.
 */
int mic_x100_intr_init(struct mic_x100_dev *mdev, enum mic_x100_irq_mode mode)
{
	struct mic_x100_intr *intr = &mdev->intr;
	enum mic_x100_irq_mode try;
	int i, rc = -ENODEV;

	mutex_init(&intr->lock);
	mutex_init(&intr->cb_mutex);
	spin_lock_init(&intr->cb_lock);
	for (i = 0; i < MIC_X100_NUM_SRC; i++)
		INIT_LIST_HEAD(&intr->cbs[i]);
	atomic_set(&intr->next_db, 0);

	for (try = MIC_X100_IRQ_MSIX; try <= MIC_X100_IRQ_INTX; try++) {
		if (mode != MIC_X100_IRQ_AUTO && mode != try)
			continue;
		rc = mic_x100_setup_mode(mdev, try);
		if (!rc)
			break;
		dev_info(&mdev->pdev->dev, "%s not available: %d\n",
			 mic_x100_irq_mode_name(try), rc);
	}
	if (rc) {
		dev_err(&mdev->pdev->dev, "no usable interrupt mode\n");
		return rc;
	}
	dev_info(&mdev->pdev->dev, "interrupt mode %s, %d vector(s)%s\n",
		 mic_x100_irq_mode_name(intr->mode), intr->num_vectors,
		 mode == MIC_X100_IRQ_AUTO ? "" : " (forced)");
	mic_x100_enable_interrupts(mdev);
	return 0;
}

void mic_x100_intr_exit(struct mic_x100_dev *mdev)
{
	struct mic_x100_intr *intr = &mdev->intr;
	int i;

	mic_x100_disable_interrupts(mdev);
	for (i = 0; i < intr->num_vectors; i++)
		if (intr->vec_map[i])
			dev_warn(&mdev->pdev->dev,
				 "vector %d still has sources 0x%x\n", i,
				 intr->vec_map[i]);
	if (intr->mode != MIC_X100_IRQ_MSIX)
		free_irq(pci_irq_vector(mdev->pdev, 0), mdev);
	pci_free_irq_vectors(mdev->pdev);
	mutex_destroy(&intr->cb_mutex);
	mutex_destroy(&intr->lock);
}
