#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""make soak: many cycles of the card life on several cards, on one system.

Each cycle boots every card to online (unless the last cycle left it
online) and then puts all of them through the same event: crash, hang,
reset, shutdown or reboot, in turn.  The soak fails on the first

* kernel report in any console (BUG, WARNING, Oops, KASAN, lockdep,
  kmemleak, ...),
* state that is not reached in time (a stuck card),
* card VM still running when the card is back at ready,
* growth of the open fds of micfw or the host QEMU beyond a small slack,
  compared with every card at ready (after the first cycle, when
  everything has been opened once),
* process of the system left over after it is shut down,
* kmemleak report in the host at the end (debug flavour: the host kernel
  scans once more before the verdict).

It prints a line per cycle and the totals.  Logs go to logs/soak/.
"""

import argparse
import os
import shutil
import sys
import time

# run as a script: its own directory, tests/, is first on sys.path
from micemu.system import FAST_COSM_CARD, FAST_COSM_HOST, TOP, System

EVENTS = ("crash", "hang", "reset", "shutdown", "reboot")
FD_SLACK = 4


class SoakFailure(Exception):
    pass


def pids_matching(marker):
    """PIDs whose command line mentions MARKER."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline:
            found.append(int(pid))
    return found


def fd_count(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


class Soak:
    def __init__(self, cards, logdir):
        self.cards = cards
        self.s = System(logdir, cards=cards, append=FAST_COSM_HOST)
        for i in range(cards):
            self.s.set_card_cmdline(i, FAST_COSM_CARD)
        run = self.s.run_dir
        self.watched = {"host QEMU": self._one_pid(f"{run}/agent.sock")}
        for i in range(cards):
            self.watched[f"micfw mic{i}"] = self._one_pid(f"{run}/mic{i}-ctl.sock")
        self.baseline = None

    @staticmethod
    def _one_pid(marker):
        # run-vm.sh's own command line does not carry these socket paths.
        pids = [p for p in pids_matching(marker) if p != os.getpid()]
        if len(pids) != 1:
            raise SoakFailure(f"expected one process for {marker}, found {pids}")
        return pids[0]

    def all_cards(self):
        return range(self.cards)

    def wait_all(self, state, timeout):
        for i in self.all_cards():
            self.s.wait_state(i, state, timeout)

    def boot_all(self):
        for i in self.all_cards():
            if self.s.state(i) != "online":
                self.s.run_ok(f"micctrl boot mic{i}")
        self.wait_all("online", 300)

    def reset_all(self):
        for i in self.all_cards():
            self.s.run_ok(f"echo reset > /sys/class/mic/mic{i}/state")
        self.wait_all("ready", 120)

    def event(self, name):
        s = self.s
        if name in ("crash", "hang"):
            for i in self.all_cards():
                if not s.fw(i).request(name)["ok"]:
                    raise SoakFailure(f"micfw mic{i} refused {name}")
            for i in self.all_cards():
                s.wait_state(i, "shutting_down", 60)
                status = s.sysfs(i, "shutdown_status")
                if status != "crashed":
                    raise SoakFailure(f"mic{i}: {name} ended with shutdown_status {status}")
            self.reset_all()
        elif name == "reset":
            self.reset_all()
        elif name == "shutdown":
            for i in self.all_cards():
                s.run_ok(f"micctrl shutdown mic{i} --timeout 120", timeout=180)
            self.wait_all("ready", 60)
        elif name == "reboot":
            for i in self.all_cards():
                s.run_ok(f"micctrl reboot mic{i} --timeout 180", timeout=240)
            self.wait_all("online", 60)

    def check(self, cycle, at_ready):
        s = self.s
        trouble = s.kernel_trouble()
        if trouble:
            raise SoakFailure("kernel report:\n" + "\n".join(trouble[:20]))
        for i in self.all_cards():
            if s.state(i) == "ready" and s.fw(i).request("status").get("card_vm_pid"):
                raise SoakFailure(f"mic{i} is ready but its card VM still runs")
        fds = {name: fd_count(pid) for name, pid in self.watched.items()}
        for name, n in fds.items():
            if n is None:
                raise SoakFailure(f"{name} (pid {self.watched[name]}) is gone")
        if not at_ready:
            return fds      # card VMs running: their pipes are open too
        if self.baseline is None:
            self.baseline = fds
        for name, n in fds.items():
            if n > self.baseline[name] + FD_SLACK:
                raise SoakFailure(f"{name}: {n} open fds after cycle {cycle}, "
                                  f"{self.baseline[name]} after the first cycle")
        return fds


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cycles", type=int, default=100)
    ap.add_argument("--cards", type=int, default=4)
    args = ap.parse_args()
    if args.cycles < 1 or not 1 <= args.cards <= 8:
        ap.error("--cycles must be at least 1 and --cards between 1 and 8")

    logdir = os.path.join(TOP, "logs", "soak")
    # the consoles append across boots: a report left by an earlier run
    # must not fail this one
    shutil.rmtree(logdir, ignore_errors=True)
    flavour = os.environ.get("MICEMU_FLAVOUR", "default")
    print(f"micemu soak: {args.cycles} cycles, {args.cards} cards, "
          f"{flavour} kernel, logs in {logdir}", flush=True)
    t0 = time.monotonic()
    soak = Soak(args.cards, logdir)
    run_dir = soak.s.run_dir
    failure = None
    counts = dict.fromkeys(EVENTS, 0)
    try:
        for cycle in range(1, args.cycles + 1):
            t = time.monotonic()
            name = EVENTS[(cycle - 1) % len(EVENTS)]
            soak.boot_all()
            soak.event(name)
            counts[name] += 1
            fds = soak.check(cycle, at_ready=name != "reboot")
            print(f"cycle {cycle:3}: {name:8} {time.monotonic() - t:6.1f} s  fds "
                  + " ".join(f"{k.split()[-1]}={v}" for k, v in fds.items()), flush=True)
        leaks = soak.s.kmemleak_report()
        if leaks:
            raise SoakFailure("kmemleak in the host:\n" + leaks[:4000])
        print("host kmemleak: " + ("clean" if leaks == "" else "not in this kernel"))
    except (SoakFailure, AssertionError, TimeoutError, RuntimeError) as e:
        failure = e
    finally:
        soak.s.shutdown()
    time.sleep(1)
    left = [p for p in pids_matching(run_dir) if p != os.getpid()]
    if left and not failure:
        failure = SoakFailure(f"processes left after shutdown: {left}")
    took = time.monotonic() - t0
    done = sum(counts.values())
    print(f"{done} cycles ({', '.join(f'{k} {v}' for k, v in counts.items())}) "
          f"in {took / 60:.1f} min")
    if failure:
        print(f"SOAK FAILED: {failure}")
        return 1
    print("soak passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
