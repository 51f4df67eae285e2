#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""micfw end to end: real card VM boots, and the real mic-x100 host device.

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
import subprocess
import tempfile
import unittest

from micemu.build import find_kernel
from micemu.fwctl import Micfw, kill_leftovers
from micemu.qtest import QTest
from micemu.link import BOOT_KICK, ROLE_CARD, Link, host_link
from micemu.regs import BOOT_ADDR, POSTCODE, SPAD, SPAD2_READY
from micemu.initramfs import cpio_newc
from micemu.wait import wait_for



def read_text(path):
    """A log's text so far; empty while it does not exist."""
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def find_artifacts():
    build = os.environ.get("MICEMU_BUILD",
                           os.path.expanduser("~/.cache/micemu"))
    qemu = os.environ.get("MICEMU_QEMU",
                          os.path.join(build, "qemu-build/qemu-system-x86_64"))
    kernel = find_kernel()
    missing = [p for p in (qemu, kernel, "/usr/bin/busybox")
               if not os.path.isfile(p)]
    return qemu, kernel, missing


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
        self.fw = Micfw(self.tmp, "--qemu", self.qemu, "--console-log",
                        self.console, ready_delay=50)

    def tearDown(self):
        if self.fw.alive():
            self.fw.stop()
        self._tmp.cleanup()

    def console_text(self):
        return read_text(self.console)

    def test_boot_card_kernel(self):
        with open(self.kernel, "rb") as f:
            image = f.read()
        initrd = build_initramfs()
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
                     240, "the card kernel to run /init", poll=0.5)
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


def build_initramfs():
    with open("/usr/bin/busybox", "rb") as f:
        busybox = f.read()
    return cpio_newc([("bin", 0o40755, b"", 0, 0),
                      ("proc", 0o40755, b"", 0, 0),
                      ("dev", 0o40755, b"", 0, 0),
                      ("dev/console", 0o20600, b"", 5, 1),
                      ("bin/busybox", 0o100755, busybox, 0, 0),
                      ("init", 0o100755, INIT, 0, 0)])


class QTestHost(QTest):
    """The host VM side, without a host OS: QEMU with the project's
    mic-x100 device under -accel qtest, driven through the qtest protocol
    (PCI config cycles on 0xCF8/0xCFC, BAR reads and writes)."""

    BAR0 = 0x1_0000_0000        # card memory, 64-bit prefetchable
    BAR4 = 0xC000_0000          # registers; q35 MMCONFIG sits at 0xB0000000

    def __init__(self, qemu, link_path, stderr_path):
        super().__init__(qemu, [
            "-object", "memory-backend-memfd,id=hostram,size=512M,share=on",
            "-m", "512M", "-chardev", "socket,id=mic0,path=" + link_path,
            "-device", "mic-x100,chardev=mic0,host-mem=hostram,addr=4"],
            stderr_path, machine="q35,memory-backend=hostram",
            card_cpu=False)

    def map_bars(self):
        super().map_bars({0x10: self.BAR0, 0x20: self.BAR4})

    def reg(self, off):
        return self.rd(self.BAR4 + off)

    def set_reg(self, off, val):
        self.wr(self.BAR4 + off, val)


class HostDeviceTest(unittest.TestCase):
    """micfw against the real mic-x100 host device: link handshake with the
    host RAM memfd, POST code and SPAD2 through BAR4, RGCR reset, and a boot
    kick through APICICR7 that boots the card VM."""

    def setUp(self):
        self.qemu, self.kernel, missing = find_artifacts()
        if missing:
            self.skipTest("not built yet: " + ", ".join(missing))
        out = subprocess.run([self.qemu, "-device", "help"],
                             capture_output=True, text=True).stdout
        if '"mic-x100"' not in out:
            self.skipTest("this QEMU has no mic-x100 device")
        self._tmp = tempfile.TemporaryDirectory(prefix="micfw-hostdev-")
        self.tmp = self._tmp.name
        self.console = os.path.join(self.tmp, "card-console.log")
        self.fw = Micfw(self.tmp, "--qemu", self.qemu, "--console-log",
                        self.console, ready_delay=200)
        self.host = None

    def tearDown(self):
        if self.host:
            self.host.close()
        if self.fw.alive():
            self.fw.stop()
        self._tmp.cleanup()

    def wait_spad2_ready(self):
        wait_for(lambda: self.host.reg(SPAD(2)) & SPAD2_READY, 5,
                 what="SPAD2 ready through BAR4")

    def load_card(self, image, initrd, cmdline):
        """Images through the card memory memfd (a card-role link, as the
        card VM's device will have it), the command line through BAR0."""
        card = Link(self.fw.link_path)
        try:
            welcome, fds = card.hello(ROLE_CARD)
            self.assertEqual(len(fds), 5)           # with the host RAM memfd
            self.assertEqual(os.fstat(fds[4]).st_size, 512 << 20)
            mem = mmap.mmap(fds[0], welcome["card_mem_size"], mmap.MAP_SHARED)
            img = bytearray(image)
            struct.pack_into("<II", img, 0x218, 2 * BOOT_ADDR, len(initrd))
            mem[BOOT_ADDR:BOOT_ADDR + len(img)] = img
            mem[2 * BOOT_ADDR:2 * BOOT_ADDR + len(initrd)] = initrd
            mem.close()
        finally:
            card.close()
        self.host.put(self.host.BAR0 + BOOT_ADDR + len(img), cmdline + b"\0")
        self.assertEqual(self.host.get(self.host.BAR0 + BOOT_ADDR + 0x202, 4), b"HdrS")
        self.host.set_reg(SPAD(5), len(img))

    def test_host_device(self):
        self.host = QTestHost(self.qemu, self.fw.link_path,
                              os.path.join(self.tmp, "host-qemu.err"))
        hello = self.fw.wait_event("link-hello", timeout=30)[0][1]
        self.assertIn("role=host host_ram_below_4g=536870912", hello)
        self.assertIn("host_ram_fd=yes", hello)
        self.host.map_bars()
        self.wait_spad2_ready()
        self.assertEqual(self.host.reg(SPAD(2)), BOOT_ADDR | SPAD2_READY)
        self.assertEqual(self.host.reg(POSTCODE) & 0xFFFF, ord("R") | ord("D") << 8)
        # COSM reset (facts §4.2): SPAD2 = 0, RGCR bit 0, poll SPAD2
        self.host.set_reg(SPAD(2), 0)
        self.host.set_reg(0x14010, self.host.reg(0x14010) | 1)
        self.fw.wait_event("reset")
        self.wait_spad2_ready()
        self.assertEqual(self.fw.status()["resets"], 1)
        # boot (facts §4.2 steps 5-7)
        with open(self.kernel, "rb") as f:
            image = f.read()
        self.load_card(image, build_initramfs(),
                       b" mem=256M console=ttyS0 panic=-1 micfw.hostdev")
        self.host.set_reg(0x1A9D4 + 8 * 7, 0)                # APICICR7 high
        self.host.set_reg(0x1A9D0 + 8 * 7, 229 | 1 << 13)    # vector 229, send
        self.fw.wait_event("card-vm-start")
        wait_for(lambda: "MICFW-E2E: powering off" in self.console_text(),
                 240, "the card kernel to run /init", poll=0.5)
        self.assertIn("micfw.hostdev", self.console_text())
        self.fw.wait_event("card-vm-exit", timeout=60)
        # the host VM goes away; the board stays
        self.host.close()
        self.host = None
        wait_for(lambda: not self.fw.status()["host_connected"],
                 what="host hang-up")

    def console_text(self):
        return read_text(self.console)


def tearDownModule():
    kill_leftovers()


if __name__ == "__main__":
    unittest.main()
