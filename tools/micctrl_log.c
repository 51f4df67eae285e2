// SPDX-License-Identifier: GPL-2.0
/*
 * micctrl log micN [--raw]: print a card's kernel log.
 *
 * mic_cosm reads the card's log buffer through the aperture and offers it
 * as debugfs mic_cosm/micN/log_buf, once log_buf_addr and log_buf_len name
 * the card kernel's "__log_buf" and "log_buf_len" (facts §4.5, §8.4).
 * When they are unset we take them from the card kernel's System.map, as
 * mpssd does.
 *
 * Since Linux 5.10 the buffer is the data ring of the printk ring buffer:
 * 8-byte aligned blocks, each an unsigned long descriptor id followed by
 * the text of one record (no newline, no timestamp; those live in the
 * descriptor ring, which we cannot see). Without --raw we print each
 * record's text on a line of its own; telling ids from text is a
 * heuristic, good enough for a log that has not wrapped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "micctrl.h"

/* mic_cosm refuses larger buffers. */
#define LOG_MAX		(16u << 20)

static const char *env_or(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v && *v ? v : def;
}

/*
 * The attributes print with %p: all zeros while unset; otherwise a hashed
 * value, or "(____ptrval____)" early after boot.
 */
static bool attr_unset(const char *card, const char *attr)
{
	char value[VALUE_MAX];

	if (read_attr(card, attr, value, sizeof(value)))
		return true;
	return !value[strspn(value, "0")];
}

/* Fill log_buf_addr/log_buf_len from System.map. */
static int set_log_buf_info(const char *card)
{
	const char *map = env_or("MICCTRL_SYSTEM_MAP",
				 "/lib/firmware/mic/System.map");
	char line[512], addr[2][32] = { "", "" }, sym[256], type[8], a[32];
	FILE *f;

	f = fopen(map, "r");
	if (!f) {
		err_msg("%s: log_buf_addr/log_buf_len not set and %s: %s",
			card, map, strerror(errno));
		return 1;
	}
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%31s %7s %255s", a, type, sym) != 3)
			continue;
		if (!strcmp(sym, "__log_buf"))
			snprintf(addr[0], sizeof(addr[0]), "%s", a);
		else if (!strcmp(sym, "log_buf_len"))
			snprintf(addr[1], sizeof(addr[1]), "%s", a);
	}
	fclose(f);
	if (!*addr[0] || !*addr[1]) {
		err_msg("%s: no __log_buf or log_buf_len in %s", card, map);
		return 1;
	}
	if (write_attr(card, "log_buf_addr", addr[0], "log_buf_addr") ||
	    write_attr(card, "log_buf_len", addr[1], "log_buf_len"))
		return 1;
	return 0;
}

/* Reads the whole debugfs file; returns its length or -1. */
static ssize_t read_log(const char *card, char **bufp)
{
	char path[PATH_MAX], *buf;
	size_t len = 0, size = 65536;
	ssize_t n = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/mic_cosm/%s/log_buf",
		 env_or("MICCTRL_DEBUGFS", "/sys/kernel/debug"), card);
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		err_msg("%s: %s", path, strerror(errno));
		return -1;
	}
	buf = malloc(size);
	while (buf) {
		n = read(fd, buf + len, size - len);
		if (n <= 0) {
			if (n < 0)
				err_msg("%s: %s", path, strerror(errno));
			break;
		}
		len += n;
		if (len == size && size <= LOG_MAX) {
			char *bigger = realloc(buf, size * 2);

			if (!bigger)
				break;
			buf = bigger;
			size *= 2;
		}
	}
	close(fd);
	if (!buf || n < 0) {
		if (!buf)
			err_msg("out of memory");
		free(buf);
		return -1;
	}
	*bufp = buf;
	return len;
}

/* Bytes of log text as far as telling it from an id goes. */
static bool is_text(unsigned char c)
{
	return (c >= 0x20 && c < 0x7f) || c == '\t' || c == '\n';
}

/* The last word of a record: text, then zeroed padding. */
static bool is_text_tail(const unsigned char *w)
{
	int i = 0;

	while (i < 8 && is_text(w[i]))
		i++;
	if (!i)
		return false;
	while (i < 8 && !w[i])
		i++;
	return i == 8;
}

/*
 * A descriptor id (or unused, zeroed space): ids keep their top two bits
 * clear and always have a byte that is not text; a word of text rarely
 * has both, unless it ends a record.
 */
static bool is_id(const unsigned char *w)
{
	int i;

	if ((w[7] != 0x00 && w[7] != 0x3f) || is_text_tail(w))
		return false;
	for (i = 0; i < 8; i++)
		if (!is_text(w[i]))
			return true;
	return false;
}

static void print_records(const unsigned char *buf, size_t len)
{
	size_t pos = 0, start, end, n;

	while (pos + 8 <= len) {
		if (!is_id(buf + pos)) {
			pos += 8;
			continue;
		}
		start = pos + 8;
		for (end = start; end + 8 <= len && !is_id(buf + end); end += 8)
			;
		if (end + 8 > len)
			end = len;
		/* Padding after the text is zeroed while the ring is fresh. */
		n = strnlen((const char *)buf + start, end - start);
		if (n) {
			fwrite(buf + start, 1, n, stdout);
			if (buf[start + n - 1] != '\n')
				putchar('\n');
		}
		pos = end;
	}
}

int cmd_log(int argc, char **argv)
{
	const char *card_arg = NULL;
	char name[NAME_MAX_LEN], *buf;
	bool raw = false;
	ssize_t len;
	int i, rc;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--raw"))
			raw = true;
		else if (argv[i][0] == '-' && argv[i][1])
			return usage_error("log: unknown option '%s'", argv[i]);
		else if (card_arg)
			return usage_error("log: unexpected argument '%s'",
					   argv[i]);
		else
			card_arg = argv[i];
	}
	if (!card_arg)
		return usage_error("log: no card given");
	rc = check_cards(1, (char **)&card_arg);
	if (rc)
		return rc;
	card_name(card_arg, name);
	if ((attr_unset(name, "log_buf_addr") ||
	     attr_unset(name, "log_buf_len")) && set_log_buf_info(name))
		return 1;
	len = read_log(name, &buf);
	if (len < 0)
		return 1;
	if (!len) {
		err_msg("%s: empty log (card not running, or wrong log_buf_addr/log_buf_len)",
			name);
		free(buf);
		return 1;
	}
	if (raw)
		fwrite(buf, 1, len, stdout);
	else
		print_records((const unsigned char *)buf, len);
	free(buf);
	return 0;
}
