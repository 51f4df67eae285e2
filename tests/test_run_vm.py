# SPDX-License-Identifier: GPL-2.0
"""scripts/run-vm.sh as a user calls it."""

import os
import subprocess

from micemu.system import TOP

RUN_VM = os.path.join(TOP, "scripts", "run-vm.sh")


def leftover_processes(logdir):
    out = subprocess.run(["pgrep", "-af", logdir], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if "pgrep" not in line]


def test_exec_returns_command_exit_code(logdir):
    r = subprocess.run([RUN_VM, "--cards", "1", "--accel", "tcg", "--logdir", logdir,
                        "--exec", "cat /sys/class/mic/mic0/state; exit 3"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 3, r.stderr
    assert r.stdout.strip() == "ready"
    for name in ("host-console.log", "mic0-fw.log"):
        assert os.path.getsize(os.path.join(logdir, name)) > 0, name
    assert not leftover_processes(logdir)


def test_bad_options_are_refused(logdir):
    for args in (["--cards", "x"], ["--accel", "warp"], ["--frob"],
                 ["--exec", "true", "--serve"], ["--dma-rate", "fast"],
                 ["--mem-size", "32G"], ["--mem-size", "3G"], ["--mem-size", "64M"],
                 ["--kernel-version", "5.4"]):
        r = subprocess.run([RUN_VM, "--logdir", logdir] + args,
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 2, (args, r.stderr)
        assert "run-vm.sh:" in r.stderr
        assert args[0] in r.stderr, r.stderr     # names what is wrong
        assert not os.path.exists(os.path.join(logdir, "host-console.log"))
