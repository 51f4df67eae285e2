#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# install-into-qemu.sh QEMU_SRC
#
# Drop micemu's device models into a QEMU 10.0 source tree as hw/misc/mic/,
# and make the tree build from Debian's "+ds" tarball (no edk2 blobs).
# Idempotent; files are copied only when their content changed, so ninja
# rebuilds only what really changed.
set -euo pipefail

src=${1:?usage: install-into-qemu.sh QEMU_SRC}
here=$(cd "$(dirname "$0")" && pwd)
die() { echo "install-into-qemu: $*" >&2; exit 1; }
[ -f "$src/hw/misc/meson.build" ] || die "$src is not a QEMU source tree"

dst="$src/hw/misc/mic"
mkdir -p "$dst"
for f in "$here"/*.c "$here"/*.h "$here"/meson.build "$here"/Kconfig \
	 "$here"/trace-events; do
	[ -f "$f" ] || continue
	cmp -s "$f" "$dst/${f##*/}" || cp "$f" "$dst/${f##*/}"
done
# Remove files that no longer exist in the device folder.
for f in "$dst"/*; do
	[ -e "$here/${f##*/}" ] || rm -f "$f"
done

grep -q "subdir('mic')" "$src/hw/misc/meson.build" ||
	echo "subdir('mic')" >>"$src/hw/misc/meson.build"
grep -q 'source mic/Kconfig' "$src/hw/misc/Kconfig" ||
	echo 'source mic/Kconfig' >>"$src/hw/misc/Kconfig"
grep -q "'hw/misc/mic'" "$src/meson.build" ||
	sed -i "s|^    'hw/misc',$|    'hw/misc',\n    'hw/misc/mic',|" "$src/meson.build"
grep -q "'hw/misc/mic'" "$src/meson.build" ||
	die "could not register hw/misc/mic trace events in meson.build"

# Debian's tarball ships no edk2 firmware: unpack it only if present.
# (sed -i rewrites the file even when nothing matches: a new mtime makes
# meson regenerate and relink QEMU under a test that is using it.)
grep -q "fs.exists('edk2-i386-code.fd.bz2')" "$src/pc-bios/meson.build" ||
	sed -i "s/^if unpack_edk2_blobs$/if unpack_edk2_blobs and fs.exists('edk2-i386-code.fd.bz2')/" \
		"$src/pc-bios/meson.build"
