# SPDX-License-Identifier: GPL-2.0
"""micemu's host VOP (mic_vop_host.ko) against a hostile card.

The host side runs vop-serve, a minimal back end on /dev/vop_virtio0 (what
mpssd does, for one device of virtio type 127, which no card driver
serves). On the card, mic_vop_badcard.ko takes that device over (in place
of the card's VOP driver, mic_card_vop.ko, which is unloaded) and sends
one kind of bad input (issue 9, "Bad input"). The host must log an error
naming it, stop that device (debugfs mic_vop/mic0 says "stopped"), copy
nothing, never oops, and stay healthy: the next device added on the same
card works (the "good" exchange, byte-exact both ways).

One booted system serves all scenarios (module scope).
"""

import os
import re
import subprocess
import time

import pytest

from micemu.system import TOP, System

LOGROOT = os.path.join(TOP, "logs", "tests")
SERVE_LOG = "/tmp/vop-serve.log"
DBG = "/sys/kernel/debug/mic_vop/mic0"


@pytest.fixture(scope="module")
def vs():
    logdir = os.path.join(LOGROOT, "test_vop_hostile.py")
    subprocess.run(["rm", "-rf", logdir], check=True)
    s = System(logdir, cards=1)
    s.boot_online(0)
    # The hostile module stands in for the card's VOP driver (loaded by
    # the card's init after its COSM client: wait for it).
    s.card_run_ok(0, "for i in $(seq 100); do grep -q '^mic_card_vop ' /proc/modules "
                  "&& break; sleep 0.2; done; rmmod mic_card_vop")
    yield s
    s.shutdown()


@pytest.fixture(autouse=True)
def no_kernel_trouble(request):
    """Fail the scenario on a new BUG/WARNING/Oops line in any console."""
    if "vs" not in request.fixturenames:
        yield
        return
    s = request.getfixturevalue("vs")
    before = len(s.kernel_trouble())
    yield
    trouble = s.kernel_trouble()[before:]
    assert not trouble, "kernel trouble in consoles:\n" + "\n".join(trouble)


def fnv(data):
    h = 2166136261
    for b in data:
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h


def serve(s, seed=1, extra=""):
    """Start vop-serve in the host VM; return once the device is added."""
    s.run_ok(f"vop-serve -s {seed} {extra} >{SERVE_LOG} 2>&1 & echo $! >/tmp/vop-serve.pid")
    deadline = time.monotonic() + 30
    while True:
        out = s.run_ok(f"cat {SERVE_LOG}")
        if "mmap: vring magics ok" in out:
            return out
        assert "add:" not in out or "add: type" in out, out
        assert time.monotonic() < deadline, f"vop-serve did not start:\n{out}"
        time.sleep(0.3)


def stop_serve(s):
    s.run_ok("kill $(cat /tmp/vop-serve.pid)")
    deadline = time.monotonic() + 30
    while "closed" not in s.run_ok(f"cat {SERVE_LOG}"):
        assert time.monotonic() < deadline, s.run_ok(f"cat {SERVE_LOG}")
        time.sleep(0.3)
    return s.run_ok(f"cat {SERVE_LOG}")


def badcard(s, attack, **params):
    args = " ".join(f"{k}={v}" for k, v in params.items())
    return s.card_run(0, f"dmesg -c >/dev/null; insmod /lib/micemu/mic_vop_badcard.ko"
                      f" attack={attack} {args} && dmesg | grep vop_badcard")


def unload_badcard(s):
    rc, out = s.card_run(0, "dmesg -c >/dev/null; rmmod mic_vop_badcard && dmesg | grep vop_badcard")
    assert rc == 0, out
    assert "reset acknowledged by the host" in out, out


def wait_dmesg(s, pattern, start, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        dmesg = s.run_ok("dmesg")
        m = re.search(pattern, dmesg[start:])
        if m:
            return m
        assert time.monotonic() < deadline, f"'{pattern}' not in host dmesg:\n{dmesg[start:][-3000:]}"
        time.sleep(0.3)


def good_exchange(s, seed=5, length=4096, off=0):
    """A well-behaved exchange on a fresh device: byte-exact both ways."""
    serve(s, seed=seed)
    rc, out = badcard(s, "good", seed=seed, len=length, off=off)
    assert rc == 0, out
    host = s.run_ok(f"cat {SERVE_LOG}")
    card_rd = re.search(r"readable fnv (0x[0-9a-f]+)", out).group(1)
    vq0 = re.search(r"vq 0: used idx (\d+) id 0 len (\d+)", out)
    vq1 = re.search(r"vq 1: used idx (\d+) id 0 len (\d+), written fnv (0x[0-9a-f]+)", out)
    assert vq0 and vq1, out
    assert (vq0.group(1), vq0.group(2)) == ("1", str(length)), out
    assert (vq1.group(1), vq1.group(2)) == ("1", str(length)), out
    # The host read what the card wrote and the card got the host's pattern.
    assert f"vq 0: {length} bytes, fnv {card_rd}" in host, host
    pattern = bytes((k * 7 + seed) & 0xFF for k in range(length))
    assert int(vq1.group(3), 16) == fnv(pattern), (out, host)
    assert f"vq 1: {length} bytes, fnv {fnv(pattern):#010x}" in host, host
    stats = s.run_ok(f"cat {DBG}")
    unload_badcard(s)
    stop_serve(s)
    return stats


def test_vop_host_good_exchange(vs):
    """Baseline: the device is added, mapped read-only, data moves both ways."""
    out = serve(vs)
    assert "mmap: entry type 127 at 24" in out, out
    assert "writable mapping allowed" not in out, out
    dmesg = vs.run_ok("dmesg")
    assert re.search(r"vop_virtio0: added virtio device 127 at 24, doorbell \d", dmesg), dmesg[-2000:]
    stop_serve(vs)
    stats = good_exchange(vs, seed=3, length=4096)
    assert re.search(r"in 4096 out 4096 dma 0 ", stats), stats


def test_vop_host_dma_copies(vs):
    """With use_dma=1 (off by default: it does not pay under TCG), large
    unaligned buffers go through the DMA engine, still byte-exact."""
    params = "/sys/module/mic_vop_host/parameters"
    assert vs.run_ok(f"cat {params}/use_dma").strip() == "N"
    vs.run_ok(f"echo 1 >{params}/use_dma")
    try:
        stats = good_exchange(vs, seed=9, length=60000, off=3)
    finally:
        vs.run_ok(f"echo 0 >{params}/use_dma")
    # The readable buffer by DMA (60000 bytes from 3 bytes into a page,
    # rounded to 64-byte blocks); the writable one is unaligned: by CPU.
    m = re.search(r"in 60000 out 60000 dma (\d+) dma_errors 0", stats)
    assert m and int(m.group(1)) == 60032, stats


BAD = [
    ("head", r"vring 0: head 133 out of range \(ring of 128\)"),
    ("next", r"vring 0: descriptor 0: next 200 out of range"),
    ("loop", r"vring 0: descriptor chain from 0 loops \(more than 128\)"),
    ("len", r"vring 0: descriptor 0 buffer 0x3ffffff0\+4096 outside card memory"),
    ("wrap", r"vring 0: descriptor 0 buffer 0xffffffffffffff9b\+4096 outside card memory"),
    ("indirect", r"vring 0: indirect descriptor 0 \(not offered\)"),
    ("order", r"vring 0: readable descriptor 1 after a writable one"),
    ("avail", r"vring 0: avail index jumped from 0 to 131 \(ring of 128\)"),
    ("used_addr", r"vring 0: used ring at 0x40000000 \(\+4096\) outside card memory"),
    ("rewrite", r"device page entry rewritten \(vring 0 at 0x1000, 128 entries\)"),
    ("rewrite_type", r"device page entry rewritten \(type 5 num_vq 2 feature_len 4 config_len 0\)"),
    ("rewrite_db", r"device page entry rewritten \(doorbell 7\)"),
]


@pytest.mark.parametrize("attack,message", BAD, ids=[a for a, _ in BAD])
def test_vop_host_rejects(vs, attack, message):
    """One kind of bad input: logged, the device stopped, the host fine."""
    start = len(vs.run_ok("dmesg"))
    serve(vs, seed=2)
    rc, out = badcard(vs, attack)
    assert rc == 0, out
    m = wait_dmesg(vs, r"vop_virtio0: virtio device 127 at \d+: (.*); device stopped", start)
    assert re.search(message, m.group(1)), m.group(0)
    stats = vs.run_ok(f"cat {DBG}")
    assert re.search(r"type 127 at \d+: stopped: ", stats), stats
    # Nothing was copied from or to the bad buffers.
    assert re.search(r"in 0 out 0 dma 0", stats), stats
    host = vs.run_ok(f"cat {SERVE_LOG}")
    assert not re.search(r"vq \d: \d+ bytes", host), host
    unload_badcard(vs)
    stop_serve(vs)
    # The host is healthy: the card is online and a new device works.
    assert vs.state(0) == "online"
    good_exchange(vs, seed=7)


def test_vop_host_ignores_used_index_rewrite(vs):
    """The host keeps its own used index: a card that rewrites it in its
    memory gets it overwritten by the next completion; nothing else."""
    start = len(vs.run_ok("dmesg"))
    serve(vs, seed=4)
    rc, out = badcard(vs, "used_idx", seed=4)
    assert rc == 0, out
    assert re.search(r"vq 0: used idx 1 id 0 len 4096", out), out
    assert "device stopped" not in vs.run_ok("dmesg")[start:]
    unload_badcard(vs)
    stop_serve(vs)
