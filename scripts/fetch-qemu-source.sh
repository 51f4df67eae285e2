#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# fetch-qemu-source.sh DESTDIR
#
# Unpack Debian's QEMU 10.0.x source (the orig tarball of the version the
# archive offers in bookworm-backports) into DESTDIR.  The tarball's SHA-256
# is checked against the archive's index; a mismatch or a missing file is
# fatal.  apt-get may fail to fetch the .dsc/debian parts of a backport: only
# the orig tarball is needed, so that failure is tolerated.
set -euo pipefail

dest=${1:?usage: fetch-qemu-source.sh DESTDIR}
die() { echo "fetch-qemu-source: $*" >&2; exit 1; }

# Read the index once: a pipe from apt-cache into a reader that stops early
# would die of SIGPIPE under pipefail.
srcinfo=$(apt-cache showsrc qemu)
ver=$(printf '%s\n' "$srcinfo" | awk '/^Version:/ { print $2 }' |
      grep -E '^(1:)?10\.0\.' | sort -V | tail -n1)
[ -n "$ver" ] || die "no qemu 10.0.x source in the apt indexes (is bookworm-backports deb-src enabled?)"

upstream=${ver#*:}
upstream=${upstream%-*}
orig="qemu_${upstream}.orig.tar.xz"
sum=$(printf '%s\n' "$srcinfo" |
      awk -v v="$ver" -v f="$orig" '
	/^Version:/ { inver = ($2 == v) }
	/^Checksums-Sha256:/ { s = inver; next }
	/^[^ ]/ { s = 0 }
	s && $3 == f && !found { print $1; found = 1 }')
[ -n "$sum" ] || die "no SHA-256 for $orig in the apt indexes"

dl=$(mktemp -d)
trap 'rm -rf "$dl"' EXIT
(cd "$dl" && apt-get source --download-only -q "qemu=$ver" >/dev/null 2>&1) || true
[ -f "$dl/$orig" ] || die "apt-get source did not fetch $orig"
echo "$sum  $dl/$orig" | sha256sum -c --quiet - || die "$orig: SHA-256 mismatch"

rm -rf "$dest.tmp"
mkdir -p "$dest.tmp"
tar -xJf "$dl/$orig" -C "$dest.tmp" --strip-components=1
rm -rf "$dest"
mv "$dest.tmp" "$dest"
echo "$ver" >"$dest/.micemu-debian-version"
echo "fetch-qemu-source: qemu $ver unpacked in $dest"
