#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# fetch-upstream-host.sh DIR [ABI]
#
# Fetch Debian bullseye's 5.10 kernel (image, headers, kbuild) for the
# "upstream" host personality and unpack it under DIR/root.  The packages
# come through a private apt configuration in DIR/apt (its own sources
# list, lists and cache): bullseye is never added to the machine's apt
# sources.  The mirrors are the ones the machine already uses, read from
# /etc/apt/sources.list and /etc/apt/sources.list.d/ (one-line and deb822
# formats), so no host name is written into this repository.
#
# ABI is the kernel ABI number (linux-image-5.10.0-ABI-amd64), default 46
# (5.10.262-1, bullseye-security).  If the archive no longer has it, the
# newest 5.10.0-N it offers is taken and said so.
#
# On success DIR/kernel-release holds the release (e.g. 5.10.0-46-amd64)
# and DIR/root/ the unpacked packages; a second run with the same result
# does nothing.
set -euo pipefail

dir=${1:?usage: fetch-upstream-host.sh DIR [ABI]}
want_abi=${2:-46}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
apt=$dir/apt
say() { echo "fetch-upstream-host: $*" >&2; }
die() { say "$*"; exit 1; }

if [ -f "$dir/kernel-release" ] && [ -f "$dir/stamp-$want_abi" ]; then
	exit 0
fi

# --- the machine's own mirrors ---------------------------------------------
# Print "URI SUITE..." for every deb entry of the machine's apt sources.
machine_sources() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		sed -n -E 's/^[[:space:]]*deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+)[[:space:]]+([^[:space:]]+).*/\2 \3/p' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk '
		function flush() {
			if (types ~ /(^| )deb( |$)/ && uris != "" && enabled != "no")
				for (i = 1; i <= nu; i++) print u[i], suites
			types = ""; uris = ""; suites = ""; enabled = ""; nu = 0
		}
		/^[[:space:]]*#/ { next }
		/^[[:space:]]*$/ { flush(); next }
		/^Types:/ { sub(/^Types:[[:space:]]*/, ""); types = $0 }
		/^URIs:/ { sub(/^URIs:[[:space:]]*/, ""); uris = $0; nu = split(uris, u, /[[:space:]]+/) }
		/^Suites:/ { sub(/^Suites:[[:space:]]*/, ""); suites = $0 }
		/^Enabled:/ { sub(/^Enabled:[[:space:]]*/, ""); enabled = $0 }
		END { flush() }' "$f"
	done
}

archive='' security=''
while read -r uri suites; do
	case "$uri" in http://*|https://*) ;; *) continue ;; esac
	for s in $suites; do
		case "$s" in
		*-security|*/updates) [ -n "$security" ] || security=$uri ;;
		*-backports|*-updates) ;;
		*) [ -n "$archive" ] || archive=$uri ;;
		esac
	done
done < <(machine_sources)
[ -n "$archive" ] || die "no Debian mirror found in the machine's apt sources"
if [ -z "$security" ]; then
	# Security archives live beside the main one on Debian's mirrors.
	security=${archive%/debian}/debian-security
	[ "$security" != "$archive/debian-security" ] ||
		die "no security mirror in the machine's apt sources"
fi

# --- private apt configuration ---------------------------------------------
mkdir -p "$apt/empty.d" "$apt/lists/partial" "$apt/cache/archives/partial" "$dir/debs"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
cat >"$apt/sources.list" <<EOF
deb [signed-by=$keyring] $archive bullseye main
deb [signed-by=$keyring] $archive bullseye-updates main
deb [signed-by=$keyring] $security bullseye-security main
EOF
aptopts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o "Dir::Etc::SourceParts=$apt/empty.d"
	 -o "Dir::Etc::Preferences=$apt/preferences" -o "Dir::Etc::PreferencesParts=$apt/empty.d"
	 -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache"
	 -o "Dir::State::Status=/dev/null" -o "APT::Architecture=amd64"
	 -o "APT::Architectures=amd64" -o "APT::Sandbox::User=root"
	 -o "Acquire::Languages=none" -o "Debug::NoLocking=1")
say "private apt update (bullseye, bullseye-updates, bullseye-security)"
apt-get -q "${aptopts[@]}" update >"$apt/update.log" 2>&1 ||
	{ cat "$apt/update.log" >&2; die "apt-get update failed"; }

# --- pick the kernel ---------------------------------------------------------
abi=$want_abi
if ! apt-cache "${aptopts[@]}" show "linux-image-5.10.0-$abi-amd64" >/dev/null 2>&1; then
	abi=$(apt-cache "${aptopts[@]}" pkgnames linux-image-5.10.0- |
		sed -n -E 's/^linux-image-5\.10\.0-([0-9]+)-amd64$/\1/p' | sort -n | tail -n1)
	[ -n "$abi" ] || die "no linux-image-5.10.0-N-amd64 in bullseye"
	say "linux-image-5.10.0-$want_abi-amd64 is gone from the archive; taking 5.10.0-$abi"
fi
release=5.10.0-$abi-amd64
# The packages' newest version (the security one when there is one).
version=$(apt-cache "${aptopts[@]}" show "linux-headers-5.10.0-$abi-common" |
	sed -n 's/^Version: //p' | sort -V | tail -n1)
[ -n "$version" ] || die "no version for linux-headers-5.10.0-$abi-common"
say "kernel $release, package version $version"

pkgs=("linux-image-$release" "linux-headers-$release"
      "linux-headers-5.10.0-$abi-common" "linux-kbuild-5.10=$version")
(cd "$dir/debs" && apt-get -q "${aptopts[@]}" download "${pkgs[@]}") >&2 ||
	die "apt-get download failed"

rm -rf "$dir/root.tmp"
mkdir -p "$dir/root.tmp"
for p in linux-image-"$release" linux-headers-"$release" \
	 linux-headers-5.10.0-"$abi"-common linux-kbuild-5.10; do
	deb=$dir/debs/${p}_${version}_amd64.deb
	[ -f "$deb" ] || deb=$dir/debs/${p}_${version}_all.deb
	[ -f "$deb" ] || die "no .deb for $p $version in $dir/debs"
	dpkg-deb -x "$deb" "$dir/root.tmp"
done
[ -f "$dir/root.tmp/boot/vmlinuz-$release" ] || die "vmlinuz-$release missing from the image package"
# The headers' Makefile includes the common part by its installed path
# (/usr/src/...); include it relative to the Makefile itself instead, so
# that the unpacked tree works wherever the build cache is (or is copied).
mk=$dir/root.tmp/usr/src/linux-headers-$release/Makefile
common=linux-headers-5.10.0-$abi-common
grep -qx "include /usr/src/$common/Makefile" "$mk" || die "unexpected $mk"
# shellcheck disable=SC2016
echo 'include $(dir $(lastword $(MAKEFILE_LIST)))../'"$common/Makefile" >"$mk"
rm -rf "$dir/root"
mv "$dir/root.tmp" "$dir/root"
echo "$release" >"$dir/kernel-release"
rm -f "$dir"/stamp-*
touch "$dir/stamp-$want_abi"
say "unpacked into $dir/root"
