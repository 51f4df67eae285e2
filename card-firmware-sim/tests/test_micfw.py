#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""micfw tests: a fake host device on the link, the control socket, the
register file and card memory mapped from the fds micfw hands out.

    PYTHONPATH=../tests MICFW=/path/to/micfw /usr/bin/python3 tests/test_micfw.py -v

Standard library only.  Card VM behaviour is tested with tests/fake-qemu.py
standing in for QEMU; the end-to-end boot test uses the project's QEMU and
guest kernel and is skipped (with the reason) while those are not built.
"""
import errno
import json
import mmap
import os
import signal
import socket
import struct
import subprocess
import tempfile
import time
import unittest

from micemu.build import find_micfw
from micemu.fwctl import (EVENT_RE, Control, Micfw, kill_leftovers, pid_alive,
                          pid_state)
from micemu.link import (BOOT_KICK, HELLO, HELLO_S, LINK_VERSION, PEER,
                         PEER_PRESENT, PEER_S, RESET, ROLE_CARD, ROLE_HOST,
                         WELCOME, Link, host_link)
from micemu.regs import (BOOT_ADDR, POSTCODE, RF_FAULT_DB_DROP,
                         RF_FAULT_DB_DUP, RF_FAULT_DMA_ERROR,
                         RF_FAULT_LINK_DOWN, RF_MAGIC, RF_MAGIC_OFF, SPAD,
                         SPAD2_READY, RegFile, sealed_memfd)
from micemu.wait import wait_for

MICFW = find_micfw()
HERE = os.path.dirname(os.path.abspath(__file__))
FAKE_QEMU = os.path.join(HERE, "fake-qemu")
MB = 1 << 20


def postcode_text(v):
    return bytes([v & 0xFF, (v >> 8) & 0xFF]).decode("ascii", "replace")


def make_bzimage(size=64 * 1024, seed=7):
    """Enough of a bzImage for the bootstrap: the HdrS setup header."""
    img = bytearray((i * 131 + seed) & 0xFF for i in range(size))
    img[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", img, 0x206, 0x020F)
    struct.pack_into("<II", img, 0x218, 0, 0)
    return img


class BoardTest(unittest.TestCase):
    """One micfw per test, under a fresh temporary directory."""

    ready_delay = 100
    mem_size = "256M"
    extra = ()

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="micfw-test-")
        self.tmp = self._tmp.name
        self.env = dict(os.environ,
                        FAKE_QEMU_REPORT=os.path.join(self.tmp, "report.json"))
        self.fw = Micfw(self.tmp, *self.extra, ready_delay=self.ready_delay,
                        mem_size=self.mem_size, env=self.env)
        self.links = []
        self.maps = []

    def tearDown(self):
        for m in self.maps:
            m.close()
        for link in self.links:
            link.close()
        if self.fw.alive():
            self.assertEqual(self.fw.stop(), 0)
        self._tmp.cleanup()

    def host(self, **kw):
        link, welcome, fds, rf = host_link(self.fw, **kw)
        self.links.append(link)
        self.maps.append(rf)
        return link, welcome, fds, rf

    def link(self):
        link = Link(self.fw.link_path)
        self.links.append(link)
        return link

    def card_mem(self, fds, welcome):
        m = mmap.mmap(fds[0], welcome["card_mem_size"], mmap.MAP_SHARED)
        self.maps.append(m)
        return m

    def wait_ready(self, rf, timeout=5.0):
        wait_for(lambda: rf.spad(2) & SPAD2_READY, timeout, what="SPAD2 ready")

    def load_boot(self, mem, rf, image, cmdline, ramdisk=None):
        """Do what the host driver does before a boot kick (facts §4.2)."""
        image = bytearray(image)
        if ramdisk is not None:
            struct.pack_into("<II", image, 0x218, 2 * BOOT_ADDR, len(ramdisk))
            mem[2 * BOOT_ADDR:2 * BOOT_ADDR + len(ramdisk)] = ramdisk
        mem[BOOT_ADDR:BOOT_ADDR + len(image)] = image
        text = cmdline.encode() + b"\0"
        end = BOOT_ADDR + len(image)
        mem[end:end + len(text)] = text
        rf.write(SPAD(5), len(image))
        return bytes(image)


class CliTest(unittest.TestCase):
    def run_micfw(self, *args):
        return subprocess.run([MICFW] + list(args), capture_output=True,
                              text=True, timeout=10)

    def test_help(self):
        r = self.run_micfw("--help")
        self.assertEqual(r.returncode, 0)
        for opt in ("--index", "--link", "--control", "--mem-size", "--qemu",
                    "--qemu-arg", "--accel", "--console-log", "--event-log",
                    "--run-dir", "--ready-delay", "--never-ready"):
            self.assertIn(opt, r.stdout)


    def test_check_accepts_the_card_sizes_it_can_run(self):
        # real x100 cards: 6 GiB (3120), 8 GiB (5110P), 16 GiB (7120)
        for size in ("128M", "256M", "1G", "2G", "4G", "6G", "8G", "16G"):
            r = self.run_micfw("--check", "--mem-size", size)
            self.assertEqual(r.returncode, 0, (size, r.stderr))
        r = self.run_micfw("--check", "--mem-size", "3G")
        self.assertEqual(r.returncode, 2)
        self.assertIn("neither a power of two nor 6G", r.stderr)
        r = self.run_micfw("--check", "--mem-size", "32G")
        self.assertEqual(r.returncode, 2)
        self.assertIn("above the maximum 16G", r.stderr)
    def test_bad_options(self):
        with tempfile.TemporaryDirectory() as d:
            base = ["--index", "0", "--link", d + "/l", "--control", d + "/c"]
            cases = [
                [],
                ["--link", d + "/l", "--control", d + "/c"],
                ["--index", "0", "--control", d + "/c"],
                ["--index", "0", "--link", d + "/l"],
                base[:1] + ["128"] + base[2:],
                base[:1] + ["x"] + base[2:],
                base + ["--mem-size", "3G"],
                base + ["--mem-size", "32G"],
                ["--check", "--mem-size", "12G"],
                base + ["--mem-size", "1X"],
                base + ["--mem-size", ""],
                base + ["--mem-size", "64K"],
                base + ["--mem-size", "128G"],
                base + ["--mem-size", "99999999999999999999G"],
                base + ["--accel", "hvf"],
                base + ["--ready-delay", "-1"],
                base + ["--ready-delay", "soon"],
                base + ["--qemu", d + "/no-such-qemu"],
                base + ["--bogus"],
                base + ["stray"],
            ]
            for args in cases:
                r = self.run_micfw(*args)
                self.assertEqual(r.returncode, 2, (args, r.stderr))
                lines = r.stderr.strip().splitlines()
                self.assertEqual(len(lines), 1, (args, r.stderr))
                self.assertTrue(lines[0].startswith("micfw: "), lines)
            self.assertFalse(os.path.exists(d + "/l"))

    def test_socket_in_use_and_stale(self):
        with tempfile.TemporaryDirectory() as d:
            fw = Micfw(d)
            try:
                r = self.run_micfw("--index", "1", "--link", fw.link_path,
                                   "--control", d + "/other.sock")
                self.assertEqual(r.returncode, 1)
                self.assertIn("in use", r.stderr)
                self.assertTrue(fw.status()["ok"])
            finally:
                self.assertEqual(fw.stop(signal.SIGKILL), -signal.SIGKILL)
            # the SIGKILLed board left its socket files behind: reused
            self.assertTrue(os.path.exists(fw.link_path))
            fw2 = Micfw(d)
            try:
                fw2.wait_state("ready")
            finally:
                self.assertEqual(fw2.stop(), 0)


class PowerOnTest(BoardTest):
    def test_post_codes_then_ready(self):
        link, welcome, fds, rf = self.host()
        self.wait_ready(rf)
        self.assertEqual(rf.spad(2), BOOT_ADDR | SPAD2_READY)
        self.assertEqual(postcode_text(rf.read(POSTCODE)), "RD")
        st = self.fw.status()
        self.assertEqual(st["state"], "ready")
        self.assertEqual(st["spad2"], BOOT_ADDR | SPAD2_READY)
        self.assertEqual(postcode_text(st["postcode"]), "RD")
        self.assertTrue(st["host_connected"])
        codes = [e[1].split()[0] for e in self.fw.find_events("postcode")]
        self.assertEqual(codes, ["code=PW", "code=MT", "code=MR", "code=BS",
                                 "code=RD"])
        ready_ms = self.fw.find_events("ready")[0][0]
        on_ms = self.fw.find_events("power-on")[0][0]
        self.assertGreaterEqual(ready_ms - on_ms, self.ready_delay - 5)

    def test_event_log_format(self):
        self.fw.wait_event("ready")
        for line in self.fw.events():
            self.assertRegex(line, EVENT_RE)

    def test_status_fields(self):
        st = self.fw.status()
        for k in ("ok", "card", "state", "card_vm_pid", "spad2", "postcode",
                  "boots", "resets", "never_ready", "ready_delay_ms",
                  "host_connected"):
            self.assertIn(k, st)
        self.assertIsNone(st["card_vm_pid"])
        self.assertEqual(st["ready_delay_ms"], self.ready_delay)
        self.assertFalse(st["never_ready"])


class MemSizeTest(BoardTest):
    mem_size = "262144K"

    def test_k_suffix_and_resources(self):
        link, welcome, fds, rf = self.host()
        self.assertEqual(welcome["version"], LINK_VERSION)
        self.assertEqual(welcome["card_index"], 0)
        self.assertEqual(welcome["card_mem_size"], 256 * MB)
        self.assertEqual(len(fds), 4)
        self.assertEqual(os.fstat(fds[0]).st_size, 256 * MB)
        self.assertEqual(os.fstat(fds[1]).st_size, welcome["regfile_size"])
        self.assertGreaterEqual(welcome["regfile_size"], 0x20000 + 16)
        self.assertEqual(rf.read(RF_MAGIC_OFF), RF_MAGIC)
        for fd in fds[2:4]:
            self.assertEqual(os.readlink("/proc/self/fd/%d" % fd),
                             "anon_inode:[eventfd]")


class LinkTest(BoardTest):
    def test_one_host_at_a_time(self):
        first, _, _, _ = self.host()
        second = self.link()
        second.send(HELLO, HELLO_S.pack(LINK_VERSION, ROLE_HOST, 0, 0))
        second.expect_error(errno.EBUSY)
        self.assertTrue(second.closed())
        first.close()
        self.links.remove(first)
        wait_for(lambda: not self.fw.status()["host_connected"],
                 what="host hang-up")
        self.assertTrue(self.fw.find_events("link-close"))
        self.host()
        self.assertTrue(self.fw.status()["host_connected"])

    def test_host_ram_goes_to_the_card(self):
        ram = os.memfd_create("fake-host-ram")
        os.ftruncate(ram, 96 * MB)
        try:
            _, welcome, _, _ = self.host(below=64 * MB, above=32 * MB,
                                         fds=[ram])
            self.assertEqual(welcome["host_ram_below_4g"], 64 * MB)
            card = self.link()
            cw, cfds = card.hello(ROLE_CARD)
            self.assertEqual(len(cfds), 5)
            self.assertEqual(cw["host_ram_below_4g"], 64 * MB)
            self.assertEqual(cw["host_ram_above_4g"], 32 * MB)
            self.assertEqual(os.fstat(cfds[4]).st_ino, os.fstat(ram).st_ino)
            self.assertTrue(self.fw.status()["card_connected"])
            other = self.link()
            other.send(HELLO, HELLO_S.pack(LINK_VERSION, ROLE_CARD, 0, 0))
            other.expect_error(errno.EBUSY)
        finally:
            os.close(ram)

    def test_host_ram_layout_checked(self):
        ram = os.memfd_create("small-host-ram")
        os.ftruncate(ram, 1 * MB)
        try:
            cases = [
                (dict(below=64 * MB, above=0, fds=[ram]), errno.EINVAL),
                (dict(below=64 * MB, above=0, fds=[]), errno.EINVAL),
                (dict(below=8 << 30, above=0, fds=[ram]), errno.EINVAL),
                (dict(below=1 << 30, above=(1 << 64) - 1, fds=[ram]),
                 errno.EINVAL),
            ]
            for kw, code in cases:
                link = self.link()
                link.send(HELLO, HELLO_S.pack(LINK_VERSION, ROLE_HOST,
                                              kw["below"], kw["above"]),
                          kw["fds"])
                link.expect_error(code)
                self.assertTrue(link.closed())
        finally:
            os.close(ram)
        self.assertFalse(self.fw.status()["host_connected"])

    def test_garbage_is_refused(self):
        hello = HELLO_S.pack(LINK_VERSION, ROLE_HOST, 0, 0)
        cases = [
            ("bad magic", lambda l: l.send(HELLO, hello, magic=0xDEADBEEF),
             errno.EBADMSG),
            ("huge len", lambda l: l.send(HELLO, b"", length=0xFFFF),
             errno.EMSGSIZE),
            ("len above max", lambda l: l.send(HELLO, b"", length=4097),
             errno.EMSGSIZE),
            ("unknown type first", lambda l: l.send(99), errno.EPROTO),
            ("RESET before HELLO", lambda l: l.send(RESET), errno.EPROTO),
            ("short HELLO", lambda l: l.send(HELLO, hello[:2]), errno.EINVAL),
            ("HELLO without role", lambda l: l.send(HELLO, hello[:8]),
             errno.EINVAL),
            ("bad version", lambda l: l.send(
                HELLO, HELLO_S.pack(7, ROLE_HOST, 0, 0)), errno.EPROTO),
            ("bad role", lambda l: l.send(
                HELLO, HELLO_S.pack(LINK_VERSION, 9, 0, 0)), errno.EINVAL),
            ("too many fds", lambda l: l.send(
                HELLO, hello, [0] * 12), errno.EMSGSIZE),
        ]
        for name, send, code in cases:
            with self.subTest(name):
                link = self.link()
                send(link)
                link.expect_error(code)
                self.assertTrue(link.closed(), name)
        self.assertTrue(self.fw.status()["ok"])
        self.assertEqual(len(self.fw.find_events("link-error")), len(cases))

    def test_truncated_message(self):
        self.fw.wait_state("ready")
        for data in (b"MIC", struct.pack("<IHH", 0x4C43494D, HELLO, 24) +
                     b"\1\0\0\0"):
            link = self.link()
            link.send_raw(data)
            link.sock.shutdown(socket.SHUT_WR)
            _, text = link.expect_error(errno.EPROTO)
            self.assertIn("truncated", text)
        self.assertEqual(self.fw.status()["state"], "ready")

    def test_tolerated(self):
        """link-protocol.rst: longer payloads and stray fds are not errors."""
        null = os.open("/dev/null", os.O_RDONLY)
        try:
            card = self.link()
            card.send(HELLO, HELLO_S.pack(LINK_VERSION, ROLE_CARD, 0, 0) +
                      b"future", [null])
            mtype, _, fds = card.recv()
            self.assertEqual((mtype, len(fds)), (WELCOME, 4))
            host = self.link()
            host.send(HELLO, HELLO_S.pack(LINK_VERSION, ROLE_HOST, 0, 0),
                      [null, null])
            mtype, payload, fds = host.recv()
            self.assertEqual((mtype, len(fds)), (WELCOME, 4))
            self.assertEqual(len(self.fw.find_events("link-fds-dropped")), 2)
            rf = RegFile(fds[1], 0x21000)
            self.maps.append(rf)
            self.fw.wait_state("ready")
            host.send(RESET, b"extension", [null])
            self.fw.wait_event("reset")
            self.wait_ready(rf)
            self.assertEqual(self.fw.status()["resets"], 1)
            self.assertTrue(self.fw.status()["host_connected"])
        finally:
            os.close(null)

    def test_hang_up_without_hello(self):
        for _ in range(3):
            link = Link(self.fw.link_path)
            link.close()
        wait_for(lambda: len(self.fw.find_events("link-close")) == 3,
                 what="three hang-ups")
        self.assertTrue(self.fw.status()["ok"])

    def test_after_hello(self):
        link, _, _, _ = self.host()
        link.send(77)                                  # a future message
        link.expect_error(errno.EOPNOTSUPP)
        link.send(WELCOME)                             # not ours to send
        link.expect_error(errno.EOPNOTSUPP)
        self.assertTrue(self.fw.status()["host_connected"])
        link.send(HELLO, HELLO_S.pack(LINK_VERSION, ROLE_HOST, 0, 0))
        link.expect_error(errno.EPROTO)                # duplicate HELLO
        self.assertTrue(link.closed())
        wait_for(lambda: not self.fw.status()["host_connected"])
        link2, _, _, _ = self.host()
        link2.send(0x1234, b"x" * 4096)                # max payload, unknown
        link2.expect_error(errno.EOPNOTSUPP)
        self.assertTrue(self.fw.status()["host_connected"])

    def test_card_may_not_reset(self):
        card = self.link()
        card.hello(ROLE_CARD)
        card.send(RESET)
        card.expect_error(errno.EPERM)
        self.assertEqual(self.fw.status()["resets"], 0)


class FakePeer:
    """What the host device hands over about another card (PEER fds)."""

    def __init__(self, index, aper_base, mmio_base, aper_size=64 * MB):
        self.index, self.aper_base, self.mmio_base = index, aper_base, mmio_base
        self.aper_size = aper_size
        self.mem = sealed_memfd("peer-mem", aper_size)
        self.rf = sealed_memfd("peer-rf", 0x21000)
        self.to_card = os.eventfd(0)
        self.to_host = os.eventfd(0)

    def fds(self):
        return [self.mem, self.rf, self.to_card, self.to_host]

    def payload(self, **kw):
        v = dict(index=self.index, flags=PEER_PRESENT,
                 aper_base=self.aper_base, aper_size=self.aper_size,
                 mmio_base=self.mmio_base, mmio_size=0x20000)
        v.update(kw)
        return PEER_S.pack(v["index"], v["flags"], v["aper_base"],
                           v["aper_size"], v["mmio_base"], v["mmio_size"])

    def close(self):
        for fd in self.fds():
            os.close(fd)


class PeerTest(BoardTest):
    """PEER (link type 6): the host device tells micfw about another
    card's BARs; micfw checks it, keeps it and hands it to its card VM,
    again after every card VM (re)link."""

    def setUp(self):
        super().setUp()
        self.peers = []

    def tearDown(self):
        for p in self.peers:
            p.close()
        super().tearDown()

    def peer(self, *args, **kw):
        p = FakePeer(*args, **kw)
        self.peers.append(p)
        return p

    def card(self):
        card = self.link()
        card.hello(ROLE_CARD)
        return card

    def expect_peer(self, card, peer, present=True):
        msg = card.recv()
        self.assertIsNotNone(msg, "card connection closed")
        mtype, payload, fds = msg
        self.assertEqual(mtype, PEER)
        fields = PEER_S.unpack(payload[:PEER_S.size])
        self.assertEqual(fields[0], peer.index)
        if not present:
            self.assertEqual((fields[1], fds), (0, []))
            return fields
        self.assertEqual(fields[1:], (PEER_PRESENT, peer.aper_base,
                                      peer.aper_size, peer.mmio_base,
                                      0x20000))
        self.assertEqual(len(fds), 4)
        for got, want in zip(fds, peer.fds()):
            self.assertEqual(os.fstat(got).st_ino, os.fstat(want).st_ino)
        return fields

    def test_forwarded_kept_and_replayed(self):
        host, _, _, _ = self.host(below=0, above=0)
        card = self.card()
        p2 = self.peer(2, 0x2_0000_0000, 0xF000_0000)
        host.send(PEER, p2.payload(), p2.fds())
        self.expect_peer(card, p2)
        # the peer's memory as the card VM gets it: the very same bytes
        got = self.fw.find_events("link-peer")
        self.assertIn("peer=2 present=1 aper=0x200000000", got[-1][1])
        # a card VM that links later (after a reset) gets it replayed
        card.close()
        self.links.remove(card)
        wait_for(lambda: not self.fw.status()["card_connected"])
        card = self.card()
        self.expect_peer(card, p2)
        # withdrawn: the card is told, a later card VM hears nothing
        host.send(PEER, PEER_S.pack(2, 0, 0, 0, 0, 0))
        self.expect_peer(card, p2, present=False)
        card.close()
        self.links.remove(card)
        wait_for(lambda: not self.fw.status()["card_connected"])
        card = self.card()
        card.sock.settimeout(0.5)
        with self.assertRaises(socket.timeout):
            card.recv()

    def test_host_hang_up_forgets_peers(self):
        host, _, _, _ = self.host()
        p3 = self.peer(3, 0x4_0000_0000, 0xF100_0000)
        host.send(PEER, p3.payload(), p3.fds())
        self.fw.wait_event("link-peer")
        host.close()
        self.links.remove(host)
        wait_for(lambda: not self.fw.status()["host_connected"])
        card = self.card()
        card.sock.settimeout(0.5)
        with self.assertRaises(socket.timeout):
            card.recv()

    def test_garbage_is_refused(self):
        ram = sealed_memfd("host-ram", 64 * MB)
        self.addCleanup(os.close, ram)
        host, _, _, _ = self.host(below=64 * MB, above=0, fds=[ram])
        card = self.card()
        good = self.peer(1, 0x2_0000_0000, 0xF000_0000)
        other = self.peer(2, 0x3_0000_0000, 0xF100_0000)
        host.send(PEER, other.payload(), other.fds())
        self.expect_peer(card, other)
        small = self.peer(4, 0x4_0000_0000, 0xF200_0000, aper_size=1 * MB)
        unsealed = sealed_memfd("unsealed", 64 * MB, seal=False)
        self.addCleanup(os.close, unsealed)
        null = os.open("/dev/null", os.O_RDONLY)
        self.addCleanup(os.close, null)
        fds = good.fds()
        cases = [
            ("short payload", good.payload()[:20], fds),
            ("itself", good.payload(index=0), fds),
            ("index beyond 127", good.payload(index=200), fds),
            ("no fds", good.payload(), []),
            ("three fds", good.payload(), fds[:3]),
            ("aperture not whole MiB", good.payload(
                aper_size=48 * MB + 4096), fds),
            ("aperture too small", good.payload(aper_size=4096), fds),
            ("aperture unaligned", good.payload(
                aper_base=0x2_0010_0000), fds),
            ("register BAR size", good.payload(mmio_size=0x10000), fds),
            ("register BAR unaligned", good.payload(
                mmio_base=0xF000_1000), fds),
            ("beyond 2^52", good.payload(aper_base=1 << 52), fds),
            ("wraps", good.payload(aper_base=(1 << 64) - (64 * MB)), fds),
            ("over host RAM", good.payload(aper_base=0), fds),
            ("registers over host RAM", good.payload(
                mmio_base=0x20000), fds),
            ("aperture over its registers", good.payload(
                mmio_base=0x2_0000_0000), fds),
            ("over another peer", good.payload(
                aper_base=0x3_0000_0000), fds),
            ("over another peer's registers", good.payload(
                mmio_base=0xF100_0000), fds),
            ("memory smaller than the aperture", good.payload(),
             [small.mem] + fds[1:]),
            ("memory not sealed", good.payload(), [unsealed] + fds[1:]),
            ("memory not a memfd", good.payload(), [null] + fds[1:]),
            ("register file too small", good.payload(),
             [fds[0], small.to_card] + fds[2:]),
            ("doorbell not an eventfd", good.payload(),
             fds[:2] + [good.mem, fds[3]]),
            ("doorbell /dev/null", good.payload(), fds[:3] + [null]),
        ]
        why = {"short payload": "bytes", "itself": "cannot be a peer",
               "index beyond 127": "cannot be a peer",
               "no fds": "file descriptors", "three fds": "file descriptors",
               "aperture not whole MiB": "whole MiB",
               "aperture too small": "whole MiB",
               "register BAR size": "register BAR size",
               "over host RAM": "host RAM",
               "registers over host RAM": "host RAM",
               "aperture over its registers": "overlap",
               "over another peer": "mic2",
               "over another peer's registers": "mic2",
               "register file too small": "register file",
               "doorbell not an eventfd": "eventfd",
               "doorbell /dev/null": "eventfd"}
        for name, payload, cfds in cases:
            with self.subTest(name):
                host.send(PEER, payload, cfds)
                code, text = host.expect_error(errno.EINVAL)
                self.assertIn(why.get(name, "naturally aligned" if "memory"
                                      not in name else "peer memory"),
                              text)
        self.assertTrue(self.fw.status()["host_connected"])
        self.assertEqual(len(self.fw.find_events("link-peer-refused")),
                         len(cases))
        # nothing reached the card, and a good PEER still works
        host.send(PEER, good.payload(), good.fds())
        self.expect_peer(card, good)
        # a card device may not send PEER
        card.send(PEER, good.payload(), good.fds())
        card.expect_error(errno.EPERM)
        self.assertTrue(card.closed())


class ControlTest(BoardTest):
    def test_garbage_keeps_connection(self):
        ctl = self.fw.ctl
        bad = [
            "garbage", "", "   ", "[1,2]", "42", '"status"', "{",
            '{"cmd":1}', '{"nocmd":"status"}', '{"cmd":"launch-missiles"}',
            '{"cmd":"never-ready","value":"yes"}',
            '{"cmd":"ready-delay"}', '{"cmd":"ready-delay","ms":-1}',
            '{"cmd":"ready-delay","ms":"5"}', '{"cmd":"ready-delay","ms":1.5}',
            '{"cmd":"ready-delay","ms":99999999999}',
            b'{"cmd":"st\xff\xfeatus"}', "[" * 5000,
        ]
        for line in bad:
            with self.subTest(line=line[:20]):
                r = ctl.raw(line)
                self.assertFalse(r["ok"], line)
                self.assertIsInstance(r["error"], str)
                self.assertTrue(ctl("status")["ok"])

    def test_long_line(self):
        ctl = self.fw.ctl
        r = ctl.raw("x" * 100000 + "\n" + json.dumps({"cmd": "status"}))
        self.assertFalse(r["ok"])
        self.assertIn("too long", r["error"])
        # the rest of the long line is skipped; the status after it answers
        self.assertTrue(ctl.raw_reply()["ok"])

    def test_several_clients(self):
        clients = [Control(self.fw.ctl_path, timeout=5) for _ in range(4)]
        try:
            for c in clients:
                c.file.write(b'{"cmd":"status"}\n{"cmd":"bogus"}\n')
                c.file.flush()
            for c in clients:
                self.assertTrue(c.raw_reply()["ok"])
                self.assertFalse(json.loads(c.file.readline())["ok"])
        finally:
            for c in clients:
                c.close()
        self.assertTrue(self.fw.status()["ok"])

    def test_one_object_per_line(self):
        """F5: a line holding two JSON values is refused before json-glib
        sees it (json-glib 1.6 leaks ~0.6 kB on each), so thousands of them
        leave micfw's memory flat."""
        ctl = self.fw.ctl
        for line in ('{"cmd":"status"}{"cmd":"status"}',
                     '{"cmd":"status"} 1', '{"cmd":"status","x":"}"} {}'):
            r = ctl.raw(line)
            self.assertFalse(r["ok"], line)
            self.assertIn("one JSON object", r["error"])
        self.assertTrue(ctl.raw('  {"cmd":"status","x":"}{"}  ')["ok"])
        rss = self.fw_rss_kib()
        batch = b'{"cmd":"status"}{"cmd":"status"}\n' * 50
        for _ in range(400):
            ctl.file.write(batch)
            ctl.file.flush()
            for _ in range(50):
                self.assertFalse(ctl.raw_reply()["ok"])
        # 20000 leaking lines grew micfw by ~11 MB before the fix
        self.assertLess(self.fw_rss_kib() - rss, 2048)

    def fw_rss_kib(self):
        with open(f"/proc/{self.fw.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS for micfw")

    def test_replies_are_valid_json(self):
        """F6: whatever the card writes as its POST code and whatever bytes
        a client sends, every reply is strict JSON in valid UTF-8."""
        link, _, fds, rf = self.host()
        self.wait_ready(rf)
        rf.write(POSTCODE, 0x011F)
        ctl = self.fw.ctl
        for line in (json.dumps({"cmd": "status"}).encode(),
                     b'{"cmd":"st\xff\xfeatus"}', b'{"cmd":"\xc3"}',
                     b'{"cmd":"bad\\u0001"}', b'\x1f\x80'):
            with self.subTest(line=line):
                ctl.file.write(line + b"\n")
                ctl.file.flush()
                reply = ctl.file.readline()
                r = json.loads(reply.decode("utf-8"), strict=True)
                self.assertIn("ok", r)
        st = self.fw.status()
        self.assertEqual(st["postcode"] & 0xFFFF, 0x011F)
        self.assertEqual(st["postcode_text"], "\x1f\x01")

    def test_no_card_vm(self):
        for cmd in ("crash", "hang", "resume"):
            r = self.fw.ctl(cmd)
            self.assertFalse(r["ok"], cmd)
            self.assertIn("no card VM", r["error"])

    def test_knobs(self):
        self.assertEqual(self.fw.ctl("ready-delay", ms=250),
                         {"ok": True, "ready_delay_ms": 250})
        self.assertEqual(self.fw.ctl("never-ready"),
                         {"ok": True, "never_ready": True})
        st = self.fw.status()
        self.assertEqual((st["ready_delay_ms"], st["never_ready"]), (250, True))
        self.assertEqual(self.fw.ctl("never-ready", value=False)["never_ready"],
                         False)


class ResetTest(BoardTest):
    ready_delay = 300

    def test_reset_reposts_ready(self):
        link, _, fds, rf = self.host()
        self.wait_ready(rf)
        # a stale doorbell for the old card OS must not survive the reset
        os.write(fds[3], struct.pack("<Q", 1))
        os.set_blocking(fds[2], False)
        rf.write(SPAD(2), 0)                   # the host clears SPAD2 first
        link.send(RESET)
        self.fw.wait_event("reset")
        st = self.fw.status()
        self.assertEqual(st["state"], "resetting")
        self.assertEqual(st["resets"], 1)
        self.assertEqual(rf.spad(2), 0)
        self.wait_ready(rf)
        self.assertEqual(self.fw.status()["state"], "ready")
        reset_ms = self.fw.find_events("reset")[0][0]
        ready_ms = self.fw.find_events("ready")[-1][0]
        self.assertGreaterEqual(ready_ms - reset_ms, self.ready_delay - 5)
        self.assertIn("to_card_kicks=1", self.fw.find_events("drain")[0][1])
        with self.assertRaises(BlockingIOError):
            os.set_blocking(fds[3], False)
            os.read(fds[3], 8)
        # and the host device is told to re-evaluate SICR0
        self.assertEqual(struct.unpack("<Q", os.read(fds[2], 8))[0], 1)

    def test_never_ready(self):
        link, _, _, rf = self.host()
        self.wait_ready(rf)
        self.assertTrue(self.fw.ctl("never-ready")["ok"])
        rf.write(SPAD(2), 0)
        link.send(RESET)
        self.fw.wait_event("ready-withheld")
        time.sleep(self.ready_delay * 2 / 1000)
        self.assertEqual(rf.spad(2), 0)
        self.assertEqual(self.fw.status()["state"], "off")
        link.send(BOOT_KICK)                   # nobody there to take it
        self.fw.wait_event("boot-kick-ignored")
        self.assertTrue(self.fw.ctl("never-ready", value=False)["ok"])
        self.assertEqual(rf.spad(2), 0)        # applies from the next reset
        link.send(RESET)
        self.wait_ready(rf)
        self.assertEqual(self.fw.status()["resets"], 2)

    def test_ready_delay_knob(self):
        link, _, _, rf = self.host()
        self.wait_ready(rf)
        self.fw.ctl("ready-delay", ms=0)
        rf.write(SPAD(2), 0)
        link.send(RESET)
        self.wait_ready(rf, timeout=1)


class NeverReadyAtStartTest(BoardTest):
    extra = ("--never-ready",)

    def test_never_ready_from_power_on(self):
        self.fw.wait_event("ready-withheld")
        st = self.fw.status()
        self.assertEqual(st["spad2"], 0)
        self.assertTrue(st["never_ready"])
        self.assertEqual(st["state"], "off")


class BootKickGarbageTest(BoardTest):
    """Guest data is hostile: every bad download is refused, no card VM."""

    extra = ("--qemu", FAKE_QEMU)

    def kick_expect(self, link, code):
        n = len(self.fw.find_events("boot-error"))
        link.send(BOOT_KICK)
        events = self.fw.wait_event("boot-error", count=n + 1)
        self.assertIn("code=" + code, events[-1][1])
        st = self.fw.status()
        self.assertIsNone(st["card_vm_pid"])
        self.assertEqual(st["boots"], 0)
        self.assertEqual(st["state"], "ready")
        self.assertEqual(postcode_text(st["postcode"]), code)

    def test_bad_downloads(self):
        link, welcome, fds, rf = self.host()
        mem = self.card_mem(fds, welcome)
        size = welcome["card_mem_size"]
        self.wait_ready(rf)
        img = make_bzimage()
        self.load_boot(mem, rf, img, "console=ttyS0")
        cases = [
            ("SPAD5 zero", lambda: rf.write(SPAD(5), 0), "E1"),
            ("SPAD5 tiny", lambda: rf.write(SPAD(5), 0x100), "E1"),
            ("SPAD5 huge", lambda: rf.write(SPAD(5), 0xFFFFFFFF), "E1"),
            ("image past the end", lambda: rf.write(SPAD(5), size), "E1"),
            ("boot address past the end",
             lambda: rf.write(SPAD(2), 0xFFFFF001), "E1"),
            ("no HdrS", lambda: mem.__setitem__(
                slice(BOOT_ADDR + 0x202, BOOT_ADDR + 0x206), b"HdrX"), "E2"),
            ("command line without NUL", lambda: mem.__setitem__(
                slice(BOOT_ADDR + len(img), BOOT_ADDR + len(img) + 2048),
                b"A" * 2048), "E3"),
            ("no room for a command line",
             lambda: rf.write(SPAD(5), size - BOOT_ADDR), "E3"),
            ("ramdisk past the end", lambda: mem.__setitem__(
                slice(BOOT_ADDR + 0x218, BOOT_ADDR + 0x220),
                struct.pack("<II", size - 4096, 8192)), "E4"),
            ("ramdisk wraps", lambda: mem.__setitem__(
                slice(BOOT_ADDR + 0x218, BOOT_ADDR + 0x220),
                struct.pack("<II", 0xFFFFF000, 0xFFFFFFFF)), "E4"),
        ]
        for name, spoil, code in cases:
            with self.subTest(name):
                self.load_boot(mem, rf, img, "console=ttyS0")
                rf.write(SPAD(2), BOOT_ADDR | SPAD2_READY)
                spoil()
                self.kick_expect(link, code)
        self.assertFalse(os.path.exists(self.env["FAKE_QEMU_REPORT"]))
        self.assertTrue(self.fw.alive())


class SpadCorruptTest(BoardTest):
    """spad-corrupt: the board overwrites a scratchpad now or at the next
    boot kick; what the host wrote before the kick is what gets spoilt."""

    extra = ("--qemu", FAKE_QEMU)

    def test_now(self):
        link, welcome, fds, rf = self.host()
        rf.write(SPAD(14), 0x1000)
        r = self.fw.ctl("spad-corrupt", spad=14, value=0xDEADBEEF)
        self.assertEqual(r, {"ok": True, "spad": 14, "value": 0xDEADBEEF,
                             "at": "now"})
        self.assertEqual(rf.spad(14), 0xDEADBEEF)
        ev = self.fw.wait_event("spad-corrupt")
        self.assertIn("spad=14 old=0x00001000 new=0xdeadbeef at=now", ev[0][1])

    def test_at_boot_is_one_shot(self):
        link, welcome, fds, rf = self.host()
        mem = self.card_mem(fds, welcome)
        self.wait_ready(rf)
        r = self.fw.ctl("spad-corrupt", spad=5, value=0, at="boot")
        self.assertTrue(r["ok"], r)
        self.assertEqual(self.fw.status()["spad_faults_armed"], 1 << 5)
        image = self.load_boot(mem, rf, make_bzimage(), "console=ttyS0")
        self.assertEqual(rf.spad(5), len(image))       # not yet
        link.send(BOOT_KICK)
        ev = self.fw.wait_event("boot-error")
        self.assertIn("code=E1", ev[0][1])
        self.assertIn("at=boot", self.fw.wait_event("spad-corrupt")[0][1])
        self.assertEqual(self.fw.status()["spad_faults_armed"], 0)
        rf.write(SPAD(5), len(image))                  # the next kick boots
        link.send(BOOT_KICK)
        self.fw.wait_event("card-vm-start")

    def test_bad_requests(self):
        for args, text in (({"value": 1}, '"spad" must be'),
                           ({"spad": 16, "value": 1}, '"spad" must be 0..15'),
                           ({"spad": -1, "value": 1}, '"spad" must be'),
                           ({"spad": 2}, '"value" must be'),
                           ({"spad": 2, "value": 1 << 32}, '"value" must be'),
                           ({"spad": 2, "value": "1"}, '"value" must be'),
                           ({"spad": 2, "value": 1, "at": "later"}, '"at" must be'),
                           ({"spad": 2, "value": 1, "at": 1}, '"at" must be')):
            with self.subTest(args):
                r = self.fw.ctl("spad-corrupt", **args)
                self.assertFalse(r["ok"])
                self.assertIn(text, r["error"])
        self.assertEqual(self.fw.status()["spad_faults_armed"], 0)


# Fault words after the register image (MicRegFile, mic_regfile.h).
FAULT_LINK_DOWN = RF_FAULT_LINK_DOWN
FAULT_DB_DROP = RF_FAULT_DB_DROP            # [to card, to host]
FAULT_DB_DUP = RF_FAULT_DB_DUP
FAULT_DMA_ERROR = RF_FAULT_DMA_ERROR


class FaultWordTest(BoardTest):
    """link-down, doorbell-fault, dma-error: micfw sets the fault words the
    device models act on, says so in status, refuses bad requests."""

    def test_link_down(self):
        link, welcome, fds, rf = self.host()
        self.assertEqual(self.fw.ctl("link-down"), {"ok": True, "link_down": True})
        self.assertEqual(rf.read(FAULT_LINK_DOWN), 1)
        self.assertTrue(self.fw.status()["link_down"])
        self.assertEqual(self.fw.ctl("link-down", value=False)["link_down"], False)
        self.assertEqual(rf.read(FAULT_LINK_DOWN), 0)
        self.assertFalse(self.fw.ctl("link-down", value=1)["ok"])

    def test_doorbell_fault(self):
        link, welcome, fds, rf = self.host()
        r = self.fw.ctl("doorbell-fault", to="card", drop=3, dup=2)
        self.assertEqual(r, {"ok": True, "to": "card", "drop": 3, "dup": 2})
        r = self.fw.ctl("doorbell-fault", to="host", dup=5)
        self.assertEqual((r["drop"], r["dup"]), (0, 5))
        self.assertEqual([rf.read(FAULT_DB_DROP), rf.read(FAULT_DB_DROP + 4),
                          rf.read(FAULT_DB_DUP), rf.read(FAULT_DB_DUP + 4)],
                         [3, 0, 2, 5])
        st = self.fw.status()
        self.assertEqual((st["doorbells_to_card_drop"], st["doorbells_to_card_dup"],
                          st["doorbells_to_host_drop"], st["doorbells_to_host_dup"]),
                         (3, 2, 0, 5))
        for args, text in (({"drop": 1}, '"to" must be'),
                           ({"to": "peer", "drop": 1}, '"to" must be'),
                           ({"to": "card", "drop": -1}, '"drop" must be'),
                           ({"to": "card", "dup": 10 ** 7}, '"dup" must be'),
                           ({"to": "card", "drop": "1"}, '"drop" must be')):
            with self.subTest(args):
                r = self.fw.ctl("doorbell-fault", **args)
                self.assertFalse(r["ok"])
                self.assertIn(text, r["error"])
        self.assertEqual(rf.read(FAULT_DB_DROP), 3)

    def test_dma_error(self):
        link, welcome, fds, rf = self.host()
        self.assertEqual(self.fw.ctl("dma-error", channel=2),
                         {"ok": True, "channel": 2})
        self.assertEqual(self.fw.ctl("dma-error", channel=7)["channel"], 7)
        self.assertEqual(rf.read(FAULT_DMA_ERROR), 0x84)
        self.assertEqual(self.fw.status()["dma_errors_armed"], 0x84)
        for ch in (8, -1, "1", None):
            r = self.fw.ctl("dma-error", channel=ch)
            self.assertFalse(r["ok"], ch)
        self.assertEqual(rf.read(FAULT_DMA_ERROR), 0x84)


class CardVmTest(BoardTest):
    """The card VM's life, with tests/fake-qemu.py standing in for QEMU."""

    def setUp(self):
        self.console = os.path.join(tempfile.gettempdir(), "unused")
        self.extra = ("--qemu", FAKE_QEMU, "--qemu-arg=-smp",
                      "--qemu-arg", "1", "--qemu-arg", "-no-user-config",
                      "--dma-rate", "6500")
        super().setUp()

    def boot(self, cmdline="console=ttyS0 quiet", ramdisk=b"RAMDISK" * 512):
        link, welcome, fds, rf = self.host()
        mem = self.card_mem(fds, welcome)
        self.wait_ready(rf)
        image = self.load_boot(mem, rf, make_bzimage(), " mem=256M " + cmdline,
                               ramdisk)
        link.send(BOOT_KICK)
        report = self.report()
        return link, mem, rf, image, report

    def report(self):
        path = self.env["FAKE_QEMU_REPORT"]
        wait_for(lambda: os.path.exists(path), 10, what="fake QEMU report")
        with open(path) as f:
            report = json.load(f)
        os.unlink(path)
        return report

    def test_boot_kick_starts_card_vm(self):
        link, mem, rf, image, rep = self.boot(ramdisk=b"RD" * 3000)
        st = self.fw.status()
        self.assertEqual(st["state"], "booting")
        self.assertEqual(st["card_vm_pid"], rep["pid"])
        self.assertEqual(st["boots"], 1)
        self.assertEqual(rep["pgid"], rep["pid"])      # its own group
        argv = rep["argv"]
        for a, b in (("-machine", "pc,memory-backend=gddr"),
                     ("-cpu", "qemu64,family=11,model=1"), ("-accel", "tcg"),
                     ("-m", "256M"), ("-serial", "chardev:con"),
                     ("-display", "none"), ("-smp", "1"),
                     ("-rtc", "base=2000-01-01T00:00:00")):
            self.assertIn(a, argv)
            self.assertEqual(argv[argv.index(a) + 1], b, a)
        # the card side of the device, linked to this micfw, is micfw's
        self.assertIn("mic-card,chardev=link,dma-rate=6500", argv)
        self.assertIn("socket,id=link,path=" + self.fw.link_path, argv)
        self.assertNotIn("-L", argv)
        for a in ("-nodefaults", "-no-reboot", "-no-user-config"):
            self.assertIn(a, argv)
        self.assertEqual(rep["mem_size"], 256 * MB)
        # only stdio and the card memory cross exec; default signals
        memfd = argv[argv.index("-object") + 1].split("/dev/fd/")[1]
        memfd = memfd.split(",")[0]
        extra = {k: v for k, v in rep["fds"].items() if k not in "012"}
        self.assertEqual(list(extra), [memfd], rep["fds"])
        self.assertTrue(extra[memfd].startswith("/memfd:mic0-gddr"), extra)
        self.assertEqual(rep["sig_blocked"], 0)
        self.assertEqual(rep["sig_ignored"] & (1 << (signal.SIGPIPE - 1)), 0)
        self.assertEqual(bytes.fromhex(rep["kernel"]), image)
        self.assertEqual(bytes.fromhex(rep["initrd"]), b"RD" * 3000)
        self.assertEqual(rep["append"], " mem=256M console=ttyS0 quiet")
        # the card VM's RAM is the card memory: its write shows up here
        wait_for(lambda: mem[0x1000:0x100C] == b"FAKE-CARD-VM",
                 what="card VM write into card memory")
        self.assertEqual(rf.spad(2) & SPAD2_READY, 0)  # bootstrap gone
        self.assertEqual(postcode_text(rf.read(POSTCODE)), "LD")
        self.assertTrue(self.fw.find_events("card-vm-cmdline"))
        self.fw.wait_event("card-vm-stderr")
        kick = self.fw.find_events("boot-kick")[0][1]
        self.assertIn("image=%dB" % len(image), kick)
        self.assertIn('cmdline=" mem=256M console=ttyS0 quiet"', kick)
        # a second kick while the card VM runs is ignored
        link.send(BOOT_KICK)
        self.fw.wait_event("boot-kick-ignored")
        self.assertEqual(self.fw.status()["boots"], 1)
        # the card device links up: the OS is running
        card = self.link()
        card.hello(ROLE_CARD)
        wait_for(lambda: self.fw.status()["state"] == "running")

    def test_no_ramdisk_and_console_log(self):
        con = os.path.join(self.tmp, "con,sole.log")
        self.fw.stop()
        self.fw = Micfw(self.tmp, "--qemu", FAKE_QEMU, "--console-log", con,
                        ready_delay=50, env=self.env)
        link, mem, rf, image, rep = self.boot(ramdisk=None)
        self.assertNotIn("-initrd", rep["argv"])
        self.assertEqual(rep["console"], con)
        self.assertTrue(self.fw.ctl("crash")["ok"])
        self.fw.wait_event("card-vm-exit")
        rf.write(SPAD(2), 0)
        link.send(RESET)
        self.wait_ready(rf)
        self.load_boot(mem, rf, image, "second")
        link.send(BOOT_KICK)
        self.report()
        with open(con) as f:
            lines = f.read().splitlines()
        self.assertEqual(len(lines), 2, lines)          # appended per boot

    def test_hang_resume_crash(self):
        link, mem, rf, image, rep = self.boot()
        pid = rep["pid"]
        self.assertTrue(self.fw.ctl("hang")["ok"])
        wait_for(lambda: pid_state(pid) == "T", what="stopped card VM")
        self.assertEqual(self.fw.status()["state"], "hung")
        self.assertTrue(self.fw.ctl("resume")["ok"])
        wait_for(lambda: pid_state(pid) != "T", what="resumed card VM")
        self.assertEqual(self.fw.status()["state"], "booting")
        self.assertTrue(self.fw.ctl("hang")["ok"])
        self.assertTrue(self.fw.ctl("crash")["ok"])    # kills a stopped VM too
        ev = self.fw.wait_event("card-vm-exit")
        self.assertIn("signal=9", ev[0][1])
        self.assertFalse(pid_alive(pid))
        st = self.fw.status()
        self.assertEqual((st["state"], st["card_vm_pid"]), ("off", None))
        self.assertEqual(postcode_text(st["postcode"]), "HT")
        self.assertFalse(self.fw.ctl("crash")["ok"])

    def test_reset_kills_card_vm(self):
        link, mem, rf, image, rep = self.boot()
        card = self.link()
        card.hello(ROLE_CARD)
        rf.write(SPAD(2), 0)
        link.send(RESET)
        self.fw.wait_event("card-vm-killed")
        self.assertFalse(pid_alive(rep["pid"]))
        self.assertTrue(card.closed())
        self.wait_ready(rf)
        st = self.fw.status()
        self.assertEqual((st["state"], st["boots"], st["resets"]),
                         ("ready", 1, 1))
        self.assertFalse(st["card_connected"])
        # and the next boot works
        self.load_boot(mem, rf, image, "again")
        link.send(BOOT_KICK)
        self.assertEqual(self.report()["append"], "again")
        self.assertEqual(self.fw.status()["boots"], 2)

    def test_card_vm_powers_off(self):
        link, mem, rf, image, rep = self.boot(cmdline="fake.poweroff")
        ev = self.fw.wait_event("card-vm-exit")
        self.assertIn("exit=3", ev[0][1])
        self.assertEqual(self.fw.status()["state"], "off")
        link.send(BOOT_KICK)                            # no bootstrap now
        self.fw.wait_event("boot-kick-ignored")

    def test_sigterm_cleans_up(self):
        link, mem, rf, image, rep = self.boot()
        self.assertEqual(self.fw.stop(), 0)
        self.assertFalse(pid_alive(rep["pid"]))
        self.assertFalse(os.path.exists(self.fw.link_path))
        self.assertFalse(os.path.exists(self.fw.ctl_path))
        self.assertFalse(os.path.exists(self.fw.run_dir))
        self.assertTrue(link.closed())

    def test_card_panic_is_an_nmi_through_the_monitor(self):
        link, mem, rf, image, rep = self.boot(cmdline="fake.nmi_panic")
        self.assertEqual(rep["qmp"], "unix:card-qmp.sock,server=on,wait=off")
        qmp = os.path.join(self.fw.run_dir, "card-qmp.sock")
        wait_for(lambda: os.path.exists(qmp), what="card VM monitor")
        self.assertEqual(self.fw.ctl("card-panic"), {"ok": True, "nmi": "sent"})
        ev = self.fw.wait_event("card-vm-qmp")
        self.assertIn("command=inject-nmi result=ok", ev[0][1])
        ev = self.fw.wait_event("card-vm-exit")
        self.assertIn("exit=0", ev[0][1])
        with open(rep["console"]) as f:
            self.assertIn("fake-qemu: NMI", f.read())
        # micfw logs the exit, then forgets the VM: its socket goes next
        wait_for(lambda: not os.path.exists(qmp), what="card VM monitor socket removed")
        r = self.fw.ctl("card-panic")
        self.assertFalse(r["ok"])
        self.assertIn("no card VM", r["error"])

    def test_card_panic_on_a_silent_monitor(self):
        """A card VM that never answers: one request at a time, and the
        request ends when the VM does."""
        link, mem, rf, image, rep = self.boot(cmdline="fake.qmp_silent")
        qmp = os.path.join(self.fw.run_dir, "card-qmp.sock")
        wait_for(lambda: os.path.exists(qmp), what="card VM monitor")
        self.assertTrue(self.fw.ctl("card-panic")["ok"])
        r = self.fw.ctl("card-panic")
        self.assertFalse(r["ok"])
        self.assertIn("in flight", r["error"])
        self.assertTrue(self.fw.ctl("crash")["ok"])
        ev = self.fw.wait_event("card-vm-qmp")
        self.assertIn("result=closed", ev[0][1])
        self.assertTrue(self.fw.alive())
        self.assertEqual(self.fw.status()["state"], "off")

    def test_micfw_killed_takes_card_vm(self):
        link, mem, rf, image, rep = self.boot()
        os.kill(self.fw.proc.pid, signal.SIGKILL)
        self.fw.proc.wait()
        wait_for(lambda: not pid_alive(rep["pid"]), what="PDEATHSIG")


def tearDownModule():
    kill_leftovers()


if __name__ == "__main__":
    unittest.main()
