/* SPDX-License-Identifier: GPL-2.0 */
/*
 * micemu: coprocessor state management (COSM) interface.
 *
 * mic_cosm owns the card life cycle and the /sys/class/mic/micN ABI. A
 * hardware driver (mic_x100) registers one cosm_device per card and hands
 * in a cosm_hw_ops table; mic_cosm never touches card registers itself.
 * The COSM server (the SCIF port 201 listener in cosm_scif_server.c)
 * plugs in through cosm_server_ops and the cosm_card_*() helpers below.
 */
#ifndef MICEMU_MIC_COSM_H
#define MICEMU_MIC_COSM_H

#include <linux/device.h>
#include <linux/mutex.h>
#include <linux/types.h>
#include <linux/workqueue.h>

#include "cosm_msg.h"
#include "mic_mw.h"

/* Card states; values and sysfs strings follow facts §6.4. */
enum cosm_state {
	COSM_READY = 0,
	COSM_BOOTING,
	COSM_ONLINE,
	COSM_SHUTTING_DOWN,
	COSM_RESETTING,
	COSM_RESET_FAILED,
	COSM_STATE_LAST
};

struct cosm_device;

/**
 * struct cosm_hw_ops - services a hardware driver provides to COSM
 * @reset: clear the "bootstrap ready" indication and reset the card; may
 *	sleep (the x100 waits 1 s after touching the reset register).
 * @force_reset: optional harder variant used by debugfs force_reset; when
 *	NULL, @reset is used.
 * @post_reset: optional; called after a reset that followed a running card,
 *	with the resulting state (ready or reset_failed).
 * @ready: true when the card firmware accepts an OS download.
 * @start: download the OS named by the cosm_device boot settings and start
 *	it. @index is the card index. Returns 0 or a negative errno.
 * @stop: undo what @start set up on the host side (sub-devices, device
 *	page). @force is true for a forced reset.
 * @family: print the family string plus a newline into a sysfs buffer.
 * @stepping: print the stepping string plus a newline into a sysfs buffer.
 * @aper: return the card memory aperture (used by debugfs log_buf).
 *
 * All ops run in process context. All but @family and @stepping are called
 * with &cosm_device.lock held.
 */
struct cosm_hw_ops {
	void (*reset)(struct cosm_device *cdev);
	void (*force_reset)(struct cosm_device *cdev);
	void (*post_reset)(struct cosm_device *cdev, enum cosm_state state);
	bool (*ready)(struct cosm_device *cdev);
	int (*start)(struct cosm_device *cdev, int index);
	void (*stop)(struct cosm_device *cdev, bool force);
	ssize_t (*family)(struct cosm_device *cdev, char *buf);
	ssize_t (*stepping)(struct cosm_device *cdev, char *buf);
	struct mic_mw *(*aper)(struct cosm_device *cdev);
};

/**
 * struct cosm_server_ops - hooks for the COSM SCIF server
 * @add: a card was registered; set up per-card server state.
 * @remove: a card is going away; tear per-card server state down. Called
 *	after the card was reset, without &cosm_device.lock.
 * @shutdown: ask the card OS to shut down (send COSM_MSG_SHUTDOWN). Called
 *	with the lock held and the card online; return -ENOTCONN when no
 *	endpoint is connected. On success COSM moves to shutting_down.
 * @stopped: the card was stopped and reset; drop the connection and wait
 *	for per-card work. Called without the lock.
 *
 * Any hook may be NULL.
 */
struct cosm_server_ops {
	int (*add)(struct cosm_device *cdev);
	void (*remove)(struct cosm_device *cdev);
	int (*shutdown)(struct cosm_device *cdev);
	void (*stopped)(struct cosm_device *cdev);
};

/**
 * struct cosm_device - one card as seen by COSM
 * @sdev: the class device /sys/class/mic/micN
 * @parent: the hardware (PCI) device
 * @index: card index N
 * @hw_ops: hardware services
 * @priv: hardware driver private data
 * @server_priv: COSM server private data
 * @lock: serialises state changes and hardware ops
 * @state: current &enum cosm_state
 * @prev_state: state before a reset was requested
 * @shutdown_status: published &enum cosm_shutdown_status
 * @pending_status: status received from the card, published on disconnect
 * @heartbeat_enable: sysfs heartbeat_enable
 * @watchdog_armed: heartbeat timeouts count as a crash
 * @cmdline: sysfs cmdline, or NULL
 * @firmware: sysfs firmware, or NULL
 * @ramdisk: sysfs ramdisk, or NULL
 * @bootmode: sysfs bootmode, or NULL
 * @log_buf_addr: card kernel virtual address of the log buffer
 * @log_buf_len: card kernel virtual address of the log length variable
 * @state_kn: sysfs node of "state", for notifications
 * @status_kn: sysfs node of "shutdown_status", for notifications
 * @reset_work: runs a reset requested through sysfs
 * @dbg_dir: debugfs mic_cosm/micN
 * @node: entry in the list of registered cards
 *
 * @cmdline, @firmware, @ramdisk and @bootmode are read by hw_ops->start
 * under @lock.
 */
struct cosm_device {
	struct device *sdev;
	struct device *parent;
	int index;
	const struct cosm_hw_ops *hw_ops;
	void *priv;
	void *server_priv;
	struct mutex lock; /* state, boot settings, hw_ops calls */
	u8 state;
	u8 prev_state;
	u8 shutdown_status;
	u8 pending_status;
	bool heartbeat_enable;
	bool watchdog_armed;
	char *cmdline;
	char *firmware;
	char *ramdisk;
	char *bootmode;
	unsigned long log_buf_addr;
	unsigned long log_buf_len;
	struct kernfs_node *state_kn;
	struct kernfs_node *status_kn;
	struct work_struct reset_work;
	struct dentry *dbg_dir;
	struct list_head node;
};

struct cosm_device *cosm_register_device(struct device *parent, int index,
					 const struct cosm_hw_ops *ops,
					 void *priv);
void cosm_unregister_device(struct cosm_device *cdev);

int cosm_register_server(const struct cosm_server_ops *ops);
void cosm_unregister_server(const struct cosm_server_ops *ops);

/* Helpers for the COSM server; all expect cdev->lock to be held. */
const char *cosm_state_name(u8 state);
void cosm_set_state(struct cosm_device *cdev, u8 state);
void cosm_set_shutdown_status(struct cosm_device *cdev, u8 status);
int cosm_card_online(struct cosm_device *cdev);
void cosm_card_status(struct cosm_device *cdev, u8 status);
void cosm_card_publish_status(struct cosm_device *cdev);
void cosm_card_crashed(struct cosm_device *cdev);

#endif /* MICEMU_MIC_COSM_H */
