// SPDX-License-Identifier: GPL-2.0
/*
 * micemu SCIF: /dev/scif, the user-space endpoint device (facts §7.3).
 *
 * Every open file is one endpoint; its release closes it. The ioctls of
 * uapi/scif_ioctl.h map onto the kernel API; data goes through a bounce
 * buffer in pieces of SCIF_FD_CHUNK bytes.
 *
 * Accept takes two calls, as upstream: SCIF_ACCEPTREQ on the listening
 * file accepts a connection and parks the new endpoint under a handle;
 * SCIF_ACCEPTREG on a freshly opened file swaps that file's own endpoint
 * for the parked one. The handle is an index into a table of parked
 * endpoints plus random bits, checked in full: user space never hands us
 * a pointer. Parked endpoints belong to their listening file, which
 * closes whatever is still parked when it is released.
 *
 * A file's endpoint can only be swapped before anything used it: every
 * operation that touches the endpoint marks the file used first, and
 * from then on the endpoint stays until release. So nobody ever holds a
 * pointer to an endpoint that ACCEPTREG closes.
 *
 * The RMA ioctls (SCIF_REG ... SCIF_FENCE_SIGNAL) and mmap are in
 * scif_fd_rma.c. Not yet here: non-blocking (O_NONBLOCK) connect.
 */
#define pr_fmt(fmt) "scif: " fmt

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/poll.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "scif_main.h"

/* Bounce buffer size for send and recv. */
#define SCIF_FD_CHUNK		(64 * 1024)
/* Accept handles: table index in the low bits, random bits above. */
#define SCIF_FD_HANDLE_ID_BITS	24
#define SCIF_FD_HANDLE_ID_MASK	((1U << SCIF_FD_HANDLE_ID_BITS) - 1)
/* Accepted endpoints a listening file may hold before ACCEPTREG. */
#define SCIF_FD_MAX_PARKED	64

/* facts §7.3, for x86-64: numbers, sizes and offsets of the ABI. */
static_assert(SCIF_BIND == 0xC0087301);
static_assert(SCIF_LISTEN == 0x40047302);
static_assert(SCIF_CONNECT == 0xC0087303);
static_assert(SCIF_ACCEPTREQ == 0xC0107304);
static_assert(SCIF_ACCEPTREG == 0xC0087305);
static_assert(SCIF_SEND == 0xC0187306);
static_assert(SCIF_RECV == 0xC0187307);
static_assert(SCIF_REG == 0xC0287308);
static_assert(SCIF_UNREG == 0xC0107309);
static_assert(SCIF_READFROM == 0xC028730A);
static_assert(SCIF_WRITETO == 0xC028730B);
static_assert(SCIF_VREADFROM == 0xC028730C);
static_assert(SCIF_VWRITETO == 0xC028730D);
static_assert(SCIF_GET_NODEIDS == 0xC018730E);
static_assert(SCIF_FENCE_MARK == 0xC010730F);
static_assert(SCIF_FENCE_WAIT == 0xC0047310);
static_assert(SCIF_FENCE_SIGNAL == 0xC0287311);
static_assert(sizeof(struct scif_port_id) == 4);
static_assert(sizeof(struct scifioctl_connect) == 8);
static_assert(offsetof(struct scifioctl_connect, peer) == 4);
static_assert(sizeof(struct scifioctl_accept) == 16);
static_assert(offsetof(struct scifioctl_accept, peer) == 4);
static_assert(offsetof(struct scifioctl_accept, endpt) == 8);
static_assert(sizeof(struct scifioctl_msg) == 24);
static_assert(offsetof(struct scifioctl_msg, len) == 8);
static_assert(offsetof(struct scifioctl_msg, flags) == 12);
static_assert(offsetof(struct scifioctl_msg, out_len) == 16);
static_assert(sizeof(struct scifioctl_reg) == 40);
static_assert(offsetof(struct scifioctl_reg, prot) == 24);
static_assert(offsetof(struct scifioctl_reg, out_offset) == 32);
static_assert(sizeof(struct scifioctl_unreg) == 16);
static_assert(sizeof(struct scifioctl_copy) == 40);
static_assert(offsetof(struct scifioctl_copy, addr) == 24);
static_assert(offsetof(struct scifioctl_copy, flags) == 32);
static_assert(sizeof(struct scifioctl_node_ids) == 24);
static_assert(offsetof(struct scifioctl_node_ids, self) == 8);
static_assert(offsetof(struct scifioctl_node_ids, len) == 16);
static_assert(sizeof(struct scifioctl_fence_mark) == 16);
static_assert(offsetof(struct scifioctl_fence_mark, mark) == 8);
static_assert(sizeof(struct scifioctl_fence_signal) == 40);
static_assert(offsetof(struct scifioctl_fence_signal, rval) == 24);
static_assert(offsetof(struct scifioctl_fence_signal, flags) == 32);

/**
 * struct scif_fd - one open file of /dev/scif
 * @lock: protects @ep and @used
 * @ep: the endpoint
 * @used: @ep was handed to an operation; it can no longer be swapped
 * @send_mutex: keeps the pieces of one SCIF_SEND together
 * @recv_mutex: keeps the pieces of one SCIF_RECV together
 * @parked: accepted endpoints waiting for SCIF_ACCEPTREG (under
 *	scif_fd_accept_lock)
 * @nparked: entries in @parked (under scif_fd_accept_lock)
 * @accept_owner: files_struct of the last task to wait in accept; its
 *	flush() of this file wakes the waiters
 * @flush_gen: bumped by such a flush()
 */
struct scif_fd {
	spinlock_t lock;		/* @ep, @used */
	struct scif_endpt *ep;
	bool used;
	struct mutex send_mutex;	/* one SCIF_SEND at a time */
	struct mutex recv_mutex;	/* one SCIF_RECV at a time */
	struct list_head parked;
	unsigned int nparked;
	void *accept_owner;
	atomic_t flush_gen;
};

/**
 * struct scif_fd_parked - an accepted endpoint waiting for ACCEPTREG
 * @handle: the value user space gets; index in scif_fd_parked plus
 *	random bits
 * @ep: the connected endpoint
 * @listener: the file that accepted it
 * @node: entry in @listener's parked list
 */
struct scif_fd_parked {
	u64 handle;
	struct scif_endpt *ep;
	struct scif_fd *listener;
	struct list_head node;
};

/* Protects scif_fd_parked and every scif_fd's parked list. */
static DEFINE_MUTEX(scif_fd_accept_lock);
static DEFINE_XARRAY_ALLOC1(scif_fd_parked);

/**
 * scif_fd_ep() - the endpoint of a file, pinned to it from now on
 * @fd: the file's state
 *
 * Every operation on the endpoint gets it here, never from @fd->ep.
 *
 * Return: the endpoint; valid until the file is released.
 */
static struct scif_endpt *scif_fd_ep(struct scif_fd *fd)
{
	struct scif_endpt *ep;

	spin_lock(&fd->lock);
	fd->used = true;
	ep = fd->ep;
	spin_unlock(&fd->lock);
	return ep;
}

static long scif_fd_bind(struct scif_fd *fd, int __user *uarg)
{
	int pn, ret;

	if (get_user(pn, uarg))
		return -EFAULT;
	if (pn < 0 || pn > U16_MAX)
		return -EINVAL;
	ret = scif_bind(scif_fd_ep(fd), pn);
	if (ret < 0)
		return ret;
	return put_user(ret, uarg);
}

static long scif_fd_connect(struct scif_fd *fd,
			    struct scifioctl_connect __user *uarg)
{
	struct scif_endpt *ep = scif_fd_ep(fd);
	struct scifioctl_connect req;
	int err;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	err = scif_connect(ep, &req.peer);
	if (err)
		return err;
	spin_lock(&ep->lock);
	req.self = ep->port;
	spin_unlock(&ep->lock);
	return copy_to_user(uarg, &req, sizeof(req)) ? -EFAULT : 0;
}

static bool scif_fd_accept_ready(struct scif_fd *fd, struct scif_endpt *ep,
				 int gen)
{
	return atomic_read(&fd->flush_gen) != gen ||
	       (scif_ep_poll_mask(ep) & (POLLIN | POLLERR));
}

/*
 * scif_accept(), with our own wait so that flush() can end it: the
 * upstream device wakes a blocked accept when the owner closes the file.
 */
static int scif_fd_accept(struct scif_fd *fd, int flags,
			  struct scif_port_id *peer, scif_epd_t *newep)
{
	struct scif_endpt *ep = scif_fd_ep(fd);
	int gen = atomic_read(&fd->flush_gen);
	int err;

	if (flags & SCIF_ACCEPT_SYNC)
		WRITE_ONCE(fd->accept_owner, current->files);
	for (;;) {
		err = scif_accept(ep, peer, newep, 0);
		if (err != -EAGAIN || !(flags & SCIF_ACCEPT_SYNC))
			return err;
		err = wait_event_interruptible(ep->wq,
					       scif_fd_accept_ready(fd, ep, gen));
		if (err)
			return err;
		if (atomic_read(&fd->flush_gen) != gen)
			return -EINTR;
	}
}

/* Take a parked endpoint out of the table; scif_fd_accept_lock held. */
static void scif_fd_unpark(struct scif_fd_parked *p)
{
	xa_erase(&scif_fd_parked, p->handle & SCIF_FD_HANDLE_ID_MASK);
	list_del(&p->node);
	p->listener->nparked--;
}

/*
 * Park @ep under a new handle (the slot was reserved in @fd->nparked) and
 * return the handle, or 0 when memory ran out.
 */
static u64 scif_fd_park(struct scif_fd *fd, struct scif_endpt *ep)
{
	struct scif_fd_parked *p = kzalloc(sizeof(*p), GFP_KERNEL);
	u64 handle;
	u32 id;

	if (!p)
		return 0;
	p->ep = ep;
	p->listener = fd;
	mutex_lock(&scif_fd_accept_lock);
	if (xa_alloc(&scif_fd_parked, &id, p,
		     XA_LIMIT(1, SCIF_FD_HANDLE_ID_MASK), GFP_KERNEL)) {
		mutex_unlock(&scif_fd_accept_lock);
		kfree(p);
		return 0;
	}
	handle = get_random_u64() << SCIF_FD_HANDLE_ID_BITS | id;
	p->handle = handle;
	list_add_tail(&p->node, &fd->parked);
	mutex_unlock(&scif_fd_accept_lock);
	return handle;
}

static long scif_fd_acceptreq(struct scif_fd *fd,
			      struct scifioctl_accept __user *uarg)
{
	struct scifioctl_accept req;
	struct scif_fd_parked *p;
	scif_epd_t newep;
	int err;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (req.flags & ~SCIF_ACCEPT_SYNC)
		return -EINVAL;
	mutex_lock(&scif_fd_accept_lock);
	err = fd->nparked >= SCIF_FD_MAX_PARKED ? -EMFILE : 0;
	if (!err)
		fd->nparked++;	/* reserve a slot */
	mutex_unlock(&scif_fd_accept_lock);
	if (err)
		return err;

	err = scif_fd_accept(fd, req.flags, &req.peer, &newep);
	if (err)
		goto unreserve;
	req.endpt = scif_fd_park(fd, newep);
	if (!req.endpt) {
		scif_close(newep);
		err = -ENOMEM;
		goto unreserve;
	}
	if (!copy_to_user(uarg, &req, sizeof(req)))
		return 0;

	/*
	 * Nobody was told the handle; unless it was guessed (and p is gone
	 * with it: compare the handle, not p), undo.
	 */
	mutex_lock(&scif_fd_accept_lock);
	p = xa_load(&scif_fd_parked, req.endpt & SCIF_FD_HANDLE_ID_MASK);
	if (p && p->handle == req.endpt) {
		scif_fd_unpark(p);
		mutex_unlock(&scif_fd_accept_lock);
		scif_close(newep);
		kfree(p);
	} else {
		mutex_unlock(&scif_fd_accept_lock);
	}
	return -EFAULT;

unreserve:
	mutex_lock(&scif_fd_accept_lock);
	fd->nparked--;
	mutex_unlock(&scif_fd_accept_lock);
	return err;
}

static long scif_fd_acceptreg(struct scif_fd *fd, u64 __user *uarg)
{
	struct scif_fd_parked *p;
	struct scif_endpt *old;
	u64 handle;

	if (get_user(handle, uarg))
		return -EFAULT;
	mutex_lock(&scif_fd_accept_lock);
	p = xa_load(&scif_fd_parked, handle & SCIF_FD_HANDLE_ID_MASK);
	if (!p || p->handle != handle) {
		mutex_unlock(&scif_fd_accept_lock);
		return -EINVAL;
	}
	spin_lock(&fd->lock);
	if (fd->used) {
		spin_unlock(&fd->lock);
		mutex_unlock(&scif_fd_accept_lock);
		return -EINVAL;
	}
	old = fd->ep;
	fd->ep = p->ep;
	fd->used = true;
	spin_unlock(&fd->lock);
	scif_fd_unpark(p);
	mutex_unlock(&scif_fd_accept_lock);

	scif_close(old);
	kfree(p);
	return 0;
}

/* One piece of a send or receive: bytes moved or an error. */
static int scif_fd_xfer_chunk(struct scif_endpt *ep, void *buf,
			      void __user *ubuf, int len, int flags, bool send)
{
	int ret;

	if (send) {
		if (copy_from_user(buf, ubuf, len))
			return -EFAULT;
		return scif_send(ep, buf, len, flags);
	}
	ret = scif_recv(ep, buf, len, flags);
	if (ret > 0 && copy_to_user(ubuf, buf, ret))
		return -EFAULT;
	return ret;
}

static int scif_fd_xfer(struct scif_endpt *ep, struct scifioctl_msg *req,
			bool send)
{
	void __user *ubuf = u64_to_user_ptr(req->msg);
	int done = 0, ret = 0, len;
	void *buf;

	buf = kvmalloc(min(req->len, SCIF_FD_CHUNK), GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	while (done < req->len) {
		len = min(req->len - done, SCIF_FD_CHUNK);
		ret = scif_fd_xfer_chunk(ep, buf, ubuf + done, len, req->flags,
					 send);
		if (ret <= 0)
			break;
		done += ret;
		if (ret < len)
			break;	/* non-blocking, or interrupted */
	}
	kvfree(buf);
	/* Bytes that moved are reported; the error shows on the next call. */
	return done ? done : ret;
}

static long scif_fd_msg(struct scif_fd *fd, struct scifioctl_msg __user *uarg,
			bool send)
{
	struct mutex *lock = send ? &fd->send_mutex : &fd->recv_mutex;
	struct scif_endpt *ep = scif_fd_ep(fd);
	struct scifioctl_msg req;
	int ret;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (req.len < 0 || (req.flags & ~SCIF_SEND_BLOCK))
		return -EINVAL;
	if (!req.len)
		return put_user(0, &uarg->out_len);
	ret = mutex_lock_interruptible(lock);
	if (ret)
		return ret;
	ret = scif_fd_xfer(ep, &req, send);
	mutex_unlock(lock);
	if (ret < 0)
		return ret;
	return put_user(ret, &uarg->out_len);
}

static long scif_fd_node_ids(struct scifioctl_node_ids __user *uarg)
{
	struct scifioctl_node_ids req;
	int room, online;
	long ret = 0;
	u16 *nodes;
	u16 self;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (req.len < 0)
		return -EINVAL;
	room = min(req.len, SCIF_MAX_NODES);
	nodes = kcalloc(SCIF_MAX_NODES, sizeof(*nodes), GFP_KERNEL);
	if (!nodes)
		return -ENOMEM;
	online = scif_get_node_ids(nodes, room, &self);
	req.len = online;
	if (copy_to_user(u64_to_user_ptr(req.nodes), nodes,
			 min(online, room) * sizeof(*nodes)) ||
	    put_user(self, (u16 __user *)u64_to_user_ptr(req.self)) ||
	    copy_to_user(uarg, &req, sizeof(req)))
		ret = -EFAULT;
	kfree(nodes);
	return ret;
}

static long scif_fd_ioctl(struct file *file, unsigned int cmd,
			  unsigned long arg)
{
	struct scif_fd *fd = file->private_data;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case SCIF_BIND:
		return scif_fd_bind(fd, uarg);
	case SCIF_LISTEN:
		return scif_listen(scif_fd_ep(fd), (int)arg);
	case SCIF_CONNECT:
		return scif_fd_connect(fd, uarg);
	case SCIF_ACCEPTREQ:
		return scif_fd_acceptreq(fd, uarg);
	case SCIF_ACCEPTREG:
		return scif_fd_acceptreg(fd, uarg);
	case SCIF_SEND:
		return scif_fd_msg(fd, uarg, true);
	case SCIF_RECV:
		return scif_fd_msg(fd, uarg, false);
	case SCIF_GET_NODEIDS:
		return scif_fd_node_ids(uarg);
	default:
		return scif_fd_rma_ioctl(scif_fd_ep(fd), cmd, arg);
	}
}

static int scif_fd_mmap_op(struct file *file, struct vm_area_struct *vma)
{
	return scif_fd_mmap(file, scif_fd_ep(file->private_data), vma);
}

static __poll_t scif_fd_poll(struct file *file, poll_table *wait)
{
	struct scif_endpt *ep = scif_fd_ep(file->private_data);
	short events = mangle_poll(poll_requested_events(wait));

	poll_wait(file, &ep->wq, wait);
	/*
	 * Only the pass of poll()/select() that registers may poll the rings
	 * (scif_msg.c): not the passes after a wake-up, not epoll's checks.
	 */
	return demangle_poll(scif_ep_spin_mask(ep, events,
					       wait && wait->_qproc));
}

/*
 * close() from the task that waits in accept (another thread of it, as
 * the fd is shared) must not leave that thread blocked for ever.
 */
static int scif_fd_flush(struct file *file, fl_owner_t id)
{
	struct scif_fd *fd = file->private_data;
	struct scif_endpt *ep;

	if (!id || READ_ONCE(fd->accept_owner) != id)
		return 0;
	atomic_inc(&fd->flush_gen);
	spin_lock(&fd->lock);
	ep = fd->ep;
	spin_unlock(&fd->lock);
	wake_up(&ep->wq);
	return 0;
}

static int scif_fd_open(struct inode *inode, struct file *file)
{
	struct scif_fd *fd = kzalloc(sizeof(*fd), GFP_KERNEL);

	if (!fd)
		return -ENOMEM;
	fd->ep = scif_open();
	if (!fd->ep) {
		kfree(fd);
		return -ENOMEM;
	}
	spin_lock_init(&fd->lock);
	mutex_init(&fd->send_mutex);
	mutex_init(&fd->recv_mutex);
	INIT_LIST_HEAD(&fd->parked);
	atomic_set(&fd->flush_gen, 0);
	file->private_data = fd;
	return nonseekable_open(inode, file);
}

static int scif_fd_release(struct inode *inode, struct file *file)
{
	struct scif_fd *fd = file->private_data;
	struct scif_fd_parked *p, *tmp;
	LIST_HEAD(orphans);

	mutex_lock(&scif_fd_accept_lock);
	list_for_each_entry_safe(p, tmp, &fd->parked, node) {
		scif_fd_unpark(p);
		list_add_tail(&p->node, &orphans);
	}
	mutex_unlock(&scif_fd_accept_lock);
	list_for_each_entry_safe(p, tmp, &orphans, node) {
		scif_close(p->ep);
		kfree(p);
	}
	scif_close(fd->ep);
	mutex_destroy(&fd->send_mutex);
	mutex_destroy(&fd->recv_mutex);
	kfree(fd);
	return 0;
}

static const struct file_operations scif_fd_fops = {
	.owner = THIS_MODULE,
	.open = scif_fd_open,
	.release = scif_fd_release,
	.flush = scif_fd_flush,
	.unlocked_ioctl = scif_fd_ioctl,
	.poll = scif_fd_poll,
	.mmap = scif_fd_mmap_op,
};

/* Any user may open it: ports below 1024 still need CAP_SYS_ADMIN. */
static struct miscdevice scif_fd_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "scif",
	.fops = &scif_fd_fops,
	.mode = 0666,
};

/**
 * scif_file_epd() - the endpoint behind an open /dev/scif file
 * @file: any file
 *
 * For scif_test.ko, which reaches kernel-only calls on it.
 *
 * Return: the endpoint (valid while @file is held), or NULL when @file is
 * not a /dev/scif file.
 */
scif_epd_t scif_file_epd(struct file *file)
{
	if (file->f_op != &scif_fd_fops)
		return NULL;
	return scif_fd_ep(file->private_data);
}
EXPORT_SYMBOL_GPL(scif_file_epd);

/**
 * scif_fd_init() - create /dev/scif
 *
 * Return: 0 or a negative errno.
 */
int scif_fd_init(void)
{
	return misc_register(&scif_fd_dev);
}

/**
 * scif_fd_exit() - remove /dev/scif; no file can be open (module refs)
 */
void scif_fd_exit(void)
{
	misc_deregister(&scif_fd_dev);
	WARN_ON(!xa_empty(&scif_fd_parked));
}
