# SPDX-License-Identifier: GPL-2.0
"""COSM end to end: host server, real card VM, card COSM client.

Needs the whole system built (make images) and runs it with the
heartbeat compressed to 2 s (+3 s slack) on both sides:

    /usr/bin/python3 -m pytest host-module/cosm/tests/test_cosm_e2e.py

MICEMU_BUILD selects the build directory, as for scripts/run-vm.sh.
"""

import os
import re
import sys
import time

import pytest

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
sys.path.insert(0, os.path.join(TOP, "tests"))

from micemu.system import System  # noqa: E402

HB_SEND = 2
HB_SLACK = 3
HB_TIMEOUT = HB_SEND + HB_SLACK
APPEND = (f"mic_cosm.heartbeat_send_sec={HB_SEND} "
          f"mic_cosm.heartbeat_slack_sec={HB_SLACK} "
          "scif.alive_timeout_ms=5000")
CARD_CMDLINE = f"console=ttyS0 panic=-1 mic_cosm_client.heartbeat_send_sec={HB_SEND}"
BUILD = os.environ.get("MICEMU_BUILD", os.path.expanduser("~/.cache/micemu"))


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    logdir = os.environ.get("COSM_E2E_LOGDIR") or str(tmp_path_factory.mktemp("cosm-e2e"))
    s = System(logdir, cards=1, append=APPEND)
    s.run_ok(f"micctrl config mic0 --cmdline '{CARD_CMDLINE}'")
    yield s
    trouble = s.kernel_trouble()
    s.shutdown()
    assert not trouble, "\n".join(trouble)


def boot_online(system):
    t0 = time.monotonic()
    system.run_ok("micctrl boot mic0")
    system.wait_state(0, "online", timeout=180)
    return time.monotonic() - t0


def reset_ready(system):
    if system.state() != "ready":
        system.run_ok("micctrl reset mic0")
    system.wait_state(0, "ready", timeout=120)


def test_boot_online(system):
    took = boot_online(system)
    print(f"boot to online: {took:.1f} s")
    assert system.sysfs(0, "shutdown_status") == "nop"
    system.wait_log("host-console.log", r"mic0: COSM client connected", timeout=10)


def test_heartbeat_keeps_online(system):
    time.sleep(2 * HB_TIMEOUT + 2)
    assert system.state() == "online"


def test_log(system):
    """debugfs log_buf through the aperture, addresses from System.map."""
    addr = {}
    with open(os.path.join(BUILD, "kernel-default", "System.map")) as f:
        for line in f:
            a, _, sym = line.split()
            if sym in ("__log_buf", "log_buf_len"):
                addr[sym] = a
    system.run_ok(f"echo {addr['__log_buf']} >/sys/class/mic/mic0/log_buf_addr")
    system.run_ok(f"echo {addr['log_buf_len']} >/sys/class/mic/mic0/log_buf_len")
    out = system.run_ok("micctrl log mic0")
    assert "Linux version" in out
    assert re.search(r"mic_cosm_client: connected to the host", out), out[-2000:]


def test_shutdown(system):
    out = system.run_ok("micctrl shutdown mic0 --timeout 120", timeout=300)
    assert "mic0: shutdown_status poweroff, state ready" in out


def test_reboot_comes_back(system):
    boot_online(system)
    out = system.run_ok("micctrl reboot mic0 --timeout 120", timeout=300)
    assert "shutdown_status poweroff" in out
    system.wait_state(0, "online", timeout=180)


def test_crash_hang(system):
    """A card that stops (SIGSTOP) is declared crashed after the timeout."""
    assert system.state() == "online"
    t0 = time.monotonic()
    assert system.fw().request("hang")["ok"]
    rc, out = system.run("for i in $(seq 300); do "
                         "[ $(cat /sys/class/mic/mic0/shutdown_status) = crashed ] && exit 0; "
                         "sleep 0.1; done; exit 1", timeout=60)
    took = time.monotonic() - t0
    print(f"hang to crashed: {took:.1f} s")
    assert rc == 0
    assert system.state() == "shutting_down"
    assert HB_TIMEOUT - 1 <= took <= HB_TIMEOUT + 10
    reset_ready(system)
    system.fw().request("resume")


def test_crash_kill_then_boot(system):
    boot_online(system)
    assert system.fw().request("crash")["ok"]
    rc, _ = system.run("for i in $(seq 300); do "
                       "[ $(cat /sys/class/mic/mic0/shutdown_status) = crashed ] && exit 0; "
                       "sleep 0.1; done; exit 1", timeout=60)
    assert rc == 0
    reset_ready(system)
    boot_online(system)


def test_heartbeat_disabled(system):
    assert system.state() == "online"
    system.run_ok("echo 0 >/sys/class/mic/mic0/heartbeat_enable")
    assert system.fw().request("hang")["ok"]
    time.sleep(HB_TIMEOUT + 4)
    assert system.state() == "online"
    assert system.sysfs(0, "shutdown_status") == "nop"
    system.run_ok("echo 1 >/sys/class/mic/mic0/heartbeat_enable")
    reset_ready(system)
    system.fw().request("resume")


def test_reset_while_online_then_boot(system):
    boot_online(system)
    reset_ready(system)
    assert system.sysfs(0, "shutdown_status") == "nop"
    boot_online(system)
    reset_ready(system)
