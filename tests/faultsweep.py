#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""make faultsweep: fault sweeps in the host kernel over micemu's host paths.

On the debug kernel (fault injection, KASAN, lockdep, kmemleak), one
system with one card.  For each path,

  probe     unbind the card from mic_x100, then the bind (PCI probe:
            mic_x100, mic_cosm registration, the COSM server's card)
  boot      echo boot > state (clients start, SCIF link, image download)
  reset     echo reset > state of an online card
  connect   scif_open + scif_bind + scif_connect to a card's port
  register  scif_register of a 64 KiB window on a connection to the card

the operation runs again and again under tools/fail-nth with its Nth fault
point failing, N = 1, 2, ... until it completes without reaching the Nth
(every point it passes has failed once): first with failslab counting
(kmalloc and friends), then with fail_page_alloc (page allocations).
Work done in workqueues and kernel threads escapes the per-task counter:
fail_function covers it, failing the kth call (k = 1 .. --ff-calls) of
each function our modules mark with ALLOW_ERROR_INJECTION while the path
runs to its end (boot: until online).

Each injected failure must end in an error return, or in a success that
works: a success with a failure injected in our modules' code is checked
as a user would (the card boots to online, a connection or window is
used).  After each one the card must be back in its state (ready, or
online for reset, connect and register) and the operation must work again
without injection; every --check-every injections, and at the end of each
path, the whole card life is checked (boot to online, reset to ready).
The sweep fails on any kernel report (BUG, WARNING, Oops, KASAN, lockdep,
hung task) in the host or card consoles, a state not reached in time,
and kmemleak reports whose allocation passed through our modules (host,
scanned after each path).  Logs go to logs/faultsweep/, with one line per
injection in injections.log.
"""

import argparse
import os
import re
import shutil
import sys
import time

# run as a script: its own directory, tests/, is first on sys.path
from micemu.system import CONFIGURE_CARDS, KERNEL_TROUBLE, TOP, System

# The reset's ready poll every 200 ms; a lost SCIF answer costs 5 s.
# acpi=noirq: the PCI probe's pci_enable_device() then does not evaluate
# ACPI's _PRT (the cards use MSI-X). Failing an allocation in there hits
# a bug of 6.1's ACPICA, not ours: "ACPI Error: AE_NO_MEMORY, Could not
# update object reference count", then a KASAN use-after-free in
# acpi_ns_get_attached_object() at the next evaluation (found by this
# sweep, probe slab n=78).
HOST_APPEND = "mic_cosm.reset_poll_ms=200 scif.alive_timeout_ms=5000 acpi=noirq"
# The probe's slab sweep leaves one cache out: 6.1's __irq_alloc_descs()
# ignores radix_tree_insert() failing (irq_insert_desc() returns nothing),
# and irq_domain_alloc_irqs_locked() then dereferences NULL (KASAN
# null-ptr-deref, found by this sweep at probe slab n=256, inside our
# probe's pci_alloc_irq_vectors()). That sweep runs on a host booted with
# every cache but radix_tree_node marked failslab (slub_debug=A, minus
# that cache; 6.1's marks are read-only at run time) and cache-filter on,
# so radix_tree_node allocations neither fail nor count; every other
# sweep runs on a host without the marks (with them, cache-filter could
# not keep failslab out of the fail_page_alloc sweeps). fail-nth ignores
# the stack trace filter, so a narrower exclusion (only under the MSI-X
# set-up) is not available.
PROBE_SPARED_CACHE = "radix_tree_node"
SPARE_APPEND = f"slub_debug=A;-,{PROBE_SPARED_CACHE}"
OUR_MODULES = ("scif", "mic_cosm", "mic_x100", "mic_x100_dma", "mic_vop_host")
FRAME = re.compile(r"^(?:\[[\s\d.]+\] )? ([\w.]+)\+0x[0-9a-f]+/0x[0-9a-f]+"
                   r"(?: \[(\w+)\])?\s*$", re.M)
# A stack frame in one of our modules (kmemleak's backtraces too).
OURS = re.compile(r"[\w.]+\+0x[0-9a-f]+/0x[0-9a-f]+ \[(?:%s)\]" % "|".join(OUR_MODULES))
MORE_TROUBLE = re.compile(r"INFO: task .* blocked for more than|"
                          r"cannot create duplicate filename|"
                          r"kobject: .* is not initialized|refcount_t: ")
# The allocators and what dumps the stack on top of them.
ALLOCATOR = re.compile(
    r"_*(dump_stack|should_fail|slab_pre_alloc_hook|slab_alloc|kmem_cache_alloc|"
    r"kmem_cache_zalloc|kmalloc|kzalloc|kcalloc|krealloc|kmemdup|kstrn?dup|"
    r"kvasprintf|kasprintf|kvmalloc|kvzalloc|alloc_pages|get_free_pages|"
    r"get_zeroed_page|prepare_alloc_pages|folio_alloc|vmalloc|vzalloc|"
    r"vm_area_alloc_pages|get_vm_area|alloc_vmap_area|dma_alloc|dma_direct_alloc|"
    r"xas_|xa_|ida_alloc|idr_)")
# fail_function's probability check draws a random number inside the
# kprobe (int3) handler: lockdep reports a lock of the random pool taken
# in NMI-like context (the per-CPU crngs.lock, base_crng.lock, or
# input_pool.lock when that draw reseeds), once, and turns itself off. A
# 6.1 kernel matter, not ours; the fail_function rounds therefore run
# after every fail-nth round.
KPROBE_RANDOM = re.compile(r"inconsistent \{[^}]*\} -> \{IN-NMI\} usage\.(?s:.*?)"
                           r"\b(crngs|base_crng|input_pool)\.lock(?s:.*?)"
                           r"get_random_\w+(?s:.*?)should_fail_ex")
# 6.1's register_irq_proc() ignores a /proc/irq/N entry it could not
# create, and unregister_irq_proc() removes them all anyway: when the
# interrupt is freed (the next unbind), remove_proc_entry() warns about the
# missing name. Excused once for each injected failure that hit
# register_irq_proc() and was absorbed (found by this sweep, probe slab
# n=400: 'smp_affinity_list').
IRQ_PROC_LINE = r"WARNING: .* at \S*fs/proc/generic\.c:\d+ remove_proc_entry\b"
IRQ_PROC_WARN = re.compile(r"^.*" + IRQ_PROC_LINE + r".*$", re.M)
# Leaks of the kernel's own error paths that our call reached: 6.1's
# __dma_async_device_channel_register() frees the channel device with
# kfree() when device_register() fails, so the name dev_set_name() gave it
# ("dma0chan0") is never freed (found by this sweep, probe slab, failures
# injected in that device_register() under our mic_dma_register()).
KERNEL_LEAKS = (re.compile(r"\] dev_set_name\+0x[0-9a-f]+/0x[0-9a-f]+\s*\n\s*\[<[0-9a-f]+>\] "
                           r"__dma_async_device_channel_register\+"),)
KMEMLEAK_SCAN = r"kmemleak: \d+ new suspected memory leaks"
# Allocations of the debug kernel's own bookkeeping, with their fallbacks.
DEBUG_ALLOC = re.compile(r"kmemleak|create_object|stack_depot|kasan_")
DBG = "/sys/kernel/debug"
PATHS = ("probe", "boot", "reset", "connect", "register")
KINDS = ("slab", "page")
PORT = 2300
WINDOW = 65536
# fail_function targets: the functions our modules allow to fail, with
# the error they return then.
FF_TARGETS = {"scif_qp_create": -12, "scif_qp_map_peer": -5,
              "scif_nodeqp_send_locked": -19}


class SweepFailure(Exception):
    pass


class Result:
    """What one fail-nth run reported."""

    def __init__(self, out, rc):
        m = re.search(r"^fail-nth: (\w+) n (\S+) points (-?\d+) injected (yes|no) "
                      r"rc (-?\d+) errno (\S+)$", out, re.M)
        setup = re.search(r"^fail-nth: (scif_\w+|mmap): (.+)$", out, re.M)
        if m:
            self.op, self.points = m.group(1), int(m.group(3))
            self.injected = m.group(4) == "yes"
            self.ok = int(m.group(5)) == 0
            self.errno = m.group(6)
        elif setup:
            # "register" connects before the counter is armed; a function
            # fail_function fails can fail that connect
            self.op, self.points, self.injected, self.ok = "set-up", -1, False, False
            self.errno = f"{setup.group(1)}: {setup.group(2)}".replace(" ", "_")
        else:
            raise SweepFailure(f"fail-nth did not report:\n{out[-2000:]}")
        self.rc = rc
        self.log = out
        self.caller, self.site = failed_site(out)
        # our code called the allocator itself
        self.direct = bool(self.site and self.caller == self.site)


def fault_dump(log):
    """The stack fail_dump printed for the injected failure, or ''."""
    at = log.find("FAULT_INJECTION: forcing a failure")
    if at < 0:
        return ""
    end = log.find("</TASK>", at)
    return log[at:end if end > 0 else len(log)]


def spares_cache(path, kind):
    """Whether the (PATH, KIND) sweep runs on a host with the failslab
    marks that leave PROBE_SPARED_CACHE out."""
    return path == "probe" and kind == "slab"


def failed_site(log):
    """Where the injected failure hit, from the stack fail_dump printed:
    (first caller outside the allocators, first of our functions), each
    "function [module]" or None.  The first is ours when our code called
    the allocator; when it is the kernel's, that function handled the
    failure (ACPI's routing table lookup has a fallback, debugfs failures
    are ignored by design) or returned it to us.  Both are None when the
    failure hit the debug kernel's own bookkeeping (kmemleak, the stack
    depot: they have fallbacks) or asked for silence (__GFP_NOWARN: none
    of our allocations does)."""
    # reliable frames only: "? " ones are stale words found on the stack
    frames = FRAME.findall(fault_dump(log))
    caller = None
    for fn, module in frames:
        if DEBUG_ALLOC.search(fn):
            return None, None
        name = f"{fn} [{module}]" if module else fn
        if caller is None and (module in OUR_MODULES or not ALLOCATOR.match(fn)):
            caller = name
        if module in OUR_MODULES:
            return caller, name
    return caller, None


class Sweep:
    def __init__(self, logdir, args, spare):
        self.args = args
        self.logdir = logdir
        self.injlog = open(os.path.join(logdir, "injections.log"), "w")
        os.makedirs(os.path.join(logdir, "inj"), exist_ok=True)
        self.counts = {}        # (path, kind) -> injections
        self.outcomes = {}      # (path, kind) -> {"error": n, "success": n}
        self.sites = {}         # our function -> injections there
        self.checks = 0
        self.since_check = 0
        self.partial = []       # sweeps cut short by --budget
        self.verified = set()   # (path, caller, our function) checked
        self.irq_proc_holes = 0  # absorbed failures in register_irq_proc()
        self.s = None
        self.start(spare)

    def start(self, spare):
        """A fresh host; SPARE: with the failslab marks (PROBE_SPARED_CACHE)."""
        if self.s:
            self.s.shutdown()
        self.spare = spare
        append = HOST_APPEND + (" " + SPARE_APPEND if spare else "")
        self.s = System(self.logdir, cards=1, append=append, boot_timeout=600)
        try:
            self.setup()
        except BaseException:
            self.s.shutdown()
            raise

    def setup(self):
        s = self.s
        rc, _ = s.run(f"test -e {DBG}/failslab/ignore-gfp-wait && "
                      f"test -e {DBG}/fail_function/inject && "
                      "test -e /proc/self/fail-nth")
        if rc:
            raise SweepFailure("this host kernel has no fault injection: "
                               "make FLAVOUR=debug images (guest-kernel/debug.config)")
        self.wait_state("ready", 300, "start")
        self.pdev = s.run_ok("basename $(readlink /sys/class/mic/mic0/device)").strip()
        # kmemleak scans when we say so; what the boot left is not ours.
        s.run(f"echo scan=off > {DBG}/kmemleak; echo scan > {DBG}/kmemleak; "
              f"echo clear > {DBG}/kmemleak", timeout=600)
        s.run_ok("dmesg -c >/dev/null")

    # --- helpers --------------------------------------------------------------
    def log(self, line):
        self.injlog.write(line + "\n")
        self.injlog.flush()

    def trouble(self, text, where):
        if KPROBE_RANDOM.search(text):
            # the kernel's, not ours: expected from now on
            self.s.expect_trouble("host-console.log", r"WARNING: inconsistent lock state", 0)
            text = text.replace("WARNING: inconsistent lock state", "(lockdep: "
                                "fail_function's random number in int3 context)")
            self.log(f"{where}: lockdep reported fail_function's own "
                     "get_random_u8() in int3 context and is off from here")
        for m in list(IRQ_PROC_WARN.finditer(text)):
            trace = text[m.end():m.end() + 4000].split("end trace")[0]
            if "unregister_irq_proc" not in trace or not self.irq_proc_holes:
                continue
            self.irq_proc_holes -= 1
            self.s.expect_trouble("host-console.log", IRQ_PROC_LINE, 0)
            text = text.replace(m.group(0), "(the kernel's: a /proc/irq entry "
                                "register_irq_proc() did not create)")
            self.log(f"{where}: remove_proc_entry() warned about a /proc/irq entry "
                     "an earlier injection kept register_irq_proc() from creating")
        bad = [ln for ln in text.splitlines()
               if (KERNEL_TROUBLE.search(ln) or MORE_TROUBLE.search(ln))]
        if bad:
            raise SweepFailure(f"{where}: kernel report:\n" + "\n".join(bad[:20]))

    def console_trouble(self, where):
        found = self.s.kernel_trouble()
        found += [f"{n}: {ln}" for n in ("host-console.log", "mic0-console.log")
                  for ln in self.s.read_log(n).splitlines() if MORE_TROUBLE.search(ln)]
        if found:
            raise SweepFailure(f"{where}: kernel report:\n" + "\n".join(found[:20]))

    def state(self):
        rc, out = self.s.run("cat /sys/class/mic/mic0/state 2>/dev/null")
        return out.strip() if rc == 0 else None

    def harness(self, where, step, *args):
        """Run a System step; a card that does not get there fails the sweep."""
        try:
            step(0, *args)
        except AssertionError as e:
            raise SweepFailure(f"{where}: {e} (state {self.state()})") from None

    def wait_state(self, state, timeout, where):
        self.harness(where, self.s.wait_state, state, timeout)

    def fault_config(self, kind, path):
        """failslab or fail_page_alloc feeds the fail-nth counter."""
        slab = kind == "slab"
        spare = spares_cache(path, kind)
        yn = {True: "Y", False: "N"}
        if spare != self.spare:
            raise SweepFailure(f"{path} {kind}: the host was booted "
                               f"{'with' if self.spare else 'without'} the failslab marks")
        # with cache-filter on, only caches marked failslab count
        marks = self.s.run_ok(f"cat /sys/kernel/slab/{PROBE_SPARED_CACHE}/failslab "
                              "/sys/kernel/slab/kmalloc-64/failslab").split()
        if marks != ["0", str(int(spare))]:
            raise SweepFailure(f"{path} {kind}: failslab marks {PROBE_SPARED_CACHE} "
                               f"{marks[:1]}, kmalloc-64 {marks[1:]}: not as booted")
        self.s.run_ok(
            f"echo {yn[not slab]} > {DBG}/failslab/ignore-gfp-wait; "
            f"echo {yn[not slab or spare]} > {DBG}/failslab/cache-filter; "
            f"echo {yn[slab]} > {DBG}/fail_page_alloc/ignore-gfp-wait; "
            f"echo N > {DBG}/fail_page_alloc/ignore-gfp-highmem; "
            f"echo {20 if slab else 0} > {DBG}/fail_page_alloc/min-order; "
            f"echo 2 > {DBG}/failslab/verbose; echo 2 > {DBG}/fail_page_alloc/verbose")

    def fail_nth(self, n, op, pre="", post="", timeout=300):
        """One fail-nth run after shell commands PRE, with the card's state
        and binding after it (r.state, r.bound) and the kernel log it
        caused: one round trip to the host VM."""
        m = "/sys/class/mic/mic0"
        rc, out = self.s.run(
            f"{pre}fail-nth {n} {op}; rc=$?; {post}"
            f"echo \"after: state $(cat {m}/state 2>/dev/null || echo none) "
            f"bound $(test -e /sys/bus/pci/drivers/mic/{self.pdev} && echo 1 || echo 0)\"; "
            "dmesg -c; exit $rc", timeout=timeout)
        r = Result(out, rc)
        after = re.search(r"^after: state (\S+) bound (\d)$", out, re.M)
        r.state = after.group(1) if after else None
        if r.state == "none":
            r.state = None
        r.bound = bool(after and after.group(2) == "1")
        self.trouble(out, f"fail-nth {n} {op}")
        if r.injected and r.ok and "register_irq_proc" in fault_dump(out):
            self.irq_proc_holes += 1
        return r

    def boot_online(self, where, timeout=600):
        self.harness(where, self.s.boot_online, timeout)

    def reset_ready(self, where, timeout=300):
        self.harness(where, self.s.ensure_ready, timeout)

    def full_check(self, where):
        """The card's whole life works: reset, boot to online, reset."""
        self.checks += 1
        self.since_check = 0
        self.reset_ready(where)
        self.boot_online(where)
        self.reset_ready(where)
        self.console_trouble(where)

    def ensure_online(self, where):
        if self.state() != "online":
            self.reset_ready(where)
            self.boot_online(where)

    def start_server(self):
        """scif-rma's server on the card (it accepts one client at a time)."""
        rc, out = self.s.card_run(
            0, "kill -0 $(cat /tmp/fs-srv.pid 2>/dev/null) 2>/dev/null || "
            f"{{ scif-rma -s -p {PORT} >/tmp/fs-srv.log 2>&1 & echo $! >/tmp/fs-srv.pid; }}; "
            "for i in $(seq 100); do grep -q listening /tmp/fs-srv.log && exit 0; "
            "sleep 0.1; done; cat /tmp/fs-srv.log; exit 1")
        if rc:
            raise SweepFailure(f"scif-rma server did not start on the card:\n{out}")

    def record(self, path, kind, n, r, note=""):
        key = (path, kind)
        self.counts[key] = self.counts.get(key, 0) + 1
        o = self.outcomes.setdefault(key, {"error": 0, "success": 0})
        o["success" if r.ok else "error"] += 1
        if r.site:
            at = r.site if r.direct else f"{r.caller} from {r.site}"
            if r.ok and not r.direct:
                at += " (absorbed)"
            self.sites[at] = self.sites.get(at, 0) + 1
        else:
            at = "(not our code)"
        self.log(f"{path} {kind} n={n}: {'ok' if r.ok else 'error ' + r.errno} "
                 f"at {at}{' ' + note if note else ''}")
        with open(os.path.join(self.logdir, "inj", f"{path}-{kind}-{n}.log"), "w") as f:
            f.write(r.log)
        self.since_check += 1

    def maybe_check(self, where, online_after):
        if self.since_check >= self.args.check_every:
            self.full_check(where)
            if online_after:
                self.ensure_online(where)
                self.start_server()

    # --- the paths under fail-nth -------------------------------------------
    def sweep(self, path, kind):
        """N = 1, 2, ... on PATH; returns the fault points of the path."""
        self.fault_config(kind, path)
        online = path in ("reset", "connect", "register")
        if online:
            self.ensure_online(f"{path} set-up")
            if path != "reset":
                self.start_server()
        else:
            self.reset_ready(f"{path} set-up")
        op = self.op(path)
        t0 = time.monotonic()
        for n in range(self.args.start, self.args.max_n + 1, self.args.stride):
            if self.args.budget and time.monotonic() - t0 > self.args.budget:
                self.log(f"{path} {kind}: time budget spent after n={n - 1}")
                self.partial.append(f"{path} {kind}: fault points "
                                    f"{self.args.start}..{n - 1} of more")
                self.full_check(f"{path} {kind} budget")
                return f">{n - 1}"
            where = f"{path} {kind} n={n}"
            pre = post = ""
            if path == "probe":
                pre = f"echo {self.pdev} > /sys/bus/pci/drivers/mic/unbind || exit 99; "
                post = CONFIGURE_CARDS + "; "
            r = self.fail_nth(n, op, pre, post)
            if r.op == "set-up":
                raise SweepFailure(f"{where}: set-up before the counter failed: {r.errno}")
            if not r.injected:
                self.log(f"{path} {kind} n={n}: not reached, {r.points} fault points")
                self.after(path, r, where, final=True)
                return r.points
            self.after(path, r, where)
            self.record(path, kind, n, r)
            self.maybe_check(where, online)
        raise SweepFailure(f"{path} {kind}: still injecting at n={self.args.max_n} "
                           "(raise --max-n)")

    def op(self, path):
        return {
            "probe": f"write /sys/bus/pci/drivers/mic/bind {self.pdev}",
            "boot": "write /sys/class/mic/mic0/state boot",
            "reset": "write /sys/class/mic/mic0/state reset",
            "connect": f"connect 1 {PORT}",
            "register": f"register 1 {PORT} {WINDOW}",
        }[path]

    def after(self, path, r, where, final=False):
        """Check the outcome of one run and bring the card back for the next."""
        s = self.s
        # A success with the failure in our code's call tree must work,
        # checked the way a user would: our fallback, or the kernel's
        # (ACPI, debugfs, proc entries), once per place and path. Failures
        # outside it were absorbed by the kernel (kmemleak's and the stack
        # depot's own fallbacks, for instance).
        verify = final or (r.ok and r.site and
                            (path, r.caller, r.site) not in self.verified)
        if verify and not final:
            self.verified.add((path, r.caller, r.site))
        if path == "probe":
            bound, st = r.bound, r.state
            if bound and st != "ready":
                raise SweepFailure(f"{where}: probe bound the card but mic0 is {st}")
            if not bound and st is not None:
                raise SweepFailure(f"{where}: probe failed but mic0 exists ({st})")
            if not bound and r.ok:
                raise SweepFailure(f"{where}: bind returned 0 but the card is not bound")
            if not bound:
                # recovery: the probe works again without injection
                s.run_ok(f"echo {self.pdev} > /sys/bus/pci/drivers/mic/bind")
                s.run_ok(CONFIGURE_CARDS)
                if self.state() != "ready":
                    raise SweepFailure(f"{where}: the probe after the failed one "
                                       f"left mic0 {self.state()}")
            if bound and verify:
                self.full_check(where)
        elif path == "boot":
            st = r.state
            if not r.ok:
                if st != "ready":
                    raise SweepFailure(f"{where}: boot failed ({r.errno}) "
                                       f"but mic0 is {st}")
                return
            if st not in ("booting", "online"):
                raise SweepFailure(f"{where}: boot returned 0, mic0 is {st}")
            if verify:
                self.wait_state("online", 600, where)
            self.reset_ready(where)
        elif path == "reset":
            if not r.ok:
                st = r.state
                if st != "online":
                    raise SweepFailure(f"{where}: reset failed ({r.errno}) "
                                       f"but mic0 is {st}")
                return
            self.wait_state("ready", 300, where)
            if not final:
                self.boot_online(where)
        else:
            if not r.ok or verify:
                # the operation works again (or the injected success works)
                self.works_again(path, where)
                if path == "register" and verify:
                    rc, out = s.run(f"scif-rma -c 1 -p {PORT} -S 4096 xfer", 300)
                    if rc:
                        raise SweepFailure(f"{where}: RMA after the injection:\n{out}")

    def works_again(self, path, where, lost_message=False):
        """Connect or register works again without injection.  The card's
        side may first have to give up a half-made connection (its SCIF
        waits alive_timeout_ms, 30 s, for an answer that will not come):
        a few tries over 45 s.  With LOST_MESSAGE (a SCIF message the host
        could not send while the link stayed up, e.g. a DISCNCT) the card's
        server may still serve a connection the host has closed, as it
        would with upstream's SCIF: after a failed try it is restarted, as
        its user would, so that the check is about the host's side."""
        for attempt in range(4):
            self.start_server()
            again = self.fail_nth("-", self.op(path))
            if again.ok:
                if attempt:
                    self.log(f"{where}: {path} works again after {attempt} retries")
                return
            if lost_message and attempt == 1:
                self.s.card_run(0, "p=$(cat /tmp/fs-srv.pid); kill $p; "
                                "for i in $(seq 600); do kill -0 $p 2>/dev/null || exit 0; "
                                "sleep 0.1; done; exit 1", timeout=90)
                self.log(f"{where}: card's server restarted after {again.errno}")
                continue
            time.sleep(15)
        raise SweepFailure(f"{where}: {path} fails after the injection: {again.errno}")

    # --- fail_function --------------------------------------------------------
    def ff_targets(self):
        out = self.s.run_ok(f"cat {DBG}/fail_function/injectable")
        have = {ln.split()[0] for ln in out.splitlines()
                if re.search(r"\[(%s)\]" % "|".join(OUR_MODULES), ln)}
        missing = set(FF_TARGETS) - have
        if missing:
            raise SweepFailure(f"not injectable: {sorted(missing)}; injectable:\n{out}")
        return sorted(FF_TARGETS)

    def ff_arm(self, fn, k):
        d = f"{DBG}/fail_function"
        self.s.run_ok(f"echo > {d}/inject; echo {fn} > {d}/inject; "
                      # debugfs takes the errno as an unsigned 64-bit value
                      f"echo {hex((1 << 64) + FF_TARGETS[fn])} > {d}/{fn}/retval; "
                      f"echo N > {d}/task-filter; echo 100 > {d}/probability; "
                      f"echo 1 > {d}/interval; echo {k} > {d}/space; "
                      f"echo 1 > {d}/verbose; echo 1 > {d}/times")

    def ff_disarm(self):
        """Disarm; True if the armed failure was injected."""
        d = f"{DBG}/fail_function"
        out = self.s.run_ok(f"cat {d}/times; echo > {d}/inject")
        return out.split()[0] == "0"

    def ff_sweep(self, path):
        """fail_function on each target, its kth call failing, while PATH
        runs to its end."""
        if path == "probe":
            # the targets are SCIF's: a card's link starts at boot
            self.log("probe fail_function: no target on this path")
            return
        for fn in self.ff_targets():
            for k in range(1, self.args.ff_calls + 1):
                where = f"{path} fail_function {fn} call {k}"
                online = path in ("reset", "connect", "register")
                if online:
                    self.ensure_online(where)
                    if path != "reset":
                        self.start_server()
                else:
                    self.reset_ready(where)
                self.s.run_ok("dmesg -c >/dev/null")
                self.ff_arm(fn, k)
                note = self.ff_run(path, where)
                injected = self.ff_disarm()
                log = self.s.run_ok("dmesg -c")
                self.trouble(log, where)
                if not injected:
                    self.log(f"{where}: not reached ({note})")
                    self.ff_recover(path, where)
                    break
                key = (path, "function")
                self.counts[key] = self.counts.get(key, 0) + 1
                self.log(f"{where}: {note}")
                self.ff_recover(path, where, lost_message=fn == "scif_nodeqp_send_locked")
                self.console_trouble(where)

    def ff_run(self, path, where):
        """Run PATH once with fail_function armed; what happened."""
        s = self.s
        if path == "boot":
            rc, out = s.run("echo boot > /sys/class/mic/mic0/state")
            if rc:
                st = self.state()
                if st != "ready":
                    raise SweepFailure(f"{where}: boot failed, mic0 is {st}")
                return "boot refused: " + out.strip()[-120:]
            rc, _ = s.run(f"micctrl wait mic0 online --timeout {self.args.ff_wait}",
                          timeout=self.args.ff_wait + 60)
            return "online" if rc == 0 else f"not online after {self.args.ff_wait} s " \
                f"(state {self.state()})"
        if path == "reset":
            s.run_ok("echo reset > /sys/class/mic/mic0/state")
            self.wait_state("ready", 300, where)
            return "ready"
        self.start_server()
        r = self.fail_nth("-", self.op(path))
        return "ok" if r.ok else f"error {r.errno}"

    def ff_recover(self, path, where, lost_message=False):
        """After a fail_function run: the card life and the path work."""
        if path == "boot":
            if self.state() != "online":
                self.reset_ready(where)
                self.boot_online(where)
            self.reset_ready(where)
            return
        self.ensure_online(where)
        if path != "reset":
            self.works_again(path, where, lost_message)

    # --- kmemleak -------------------------------------------------------------
    def leaks(self, where):
        """kmemleak reports whose allocation passed through our modules."""
        s = self.s
        out = s.kmemleak_report(scan_timeout=900, read_timeout=300)
        if out is None:
            raise SweepFailure("the host kernel has no kmemleak (debug flavour?)")
        ours, other, kernel = [], 0, 0
        for obj in re.split(r"(?=^unreferenced object)", out, flags=re.M):
            if not obj.strip():
                continue
            if any(rx.search(obj) for rx in KERNEL_LEAKS):
                kernel += 1
            elif OURS.search(obj):
                ours.append(obj)
            else:
                other += 1
        s.run_ok(f"echo clear > {DBG}/kmemleak")
        # kmemleak's console line about this scan says no more than the
        # report judged here
        s.expect_trouble("host-console.log", KMEMLEAK_SCAN, 0)
        self.log(f"kmemleak after {where}: {len(ours)} of our modules, {other} other, "
                 f"{kernel} of the kernel's error paths under our calls (KERNEL_LEAKS)")
        if ours:
            raise SweepFailure(f"kmemleak after {where}:\n" + "".join(ours)[:4000])
        return other


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--paths", default=",".join(PATHS),
                    help="comma-separated subset of " + ",".join(PATHS))
    ap.add_argument("--kinds", default=",".join(KINDS + ("function",)),
                    help="slab, page (fail-nth) and function (fail_function)")
    ap.add_argument("--max-n", type=int, default=2000,
                    help="give up on a path that still injects at this N")
    ap.add_argument("--start", type=int, default=1,
                    help="first fault point to fail (to continue a cut-short sweep)")
    ap.add_argument("--stride", type=int, default=1,
                    help="fail points 1, 1 + STRIDE, ... only (default: every one)")
    ap.add_argument("--budget", type=int, default=0,
                    help="seconds per path and kind; then the sweep moves on "
                         "and says how far it got (default: no limit)")
    ap.add_argument("--ff-calls", type=int, default=3,
                    help="fail_function: fail call 1 .. this of each target")
    ap.add_argument("--ff-wait", type=int, default=120,
                    help="fail_function on boot: seconds to wait for online")
    ap.add_argument("--check-every", type=int, default=25,
                    help="whole card life checked after this many injections")
    args = ap.parse_args()
    paths = [p for p in args.paths.split(",") if p]
    kinds = [k for k in args.kinds.split(",") if k]
    if set(paths) - set(PATHS) or set(kinds) - set(KINDS + ("function",)):
        ap.error("unknown path or kind")
    if args.stride < 1 or args.max_n < 1 or args.start < 1:
        ap.error("--start, --stride and --max-n must be at least 1")

    logdir = os.path.join(TOP, "logs", "faultsweep")
    # the consoles append across boots: a report left by an earlier run
    # must not fail this one
    shutil.rmtree(logdir, ignore_errors=True)
    os.makedirs(logdir, exist_ok=True)
    flavour = os.environ.get("MICEMU_FLAVOUR", "default")
    print(f"micemu faultsweep: paths {','.join(paths)}, kinds {','.join(kinds)}, "
          f"fault points {args.start}, {args.start + args.stride}, ..., "
          f"{flavour} kernel, logs in {logdir}", flush=True)
    t0 = time.monotonic()
    failure = None
    sw = None
    try:
        # fail-nth first, fail_function last: its first injection ends
        # lockdep's checking (see KPROBE_RANDOM). The probe's slab sweep
        # is a round of its own, on a host with the failslab marks
        # (PROBE_SPARED_CACHE); the other rounds run on one without.
        rounds = []
        for path in paths:
            nth = [k for k in kinds if k != "function"]
            if path == "probe" and "slab" in nth and len(nth) > 1:
                rounds += [(path, ["slab"]), (path, [k for k in nth if k != "slab"])]
            elif nth:
                rounds.append((path, nth))
        if "function" in kinds:
            rounds += [(path, ["function"]) for path in paths if path != "probe"]
        spared = [kk == ["slab"] and spares_cache(path, "slab") for path, kk in rounds]
        if not rounds:
            ap.error("nothing to sweep")
        sw = Sweep(logdir, args, spared[0])
        print(f"host VM up in {sw.s.boot_seconds:.0f} s", flush=True)
        for (path, round_kinds), spare in zip(rounds, spared):
            if round_kinds != ["function"] and spare != sw.spare:
                sw.start(spare)
                print(f"host VM {'with' if spare else 'without'} the failslab "
                      f"marks up in {sw.s.boot_seconds:.0f} s", flush=True)
            t = time.monotonic()
            for kind in round_kinds:
                tk = time.monotonic()
                if kind == "function":
                    sw.ff_sweep(path)
                    points = "-"
                else:
                    points = sw.sweep(path, kind)
                n = sw.counts.get((path, kind), 0)
                o = sw.outcomes.get((path, kind), {})
                print(f"{path:8} {kind:8} {n:4} injections ({points} fault points; "
                      f"{o.get('error', 0)} errors, {o.get('success', 0)} successes) "
                      f"{time.monotonic() - tk:6.0f} s", flush=True)
            sw.full_check(f"end of {path} {','.join(round_kinds)}")
            other = sw.leaks(path)
            print(f"{path:8} {','.join(round_kinds)} done in {time.monotonic() - t:.0f} s, "
                  f"kmemleak clean for our modules ({other} other reports)", flush=True)
        sw.console_trouble("end")
    except (SweepFailure, AssertionError, TimeoutError, RuntimeError) as e:
        failure = e
    finally:
        if sw:
            sw.s.shutdown()
    took = time.monotonic() - t0
    if sw:
        total = sum(sw.counts.values())
        print(f"{total} injections, {sw.checks} whole-life checks, in {took / 60:.1f} min")
        for site, n in sorted(sw.sites.items(), key=lambda x: -x[1])[:25]:
            print(f"  {n:4} at {site}")
    if sw and sw.partial:
        print("cut short by --budget: " + "; ".join(sw.partial))
    if failure:
        print(f"FAULTSWEEP FAILED: {failure}")
        return 1
    print("faultsweep passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
