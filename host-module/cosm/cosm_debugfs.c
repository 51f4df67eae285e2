// SPDX-License-Identifier: GPL-2.0
/*
 * micemu: debugfs mic_cosm/micN/{force_reset,log_buf} (facts §4.5, §6.7).
 */
#include <linux/debugfs.h>
#include <linux/io.h>
#include <linux/kernel.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "cosm_main.h"

/* Card kernel log buffers are far smaller; refuse anything bigger. */
#define COSM_LOG_BUF_MAX	(16U << 20)

static struct dentry *cosm_dbg_root;

/* Writing a true value ("1", "y") stops the card and forces a reset. */
static ssize_t force_reset_write(struct file *file, const char __user *ubuf,
				 size_t count, loff_t *ppos)
{
	struct cosm_device *cdev = file->private_data;
	bool doit;
	int rc;

	rc = kstrtobool_from_user(ubuf, count, &doit);
	if (rc)
		return rc;
	if (doit)
		cosm_stop(cdev, true);
	return count;
}

static const struct file_operations force_reset_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = force_reset_write,
	.llseek = noop_llseek,
};

/* Translate a card kernel virtual address to an aperture offset. */
static bool cosm_card_va_to_off(struct mic_mw *aper, unsigned long va,
				u64 len, u64 *off)
{
	if (va < __START_KERNEL_map)
		return false;
	*off = va - __START_KERNEL_map;
	return *off < aper->len && len <= aper->len - *off;
}

static void cosm_dump_log(struct seq_file *s, struct cosm_device *cdev)
{
	struct mic_mw *aper = cdev->hw_ops->aper(cdev);
	u64 len_off, buf_off;
	u32 size;
	void *copy;

	if (!aper || !aper->va ||
	    !cosm_card_va_to_off(aper, cdev->log_buf_len, sizeof(u32),
				 &len_off)) {
		dev_warn(cdev->sdev, "log_buf_len 0x%lx outside card memory\n",
			 cdev->log_buf_len);
		return;
	}
	size = ioread32(aper->va + len_off);
	if (!size || size > COSM_LOG_BUF_MAX ||
	    !cosm_card_va_to_off(aper, cdev->log_buf_addr, size, &buf_off)) {
		dev_warn(cdev->sdev, "card log buffer 0x%lx+%u not usable\n",
			 cdev->log_buf_addr, size);
		return;
	}
	copy = kvmalloc(size, GFP_KERNEL);
	if (!copy)
		return;
	memcpy_fromio(copy, aper->va + buf_off, size);
	seq_write(s, copy, size);
	kvfree(copy);
}

static int log_buf_show(struct seq_file *s, void *unused)
{
	struct cosm_device *cdev = s->private;

	if (!cdev->log_buf_addr || !cdev->log_buf_len)
		return 0;

	mutex_lock(&cdev->lock);
	/* Only a card that runs (or ran) an OS has a log in its memory. */
	if (cdev->state == COSM_BOOTING || cdev->state == COSM_ONLINE ||
	    cdev->state == COSM_SHUTTING_DOWN)
		cosm_dump_log(s, cdev);
	mutex_unlock(&cdev->lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(log_buf);

void cosm_debugfs_add(struct cosm_device *cdev)
{
	char name[16];

	if (IS_ERR_OR_NULL(cosm_dbg_root))
		return;
	snprintf(name, sizeof(name), "mic%d", cdev->index);
	cdev->dbg_dir = debugfs_create_dir(name, cosm_dbg_root);
	debugfs_create_file("force_reset", 0200, cdev->dbg_dir, cdev,
			    &force_reset_fops);
	debugfs_create_file("log_buf", 0444, cdev->dbg_dir, cdev,
			    &log_buf_fops);
}

void cosm_debugfs_remove(struct cosm_device *cdev)
{
	debugfs_remove_recursive(cdev->dbg_dir);
	cdev->dbg_dir = NULL;
}

void cosm_debugfs_init(void)
{
	cosm_dbg_root = debugfs_create_dir("mic_cosm", NULL);
}

void cosm_debugfs_exit(void)
{
	debugfs_remove_recursive(cosm_dbg_root);
}
