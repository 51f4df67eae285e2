// SPDX-License-Identifier: GPL-2.0
/*
 * micemu: the COSM SCIF server (facts §4.3 step 5, §4.5, §6.1-6.5).
 *
 * A listening endpoint on SCIF port 201 and one kernel thread accepting
 * connections. A card's COSM client connects from node N + 1 for card N;
 * its connection is handed to a per-card work item that owns it from then
 * on: it moves the card online, sends the host time, then polls the
 * endpoint until the card goes away.
 *
 * While it polls it handles heartbeats (which only prove liveness),
 * shutdown status reports (kept until the card disconnects, then
 * published) and the heartbeat watchdog: no message for
 * heartbeat_send_sec + heartbeat_slack_sec seconds with the watchdog armed
 * means the card crashed. The poll runs in slices of at most a second so
 * that the work also notices a reset, a newer connection from the same
 * card, or its own removal.
 *
 * Everything a card sends may be garbage: unknown ids, bad status values
 * and partial records are logged (rate-limited) and ignored, and one
 * wake-up handles a bounded number of messages.
 */
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>

#include "cosm_main.h"
#include "cosm_msg.h"
#include "scif.h"

#define COSM_SCIF_BACKLOG		16
#define COSM_SCIF_SLICE_MS		1000
#define COSM_SCIF_SEND_TIMEOUT_MS	5000
#define COSM_SCIF_RX_BUDGET		64

static unsigned int heartbeat_send_sec = COSM_HEARTBEAT_SEND_SEC;
module_param(heartbeat_send_sec, uint, 0644);
MODULE_PARM_DESC(heartbeat_send_sec,
		 "Heartbeat period of the cards' COSM clients, in s (default 30)");

static unsigned int heartbeat_slack_sec = 10;
module_param(heartbeat_slack_sec, uint, 0644);
MODULE_PARM_DESC(heartbeat_slack_sec,
		 "Extra time before a silent card counts as crashed, in s (default 10)");

/**
 * struct cosm_scif_card - server state of one card
 * @cdev: the card
 * @work: serves the card's connections, one after the other
 * @newepd: a connection accepted for the card and not yet served; under
 *	cosm_scif.lock
 * @closing: the card is being removed; under cosm_scif.lock
 * @epd: the connection being served, or NULL; under &cosm_device.lock
 * @last_rx: jiffies of the last data from the card (or of the last
 *	watchdog check)
 * @rx_msg: a record being received
 * @rx_len: bytes of @rx_msg received so far
 */
struct cosm_scif_card {
	struct cosm_device *cdev;
	struct work_struct work;
	scif_epd_t newepd;
	bool closing;
	scif_epd_t epd;
	unsigned long last_rx;
	struct cosm_msg rx_msg;
	unsigned int rx_len;
};

static struct {
	scif_epd_t listen_epd;
	struct task_struct *thread;
	bool exiting;
	struct workqueue_struct *wq;
	spinlock_t lock; /* @cards, card->newepd, card->closing */
	struct cosm_scif_card *cards[COSM_MAX_CARDS];
} cosm_scif;

static unsigned long cosm_heartbeat_timeout(void)
{
	unsigned int sec = READ_ONCE(heartbeat_send_sec) +
			   READ_ONCE(heartbeat_slack_sec);

	return max(sec, 1U) * HZ;
}

/*
 * Send one whole record without blocking for ever: a card that stops
 * reading must not hold the card lock hostage.
 */
static int cosm_scif_send(scif_epd_t epd, struct cosm_msg *msg)
{
	unsigned long deadline = jiffies +
				 msecs_to_jiffies(COSM_SCIF_SEND_TIMEOUT_MS);
	struct scif_pollepd pfd = { .epd = epd, .events = POLLOUT };
	int sent = 0, rc;

	for (;;) {
		rc = scif_send(epd, (u8 *)msg + sent, sizeof(*msg) - sent, 0);
		if (rc < 0)
			return rc;
		sent += rc;
		if (sent == sizeof(*msg))
			return 0;
		if (time_after(jiffies, deadline))
			return -ETIMEDOUT;
		scif_poll(&pfd, 1, 100);
	}
}

static void cosm_scif_send_time(struct cosm_scif_card *card)
{
	struct cosm_msg msg = { .id = cpu_to_le64(COSM_MSG_SYNC_TIME) };
	struct timespec64 ts;
	int rc;

	ktime_get_real_ts64(&ts);
	msg.timespec.tv_sec = cpu_to_le64(ts.tv_sec);
	msg.timespec.tv_nsec = cpu_to_le64(ts.tv_nsec);
	rc = cosm_scif_send(card->epd, &msg);
	if (rc)
		dev_err(card->cdev->sdev, "cannot send the time: %d\n", rc);
}

/* facts §6.2: what a card may send. */
static void cosm_scif_handle(struct cosm_scif_card *card,
			     struct cosm_msg *msg)
{
	struct cosm_device *cdev = card->cdev;
	u64 id = le64_to_cpu(msg->id);
	u64 status;

	switch (id) {
	case COSM_MSG_HEARTBEAT:
		/* Receiving it already restarted the watchdog. */
		break;
	case COSM_MSG_SHUTDOWN_STATUS:
		status = le64_to_cpu(msg->shutdown_status);
		if (status < COSM_STATUS_CRASHED || status > COSM_STATUS_RESTART) {
			dev_err_ratelimited(cdev->sdev,
					    "ignoring shutdown status %llu\n",
					    status);
			break;
		}
		dev_info(cdev->sdev, "card reports shutdown status %s\n",
			 cosm_status_name(status));
		cosm_card_status(cdev, status);
		break;
	default:
		dev_err_ratelimited(cdev->sdev,
				    "ignoring COSM message id %llu\n", id);
		break;
	}
}

/* Read what is queued, a bounded number of records per call. */
static void cosm_scif_recv(struct cosm_scif_card *card)
{
	unsigned int budget = COSM_SCIF_RX_BUDGET;
	u8 *buf = (u8 *)&card->rx_msg;
	int rc;

	while (budget) {
		rc = scif_recv(card->epd, buf + card->rx_len,
			       sizeof(card->rx_msg) - card->rx_len, 0);
		if (rc <= 0)
			break;
		card->last_rx = jiffies;
		card->rx_len += rc;
		if (card->rx_len < sizeof(card->rx_msg))
			continue;
		card->rx_len = 0;
		cosm_scif_handle(card, &card->rx_msg);
		budget--;
	}
}

/* A newer connection is waiting, or the card is going away. */
static bool cosm_scif_should_leave(struct cosm_scif_card *card)
{
	bool leave;

	spin_lock(&cosm_scif.lock);
	leave = card->closing || card->newepd;
	spin_unlock(&cosm_scif.lock);
	return leave;
}

/* After a reset SCIF has hung up on us; this catches any other way. */
static bool cosm_scif_card_stopped(struct cosm_device *cdev)
{
	return cdev->state == COSM_READY || cdev->state == COSM_RESET_FAILED;
}

/*
 * One poll slice and what follows from it; called without the card lock.
 * Returns true when the connection is finished.
 */
static bool cosm_scif_poll_once(struct cosm_scif_card *card, scif_epd_t epd)
{
	struct scif_pollepd pfd = { .epd = epd, .events = POLLIN };
	struct cosm_device *cdev = card->cdev;
	unsigned long timeout = cosm_heartbeat_timeout();
	unsigned long left = 0, now = jiffies;
	bool done = false;
	int rc;

	if (time_before(now, card->last_rx + timeout))
		left = card->last_rx + timeout - now;
	left = min(left, msecs_to_jiffies(COSM_SCIF_SLICE_MS));
	rc = scif_poll(&pfd, 1, jiffies_to_msecs(left));

	mutex_lock(&cdev->lock);
	if (rc < 0 && rc != -EINTR)
		dev_err_ratelimited(cdev->sdev, "scif_poll failed: %d\n", rc);
	if (rc > 0 && (pfd.revents & POLLIN))
		cosm_scif_recv(card);
	/* The card closed its end, or its node went away (facts §4.5). */
	if (rc > 0 && (pfd.revents & (POLLHUP | POLLERR)))
		done = true;
	if (cosm_scif_should_leave(card) || cosm_scif_card_stopped(cdev))
		done = true;
	if (!done && !time_before(jiffies, card->last_rx + timeout)) {
		/* facts §6.3: silence with the watchdog armed is a crash. */
		if (cdev->watchdog_armed)
			cosm_card_crashed(cdev);
		card->last_rx = jiffies;
	}
	if (done) {
		/* facts §6.5: a reported status is published on disconnect. */
		cosm_card_publish_status(cdev);
		card->epd = NULL;
	}
	mutex_unlock(&cdev->lock);
	return done;
}

/* facts §4.3 step 5: a booting or online card goes (stays) online. */
static void cosm_scif_serve(struct cosm_scif_card *card, scif_epd_t epd)
{
	struct cosm_device *cdev = card->cdev;

	mutex_lock(&cdev->lock);
	if (cosm_card_online(cdev)) {
		mutex_unlock(&cdev->lock);
		scif_close(epd);
		return;
	}
	dev_info(cdev->sdev, "COSM client connected, card online\n");
	card->epd = epd;
	card->rx_len = 0;
	card->last_rx = jiffies;
	cosm_scif_send_time(card);
	mutex_unlock(&cdev->lock);

	while (!cosm_scif_poll_once(card, epd))
		;
	dev_dbg(cdev->sdev, "COSM connection closed\n");
	scif_close(epd);
}

static scif_epd_t cosm_scif_take_new(struct cosm_scif_card *card)
{
	scif_epd_t epd;

	spin_lock(&cosm_scif.lock);
	epd = card->closing ? NULL : card->newepd;
	if (epd)
		card->newepd = NULL;
	spin_unlock(&cosm_scif.lock);
	return epd;
}

static void cosm_scif_work(struct work_struct *work)
{
	struct cosm_scif_card *card = container_of(work, struct cosm_scif_card,
						   work);
	scif_epd_t epd;

	while ((epd = cosm_scif_take_new(card)))
		cosm_scif_serve(card, epd);
}

/* Hand a new connection to its card: card index = peer node - 1. */
static void cosm_scif_dispatch(struct scif_port_id *peer, scif_epd_t epd)
{
	struct cosm_scif_card *card = NULL;
	scif_epd_t stale = NULL;
	int index = peer->node - 1;

	spin_lock(&cosm_scif.lock);
	if (index >= 0 && index < COSM_MAX_CARDS)
		card = cosm_scif.cards[index];
	if (card) {
		stale = card->newepd;
		card->newepd = epd;
		queue_work(cosm_scif.wq, &card->work);
	}
	spin_unlock(&cosm_scif.lock);

	if (!card) {
		pr_warn_ratelimited("mic_cosm: connection from node %u port %u: no such card\n",
				    peer->node, peer->port);
		scif_close(epd);
	}
	if (stale)
		scif_close(stale);
}

/* The accepting thread; cosm_scif_exit() stops it with SIGKILL. */
static int cosm_scif_server(void *unused)
{
	struct scif_port_id peer;
	scif_epd_t epd;
	int rc;

	allow_signal(SIGKILL);
	while (!READ_ONCE(cosm_scif.exiting)) {
		rc = scif_accept(cosm_scif.listen_epd, &peer, &epd,
				 SCIF_ACCEPT_SYNC);
		if (rc == -ERESTARTSYS || rc == -EINTR) {
			/* Stray signals are dropped; "exiting" is set first. */
			flush_signals(current);
			continue;
		}
		if (rc) {
			pr_err_ratelimited("mic_cosm: scif_accept failed: %d\n",
					   rc);
			schedule_timeout_interruptible(HZ / 10);
			continue;
		}
		cosm_scif_dispatch(&peer, epd);
	}
	return 0;
}

static int cosm_scif_add(struct cosm_device *cdev)
{
	struct cosm_scif_card *card;
	int rc = 0;

	card = kzalloc(sizeof(*card), GFP_KERNEL);
	if (!card)
		return -ENOMEM;
	card->cdev = cdev;
	INIT_WORK(&card->work, cosm_scif_work);

	spin_lock(&cosm_scif.lock);
	if (cosm_scif.cards[cdev->index])
		rc = -EBUSY;
	else
		cosm_scif.cards[cdev->index] = card;
	spin_unlock(&cosm_scif.lock);
	if (rc) {
		kfree(card);
		return rc;
	}
	cdev->server_priv = card;
	return 0;
}

static void cosm_scif_remove(struct cosm_device *cdev)
{
	struct cosm_scif_card *card = cdev->server_priv;
	scif_epd_t epd;

	if (!card)
		return;
	spin_lock(&cosm_scif.lock);
	cosm_scif.cards[cdev->index] = NULL;
	card->closing = true;
	epd = card->newepd;
	card->newepd = NULL;
	spin_unlock(&cosm_scif.lock);
	if (epd)
		scif_close(epd);
	/* Ends within a poll slice: the loop sees @closing. */
	flush_work(&card->work);
	cdev->server_priv = NULL;
	kfree(card);
}

/* facts §4.5 "shutdown": called with the card lock held, card online. */
static int cosm_scif_shutdown(struct cosm_device *cdev)
{
	struct cosm_msg msg = { .id = cpu_to_le64(COSM_MSG_SHUTDOWN) };
	struct cosm_scif_card *card = cdev->server_priv;
	int rc;

	if (!card || !card->epd)
		return -ENOTCONN;
	rc = cosm_scif_send(card->epd, &msg);
	if (rc)
		return rc;
	dev_info(cdev->sdev, "shutdown requested\n");
	return 0;
}

static const struct cosm_server_ops cosm_scif_ops = {
	.add = cosm_scif_add,
	.remove = cosm_scif_remove,
	.shutdown = cosm_scif_shutdown,
};

static int cosm_scif_listen(void)
{
	int rc;

	cosm_scif.listen_epd = scif_open();
	if (!cosm_scif.listen_epd)
		return -ENOMEM;
	rc = scif_bind(cosm_scif.listen_epd, SCIF_COSM_LISTEN_PORT);
	if (rc < 0) {
		pr_err("mic_cosm: cannot bind SCIF port %d: %d\n",
		       SCIF_COSM_LISTEN_PORT, rc);
		goto close;
	}
	rc = scif_listen(cosm_scif.listen_epd, COSM_SCIF_BACKLOG);
	if (rc < 0) {
		pr_err("mic_cosm: scif_listen failed: %d\n", rc);
		goto close;
	}
	return 0;

close:
	scif_close(cosm_scif.listen_epd);
	cosm_scif.listen_epd = NULL;
	return rc;
}

/**
 * cosm_scif_init() - start the COSM server
 *
 * Return: 0 or a negative errno.
 */
int cosm_scif_init(void)
{
	struct task_struct *thread;
	int rc;

	spin_lock_init(&cosm_scif.lock);
	cosm_scif.exiting = false;
	cosm_scif.wq = alloc_workqueue("mic_cosm_scif", WQ_UNBOUND, 0);
	if (!cosm_scif.wq)
		return -ENOMEM;
	rc = cosm_scif_listen();
	if (rc)
		goto destroy_wq;
	rc = cosm_register_server(&cosm_scif_ops);
	if (rc)
		goto close_listen;
	thread = kthread_run(cosm_scif_server, NULL, "mic_cosm_server");
	if (IS_ERR(thread)) {
		rc = PTR_ERR(thread);
		goto unregister;
	}
	/* Keep the task around even if it returns before kthread_stop(). */
	get_task_struct(thread);
	cosm_scif.thread = thread;
	return 0;

unregister:
	cosm_unregister_server(&cosm_scif_ops);
close_listen:
	scif_close(cosm_scif.listen_epd);
	cosm_scif.listen_epd = NULL;
destroy_wq:
	destroy_workqueue(cosm_scif.wq);
	return rc;
}

/**
 * cosm_scif_exit() - stop the COSM server and drop every connection
 */
void cosm_scif_exit(void)
{
	WRITE_ONCE(cosm_scif.exiting, true);
	send_sig(SIGKILL, cosm_scif.thread, 1);
	kthread_stop(cosm_scif.thread);
	put_task_struct(cosm_scif.thread);
	cosm_unregister_server(&cosm_scif_ops);
	scif_close(cosm_scif.listen_epd);
	cosm_scif.listen_epd = NULL;
	destroy_workqueue(cosm_scif.wq);
}
