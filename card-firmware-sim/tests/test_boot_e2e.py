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
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from micfw_harness import (  # noqa: E402
    BOOT_ADDR, BOOT_KICK, POSTCODE, ROLE_CARD, SPAD, SPAD2_READY, Link,
    Micfw, host_link, kill_leftovers, wait_for)

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


def build_initramfs():
    with open("/usr/bin/busybox", "rb") as f:
        busybox = f.read()
    return cpio_newc([("bin", 0o40755, b"", 0, 0),
                      ("proc", 0o40755, b"", 0, 0),
                      ("dev", 0o40755, b"", 0, 0),
                      ("dev/console", 0o20600, b"", 5, 1),
                      ("bin/busybox", 0o100755, busybox, 0, 0),
                      ("init", 0o100755, INIT, 0, 0)])


class QTestHost:
    """The host VM side, without a host OS: QEMU with the project's
    mic-x100 device under -accel qtest, driven through the qtest protocol
    (PCI config cycles on 0xCF8/0xCFC, BAR reads and writes)."""

    SLOT = 4
    BAR0 = 0x1_0000_0000        # card memory, 64-bit prefetchable
    BAR4 = 0xC000_0000          # registers; q35 MMCONFIG sits at 0xB0000000

    def __init__(self, qemu, link_path):
        argv = [qemu]
        for d in BIOS_DIRS:
            argv += ["-L", d]
        argv += ["-machine", "q35,memory-backend=hostram",
                 "-object", "memory-backend-memfd,id=hostram,size=512M,share=on",
                 "-m", "512M", "-accel", "qtest", "-qtest", "stdio",
                 "-nodefaults", "-display", "none",
                 "-chardev", "socket,id=mic0,path=" + link_path,
                 "-device", "mic-x100,chardev=mic0,host-mem=hostram,addr=%d"
                 % self.SLOT]
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True,
                                  start_new_session=True)

    def cmd(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        while True:
            resp = self.p.stdout.readline()
            if not resp:
                raise AssertionError("QEMU exited during %r: %s" %
                                     (line, self.p.stderr.read()))
            if resp.startswith("IRQ"):
                continue
            if not resp.startswith("OK"):
                raise AssertionError("%s -> %s" % (line, resp.strip()))
            parts = resp.split()
            return int(parts[1], 16) if len(parts) > 1 else None

    def cfg_write(self, reg, val):
        self.cmd("outl 0xcf8 0x%x" % (0x80000000 | self.SLOT << 11 | reg))
        self.cmd("outl 0xcfc 0x%x" % val)

    def map_bars(self):
        for reg, addr in ((0x10, self.BAR0), (0x20, self.BAR4)):
            self.cfg_write(reg, addr & 0xFFFFFFFF)
            self.cfg_write(reg + 4, addr >> 32)
        self.cfg_write(0x04, 0x6)               # memory space + bus master

    def rd(self, off):
        return self.cmd("readl 0x%x" % (self.BAR4 + off))

    def wr(self, off, val):
        self.cmd("writel 0x%x 0x%x" % (self.BAR4 + off, val))

    def bar0_write(self, off, data):
        self.cmd("write 0x%x 0x%x 0x%s" % (self.BAR0 + off, len(data),
                                          data.hex()))

    def bar0_read(self, off, n):
        self.p.stdin.write("read 0x%x 0x%x\n" % (self.BAR0 + off, n))
        self.p.stdin.flush()
        resp = self.p.stdout.readline().split()
        assert resp[0] == "OK", resp
        return bytes.fromhex(resp[1][2:])

    def close(self):
        self.p.terminate()
        try:
            self.p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        for f in (self.p.stdin, self.p.stdout, self.p.stderr):
            f.close()


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
        bios = []
        for d in BIOS_DIRS:
            bios += ["--qemu-arg=-L", "--qemu-arg=" + d]
        self.fw = Micfw(self.tmp, "--qemu", self.qemu, "--console-log",
                        self.console, *bios, ready_delay=200)
        self.host = None

    def tearDown(self):
        if self.host:
            self.host.close()
        if self.fw.alive():
            self.fw.stop()
        self._tmp.cleanup()

    def wait_spad2_ready(self):
        wait_for(lambda: self.host.rd(SPAD(2)) & SPAD2_READY, 5,
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
        self.host.bar0_write(BOOT_ADDR + len(img), cmdline + b"\0")
        self.assertEqual(self.host.bar0_read(BOOT_ADDR + 0x202, 4), b"HdrS")
        self.host.wr(SPAD(5), len(img))

    def test_host_device(self):
        self.host = QTestHost(self.qemu, self.fw.link_path)
        hello = self.fw.wait_event("link-hello", timeout=30)[0][1]
        self.assertIn("role=host host_ram_below_4g=536870912", hello)
        self.assertIn("host_ram_fd=yes", hello)
        self.host.map_bars()
        self.wait_spad2_ready()
        self.assertEqual(self.host.rd(SPAD(2)), BOOT_ADDR | SPAD2_READY)
        self.assertEqual(self.host.rd(POSTCODE) & 0xFFFF, ord("R") | ord("D") << 8)
        # COSM reset (facts §4.2): SPAD2 = 0, RGCR bit 0, poll SPAD2
        self.host.wr(SPAD(2), 0)
        self.host.wr(0x14010, self.host.rd(0x14010) | 1)
        self.fw.wait_event("reset")
        self.wait_spad2_ready()
        self.assertEqual(self.fw.status()["resets"], 1)
        # boot (facts §4.2 steps 5-7)
        with open(self.kernel, "rb") as f:
            image = f.read()
        self.load_card(image, build_initramfs(),
                       b" mem=256M console=ttyS0 panic=-1 micfw.hostdev")
        self.host.wr(0x1A9D4 + 8 * 7, 0)                # APICICR7 high
        self.host.wr(0x1A9D0 + 8 * 7, 229 | 1 << 13)    # vector 229, send
        self.fw.wait_event("card-vm-start")
        wait_for(lambda: "MICFW-E2E: powering off" in self.console_text(),
                 240, 0.5, "the card kernel to run /init")
        self.assertIn("micfw.hostdev", self.console_text())
        self.fw.wait_event("card-vm-exit", timeout=60)
        # the host VM goes away; the board stays
        self.host.close()
        self.host = None
        wait_for(lambda: not self.fw.status()["host_connected"],
                 what="host hang-up")

    def console_text(self):
        try:
            with open(self.console, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""


def tearDownModule():
    kill_leftovers()


if __name__ == "__main__":
    unittest.main()
