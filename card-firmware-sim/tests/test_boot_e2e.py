#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""micfw end to end: a real card VM boot.

The test plays the host driver (facts §4.2): it writes the project's guest
kernel (bzImage), a command line and a tiny busybox initramfs into card
memory through the memfd micfw hands out on the link, sets SPAD5 and sends
BOOT_KICK.  micfw must start the card VM from what it reads back out of
card memory, and the card VM's console must show the kernel booting, /init
running on a family 11 CPU, and a clean poweroff.

Needs the project's QEMU and guest kernel (MICEMU_QEMU / MICEMU_KERNEL, or
under $MICEMU_BUILD, default ~/.cache/micemu) and /usr/bin/busybox
(static); skipped with the reason while any is missing.
"""
import mmap
import os
import struct
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from micfw_harness import (  # noqa: E402
    BOOT_ADDR, BOOT_KICK, SPAD, SPAD2_READY, Micfw, host_link,
    kill_leftovers, wait_for)

BIOS_DIRS = ("/usr/share/seabios", "/usr/lib/ipxe/qemu", "/usr/share/qemu")


def find_artifacts():
    build = os.environ.get("MICEMU_BUILD",
                           os.path.expanduser("~/.cache/micemu"))
    qemu = os.environ.get("MICEMU_QEMU",
                          os.path.join(build, "qemu-build/qemu-system-x86_64"))
    kernel = os.environ.get("MICEMU_KERNEL", os.path.join(
        build, "kernel-default/arch/x86/boot/bzImage"))
    missing = [p for p in (qemu, kernel, "/usr/bin/busybox")
               if not os.path.isfile(p)]
    return qemu, kernel, missing


def cpio_newc(entries):
    """entries: (name, mode, data, rdev_major, rdev_minor)."""
    out = bytearray()

    def pad4():
        out.extend(b"\0" * (-len(out) % 4))

    for ino, (name, mode, data, rmaj, rmin) in enumerate(
            entries + [("TRAILER!!!", 0, b"", 0, 0)], 1):
        nm = name.encode() + b"\0"
        fields = (ino, mode, 0, 0, 1, 0, len(data), 0, 0, rmaj, rmin,
                  len(nm), 0)
        out += b"070701" + b"".join(b"%08X" % f for f in fields) + nm
        pad4()
        out += data
        pad4()
    return bytes(out)


INIT = b"""#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
echo "MICFW-E2E: init running"
/bin/busybox grep -m1 "cpu family" /proc/cpuinfo
echo "MICFW-E2E: cmdline $(/bin/busybox cat /proc/cmdline)"
echo "MICFW-E2E: powering off"
/bin/busybox poweroff -f
"""


class EndToEndBootTest(unittest.TestCase):
    """A real boot: bzImage + command line + initramfs written into card
    memory over the link's memfd, boot kick, the guest kernel on the
    card VM's console."""

    def setUp(self):
        self.qemu, self.kernel, missing = find_artifacts()
        if missing:
            self.skipTest("not built yet: " + ", ".join(missing))
        self._tmp = tempfile.TemporaryDirectory(prefix="micfw-e2e-")
        self.tmp = self._tmp.name
        self.console = os.path.join(self.tmp, "card-console.log")
        bios = []
        for d in BIOS_DIRS:
            bios += ["--qemu-arg=-L", "--qemu-arg=" + d]
        self.fw = Micfw(self.tmp, "--qemu", self.qemu, "--console-log",
                        self.console, *bios, ready_delay=50)

    def tearDown(self):
        if self.fw.alive():
            self.fw.stop()
        self._tmp.cleanup()

    def console_text(self):
        try:
            with open(self.console, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def test_boot_card_kernel(self):
        with open(self.kernel, "rb") as f:
            image = f.read()
        with open("/usr/bin/busybox", "rb") as f:
            busybox = f.read()
        initrd = cpio_newc([("bin", 0o40755, b"", 0, 0),
                            ("proc", 0o40755, b"", 0, 0),
                            ("dev", 0o40755, b"", 0, 0),
                            ("dev/console", 0o20600, b"", 5, 1),
                            ("bin/busybox", 0o100755, busybox, 0, 0),
                            ("init", 0o100755, INIT, 0, 0)])
        link, welcome, fds, rf = host_link(self.fw)
        mem = mmap.mmap(fds[0], welcome["card_mem_size"], mmap.MAP_SHARED)
        try:
            wait_for(lambda: rf.spad(2) & SPAD2_READY, what="SPAD2 ready")
            img = bytearray(image)
            struct.pack_into("<II", img, 0x218, 2 * BOOT_ADDR, len(initrd))
            mem[BOOT_ADDR:BOOT_ADDR + len(img)] = img
            cmd = b" mem=256M console=ttyS0 panic=-1 micfw.e2e\0"
            mem[BOOT_ADDR + len(img):BOOT_ADDR + len(img) + len(cmd)] = cmd
            mem[2 * BOOT_ADDR:2 * BOOT_ADDR + len(initrd)] = initrd
            rf.write(SPAD(5), len(img))
            link.send(BOOT_KICK)
            self.fw.wait_event("card-vm-start")
            wait_for(lambda: "MICFW-E2E: powering off" in self.console_text(),
                     240, 0.5, "the card kernel to run /init")
            text = self.console_text()
            self.assertIn("Linux version", text)
            self.assertRegex(text, r"cpu family\s*:\s*11")
            self.assertIn("micfw.e2e", text)
            ev = self.fw.wait_event("card-vm-exit", timeout=60)
            self.assertIn("exit=0", ev[0][1])
        finally:
            mem.close()
            rf.close()
            link.close()


def tearDownModule():
    kill_leftovers()


if __name__ == "__main__":
    unittest.main()
