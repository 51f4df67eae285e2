#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# checkpatch-modules.sh CHECKPATCH DIR...: run the kernel's checkpatch.pl
# --strict on every kernel source, Kbuild file and README under the given
# module trees. Exit 1 if any file has a finding.
set -uo pipefail
checkpatch=${1:?usage: checkpatch-modules.sh CHECKPATCH DIR...}
shift
top=$(cd "$(dirname "$0")/.." && pwd)
[ -x "$checkpatch" ] || { echo "checkpatch: $checkpatch not found (make kernel-src)" >&2; exit 2; }

# scif_epd_t is upstream's public SCIF type (include/linux/scif.h), kept so
# that SCIF clients read as they did upstream: the one typedef allowed.
typedef_ok=shared-module/include/scif.h
# The kernel version checks (make KERNEL=6.1 or 6.12) all live in one
# header; checkpatch flags every LINUX_VERSION_CODE test (and its constant
# on the left), and 6.12's the non-const bus type 6.1 needs, so those
# types are allowed there and nowhere else.
compat_ok=shared-module/include/mic_compat.h

rc=0
cd "$top" || exit 2
while IFS= read -r f; do
	extra=()
	[ "$f" = "$typedef_ok" ] && extra=(--ignore NEW_TYPEDEFS)
	[ "$f" = "$compat_ok" ] && extra=(--ignore LINUX_VERSION_CODE,CONSTANT_COMPARISON,CONST_STRUCT)
	"$checkpatch" --strict --no-tree --quiet --show-types "${extra[@]}" -f "$f" || rc=1
done < <(find "$@" \( -name '*.[ch]' -o -name Kbuild -o -name '*.md' \) \
	! -name '*.mod.c' | LC_ALL=C sort)
[ $rc -eq 0 ] && echo "checkpatch: all clean ($*)"
exit $rc
