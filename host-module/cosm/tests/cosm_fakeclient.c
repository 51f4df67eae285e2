// SPDX-License-Identifier: GPL-2.0
/*
 * micemu: cosm_fakeclient, a fake card for testing the COSM SCIF server.
 *
 * It registers one card with mic_cosm (index "index", no hardware behind
 * it) and plays that card's COSM client over SCIF. Load scif.ko with
 * self_node = index + 1 on a host VM without x100 cards: connections over
 * the loopback node then come from node index + 1, which the server maps
 * to this card. The hardware ops only log what COSM asks for; stop closes
 * the client endpoint the way the SCIF teardown of a real card would
 * (unless hangup_on_stop=0).
 *
 * debugfs cosm_fakeclient/ctl takes one command per write:
 *   connect            connect to node index + 1, port 201
 *   close              close the client endpoint
 *   heartbeat          send one COSM_MSG_HEARTBEAT
 *   auto_hb MS         send a heartbeat every MS ms (0: stop)
 *   status N           send COSM_MSG_SHUTDOWN_STATUS with status N
 *   send ID A B        send a raw record {ID, A, B}
 *   send_split N ID A  send {ID, A, 0} as N bytes, then the rest 0.2 s later
 *   partial            send the first 10 bytes of a heartbeat
 *   garbage N          send N records of random bytes
 *   auto_shutdown 0|1  answer COSM_MSG_SHUTDOWN with status 3 and a close
 *   cardlog TEXT       put TEXT in the fake card memory as a kernel log:
 *                      length (u32) at card address 0x8000, text at 0x10000
 *   clear              empty the event log
 * debugfs cosm_fakeclient/log lists events, one per line: "connected",
 * "connect failed -E", "rx SYNC_TIME S NS", "rx SHUTDOWN", "rx id N",
 * "hup", "closed", "hw start", "hw stop", "hw reset".
 */
#define pr_fmt(fmt) "cosm_fakeclient: " fmt

#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/module.h>
#include <linux/random.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <linux/workqueue.h>

#include "cosm_msg.h"
#include "mic_cosm.h"
#include "scif.h"

#define FC_MEM_SIZE	SZ_1M
#define FC_LOG_LEN_OFF	0x8000
#define FC_LOG_BUF_OFF	0x10000
#define FC_EVENTS_SIZE	16384
#define FC_RX_MS	20

static int index;
module_param(index, int, 0444);
MODULE_PARM_DESC(index, "card index to register (default 0)");
static bool hangup_on_stop = true;
module_param(hangup_on_stop, bool, 0644);
MODULE_PARM_DESC(hangup_on_stop, "close the client endpoint when COSM stops the card");

static struct {
	struct cosm_device *cdev;
	struct mutex lock; /* everything below but @events */
	scif_epd_t epd;
	struct cosm_msg rx;
	unsigned int rx_len;
	unsigned int hb_ms;
	bool auto_shutdown;
	struct delayed_work rx_work;
	struct delayed_work hb_work;
	void *mem;
	struct mic_mw aper;
	struct dentry *dir;
	spinlock_t ev_lock; /* @events, @ev_len */
	char *events;
	size_t ev_len;
} fc;

static __printf(1, 2) void fc_event(const char *fmt, ...)
{
	unsigned long flags;
	va_list args;

	spin_lock_irqsave(&fc.ev_lock, flags);
	if (fc.ev_len < FC_EVENTS_SIZE - 1) {
		va_start(args, fmt);
		fc.ev_len += vscnprintf(fc.events + fc.ev_len,
					FC_EVENTS_SIZE - fc.ev_len, fmt, args);
		va_end(args);
	}
	spin_unlock_irqrestore(&fc.ev_lock, flags);
}

static void fc_clear_events(void)
{
	spin_lock_irq(&fc.ev_lock);
	fc.ev_len = 0;
	spin_unlock_irq(&fc.ev_lock);
}

/* fc.lock held */
static void fc_close(void)
{
	if (!fc.epd)
		return;
	scif_close(fc.epd);
	fc.epd = NULL;
	fc.rx_len = 0;
	fc_event("closed\n");
}

/* fc.lock held; a non-blocking send of @len bytes. */
static void fc_send(const void *buf, int len)
{
	int rc;

	if (!fc.epd) {
		fc_event("send: not connected\n");
		return;
	}
	rc = scif_send(fc.epd, (void *)buf, len, 0);
	if (rc != len)
		fc_event("send: %d of %d\n", rc, len);
}

static void fc_send_msg(u64 id, u64 a, u64 b)
{
	struct cosm_msg msg = {
		.id = cpu_to_le64(id),
		.timespec = { cpu_to_le64(a), cpu_to_le64(b) },
	};

	fc_send(&msg, sizeof(msg));
}

/* fc.lock held */
static void fc_handle(struct cosm_msg *msg)
{
	switch (le64_to_cpu(msg->id)) {
	case COSM_MSG_SYNC_TIME:
		fc_event("rx SYNC_TIME %llu %llu\n",
			 le64_to_cpu(msg->timespec.tv_sec),
			 le64_to_cpu(msg->timespec.tv_nsec));
		break;
	case COSM_MSG_SHUTDOWN:
		fc_event("rx SHUTDOWN\n");
		if (fc.auto_shutdown) {
			fc_send_msg(COSM_MSG_SHUTDOWN_STATUS,
				    COSM_STATUS_POWER_OFF, 0);
			fc_close();
		}
		break;
	default:
		fc_event("rx id %llu\n", le64_to_cpu(msg->id));
		break;
	}
}

static void fc_rx_work(struct work_struct *work)
{
	struct scif_pollepd pfd = { .events = POLLIN };
	int rc;

	mutex_lock(&fc.lock);
	while (fc.epd) {
		rc = scif_recv(fc.epd, (u8 *)&fc.rx + fc.rx_len,
			       sizeof(fc.rx) - fc.rx_len, 0);
		if (rc <= 0)
			break;
		fc.rx_len += rc;
		if (fc.rx_len == sizeof(fc.rx)) {
			fc.rx_len = 0;
			fc_handle(&fc.rx);
		}
	}
	if (fc.epd) {
		pfd.epd = fc.epd;
		if (scif_poll(&pfd, 1, 0) > 0 && (pfd.revents & POLLHUP)) {
			fc_event("hup\n");
			fc_close();
		}
	}
	if (fc.epd)
		schedule_delayed_work(&fc.rx_work, msecs_to_jiffies(FC_RX_MS));
	mutex_unlock(&fc.lock);
}

static void fc_hb_work(struct work_struct *work)
{
	mutex_lock(&fc.lock);
	if (fc.epd && fc.hb_ms) {
		fc_send_msg(COSM_MSG_HEARTBEAT, 0, 0);
		schedule_delayed_work(&fc.hb_work, msecs_to_jiffies(fc.hb_ms));
	}
	mutex_unlock(&fc.lock);
}

/* fc.lock held */
static void fc_connect(void)
{
	struct scif_port_id dst = { .node = index + 1, .port = SCIF_COSM_LISTEN_PORT };
	int rc;

	if (fc.epd) {
		fc_event("connect: already connected\n");
		return;
	}
	fc.epd = scif_open();
	if (!fc.epd) {
		fc_event("connect failed %d\n", -ENOMEM);
		return;
	}
	rc = scif_connect(fc.epd, &dst);
	if (rc) {
		scif_close(fc.epd);
		fc.epd = NULL;
		fc_event("connect failed %d\n", rc);
		return;
	}
	fc.rx_len = 0;
	fc_event("connected\n");
	schedule_delayed_work(&fc.rx_work, 0);
	if (fc.hb_ms)
		schedule_delayed_work(&fc.hb_work, 0);
}

/* fc.lock held */
static void fc_send_split(unsigned int first, u64 id, u64 a)
{
	struct cosm_msg msg = {
		.id = cpu_to_le64(id),
		.shutdown_status = cpu_to_le64(a),
	};

	first = min_t(unsigned int, first, sizeof(msg));
	fc_send(&msg, first);
	msleep(200);
	fc_send((u8 *)&msg + first, sizeof(msg) - first);
}

static void fc_garbage(unsigned int n)
{
	struct cosm_msg msg;

	while (n--) {
		get_random_bytes(&msg, sizeof(msg));
		fc_send(&msg, sizeof(msg));
	}
}

static void fc_cardlog(const char *text)
{
	size_t len = min_t(size_t, strlen(text), FC_MEM_SIZE - FC_LOG_BUF_OFF);

	memcpy(fc.mem + FC_LOG_BUF_OFF, text, len);
	*(u32 *)(fc.mem + FC_LOG_LEN_OFF) = len;
}

static int fc_command(char *cmd)
{
	unsigned long long a = 0, b = 0, c = 0;
	char *arg = strchr(cmd, ' ');

	if (arg)
		*arg++ = '\0';
	if (!strcmp(cmd, "connect"))
		fc_connect();
	else if (!strcmp(cmd, "close"))
		fc_close();
	else if (!strcmp(cmd, "heartbeat"))
		fc_send_msg(COSM_MSG_HEARTBEAT, 0, 0);
	else if (!strcmp(cmd, "partial"))
		fc_send("\x02\0\0\0\0\0\0\0\0\0", 10);
	else if (!strcmp(cmd, "cardlog") && arg)
		fc_cardlog(arg);
	else if (!strcmp(cmd, "clear"))
		fc_clear_events();
	else if (!arg || sscanf(arg, "%llu %llu %llu", &a, &b, &c) < 1)
		return -EINVAL;
	else if (!strcmp(cmd, "status"))
		fc_send_msg(COSM_MSG_SHUTDOWN_STATUS, a, 0);
	else if (!strcmp(cmd, "send"))
		fc_send_msg(a, b, c);
	else if (!strcmp(cmd, "send_split"))
		fc_send_split(a, b, c);
	else if (!strcmp(cmd, "garbage"))
		fc_garbage(a);
	else if (!strcmp(cmd, "auto_shutdown"))
		fc.auto_shutdown = a;
	else if (!strcmp(cmd, "auto_hb"))
		fc.hb_ms = a;
	else
		return -EINVAL;
	if (!strcmp(cmd, "auto_hb") && fc.hb_ms && fc.epd)
		mod_delayed_work(system_wq, &fc.hb_work, 0);
	return 0;
}

static ssize_t fc_ctl_write(struct file *file, const char __user *ubuf,
			    size_t count, loff_t *ppos)
{
	char *cmd;
	int rc;

	if (count > 256)
		return -EINVAL;
	cmd = memdup_user_nul(ubuf, count);
	if (IS_ERR(cmd))
		return PTR_ERR(cmd);
	strim(cmd);
	mutex_lock(&fc.lock);
	rc = fc_command(cmd);
	mutex_unlock(&fc.lock);
	kfree(cmd);
	return rc ? rc : count;
}

static const struct file_operations fc_ctl_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = fc_ctl_write,
	.llseek = noop_llseek,
};

static int fc_log_show(struct seq_file *s, void *unused)
{
	spin_lock_irq(&fc.ev_lock);
	seq_write(s, fc.events, fc.ev_len);
	spin_unlock_irq(&fc.ev_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(fc_log);

static void fc_hw_reset(struct cosm_device *cdev)
{
	fc_event("hw reset\n");
}

static bool fc_hw_ready(struct cosm_device *cdev)
{
	return true;
}

static int fc_hw_start(struct cosm_device *cdev, int idx)
{
	fc_event("hw start\n");
	return 0;
}

/* Like SCIF on a real card: the link goes, and the client with it. */
static void fc_hw_stop(struct cosm_device *cdev, bool force)
{
	fc_event("hw stop\n");
	if (!hangup_on_stop)
		return;
	mutex_lock(&fc.lock);
	fc_close();
	mutex_unlock(&fc.lock);
}

static ssize_t fc_hw_family(struct cosm_device *cdev, char *buf)
{
	return sysfs_emit(buf, "x100\n");
}

static ssize_t fc_hw_stepping(struct cosm_device *cdev, char *buf)
{
	return sysfs_emit(buf, "C0\n");
}

static struct mic_mw *fc_hw_aper(struct cosm_device *cdev)
{
	return &fc.aper;
}

static const struct cosm_hw_ops fc_hw_ops = {
	.reset = fc_hw_reset,
	.ready = fc_hw_ready,
	.start = fc_hw_start,
	.stop = fc_hw_stop,
	.family = fc_hw_family,
	.stepping = fc_hw_stepping,
	.aper = fc_hw_aper,
};

static int __init fc_init(void)
{
	int rc = -ENOMEM;

	mutex_init(&fc.lock);
	spin_lock_init(&fc.ev_lock);
	INIT_DELAYED_WORK(&fc.rx_work, fc_rx_work);
	INIT_DELAYED_WORK(&fc.hb_work, fc_hb_work);
	fc.events = kzalloc(FC_EVENTS_SIZE, GFP_KERNEL);
	if (!fc.events)
		return -ENOMEM;
	fc.mem = vzalloc(FC_MEM_SIZE);
	if (!fc.mem)
		goto free_events;
	/* Kernel memory standing in for the aperture: x86 io accessors cope. */
	fc.aper.va = (void __force __iomem *)fc.mem;
	fc.aper.len = FC_MEM_SIZE;

	fc.cdev = cosm_register_device(NULL, index, &fc_hw_ops, NULL);
	if (IS_ERR(fc.cdev)) {
		rc = PTR_ERR(fc.cdev);
		goto free_mem;
	}
	fc.dir = debugfs_create_dir("cosm_fakeclient", NULL);
	debugfs_create_file("ctl", 0200, fc.dir, NULL, &fc_ctl_fops);
	debugfs_create_file("log", 0444, fc.dir, NULL, &fc_log_fops);
	return 0;

free_mem:
	vfree(fc.mem);
free_events:
	kfree(fc.events);
	return rc;
}

static void __exit fc_exit(void)
{
	debugfs_remove_recursive(fc.dir);
	cosm_unregister_device(fc.cdev);
	mutex_lock(&fc.lock);
	fc.hb_ms = 0;
	fc_close();
	mutex_unlock(&fc.lock);
	cancel_delayed_work_sync(&fc.rx_work);
	cancel_delayed_work_sync(&fc.hb_work);
	vfree(fc.mem);
	kfree(fc.events);
}

module_init(fc_init);
module_exit(fc_exit);

MODULE_DESCRIPTION("micemu: fake card for testing the COSM SCIF server");
MODULE_LICENSE("GPL");
