/* SPDX-License-Identifier: GPL-2.0 */
/*
 * micemu: messages between the host COSM server and a card's COSM client.
 *
 * Wire format shared with the card (facts §6.1-6.3): fixed 24-byte
 * records, little-endian, over a SCIF connection from the card to host
 * node 0, port COSM_SCIF_PORT. Values follow the upstream MIC stack byte
 * for byte; extensions get new ids, never changed old ones.
 */
#ifndef MICEMU_COSM_MSG_H
#define MICEMU_COSM_MSG_H

#include <linux/build_bug.h>
#include <linux/stddef.h>
#include <linux/types.h>

/* The host COSM server listens here (SCIF_COSM_LISTEN_PORT upstream). */
#define COSM_SCIF_PORT			201

/* The card sends a heartbeat at least this often, in seconds. */
#define COSM_HEARTBEAT_SEND_SEC		30

/**
 * enum cosm_msg_id - COSM message types
 * @COSM_MSG_SHUTDOWN: host to card: run an orderly poweroff
 * @COSM_MSG_SYNC_TIME: host to card: set the wall clock to @timespec
 * @COSM_MSG_HEARTBEAT: card to host: still alive
 * @COSM_MSG_SHUTDOWN_STATUS: card to host: shutting down with
 *	@shutdown_status (1 crashed, 2 halted, 3 poweroff, 4 restart)
 */
enum cosm_msg_id {
	COSM_MSG_SHUTDOWN = 0,
	COSM_MSG_SYNC_TIME = 1,
	COSM_MSG_HEARTBEAT = 2,
	COSM_MSG_SHUTDOWN_STATUS = 3,
};

/**
 * struct cosm_msg - one COSM message
 * @id: an &enum cosm_msg_id value
 * @shutdown_status: payload of COSM_MSG_SHUTDOWN_STATUS
 * @timespec: payload of COSM_MSG_SYNC_TIME (host real time)
 * @timespec.tv_sec: seconds since the epoch
 * @timespec.tv_nsec: nanoseconds
 */
struct cosm_msg {
	__le64 id;
	union {
		__le64 shutdown_status;
		struct {
			__le64 tv_sec;
			__le64 tv_nsec;
		} timespec;
	};
};

static_assert(sizeof(struct cosm_msg) == 24);
static_assert(offsetof(struct cosm_msg, shutdown_status) == 8);
static_assert(offsetof(struct cosm_msg, timespec.tv_nsec) == 16);

#endif /* MICEMU_COSM_MSG_H */
