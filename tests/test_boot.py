# SPDX-License-Identifier: GPL-2.0
"""Boot, reset and firmware failures of one or two emulated cards."""

import re


def boot_and_wait_console(system, card=0, timeout=180):
    system.run_ok(f"micctrl boot mic{card}")
    return system.wait_log(f"mic{card}-console.log",
                           r"micemu-card: ready", timeout=timeout)


def test_boot_runs_card_kernel_with_host_cmdline(system):
    boot_and_wait_console(system)
    console = system.card_console()
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
    assert system.state(0) in ("booting", "online")
    fwlog = system.fw_log()
    assert "boot-kick" in fwlog
    assert "card-vm" in fwlog


def test_reset_kills_card_vm_and_returns_to_ready(system):
    boot_and_wait_console(system)
    pid = system.fw().request("status")["card_vm_pid"]
    assert pid
    system.run_ok("echo reset > /sys/class/mic/mic0/state")
    system.wait_state(0, "ready", timeout=60)
    st = system.fw().request("status")
    assert not st.get("card_vm_pid"), st
    assert st["resets"] >= 1
    assert system.sysfs(0, "shutdown_status") == "nop"
    # and it boots again
    start = len(system.card_console())
    system.run_ok("micctrl boot mic0")
    system.wait_log("mic0-console.log", r"micemu-card: init running", 180, start)


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


def test_two_cards_boot_independently(make_system):
    system = make_system(cards=2)
    assert system.state(0) == "ready" and system.state(1) == "ready"
    boot_and_wait_console(system, 1)
    assert system.state(0) == "ready"
    assert "init running" not in system.card_console(0)
    boot_and_wait_console(system, 0)
    system.run_ok("echo reset > /sys/class/mic/mic1/state")
    system.wait_state(1, "ready", timeout=60)
    assert system.state(0) in ("booting", "online")
    assert system.fw(0).request("status")["card_vm_pid"]
