# SPDX-License-Identifier: GPL-2.0
"""The x100 DMA channels through the dmaengine API (mic_x100_dma.ko driven
by mic_dma_test.ko on both sides): byte-exact copies host memory <-> card
memory on the host-owned channels 0-3 and the card-owned channels 4-7,
STATUS and interrupt completion, channel errors and a card reset.

Buffers: each side's mic_dma_test allocates a 4 MiB buffer and prints its
card physical address ("local 0x..."); the test hands each side the other
side's address ("peer").  The card's buffer is ordinary card-kernel memory,
so the host may DMA into it while the card runs.  Patterns are checked byte
for byte by the side that owns the destination buffer, after the buffer
was filled with a different pattern, so a copy that did nothing fails.

micemu's host stack only: mic_dma_test.ko is built for micemu's kernel,
and upstream's mic_host takes all four host channels for itself when the
card boots (mic_boot.c), so no other dmaengine client (dmatest included)
gets one there; upstream's channels move data in test_scif_rma.py's
upstream RMA-by-DMA scenarios.  The copy, status and channel-error
scenarios share one system; the reset and MSI ones boot their own.
"""

import re

import pytest

SIZES = [64, 1024, 4096, 1048576, 1048576 + 64]
CTL = "/sys/kernel/debug/mic_dma_test/ctl"
FAULTS = ["badtype", "badaddr", "smpt", "misaligned", "ring0", "samehead"]


class Side:
    """One VM's mic_dma_test.ko, driven through its debugfs file."""

    def __init__(self, name, run):
        self.name = name
        self._run = run

    def raw(self, cmd, timeout=300):
        """(rc, output) of one command."""
        return self._run(f"echo '{cmd}' > {CTL}; rc=$?; cat {CTL}; exit $rc", timeout)

    def ok(self, cmd, timeout=300):
        rc, out = self.raw(cmd, timeout)
        assert rc == 0, f"{self.name}: '{cmd}' failed:\n{out}"
        return out


class Dma:
    def __init__(self, system):
        s = system
        self.system = s
        host_run = s.run
        card_run = lambda cmd, timeout=300: s.card_run(0, cmd, timeout)  # noqa: E731
        self.host = Side("host", host_run)
        self.card = Side("card", card_run)
        s.run_ok("insmod /lib/micemu/mic_dma_test.ko")
        s.card_run_ok(0, "grep -q debugfs /proc/mounts || "
                      "mount -t debugfs debugfs /sys/kernel/debug")
        s.card_run_ok(0, "insmod /lib/micemu/mic_dma_test.ko")
        host_out = self.host.ok("open mic0")
        card_out = self.card.ok("open card")
        assert re.search(r"channels 0 1 2 3$", host_out.strip()), host_out
        assert re.search(r"channels 4 5 6 7$", card_out.strip()), card_out
        self.host_addr = int(re.search(r"local (0x[0-9a-f]+)", host_out).group(1), 16)
        self.card_addr = int(re.search(r"local (0x[0-9a-f]+)", card_out).group(1), 16)
        # facts §3.1: host memory appears in the SMPT window, card memory below.
        assert self.host_addr >= 0x8000000000, host_out
        assert self.card_addr < 0x8000000000, card_out
        self.host.ok(f"peer {self.card_addr:#x} 4194304")
        self.card.ok(f"peer {self.host_addr:#x} 4194304")

    def side(self, which):
        return self.host if which == "host" else self.card

    def other(self, which):
        return self.card if which == "host" else self.host


pytestmark = [pytest.mark.usefixtures("host_stack"),
              pytest.mark.parametrize("host_stack", [pytest.param("micemu", id="micemu")],
                                      indirect=True, scope="module")]


@pytest.fixture
def dma(shared):
    """The shared system, card online, mic_dma_test.ko opened on both
    sides (again after any new boot of the card)."""
    s = shared
    if s.ensure_online(0) is not None or getattr(s, "dma", None) is None:
        if getattr(s, "dma", None) is not None:
            s.run_ok("rmmod mic_dma_test")
        s.dma = Dma(s)
    yield s.dma
    assert s.state(0) == "online"


@pytest.fixture
def dma_fresh(make_system):
    # Paced to 1000 MB/s per channel: the 8 GiB queued by
    # test_card_reset_during_transfer then take about 8 s, so the reset
    # lands mid-transfer however fast the machine copies (unpaced, a quiet
    # machine finished them before the reset).
    s = make_system(dma_rate=1000)
    s.boot_online(0)
    return Dma(s)


def copy_checked(d, owner, to_card, size, seed, chan):
    """One copy on OWNER's channel CHAN, checked on the destination side."""
    src = d.host if to_card else d.card
    dst = d.card if to_card else d.host
    runner = d.side(owner)
    # The channel owner's "to_peer" goes from its own buffer to the other side.
    to_peer = (owner == "host") == to_card
    dst.ok(f"fill {seed + 1000} {size}")
    src.ok(f"fill {seed} {size}")
    out = runner.ok(f"copy {'to_peer' if to_peer else 'from_peer'} {size} {chan}")
    assert re.search(rf"ok {size} bytes", out), out
    out = dst.ok(f"check {seed} {size}")
    assert f"ok {size} bytes" in out, out


@pytest.mark.parametrize("owner", ["host", "card"])
@pytest.mark.parametrize("direction", ["host-to-card", "card-to-host"])
def test_copies_byte_exact(dma, owner, direction):
    to_card = direction == "host-to-card"
    for i, size in enumerate(SIZES):
        copy_checked(dma, owner, to_card, size, seed=i + 1, chan=i % 4)
    # The largest size split over the four channels at once.
    copy_checked(dma, owner, to_card, SIZES[-1], seed=99, chan="all")
    for which in ("host", "card"):
        for ch in range(4):
            out = dma.side(which).ok(f"stats {ch}")
            assert re.search(r"failed 0 errors 0", out), out


@pytest.mark.parametrize("owner", ["host", "card"])
def test_status_and_interrupt(dma, owner):
    side = dma.side(owner)
    for ch in range(4):
        out = side.ok(f"status {ch}")
        m = re.search(r"status value ok, callback result 0, interrupts (\d+) -> (\d+)", out)
        assert m, out
        assert int(m.group(2)) > int(m.group(1)), f"no completion interrupt: {out}"


@pytest.mark.parametrize("kind", FAULTS)
def test_channel_error_recovers(dma, kind):
    s = dma.system
    for owner, ch in (("host", 1), ("card", 2)):
        side = dma.side(owner)
        log = "host-console.log" if owner == "host" else "mic0-console.log"
        start = len(s.read_log(log))
        rc, out = side.raw(f"fault {ch} {kind}")
        assert re.search(rf"fault {kind}: status error, errors (\d+) -> (\d+)", out), out
        assert f"after fault {kind}: ok" in out, out
        assert rc == 0, out
        hw = ch if owner == "host" else ch + 4
        # this fault's report (the shared system's console has the others)
        s.wait_log(log, rf"dma ch{hw}: channel error, DCHERR 0x0*[1-9a-f]", 30, start)
        # The channel is usable: a full-size copy both ways, byte-exact.
        copy_checked(dma, owner, True, 1048576 + 64, seed=7, chan=ch)
        copy_checked(dma, owner, False, 1048576 + 64, seed=8, chan=ch)
    # Host and card stay up, the card online.
    assert s.state(0) == "online"
    s.card_run_ok(0, "true")


def test_card_reset_during_transfer(dma_fresh):
    s = dma_fresh.system
    host = dma_fresh.host
    # 8 GiB of copies into the card's buffer, queued at once on channel 0.
    out = host.ok("long 0 2048 4194304")
    assert "queued 2048 copies" in out, out
    s.run_ok("echo reset > /sys/class/mic/mic0/state")
    s.wait_state(0, "ready", 180)
    out = host.ok("longwait 600", timeout=700)
    m = re.search(r"long: done (\d+) failed (\d+) pending 0", out)
    assert m, out
    assert int(m.group(2)) > 0, f"nothing was in flight at the reset: {out}"
    assert re.search(r"mic0 dma ch0: (card reset|registers back at reset values)",
                     s.host_console()), "the reset was not noticed"
    # The card is back (ready): the host's channels copy again, byte-exact,
    # a round trip through card memory on every channel.
    for ch in range(4):
        host.ok(f"fill {ch + 50} 1048640")
        host.ok(f"copy to_peer 1048640 {ch}")
        host.ok("fill 4242 1048640")
        host.ok(f"copy from_peer 1048640 {ch}")
        out = host.ok(f"check {ch + 50} 1048640")
        assert "ok 1048640 bytes" in out, out


def test_host_channels_polled_in_msi_mode(make_system):
    """Without MSI-X no DMA interrupt reaches the host (facts §1.3): the
    host's channels still work, completed by polling.  No card runs, so
    the host may use any card memory; it takes 768 MiB of the 1 GiB."""
    s = make_system(append="mic_x100.irq_mode=msi")
    assert re.search(r"mic0: DMA channels 0-3, polled", s.run_ok("dmesg"))
    s.run_ok("insmod /lib/micemu/mic_dma_test.ko")
    host = Side("host", s.run)
    host.ok("open mic0")
    host.ok("peer 0x30000000 4194304")
    for ch in range(4):
        host.ok(f"fill {ch + 20} 1048640")
        host.ok(f"copy to_peer 1048640 {ch}")
        host.ok("fill 999 1048640")
        host.ok(f"copy from_peer 1048640 {ch}")
        assert "ok 1048640 bytes" in host.ok(f"check {ch + 20} 1048640")
        out = host.ok(f"status {ch}")
        assert re.search(r"status value ok, callback result 0, interrupts 0 -> 0", out), out
