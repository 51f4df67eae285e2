# SPDX-License-Identifier: GPL-2.0
"""Fault knobs of the firmware simulator (its control socket), each with
the reaction the host stack must show: the card never gets online, the
host keeps its state and logs no kernel trouble, and a reset brings the
card back to ready so that the next boot works."""

import time

POST_CODE = "cat /sys/kernel/debug/mic_host/mic0/post_code"


def recover(system):
    """Reset from wherever the card is stuck, then boot normally."""
    system.run_ok("echo reset > /sys/class/mic/mic0/state")
    system.wait_state(0, "ready", 60)
    assert not system.fw().request("status")["card_vm_pid"]
    system.boot_online(0)
    assert not system.kernel_trouble()


def test_bootstrap_refuses_the_image(system):
    """refuse-image: the boot kick is answered with POST code E6 and no
    card VM; the host stays at booting until it resets the card."""
    reply = system.fw().request("refuse-image")
    assert reply["ok"] and reply["refuse_image"] is True
    system.run_ok("micctrl boot mic0")
    system.wait_log("mic0-fw.log", r"boot-error code=E6", 60)
    assert system.run_ok(POST_CODE).strip() == "E6"
    time.sleep(3)
    assert system.state(0) == "booting"
    assert not system.fw().request("status")["card_vm_pid"]
    assert system.fw().request("refuse-image", value=False)["ok"]
    recover(system)


def test_boot_stall(system):
    """boot-stall: the card VM starts and never runs its kernel; the host
    waits at booting (upstream has no boot timeout either) until reset."""
    assert system.fw().request("boot-stall")["boot_stall"] is True
    system.run_ok("micctrl boot mic0")
    system.wait_log("mic0-fw.log", r"boot-stall pid=\d+", 60)
    pid = system.fw().request("status")["card_vm_pid"]
    assert pid
    time.sleep(5)
    assert system.state(0) == "booting"
    assert "micemu-card: ready" not in system.card_console()
    with open(f"/proc/{pid}/stat") as f:
        assert f.read().split(")")[1].split()[0] == "T", "card VM not stopped"
    assert system.fw().request("boot-stall", value=False)["ok"]
    recover(system)


def test_knobs_refuse_bad_values(system):
    for cmd in ("refuse-image", "boot-stall"):
        reply = system.fw().request(cmd, value="yes")
        assert not reply["ok"] and "true or false" in reply["error"]
    status = system.fw().request("status")
    assert status["refuse_image"] is False and status["boot_stall"] is False
