# SPDX-License-Identifier: GPL-2.0
"""micfuzz (fuzz/): a short campaign on every target, the failure path
(save, replay, minimise) and the defects the fuzzer found, each as a
minimal reproducer.  Long campaigns: `make fuzz FUZZ_SECONDS=N`."""

import json
import os
import subprocess
import sys
import tempfile
import time

import fuzzlib
from micemu.build import TOP, find_micfw, find_qemu

FUZZ = os.path.join(TOP, "fuzz", "micfuzz.py")
QEMU = find_qemu()
MICFW = find_micfw()


def micfuzz(logdir, *args, timeout=300):
    env = dict(os.environ, MICEMU_QEMU=QEMU, MICFW=MICFW or "",
               PYTHONPATH=os.path.join(TOP, "tests"))
    p = subprocess.run([sys.executable, FUZZ, "--logdir", logdir] +
                       list(args), env=env, capture_output=True, text=True,
                       timeout=timeout)
    with open(os.path.join(logdir, "micfuzz.out"), "a") as f:
        f.write(p.stdout + p.stderr)
    return p


def test_short_campaign_every_target(logdir):
    """About 60 s across the six targets: nothing crashes, hangs, leaks
    or stops working."""
    assert MICFW, "micfw not built"
    p = micfuzz(logdir, "--seconds", "60")     # a new seed each run
    assert p.returncode == 0, p.stdout[-4000:] + p.stderr[-4000:]
    with open(os.path.join(logdir, "summary.json")) as f:
        summary = json.load(f)
    assert summary["failures"] == []
    for name, st in summary["targets"].items():
        assert st["campaigns"] >= 1 and st["ops"] >= 500, (name, st)
    assert summary["ops"] >= 50000, summary
    assert summary["qtest"] >= 50000, summary


def test_failure_is_saved_replayed_and_minimised(logdir):
    """A campaign whose QEMU is SIGKILLed half-way (the --inject-kill
    self-test) fails as a crash; the saved sequence replays to the same
    crash and delta debugging brings it down to the one kill."""
    p = micfuzz(logdir, "--targets", "x100", "--ops", "1000", "--campaigns",
                "1", "--seed", "7", "--inject-kill", "--seconds", "60")
    assert p.returncode == 1, p.stdout + p.stderr
    assert "FAILED crash" in p.stdout and "SIGKILL" in p.stdout, p.stdout
    saved = [f for f in os.listdir(os.path.join(logdir, "failures"))
             if f.endswith("-crash.json")]
    assert len(saved) == 1, saved
    path = os.path.join(logdir, "failures", saved[0])
    with open(path) as f:
        ops = json.load(f)["ops"]
    kills = [op for op in ops if op[0] == "kill"]
    assert len(ops) >= 500 and len(kills) == 1, len(ops)
    p = micfuzz(logdir, "--replay", path, "--minimise")
    assert p.returncode == 1, p.stdout + p.stderr
    assert "reproduced: crash" in p.stdout, p.stdout
    with open(path.replace(".json", ".min.json")) as f:
        small = json.load(f)
    assert small["ops"] == kills, small["ops"]
    assert small["failure"]["kind"] == "crash"


def test_standalone_x100_replug_same_slot():
    """Found by micfuzz: device_del of a standalone mic-x100 (after the
    guest's ACPI eject) then device_add at the same address aborted QEMU
    ("RAMBlock ... mic-x100.gddr already registered") because unrealize
    left card memory registered for migration."""
    with tempfile.TemporaryDirectory(prefix="mic-replug-") as tmp:
        qmp_path = os.path.join(tmp, "qmp")
        q = fuzzlib.FuzzQTest(QEMU, [
            "-M", "pc", "-m", "64M", "-qmp",
            "unix:%s,server=on,wait=off" % qmp_path, "-device",
            "mic-x100,id=mic,addr=4.0,mem-size=16M"],
            os.path.join(tmp, "qemu.err"), "qemu")
        try:
            qmp = fuzzlib.FuzzQmp(qmp_path, "qemu")
            for _ in range(3):
                assert "error" not in qmp.call("device_del", id="mic")
                q.cmd("outl 0xae08 0x%x" % (1 << 4))    # ACPI eject slot 4
                end = time.monotonic() + 10
                while any(d["slot"] == 4 for d in
                          qmp.call("query-pci")["return"][0]["devices"]):
                    assert time.monotonic() < end, "not unplugged"
                r = qmp.call("device_add", driver="mic-x100", id="mic",
                             addr="4.0", **{"mem-size": 16 << 20})
                assert "error" not in r, r
                assert q.p.poll() is None, q.stderr()
                q.cmd("outl 0xcf8 0x%x" % (0x80000000 | 4 << 11))
                assert q.cmd("inl 0xcfc") == 0x22508086
            q.stop()
        finally:
            q.kill()


def test_linked_x100_unplugged_with_memory_decoding_is_finalized(logdir):
    """Found by micfuzz: a mic-x100 linked to micfw, unplugged after the
    guest turned memory decoding on, was never finalized, so its chardev
    stayed busy: the engine's view of card memory (an address space whose
    flat view the memory API caches until the map next changes) kept a
    reference on the device.  Replug, that config write, replug: the
    second replug's chardev-remove must succeed."""
    assert MICFW, "micfw not built"
    path = os.path.join(logdir, "replug.json")
    with open(path, "w") as f:
        json.dump({"target": "x100-fw", "seed": 0,
                   "config": {"machine": "pc"},
                   "failure": {"kind": "health", "detail": "(reproducer)"},
                   "ops": [["replug", "host"],
                           ["cfg", "host", 4, 4, 0xE64CFA],
                           ["replug", "host"]]}, f)
    p = micfuzz(logdir, "--replay", path)
    assert "does not reproduce" in p.stdout, p.stdout + p.stderr
