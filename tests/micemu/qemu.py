# SPDX-License-Identifier: GPL-2.0
"""The one place test VMs' QEMU command lines are built.

Whole systems start through scripts/run-vm.sh and micfw (which owns the
card VM's mandatory arguments); what the tests start by themselves is a
QEMU without a guest OS under -accel qtest, or a small VM around a test
initramfs.  QEMU finds its firmware in its build tree, where the
Makefile links it (QEMU_FIRMWARE): no -L here.
"""
from micemu.build import find_qemu

# facts §2.5: the card driver wants x86 family 11, model 1
CARD_CPU = "qemu64,family=11,model=1"


def qemu_argv(*args, machine="pc", qtest=False, card_cpu=False, qemu=None):
    """[qemu, -M MACHINE (None: ARGS bring their own), no default devices
    or display, -accel qtest over stdio when QTEST, the card CPU when
    CARD_CPU, then ARGS]."""
    argv = [qemu or find_qemu()]
    if machine:
        argv += ["-M", machine]
    argv += ["-nodefaults", "-display", "none"]
    if qtest:
        argv += ["-accel", "qtest", "-qtest", "stdio", "-qtest-log",
                 "/dev/null"]
    if card_cpu:
        argv += ["-cpu", CARD_CPU]
    return argv + list(args)
