#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-images.sh: assemble the card and host initramfs images.
#
# Environment (set by the top-level Makefile): IMAGES KBUILD MODDIR
# (the one kbuild tree of all modules) TOOLS HOST_MODULES CARD_MODULES,
# MPSSD (upstream's mpssd, built when the upstream tree is there; empty:
# the host image has none).  The card image goes into the
# host image as a firmware file, next to the card kernel (the same bzImage
# as the host's), so the host driver loads both from /lib/firmware/mic/.
#
# HOST_STACK=upstream builds only host-initramfs-upstream.img, the host
# image of the "upstream" personality: HOST_MODULES are then Debian
# bullseye's modules and upstream's MIC host modules, looked up in
# HOST_MODDIRS (space-separated) instead of MODDIR; the card kernel and
# card image are micemu's, as for the micemu host (build those first).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${IMAGES:?}" "${KBUILD:?}" "${MODDIR:?}" "${TOOLS:?}"
host_stack=${HOST_STACK:-micemu}
gen=$KBUILD/usr/gen_init_cpio
bzimage=$KBUILD/arch/x86/boot/bzImage
mkdir -p "$IMAGES"

# modpaths NAME...: "DEST=SRC" for each module (one kernel serves both
# VMs, so the shared-module/ ones go into both images).
modpaths() {
	local m ko
	for m in "$@"; do
		# shellcheck disable=SC2086
		ko=$(find ${MODDIRS:-$MODDIR} -name "$m.ko" | head -n1)
		[ -n "$ko" ] || { echo "build-images: $m.ko not found" >&2; exit 1; }
		echo "/lib/micemu/$m.ko=$ko"
	done
}

if [ "$host_stack" = micemu ]; then
	# shellcheck disable=SC2086
	printf '%s\n' ${CARD_MODULES:-} >"$IMAGES/card-modules.order"
	# shellcheck disable=SC2086
	list=$(modpaths ${CARD_MODULES:-} ${CARD_EXTRA_MODULES:-})
	mapfile -t card_mods <<<"$list"
	"$here/mkinitramfs.sh" "$IMAGES/card-initramfs.img" "$gen" "$here/card-init" \
		"/lib/micemu/modules.order=$IMAGES/card-modules.order" \
		"/bin/scif-pingpong=$TOOLS/scif-pingpong" \
		"/bin/scif-rma=$TOOLS/scif-rma" \
		"/bin/scif-abi-check=$TOOLS/scif-abi-check" \
		"/bin/micemu-agent=$here/micemu-agent" "${card_mods[@]}"
fi

case "$host_stack" in
micemu) suffix= ;;
upstream) suffix=-upstream; MODDIRS=${HOST_MODDIRS:?} ;;
*) echo "build-images: HOST_STACK must be micemu or upstream" >&2; exit 1 ;;
esac
[ -f "$IMAGES/card-initramfs.img" ] || { echo "build-images: build the card image first" >&2; exit 1; }
# shellcheck disable=SC2086
printf '%s\n' $HOST_MODULES >"$IMAGES/host-modules$suffix.order"
# shellcheck disable=SC2086
list=$(modpaths $HOST_MODULES ${HOST_EXTRA_MODULES:-})
mapfile -t host_mods <<<"$list"
extra=()
if [ -n "${MPSSD:-}" ]; then
	[ -x "$MPSSD" ] || { echo "build-images: $MPSSD is missing" >&2; exit 1; }
	extra+=("/sbin/mpssd=$MPSSD" "/bin/mic-console=$here/mic-console")
fi
"$here/mkinitramfs.sh" "$IMAGES/host-initramfs$suffix.img" "$gen" "$here/host-init" \
	"/bin/micemu-agent=$here/micemu-agent" \
	"/bin/micctrl=$TOOLS/micctrl" \
	"/bin/mic-regpoke=$TOOLS/mic-regpoke" \
	"/bin/scif-pingpong=$TOOLS/scif-pingpong" \
	"/bin/scif-rma=$TOOLS/scif-rma" \
	"/bin/scif-abi-check=$TOOLS/scif-abi-check" \
	"/bin/vop-serve=$TOOLS/vop-serve" \
	"/bin/fail-nth=$TOOLS/fail-nth" \
	"/lib/micemu/modules.order=$IMAGES/host-modules$suffix.order" \
	"/lib/micemu/cosm-server-selftest.sh=$here/../host-module/cosm/tests/cosm-server-selftest.sh" \
	"${host_mods[@]}" ${extra[@]+"${extra[@]}"} \
	"/lib/firmware/mic/uos.img=$bzimage" \
	"/lib/firmware/mic/System.map=$KBUILD/System.map" \
	"/lib/firmware/mic/initramfs.img=$IMAGES/card-initramfs.img"
echo "build-images: $(du -h "$IMAGES/host-initramfs$suffix.img" | cut -f1) host ($host_stack), $(du -h "$IMAGES/card-initramfs.img" | cut -f1) card"
