# SPDX-License-Identifier: GPL-2.0
"""Fault knobs of the firmware simulator (its control socket), each with
the reaction the host stack must show: no kernel trouble, the state a
real host would report (stuck at booting, crashed, or still online), and
where the card got stuck, a reset brings it back to ready so that the
next boot works."""

import re
import time

from test_scif import start_server

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


def test_power_loss_while_booting(system):
    """The board power-cycles between boot kick and online: the card VM
    dies, the bootstrap posts ready again, the host waits at booting until
    it resets the card itself."""
    system.run_ok("micctrl boot mic0")
    system.wait_log("mic0-fw.log", r"card-vm-start", 60)
    assert system.fw().request("power-loss")["ok"]
    system.wait_log("mic0-fw.log", r"reset source=power-loss", 10)
    system.wait_log("mic0-fw.log", r"postcode code=RD", 30,
                    start=system.fw_log().index("reset source=power-loss"))
    assert not system.fw().request("status")["card_vm_pid"]
    assert system.state(0) in ("booting", "online")
    recover(system)


def test_power_loss_while_online_is_a_crash(make_system):
    """From online, a power loss looks like a crash: the heartbeat stops and
    the host reports shutdown_status crashed (compressed timers)."""
    system = make_system(append="mic_cosm.heartbeat_send_sec=2 "
                         "mic_cosm.heartbeat_slack_sec=3 scif.alive_timeout_ms=5000")
    system.run_ok("micctrl config mic0 --cmdline "
                  "'console=ttyS0 panic=-1 mic_cosm_client.heartbeat_send_sec=2'")
    system.boot_online(0)
    assert system.fw().request("power-loss")["ok"]
    system.wait_state(0, "shutting_down", 60)
    assert system.sysfs(0, "shutdown_status") == "crashed"
    recover(system)


def dma_interrupts(system):
    """Interrupts the host took on each of mic0's DMA vectors so far."""
    counts = {}
    for line in system.run_ok("cat /proc/interrupts").splitlines():
        name = line.split()[-1]
        if name.startswith("mic0-dma"):
            counts[name] = sum(int(f) for f in line.split()[1:] if f.isdigit())
    return counts


def test_spurious_interrupts_are_harmless(system):
    """Doorbell, DMA and error interrupts with nothing behind them: the
    host's handlers find no work, the card stays online and SCIF still
    moves data."""
    system.boot_online(0)
    before = dma_interrupts(system)
    assert len(before) == 4, before
    reply = system.fw().request("spurious-irq", sources=0x4000FF0F, count=300)
    assert reply["ok"] and reply["raised"] == 300
    bad = system.fw().request("spurious-irq", sources=1 << 20)
    assert not bad["ok"] and "mask of SICR0 sources" in bad["error"]
    time.sleep(2)
    after = dma_interrupts(system)
    assert all(after[v] > before[v] for v in before), (before, after)
    assert system.state(0) == "online"
    start_server(lambda c: system.card_run_ok(0, c), 2050)
    out = system.run_ok("scif-pingpong -c 1 -p 2050 -n 20 -S 4096")
    assert re.search(r"20 x 4096 bytes to node 1 port 2050: ok", out), out
    assert not system.kernel_trouble()
