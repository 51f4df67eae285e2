// SPDX-License-Identifier: GPL-2.0
/*
 * vop-serve: a minimal VOP back end for tests, on /dev/vop_virtioN.
 *
 * Adds one virtio device (MIC_VIRTIO_ADD_DEVICE) to a card, checks the
 * read-only mapping of the device page and vrings (the entry is there,
 * each vring's magic is MAGIC + type + index), then serves every vring:
 * after each poll() wake-up (or every 200 ms) it calls
 * MIC_VIRTIO_COPY_DESC with a 64 KiB buffer holding a pattern, so that
 * readable card buffers land in the buffer and writable ones get the
 * pattern, and prints one line per chain:
 *
 *   vq 0: 4096 bytes, fnv 0x1234abcd
 *   vq 1: error Input/output error
 *
 * The pattern byte k is (k * 7 + seed) & 0xff; fnv is the 32-bit FNV-1a
 * hash of the bytes copied. Runs until SIGTERM/SIGINT or -x seconds, then
 * closes the file (the driver removes the device).
 *
 *   vop-serve [-c card] [-t type] [-q vrings] [-n entries] [-f features]
 *             [-s seed] [-x seconds]
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <poll.h>

#include "../shared-module/include/uapi/mic_vop.h"

#define BUF_SIZE	(64 * 1024)
#define DP_SIZE		4096
#define PAGE		4096

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint32_t fnv1a(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;

	while (n--) {
		h ^= *p++;
		h *= 16777619u;
	}
	return h;
}

static size_t ring_len(unsigned int num)
{
	size_t info = mic_vop_vring_info_offset(num);

	return (info + sizeof(struct mic_vop_vring_info) + PAGE - 1) &
	       ~(size_t)(PAGE - 1);
}

/* Find our entry in the mapped device page and check each vring magic. */
static int check_mapping(const uint8_t *map, int type, int nvq,
			 unsigned int num)
{
	unsigned int off = MIC_VOP_DESC_START, size;
	const struct mic_vop_desc *d;
	const struct mic_vop_vring_info *info;
	size_t pos = DP_SIZE;
	int i;

	while (off + sizeof(*d) <= DP_SIZE) {
		d = (const void *)(map + off);
		if (d->type == 0)
			break;
		size = mic_vop_entry_size(d->num_vq, d->feature_len,
					  d->config_len);
		if (d->type == type) {
			printf("mmap: entry type %d at %u, %u vrings\n", type,
			       off, d->num_vq);
			for (i = 0; i < nvq; i++) {
				info = (const void *)(map + pos +
						      mic_vop_vring_info_offset(num));
				if (info->magic != MIC_VOP_VRING_MAGIC + type + i) {
					printf("mmap: vring %d magic %#x, want %#x\n",
					       i, info->magic,
					       MIC_VOP_VRING_MAGIC + type + i);
					return -1;
				}
				pos += ring_len(num);
			}
			printf("mmap: vring magics ok\n");
			return 0;
		}
		off += size;
	}
	printf("mmap: no entry of type %d in the device page\n", type);
	return -1;
}

int main(int argc, char **argv)
{
	int card = 0, type = 127, nvq = 2, seed = 1, secs = 0, opt, fd, i, k;
	int last_err[MIC_VOP_MAX_VRINGS] = { 0 };
	unsigned int num = 128, features = 0;
	struct {
		struct mic_vop_desc d;
		struct mic_vop_vqconfig vq[MIC_VOP_MAX_VRINGS];
		uint32_t features[2];
	} entry;
	struct mic_vop_copy copy;
	static uint8_t buf[BUF_SIZE];
	struct iovec iov;
	struct pollfd pfd;
	char path[64];
	time_t end;
	uint8_t *map;
	size_t maplen;

	while ((opt = getopt(argc, argv, "c:t:q:n:f:s:x:")) != -1) {
		switch (opt) {
		case 'c': card = atoi(optarg); break;
		case 't': type = atoi(optarg); break;
		case 'q': nvq = atoi(optarg); break;
		case 'n': num = strtoul(optarg, NULL, 0); break;
		case 'f': features = strtoul(optarg, NULL, 0); break;
		case 's': seed = atoi(optarg); break;
		case 'x': secs = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: vop-serve [-c card] [-t type] [-q vrings] [-n entries] [-f features] [-s seed] [-x seconds]\n");
			return 2;
		}
	}
	if (nvq < 1 || nvq > MIC_VOP_MAX_VRINGS) {
		fprintf(stderr, "vop-serve: 1 to %d vrings\n", MIC_VOP_MAX_VRINGS);
		return 2;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	setvbuf(stdout, NULL, _IOLBF, 0);

	snprintf(path, sizeof(path), "/dev/vop_virtio%d", card);
	fd = open(path, O_RDWR);
	if (fd < 0) {
		printf("open %s: %s\n", path, strerror(errno));
		return 1;
	}
	memset(&entry, 0, sizeof(entry));
	entry.d.type = type;
	entry.d.num_vq = nvq;
	entry.d.feature_len = 4;
	entry.d.config_len = 0;
	for (i = 0; i < nvq; i++)
		entry.vq[i].num = num;
	/* Offered features right after the vqconfigs, then accepted ones. */
	memcpy(&entry.vq[nvq], &features, 4);
	memset((uint8_t *)&entry.vq[nvq] + 4, 0, 4);
	if (ioctl(fd, MIC_VIRTIO_ADD_DEVICE, &entry) < 0) {
		printf("add: %s\n", strerror(errno));
		return 1;
	}
	printf("add: type %d, %d vrings of %u on %s\n", type, nvq, num, path);

	maplen = DP_SIZE + nvq * ring_len(num);
	map = mmap(NULL, maplen, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		printf("mmap: %s\n", strerror(errno));
		return 1;
	}
	if (check_mapping(map, type, nvq, num))
		return 1;
	if (mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) !=
	    MAP_FAILED)
		printf("mmap: writable mapping allowed\n");

	end = secs ? time(NULL) + secs : 0;
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (!stop && (!end || time(NULL) < end)) {
		poll(&pfd, 1, 200);
		for (i = 0; i < nvq; i++) {
			for (;;) {
				for (k = 0; k < BUF_SIZE; k++)
					buf[k] = (uint8_t)(k * 7 + seed);
				iov.iov_base = buf;
				iov.iov_len = BUF_SIZE;
				memset(&copy, 0, sizeof(copy));
				copy.iov = (uintptr_t)&iov;
				copy.iovcnt = 1;
				copy.vr_idx = i;
				copy.update_used = 1;
				if (ioctl(fd, MIC_VIRTIO_COPY_DESC, &copy) < 0) {
					/* Each error once, until it changes. */
					if (errno != last_err[i])
						printf("vq %d: error %s\n", i,
						       strerror(errno));
					last_err[i] = errno;
					break;
				}
				last_err[i] = 0;
				if (!copy.out_len)
					break;
				printf("vq %d: %u bytes, fnv %#010x\n", i,
				       copy.out_len, fnv1a(buf, copy.out_len));
			}
		}
		if (pfd.revents & POLLERR)
			usleep(200000);
	}
	printf("closing\n");
	munmap(map, maplen);
	close(fd);
	printf("closed\n");
	return 0;
}
