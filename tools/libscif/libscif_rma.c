// SPDX-License-Identifier: GPL-2.0
/*
 * micemu libscif: remote memory access (facts §7.2, §7.3) as ioctls and
 * mmap on /dev/scif. Errors: -1 (SCIF_REGISTER_FAILED, SCIF_MMAP_FAILED)
 * with errno set to the kernel's error.
 */
#include <errno.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "scif.h"
#include "../../shared-module/include/uapi/scif_ioctl.h"

off_t scif_register(scif_epd_t epd, void *addr, size_t len, off_t offset,
		    int prot_flags, int map_flags)
{
	struct scifioctl_reg req = {
		.addr = (uintptr_t)addr,
		.len = len,
		.offset = offset,
		.prot = prot_flags,
		.flags = map_flags,
	};

	if (ioctl(epd, SCIF_REG, &req) < 0)
		return SCIF_REGISTER_FAILED;
	return req.out_offset;
}

int scif_unregister(scif_epd_t epd, off_t offset, size_t len)
{
	struct scifioctl_unreg req = { .offset = offset, .len = len };

	return ioctl(epd, SCIF_UNREG, &req) < 0 ? -1 : 0;
}

static int scif_copy(scif_epd_t epd, unsigned long cmd, off_t loffset,
		     void *addr, size_t len, off_t roffset, int rma_flags)
{
	struct scifioctl_copy req = {
		.loffset = loffset,
		.len = len,
		.roffset = roffset,
		.addr = (uintptr_t)addr,
		.flags = rma_flags,
	};

	return ioctl(epd, cmd, &req) < 0 ? -1 : 0;
}

int scif_readfrom(scif_epd_t epd, off_t loffset, size_t len, off_t roffset,
		  int rma_flags)
{
	return scif_copy(epd, SCIF_READFROM, loffset, NULL, len, roffset,
			 rma_flags);
}

int scif_writeto(scif_epd_t epd, off_t loffset, size_t len, off_t roffset,
		 int rma_flags)
{
	return scif_copy(epd, SCIF_WRITETO, loffset, NULL, len, roffset,
			 rma_flags);
}

int scif_vreadfrom(scif_epd_t epd, void *addr, size_t len, off_t roffset,
		   int rma_flags)
{
	return scif_copy(epd, SCIF_VREADFROM, 0, addr, len, roffset,
			 rma_flags);
}

int scif_vwriteto(scif_epd_t epd, void *addr, size_t len, off_t roffset,
		  int rma_flags)
{
	return scif_copy(epd, SCIF_VWRITETO, 0, addr, len, roffset,
			 rma_flags);
}

int scif_fence_mark(scif_epd_t epd, int flags, int *mark)
{
	struct scifioctl_fence_mark req = {
		.flags = flags,
		.mark = (uintptr_t)mark,
	};

	return ioctl(epd, SCIF_FENCE_MARK, &req) < 0 ? -1 : 0;
}

int scif_fence_wait(scif_epd_t epd, int mark)
{
	return ioctl(epd, SCIF_FENCE_WAIT, mark) < 0 ? -1 : 0;
}

int scif_fence_signal(scif_epd_t epd, off_t loff, uint64_t lval, off_t roff,
		      uint64_t rval, int flags)
{
	struct scifioctl_fence_signal req = {
		.loff = loff,
		.lval = lval,
		.roff = roff,
		.rval = rval,
		.flags = flags,
	};

	return ioctl(epd, SCIF_FENCE_SIGNAL, &req) < 0 ? -1 : 0;
}

/* SCIF_PROT_* have PROT_*'s values; SCIF_MAP_FIXED is MAP_FIXED. */
void *scif_mmap(void *addr, size_t len, int prot_flags, int map_flags,
		scif_epd_t epd, off_t offset)
{
	if ((prot_flags & ~(SCIF_PROT_READ | SCIF_PROT_WRITE)) ||
	    (map_flags & ~SCIF_MAP_FIXED)) {
		errno = EINVAL;
		return SCIF_MMAP_FAILED;
	}
	return mmap(addr, len, prot_flags,
		    MAP_SHARED | (map_flags & SCIF_MAP_FIXED ? MAP_FIXED : 0),
		    epd, offset);
}

int scif_munmap(void *addr, size_t len)
{
	return munmap(addr, len);
}
