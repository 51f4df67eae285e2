# SPDX-License-Identifier: GPL-2.0
"""What micfuzz drives: six targets, each with its own operations.

Every operation is a JSON list whose first element names it; it carries
all its random choices, so a saved list replays without the generator and
any sub-list still means the same thing (the minimiser relies on that).

Targets:
  x100      standalone mic-x100 (pc or q35; hot-unplug/replug on pc)
  x100-fw   mic-x100 linked to a real micfw (host RAM a shared memfd)
  x100-2fw  two mic-x100 in one QEMU, each on its micfw (PEER messages)
  card-fw   mic-x100 and mic-card (its RAM micfw's card memory) on one micfw
  peer      a hostile firmware simulator against QEMU (either role)
  micfw     hostile device models and control clients against a real micfw
"""
import base64
import json
import mmap
import os
import random
import socket
import struct
import time

from fuzzlib import (HANG_S, FD_KINDS, Failure, FuzzQmp, FuzzQTest,
                     check_sanitizer, close_fds, describe_rc, make_fd)
from micemu.dma import Channel, memcpy_desc, status_desc
from micemu.fwctl import Micfw
from micemu.link import (ERROR_S, HDR, HELLO, HELLO_S, LINK_MAGIC, RESET,
                         ROLE_CARD, ROLE_HOST, WELCOME_S, FakeFw, HostRam,
                         Link)
from micemu.qtest import MSIX_BAR_ADDR, NUM_VECTORS, Msix
# registers by their real offsets (facts §2.1): the harness's, one copy
from micemu.regs import (APICICR_LO, CH, DCAR, DCHERR, DCHERRMSK, DCR, DHPR,
                         DRAR_HI, DRAR_LO, DSTAT, DTPR, MMIO_BASE, MMIO_SIZE,
                         MSIXPBACR, MXAR, POSTCODE, RDMASR, RF_FAULT_END,
                         RF_FAULT_LINK_DOWN, RF_MAGIC, RF_SIZE,
                         RGCR, SDBIC, SIAC0, SICC0, SICE0, SICR0, SMPT,
                         SMPT_BASE, SMPT_PAGE, SPAD, RegFile, sealed_memfd)
from micemu.wait import wait_for

MiB = 1 << 20


def DMA(n, sub=0):
    return CH(n) + sub


DMA_SUBS = (DCAR, DHPR, DTPR, DRAR_LO, DRAR_HI, DSTAT, DCHERR, DCHERRMSK)
KNOWN = ([POSTCODE, RGCR, SICR0, SICE0, SICC0, SIAC0, MSIXPBACR, DCR] +
         [SMPT(i) for i in range(32)] + [MXAR(i) for i in range(16)] +
         [DMA(n, s) for n in range(8) for s in DMA_SUBS] +
         [APICICR_LO(k) + h for k in range(8) for h in (0, 4)] +
         [SPAD(j) for j in range(16)] + [RDMASR(m) for m in range(8)] +
         [SDBIC(d) for d in range(9)])
DOORBELLS = ([APICICR_LO(k) for k in range(8)] +
             [RDMASR(m) for m in range(8)] + [SDBIC(d) for d in range(9)])

# ---- where the devices sit in the fuzzed machines -------------------------
SLOT = 4
BAR0, BAR2, BAR4 = 0x1_0000_0000, 0xC010_0000, 0xC000_0000
HOST_RAM = 64 * MiB
X100_MEM = 16 * MiB             # standalone card memory
FW_MEM = 128 * MiB              # micfw's smallest card memory
HOST_MSI = 0x03F0_0000          # host RAM where health checks take MSI-X
CARD_MMIO = MMIO_BASE
CARD_MSIX = MSIX_BAR_ADDR
CARD_VECTORS = NUM_VECTORS


def val32(rng):
    r = rng.random()
    if r < 0.35:
        return rng.getrandbits(32)
    if r < 0.5:
        return rng.choice((0, 0xFFFFFFFF, 1, 0x80000000, 0x55, 0x04000001))
    if r < 0.7:
        return 1 << rng.randrange(32)
    if r < 0.8:
        return rng.randrange(256) | rng.choice((0, 1 << 13))
    if r < 0.85:
        return 229 | 1 << 13
    return rng.getrandbits(rng.choice((4, 8, 16, 20)))


def b64(data):
    return base64.b64encode(data).decode()


# ===========================================================================
# QEMU device targets: operations expand into qtest lines
# ===========================================================================

class Side:
    """One device model as the fuzzer reaches it through one QEMU."""

    def __init__(self, q, kind, mem_size, ram_size, mmcfg=False, slot=SLOT,
                 bars=(BAR0, BAR2, BAR4)):
        self.q = q
        self.mmcfg = mmcfg              # q35: extended config space
        self.kind = kind                # "host" (mic-x100) or "card"
        self.mem_size = mem_size        # card memory
        self.ram_size = ram_size        # host RAM (through SMPT)
        self.slot = slot
        self.bar0, self.bar2, self.bar4 = bars
        if kind == "host":
            self.regs, self.msix, self.vectors = self.bar4, self.bar2, 16
        else:
            self.regs, self.msix, self.vectors = CARD_MMIO, CARD_MSIX, \
                CARD_VECTORS

    def rd(self, off):
        return self.q.rd(self.regs + off)

    def wr(self, off, val):
        self.q.wr(self.regs + off, val)

    # where RAM regions are in this QEMU's physical address space
    def card_mem_addr(self, off):
        return (self.bar0 + off) if self.kind == "host" else off

    def host_ram_addr(self, off):
        return off if self.kind == "host" else SMPT_BASE + off

    def remap(self):
        """BARs, memory + bus master; MSI-X enabled (the driver's set-up)."""
        q = self.q
        slot = self.slot
        if self.kind == "host":
            for reg, addr in ((0x10, self.bar0), (0x20, self.bar4)):
                q.queue("outl 0xcf8 0x%x" % cfg_addr(reg, slot))
                q.queue("outl 0xcfc 0x%x" % (addr & 0xFFFFFFFF))
                q.queue("outl 0xcf8 0x%x" % cfg_addr(reg + 4, slot))
                q.queue("outl 0xcfc 0x%x" % (addr >> 32))
            q.queue("outl 0xcf8 0x%x" % cfg_addr(0x18, slot))
            q.queue("outl 0xcfc 0x%x" % self.bar2)
        else:
            q.queue("outl 0xcf8 0x%x" % cfg_addr(0x10, slot))
            q.queue("outl 0xcfc 0x%x" % CARD_MSIX)
        q.queue("outl 0xcf8 0x%x" % cfg_addr(0x04, slot))
        q.queue("outl 0xcfc 0x6")


def wait_dma(ch, q, what):
    """Until channel ch is idle or halted: DSTAT.  A paced engine
    (dma-rate) runs on the virtual clock, so it is stepped meanwhile."""
    end = time.monotonic() + HANG_S
    while True:
        st = ch.reg(0x20)
        if st & (1 << 29) or ch.reg(0x08) == ch.head:
            return st
        if time.monotonic() > end:
            raise Failure("health", "%s did not finish in %.0f s" %
                          (what, HANG_S))
        q.cmd("clock_step 10000000")


def cfg_addr(reg, slot=SLOT):
    return 0x80000000 | slot << 11 | (reg & 0xFC)


WIDTH_OP = {1: "b", 2: "w", 4: "l", 8: "q"}


def gen_dma(rng, side, sname):
    """A DMA program: a ring with random descriptors, channel registers."""
    if side.kind == "host":
        ch = rng.choice((0, 0, 1, 2, 3, rng.randrange(8)))
    else:
        ch = rng.choice((4, 4, 5, 6, 7, rng.randrange(8)))
    in_host = rng.random() < 0.5
    span = side.ram_size if in_host else side.mem_size
    ring_off = rng.choice((0x10000, 0x10000 * rng.randrange(1, 64),
                           rng.randrange(0, span, 64),
                           span - 64 * rng.randrange(1, 8)))
    size = rng.choice((0, 1, 2, 16, 16, 64, 64, 64, rng.randrange(1 << 17)))
    ndesc = rng.randrange(1, 9)

    def addr():
        r = rng.random()
        if r < 0.4:
            return rng.randrange(0, side.mem_size, 64)
        if r < 0.7:
            return SMPT_BASE + rng.randrange(0, side.ram_size, 64)
        if r < 0.8:
            return SMPT_BASE + rng.randrange(32) * SMPT_PAGE + \
                rng.randrange(1 << 34) & ~63
        if r < 0.9:
            return side.mem_size - 64 * rng.randrange(0, 4)
        return rng.getrandbits(46)

    descs = []
    for _ in range(ndesc):
        r = rng.random()
        if r < 0.55:
            length = 64 * (rng.randrange(0, 65) if rng.random() < 0.9
                           else rng.randrange(1 << 14))
            lo, hi = memcpy_desc(addr(), addr(), length)
            lo &= (1 << 64) - 1
        elif r < 0.75:
            lo, hi = status_desc(rng.getrandbits(64), addr(),
                                     rng.random() < 0.5)
        elif r < 0.85:
            lo, hi = 0, 0
        else:
            lo, hi = rng.getrandbits(64), rng.getrandbits(64)
        descs.append([lo, hi & ((1 << 64) - 1)])
    if in_host:
        hi_extra = 1 << 26 | ((ring_off >> 34) & 31) << 21 | \
            (ring_off >> 32) & 3
    else:
        hi_extra = (ring_off >> 32) & 0xF
    if rng.random() < 0.1:
        hi_extra = rng.getrandbits(12) << 20 | rng.getrandbits(4)
    owner = (1 << 2 * ch) if (ch < 4) == (side.kind == "host") else 0
    dcr = rng.choice((None, 0x55 | 2 << 2 * ch, 0x55 | 2 << 2 * ch,
                      rng.getrandbits(16), owner | 2 << 2 * ch))
    head = ndesc if rng.random() < 0.7 else rng.randrange(max(size, 1) + 2)
    return ["dma", sname, ch, int(in_host), ring_off, size, descs, head, dcr,
            rng.choice((0, 0, 1 << 24, 1 << 25, rng.getrandbits(32))),
            hi_extra, 0 if rng.random() < 0.5 else None]


def do_dma(side, op):
    (_, _, ch, in_host, ring_off, size, descs, head, dcr, dcar, hi_extra,
     smpt0) = op
    q = side.q
    if smpt0 is not None:           # SMPT entry 0 back to identity
        q.queue("writel 0x%x 0x%x" % (side.regs + SMPT(0), smpt0))
    ring = b"".join(lo.to_bytes(8, "little") + hi.to_bytes(8, "little")
                    for lo, hi in descs)
    span = side.ram_size if in_host else side.mem_size
    n = max(0, min(len(ring), span - ring_off))
    if n:
        where = side.host_ram_addr(ring_off) if in_host else \
            side.card_mem_addr(ring_off)
        q.queue("b64write 0x%x 0x%x %s" % (where, n, b64(ring[:n])))
    base = side.regs
    if dcr is not None:
        q.queue("writel 0x%x 0x%x" % (base + DCR, dcr))
    q.queue("writel 0x%x 0x%x" % (base + DMA(ch, 0x00), dcar))
    q.queue("writel 0x%x 0x0" % (base + DMA(ch, 0x30)))
    q.queue("writel 0x%x 0x%x" % (base + DMA(ch, 0x14),
                                  ring_off & 0xFFFFFFFF))
    q.queue("writel 0x%x 0x%x" % (base + DMA(ch, 0x18),
                                  (size & 0x1FFFF) << 4 | hi_extra))
    q.queue("writel 0x%x 0x%x" % (base + DMA(ch, 0x04), head))


class QemuTarget:
    """Common part of the targets made of QEMUs under qtest."""

    replug = False                      # pc machine: ACPI hot-unplug/plug
    default_ops = 20000                 # per campaign

    def __init__(self, cfg, workdir, qemu=None):
        self.cfg = cfg
        self.dir = workdir
        self.qemu = qemu                # the QEMU binary to run
        self.sides = {}
        self.qemus = []
        self.qmps = {}
        self.fw = None
        self.plugs = 0

    # --- process bookkeeping ---
    def start_qemu(self, name, args, machine_args):
        qmp = os.path.join(self.dir, name + ".qmp")
        q = FuzzQTest(self.qemu, machine_args + [
            "-qmp", "unix:%s,server=on,wait=off" % qmp] + args +
            os.environ.get("MICFUZZ_QEMU_ARGS", "").split(),
            os.path.join(self.dir, name + ".err"), name,
            env={"MALLOC_PERTURB_": "165"})
        self.qemus.append(q)
        try:
            self.qmps[name] = FuzzQmp(qmp, name)
        except (AssertionError, OSError, ValueError) as e:
            q.check_alive()
            raise Failure("hang", "%s: QMP: %s" % (name, e))
        return q

    def procs(self):
        out = {q.name: q.pid() for q in self.qemus if q.p.poll() is None}
        if self.fw:
            out["micfw"] = self.fw.proc.pid
        return out

    def sync(self):
        for q in self.qemus:
            q.sync()

    def check_alive(self):
        for q in self.qemus:
            q.check_alive()
        self.check_fw()

    def check_fw(self):
        if self.fw and self.fw.proc.poll() is not None:
            err = b""
            if self.fw.proc.stderr:
                err = self.fw.proc.stderr.read()
            raise Failure("crash", "micfw %s; stderr:\n%s" % (
                describe_rc(self.fw.proc.returncode),
                err.decode(errors="replace")[-3000:]))

    def qtest_lines(self):
        return sum(q.lines for q in self.qemus)

    def stop(self):
        for q in self.qemus:
            q.stop()
        if self.fw:
            self.check_fw()
            fw = self.fw
            if fw.ctl:
                fw.ctl.close()
                fw.ctl = None
            fw.proc.terminate()
            try:
                _, err = fw.proc.communicate(timeout=HANG_S)
            except Exception:       # noqa: BLE001
                raise Failure("hang", "micfw ignored SIGTERM")
            self.fw = None
            err = err.decode(errors="replace")
            if fw.proc.returncode != 0:
                raise Failure("exit", "micfw %s on SIGTERM; stderr:\n%s" % (
                    describe_rc(fw.proc.returncode), err[-3000:]))
            check_sanitizer("micfw", err)

    def kill(self):
        for q in self.qemus:
            q.kill()
        for m in self.qmps.values():
            try:
                m.close()
            except OSError:
                pass
        if self.fw:
            self.fw.kill()
            self.fw = None

    # --- generation ---
    def gen_side_op(self, rng, sname):
        side = self.sides[sname]
        r = rng.random() * 100
        if r < 30:
            off = rng.choice(KNOWN)
            if rng.random() < 0.05:
                off = rng.randrange(MMIO_SIZE)
            width = 4 if rng.random() < 0.93 else rng.choice((1, 2, 8))
            return ["w", sname, off, width, val32(rng) if width <= 4
                    else rng.getrandbits(64)]
        if r < 40:
            off = rng.choice(KNOWN) if rng.random() < 0.9 else \
                rng.randrange(MMIO_SIZE)
            return ["r", sname, off, rng.choice((4, 4, 4, 1, 2, 8))]
        if r < 46:
            return ["w", sname, rng.choice(DOORBELLS), 4, val32(rng)]
        if r < 50:
            return ["w", sname, SMPT(rng.randrange(32)), 4,
                    rng.choice((rng.randrange(32) << 2,
                                rng.randrange(4) << 2 | rng.randrange(4),
                                rng.getrandbits(32)))]
        if r < 62:
            return gen_dma(rng, side, sname)
        if r < 66:
            in_host = rng.random() < 0.5
            span = side.ram_size if in_host else side.mem_size
            n = rng.choice((1, 8, 64, 256, 4096))
            return ["mem", sname, int(in_host), rng.randrange(0, span - n),
                    b64(rng.randbytes(n))]
        if r < 73:
            reg = rng.choice((0x04, 0x04, 0x10, 0x14, 0x18, 0x20, 0x24,
                              0x3C, rng.randrange(256), rng.randrange(4096)))
            width = rng.choice((1, 2, 4, 4))
            reg &= ~(width - 1)
            return ["cfg", sname, reg, width, val32(rng) & (
                (1 << 8 * width) - 1)]
        if r < 75:
            return ["cfgr", sname, rng.randrange(0, 256, 4)]
        if r < 82:
            vec = rng.randrange(side.vectors + 2)
            word = rng.randrange(4)
            val = rng.choice((HOST_MSI + 4 * vec, 0xFEE00000,
                              BAR4 + SPAD(vec & 15), CARD_MMIO + SPAD(1),
                              rng.getrandbits(32), 0, 1))
            if word == 3:
                val = rng.choice((0, 1))
            return ["msix", sname, vec, word, val]
        if r < 84:
            return ["msixctl", sname, rng.choice((1 << 31, 0, 1 << 30,
                                                  3 << 30))]
        if r < 88:
            return ["remap", sname]
        if r < 95:
            return ["clock", sname, rng.choice((1000, 10 ** 6, 10 ** 8,
                                                10 ** 9))]
        if r < 98:
            return ["w", sname, RGCR, 4, rng.choice((1, 1, 0xFFFFFFFF))]
        if r < 98.2 and self.replug and sname == "host":
            return ["replug", sname]
        return ["qmp", sname, rng.choice(("system_reset", "stop", "cont",
                                          "cont"))]

    # --- execution ---
    def do_side_op(self, op):
        kind, sname = op[0], op[1]
        side = self.sides[sname]
        q = side.q
        if kind == "w":
            _, _, off, width, val = op
            q.queue("write%s 0x%x 0x%x" % (WIDTH_OP[width], side.regs + off,
                                           val))
        elif kind == "r":
            q.queue("read%s 0x%x" % (WIDTH_OP[op[3]], side.regs + op[2]))
        elif kind == "dma":
            do_dma(side, op)
        elif kind == "mem":
            _, _, in_host, off, data = op
            where = side.host_ram_addr(off) if in_host else \
                side.card_mem_addr(off)
            q.queue("b64write 0x%x 0x%x %s" % (where, len(base64.b64decode(
                data)), data))
        elif kind == "cfg":
            _, _, reg, width, val = op
            if reg >= 256 and side.mmcfg:
                q.queue("write%s 0x%x 0x%x" % (WIDTH_OP[width], 0xB0000000 +
                                               (side.slot << 15) + reg, val))
            else:
                q.queue("outl 0xcf8 0x%x" % cfg_addr(reg & 0xFF, side.slot))
                q.queue("out%s 0x%x 0x%x" % (WIDTH_OP[width],
                                             0xcfc + (reg & 3), val))
        elif kind == "cfgr":
            q.queue("outl 0xcf8 0x%x" % cfg_addr(op[2], side.slot))
            q.queue("inl 0xcfc")
        elif kind == "msix":
            _, _, vec, word, val = op
            q.queue("writel 0x%x 0x%x" % (side.msix + 16 * vec + 4 * word,
                                          val))
            if word == 3:
                q.queue("readq 0x%x" % (side.msix + 2048))
        elif kind == "msixctl":
            cap = self.msix_cap(side)
            q.queue("outl 0xcf8 0x%x" % cfg_addr(cap, side.slot))
            q.queue("outl 0xcfc 0x%x" % op[2])
        elif kind == "remap":
            side.remap()
        elif kind == "clock":
            q.queue("clock_step %d" % op[2])
        elif kind == "pretouch":
            self.pretouch(side)
        elif kind == "qmp":
            q.sync()
            self.qmps.get(sname, self.qmps.get("host")).call(op[2])
        elif kind == "replug":
            self.do_replug(side, sname)
        else:
            raise ValueError("unknown op " + kind)

    def msix_cap(self, side):
        if not hasattr(side, "cap"):
            side.cap = side.q.find_cap(0x11, slot=side.slot) or 0x40
        return side.cap

    def pretouch(self, side):
        pass

    def do_replug(self, side, sname):
        q, qmp = side.q, self.qmps[sname]
        q.sync()
        r = qmp.call("device_del", id="mic")
        if "error" in r:
            return
        q.queue("outl 0xae08 0x%x" % (1 << SLOT))       # ACPI eject (PIIX)
        q.sync()
        end = time.monotonic() + HANG_S
        while any(d.get("slot") == SLOT for d in
                  qmp.call("query-pci")["return"][0]["devices"]):
            if time.monotonic() > end:
                raise Failure("hang", "%s: mic-x100 not gone %.0f s after "
                              "device_del and eject" % (sname, HANG_S))
            time.sleep(0.01)
        self.plugs += 1
        args = self.device_args()
        r = qmp.call("device_add", **args)
        if "error" in r:
            raise Failure("health", "%s: device_add after unplug: %s" %
                          (sname, r["error"]))
        if hasattr(side, "cap"):
            del side.cap
        side.remap()
        self.pretouch(side)

    # --- health checks shared by host-side targets ---
    def host_health(self, side, ready_wait, doorbell=None):
        """SPAD round trip, reset to ready, a byte-exact DMA copy with its
        completion MSI-X; returns nothing, raises Failure("health")."""
        q = side.q
        qmp = self.qmps.get("host")
        if qmp:
            qmp.call("cont")
        side.remap()
        q.sync()
        rng = random.Random(0x5EED)

        def expect(what, got, want):
            if got != want:
                raise Failure("health", "%s: got %s want %s" % (
                    what, hex(got) if isinstance(got, int) else got,
                    hex(want) if isinstance(want, int) else want))

        token = rng.getrandbits(32)
        side.wr(SPAD(3), token)
        expect("SPAD3 round trip", side.rd(SPAD(3)), token)
        side.wr(SPAD(2), 0)
        side.wr(RGCR, 1)
        ready_wait(lambda: side.rd(SPAD(2)) & 1, "SPAD2 ready after reset")
        for i in range(32):
            side.wr(SMPT(i), i << 2)
        # MSI-X vector 0 <- DMA channel 0 completion, message into RAM;
        # the fuzzed routing of the other vectors is switched off
        side.wr(SICC0, 0xFFFFFFFF)
        for v in range(16):
            q.wr(BAR2 + 16 * v + 12, 1 if v else 0)
            side.wr(MXAR(v), 0)
        cap = self.msix_cap(side)
        q.wr(BAR2, HOST_MSI)
        q.wr(BAR2 + 4, 0)
        q.wr(BAR2 + 8, 0xD0A0)
        q.wr(BAR2 + 12, 0)
        q.cfg_write(cap, (q.cfg_read(cap) | 1 << 31) & ~(1 << 30))
        side.wr(SICR0, 0xFFFFFFFF)
        side.wr(SICE0, 1 << 8)
        side.wr(MXAR(0), 1 << 8)
        side.wr(SIAC0, 1 << 8)
        q.wr(HOST_MSI, 0)
        ring = 0x0010_0000
        ch = Channel(side.rd, side.wr, 0,
                         lambda i, b: q.put(ring + 16 * i, b))
        ch.setup(SMPT_BASE + ring, 16)
        data = rng.randbytes(8192)
        q.put(0x0020_0000, data)
        q.fill(BAR0 + 0x0030_0000, 8192 + 64, 0xEE)
        ch.submit([memcpy_desc(SMPT_BASE + 0x0020_0000, 0x0030_0000,
                                   8192),
                   status_desc(0x5A5A, SMPT_BASE + 0x0020_0000 - 64,
                                   True)])
        st = wait_dma(ch, q, "DMA channel 0")
        expect("DMA DSTAT halted bit", st & (1 << 29), 0)
        got = q.get(BAR0 + 0x0030_0000, 8192 + 64)
        if got[:8192] != data or got[8192:] != b"\xEE" * 64:
            raise Failure("health", "DMA copy not byte-exact")
        try:
            wait_for(lambda: q.rd(HOST_MSI) == 0xD0A0, HANG_S,
                         "DMA completion MSI-X")
        except AssertionError as e:
            raise Failure("health", str(e))
        if doorbell:
            doorbell()


class X100Target(QemuTarget):
    """Standalone mic-x100: registers, DMA, config space, MSI-X, resets,
    system_reset, stop/cont and (on pc) ACPI hot-unplug and replug."""

    name = "x100"

    @staticmethod
    def config(rng):
        return {"machine": rng.choice(("pc", "q35")),
                "msi": rng.choice(("on", "on", "off")),
                "dma_rate": rng.choice((0, 0, 0, 1, 50, 5000))}

    def __init__(self, cfg, workdir, qemu, micfw):
        super().__init__(cfg, workdir, qemu)
        self.replug = cfg["machine"] == "pc"

    def device_args(self):
        return {"driver": "mic-x100", "id": "mic", "addr": "%d.0" % SLOT,
                "mem-size": X100_MEM, "msi": self.cfg["msi"] == "on",
                "dma-rate": self.cfg.get("dma_rate", 0)}

    def start(self):
        dev = "mic-x100,id=mic,addr=%d.0,mem-size=%d,msi=%s,dma-rate=%d" % (
            SLOT, X100_MEM, self.cfg["msi"], self.cfg.get("dma_rate", 0))
        # host RAM in a memfd: shared memory, not counted as RssAnon
        q = self.start_qemu("host", [
            "-object", "memory-backend-memfd,id=hostram,size=64M",
            "-device", dev], ["-M", self.cfg["machine"] +
                              ",memory-backend=hostram", "-m", "64M"])
        side = Side(q, "host", X100_MEM, HOST_RAM,
                    self.cfg["machine"] == "q35")
        self.sides["host"] = side
        side.remap()
        for i in range(32):
            side.q.queue("writel 0x%x 0x%x" % (BAR4 + SMPT(i), i << 2))
        self.pretouch(side)
        q.sync()

    def pretouch(self, side):
        side.q.queue("memset 0x%x 0x%x 0x0" % (BAR0, X100_MEM))

    def gen(self, rng):
        return self.gen_side_op(rng, "host")

    def do(self, op):
        self.do_side_op(op)

    def health(self):
        side = self.sides["host"]

        def ready(pred, what):
            for _ in range(50):
                if pred():
                    return
                side.q.cmd("clock_step 100000000")
            raise Failure("health", what + ": not after 5 s of virtual time")
        self.host_health(side, ready)


def fw_ready_wait(pred, what):
    try:
        wait_for(pred, HANG_S, what)
    except AssertionError as e:
        raise Failure("health", str(e))


class FwTarget(QemuTarget):
    """Targets with a real micfw (started from the micfw test harness)."""

    def start_fw(self):
        os.makedirs(self.dir, exist_ok=True)
        try:
            self.fw = Micfw(self.dir, "--qemu", "/bin/false",
                                index=3, ready_delay=10, mem_size="128M")
        except AssertionError as e:
            raise Failure("crash", "micfw did not start: %s" % e)
        self.link = self.fw.link_path

    def fw_health(self):
        try:
            st = self.fw.status()
        except (AssertionError, OSError, ValueError) as e:
            raise Failure("health", "micfw status: %s" % e)
        return st


class X100FwTarget(FwTarget):
    """mic-x100 on a real micfw: the same operations; resets and boot
    kicks reach micfw over the link."""

    name = "x100-fw"

    @staticmethod
    def config(rng):
        return {"machine": rng.choice(("pc", "q35"))}

    def __init__(self, cfg, workdir, qemu, micfw):
        super().__init__(cfg, workdir, qemu)
        self.replug = cfg["machine"] == "pc"

    def device_args(self):
        cid = "h%d" % self.plugs
        # the chardev is released when the unplugged device is finalized,
        # after an RCU grace period: "busy" until then
        end = time.monotonic() + HANG_S
        while True:
            r = self.qmps["host"].call("chardev-remove",
                                       id="h%d" % (self.plugs - 1))
            if "error" not in r:
                break
            if time.monotonic() > end:
                raise Failure("health", "chardev-remove after unplug: %s" %
                              r["error"])
            time.sleep(0.005)
        r = self.qmps["host"].call("chardev-add", id=cid, backend={
            "type": "socket", "data": {"addr": {"type": "unix", "data": {
                "path": self.link}}, "server": False}})
        if "error" in r:
            raise Failure("health", "chardev-add: %s" % r["error"])
        return {"driver": "mic-x100", "id": "mic", "addr": "%d.0" % SLOT,
                "chardev": cid, "host-mem": "hostram"}

    def start(self):
        self.start_fw()
        q = self.start_qemu("host", [
            "-object", "memory-backend-memfd,id=hostram,size=64M,share=on",
            "-chardev", "socket,id=h0,path=" + self.link,
            "-device", "mic-x100,id=mic,chardev=h0,host-mem=hostram,"
            "addr=%d.0" % SLOT],
            ["-M", self.cfg["machine"] + ",memory-backend=hostram",
             "-m", "64M"])
        side = Side(q, "host", FW_MEM, HOST_RAM)
        self.sides["host"] = side
        side.remap()
        for i in range(32):
            q.queue("writel 0x%x 0x%x" % (BAR4 + SMPT(i), i << 2))
        q.sync()

    def gen(self, rng):
        return self.gen_side_op(rng, "host")

    def do(self, op):
        self.do_side_op(op)

    def health(self):
        self.fw_health()
        self.host_health(self.sides["host"], fw_ready_wait)
        self.fw_health()


class TwoCardsTarget(FwTarget):
    """Two mic-x100 in one host QEMU, each on its own micfw: every config
    write or reset makes the host QEMU send PEER messages (where the other
    card's BARs are) to both micfws; operations on both devices."""

    name = "x100-2fw"
    BARS2 = (0x1_8000_0000, 0xC011_0000, 0xC004_0000)

    @staticmethod
    def config(rng):
        return {"machine": rng.choice(("pc", "q35"))}

    def __init__(self, cfg, workdir, qemu, micfw):
        super().__init__(cfg, workdir, qemu)
        self.fw2 = None

    def start(self):
        self.start_fw()
        dir2 = os.path.join(self.dir, "fw2")
        os.makedirs(dir2)
        try:
            self.fw2 = Micfw(dir2, "--qemu", "/bin/false", index=4,
                                 ready_delay=10, mem_size="128M")
        except AssertionError as e:
            raise Failure("crash", "micfw 2 did not start: %s" % e)
        q = self.start_qemu("host", [
            "-object", "memory-backend-memfd,id=hostram,size=64M,share=on",
            "-chardev", "socket,id=h0,path=" + self.link,
            "-chardev", "socket,id=g0,path=" + self.fw2.link_path,
            "-device", "mic-x100,id=mic,chardev=h0,host-mem=hostram,"
            "addr=%d.0" % SLOT,
            "-device", "mic-x100,id=mic2,chardev=g0,host-mem=hostram,"
            "addr=%d.0" % (SLOT + 1)],
            ["-M", self.cfg["machine"] + ",memory-backend=hostram",
             "-m", "64M"])
        q35 = self.cfg["machine"] == "q35"
        self.sides["host"] = Side(q, "host", FW_MEM, HOST_RAM, q35)
        self.sides["host2"] = Side(q, "host", FW_MEM, HOST_RAM, q35,
                                   SLOT + 1, self.BARS2)
        for side in self.sides.values():
            side.remap()
            for i in range(32):
                q.queue("writel 0x%x 0x%x" % (side.regs + SMPT(i), i << 2))
        q.sync()

    def gen(self, rng):
        return self.gen_side_op(rng, rng.choice(("host", "host2")))

    def do(self, op):
        self.do_side_op(op)

    def procs(self):
        out = super().procs()
        if self.fw2:
            out["micfw2"] = self.fw2.proc.pid
        return out

    def check_fw(self):
        super().check_fw()
        if self.fw2 and self.fw2.proc.poll() is not None:
            raise Failure("crash", "micfw 2 %s; stderr:\n%s" % (
                describe_rc(self.fw2.proc.returncode),
                self.fw2.proc.stderr.read().decode(errors="replace")[-3000:]))

    def peers_present(self, fw, peer):
        """The last PEER micfw kept for peer: announced (present=1)?"""
        last = None
        for line in fw.events():
            if " link-peer peer=%d " % peer in line + " ":
                last = line
        return last is not None and "present=1" in last

    def health(self):
        self.fw_health()
        h2 = self.sides["host2"]
        h2.remap()                  # its BARs may have been moved onto card 1's
        h2.q.sync()
        self.host_health(self.sides["host"], fw_ready_wait)
        h2.wr(SPAD(3), 0x2C0FFEE2)
        if h2.rd(SPAD(3)) != 0x2C0FFEE2:
            raise Failure("health", "card 2: SPAD3 round trip")
        h2.wr(SPAD(2), 0)
        h2.wr(RGCR, 1)
        fw_ready_wait(lambda: h2.rd(SPAD(2)) & 1, "card 2 ready after reset")
        # both cards decoded: each micfw holds the other card's PEER
        for fw, peer in ((self.fw, 4), (self.fw2, 3)):
            fw_ready_wait(lambda: self.peers_present(fw, peer),
                          "micfw %d keeps PEER %d" % (7 - peer, peer))
        try:
            self.fw2.status()
        except (AssertionError, OSError, ValueError) as e:
            raise Failure("health", "micfw 2 status: %s" % e)

    def stop(self):
        super().stop()
        if self.fw2:
            fw, self.fw2 = self.fw2, None
            rc = fw.stop()
            if rc != 0:
                raise Failure("exit", "micfw 2 %s on SIGTERM" %
                              describe_rc(rc))

    def kill(self):
        super().kill()
        if self.fw2:
            self.fw2.kill()
            self.fw2 = None


class CardFwTarget(FwTarget):
    """mic-x100 (q35, host RAM a memfd) and mic-card (RAM = micfw's card
    memory) on one micfw; operations on both sides, doorbells both ways."""

    name = "card-fw"

    @staticmethod
    def config(rng):
        return {"dma_rate": rng.choice((0, 0, 0, 1, 50, 5000))}

    def __init__(self, cfg, workdir, qemu, micfw):
        super().__init__(cfg, workdir, qemu)

    def start(self):
        self.start_fw()
        h = self.start_qemu("host", [
            "-object", "memory-backend-memfd,id=hostram,size=64M,share=on",
            "-chardev", "socket,id=h0,path=" + self.link,
            "-device", "mic-x100,id=mic,chardev=h0,host-mem=hostram,"
            "addr=%d.0,dma-rate=%d" % (SLOT, self.cfg.get("dma_rate", 0))],
            ["-M", "q35,memory-backend=hostram", "-m", "64M"])
        hs = Side(h, "host", FW_MEM, HOST_RAM)
        self.sides["host"] = hs
        hs.remap()
        for i in range(32):
            h.queue("writel 0x%x 0x%x" % (BAR4 + SMPT(i), i << 2))
        h.sync()
        fw_ready_wait(lambda: hs.rd(SPAD(2)) & 1, "card ready")
        gddr = None
        for fd in os.listdir("/proc/%d/fd" % self.fw.proc.pid):
            path = "/proc/%d/fd/%s" % (self.fw.proc.pid, fd)
            try:
                if "mic3-gddr" in os.readlink(path):
                    gddr = path
            except OSError:
                pass
        if not gddr:
            raise Failure("health", "micfw's card memory memfd not found")
        c = self.start_qemu("card", [
            "-object", "memory-backend-file,id=gddr,size=128M,share=on,"
            "mem-path=" + gddr, "-chardev", "socket,id=l,path=" + self.link,
            "-device", "mic-card,chardev=l,addr=%d.0,dma-rate=%d" % (
                SLOT, self.cfg.get("dma_rate", 0))],
            ["-M", "pc,memory-backend=gddr", "-m", "128M"])
        cs = Side(c, "card", FW_MEM, HOST_RAM)
        self.sides["card"] = cs
        cs.remap()
        c.sync()

    def gen(self, rng):
        return self.gen_side_op(rng, rng.choice(("host", "card")))

    def do(self, op):
        self.do_side_op(op)

    def health(self):
        self.fw_health()
        h, c = self.sides["host"], self.sides["card"]
        self.qmps["card"].call("cont")
        c.remap()
        token = 0x600DCAFE

        def expect(what, got, want):
            if got != want:
                raise Failure("health", "%s: got %#x want %#x" %
                              (what, got, want))

        def doorbells():
            h.wr(SPAD(9), token)
            expect("SPAD9 host -> card", c.rd(SPAD(9)), token)
            c.wr(SPAD(10), token ^ 0xFFFF)
            expect("SPAD10 card -> host", h.rd(SPAD(10)), token ^ 0xFFFF)
            expect("card sees SPAD2 ready", c.rd(SPAD(2)) & 1, 1)
            # the DMA copy landed in micfw's card memory: the card reads it
            if c.q.get(0x0030_0000, 8192) != h.q.get(BAR0 + 0x0030_0000,
                                                     8192):
                raise Failure("health", "card memory differs between sides")
            # card channel 4: card memory -> host RAM through SMPT
            c.wr(DCR, 0x55)
            ring = 0x0040_0000
            ch = Channel(c.rd, c.wr, 4,
                             lambda i, b: c.q.put(ring + 16 * i, b))
            ch.setup(ring, 16)
            src = random.Random(4).randbytes(4096)
            c.q.put(0x0050_0000, src)
            ch.submit([memcpy_desc(0x0050_0000, SMPT_BASE + 0x0060_0000,
                                       4096)])
            st = wait_dma(ch, c.q, "card DMA channel 4")
            expect("card DMA halted bit", st & (1 << 29), 0)
            if h.q.get(0x0060_0000, 4096) != src:
                raise Failure("health", "card DMA copy not byte-exact")
            # host -> card doorbell: RDMASR0 is card vector 8
            m = Msix(c.q)
            m.enable()
            m.fired()
            h.wr(RDMASR(0), 0)
            try:
                got = wait_for(m.fired, HANG_S, "RDMASR0 card vector")
            except AssertionError as e:
                raise Failure("health", str(e))
            if 8 not in got:
                raise Failure("health", "RDMASR0 fired card vectors %s" % got)
            # card -> host doorbell: SDBIC0 -> SICR0 bit 0 -> host vector 0
            h.q.wr(BAR2 + 8, 0xBEEF)
            h.q.wr(HOST_MSI, 0)
            h.wr(SICE0, 1)
            h.wr(MXAR(0), 1)
            h.wr(SIAC0, 1)
            c.wr(SDBIC(0), 0x80000000)
            try:
                wait_for(lambda: h.q.rd(HOST_MSI) == 0xBEEF, HANG_S,
                             "host MSI-X from SDBIC0")
            except AssertionError as e:
                raise Failure("health", str(e))

        self.host_health(h, fw_ready_wait, doorbells)
        self.fw_health()


# ===========================================================================
# peer: a hostile firmware simulator against QEMU
# ===========================================================================

LINK = LINK_MAGIC
HDR = HDR


PEER_S = struct.Struct("<IIQQQQ")       # struct mic_link_peer
PEER_FDS = ["memfd_sealed", "regfile", "eventfd", "eventfd"]


def gen_peer(rng, own_index):
    """A PEER message of random quality: mostly what the host device
    sends (aperture whole MiB, its BAR naturally aligned, the register BAR
    128 KiB, four fds of the right kinds), sometimes anything."""
    index = rng.choice((0, 1, 2, 5, 127, own_index, 128, rng.getrandbits(32)))
    flags = rng.choice((1, 1, 1, 0, 3, rng.getrandbits(32)))
    size = rng.choice((1 << 20, 16 << 20, 128 << 20, 1 << 30, 0,
                       3 << 20, 1 << 41, rng.getrandbits(64)))
    base = rng.choice((1 << 34, 2 << 34, 0x1_0000_0000, 0xC000_0000,
                       rng.randrange(1, 64) << 34, 0,
                       rng.randrange(1 << 52) & ~(max(size, 1) - 1),
                       rng.getrandbits(64)))
    mmio = rng.choice((base + size, base + 2 * size, base - MMIO_SIZE,
                       0xE000_0000, rng.getrandbits(64)))
    msize = rng.choice((MMIO_SIZE, MMIO_SIZE, 0, 4096, rng.getrandbits(64)))
    payload = PEER_S.pack(index & 0xFFFFFFFF, flags & 0xFFFFFFFF,
                          base & (2 ** 64 - 1), size & (2 ** 64 - 1),
                          mmio & (2 ** 64 - 1), msize & (2 ** 64 - 1))
    if rng.random() < 0.05:
        payload = payload[:rng.randrange(len(payload))]
    if rng.random() < 0.75:
        kinds = list(PEER_FDS) if flags & 1 else []
        if kinds and rng.random() < 0.15:
            kinds[rng.randrange(4)] = rng.choice(FD_KINDS)
    else:
        kinds = gen_fds(rng, 6)
    fd_size = size if 0 < size <= 1 << 40 else 1 << 20
    return ["peer", b64(payload), kinds, fd_size]


def send_peer(sock, op, tmpdir):
    """Send a PEER op on a link socket; False if the socket is gone."""
    _, payload, kinds, fd_size = op
    payload = base64.b64decode(payload)
    fds = []
    for k in kinds:
        if k == "regfile":
            fds.append(sealed_memfd("fuzz-peer-rf", RF_SIZE))
        else:
            fds.append(make_fd(k, fd_size, tmpdir))
    try:
        socket.send_fds(sock, [HDR.pack(LINK, 6, len(payload)) + payload],
                        fds)
        return True
    except OSError:
        return False
    finally:
        close_fds(fds)


def gen_fds(rng, nmax=6):
    kinds = []
    for _ in range(rng.randrange(nmax + 1)):
        kinds.append(rng.choice(FD_KINDS))
    return kinds


class PeerTarget(QemuTarget):
    """A fake micfw (FakeFw of the qtest harness) with garbage: WELCOME
    variants at the handshake (each one a fresh QEMU), then random link
    messages, fds and register-file scribbles while the device is used."""

    name = "peer"

    @staticmethod
    def config(rng):
        return {"role": rng.choice(("host", "card"))}

    def __init__(self, cfg, workdir, qemu, micfw):
        super().__init__(cfg, workdir, qemu)
        self.role = cfg["role"]
        self.hs_count = 0
        self.hung_up = False

    def qemu_args(self, link, timeout):
        if self.role == "host":
            return ["-M", "q35,memory-backend=hostram", "-m", "64M",
                    "-object", "memory-backend-memfd,id=hostram,size=64M,"
                    "share=on", "-chardev", "socket,id=l,path=" + link,
                    "-device", "mic-x100,id=mic,chardev=l,host-mem=hostram,"
                    "addr=%d.0,link-timeout=%d" % (SLOT, timeout)]
        return ["-M", "pc", "-m", "64M", "-chardev",
                "socket,id=l,path=" + link, "-device",
                "mic-card,chardev=l,addr=%d.0,link-timeout=%d" % (
                    SLOT, timeout)]

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        self.rf = RegFile()
        self.ram = HostRam(HOST_RAM, 0) if self.role == "card" else None
        link = os.path.join(self.dir, "peer.sock")
        self.ffw = FakeFw(link, self.rf, self.ram,
                              card_mem_size=X100_MEM)
        q = self.start_qemu("dev", [], self.qemu_args(link, 5000))
        side = Side(q, self.role, X100_MEM, HOST_RAM)
        self.sides["dev"] = side
        side.remap()
        q.sync()
        if not self.ffw.answered.wait(HANG_S):
            raise Failure("hang", "no HELLO from the device")
        self.rf_map = self.rf.map
        self.sides["dev"].q.sync()

    def gen(self, rng):
        r = rng.random() * 100
        if r < 0.1:
            return self.gen_handshake(rng)
        if r < 12:
            return self.gen_msg(rng)
        if r < 27:
            off = rng.choice(KNOWN) if rng.random() < 0.7 else \
                rng.randrange(0, MMIO_SIZE + 4096 - 4, 4)
            if rng.random() < 0.15:
                off = MMIO_SIZE + 8 + 4 * rng.randrange(12)
            return ["rfw", off, val32(rng), rng.choice(("", "", "to_host",
                                                        "to_card"))]
        if r < 29:
            return ["evt", rng.choice(("to_host", "to_card")),
                    rng.choice((1, 2, 0xFFFFFFFE))]
        if r < 29.1:
            return ["hangup"]
        if r < 31:
            return gen_peer(rng, 3)
        if r < 34 and self.role == "card":
            # an SMPT entry onto a 16 GiB host page an aperture may use,
            # then a card access through it
            page = rng.choice((1, 2, rng.randrange(1, 64)))
            i = rng.randrange(32)
            off = rng.choice((0, 0x1000, rng.randrange(1 << 20) & ~7,
                              (1 << 20) + rng.randrange(0, MMIO_SIZE, 4),
                              rng.randrange(1 << 34) & ~7))
            width = rng.choice((4, 4, 8, 1))
            return ["peerio", i, page << 2, off, width, val32(rng),
                    rng.random() < 0.5]
        return self.gen_side_op(rng, "dev")

    def gen_msg(self, rng):
        mtype = rng.choice((1, 2, 3, 4, 5, 6, 0, 0xFFFF, rng.randrange(1 << 16)))
        plen = rng.choice((0, 4, 8, 24, 40, 128, 4096, rng.randrange(4097)))
        payload = rng.randbytes(min(plen, 512))
        hlen = plen if rng.random() < 0.8 else rng.choice((
            4097, 0xFFFF, max(0, plen - 1), plen + 1))
        magic = LINK if rng.random() < 0.95 else rng.getrandbits(32)
        data = HDR.pack(magic, mtype, hlen & 0xFFFF) + payload
        if rng.random() < 0.05:
            data = rng.randbytes(rng.randrange(1, 64))
        return ["msg", b64(data), gen_fds(rng, 3) if rng.random() < 0.3
                else []]

    def gen_handshake(self, rng):
        spec = {
            "mtype": rng.choice((2, 2, 2, 5, 1, 3, 9)),
            "magic_ok": rng.random() < 0.9,
            "version": rng.choice((1, 1, 1, 0, 2, rng.getrandbits(32))),
            "index": rng.choice((0, 3, rng.getrandbits(32))),
            "mem": rng.choice((X100_MEM, X100_MEM, 1 << 20, 3 * MiB, 0,
                               1 << 41, rng.getrandbits(64))),
            "rfsize": rng.choice((RF_SIZE, RF_SIZE, 4096, 0,
                                  RF_SIZE + 4096, rng.getrandbits(64))),
            "below": rng.choice((HOST_RAM, HOST_RAM, 0, 1 << 40)),
            "above": rng.choice((0, 0, 4096, 1 << 40)),
            "trunc": rng.choice((None, None, None, 0, 8, 20, 39)),
            "tail": rng.choice((0, 0, 16, 4000)),
            "fds": None if rng.random() < 0.6 else gen_fds(rng, 7),
            "fd_swap": rng.random() < 0.1,
            "rf_magic": rng.choice((RF_MAGIC,) * 8 + (0, 0x12345678)),
            "rf_version": rng.choice((1,) * 8 + (0, 2)),
        }
        return ["hs", self.role, spec]

    def do(self, op):
        kind = op[0]
        conn = self.ffw.conn
        if kind == "msg":
            if self.hung_up or conn is None:
                return
            fds = [make_fd(k, X100_MEM, self.dir) for k in op[2]]
            try:
                if fds:
                    socket.send_fds(conn, [base64.b64decode(op[1])], fds)
                else:
                    conn.sendall(base64.b64decode(op[1]))
            except (BrokenPipeError, ConnectionResetError):
                self.hung_up = True
            except BlockingIOError:
                pass
            finally:
                close_fds(fds)
        elif kind == "rfw":
            _, off, val, evt = op
            struct.pack_into("<I", self.rf_map, off, val & 0xFFFFFFFF)
            if evt:
                os.eventfd_write(getattr(self.ffw, evt), 1)
        elif kind == "evt":
            os.eventfd_write(getattr(self.ffw, op[1]), op[2])
        elif kind == "hangup":
            if not self.hung_up and conn is not None:
                conn.shutdown(socket.SHUT_RDWR)
                self.hung_up = True
        elif kind == "hs":
            self.sync()
            self.do_handshake(op[2])
        elif kind == "peer":
            if not self.hung_up and conn is not None:
                self.sync()
                if not send_peer(conn, op, self.dir):
                    self.hung_up = True
        elif kind == "peerio":
            _, i, entry, off, width, val, write = op
            struct.pack_into("<I", self.rf_map, SMPT(i), entry)
            q = self.sides["dev"].q
            q.queue("readl 0x%x" % (CARD_MMIO + SPAD(0)))   # SMPT refresh
            addr = SMPT_BASE + i * SMPT_PAGE + off
            if write:
                q.queue("write%s 0x%x 0x%x" % (WIDTH_OP[width], addr, val))
            else:
                q.queue("read%s 0x%x" % (WIDTH_OP[width], addr))
        else:
            self.do_side_op(op)

    def do_handshake(self, spec):
        self.hs_count += 1
        tmp = os.path.join(self.dir, "hs")
        os.makedirs(tmp, exist_ok=True)
        link = os.path.join(tmp, "hs%d.sock" % (self.hs_count % 2))
        try:
            os.unlink(link)
        except FileNotFoundError:
            pass
        rf = RegFile(magic=spec["rf_magic"], version=spec["rf_version"])
        ram = HostRam(HOST_RAM, 0) if self.role == "card" else None

        def answer(fw, conn):
            if spec["mtype"] == 5:
                payload = ERROR_S.pack(5, b"E" * 124)
            else:
                payload = WELCOME_S.pack(
                    spec["version"] & 0xFFFFFFFF, spec["index"] & 0xFFFFFFFF,
                    spec["mem"] & (2 ** 64 - 1),
                    spec["rfsize"] & (2 ** 64 - 1), spec["below"],
                    spec["above"]) + b"\x00" * spec["tail"]
            if spec["trunc"] is not None:
                payload = payload[:spec["trunc"]]
            fds = fw.welcome_fds()
            made = []
            if spec["fds"] is not None:
                made = [make_fd(k, X100_MEM, tmp) for k in spec["fds"]]
                fds = made
            elif spec["fd_swap"]:
                fds = fds[1:2] + fds[0:1] + fds[2:]
            magic = LINK if spec["magic_ok"] else 0x4C43494E
            try:
                socket.send_fds(conn, [HDR.pack(magic, spec["mtype"],
                                                len(payload)) + payload],
                                fds)
            except OSError:
                pass
            close_fds(made)

        ffw = FakeFw(link, rf, ram, card_mem_size=X100_MEM, mode=answer)
        q = FuzzQTest(self.qemu, self.qemu_args(link, 300),
                      os.path.join(self.dir, "hs-qemu.err"), "hs-qemu",
                      env={"MALLOC_PERTURB_": "165"})
        try:
            # it either comes up and answers qtest, or refuses the link
            # with a message and exit status 1; nothing else
            try:
                q.cmd("outl 0xcf8 0x%x" % cfg_addr(0))
                q.cmd("inl 0xcfc")
                q.stop()
            except Failure as f:
                rc = q.p.poll()
                if not (f.kind == "crash" and rc == 1):
                    raise Failure(f.kind, "%s\nafter WELCOME %s" % (
                        f.detail, json.dumps(spec)))
        finally:
            q.kill()
            ffw.close()
            rf.close()
            if ram:
                ram.close()

    def health(self):
        side = self.sides["dev"]
        # The hostile peer may have set micfw's fault words (link down
        # reads all ones, by design): clear them as micfw's knobs do.
        self.rf_map[RF_FAULT_LINK_DOWN:RF_FAULT_END] = \
            bytes(RF_FAULT_END - RF_FAULT_LINK_DOWN)
        side.remap()
        side.q.sync()
        side.wr(SPAD(4), 0x7E57AB1E)
        if side.rd(SPAD(4)) != 0x7E57AB1E:
            raise Failure("health", "SPAD4 round trip through the hostile "
                          "peer's register file")
        side.q.cmd("outl 0xcf8 0x%x" % cfg_addr(0))
        ident = side.q.cmd("inl 0xcfc")
        if ident not in (0x22508086, 0x225F8086):
            raise Failure("health", "PCI identity %#x" % ident)

    def kill(self):
        super().kill()
        if getattr(self, "ffw", None):
            self.ffw.close()
            self.ffw = None
            self.rf.close()
            if self.ram:
                self.ram.close()


# ===========================================================================
# micfw: hostile device models and control clients against the real micfw
# ===========================================================================

CTL_CMDS = ("status", "crash", "hang", "resume", "never-ready",
            "ready-delay", "nosuch", "")


def gen_ctl_line(rng):
    r = rng.random()
    if r < 0.35:
        cmd = rng.choice(CTL_CMDS)
        obj = {"cmd": cmd}
        if cmd == "never-ready" and rng.random() < 0.8:
            obj["value"] = rng.choice((True, False, 1, "x", None))
        if cmd == "ready-delay":
            obj["ms"] = rng.choice((0, 10, 3600000, 3600001, -1, 1.5, "7",
                                    rng.getrandbits(64)))
        if rng.random() < 0.1:
            obj[rng.choice(("x", "cmd2", "\u00e9"))] = rng.choice(
                (1, [1, 2], {"a": None}, "s" * 100))
        line = json.dumps(obj, ensure_ascii=rng.random() < 0.5).encode()
    elif r < 0.5:
        line = rng.choice((b'{"cmd":"status"}{"cmd":"status"}', b"[]",
                           b"{}", b"null", b'{"cmd":1}', b'{"cmd":null}',
                           b'{"cmd":"status"', b'"status"', b"{\"cmd\":\"\xff\"}",
                           b'{"cmd":"status","cmd":"crash"}', b"",
                           b'{"cmd":"st\\u0000atus"}', b"\x00" * 8,
                           b'{"cmd":"status"} ', b'  {"cmd":"status"}'))
    elif r < 0.75:
        line = bytes(rng.randrange(256) for _ in range(rng.randrange(64)))
        line = line.replace(b"\n", b"")
    else:
        base = bytearray(b'{"cmd":"status"}')
        for _ in range(rng.randrange(1, 4)):
            base[rng.randrange(len(base))] = rng.randrange(256)
        line = bytes(base).replace(b"\n", b" ")
    return line


class MicfwTarget(FwTarget):
    """Fake device models on micfw's link (HELLO variants, messages, fds,
    a hostile host that scribbles on the register file and card memory
    and kicks boots) and hostile clients on its control socket."""

    name = "micfw"
    default_ops = 100000

    @staticmethod
    def config(rng):
        return {}

    def __init__(self, cfg, workdir, qemu, micfw):
        super().__init__(cfg, workdir)
        self.host = None
        self.csock = None
        self.extra = []

    def procs(self):
        return {"micfw": self.fw.proc.pid} if self.fw else {}

    def start(self):
        self.start_fw()
        self.ram = HostRam(HOST_RAM, 0)
        self.connect_host()

    def connect_host(self):
        if self.host:
            self.drop_host()
        # a kept connection may have said HELLO as the host: it goes, and
        # micfw must notice that within HANG_S
        self.close_extra()
        end = time.monotonic() + HANG_S
        while True:
            link = Link(self.link)
            link.sock.settimeout(HANG_S)
            try:
                welcome, fds = link.hello(ROLE_HOST, below=HOST_RAM,
                                          fds=[self.ram.fd])
                break
            except (AssertionError, OSError) as e:
                link.close()
                if "already connected" not in str(e) or \
                        time.monotonic() > end:
                    self.check_alive()
                    raise Failure("health", "host HELLO refused: %s" % e)
                time.sleep(0.01)
        self.host = link
        self.rf = RegFile(fds[1], welcome["regfile_size"])
        self.gddr = mmap.mmap(fds[0], welcome["card_mem_size"],
                              mmap.MAP_SHARED)
        self.gddr_size = welcome["card_mem_size"]

    def connect_card(self):
        """A card device model on the link: it gets WELCOME, then the
        PEERs micfw keeps and forwards."""
        link = Link(self.link)
        link.sock.settimeout(HANG_S)
        try:
            link.send(HELLO, HELLO_S.pack(1, ROLE_CARD, 0, 0))
            msg = link.recv()
        except socket.timeout:
            link.close()
            self.check_alive()
            raise Failure("hang", "no answer to a card HELLO")
        except OSError:
            msg = None
        if msg is None:
            link.close()
            return
        link.sock.setblocking(False)
        self.card = link
        self.drain_card()

    def drain_card(self):
        """Read (and close the fds of) whatever micfw forwarded."""
        if not getattr(self, "card", None):
            return
        try:
            while True:
                data, fds, _, _ = socket.recv_fds(self.card.sock, 65536, 64)
                close_fds(fds)
                if not data:
                    self.drop_card()
                    return
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            self.drop_card()

    def drop_card(self):
        if getattr(self, "card", None):
            self.card.close()
            self.card = None

    def drop_host(self):
        if self.host:
            self.rf.close()
            self.gddr.close()
            self.host.close()
            self.host = None

    def close_extra(self):
        for s in self.extra:
            s.close()
        self.extra = []

    def gen(self, rng):
        r = rng.random() * 100
        if r < 8:
            hello = HELLO_S.pack(
                rng.choice((1, 1, 0, 2, rng.getrandbits(32))),
                rng.choice((1, 2, 2, 0, 3, rng.getrandbits(32))),
                rng.choice((0, HOST_RAM, 1 << 40, rng.getrandbits(64))),
                rng.choice((0, 0, 4096, rng.getrandbits(64))))
            if rng.random() < 0.2:
                hello = hello[:rng.randrange(len(hello))]
            if rng.random() < 0.1:
                hello += rng.randbytes(rng.randrange(1, 64))
            hlen = len(hello) if rng.random() < 0.9 else rng.choice((
                0, 4, 4097, 65535))
            magic = LINK if rng.random() < 0.95 else rng.getrandbits(32)
            msg = HDR.pack(magic, rng.choice((1, 1, 1, 2, 3)), hlen) + hello
            return ["lhello", b64(msg), gen_fds(rng, 9)
                    if rng.random() < 0.4 else [], rng.random() < 0.3]
        if r < 14:
            return ["lraw", b64(rng.randbytes(rng.randrange(1, 200))),
                    gen_fds(rng, 3) if rng.random() < 0.3 else []]
        if r < 30:
            mtype = rng.choice((3, 3, 4, 4, 1, 2, 5, 7, rng.randrange(65536)))
            plen = rng.choice((0, 0, 4, 40, 128, rng.randrange(4097)))
            hlen = plen if rng.random() < 0.9 else rng.choice((4097, 65535))
            return ["hmsg", mtype, hlen, b64(rng.randbytes(min(plen, 256))),
                    gen_fds(rng, 3) if rng.random() < 0.15 else []]
        if r < 45:
            off = rng.choice(KNOWN) if rng.random() < 0.8 else \
                rng.randrange(0, MMIO_SIZE + 64, 4)
            if rng.random() < 0.3:
                off = rng.choice((SPAD(2), SPAD(5), SPAD(2), RGCR))
            return ["rfw", off, val32(rng)]
        if r < 52:
            return self.gen_boot(rng)
        if r < 58:
            return ["cmem", rng.randrange(0, FW_MEM - 4096),
                    b64(rng.randbytes(rng.choice((8, 64, 512))))]
        if r < 63:
            return gen_peer(rng, 3)
        if r < 64:
            return ["cardlink", rng.random() < 0.7]
        if r < 88:
            return ["ctl", b64(gen_ctl_line(rng))]
        if r < 91:
            return ["ctlhuge", rng.choice((65 * 1024, 200 * 1024, 1 << 20)),
                    rng.random() < 0.5]
        if r < 95:
            return ["ctlraw", b64(rng.randbytes(rng.randrange(1, 300))),
                    rng.random() < 0.5]
        if r < 98:
            return ["ctlopen"]
        return ["ctlclose"]

    def gen_boot(self, rng):
        """A boot download of random quality: a setup header with the
        "HdrS" magic at a random boot address, sizes from the register
        file, then a boot kick."""
        addr = rng.choice((0x04000000, 0x04000000, rng.randrange(0, FW_MEM,
                                                                 4096),
                           rng.getrandbits(32) & 0xFFFFF000))
        hdr = bytearray(rng.randbytes(0x280) if rng.random() < 0.3
                        else bytes(0x280))
        hdr[0x1F1] = rng.choice((1, 4, 63, 255, 0))            # setup_sects
        hdr[0x1FE:0x200] = b"\x55\xAA"
        hdr[0x202:0x206] = b"HdrS"
        struct.pack_into("<H", hdr, 0x206, rng.choice((0x20F, 0x200, 0x1FF,
                                                       0xFFFF)))
        struct.pack_into("<I", hdr, 0x218, rng.choice((0x08000000, 0,
                                                       rng.getrandbits(32))))
        struct.pack_into("<I", hdr, 0x21C, rng.choice((0, 3584, 1 << 31,
                                                       rng.getrandbits(32))))
        struct.pack_into("<I", hdr, 0x228, rng.choice((0, addr + 0x1000,
                                                       rng.getrandbits(32))))
        size = rng.choice((65536, 0, 0xFFFFFFF0, rng.getrandbits(32),
                           FW_MEM))
        return ["boot", addr, b64(bytes(hdr)), size, rng.random() < 0.9]

    def do(self, op):
        kind = op[0]
        if kind == "lhello":
            _, data, kinds, keep = op
            self.link_session(base64.b64decode(data), kinds, keep, True)
        elif kind == "lraw":
            self.link_session(base64.b64decode(op[1]), op[2], False, False)
        elif kind == "hmsg":
            _, mtype, hlen, payload, kinds = op
            if not self.host:
                self.connect_host()
            fds = [make_fd(k, 4096, self.dir) for k in kinds]
            data = HDR.pack(LINK, mtype, hlen) + base64.b64decode(payload)
            try:
                if fds:
                    socket.send_fds(self.host.sock, [data], fds)
                else:
                    self.host.sock.sendall(data)
            except OSError:
                self.drop_host()
            finally:
                close_fds(fds)
            if hlen != len(base64.b64decode(payload)) or mtype in (1, 2):
                self.drop_host()            # the stream is out of step
        elif kind == "rfw":
            if not self.host:
                self.connect_host()
            self.rf.write(op[1], op[2] & 0xFFFFFFFF)
        elif kind == "cmem":
            if not self.host:
                self.connect_host()
            data = base64.b64decode(op[2])
            self.gddr[op[1]:op[1] + len(data)] = data
        elif kind == "boot":
            _, addr, hdr, size, kick = op
            if not self.host:
                self.connect_host()
            hdr = base64.b64decode(hdr)
            if addr + len(hdr) <= self.gddr_size:
                self.gddr[addr:addr + len(hdr)] = hdr
            self.rf.write(SPAD(2), addr | 1)
            self.rf.write(SPAD(5), size)
            if kick:
                try:
                    self.host.sock.sendall(HDR.pack(LINK, 4, 0))
                except OSError:
                    self.drop_host()
        elif kind == "peer":
            if not self.host:
                self.connect_host()
            if not send_peer(self.host.sock, op, self.dir):
                self.drop_host()
            self.drain_card()
        elif kind == "cardlink":
            self.drop_card()
            if op[1]:
                self.connect_card()
        elif kind == "ctl":
            self.ctl_line(base64.b64decode(op[1]))
        elif kind == "ctlhuge":
            _, n, newline = op
            s = self.new_ctl()
            try:
                s.sendall(b"x" * n + (b"\n" if newline else b""))
                if newline:
                    self.read_reply(s, "huge line")
            except OSError:
                pass
            s.close()
        elif kind == "ctlraw":
            s = self.new_ctl()
            try:
                s.sendall(base64.b64decode(op[1]))
                if op[2]:
                    s.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            s.close()
        elif kind == "ctlopen":
            if len(self.extra) < 16:
                self.extra.append(self.new_ctl())
        elif kind == "ctlclose":
            if self.extra:
                self.extra.pop(0).close()
        else:
            raise ValueError(kind)

    def new_ctl(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(HANG_S)
        try:
            s.connect(self.fw.ctl_path)
        except OSError as e:
            self.check_alive()
            raise Failure("hang", "control socket: %s" % e)
        return s

    def read_reply(self, sock, what):
        buf = b""
        try:
            while not buf.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    self.check_alive()
                    raise Failure("health", "micfw closed the control "
                                  "connection after %s" % what)
                buf += chunk
        except socket.timeout:
            self.check_alive()
            raise Failure("hang", "no control reply in %.0f s to %s" %
                          (HANG_S, what))
        for line in buf.splitlines():
            try:
                obj = json.loads(line.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                raise Failure("json", "reply is not valid JSON: %r (to %r)" %
                              (line[:200], what))
            if not isinstance(obj, dict) or not isinstance(obj.get("ok"),
                                                           bool):
                raise Failure("json", "reply without ok: %r" % line[:200])
        return buf

    def ctl_line(self, line):
        if not self.csock:
            self.csock = self.new_ctl()
        try:
            self.csock.sendall(line + b"\n")
        except OSError:
            self.check_alive()
            raise Failure("health", "control send failed")
        self.read_reply(self.csock, line[:100])

    def link_session(self, data, kinds, keep, want_answer):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(HANG_S)
        try:
            s.connect(self.link)
        except OSError as e:
            self.check_alive()
            s.close()
            raise Failure("hang", "link socket: %s" % e)
        fds = [make_fd(k, FW_MEM, self.dir) for k in kinds]
        try:
            if fds:
                socket.send_fds(s, [data], fds)
            else:
                s.sendall(data)
            complete = False
            if len(data) >= HDR.size:
                magic, _, hlen = HDR.unpack(data[:HDR.size])
                complete = magic != LINK or hlen > 4096 or \
                    len(data) >= HDR.size + hlen
            if want_answer and complete:
                # micfw answers (WELCOME or ERROR) or closes: never silence
                try:
                    _, got, _, _ = socket.recv_fds(s, 8192, 16)
                    close_fds(got)
                except socket.timeout:
                    self.check_alive()
                    raise Failure("hang", "no answer to %s in %.0f s" %
                                  (data.hex()[:200], HANG_S))
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            close_fds(fds)
        if keep and len(self.extra) < 16:
            self.extra.append(s)
        else:
            s.close()

    def sample_prepare(self):
        """Before a resource sample: no transient connections of ours."""
        self.drain_card()
        self.drop_card()
        self.close_extra()
        if self.csock:
            self.csock.close()
            self.csock = None
        time.sleep(0.05)

    def check_alive(self):
        self.check_fw()

    def sync(self):
        pass

    def qtest_lines(self):
        return 0

    def health(self):
        self.sample_prepare()
        ctl = self.fw.ctl
        try:
            assert ctl("never-ready", value=False)["ok"]
            assert ctl("ready-delay", ms=10)["ok"]
            st = ctl("status")
        except (AssertionError, OSError, ValueError) as e:
            raise Failure("health", "control: %s" % e)
        if not st["ok"]:
            raise Failure("health", "status: %s" % st)
        self.connect_host()
        self.rf.write(SPAD(7), 0xC0FFEE)
        self.rf.write(SPAD(2), 0)
        self.host.send(RESET)
        fw_ready_wait(lambda: self.rf.spad(2) & 1, "SPAD2 ready after RESET")
        if self.rf.spad(7) != 0xC0FFEE:
            pass        # micfw may clear host-unowned SPADs on reset
        self.gddr[0:8] = b"ABCDEFGH"
        st = ctl("status")
        if st.get("state") != "ready":
            raise Failure("health", "state %s after reset" % st.get("state"))

    def stop(self):
        self.sample_prepare()
        self.drop_host()
        super().stop()

    def kill(self):
        self.sample_prepare()
        self.drop_host()
        if getattr(self, "ram", None):
            self.ram.close()
            self.ram = None
        super().kill()


TARGETS = {t.name: t for t in (X100Target, X100FwTarget, TwoCardsTarget,
                               CardFwTarget, PeerTarget, MicfwTarget)}
