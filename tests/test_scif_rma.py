# SPDX-License-Identifier: GPL-2.0
"""SCIF remote memory access between the host VM and a card VM: windows
registered on one side, written and read from the other through the
emulated link (BAR0 aperture one way, SMPT window the other), checked
byte for byte by tools/scif-rma over /dev/scif and libscif; fences; error
codes; mmap of the peer's windows; peer loss."""

import re
import time

import pytest

PORT = 2100
# (size, byte offset into our window, byte offset into the peer's window)
XFERS = [(64, 0, 0), (4096, 0, 0), (1048576 + 64, 0, 0), (1001, 3, 3),
         (1001, 3, 130), (65536, 4095, 1)]


def start_server(run_ok):
    """Start a scif-rma server (on the side RUN_OK runs on) and wait for it."""
    run_ok(f"scif-rma -s -p {PORT} >/tmp/rma-server.log 2>&1 & "
           "echo $! >/tmp/rma-server.pid")
    run_ok("for i in $(seq 50); do grep -q listening /tmp/rma-server.log "
           "&& exit 0; sleep 0.2; done; cat /tmp/rma-server.log; exit 1")


@pytest.fixture
def rma(system):
    """A card online, scif-rma servers on both sides."""
    s = system
    s.boot_online(0)
    start_server(s.run_ok)
    start_server(lambda cmd: s.card_run_ok(0, cmd))
    return s


def client(s, side):
    """Run function and peer node for a client on SIDE ('host' or 'card')."""
    if side == "host":
        return (lambda cmd, timeout=600: s.run(cmd, timeout)), 1
    return (lambda cmd, timeout=600: s.card_run(0, cmd, timeout)), 0


def server_run(s, side):
    """Run function for the scif-rma server facing a client on SIDE."""
    if side == "host":
        return lambda cmd, timeout=600: s.card_run(0, cmd, timeout)
    return lambda cmd, timeout=600: s.run(cmd, timeout)


def rma_debugfs(run):
    rc, out = run("cat /sys/kernel/debug/scif/rma")
    assert rc == 0, out
    return out


def rma_objects(run):
    """Windows, peer windows, rooms and requests scif/rma lists."""
    return [line for line in rma_debugfs(run).splitlines()
            if line.split(" ", 1)[0] in ("window", "peer_window", "room",
                                         "request")]


def wait_no_rma_objects(run, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        left = rma_objects(run)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.5)


def signals_by_dma(run):
    return int(re.search(r"signal_dma (\d+)", rma_debugfs(run)).group(1))


def rma_stats(run, node):
    """(cpu_bytes, dma_bytes, DMA channels toward NODE) from debugfs."""
    rc, out = run("cat /sys/kernel/debug/scif/rma")
    assert rc == 0, out
    chans = re.search(rf"node {node} dma_channels (\d+)", out)
    return (int(re.search(r"cpu_bytes (\d+)", out).group(1)),
            int(re.search(r"dma_bytes (\d+)", out).group(1)),
            int(chans.group(1)) if chans else 0)


@pytest.mark.parametrize("cpu", [False, True], ids=["default", "usecpu"])
@pytest.mark.parametrize("side", ["host", "card"])
def test_writeto_readfrom(rma, side, cpu):
    """writeto into the peer's window and readfrom back, several sizes and
    unaligned offsets; the server checks every byte of its window, the
    client every byte of its own. USECPU moves nothing by DMA; the default
    moves the aligned bulk with the DMA engine (mic_x100_dma's channels)."""
    run, node = client(rma, side)
    flag = " -u" if cpu else ""
    cpu0, dma0, chans = rma_stats(run, node)
    for size, loff, roff in XFERS:
        rc, out = run(f"scif-rma -c {node} -p {PORT}{flag} -S {size} "
                      f"-l {loff} -r {roff} xfer")
        assert rc == 0, out
        assert re.search(rf"writeto {size} bytes \(loff {loff} roff {roff}.*\): ok", out), out
        assert re.search(rf"readfrom {size} bytes \(loff {loff} roff {roff}.*\): ok", out), out
    cpu1, dma1, _ = rma_stats(run, node)
    assert cpu1 > cpu0
    if cpu:
        assert dma1 == dma0, f"{dma1 - dma0} bytes went by DMA"
    else:
        assert chans > 0, "the link has no DMA channels: is mic_x100_dma bound?"
        # 1 MiB + 64 each way, all but unaligned heads and tails
        assert dma1 - dma0 >= 2 * 1048576, f"only {dma1 - dma0} bytes by DMA"


@pytest.mark.parametrize("side", ["host", "card"])
def test_vwriteto_vreadfrom(rma, side):
    """vwriteto/vreadfrom between a malloc'ed buffer and the peer's window."""
    run, node = client(rma, side)
    for size, loff, roff in XFERS:
        rc, out = run(f"scif-rma -c {node} -p {PORT} -S {size} "
                      f"-l {loff} -r {roff} vxfer")
        assert rc == 0, out
        assert re.search(rf"vwriteto {size} bytes .*: ok", out), out
        assert re.search(rf"vreadfrom {size} bytes .*: ok", out), out


@pytest.mark.parametrize("side", ["host", "card"])
def test_fences(rma, side):
    """fence_mark/wait over our and the peer's RMAs (MARK/WAIT);
    fence_signal's value shows up at the peer only with the data before
    it; the values are stored by DMA status descriptors: ours for
    INIT_SELF, the peer's for INIT_PEER (SIG_REMOTE)."""
    run, node = client(rma, side)
    srv = server_run(rma, side)
    mine0, peer0 = signals_by_dma(run), signals_by_dma(srv)
    rc, out = run(f"scif-rma -c {node} -p {PORT} -S 1048576 fence")
    assert rc == 0, out
    assert "FAIL" not in out and "MISMATCH" not in out, out
    assert "ok: peer saw the value after the data = 0" in out, out
    assert "ok: fence_signal(INIT_PEER, LOCAL) = 0" in out, out
    assert "ok: local value after peer fence = 0" in out, out
    assert signals_by_dma(run) - mine0 >= 2, rma_debugfs(run)
    assert signals_by_dma(srv) - peer0 >= 1, rma_debugfs(srv)


def test_error_codes(rma):
    """-EACCES, -ENXIO, -EINVAL, -EADDRINUSE as upstream documents them."""
    rc, out = rma.run(f"scif-rma -c 1 -p {PORT} errors")
    assert rc == 0, out
    assert "FAIL" not in out, out
    assert out.count("ok: ") >= 20, out


@pytest.mark.parametrize("side", ["host", "card"])
def test_mmap_remote_window(rma, side):
    """mmap() of the peer's window: reads see its bytes, writes land in its
    memory; protection and unregistered offsets refused; after the peer
    unregisters, the pages are gone from the mapping (SIGBUS)."""
    run, node = client(rma, side)
    rc, out = run(f"scif-rma -c {node} -p {PORT} -S 16384 mmap")
    assert rc == 0, out
    assert "FAIL" not in out and "MISMATCH" not in out, out
    assert "mmap write into the peer's window: ok" in out, out
    assert "ok: read after the peer unregistered gets SIGBUS = 0" in out, out


def start_loop(s, side, size, test="loop"):
    """Start an endless RMA loop on SIDE in the background."""
    run, node = client(s, side)
    rc, out = run(f"scif-rma -c {node} -p {PORT} -S {size} {test} "
                  ">/tmp/rma-loop.log 2>&1 & echo $! >/tmp/rma-loop.pid")
    assert rc == 0, out
    for _ in range(100):
        rc, out = run("cat /tmp/rma-loop.log")
        if "looping" in out:
            return run
        time.sleep(0.2)
    pytest.fail(f"RMA loop did not start: {out}")


def wait_loop_end(run, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rc, out = run("kill -0 $(cat /tmp/rma-loop.pid) 2>/dev/null || cat /tmp/rma-loop.log")
        if "rma stopped" in out:
            return out
        time.sleep(0.5)
    pytest.fail("RMA loop still running: the failing peer was not noticed")


def test_card_reset_during_rma(rma):
    """A card reset in the middle of host RMAs ends them with an error,
    neither a hang nor an oops; the card comes back and RMA works again."""
    s = rma
    run = start_loop(s, "host", 1048576)
    s.run_ok("sleep 1; echo reset > /sys/class/mic/mic0/state")
    out = wait_loop_end(run)
    assert re.search(r"rma stopped after \d+ transfers: "
                     r"(Connection reset by peer|No such device|"
                     r"Transport endpoint is not connected)", out), out
    s.wait_state(0, "ready", 120)
    s.boot_online(0)
    start_server(lambda cmd: s.card_run_ok(0, cmd))
    out = s.run_ok(f"scif-rma -c 1 -p {PORT} -S 4096 xfer")
    assert "readfrom 4096 bytes (loff 0 roff 0): ok" in out, out


def test_peer_close_during_rma(rma):
    """The card's server dies while the host loops over RMAs into its
    window: the host sees an error, and the card's windows are gone."""
    s = rma
    run = start_loop(s, "host", 1048576)
    s.card_run_ok(0, "sleep 1; kill -9 $(cat /tmp/rma-server.pid)")
    out = wait_loop_end(run)
    assert re.search(r"rma stopped after \d+ transfers: "
                     r"(Connection reset by peer|No such device|"
                     r"No such device or address|"
                     r"Transport endpoint is not connected)", out), out


def test_garbage_rma_messages(rma):
    """Random RMA messages (uop 19-39, random cookies, addresses, counts)
    injected on the host's node queue are dropped or refused; RMA between
    host and card still works and no kernel trouble shows up."""
    s = rma
    s.run_ok("for uop in $(seq 19 39); do for i in $(seq 8); do "
             "{ head -c 8 /dev/urandom; printf \"\\\\$(printf %03o $uop)\\\\000\\\\000\\\\000\"; "
             "head -c 32 /dev/urandom; } >/tmp/msg; "
             "dd if=/tmp/msg of=/sys/kernel/debug/scif/inject bs=44 count=1 2>/dev/null; "
             "done; done; sleep 1")
    out = s.run_ok(f"scif-rma -c 1 -p {PORT} -S 65536 -l 5 -r 7 xfer")
    assert "readfrom 65536 bytes (loff 5 roff 7): ok" in out, out
    out = s.run_ok(f"scif-rma -c 1 -p {PORT} -S 4096 fence")
    assert "ok: peer saw the value after the data = 0" in out, out


@pytest.mark.parametrize("side", ["host", "card"])
def test_get_pages_pin_pages(rma, side):
    """Kernel-only calls through scif_test.ko: scif_get_pages on the
    server's window reads its bytes; the server's scif_unregister
    succeeds but the pages stay (UNREGISTER_NACK: an orphan window on the
    server) until scif_put_pages (MUNMAP frees it); a window of
    scif_pin_pages + scif_register_pinned_pages is written by the peer."""
    run, node = client(rma, side)
    srv = server_run(rma, side)
    rc, out = run("insmod /lib/micemu/scif_test.ko; test -c /dev/scif_test")
    assert rc == 0, out
    rc, out = run(f"rm -f /tmp/kapi-go; touch /tmp/kapi-hold; "
                  f"scif-rma -c {node} -p {PORT} kapi >/tmp/kapi.log 2>&1 & "
                  "echo $! >/tmp/kapi.pid")
    assert rc == 0, out
    for _ in range(150):
        rc, out = run("cat /tmp/kapi.log")
        if "holding pages" in out or "FAIL" in out:
            break
        time.sleep(0.2)
    assert "holding pages" in out, out
    held = [w for w in rma_objects(srv) if " orphan" in w]
    assert held and "state held" in held[0], rma_debugfs(srv)
    lent = [w for w in rma_objects(run) if w.startswith("peer_window")]
    assert any("lent 32 unregistered" in w for w in lent), rma_debugfs(run)
    run("touch /tmp/kapi-go")
    for _ in range(150):
        rc, out = run("kill -0 $(cat /tmp/kapi.pid) 2>/dev/null && echo running; "
                      "cat /tmp/kapi.log")
        if "running" not in out:
            break
        time.sleep(0.2)
    assert "FAIL" not in out and "MISMATCH" not in out, out
    for line in ("ok: scif_get_pages = 0", "get_pages bytes: ok",
                 "ok: scif_get_pages across the window end = No such device or address",
                 "ok: server unregisters while pages are lent = 0",
                 "lent pages after the server unregistered: ok",
                 "ok: scif_put_pages = 0",
                 "ok: scif_pin_pages + scif_register_pinned_pages = 0",
                 "pinned window bytes: ok",
                 "ok: unregister the pinned window = 0"):
        assert line in out, out
    # MUNMAP reached the server: its orphan window is gone
    deadline = time.monotonic() + 10
    while any(" orphan" in w for w in rma_objects(srv)):
        assert time.monotonic() < deadline, rma_debugfs(srv)
        time.sleep(0.5)
    run("rmmod scif_test")


def test_register_close_races(rma):
    """A client killed in the middle of a register/unregister loop, and a
    server killed under one: the survivors see an error, and once both
    ends closed neither node keeps a window, a peer window, a room or a
    waiting request."""
    s = rma
    run = start_loop(s, "host", 1048576, "regloop")
    s.run_ok("sleep 1; kill -9 $(cat /tmp/rma-loop.pid)")
    run = start_loop(s, "host", 1048576, "regloop")
    s.card_run_ok(0, "sleep 1; kill -9 $(cat /tmp/rma-server.pid)")
    out = wait_loop_end(run)
    assert re.search(r"rma stopped after \d+ registrations: "
                     r"(Connection reset by peer|No such device|"
                     r"Transport endpoint is not connected)", out), out
    assert not wait_no_rma_objects(s.run), rma_debugfs(s.run)
    card = lambda cmd, timeout=60: s.card_run(0, cmd, timeout)
    assert not wait_no_rma_objects(card), rma_debugfs(card)


def test_silent_peer(rma):
    """The card VM frozen (micfw hang) while the host registers and asks
    for a peer mark: scif_register gives up with EAGAIN and
    fence_mark(INIT_PEER) with ETIMEDOUT after alive_timeout_ms, nothing
    wedges; resumed, the card answers the stale ALLOC_REQ, the host sends
    FREE_VIRT for the grant nobody waits for, and RMA works again."""
    s = rma
    s.run_ok("echo 3000 >/sys/module/scif/parameters/alive_timeout_ms")
    try:
        s.run_ok(f"rm -f /tmp/rma-go /tmp/rma-go2; scif-rma -c 1 -p {PORT} "
                 "-S 65536 silent >/tmp/silent.log 2>&1 & "
                 "echo $! >/tmp/silent.pid")
        s.run_ok("for i in $(seq 50); do grep -q connected /tmp/silent.log "
                 "&& exit 0; sleep 0.2; done; cat /tmp/silent.log; exit 1")
        assert s.fw().request("hang")["ok"]
        try:
            s.run_ok("touch /tmp/rma-go")
            s.run_ok("for i in $(seq 150); do grep -q 'waiting for the peer' "
                     "/tmp/silent.log && exit 0; sleep 0.2; done; "
                     "cat /tmp/silent.log; exit 1", timeout=60)
            assert not [w for w in rma_objects(s.run)
                        if w.startswith("window")], rma_debugfs(s.run)
        finally:
            assert s.fw().request("resume")["ok"]
        s.run_ok("touch /tmp/rma-go2")
        s.run_ok("for i in $(seq 300); do kill -0 $(cat /tmp/silent.pid) "
                 "2>/dev/null || exit 0; sleep 0.2; done; exit 1", timeout=90)
        out = s.run_ok("cat /tmp/silent.log")
    finally:
        s.run_ok("echo 30000 >/sys/module/scif/parameters/alive_timeout_ms")
    assert "FAIL" not in out and "MISMATCH" not in out, out
    assert "ok: register with a silent peer = Resource temporarily unavailable" in out, out
    assert "ok: fence_mark(INIT_PEER) with a silent peer = Connection timed out" in out, out
    assert "ok: writeto after the peer is back = 0" in out, out
    assert "peer's window after the writeto: ok" in out, out
    card = lambda cmd, timeout=60: s.card_run(0, cmd, timeout)
    # the late grant was freed: no room left on the card
    assert not [w for w in wait_no_rma_objects(card)
                if w.startswith("room")], rma_debugfs(card)
    assert s.state(0) == "online"
