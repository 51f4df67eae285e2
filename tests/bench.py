#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""make bench: timings measured on real runs of the whole system.

Each figure is the median of RUNS fresh systems under the acceleration the
harness uses (TCG by default).  This is a benchmark, not a test: it prints
numbers and fails only if the system does not work at all.
"""

import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from micemu.system import TOP, System  # noqa: E402

RUNS = int(os.environ.get("MICEMU_BENCH_RUNS", "3"))


def one_run(i):
    logdir = os.path.join(TOP, "logs", "bench", f"run{i}")
    t0 = time.monotonic()
    s = System(logdir, cards=1)
    try:
        host = time.monotonic() - t0
        t1 = time.monotonic()
        s.run_ok("micctrl boot mic0")
        s.wait_log("mic0-console.log", r"micemu-card: init running", 300)
        card = time.monotonic() - t1
        t2 = time.monotonic()
        s.run_ok("micctrl reset mic0 && micctrl wait mic0 ready --timeout 120")
        reset = time.monotonic() - t2
    finally:
        s.shutdown()
    return host, card, reset


def main():
    accel = os.environ.get("MICEMU_ACCEL", "tcg")
    print(f"micemu bench: {RUNS} runs, accel {accel}, 1 card, medians")
    rows = [one_run(i) for i in range(RUNS)]
    names = ["host VM start to shell (agent answers)",
             "card boot kick to card init running",
             "card reset to state ready"]
    for k, name in enumerate(names):
        vals = [r[k] for r in rows]
        print(f"  {name:42s} {statistics.median(vals):7.2f} s"
              f"  (min {min(vals):.2f}, max {max(vals):.2f})")
    print("  SCIF, DMA and crash-detection figures: not implemented yet "
          "(SCIF/COSM and DMA issues)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
