# SPDX-License-Identifier: GPL-2.0
"""Where the build put things: the source tree, the build cache
($MICEMU_BUILD, default ~/.cache/micemu), QEMU and micfw."""
import os

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
BUILD = os.environ.get("MICEMU_BUILD", os.path.expanduser("~/.cache/micemu"))
FLAVOUR = os.environ.get("MICEMU_FLAVOUR", "default")
# The guest kernel version (make KERNEL=V exports it; run-vm.sh
# --kernel-version defaults to it): 6.1 keeps the build directories it
# always had, another version has its own, tagged "-V".
KERNEL_VERSION = os.environ.get("MICEMU_KERNEL_VERSION", "6.1")
KTAG = "" if KERNEL_VERSION == "6.1" else "-" + KERNEL_VERSION
KBUILD = os.path.join(BUILD, "kernel" + KTAG + "-" + FLAVOUR)
MODDIR = os.path.join(BUILD, "modules" + KTAG +
                      ("-debug" if FLAVOUR == "debug" else ""))


def find_kernel():
    """$MICEMU_KERNEL, else the default flavour's bzImage of the chosen
    kernel version (what the bare card VMs of the device suites boot)."""
    return os.environ.get("MICEMU_KERNEL") or os.path.join(
        BUILD, "kernel" + KTAG + "-default", "arch", "x86", "boot", "bzImage")


def find_qemu():
    """$MICEMU_QEMU or $QEMU, else the build's qemu-system-x86_64."""
    return (os.environ.get("MICEMU_QEMU") or os.environ.get("QEMU") or
            os.path.join(BUILD, "qemu-build", "qemu-system-x86_64"))


def find_micfw():
    """$MICFW, else the build's micfw, else one built in the source tree;
    None if there is none."""
    for path in (os.environ.get("MICFW"),
                 os.path.join(BUILD, "card-firmware-sim", "micfw"),
                 os.path.join(TOP, "card-firmware-sim", "micfw")):
        if path and os.access(path, os.X_OK):
            return os.path.abspath(path)
    return None
