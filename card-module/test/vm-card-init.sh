#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# /init of the card driver test VM (run-vm-tests.sh): a card VM with a
# stand-alone mic-card device (no firmware simulator, so no host memory
# and no device page) and QEMU's CPU model set to family 11, model 1.
# mic_card must find the device, take its 20 MSI-X vectors, refuse the
# missing device page with a clear error and give everything back; a
# reload does the same. With cardtest_cpu=other on the command line the
# VM's CPU is not an x100: mic_card refuses it unless ignore_cpu=1.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t debugfs debugfs /sys/kernel/debug
M=/lib/micemu
fails=0
opt=
ok() { echo "VMTEST ok $1"; }
fail() { echo "VMTEST FAIL $1"; fails=$((fails + 1)); }
check() {
	name=$1
	shift
	if "$@"; then ok "$name"; else fail "$name"; fi
}
logged() { dmesg | grep -q "$1"; }
dev=
for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/vendor"):$(cat "$d/device")" = 0x8086:0x225f ] && dev=$d
done

cpu=x100
for arg in $(cat /proc/cmdline); do
	case "$arg" in cardtest_cpu=*) cpu=${arg#cardtest_cpu=} ;; esac
done

echo "VMTEST start, cpu=$cpu"
check mic_card_function_present test -n "$dev"
insmod $M/scif.ko
insmod $M/mic_x100_dma.ko
if [ "$cpu" != x100 ]; then
	insmod $M/mic_card.ko
	check other_cpu_refused logged 'mic_card.*not running on an x100'
	check other_cpu_not_bound test ! -e "$dev/driver"
	rmmod mic_card
	insmod $M/mic_card.ko ignore_cpu=1
	check ignore_cpu logged 'is not an x100, going on anyway'
	rmmod mic_card
	dmesg -c >/dev/null
	opt=ignore_cpu=1
fi
# shellcheck disable=SC2086
insmod $M/mic_card.ko $opt
check no_dp_refused logged 'no device page: SPAD14/15 are 0'
check not_bound test ! -e "$dev/driver"
check vectors_freed sh -c '! grep -q mic_card /proc/interrupts'
check msix_off sh -c "! grep -q . $dev/msi_irqs/* 2>/dev/null"
check no_debugfs test ! -d /sys/kernel/debug/mic_card
check rmmod rmmod mic_card
# shellcheck disable=SC2086
insmod $M/mic_card.ko $opt
check reload_refused_again test "$(dmesg | grep -c 'no device page')" -eq 2
rmmod mic_card
rmmod mic_x100_dma
rmmod scif
check no_oops sh -c '! dmesg | grep -qE "BUG:|WARNING:|Oops|general protection"'
echo "VMTEST done fails=$fails"
poweroff -f
