# SPDX-License-Identifier: GPL-2.0
"""Fault knobs of the firmware simulator (its control socket), each with
the reaction the host stack must show: no kernel trouble, the state a
real host would report (stuck at booting, crashed, or still online), and
where the card got stuck, a reset brings it back to ready so that the
next boot works."""

import re
import time

import pytest

from micemu.system import CARD_NMI_PANIC, FAST_COSM_CARD, FAST_COSM_HOST, upstream_missing
from test_scif import start_server

POST_CODE = "cat /sys/kernel/debug/mic_host/mic0/post_code"
# Upstream's fixed timers: 40 s without a heartbeat is a crash.
UPSTREAM_HEARTBEAT_TIMEOUT = 40


@pytest.fixture
def stack_system(host_stack, make_system):
    """A system with one card, on each host stack (conftest's host_stack)."""
    return make_system()


def force_reset(system, card=0):
    """Reset a card whatever its state, ready included (debugfs
    force_reset: micemu's takes a write, upstream's a read)."""
    path = f"/sys/kernel/debug/mic_cosm/mic{card}/force_reset"
    if system.host_stack == "upstream":
        system.run_ok(f"cat {path}")
    else:
        system.run_ok(f"echo 1 > {path}")


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
    system = make_system(append=FAST_COSM_HOST)
    system.set_card_cmdline(0, FAST_COSM_CARD)
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


def test_card_kernel_panic_is_a_crash(make_system):
    """card-panic: an NMI into the card CPU panics the card kernel (panic=-1:
    its VM ends at once); to the host it is a card that stopped talking:
    crashed after the heartbeat timeout (compressed here), reset to ready,
    the next boot works."""
    system = make_system(append=FAST_COSM_HOST)
    system.set_card_cmdline(0, FAST_COSM_CARD)
    system.boot_online(0)
    system.card_panic(0)
    system.wait_log("mic0-console.log", CARD_NMI_PANIC, 30)
    system.wait_log("mic0-fw.log", r"card-vm-exit pid=\d+ exit=0", 30)
    assert "card-vm-qmp command=inject-nmi result=ok" in system.fw_log()
    system.wait_state(0, "shutting_down", 60)
    assert system.sysfs(0, "shutdown_status") == "crashed"
    recover(system)


def test_card_kernel_panic_upstream_host(make_system):
    """The same panic under upstream's host stack: crashed once its fixed
    40 s pass without a heartbeat; its reset brings the card back."""
    if upstream_missing():
        pytest.skip(upstream_missing())
    system = make_system(host_stack="upstream")
    system.boot_online(0)
    system.card_panic(0)
    system.wait_log("mic0-console.log", CARD_NMI_PANIC, 30)
    t0 = time.monotonic()
    system.wait_state(0, "shutting_down", UPSTREAM_HEARTBEAT_TIMEOUT + 40)
    print(f"upstream host: panic noticed after {time.monotonic() - t0:.1f} s")
    assert system.sysfs(0, "shutdown_status") == "crashed"
    assert re.search(r"node alive timeout", system.run_ok("dmesg"))
    recover(system)


def test_device_page_address_corrupted_at_boot(stack_system):
    """spad-corrupt at the boot kick of SPAD14/15 (the device page address
    the host wrote for the card): the card driver finds no device page and
    stays down, logged in the card's console; the host waits at booting,
    no oops on either side, and its reset and the next boot work."""
    system = stack_system
    system.spad_corrupt(0, 14, 0xDEAD0000, at="boot")
    system.spad_corrupt(0, 15, 0x00000001, at="boot")
    system.run_ok("micctrl boot mic0")
    system.wait_log("mic0-fw.log", r"spad-corrupt spad=15 old=\S+ new=0x00000001 at=boot", 60)
    system.wait_log("mic0-console.log", r"device page address 0x1dead0000 \(SPAD14/15\) "
                    r"is outside the SMPT window", 120)
    system.wait_log("mic0-console.log", r"micemu-card: ready", 60)
    time.sleep(3)
    assert system.state(0) == "booting"
    assert system.fw().request("status")["spad_faults_armed"] == 0
    recover(system)


def test_boot_address_corrupted_when_ready(stack_system):
    """spad-corrupt of SPAD2 while the card is ready: ready bit set, boot
    address 0xFFFFF000 (above 2 GiB).  The host refuses to boot, says why,
    keeps the card ready and loads nothing; a forced reset makes the
    bootstrap post SPAD2 again and the card boots."""
    system = stack_system
    system.spad_corrupt(0, 2, 0xFFFFF001)
    rc, out = system.run("micctrl boot mic0")
    assert rc != 0, out
    dmesg = system.run_ok("dmesg")
    if system.host_stack == "upstream":
        assert "incorrect bootaddr 0xfffff000" in dmesg
    else:
        assert re.search(r"SPAD2 0xfffff001: boot address 0xfffff000 above 2 GiB", dmesg)
    assert system.state(0) == "ready"
    status = system.fw().request("status")
    assert status["boots"] == 0 and not status["card_vm_pid"]
    force_reset(system)
    system.wait_state(0, "ready", 60)
    system.wait_log("mic0-fw.log", r"reset source=", 30)
    assert system.fw().request("status")["spad2"] & 1
    system.boot_online(0)
    assert not system.kernel_trouble()


def test_spad2_not_ready_garbage_is_reset_first(stack_system):
    """SPAD2 garbage without the ready bit: the host resets the card before
    it boots it (facts 4.2 step 2) and the boot goes through."""
    system = stack_system
    system.spad_corrupt(0, 2, 0xDEADBEEE)
    system.boot_online(0)
    assert system.fw().request("status")["resets"] == 1


# --- faults the device models act on (fault words in the register file) ------

def mic0_pci(system):
    out = system.run_ok("grep -l 0x2250 /sys/bus/pci/devices/*/device")
    return out.split()[0].rsplit("/", 1)[0]


def test_link_down_while_online(make_system):
    """link-down: the card falls off the host's bus while online.  The host
    reads all ones from BAR4 and config space and gets no interrupts: the
    card is crashed once the heartbeat timeout passes, a reset ends in
    reset_failed (SPAD2 reads all ones) instead of hanging; once the link
    is back, a reset and a boot work."""
    system = make_system(append=FAST_COSM_HOST + " mic_cosm.reset_poll_ms=200")
    system.set_card_cmdline(0, FAST_COSM_CARD)
    system.boot_online(0)
    dev = mic0_pci(system)
    system.link_down(0)
    spad2 = system.run_ok(f"mic-regpoke {dev} read 0x1AB28").strip()
    assert spad2 == "0xffffffff", spad2
    cfg = system.run_ok(f"od -An -tx1 -N4 {dev}/config").split()
    assert cfg == ["ff"] * 4, cfg
    system.wait_state(0, "shutting_down", 60)
    assert system.sysfs(0, "shutdown_status") == "crashed"
    system.run_ok("echo reset > /sys/class/mic/mic0/state")
    system.wait_state(0, "reset_failed", 60)
    assert "card not responding" in system.run_ok("dmesg")
    system.link_down(0, False)
    assert system.run_ok(f"mic-regpoke {dev} read 0x1AB28").strip() != "0xffffffff"
    recover(system)


def test_dma_error_on_the_next_descriptor(make_system):
    """dma-error: the next descriptor of a host channel (1) and of a card
    channel (6) fails with a bus error (DCHERR bit 5): the copy reports an
    error, each driver logs the channel error and recovers the channel,
    and the next copies on it are byte-exact."""
    from test_dma import Dma, copy_checked
    system = make_system()
    system.boot_online(0)
    dma = Dma(system)
    for owner, ch in (("host", 1), ("card", 2)):
        hw = ch if owner == "host" else ch + 4
        system.dma_error(0, hw)
        side = dma.side(owner)
        dma.other(owner).ok("fill 5 65536")
        rc, out = side.raw(f"copy to_peer 65536 {ch}")
        assert rc != 0 or "error" in out, out
        assert system.fw().request("status")["dma_errors_armed"] == 0
        console = system.host_console() if owner == "host" else system.card_console(0)
        assert re.search(rf"dma ch{hw}: channel error, DCHERR 0x0*20\b", console), \
            f"no bus error reported for ch{hw}"
        copy_checked(dma, owner, True, 1048576 + 64, seed=7, chan=ch)
        copy_checked(dma, owner, False, 1048576 + 64, seed=8, chan=ch)
    assert system.state(0) == "online"


@pytest.mark.parametrize("to", ["card", "host"])
def test_dropped_doorbells(make_system, to):
    """doorbell-fault drop: the next doorbell towards the card or the host
    vanishes, and with it the notice of the message it announced.  A
    connection request caught by it is refused once SCIF's answer timeout
    passes (or is answered late, when the heartbeat's doorbell comes
    first); the retry connects and moves data byte-exact, and the card
    stays online."""
    system = make_system(append=FAST_COSM_HOST)
    system.set_card_cmdline(0, FAST_COSM_CARD)
    system.boot_online(0)
    start_server(lambda c: system.card_run_ok(0, c), 2070)
    system.doorbell_fault(0, to, drop=1)
    out = system.run_ok("for i in 1 2 3; do echo attempt $i; "
                        "scif-pingpong -c 1 -p 2070 -n 20 -S 4096 && exit 0; "
                        "sleep 2; done; exit 1", timeout=180)
    print(f"doorbell to {to} dropped: {out.count('attempt')} attempt(s)")
    assert re.search(r"20 x 4096 bytes to node 1 port 2070: ok", out), out
    st = system.fw().request("status")
    assert st[f"doorbells_to_{to}_drop"] == 0, st
    assert system.state(0) == "online"


@pytest.mark.parametrize("to", ["card", "host"])
def test_doubled_doorbells(make_system, to):
    """doorbell-fault dup: the next doorbells ring twice; the second
    interrupt finds no new work.  Nothing is delivered twice, the card
    stays online."""
    system = make_system(append=FAST_COSM_HOST)
    system.set_card_cmdline(0, FAST_COSM_CARD)
    system.boot_online(0)
    start_server(lambda c: system.card_run_ok(0, c), 2071)
    system.doorbell_fault(0, to, dup=20)
    out = system.run_ok("scif-pingpong -c 1 -p 2071 -n 50 -S 4096", timeout=120)
    assert re.search(r"50 x 4096 bytes to node 1 port 2071: ok", out), out
    st = system.fw().request("status")
    assert st[f"doorbells_to_{to}_dup"] == 0, st
    time.sleep(5)
    assert system.state(0) == "online"
