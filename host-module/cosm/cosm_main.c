// SPDX-License-Identifier: GPL-2.0
/*
 * micemu: coprocessor state management (COSM) core.
 *
 * Owns the class "mic", one class device micN per card, and the card state
 * machine of facts §4.2, §4.5 and §6.5. Hardware is reached only through
 * the cosm_hw_ops table of the registering driver.
 */
#include <linux/cred.h>
#include <linux/delay.h>
#include <linux/idr.h>
#include <linux/kdev_t.h>
#include <linux/module.h>
#include <linux/rwsem.h>
#include <linux/slab.h>
#include <linux/sysfs.h>

#include "cosm_main.h"
#include "mic_compat.h"

static unsigned int reset_poll_count = 45;
module_param(reset_poll_count, uint, 0644);
MODULE_PARM_DESC(reset_poll_count,
		 "Ready polls after a card reset before reset_failed (default 45)");

static unsigned int reset_poll_ms = 1000;
module_param(reset_poll_ms, uint, 0644);
MODULE_PARM_DESC(reset_poll_ms,
		 "Interval between ready polls after a reset, in ms (default 1000)");

static struct class *cosm_class;
static DEFINE_IDA(cosm_ida);

/* Registered cards; also serialises server registration. */
static LIST_HEAD(cosm_devices);
static DEFINE_MUTEX(cosm_list_lock);

/* The COSM server, if any; hooks run with this held for reading. */
static const struct cosm_server_ops *cosm_server;
static DECLARE_RWSEM(cosm_server_sem);

static const char * const cosm_state_names[COSM_STATE_LAST] = {
	[COSM_READY] = "ready",
	[COSM_BOOTING] = "booting",
	[COSM_ONLINE] = "online",
	[COSM_SHUTTING_DOWN] = "shutting_down",
	[COSM_RESETTING] = "resetting",
	[COSM_RESET_FAILED] = "reset_failed",
};

static const char * const cosm_status_names[COSM_STATUS_LAST] = {
	[COSM_STATUS_NOP] = "nop",
	[COSM_STATUS_CRASHED] = "crashed",
	[COSM_STATUS_HALTED] = "halted",
	[COSM_STATUS_POWER_OFF] = "poweroff",
	[COSM_STATUS_RESTART] = "restart",
};

/**
 * cosm_state_name() - sysfs name of a card state
 * @state: an &enum cosm_state value
 *
 * Return: the state string, or "unknown" for an out-of-range value.
 */
const char *cosm_state_name(u8 state)
{
	return state < COSM_STATE_LAST ? cosm_state_names[state] : "unknown";
}
EXPORT_SYMBOL_GPL(cosm_state_name);

const char *cosm_status_name(u8 status)
{
	return status < COSM_STATUS_LAST ? cosm_status_names[status] :
					   "unknown";
}

/**
 * cosm_set_state() - change the card state and wake sysfs pollers
 * @cdev: the card; its lock must be held
 * @state: new &enum cosm_state
 *
 * Every change is notified on the "state" attribute, so that poll() on it
 * returns POLLPRI | POLLERR (facts §6.5).
 */
void cosm_set_state(struct cosm_device *cdev, u8 state)
{
	lockdep_assert_held(&cdev->lock);
	dev_dbg(cdev->sdev, "state %s -> %s\n", cosm_state_name(cdev->state),
		cosm_state_name(state));
	cdev->state = state;
	if (cdev->state_kn)
		sysfs_notify_dirent(cdev->state_kn);
}
EXPORT_SYMBOL_GPL(cosm_set_state);

/**
 * cosm_set_shutdown_status() - publish a shutdown status in sysfs
 * @cdev: the card; its lock must be held
 * @status: new &enum cosm_shutdown_status
 *
 * A change is notified on the "shutdown_status" attribute (an addition to
 * upstream, which notified "state" only), so that a tool waiting for the
 * status of a shutdown need not poll.
 */
void cosm_set_shutdown_status(struct cosm_device *cdev, u8 status)
{
	lockdep_assert_held(&cdev->lock);
	if (cdev->shutdown_status == status)
		return;
	dev_dbg(cdev->sdev, "shutdown status %s -> %s\n",
		cosm_status_name(cdev->shutdown_status),
		cosm_status_name(status));
	cdev->shutdown_status = status;
	if (cdev->status_kn)
		sysfs_notify_dirent(cdev->status_kn);
}
EXPORT_SYMBOL_GPL(cosm_set_shutdown_status);

/* Hardware reset, then wait for the firmware to report ready. */
static void cosm_hw_reset(struct cosm_device *cdev, bool force)
{
	unsigned int i;

	if (force && cdev->hw_ops->force_reset)
		cdev->hw_ops->force_reset(cdev);
	else
		cdev->hw_ops->reset(cdev);

	for (i = 0; i < reset_poll_count; i++) {
		if (cdev->hw_ops->ready(cdev)) {
			cosm_set_state(cdev, COSM_READY);
			return;
		}
		msleep(reset_poll_ms);
	}
	/* One last look, so that a zero poll count still works. */
	if (cdev->hw_ops->ready(cdev)) {
		cosm_set_state(cdev, COSM_READY);
		return;
	}
	dev_err(cdev->sdev, "card not ready after reset\n");
	cosm_set_state(cdev, COSM_RESET_FAILED);
}

/* Run hw_ops->start with root fsuid so 0600 files in /lib/firmware load. */
static int cosm_hw_start(struct cosm_device *cdev)
{
	const struct cred *saved;
	struct cred *root_cred;
	int rc;

	root_cred = prepare_creds();
	if (!root_cred)
		return -ENOMEM;
	root_cred->fsuid = GLOBAL_ROOT_UID;
	saved = override_creds(root_cred);
	rc = cdev->hw_ops->start(cdev, cdev->index);
	revert_creds(saved);
	put_cred(root_cred);
	return rc;
}

/* sysfs "boot": facts §4.2 steps 1-4. */
int cosm_start(struct cosm_device *cdev)
{
	int rc;

	mutex_lock(&cdev->lock);
	if (!cdev->bootmode) {
		dev_err(cdev->sdev, "boot: bootmode not set\n");
		rc = -EINVAL;
		goto unlock;
	}
	if (cdev->state != COSM_READY) {
		dev_err(cdev->sdev, "boot: card is %s, not ready\n",
			cosm_state_name(cdev->state));
		rc = -EINVAL;
		goto unlock;
	}
	if (!cdev->hw_ops->ready(cdev)) {
		dev_info(cdev->sdev, "boot: firmware not ready, resetting\n");
		cosm_hw_reset(cdev, false);
		if (cdev->state != COSM_READY) {
			rc = -EINVAL;
			goto unlock;
		}
	}
	rc = cosm_hw_start(cdev);
	if (rc)
		goto unlock;
	/* Linux is online once its COSM client connects; others at once. */
	if (!strcmp(cdev->bootmode, "linux"))
		cosm_set_state(cdev, COSM_BOOTING);
	else
		cosm_set_state(cdev, COSM_ONLINE);
unlock:
	mutex_unlock(&cdev->lock);
	if (rc)
		dev_err(cdev->sdev, "boot failed: %d\n", rc);
	return rc;
}

static void cosm_server_stopped(struct cosm_device *cdev)
{
	down_read(&cosm_server_sem);
	if (cosm_server && cosm_server->stopped)
		cosm_server->stopped(cdev);
	up_read(&cosm_server_sem);
}

/*
 * Stop the card and reset it (facts §4.5 "reset"). Host-side teardown
 * (hw_ops->stop) only runs if something was started, i.e. the state
 * before the reset was neither ready nor reset_failed.
 */
void cosm_stop(struct cosm_device *cdev, bool force)
{
	bool started;
	u8 from;

	mutex_lock(&cdev->lock);
	if (cdev->state == COSM_READY && !force) {
		mutex_unlock(&cdev->lock);
		return;
	}
	from = cdev->state == COSM_RESETTING ? cdev->prev_state : cdev->state;
	started = from != COSM_READY && from != COSM_RESET_FAILED;
	if (cdev->state != COSM_RESETTING)
		cosm_set_state(cdev, COSM_RESETTING);
	cdev->watchdog_armed = false;
	if (started)
		cdev->hw_ops->stop(cdev, force);
	cosm_hw_reset(cdev, force);
	cosm_set_shutdown_status(cdev, COSM_STATUS_NOP);
	cdev->pending_status = COSM_STATUS_NOP;
	if (started && cdev->hw_ops->post_reset)
		cdev->hw_ops->post_reset(cdev, cdev->state);
	mutex_unlock(&cdev->lock);
	cosm_server_stopped(cdev);
}

static void cosm_reset_work(struct work_struct *work)
{
	struct cosm_device *cdev = container_of(work, struct cosm_device,
						reset_work);

	cosm_stop(cdev, false);
}

/* sysfs "reset": allowed in every state but ready. */
int cosm_reset(struct cosm_device *cdev)
{
	int rc = 0;

	mutex_lock(&cdev->lock);
	if (cdev->state == COSM_READY) {
		dev_err(cdev->sdev, "reset: card is already ready\n");
		rc = -EINVAL;
	} else if (cdev->state != COSM_RESETTING) {
		cdev->prev_state = cdev->state;
		cosm_set_state(cdev, COSM_RESETTING);
		schedule_work(&cdev->reset_work);
	}
	mutex_unlock(&cdev->lock);
	return rc;
}

/* sysfs "shutdown": the card must be online and the server connected. */
int cosm_shutdown(struct cosm_device *cdev)
{
	int rc;

	mutex_lock(&cdev->lock);
	if (cdev->state != COSM_ONLINE) {
		dev_err(cdev->sdev, "shutdown: card is %s, not online\n",
			cosm_state_name(cdev->state));
		rc = -EINVAL;
		goto unlock;
	}
	down_read(&cosm_server_sem);
	if (cosm_server && cosm_server->shutdown)
		rc = cosm_server->shutdown(cdev);
	else
		rc = -ENOTCONN;
	up_read(&cosm_server_sem);
	if (rc) {
		dev_err(cdev->sdev, "shutdown: request not sent: %d\n", rc);
		goto unlock;
	}
	cdev->watchdog_armed = false;
	cosm_set_state(cdev, COSM_SHUTTING_DOWN);
unlock:
	mutex_unlock(&cdev->lock);
	return rc;
}

/**
 * cosm_card_online() - the card's COSM client connected
 * @cdev: the card; its lock must be held
 *
 * Moves a booting card to online (an online card stays online, e.g. after
 * its client module was reloaded) and arms the heartbeat watchdog if
 * heartbeat_enable is set.
 *
 * Return: 0, or -EINVAL if the card is in any other state.
 */
int cosm_card_online(struct cosm_device *cdev)
{
	lockdep_assert_held(&cdev->lock);
	if (cdev->state != COSM_BOOTING && cdev->state != COSM_ONLINE) {
		dev_warn_ratelimited(cdev->sdev, "not going online in state %s\n",
				     cosm_state_name(cdev->state));
		return -EINVAL;
	}
	cdev->watchdog_armed = cdev->heartbeat_enable;
	if (cdev->state == COSM_BOOTING)
		cosm_set_state(cdev, COSM_ONLINE);
	return 0;
}
EXPORT_SYMBOL_GPL(cosm_card_online);

/**
 * cosm_card_status() - the card reported a shutdown status
 * @cdev: the card; its lock must be held
 * @status: the reported status; only crashed, halted, poweroff and restart
 *	are accepted, anything else is logged and ignored
 *
 * The status is kept until cosm_card_publish_status(); the watchdog is
 * disarmed and the card moves to shutting_down. A card that is not
 * running (booting, online or shutting down) has nothing to report: the
 * status is ignored then, e.g. while a reset is pending.
 */
void cosm_card_status(struct cosm_device *cdev, u8 status)
{
	lockdep_assert_held(&cdev->lock);
	if (status == COSM_STATUS_NOP || status >= COSM_STATUS_LAST) {
		dev_err_ratelimited(cdev->sdev, "ignoring shutdown status %u\n",
				    status);
		return;
	}
	if (cdev->state != COSM_BOOTING && cdev->state != COSM_ONLINE &&
	    cdev->state != COSM_SHUTTING_DOWN) {
		dev_warn_ratelimited(cdev->sdev,
				     "ignoring shutdown status %s in state %s\n",
				     cosm_status_name(status),
				     cosm_state_name(cdev->state));
		return;
	}
	cdev->pending_status = status;
	cdev->watchdog_armed = false;
	if (cdev->state != COSM_SHUTTING_DOWN)
		cosm_set_state(cdev, COSM_SHUTTING_DOWN);
}
EXPORT_SYMBOL_GPL(cosm_card_status);

/**
 * cosm_card_publish_status() - make a received status visible in sysfs
 * @cdev: the card; its lock must be held
 *
 * Called when the card's endpoint closes.
 */
void cosm_card_publish_status(struct cosm_device *cdev)
{
	lockdep_assert_held(&cdev->lock);
	if (cdev->pending_status == COSM_STATUS_NOP)
		return;
	cosm_set_shutdown_status(cdev, cdev->pending_status);
	cdev->pending_status = COSM_STATUS_NOP;
}
EXPORT_SYMBOL_GPL(cosm_card_publish_status);

/**
 * cosm_card_crashed() - the heartbeat watchdog expired
 * @cdev: the card; its lock must be held
 *
 * Publishes "crashed" at once and moves the card to shutting_down.
 */
void cosm_card_crashed(struct cosm_device *cdev)
{
	lockdep_assert_held(&cdev->lock);
	dev_err(cdev->sdev, "heartbeat lost, card crashed\n");
	cosm_card_status(cdev, COSM_STATUS_CRASHED);
	cosm_card_publish_status(cdev);
}
EXPORT_SYMBOL_GPL(cosm_card_crashed);

static int cosm_create_sysfs(struct cosm_device *cdev)
{
	cdev->sdev = device_create_with_groups(cosm_class, cdev->parent,
					       MKDEV(0, 0), cdev,
					       cosm_attr_groups, "mic%d",
					       cdev->index);
	if (IS_ERR(cdev->sdev))
		return PTR_ERR(cdev->sdev);
	/* Keep sdev for log messages until the card is fully gone. */
	get_device(cdev->sdev);

	cdev->state_kn = sysfs_get_dirent(cdev->sdev->kobj.sd, "state");
	cdev->status_kn = sysfs_get_dirent(cdev->sdev->kobj.sd,
					   "shutdown_status");
	if (!cdev->state_kn || !cdev->status_kn) {
		sysfs_put(cdev->status_kn);
		sysfs_put(cdev->state_kn);
		device_unregister(cdev->sdev);
		put_device(cdev->sdev);
		return -ENODEV;
	}
	return 0;
}

static void cosm_free_strings(struct cosm_device *cdev)
{
	kfree(cdev->cmdline);
	kfree(cdev->firmware);
	kfree(cdev->ramdisk);
	kfree(cdev->bootmode);
}

/*
 * Take a card's sysfs and debugfs entries away, then stop a card that is
 * not ready: the first half of removing a card (sdev stays pinned).
 */
static void cosm_withdraw(struct cosm_device *cdev)
{
	struct kernfs_node *kn, *status_kn;

	cosm_debugfs_remove(cdev);
	mutex_lock(&cdev->lock);
	kn = cdev->state_kn;
	cdev->state_kn = NULL;
	status_kn = cdev->status_kn;
	cdev->status_kn = NULL;
	mutex_unlock(&cdev->lock);
	sysfs_put(status_kn);
	sysfs_put(kn);
	/* Drains running sysfs reads and writes (a boot, a reset). */
	device_unregister(cdev->sdev);
	flush_work(&cdev->reset_work);
	cosm_stop(cdev, false);
}

/**
 * cosm_register_device() - add a card to COSM
 * @parent: the hardware device, parent of the class device
 * @index: card index; /sys/class/mic/mic<index> is created, and the index
 *	is reserved so that COSM and hardware numbering always agree
 * @ops: hardware services; must stay valid until unregistration
 * @priv: hardware driver data, available as &cosm_device.priv
 *
 * The card starts in state ready with shutdown status nop.
 *
 * Return: the new device, or an ERR_PTR (-EBUSY if @index is taken).
 */
struct cosm_device *cosm_register_device(struct device *parent, int index,
					 const struct cosm_hw_ops *ops,
					 void *priv)
{
	struct cosm_device *cdev;
	int rc;

	if (!ops || !ops->reset || !ops->ready || !ops->start || !ops->stop ||
	    !ops->family || !ops->stepping || !ops->aper)
		return ERR_PTR(-EINVAL);
	if (index < 0 || index >= COSM_MAX_CARDS)
		return ERR_PTR(-EINVAL);

	cdev = kzalloc(sizeof(*cdev), GFP_KERNEL);
	if (!cdev)
		return ERR_PTR(-ENOMEM);
	rc = ida_alloc_range(&cosm_ida, index, index, GFP_KERNEL);
	if (rc < 0) {
		rc = rc == -ENOSPC ? -EBUSY : rc;
		goto free_cdev;
	}
	cdev->parent = parent;
	cdev->index = index;
	cdev->hw_ops = ops;
	cdev->priv = priv;
	cdev->state = COSM_READY;
	cdev->shutdown_status = COSM_STATUS_NOP;
	cdev->heartbeat_enable = true;
	mutex_init(&cdev->lock);
	INIT_WORK(&cdev->reset_work, cosm_reset_work);

	rc = cosm_create_sysfs(cdev);
	if (rc)
		goto free_id;
	cosm_debugfs_add(cdev);

	/* A card the server does not know could never go online. */
	mutex_lock(&cosm_list_lock);
	if (cosm_server && cosm_server->add) {
		rc = cosm_server->add(cdev);
		if (rc) {
			mutex_unlock(&cosm_list_lock);
			dev_err(cdev->sdev, "COSM server did not take the card: %d\n",
				rc);
			goto remove_sysfs;
		}
	}
	list_add_tail(&cdev->node, &cosm_devices);
	mutex_unlock(&cosm_list_lock);
	dev_info(cdev->sdev, "registered, state %s\n",
		 cosm_state_name(cdev->state));
	return cdev;

remove_sysfs:
	cosm_withdraw(cdev);
	put_device(cdev->sdev);
	cosm_free_strings(cdev);
	mutex_destroy(&cdev->lock);
free_id:
	ida_free(&cosm_ida, index);
free_cdev:
	kfree(cdev);
	return ERR_PTR(rc);
}
EXPORT_SYMBOL_GPL(cosm_register_device);

/**
 * cosm_unregister_device() - remove a card from COSM
 * @cdev: a device returned by cosm_register_device()
 *
 * Removes the sysfs and debugfs entries, waits for a pending reset and
 * resets a card that is not ready (as upstream does on removal).
 */
void cosm_unregister_device(struct cosm_device *cdev)
{
	if (IS_ERR_OR_NULL(cdev))
		return;

	cosm_withdraw(cdev);

	mutex_lock(&cosm_list_lock);
	list_del(&cdev->node);
	if (cosm_server && cosm_server->remove)
		cosm_server->remove(cdev);
	mutex_unlock(&cosm_list_lock);

	put_device(cdev->sdev);
	ida_free(&cosm_ida, cdev->index);
	cosm_free_strings(cdev);
	mutex_destroy(&cdev->lock);
	kfree(cdev);
}
EXPORT_SYMBOL_GPL(cosm_unregister_device);

/**
 * cosm_register_server() - plug in the COSM server
 * @ops: server hooks; ->add is called for every card already registered
 *
 * Return: 0, or -EBUSY if a server is already registered.
 */
int cosm_register_server(const struct cosm_server_ops *ops)
{
	struct cosm_device *cdev;

	mutex_lock(&cosm_list_lock);
	if (cosm_server) {
		mutex_unlock(&cosm_list_lock);
		return -EBUSY;
	}
	list_for_each_entry(cdev, &cosm_devices, node)
		if (ops->add && ops->add(cdev))
			dev_warn(cdev->sdev, "COSM server did not take the card\n");
	down_write(&cosm_server_sem);
	cosm_server = ops;
	up_write(&cosm_server_sem);
	mutex_unlock(&cosm_list_lock);
	return 0;
}
EXPORT_SYMBOL_GPL(cosm_register_server);

/**
 * cosm_unregister_server() - unplug the COSM server
 * @ops: the hooks passed to cosm_register_server()
 *
 * Waits for running hooks, then calls ->remove for every card.
 */
void cosm_unregister_server(const struct cosm_server_ops *ops)
{
	struct cosm_device *cdev;

	mutex_lock(&cosm_list_lock);
	if (cosm_server != ops) {
		mutex_unlock(&cosm_list_lock);
		return;
	}
	down_write(&cosm_server_sem);
	cosm_server = NULL;
	up_write(&cosm_server_sem);
	list_for_each_entry(cdev, &cosm_devices, node)
		if (ops->remove)
			ops->remove(cdev);
	mutex_unlock(&cosm_list_lock);
}
EXPORT_SYMBOL_GPL(cosm_unregister_server);

/* System suspend/hibernate: a running card is stopped and reset. */
static int cosm_pm_suspend(struct device *dev)
{
	struct cosm_device *cdev = dev_get_drvdata(dev);
	bool running;

	if (!cdev)
		return 0;
	mutex_lock(&cdev->lock);
	running = cdev->state == COSM_ONLINE ||
		  cdev->state == COSM_BOOTING ||
		  cdev->state == COSM_SHUTTING_DOWN;
	mutex_unlock(&cdev->lock);
	if (running)
		cosm_stop(cdev, false);
	return 0;
}

static const struct dev_pm_ops cosm_pm_ops = {
	.suspend = cosm_pm_suspend,
	.freeze = cosm_pm_suspend,
};

static int __init cosm_init(void)
{
	int rc;

	cosm_class = mic_class_create("mic");
	if (IS_ERR(cosm_class)) {
		pr_err("mic_cosm: cannot create class mic: %ld\n",
		       PTR_ERR(cosm_class));
		return PTR_ERR(cosm_class);
	}
	cosm_class->pm = &cosm_pm_ops;
	cosm_debugfs_init();
	rc = cosm_scif_init();
	if (rc) {
		pr_err("mic_cosm: COSM server not started: %d\n", rc);
		cosm_debugfs_exit();
		class_destroy(cosm_class);
	}
	return rc;
}

static void __exit cosm_exit(void)
{
	cosm_scif_exit();
	cosm_debugfs_exit();
	class_destroy(cosm_class);
	ida_destroy(&cosm_ida);
}

module_init(cosm_init);
module_exit(cosm_exit);

MODULE_DESCRIPTION("micemu coprocessor state management for Xeon Phi x100");
MODULE_LICENSE("GPL");
