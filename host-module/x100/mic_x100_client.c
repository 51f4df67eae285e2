// SPDX-License-Identifier: GPL-2.0
/*
 * micemu: upper-layer clients (SCIF, host DMA, VOP) of the x100 cards.
 *
 * A client's ->start runs for a card while it boots, ->stop when the card
 * is stopped or reset; clients are stopped in reverse registration order,
 * like the upstream start/stop of DMA, SCIF and VOP devices.
 */
#include <linux/module.h>

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
