// SPDX-License-Identifier: GPL-2.0
/*
 * micemu SCIF: the RMA half of /dev/scif (facts §7.3, §7.8): SCIF_REG ...
 * SCIF_FENCE_SIGNAL, and mmap() of the peer's windows.
 *
 * mmap(fd, offset = a registered offset of the peer) maps the peer's
 * pages themselves: the host maps card pages through BAR0, a card maps
 * host pages through its SMPT window (hw op peer_phys). The mapping is
 * filled on fault, after looking the window up again, and every time a
 * remote window goes away (UNREGISTER, close, node loss) its range is
 * zapped from all mappings of /dev/scif before the peer is told it may
 * unpin the pages; later accesses fault with SIGBUS. The mapping needs
 * MAP_SHARED, and PROT_WRITE needs a window the peer registered writable.
 */
#define pr_fmt(fmt) "scif: " fmt

#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/uaccess.h>

#include "mic_compat.h"
#include "scif_main.h"

static long scif_fd_reg(struct scif_endpt *ep, struct scifioctl_reg __user *u)
{
	struct scifioctl_reg req;
	off_t off;

	if (copy_from_user(&req, u, sizeof(req)))
		return -EFAULT;
	/* Kernel addresses are for kernel callers only (facts §7.3). */
	if (req.flags & SCIF_MAP_KERNEL)
		return -EINVAL;
	off = scif_register(ep, u64_to_user_ptr(req.addr), req.len,
			    req.offset, req.prot, req.flags);
	if (off < 0)
		return off;
	if (put_user(off, &u->out_offset)) {
		scif_unregister(ep, off, req.len);
		return -EFAULT;
	}
	return 0;
}

static long scif_fd_unreg(struct scif_endpt *ep,
			  struct scifioctl_unreg __user *u)
{
	struct scifioctl_unreg req;

	if (copy_from_user(&req, u, sizeof(req)))
		return -EFAULT;
	return scif_unregister(ep, req.offset, req.len);
}

static long scif_fd_copy(struct scif_endpt *ep, unsigned int cmd,
			 struct scifioctl_copy __user *u)
{
	struct scifioctl_copy req;
	void __user *addr;

	if (copy_from_user(&req, u, sizeof(req)))
		return -EFAULT;
	addr = u64_to_user_ptr(req.addr);
	switch (cmd) {
	case SCIF_READFROM:
		return scif_readfrom(ep, req.loffset, req.len, req.roffset,
				     req.flags);
	case SCIF_WRITETO:
		return scif_writeto(ep, req.loffset, req.len, req.roffset,
				    req.flags);
	}
	/* A user address must never pass for a kernel one. */
	if (!req.addr || !access_ok(addr, req.len))
		return -EFAULT;
	if (cmd == SCIF_VREADFROM)
		return scif_vreadfrom(ep, (void __force *)addr, req.len,
				      req.roffset, req.flags);
	return scif_vwriteto(ep, (void __force *)addr, req.len, req.roffset,
			     req.flags);
}

static long scif_fd_fence_mark(struct scif_endpt *ep,
			       struct scifioctl_fence_mark __user *u)
{
	struct scifioctl_fence_mark req;
	int mark, err;

	if (copy_from_user(&req, u, sizeof(req)))
		return -EFAULT;
	err = scif_fence_mark(ep, req.flags, &mark);
	if (err)
		return err;
	return put_user(mark, (int __user *)u64_to_user_ptr(req.mark));
}

static long scif_fd_fence_signal(struct scif_endpt *ep,
				 struct scifioctl_fence_signal __user *u)
{
	struct scifioctl_fence_signal req;

	if (copy_from_user(&req, u, sizeof(req)))
		return -EFAULT;
	return scif_fence_signal(ep, req.loff, req.lval, req.roff, req.rval,
				 req.flags);
}

/**
 * scif_fd_rma_ioctl() - the RMA ioctls of /dev/scif
 * @ep: the file's endpoint
 * @cmd: ioctl number
 * @arg: argument
 *
 * Return: the call's result, or -ENOTTY for other numbers.
 */
long scif_fd_rma_ioctl(struct scif_endpt *ep, unsigned int cmd,
		       unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case SCIF_REG:
		return scif_fd_reg(ep, uarg);
	case SCIF_UNREG:
		return scif_fd_unreg(ep, uarg);
	case SCIF_READFROM:
	case SCIF_WRITETO:
	case SCIF_VREADFROM:
	case SCIF_VWRITETO:
		return scif_fd_copy(ep, cmd, uarg);
	case SCIF_FENCE_MARK:
		return scif_fd_fence_mark(ep, uarg);
	case SCIF_FENCE_WAIT:
		return scif_fence_wait(ep, (int)arg);
	case SCIF_FENCE_SIGNAL:
		return scif_fd_fence_signal(ep, uarg);
	default:
		return -ENOTTY;
	}
}

static void scif_vma_open(struct vm_area_struct *vma)
{
	kref_get(&((struct scif_endpt *)vma->vm_private_data)->ref);
}

static void scif_vma_close(struct vm_area_struct *vma)
{
	scif_ep_put(vma->vm_private_data);
}

/* The CPU physical address of a page of a remote window, or 0. */
static phys_addr_t scif_rwin_page_phys(struct scif_dev *dev,
				       struct scif_window *w, s64 off)
{
	u64 addr = w->addr[(off - w->offset) >> PAGE_SHIFT];

	if (!scif_link_up(dev))
		return 0;
	if (dev->self)
		return addr;
	if (!dev->sdev || !dev->sdev->ops->peer_phys)
		return 0;
	return dev->sdev->ops->peer_phys(dev->sdev, addr, PAGE_SIZE);
}

static vm_fault_t scif_vma_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct scif_endpt *ep = vma->vm_private_data;
	s64 off = (s64)vmf->pgoff << PAGE_SHIFT;
	int prot = SCIF_PROT_READ;
	vm_fault_t ret = VM_FAULT_SIGBUS;
	struct scif_window *w;
	phys_addr_t pa;

	if (vma->vm_flags & VM_WRITE)
		prot |= SCIF_PROT_WRITE;
	if (scif_ep_state(ep) != SCIFEP_CONNECTED)
		return VM_FAULT_SIGBUS;
	/* Inserted under the lock: a window removed later zaps it again. */
	down_read(&ep->rma.sem);
	list_for_each_entry(w, &ep->rma.rwindows, list) {
		if (off < w->offset ||
		    off >= w->offset + (s64)(w->nr_pages << PAGE_SHIFT))
			continue;
		if ((w->prot & prot) != prot)
			break;
		pa = scif_rwin_page_phys(ep->remote_dev, w, off);
		if (pa)
			ret = vmf_insert_pfn(vma, vmf->address, PHYS_PFN(pa));
		break;
	}
	up_read(&ep->rma.sem);
	return ret;
}

static const struct vm_operations_struct scif_vm_ops = {
	.open = scif_vma_open,
	.close = scif_vma_close,
	.fault = scif_vma_fault,
};

/**
 * scif_fd_mmap() - map a range of the peer's registered space
 * @file: the /dev/scif file
 * @ep: its endpoint
 * @vma: the new mapping; vm_pgoff is the peer's registered offset
 *
 * Return: 0, -EINVAL (not MAP_SHARED), -ENXIO (range not registered by
 * the peer), -EACCES (protection), -ENOTCONN, -ECONNRESET, -ENODEV.
 */
int scif_fd_mmap(struct file *file, struct scif_endpt *ep,
		 struct vm_area_struct *vma)
{
	s64 off = (s64)vma->vm_pgoff << PAGE_SHIFT;
	size_t len = vma->vm_end - vma->vm_start;
	struct scif_window *w;
	s64 cur = off;
	int err;

	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	if (vma->vm_pgoff > SCIF_RMA_MAX_OFFSET >> PAGE_SHIFT)
		return -ENXIO;
	err = scif_rma_verify_ep(ep);
	if (err)
		return err;
	down_read(&ep->rma.sem);
	err = -ENXIO;
	list_for_each_entry(w, &ep->rma.rwindows, list) {
		s64 end = w->offset + (s64)(w->nr_pages << PAGE_SHIFT);

		if (end <= cur)
			continue;
		if (w->offset > cur)
			break;
		if (((vma->vm_flags & VM_READ) && !(w->prot & SCIF_PROT_READ)) ||
		    ((vma->vm_flags & VM_WRITE) && !(w->prot & SCIF_PROT_WRITE))) {
			err = -EACCES;
			break;
		}
		cur = end;
		if (cur >= off + (s64)len) {
			err = 0;
			break;
		}
	}
	/* Zapping uses the file's mapping: remember it for the endpoint. */
	if (!err)
		WRITE_ONCE(ep->rma.mapping, file->f_mapping);
	up_read(&ep->rma.sem);
	if (err)
		return err;
	vm_flags_set(vma, VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP |
		     VM_DONTCOPY);
	vma->vm_page_prot = pgprot_writecombine(vma->vm_page_prot);
	vma->vm_ops = &scif_vm_ops;
	vma->vm_private_data = ep;
	kref_get(&ep->ref);
	return 0;
}
