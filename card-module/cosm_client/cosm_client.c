// SPDX-License-Identifier: GPL-2.0
/*
 * micemu COSM client (mic_cosm_client.ko): the card half of coprocessor
 * state management (facts §4.3 step 4, §6.1-6.4).
 *
 * When SCIF brings up node 0 (the host), a thread connects to the host's
 * COSM server on port 201; the card is "online" from then on. The thread
 * then waits for host messages, at most heartbeat_send_sec at a time, and
 * sends a heartbeat after every wake-up. The host may ask us to power off
 * (SHUTDOWN) or set our clock (SYNC_TIME). A reboot notifier tells the
 * host how we are going down (SHUTDOWN_STATUS).
 *
 * The thread owns the endpoint. The reboot notifier borrows it under
 * cosm_client.lock, which the thread takes before closing it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/reboot.h>
#include <linux/sched/signal.h>
#include <linux/timekeeping.h>

#include "scif.h"
#include "cosm_msg.h"

static unsigned int heartbeat_send_sec = COSM_HEARTBEAT_SEND_SEC;
module_param(heartbeat_send_sec, uint, 0644);
MODULE_PARM_DESC(heartbeat_send_sec,
		 "longest wait between heartbeats, seconds (at least 1); upstream: 30");

/**
 * struct cosm_client - the one connection to the host's COSM server
 * @lock: protects @epd and @thread
 * @epd: connected endpoint while the thread serves it, else NULL
 * @thread: the client thread while node 0 is up
 * @rx: partly received message (thread only)
 * @rx_len: bytes of @rx filled in (thread only)
 */
struct cosm_client {
	struct mutex lock;	/* protects @epd, @thread */
	scif_epd_t epd;
	struct task_struct *thread;
	struct cosm_msg rx;
	unsigned int rx_len;
};

static struct cosm_client cosm_client = {
	.lock = __MUTEX_INITIALIZER(cosm_client.lock),
};

/* Asked to stop: kthread_stop() follows a SIGKILL that cuts waits short. */
static bool cosm_client_stopping(void)
{
	return kthread_should_stop() || signal_pending(current);
}

static void cosm_client_set_epd(scif_epd_t epd)
{
	mutex_lock(&cosm_client.lock);
	cosm_client.epd = epd;
	mutex_unlock(&cosm_client.lock);
}

/* facts §4.3 step 4: up to 10 tries, 1 s apart. */
static scif_epd_t cosm_client_connect(void)
{
	struct scif_port_id host = {
		.node = 0,
		.port = SCIF_COSM_LISTEN_PORT,
	};
	scif_epd_t epd;
	int i, err = -EINTR;

	for (i = 0; i < COSM_SCIF_MAX_RETRIES; i++) {
		if (i)
			msleep_interruptible(1000);
		if (cosm_client_stopping())
			return NULL;
		epd = scif_open();
		if (!epd) {
			pr_err("scif_open failed\n");
			return NULL;
		}
		err = scif_connect(epd, &host);
		if (!err) {
			pr_info("connected to the host (node 0, port %d)\n",
				SCIF_COSM_LISTEN_PORT);
			return epd;
		}
		scif_close(epd);
	}
	pr_err("cannot connect to the host (node 0, port %d) after %d tries: %d\n",
	       SCIF_COSM_LISTEN_PORT, COSM_SCIF_MAX_RETRIES, err);
	return NULL;
}

static void cosm_client_set_time(const struct cosm_msg *msg)
{
	struct timespec64 ts;
	u64 sec = le64_to_cpu(msg->timespec.tv_sec);
	u64 nsec = le64_to_cpu(msg->timespec.tv_nsec);
	int err;

	if (sec > (u64)TIME64_MAX || nsec >= NSEC_PER_SEC) {
		pr_warn_ratelimited("ignoring SYNC_TIME with invalid time %llu.%llu\n",
				    sec, nsec);
		return;
	}
	ts.tv_sec = sec;
	ts.tv_nsec = nsec;
	err = do_settimeofday64(&ts);
	if (err)
		pr_warn_ratelimited("cannot set the time to %llu.%09llu: %d\n",
				    sec, nsec, err);
}

static void cosm_client_handle(const struct cosm_msg *msg)
{
	u64 id = le64_to_cpu(msg->id);

	switch (id) {
	case COSM_MSG_SYNC_TIME:
		cosm_client_set_time(msg);
		break;
	case COSM_MSG_SHUTDOWN:
		pr_info("host requested shutdown, powering off\n");
		orderly_poweroff(true);
		break;
	default:
		pr_warn_ratelimited("ignoring message with unknown id %llu\n",
				    id);
		break;
	}
}

/* Take every complete message that arrived; keep a partial one. */
static void cosm_client_recv(scif_epd_t epd)
{
	struct cosm_client *c = &cosm_client;
	int rc;

	for (;;) {
		rc = scif_recv(epd, (u8 *)&c->rx + c->rx_len,
			       sizeof(c->rx) - c->rx_len, 0);
		if (rc <= 0) {
			if (rc < 0 && rc != -ECONNRESET)
				pr_err_ratelimited("scif_recv: %d\n", rc);
			return;
		}
		c->rx_len += rc;
		if (c->rx_len < sizeof(c->rx))
			continue;
		c->rx_len = 0;
		cosm_client_handle(&c->rx);
	}
}

static int cosm_client_heartbeat(scif_epd_t epd)
{
	struct cosm_msg msg = { .id = cpu_to_le64(COSM_MSG_HEARTBEAT) };
	int rc;

	rc = scif_send(epd, &msg, sizeof(msg), SCIF_SEND_BLOCK);
	if (rc < 0 && !cosm_client_stopping())
		pr_err_ratelimited("heartbeat: scif_send: %d\n", rc);
	return rc < 0 ? rc : 0;
}

/* facts §6.3: serve one connection until it drops or we are stopped. */
static void cosm_client_serve(scif_epd_t epd)
{
	struct scif_pollepd pollepd;
	long timeout;
	int rc;

	cosm_client.rx_len = 0;
	while (!cosm_client_stopping()) {
		timeout = max(1U, READ_ONCE(heartbeat_send_sec)) *
			  (long)MSEC_PER_SEC;
		pollepd.epd = epd;
		pollepd.events = POLLIN;
		pollepd.revents = 0;
		rc = scif_poll(&pollepd, 1, timeout);
		if (rc < 0) {
			if (rc != -EINTR) {
				pr_err_ratelimited("scif_poll: %d\n", rc);
				msleep_interruptible(100);
			}
			continue;
		}
		if (pollepd.revents & POLLIN)
			cosm_client_recv(epd);
		if (pollepd.revents & (POLLHUP | POLLERR)) {
			pr_info("connection to the host closed\n");
			return;
		}
		if (cosm_client_heartbeat(epd) == -ECONNRESET)
			return;
	}
}

/* Sleep until kthread_stop(), ignoring the SIGKILL that may precede it. */
static void cosm_client_wait_stop(void)
{
	for (;;) {
		flush_signals(current);
		set_current_state(TASK_INTERRUPTIBLE);
		if (kthread_should_stop())
			break;
		schedule();
	}
	__set_current_state(TASK_RUNNING);
}

static int cosm_client_thread(void *unused)
{
	scif_epd_t epd;

	allow_signal(SIGKILL);
	while (!cosm_client_stopping()) {
		epd = cosm_client_connect();
		if (!epd)
			break;
		cosm_client_set_epd(epd);
		cosm_client_serve(epd);
		cosm_client_set_epd(NULL);
		scif_close(epd);
	}
	cosm_client_wait_stop();
	return 0;
}

/* facts §6.4: SYS_HALT and SYS_POWER_OFF match; restart is sent as 4. */
static int cosm_client_reboot(struct notifier_block *nb, unsigned long event,
			      void *unused)
{
	struct cosm_msg msg = { .id = cpu_to_le64(COSM_MSG_SHUTDOWN_STATUS) };
	u64 status;
	int rc;

	switch (event) {
	case SYS_RESTART:
		status = COSM_STATUS_RESTART;
		break;
	case SYS_HALT:
		status = COSM_STATUS_HALTED;
		break;
	case SYS_POWER_OFF:
		status = COSM_STATUS_POWER_OFF;
		break;
	default:
		return NOTIFY_DONE;
	}
	msg.shutdown_status = cpu_to_le64(status);
	mutex_lock(&cosm_client.lock);
	if (cosm_client.epd) {
		pr_info("reboot event %lu: sending shutdown status %llu\n",
			event, status);
		rc = scif_send(cosm_client.epd, &msg, sizeof(msg),
			       SCIF_SEND_BLOCK);
		if (rc < 0)
			pr_err("shutdown status: scif_send: %d\n", rc);
	}
	mutex_unlock(&cosm_client.lock);
	return NOTIFY_DONE;
}

static struct notifier_block cosm_client_reboot_nb = {
	.notifier_call = cosm_client_reboot,
};

static void cosm_client_probe(struct scif_peer_dev *spdev)
{
	struct task_struct *t;

	if (spdev->dnode != 0)
		return;
	mutex_lock(&cosm_client.lock);
	if (!cosm_client.thread) {
		t = kthread_run(cosm_client_thread, NULL, "cosm_client");
		if (IS_ERR(t))
			dev_err(&spdev->dev, "cannot start the client thread: %ld\n",
				PTR_ERR(t));
		else
			cosm_client.thread = t;
	}
	mutex_unlock(&cosm_client.lock);
}

static void cosm_client_remove(struct scif_peer_dev *spdev)
{
	struct task_struct *t;

	if (spdev->dnode != 0)
		return;
	mutex_lock(&cosm_client.lock);
	t = cosm_client.thread;
	cosm_client.thread = NULL;
	mutex_unlock(&cosm_client.lock);
	if (!t)
		return;
	/* Cut a poll or blocking send short; the thread closes the endpoint. */
	send_sig(SIGKILL, t, 1);
	kthread_stop(t);
}

static struct scif_client cosm_scif_client = {
	.name = KBUILD_MODNAME,
	.probe = cosm_client_probe,
	.remove = cosm_client_remove,
};

static int __init cosm_client_init(void)
{
	int err;

	err = register_reboot_notifier(&cosm_client_reboot_nb);
	if (err)
		return err;
	err = scif_client_register(&cosm_scif_client);
	if (err) {
		pr_err("scif_client_register: %d\n", err);
		unregister_reboot_notifier(&cosm_client_reboot_nb);
	}
	return err;
}

static void __exit cosm_client_exit(void)
{
	scif_client_unregister(&cosm_scif_client);
	unregister_reboot_notifier(&cosm_client_reboot_nb);
}

module_init(cosm_client_init);
module_exit(cosm_client_exit);

MODULE_DESCRIPTION("micemu: COSM client (card state management over SCIF)");
MODULE_LICENSE("GPL");
