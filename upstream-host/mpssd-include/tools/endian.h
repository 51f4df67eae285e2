/* SPDX-License-Identifier: GPL-2.0 */
/*
 * micemu: stands in for the kernel tree's tools/include/tools/endian.h,
 * which upstream's samples/mic/mpssd includes and the MIC tree we build
 * from does not carry.
 *
 * mpssd uses htole16/32/64 in static initialisers: current glibc defines
 * them as calls of inline functions, which are not constant expressions,
 * so on a little-endian machine they become the identity here.
 *
 * mpssd also calls readv() and writev() without including <sys/uio.h>
 * (older libcs pulled it in through other headers); this header comes
 * after mpssd's _GNU_SOURCE, so it can include it.
 */
#ifndef MICEMU_MPSSD_TOOLS_ENDIAN_H
#define MICEMU_MPSSD_TOOLS_ENDIAN_H

#include <endian.h>
#include <sys/uio.h>

#if __BYTE_ORDER != __LITTLE_ENDIAN
#error "micemu builds mpssd for little-endian hosts only"
#endif

#undef htole16
#undef htole32
#undef htole64
#undef le16toh
#undef le32toh
#undef le64toh
#define htole16(x) (x)
#define htole32(x) (x)
#define htole64(x) (x)
#define le16toh(x) (x)
#define le32toh(x) (x)
#define le64toh(x) (x)

#endif /* MICEMU_MPSSD_TOOLS_ENDIAN_H */
