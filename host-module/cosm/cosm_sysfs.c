// SPDX-License-Identifier: GPL-2.0
/*
 * micemu: /sys/class/mic/micN attributes.
 *
 * Names, strings and error codes follow upstream's sysfs-class-mic ABI
 * (facts §6.6): string attributes read back with a newline or as an empty
 * file when unset, and lose one trailing newline when written.
 */
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sysfs.h>

#include "cosm_main.h"

static struct cosm_device *to_cosm(struct device *dev)
{
	return dev_get_drvdata(dev);
}

static ssize_t family_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	struct cosm_device *cdev = to_cosm(dev);

	return cdev->hw_ops->family(cdev, buf);
}
static DEVICE_ATTR_RO(family);

static ssize_t stepping_show(struct device *dev,
			     struct device_attribute *attr, char *buf)
{
	struct cosm_device *cdev = to_cosm(dev);

	return cdev->hw_ops->stepping(cdev, buf);
}
static DEVICE_ATTR_RO(stepping);

static ssize_t state_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	struct cosm_device *cdev = to_cosm(dev);
	u8 state = READ_ONCE(cdev->state);

	if (state >= COSM_STATE_LAST)
		return -EINVAL;
	return sysfs_emit(buf, "%s\n", cosm_state_name(state));
}

static ssize_t state_store(struct device *dev, struct device_attribute *attr,
			   const char *buf, size_t count)
{
	struct cosm_device *cdev = to_cosm(dev);
	int rc;

	if (sysfs_streq(buf, "boot"))
		rc = cosm_start(cdev);
	else if (sysfs_streq(buf, "reset"))
		rc = cosm_reset(cdev);
	else if (sysfs_streq(buf, "shutdown"))
		rc = cosm_shutdown(cdev);
	else
		rc = -EINVAL;

	return rc ? rc : count;
}
static DEVICE_ATTR_RW(state);

static ssize_t shutdown_status_show(struct device *dev,
				    struct device_attribute *attr, char *buf)
{
	struct cosm_device *cdev = to_cosm(dev);
	u8 status = READ_ONCE(cdev->shutdown_status);

	if (status >= COSM_STATUS_LAST)
		return -EINVAL;
	return sysfs_emit(buf, "%s\n", cosm_status_name(status));
}
static DEVICE_ATTR_RO(shutdown_status);

static ssize_t heartbeat_enable_show(struct device *dev,
				     struct device_attribute *attr, char *buf)
{
	struct cosm_device *cdev = to_cosm(dev);

	return sysfs_emit(buf, "%d\n", cdev->heartbeat_enable);
}

static ssize_t heartbeat_enable_store(struct device *dev,
				      struct device_attribute *attr,
				      const char *buf, size_t count)
{
	struct cosm_device *cdev = to_cosm(dev);
	int enable;
	int rc;

	rc = kstrtoint(buf, 10, &enable);
	if (rc)
		return rc;

	mutex_lock(&cdev->lock);
	cdev->heartbeat_enable = enable;
	/* The watchdog itself only runs while the card is online. */
	if (cdev->state == COSM_ONLINE)
		cdev->watchdog_armed = cdev->heartbeat_enable;
	mutex_unlock(&cdev->lock);
	return count;
}
static DEVICE_ATTR_RW(heartbeat_enable);

static ssize_t cosm_show_string(struct cosm_device *cdev, char **field,
				char *buf)
{
	ssize_t len = 0;

	mutex_lock(&cdev->lock);
	if (*field)
		len = sysfs_emit(buf, "%s\n", *field);
	mutex_unlock(&cdev->lock);
	return len;
}

/* Replace a stored string by the written text minus one trailing newline. */
static ssize_t cosm_store_string(struct cosm_device *cdev, char **field,
				 const char *buf, size_t count)
{
	size_t len;
	char *copy;

	copy = kstrndup(buf, count, GFP_KERNEL);
	if (!copy)
		return -ENOMEM;
	len = strlen(copy);
	if (len && copy[len - 1] == '\n')
		copy[len - 1] = '\0';

	mutex_lock(&cdev->lock);
	kfree(*field);
	*field = copy;
	mutex_unlock(&cdev->lock);
	return count;
}

static ssize_t cmdline_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	struct cosm_device *cdev = to_cosm(dev);

	return cosm_show_string(cdev, &cdev->cmdline, buf);
}

static ssize_t cmdline_store(struct device *dev, struct device_attribute *attr,
			     const char *buf, size_t count)
{
	struct cosm_device *cdev = to_cosm(dev);

	return cosm_store_string(cdev, &cdev->cmdline, buf, count);
}
static DEVICE_ATTR_RW(cmdline);

static ssize_t firmware_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	struct cosm_device *cdev = to_cosm(dev);

	return cosm_show_string(cdev, &cdev->firmware, buf);
}

static ssize_t firmware_store(struct device *dev, struct device_attribute *attr,
			      const char *buf, size_t count)
{
	struct cosm_device *cdev = to_cosm(dev);

	return cosm_store_string(cdev, &cdev->firmware, buf, count);
}
static DEVICE_ATTR_RW(firmware);

static ssize_t ramdisk_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	struct cosm_device *cdev = to_cosm(dev);

	return cosm_show_string(cdev, &cdev->ramdisk, buf);
}

static ssize_t ramdisk_store(struct device *dev, struct device_attribute *attr,
			     const char *buf, size_t count)
{
	struct cosm_device *cdev = to_cosm(dev);

	return cosm_store_string(cdev, &cdev->ramdisk, buf, count);
}
static DEVICE_ATTR_RW(ramdisk);

static ssize_t bootmode_show(struct device *dev,
			     struct device_attribute *attr, char *buf)
{
	struct cosm_device *cdev = to_cosm(dev);

	return cosm_show_string(cdev, &cdev->bootmode, buf);
}

static ssize_t bootmode_store(struct device *dev,
			      struct device_attribute *attr,
			      const char *buf, size_t count)
{
	struct cosm_device *cdev = to_cosm(dev);

	if (!sysfs_streq(buf, "linux") && !sysfs_streq(buf, "flash"))
		return -EINVAL;
	return cosm_store_string(cdev, &cdev->bootmode, buf, count);
}
static DEVICE_ATTR_RW(bootmode);

/*
 * log_buf_addr and log_buf_len hold card kernel virtual addresses (from
 * the card's System.map), written in hex and shown with %p like upstream.
 */
static ssize_t log_buf_addr_show(struct device *dev,
				 struct device_attribute *attr, char *buf)
{
	struct cosm_device *cdev = to_cosm(dev);

	return sysfs_emit(buf, "%p\n", (void *)READ_ONCE(cdev->log_buf_addr));
}

static ssize_t log_buf_addr_store(struct device *dev,
				  struct device_attribute *attr,
				  const char *buf, size_t count)
{
	struct cosm_device *cdev = to_cosm(dev);
	unsigned long addr;
	int rc;

	rc = kstrtoul(buf, 16, &addr);
	if (rc)
		return rc;
	WRITE_ONCE(cdev->log_buf_addr, addr);
	return count;
}
static DEVICE_ATTR_RW(log_buf_addr);

static ssize_t log_buf_len_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	struct cosm_device *cdev = to_cosm(dev);

	return sysfs_emit(buf, "%p\n", (void *)READ_ONCE(cdev->log_buf_len));
}

static ssize_t log_buf_len_store(struct device *dev,
				 struct device_attribute *attr,
				 const char *buf, size_t count)
{
	struct cosm_device *cdev = to_cosm(dev);
	unsigned long addr;
	int rc;

	rc = kstrtoul(buf, 16, &addr);
	if (rc)
		return rc;
	WRITE_ONCE(cdev->log_buf_len, addr);
	return count;
}
static DEVICE_ATTR_RW(log_buf_len);

static struct attribute *cosm_attrs[] = {
	&dev_attr_family.attr,
	&dev_attr_stepping.attr,
	&dev_attr_state.attr,
	&dev_attr_shutdown_status.attr,
	&dev_attr_heartbeat_enable.attr,
	&dev_attr_cmdline.attr,
	&dev_attr_firmware.attr,
	&dev_attr_ramdisk.attr,
	&dev_attr_bootmode.attr,
	&dev_attr_log_buf_addr.attr,
	&dev_attr_log_buf_len.attr,
	NULL
};

static const struct attribute_group cosm_attr_group = {
	.attrs = cosm_attrs,
};

const struct attribute_group *cosm_attr_groups[] = {
	&cosm_attr_group,
	NULL
};
