/* SPDX-License-Identifier: GPL-2.0 */
/*
 * micemu: COSM messages between the host's COSM server and a card's COSM
 * client, the one definition both ends compile against.
 *
 * Wire format (facts §6.1-6.4): fixed 24-byte little-endian records on a
 * SCIF connection from the card to host node 0, port
 * SCIF_COSM_LISTEN_PORT. Values follow the upstream MIC stack byte for
 * byte; extensions get new ids, never changed old ones.
 */
#ifndef MICEMU_COSM_MSG_H
#define MICEMU_COSM_MSG_H

#include <linux/build_bug.h>
#include <linux/stddef.h>
#include <linux/types.h>

/* facts §6.1: the host's COSM server listens here, on node 0. */
#define SCIF_COSM_LISTEN_PORT		201

/* facts §6.3: upstream's card heartbeat period, in seconds. */
#define COSM_HEARTBEAT_SEND_SEC		30

/* facts §4.3 step 4: the card's connection attempts, one second apart. */
#define COSM_SCIF_MAX_RETRIES		10

/**
 * enum cosm_msg_id - COSM message types (facts §6.2)
 * @COSM_MSG_SHUTDOWN: host to card: run an orderly poweroff
 * @COSM_MSG_SYNC_TIME: host to card: set the wall clock to @timespec
 * @COSM_MSG_HEARTBEAT: card to host: still alive
 * @COSM_MSG_SHUTDOWN_STATUS: card to host: shutting down with
 *	@shutdown_status
 */
enum cosm_msg_id {
	COSM_MSG_SHUTDOWN = 0,
	COSM_MSG_SYNC_TIME = 1,
	COSM_MSG_HEARTBEAT = 2,
	COSM_MSG_SHUTDOWN_STATUS = 3,
};

/**
 * enum cosm_shutdown_status - the card's shutdown status (facts §6.4)
 * @COSM_STATUS_NOP: nothing reported (host-side value only)
 * @COSM_STATUS_CRASHED: the card kernel panicked
 * @COSM_STATUS_HALTED: halted
 * @COSM_STATUS_POWER_OFF: powered off
 * @COSM_STATUS_RESTART: restarting
 * @COSM_STATUS_LAST: number of values; a card may send 1 to 4 only
 */
enum cosm_shutdown_status {
	COSM_STATUS_NOP = 0,
	COSM_STATUS_CRASHED,
	COSM_STATUS_HALTED,
	COSM_STATUS_POWER_OFF,
	COSM_STATUS_RESTART,
	COSM_STATUS_LAST
};

/**
 * struct cosm_msg - one COSM message
 * @id: an &enum cosm_msg_id value
 * @shutdown_status: payload of COSM_MSG_SHUTDOWN_STATUS, an
 *	&enum cosm_shutdown_status value
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
