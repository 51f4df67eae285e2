# SPDX-License-Identifier: GPL-2.0
"""Register-level golden traces: the host stack's conversation with the card.

One traced system per host stack (run-vm.sh --trace) goes through a card's
life: boot to online, reset, boot and shutdown (the card powers off, then
reset), boot and crash (then reset); the trace is cut at quiet points into those four scenarios,
normalised (tests/micemu/golden.py) and compared with
tests/golden/<host stack>/<scenario>.trace.  A difference fails with a
unified diff; the raw logs and the normalised parts stay in
logs/tests/test_golden.py_<stack>_lifecycle/.  `make golden-update`
rewrites the golden files on purpose (MICEMU_GOLDEN_UPDATE=1).

test_reordered_write_is_caught builds micemu's host driver again, in a
scratch directory of the build cache, with the two SPAD writes of the
device page address swapped, and checks that the boot trace then fails
the comparison, with a diff that shows exactly those writes.
"""

import difflib
import json
import os
import re
import shutil
import subprocess
import time

import pytest

from micemu.build import KTAG
from micemu.golden import normalise, snapshot
from micemu.system import FAST_COSM_CARD, FAST_COSM_HOST, HOST_STACKS, TOP, System, upstream_missing

GOLDEN = os.path.join(TOP, "tests", "golden")
LOGROOT = os.path.join(TOP, "logs", "tests" + KTAG)
UPDATE = os.environ.get("MICEMU_GOLDEN_UPDATE") == "1"
SCENARIOS = ("boot", "reset", "shutdown", "crash")

# micemu's stack, for the crash: upstream's COSM timers compressed
# (micemu.system's FAST_COSM_HOST, written to sysfs) so that the crash is
# seen in 5 s and its reset does not wait 30 s for a dead card; set at run
# time, after the other scenarios.
# Upstream's stack has no such knobs: its crash takes 40 s + 30 s.
MICEMU_FAST = {k.replace(".", "/parameters/", 1): v
               for k, v in (p.split("=") for p in FAST_COSM_HOST.split())}


def settle(s, since, quiet=2.0, limit=60):
    """Wait until the normalised trace since SINCE has not changed for QUIET
    seconds (heartbeats, folded into interrupt runs, do not count)."""
    deadline = time.monotonic() + limit
    last, stable = None, time.monotonic()
    while time.monotonic() < deadline:
        now = normalise(s.logdir, 1, since=since)
        if now != last:
            last, stable = now, time.monotonic()
        elif time.monotonic() - stable >= quiet:
            return
        time.sleep(0.25)
    raise TimeoutError(f"trace still changing after {limit} s")


def lifecycle(logdir, host_stack, upto="crash"):
    """Boot a traced system and take its card through the scenarios up to
    UPTO; return {scenario: normalised trace of that part}."""
    shutil.rmtree(logdir, ignore_errors=True)
    s = System(logdir, host_stack=host_stack, trace=True)
    parts, mark = {}, {}
    try:
        def cut(name):
            nonlocal mark
            settle(s, mark)
            now = snapshot(logdir)
            parts[name] = normalise(logdir, 1, since=mark, until=now)
            with open(os.path.join(logdir, f"{name}.normalised"), "w") as f:
                f.write(parts[name])
            mark = now
            with open(os.path.join(logdir, "marks.json"), "a") as f:
                f.write(json.dumps({name: now}) + "\n")
            return name == upto

        # boot: power-on, host driver probe, boot to online
        s.boot_online(0)
        if cut("boot"):
            return parts
        # reset: online -> ready
        s.run_ok("echo reset > /sys/class/mic/mic0/state")
        s.wait_state(0, "ready", 120)
        if cut("reset"):
            return parts
        # shutdown: boot, online, shutdown, the card powers off, reset ->
        # ready (micctrl shutdown's steps, but waiting for the card VM to
        # be gone before the reset: whether the reset or the card's own
        # poweroff ends the VM first is timing)
        s.boot_online(0)
        settle(s, mark)
        fw_start = len(s.fw_log(0))
        s.run_ok("echo shutdown > /sys/class/mic/mic0/state")
        s.wait_log("mic0-fw.log", r"card-vm-exit pid=\d+ exit=0 ", 120, start=fw_start)
        for _ in range(120):
            if s.sysfs(0, "shutdown_status") in ("poweroff", "halted"):
                break
            time.sleep(0.5)
        assert s.sysfs(0, "shutdown_status") in ("poweroff", "halted")
        s.run_ok("echo reset > /sys/class/mic/mic0/state")
        s.wait_state(0, "ready", 120)
        if cut("shutdown"):
            return parts
        # crash: boot, online, the card VM dies, crashed, reset -> ready
        if host_stack == "micemu":
            s.run_ok("; ".join(f"echo {v} > /sys/module/{k}" for k, v in MICEMU_FAST.items()))
            s.set_card_cmdline(0, FAST_COSM_CARD)
        s.boot_online(0)
        settle(s, mark)
        assert s.fw().request("crash")["ok"]
        s.wait_state(0, "shutting_down", 120)
        assert s.sysfs(0, "shutdown_status") == "crashed"
        s.run_ok("echo reset > /sys/class/mic/mic0/state")
        s.wait_state(0, "ready", 120)
        cut("crash")
        return parts
    finally:
        trouble = s.kernel_trouble()
        s.shutdown()
        assert not trouble, "kernel trouble in consoles:\n" + "\n".join(trouble)


_recorded = {}


def recorded(host_stack):
    """The four scenarios' traces of HOST_STACK, recorded once per session."""
    if host_stack not in _recorded:
        logdir = os.path.join(LOGROOT, f"test_golden.py_{host_stack}_lifecycle")
        t0 = time.monotonic()
        try:
            _recorded[host_stack] = (lifecycle(logdir, host_stack), logdir)
        except Exception as e:      # every scenario of the stack reports it
            _recorded[host_stack] = e
            raise
        print(f"{host_stack}: traced run {time.monotonic() - t0:.0f} s")
    got = _recorded[host_stack]
    if isinstance(got, Exception):
        pytest.fail(f"the traced run of {host_stack} failed: {got!r}", pytrace=False)
    return got


def golden_path(host_stack, scenario):
    return os.path.join(GOLDEN, host_stack, f"{scenario}.trace")


def compare(text, path, logdir):
    """Fail with a unified diff if TEXT differs from the golden file PATH."""
    if UPDATE:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        print(f"golden file written: {os.path.relpath(path, TOP)}")
        return
    assert os.path.exists(path), (f"no golden file {os.path.relpath(path, TOP)}: "
                                  "record it with 'make golden-update'")
    with open(path) as f:
        want = f.read()
    if text != want:
        diff = "".join(difflib.unified_diff(
            want.splitlines(True), text.splitlines(True),
            fromfile=os.path.relpath(path, TOP),
            tofile=os.path.join(os.path.relpath(logdir, TOP),
                                os.path.basename(path).replace(".trace", ".normalised"))))
        pytest.fail("register-level trace differs from the golden file "
                    f"(raw traces in {logdir}; 'make golden-update' if intended):\n{diff}",
                    pytrace=False)


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("host_stack", HOST_STACKS)
def test_golden(host_stack, scenario):
    if host_stack == "upstream" and upstream_missing():
        pytest.skip(upstream_missing())
    parts, logdir = recorded(host_stack)
    compare(parts[scenario], golden_path(host_stack, scenario), logdir)


# --- the comparison catches a reordered register write ----------------------
# micemu's host driver writes the device page address low half (SPAD14)
# before the high half (SPAD15); the scratch build swaps the two calls.
DP_LO = ("\tmic_x100_write_spad(mdev, MIC_X100_SPAD_DP_LO,\n"
         "\t\t\t    lower_32_bits(mdev->hw.dp_card_addr));\n")
DP_HI = ("\tmic_x100_write_spad(mdev, MIC_X100_SPAD_DP_HI,\n"
         "\t\t\t    upper_32_bits(mdev->hw.dp_card_addr));\n")


def _run(argv, **kw):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kw)
    assert r.returncode == 0, f"{argv[0]} failed:\n{r.stdout.decode(errors='replace')}"
    return r.stdout


def build_reordered(build):
    """A build directory like BUILD whose host image carries a mic_x100.ko
    built with the SPAD14/SPAD15 writes swapped; everything else is
    BUILD's.  Lives in BUILD/golden-reorder, never in the work tree."""
    # the kernel flavour run-vm.sh will use (make FLAVOUR=debug test)
    flavour = os.environ.get("MICEMU_FLAVOUR", "default")
    suffix = "-debug" if flavour == "debug" else ""
    scratch = os.path.join(build, "golden-reorder")
    moddir = os.path.join(scratch, "modules")
    shutil.rmtree(scratch, ignore_errors=True)
    # mic_x100.ko alone, from the work tree, against the symbols of the
    # modules in BUILD's image (the same kbuild flags as ./Kbuild).
    for tree in ("host-module", "shared-module/include"):
        shutil.copytree(os.path.join(TOP, tree), os.path.join(moddir, tree))
    with open(os.path.join(moddir, "Kbuild"), "w") as f:
        f.write("subdir-ccflags-y += -I$(src)/shared-module/include\n"
                "obj-m += host-module/x100/\n")
    boot_c = os.path.join(moddir, "host-module", "x100", "mic_x100_boot.c")
    with open(boot_c) as f:
        src = f.read()
    assert src.count(DP_LO + DP_HI) == 1, \
        "mic_x100_write_dp_addr() changed: update DP_LO/DP_HI in this test"
    with open(boot_c, "w") as f:
        f.write(src.replace(DP_LO + DP_HI, DP_HI + DP_LO))
    kname = f"kernel{KTAG}-{flavour}"
    kbuild = os.path.join(build, kname)
    _run(["nice", "-n", "10", "make", "-s", "-C", kbuild, f"M={moddir}", "W=1",
          "KBUILD_EXTRA_SYMBOLS=" + os.path.join(build, f"modules{KTAG}{suffix}",
                                                 "Module.symvers"),
          "modules"])
    ko = os.path.join(moddir, "host-module", "x100", "mic_x100.ko")
    # The host image: BUILD's, with a second cpio archive appended that
    # replaces /lib/micemu/mic_x100.ko (the kernel unpacks both in turn).
    images = os.path.join(scratch, f"images{KTAG}{suffix}")
    os.makedirs(images)
    listing = os.path.join(scratch, "cpio.list")
    with open(listing, "w") as f:
        f.write(f"dir /lib 0755 0 0\ndir /lib/micemu 0755 0 0\n"
                f"file /lib/micemu/mic_x100.ko {ko} 0644 0 0\n")
    cpio = _run([os.path.join(kbuild, "usr", "gen_init_cpio"), listing])
    with open(os.path.join(build, f"images{KTAG}{suffix}", "host-initramfs.img"), "rb") as f:
        image = f.read()
    with open(os.path.join(images, "host-initramfs.img"), "wb") as f:
        f.write(image + b"\0" * (-len(image) % 4) + cpio)
    # Everything else from BUILD.
    for name in ("qemu-build", kname, "card-firmware-sim", "tools"):
        os.symlink(os.path.join(build, name), os.path.join(scratch, name))
    os.symlink(os.path.join(build, f"images{KTAG}{suffix}", "card-initramfs.img"),
               os.path.join(images, "card-initramfs.img"))
    return scratch


def test_reordered_write_is_caught(logdir, monkeypatch):
    path = golden_path("micemu", "boot")
    if UPDATE:
        pytest.skip("golden files are being rewritten")
    assert os.path.exists(path), "no golden boot trace: run 'make golden-update'"
    build = os.environ.get("MICEMU_BUILD", os.path.expanduser("~/.cache/micemu"))
    t0 = time.monotonic()
    scratch = build_reordered(build)
    print(f"reordered host modules and image built in {time.monotonic() - t0:.0f} s")
    monkeypatch.setenv("MICEMU_BUILD", scratch)
    text = lifecycle(logdir, "micemu", upto="boot")["boot"]
    # The golden test's own comparison must fail ...
    with pytest.raises(pytest.fail.Exception) as failed:
        compare(text, path, logdir)
    message = str(failed.value)
    print(message)
    # ... and its diff show nothing but the two writes changing places,
    # wherever the driver writes the address (probe and boot).
    changed = [ln for ln in message.splitlines()
               if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]
    assert changed, message
    assert all(re.match(r"[-+]SPAD1[45] <- <addr>$", ln) for ln in changed), message
    assert (sorted(ln[1:] for ln in changed if ln[0] == "-")
            == sorted(ln[1:] for ln in changed if ln[0] == "+")), message
