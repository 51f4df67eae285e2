# SPDX-License-Identifier: GPL-2.0
"""SCIF RMA with upstream's SCIF on the host (the "upstream" personality:
Linux 5.9.2's scif, mic_x100_dma, mic_host, unmodified) and micemu's SCIF
on the card: windows registered on either side (upstream's ALLOC_REQ,
ALLOC_GNT, REGISTER, the window and lookup tables each side writes into
the other's memory), written and read byte for byte by tools/scif-rma,
by CPU and by DMA, fences, mmap. Whatever upstream's host does here is
what it would do with a real card's SCIF."""

import os
import re
import subprocess
import time

import pytest

from conftest import LOGROOT
from micemu.system import System, upstream_missing

pytestmark = pytest.mark.skipif(upstream_missing() is not None,
                                reason=upstream_missing() or "")

PORT = 2300
XFERS = [(64, 0, 0), (4096, 0, 0), (1048576 + 64, 0, 0), (1001, 3, 3),
         (65536, 4095, 1)]


@pytest.fixture(scope="module")
def up():
    """One upstream-host system with its card online, scif-rma servers on
    both sides."""
    logdir = os.path.join(LOGROOT, "test_scif_rma_upstream.py")
    subprocess.run(["rm", "-rf", logdir], check=True)
    s = System(logdir, cards=1, host_stack="upstream")
    try:
        s.boot_online(0)
        for run in (s.run_ok, lambda cmd: s.card_run_ok(0, cmd)):
            run(f"scif-rma -s -p {PORT} >/tmp/rma-server.log 2>&1 & "
                "for i in $(seq 50); do grep -q listening /tmp/rma-server.log "
                "&& exit 0; sleep 0.2; done; cat /tmp/rma-server.log; exit 1")
        yield s
    finally:
        s.shutdown()


@pytest.fixture(autouse=True)
def no_kernel_trouble(up):
    before = len(up.kernel_trouble())
    yield
    trouble = up.kernel_trouble()[before:]
    assert not trouble, "kernel trouble in consoles:\n" + "\n".join(trouble)
    assert up.state(0) == "online"


def client(s, side):
    """Run function and peer node for a client on SIDE ('host' or 'card')."""
    if side == "host":
        return (lambda cmd, timeout=600: s.run(cmd, timeout)), 1
    return (lambda cmd, timeout=600: s.card_run(0, cmd, timeout)), 0


def host_dma_descriptors(s):
    """Descriptors posted so far on upstream's host DMA channels, from the
    head pointers (DHPR) in mic_x100_dma's debugfs."""
    out = s.run_ok("cat /sys/kernel/debug/mic_x100_dma/*/mic_dma_reg")
    heads = {}
    for m in re.finditer(r"^(\d+)\s*\|\s*(0x[0-9a-f]+|0)\s+(0x[0-9a-f]+|0)\s+"
                         r"(0x[0-9a-f]+|0)", out, re.M):
        heads[int(m.group(1))] = int(m.group(4), 16)
    assert len(heads) == 4, out
    return heads


def moved(before, after, ring=128 * 1024 - 4):
    return sum((after[c] - before[c]) % ring for c in before)


def card_stats(s):
    out = s.card_run_ok(0, "cat /sys/kernel/debug/scif/rma")
    return {k: int(v) for k, v in re.findall(r"^(\w+) (\d+)$", out, re.M)}


@pytest.mark.parametrize("cpu", [False, True], ids=["dma", "usecpu"])
def test_upstream_host_rma_xfer(up, cpu):
    """Upstream host registers its windows with micemu's card (ALLOC_REQ
    from upstream, our room, upstream writes its chunk lists into card
    memory) and moves data with scif_writeto/readfrom into the card's
    windows (registered by micemu with upstream's host): every byte of both
    windows checked. By DMA the head pointers of upstream's mic_x100_dma
    channels move; with SCIF_RMA_USECPU the bytes go by CPU."""
    run, node = client(up, "host")
    # Upstream returns from a DMA RMA before it is complete unless
    # SCIF_RMA_SYNC is given (the API allows both; micemu always completes
    # first), and the server checks its window right after the call.
    flag = " -u" if cpu else " -y"
    heads0 = host_dma_descriptors(up)
    for size, loff, roff in XFERS:
        rc, out = run(f"scif-rma -c {node} -p {PORT}{flag} -S {size} "
                      f"-l {loff} -r {roff} xfer")
        assert rc == 0, out
        assert re.search(rf"writeto {size} bytes \(loff {loff} roff {roff}.*\): ok", out), out
        assert re.search(rf"readfrom {size} bytes \(loff {loff} roff {roff}.*\): ok", out), out
    posted = moved(heads0, host_dma_descriptors(up))
    print(f"upstream host DMA descriptors posted: {posted}")
    if not cpu:
        assert posted >= 32, f"only {posted} descriptors on upstream's DMA channels"


@pytest.mark.parametrize("cpu", [False, True], ids=["dma", "usecpu"])
def test_upstream_card_rma_xfer(up, cpu):
    """micemu's card registers windows with upstream's host (our ALLOC_REQ,
    upstream's room in host memory, reached through the card's SMPT
    window) and moves data into and out of the host's windows; by DMA the
    card's engine takes the aligned bulk."""
    run, node = client(up, "card")
    flag = " -u" if cpu else ""
    st0 = card_stats(up)
    for size, loff, roff in XFERS:
        rc, out = run(f"scif-rma -c {node} -p {PORT}{flag} -S {size} "
                      f"-l {loff} -r {roff} xfer")
        assert rc == 0, out
        assert re.search(rf"writeto {size} bytes \(loff {loff} roff {roff}.*\): ok", out), out
        assert re.search(rf"readfrom {size} bytes \(loff {loff} roff {roff}.*\): ok", out), out
    st1 = card_stats(up)
    if cpu:
        assert st1["dma_bytes"] == st0["dma_bytes"]
    else:
        assert st1["dma_bytes"] - st0["dma_bytes"] >= 2 * 1048576, (st0, st1)


@pytest.mark.parametrize("side", ["host", "card"])
def test_upstream_vxfer(up, side):
    """vwriteto/vreadfrom (upstream: temporary windows) both ways."""
    run, node = client(up, side)
    sync = " -y" if side == "host" else ""
    for size, loff, roff in XFERS:
        rc, out = run(f"scif-rma -c {node} -p {PORT}{sync} -S {size} "
                      f"-l {loff} -r {roff} vxfer")
        assert rc == 0, out
        assert re.search(rf"vwriteto {size} bytes .*: ok", out), out
        assert re.search(rf"vreadfrom {size} bytes .*: ok", out), out


@pytest.mark.parametrize("side", ["host", "card"])
def test_upstream_fences(up, side):
    """fence_mark/wait on own and peer RMAs (MARK/WAIT across upstream and
    micemu), fence_signal(INIT_SELF, LOCAL|REMOTE), the value seen only
    with the data. The card's own signals go by DMA status descriptors.
    Upstream's INIT_PEER signal with SIGNAL_LOCAL alone writes rval at
    roff in the peer's window (the quirk in README.md), so the tool's
    INIT_PEER|LOCAL check is not expected to pass with upstream's host as
    the client."""
    run, node = client(up, side)
    sig0 = card_stats(up)["signal_dma"]
    rc, out = run(f"scif-rma -c {node} -p {PORT} -S 1048576 fence")
    quirk = ("INIT_PEER, LOCAL", "local value after peer fence")
    bad = [line for line in out.splitlines()
           if ("FAIL" in line or "MISMATCH" in line)
           and not (side == "host" and any(q in line for q in quirk))]
    assert not bad, out
    assert "ok: peer saw the value after the data = 0" in out, out
    assert "ok: fence_mark(INIT_PEER) = 0" in out, out
    assert "ok: fence_wait(peer mark) = 0" in out, out
    assert "data after peer mark/wait: ok" in out, out
    if side == "card":
        assert rc == 0, out
        assert card_stats(up)["signal_dma"] - sig0 >= 2


@pytest.mark.parametrize("side", ["host", "card"])
def test_upstream_mmap(up, side):
    """mmap of the peer's window across the personality boundary: reads
    see its bytes, writes land in its memory. Upstream's host keeps a
    mapped window when our card unregisters it (UNREGISTER_NACK): the
    card keeps the pages pinned (an orphan) until upstream's MUNMAP after
    munmap(), then frees them."""
    run, node = client(up, side)
    rc, out = run(f"scif-rma -c {node} -p {PORT} -S 16384 mmap")
    assert "mmap write into the peer's window: ok" in out, out
    assert "mmap read of the peer's window: ok" in out, out
    if side == "card":
        assert "ok: read after the peer unregistered gets SIGBUS = 0" in out, out
    deadline = time.monotonic() + 15
    while True:
        card = up.card_run_ok(0, "cat /sys/kernel/debug/scif/rma")
        if " orphan" not in card or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert " orphan" not in card, card


def test_upstream_get_pages_pin_pages(up):
    """The card borrows pages of a window upstream's host registered
    (scif_get_pages, through scif_test.ko) and reads them; upstream's
    scif_unregister meets our UNREGISTER_NACK and keeps the pages until our
    scif_put_pages sends MUNMAP; a window of scif_pin_pages +
    scif_register_pinned_pages on the card is written by upstream's host."""
    card = lambda cmd, timeout=300: up.card_run(0, cmd, timeout)  # noqa: E731
    rc, out = card("insmod /lib/micemu/scif_test.ko; test -c /dev/scif_test")
    assert rc == 0, out
    rc, out = card(f"rm -f /tmp/kapi-hold; scif-rma -c 0 -p {PORT} kapi")
    assert rc == 0, out
    for line in ("ok: scif_get_pages = 0", "get_pages bytes: ok",
                 "ok: server unregisters while pages are lent = 0",
                 "lent pages after the server unregistered: ok",
                 "ok: scif_put_pages = 0",
                 "ok: scif_pin_pages + scif_register_pinned_pages = 0",
                 "pinned window bytes: ok",
                 "ok: unregister the pinned window = 0"):
        assert line in out, out
    deadline = time.monotonic() + 15
    while True:
        dbg = up.card_run_ok(0, "cat /sys/kernel/debug/scif/rma")
        if "peer_window" not in dbg or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert "lent" not in dbg or "unregistered" not in dbg, dbg
    card("rmmod scif_test")
