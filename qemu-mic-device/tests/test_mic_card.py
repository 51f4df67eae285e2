#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""mic-card under -accel qtest: the card-facing contract of docs/mic-card.rst.

Most tests run no guest OS: they play the card OS through qtest (PCI
config space, readl/writel at the fixed card physical windows) and play
the firmware simulator and host device themselves (FakeFw owns the
register file, the eventfds and a host RAM memfd), so every byte on both
sides is checked.  With micfw built, more tests put the device on the real
micfw: as its card VM, next to the real mic-x100 host device (both under
qtest), and booted by micfw with the project's guest kernel.

    test_mic_card.py [-v] [unittest args]

QEMU: $MICEMU_QEMU or $QEMU, else ~/.cache/micemu/qemu-build/
qemu-system-x86_64; micfw: $MICFW, else the build cache or
../../card-firmware-sim/micfw.  Missing binaries skip, with the reason.
"""
import json
import mmap
import os
import random
import signal
import socket
import struct
import subprocess
import tempfile
import time
import unittest

from micemu.build import find_kernel, find_micfw, find_qemu
from micemu.link import (ERROR, HDR, HELLO, HELLO_S, LINK_MAGIC, ROLE_CARD,
                         WELCOME_S, FakeFw, HostRam, recv_msg)
from micemu.qtest import NUM_VECTORS, Msix, QTest
from micemu.regs import (APICICR_LO, DMA_DHPR, MMIO_BASE, MMIO_SIZE, MXAR,
                         POSTCODE, RDMASR, RF_CARD_RAISED, RF_HOST_RAISED,
                         RGCR, SDBIC, SIAC0, SICE0, SICR0, SMPT, SMPT_BASE,
                         SMPT_PAGE, SPAD, RegFile, sealed_memfd)
from micemu.wait import wait_for
from micemu.initramfs import cpio_newc

QEMU = find_qemu()
GiB = 1 << 30
MiB = 1 << 20
BELOW, ABOVE = 256 * MiB, 64 * MiB      # the fake host VM's RAM layout


class CardTestBase(unittest.TestCase):
    def setUp(self):
        if not os.access(QEMU, os.X_OK):
            self.skipTest("QEMU not built: " + QEMU)
        self._tmp = tempfile.TemporaryDirectory(prefix="mic-card-test-")
        self.tmp = self._tmp.name
        self.link = os.path.join(self.tmp, "link.sock")
        self.cleanups = []

    def tearDown(self):
        for fn in reversed(self.cleanups):
            fn()
        self._tmp.cleanup()

    def start_fw(self, host_ram=True, **kw):
        self.rf = RegFile(**kw.pop("rf_args", {}))
        self.cleanups.append(self.rf.close)
        self.ram = HostRam(BELOW, ABOVE) if host_ram else None
        if self.ram:
            self.cleanups.append(self.ram.close)
        self.fw = FakeFw(self.link, self.rf, self.ram, **kw)
        self.cleanups.append(self.fw.close)
        return self.fw

    def start_card(self, *args, device="mic-card,chardev=l,addr=4.0",
                   chardev=True, mem="256M", pass_fds=()):
        argv = ["-m", mem, "-d", "guest_errors,unimp"]
        if chardev:
            argv += ["-chardev", "socket,id=l,path=" + self.link]
        argv += ["-device", device] + list(args)
        q = QTest(QEMU, argv, os.path.join(self.tmp, "qemu.err"), pass_fds)
        self.cleanups.append(q.close)
        return q

    def fresh_fixture(self):
        """Between subtests: a new fake micfw needs a new socket."""
        self.tearDown()
        self.setUp()

    def start_failing(self, *args, **kw):
        """A card VM that must fail to start: (exit status, stderr)."""
        q = self.start_card(*args, **kw)
        rc = q.wait_exit()
        return rc, q.stderr()


class IdentityTest(CardTestBase):
    def test_pci_identity_and_msix_capability(self):
        self.start_fw()
        q = self.start_card()
        self.assertEqual(q.cfg_read(0x00), 0x225F8086)
        self.assertEqual(q.cfg_read(0x08), 0x08800020)   # class 0880, rev 20
        self.assertEqual((q.cfg_read(0x3C) >> 8) & 0xFF, 0, "no INTx pin")
        cap = q.find_cap(0x11)
        self.assertIsNotNone(cap, "MSI-X capability")
        ctl = q.cfg_read(cap) >> 16
        self.assertEqual(ctl & 0x7FF, NUM_VECTORS - 1)
        self.assertEqual(q.cfg_read(cap + 4), 0, "table: BAR0 offset 0")
        self.assertEqual(q.cfg_read(cap + 8), 0x800, "PBA: BAR0 + 2 KiB")
        q.cfg_write(0x10, 0xFFFFFFFF)
        bar = q.cfg_read(0x10)
        self.assertEqual(bar & 0xF, 0, "32-bit memory BAR")
        self.assertEqual((~(bar & ~0xF) & 0xFFFFFFFF) + 1, 4096)
        for reg in (0x14, 0x18, 0x1C, 0x20, 0x24):
            self.assertEqual(q.cfg_read(reg), 0, "only BAR0")
        self.assertEqual(self.fw.hello[:2], (1, ROLE_CARD))
        self.assertEqual(q.close(), 0)

    def test_help_documents_properties(self):
        out = subprocess.run([QEMU, "-device", "mic-card,help"],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0)
        for prop in ("chardev=", "link-timeout=", "smpt-poll-ms="):
            line = [x for x in out.stdout.splitlines() if prop in x]
            self.assertTrue(line and " - " in line[0], prop + " documented")


class RegisterWindowTest(CardTestBase):
    def setUp(self):
        super().setUp()
        self.start_fw()
        self.rf.write(SPAD(2), 0x04000001)
        self.q = self.start_card()

    def test_shared_registers(self):
        q, rf = self.q, self.rf
        self.assertEqual(q.reg(SPAD(2)), 0x04000001, "SPAD2 from micfw")
        self.assertEqual(q.rd(0x8007DAB28), 0x04000001, "facts §2.5 address")
        q.set_reg(SPAD(3), 0xCAFEF00D)
        self.assertEqual(rf.read(SPAD(3)), 0xCAFEF00D, "card -> host view")
        rf.write(SPAD(14), 0x12345000)
        rf.write(SPAD(15), 0x80)
        self.assertEqual(q.reg(SPAD(14)), 0x12345000, "host -> card view")
        self.assertEqual(q.reg(SPAD(15)), 0x80)
        q.set_reg(POSTCODE, 0x4B4F)
        self.assertEqual(rf.read(POSTCODE), 0x4B4F, "card may post codes")
        self.assertEqual(q.reg(0x10), 0, "undefined offset reads 0")
        self.assertEqual(q.reg(MMIO_SIZE - 4), 0)

    def test_card_to_host_doorbell(self):
        q, rf, fw = self.q, self.rf, self.fw
        self.assertEqual(fw.host_events(), 0)
        q.wr(0x8007DCC90, 0x80000000)           # SDBIC0, DBREQ
        self.assertEqual(rf.read(SICR0) & 0xF, 1)
        self.assertEqual(rf.read(RF_HOST_RAISED) & 0xF, 1)
        self.assertGreaterEqual(fw.host_events(), 1, "to-host eventfd")
        q.set_reg(SDBIC(3), 0x80000000)
        self.assertEqual(rf.read(SICR0) & 0xF, 0x9)
        self.assertGreaterEqual(fw.host_events(), 1)
        q.set_reg(SDBIC(2), 0x1)                # no DBREQ: nothing
        q.set_reg(SDBIC(6), 0x80000000)         # no SICR0 source: dropped
        self.assertEqual(rf.read(SICR0) & 0xF, 0x9)
        self.assertEqual(fw.host_events(), 0)
        self.assertEqual(q.reg(SDBIC(0)), 0, "SDBIC reads 0")

    def test_card_side_oddities_do_not_hurt(self):
        q, rf = self.q, self.rf
        q.set_reg(RGCR, 1)                      # only the host resets
        self.assertEqual(q.reg(RGCR), 0)
        q.set_reg(DMA_DHPR(5), 3)               # no DMA engine: logged
        q.set_reg(0x1F000, 0xFFFFFFFF)
        # what a bad access reads is what the host's BAR4 gives: all ones
        rf.write(SPAD(3), 0x11)
        self.assertEqual(q.rd(MMIO_BASE + SPAD(3), 8), 0xFF)
        self.assertEqual(q.rd(MMIO_BASE + SPAD(3) + 2, 16), 0xFFFF)
        self.assertEqual(q.rd(MMIO_BASE + SPAD(3) + 2), 0xFFFFFFFF)
        self.assertEqual(q.reg(0x1F000), 0, "undefined register reads 0")
        q.cmd("writeb 0x%x 0xff" % (MMIO_BASE + SPAD(3)))
        q.cmd("writew 0x%x 0xffff" % (MMIO_BASE + SPAD(3) + 2))
        q.cmd("writel 0x%x 0x0" % (MMIO_BASE + SPAD(3) + 1))
        rf.write(SPAD(3), 0x11)
        self.assertEqual(q.reg(SPAD(3)), 0x11, "bad sizes never land")
        self.assertTrue(q.alive())


class SmptWindowTest(CardTestBase):
    def setUp(self):
        super().setUp()
        self.start_fw()
        self.ram.put(0x1000, b"low-host-page")
        self.ram.put(BELOW - 4, b"\x11\x22\x33\x44")
        self.ram.put((4 << 30) + 0x2000, b"above-4g-page!!!")
        self.q = self.start_card()

    def word(self, data):
        return int.from_bytes(data[:4], "little")

    def test_identity_entry_reads_and_writes_host_ram(self):
        q, ram = self.q, self.ram
        self.assertEqual(q.rd(SMPT_BASE + 0x1000), self.word(b"low-"))
        self.assertEqual(q.rd(SMPT_BASE + 0x1000, 64),
                         int.from_bytes(b"low-host", "little"))
        self.assertEqual(q.rd(SMPT_BASE + (4 << 30) + 0x2000),
                         self.word(b"abov"), "above-4G RAM at bus 4 GiB")
        q.wr(SMPT_BASE + 0x3000, 0x5AA5F00D)
        self.assertEqual(ram.get(0x3000, 4), (0x5AA5F00D).to_bytes(4,
                                                                   "little"))
        q.wr(SMPT_BASE + (4 << 30) + ABOVE - 8, 0x0102030405060708, 64)
        self.assertEqual(ram.get((4 << 30) + ABOVE - 8, 8),
                         bytes(range(8, 0, -1)))

    def test_unbacked_reads_ones_and_ignores_writes(self):
        q = self.q
        for addr in (SMPT_BASE + BELOW, SMPT_BASE + (3 << 30),
                     SMPT_BASE + (4 << 30) + ABOVE, SMPT_BASE + 0x3_FFFF_FFFC):
            self.assertEqual(q.rd(addr), 0xFFFFFFFF, hex(addr))
            q.wr(addr, 0)
            self.assertEqual(q.rd(addr), 0xFFFFFFFF, hex(addr))
        self.assertEqual(q.rd(SMPT_BASE + BELOW, 64), (1 << 64) - 1)
        self.assertEqual(q.rd(SMPT_BASE + BELOW, 8), 0xFF)
        # a read straddling the end of the below-4G RAM: half RAM, half ones
        self.assertEqual(q.rd(SMPT_BASE + BELOW - 2), 0xFFFF4433)
        self.assertIn("no host RAM there", q.stderr())

    def test_entries_remap_when_the_host_rewrites_smpt(self):
        q, rf = self.q, self.rf
        e5 = SMPT_BASE + 5 * SMPT_PAGE
        self.assertEqual(q.rd(e5 + 0x1000), self.word(b"low-"),
                         "every entry starts at 0 = host bus 0")
        rf.write(SMPT(5), 1 << 2)               # host bus 16 GiB: nothing
        self.assertEqual(q.reg(SPAD(0)), 0)     # a register access syncs
        self.assertEqual(q.rd(e5 + 0x1000), 0xFFFFFFFF)
        rf.write(SMPT(5), 0x1)                  # no-snoop bit, bus 0
        q.reg(SPAD(0))
        self.assertEqual(q.rd(e5 + 0x1000), self.word(b"low-"))
        rf.write(SMPT(31), 0xFFFFFFFC)          # the highest bus address
        q.reg(SPAD(0))
        self.assertEqual(q.rd(SMPT_BASE + 31 * SMPT_PAGE), 0xFFFFFFFF)
        self.assertEqual(q.rd(SMPT_BASE + 32 * SMPT_PAGE - 4), 0xFFFFFFFF)

    def test_remap_by_doorbell_and_by_poll(self):
        q, rf, fw = self.q, self.rf, self.fw
        e7 = SMPT_BASE + 7 * SMPT_PAGE + 0x1000
        rf.write(SMPT(7), 1 << 2)
        os.eventfd_write(fw.to_card, 1)         # what a host doorbell does
        wait_for(lambda: q.rd(e7) == 0xFFFFFFFF, what="remap on eventfd")
        rf.write(SMPT(7), 0)
        q.cmd("clock_step 250000000")           # the poll timer, no access
        self.assertEqual(q.rd(e7), self.word(b"low-"))


class MsixTest(CardTestBase):
    def setUp(self):
        super().setUp()
        self.start_fw()
        self.q = self.start_card()
        self.m = Msix(self.q)

    def test_every_source_reaches_its_vector(self):
        m, fw = self.m, self.fw
        m.enable()
        for v in range(NUM_VECTORS):
            fw.ring_card(1 << v)
            got = wait_for(m.fired, what="vector %d" % v)
            self.assertEqual(got, {v})
        fw.ring_card(0xFFFFF)
        got = set()
        wait_for(lambda: got.update(m.fired()) or len(got) == NUM_VECTORS,
                 what="all 20 vectors")
        self.assertEqual(self.rf.read(RF_CARD_RAISED), 0, "sources taken")

    def test_card_rings_itself(self):
        q, m = self.q, self.m
        m.enable()
        q.set_reg(APICICR_LO(2), 0x2000 | 0x41)
        self.assertEqual(m.fired(), {2})
        self.assertEqual(q.reg(APICICR_LO(2)), 0x41, "send bit self-clears")
        q.set_reg(RDMASR(5), 0)
        self.assertEqual(m.fired(), {8 + 5})
        q.set_reg(APICICR_LO(7), 0x20E5)        # vector 229 from the card
        self.assertEqual(m.fired(), {7}, "no boot kick on the card side")

    def test_sources_wait_for_msix_enable(self):
        q, m, fw = self.q, self.m, self.fw
        fw.ring_card(1 << 4)
        q.set_reg(RDMASR(0), 0)
        time.sleep(0.2)
        self.assertEqual(m.fired(), set(), "MSI-X still disabled")
        m.enable()
        self.assertEqual(m.fired(), {4, 8})

    def test_masked_vector_waits_in_pba(self):
        q, m = self.q, self.m
        m.enable()
        m.mask(3, True)
        q.set_reg(APICICR_LO(3), 0x2000)
        self.assertEqual(m.fired(), set())
        self.assertEqual(m.pba() & (1 << 3), 1 << 3)
        m.mask(3, False)
        self.assertEqual(m.fired(), {3})
        self.assertEqual(m.pba(), 0)


class MsiIntoOwnWindowTest(CardTestBase):
    """MSI-X messages aimed at the device's own windows (the DMA-into-
    own-MMIO class): no recursion, no crash."""

    def test_msix_message_rings_the_card_again(self):
        self.start_fw()
        q = self.start_card()
        m = Msix(q)
        for v in (2, 9):
            e = 0xE000_0000 + 16 * v
            q.wr(e, (MMIO_BASE + APICICR_LO(2)) & 0xFFFFFFFF)
            q.wr(e + 4, MMIO_BASE >> 32)
            q.wr(e + 8, 0x2000)
        e = 0xE000_0000 + 16 * 3                # into the SMPT window
        q.wr(e, 0x100)
        q.wr(e + 4, SMPT_BASE >> 32)
        m.enable()
        q.set_reg(APICICR_LO(2), 0x2000)
        q.set_reg(RDMASR(1), 0)
        self.fw.ring_card(0xFFFFF)
        time.sleep(0.3)
        q.set_reg(APICICR_LO(3), 0x2000)
        self.assertEqual(self.ram.get(0x100, 4), (0xC0DE0003).to_bytes(
            4, "little"), "MSI-X message through SMPT into host RAM")
        self.assertTrue(q.alive())
        self.assertEqual(q.close(), 0)


class LinkTest(CardTestBase):
    """The handshake, what a broken peer does to it, and hang-up."""

    def expect_fail(self, text, fw_kw=None, **card_kw):
        kw = dict(fw_kw or {})
        self.start_fw(**kw)
        card_kw.setdefault("device", "mic-card,chardev=l,link-timeout=500")
        rc, err = self.start_failing(**card_kw)
        self.assertEqual(rc, 1, err)
        self.assertIn(text, err)

    def test_silent_peer_times_out(self):
        self.expect_fail("timed out waiting for WELCOME", {"mode": "silent"})

    def test_error_reply(self):
        self.expect_fail("card refused by test", {"mode": "error"})

    def test_garbage_reply(self):
        self.expect_fail("bad message header", {"mode": "garbage"})

    def test_wrong_version(self):
        self.expect_fail("link version 7", {
            "mode": lambda fw, s: fw.send_welcome(s, version=7)})

    def test_too_few_fds(self):
        self.expect_fail("carried 3 file descriptors", {
            "mode": lambda fw, s: fw.send_welcome(
                s, fds=fw.welcome_fds()[:3])})

    def test_small_regfile(self):
        self.expect_fail("register file from the firmware simulator is "
                         "smaller", {"rf_args": {"size": 4096}})

    def test_regfile_without_header(self):
        self.expect_fail("no valid header", {"rf_args": {"magic": 0}})

    def test_host_ram_without_fd(self):
        self.expect_fail("carried no fd for it", {
            "mode": lambda fw, s: fw.send_welcome(
                s, fds=fw.welcome_fds()[:4])})

    def test_host_ram_layout_larger_than_fd(self):
        self.expect_fail("host RAM from the firmware simulator is smaller", {
            "mode": lambda fw, s: fw.send_welcome(s, above=ABOVE * 2)})

    def test_doorbell_that_is_not_an_eventfd(self):
        # the doorbell drain loops read until EAGAIN: /dev/zero never
        # says so and a memfd or pipe is not a doorbell (issue 10, F2)
        for make in (lambda: os.open("/dev/zero", os.O_RDONLY),
                     lambda: os.pipe()[0],
                     lambda: sealed_memfd("big", 1 << 30)):
            fd = make()
            with self.subTest(fd=os.readlink("/proc/self/fd/%d" % fd)):
                try:
                    self.expect_fail("to-card doorbell from the firmware "
                                     "simulator is not an eventfd", {
                                         "mode": lambda fw, s: fw.send_welcome(
                                             s, fds=fw.welcome_fds()[:3] +
                                             [fd] + fw.welcome_fds()[4:])})
                finally:
                    self.fresh_fixture()
                    os.close(fd)

    def test_unsealed_shared_memory(self):
        # a peer that could shrink the memfd would SIGBUS us (issue 10, F4)
        def unsealed(slot):
            def send(fw, s):
                fds = fw.welcome_fds()
                fds[slot] = sealed_memfd("unsealed", os.fstat(
                    fds[slot]).st_size, seal=False)
                fw.send_welcome(s, fds=fds)
            return send
        for slot, what in ((0, "card memory"), (1, "register file"),
                           (4, "host RAM")):
            with self.subTest(what=what):
                try:
                    self.expect_fail(what + " from the firmware simulator "
                                     "is not a memfd sealed",
                                     {"mode": unsealed(slot)})
                finally:
                    self.fresh_fixture()

    def test_host_device_checks_the_same_fds(self):
        # mic-x100 takes card memory, register file and doorbells from
        # WELCOME as well: the same kinds are required of them
        bad = {
            "mode": lambda fw, s: fw.send_welcome(
                s, fds=fw.welcome_fds()[:2] +
                [os.open("/dev/zero", os.O_RDONLY)] + fw.welcome_fds()[3:4])}
        try:
            self.expect_fail("to-host doorbell from the firmware simulator "
                             "is not an eventfd", bad,
                             device="mic-x100,chardev=l,link-timeout=500")
        finally:
            self.fresh_fixture()

        def unsealed(fw, s):
            fds = fw.welcome_fds()[:4]
            fds[0] = sealed_memfd("unsealed", fw.card_mem_size, seal=False)
            fw.send_welcome(s, fds=fds)
        self.expect_fail("card memory from the firmware simulator is not a "
                         "memfd sealed", {"mode": unsealed},
                         device="mic-x100,chardev=l,link-timeout=500")

    def test_impossible_host_layout(self):
        self.expect_fail("impossible", {
            "mode": lambda fw, s: fw.send_welcome(s, below=5 << 30)})

    def test_unaligned_host_layout(self):
        self.expect_fail("impossible", {
            "mode": lambda fw, s: fw.send_welcome(s, below=BELOW - 100)})

    def test_not_a_socket(self):
        self.start_fw()
        rc, err = self.start_failing(
            "-chardev", "null,id=n", device="mic-card,chardev=n")
        self.assertEqual(rc, 1)
        self.assertIn("must be a connected unix socket", err)

    def test_tolerant_of_extra_fds_and_longer_payload(self):
        self.start_fw(extra_fds=3, payload_tail=b"\0" * 64)
        q = self.start_card()
        self.assertEqual(q.rd(SMPT_BASE + BELOW), 0xFFFFFFFF)
        self.assertEqual(q.close(), 0)

    def test_host_without_memory(self):
        self.start_fw(host_ram=False)
        q = self.start_card()
        self.assertEqual(q.rd(SMPT_BASE), 0xFFFFFFFF)
        self.assertEqual(q.rd(SMPT_BASE + (4 << 30)), 0xFFFFFFFF)
        self.assertEqual(q.close(), 0)

    def test_hang_up_keeps_the_card_running(self):
        fw = self.start_fw()
        q = self.start_card()
        self.rf.write(SPAD(9), 0x99)
        fw.hang_up()
        wait_for(lambda: "link to the firmware simulator lost" in q.stderr(),
                 what="hang-up warning")
        self.assertEqual(q.reg(SPAD(9)), 0x99)
        q.set_reg(SDBIC(1), 0x80000000)
        self.assertEqual(self.rf.read(SICR0) & 2, 2)
        self.assertEqual(q.close(), 0)

    def test_late_messages_are_ignored(self):
        def welcome_then_junk(fw, s):
            fw.send_welcome(s)
            s.sendall(HDR.pack(LINK_MAGIC, 99, 4) + b"abcd")
            s.sendall(HDR.pack(LINK_MAGIC, ERROR, 0))
            s.sendall(HDR.pack(LINK_MAGIC, 2, 4000) + b"\0" * 4000)
            s.sendall(HDR.pack(0, 2, 0))
        self.start_fw(mode=welcome_then_junk)
        q = self.start_card()
        time.sleep(0.3)
        self.assertEqual(q.reg(SPAD(0)), 0)
        self.assertEqual(q.close(), 0)


class StandaloneTest(CardTestBase):
    def test_without_chardev(self):
        q = self.start_card(device="mic-card,addr=4.0", chardev=False)
        q.set_reg(SPAD(4), 0xABCD)
        self.assertEqual(q.reg(SPAD(4)), 0xABCD)
        self.assertEqual(q.reg(0x1A280), 0x55, "DCR reset value")
        self.assertEqual(q.rd(SMPT_BASE), 0xFFFFFFFF)
        m = Msix(q)
        m.enable()
        q.set_reg(APICICR_LO(6), 0x2000)
        self.assertEqual(m.fired(), {6})
        self.assertEqual(q.close(), 0)

    def test_one_card_per_vm(self):
        rc, err = self.start_failing("-device", "mic-card", device="mic-card",
                                     chardev=False)
        self.assertEqual(rc, 1)
        self.assertIn("only one mic-card per machine", err)

    def test_phys_bits_warning(self):
        q = self.start_card("-cpu", "qemu64,phys-bits=36", device="mic-card",
                            chardev=False)
        q.reg(SPAD(0))
        self.assertIn("physical address bits", q.stderr())
        self.assertEqual(q.close(), 0)


class FuzzTest(CardTestBase):
    def test_random_guest_accesses(self):
        self.start_fw()
        q = self.start_card()
        m = Msix(q)
        m.enable()
        rng = random.Random(4242)
        widths = (8, 16, 32, 64)
        for _ in range(1500):
            off = rng.randrange(0, MMIO_SIZE) & ~3
            q.wr(MMIO_BASE + off, rng.getrandbits(32))
            q.rd(MMIO_BASE + (rng.randrange(0, MMIO_SIZE) & ~3))
            w = rng.choice(widths)
            addr = SMPT_BASE + rng.randrange(0, 32 * SMPT_PAGE - 8)
            if rng.random() < 0.5:
                q.rd(addr, w)
            else:
                q.wr(addr, rng.getrandbits(w), w)
            if rng.random() < 0.05:
                self.rf.write(SMPT(rng.randrange(32)), rng.getrandbits(32))
                self.fw.ring_card(rng.getrandbits(20))
        # unaligned and odd-sized accesses on the register window
        for delta in (1, 2, 3):
            q.rd(MMIO_BASE + SPAD(0) + delta)
            q.wr(MMIO_BASE + SPAD(0) + delta, 0xFFFFFFFF)
        q.rd(MMIO_BASE + MMIO_SIZE - 2)
        q.wr(MMIO_BASE - 2, 0xFFFFFFFF)
        self.assertTrue(q.alive())
        self.assertEqual(q.close(), 0)


class RealMicfwTest(CardTestBase):
    """The device against the real firmware simulator, as micfw's card VM:
    RAM = the card memory memfd, host RAM from a host-role peer."""

    def setUp(self):
        super().setUp()
        self.micfw = find_micfw()
        if not self.micfw:
            self.skipTest("micfw not built (set MICFW)")
        self.ctl_path = os.path.join(self.tmp, "ctl.sock")
        self.fw = subprocess.Popen(
            [self.micfw, "--index", "0", "--link", self.link, "--control",
             self.ctl_path, "--event-log", os.path.join(self.tmp, "ev.log"),
             "--run-dir", os.path.join(self.tmp, "run"), "--ready-delay", "10",
             "--mem-size", "128M"], start_new_session=True)
        self.cleanups.append(self.stop_micfw)
        wait_for(lambda: os.path.exists(self.link), what="micfw link socket")

    def stop_micfw(self):
        if self.fw.poll() is None:
            os.killpg(self.fw.pid, signal.SIGTERM)
        try:
            self.fw.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.fw.pid, signal.SIGKILL)
            self.fw.wait()

    def host_hello(self, ram):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect(self.link)
        payload = HELLO_S.pack(1, 1, ram.below, ram.above)
        socket.send_fds(s, [HDR.pack(LINK_MAGIC, HELLO, len(payload)) +
                            payload], [ram.fd])
        mtype, payload, fds = recv_msg(s)
        self.assertEqual(mtype, 2)
        self.cleanups.append(lambda: [os.close(f) for f in fds] and None)
        self.cleanups.append(s.close)
        return WELCOME_S.unpack(payload[:WELCOME_S.size]), fds

    def test_card_vm_on_micfw(self):
        ram = HostRam(BELOW, ABOVE)
        self.cleanups.append(ram.close)
        ram.put(0x4000, b"host-side-bytes!")
        welcome, fds = self.host_hello(ram)
        card_fd, rf = fds[0], RegFile.__new__(RegFile)
        rf.map = mmap.mmap(fds[1], welcome[3], mmap.MAP_SHARED)
        self.cleanups.append(rf.map.close)
        mem = mmap.mmap(card_fd, welcome[2], mmap.MAP_SHARED)
        self.cleanups.append(mem.close)
        wait_for(lambda: rf.read(SPAD(2)) & 1, what="micfw SPAD2 ready")
        q = self.start_card(
            "-object", "memory-backend-file,id=gddr,size=128M,share=on,"
            "mem-path=/dev/fd/%d" % card_fd, "-machine",
            "memory-backend=gddr", mem="128M", pass_fds=(card_fd,))
        self.assertEqual(q.reg(SPAD(2)), 0x04000001, "micfw's ready value")
        self.assertEqual(q.rd(SMPT_BASE + 0x4000),
                         int.from_bytes(b"host", "little"))
        q.wr(SMPT_BASE + 0x5000, 0x600DCAFE)
        self.assertEqual(ram.get(0x5000, 4), (0x600DCAFE).to_bytes(4,
                                                                   "little"))
        q.wr(0x100000, 0x11223344)              # card RAM = card memory
        self.assertEqual(mem[0x100000:0x100004], bytes([0x44, 0x33, 0x22,
                                                        0x11]))
        q.set_reg(SDBIC(0), 0x80000000)
        self.assertEqual(rf.read(SICR0) & 1, 1)
        self.assertNotIn("not mic0's card memory", q.stderr())
        self.stop_micfw()
        time.sleep(0.3)
        self.assertEqual(q.reg(SPAD(2)) & ~1, 0x04000000, "card survives")
        self.assertEqual(q.close(), 0)


class HostAndCardTest(CardTestBase):
    """Both device models on one micfw, no guest OS on either side: the
    host VM (q35, RAM a shared memfd, mic-x100) and the card VM (mic-card)
    under qtest.  The host's SMPT writes, doorbells and RAM reach the card
    and the card's doorbells reach the host's MSI-X."""

    HOST_SLOT = 4
    BAR0, BAR2, BAR4 = 0x1_0000_0000, 0xC010_0000, 0xC000_0000

    def setUp(self):
        super().setUp()
        micfw = find_micfw()
        if not micfw:
            self.skipTest("micfw not built (set MICFW)")
        ctl = os.path.join(self.tmp, "ctl.sock")
        self.fw = subprocess.Popen(
            [micfw, "--index", "1", "--link", self.link, "--control", ctl,
             "--event-log", os.path.join(self.tmp, "ev.log"), "--run-dir",
             os.path.join(self.tmp, "run"), "--ready-delay", "10",
             "--mem-size", "128M"], start_new_session=True)
        self.cleanups.append(self.stop_micfw)
        wait_for(lambda: os.path.exists(self.link), what="micfw link")
        host = QTest(QEMU, [
            "-M", "q35,memory-backend=hostram", "-m", "512M", "-object",
            "memory-backend-memfd,id=hostram,size=512M,share=on",
            "-chardev", "socket,id=h,path=" + self.link, "-device",
            "mic-x100,chardev=h,host-mem=hostram,addr=%d" % self.HOST_SLOT],
            os.path.join(self.tmp, "host.err"), machine=None)
        self.cleanups.append(host.close)
        self.host = host
        for reg, addr in ((0x10, self.BAR0), (0x20, self.BAR4)):
            host.cfg_write(reg, addr & 0xFFFFFFFF)
            host.cfg_write(reg + 4, addr >> 32)
        host.cfg_write(0x18, self.BAR2)
        host.cfg_write(0x04, 0x6)
        wait_for(lambda: self.hreg(SPAD(2)) & 1, what="card ready")
        self.card = self.start_card()
        self.msix = Msix(self.card)

    def stop_micfw(self):
        if self.fw.poll() is None:
            os.killpg(self.fw.pid, signal.SIGTERM)
        self.fw.wait(20)

    def hreg(self, off):
        return self.host.rd(self.BAR4 + off)

    def set_hreg(self, off, val):
        self.host.wr(self.BAR4 + off, val)

    def test_host_memory_through_smpt(self):
        host, card = self.host, self.card
        host.wr(0x1000_0000, 0x600DF00D)
        self.assertEqual(card.rd(SMPT_BASE + 0x1000_0000), 0x600DF00D)
        card.wr(SMPT_BASE + 0x1000_0004, 0xCA4D0001)
        self.assertEqual(host.rd(0x1000_0004), 0xCA4D0001)
        self.assertEqual(card.rd(SMPT_BASE + 512 * MiB), 0xFFFFFFFF)
        self.set_hreg(SMPT(3), 1 << 2)          # bus 16 GiB: no RAM
        e3 = SMPT_BASE + 3 * SMPT_PAGE + 0x1000_0000
        self.assertEqual(card.reg(SMPT(3)), 1 << 2)
        self.assertEqual(card.rd(e3), 0xFFFFFFFF)
        self.set_hreg(SMPT(3), 0)
        card.reg(SPAD(0))
        self.assertEqual(card.rd(e3), 0x600DF00D)

    def test_doorbells_both_ways(self):
        host, card, m = self.host, self.card, self.msix
        m.enable()
        self.set_hreg(APICICR_LO(5), 0x2041)
        self.assertEqual(wait_for(m.fired, what="APICICR5 vector"), {5})
        self.set_hreg(RDMASR(2), 0)
        self.assertEqual(wait_for(m.fired, what="RDMASR2 vector"), {10})
        # host MSI-X vector 0 <- SICR0 doorbell 0, message into host RAM
        cap = host.find_cap(0x11, slot=self.HOST_SLOT)
        host.wr(self.BAR2, 0x0F00_0000)
        host.wr(self.BAR2 + 4, 0)
        host.wr(self.BAR2 + 8, 0xBEEF)
        host.wr(self.BAR2 + 12, 0)
        host.cfg_write(cap, (host.cfg_read(cap) | 1 << 31) & ~(1 << 30))
        self.set_hreg(SICE0, 0xF)
        self.set_hreg(MXAR(0), 0x1)
        self.set_hreg(SIAC0, 0x1)
        card.set_reg(SDBIC(0), 0x80000000)
        wait_for(lambda: host.rd(0x0F00_0000) == 0xBEEF,
                 what="host MSI-X from SDBIC0")
        self.assertEqual(card.rd(SMPT_BASE + 0x0F00_0000), 0xBEEF,
                         "the card sees the host's MSI write")
        self.assertEqual(self.hreg(SICR0) & 1, 0, "auto-cleared")


# ---- PEER (link type 6): other cards' BARs on the host bus ----
PEER = 6
PEER_S = struct.Struct("<IIQQQQ")
PEER_PRESENT = 1
PEER_APER, PEER_MMIO = 8 << 30, 0xE000_0000     # host bus, no RAM there


class FakePeer:
    """Another card as the host device describes it: its memory, register
    file and doorbells (sealed memfds and eventfds, as micfw makes them)."""

    def __init__(self, index=5, aper=PEER_APER, mmio=PEER_MMIO,
                 size=64 * MiB):
        self.index, self.aper, self.mmio, self.size = index, aper, mmio, size
        self.mem = sealed_memfd("peer-mem", size)
        self.map = mmap.mmap(self.mem, size, mmap.MAP_SHARED)
        self.rf = RegFile()
        self.to_card = os.eventfd(0, os.EFD_NONBLOCK)
        self.to_host = os.eventfd(0, os.EFD_NONBLOCK)

    def fds(self):
        return [self.mem, self.rf.fd, self.to_card, self.to_host]

    def payload(self, **kw):
        v = dict(index=self.index, flags=PEER_PRESENT, aper=self.aper,
                 size=self.size, mmio=self.mmio, mmio_size=MMIO_SIZE)
        v.update(kw)
        return PEER_S.pack(v["index"], v["flags"], v["aper"], v["size"],
                           v["mmio"], v["mmio_size"])

    def events(self, fd):
        try:
            return os.eventfd_read(fd)
        except BlockingIOError:
            return 0

    def close(self):
        self.map.close()
        self.rf.close()
        for fd in (self.mem, self.to_card, self.to_host):
            os.close(fd)


class PeerTest(CardTestBase):
    """PEER from micfw: another card's aperture and registers appear on
    the host bus behind the SMPT window (docs/mic-card.rst)."""

    def setUp(self):
        super().setUp()
        self.fw = self.start_fw()
        self.q = self.start_card()
        self.assertTrue(self.fw.answered.wait(10), "no HELLO from the card")
        self.p = FakePeer()
        self.cleanups.append(self.p.close)

    def send(self, payload, fds=()):
        socket.send_fds(self.fw.conn, [HDR.pack(LINK_MAGIC, PEER,
                                                len(payload)) + payload],
                        list(fds))

    def refusals(self):
        return self.q.stderr().count("PEER")

    def test_memory_and_registers_of_a_peer(self):
        q, p = self.q, self.p
        p.map[0x1000:0x1010] = b"peer-card-memory"
        p.rf.write(SPAD(5), 0x5EED)
        aper, regs = SMPT_BASE + PEER_APER, SMPT_BASE + PEER_MMIO
        self.assertEqual(q.rd(aper + 0x1000), 0xFFFFFFFF, "nothing yet")
        self.send(p.payload(), p.fds())
        wait_for(lambda: q.rd(aper + 0x1000) ==
                 int.from_bytes(b"peer", "little"), what="peer memory")
        q.wr(aper + p.size - 8, 0x1122334455667788, 64)
        self.assertEqual(p.map[p.size - 8:p.size],
                         bytes.fromhex("8877665544332211"))
        self.assertEqual(q.rd(regs + SPAD(5)), 0x5EED, "peer's SPAD5")
        # a doorbell into the peer: APICICR3 with the send bit, as the
        # host's BAR4 would take it (cause bit + "to card" eventfd)
        q.wr(regs + APICICR_LO(3), 0x2000 | 0x42)
        self.assertEqual(p.rf.read(RF_CARD_RAISED) & (1 << 3), 1 << 3)
        self.assertGreaterEqual(p.events(p.to_card), 1)
        q.wr(regs + RDMASR(1), 0)
        self.assertEqual(p.rf.read(RF_CARD_RAISED) & (1 << 9), 1 << 9)
        # SICE0 is host-side state of the peer: its host device re-delivers
        q.wr(regs + SICE0, 0xF)
        self.assertEqual(p.rf.read(SICE0), 0xF)
        self.assertGreaterEqual(p.events(p.to_host), 1)
        # 32-bit registers, as the host's BAR4: a 64-bit write is split,
        # a byte read answers all ones
        q.wr(regs + SPAD(6), 0x0102030405060708, 64)
        self.assertEqual((p.rf.read(SPAD(6)), p.rf.read(SPAD(7))),
                         (0x05060708, 0x01020304))
        self.assertEqual(q.rd(regs + SPAD(6), 8), 0xFF)
        self.assertEqual(p.rf.read(SPAD(6)), 0x05060708)
        # a peer may write RGCR or the boot vector, but only the host's
        # own writes reset or boot a card: logged, the card keeps running
        q.wr(regs + RGCR, 1)
        q.wr(regs + APICICR_LO(7), 0x2000 | 229)
        wait_for(lambda: q.stderr().count("written from a peer card") >= 2,
                 what="peer RGCR/boot kick logged")
        self.assertEqual(p.events(p.to_host), 0, "nothing for its host device")
        # our own registers are untouched by all that
        self.assertEqual(self.rf.read(SICE0), 0)
        self.assertEqual(self.rf.read(RF_CARD_RAISED), 0)
        # moved: the old place is empty, the new one has the same memory
        self.send(p.payload(aper=12 << 30), p.fds())
        wait_for(lambda: q.rd(aper + 0x1000) == 0xFFFFFFFF, what="move")
        self.assertEqual(q.rd(SMPT_BASE + (12 << 30) + 0x1000),
                         int.from_bytes(b"peer", "little"))
        # withdrawn: nothing there any more, no fds needed
        self.send(p.payload(flags=0, aper=0, size=0, mmio=0, mmio_size=0))
        wait_for(lambda: q.rd(SMPT_BASE + (12 << 30) + 0x1000) ==
                 0xFFFFFFFF, what="withdrawal")
        self.assertEqual(q.rd(regs + SPAD(5)), 0xFFFFFFFF)
        self.assertNotIn("refused", q.stderr())
        self.assertEqual(q.close(), 0)

    def test_garbage_is_refused(self):
        q, p = self.q, self.p
        small = FakePeer(size=1 * MiB)
        self.cleanups.append(small.close)
        unsealed = os.memfd_create("unsealed")
        os.ftruncate(unsealed, 64 * MiB)
        self.cleanups.append(lambda: os.close(unsealed))
        null = os.open("/dev/null", os.O_RDONLY)
        self.cleanups.append(lambda: os.close(null))
        fds = p.fds()
        cases = [
            ("short payload", p.payload()[:24], fds, "payload of 24"),
            ("itself (WELCOME said mic3)", p.payload(index=3), fds,
             "cannot be a peer"),
            ("index 128", p.payload(index=128), fds, "cannot be a peer"),
            ("no fds", p.payload(), [], "file descriptors"),
            ("aperture not whole MiB", p.payload(size=48 * MiB + 4096), fds,
             "whole MiB"),
            ("aperture unaligned", p.payload(aper=PEER_APER + MiB), fds,
             "naturally aligned"),
            ("registers unaligned", p.payload(mmio=PEER_MMIO + 0x1000), fds,
             "naturally aligned"),
            ("register size", p.payload(mmio_size=4096), fds, "0x20000"),
            ("beyond 2^52", p.payload(aper=1 << 52), fds, "2^52"),
            ("over host RAM below 4G", p.payload(aper=0), fds, "host RAM"),
            ("over host RAM above 4G", p.payload(aper=4 << 30), fds,
             "host RAM"),
            ("registers inside the aperture", p.payload(
                mmio=PEER_APER + 0x20000), fds, "overlap"),
            ("memory smaller than the aperture", p.payload(),
             [small.mem] + fds[1:], "smaller"),
            ("memory not sealed", p.payload(), [unsealed] + fds[1:],
             "sealed"),
            ("memory is /dev/null", p.payload(), [null] + fds[1:],
             "sealed"),
            ("doorbell not an eventfd", p.payload(), fds[:3] + [null],
             "not an eventfd"),
            ("register file not a memfd", p.payload(),
             [fds[0], p.to_card] + fds[2:], "register file"),
        ]
        for n, (name, payload, cfds, text) in enumerate(cases, 1):
            with self.subTest(name):
                self.send(payload, cfds)
                wait_for(lambda: q.stderr().count("refused") >= n,
                         what="refusal of " + name)
                self.assertIn(text, q.stderr().splitlines()[-1])
        self.assertEqual(q.rd(SMPT_BASE + PEER_APER), 0xFFFFFFFF)
        # a good one still works, and then may not swap its memory
        self.send(p.payload(), p.fds())
        wait_for(lambda: q.rd(SMPT_BASE + PEER_MMIO + SPAD(0)) == 0,
                 what="good PEER after garbage")
        other = FakePeer()
        self.cleanups.append(other.close)
        self.send(p.payload(), other.fds())
        wait_for(lambda: "not the one announced" in q.stderr(),
                 what="memory swap refused")
        self.assertEqual(q.rd(SMPT_BASE + PEER_MMIO + SPAD(0)), 0xFFFFFFFF,
                         "a refused update withdraws the peer")
        # two peers may not overlap
        self.send(p.payload(), p.fds())
        wait_for(lambda: q.rd(SMPT_BASE + PEER_MMIO + SPAD(0)) == 0,
                 what="peer back")
        self.send(other.payload(index=6, mmio=PEER_MMIO + 0x20000),
                  other.fds())
        wait_for(lambda: "overlaps mic5" in q.stderr(), what="overlap")
        self.assertTrue(q.alive())
        self.assertEqual(q.close(), 0)


class TwoCardsTest(CardTestBase):
    """Two cards of one host VM, each with its own micfw, both card VMs
    under qtest: the host device tells each card where the other's BARs
    are (PEER through micfw), so card 0's SMPT window reaches card 1's
    memory and rings card 1's doorbells: upstream's P2P path."""

    BAR0 = (0x1_0000_0000, 0x1_4000_0000)       # 1 GiB each, above 4G
    BAR4 = (0xC000_0000, 0xC002_0000)
    BAR2 = (0xC010_0000, 0xC011_0000)

    def setUp(self):
        super().setUp()
        micfw = find_micfw()
        if not micfw:
            self.skipTest("micfw not built (set MICFW)")
        self.fws, self.links, args = [], [], []
        for i in range(2):
            link = os.path.join(self.tmp, "link%d.sock" % i)
            fw = subprocess.Popen(
                [micfw, "--index", str(i), "--link", link, "--control",
                 os.path.join(self.tmp, "ctl%d.sock" % i), "--event-log",
                 os.path.join(self.tmp, "ev%d.log" % i), "--run-dir",
                 os.path.join(self.tmp, "run%d" % i), "--ready-delay", "10",
                 "--mem-size", "1G"], start_new_session=True)
            self.fws.append(fw)
            self.cleanups.append(lambda fw=fw: self.stop(fw))
            wait_for(lambda: os.path.exists(link), what="micfw link")
            self.links.append(link)
            args += ["-chardev", "socket,id=h%d,path=%s" % (i, link),
                     "-device", "mic-x100,chardev=h%d,host-mem=hostram,"
                     "addr=%d" % (i, 4 + i)]
        self.host = QTest(QEMU, [
            "-M", "q35,memory-backend=hostram", "-m", "512M", "-object",
            "memory-backend-memfd,id=hostram,size=512M,share=on"] + args,
            os.path.join(self.tmp, "host.err"), machine=None)
        self.cleanups.append(self.host.close)
        for i in range(2):
            self.program_bars(i, self.BAR0[i])
        self.cards = []
        for i in range(2):
            q = QTest(QEMU, [
                "-m", "256M", "-d", "guest_errors,unimp", "-chardev",
                "socket,id=l,path=" + self.links[i], "-device",
                "mic-card,chardev=l,addr=4.0"],
                os.path.join(self.tmp, "card%d.err" % i))
            self.cleanups.append(q.close)
            self.cards.append(q)

    def stop(self, fw):
        if fw.poll() is None:
            os.killpg(fw.pid, signal.SIGTERM)
        fw.wait(20)

    def program_bars(self, i, bar0, enable=True):
        h, slot = self.host, 4 + i
        h.cfg_write(0x04, 0, slot=slot)
        for reg, addr in ((0x10, bar0), (0x20, self.BAR4[i])):
            h.cfg_write(reg, addr & 0xFFFFFFFF, slot=slot)
            h.cfg_write(reg + 4, addr >> 32, slot=slot)
        h.cfg_write(0x18, self.BAR2[i], slot=slot)
        if enable:
            h.cfg_write(0x04, 0x6, slot=slot)

    def events(self, i):
        with open(os.path.join(self.tmp, "ev%d.log" % i)) as f:
            return f.read()

    def test_card0_reaches_card1(self):
        host, c0, c1 = self.host, self.cards[0], self.cards[1]
        # the host writes card 1's memory through its BAR0 ...
        host.wr(self.BAR0[1] + 0x20_0000, 0xC1C1C1C1)
        # ... and card 0 reads it through its SMPT window (identity entry 0
        # covers host bus 0-16 GiB): upstream's peer aperture
        peer = SMPT_BASE + self.BAR0[1]
        wait_for(lambda: c0.rd(peer + 0x20_0000) == 0xC1C1C1C1,
                 what="card 1 memory seen from card 0", timeout=10)
        c0.wr(peer + 0x20_0004, 0x0C0C0C0C)
        self.assertEqual(host.rd(self.BAR0[1] + 0x20_0004), 0x0C0C0C0C)
        # and the other way round
        host.wr(self.BAR0[0] + 0x30_0000, 0xC0C0C0C0)
        wait_for(lambda: c1.rd(SMPT_BASE + self.BAR0[0] + 0x30_0000) ==
                 0xC0C0C0C0, what="card 0 memory seen from card 1")
        # a doorbell from card 0 into card 1's registers: card 1's MSI-X
        m1 = Msix(c1)
        m1.enable()
        regs1 = SMPT_BASE + self.BAR4[1]
        lo = c0.rd(regs1 + APICICR_LO(4))
        c0.wr(regs1 + APICICR_LO(4), lo | 0x2000)
        self.assertEqual(wait_for(m1.fired, what="card 1 vector 4"), {4})
        c0.wr(regs1 + RDMASR(3), 0)
        self.assertEqual(wait_for(m1.fired, what="card 1 vector 11"), {11})
        self.assertIn("link-peer-forward peer=1 present=1",
                      self.events(0))
        self.assertIn("link-peer-forward peer=0 present=1",
                      self.events(1))

    def test_bar_moves_follow(self):
        host, c0 = self.host, self.cards[0]
        host.wr(self.BAR0[1] + 0x1000, 0xABCD0123)
        wait_for(lambda: c0.rd(SMPT_BASE + self.BAR0[1] + 0x1000) ==
                 0xABCD0123, what="peer mapped", timeout=10)
        # decode off: card 0 loses the peer
        host.cfg_write(0x04, 0, slot=5)
        wait_for(lambda: c0.rd(SMPT_BASE + self.BAR0[1] + 0x1000) ==
                 0xFFFFFFFF, what="peer withdrawn")
        # new place, decode on
        new = 0x1_8000_0000
        self.program_bars(1, new)
        wait_for(lambda: c0.rd(SMPT_BASE + new + 0x1000) == 0xABCD0123,
                 what="peer at its new place")
        self.assertEqual(c0.rd(SMPT_BASE + self.BAR0[1] + 0x1000),
                         0xFFFFFFFF)
        self.assertNotIn("refused", c0.stderr())


BOOT_INIT = b"""#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sys /sys
for d in /sys/bus/pci/devices/*; do
    echo MIC-CARD-PCI $(/bin/busybox cat $d/vendor $d/device $d/class)
    echo "MIC-CARD-RES $(/bin/busybox head -1 $d/resource)"
done
/bin/busybox grep -i -e mic -e "PCI Bus" /proc/iomem | \
    /bin/busybox sed 's/^/MIC-CARD-IOMEM /'
echo "MIC-CARD-DONE"
/bin/busybox poweroff -f
"""


class CardVmBootTest(CardTestBase):
    """micfw starts a real card VM with mic-card after a boot kick: the
    device links up, the firmware and kernel enumerate the function, and
    no BAR or window lands in the fixed windows."""

    def setUp(self):
        super().setUp()
        self.kernel = find_kernel()
        self.micfw = find_micfw()
        missing = [p for p in (self.kernel, "/usr/bin/busybox")
                   if not os.path.isfile(p)]
        if not self.micfw:
            missing.append("micfw")
        if missing:
            self.skipTest("not built: " + ", ".join(missing))

    def test_boot(self):
        console = os.path.join(self.tmp, "console.log")
        events = os.path.join(self.tmp, "events.log")
        ctl = os.path.join(self.tmp, "ctl.sock")
        qargs = ["--qemu", QEMU]     # micfw adds mic-card and its link
        fw = subprocess.Popen(
            [self.micfw, "--index", "0", "--link", self.link, "--control",
             ctl, "--event-log", events, "--console-log", console,
             "--run-dir", os.path.join(self.tmp, "run"), "--ready-delay",
             "10", "--mem-size", "256M"] + qargs, start_new_session=True)

        def stop():
            if fw.poll() is None:
                os.killpg(fw.pid, signal.SIGTERM)
            fw.wait(20)
        self.cleanups.append(stop)
        wait_for(lambda: os.path.exists(self.link), what="micfw link")
        ram = HostRam(BELOW, ABOVE)
        self.cleanups.append(ram.close)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(self.link)
        self.cleanups.append(s.close)
        payload = HELLO_S.pack(1, 1, ram.below, ram.above)
        socket.send_fds(s, [HDR.pack(LINK_MAGIC, HELLO, len(payload)) +
                            payload], [ram.fd])
        _, wpayload, fds = recv_msg(s)
        self.cleanups.append(lambda: [os.close(f) for f in fds] and None)
        mem = mmap.mmap(fds[0], 256 * MiB, mmap.MAP_SHARED)
        self.cleanups.append(mem.close)
        rf = mmap.mmap(fds[1], MMIO_SIZE + 4096, mmap.MAP_SHARED)
        self.cleanups.append(rf.close)

        def spad(j):
            return int.from_bytes(rf[SPAD(j):SPAD(j) + 4], "little")
        wait_for(lambda: spad(2) & 1, what="SPAD2 ready")
        boot = 0x04000000
        with open(self.kernel, "rb") as f:
            img = bytearray(f.read())
        with open("/usr/bin/busybox", "rb") as f:
            initrd = cpio_newc([
                ("bin", 0o40755, b"", 0, 0), ("proc", 0o40755, b"", 0, 0),
                ("sys", 0o40755, b"", 0, 0), ("dev", 0o40755, b"", 0, 0),
                ("dev/console", 0o20600, b"", 5, 1),
                ("bin/busybox", 0o100755, f.read(), 0, 0),
                ("init", 0o100755, BOOT_INIT, 0, 0)])
        img[0x218:0x220] = (2 * boot).to_bytes(4, "little") + \
            len(initrd).to_bytes(4, "little")
        mem[boot:boot + len(img)] = img
        cmd = b" console=ttyS0 panic=-1\0"
        mem[boot + len(img):boot + len(img) + len(cmd)] = cmd
        mem[2 * boot:2 * boot + len(initrd)] = initrd
        rf[SPAD(5):SPAD(5) + 4] = len(img).to_bytes(4, "little")
        s.sendall(HDR.pack(LINK_MAGIC, 4, 0))           # BOOT_KICK

        def text():
            try:
                with open(console, errors="replace") as f:
                    return f.read()
            except FileNotFoundError:
                return ""
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect(ctl)
        self.cleanups.append(c.close)
        cf = c.makefile("rw")

        def status():
            cf.write('{"cmd":"status"}\n')
            cf.flush()
            return json.loads(cf.readline())
        wait_for(lambda: status()["card_connected"], 120, "mic-card link")
        wait_for(lambda: "MIC-CARD-DONE" in text(), 240, "card /init")
        out = text()
        self.assertIn("MIC-CARD-PCI 0x8086 0x225f 0x088000", out)
        res = [ln.split()[1:] for ln in out.splitlines()
               if ln.startswith("MIC-CARD-RES")]
        bars = [int(r[0], 16) for r in res if len(r) == 3]
        self.assertTrue(all(b < 1 << 32 for b in bars), bars)
        with open(events, errors="replace") as f:
            ev = f.read()
        self.assertNotIn("not mic0's card memory", ev)
        self.assertNotIn("hides RAM", ev)
        wait_for(lambda: "card-vm-exit" in open(events).read(), 60,
                 "card VM exit")


if __name__ == "__main__":
    unittest.main()         # a case whose QEMU or micfw is missing skips
