# SPDX-License-Identifier: GPL-2.0
"""A QEMU under -accel qtest, driven over stdio: memory and port I/O,
bulk memory, PCI configuration cycles; and MSI-X as the card function's
driver would program it (Msix)."""
import base64
import select
import subprocess

from micemu.qemu import qemu_argv
from micemu.regs import MMIO_BASE

SLOT = 4                        # the device under test's PCI slot
BULK = 1 << 20                  # b64read/b64write chunk


class QTest:
    """QEMU under qtest; its stderr goes to STDERR_PATH for checks.

    ARGS follow the common ones (qemu_argv); MACHINE None means ARGS bring
    their own -M; CARD_CPU gives the card VM's CPU model."""

    def __init__(self, qemu, args, stderr_path, pass_fds=(), machine="pc",
                 card_cpu=True, env=None):
        argv = qemu_argv(*args, machine=machine, qtest=True,
                         card_cpu=card_cpu, qemu=qemu)
        self.stderr_path = stderr_path
        self.err = open(stderr_path, "w")
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=self.err,
                                  text=True, bufsize=1, pass_fds=pass_fds,
                                  env=env)

    def raw(self, line, timeout=60):
        """Send one command; the text after "OK" in its answer."""
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        while True:
            ready, _, _ = select.select([self.p.stdout], [], [], timeout)
            if not ready:
                raise RuntimeError("QEMU did not answer: " + line[:80])
            resp = self.p.stdout.readline()
            if not resp:
                raise RuntimeError("QEMU exited during: %s\n%s" %
                                   (line[:80], self.stderr()[-2000:]))
            if resp.startswith("IRQ"):
                continue
            if not resp.startswith("OK"):
                raise RuntimeError("%s -> %s" % (line[:80], resp[:200]))
            return resp[2:].strip()

    def cmd(self, line, timeout=20):
        """Send one command; its value as an int, or None."""
        out = self.raw(line, timeout).split()
        return int(out[0], 16) if out else None

    def stderr(self):
        if not self.err.closed:
            self.err.flush()
        with open(self.stderr_path, errors="replace") as f:
            return f.read()

    # memory
    def rd(self, addr, width=32):
        op = {8: "readb", 16: "readw", 32: "readl", 64: "readq"}[width]
        return self.cmd("%s 0x%x" % (op, addr))

    def wr(self, addr, val, width=32):
        op = {8: "writeb", 16: "writew", 32: "writel", 64: "writeq"}[width]
        self.cmd("%s 0x%x 0x%x" % (op, addr, val))

    def put(self, addr, data):
        for off in range(0, len(data), BULK):
            part = data[off:off + BULK]
            self.raw("b64write 0x%x 0x%x %s" % (
                addr + off, len(part), base64.b64encode(part).decode()))

    def get(self, addr, n):
        out = b""
        for off in range(0, n, BULK):
            part = min(BULK, n - off)
            out += base64.b64decode(self.raw("b64read 0x%x 0x%x" %
                                             (addr + off, part)))
        return out

    def fill(self, addr, n, byte):
        self.raw("memset 0x%x 0x%x 0x%x" % (addr, n, byte))

    # the card's register window (mic-card)
    def reg(self, off):
        return self.rd(MMIO_BASE + off)

    def set_reg(self, off, val):
        self.wr(MMIO_BASE + off, val)

    # PCI configuration space, mechanism #1
    def _cfg(self, reg, slot):
        self.cmd("outl 0xcf8 0x%x" % (0x80000000 | (slot << 11) |
                                      (reg & 0xFC)))

    def cfg_read(self, reg, slot=SLOT):
        self._cfg(reg, slot)
        return self.cmd("inl 0xcfc")

    def cfg_write(self, reg, val, slot=SLOT):
        self._cfg(reg, slot)
        self.cmd("outl 0xcfc 0x%x" % val)

    def find_cap(self, cap_id, slot=SLOT):
        ptr = self.cfg_read(0x34, slot) & 0xFC
        for _ in range(48):                 # a broken list must not loop
            if not ptr or ptr == 0xFC:
                break
            hdr = self.cfg_read(ptr, slot)
            if hdr & 0xFF == cap_id:
                return ptr
            ptr = (hdr >> 8) & 0xFC
        return None

    def map_bars(self, bars, slot=SLOT):
        """Program 64-bit BARs {config offset: address}, then enable
        memory space and bus mastering."""
        for reg, addr in bars.items():
            self.cfg_write(reg, addr & 0xFFFFFFFF, slot=slot)
            self.cfg_write(reg + 4, addr >> 32, slot=slot)
        self.cfg_write(0x04, 0x6, slot=slot)

    def alive(self):
        return self.p.poll() is None

    def _close_pipes(self):
        for f in (self.p.stdin, self.p.stdout, self.err):
            if not f.closed:
                f.close()

    def close(self):
        """SIGTERM; returns the exit status (0 for a clean exit)."""
        if self.p.poll() is None:
            self.p.terminate()
        try:
            self.p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        self._close_pipes()
        return self.p.returncode

    def wait_exit(self, timeout=20):
        try:
            rc = self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.close()
            raise
        self._close_pipes()
        return rc


# ---- the card function's MSI-X (mic-card: 20 vectors, table in BAR0) ----
MSIX_BAR_ADDR = 0xE000_0000
MSI_TARGET = 0x0010_0000         # card RAM the MSI-X writes land in
NUM_VECTORS = 20


class Msix:
    """Program the card function's MSI-X so vector v writes
    0xC0DE0000 | v to MSI_TARGET + 4 * v in card RAM."""

    def __init__(self, q):
        self.q = q
        self.cap = q.find_cap(0x11)
        q.cfg_write(0x10, MSIX_BAR_ADDR)
        q.cfg_write(0x04, 0x6)              # memory + bus master
        for v in range(NUM_VECTORS):
            q.wr(MSI_TARGET + 4 * v, 0)
            e = MSIX_BAR_ADDR + 16 * v
            q.wr(e, MSI_TARGET + 4 * v)
            q.wr(e + 4, 0)
            q.wr(e + 8, 0xC0DE0000 | v)
            q.wr(e + 12, 0)                 # unmasked

    def control(self):
        return self.q.cfg_read(self.cap) >> 16

    def enable(self, on=True):
        ctl = self.q.cfg_read(self.cap)
        ctl = (ctl | (1 << 31)) if on else (ctl & ~(1 << 31))
        self.q.cfg_write(self.cap, ctl & ~(1 << 30))

    def mask(self, v, masked):
        self.q.wr(MSIX_BAR_ADDR + 16 * v + 12, 1 if masked else 0)

    def pba(self):
        return self.q.rd(MSIX_BAR_ADDR + 2048, 64)

    def fired(self):
        """Vectors whose message landed since the last call (and clear)."""
        out = set()
        for v in range(NUM_VECTORS):
            if self.q.rd(MSI_TARGET + 4 * v) == 0xC0DE0000 | v:
                out.add(v)
                self.q.wr(MSI_TARGET + 4 * v, 0)
        return out
