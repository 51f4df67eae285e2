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
 *
 * Polling before sleeping: the peer copies the bytes, then its ring offset
 * (its write offset for our inbound ring, its read offset for our outbound
 * one) straight into our memory, and only then queues CLIENT_SENT or
 * CLIENT_RCVD and rings our doorbell. So a waiter that keeps looking at
 * the offsets for a while (poll_us) sees the change without the doorbell's
 * interrupt, the receive work and the wake-up. The message still arrives
 * and is handled as always: its wake-up finds nobody, or a later waiter,
 * which looks at the offsets again. The wire protocol does not change.
 */
#include <linux/ktime.h>
#include <linux/minmax.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/stat.h>
#include <linux/slab.h>

#include "scif_main.h"

#define SCIF_POLL_US_MAX	10000U
/* Long waits after which an endpoint stops polling: full window, half, off. */
#define SCIF_SPIN_SHIFT_OFF	2
/*
 * Waits an endpoint then sleeps through before polling may resume: 16,
 * doubling each time polling is turned off again (up to 1024), halving
 * back with each wait polling ends.
 */
#define SCIF_SPIN_SKIP		16
#define SCIF_SPIN_BACKOFF_MAX	6

/* For debugfs: spins that saw the change, spins that gave up, skipped. */
atomic_long_t scif_spin_hits = ATOMIC_LONG_INIT(0);
atomic_long_t scif_spin_misses = ATOMIC_LONG_INIT(0);
atomic_long_t scif_spin_off = ATOMIC_LONG_INIT(0);

static u64 scif_poll_ns(void)
{
	return (u64)min(READ_ONCE(scif_poll_us), SCIF_POLL_US_MAX) *
	       NSEC_PER_USEC;
}

/*
 * How long the next waiter on @ep polls, in ns; 0: not at all. Never on
 * the loopback link: there the producer runs on this node and may need
 * the very CPU the waiter would hold. Polling only pays when the answer
 * comes within the window; when the machine is too busy for that (more
 * busy VMs than host CPUs under TCG), a poller only takes CPU time from
 * the peer it waits for. So the window halves after a wait that was longer
 * than poll_us, and after a second one polling stops: the endpoint sleeps
 * through its next SCIF_SPIN_SKIP waits (more if polling kept failing),
 * and after those the first wait shorter than poll_us (one that polling
 * would have caught) restores the full window, as does any wait that
 * polling ended.
 */
static u64 scif_spin_window(struct scif_endpt *ep)
{
	struct scif_dev *dev = READ_ONCE(ep->remote_dev);
	u8 shift = READ_ONCE(ep->spin_shift);
	u16 skip;

	if (!READ_ONCE(scif_poll_us) || !dev || dev->self)
		return 0;
	if (shift >= SCIF_SPIN_SHIFT_OFF) {
		skip = READ_ONCE(ep->spin_skip);
		if (skip)
			WRITE_ONCE(ep->spin_skip, skip - 1);
		atomic_long_inc(&scif_spin_off);
		return 0;
	}
	return scif_poll_ns() >> shift;
}

/*
 * A waiter on @ep waited @ns in all, and its polling saw the end (@hit)
 * or not: adapt the window (see above).
 */
static void scif_spin_learn(struct scif_endpt *ep, u64 ns, bool hit)
{
	u8 shift = READ_ONCE(ep->spin_shift);
	u8 backoff = READ_ONCE(ep->spin_backoff);

	if (hit && backoff)
		WRITE_ONCE(ep->spin_backoff, --backoff);
	if (ns <= scif_poll_ns()) {
		if (shift < SCIF_SPIN_SHIFT_OFF || !READ_ONCE(ep->spin_skip))
			WRITE_ONCE(ep->spin_shift, 0);
	} else if (shift < SCIF_SPIN_SHIFT_OFF) {
		if (++shift == SCIF_SPIN_SHIFT_OFF) {
			WRITE_ONCE(ep->spin_skip, SCIF_SPIN_SKIP << backoff);
			if (backoff < SCIF_SPIN_BACKOFF_MAX)
				WRITE_ONCE(ep->spin_backoff, backoff + 1);
		}
		WRITE_ONCE(ep->spin_shift, shift);
	}
}

/*
 * Whether a spin that ends at @end is over. A poller only uses time that
 * nothing else on its CPU wants: with another task runnable (the receive
 * work the doorbell woke, another process of the guest) it lets that run
 * first, not just when the scheduler asks for the CPU.
 */
static bool scif_spin_over(u64 end)
{
	if (signal_pending(current) || ktime_get_ns() >= end)
		return true;
	if (!single_task_running())
		schedule();
	else
		cond_resched();
	cpu_relax();
	return false;
}

/*
 * Evaluate @cond until it holds, a signal is pending or @ns have passed;
 * the value is the last @cond. The caller is TASK_RUNNING.
 */
#define scif_spin_until(ns, cond)				\
({								\
	u64 __end = ktime_get_ns() + (ns);			\
	bool __done;						\
								\
	for (;;) {						\
		__done = (cond);				\
		if (__done || scif_spin_over(__end))		\
			break;					\
	}							\
	atomic_long_inc(__done ? &scif_spin_hits : &scif_spin_misses); \
	__done;							\
})

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
	u64 t0, window;
	u32 space, n;
	bool hit;

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
		t0 = ktime_get_ns();
		window = scif_spin_window(ep);
		hit = window && scif_spin_until(window, scif_send_ready(ep, n));
		err = wait_event_interruptible(ep->wq, scif_send_ready(ep, n));
		if (err)
			break;
		scif_spin_learn(ep, ktime_get_ns() - t0, hit);
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
	u64 t0, window;
	u32 count, n;
	bool hit;

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
		t0 = ktime_get_ns();
		window = scif_spin_window(ep);
		hit = window && scif_spin_until(window, scif_recv_ready(ep, n));
		err = wait_event_interruptible(ep->wq, scif_recv_ready(ep, n));
		if (err)
			break;
		scif_spin_learn(ep, ktime_get_ns() - t0, hit);
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

/* Whether @ep has one of @events; its whole mask in @mask. */
static bool scif_ep_has(struct scif_endpt *ep, short events, short *mask)
{
	*mask = scif_ep_poll_mask(ep);
	return *mask & events;
}

/**
 * scif_ep_spin_mask() - scif_ep_poll_mask() for a poller about to sleep
 * @ep: endpoint
 * @events: the events the caller waits for
 * @first: the caller's first look in this wait (it may poll the rings);
 *	otherwise it was woken and looks again
 *
 * Return: the mask; on a first look, once it has one of @events, POLLERR
 * or POLLHUP, or the window has passed, or a signal is pending.
 */
short scif_ep_spin_mask(struct scif_endpt *ep, short events, bool first)
{
	short mask = scif_ep_poll_mask(ep);
	u64 now, since, window;

	events |= POLLERR | POLLHUP;
	if (!first) {
		/* The end of a wait that began with a first look. */
		since = READ_ONCE(ep->spin_since);
		if (since && (mask & events)) {
			WRITE_ONCE(ep->spin_since, 0);
			scif_spin_learn(ep, ktime_get_ns() - since, false);
		}
		return mask;
	}
	if (mask & events) {
		/* No wait: forget one an earlier poll() left unfinished. */
		if (READ_ONCE(ep->spin_since))
			WRITE_ONCE(ep->spin_since, 0);
		return mask;
	}
	now = ktime_get_ns();
	window = scif_spin_window(ep);
	if (window && scif_spin_until(window, scif_ep_has(ep, events, &mask))) {
		WRITE_ONCE(ep->spin_since, 0);
		scif_spin_learn(ep, ktime_get_ns() - now, true);
	} else {
		WRITE_ONCE(ep->spin_since, now);
	}
	return mask;
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
	u64 t0, window = 0;
	unsigned int i;
	bool hit;
	int count;

	waits = kcalloc(nfds, sizeof(*waits), GFP_KERNEL);
	if (nfds && !waits)
		return -ENOMEM;
	for (i = 0; i < nfds; i++) {
		init_waitqueue_entry(&waits[i], current);
		add_wait_queue(&ufds[i].epd->wq, &waits[i]);
	}
	t0 = ktime_get_ns();
	count = scif_poll_scan(ufds, nfds);
	for (i = 0; !count && timeout && i < nfds; i++)
		window = max(window, scif_spin_window(ufds[i].epd));
	/* Registered first: what happens while we spin also wakes us. */
	hit = window && scif_spin_until(window, scif_poll_scan(ufds, nfds) > 0);
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
	for (i = 0; i < nfds; i++) {
		remove_wait_queue(&ufds[i].epd->wq, &waits[i]);
		if (count > 0 && ufds[i].revents)
			scif_spin_learn(ufds[i].epd, ktime_get_ns() - t0, hit);
	}
	kfree(waits);
	return count;
}
EXPORT_SYMBOL_GPL(scif_poll);
