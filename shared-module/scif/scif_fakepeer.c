// SPDX-License-Identifier: GPL-2.0
/*
 * micemu: scif_fakepeer, a software SCIF peer node for testing scif.ko.
 *
 * It registers a struct scif_hw_dev with scif.ko and plays the node behind
 * it with its own small implementation of the wire protocol (facts §4.4,
 * §7.4-7.7): it publishes a node queue pair in a device page kept in RAM,
 * maps scif.ko's, exchanges INIT, answers EXIT, and runs an echo service
 * on "echo_port" as a SCIF acceptor. So the node queue path of scif.ko
 * (device page polling, rings, doorbells, endpoint mappings through the hw
 * ops, EXIT) can be tested in one VM. Being written apart from scif.ko, it
 * is a second reading of the protocol. "Addresses" on both sides are
 * physical addresses of this kernel's memory.
 *
 * role=card (default): the peer is card node "node" and scif.ko the host
 * (node 0); "scif-pingpong -c 1 -p 2000" talks to it.
 * role=host: the peer is the host (node 0) and scif.ko card node "node";
 * the peer also announces another card (NODE_ADD), removes it again
 * (NODE_REMOVE) and expects the ack.
 *
 * Writing 1 to the "reboot" parameter makes the peer leave (EXIT) and come
 * back with a fresh queue pair. bad_magic/bad_size publish a broken queue
 * pair, flood sends garbage messages after INIT, bad_offsets scribbles on
 * the ring offsets, writing 1 to c2c_probe asks the host to relay
 * card-to-card connections it must refuse: scif.ko must cope.
 */
#define pr_fmt(fmt) "scif_fakepeer: " fmt

#include <linux/delay.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "scif_hw.h"
#include "scif_wire.h"

#define FC_EPS		8
#define FC_NODE_MASK	(SCIF_NODE_QP_SIZE - 1)
#define FC_EP_MASK	(SCIF_ENDPT_QP_SIZE - 1)
#define FC_COOKIE	0xfc00000000000000ULL

static int node = 1;
module_param(node, int, 0444);
MODULE_PARM_DESC(node, "SCIF node id of the card side (1-128)");
static char *role = "card";
module_param(role, charp, 0444);
MODULE_PARM_DESC(role, "what the fake peer plays: card or host");
static int echo_port = 2000;
module_param(echo_port, int, 0444);
MODULE_PARM_DESC(echo_port, "port of the echo service on the fake peer");
static bool bad_offsets;
module_param(bad_offsets, bool, 0444);
MODULE_PARM_DESC(bad_offsets, "scribble on the ring offsets after INIT");
static bool bad_magic;
module_param(bad_magic, bool, 0444);
MODULE_PARM_DESC(bad_magic, "publish a queue pair with a wrong magic");
static bool bad_size;
module_param(bad_size, bool, 0444);
MODULE_PARM_DESC(bad_size, "publish a queue pair with a wrong ring size");
static int flood;
module_param(flood, int, 0444);
MODULE_PARM_DESC(flood, "garbage messages to send after INIT");
static unsigned int exit_check_ms;
module_param(exit_check_ms, uint, 0644);
MODULE_PARM_DESC(exit_check_ms,
		 "on scif.ko's EXIT, wait this long, then check that its endpoint queue pairs are still there");

struct fc_ep {
	bool used;
	u64 host_cookie;
	struct scif_port_id host;
	struct scif_qp_wire *qp;	/* ours: the host writes our ring */
	void *ring;
	struct scif_qp_wire *hqp;	/* the host's */
	void *hring;
	u32 in_tail;
	u32 out_head;
};

static struct fakepeer {
	bool is_host;			/* role=host */
	u16 self;			/* the fake peer's node id */
	struct scif_hw_dev sdev;
	struct mic_bootparam *dp;
	irq_handler_t handler;		/* scif.ko's doorbell handler */
	void *hdata;
	struct mutex lock;		/* everything below */
	struct scif_qp_wire *qp;
	void *ring;
	struct scif_qp_wire *hqp;
	void *hring;
	u32 in_tail;
	u32 out_head;
	bool linked;
	bool exiting;			/* sent EXIT: nothing but EXIT_ACK may follow */
	bool exit_acked;
	wait_queue_head_t exit_wq;
	struct fc_ep eps[FC_EPS];
	struct workqueue_struct *wq;
	struct work_struct rx_work;
	struct delayed_work poll_work;
	struct work_struct reboot_work;
} fc;

static void *fc_phys(u64 addr, size_t len)
{
	if (!len || addr + len < addr || !pfn_valid(PHYS_PFN(addr)) ||
	    !pfn_valid(PHYS_PFN(addr + len - 1)))
		return NULL;
	return phys_to_virt(addr);
}

static void fc_ring_put(void *ring, u32 mask, u32 off, const void *src,
			u32 len)
{
	u32 first = min(len, mask + 1 - off);

	memcpy(ring + off, src, first);
	memcpy(ring, src + first, len - first);
}

static void fc_ring_get(void *dst, const void *ring, u32 mask, u32 off,
			u32 len)
{
	u32 first = min(len, mask + 1 - off);

	memcpy(dst, ring + off, first);
	memcpy(dst + first, ring, len - first);
}

/* Send one node message to the host; fc.lock held. */
static int fc_send(struct scifmsg *msg)
{
	u32 tail, tries = 0;

	if (!fc.linked || !fc.handler ||
	    (fc.exiting && msg->uop > SCIF_EXIT_ACK))
		return -ENODEV;
	for (;;) {
		tail = READ_ONCE(fc.qp->local_read) & FC_NODE_MASK;
		if (((tail - fc.out_head - 1) & FC_NODE_MASK) >= sizeof(*msg))
			break;
		if (++tries > 1000)
			return -EBUSY;
		usleep_range(500, 1000);
	}
	fc_ring_put(fc.hring, FC_NODE_MASK, fc.out_head, msg, sizeof(*msg));
	fc.out_head = (fc.out_head + sizeof(*msg)) & FC_NODE_MASK;
	smp_wmb();	/* message before the offset that covers it */
	WRITE_ONCE(fc.hqp->local_write, fc.out_head);
	fc.handler(0, fc.hdata);
	return 0;
}

static void fc_reply(struct scifmsg *msg, u32 uop)
{
	msg->uop = uop;
	fc_send(msg);
}

static struct scif_qp_wire *fc_new_qp(u32 size, void **ring)
{
	struct scif_qp_wire *qp = kzalloc(sizeof(*qp), GFP_KERNEL);

	*ring = kzalloc(size, GFP_KERNEL);
	if (!qp || !*ring) {
		kfree(qp);
		kfree(*ring);
		return NULL;
	}
	qp->magic = SCIF_QP_MAGIC;
	qp->inbound_size = size;
	qp->local_buf = virt_to_phys(*ring);
	qp->local_qp = virt_to_phys(qp);
	return qp;
}

/* Map a queue pair the host handed out; NULL if it does not check out. */
static struct scif_qp_wire *fc_map_host_qp(u64 addr, u32 size, void **ring)
{
	struct scif_qp_wire *hqp = fc_phys(addr, sizeof(*hqp));

	if (!hqp || hqp->magic != SCIF_QP_MAGIC || hqp->inbound_size != size)
		return NULL;
	*ring = fc_phys(hqp->local_buf, size);
	return *ring ? hqp : NULL;
}

static void fc_ep_free(struct fc_ep *ep)
{
	kfree(ep->qp);
	kfree(ep->ring);
	memset(ep, 0, sizeof(*ep));
}

static struct fc_ep *fc_ep_find(u64 cookie)
{
	u64 idx = cookie - FC_COOKIE;

	if (idx >= FC_EPS || !fc.eps[idx].used)
		return NULL;
	return &fc.eps[idx];
}

static void fc_ep_notify(struct fc_ep *ep, u32 uop)
{
	struct scifmsg msg = {
		.uop = uop,
		.src = { fc.self, echo_port },
		.dst = ep->host,
		.payload = { ep->host_cookie },
	};

	fc_send(&msg);
}

/* Move whatever fits from our inbound ring to the host's: the echo. */
static void fc_ep_echo(struct fc_ep *ep)
{
	static u8 buf[SCIF_ENDPT_QP_SIZE];
	u32 head = READ_ONCE(ep->qp->local_write) & FC_EP_MASK;
	u32 tail = READ_ONCE(ep->qp->local_read) & FC_EP_MASK;
	u32 count = (head - ep->in_tail) & FC_EP_MASK;
	u32 space = (tail - ep->out_head - 1) & FC_EP_MASK;
	u32 n = min(count, space);

	if (!n)
		return;
	smp_rmb();	/* data after the offset that covers it */
	fc_ring_get(buf, ep->ring, FC_EP_MASK, ep->in_tail, n);
	fc_ring_put(ep->hring, FC_EP_MASK, ep->out_head, buf, n);
	ep->in_tail = (ep->in_tail + n) & FC_EP_MASK;
	ep->out_head = (ep->out_head + n) & FC_EP_MASK;
	smp_wmb();	/* data before the offsets */
	WRITE_ONCE(ep->hqp->local_write, ep->out_head);
	WRITE_ONCE(ep->hqp->local_read, ep->in_tail);
	fc_ep_notify(ep, SCIF_CLIENT_SENT);
	fc_ep_notify(ep, SCIF_CLIENT_RCVD);
}

/* CNCT_REQ for the echo port: act as the acceptor (facts §7.7). */
static void fc_accept(struct scifmsg *msg)
{
	struct fc_ep *ep = NULL;
	int i;

	for (i = 0; i < FC_EPS && !ep; i++)
		if (!fc.eps[i].used)
			ep = &fc.eps[i];
	if (!ep || msg->dst.port != echo_port)
		goto reject;
	ep->hqp = fc_map_host_qp(msg->payload[1], SCIF_ENDPT_QP_SIZE,
				 &ep->hring);
	if (!ep->hqp)
		goto reject;
	ep->qp = fc_new_qp(SCIF_ENDPT_QP_SIZE, &ep->ring);
	if (!ep->qp)
		goto reject;
	ep->used = true;
	ep->host_cookie = msg->payload[0];
	ep->host = msg->src;
	WRITE_ONCE(ep->hqp->local_write, 0);
	WRITE_ONCE(ep->hqp->local_read, 0);

	msg->uop = SCIF_CNCT_GNT;
	msg->dst = msg->src;
	msg->src.node = fc.self;
	msg->src.port = echo_port;
	msg->payload[1] = virt_to_phys(ep->qp);
	msg->payload[2] = FC_COOKIE + (ep - fc.eps);
	fc_send(msg);
	return;
reject:
	if (ep && !ep->used)
		memset(ep, 0, sizeof(*ep));
	fc_reply(msg, SCIF_CNCT_REJ);
}

/*
 * A fake host announces another card (without apertures: the card must
 * NACK), says it is gone again, then sends what a card must not act on:
 * an answer to a NODE_ADD it never got, an answer "from" the host, and a
 * NODE_ADD introducing the card to itself.
 */
static void fc_node_add_remove(void)
{
	struct scifmsg msg = {
		.uop = SCIF_NODE_ADD,
		.src.node = node + 1,
		.dst.node = node,
	};

	fc_send(&msg);
	msg.uop = SCIF_NODE_REMOVE;
	msg.src.node = 0;
	msg.payload[0] = node + 1;
	fc_send(&msg);
	memset(&msg, 0, sizeof(msg));
	msg.uop = SCIF_NODE_ADD_ACK;
	msg.src.node = node + 2;
	msg.dst.node = node;
	fc_send(&msg);
	msg.src.node = 0;
	fc_send(&msg);
	msg.uop = SCIF_NODE_ADD;
	msg.src.node = node;
	fc_send(&msg);
}

/*
 * A fake card asks the host for connections to other nodes: as another
 * node, and to nodes that are not online cards. Cards connect to each
 * other peer to peer, so the host refuses all of them with CNCT_REJ. It
 * also sends the host the host's own NODE_ADD/REMOVE (ignored).
 */
static void fc_c2c_probe(void)
{
	static const u16 dst[] = { 77, 0xffff };
	struct scifmsg msg = {
		.uop = SCIF_CNCT_REQ,
		.src = { .node = fc.self + 1, .port = 3000 },
		.dst = { .node = fc.self + 2, .port = echo_port },
		.payload = { FC_COOKIE | 0xc20, 0x1000 },
	};
	int i;

	fc_send(&msg);
	msg.src.node = fc.self;
	for (i = 0; i < ARRAY_SIZE(dst); i++) {
		msg.dst.node = dst[i];
		msg.payload[0] = FC_COOKIE | (0xc21 + i);
		fc_send(&msg);
	}
	memset(&msg, 0, sizeof(msg));
	msg.uop = SCIF_NODE_ADD;
	msg.src.node = fc.self + 1;
	fc_send(&msg);
	msg.uop = SCIF_NODE_REMOVE;
	msg.payload[0] = 0;
	fc_send(&msg);
	/* answers to NODE_ADDs the host never sent: as another card, and
	 * as ourselves for a pair the host did not introduce
	 */
	memset(&msg, 0, sizeof(msg));
	msg.uop = SCIF_NODE_ADD_ACK;
	msg.src.node = fc.self + 1;
	msg.dst.node = fc.self + 2;
	fc_send(&msg);
	msg.src.node = fc.self;
	fc_send(&msg);
	msg.uop = SCIF_NODE_ADD_NACK;
	msg.dst.node = 0;
	fc_send(&msg);
}

/* Only once the host let go of them (EXIT_ACK or unregister). */
static void fc_free_eps(void)
{
	int i;

	for (i = 0; i < FC_EPS; i++)
		if (fc.eps[i].used)
			fc_ep_free(&fc.eps[i]);
}

/*
 * scif.ko's EXIT arrived. Until we acknowledge it we may still write into
 * the rings of connections it cut off, as a card working through older
 * messages would, so those rings must still be scif.ko's, even if their
 * users closed them meanwhile. Take our time, then look: a queue pair
 * that lost its magic was freed (or reused) under us.
 */
static void fc_check_host_eps(void)
{
	int i, checked = 0, gone = 0;

	msleep(exit_check_ms);
	for (i = 0; i < FC_EPS; i++) {
		struct fc_ep *ep = &fc.eps[i];

		if (!ep->used)
			continue;
		checked++;
		if (READ_ONCE(ep->hqp->magic) != SCIF_QP_MAGIC) {
			gone++;
			continue;
		}
		WRITE_ONCE(ep->hqp->local_read, ep->in_tail);
	}
	pr_info("EXIT: endpoint queue pairs %d checked, %d freed early\n",
		checked, gone);
}

static void fc_handle(struct scifmsg *msg)
{
	struct fc_ep *ep;

	/* Having said EXIT, a card touches nothing of the host's any more. */
	if (fc.exiting && msg->uop != SCIF_EXIT && msg->uop != SCIF_EXIT_ACK)
		return;
	switch (msg->uop) {
	case SCIF_EXIT:
		/* The host goes away: answer, and wait for it to come back. */
		if (exit_check_ms)
			fc_check_host_eps();
		fc_reply(msg, SCIF_EXIT_ACK);
		fc.linked = false;
		fc_free_eps();
		queue_delayed_work(fc.wq, &fc.poll_work, HZ / 10);
		break;
	case SCIF_EXIT_ACK:
		fc.exit_acked = true;
		wake_up(&fc.exit_wq);
		break;
	case SCIF_INIT:
		/* scif.ko is up; a fake host now drops a P2P link. */
		if (fc.is_host)
			fc_node_add_remove();
		break;
	case SCIF_NODE_REMOVE_ACK:
		pr_info("NODE_REMOVE_ACK for node %llu\n", msg->payload[0]);
		break;
	case SCIF_NODE_ADD_ACK:
	case SCIF_NODE_ADD_NACK:
		pr_info("NODE_ADD_%sACK from node %u for node %u\n",
			msg->uop == SCIF_NODE_ADD_NACK ? "N" : "",
			msg->src.node, msg->dst.node);
		break;
	case SCIF_CNCT_REQ:
		fc_accept(msg);
		break;
	case SCIF_CNCT_REJ:
		pr_info("CNCT_REJ for %#llx\n", msg->payload[0]);
		break;
	case SCIF_CNCT_GNTNACK:
		ep = fc_ep_find(msg->payload[0]);
		if (ep)
			fc_ep_free(ep);
		break;
	case SCIF_CLIENT_SENT:
	case SCIF_CLIENT_RCVD:
		ep = fc_ep_find(msg->payload[0]);
		if (ep)
			fc_ep_echo(ep);
		break;
	case SCIF_DISCNCT:
		ep = fc_ep_find(msg->payload[1]);
		if (ep && ep->host_cookie == msg->payload[0])
			fc_ep_free(ep);
		fc_reply(msg, SCIF_DISCNT_ACK);
		break;
	default:
		break;	/* GNTACK and the rest: nothing to do */
	}
}

static void fc_rx_work(struct work_struct *work)
{
	struct scifmsg msg;
	u32 head;

	mutex_lock(&fc.lock);
	while (fc.linked && !fc.exit_acked) {
		head = READ_ONCE(fc.qp->local_write) & FC_NODE_MASK;
		if (((head - fc.in_tail) & FC_NODE_MASK) < sizeof(msg))
			break;
		smp_rmb();	/* message after the offset that covers it */
		fc_ring_get(&msg, fc.ring, FC_NODE_MASK, fc.in_tail,
			    sizeof(msg));
		fc.in_tail = (fc.in_tail + sizeof(msg)) & FC_NODE_MASK;
		fc_handle(&msg);
		if (msg.uop == SCIF_EXIT_ACK || !fc.linked)
			break;
		WRITE_ONCE(fc.hqp->local_read, fc.in_tail);
	}
	mutex_unlock(&fc.lock);
}

static void fc_flood(void)
{
	struct scifmsg msg;
	int i;

	for (i = 0; i < flood; i++) {
		get_random_bytes(&msg, sizeof(msg));
		if (i % 3 == 0)
			msg.uop %= SCIF_MAX_UOP + 1;
		/* Never EXIT/EXIT_ACK: those would really end the link. */
		if (msg.uop == SCIF_EXIT || msg.uop == SCIF_EXIT_ACK)
			msg.uop = SCIF_MAX_UOP + 1;
		if (fc_send(&msg))
			break;
	}
}

/* Our doorbell and queue pair in the device page, or 0/unset. */
static void fc_dp_set(u8 db, u64 addr)
{
	if (fc.is_host) {
		if (!addr)
			WRITE_ONCE(fc.dp->scif_host_dma_addr, 0);
		WRITE_ONCE(fc.dp->c2h_scif_db, db);
		smp_wmb();	/* doorbell before address */
		if (addr)
			WRITE_ONCE(fc.dp->scif_host_dma_addr, cpu_to_le64(addr));
	} else {
		if (!addr)
			WRITE_ONCE(fc.dp->scif_card_dma_addr, 0);
		WRITE_ONCE(fc.dp->h2c_scif_db, db);
		smp_wmb();	/* doorbell before address */
		if (addr)
			WRITE_ONCE(fc.dp->scif_card_dma_addr, cpu_to_le64(addr));
	}
}

/* scif.ko's queue pair address from the device page, or 0. */
static u64 fc_dp_peer(void)
{
	__le64 addr;
	u8 db;

	if (fc.is_host)
		addr = READ_ONCE(fc.dp->scif_card_dma_addr);
	else
		addr = READ_ONCE(fc.dp->scif_host_dma_addr);
	smp_rmb();	/* the doorbell is stored before the address */
	if (fc.is_host)
		db = READ_ONCE(fc.dp->h2c_scif_db);
	else
		db = READ_ONCE(fc.dp->c2h_scif_db);
	return db == MIC_DB_UNSET ? 0 : le64_to_cpu(addr);
}

/* Whether scif.ko withdrew both of its fields. */
static bool fc_dp_peer_clear(void)
{
	if (fc.is_host)
		return !READ_ONCE(fc.dp->scif_card_dma_addr) &&
		       READ_ONCE(fc.dp->h2c_scif_db) == MIC_DB_UNSET;
	return !READ_ONCE(fc.dp->scif_host_dma_addr) &&
	       READ_ONCE(fc.dp->c2h_scif_db) == MIC_DB_UNSET;
}

static void fc_scribble(void)
{
	int i;

	for (i = 0; i < 4; i++) {
		WRITE_ONCE(fc.hqp->local_write, get_random_u32());
		WRITE_ONCE(fc.hqp->local_read, get_random_u32());
		fc.handler(0, fc.hdata);
		msleep(20);
	}
}

/* Look for scif.ko's queue pair in the device page; say INIT. */
static void fc_poll_work(struct work_struct *work)
{
	struct scifmsg msg = { .uop = SCIF_INIT, .src.node = fc.self };
	u64 addr;

	mutex_lock(&fc.lock);
	if (fc.linked || !fc.qp)
		goto unlock;
	addr = fc_dp_peer();
	if (!addr)
		goto again;
	fc.hqp = fc_map_host_qp(addr, SCIF_NODE_QP_SIZE, &fc.hring);
	if (!fc.hqp)
		goto again;
	fc.out_head = READ_ONCE(fc.hqp->local_write) & FC_NODE_MASK;
	WRITE_ONCE(fc.qp->local_read, 0);
	WRITE_ONCE(fc.hqp->local_read, fc.in_tail);
	fc.linked = true;
	fc.exit_acked = false;
	fc_send(&msg);
	fc_flood();
	if (bad_offsets)
		fc_scribble();
	queue_work(fc.wq, &fc.rx_work);
	goto unlock;
again:
	queue_delayed_work(fc.wq, &fc.poll_work, HZ / 10);
unlock:
	mutex_unlock(&fc.lock);
}

/* Allocate a fresh node queue pair and publish it; fc.lock held. */
static int fc_publish(void)
{
	fc.qp = fc_new_qp(SCIF_NODE_QP_SIZE, &fc.ring);
	if (!fc.qp)
		return -ENOMEM;
	if (bad_magic)
		fc.qp->magic = ~SCIF_QP_MAGIC;
	if (bad_size)
		fc.qp->inbound_size = SCIF_NODE_QP_SIZE / 2;
	fc.in_tail = 0;
	fc_dp_set(3, virt_to_phys(fc.qp));
	return 0;
}

static void fc_unpublish(void)
{
	fc_dp_set(MIC_DB_UNSET, 0);
}

/* Card-initiated exit (facts §7.6 step 5), then come back. */
static void fc_reboot_work(struct work_struct *work)
{
	struct scifmsg msg = { .uop = SCIF_EXIT, .src.node = fc.self };
	void *old_qp, *old_ring;
	bool wait, acked = true;

	mutex_lock(&fc.lock);
	fc_unpublish();
	fc.exit_acked = false;
	fc.exiting = true;
	wait = fc.linked && !fc_send(&msg);
	mutex_unlock(&fc.lock);
	if (wait)
		acked = wait_event_timeout(fc.exit_wq, READ_ONCE(fc.exit_acked),
					   10 * HZ);
	mutex_lock(&fc.lock);
	fc.linked = false;
	fc.exiting = false;
	old_qp = fc.qp;
	old_ring = fc.ring;
	if (acked)
		fc_free_eps();
	if (!fc_publish())
		queue_delayed_work(fc.wq, &fc.poll_work, HZ / 10);
	mutex_unlock(&fc.lock);
	if (!acked) {
		/* The host may still write there: leak rather than corrupt. */
		pr_warn("no EXIT_ACK, old queues leaked\n");
		return;
	}
	kfree(old_qp);
	kfree(old_ring);
	pr_info("rebooted\n");
}

static int fc_set_reboot(const char *val, const struct kernel_param *kp)
{
	if (!fc.wq)
		return -ENODEV;
	/* Not on fc.wq: it waits for EXIT_ACK, which fc.wq's rx work reads. */
	schedule_work(&fc.reboot_work);
	return 0;
}

static const struct kernel_param_ops fc_reboot_ops = {
	.set = fc_set_reboot,
};
module_param_cb(reboot, &fc_reboot_ops, NULL, 0200);
MODULE_PARM_DESC(reboot, "write 1: the card leaves (EXIT) and comes back");

static int fc_set_c2c_probe(const char *val, const struct kernel_param *kp)
{
	if (!fc.wq || fc.is_host)
		return -ENODEV;
	mutex_lock(&fc.lock);
	fc_c2c_probe();
	mutex_unlock(&fc.lock);
	return 0;
}

static const struct kernel_param_ops fc_c2c_probe_ops = {
	.set = fc_set_c2c_probe,
};
module_param_cb(c2c_probe, &fc_c2c_probe_ops, NULL, 0200);
MODULE_PARM_DESC(c2c_probe,
		 "card, write 1: ask the host for other cards' ports, as itself and as another node");

/* The host side: struct scif_hw_ops over this kernel's memory. */
static int fc_next_db(struct scif_hw_dev *sdev)
{
	return 0;
}

static void *fc_request_db_irq(struct scif_hw_dev *sdev, int db,
			       irq_handler_t handler, const char *name,
			       void *data)
{
	mutex_lock(&fc.lock);
	fc.hdata = data;
	fc.handler = handler;
	mutex_unlock(&fc.lock);
	return &fc;
}

static void fc_free_db_irq(struct scif_hw_dev *sdev, void *cookie,
			   void *data)
{
	mutex_lock(&fc.lock);
	fc.handler = NULL;
	fc.linked = false;
	mutex_unlock(&fc.lock);
}

static void fc_send_peer_intr(struct scif_hw_dev *sdev, int peer_db)
{
	queue_work(fc.wq, &fc.rx_work);
}

static void __iomem *fc_ioremap(struct scif_hw_dev *sdev, dma_addr_t addr,
				size_t len)
{
	return (void __iomem __force *)fc_phys(addr, len);
}

static void fc_iounmap(struct scif_hw_dev *sdev, void __iomem *va,
		       size_t len)
{
}

static int fc_map_local(struct scif_hw_dev *sdev, void *va, size_t len,
			dma_addr_t *addr)
{
	*addr = virt_to_phys(va);
	return 0;
}

static void fc_unmap_local(struct scif_hw_dev *sdev, dma_addr_t addr,
			   size_t len)
{
}

static const struct scif_hw_ops fc_ops = {
	.next_db = fc_next_db,
	.request_db_irq = fc_request_db_irq,
	.free_db_irq = fc_free_db_irq,
	.send_peer_intr = fc_send_peer_intr,
	.ioremap = fc_ioremap,
	.iounmap = fc_iounmap,
	.map_local = fc_map_local,
	.unmap_local = fc_unmap_local,
};

static void fc_release(struct device *dev)
{
}

static struct device fc_device = {
	.init_name = "scif_fakepeer",
	.release = fc_release,
};

static void fc_init_dp(void)
{
	fc.dp->magic = cpu_to_le32(MIC_MAGIC);
	fc.dp->node_id = node;
	fc.dp->h2c_scif_db = MIC_DB_UNSET;
	fc.dp->c2h_scif_db = MIC_DB_UNSET;
	fc.sdev.dev = &fc_device;
	fc.sdev.ops = &fc_ops;
	if (fc.is_host) {
		/* scif.ko is card "node", reaching the DP "through the SMPT". */
		fc.sdev.snode = node;
		fc.sdev.dnode = 0;
		fc.sdev.rdp = (struct mic_bootparam __iomem __force *)fc.dp;
	} else {
		fc.sdev.snode = 0;
		fc.sdev.dnode = node;
		fc.sdev.dp = fc.dp;
	}
}

static int __init fc_init(void)
{
	int err;

	if (node < 1 || node > 128)
		return -EINVAL;
	if (!strcmp(role, "host"))
		fc.is_host = true;
	else if (strcmp(role, "card"))
		return -EINVAL;
	fc.self = fc.is_host ? 0 : node;
	mutex_init(&fc.lock);
	init_waitqueue_head(&fc.exit_wq);
	INIT_WORK(&fc.rx_work, fc_rx_work);
	INIT_DELAYED_WORK(&fc.poll_work, fc_poll_work);
	INIT_WORK(&fc.reboot_work, fc_reboot_work);
	fc.dp = kzalloc(MIC_DP_SIZE, GFP_KERNEL);
	fc.wq = alloc_ordered_workqueue("scif_fakepeer", 0);
	err = -ENOMEM;
	if (!fc.dp || !fc.wq)
		goto free;
	err = device_register(&fc_device);
	if (err)
		goto put_dev;
	fc_init_dp();

	mutex_lock(&fc.lock);
	err = fc_publish();
	mutex_unlock(&fc.lock);
	if (err)
		goto unreg_dev;
	err = scif_register_hw_dev(&fc.sdev);
	if (err)
		goto unpublish;
	queue_delayed_work(fc.wq, &fc.poll_work, 0);
	return 0;

unpublish:
	kfree(fc.qp);
	kfree(fc.ring);
unreg_dev:
	device_unregister(&fc_device);
	goto free;
put_dev:
	put_device(&fc_device);
free:
	if (fc.wq)
		destroy_workqueue(fc.wq);
	fc.wq = NULL;
	kfree(fc.dp);
	return err;
}

static void __exit fc_exit(void)
{
	/* scif.ko says EXIT through our ring and waits for EXIT_ACK. */
	scif_unregister_hw_dev(&fc.sdev);
	if (fc_dp_peer_clear())
		pr_info("scif cleared its device page fields\n");
	else
		pr_err("scif left its device page fields set\n");
	cancel_work_sync(&fc.reboot_work);
	cancel_delayed_work_sync(&fc.poll_work);
	destroy_workqueue(fc.wq);
	fc_unpublish();
	fc_free_eps();
	fc.linked = false;
	kfree(fc.qp);
	kfree(fc.ring);
	device_unregister(&fc_device);
	kfree(fc.dp);
}

module_init(fc_init);
module_exit(fc_exit);

MODULE_DESCRIPTION("micemu SCIF test: a software card node");
MODULE_LICENSE("GPL");
