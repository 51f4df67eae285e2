# SPDX-License-Identifier: GPL-2.0
"""SCIF RMA checks shared by the host <-> card scenarios (test_scif_rma.py,
on both host stacks) and the card <-> card ones (test_scif_c2c.py): the
scif-rma server and the transfer loop, every byte checked by tools/scif-rma
on both ends."""

import re
import time

# (size, byte offset into our window, byte offset into the peer's window)
XFERS = [(64, 0, 0), (4096, 0, 0), (1048576 + 64, 0, 0), (1001, 3, 3),
         (1001, 3, 130), (65536, 4095, 1)]


def start_server(run, port, log="/tmp/rma-server.log", pidfile="/tmp/rma-server.pid"):
    """Start a scif-rma server with RUN (a (rc, output) runner of one side)
    unless one from PIDFILE still runs; return once it listens."""
    rc, out = run(f"kill -0 $(cat {pidfile} 2>/dev/null) 2>/dev/null || "
                  f"{{ scif-rma -s -p {port} >{log} 2>&1 & echo $! >{pidfile}; }}; "
                  f"for i in $(seq 100); do grep -q listening {log} && exit 0; "
                  f"sleep 0.1; done; cat {log}; exit 1")
    assert rc == 0, f"scif-rma server on port {port} did not start:\n{out}"


def xfers(run, node, port, flags="", kind="xfer", table=XFERS, timeout=600):
    """scif-rma KIND ("xfer": writeto + readfrom of registered windows,
    "vxfer": vwriteto + vreadfrom of a malloc'ed buffer) to NODE for every
    (size, loff, roff) of TABLE; each call must report both directions
    byte-exact."""
    v, local = ("v", r"addr\+") if kind == "vxfer" else ("", "loff ")
    for size, loff, roff in table:
        rc, out = run(f"scif-rma -c {node} -p {port}{flags} -S {size} "
                      f"-l {loff} -r {roff} {kind}", timeout)
        assert rc == 0, out
        for op in ("writeto", "readfrom"):
            assert re.search(rf"{v}{op} {size} bytes \({local}{loff} roff {roff}.*\): ok",
                             out), out


def debugfs(run):
    """micemu's SCIF RMA debugfs (scif/rma) on the side RUN runs on."""
    rc, out = run("cat /sys/kernel/debug/scif/rma")
    assert rc == 0, out
    return out


def stats(run):
    """micemu's SCIF RMA counters on RUN's side: {"cpu_bytes": ..,
    "dma_bytes": .., "signal_dma": .., ...}."""
    return {k: int(v) for k, v in re.findall(r"^(\w+) (\d+)$", debugfs(run), re.M)}


def dma_channels(run, node):
    """DMA channels micemu's SCIF on RUN's side uses toward NODE."""
    m = re.search(rf"node {node} dma_channels (\d+)", debugfs(run))
    return int(m.group(1)) if m else 0


def objects(run):
    """Windows, peer windows, rooms and requests micemu's scif/rma lists."""
    return [line for line in debugfs(run).splitlines()
            if line.split(" ", 1)[0] in ("window", "peer_window", "room", "request")]


def wait_no_objects(run, timeout=20, kinds=None):
    """Wait until RUN's side lists no RMA object (of KINDS, if given);
    return what is left."""
    deadline = time.monotonic() + timeout
    while True:
        left = [o for o in objects(run) if not kinds or o.split(" ", 1)[0] in kinds]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.5)


def wait_no_orphans(run, timeout=15):
    """Wait until RUN's side holds no orphan window (one unregistered while
    the peer still mapped or borrowed it); return those left."""
    deadline = time.monotonic() + timeout
    while True:
        left = [o for o in objects(run) if " orphan" in o]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.5)
