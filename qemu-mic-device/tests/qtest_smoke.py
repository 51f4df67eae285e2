#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Register-level smoke test of a standalone mic-x100 under -accel qtest.

No guest OS runs: the script programs PCI config space and BARs itself
through the qtest protocol and checks the guest-visible contract of
docs/mic-x100.rst.  Usage:

    qtest_smoke.py /path/to/qemu-system-x86_64 [extra QEMU args...]

Without extra arguments the firmware search path of Debian's seabios,
ipxe-qemu and qemu-system-data packages is passed (-L ...).

Exit status 0 when every check passed.
"""
import random
import subprocess
import sys

FIRMWARE_DIRS = ["-L", "/usr/share/seabios", "-L", "/usr/lib/ipxe/qemu",
                 "-L", "/usr/share/qemu"]
SLOT = 4
BAR0_ADDR = 0x1_0000_0000        # card memory, 64-bit
BAR2_ADDR = 0xC010_0000          # MSI-X
BAR4_ADDR = 0xC000_0000          # registers (q35 MMCONFIG is at 0xB0000000)

SICR0, SICE0, SICC0, SIAC0 = 0x19004, 0x1900C, 0x19010, 0x19014
RGCR, DCR, POSTCODE = 0x14010, 0x1A280, 0x0242C
SPAD = lambda j: 0x1AB20 + 4 * j          # noqa: E731
MXAR = lambda i: 0x19044 + 4 * i          # noqa: E731
APICICR_LO = lambda k: 0x1A9D0 + 8 * k    # noqa: E731
SMPT = lambda i: 0x13100 + 4 * i          # noqa: E731


class QTest:
    def __init__(self, argv):
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True, bufsize=1)

    def cmd(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        while True:
            resp = self.p.stdout.readline()
            if not resp:
                raise RuntimeError("QEMU exited during: " + line)
            if resp.startswith("IRQ"):
                continue
            if not resp.startswith("OK"):
                raise RuntimeError("%s -> %s" % (line, resp.strip()))
            parts = resp.split()
            return int(parts[1], 16) if len(parts) > 1 else None

    def cfg_addr(self, reg):
        return 0x80000000 | (SLOT << 11) | (reg & 0xFC)

    def cfg_read(self, reg):
        self.cmd("outl 0xcf8 0x%x" % self.cfg_addr(reg))
        return self.cmd("inl 0xcfc")

    def cfg_write(self, reg, val):
        self.cmd("outl 0xcf8 0x%x" % self.cfg_addr(reg))
        self.cmd("outl 0xcfc 0x%x" % val)

    def rd(self, off):
        return self.cmd("readl 0x%x" % (BAR4_ADDR + off))

    def wr(self, off, val):
        self.cmd("writel 0x%x 0x%x" % (BAR4_ADDR + off, val))

    def close(self):
        """Ask QEMU to terminate (SIGTERM); a clean exit returns 0."""
        self.p.terminate()
        try:
            self.p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        return self.p.returncode


failures = 0


def check(what, got, want):
    global failures
    ok = got == want
    if not ok:
        failures += 1
    print("%s %s: got %s want %s" % ("ok  " if ok else "FAIL", what,
                                     hex(got) if isinstance(got, int) else got,
                                     hex(want) if isinstance(want, int) else want))


def bar_size(q, reg, is64):
    lo = q.cfg_read(reg)
    q.cfg_write(reg, 0xFFFFFFFF)
    mask = q.cfg_read(reg) & ~0xF
    q.cfg_write(reg, lo)
    if is64:
        hi = q.cfg_read(reg + 4)
        q.cfg_write(reg + 4, 0xFFFFFFFF)
        mask |= q.cfg_read(reg + 4) << 32
        q.cfg_write(reg + 4, hi)
        return ((~mask) & 0xFFFFFFFFFFFFFFFF) + 1, lo & 0xF
    return ((~mask) & 0xFFFFFFFF) + 1, lo & 0xF


def main():
    qemu = sys.argv[1]
    argv = [qemu, "-M", "q35", "-nodefaults", "-display", "none",
            "-accel", "qtest", "-qtest", "stdio", "-qtest-log", "/dev/null",
            "-device", "mic-x100,addr=%d.0" % SLOT] + \
        (sys.argv[2:] or FIRMWARE_DIRS)
    q = QTest(argv)

    check("vendor/device", q.cfg_read(0x00), 0x22508086)
    check("class/revision", q.cfg_read(0x08), 0x0B400020)
    size, flags = bar_size(q, 0x10, True)
    check("BAR0 size", size, 1 << 30)
    check("BAR0 64-bit prefetchable", flags, 0xC)
    size, flags = bar_size(q, 0x20, True)
    check("BAR4 size", size, 0x20000)
    check("BAR4 64-bit non-prefetchable", flags, 0x4)
    size, flags = bar_size(q, 0x18, False)
    check("BAR2 (MSI-X) size", size, 0x1000)

    q.cfg_write(0x10, BAR0_ADDR & 0xFFFFFFFF)
    q.cfg_write(0x14, BAR0_ADDR >> 32)
    q.cfg_write(0x18, BAR2_ADDR)
    q.cfg_write(0x20, BAR4_ADDR)
    q.cfg_write(0x24, 0)
    q.cfg_write(0x04, 0x6)                  # memory + bus master

    check("SPAD2 ready after reset", q.rd(SPAD(2)), 0x04000001)
    check("DCR reset value", q.rd(DCR), 0x55)
    check("SICR0 at reset", q.rd(SICR0), 0)

    q.wr(SICE0, 0xFF0F)
    q.wr(SICE0, 0x40000000)
    check("SICE0 write-1-to-set", q.rd(SICE0), 0x4000FF0F)
    q.wr(SICC0, 0x0F)
    check("SICC0 clears enables", q.rd(SICE0), 0x4000FF00)
    check("SICC0 reads 0", q.rd(SICC0), 0)
    q.wr(SIAC0, 0xFF0F)
    q.wr(MXAR(15), 0x100)
    check("SIAC0 RW", q.rd(SIAC0), 0xFF0F)
    check("MXAR15 RW", q.rd(MXAR(15)), 0x100)
    q.wr(SMPT(31), 0x7C)
    check("SMPT31 RW", q.rd(SMPT(31)), 0x7C)
    q.wr(SPAD(14), 0xDEAD0000)
    check("SPAD14 RW", q.rd(SPAD(14)), 0xDEAD0000)
    q.wr(POSTCODE, 0x4141)
    check("POSTCODE read-only", q.rd(POSTCODE), 0)
    q.wr(APICICR_LO(3), 0x2041)
    check("APICICR3 send bit self-clears", q.rd(APICICR_LO(3)), 0x41)
    q.wr(APICICR_LO(7), 0x20E5)             # boot kick: logged, ignored
    check("APICICR7 after boot kick", q.rd(APICICR_LO(7)), 0xE5)
    check("unknown offset reads 0", q.rd(0x10), 0)

    # card reset: SPAD2 goes to 0, ready again after the (virtual) delay
    q.wr(SPAD(2), 0)
    q.wr(RGCR, q.rd(RGCR) | 1)
    check("RGCR bit 0 self-clears", q.rd(RGCR), 0)
    check("SPAD2 cleared by reset", q.rd(SPAD(2)), 0)
    check("SPAD14 kept across card reset", q.rd(SPAD(14)), 0xDEAD0000)
    q.cmd("clock_step 200000000")
    check("SPAD2 ready again", q.rd(SPAD(2)), 0x04000001)

    # card memory behind BAR0 is plain RAM
    q.cmd("writeq 0x%x 0x1122334455667788" % (BAR0_ADDR + 0x4000000))
    check("BAR0 RAM", q.cmd("readq 0x%x" % (BAR0_ADDR + 0x4000000)),
          0x1122334455667788)
    q.cmd("writeb 0x%x 0x5a" % (BAR0_ADDR + (1 << 30) - 1))
    check("BAR0 last byte", q.cmd("readb 0x%x" % (BAR0_ADDR + (1 << 30) - 1)),
          0x5A)

    # garbage: wrong sizes and unaligned accesses never reach a register;
    # a read gets all ones (a PCIe unsupported request), the same value
    # the card side and a peer's window give (docs/mic-x100.rst)
    check("readb answers all ones",
          q.cmd("readb 0x%x" % (BAR4_ADDR + SPAD(2))), 0xFF)
    check("readw answers all ones",
          q.cmd("readw 0x%x" % (BAR4_ADDR + SPAD(2) + 2)), 0xFFFF)
    check("unaligned readl answers all ones",
          q.cmd("readl 0x%x" % (BAR4_ADDR + SPAD(2) + 1)), 0xFFFFFFFF)
    check("undefined register reads 0", q.rd(0x1F000), 0)
    q.cmd("writeb 0x%x 0xff" % (BAR4_ADDR + SPAD(2)))
    q.cmd("writew 0x%x 0xffff" % (BAR4_ADDR + SPAD(2)))
    q.cmd("writew 0x%x 0xffff" % (BAR4_ADDR + SPAD(2) + 2))
    q.cmd("readl 0x%x" % (BAR4_ADDR + SPAD(2) + 2))
    q.cmd("writel 0x%x 0" % (BAR4_ADDR + SPAD(2) + 1))
    q.cmd("writel 0x%x 0" % (BAR4_ADDR + SPAD(2) + 2))
    check("SPAD2 untouched by bad-size accesses", q.rd(SPAD(2)), 0x04000001)
    # an 8-byte access from the address-space layer (DMA, qtest) is split
    # into two aligned 32-bit accesses by the memory core
    q.cmd("writeq 0x%x 0x1111111122222222" % (BAR4_ADDR + SPAD(6)))
    check("writeq split: SPAD6", q.rd(SPAD(6)), 0x22222222)
    check("writeq split: SPAD7", q.rd(SPAD(7)), 0x11111111)
    check("readq split", q.cmd("readq 0x%x" % (BAR4_ADDR + SPAD(6))),
          0x1111111122222222)
    rng = random.Random(1234)
    for _ in range(3000):
        off = rng.randrange(0, 0x20000) & ~3
        if off in (RGCR,):
            continue
        q.wr(off, rng.getrandbits(32))
        q.rd(rng.randrange(0, 0x20000) & ~3)
    q.cmd("writel 0x%x 0xffffffff" % (BAR4_ADDR + RGCR))
    q.cmd("clock_step 500000000")
    check("alive after fuzz, SPAD2 ready", q.rd(SPAD(2)) & 1, 1)

    rc = q.close()
    check("QEMU exit status", rc, 0)
    print("%d failure(s)" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
