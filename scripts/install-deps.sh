#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install the Debian packages micemu needs to build and run.
#
# The mirror is taken from the machine's own apt configuration; this script
# never names a package registry itself.  It adds bookworm-backports (binary
# and source entries) because QEMU 10.0 and a recent meson come from there.
#
# MICEMU_KERNELS (default "6.1"): the guest kernel versions to build, each
# installed as Debian's linux-source-VERSION (6.12 comes from
# bookworm-security, which the machine's sources already carry).
set -euo pipefail

STAMP=${1:-}
SRC_LIST=/etc/apt/sources.list.d/micemu-backports.sources

pkgs=(
	# QEMU build
	build-essential pkg-config ninja-build ccache bzip2 xz-utils
	python3-venv libglib2.0-dev libpixman-1-dev libfdt-dev dpkg-dev
	# QEMU run time: BIOS and option ROMs
	seabios ipxe-qemu qemu-system-data
	# guest kernel
	bc flex bison libelf-dev libssl-dev cpio kmod
	# images
	busybox-static
	# firmware simulator
	libjson-glib-dev
	# tests
	python3-pytest python3-pytest-xdist
)
for k in ${MICEMU_KERNELS:-6.1}; do
	case "$k" in
	6.1|6.12) pkgs+=("linux-source-$k") ;;
	*) echo "install-deps: no guest kernel $k (6.1 or 6.12)" >&2; exit 1 ;;
	esac
done
bpo_pkgs=(meson/bookworm-backports python3-pycotap/bookworm-backports)

die() { echo "install-deps: $*" >&2; exit 1; }

# Find the Debian mirror the machine already uses (deb822 first, then the
# one-line format), skipping the security archive.
mirror() {
	local f u
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		u=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) print $i }' "$f" |
		    grep -v -- '-security' | grep -m1 '/debian/\?$' || true)
		[ -n "$u" ] && { echo "$u"; return; }
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		u=$(awk '$1 == "deb" && $0 !~ /security/ && $2 ~ /\/debian\/?$/ { print $2; exit }' "$f")
		[ -n "$u" ] && { echo "$u"; return; }
	done
}

if [ ! -f "$SRC_LIST" ]; then
	[ "$(id -u)" = 0 ] || die "must run as root once to add bookworm-backports"
	m=$(mirror)
	[ -n "$m" ] || die "cannot find a Debian mirror in /etc/apt/sources.list*"
	cat >"$SRC_LIST" <<EOS
# Added by micemu (scripts/install-deps.sh): QEMU 10.0 and meson >= 1.5.
Types: deb deb-src
URIs: $m
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOS
	echo "install-deps: added bookworm-backports from $m"
fi

export DEBIAN_FRONTEND=noninteractive
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing+=("$p")
done
need_bpo=0
meson_ver=$(dpkg-query -W -f='${Version}' meson 2>/dev/null || true)
dpkg --compare-versions "${meson_ver:-0}" ge 1.5 || need_bpo=1
dpkg-query -W -f='${Status}' python3-pycotap 2>/dev/null | grep -q 'ok installed' ||
	need_bpo=1

if [ ${#missing[@]} -gt 0 ] || [ $need_bpo = 1 ]; then
	[ "$(id -u)" = 0 ] ||
		die "missing packages (${missing[*]:-meson/python3-pycotap from backports}); run as root to install them"
	apt-get update -q
	[ ${#missing[@]} -eq 0 ] ||
		apt-get install -y -q --no-install-recommends "${missing[@]}"
	[ $need_bpo = 0 ] ||
		apt-get install -y -q --no-install-recommends "${bpo_pkgs[@]}"
else
	# deb-src indexes are needed to fetch QEMU's source. grep reads all
	# of it (no -q): under pipefail, apt-cache killed by SIGPIPE would
	# fail the test and update the indexes on every make.
	apt-cache showsrc qemu 2>/dev/null |
		grep '^Version: \(1:\)\?10\.0' >/dev/null ||
		apt-get update -q
fi

[ -z "$STAMP" ] || touch "$STAMP"
