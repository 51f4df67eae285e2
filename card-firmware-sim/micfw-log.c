// SPDX-License-Identifier: GPL-2.0
/*
 * micfw event log: one line per event the board sees or makes.
 *
 *   2026-11-25T20:31:02.123456Z +1234ms boot-kick image=7012352B ...
 *
 * Wall-clock time lets the test harness line the log up with the consoles
 * of the host and card VMs; the monotonic offset from micfw's start is
 * what to use for durations (it never jumps).  The first word is the
 * event name, the rest is key=value with quoted strings.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "micfw.h"

static FILE *log_fp;
static gint64 log_t0;

bool micfw_log_open(const char *path, GError **err)
{
	log_t0 = g_get_monotonic_time();
	if (!path || !*path) {
		log_fp = stderr;
		return true;
	}
	log_fp = fopen(path, "ae");
	if (!log_fp) {
		int e = errno;

		g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(e),
			    "cannot open event log %s: %s", path, g_strerror(e));
		log_fp = stderr;
		return false;
	}
	/* a test may read the log while we run: never hold lines back */
	setvbuf(log_fp, NULL, _IOLBF, 0);
	return true;
}

void micfw_log_close(void)
{
	if (log_fp && log_fp != stderr)
		fclose(log_fp);
	log_fp = NULL;
}

void micfw_event(const char *fmt, ...)
{
	gint64 now = g_get_real_time();
	gint64 mono_ms = (g_get_monotonic_time() - log_t0) / 1000;
	time_t secs = (time_t)(now / G_USEC_PER_SEC);
	char stamp[32];
	struct tm tm;
	FILE *fp = log_fp ? log_fp : stderr;
	va_list ap;

	gmtime_r(&secs, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(fp, "%s.%06ldZ +%" G_GINT64_FORMAT "ms ", stamp,
		(long)(now % G_USEC_PER_SEC), mono_ms);
	va_start(ap, fmt);
	vfprintf(fp, fmt, ap);
	va_end(ap);
	fputc('\n', fp);
	fflush(fp);
}

/*
 * Quote a string for the log.  Guest-controlled text (the card command
 * line, QEMU's stderr) must not be able to forge log lines, so control
 * characters and quotes come out escaped.
 */
char *micfw_quote(const char *s)
{
	g_autofree char *esc = g_strescape(s ? s : "", NULL);

	return g_strdup_printf("\"%s\"", esc);
}
