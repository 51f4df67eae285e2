// SPDX-License-Identifier: GPL-2.0
/*
 * micemu test module (mic_cosm_badclient.ko): a hostile COSM client.
 *
 * Connects to the host's COSM server like mic_cosm_client, then sends a
 * burst of messages the server must log and ignore: unknown ids, host-to-
 * card ids sent the wrong way, out-of-range shutdown statuses, a record
 * sent in two halves, and a blob longer than a record. By default it
 * pads the stream back to a 24-byte boundary, then sends heartbeats every
 * heartbeat_ms until it is unloaded, so a server that survived keeps the
 * card online. Writing anything to the "trigger" parameter sends the
 * burst again. Every step is logged with the "sent" prefix.
 *
 * Load it instead of mic_cosm_client (the server expects one connection
 * per card).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/sched/signal.h>
#include <linux/string.h>

#include "scif.h"
#include "cosm_msg.h"

#define BAD_SLICE_MS		100
#define BAD_MAX_EXTRA		16

static bool unknown_ids = true;
module_param(unknown_ids, bool, 0644);
MODULE_PARM_DESC(unknown_ids, "send ids 4, 99, 0xFFFFFFFF, 2^64-1");

static bool wrong_direction = true;
module_param(wrong_direction, bool, 0644);
MODULE_PARM_DESC(wrong_direction,
		 "send SHUTDOWN and SYNC_TIME (host-to-card ids) to the host");

static bool bad_status = true;
module_param(bad_status, bool, 0644);
MODULE_PARM_DESC(bad_status, "send SHUTDOWN_STATUS 0, 5, 1000, 2^64-1");

static bool garbage = true;
module_param(garbage, bool, 0644);
MODULE_PARM_DESC(garbage,
		 "send a record in two halves 200 ms apart and a 64-byte blob");

static bool realign = true;
module_param(realign, bool, 0644);
MODULE_PARM_DESC(realign,
		 "pad the stream back to a 24-byte boundary after the garbage");

static unsigned int flood;
module_param(flood, uint, 0644);
MODULE_PARM_DESC(flood, "heartbeats sent back to back after the burst");

static unsigned int heartbeat_ms = 1000;
module_param(heartbeat_ms, uint, 0644);
MODULE_PARM_DESC(heartbeat_ms,
		 "heartbeat period after the burst, ms; 0 sends none");

static unsigned long long extra_ids[BAD_MAX_EXTRA];
static unsigned int nr_extra_ids;
module_param_array(extra_ids, ullong, &nr_extra_ids, 0444);
MODULE_PARM_DESC(extra_ids, "more message ids to send (payload zero)");

static unsigned long long extra_status[BAD_MAX_EXTRA];
static unsigned int nr_extra_status;
module_param_array(extra_status, ullong, &nr_extra_status, 0444);
MODULE_PARM_DESC(extra_status, "more SHUTDOWN_STATUS values to send");

static atomic_t bad_triggers = ATOMIC_INIT(0);

static int bad_trigger_set(const char *val, const struct kernel_param *kp)
{
	atomic_inc(&bad_triggers);
	return 0;
}

static const struct kernel_param_ops bad_trigger_ops = {
	.set = bad_trigger_set,
};
module_param_cb(trigger, &bad_trigger_ops, NULL, 0200);
MODULE_PARM_DESC(trigger, "write anything to send the burst again");

static DEFINE_MUTEX(bad_lock);
static struct task_struct *bad_thread;

static bool bad_stopping(void)
{
	return kthread_should_stop() || signal_pending(current);
}

static int bad_send_raw(scif_epd_t epd, const void *buf, int len,
			const char *what)
{
	int rc = scif_send(epd, (void *)buf, len, SCIF_SEND_BLOCK);

	if (rc == len)
		pr_info("sent %s (%d bytes)\n", what, len);
	else
		pr_err("sending %s: scif_send: %d\n", what, rc);
	return rc < 0 ? rc : 0;
}

static int bad_send_msg(scif_epd_t epd, u64 id, u64 arg, const char *what)
{
	struct cosm_msg msg = {
		.id = cpu_to_le64(id),
		.shutdown_status = cpu_to_le64(arg),
	};
	char desc[64];

	snprintf(desc, sizeof(desc), "%s id %llu arg %llu", what, id, arg);
	return bad_send_raw(epd, &msg, sizeof(msg), desc);
}

static int bad_send_ids(scif_epd_t epd)
{
	static const u64 ids[] = { 4, 99, 0xFFFFFFFFULL, U64_MAX };
	int i, err = 0;

	for (i = 0; unknown_ids && !err && i < ARRAY_SIZE(ids); i++)
		err = bad_send_msg(epd, ids[i], 0, "unknown");
	if (wrong_direction && !err)
		err = bad_send_msg(epd, COSM_MSG_SHUTDOWN, 0, "wrong-way");
	if (wrong_direction && !err)
		err = bad_send_msg(epd, COSM_MSG_SYNC_TIME, 12345, "wrong-way");
	for (i = 0; !err && i < nr_extra_ids; i++)
		err = bad_send_msg(epd, extra_ids[i], 0, "extra");
	return err;
}

static int bad_send_statuses(scif_epd_t epd)
{
	static const u64 statuses[] = { 0, 5, 1000, U64_MAX };
	int i, err = 0;

	for (i = 0; bad_status && !err && i < ARRAY_SIZE(statuses); i++)
		err = bad_send_msg(epd, COSM_MSG_SHUTDOWN_STATUS, statuses[i],
				   "bad status");
	for (i = 0; !err && i < nr_extra_status; i++)
		err = bad_send_msg(epd, COSM_MSG_SHUTDOWN_STATUS,
				   extra_status[i], "extra status");
	return err;
}

/* No byte pattern below starts a valid id (0-3) on any alignment. */
static int bad_send_garbage(scif_epd_t epd)
{
	u8 buf[64];
	int err;

	memset(buf, 0xA5, sizeof(buf));
	err = bad_send_raw(epd, buf, 10, "truncated record, first part");
	if (err)
		return err;
	msleep_interruptible(200);
	if (realign) {
		memset(buf, 0x5A, sizeof(buf));
		err = bad_send_raw(epd, buf, sizeof(struct cosm_msg) - 10,
				   "truncated record, rest");
		if (err)
			return err;
	}
	memset(buf, 0xC3, sizeof(buf));
	err = bad_send_raw(epd, buf, sizeof(buf), "oversized blob");
	if (err || !realign)
		return err;
	/* 64 + 8 = 3 records. */
	return bad_send_raw(epd, buf, 3 * sizeof(struct cosm_msg) - 64,
			    "padding");
}

static int bad_burst(scif_epd_t epd)
{
	unsigned int i;
	int err;

	err = bad_send_ids(epd);
	if (!err)
		err = bad_send_statuses(epd);
	if (!err && garbage)
		err = bad_send_garbage(epd);
	for (i = 0; !err && i < flood; i++)
		err = bad_send_msg(epd, COSM_MSG_HEARTBEAT, 0, "flood");
	pr_info("sent burst done: %d\n", err);
	return err;
}

/* Read and log whatever the host sends; we act on none of it. */
static void bad_drain(scif_epd_t epd)
{
	struct cosm_msg msg;
	int rc;

	while ((rc = scif_recv(epd, &msg, sizeof(msg), 0)) > 0)
		pr_info("received %d bytes, id %llu\n", rc,
			le64_to_cpu(msg.id));
}

static scif_epd_t bad_connect(void)
{
	struct scif_port_id host = { .node = 0,
				     .port = SCIF_COSM_LISTEN_PORT };
	scif_epd_t epd;
	int i, err = -EINTR;

	for (i = 0; i < COSM_SCIF_MAX_RETRIES && !bad_stopping(); i++) {
		if (i)
			msleep_interruptible(1000);
		epd = scif_open();
		if (!epd)
			return NULL;
		err = scif_connect(epd, &host);
		if (!err) {
			pr_info("connected to node 0 port %d\n",
				SCIF_COSM_LISTEN_PORT);
			return epd;
		}
		scif_close(epd);
	}
	pr_err("cannot connect: %d\n", err);
	return NULL;
}

static void bad_serve(scif_epd_t epd)
{
	struct scif_pollepd pe = { .epd = epd, .events = POLLIN };
	unsigned long next_hb = jiffies;
	unsigned int period;

	while (!bad_stopping()) {
		if (atomic_xchg(&bad_triggers, 0) && bad_burst(epd))
			return;
		period = READ_ONCE(heartbeat_ms);
		if (period && time_after_eq(jiffies, next_hb)) {
			if (bad_send_msg(epd, COSM_MSG_HEARTBEAT, 0, "heartbeat"))
				return;
			next_hb = jiffies + msecs_to_jiffies(period);
		}
		pe.revents = 0;
		if (scif_poll(&pe, 1, BAD_SLICE_MS) <= 0)
			continue;
		if (pe.revents & POLLIN)
			bad_drain(epd);
		if (pe.revents & (POLLHUP | POLLERR)) {
			pr_info("connection to the host closed\n");
			return;
		}
	}
}

static int bad_thread_fn(void *unused)
{
	scif_epd_t epd;

	allow_signal(SIGKILL);
	epd = bad_connect();
	if (epd) {
		if (!bad_burst(epd))
			bad_serve(epd);
		scif_close(epd);
	}
	for (;;) {
		flush_signals(current);
		set_current_state(TASK_INTERRUPTIBLE);
		if (kthread_should_stop())
			break;
		schedule();
	}
	__set_current_state(TASK_RUNNING);
	return 0;
}

static void bad_probe(struct scif_peer_dev *spdev)
{
	struct task_struct *t;

	if (spdev->dnode != 0)
		return;
	mutex_lock(&bad_lock);
	if (!bad_thread) {
		t = kthread_run(bad_thread_fn, NULL, "cosm_badclient");
		if (!IS_ERR(t))
			bad_thread = t;
	}
	mutex_unlock(&bad_lock);
}

static void bad_remove(struct scif_peer_dev *spdev)
{
	struct task_struct *t;

	if (spdev->dnode != 0)
		return;
	mutex_lock(&bad_lock);
	t = bad_thread;
	bad_thread = NULL;
	mutex_unlock(&bad_lock);
	if (t) {
		send_sig(SIGKILL, t, 1);
		kthread_stop(t);
	}
}

static struct scif_client bad_scif_client = {
	.name = KBUILD_MODNAME,
	.probe = bad_probe,
	.remove = bad_remove,
};

static int __init bad_init(void)
{
	return scif_client_register(&bad_scif_client);
}

static void __exit bad_exit(void)
{
	scif_client_unregister(&bad_scif_client);
}

module_init(bad_init);
module_exit(bad_exit);

MODULE_DESCRIPTION("micemu test: COSM client that sends invalid messages");
MODULE_LICENSE("GPL");
