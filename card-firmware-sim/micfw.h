/* SPDX-License-Identifier: GPL-2.0 */
/*
 * micfw: the board of one emulated x100 card.
 *
 * One process per card.  It owns the card's resources (GDDR memfd,
 * register-file memfd, the two doorbell eventfds), plays the card's
 * flash bootstrap (POST codes, SPAD2 ready, boot kick, reset) and
 * supervises the card VM, the QEMU process that runs the card OS.
 * Everything runs on one GMainLoop thread; no locking.
 */
#ifndef MICFW_H
#define MICFW_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <gio/gio.h>
#include <glib-unix.h>
#include <glib.h>

#include "mic_hw.h"
#include "mic_link.h"
#include "mic_regfile.h"

#define MICFW_MAX_CARDS         MIC_MAX_CARDS
#define MICFW_MIN_MEM           (2ull * MIC_DEFAULT_BOOT_ADDR)
/*
 * Card memory sizes, the one statement of the limit (run-vm.sh asks
 * micfw --check): powers of two from MICFW_MIN_MEM to 16 GiB, and 6 GiB.
 * Real cards have 6, 8 and 16 GiB (3120, 5110P, 7120); BAR0 is sized to
 * the next power of two, what lies past the memory in it reads all ones
 * (qemu-mic-device/docs/mic-x100.rst).  Up to MICFW_CARDVM_LOWMEM the
 * card VM's RAM is all below its PCI hole; larger cards lose
 * [MICFW_CARDVM_LOWMEM, 4 GiB) to it (micfw-cardvm.c).
 */
#define MICFW_MAX_MEM           (16ull << 30)
#define MICFW_3120_MEM          (6ull << 30)
#define MICFW_CARDVM_LOWMEM     (3ull << 30)
#define MICFW_DEFAULT_MEM       (1ull << 30)
#define MICFW_DEFAULT_READY_MS  500u
#define MICFW_MAX_READY_MS      3600000u
#define MICFW_DEFAULT_QEMU      "qemu-system-x86_64"
#define MICFW_MAX_DMA_RATE      9999999u        /* MB/s, mic-card dma-rate */

/* Bootstrap protocol limits (facts §4.2) */
#define MICFW_CMDLINE_MAX       2048u
#define MICFW_BZ_MAGIC_OFF      0x202u  /* "HdrS" in the x86 setup header */
#define MICFW_BZ_VERSION_OFF    0x206u
#define MICFW_BZ_RAMDISK_OFF    0x218u  /* ramdisk_image */
#define MICFW_BZ_RAMDISK_SZ_OFF 0x21Cu  /* ramdisk_size */
#define MICFW_BZ_MIN_SIZE       0x400u  /* boot sector + one setup sector */

/*
 * Board state.  "hung" is not a state of its own: it is a running (or
 * booting) card VM whose process group is stopped (control "hang").
 */
enum micfw_state {
	MICFW_RESETTING,        /* POST sequence running, SPAD2 not ready yet */
	MICFW_READY,            /* SPAD2 ready, waiting for a boot kick */
	MICFW_BOOTING,          /* card VM started, its mic-card not linked */
	MICFW_RUNNING,          /* card VM's mic-card device linked */
	MICFW_OFF,              /* no OS and no bootstrap: halted or withheld */
};

struct micfw_link_conn;
struct micfw_peer;
struct micfw_ctl_client;
struct micfw_output;
struct micfw_qmp;

struct micfw {
	/* configuration (CLI, some changeable over the control socket) */
	int index;
	char *link_path;
	char *control_path;
	uint64_t mem_size;
	char *qemu;
	char **qemu_args;
	char *accel;
	unsigned int dma_rate_mbps;     /* the card DMA engine's pace, 0 none */
	char *qemu_log;                 /* card VM guest-error log, or NULL */
	char *agent_path;               /* card VM test agent socket, or NULL */
	char *console_log;
	char *event_log;
	char *run_dir;
	bool run_dir_created;
	unsigned int ready_delay_ms;
	bool never_ready;
	bool refuse_image;      /* fault: the bootstrap refuses every image */
	bool boot_stall;        /* fault: the card VM starts frozen */
	/* fault: SPADs the board overwrites at the next boot kick */
	uint32_t spad_fault_mask;
	uint32_t spad_fault_value[MIC_NUM_SPAD];

	/* resources handed out over the link */
	int mem_fd;
	int regfile_fd;
	MicRegFile *rf;
	int efd_to_host;
	int efd_to_card;

	/* the host VM's RAM, from the host device's HELLO */
	int host_ram_fd;
	uint64_t host_ram_below_4g;
	uint64_t host_ram_above_4g;

	/* the other cards, from the host device's PEER messages, by index */
	struct micfw_peer *peers[MICFW_MAX_CARDS];

	/* bootstrap */
	enum micfw_state state;
	guint post_timer;
	unsigned int post_step;
	unsigned int boots;
	unsigned int resets;

	/* card VM */
	GPid vm_pid;            /* 0: none */
	guint vm_watch;
	bool vm_stopped;
	struct micfw_output *vm_out;
	struct micfw_output *vm_err;
	char *vm_qmp_path;      /* the card VM's QMP socket */
	struct micfw_qmp *vm_qmp;       /* a monitor request in flight */

	/* sockets */
	int link_listen_fd;
	guint link_listen_src;
	GList *link_conns;
	unsigned int link_conn_ids;
	struct micfw_link_conn *host_conn;
	struct micfw_link_conn *card_conn;

	int ctl_listen_fd;
	guint ctl_listen_src;
	GList *ctl_clients;

	GMainLoop *loop;
};

/* micfw-log.c: the event log */
bool micfw_log_open(const char *path, GError **err);
void micfw_log_close(void);
void micfw_event(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
char *micfw_quote(const char *s);

/* micfw-socket.c */
int micfw_unix_listen(const char *path, GError **err);
bool micfw_write_full(int fd, const void *buf, size_t len);
bool micfw_pread_full(int fd, void *buf, size_t len, uint64_t off);

/* micfw-power.c: POST, ready, reset, state */
void micfw_power_on(struct micfw *fw);
/* "to host": make the host device look at SICR0 and its lines again. */
void micfw_kick_host(struct micfw *fw);
void micfw_power_reset(struct micfw *fw, const char *why);
void micfw_power_stop(struct micfw *fw);
void micfw_post(struct micfw *fw, const char code[2], const char *what);
uint32_t micfw_postcode(struct micfw *fw);
const char *micfw_state_name(const struct micfw *fw);

/* micfw-bootloader.c: boot kick */
void micfw_boot_kick(struct micfw *fw);
void micfw_bootloader_cleanup(struct micfw *fw);

/* micfw-cardvm.c: the card VM process */
struct micfw_boot_files {
	char *kernel;
	char *initrd;           /* NULL: no ramdisk */
	char *cmdline;
};
bool micfw_cardvm_start(struct micfw *fw, const struct micfw_boot_files *bf,
			GError **err);
void micfw_cardvm_kill(struct micfw *fw, const char *why);
bool micfw_cardvm_signal(struct micfw *fw, int sig, GError **err);
bool micfw_cardvm_nmi(struct micfw *fw, GError **err);
void micfw_cardvm_linked(struct micfw *fw);

/* micfw-fault.c: fault knobs that act on the board itself */
bool micfw_spad_corrupt(struct micfw *fw, unsigned int spad, uint32_t value,
			bool at_boot);
void micfw_spad_faults_apply(struct micfw *fw);

/* micfw-link.c */
bool micfw_link_start(struct micfw *fw, GError **err);
void micfw_link_stop(struct micfw *fw);
void micfw_link_drop_card(struct micfw *fw);
bool micfw_link_send(struct micfw_link_conn *c, uint16_t type,
		     const void *payload, uint16_t len, const int *fds,
		     unsigned int nfds);

/* micfw-peer.c: other cards' apertures (PEER) */
char *micfw_peer_msg(struct micfw *fw, const void *payload, uint16_t len,
		     int *fds, unsigned int nfds);
void micfw_peers_send_all(struct micfw *fw);
void micfw_peers_forget(struct micfw *fw);

/* micfw-control.c */
bool micfw_control_start(struct micfw *fw, GError **err);
void micfw_control_stop(struct micfw *fw);

#endif /* MICFW_H */
