/* SPDX-License-Identifier: GPL-2.0 */
/*
 * micemu: COSM messages between a card's client and the host's server
 * (facts §6.1-6.4). A wire format: fixed 24-byte little-endian records
 * on a SCIF connection to host port 201.
 */
#ifndef MICEMU_MIC_COSM_MSG_H
#define MICEMU_MIC_COSM_MSG_H

#include <linux/build_bug.h>
#include <linux/stddef.h>
#include <linux/types.h>

/* facts §6.1: the host's COSM server listens here, on node 0. */
#define SCIF_COSM_LISTEN_PORT		201

/* facts §6.3: upstream's card heartbeat period. */
#define COSM_HEARTBEAT_SEND_SEC		30

/* facts §4.3 step 4: connection attempts, one second apart. */
#define COSM_SCIF_MAX_RETRIES		10

/* facts §6.2: message ids. */
#define COSM_MSG_SHUTDOWN		0	/* host to card */
#define COSM_MSG_SYNC_TIME		1	/* host to card */
#define COSM_MSG_HEARTBEAT		2	/* card to host */
#define COSM_MSG_SHUTDOWN_STATUS	3	/* card to host */

/* facts §6.4: shutdown status values the host accepts (1-4). */
#define COSM_STATUS_NOP			0
#define COSM_STATUS_CRASHED		1
#define COSM_STATUS_HALTED		2
#define COSM_STATUS_POWER_OFF		3
#define COSM_STATUS_RESTART		4

/**
 * struct cosm_msg - one COSM message
 * @id: COSM_MSG_*
 * @shutdown_status: COSM_MSG_SHUTDOWN_STATUS payload, COSM_STATUS_*
 * @tv_sec: COSM_MSG_SYNC_TIME payload: host wall clock, seconds
 * @tv_nsec: COSM_MSG_SYNC_TIME payload: nanoseconds
 */
struct cosm_msg {
	__le64 id;
	union {
		__le64 shutdown_status;
		struct {
			__le64 tv_sec;
			__le64 tv_nsec;
		};
	};
};

static_assert(sizeof(struct cosm_msg) == 24);
static_assert(offsetof(struct cosm_msg, shutdown_status) == 8);
static_assert(offsetof(struct cosm_msg, tv_nsec) == 16);

#endif /* MICEMU_MIC_COSM_MSG_H */
