// SPDX-License-Identifier: GPL-2.0
/*
 * micfw peers: the other cards of the host VM, as the host device tells
 * us with PEER (qemu-mic-device/docs/link-protocol.rst), kept and handed
 * on to our card VM, now and every time a card VM links up again.
 *
 * micfw is the card VM's first line of defence: a PEER is checked here
 * (sender, sizes, alignment, overlaps, fd kinds) before it is kept or
 * forwarded; the card device checks it again.  A refused PEER is
 * answered with ERROR and dropped, the connection stays up (the host RAM
 * behind the card's SMPT window must not go away for a bad PEER).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "micfw.h"

#define PEER_BUS_LIMIT  (1ull << 52)
#define PEER_SEALS      (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)

struct micfw_peer {
	struct mic_link_peer d;
	int fds[MIC_LINK_PEER_NFDS];
};

static void peer_free(struct micfw_peer *p)
{
	for (unsigned int i = 0; i < MIC_LINK_PEER_NFDS; i++)
		if (p->fds[i] >= 0)
			close(p->fds[i]);
	g_free(p);
}

void micfw_peers_forget(struct micfw *fw)
{
	for (unsigned int i = 0; i < MICFW_MAX_CARDS; i++) {
		if (fw->peers[i])
			peer_free(fw->peers[i]);
		fw->peers[i] = NULL;
	}
}

static bool overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static char *check_range(uint64_t base, uint64_t size, const char *what)
{
	if (!size || base % size || base >= PEER_BUS_LIMIT ||
	    size > PEER_BUS_LIMIT - base)
		return g_strdup_printf("%s 0x%" G_GINT64_MODIFIER "x+0x%"
				       G_GINT64_MODIFIER "x is not a naturally aligned BAR below 2^52",
				       what, base, size);
	return NULL;
}

static char *check_overlaps(struct micfw *fw, const struct mic_link_peer *d)
{
	const uint64_t base[2] = { d->aper_base, d->mmio_base };
	const uint64_t size[2] = { d->aper_size, d->mmio_size };
	uint64_t below = fw->host_ram_below_4g, above = fw->host_ram_above_4g;

	if (overlap(base[0], size[0], base[1], size[1]))
		return g_strdup("aperture and register BARs overlap");
	for (unsigned int i = 0; i < 2; i++) {
		if ((below && overlap(base[i], size[i], 0, below)) ||
		    (above && overlap(base[i], size[i], 4ull << 30, above)))
			return g_strdup_printf("BAR at 0x%" G_GINT64_MODIFIER
					       "x overlaps host RAM", base[i]);
		for (unsigned int j = 0; j < MICFW_MAX_CARDS; j++) {
			struct micfw_peer *o = fw->peers[j];

			if (!o || j == d->peer_index)
				continue;
			if (overlap(base[i], size[i], o->d.aper_base,
				    o->d.aper_size) ||
			    overlap(base[i], size[i], o->d.mmio_base,
				    o->d.mmio_size))
				return g_strdup_printf("BAR at 0x%" G_GINT64_MODIFIER
						       "x overlaps mic%u's", base[i], j);
		}
	}
	return NULL;
}

static bool is_sealed_memfd(int fd, uint64_t min_size)
{
	struct stat st;
	int seals = fcntl(fd, F_GET_SEALS);

	return seals >= 0 && (seals & PEER_SEALS) == PEER_SEALS &&
	       fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	       (uint64_t)st.st_size >= min_size;
}

static bool is_eventfd(int fd)
{
	char link[64], target[64] = "";
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	return n > 0 && !strcmp(target, "anon_inode:[eventfd]");
}

static char *check_peer(struct micfw *fw, const struct mic_link_peer *d,
			const int *fds, unsigned int nfds)
{
	char *why;

	if (!mic_card_mem_ok(d->aper_size))
		return g_strdup_printf("aperture size 0x%" G_GINT64_MODIFIER
				       "x is not whole MiB between 1 MiB and 1 TiB",
				       d->aper_size);
	if (d->mmio_size != MIC_MMIO_SIZE)
		return g_strdup_printf("register BAR size 0x%" G_GINT64_MODIFIER
				       "x is not 0x%x", d->mmio_size,
				       MIC_MMIO_SIZE);
	/* the BAR is the memory rounded up to a power of two (mic_hw.h) */
	why = check_range(d->aper_base, mic_bar0_size(d->aper_size), "aperture");
	if (!why)
		why = check_range(d->mmio_base, d->mmio_size, "register BAR");
	if (!why)
		why = check_overlaps(fw, d);
	if (why)
		return why;
	if (nfds < MIC_LINK_PEER_NFDS)
		return g_strdup_printf("%u file descriptors, %d needed", nfds,
				       MIC_LINK_PEER_NFDS);
	if (!is_sealed_memfd(fds[MIC_LINK_PEER_FD_MEM], d->aper_size))
		return g_strdup("peer memory is not a sealed memfd of the aperture's size");
	if (!is_sealed_memfd(fds[MIC_LINK_PEER_FD_REGFILE], sizeof(MicRegFile)))
		return g_strdup("peer register file is not a sealed memfd of a register file's size");
	if (!is_eventfd(fds[MIC_LINK_PEER_FD_TO_CARD]) ||
	    !is_eventfd(fds[MIC_LINK_PEER_FD_TO_HOST]))
		return g_strdup("peer doorbells are not eventfds");
	return NULL;
}

/* Forward one peer (or its absence) to the card VM, if one is linked. */
static void peer_forward(struct micfw *fw, const struct mic_link_peer *d,
			 const int *fds)
{
	bool present = d->flags & MIC_LINK_PEER_PRESENT;

	if (!fw->card_conn)
		return;
	if (!micfw_link_send(fw->card_conn, MIC_LINK_PEER, d, sizeof(*d),
			     present ? fds : NULL,
			     present ? MIC_LINK_PEER_NFDS : 0))
		micfw_event("link-peer-not-forwarded peer=%u", d->peer_index);
	else
		micfw_event("link-peer-forward peer=%u present=%d",
			    d->peer_index, present);
}

/*
 * A PEER from the host device.  fds: what came with it (closed by the
 * caller unless taken: taken ones are set to -1).  Returns an error text
 * (caller answers ERROR, g_free) or NULL.
 */
char *micfw_peer_msg(struct micfw *fw, const void *payload, uint16_t len,
		     int *fds, unsigned int nfds)
{
	struct mic_link_peer d;
	struct micfw_peer *p;
	char *why;

	if (len < sizeof(d))
		return g_strdup_printf("PEER payload is %u bytes, expected %zu",
				       len, sizeof(d));
	memcpy(&d, payload, sizeof(d));
	if (d.peer_index >= MICFW_MAX_CARDS || (int)d.peer_index == fw->index)
		return g_strdup_printf("mic%u cannot be a peer of mic%d",
				       d.peer_index, fw->index);
	d.flags &= MIC_LINK_PEER_PRESENT;       /* unknown flags: not ours */
	if (!(d.flags & MIC_LINK_PEER_PRESENT)) {
		if (fw->peers[d.peer_index]) {
			peer_free(fw->peers[d.peer_index]);
			fw->peers[d.peer_index] = NULL;
		}
		micfw_event("link-peer peer=%u present=0", d.peer_index);
		peer_forward(fw, &d, NULL);
		return NULL;
	}
	why = check_peer(fw, &d, fds, nfds);
	if (why)
		return why;
	p = g_new0(struct micfw_peer, 1);
	p->d = d;
	for (unsigned int i = 0; i < MIC_LINK_PEER_NFDS; i++) {
		p->fds[i] = fds[i];
		fds[i] = -1;
	}
	if (fw->peers[d.peer_index])
		peer_free(fw->peers[d.peer_index]);
	fw->peers[d.peer_index] = p;
	micfw_event("link-peer peer=%u present=1 aper=0x%" G_GINT64_MODIFIER
		    "x aper_size=0x%" G_GINT64_MODIFIER "x mmio=0x%"
		    G_GINT64_MODIFIER "x", d.peer_index, d.aper_base,
		    d.aper_size, d.mmio_base);
	peer_forward(fw, &p->d, p->fds);
	return NULL;
}

/* A card VM just got its WELCOME: tell it about every known peer. */
void micfw_peers_send_all(struct micfw *fw)
{
	for (unsigned int i = 0; i < MICFW_MAX_CARDS; i++)
		if (fw->peers[i])
			peer_forward(fw, &fw->peers[i]->d, fw->peers[i]->fds);
}
