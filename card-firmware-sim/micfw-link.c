// SPDX-License-Identifier: GPL-2.0
/*
 * micfw link: the unix socket the device models connect to (mic_link.h).
 *
 * Every connection starts with HELLO.  micfw answers WELCOME with the
 * card's resources as SCM_RIGHTS fds, or ERROR (errno + text) and closes
 * the connection if anything about the message is off.  The peers are
 * QEMU processes running guest-driven code, so the framing is checked
 * before anything is trusted: magic, payload length, expected size.
 *
 * Messages are read in exactly their own size (header, then payload), so
 * fds that arrive with a message's bytes belong to that message.
 *
 * Compatibility rules (qemu-mic-device/docs/link-protocol.rst): payloads
 * longer than the struct we know are accepted and the tail ignored, fds
 * nobody expects are closed, unknown message types after the handshake
 * are refused with an ERROR but the connection stays up.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "micfw.h"

#define LINK_MAX_CONNS          16
#define LINK_HELLO_TIMEOUT_S    10
#define HDR_SIZE                sizeof(struct mic_link_hdr)

struct micfw_link_conn {
	struct micfw *fw;
	unsigned int id;
	int fd;
	guint src;
	guint hello_timer;
	uint32_t role;                  /* 0 until a HELLO was accepted */
	size_t have;                    /* bytes of the current message */
	union {
		struct mic_link_hdr hdr;
		uint8_t bytes[HDR_SIZE + MIC_LINK_MAX_PAYLOAD];
	} msg;
	int fds[MIC_LINK_MAX_FDS];
	unsigned int nfds;
};

static const char *role_name(uint32_t role)
{
	switch (role) {
	case MIC_LINK_ROLE_HOST:
		return "host";
	case MIC_LINK_ROLE_CARD:
		return "card";
	}
	return "new";
}

static void close_fds(struct micfw_link_conn *c)
{
	for (unsigned int i = 0; i < c->nfds; i++)
		if (c->fds[i] >= 0)
			close(c->fds[i]);
	c->nfds = 0;
}

/* fds the message does not use: closed, and said so in the log */
static void drop_fds(struct micfw_link_conn *c, unsigned int keep,
		     const char *what)
{
	if (c->nfds <= keep)
		return;
	micfw_event("link-fds-dropped conn=%u count=%u msg=%s", c->id,
		    c->nfds - keep, what);
	for (unsigned int i = keep; i < c->nfds; i++)
		close(c->fds[i]);
	c->nfds = keep;
}

static void forget_host_ram(struct micfw *fw)
{
	if (fw->host_ram_fd >= 0)
		close(fw->host_ram_fd);
	fw->host_ram_fd = -1;
	fw->host_ram_below_4g = 0;
	fw->host_ram_above_4g = 0;
}

static void conn_close(struct micfw_link_conn *c, const char *why)
{
	struct micfw *fw = c->fw;
	g_autofree char *q = micfw_quote(why);

	micfw_event("link-close conn=%u role=%s reason=%s", c->id,
		    role_name(c->role), q);
	if (c->src)
		g_source_remove(c->src);
	if (c->hello_timer)
		g_source_remove(c->hello_timer);
	close(c->fd);
	close_fds(c);
	if (fw->host_conn == c) {
		/* the host VM is gone: do not keep its RAM alive */
		fw->host_conn = NULL;
		forget_host_ram(fw);
		micfw_peers_forget(fw);
	}
	if (fw->card_conn == c)
		fw->card_conn = NULL;
	fw->link_conns = g_list_remove(fw->link_conns, c);
	g_free(c);
}

static bool send_msg(int fd, uint16_t type, const void *payload, uint16_t len,
		     const int *fds, unsigned int nfds)
{
	struct mic_link_hdr hdr = {
		.magic = MIC_LINK_MAGIC, .type = type, .len = len,
	};
	struct iovec iov[2] = {
		{ .iov_base = &hdr, .iov_len = sizeof(hdr) },
		{ .iov_base = (void *)payload, .iov_len = len },
	};
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * MIC_LINK_MAX_FDS)];
	} cbuf;
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	ssize_t n;

	if (nfds) {
		struct cmsghdr *cm;

		memset(&cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)(sizeof(hdr) + len);
}

static void send_error(struct micfw_link_conn *c, int code, const char *text)
{
	struct mic_link_error e = { .code = (uint32_t)code };
	g_autofree char *q = NULL;

	g_strlcpy(e.text, text, sizeof(e.text));
	q = micfw_quote(e.text);
	micfw_event("link-error conn=%u role=%s errno=%d(%s) text=%s",
		    c->id, role_name(c->role), code, g_strerror(code), q);
	send_msg(c->fd, MIC_LINK_ERROR, &e, sizeof(e), NULL, 0);
}

/* Refuse the message, close the connection; always returns false. */
static bool fail(struct micfw_link_conn *c, int code, const char *fmt, ...)
	G_GNUC_PRINTF(3, 4);

static bool fail(struct micfw_link_conn *c, int code, const char *fmt, ...)
{
	g_autofree char *text = NULL;
	va_list ap;

	va_start(ap, fmt);
	text = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	send_error(c, code, text);
	conn_close(c, text);
	return false;
}

static bool send_welcome(struct micfw_link_conn *c, bool card,
			 uint64_t below, uint64_t above)
{
	struct micfw *fw = c->fw;
	struct mic_link_welcome w = {
		.version = MIC_LINK_VERSION,
		.card_index = (uint32_t)fw->index,
		.card_mem_size = fw->mem_size,
		.regfile_size = sizeof(MicRegFile),
		.host_ram_below_4g = below,
		.host_ram_above_4g = above,
	};
	int fds[] = {
		[MIC_LINK_FD_CARD_MEM] = fw->mem_fd,
		[MIC_LINK_FD_REGFILE] = fw->regfile_fd,
		[MIC_LINK_FD_TO_HOST] = fw->efd_to_host,
		[MIC_LINK_FD_TO_CARD] = fw->efd_to_card,
		[MIC_LINK_FD_HOST_RAM] = fw->host_ram_fd,
	};
	unsigned int n = (card && fw->host_ram_fd >= 0) ?
		MIC_LINK_FD_HOST_RAM + 1 : MIC_LINK_WELCOME_NFDS;

	if (send_msg(c->fd, MIC_LINK_WELCOME, &w, sizeof(w), fds, n))
		return true;
	conn_close(c, "cannot send WELCOME");
	return false;
}

/* The host device's RAM memfd, if it sent one, must match its layout. */
static bool check_host_ram(struct micfw_link_conn *c,
			   const struct mic_link_hello *h)
{
	uint64_t below = h->host_ram_below_4g, above = h->host_ram_above_4g;
	struct stat st;

	if (below > (4ull << 30) || above > UINT64_MAX - below)
		return fail(c, EINVAL, "bad host RAM layout below=%" G_GUINT64_FORMAT " above=%" G_GUINT64_FORMAT,
			    below, above);
	if (below + above == 0) {
		drop_fds(c, 0, "HELLO");
		return true;
	}
	if (c->nfds < 1)
		return fail(c, EINVAL, "host RAM layout sent without the memfd");
	drop_fds(c, 1, "HELLO");
	if (fstat(c->fds[0], &st) < 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size < below + above)
		return fail(c, EINVAL, "host RAM fd is not a file of %" G_GUINT64_FORMAT " bytes",
			    below + above);
	return true;
}

static bool hello_host(struct micfw_link_conn *c, const struct mic_link_hello *h)
{
	struct micfw *fw = c->fw;

	if (fw->host_conn)
		return fail(c, EBUSY, "a host device is already connected (conn %u)",
			    fw->host_conn->id);
	if (!check_host_ram(c, h) ||
	    !send_welcome(c, false, h->host_ram_below_4g, h->host_ram_above_4g))
		return false;
	forget_host_ram(fw);
	if (c->nfds) {
		fw->host_ram_fd = c->fds[0];
		c->nfds = 0;
		fw->host_ram_below_4g = h->host_ram_below_4g;
		fw->host_ram_above_4g = h->host_ram_above_4g;
	}
	fw->host_conn = c;
	micfw_event("link-hello conn=%u role=host host_ram_below_4g=%" G_GUINT64_FORMAT " host_ram_above_4g=%" G_GUINT64_FORMAT " host_ram_fd=%s",
		    c->id, fw->host_ram_below_4g, fw->host_ram_above_4g,
		    fw->host_ram_fd >= 0 ? "yes" : "no");
	return true;
}

static bool hello_card(struct micfw_link_conn *c)
{
	struct micfw *fw = c->fw;
	bool ram = fw->host_ram_fd >= 0;

	drop_fds(c, 0, "HELLO");
	if (fw->card_conn)
		return fail(c, EBUSY, "a card device is already connected (conn %u)",
			    fw->card_conn->id);
	if (!send_welcome(c, true, ram ? fw->host_ram_below_4g : 0,
			  ram ? fw->host_ram_above_4g : 0))
		return false;
	fw->card_conn = c;
	micfw_event("link-hello conn=%u role=card host_ram_fd=%s", c->id,
		    ram ? "yes" : "no");
	micfw_peers_send_all(fw);
	micfw_cardvm_linked(fw);
	return true;
}

static bool on_hello(struct micfw_link_conn *c)
{
	const uint8_t *p = c->msg.bytes + HDR_SIZE;
	uint16_t len = c->msg.hdr.len;
	struct mic_link_hello h;
	bool ok;

	if (c->msg.hdr.type != MIC_LINK_HELLO)
		return fail(c, EPROTO, "expected HELLO, got message type %u",
			    c->msg.hdr.type);
	if (len < sizeof(h.version))
		return fail(c, EINVAL, "HELLO payload is %u bytes, expected %zu",
			    len, sizeof(h));
	memcpy(&h.version, p, sizeof(h.version));
	if (h.version != MIC_LINK_VERSION)
		return fail(c, EPROTO, "link version %u not supported (want %u)",
			    h.version, MIC_LINK_VERSION);
	if (len < sizeof(h))
		return fail(c, EINVAL, "HELLO payload is %u bytes, expected %zu",
			    len, sizeof(h));
	memcpy(&h, p, sizeof(h));
	if (h.role == MIC_LINK_ROLE_HOST)
		ok = hello_host(c, &h);
	else if (h.role == MIC_LINK_ROLE_CARD)
		ok = hello_card(c);
	else
		return fail(c, EINVAL, "unknown role %u", h.role);
	if (ok) {
		c->role = h.role;
		if (c->hello_timer)
			g_source_remove(c->hello_timer);
		c->hello_timer = 0;
	}
	return ok;
}

/* RESET and BOOT_KICK: the host device forwarding RGCR and APICICR7. */
static bool on_host_msg(struct micfw_link_conn *c, uint16_t type)
{
	const char *name = type == MIC_LINK_RESET ? "RESET" : "BOOT_KICK";

	if (c->role != MIC_LINK_ROLE_HOST)
		return fail(c, EPERM, "%s is for the host device only", name);
	drop_fds(c, 0, name);
	/* no payload in version 1; a longer one is a later extension */
	micfw_event("link-msg conn=%u type=%s payload=%u", c->id, name,
		    c->msg.hdr.len);
	if (type == MIC_LINK_RESET)
		micfw_power_reset(c->fw, "link");
	else
		micfw_boot_kick(c->fw);
	return true;
}

/* PEER: the host device describing another card; forwarded to the card. */
static bool on_peer(struct micfw_link_conn *c)
{
	g_autofree char *why = NULL;

	if (c->role != MIC_LINK_ROLE_HOST)
		return fail(c, EPERM, "PEER is for the host device only");
	why = micfw_peer_msg(c->fw, c->msg.bytes + HDR_SIZE, c->msg.hdr.len,
			     c->fds, c->nfds);
	if (why) {
		g_autofree char *q = micfw_quote(why);

		micfw_event("link-peer-refused conn=%u reason=%s", c->id, q);
		send_error(c, EINVAL, why);
	}
	return true;
}

/* A complete message.  Returns false if the connection was closed. */
static bool dispatch(struct micfw_link_conn *c)
{
	uint16_t type = c->msg.hdr.type;

	if (!c->role)
		return on_hello(c);
	switch (type) {
	case MIC_LINK_RESET:
	case MIC_LINK_BOOT_KICK:
		return on_host_msg(c, type);
	case MIC_LINK_PEER:
		return on_peer(c);
	case MIC_LINK_HELLO:
		return fail(c, EPROTO, "duplicate HELLO");
	}
	/* a newer device may know more messages: refuse, stay connected */
	close_fds(c);
	{
		g_autofree char *t = g_strdup_printf("unknown message type %u",
						     type);
		send_error(c, EOPNOTSUPP, t);
	}
	return true;
}

static bool take_fds(struct micfw_link_conn *c, struct msghdr *mh)
{
	bool overflow = mh->msg_flags & MSG_CTRUNC;

	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm;
	     cm = CMSG_NXTHDR(mh, cm)) {
		size_t n;
		int *in = (int *)CMSG_DATA(cm);

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			if (c->nfds < MIC_LINK_MAX_FDS)
				c->fds[c->nfds++] = in[i];
			else {
				close(in[i]);
				overflow = true;
			}
		}
	}
	if (overflow)
		return fail(c, EMSGSIZE, "more than %d file descriptors",
			    MIC_LINK_MAX_FDS);
	return true;
}

static bool check_header(struct micfw_link_conn *c)
{
	if (c->msg.hdr.magic != MIC_LINK_MAGIC)
		return fail(c, EBADMSG, "bad magic 0x%08x", c->msg.hdr.magic);
	if (c->msg.hdr.len > MIC_LINK_MAX_PAYLOAD)
		return fail(c, EMSGSIZE, "payload length %u exceeds %u",
			    c->msg.hdr.len, MIC_LINK_MAX_PAYLOAD);
	return true;
}

/* One recvmsg.  >0: progress, 0: would block, <0: connection closed. */
static int conn_recv(struct micfw_link_conn *c)
{
	size_t need = c->have < HDR_SIZE ? HDR_SIZE : HDR_SIZE + c->msg.hdr.len;
	struct iovec iov = { c->msg.bytes + c->have, need - c->have };
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * MIC_LINK_MAX_FDS)];
	} cbuf;
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf.buf, .msg_controllen = sizeof(cbuf.buf),
	};
	ssize_t n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (n < 0 && errno == EINTR)
		return 1;
	if (n < 0) {
		conn_close(c, g_strerror(errno));
		return -1;
	}
	if (!take_fds(c, &mh))
		return -1;
	if (n == 0 && c->have) {
		fail(c, EPROTO, "truncated message: %zu of %zu bytes",
		     c->have, need);
		return -1;
	}
	if (n == 0) {
		conn_close(c, "peer hung up");
		return -1;
	}
	c->have += n;
	if (c->have == HDR_SIZE && !check_header(c))
		return -1;
	if (c->have < HDR_SIZE || c->have < HDR_SIZE + c->msg.hdr.len)
		return 1;
	if (!dispatch(c))
		return -1;
	c->have = 0;
	close_fds(c);           /* whatever the message did not take */
	return 1;
}

static gboolean conn_readable(int fd, GIOCondition cond, gpointer data)
{
	struct micfw_link_conn *c = data;
	int r;

	(void)fd;
	(void)cond;
	while ((r = conn_recv(c)) > 0)
		;
	return r < 0 ? G_SOURCE_REMOVE : G_SOURCE_CONTINUE;
}

static gboolean hello_timeout(gpointer data)
{
	struct micfw_link_conn *c = data;

	c->hello_timer = 0;
	fail(c, ETIMEDOUT, "no HELLO within %d s", LINK_HELLO_TIMEOUT_S);
	return G_SOURCE_REMOVE;
}

static void refuse_conn(int fd, int code, const char *text)
{
	struct mic_link_error e = { .code = (uint32_t)code };

	g_strlcpy(e.text, text, sizeof(e.text));
	micfw_event("link-refused errno=%d text=\"%s\"", code, text);
	send_msg(fd, MIC_LINK_ERROR, &e, sizeof(e), NULL, 0);
	close(fd);
}

static gboolean link_accept(int lfd, GIOCondition cond, gpointer data)
{
	struct micfw *fw = data;
	struct micfw_link_conn *c;
	int fd;

	(void)cond;
	while ((fd = accept4(lfd, NULL, NULL,
			     SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		if (g_list_length(fw->link_conns) >= LINK_MAX_CONNS) {
			refuse_conn(fd, EMFILE, "too many link connections");
			continue;
		}
		c = g_new0(struct micfw_link_conn, 1);
		c->fw = fw;
		c->id = ++fw->link_conn_ids;
		c->fd = fd;
		c->src = g_unix_fd_add(fd, G_IO_IN | G_IO_HUP | G_IO_ERR,
				       conn_readable, c);
		c->hello_timer = g_timeout_add_seconds(LINK_HELLO_TIMEOUT_S,
						       hello_timeout, c);
		fw->link_conns = g_list_prepend(fw->link_conns, c);
		micfw_event("link-accept conn=%u", c->id);
	}
	return G_SOURCE_CONTINUE;
}

bool micfw_link_send(struct micfw_link_conn *c, uint16_t type,
		     const void *payload, uint16_t len, const int *fds,
		     unsigned int nfds)
{
	return send_msg(c->fd, type, payload, len, fds, nfds);
}

void micfw_link_drop_card(struct micfw *fw)
{
	if (fw->card_conn)
		conn_close(fw->card_conn, "card VM gone");
}

bool micfw_link_start(struct micfw *fw, GError **err)
{
	fw->link_listen_fd = micfw_unix_listen(fw->link_path, err);
	if (fw->link_listen_fd < 0)
		return false;
	fw->link_listen_src = g_unix_fd_add(fw->link_listen_fd, G_IO_IN,
					    link_accept, fw);
	micfw_event("link-listen path=%s", fw->link_path);
	return true;
}

void micfw_link_stop(struct micfw *fw)
{
	while (fw->link_conns)
		conn_close(fw->link_conns->data, "micfw stopping");
	if (fw->link_listen_src)
		g_source_remove(fw->link_listen_src);
	fw->link_listen_src = 0;
	if (fw->link_listen_fd >= 0) {
		close(fw->link_listen_fd);
		unlink(fw->link_path);
	}
	fw->link_listen_fd = -1;
	forget_host_ram(fw);
	micfw_peers_forget(fw);
}
