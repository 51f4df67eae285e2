#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""micfuzz: seeded, structured random operations against micemu's device
models and micfw, in the spirit of QEMU's generic-fuzz.  See README.md.

    PYTHONPATH=tests fuzz/micfuzz.py [--seconds N] [--seed S] [--ops N]
        [--targets x100,x100-fw,card-fw,peer,micfw] [--logdir DIR]
    PYTHONPATH=tests fuzz/micfuzz.py --replay FAILURE.json [--minimise]

A campaign starts fresh processes for one target, runs up to --ops
operations, checks resource growth and then that the device still works,
and stops everything (a clean exit is part of the check).  Any failure is
saved as FAILURE.json (target, seed, configuration, the operation list)
with the processes' stderr beside it.  Exit status: 0 when nothing failed,
1 when something did (or, with --replay, when the failure reproduces).
"""
import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

from fuzzlib import Failure, proc_sample
from micemu.build import TOP, find_qemu
from targets import TARGETS

RSS_SLACK_KB = 16 * 1024        # anonymous memory growth allowed after warm-up
MICFW_RSS_SLACK_KB = 3 * 1024   # micfw's (its heap has no reason to grow)
FD_SLACK = 4                    # open fds allowed to appear after warm-up
SAMPLE_EVERY = 256              # ops between liveness checks


def campaign(tname, seed, cfg, ops, nops, seconds, logdir, qemu, micfw,
             inject_kill=False):
    """Run one campaign; ops None generates nops operations from seed.
    Returns a result dict; a failure is saved under logdir."""
    tcls = TARGETS[tname]
    rng = random.Random("%s:%d" % (tname, seed))
    if cfg is None:
        cfg = tcls.config(rng)
    work = tempfile.mkdtemp(prefix="mf-%s-" % tname)
    t = tcls(cfg, work, qemu, micfw)
    log = []
    res = {"target": tname, "seed": seed, "config": cfg, "ops": 0,
           "qtest": 0, "failure": None}
    start = time.monotonic()
    deadline = start + seconds
    n = len(ops) if ops is not None else nops
    kill_at = rng.randrange(n // 2, n) if inject_kill and ops is None \
        else None
    warm_at = min(max(n // 4, 1), 4000)
    mid_at = warm_at + (n - warm_at) // 2
    warm = mid = None
    try:
        t.start()
        for i in range(n):
            if ops is not None:
                op = ops[i]
            elif i == kill_at:
                op = ["kill", sorted(t.procs())[0]]
            else:
                op = t.gen(rng)
            log.append(op)
            if op[0] == "kill":         # self-test of the failure path
                t.sync()
                os.kill(t.procs()[op[1]], signal.SIGKILL)
                time.sleep(0.1)
            else:
                t.do(op)
            res["ops"] = i + 1
            if i % SAMPLE_EVERY == SAMPLE_EVERY - 1:
                t.sync()
                t.check_alive()
                if time.monotonic() > deadline:
                    break
            if i + 1 == warm_at:
                warm = sample(t)
            elif i + 1 == mid_at and warm is not None:
                t.sync()
                mid = sample(t)
        t.sync()
        t.check_alive()
        if warm is not None:
            end = sample(t)
            try:
                check_growth(warm, mid, end)
            except Failure:
                # memory QEMU frees after an RCU grace period (flat views
                # of remapped BARs) lags under load: idle, then judge
                time.sleep(2)
                t.check_alive()
                end = sample(t)
                check_growth(warm, mid, end)
            finally:
                res["growth"] = {n: [end[n][0] - warm[n][0],
                                     end[n][1] - warm[n][1]]
                                 for n in warm if n in end}
        t.health()
        res["qtest"] = t.qtest_lines()
        t.stop()
    except Failure as f:
        res["failure"] = {"kind": f.kind, "detail": f.detail}
        try:
            res["qtest"] = t.qtest_lines()
        except Exception:       # noqa: BLE001
            pass
    except Exception:           # noqa: BLE001 - the fuzzer's own trouble
        res["failure"] = {"kind": "fuzzer", "detail": traceback.format_exc()}
    finally:
        t.kill()
    res["seconds"] = time.monotonic() - start
    if res["failure"] and logdir:
        res["file"] = save_failure(res, log, work, logdir)
    if os.environ.get("MICFUZZ_KEEP"):
        print("  work directory kept: " + work)
    else:
        shutil.rmtree(work, ignore_errors=True)
    return res


def sample(t):
    prep = getattr(t, "sample_prepare", None)
    if prep:
        prep()
    out = {}
    for name, pid in t.procs().items():
        s = proc_sample(pid)
        if s:
            out[name] = s
    return out


def check_growth(warm, mid, end):
    """A leak grows with the operations: with a sample in the middle, the
    memory must grow in both halves (half the slack each) to count, so a
    one-off step (a burst of RCU-deferred frees that leaves the heap
    fragmented on a loaded machine) is not taken for a leak; 4 x slack
    counts anyway."""
    for name, (rss0, fds0) in warm.items():
        if name not in end:
            continue
        rss1, fds1 = end[name]
        slack = MICFW_RSS_SLACK_KB if name == "micfw" else RSS_SLACK_KB
        if mid and name in mid:
            rssm = mid[name][0]
            leak = (rssm - rss0 > slack / 2 and rss1 - rssm > slack / 2) or \
                rss1 - rss0 > 4 * slack
        else:
            rssm, leak = None, rss1 - rss0 > slack
        if leak:
            raise Failure("rss", "%s anonymous memory grew from %d to %s%d "
                          "KiB" % (name, rss0, "%d to " % rssm if rssm else "",
                                   rss1))
        if fds1 - fds0 > FD_SLACK:
            raise Failure("fds", "%s open fds grew from %d to %d" %
                          (name, fds0, fds1))


def save_failure(res, log, work, logdir):
    fdir = os.path.join(logdir, "failures")
    os.makedirs(fdir, exist_ok=True)
    base = os.path.join(fdir, "%s-%d-%s" % (res["target"], res["seed"],
                                            res["failure"]["kind"]))
    k = 0
    while os.path.exists(base + (".%d" % k if k else "") + ".json"):
        k += 1
    base += ".%d" % k if k else ""
    with open(base + ".json", "w") as f:
        json.dump({"target": res["target"], "seed": res["seed"],
                   "config": res["config"], "failure": res["failure"],
                   "ops": log}, f)
        f.write("\n")
    for name in os.listdir(work):
        if name.endswith(".err") or name == "events.log":
            shutil.copy(os.path.join(work, name), base + "." + name)
    return base + ".json"


# ---- minimisation: delta debugging on the operation list ------------------

def ddmin(items, fails, budget_s):
    """Zeller's ddmin: a 1-minimal sub-list for which fails() holds (as far
    as budget_s allows)."""
    end = time.monotonic() + budget_s
    n = 2
    runs = 0
    while len(items) >= 2 and time.monotonic() < end:
        chunk = -(-len(items) // n)
        parts = [items[i:i + chunk] for i in range(0, len(items), chunk)]
        reduced = False
        for p in parts:
            runs += 1
            if fails(p):
                items, n, reduced = p, 2, True
                break
        if not reduced:
            for i in range(len(parts)):
                comp = [x for j, p in enumerate(parts) if j != i for x in p]
                runs += 1
                if fails(comp):
                    items, n, reduced = comp, max(n - 1, 2), True
                    break
        if not reduced:
            if n >= len(items):
                break
            n = min(len(items), 2 * n)
        print("  minimise: %d ops (%d runs)" % (len(items), runs), flush=True)
    if len(items) == 1 and time.monotonic() < end and fails([]):
        items = []
    return items


def replay(args):
    with open(args.replay) as f:
        saved = json.load(f)
    kind = saved["failure"]["kind"]
    print("replay %s: target %s seed %d, %d ops, saved failure %s" % (
        args.replay, saved["target"], saved["seed"], len(saved["ops"]), kind))

    def run(ops):
        return campaign(saved["target"], saved["seed"], saved["config"], ops,
                        len(ops), 1e9, None, args.qemu, args.micfw)
    res = run(saved["ops"])
    if not res["failure"]:
        print("does not reproduce: every op ran and the health check passed")
        return 0
    print("reproduced: %s: %s" % (res["failure"]["kind"],
                                  res["failure"]["detail"][:2000]))
    if not args.minimise:
        return 1
    ops = saved["ops"][:res["ops"]]
    small = ddmin(ops, lambda o: (run(o)["failure"] or {}).get("kind") ==
                  kind, args.minimise_seconds)
    out = os.path.splitext(args.replay)[0] + ".min.json"
    res = run(small)
    saved["ops"] = small
    saved["failure"] = res["failure"] or saved["failure"]
    with open(out, "w") as f:
        json.dump(saved, f, indent=1)
        f.write("\n")
    print("minimised to %d ops: %s" % (len(small), out))
    for op in small[:40]:
        print("  " + json.dumps(op)[:160])
    return 1


# ---- campaigns --------------------------------------------------------------

def fuzz(args):
    names = args.targets.split(",")
    for n in names:
        if n not in TARGETS:
            sys.exit("micfuzz: unknown target %s (have %s)" % (
                n, ", ".join(TARGETS)))
    if not os.access(args.qemu, os.X_OK):
        sys.exit("micfuzz: QEMU not built: %s" % args.qemu)
    if not args.micfw and any(n in ("x100-fw", "card-fw", "micfw")
                              for n in names):
        sys.exit("micfuzz: micfw not built (set MICFW or MICEMU_BUILD)")
    os.makedirs(args.logdir, exist_ok=True)
    seed = args.seed if args.seed is not None else \
        random.SystemRandom().randrange(1 << 31)
    print("micfuzz: seed %d, targets %s, %s s, log %s" % (
        seed, ",".join(names), args.seconds, args.logdir), flush=True)
    t0 = time.monotonic()
    stats = {n: {"campaigns": 0, "ops": 0, "qtest": 0, "seconds": 0.0,
                 "failures": 0, "max_rss_growth_kb": 0, "max_fd_growth": 0}
             for n in names}
    failures = []
    i = 0
    while True:
        left = args.seconds - (time.monotonic() - t0)
        if left <= 1 or (args.campaigns and i >= args.campaigns):
            break
        tname = names[i % len(names)]
        slice_s = min(left, args.campaign_seconds)
        if i < len(names):              # a short run still sees every target
            slice_s = min(slice_s, max(left / (len(names) - i), 1))
        nops = args.ops or TARGETS[tname].default_ops
        res = campaign(tname, seed + i, None, None, nops, slice_s,
                       args.logdir, args.qemu, args.micfw,
                       inject_kill=args.inject_kill)
        st = stats[tname]
        st["campaigns"] += 1
        st["ops"] += res["ops"]
        st["qtest"] += res["qtest"]
        st["seconds"] += res["seconds"]
        for drss, dfds in res.get("growth", {}).values():
            st["max_rss_growth_kb"] = max(st["max_rss_growth_kb"], drss)
            st["max_fd_growth"] = max(st["max_fd_growth"], dfds)
        line = "  #%d %-7s seed %d %s: %6d ops in %5.1f s (%5.0f ops/s)" % (
            i, tname, seed + i, json.dumps(res["config"]), res["ops"],
            res["seconds"], res["ops"] / max(res["seconds"], 1e-3))
        if res["failure"]:
            st["failures"] += 1
            failures.append(res)
            line += "\n    FAILED %s: %s\n    saved %s" % (
                res["failure"]["kind"], res["failure"]["detail"][:1500],
                res.get("file"))
        print(line, flush=True)
        i += 1
    wall = time.monotonic() - t0
    total_ops = sum(s["ops"] for s in stats.values())
    total_q = sum(s["qtest"] for s in stats.values())
    print("micfuzz: %d campaigns, %d ops (%d qtest commands) in %.0f s: "
          "%.0f ops/s; %d failures" % (i, total_ops, total_q, wall,
                                       total_ops / max(wall, 1e-3),
                                       len(failures)))
    for n, s in stats.items():
        print("  %-7s %4d campaigns %10d ops %10d qtest %7.0f s %6.0f ops/s "
              "%d failures; growth at most %d KiB, %d fds" % (
                  n, s["campaigns"], s["ops"], s["qtest"], s["seconds"],
                  s["ops"] / max(s["seconds"], 1e-3), s["failures"],
                  s["max_rss_growth_kb"], s["max_fd_growth"]))
    summary = {"seed": seed, "seconds": wall, "campaigns": i,
               "ops": total_ops, "qtest": total_q, "targets": stats,
               "failures": [{"target": r["target"], "seed": r["seed"],
                             "kind": r["failure"]["kind"],
                             "file": r.get("file")} for r in failures]}
    with open(os.path.join(args.logdir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
        f.write("\n")
    return 1 if failures else 0


def parallel(args):
    """--jobs N: N micfuzz processes, seeds apart, one summary."""
    os.makedirs(args.logdir, exist_ok=True)
    seed = args.seed if args.seed is not None else \
        random.SystemRandom().randrange(1 << 31)
    procs = []
    for k in range(args.jobs):
        argv = [sys.executable, os.path.abspath(__file__), "--jobs", "1",
                "--seed", str(seed + 1000000 * k), "--logdir",
                os.path.join(args.logdir, "job%d" % k)]
        for opt in ("seconds", "targets", "ops", "campaign_seconds",
                    "campaigns", "rss_slack_mb", "micfw_rss_slack_mb",
                    "qemu", "micfw"):
            val = getattr(args, opt)
            if val is not None:
                argv += ["--" + opt.replace("_", "-"), str(val)]
        procs.append(subprocess.Popen(argv))
    try:
        rcs = [p.wait() for p in procs]
    except SystemExit:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait()
        raise
    total = {"seed": seed, "jobs": args.jobs, "seconds": 0, "campaigns": 0,
             "ops": 0, "qtest": 0, "targets": {}, "failures": []}
    for k in range(args.jobs):
        try:
            with open(os.path.join(args.logdir, "job%d" % k,
                                   "summary.json")) as f:
                s = json.load(f)
        except FileNotFoundError:
            total["failures"].append({"job": k, "kind": "fuzzer",
                                      "file": None})
            continue
        total["seconds"] = max(total["seconds"], s["seconds"])
        for key in ("campaigns", "ops", "qtest"):
            total[key] += s[key]
        total["failures"] += s["failures"]
        for name, st in s["targets"].items():
            agg = total["targets"].setdefault(name, dict.fromkeys(st, 0))
            for key in st:
                if key.startswith("max_"):
                    agg[key] = max(agg[key], st[key])
                else:
                    agg[key] += st[key]
    with open(os.path.join(args.logdir, "summary.json"), "w") as f:
        json.dump(total, f, indent=1)
        f.write("\n")
    print("micfuzz: %d jobs, %d campaigns, %d ops (%d qtest commands) in "
          "%.0f s: %.0f ops/s; %d failures" % (
              args.jobs, total["campaigns"], total["ops"], total["qtest"],
              total["seconds"], total["ops"] / max(total["seconds"], 1e-3),
              len(total["failures"])))
    return 1 if any(rcs) else 0


def main():
    # SIGTERM unwinds like an exception: every campaign's processes
    # (micfw runs in its own session) are killed on the way out
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--targets", default=",".join(TARGETS))
    ap.add_argument("--seed", type=int)
    ap.add_argument("--ops", type=int,
                    help="operations per campaign (default: per target, "
                    "20000, micfw 100000)")
    ap.add_argument("--campaign-seconds", type=float, default=60)
    ap.add_argument("--campaigns", type=int, default=0,
                    help="stop after this many campaigns (0: by time)")
    ap.add_argument("--logdir", default=os.path.join(
        TOP, "logs", "fuzz-" + time.strftime("%Y%m%d-%H%M%S")))
    ap.add_argument("--jobs", type=int, default=1,
                    help="parallel micfuzz processes")
    ap.add_argument("--replay")
    ap.add_argument("--minimise", action="store_true")
    ap.add_argument("--minimise-seconds", type=float, default=600)
    ap.add_argument("--rss-slack-mb", type=float, default=16,
                    help="anonymous memory growth allowed per campaign")
    ap.add_argument("--micfw-rss-slack-mb", type=float, default=3,
                    help="the same for micfw")
    ap.add_argument("--inject-kill", action="store_true",
                    help="self-test: SIGKILL a process in every campaign")
    ap.add_argument("--qemu", default=find_qemu())
    ap.add_argument("--micfw", default=os.environ.get("MICFW"))
    args = ap.parse_args()
    global RSS_SLACK_KB, MICFW_RSS_SLACK_KB
    RSS_SLACK_KB = int(args.rss_slack_mb * 1024)
    MICFW_RSS_SLACK_KB = int(args.micfw_rss_slack_mb * 1024)
    if args.replay:
        return replay(args)
    if args.jobs > 1:
        return parallel(args)
    return fuzz(args)


if __name__ == "__main__":
    sys.exit(main())
