#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run-vm-tests.sh: boot small test VMs (TCG) with scif.ko and this
# directory's modules, without any host or card hardware:
#
#   cosm-poweroff, cosm-reboot  mic_cosm_client and mic_cosm_badclient
#       against cosm-fake-server over SCIF's loopback node 0
#       (vm-cosm-init.sh), ending with a host SHUTDOWN (status 3) or a
#       reboot (status 4).
#   card-nodp, card-othercpu  mic_card against a stand-alone mic-card
#       device (no firmware simulator: no device page), with an x100 CPU
#       and with another one (vm-card-init.sh). Skipped without mic-card.
#
# Uses the modules `make modules` built in the build directory.
# Environment: KBUILD (kernel build dir), QEMU, MODDIR (the module build
# tree of `make modules`), OUT (work and
# log directory), ONLY (run only the VMs whose name starts with it: cosm,
# card). Exit 0 if every VM passed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${MICEMU_BUILD:-$HOME/.cache/micemu}
KBUILD=${KBUILD:-$build/kernel-default}
QEMU=${QEMU:-$build/qemu-build/qemu-system-x86_64}
MODDIR=${MODDIR:-$build/modules}
OUT=${OUT:-$build/card-module-test}
mkdir -p "$OUT"

gcc -O2 -Wall -Wextra -static -I"$top/shared-module/scif" -o "$OUT/cosm-fake-server" \
	"$here/cosm-fake-server.c"

# ko DIR NAME: the built module, or fail naming what to build
ko() {
	local f
	f=$(find "$1" -name "$2.ko" 2>/dev/null | head -n1)
	[ -n "$f" ] || { echo "run-vm-tests: no $2.ko in $1 (run make modules)" >&2; exit 2; }
	echo "$f"
}
files=(
	"/lib/micemu/scif.ko=$(ko "$MODDIR" scif)"
	"/lib/micemu/scif_test.ko=$(ko "$MODDIR" scif_test)"
	"/lib/micemu/mic_x100_dma.ko=$(ko "$MODDIR" mic_x100_dma)"
	"/lib/micemu/mic_card.ko=$(ko "$MODDIR" mic_card)"
	"/lib/micemu/mic_cosm_client.ko=$(ko "$MODDIR" mic_cosm_client)"
	"/lib/micemu/mic_cosm_badclient.ko=$(ko "$MODDIR" mic_cosm_badclient)"
	"/bin/cosm-fake-server=$OUT/cosm-fake-server"
	"/sbin/poweroff=$here/fake-poweroff.sh"
)
"$top/images/mkinitramfs.sh" "$OUT/cosm-test.img" "$KBUILD/usr/gen_init_cpio" \
	"$here/vm-cosm-init.sh" "${files[@]}"
"$top/images/mkinitramfs.sh" "$OUT/card-test.img" "$KBUILD/usr/gen_init_cpio" \
	"$here/vm-card-init.sh" "${files[@]}"

# boot NAME INITRD APPEND [QEMU ARGS]: run one VM, console in $OUT/NAME.log
boot() {
	local name=$1 img=$2 append=$3 log=$OUT/$1.log
	shift 3
	rm -f "$log"
	timeout -k 5 240 "$QEMU" -machine pc -accel tcg \
		-cpu qemu64,family=11,model=1 -m 512M -smp 2 -nodefaults "$@" \
		-display none -no-reboot -serial "file:$log" \
		-kernel "$KBUILD/arch/x86/boot/bzImage" -initrd "$img" \
		-append "console=ttyS0 panic=-1 $append" || true
	grep 'VMTEST' "$log" | sed "s/^/$name: /"
}

# expect NAME PATTERN...: every pattern must be in NAME's log
rc=0
expect() {
	local name=$1 p
	shift
	for p in "$@"; do
		if ! grep -q -- "$p" "$OUT/$name.log"; then
			echo "$name: FAIL: no '$p' in $OUT/$name.log"
			rc=1
		fi
	done
}

run() { [ -z "${ONLY:-}" ] || [[ "$1" == $ONLY* ]]; }
if run cosm; then
boot cosm-poweroff "$OUT/cosm-test.img" cosmtest_end=poweroff
expect cosm-poweroff 'VMTEST done fails=0' 'host requested shutdown' \
	'fake-poweroff: called' 'sending shutdown status 3'
boot cosm-reboot "$OUT/cosm-test.img" cosmtest_end=reboot
expect cosm-reboot 'VMTEST done fails=0' 'VMTEST rebooting' \
	'sending shutdown status 4' 'reboot: Restarting system'
if grep -q 'fake-poweroff' "$OUT/cosm-reboot.log"; then
	echo "cosm-reboot: FAIL: powered off instead of rebooting"
	rc=1
fi
fi
if ! run card; then
	:
elif "$QEMU" -device help 2>&1 | grep -q '"mic-card"'; then
	boot card-nodp "$OUT/card-test.img" "" -device mic-card
	expect card-nodp 'VMTEST done fails=0'
	boot card-othercpu "$OUT/card-test.img" cardtest_cpu=other \
		-device mic-card -cpu qemu64
	expect card-othercpu 'VMTEST done fails=0' 'VMTEST ok ignore_cpu'
else
	echo "run-vm-tests: no mic-card device in $QEMU, card tests skipped"
fi
[ $rc -eq 0 ] && echo "run-vm-tests: all passed (logs in $OUT)"
exit $rc
