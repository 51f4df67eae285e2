/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * micemu: VOP (virtio over PCIe), the device page entries and the
 * /dev/vop_virtioN ioctl ABI.
 *
 * Layouts, numbers and values are the upstream MIC stack's (Linux 5.9
 * include/uapi/linux/mic_common.h and mic_ioctl.h), so that upstream's
 * mpssd and upstream's card or host driver talk to ours unchanged. The
 * bootparam at offset 0 of the device page is struct mic_bootparam
 * (scif_hw.h); the virtio device entries follow it, one after the other:
 *
 *   struct mic_vop_desc			type, num_vq, lengths, status
 *   struct mic_vop_vqconfig[num_vq]		where each vring is
 *   __u8 features[2 * feature_len]		offered, then accepted bits
 *   __u8 config[config_len]			virtio config space
 *   (padding to 8 bytes)
 *   struct mic_vop_ctrl				handshake bytes, doorbells
 *
 * An entry whose type is 0 ends the list; -1 is a removed entry the list
 * goes on after. The host writes type, num_vq, the lengths, the vring
 * addresses and c2h_vdev_db; the card writes status, the accepted
 * features, used_address and the handshake bytes it owns. Everything is
 * little-endian. Values given for x86-64; the kernel asserts every size,
 * offset and ioctl number below.
 */
#ifndef MICEMU_UAPI_MIC_VOP_H
#define MICEMU_UAPI_MIC_VOP_H

#include <linux/ioctl.h>
#include <linux/types.h>
#include <linux/virtio_ring.h>

/* First entry of the device page, after the 24-byte bootparam. */
#define MIC_VOP_DESC_START	24

/* A vring's avail ring starts this aligned after its descriptors. */
#define MIC_VOP_RING_ALIGN	4096
/* At most this many vrings per device and entries per vring. */
#define MIC_VOP_MAX_VRINGS	4
#define MIC_VOP_MAX_ENTRIES	128
/* One entry (desc, vqconfigs, features, config) is at most this long. */
#define MIC_VOP_MAX_DESC_SIZE	256

/* Values of mic_vop_ctrl.config_change, written by the host. */
#define MIC_VOP_DEV_REMOVE	1
#define MIC_VOP_CONFIG_CHANGED	2

/* info->magic of vring i of a device of virtio type T: MAGIC + T + i. */
#define MIC_VOP_VRING_MAGIC	0xC0FFEE00

/**
 * struct mic_vop_desc - head of one virtio device entry
 * @type: virtio device id; 0 ends the list, -1 marks a removed entry
 * @num_vq: number of vrings (struct mic_vop_vqconfig follow)
 * @feature_len: bytes of feature bits, twice: offered, then accepted
 * @config_len: bytes of virtio config space after the feature bits
 * @status: virtio status byte, written by the card
 */
struct mic_vop_desc {
	__s8 type;
	__u8 num_vq;
	__u8 feature_len;
	__u8 config_len;
	__u8 status;
	__u8 reserved[3];
};

/**
 * struct mic_vop_vqconfig - one vring of a device
 * @address: card-visible address of the descriptors and avail ring (in
 *	host memory, reached by the card through its SMPT window)
 * @used_address: card physical address of the used ring (in card
 *	memory), written by the card
 * @num: entries in the vring, a power of two up to MIC_VOP_MAX_ENTRIES
 */
struct mic_vop_vqconfig {
	__le64 address;
	__le64 used_address;
	__le16 num;
	__u8 reserved[6];
};

/**
 * struct mic_vop_ctrl - per-device handshake bytes after the entry
 * @vdev: card's private cookie (the card writes it, the host ignores it)
 * @config_change: MIC_VOP_CONFIG_CHANGED or MIC_VOP_DEV_REMOVE (host)
 * @vdev_reset: the card reset the device; the host answers @host_ack
 * @guest_ack: the card acknowledges @config_change
 * @host_ack: the host acknowledges @vdev_reset
 * @used_address_updated: the card has written new used addresses
 * @c2h_vdev_db: doorbell the card rings for this device (host)
 * @h2c_vdev_db: doorbell the host rings for this device (card), -1: none
 */
struct mic_vop_ctrl {
	__le64 vdev;
	__u8 config_change;
	__u8 vdev_reset;
	__u8 guest_ack;
	__u8 host_ack;
	__u8 used_address_updated;
	__s8 c2h_vdev_db;
	__s8 h2c_vdev_db;
	__u8 reserved;
};

/**
 * struct mic_vop_vring_info - trailer of each host vring, after the used
 *	ring of the vring layout (rounded up to 4 bytes)
 * @avail_idx: the host's next avail index, for the user-space backend
 * @magic: MIC_VOP_VRING_MAGIC + device type + vring index, for the card
 */
struct mic_vop_vring_info {
	__u16 avail_idx;
	__u8 reserved[2];
	__le32 magic;
};

/*
 * Where things are within one device entry, as both ends compute them
 * from the entry's num_vq, feature_len and config_len:
 * mic_vop_desc_size() - bytes from struct mic_vop_desc to the end of the
 *	config space;
 * mic_vop_ctrl_offset() - offset of struct mic_vop_ctrl (8-byte aligned);
 * mic_vop_entry_size() - the whole entry, ctrl included: the next entry
 *	starts this far after it.
 */
static __inline__ unsigned int mic_vop_desc_size(unsigned int num_vq,
						 unsigned int feature_len,
						 unsigned int config_len)
{
	return sizeof(struct mic_vop_desc) +
	       num_vq * sizeof(struct mic_vop_vqconfig) +
	       2 * feature_len + config_len;
}

static __inline__ unsigned int mic_vop_ctrl_offset(unsigned int num_vq,
						   unsigned int feature_len,
						   unsigned int config_len)
{
	return (mic_vop_desc_size(num_vq, feature_len, config_len) + 7) & ~7U;
}

static __inline__ unsigned int mic_vop_entry_size(unsigned int num_vq,
						  unsigned int feature_len,
						  unsigned int config_len)
{
	return mic_vop_ctrl_offset(num_vq, feature_len, config_len) +
	       sizeof(struct mic_vop_ctrl);
}

/*
 * Offset of struct mic_vop_vring_info in a host vring of @num entries:
 * after the vring layout (MIC_VOP_RING_ALIGN), rounded up to 4 bytes.
 */
static __inline__ unsigned long mic_vop_vring_info_offset(unsigned int num)
{
	return (vring_size(num, MIC_VOP_RING_ALIGN) + 3) & ~3UL;
}

/**
 * struct mic_vop_copy - MIC_VIRTIO_COPY_DESC
 * @iov: in: user address of an array of struct iovec
 * @iovcnt: in: entries in @iov
 * @vr_idx: in: the vring
 * @update_used: in: non-zero: complete the descriptor chain in the used
 *	ring once something was copied
 * @out_len: out: bytes copied (card to user, then user to card)
 *
 * Readable (card-written) buffers of the chain are copied into the user
 * buffers first, then the user buffers that remain into the writable
 * buffers; a chain not finished stays current for the next call.
 */
struct mic_vop_copy {
	__u64 iov;
	__u32 iovcnt;
	__u8 vr_idx;
	__u8 update_used;
	__u8 reserved[2];
	__u32 out_len;
	__u32 reserved2;
};

/*
 * ADD_DEVICE: the argument points to a whole device entry (desc,
 * vqconfigs, features, config); the vring addresses are filled in.
 * CONFIG_CHANGE: the argument points to config_len bytes of new config
 * space. The size field of each number is that of a pointer (upstream's
 * definitions name pointer types): 0xc0087301, 0xc0087302, 0xc0087305.
 */
#define MIC_VIRTIO_ADD_DEVICE		_IOWR('s', 1, __u64)
#define MIC_VIRTIO_COPY_DESC		_IOWR('s', 2, __u64)
#define MIC_VIRTIO_CONFIG_CHANGE	_IOWR('s', 5, __u64)

/*
 * mmap of /dev/vop_virtioN (read-only): offset 0 is the 4 KiB device
 * page, then each vring of the device added on that file, one after the
 * other, each page-aligned in length.
 */

#endif /* MICEMU_UAPI_MIC_VOP_H */
