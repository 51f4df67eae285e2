# SPDX-License-Identifier: GPL-2.0
"""Hot-removal and hot-add of a card in a running host VM, with each host
stack: every card sits behind its own PCIe root port of the q35 host VM;
scripts/micemu_hotplug.py deletes the mic-x100 over QMP (the host kernel
runs the driver's remove path and ejects it) and stops the card's micfw,
or starts a new micfw and adds the device again.  The host stack must let
the card go whatever state it is in, without an oops, and take the new
one like a card found at boot: ready, boots, online, moves SCIF data.
"""

import os
import re
import time

import pytest

from micemu.fwctl import pid_alive
from test_scif import start_server

X100_DEVICE_ID = "0x2250"


@pytest.fixture
def stack_system(host_stack, make_system):
    """A system with one card, on each host stack (conftest's host_stack)."""
    return make_system()


def fw_pid(system, card=0):
    with open(os.path.join(system.run_dir, f"mic{card}-fw.pid")) as f:
        return int(f.read())


def x100_functions(system):
    rc, out = system.run(f"grep -l {X100_DEVICE_ID} /sys/bus/pci/devices/*/device")
    return out.split() if rc == 0 else []


def mic_cards(system):
    return system.run_ok("ls /sys/class/mic/ 2>/dev/null || true").split()


def wait_for(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.5)


def check_gone(system, fw, vm):
    """No x100 function, no micN, micfw and its card VM exited."""
    assert x100_functions(system) == []
    assert mic_cards(system) == []
    wait_for(lambda: not pid_alive(fw), 10, "micfw still running")
    assert vm is None or not pid_alive(vm), "card VM still running"
    assert not os.path.exists(os.path.join(system.run_dir, "mic0-fw.pid"))


def add_back_and_boot(system):
    """Hot-add card 0 again: a new micfw, the host finds a ready card that
    boots and answers SCIF."""
    old_fw_log = len(system.fw_log())
    t0 = time.monotonic()
    system.hot_add(0)
    wait_for(lambda: mic_cards(system) == ["mic0"], 60, "no mic0 after hot-add")
    print(f"hot-add to /sys/class/mic/mic0: {time.monotonic() - t0:.1f} s")
    assert len(x100_functions(system)) == 1
    assert re.search(r"start ", system.fw_log()[old_fw_log:]), "no new micfw"
    system.configure_cards()
    system.wait_state(0, "ready", 60)
    system.boot_online(0)
    start_server(lambda c: system.card_run_ok(0, c), 2060)
    out = system.run_ok("scif-pingpong -c 1 -p 2060 -n 10 -S 4096")
    assert re.search(r"10 x 4096 bytes to node 1 port 2060: ok", out), out
    assert not system.kernel_trouble()


def test_remove_online_card_and_add_it_back(stack_system):
    """device_del of an online card: the host's remove path takes it down
    (no shutdown asked of the card), the slot is empty, micfw and the card
    VM are gone; device_add brings a card that boots and moves data."""
    system = stack_system
    system.boot_online(0)
    fw = fw_pid(system)
    vm = system.fw().request("status")["card_vm_pid"]
    assert vm and pid_alive(vm)
    t0 = time.monotonic()
    system.hot_remove(0)
    print(f"{system.host_stack}: device_del of an online card took "
          f"{time.monotonic() - t0:.1f} s")
    check_gone(system, fw, vm)
    assert system.run_ok("echo still here").strip() == "still here"
    add_back_and_boot(system)


def test_surprise_removal_of_an_online_card(stack_system):
    """The board vanishes first (micfw SIGKILLed, its card VM with it), then
    the slot is emptied: the remove path meets a card that no longer
    answers and must still finish, bounded, without an oops; the card
    comes back with a hot-add."""
    system = stack_system
    system.boot_online(0)
    fw = fw_pid(system)
    vm = system.fw().request("status")["card_vm_pid"]
    t0 = time.monotonic()
    system.hot_remove(0, surprise=True, timeout=180)
    print(f"{system.host_stack}: surprise removal took {time.monotonic() - t0:.1f} s")
    check_gone(system, fw, vm)
    add_back_and_boot(system)


def test_remove_and_add_a_ready_card(stack_system):
    """A card that was never booted goes and comes back: nothing to stop,
    the new card is ready and boots."""
    system = stack_system
    fw = fw_pid(system)
    system.hot_remove(0)
    check_gone(system, fw, None)
    add_back_and_boot(system)
