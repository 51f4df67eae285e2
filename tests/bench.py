#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""make bench: figures measured on real runs of the whole system.

Every figure comes from fresh systems under the acceleration the harness
uses (TCG by default), booted the way the tests boot them.  This is a
benchmark, not a test: it prints numbers and fails only if the system does
not work at all.  MICEMU_BENCH_RUNS (default 5) sets the number of runs.
"""

import ctypes
import os
import re
import shutil
import statistics
import sys
import time
import xml.etree.ElementTree as ET

# run as a script: its own directory, tests/, is first on sys.path
from micemu import latency
from micemu.system import FAST_COSM_CARD, FAST_HEARTBEAT_HOST, TOP, System

RUNS = int(os.environ.get("MICEMU_BENCH_RUNS", "5"))


def logdir(name):
    """A fresh log directory for one system of this run (the logs append,
    and the boot profile reads the first matching line)."""
    path = os.path.join(TOP, "logs", "bench", name)
    shutil.rmtree(path, ignore_errors=True)
    return path


def _wall(path, pattern):
    """Time of day (seconds) of the first line of a micemu log (ISO time
    stamp first) that matches PATTERN, or None."""
    from datetime import datetime
    with open(path, errors="replace") as f:
        for ln in f:
            if re.search(pattern, ln):
                stamp = ln.split()[0].rstrip("Z")
                return datetime.fromisoformat(stamp).timestamp()
    return None


def _uptime(path, pattern):
    """Guest uptime (s) of the first console line matching PATTERN."""
    with open(path, errors="replace") as f:
        for ln in f:
            m = re.match(r"\[\s*(\d+\.\d+)\]", ln)
            if m and re.search(pattern, ln):
                return float(m.group(1))
    return None


BOOT_STEPS = (
    ("run-vm.sh start to host QEMU running", "run"),
    ("host QEMU to the card's boot kick", "kick"),
    ("  of which host kernel start to /init (uptime)", "init"),
    ("boot kick to card VM started (micfw)", "cardvm"),
    ("card VM started to online seen by the harness", "online"),
    ("  of which card kernel start to SCIF up (uptime)", "scif"),
    ("  of which SCIF up to COSM connected (uptime)", "cosm"),
)


def boot_profile(d, t_online):
    """Where a 1-card boot's time went, from its logs (seconds)."""
    run = _wall(f"{d}/run-vm.log", r"acceleration:")
    qemu = _wall(f"{d}/run-vm.log", r"host VM started")
    kick = _wall(f"{d}/mic0-fw.log", r" boot-kick ")
    cardvm = _wall(f"{d}/mic0-fw.log", r" card-vm-start ")
    scif = _uptime(f"{d}/mic0-console.log", r"scif: node 0 online")
    cosm = _uptime(f"{d}/mic0-console.log", r"mic_cosm_client: connected")
    out = {"run": qemu - run, "kick": kick - qemu,
           "init": _uptime(f"{d}/host-console.log", r"Run /init"),
           "cardvm": cardvm - kick, "online": t_online - cardvm,
           "scif": scif, "cosm": cosm - scif if cosm and scif else None}
    return out


def boot_to_online(name, cards):
    """Seconds from starting the host VM to every card online, the crash
    detection time (1 card) and the boot's profile (1 card)."""
    t0 = time.monotonic()
    t0_wall = time.time()
    s = System(logdir(name), cards=cards, append=FAST_HEARTBEAT_HOST)
    try:
        for i in range(cards):
            s.set_card_cmdline(i, FAST_COSM_CARD)
            s.run_ok(f"micctrl boot mic{i}")
        for i in range(cards):
            s.wait_state(i, "online", 600)
        online = time.monotonic() - t0
        crash = profile = None
        if cards == 1:
            profile = boot_profile(s.logdir, t0_wall + online)
            # Crash detection with the compressed timers (2 s + 3 s).
            t1 = time.monotonic()
            s.fw(0).request("crash")
            s.wait_state(0, "shutting_down", 120)
            crash = time.monotonic() - t1
        return online, crash, profile
    finally:
        s.shutdown()


def wait_server(run, port, kind, log):
    run(f"scif-pingpong {kind} -p {port} >{log} 2>&1 & "
        f"for i in $(seq 100); do grep -q 'server on port' {log} && break; "
        f"sleep 0.1; done; grep -q 'server on port {port}' {log}")


def scif_figures():
    """8-byte round trip, and one-way scif_send() bandwidth of 64 KiB
    messages each way (the sink checks every byte and acks the end)."""
    s = System(logdir("scif"), cards=1)
    try:
        s.boot_online(0)
        card = lambda cmd, timeout=120: s.card_run_ok(0, cmd, timeout)  # noqa: E731
        wait_server(card, 2000, "-s", "/tmp/echo.log")
        wait_server(card, 2002, "-d", "/tmp/sink.log")
        wait_server(s.run_ok, 2002, "-d", "/tmp/sink.log")
        out = s.run_ok("scif-pingpong -c 1 -p 2000 -n 2000 -S 8", timeout=600)
        rtt = float(re.search(r"rtt_us min [\d.]+ avg ([\d.]+)", out).group(1))
        bw = {}
        out = s.run_ok("scif-pingpong -c 1 -o -p 2002 -n 200 -S 65536", timeout=600)
        bw["host to card"] = float(re.search(r"oneway_MBps ([\d.]+)", out).group(1))
        out = card("scif-pingpong -c 0 -o -p 2002 -n 200 -S 65536", timeout=600)
        bw["card to host"] = float(re.search(r"oneway_MBps ([\d.]+)", out).group(1))
        return rtt, bw
    finally:
        s.shutdown()


def scif_breakdown(n=2000):
    """The 8-byte round trip again, on a system whose QEMUs log the six
    points of its path with time stamps (tests/micemu/latency.py)."""
    s = System(logdir("scif-breakdown"), cards=1, trace_events=latency.EVENTS)
    try:
        s.boot_online(0)
        card = lambda cmd, timeout=120: s.card_run_ok(0, cmd, timeout)  # noqa: E731
        wait_server(card, 2000, "-s", "/tmp/echo.log")
        since = time.time()
        out = s.run_ok(f"scif-pingpong -c 1 -p 2000 -n {n} -S 8", timeout=600)
        rtt = float(re.search(r"rtt_us min [\d.]+ avg ([\d.]+)", out).group(1))
    finally:
        s.shutdown()
    parts = latency.breakdown(
        latency.read_events(os.path.join(s.logdir, "host-qemu.log")),
        latency.read_events(latency.card_trace_file(s.logdir)), since, n)
    return (rtt, latency.summary(parts),
            latency.summary(parts, latency.WHOLE) + latency.summary(parts, latency.PATH))


def c2c_figures():
    """Card (node 1) to card (node 2), peer to peer through the BARs."""
    s = System(logdir("scif-c2c"), cards=2)
    try:
        for i in range(2):
            s.run_ok(f"micctrl boot mic{i}")
        for i in range(2):
            s.wait_state(i, "online", 600)
        s.card_run_ok(1, "scif-pingpong -s -p 2000 >/tmp/srv.log 2>&1 & "
                      "for i in $(seq 100); do grep -q 'server on port' /tmp/srv.log && break; "
                      "sleep 0.1; done")
        out = s.card_run_ok(0, "scif-pingpong -c 2 -p 2000 -n 2000 -S 8", timeout=600)
        rtt = float(re.search(r"rtt_us min [\d.]+ avg ([\d.]+)", out).group(1))
        out = s.card_run_ok(0, "scif-pingpong -c 2 -p 2000 -n 200 -S 65536", timeout=600)
        bw = float(re.search(r"bandwidth_MBps ([\d.]+)", out).group(1))
        return rtt, bw
    finally:
        s.shutdown()


def rma_figures():
    """scif_writeto/scif_readfrom of 4 MiB between registered windows and
    64-byte RMA latency, each way, next to memcpy of the same size in the
    VM that issues them (tools/scif-rma bench)."""
    s = System(logdir("rma"), cards=1)
    figs = {}
    try:
        s.boot_online(0)
        card = lambda cmd, timeout=600: s.card_run_ok(0, cmd, timeout)  # noqa: E731
        for run in (s.run_ok, card):
            run("scif-rma -s -p 2100 >/tmp/rma.log 2>&1 & "
                "for i in $(seq 100); do grep -q listening /tmp/rma.log && break; "
                "sleep 0.1; done; grep -q listening /tmp/rma.log")
        for who, run, node in (("host", s.run_ok, 1), ("card", card, 0)):
            out = run(f"scif-rma -c {node} -p 2100 -S 4194304 -n 10 bench",
                      timeout=900)
            vals = dict(re.findall(r"^(\w+) ([\d.]+)", out, re.M))
            figs[who] = {k: float(v) for k, v in vals.items()}
        return figs
    finally:
        s.shutdown()


def host_memcpy_ceiling(size=4 << 20, reps=50):
    """MB/s of memcpy of SIZE bytes on the machine itself, outside the VMs:
    the ceiling for a DMA engine that is a memcpy inside QEMU.  libc's
    memmove through ctypes (the call costs a microsecond, the copy about a
    hundred); buffers touched first, median of REPS."""
    src = ctypes.create_string_buffer(b"\x5a" * size, size)
    dst = ctypes.create_string_buffer(size)
    ctypes.memmove(dst, src, size)
    vals = []
    for _ in range(reps):
        t0 = time.perf_counter()
        ctypes.memmove(dst, src, size)
        vals.append(size / (time.perf_counter() - t0) / 1e6)
    return statistics.median(vals), min(vals), max(vals)


def dma_figures(reps=10):
    """MB/s of 4 MiB DMA copies, one channel and split over four, each
    next to a plain memcpy of the same size in the same VM.  Default
    heartbeat timers on both sides (compressing the host's alone would
    take the card for crashed while the copies run)."""
    from test_dma import Dma
    s = System(logdir("dma"), cards=1)
    figures = []
    try:
        s.boot_online(0)
        d = Dma(s)
        for owner in ("host", "card"):
            side = d.side(owner)
            for label, to_peer in (("host->card", owner == "host"),
                                   ("card->host", owner == "card")):
                for nch in (1, 4):
                    out = side.ok(f"bench {'to_peer' if to_peer else 'from_peer'} "
                                  f"4194304 {nch} {reps}", timeout=600)
                    m = re.search(r"dma_MBps (\d+) memcpy_MBps (\d+)", out)
                    figures.append((f"DMA 4 MiB {label}, {owner} channels, {nch} ch",
                                    int(m.group(1)), owner, int(m.group(2)),
                                    label, nch))
        return figures
    finally:
        s.shutdown()


def dma_engine_figures(reps=5, desc_mib=8, descs=96):
    """MB/s of the DMA engine alone, no guest: a standalone mic-x100 under
    qtest (qemu-mic-device/tests/test_mic_dma.py's set-up), DESCS
    descriptors of DESC_MIB MiB in card memory (the same 64 MiB each
    round), on 1 channel or spread over 4, with the channels in threads
    (dma-threads=on, the default) and in the main loop (off).  Medians of
    REPS; the time runs from the DHPR writes to the last channel seen idle
    (qtest polling every 5 ms: about 1 % of a round)."""
    sys.path.insert(0, os.path.join(TOP, "qemu-mic-device", "tests"))
    import test_mic_dma as T
    mib = 1 << 20
    figures = {}
    for threads in ("on", "off"):
        class Engine(T.HostDmaBase):
            DEVICE_ARGS = ",dma-threads=" + threads

            def runTest(self):
                pass
        t = Engine()
        t.setUp()
        try:
            chans = [t.channel(n) for n in range(4)]
            for nch in (1, 4):
                vals = []
                for _ in range(reps):
                    for i, ch in enumerate(chans[:nch]):
                        ch.setup(ch.ring_card, 128)
                        slots = [(2 * i + k % 2) * desc_mib * mib
                                 for k in range(descs // nch)]
                        ch.queue([T.memcpy_desc(16 * mib + s, 128 * mib + s,
                                                desc_mib * mib)
                                  for s in slots])
                    t0 = time.monotonic()
                    for ch in chans[:nch]:
                        ch.set(T.DHPR, ch.head)
                    for ch in chans[:nch]:
                        if ch.wait_idle(60) & T.HALTED:
                            raise RuntimeError(f"DMA channel {ch.n} halted")
                    vals.append(descs * desc_mib * mib /
                                (time.monotonic() - t0) / 1e6)
                figures[(threads, nch)] = (statistics.median(vals),
                                           min(vals), max(vals))
        finally:
            t.tearDown()
    return figures


def vop_figures(stack, reps=3):
    """MiB/s through a card's VOP devices served by upstream's mpssd on
    host stack STACK: virtio-blk (dd of 32 MiB on the card's /dev/vda,
    reads after dropping the card's caches) and virtio-net (busybox wget of
    a 16 MiB file from an httpd on the other side), next to dd of 64 MiB
    into the card VM's RAM-backed root file system (the in-VM copy
    ceiling). Medians of REPS transfers on one system."""
    from micemu.system import upstream_missing
    if upstream_missing():
        return []
    s = System(logdir(f"vop-{stack}"), cards=1, host_stack=stack, mpssd=True,
               mpssd_disk="64M")
    timed = "a=$(cut -d' ' -f1 /proc/uptime); {} >/dev/null 2>&1; " \
            "b=$(cut -d' ' -f1 /proc/uptime); echo \"T $a $b\""

    def mibps(run, cmd, mib):
        vals = []
        for _ in range(reps):
            a, b = (float(x) for x in re.search(r"T (\S+) (\S+)",
                                                run(timed.format(cmd))).groups())
            vals.append(mib / max(b - a, 0.01))
        return statistics.median(vals)

    def card(cmd):
        return s.card_run_ok(0, cmd, timeout=600)

    def host(cmd):
        return s.run_ok(cmd, timeout=600)

    try:
        s.boot_online(0)
        for _ in range(120):
            if s.run("ping -c 1 -W 2 mic0")[0] == 0 and \
                    s.card_run(0, "test -b /dev/vda")[0] == 0:
                break
            time.sleep(1)
        host("mkdir -p /tmp/www && dd if=/dev/urandom of=/tmp/www/f bs=1M count=16 "
             "2>/dev/null && (httpd -p 8091 -h /tmp/www)")
        card("mkdir -p /tmp/www && dd if=/dev/urandom of=/tmp/www/f bs=1M count=16 "
             "2>/dev/null && (httpd -p 8091 -h /tmp/www)")
        return [
            ("virtio-blk write 32 MiB (card to host file)",
             mibps(card, "dd if=/dev/zero of=/dev/vda bs=1M count=32 conv=fsync", 32)),
            ("virtio-blk read 32 MiB (host file to card)",
             mibps(card, "echo 3 >/proc/sys/vm/drop_caches; "
                         "dd if=/dev/vda of=/dev/null bs=1M count=32", 32)),
            ("virtio-net 16 MiB host to card (card wget)",
             mibps(card, "wget -q -O /dev/null http://host:8091/f", 16)),
            ("virtio-net 16 MiB card to host (host wget)",
             mibps(host, "wget -q -O /dev/null http://mic0:8091/f", 16)),
            ("card VM: dd 64 MiB into its RAM file system",
             mibps(card, "dd if=/dev/zero of=/tmp/ceiling bs=1M count=64; rm -f /tmp/ceiling",
                   64)),
        ]
    finally:
        s.shutdown()


def goal(value, op, target, unit):
    """'goal <= 3 s: met' (or 'NOT met'), for the figure VALUE."""
    ok = value <= target if op == "<=" else value >= target
    return f"[goal {op} {target:g} {unit}: {'met' if ok else 'NOT met'}]"


def line(name, vals, unit="s", want=None):
    med = statistics.median(vals)
    tail = f"  {goal(med, *want, unit)}" if want else ""
    print(f"  {name:52s} {med:8.2f} {unit}  (min {min(vals):.2f}, "
          f"max {max(vals):.2f}, n={len(vals)}){tail}")


def last_suite_time():
    """(seconds, scenarios, when) of the last `make test`'s pytest run, from
    logs/junit.xml, or None."""
    path = os.path.join(TOP, "logs", "junit.xml")
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return None
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    if suite is None:
        return None
    return (float(suite.get("time", 0)), int(suite.get("tests", 0)),
            suite.get("timestamp", "?"))


def main():
    accel = os.environ.get("MICEMU_ACCEL", "tcg")
    print(f"micemu bench: accel {accel}, medians of {RUNS} fresh systems")
    ceiling = host_memcpy_ceiling()
    print(f"  {'memcpy 4 MiB on this machine, outside the VMs':52s} "
          f"{ceiling[0]:8.0f} MB/s  (min {ceiling[1]:.0f}, max {ceiling[2]:.0f}, "
          "n=50): the DMA ceiling")
    one = [boot_to_online(f"online1-{i}", 1) for i in range(RUNS)]
    line("host VM start to card online, 1 card", [r[0] for r in one],
         want=("<=", 3))
    print("  1-card boot, where the time goes (medians, from the logs):")
    for label, key in BOOT_STEPS:
        vals = [r[2][key] for r in one if r[2][key] is not None]
        if vals:
            print(f"    {label:50s} {statistics.median(vals):6.2f} s")
    four = [boot_to_online(f"online4-{i}", 4) for i in range(RUNS)]
    line("host VM start to all cards online, 4 cards", [r[0] for r in four],
         want=("<=", 5))
    line("crash (card VM killed) to crashed, timeout 2+3 s", [r[1] for r in one])
    rtt, bw = scif_figures()
    print(f"  {'SCIF round trip, 8-byte messages (2000 msgs)':52s} {rtt:8.1f} us  "
          f"{goal(rtt, '<=', 50, 'us')}")
    for who, val in bw.items():
        print(f"  {'SCIF scif_send bandwidth, 64 KiB msgs, ' + who:52s} {val:8.2f} MB/s "
              f"one way  {goal(val, '>=', 500, 'MB/s')}")
    rtt, rows, whole = scif_breakdown()
    print(f"  SCIF round trip, where the time goes (a traced run, {rtt:.1f} us "
          "average round trip):")
    total = 0.0
    for name, what, med, p90, n in rows + whole:
        if med is None:
            print(f"    {name:18s}      n/a  ({what}: no samples)")
            continue
        if (name, what) in latency.PATH:
            total += med
        print(f"    {name:18s} {med:8.1f} us median, p90 {p90:.1f} us, n={n}  ({what})")
    print(f"    {'sum of the path':18s} {total:8.1f} us  (the four doorbell-to-doorbell "
          "medians)")
    rtt, bw = c2c_figures()
    print(f"  {'SCIF card-to-card round trip, 8-byte messages':52s} {rtt:8.1f} us")
    print(f"  {'SCIF card-to-card echo bandwidth, 64 KiB messages':52s} {bw:8.2f} MB/s each way")
    dma = dma_figures()
    one_ch = {}
    for name, mbps, owner, memcpy, label, nch in dma:
        if nch == 1:
            one_ch[(owner, label)] = mbps
            want = goal(mbps, ">=", round(0.9 * ceiling[0]), "MB/s (90 % of memcpy)")
        else:
            want = goal(mbps, ">=", one_ch[(owner, label)], "MB/s (1 ch)")
        print(f"  {name:52s} {mbps:8d} MB/s  (memcpy 4 MiB in the {owner} VM: "
              f"{memcpy} MB/s)  {want}")
    eng = dma_engine_figures()
    for threads in ("on", "off"):
        one, four = eng[(threads, 1)], eng[(threads, 4)]
        print(f"  {'DMA engine alone (qtest), dma-threads=' + threads + ', 1 / 4 ch':52s} "
              f"{one[0]:8.0f} / {four[0]:.0f} MB/s  (4 ch {four[0] / one[0]:.2f} "
              f"of 1; min-max {one[1]:.0f}-{one[2]:.0f} / {four[1]:.0f}-{four[2]:.0f})")
    rma = rma_figures()
    for who, peer in (("host", "card"), ("card", "host")):
        f = rma[who]
        # RMA's bulk goes by DMA on the issuing side's channels
        wdma = one_ch[(who, f"{who}->{peer}")]
        rdma = one_ch[(who, f"{peer}->{who}")]
        print(f"  {'RMA scif_writeto 4 MiB, ' + who + ' to ' + peer:52s} "
              f"{f['writeto_MBps']:8.1f} MB/s  (memcpy in {who} VM "
              f"{f['memcpy_MBps']:.1f} MB/s)  "
              f"{goal(f['writeto_MBps'], '>=', round(0.8 * wdma), 'MB/s (80 % of DMA)')}")
        print(f"  {'RMA scif_readfrom 4 MiB, ' + who + ' from ' + peer:52s} "
              f"{f['readfrom_MBps']:8.1f} MB/s  "
              f"{goal(f['readfrom_MBps'], '>=', round(0.8 * rdma), 'MB/s (80 % of DMA)')}")
        print(f"  {'RMA 64 B writeto / readfrom latency, ' + who:52s} "
              f"{f['writeto64_us']:8.1f} us / {f['readfrom64_us']:.1f} us  "
              f"(memcpy 64 B {f['memcpy64_us']:.3f} us)")
    for stack in ("micemu", "upstream"):
        for name, mibps in vop_figures(stack):
            print(f"  {'VOP, ' + stack + ' host: ' + name:60s} {mibps:8.1f} MiB/s")
    suite = last_suite_time()
    if suite:
        secs, n, when = suite
        print(f"  {'make test, pytest part (logs/junit.xml, ' + when[:16] + ')':52s} "
              f"{secs / 60:8.1f} min  ({n} scenarios; not measured by this run)  "
              f"{goal(secs / 60, '<=', 15, 'min')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
