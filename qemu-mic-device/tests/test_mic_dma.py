#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""The x100 DMA engine under -accel qtest: docs/dma.rst, both devices.

No guest OS runs.  The tests play the DMA driver through qtest: they write
descriptor rings into memory, program the channel registers in the order
the upstream driver uses (facts §5.2) and check every copied byte.

* HostDmaTest: a standalone mic-x100 on q35; host-owned channels copy
  between card memory (BAR0) and host RAM (through the SMPT window).
* CardDmaTest: mic-card with a fake firmware simulator (the test owns the
  register file and a host RAM memfd); card-owned channels.
* ForwardTest (needs micfw): both devices on one micfw; a DHPR written on
  one side runs on the owner's side.

    test_mic_dma.py [-v] [unittest args]

QEMU and micfw are found like test_mic_card.py does.
"""
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import unittest

from micemu.build import find_micfw, find_qemu
from micemu.dma import (ERR_ADDR, ERR_ALIGN, ERR_BUS, ERR_DESC, ERR_HEAD,
                        ERR_RING, HALTED, IM0, IM1, OWNER_HOST, Channel,
                        memcpy_desc, pack, status_desc)
from micemu.link import FakeFw, HostRam
from micemu.qmp import Qmp
from micemu.qtest import Msix, QTest
from micemu.regs import (CH, DCAR, DCHERR, DCHERRMSK, DCR, DHPR, DRAR_HI,
                         DRAR_LO, DSTAT, DTPR, MMIO_BASE, MXAR, RGCR, SIAC0, SICE0, SICR0, SMPT, SMPT_BASE, SPAD, RegFile)
from micemu.wait import wait_for as _wait_for

QEMU = find_qemu()
MiB = 1 << 20
SIZES = [64, 1024, 4096, MiB, MiB + 64]


def wait_for(pred, timeout=20.0, what="condition"):
    """wait_for with this suite's longer timeout and finer poll."""
    return _wait_for(pred, timeout=timeout, what=what, poll=0.005)


# ---------------------------------------------------------------------------
# Host side: standalone mic-x100, host-owned channels
# ---------------------------------------------------------------------------

HOST_SLOT = 4
BAR0, BAR2, BAR4 = 0x1_0000_0000, 0xC010_0000, 0xC000_0000
CARD_MEM = 256 * MiB
HOST_RING = 0x0100_0000         # host RAM: rings, buffers, MSI target
HOST_BUF = 0x0200_0000
HOST_MSI = 0x0F00_0000
CARD_RING = 0x0010_0000         # card memory
CARD_BUF = 0x0100_0000


class HostDmaBase(unittest.TestCase):
    """A standalone mic-x100 on q35 with BARs, bus mastering and an
    identity SMPT; channel 0 ready with its ring in host RAM."""
    DEVICE_ARGS = ""

    def setUp(self):
        if not os.access(QEMU, os.X_OK):
            self.skipTest("QEMU not built: " + QEMU)
        self._tmp = tempfile.TemporaryDirectory(prefix="mic-dma-test-")
        q = QTest(QEMU, [
            "-M", "q35", "-m", "512M", "-d", "guest_errors,unimp",
            "-device", "mic-x100,addr=%d,mem-size=%d%s" % (
                HOST_SLOT, CARD_MEM, self.DEVICE_ARGS)],
            os.path.join(self._tmp.name, "qemu.err"), machine=None)
        self.q = q
        for reg, addr in ((0x10, BAR0), (0x20, BAR4)):
            q.cfg_write(reg, addr & 0xFFFFFFFF, slot=HOST_SLOT)
            q.cfg_write(reg + 4, addr >> 32, slot=HOST_SLOT)
        q.cfg_write(0x18, BAR2, slot=HOST_SLOT)
        q.cfg_write(0x04, 0x6, slot=HOST_SLOT)      # memory + bus master
        for i in range(32):                         # identity, like §3.3
            self.wr(SMPT(i), i << 2)
        self.ch = self.channel(0)

    def tearDown(self):
        rc = self.q.close()
        self._tmp.cleanup()
        self.assertEqual(rc, 0, "QEMU exit status")

    def rd(self, off):
        return self.q.rd(BAR4 + off)

    def wr(self, off, val):
        self.q.wr(BAR4 + off, val)

    def channel(self, n, ring_in_host=True):
        if ring_in_host:
            base, card = HOST_RING + n * 0x10000, SMPT_BASE + HOST_RING + \
                n * 0x10000
        else:
            base, card = BAR0 + CARD_RING + n * 0x10000, CARD_RING + \
                n * 0x10000
        ch = Channel(self.rd, self.wr, n,
                     lambda i, b: self.q.put(base + 16 * i, b))
        ch.ring_card = card
        ch.setup(card, 64)
        return ch

    def msix_setup(self, n):
        """MSI-X vector 0 <- DMA source of channel n; message into RAM."""
        q = self.q
        cap = q.find_cap(0x11, slot=HOST_SLOT)
        q.wr(BAR2, HOST_MSI)
        q.wr(BAR2 + 4, 0)
        q.wr(BAR2 + 8, 0xD0A0 + n)
        q.wr(BAR2 + 12, 0)
        q.cfg_write(cap, (q.cfg_read(cap, slot=HOST_SLOT) | 1 << 31) &
                    ~(1 << 30), slot=HOST_SLOT)
        self.wr(SICE0, 0xFF0F)
        self.wr(MXAR(0), 1 << (8 + n))
        self.wr(SIAC0, 0xFF0F)
        q.wr(HOST_MSI, 0)

    def msi_fired(self):
        # clear only what was read: an MSI-X from a DMA worker thread may
        # land between the two commands
        v = self.q.rd(HOST_MSI)
        if v:
            self.q.wr(HOST_MSI, 0)
        return v

    def copy_ok(self, ch, src_card, dst_card, src_q, dst_q, size, rng):
        data = rng.randbytes(size)
        self.q.put(src_q, data)
        self.q.fill(dst_q, size + 64, 0xEE)
        tail = ch.reg(DTPR)
        ch.submit([memcpy_desc(src_card, dst_card, size)])
        st = ch.wait_idle()
        self.assertEqual(st & HALTED, 0, "no error, size %d" % size)
        self.assertEqual(ch.reg(DCHERR), 0)
        self.assertEqual(ch.reg(DTPR), (tail + 1) % ch.size)
        self.assertEqual(ch.reg(DSTAT), ch.reg(DTPR), "DSTAT index = DTPR")
        got = self.q.get(dst_q, size + 64)
        self.assertTrue(got[:size] == data, "bytes differ, size %d" % size)
        self.assertEqual(got[size:], b"\xEE" * 64, "nothing beyond")



class HostDmaTest(HostDmaBase):
    def test_memcpy_card_to_host_and_back(self):
        rng = random.Random(1)
        for size in SIZES:
            self.copy_ok(self.ch, CARD_BUF, SMPT_BASE + HOST_BUF,
                         BAR0 + CARD_BUF, HOST_BUF, size, rng)
            self.copy_ok(self.ch, SMPT_BASE + HOST_BUF, CARD_BUF + 4 * MiB,
                         HOST_BUF, BAR0 + CARD_BUF + 4 * MiB, size, rng)

    def test_memcpy_ring_in_card_memory_channel_3(self):
        ch = self.channel(3, ring_in_host=False)
        rng = random.Random(3)
        for size in (64, 4096, MiB + 64):
            self.copy_ok(ch, CARD_BUF, CARD_BUF + 8 * MiB, BAR0 + CARD_BUF,
                         BAR0 + CARD_BUF + 8 * MiB, size, rng)

    def test_many_descriptors_wrap_the_ring(self):
        ch, rng = self.ch, random.Random(2)
        data = rng.randbytes(200 * 64)
        self.q.put(BAR0 + CARD_BUF, data)
        for batch in range(5):              # 5 x 40 descriptors, ring of 64
            ch.submit([memcpy_desc(CARD_BUF + 64 * i, SMPT_BASE + HOST_BUF +
                                   64 * i, 64)
                       for i in range(40 * batch, 40 * batch + 40)])
            self.assertEqual(ch.wait_idle() & HALTED, 0)
        self.assertEqual(ch.reg(DTPR), 200 % 64)
        self.assertEqual(self.q.get(HOST_BUF, len(data)), data)

    def test_length_zero_completes(self):
        ch = self.ch
        self.q.fill(HOST_BUF, 64, 0x11)
        ch.submit([memcpy_desc(CARD_BUF, SMPT_BASE + HOST_BUF, 0)])
        self.assertEqual(ch.wait_idle() & HALTED, 0)
        self.assertEqual(ch.reg(DTPR), 1)
        self.assertEqual(self.q.get(HOST_BUF, 64), b"\x11" * 64)

    def test_status_value_and_interrupt(self):
        ch = self.ch
        self.msix_setup(0)
        ch.submit([status_desc(0x1122334455667788, SMPT_BASE + HOST_BUF,
                               False)])
        ch.wait_idle()
        self.assertEqual(self.q.rd(HOST_BUF, 64), 0x1122334455667788)
        time.sleep(0.05)
        self.assertEqual(self.msi_fired(), 0, "no interrupt without bit 59")
        self.assertEqual(self.rd(SICR0) & 0x100, 0)
        ch.submit([status_desc(0xCAFE, CARD_BUF + 8, True)])
        ch.wait_idle()
        self.assertEqual(self.q.rd(BAR0 + CARD_BUF + 8, 64), 0xCAFE)
        self.assertEqual(wait_for(self.msi_fired, 5, "MSI-X"), 0xD0A0)
        self.assertEqual(self.rd(SICR0) & 0x100, 0, "auto-cleared")
        # masked: DCAR IM1 for a host-owned channel
        ch.set(DCAR, IM1)
        ch.submit([status_desc(0xBEEF, CARD_BUF + 16, True)])
        ch.wait_idle()
        self.assertEqual(self.q.rd(BAR0 + CARD_BUF + 16, 64), 0xBEEF)
        time.sleep(0.05)
        self.assertEqual(self.msi_fired(), 0, "masked by DCAR IM1")
        self.assertEqual(self.rd(SICR0) & 0x100, 0)
        ch.set(DCAR, 0)
        ch.submit([status_desc(1, CARD_BUF + 24, True)])
        ch.wait_idle()
        self.assertEqual(wait_for(self.msi_fired, 5, "MSI-X"), 0xD0A0)

    def test_channel_2_raises_its_own_source(self):
        ch = self.channel(2)
        self.msix_setup(2)
        self.wr(SIAC0, 0)                   # no auto-clear: SICR0 shows it
        ch.submit([status_desc(5, CARD_BUF, True)])
        ch.wait_idle()
        self.assertEqual(wait_for(self.msi_fired, 5, "MSI-X"), 0xD0A2)
        self.assertEqual(self.rd(SICR0) & 0xFF00, 1 << 10, "SICR0 bit 8+2")

    # ---- errors: each halts the channel; it works again after set-up ----

    def expect_error(self, descs, err, ch=None, **setup):
        ch = ch or self.ch
        if setup:
            ch.setup(ch.ring_card, **setup)
        tail = ch.reg(DTPR)
        if descs is not None:
            ch.submit(descs)
        # wait for the halt itself: with the head left where it was,
        # wait_idle() can return before the engine has run
        self.assertTrue(ch.wait_halted() & HALTED, "DSTAT bit 29 set")
        self.assertEqual(ch.reg(DCHERR), err)
        self.assertEqual(ch.reg(DTPR), tail, "failing descriptor pending")
        # halted: a good descriptor does not run until re-enabled
        self.q.fill(HOST_BUF, 64, 0x33)
        ch.ring_put(ch.head, pack(status_desc(7, SMPT_BASE + HOST_BUF,
                                              False)))
        ch.head = (ch.head + 1) % max(ch.size, 1)
        ch.set(DHPR, ch.head)
        time.sleep(0.05)
        self.assertEqual(self.q.rd(HOST_BUF, 64), 0x3333333333333333)
        self.assertEqual(ch.reg(DCHERR), err, "still halted")
        # re-program and copy again
        ch.setup(ch.ring_card, 64)
        self.assertEqual(ch.reg(DCHERR), 0, "enable clears DCHERR")
        self.assertEqual(ch.reg(DSTAT) & HALTED, 0)
        self.copy_ok(ch, CARD_BUF, SMPT_BASE + HOST_BUF, BAR0 + CARD_BUF,
                     HOST_BUF, 4096, random.Random(err))

    def test_error_source_outside_card_memory(self):
        self.expect_error([memcpy_desc(CARD_MEM, CARD_BUF, 64)], ERR_ADDR)

    def test_error_range_leaves_card_memory(self):
        self.expect_error([memcpy_desc(CARD_MEM - 64, CARD_BUF, 128)],
                          ERR_ADDR)

    def test_error_register_window_is_not_memory(self):
        self.expect_error([memcpy_desc(CARD_BUF, MMIO_BASE, 64)], ERR_ADDR)

    def test_error_range_leaves_smpt_entry(self):
        end = SMPT_BASE + (1 << 34) - 64
        self.expect_error([memcpy_desc(CARD_BUF, end, 128)], ERR_ADDR)

    def test_error_unmapped_smpt_entry(self):
        self.wr(SMPT(5), 3 << 2)            # bus 48 GiB: nothing there
        self.expect_error([memcpy_desc(SMPT_BASE + (5 << 34), CARD_BUF,
                                       64)], ERR_BUS)

    def test_error_dma_into_own_registers(self):
        # SMPT entry pointing at BAR4: the re-entrancy guard refuses it
        self.wr(SMPT(6), (BAR4 >> 34) << 2)
        self.q.fill(BAR0 + CARD_BUF, 64, 0x5A)
        self.wr(SPAD(0), 0x1234)
        self.expect_error([memcpy_desc(CARD_BUF, SMPT_BASE + (6 << 34) +
                                       BAR4 + (SPAD(0) & ~63), 64)], ERR_BUS)
        self.assertEqual(self.rd(SPAD(0)), 0x1234)
        self.assertIn("not RAM", self.q.stderr())

    def test_error_dma_into_other_device_mmio(self):
        # SMPT entry for bus 0-16 GiB, target the HPET's registers: a real
        # engine moves memory, so this is a bus error, not an MMIO access
        # run from inside the engine (issue 10, F3)
        self.wr(SMPT(7), 0)
        hpet = SMPT_BASE + (7 << 34) + 0xFED00000
        self.expect_error([memcpy_desc(CARD_BUF, hpet, 4096)], ERR_BUS)
        self.expect_error([memcpy_desc(hpet, CARD_BUF, 4096)], ERR_BUS)
        self.assertIn("not RAM", self.q.stderr())

    def test_error_bad_types(self):
        for t in (0, 3, 15):
            self.expect_error([(0, t << 60 | CARD_BUF)], ERR_DESC)

    def test_error_reserved_bits(self):
        d = memcpy_desc(CARD_BUF, CARD_BUF + MiB, 64)
        self.expect_error([(d[0] | 1 << 40, d[1])], ERR_DESC)
        self.expect_error([(d[0], d[1] | 1 << 45)], ERR_DESC)

    def test_error_misaligned(self):
        self.expect_error([memcpy_desc(CARD_BUF + 8, CARD_BUF + MiB, 64)],
                          ERR_ALIGN)
        self.expect_error([memcpy_desc(CARD_BUF, CARD_BUF + MiB + 32, 64)],
                          ERR_ALIGN)
        self.expect_error([status_desc(1, CARD_BUF + 4, False)], ERR_ALIGN)

    def test_error_ring_size_zero(self):
        ch = self.ch
        ch.setup(ch.ring_card, 0)
        ch.set(DHPR, 1)
        self.expect_error(None, ERR_RING)

    def test_error_ring_outside_memory(self):
        ch = Channel(self.rd, self.wr, 1, lambda i, b: None)
        ch.ring_card = CARD_MEM - 16 * 32   # 64 slots do not fit
        ch.setup(ch.ring_card, 64)
        ch.set(DHPR, 1)
        ch.head = 1
        st = ch.wait_idle()
        self.assertTrue(st & HALTED)
        self.assertEqual(ch.reg(DCHERR), ERR_RING)
        ch.ring_card = CARD_RING
        ch.ring_put = lambda i, b: self.q.put(BAR0 + CARD_RING + 16 * i, b)
        ch.setup(CARD_RING, 64)
        self.copy_ok(ch, CARD_BUF, SMPT_BASE + HOST_BUF, BAR0 + CARD_BUF,
                     HOST_BUF, 1024, random.Random(9))

    def test_error_head_beyond_ring_size(self):
        ch = self.ch
        ch.set(DHPR, 64)
        self.expect_error(None, ERR_RING)

    def test_error_same_head(self):
        ch = self.ch
        ch.set(DHPR, ch.head)               # head == tail on an idle channel
        self.expect_error(None, ERR_HEAD)
        self.copy_ok(ch, CARD_BUF, CARD_BUF + MiB, BAR0 + CARD_BUF,
                     BAR0 + CARD_BUF + MiB, 64, random.Random(4))
        ch.set(DHPR, ch.head)               # repeated write
        self.expect_error(None, ERR_HEAD)

    def test_error_interrupt_and_its_mask(self):
        ch = self.ch
        self.msix_setup(0)
        ch.submit([(0, 0)])
        self.assertEqual(wait_for(self.msi_fired, 5, "error MSI-X"), 0xD0A0)
        self.assertEqual(ch.reg(DCHERR), ERR_DESC)
        ch.setup(ch.ring_card, 64)
        ch.set(DCHERRMSK, ERR_DESC)
        ch.submit([(0, 0)])
        self.assertTrue(ch.wait_idle() & HALTED)
        time.sleep(0.05)
        self.assertEqual(self.msi_fired(), 0, "masked by DCHERRMSK")

    # ---- ownership, reset, throughput ----

    def test_card_owned_channel_does_not_run_without_card(self):
        ch = self.channel(4)                # card-owned by default (0x55)
        self.q.fill(HOST_BUF, 64, 0x44)
        ch.submit([status_desc(9, SMPT_BASE + HOST_BUF, False)])
        time.sleep(0.2)
        self.assertEqual(ch.reg(DTPR), 0)
        self.assertEqual(self.q.rd(HOST_BUF, 64), 0x4444444444444444)
        # the host may take it over: owner bit = host, then it runs
        self.wr(DCR, self.rd(DCR) | OWNER_HOST(4))
        ch.setup(ch.ring_card, 64)
        ch.submit([status_desc(9, SMPT_BASE + HOST_BUF, False)])
        self.assertEqual(ch.wait_idle() & HALTED, 0)
        self.assertEqual(self.q.rd(HOST_BUF, 64), 9)

    def test_reset_mid_transfer(self):
        """4000 x 1 MiB (about a second of copying), then a marker STATUS;
        RGCR while it runs: registers at reset values, the marker never
        written, nothing resumes, and the channel works afterwards."""
        ch, n = self.ch, 4000
        ch.setup(ch.ring_card, 4096)        # 64 KiB ring in host RAM
        ring = b"".join(pack(memcpy_desc(16 * MiB, 128 * MiB, MiB))
                        for _ in range(n))
        ring += pack(status_desc(0x600D, SMPT_BASE + HOST_BUF, False))
        self.q.put(HOST_RING, ring)
        self.q.fill(HOST_BUF, 64, 0)
        ch.set(DHPR, n + 1)
        before = ch.reg(DTPR)
        self.wr(RGCR, 1)
        self.assertLess(before, n, "the reset came while the ring ran")
        self.assertEqual(self.rd(DCR), 0x55, "DCR reset value")
        for sub in (DHPR, DTPR, DRAR_LO, DRAR_HI, DSTAT, DCHERR):
            self.assertEqual(ch.reg(sub), 0, "register 0x%x reset" % sub)
        self.assertEqual(self.q.rd(HOST_BUF, 64), 0, "marker not written")
        time.sleep(0.3)
        self.assertEqual(self.q.rd(HOST_BUF, 64), 0, "and nothing resumes")
        self.assertEqual(ch.reg(DTPR), 0)
        self.q.cmd("clock_step 200000000")  # standalone ready delay
        ch.setup(ch.ring_card, 64)
        self.copy_ok(ch, CARD_BUF, SMPT_BASE + HOST_BUF, BAR0 + CARD_BUF,
                     HOST_BUF, MiB, random.Random(5))

    def test_random_descriptors_and_registers(self):
        """Garbage rings and register values: every run ends idle or
        halted, QEMU survives, and a good copy still works."""
        rng, ch = random.Random(77), self.ch
        addrs = [0, CARD_BUF, CARD_MEM - 64, CARD_MEM, SMPT_BASE,
                 SMPT_BASE + HOST_BUF, SMPT_BASE + (31 << 34) - 64,
                 MMIO_BASE, (1 << 40) - 64]

        def addr():
            a = rng.choice(addrs) if rng.random() < 0.7 else \
                rng.getrandbits(40)
            return a & ~63 if rng.random() < 0.8 else a

        halted = 0
        for _ in range(60):
            ch.setup(ch.ring_card, rng.choice([1, 2, 64, 0x1FFFF]))
            descs = []
            for _ in range(rng.randrange(1, 6)):
                kind = rng.random()
                if kind < 0.4:
                    descs.append(memcpy_desc(addr(), addr(),
                                             64 * rng.randrange(0, 300)))
                elif kind < 0.7:
                    descs.append(status_desc(rng.getrandbits(64), addr(),
                                             rng.random() < 0.5))
                else:
                    descs.append((rng.getrandbits(64), rng.getrandbits(64)))
            if ch.size < 2:
                ch.set(DHPR, rng.getrandbits(17))
            else:
                ch.submit(descs[:ch.size - 1])
            wait_for(lambda: ch.reg(DSTAT) & HALTED or
                     ch.reg(DTPR) == ch.reg(DHPR), 10, "idle or halted")
            halted += bool(ch.reg(DSTAT) & HALTED)
            for _ in range(3):
                self.wr(CH(0) + rng.choice([DCAR, DCHERRMSK, DRAR_LO,
                                            DRAR_HI, DHPR]),
                        rng.getrandbits(32))
        self.assertTrue(0 < halted < 60, "both outcomes: %d halted" % halted)
        self.assertTrue(self.q.alive())
        ch.setup(HOST_RING + SMPT_BASE, 64)
        self.copy_ok(ch, CARD_BUF, SMPT_BASE + HOST_BUF, BAR0 + CARD_BUF,
                     HOST_BUF, 4096, rng)

    def test_throughput(self):
        """Not a pass/fail figure: 64 x 1 MiB descriptors per direction,
        wall time from DHPR to DTPR (qtest polling included); the second
        round runs on memory the first one already touched."""
        ch, n = self.ch, 64
        for rnd in (1, 2):
            for direction, (src, dst) in (
                    ("card->card", (16 * MiB, 128 * MiB)),
                    ("card->host", (16 * MiB, SMPT_BASE + 256 * MiB)),
                    ("host->card", (SMPT_BASE + 256 * MiB, 128 * MiB))):
                ch.setup(ch.ring_card, 128)
                t0 = time.monotonic()
                ch.submit([memcpy_desc(src + i * MiB, dst + i * MiB, MiB)
                           for i in range(n)])
                self.assertEqual(ch.wait_idle(60) & HALTED, 0)
                self.assertEqual(ch.reg(DTPR), n)
                dt = time.monotonic() - t0
                print("\nDMA throughput round %d %s: %d MiB in %.3f s = "
                      "%.0f MiB/s" % (rnd, direction, n, dt, n / dt),
                      file=sys.stderr)


class PacedDmaTest(HostDmaBase):
    """The bandwidth model (dma-rate, MB/s per channel), measured in the
    virtual time qtest steps: completions come at the modelled rate."""
    RATE = 1000
    DEVICE_ARGS = ",dma-rate=%d" % RATE
    STEP_NS = 10000

    def clock(self):
        return int(self.q.raw("clock_step 1"))   # 0 is refused

    def run_until_done(self, chans, limit_ns):
        """Step the clock until every channel's DTPR reaches its head;
        return the virtual ns each took from the submission."""
        start, took = self.clock(), {}
        while len(took) < len(chans):
            now = int(self.q.raw("clock_step %d" % self.STEP_NS))
            self.assertLess(now - start, limit_ns, "DMA did not complete")
            for ch in chans:
                if ch.n not in took and ch.reg(DTPR) == ch.head:
                    took[ch.n] = now - start
        return took

    def paced_copy(self, chans, size):
        rng = random.Random(size)
        data = rng.randbytes(size)
        for i, ch in enumerate(chans):
            self.q.put(BAR0 + CARD_BUF + i * size, data)
            self.q.fill(HOST_BUF + i * size, size, 0xEE)
        for i, ch in enumerate(chans):
            ch.submit([memcpy_desc(CARD_BUF + i * size,
                                   SMPT_BASE + HOST_BUF + i * size, size)])
        expected = size * 1000 // self.RATE
        took = self.run_until_done(chans, 3 * expected)
        for i, ch in enumerate(chans):
            self.assertEqual(ch.reg(DCHERR), 0)
            self.assertTrue(self.q.get(HOST_BUF + i * size, size) == data)
        return expected, took

    def test_one_channel_at_the_set_rate(self):
        expected, took = self.paced_copy([self.ch], 4 * MiB)
        rate = 4 * MiB * 1000 / took[0]
        print("\npaced DMA: 4 MiB in %.3f ms of virtual time = %.0f MB/s "
              "(set %d)" % (took[0] / 1e6, rate, self.RATE))
        self.assertLess(abs(rate - self.RATE), self.RATE / 10)

    def test_channels_run_in_parallel(self):
        chans = [self.ch, self.channel(1), self.channel(2)]
        expected, took = self.paced_copy(chans, MiB)
        for n, ns in took.items():
            self.assertLess(abs(ns - expected), expected / 10,
                            "channel %d took %d ns, one alone %d" %
                            (n, ns, expected))


class HostDmaMsiTest(HostDmaBase):
    """The same device without MSI-X: a DMA interrupt is an MSI through
    MXAR0 and stays pending in SICR0 until the driver writes it back."""
    DEVICE_ARGS = ",msix=off"

    def test_status_interrupt_as_msi(self):
        q, ch = self.q, self.channel(1)
        cap = q.find_cap(0x05, slot=HOST_SLOT)
        self.assertIsNotNone(cap, "MSI capability")
        q.cfg_write(cap + 4, HOST_MSI, slot=HOST_SLOT)
        q.cfg_write(cap + 8, 0, slot=HOST_SLOT)
        q.cfg_write(cap + 12, 0xD0A1, slot=HOST_SLOT)
        q.cfg_write(cap, q.cfg_read(cap, slot=HOST_SLOT) | 1 << 16,
                    slot=HOST_SLOT)
        self.wr(SICE0, 0xFF0F)
        self.wr(MXAR(0), 1 << 9)
        q.wr(HOST_MSI, 0)
        ch.submit([status_desc(3, CARD_BUF, True)])
        ch.wait_idle()
        self.assertEqual(wait_for(self.msi_fired, 5, "MSI"), 0xD0A1)
        self.assertEqual(self.rd(SICR0) & 0xFF00, 1 << 9, "pending in SICR0")
        self.wr(SICR0, self.rd(SICR0))
        self.assertEqual(self.rd(SICR0), 0, "acknowledged")


class MigrationTest(unittest.TestCase):
    """A standalone mic-x100 migrates with DMA work pending: nothing runs
    while the VM is stopped, the destination finishes the job."""

    def setUp(self):
        if not os.access(QEMU, os.X_OK):
            self.skipTest("QEMU not built: " + QEMU)
        self._tmp = tempfile.TemporaryDirectory(prefix="mic-dma-mig-")
        self.vms = []

    def tearDown(self):
        for q in self.vms:
            q.close()
        self._tmp.cleanup()

    def start(self, name, *extra):
        tmp = self._tmp.name
        qmp = os.path.join(tmp, name + ".qmp")
        q = QTest(QEMU, [
            "-M", "q35", "-m", "256M", "-qmp", "unix:%s,server=on,wait=off"
            % qmp, "-device", "mic-x100,addr=%d,mem-size=%d" % (
                HOST_SLOT, 64 * MiB)] + list(extra),
            os.path.join(tmp, name + ".err"), machine=None)
        self.vms.append(q)
        return q, Qmp(qmp)

    def test_migrate_with_pending_descriptors(self):
        src, qmp = self.start("src")
        for reg, addr in ((0x10, BAR0), (0x20, BAR4)):
            src.cfg_write(reg, addr & 0xFFFFFFFF, slot=HOST_SLOT)
            src.cfg_write(reg + 4, addr >> 32, slot=HOST_SLOT)
        src.cfg_write(0x04, 0x6, slot=HOST_SLOT)
        ch = Channel(lambda o: src.rd(BAR4 + o),
                     lambda o, v: src.wr(BAR4 + o, v), 0,
                     lambda i, b: src.put(BAR0 + CARD_RING + 16 * i, b))
        ch.setup(CARD_RING, 64)
        data = random.Random(21).randbytes(4 * MiB)
        src.put(BAR0 + CARD_BUF, data)
        qmp.cmd("stop")
        ch.submit([memcpy_desc(CARD_BUF + i * MiB, SMPT_BASE + HOST_BUF +
                               i * MiB, MiB) for i in range(4)] +
                  [status_desc(0x600D, CARD_BUF + 8 * MiB, False)])
        time.sleep(0.2)
        self.assertEqual(ch.reg(DTPR), 0, "no DMA while the VM is stopped")
        image = os.path.join(self._tmp.name, "vm.mig")
        qmp.cmd("migrate", uri="exec:cat > " + image)
        wait_for(lambda: qmp.cmd("query-migrate").get("status") ==
                 "completed", 60, "migration")
        qmp.close()
        dst, qmp2 = self.start("dst", "-incoming", "exec:cat " + image)
        wait_for(lambda: qmp2.cmd("query-status")["status"] in
                 ("paused", "postmigrate", "running"), 60, "incoming")
        wait_for(lambda: qmp2.cmd("query-migrate").get("status") ==
                 "completed", 60, "incoming migration")
        self.assertEqual(dst.rd(BAR4 + CH(0) + DTPR), 0)
        qmp2.cmd("cont")
        ch.rd = lambda o: dst.rd(BAR4 + o)
        st = ch.wait_idle()
        self.assertEqual(st & HALTED, 0)
        self.assertEqual(ch.reg(DTPR), 5)
        self.assertEqual(dst.get(HOST_BUF, 4 * MiB), data)
        self.assertEqual(dst.rd(BAR0 + CARD_BUF + 8 * MiB, 64), 0x600D)
        qmp2.close()


class FailedHotplugTest(unittest.TestCase):
    """A hot-added mic-x100 whose link cannot come up fails realize and
    leaves nothing behind: stop/cont afterwards used to run the DMA
    engine's VM-state handler inside the freed device (issue 10, F1)."""

    def test_failed_link_then_stop_cont(self):
        if not os.access(QEMU, os.X_OK):
            self.skipTest("QEMU not built: " + QEMU)
        with tempfile.TemporaryDirectory(prefix="mic-hotplug-") as tmp:
            qmp_path = os.path.join(tmp, "qmp")
            old = os.environ.get("MALLOC_PERTURB_")
            os.environ["MALLOC_PERTURB_"] = "165"  # freed memory is garbage
            try:
                q = QTest(QEMU, ["-m", "128M", "-qmp",
                                     "unix:%s,server=on,wait=off" % qmp_path],
                              os.path.join(tmp, "qemu.err"))
            finally:
                if old is None:
                    del os.environ["MALLOC_PERTURB_"]
                else:
                    os.environ["MALLOC_PERTURB_"] = old
            try:
                qmp = Qmp(qmp_path)
                qmp.cmd("chardev-add", id="nolink",
                        backend={"type": "null", "data": {}})
                for _ in range(3):
                    with self.assertRaisesRegex(RuntimeError, "device_add"):
                        qmp.cmd("device_add", driver="mic-x100", id="card",
                                chardev="nolink", **{"link-timeout": 100})
                    qmp.cmd("stop")
                    qmp.cmd("cont")
                self.assertEqual(qmp.cmd("query-status")["status"], "running")
                self.assertIsNone(q.p.poll(), "QEMU died")
                qmp.close()
            finally:
                q.close()


# ---------------------------------------------------------------------------
# Card side: mic-card with a fake micfw, card-owned channels
# ---------------------------------------------------------------------------

BELOW, ABOVE = 256 * MiB, 64 * MiB
C_RING = 0x0080_0000             # card memory = card VM RAM
C_BUF = 0x0100_0000
H_BUF = 0x0400_0000              # host bus address in the fake host RAM


class CardDmaTest(unittest.TestCase):
    def setUp(self):
        if not os.access(QEMU, os.X_OK):
            self.skipTest("QEMU not built: " + QEMU)
        self._tmp = tempfile.TemporaryDirectory(prefix="mic-dma-card-")
        tmp = self._tmp.name
        self.rf = RegFile()
        self.ram = HostRam(BELOW, ABOVE)
        self.fw = FakeFw(os.path.join(tmp, "link.sock"), self.rf, self.ram)
        self.q = QTest(QEMU, [
            "-m", "256M", "-d", "guest_errors,unimp",
            "-chardev", "socket,id=l,path=" + os.path.join(tmp, "link.sock"),
            "-device", "mic-card,chardev=l,addr=4.0"],
            os.path.join(tmp, "qemu.err"))
        self.msix = Msix(self.q)
        self.msix.enable()
        self.ch = self.channel(4)

    def tearDown(self):
        rc = self.q.close()
        self.fw.close()
        self.ram.close()
        self.rf.close()
        self._tmp.cleanup()
        self.assertEqual(rc, 0, "QEMU exit status")

    def channel(self, n):
        base = C_RING + n * 0x10000
        ch = Channel(self.q.reg, self.q.set_reg, n,
                     lambda i, b: self.q.put(base + 16 * i, b))
        ch.ring_card = base
        ch.setup(base, 64)
        return ch

    def copy_ok(self, src_card, dst_card, size, rng):
        data = rng.randbytes(size)
        if src_card >= SMPT_BASE:
            self.ram.put(src_card - SMPT_BASE, data)
        else:
            self.q.put(src_card, data)
        if dst_card >= SMPT_BASE:
            self.ram.put(dst_card - SMPT_BASE, b"\xEE" * (size + 64))
        else:
            self.q.fill(dst_card, size + 64, 0xEE)
        self.ch.submit([memcpy_desc(src_card, dst_card, size)])
        self.assertEqual(self.ch.wait_idle() & HALTED, 0)
        self.assertEqual(self.ch.reg(DCHERR), 0)
        if dst_card >= SMPT_BASE:
            got = bytes(self.ram.get(dst_card - SMPT_BASE, size + 64))
        else:
            got = self.q.get(dst_card, size + 64)
        self.assertTrue(got[:size] == data, "bytes differ, size %d" % size)
        self.assertEqual(got[size:], b"\xEE" * 64)

    def test_memcpy_card_to_host_and_back(self):
        rng = random.Random(11)
        for size in SIZES:
            self.copy_ok(C_BUF, SMPT_BASE + H_BUF, size, rng)
            self.copy_ok(SMPT_BASE + H_BUF, C_BUF + 4 * MiB, size, rng)

    def test_ring_in_host_memory_above_4g(self):
        ring_bus = (4 << 30) + 0x10000
        ch = Channel(self.q.reg, self.q.set_reg, 5,
                     lambda i, b: self.ram.put(ring_bus + 16 * i, b))
        ch.ring_card = SMPT_BASE + ring_bus
        ch.setup(ch.ring_card, 64)
        self.ch = ch
        self.copy_ok(C_BUF, SMPT_BASE + (4 << 30) + MiB, 4096,
                     random.Random(12))

    def test_status_interrupt_and_mask(self):
        ch, m = self.ch, self.msix
        ch.submit([status_desc(0xABCD, SMPT_BASE + H_BUF, True)])
        self.assertEqual(wait_for(m.fired, 5, "vector 16"), {16})
        self.assertEqual(int.from_bytes(self.ram.get(H_BUF, 8), "little"),
                         0xABCD)
        ch.set(DCAR, IM0)                   # card-owned: IM0 masks
        ch.submit([status_desc(2, C_BUF, True)])
        ch.wait_idle()
        time.sleep(0.05)
        self.assertEqual(m.fired(), set(), "masked by DCAR IM0")
        ch.set(DCAR, IM1)                   # IM1 is the host's mask
        ch.submit([status_desc(3, C_BUF, True)])
        self.assertEqual(wait_for(m.fired, 5, "vector 16"), {16})
        ch7 = self.channel(7)
        ch7.submit([status_desc(4, C_BUF, True)])
        self.assertEqual(wait_for(m.fired, 5, "vector 19"), {19})

    def test_errors_and_recovery(self):
        ch = self.ch
        cases = [
            ([memcpy_desc(C_BUF, SMPT_BASE + BELOW, 64)], ERR_BUS),
            ([memcpy_desc(256 * MiB, C_BUF, 64)], ERR_ADDR),
            ([(0, 0)], ERR_DESC),
            ([memcpy_desc(C_BUF + 64, C_BUF + 100, 64)], ERR_ALIGN),
        ]
        for descs, err in cases:
            ch.submit(descs)
            self.assertTrue(ch.wait_idle() & HALTED, hex(err))
            self.assertEqual(ch.reg(DCHERR), err)
            self.assertEqual(wait_for(self.msix.fired, 5, "error irq"),
                             {16})
            ch.setup(ch.ring_card, 64)
            self.copy_ok(C_BUF, SMPT_BASE + H_BUF, 1024, random.Random(err))
        ch.set(DHPR, ch.head)
        self.assertTrue(ch.wait_halted() & HALTED)
        self.assertEqual(ch.reg(DCHERR), ERR_HEAD)

    def test_host_owned_channel_is_not_run_here(self):
        ch = Channel(self.q.reg, self.q.set_reg, 1,
                     lambda i, b: self.q.put(C_RING + 16 * i, b))
        ch.setup(C_RING, 64)
        self.fw.host_events()
        ch.submit([status_desc(1, C_BUF, False)])
        self.assertGreaterEqual(self.fw.host_events(), 1,
                                "forwarded to the host (to-host eventfd)")
        time.sleep(0.1)
        self.assertEqual(ch.reg(DTPR), 0, "the card does not run it")


# ---------------------------------------------------------------------------
# Both devices on the real micfw: forwarding
# ---------------------------------------------------------------------------

class ForwardTest(unittest.TestCase):
    def setUp(self):
        if not os.access(QEMU, os.X_OK):
            self.skipTest("QEMU not built: " + QEMU)
        micfw = find_micfw()
        if not micfw:
            self.skipTest("micfw not built (set MICFW)")
        self._tmp = tempfile.TemporaryDirectory(prefix="mic-dma-fwd-")
        tmp = self._tmp.name
        link = os.path.join(tmp, "link.sock")
        self.fw = subprocess.Popen(
            [micfw, "--index", "2", "--link", link, "--control",
             os.path.join(tmp, "ctl.sock"), "--event-log",
             os.path.join(tmp, "ev.log"), "--run-dir",
             os.path.join(tmp, "run"), "--ready-delay", "10",
             "--mem-size", "128M"], start_new_session=True)
        wait_for(lambda: os.path.exists(link), 10, "micfw link")
        self.host = QTest(QEMU, [
            "-M", "q35,memory-backend=hostram", "-m", "512M", "-object",
            "memory-backend-memfd,id=hostram,size=512M,share=on",
            "-chardev", "socket,id=h,path=" + link, "-device",
            "mic-x100,chardev=h,host-mem=hostram,addr=%d" % HOST_SLOT],
            os.path.join(tmp, "host.err"), machine=None)
        h = self.host
        for reg, addr in ((0x10, BAR0), (0x20, BAR4)):
            h.cfg_write(reg, addr & 0xFFFFFFFF, slot=HOST_SLOT)
            h.cfg_write(reg + 4, addr >> 32, slot=HOST_SLOT)
        h.cfg_write(0x04, 0x6, slot=HOST_SLOT)
        wait_for(lambda: h.rd(BAR4 + SPAD(2)) & 1, 10, "card ready")
        # the card VM's RAM is micfw's card memory memfd, as micfw does it
        gddr = None
        for fd in os.listdir("/proc/%d/fd" % self.fw.pid):
            path = "/proc/%d/fd/%s" % (self.fw.pid, fd)
            if "mic2-gddr" in os.readlink(path):
                gddr = path
        self.assertIsNotNone(gddr, "micfw's card memory memfd")
        self.card = QTest(QEMU, [
            "-m", "128M", "-object", "memory-backend-file,id=gddr,"
            "size=128M,share=on,mem-path=" + gddr, "-machine",
            "memory-backend=gddr", "-chardev", "socket,id=l,path=" + link,
            "-device", "mic-card,chardev=l,addr=4.0"],
            os.path.join(tmp, "card.err"))

    def tearDown(self):
        self.card.close()
        self.host.close()
        if self.fw.poll() is None:
            os.killpg(self.fw.pid, signal.SIGTERM)
        self.fw.wait(20)
        self._tmp.cleanup()

    def hrd(self, off):
        return self.host.rd(BAR4 + off)

    def hwr(self, off, val):
        self.host.wr(BAR4 + off, val)

    def test_dhpr_runs_on_the_owner_side(self):
        h, c = self.host, self.card
        # card-owned channel 6, DHPR written by the host: the card runs it
        ring6 = 0x0030_0000
        ch = Channel(self.hrd, self.hwr, 6,
                     lambda i, b: h.put(BAR0 + ring6 + 16 * i, b))
        ch.setup(ring6, 16)
        data = random.Random(7).randbytes(8192)
        h.put(BAR0 + 0x0040_0000, data)
        ch.submit([memcpy_desc(0x0040_0000, SMPT_BASE + 0x0200_0000, 8192)])
        self.assertEqual(ch.wait_idle() & HALTED, 0)
        self.assertEqual(h.get(0x0200_0000, 8192), data,
                         "card QEMU copied into host RAM")
        # host-owned channel 1, DHPR written by the card: the host runs it
        ring1 = 0x0050_0000
        ch = Channel(c.reg, c.set_reg, 1,
                     lambda i, b: c.put(ring1 + 16 * i, b))
        ch.setup(ring1, 16)
        c.put(0x0060_0000, data[::-1])
        ch.submit([memcpy_desc(0x0060_0000, SMPT_BASE + 0x0300_0000, 8192)])
        self.assertEqual(ch.wait_idle() & HALTED, 0)
        self.assertEqual(h.get(0x0300_0000, 8192), data[::-1],
                         "host QEMU copied from card memory")


if __name__ == "__main__":
    unittest.main()         # a case whose QEMU or micfw is missing skips
