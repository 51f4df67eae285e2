// SPDX-License-Identifier: GPL-2.0
/*
 * micemu SCIF: scif_send, scif_recv and scif_poll (facts §7.7 step 5).
 *
 * Each connected endpoint writes into the 4 KiB ring its peer allocated
 * and reads from its own. After writing, the sender tells the peer with
 * CLIENT_SENT; after reading, the receiver publishes its read offset and
 * tells the peer with CLIENT_RCVD. Both just wake the endpoint's waiters,
 * which then look at the ring offsets. Messages larger than the ring go
 * through in pieces. Whoever touches the peer's memory holds the
 * endpoint's sendlock or recvlock and has seen it connected under that
 * lock; disconnection takes both locks before it lets the peer free it.
 */
#include <linux/minmax.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "scif_main.h"

static int scif_ep_conn_err(enum scif_ep_state state)
{
	return state == SCIFEP_DISCONNECTED ? -ECONNRESET : -ENOTCONN;
}

static int scif_ep_notify(struct scif_endpt *ep, u32 uop)
{
	struct scifmsg msg = {
		.uop = uop,
		.src = ep->port,
		.dst = ep->peer,
		.payload = { ep->remote_ep },
	};

	return scif_nodeqp_send(ep->remote_dev, &msg);
}

static bool scif_send_ready(struct scif_endpt *ep, u32 want)
{
	return scif_ep_state(ep) != SCIFEP_CONNECTED ||
	       scif_rb_space(&ep->qp.outbound) >= want;
}

int scif_send(scif_epd_t epd, void *msg, int len, int flags)
{
	struct scif_endpt *ep = epd;
	struct scif_rb *rb = &ep->qp.outbound;
	enum scif_ep_state state;
	int sent = 0, err = 0;
	u32 space, n;

	if (len < 0 || (flags & ~SCIF_SEND_BLOCK))
		return -EINVAL;
	if (!len)
		return 0;
	mutex_lock(&ep->sendlock);
	while (sent < len) {
		state = scif_ep_state(ep);
		if (state != SCIFEP_CONNECTED) {
			err = scif_ep_conn_err(state);
			break;
		}
		space = scif_rb_space(rb);
		if (space) {
			n = min_t(u32, space, len - sent);
			scif_rb_write(rb, msg + sent, n);
			scif_rb_commit(rb);
			sent += n;
			err = scif_ep_notify(ep, SCIF_CLIENT_SENT);
			if (err)
				break;
			continue;
		}
		if (!(flags & SCIF_SEND_BLOCK))
			break;
		n = min_t(u32, len - sent, SCIF_ENDPT_QP_SIZE - 1);
		err = wait_event_interruptible(ep->wq, scif_send_ready(ep, n));
		if (err)
			break;
	}
	mutex_unlock(&ep->sendlock);
	return sent ? sent : err;
}
EXPORT_SYMBOL_GPL(scif_send);

static bool scif_recv_ready(struct scif_endpt *ep, u32 want)
{
	return scif_ep_state(ep) != SCIFEP_CONNECTED ||
	       scif_rb_count(&ep->qp.inbound) >= want;
}

int scif_recv(scif_epd_t epd, void *msg, int len, int flags)
{
	struct scif_endpt *ep = epd;
	struct scif_rb *rb = &ep->qp.inbound;
	enum scif_ep_state state;
	int got = 0, err = 0;
	u32 count, n;

	if (len < 0 || (flags & ~SCIF_RECV_BLOCK))
		return -EINVAL;
	if (!len)
		return 0;
	mutex_lock(&ep->recvlock);
	while (got < len) {
		state = scif_ep_state(ep);
		if (state != SCIFEP_CONNECTED && state != SCIFEP_DISCONNECTED) {
			err = -ENOTCONN;
			break;
		}
		count = scif_rb_count(rb);
		if (count) {
			n = min_t(u32, count, len - got);
			scif_rb_read(rb, msg + got, n);
			got += n;
			/* A closed peer's queue pair may be gone: leave it be. */
			if (state != SCIFEP_CONNECTED)
				continue;
			scif_rb_publish_read(rb);
			err = scif_ep_notify(ep, SCIF_CLIENT_RCVD);
			if (err)
				break;
			continue;
		}
		if (state == SCIFEP_DISCONNECTED) {
			err = -ECONNRESET;
			break;
		}
		if (!(flags & SCIF_RECV_BLOCK))
			break;
		n = min_t(u32, len - got, SCIF_ENDPT_QP_SIZE - 1);
		err = wait_event_interruptible(ep->wq, scif_recv_ready(ep, n));
		if (err)
			break;
	}
	mutex_unlock(&ep->recvlock);
	return got ? got : err;
}
EXPORT_SYMBOL_GPL(scif_recv);

/**
 * scif_ep_poll_mask() - events on one endpoint, without sleeping
 * @ep: endpoint
 *
 * Return: POLLIN, POLLOUT, POLLHUP, POLLERR as scif_poll() reports them.
 */
short scif_ep_poll_mask(struct scif_endpt *ep)
{
	enum scif_ep_state state;
	int pending;
	short mask = 0;

	spin_lock(&ep->lock);
	state = ep->state;
	pending = ep->conreqcnt;
	spin_unlock(&ep->lock);

	switch (state) {
	case SCIFEP_LISTENING:
		return pending ? POLLIN : 0;
	case SCIFEP_CONNECTED:
	case SCIFEP_DISCONNECTED:
		if (scif_rb_readable(&ep->qp.inbound))
			mask |= POLLIN;
		if (scif_rb_writable(&ep->qp.outbound))
			mask |= POLLOUT;
		if (state == SCIFEP_DISCONNECTED)
			mask |= POLLHUP;
		return mask;
	default:
		return POLLERR;
	}
}

static int scif_poll_scan(struct scif_pollepd *ufds, unsigned int nfds)
{
	unsigned int i;
	int count = 0;

	for (i = 0; i < nfds; i++) {
		short mask = scif_ep_poll_mask(ufds[i].epd);

		mask &= ufds[i].events | POLLERR | POLLHUP;
		ufds[i].revents = mask;
		if (mask)
			count++;
	}
	return count;
}

int scif_poll(struct scif_pollepd *ufds, unsigned int nfds,
	      long timeout_msecs)
{
	long timeout = timeout_msecs < 0 ? MAX_SCHEDULE_TIMEOUT :
			msecs_to_jiffies(timeout_msecs);
	wait_queue_entry_t *waits;
	unsigned int i;
	int count;

	waits = kcalloc(nfds, sizeof(*waits), GFP_KERNEL);
	if (nfds && !waits)
		return -ENOMEM;
	for (i = 0; i < nfds; i++) {
		init_waitqueue_entry(&waits[i], current);
		add_wait_queue(&ufds[i].epd->wq, &waits[i]);
	}
	for (;;) {
		/* Set before looking, so a wake-up after the scan is not lost. */
		set_current_state(TASK_INTERRUPTIBLE);
		count = scif_poll_scan(ufds, nfds);
		if (count || !timeout)
			break;
		if (signal_pending(current)) {
			count = -EINTR;
			break;
		}
		timeout = schedule_timeout(timeout);
	}
	__set_current_state(TASK_RUNNING);
	for (i = 0; i < nfds; i++)
		remove_wait_queue(&ufds[i].epd->wq, &waits[i]);
	kfree(waits);
	return count;
}
EXPORT_SYMBOL_GPL(scif_poll);
