// SPDX-License-Identifier: GPL-2.0
/*
 * mic-regpoke: read, write or fuzz the register BAR of an x100 from user
 * space, through the PCI sysfs resource file, bypassing the driver.
 *
 * It exists for fault injection: the device model must survive any value
 * a guest writes (LOG_GUEST_ERROR and a defined reaction, never a crash).
 *
 *   mic-regpoke PCIDEV read OFFSET
 *   mic-regpoke PCIDEV write OFFSET VALUE
 *   mic-regpoke PCIDEV fuzz SEED COUNT [SKIP_OFFSET...]
 *
 * PCIDEV is a directory such as /sys/bus/pci/devices/0000:00:02.0; the
 * register window is its resource4.  Offsets are byte offsets into the
 * window and must be 4-byte aligned for read/write (fuzz also tries
 * unaligned and out-of-window offsets by design: those never reach the
 * device, the tool skips them itself because the mapping is 128 KiB).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define WINDOW_SIZE	0x20000u

static void usage(void)
{
	fprintf(stderr,
		"usage: mic-regpoke PCIDEV read OFFSET\n"
		"       mic-regpoke PCIDEV write OFFSET VALUE\n"
		"       mic-regpoke PCIDEV fuzz SEED COUNT [SKIP_OFFSET...]\n");
	exit(2);
}

static uint32_t parse_u32(const char *what, const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *s == '\0' || *end != '\0' || v > UINT32_MAX) {
		fprintf(stderr, "mic-regpoke: bad %s '%s'\n", what, s);
		exit(2);
	}
	return (uint32_t)v;
}

static uint32_t parse_offset(const char *s)
{
	uint32_t off = parse_u32("offset", s);

	if (off >= WINDOW_SIZE || (off & 3)) {
		fprintf(stderr,
			"mic-regpoke: offset 0x%x is not an aligned offset below 0x%x\n",
			off, WINDOW_SIZE);
		exit(2);
	}
	return off;
}

static volatile uint32_t *map_window(const char *dev)
{
	char path[4096];
	struct stat st;
	void *p;
	int fd;

	snprintf(path, sizeof(path), "%s/resource4", dev);
	fd = open(path, O_RDWR | O_SYNC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "mic-regpoke: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	if ((uint64_t)st.st_size < WINDOW_SIZE) {
		fprintf(stderr, "mic-regpoke: %s is %lld bytes, not a 128 KiB window\n",
			path, (long long)st.st_size);
		exit(1);
	}
	p = mmap(NULL, WINDOW_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		fprintf(stderr, "mic-regpoke: mmap %s: %s\n", path, strerror(errno));
		exit(1);
	}
	close(fd);
	return p;
}

/* xorshift32: reproducible garbage from a seed */
static uint32_t next_rand(uint32_t *s)
{
	uint32_t x = *s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*s = x;
	return x;
}

static int skipped(uint32_t off, char **skip, int nskip)
{
	for (int i = 0; i < nskip; i++)
		if (parse_offset(skip[i]) == off)
			return 1;
	return 0;
}

static void fuzz(volatile uint32_t *win, uint32_t seed, uint32_t count,
		 char **skip, int nskip)
{
	uint32_t s = seed ? seed : 1;
	uint32_t i, off, val;

	for (i = 0; i < count; i++) {
		off = next_rand(&s) % WINDOW_SIZE & ~3u;
		val = next_rand(&s);
		if (skipped(off, skip, nskip))
			continue;
		if (val & 1)
			(void)win[off / 4];
		else
			win[off / 4] = val;
	}
	printf("fuzzed %u accesses with seed %u\n", count, seed);
}

int main(int argc, char **argv)
{
	volatile uint32_t *win;
	uint32_t off;

	if (argc < 4)
		usage();
	if (!strcmp(argv[2], "read") && argc == 4) {
		off = parse_offset(argv[3]);
		win = map_window(argv[1]);
		printf("0x%08x\n", win[off / 4]);
	} else if (!strcmp(argv[2], "write") && argc == 5) {
		off = parse_offset(argv[3]);
		uint32_t val = parse_u32("value", argv[4]);

		win = map_window(argv[1]);
		win[off / 4] = val;
	} else if (!strcmp(argv[2], "fuzz") && argc >= 5) {
		uint32_t seed = parse_u32("seed", argv[3]);
		uint32_t count = parse_u32("count", argv[4]);

		win = map_window(argv[1]);
		fuzz(win, seed, count, argv + 5, argc - 5);
	} else {
		usage();
	}
	return 0;
}
