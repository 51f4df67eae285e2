// SPDX-License-Identifier: GPL-2.0
/*
 * micfw: unix listening sockets and short I/O helpers.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "micfw.h"

static bool fill_addr(struct sockaddr_un *sa, const char *path, GError **err)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path)) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FILENAME_TOO_LONG,
			    "socket path too long (max %zu bytes): %s",
			    sizeof(sa->sun_path) - 1, path);
		return false;
	}
	strcpy(sa->sun_path, path);
	return true;
}

/*
 * A socket file left behind by a micfw that was SIGKILLed is removed; one
 * that somebody still listens on is an error (two boards on one path
 * would steal each other's connections), as is any other kind of file.
 */
static bool clear_stale(const struct sockaddr_un *sa, GError **err)
{
	struct stat st;
	int fd, rc;

	if (lstat(sa->sun_path, &st) < 0)
		return true;
	if (!S_ISSOCK(st.st_mode)) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_EXISTS,
			    "%s exists and is not a socket", sa->sun_path);
		return false;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return true;
	rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	close(fd);
	if (rc == 0) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE,
			    "%s is in use by another process", sa->sun_path);
		return false;
	}
	unlink(sa->sun_path);
	return true;
}

int micfw_unix_listen(const char *path, GError **err)
{
	struct sockaddr_un sa;
	int fd;

	if (!fill_addr(&sa, path, err) || !clear_stale(&sa, err))
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 16) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		goto fail;
	}
	return fd;
fail:
	g_set_error(err, G_IO_ERROR, g_io_error_from_errno(errno),
		    "cannot listen on %s: %s", path, g_strerror(errno));
	return -1;
}

bool micfw_write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= n;
	}
	return true;
}

bool micfw_pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	char *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= n;
		off += n;
	}
	return true;
}
