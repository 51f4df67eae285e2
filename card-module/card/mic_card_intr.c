// SPDX-License-Identifier: GPL-2.0
/*
 * micemu card driver: interrupts.
 *
 * A KNC card kernel gets its doorbells as platform IRQs 26+k (APICICR k)
 * and 17+m (RDMASR m), its DMA channels as IRQ n (facts §2.5). A stock
 * x86 VM has no such lines, so the mic-card PCI function delivers every
 * card interrupt source as its own MSI-X vector (mic_card_regs.h). We hook
 * all of them at probe, count them, and call whoever attached to a
 * doorbell; MSI-X needs no acknowledgment (upstream's card ack is empty).
 */
#include <linux/slab.h>

#include "mic_card.h"

/**
 * struct mic_card_db_user - a handler attached to a doorbell vector
 * @node: entry in mic_card_vec.users
 * @vec: the vector
 * @handler: called from the vector's hard-irq handler
 * @data: @handler's argument
 */
struct mic_card_db_user {
	struct list_head node;
	struct mic_card_vec *vec;
	irq_handler_t handler;
	void *data;
};

static irqreturn_t mic_card_irq(int irq, void *arg)
{
	struct mic_card_vec *vec = arg;
	struct mic_card_db_user *user;

	WRITE_ONCE(vec->count, vec->count + 1);
	spin_lock(&vec->lock);
	list_for_each_entry(user, &vec->users, node)
		user->handler(irq, user->data);
	spin_unlock(&vec->lock);
	/* An edge-triggered vector of our own: nothing to hand on. */
	return IRQ_HANDLED;
}

static void mic_card_vec_name(struct mic_card_vec *vec, int v)
{
	if (v < MIC_NUM_SBOX_DB)
		snprintf(vec->name, sizeof(vec->name), "mic_card-db%d", v);
	else if (v < MIC_NUM_DB)
		snprintf(vec->name, sizeof(vec->name), "mic_card-rdmasr%d",
			 v - MIC_NUM_SBOX_DB);
	else
		snprintf(vec->name, sizeof(vec->name), "mic_card-dma%d",
			 v - MIC_NUM_DB + MIC_CARD_DMA_FIRST);
}

/**
 * mic_card_intr_init() - enable MSI-X and hook every card interrupt source
 * @card: card with @pdev set
 *
 * Return: 0 or a negative errno.
 */
int mic_card_intr_init(struct mic_card *card)
{
	struct pci_dev *pdev = card->pdev;
	struct mic_card_vec *vec;
	int v, err;

	mutex_init(&card->db_lock);
	err = pci_alloc_irq_vectors(pdev, MIC_CARD_NUM_VECTORS,
				    MIC_CARD_NUM_VECTORS, PCI_IRQ_MSIX);
	if (err < 0) {
		dev_err(&pdev->dev, "cannot enable %d MSI-X vectors: %d\n",
			MIC_CARD_NUM_VECTORS, err);
		return err;
	}
	for (v = 0; v < MIC_CARD_NUM_VECTORS; v++) {
		vec = &card->vec[v];
		vec->card = card;
		vec->irq = pci_irq_vector(pdev, v);
		spin_lock_init(&vec->lock);
		INIT_LIST_HEAD(&vec->users);
		mic_card_vec_name(vec, v);
		err = request_irq(vec->irq, mic_card_irq, 0, vec->name, vec);
		if (err) {
			dev_err(&pdev->dev, "cannot hook vector %d (irq %d): %d\n",
				v, vec->irq, err);
			goto unwind;
		}
	}
	return 0;

unwind:
	while (--v >= 0)
		free_irq(card->vec[v].irq, &card->vec[v]);
	pci_free_irq_vectors(pdev);
	return err;
}

/**
 * mic_card_intr_exit() - undo mic_card_intr_init()
 * @card: card
 *
 * Every doorbell user must be gone.
 */
void mic_card_intr_exit(struct mic_card *card)
{
	int v;

	for (v = MIC_CARD_NUM_VECTORS - 1; v >= 0; v--) {
		WARN_ON(!list_empty(&card->vec[v].users));
		free_irq(card->vec[v].irq, &card->vec[v]);
	}
	pci_free_irq_vectors(card->pdev);
}

/**
 * mic_card_next_db() - the least used host-to-card doorbell (facts §2.5)
 * @card: card
 *
 * Return: a doorbell number 0-15; ties go to the lowest number.
 */
int mic_card_next_db(struct mic_card *card)
{
	int db, best = 0;

	mutex_lock(&card->db_lock);
	for (db = 1; db < MIC_NUM_DB; db++)
		if (card->vec[MIC_CARD_DB_VECTOR(db)].nr_users <
		    card->vec[MIC_CARD_DB_VECTOR(best)].nr_users)
			best = db;
	mutex_unlock(&card->db_lock);
	return best;
}

/**
 * mic_card_request_vec() - call @handler whenever vector @v fires
 * @card: card
 * @v: MSI-X vector 0-19 (doorbells, then DMA channels 4-7)
 * @handler: called in hard-irq context with the vector's irq and @data
 * @data: @handler's argument
 *
 * Return: a cookie for mic_card_free_db(), or an ERR_PTR().
 */
void *mic_card_request_vec(struct mic_card *card, int v,
			   irq_handler_t handler, void *data)
{
	struct mic_card_db_user *user;
	struct mic_card_vec *vec;
	unsigned long flags;

	if (v < 0 || v >= MIC_CARD_NUM_VECTORS || !handler)
		return ERR_PTR(-EINVAL);
	user = kzalloc(sizeof(*user), GFP_KERNEL);
	if (!user)
		return ERR_PTR(-ENOMEM);
	vec = &card->vec[v];
	user->vec = vec;
	user->handler = handler;
	user->data = data;

	mutex_lock(&card->db_lock);
	spin_lock_irqsave(&vec->lock, flags);
	list_add_tail(&user->node, &vec->users);
	vec->nr_users++;
	spin_unlock_irqrestore(&vec->lock, flags);
	mutex_unlock(&card->db_lock);
	return user;
}

/**
 * mic_card_request_db() - call @handler whenever the host rings @db
 * @card: card
 * @db: doorbell 0-15
 * @handler: called in hard-irq context with the vector's irq and @data
 * @data: @handler's argument
 *
 * Return: a cookie for mic_card_free_db(), or an ERR_PTR().
 */
void *mic_card_request_db(struct mic_card *card, int db,
			  irq_handler_t handler, void *data)
{
	if (db < 0 || db >= MIC_NUM_DB)
		return ERR_PTR(-EINVAL);
	return mic_card_request_vec(card, MIC_CARD_DB_VECTOR(db), handler,
				    data);
}

/**
 * mic_card_free_db() - detach a handler attached by mic_card_request_vec()
 * @card: card
 * @cookie: mic_card_request_vec()'s or mic_card_request_db()'s result
 *
 * When this returns the handler is not running and will not run again.
 */
void mic_card_free_db(struct mic_card *card, void *cookie)
{
	struct mic_card_db_user *user = cookie;
	struct mic_card_vec *vec;
	unsigned long flags;

	if (IS_ERR_OR_NULL(user))
		return;
	vec = user->vec;
	mutex_lock(&card->db_lock);
	spin_lock_irqsave(&vec->lock, flags);
	list_del(&user->node);
	vec->nr_users--;
	spin_unlock_irqrestore(&vec->lock, flags);
	mutex_unlock(&card->db_lock);
	/* The handler runs under vec->lock: it is done with @user now. */
	kfree(user);
}

/**
 * mic_card_send_host_intr() - ring card-to-host doorbell @db
 * @card: card
 * @db: SDBIC index; the host hands out 0-3, the register set has 0-8
 *
 * facts §2.5: order earlier stores, then write DBREQ to SDBIC[db].
 * Numbers come from the host's device page, so others are dropped.
 */
void mic_card_send_host_intr(struct mic_card *card, int db)
{
	if (db < 0 || db > MIC_SDBIC_MAX) {
		dev_warn_ratelimited(&card->pdev->dev,
				     "ignoring host doorbell %d (valid 0-%d)\n",
				     db, MIC_SDBIC_MAX);
		return;
	}
	/* The host must see our stores before the interrupt. */
	wmb();
	mic_card_sbox_write(card, MIC_SDBIC_DBREQ, MIC_SBOX_SDBIC(db));
}
