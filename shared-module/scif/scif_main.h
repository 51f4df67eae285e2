/* SPDX-License-Identifier: GPL-2.0 */
/*
 * micemu SCIF: private definitions shared by the scif.ko sources.
 *
 * Locking, outermost first:
 *   scif_dev.lock        link bring-up and teardown (a card's host link
 *                        before its P2P links)
 *   scif_p2p_lock        host: card pairs and their BAR mappings
 *   scif_dev.peer_lock   the node's peer device (client probes run under it)
 *   scif_dev.ep_sem      endpoint mappings through the link's hw ops
 *                        (read: connect/accept/close; write: teardown)
 *   scif_dev.rx_lock     consumer side of the node queue pair
 *   scif_endpt.sendlock / recvlock
 *   scif_dev.send_lock   producer side of the node queue pair, link state
 *   scif_endpt.lock      endpoint state (spinlock)
 */
#ifndef MICEMU_SCIF_MAIN_H
#define MICEMU_SCIF_MAIN_H

#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#include "scif.h"
#include "scif_hw.h"
#include "scif_rb.h"
#include "scif_rma.h"
#include "scif_wire.h"

#define SCIF_MAX_NODES		129
#define SCIF_MGMT_NODE		0
#define SCIF_NO_NODE		(-1)
/* Node messages drained per rx work run before yielding. */
#define SCIF_RX_BUDGET		256
/* How long a sender waits for room in a full node queue (facts §7.4). */
#define SCIF_NODEQP_SEND_MS	3000

/**
 * enum scif_link_state - state of the link to one node
 * @SCIF_LINK_DOWN: no link
 * @SCIF_LINK_WAIT: our queue pair is published, the peer's is not known
 * @SCIF_LINK_MAPPED: the peer's queue pair is mapped and INIT sent; the
 *	peer's INIT has not arrived
 * @SCIF_LINK_UP: both INITs done; the node is online
 * @SCIF_LINK_EXITING: being torn down; only INIT/EXIT/EXIT_ACK go out
 */
enum scif_link_state {
	SCIF_LINK_DOWN,
	SCIF_LINK_WAIT,
	SCIF_LINK_MAPPED,
	SCIF_LINK_UP,
	SCIF_LINK_EXITING,
};

/**
 * struct scif_qp - a queue pair: our half and our mapping of the peer's
 * @wire: our peer-visible queue pair structure, or NULL
 * @wire_addr: the peer's address for @wire
 * @ring: our inbound ring
 * @ring_addr: the peer's address for @ring
 * @local_mapped: @wire_addr and @ring_addr are live mappings
 * @rwire: the peer's queue pair structure, mapped, or NULL
 * @rring: the peer's inbound ring, mapped, or NULL
 * @rring_size: mapped length of @rring
 * @inbound: the ring the peer writes and we read
 * @outbound: the ring we write and the peer reads
 */
struct scif_qp {
	struct scif_qp_wire *wire;
	dma_addr_t wire_addr;
	void *ring;
	dma_addr_t ring_addr;
	bool local_mapped;
	struct scif_qp_wire __iomem *rwire;
	void __iomem *rring;
	u32 rring_size;
	struct scif_rb inbound;
	struct scif_rb outbound;
};

/**
 * struct scif_dev - this node's view of one node (itself included)
 * @node: node id
 * @self: the loopback link to this node itself
 * @p2p: on a card, for another card: a peer-to-peer link through that
 *	card's BARs (scif_p2p.c), set up by the host's NODE_ADD
 * @sdev: hardware link, NULL for the loopback link and when down; for a
 *	P2P link the host link's (its SMPT window reaches the peer)
 * @state: enum scif_link_state; written under @send_lock (and @lock,
 *	except the rx path's MAPPED -> UP step)
 * @lock: serialises bring-up and teardown
 * @send_lock: serialises writers of the node queue pair
 * @rx_lock: serialises the reader of the node queue pair
 * @ep_sem: keeps @sdev usable for endpoint mappings
 * @peer_lock: serialises @spdev registration
 * @qp: the node queue pair
 * @db: our doorbell
 * @rdb: the peer's doorbell
 * @irq: cookie from request_db_irq
 * @tx_ready: @outbound is usable (under @send_lock)
 * @init_rcvd: the peer's INIT arrived before we mapped it (@send_lock)
 * @exit_rcvd: the peer sent EXIT (under @send_lock)
 * @exit_acked: our EXIT was acknowledged
 * @rx_stopped: stop reading @inbound until the link is set up again
 * @exit_wq: waits for @exit_acked
 * @parked_eps: endpoints cut off by the teardown in progress, kept alive
 *	(and their queue pairs with them) until the peer stopped writing to
 *	our memory (under @lock)
 * @spdev: registered peer device, or NULL (under @peer_lock)
 * @loopb_msgs: messages queued on the loopback link
 * @loopb_lock: protects @loopb_msgs
 * @rx_work: reads node messages
 * @poll_work: watches the device page for the peer's queue pair
 * @exit_work: tears the link down after the peer's EXIT
 * @peer_work: registers the peer device
 * @base_addr: P2P: where the peer reaches our memory (NODE_ADD [0]),
 *	added to every address we hand it
 * @mmio: P2P: the peer's register BAR, mapped through our window
 */
struct scif_dev {
	u8 node;
	bool self;
	bool p2p;
	struct scif_hw_dev *sdev;
	enum scif_link_state state;
	struct mutex lock;		/* bring-up, teardown */
	struct mutex send_lock;		/* node queue writers, @state */
	struct mutex rx_lock;		/* node queue reader */
	struct rw_semaphore ep_sem;
	struct mutex peer_lock;		/* @spdev */

	struct scif_qp qp;
	int db;
	int rdb;
	void *irq;

	bool tx_ready;
	bool init_rcvd;
	bool exit_rcvd;
	bool exit_acked;
	bool rx_stopped;
	wait_queue_head_t exit_wq;
	struct list_head parked_eps;

	struct scif_peer_dev *spdev;
	struct list_head loopb_msgs;
	spinlock_t loopb_lock;		/* @loopb_msgs */

	struct work_struct rx_work;
	struct delayed_work poll_work;
	struct work_struct exit_work;
	struct work_struct peer_work;
	dma_addr_t base_addr;
	void __iomem *mmio;
};

/**
 * enum scif_ep_state - endpoint life cycle
 * @SCIFEP_UNBOUND: fresh
 * @SCIFEP_BOUND: has a port
 * @SCIFEP_LISTENING: takes connection requests
 * @SCIFEP_CONNECTING: connector waiting for GNT or REJ
 * @SCIFEP_MAPPING: connector got GNT, mapping the acceptor's queue
 * @SCIFEP_ACCEPTING: acceptor sent GNT, waiting for GNTACK
 * @SCIFEP_CONNECTED: data may flow
 * @SCIFEP_DISCONNECTED: the peer closed or its node went away; queued
 *	data can still be read
 * @SCIFEP_CLOSING: scif_close() runs, or the connector refused the grant
 */
enum scif_ep_state {
	SCIFEP_UNBOUND,
	SCIFEP_BOUND,
	SCIFEP_LISTENING,
	SCIFEP_CONNECTING,
	SCIFEP_MAPPING,
	SCIFEP_ACCEPTING,
	SCIFEP_CONNECTED,
	SCIFEP_DISCONNECTED,
	SCIFEP_CLOSING,
};

/**
 * struct scif_endpt - an endpoint
 * @ref: references: the owner (until scif_close) and message handlers
 * @id: index in the endpoint table
 * @cookie: the value the peer echoes to name this endpoint; the table
 *	index plus random bits, never a kernel pointer
 * @lock: protects @state, @conreqs, @conreqcnt, @discon_acked, @conn_err
 * @state: enum scif_ep_state
 * @port: local node and port
 * @peer: remote node and port once connected
 * @wq: every event on the endpoint wakes it
 * @sendlock: serialises senders, fences them against disconnection
 * @recvlock: serialises receivers, fences them against disconnection
 * @backlog: listening: most pending requests
 * @conreqcnt: listening: pending requests
 * @conreqs: listening: struct scif_conreq list
 * @listen_node: listening: entry in the listener list
 * @remote_dev: node of the peer once a connection is attempted
 * @remote_ep: the peer's cookie for its endpoint
 * @gnt_qp: connector: acceptor's queue pair address from GNT
 * @discon_acked: DISCNT_ACK arrived
 * @conn_err: acceptor: the connector sent GNTNACK
 * @qp: the endpoint queue pair (qp.wire is NULL when there is none)
 * @spin_shift: waiters poll the rings for poll_us >> @spin_shift (scif_msg.c)
 * @spin_skip: waits left before polling may resume
 * @spin_backoff: @spin_skip is SCIF_SPIN_SKIP << @spin_backoff when set
 * @spin_since: when the current poll()/select() wait began, or 0
 * @rma: remote memory access state (scif_rma.h)
 * @tmp_node: entry in temporary lists built during teardown
 * @park_node: entry in scif_dev.parked_eps
 */
struct scif_endpt {
	struct kref ref;
	u32 id;
	u64 cookie;
	spinlock_t lock;		/* @state, listen and close fields */
	enum scif_ep_state state;
	struct scif_port_id port;
	struct scif_port_id peer;
	wait_queue_head_t wq;
	struct mutex sendlock;		/* senders, vs. disconnection */
	struct mutex recvlock;		/* receivers, vs. disconnection */

	int backlog;
	int conreqcnt;
	struct list_head conreqs;
	struct list_head listen_node;

	struct scif_dev *remote_dev;
	u64 remote_ep;
	u64 gnt_qp;
	bool discon_acked;
	bool conn_err;

	struct scif_qp qp;
	u8 spin_shift;
	u8 spin_backoff;
	u16 spin_skip;
	u64 spin_since;
	struct scif_ep_rma rma;

	struct list_head tmp_node;
	struct list_head park_node;
};

/**
 * struct scif_conreq - a connection request waiting for scif_accept()
 * @msg: the CNCT_REQ message
 * @dev: the node it came from
 * @list: entry in the listener's @conreqs
 */
struct scif_conreq {
	struct scifmsg msg;
	struct scif_dev *dev;
	struct list_head list;
};

/**
 * struct scif_loopb_msg - a message queued on the loopback link
 * @msg: the message
 * @list: entry in scif_dev.loopb_msgs
 */
struct scif_loopb_msg {
	struct scifmsg msg;
	struct list_head list;
};

/**
 * struct scif_info - global state
 * @nodeid: this node's id, or SCIF_NO_NODE before it is known
 * @conf_lock: protects @nodeid and the loopback link's creation
 * @wq: runs node queue rx work
 * @eps: all endpoints, by id
 * @listen_lock: protects @listeners
 * @listeners: listening endpoints
 */
struct scif_info {
	int nodeid;
	struct mutex conf_lock;		/* @nodeid */
	struct workqueue_struct *wq;
	struct xarray eps;
	struct mutex listen_lock;	/* @listeners */
	struct list_head listeners;
};

extern struct scif_info scif_info;
extern struct scif_dev scif_devs[SCIF_MAX_NODES];
extern unsigned int scif_alive_timeout_ms;
extern unsigned int scif_poll_ms;
extern unsigned int scif_poll_us;
extern atomic_long_t scif_spin_hits;
extern atomic_long_t scif_spin_misses;
extern atomic_long_t scif_spin_off;

static inline bool scif_is_mgmt_node(void)
{
	return scif_info.nodeid == SCIF_MGMT_NODE;
}

static inline bool scif_link_up(struct scif_dev *dev)
{
	return READ_ONCE(dev->state) == SCIF_LINK_UP;
}

static inline struct device *scif_log_dev(struct scif_dev *dev)
{
	return dev->sdev ? dev->sdev->dev : NULL;
}

static inline unsigned long scif_alive_timeout(void)
{
	return msecs_to_jiffies(scif_alive_timeout_ms);
}

/* scif_qp.c: queue pairs and the hw ops behind them */
void __iomem *scif_ioremap(struct scif_dev *dev, u64 addr, size_t len);
void scif_iounmap(struct scif_dev *dev, void __iomem *va, size_t len);
int scif_map_local(struct scif_dev *dev, void *va, size_t len,
		   dma_addr_t *addr);
void scif_unmap_local(struct scif_dev *dev, dma_addr_t addr, size_t len);
int scif_qp_create(struct scif_dev *dev, struct scif_qp *qp, u32 size);
int scif_qp_map_peer(struct scif_dev *dev, struct scif_qp *qp, u64 addr,
		     u32 size, bool reset_peer);
void scif_qp_unmap_peer(struct scif_dev *dev, struct scif_qp *qp);
void scif_qp_unmap_local(struct scif_dev *dev, struct scif_qp *qp);
void scif_qp_free(struct scif_qp *qp);
void scif_qp_reset_inbound(struct scif_qp *qp);

/* scif_nodeqp.c: node queue pairs */
int scif_nodeqp_send(struct scif_dev *dev, struct scifmsg *msg);
int scif_nodeqp_send_locked(struct scif_dev *dev, struct scifmsg *msg);
int scif_link_setup(struct scif_dev *dev, struct scif_hw_dev *sdev);
int scif_link_arm_db(struct scif_dev *dev, const char *name);
void scif_link_free_db(struct scif_dev *dev);
void scif_link_free_qp(struct scif_dev *dev);
void scif_link_set_state(struct scif_dev *dev, enum scif_link_state state);
void scif_link_init_rcvd(struct scif_dev *dev);
void scif_bootparam_publish(struct scif_dev *dev, bool clear);
void scif_rx_work(struct work_struct *work);
void scif_poll_work(struct work_struct *work);
irqreturn_t scif_db_irq(int irq, void *data);

/* scif_nm.c: node messages and teardown */
void scif_handle_msg(struct scif_dev *dev, struct scifmsg *msg);
void scif_exit_work(struct work_struct *work);
void scif_link_destroy(struct scif_dev *dev);
void scif_link_quiesce(struct scif_dev *dev);
void scif_link_unmap_peer(struct scif_dev *dev);
void scif_loopback_destroy(struct scif_dev *dev);

/* scif_peer.c: peer devices and clients */
int scif_peer_bus_init(void);
void scif_peer_bus_exit(void);
void scif_peer_work(struct work_struct *work);
void scif_peer_remove(struct scif_dev *dev);
void scif_node_stats(u16 *maxid, u16 *total);

/* scif_debugfs.c */
void scif_debugfs_init(void);
void scif_debugfs_exit(void);

/* scif_ports.c */
int scif_port_reserve(u16 port);
int scif_port_alloc(void);
void scif_port_get(u16 port);
void scif_port_put(u16 port);

/* scif_epd.c: endpoints and their queue pairs */
struct scif_endpt *scif_ep_alloc(void);
struct scif_endpt *scif_ep_get(u64 cookie);
void scif_ep_put(struct scif_endpt *ep);
void scif_ep_release_id(struct scif_endpt *ep);
void scif_ep_qp_unmap(struct scif_endpt *ep);
void scif_ep_set_state(struct scif_endpt *ep, enum scif_ep_state state);
enum scif_ep_state scif_ep_state(struct scif_endpt *ep);
void scif_eps_wake_node(struct scif_dev *dev);
void scif_eps_invalidate_node(struct scif_dev *dev);
void scif_eps_release_parked(struct scif_dev *dev);
void scif_cnctreq(struct scif_dev *dev, struct scifmsg *msg);
void scif_cnctgnt(struct scif_dev *dev, struct scifmsg *msg);
void scif_cnctgnt_ack(struct scif_dev *dev, struct scifmsg *msg);
void scif_cnctrej(struct scif_dev *dev, struct scifmsg *msg);
void scif_discnct(struct scif_dev *dev, struct scifmsg *msg);
void scif_discnt_ack(struct scif_dev *dev, struct scifmsg *msg);
void scif_client_notify(struct scif_dev *dev, struct scifmsg *msg);

/* scif_msg.c */
short scif_ep_poll_mask(struct scif_endpt *ep);
short scif_ep_spin_mask(struct scif_endpt *ep, short events, bool first);

/* scif_fd.c: /dev/scif */
int scif_fd_init(void);
void scif_fd_exit(void);

/* scif_api.c */
void scif_send_rej(struct scif_dev *dev, const struct scif_port_id *src,
		   struct scifmsg *req);
int scif_ep_connect(struct scif_endpt *ep, struct scif_dev *dev,
		    struct scif_port_id *dst);
int scif_ep_grant(const struct scif_port_id *port, struct scif_endpt *cep,
		  struct scif_conreq *req);
void scif_ep_shutdown(struct scif_endpt *ep);

/* scif_p2p.c: card-to-card links, peer to peer */
void scif_p2p_exit(void);
void scif_p2p_node_up(struct scif_dev *dev);
void scif_p2p_link_down(struct scif_dev *dev);
void scif_node_add_msg(struct scif_dev *dev, struct scifmsg *msg);
void scif_node_add_ack_msg(struct scif_dev *dev, struct scifmsg *msg);
void scif_p2p_peer_answer(struct scif_dev *dev, struct scifmsg *msg);
void scif_node_remove_msg(struct scif_dev *dev, struct scifmsg *msg);

#endif /* MICEMU_SCIF_MAIN_H */
