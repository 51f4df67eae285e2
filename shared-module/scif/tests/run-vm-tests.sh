#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run-vm-tests.sh [-m host|card|all] [-b KBUILD] [-d MODDIR] [-k BZIMAGE]
#                 [-o LOGDIR]
#
# Take scif.ko, scif_test.ko and scif_fakepeer.ko as `make modules` built
# them (in MODDIR) and scif-pingpong as `make tools` built it, build this
# suite's own scif_api_test (static), boot
# one VM per mode with them in a private initramfs, run vm-tests.sh there
# and report.
# Exit 0 when every mode passed. Needs the kernel build and QEMU from the
# top-level make (default build dir $MICEMU_BUILD or ~/.cache/micemu).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
build=${MICEMU_BUILD:-$HOME/.cache/micemu}
kbuild=$build/kernel-default
moddir=${MODDIR:-$build/modules}
tools=${TOOLS:-$build/tools}
kernel=
modes="host card"
logdir=$PWD/logs/scif-vm-tests
qemu=$build/qemu-build/qemu-system-x86_64

while getopts "m:b:d:k:o:" opt; do
	case "$opt" in
	m) [ "$OPTARG" = all ] || modes=$OPTARG ;;
	b) kbuild=$OPTARG ;;
	d) moddir=$OPTARG ;;
	k) kernel=$OPTARG ;;
	o) logdir=$OPTARG ;;
	*) sed -n '4,11p' "$0" >&2; exit 2 ;;
	esac
done
kernel=${kernel:-$kbuild/arch/x86/boot/bzImage}
for f in "$kernel" "$qemu" "$kbuild/usr/gen_init_cpio" "$tools/scif-pingpong"; do
	[ -e "$f" ] || { echo "run-vm-tests: $f is missing" >&2; exit 2; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$logdir"
mod=$moddir/shared-module/scif
for m in scif scif_test scif_fakepeer; do
	[ -f "$mod/$m.ko" ] || { echo "run-vm-tests: no $mod/$m.ko (run make modules)" >&2; exit 2; }
done
cc -O2 -Wall -static -pthread -o "$tmp/scif_api_test" "$here/scif_api_test.c"

cat >"$tmp/init" <<'INIT'
#!/bin/sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t debugfs debugfs /sys/kernel/debug
/bin/vm-tests.sh "$scifmode"
poweroff -f
INIT
chmod +x "$tmp/init"
"$top/images/mkinitramfs.sh" "$tmp/initrd.img" "$kbuild/usr/gen_init_cpio" \
	"$tmp/init" /lib/scif.ko="$mod/scif.ko" /lib/scif_test.ko="$mod/scif_test.ko" \
	/lib/scif_fakepeer.ko="$mod/scif_fakepeer.ko" \
	/bin/scif-pingpong="$tools/scif-pingpong" /bin/scif_api_test="$tmp/scif_api_test" \
	/bin/vm-tests.sh="$here/vm-tests.sh"

rc=0
for mode in $modes; do
	log=$logdir/$mode.log
	timeout -k 5 900 "$qemu" -M q35 -nodefaults -display none \
		-m 1G -smp 2 -kernel "$kernel" -initrd "$tmp/initrd.img" \
		-append "console=ttyS0 panic=-1 init_on_free=1 scifmode=$mode" \
		-serial stdio -no-reboot >"$log" 2>&1 || true
	if grep -q "^scif-vm-tests: 0 failed" "$log"; then
		echo "scif vm tests ($mode): PASS ($log)"
	else
		echo "scif vm tests ($mode): FAIL ($log)"
		grep -E "^FAIL|^not ok|scif-vm-tests:" "$log" || true
		rc=1
	fi
done
exit $rc
