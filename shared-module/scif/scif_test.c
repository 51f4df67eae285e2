// SPDX-License-Identifier: GPL-2.0
/*
 * micemu: /dev/scif_test, user-space access to the SCIF kernel API.
 *
 * For tests and benchmarks (tools/scif-pingpong) until the real /dev/scif
 * exists: every open file is one endpoint, the ioctls of
 * scif_test_ioctl.h map one-to-one onto scif_bind(), scif_listen(),
 * scif_connect(), scif_accept(), scif_send(), scif_recv(), scif_poll() and
 * scif_get_node_ids(), and closing the file calls scif_close(). As a SCIF
 * client it logs "scif_test: node N up/down" for every node. SCIFT_KAPI
 * reaches the RMA calls that have no /dev/scif ioctl (scif_get_pages(),
 * scif_put_pages(), scif_pin_pages(), scif_register_pinned_pages()) on
 * the endpoint of an open /dev/scif file.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "scif.h"
#include "scif_test_ioctl.h"

/* Bounce buffer size for send and recv. */
#define SCIFT_CHUNK		(64 * 1024)
#define SCIFT_MAX_NODES		256

static const struct file_operations scift_fops;

static int scift_open(struct inode *inode, struct file *file)
{
	scif_epd_t epd = scif_open();

	if (!epd)
		return -ENOMEM;
	file->private_data = epd;
	return 0;
}

static int scift_release(struct inode *inode, struct file *file)
{
	return scif_close(file->private_data);
}

static long scift_bind(scif_epd_t epd, u32 __user *uarg)
{
	u32 port;
	int ret;

	if (get_user(port, uarg))
		return -EFAULT;
	if (port > U16_MAX)
		return -EINVAL;
	ret = scif_bind(epd, port);
	if (ret < 0)
		return ret;
	return put_user(ret, uarg);
}

static long scift_connect(scif_epd_t epd, struct scift_port __user *uarg)
{
	struct scift_port arg;
	struct scif_port_id dst;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	dst.node = arg.node;
	dst.port = arg.port;
	return scif_connect(epd, &dst);
}

static long scift_accept(scif_epd_t epd, struct scift_accept __user *uarg)
{
	struct scift_accept arg;
	struct scif_port_id peer;
	scif_epd_t newepd;
	struct file *file;
	int fd, ret;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	ret = scif_accept(epd, &peer, &newepd, arg.flags);
	if (ret)
		return ret;
	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		ret = fd;
		goto close_ep;
	}
	file = anon_inode_getfile("scif_test", &scift_fops, newepd, O_RDWR);
	if (IS_ERR(file)) {
		ret = PTR_ERR(file);
		goto put_fd;
	}
	arg.fd = fd;
	arg.peer.node = peer.node;
	arg.peer.port = peer.port;
	if (copy_to_user(uarg, &arg, sizeof(arg))) {
		put_unused_fd(fd);
		fput(file);	/* closes the endpoint */
		return -EFAULT;
	}
	fd_install(fd, file);
	return 0;

put_fd:
	put_unused_fd(fd);
close_ep:
	scif_close(newepd);
	return ret;
}

/* One chunk of a send or receive; returns bytes moved or an error. */
static int scift_xfer_chunk(scif_epd_t epd, void *buf, void __user *ubuf,
			    int len, int flags, bool send)
{
	int ret;

	if (send) {
		if (copy_from_user(buf, ubuf, len))
			return -EFAULT;
		return scif_send(epd, buf, len, flags);
	}
	ret = scif_recv(epd, buf, len, flags);
	if (ret > 0 && copy_to_user(ubuf, buf, ret))
		return -EFAULT;
	return ret;
}

static long scift_xfer(scif_epd_t epd, struct scift_msg __user *uarg,
		       bool send)
{
	struct scift_msg arg;
	int done = 0, ret = 0, len;
	void *buf;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.len < 0)
		return -EINVAL;
	buf = kmalloc(SCIFT_CHUNK, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	while (done < arg.len) {
		len = min(arg.len - done, SCIFT_CHUNK);
		ret = scift_xfer_chunk(epd, buf,
				       u64_to_user_ptr(arg.buf) + done, len,
				       arg.flags, send);
		if (ret <= 0)
			break;
		done += ret;
		if (ret < len)
			break;	/* non-blocking, or interrupted */
	}
	kfree(buf);
	if (!done && ret < 0)
		return ret;
	return put_user(done, &uarg->out_len);
}

static long scift_poll(scif_epd_t epd, struct scift_poll __user *uarg)
{
	struct scif_pollepd pollepd = { .epd = epd };
	struct scift_poll arg;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	pollepd.events = arg.events;
	arg.result = scif_poll(&pollepd, 1, arg.timeout_ms);
	if (arg.result < 0)
		return arg.result;
	arg.revents = pollepd.revents;
	return copy_to_user(uarg, &arg, sizeof(arg)) ? -EFAULT : 0;
}

static long scift_node_ids(struct scift_nodes __user *uarg)
{
	struct scift_nodes arg;
	u16 *nodes;
	long ret = 0;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.len < 0 || arg.len > SCIFT_MAX_NODES)
		return -EINVAL;
	nodes = kcalloc(SCIFT_MAX_NODES, sizeof(*nodes), GFP_KERNEL);
	if (!nodes)
		return -ENOMEM;
	arg.online = scif_get_node_ids(nodes, arg.len, &arg.self);
	if (copy_to_user(u64_to_user_ptr(arg.nodes), nodes,
			 min(arg.online, arg.len) * sizeof(*nodes)) ||
	    copy_to_user(uarg, &arg, sizeof(arg)))
		ret = -EFAULT;
	kfree(nodes);
	return ret;
}

/* Ranges from scif_get_pages(), until SCIFT_KAPI_PUT_PAGES or unload. */
static struct scif_range *scift_ranges[SCIFT_KAPI_SLOTS];
static DEFINE_MUTEX(scift_ranges_lock);

/* Copy the bytes of a held range to user space, page by page. */
static int scift_range_read(struct scif_range *r, u64 ubuf, u64 len)
{
	void __iomem *va;
	void *bounce;
	u64 done = 0, n;
	int i, err = 0;

	bounce = kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (!bounce)
		return -ENOMEM;
	for (i = 0; i < r->nr_pages && done < len && !err; i++) {
		n = min_t(u64, PAGE_SIZE, len - done);
		va = ioremap(r->phys_addr[i], PAGE_SIZE);
		if (!va) {
			err = -EIO;
			break;
		}
		memcpy_fromio(bounce, va, n);
		iounmap(va);
		if (copy_to_user(u64_to_user_ptr(ubuf + done), bounce, n))
			err = -EFAULT;
		done += n;
	}
	kfree(bounce);
	return err;
}

static long scift_kapi(struct scift_kapi __user *uarg)
{
	struct scift_kapi a;
	scif_pinned_pages_t pin;
	struct scif_range *r;
	struct file *file;
	scif_epd_t epd;
	long ret;

	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if (a.slot < 0 || a.slot >= SCIFT_KAPI_SLOTS)
		return -EINVAL;
	file = fget(a.fd);
	if (!file)
		return -EBADF;
	epd = scif_file_epd(file);
	ret = epd ? 0 : -EINVAL;
	mutex_lock(&scift_ranges_lock);
	r = scift_ranges[a.slot];
	switch (ret ? 0 : a.op) {
	case 0:
		break;
	case SCIFT_KAPI_GET_PAGES:
		if (r) {
			ret = -EBUSY;
			break;
		}
		ret = scif_get_pages(epd, a.offset, a.len, &r);
		if (ret)
			break;
		scift_ranges[a.slot] = r;
		a.nr_pages = r->nr_pages;
		a.prot = r->prot_flags;
		fallthrough;
	case SCIFT_KAPI_READ:
		ret = r ? scift_range_read(r, a.buf, a.len) : -ENOENT;
		break;
	case SCIFT_KAPI_PUT_PAGES:
		ret = r ? scif_put_pages(r) : -ENOENT;
		scift_ranges[a.slot] = NULL;
		break;
	case SCIFT_KAPI_PIN_REGISTER:
		ret = scif_pin_pages(u64_to_user_ptr(a.buf), a.len, a.prot, 0,
				     &pin);
		if (ret)
			break;
		a.offset = scif_register_pinned_pages(epd, pin, 0, 0);
		/* The window keeps the pages pinned; our reference goes. */
		scif_unpin_pages(pin);
		if (a.offset < 0)
			ret = a.offset;
		break;
	default:
		ret = -EINVAL;
	}
	mutex_unlock(&scift_ranges_lock);
	fput(file);
	if (!ret && copy_to_user(uarg, &a, sizeof(a)))
		ret = -EFAULT;
	return ret;
}

static long scift_ioctl(struct file *file, unsigned int cmd,
			unsigned long arg)
{
	scif_epd_t epd = file->private_data;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case SCIFT_BIND:
		return scift_bind(epd, uarg);
	case SCIFT_LISTEN:
		return scif_listen(epd, (int)arg);
	case SCIFT_CONNECT:
		return scift_connect(epd, uarg);
	case SCIFT_ACCEPT:
		return scift_accept(epd, uarg);
	case SCIFT_SEND:
		return scift_xfer(epd, uarg, true);
	case SCIFT_RECV:
		return scift_xfer(epd, uarg, false);
	case SCIFT_POLL:
		return scift_poll(epd, uarg);
	case SCIFT_NODE_IDS:
		return scift_node_ids(uarg);
	case SCIFT_KAPI:
		return scift_kapi(uarg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations scift_fops = {
	.owner = THIS_MODULE,
	.open = scift_open,
	.release = scift_release,
	.unlocked_ioctl = scift_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice scift_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "scif_test",
	.fops = &scift_fops,
	.mode = 0600,
};

/* Log node arrivals and departures, so tests can see client callbacks. */
static void scift_probe(struct scif_peer_dev *spdev)
{
	dev_info(&spdev->dev, "scif_test: node %u up\n", spdev->dnode);
}

static void scift_remove(struct scif_peer_dev *spdev)
{
	dev_info(&spdev->dev, "scif_test: node %u down\n", spdev->dnode);
}

static struct scif_client scift_client = {
	.name = "scif_test",
	.probe = scift_probe,
	.remove = scift_remove,
};

static int __init scift_init(void)
{
	int err = scif_client_register(&scift_client);

	if (err)
		return err;
	err = misc_register(&scift_dev);
	if (err)
		scif_client_unregister(&scift_client);
	return err;
}

static void __exit scift_exit(void)
{
	int i;

	misc_deregister(&scift_dev);
	for (i = 0; i < SCIFT_KAPI_SLOTS; i++) {
		if (scift_ranges[i])
			scif_put_pages(scift_ranges[i]);
	}
	scif_client_unregister(&scift_client);
}

module_init(scift_init);
module_exit(scift_exit);

MODULE_DESCRIPTION("micemu SCIF test device (/dev/scif_test)");
MODULE_LICENSE("GPL");
