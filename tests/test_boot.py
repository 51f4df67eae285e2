# SPDX-License-Identifier: GPL-2.0
"""Boot, reset and firmware failures of one or two emulated cards.

The boot and reset scenarios run on both host stacks and share one system
with two cards per stack; the never-ready scenario needs micemu's
reset-poll knobs and boots a system of its own."""

import re

import pytest

from micemu.build import KERNEL_VERSION
from micemu.stacks import micemu_only

pytestmark = pytest.mark.usefixtures("host_stack")

SHARED_SYSTEM = dict(cards=2)


@pytest.fixture
def two(shared):
    """The file's shared system, both cards ready."""
    for card in range(2):
        shared.ensure_ready(card)
    return shared


def boot_and_wait_console(system, card=0, timeout=180):
    """Boot CARD; return the offset of its console where this boot starts
    (the console log runs on across boots) once the card kernel is up."""
    start = len(system.card_console(card))
    system.online_since.pop(card, None)
    system.run_ok(f"micctrl boot mic{card}")
    system.wait_log(f"mic{card}-console.log", r"micemu-card: ready",
                    timeout=timeout, start=start)
    return start


def test_boot_runs_card_kernel_with_host_cmdline(two):
    s = two
    fwlog = len(s.fw_log())
    start = boot_and_wait_console(s)
    console = s.card_console()[start:]
    # The card kernel reports the command line the host driver wrote into
    # card memory: " mem=<BAR0 MiB>M" followed by the sysfs cmdline.
    m = re.search(r"Command line: (.*)", console)
    assert m, console[:2000]
    cmdline = m.group(1)
    assert "mem=1024M" in cmdline
    assert "console=ttyS0" in cmdline
    assert re.search(r"micemu-card: cmdline: .*mem=1024M", console)
    # The card reports an x100's CPU identity.
    assert re.search(r"micemu-card: cpu: cpu family : 11, model : 1", console)
    assert s.state(0) in ("booting", "online")
    fw = s.fw_log()[fwlog:]
    assert "boot-kick" in fw
    assert "card-vm" in fw


def test_reset_kills_card_vm_and_returns_to_ready(two):
    s = two
    resets = s.fw().request("status")["resets"]
    boot_and_wait_console(s)
    pid = s.fw().request("status")["card_vm_pid"]
    assert pid
    s.run_ok("echo reset > /sys/class/mic/mic0/state")
    s.wait_state(0, "ready", timeout=60)
    st = s.fw().request("status")
    assert not st.get("card_vm_pid"), st
    assert st["resets"] >= resets + 1
    assert s.sysfs(0, "shutdown_status") == "nop"
    # and it boots again
    start = len(s.card_console())
    s.run_ok("micctrl boot mic0")
    s.wait_log("mic0-console.log", r"micemu-card: init running", 180, start)


def test_two_cards_boot_independently(two):
    s = two
    assert s.state(0) == "ready" and s.state(1) == "ready"
    start0 = len(s.card_console(0))
    boot_and_wait_console(s, 1)
    assert s.state(0) == "ready"
    assert "init running" not in s.card_console(0)[start0:]
    boot_and_wait_console(s, 0)
    s.run_ok("echo reset > /sys/class/mic/mic1/state")
    s.wait_state(1, "ready", timeout=60)
    assert s.state(0) in ("booting", "online")
    assert s.fw(0).request("status")["card_vm_pid"]


@micemu_only("needs micemu's reset-poll knobs (mic_cosm.reset_poll_count, "
             "reset_poll_ms); upstream polls a fixed 45 x 1 s (MIC_RESET_TO)")
def test_never_ready_ends_in_reset_failed(make_system):
    system = make_system(append="mic_cosm.reset_poll_count=3 mic_cosm.reset_poll_ms=200")
    assert system.fw().request("never-ready")["ok"]
    # Take the card out of ready, then ask for a boot: the driver resets it,
    # polls three times and gives up.
    boot_and_wait_console(system)
    system.run_ok("echo reset > /sys/class/mic/mic0/state")
    system.wait_state(0, "reset_failed", timeout=60)
    rc, out = system.run("echo boot > /sys/class/mic/mic0/state")
    assert rc != 0 and "Invalid argument" in out
    # Recovery once the firmware behaves again.
    assert system.fw().request("never-ready", value=False)["ok"]
    system.run_ok("echo reset > /sys/class/mic/mic0/state")
    system.wait_state(0, "ready", timeout=60)


def test_cards_run_the_selected_kernel(two, host_stack):
    """make KERNEL=V (MICEMU_KERNEL_VERSION): the card VMs run Linux V with
    micemu's card modules on either host stack, and so does micemu's host
    VM (upstream's host runs its own 5.10)."""
    s = two
    release = re.compile(re.escape(KERNEL_VERSION) + r"\.\d+\S*-micemu$")
    s.boot_online(0)
    card = s.card_run_ok(0, "uname -r").strip()
    assert release.match(card), card
    assert "mic_card " in s.card_run_ok(0, "cat /proc/modules")
    if host_stack == "micemu":
        assert s.run_ok("uname -r").strip() == card
        assert "mic_x100 " in s.run_ok("cat /proc/modules")
