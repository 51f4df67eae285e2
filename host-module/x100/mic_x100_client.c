// SPDX-License-Identifier: GPL-2.0
/*
 * micemu: upper-layer clients (SCIF, host DMA, VOP) of the x100 cards.
 *
 * A client's ->start runs for a card while it boots, ->stop when the card
 * is stopped or reset; clients are stopped in reverse registration order,
 * like the upstream start/stop of DMA, SCIF and VOP devices.
 */
#include <linux/dma-mapping.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "mic_x100.h"

/* Protects both lists, the cards' @started flags and clients' bitmaps. */
static DEFINE_MUTEX(mic_hw_lock);
static LIST_HEAD(mic_hw_clients);
static LIST_HEAD(mic_x100_cards);

void mic_x100_add_card(struct mic_x100_dev *mdev)
{
	mutex_lock(&mic_hw_lock);
	list_add_tail(&mdev->node, &mic_x100_cards);
	mutex_unlock(&mic_hw_lock);
}

void mic_x100_remove_card(struct mic_x100_dev *mdev)
{
	mutex_lock(&mic_hw_lock);
	list_del(&mdev->node);
	mutex_unlock(&mic_hw_lock);
}

static void mic_x100_stop_one(struct mic_hw_client *client,
			      struct mic_x100_dev *mdev)
{
	if (test_and_clear_bit(mdev->index, client->active))
		client->stop(&mdev->hw);
}

int mic_x100_start_clients(struct mic_x100_dev *mdev)
{
	struct mic_hw_client *client;
	int rc = 0;

	mutex_lock(&mic_hw_lock);
	list_for_each_entry(client, &mic_hw_clients, node) {
		rc = client->start(&mdev->hw);
		if (rc) {
			dev_err(&mdev->pdev->dev, "%s did not start: %d\n",
				client->name, rc);
			goto unwind;
		}
		set_bit(mdev->index, client->active);
	}
	mdev->started = true;
	mutex_unlock(&mic_hw_lock);
	return 0;

unwind:
	list_for_each_entry_continue_reverse(client, &mic_hw_clients, node)
		mic_x100_stop_one(client, mdev);
	mutex_unlock(&mic_hw_lock);
	return rc;
}

void mic_x100_stop_clients(struct mic_x100_dev *mdev)
{
	struct mic_hw_client *client;

	mutex_lock(&mic_hw_lock);
	list_for_each_entry_reverse(client, &mic_hw_clients, node)
		mic_x100_stop_one(client, mdev);
	mdev->started = false;
	mutex_unlock(&mic_hw_lock);
}

/**
 * mic_hw_register_client() - attach an upper layer to all x100 cards
 * @client: the client; ->start and ->stop are required
 *
 * Cards that are already booting or running get ->start at once (without
 * their COSM lock held); a failure there is logged and the card skipped.
 *
 * Return: 0, or -EINVAL for an incomplete client.
 */
int mic_hw_register_client(struct mic_hw_client *client)
{
	struct mic_x100_dev *mdev;

	if (!client->start || !client->stop)
		return -EINVAL;
	bitmap_zero(client->active, MIC_HW_MAX_CARDS);

	mutex_lock(&mic_hw_lock);
	list_add_tail(&client->node, &mic_hw_clients);
	list_for_each_entry(mdev, &mic_x100_cards, node) {
		if (!mdev->started)
			continue;
		if (client->start(&mdev->hw))
			dev_warn(&mdev->pdev->dev, "%s did not start\n",
				 client->name);
		else
			set_bit(mdev->index, client->active);
	}
	mutex_unlock(&mic_hw_lock);
	return 0;
}
EXPORT_SYMBOL_GPL(mic_hw_register_client);

/**
 * mic_hw_unregister_client() - detach an upper layer from all cards
 * @client: a client added with mic_hw_register_client()
 *
 * ->stop runs for every card on which the client is active.
 */
void mic_hw_unregister_client(struct mic_hw_client *client)
{
	struct mic_x100_dev *mdev;

	mutex_lock(&mic_hw_lock);
	list_for_each_entry(mdev, &mic_x100_cards, node)
		mic_x100_stop_one(client, mdev);
	list_del(&client->node);
	mutex_unlock(&mic_hw_lock);
}
EXPORT_SYMBOL_GPL(mic_hw_unregister_client);

/* --- what the clients' link ops share ------------------------------------ */

/**
 * struct mic_x100_db_irq - a doorbell interrupt handed to a client
 * @hw: the card
 * @irq: the interrupt source taken with mic_hw_ops.request_irq
 * @handler: the client's handler
 * @data: the client's cookie for @handler
 */
struct mic_x100_db_irq {
	struct mic_hw_dev *hw;
	struct mic_hw_irq *irq;
	irq_handler_t handler;
	void *data;
};

/* Clients expect the bus driver to acknowledge the doorbell (facts §2.4). */
static irqreturn_t mic_x100_db_intr(int irq, void *arg)
{
	struct mic_x100_db_irq *dbi = arg;

	dbi->hw->ops->ack_interrupt(dbi->hw);
	return dbi->handler(irq, dbi->data);
}

/* Doorbell @db's interrupt for a client; the cookie frees it. */
void *mic_x100_request_db_irq(struct mic_hw_dev *hw, int db,
			      irq_handler_t handler, const char *name,
			      void *data)
{
	struct mic_x100_db_irq *dbi;
	struct mic_hw_irq *irq;

	dbi = kzalloc(sizeof(*dbi), GFP_KERNEL);
	if (!dbi)
		return ERR_PTR(-ENOMEM);
	dbi->hw = hw;
	dbi->handler = handler;
	dbi->data = data;
	irq = hw->ops->request_irq(hw, MIC_INTR_DB, db, mic_x100_db_intr,
				   NULL, name, dbi);
	if (IS_ERR(irq)) {
		kfree(dbi);
		return ERR_CAST(irq);
	}
	dbi->irq = irq;
	return dbi;
}

void mic_x100_free_db_irq(void *cookie)
{
	struct mic_x100_db_irq *dbi = cookie;

	if (IS_ERR_OR_NULL(dbi))
		return;
	dbi->hw->ops->free_irq(dbi->hw, dbi->irq);
	kfree(dbi);
}

/*
 * Host memory for the card: DMA-map it, then express the bus address in
 * the SMPT window (facts §3.3). The card reads and writes these buffers
 * while they are mapped; that is fine on x86, which is DMA coherent, and
 * with the 64-bit mask nothing is bounced.
 */
int mic_x100_map_local(struct mic_x100_dev *mdev, void *va, size_t len,
		       dma_addr_t *card_addr)
{
	struct device *dev = &mdev->pdev->dev;
	dma_addr_t bus, card;

	bus = dma_map_single(dev, va, len, DMA_BIDIRECTIONAL);
	if (dma_mapping_error(dev, bus))
		return -ENOMEM;
	card = mdev->hw.ops->map(&mdev->hw, bus, len);
	if (card == DMA_MAPPING_ERROR) {
		dma_unmap_single(dev, bus, len, DMA_BIDIRECTIONAL);
		return -EIO;
	}
	*card_addr = card;
	return 0;
}

void mic_x100_unmap_local(struct mic_x100_dev *mdev, dma_addr_t card_addr,
			  size_t len)
{
	mdev->hw.ops->unmap(&mdev->hw, card_addr, len);
	dma_unmap_single(&mdev->pdev->dev, mic_x100_card_to_bus(card_addr),
			 len, DMA_BIDIRECTIONAL);
}
