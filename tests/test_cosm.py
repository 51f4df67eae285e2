# SPDX-License-Identifier: GPL-2.0
"""COSM over SCIF: cards go online, keep time, shut down, reboot, reset,
and crashes and hangs are detected through the heartbeat.

The boot, status, log, time, shutdown, reboot and reset scenarios run on
both host stacks and share one system per stack; the crash and hang
scenarios compress the heartbeat timers with micemu's module parameters
and boot a system each."""

import re
import time

import pytest

from micemu.stacks import micemu_only
from micemu.system import FAST_COSM_CARD, FAST_COSM_HOST

pytestmark = pytest.mark.usefixtures("host_stack")

HOST_TIMEOUT = 5


def fast_system(make_system, cards=1):
    s = make_system(cards=cards, append=FAST_COSM_HOST)
    for i in range(cards):
        s.set_card_cmdline(i, FAST_COSM_CARD)
    return s


def wall_clock(output):
    """Seconds since the epoch from busybox adjtimex (date has no %N)."""
    sec = re.search(r"time\.tv_sec:\s+(\d+)", output)
    usec = re.search(r"time\.tv_usec:\s+(\d+)", output)
    assert sec and usec, output
    return int(sec.group(1)) + int(usec.group(1)) / 1e6


def card_vm_pid(system, card=0):
    return system.fw(card).request("status").get("card_vm_pid")


@pytest.fixture
def cosm(shared):
    """The file's shared system (its card in whatever state the scenario
    before left it)."""
    return shared


def test_boot_to_online(cosm):
    s = cosm
    s.ensure_ready(0)
    start = len(s.card_console())
    seconds = s.boot_online(0)
    assert s.state(0) == "online"
    assert s.sysfs(0, "shutdown_status") == "nop"
    if s.host_stack == "micemu":
        assert "mic mic0: COSM client connected, card online" in s.host_console()
    # The card's console lags its state: wait for this boot's lines.
    s.wait_log("mic0-console.log",
               r"mic_cosm_client: connected to the host \(node 0, port 201\)", 60, start)
    # The card kernel is micemu's card kernel, loaded by the host driver
    # (its init says so once the modules are in: the card is online by then).
    s.wait_log("mic0-console.log", r"micemu-card: ready", 60, start)
    print(f"{s.host_stack} host: boot to online {seconds:.1f} s")


def test_micctrl_status_and_wait(cosm):
    s = cosm
    s.ensure_online(0)
    out = s.run_ok("micctrl status mic0")
    for attr, value in (("state", "online"), ("shutdown_status", "nop"),
                        ("family", "x100"), ("stepping", "C0"),
                        ("bootmode", "linux"), ("heartbeat_enable", "1")):
        assert re.search(rf"^\s+{attr}\s+{value}$", out, re.M), out
    s.run_ok("micctrl wait mic0 online --timeout 0")
    rc, out = s.run("micctrl wait mic0 ready --timeout 1")
    assert rc == 1, out


def test_card_log_through_aperture(cosm):
    """micctrl log reads the card kernel's log buffer out of card memory."""
    s = cosm
    s.ensure_online(0)
    out = s.run_ok("micctrl log mic0")
    assert "Linux version 6.1" in out
    assert "mic_cosm_client: connected to the host" in out


def test_card_time_synced_to_host(cosm):
    s = cosm
    s.ensure_online(0)
    # The card VM's clock starts in 2000 (micfw): only SYNC_TIME can
    # have brought it to the host's time.
    t0 = time.monotonic()
    host = wall_clock(s.run_ok("adjtimex"))
    t1 = time.monotonic()
    card = wall_clock(s.card_run_ok(0, "adjtimex"))
    t2 = time.monotonic()
    # card was read (t2 - t1) / 2 +- after the host's reading on average
    offset = card - host - ((t1 + t2) / 2 - (t0 + t1) / 2)
    assert abs(offset) < 1.0, f"card clock is {offset:+.3f} s off the host's"


def wait_status(system, card, statuses, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = system.sysfs(card, "shutdown_status")
        if status in statuses:
            return status
        time.sleep(0.5)
    raise TimeoutError(f"shutdown_status of mic{card} never became {statuses}")


def test_shutdown_powers_off(cosm):
    """The sysfs flow: shutdown → the card powers off and reports it, the
    host publishes the status; a reset (what mpssd does next) → ready."""
    s = cosm
    s.ensure_online(0)
    assert card_vm_pid(s)
    fwlog = len(s.fw_log())
    s.online_since.pop(0, None)
    s.run_ok("echo shutdown > /sys/class/mic/mic0/state")
    assert s.state(0) == "shutting_down"
    status = wait_status(s, 0, ("poweroff", "halted"), 120)
    exit_line = s.wait_log("mic0-fw.log", r"card-vm-exit.*", 60, fwlog).group(0)
    assert "exit=0" in exit_line, exit_line
    assert not card_vm_pid(s)
    print(f"shutdown status: {status}")
    s.run_ok("echo reset > /sys/class/mic/mic0/state")
    s.wait_state(0, "ready", 60)
    assert s.sysfs(0, "shutdown_status") == "nop"


def test_micctrl_shutdown(cosm):
    """micctrl shutdown does the whole mpssd sequence and reports the status."""
    s = cosm
    s.ensure_online(0)
    s.online_since.pop(0, None)
    out = s.run_ok("micctrl shutdown mic0 --timeout 120", timeout=300)
    assert re.search(r"mic0: shutdown_status (poweroff|halted), state ready", out), out
    assert s.state(0) == "ready"
    assert s.sysfs(0, "shutdown_status") == "nop"
    assert not card_vm_pid(s)


def test_reboot(cosm):
    s = cosm
    s.ensure_online(0)
    start = len(s.card_console())
    s.online_since.pop(0, None)
    out = s.run_ok("micctrl reboot mic0 --timeout 180", timeout=300)
    assert re.search(r"mic0: shutdown_status (restart|poweroff|halted), state ready",
                     out), out
    s.wait_state(0, "online", 180)
    s.online_since[0] = time.monotonic()
    # the card's console lags its state: wait for its lines of this boot
    s.wait_log("mic0-console.log", r"mic_cosm_client: connected to the host", 60, start)
    s.wait_log("mic0-console.log", r"micemu-card: ready", 60, start)


def test_reset_from_online(cosm):
    s = cosm
    s.ensure_online(0)
    s.online_since.pop(0, None)
    s.run_ok("echo reset > /sys/class/mic/mic0/state")
    s.wait_state(0, "ready", 60)
    assert not card_vm_pid(s)
    assert s.sysfs(0, "shutdown_status") == "nop"
    s.boot_online(0)


def test_reset_from_booting(cosm):
    s = cosm
    s.ensure_ready(0)
    s.run_ok("micctrl boot mic0")
    assert s.state(0) == "booting"
    s.run_ok("echo reset > /sys/class/mic/mic0/state")
    s.wait_state(0, "ready", 60)
    assert not card_vm_pid(s)
    s.boot_online(0)


# --- micemu's host stack only: compressed heartbeat timers ----------------------
# Upstream's COSM timers are fixed (30 s heartbeat, 40 s timeout) and have
# no module parameters; its crash scenario is test_upstream_host.py's.
FIXED_TIMERS = ("needs micemu's heartbeat knobs (mic_cosm.heartbeat_*, "
                "scif.alive_timeout_ms); upstream's fixed-timer crash scenario is "
                "test_upstream_host.py::test_upstream_crash_detected")


def wait_crashed(system, card, limit):
    t0 = time.monotonic()
    system.wait_state(card, "shutting_down", limit)
    took = time.monotonic() - t0
    assert system.sysfs(card, "shutdown_status") == "crashed"
    return took


@micemu_only(FIXED_TIMERS)
def test_crash_detected(make_system):
    system = fast_system(make_system)
    system.boot_online(0)
    assert system.fw().request("crash")["ok"]
    took = wait_crashed(system, 0, 60)
    assert took < HOST_TIMEOUT + 5, f"crash detected after {took:.1f} s"
    system.run_ok("echo reset > /sys/class/mic/mic0/state")
    system.wait_state(0, "ready", 60)


@micemu_only(FIXED_TIMERS)
def test_hang_detected_and_reset_recovers(make_system):
    system = fast_system(make_system)
    system.boot_online(0)
    assert system.fw().request("hang")["ok"]
    took = wait_crashed(system, 0, 60)
    assert took < HOST_TIMEOUT + 5
    system.run_ok("echo reset > /sys/class/mic/mic0/state")
    system.wait_state(0, "ready", 60)
    assert not card_vm_pid(system)
    system.boot_online(0)


@micemu_only(FIXED_TIMERS)
def test_heartbeat_disabled_no_detection(make_system):
    system = fast_system(make_system)
    system.boot_online(0)
    system.run_ok("echo 0 > /sys/class/mic/mic0/heartbeat_enable")
    assert system.fw().request("hang")["ok"]
    time.sleep(3 * HOST_TIMEOUT)
    assert system.state(0) == "online"
    assert system.sysfs(0, "shutdown_status") == "nop"
    assert system.fw().request("resume")["ok"]


@micemu_only(FIXED_TIMERS)
def test_client_reload_keeps_online(make_system):
    system = fast_system(make_system)
    system.boot_online(0)
    system.card_run_ok(0, "rmmod mic_cosm_client")
    system.card_run_ok(0, f"insmod /lib/micemu/mic_cosm_client.ko {FAST_COSM_CARD.split('.', 1)[1]}")
    time.sleep(2 * HOST_TIMEOUT)
    assert system.state(0) == "online"
    assert system.sysfs(0, "shutdown_status") == "nop"
    assert len(re.findall(r"mic_cosm_client: connected to the host", system.card_console())) >= 2


@micemu_only(FIXED_TIMERS)
def test_bad_client_is_ignored(make_system):
    system = fast_system(make_system)
    system.boot_online(0)
    system.card_run_ok(0, "rmmod mic_cosm_client")
    system.card_run_ok(0, "insmod /lib/micemu/mic_cosm_badclient.ko")
    time.sleep(2 * HOST_TIMEOUT)
    dmesg = system.run_ok("dmesg")
    assert re.search(r"ignoring COSM message id 99\b", dmesg), dmesg[-3000:]
    assert re.search(r"ignoring shutdown status (0|5|1000)\b", dmesg), dmesg[-3000:]
    # The bad client keeps sending heartbeats: the card stays online.
    assert system.state(0) == "online"
    assert system.sysfs(0, "shutdown_status") == "nop"
    # The host is up, still answers, and the card can be reset and booted.
    system.run_ok("echo reset > /sys/class/mic/mic0/state")
    system.wait_state(0, "ready", 60)
    system.boot_online(0)


@micemu_only(FIXED_TIMERS)
@pytest.mark.parametrize("victim", [2])
def test_four_cards_one_crashes(make_system, victim):
    system = fast_system(make_system, cards=4)
    for i in range(4):
        system.run_ok(f"micctrl boot mic{i}")
    for i in range(4):
        system.wait_state(i, "online", 300)
    assert system.fw(victim).request("crash")["ok"]
    wait_crashed(system, victim, 60)
    time.sleep(2 * HOST_TIMEOUT)
    for i in range(4):
        if i != victim:
            assert system.state(i) == "online", f"mic{i}"
