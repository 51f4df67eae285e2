# SPDX-License-Identifier: GPL-2.0
"""Garbage written by the host guest into the x100's registers.

The device model and the firmware simulator must survive any register
value: logged, a defined reaction, never a crash or hang.  The host driver
must recover the card with a reset afterwards.
"""

import re

from test_pci import mic_pci_dirs

SBOX = 0x10000
SPAD = lambda j: SBOX + 0xAB20 + 4 * j          # noqa: E731
APICICR_LO = lambda k: SBOX + 0xA9D0 + 8 * k    # noqa: E731


def poke(system, dev, *args):
    return system.run_ok(f"mic-regpoke {dev} " + " ".join(str(a) for a in args))


def test_boot_kick_with_garbage_download(system):
    """A boot interrupt with nonsense sizes is refused by the bootstrap."""
    dev = mic_pci_dirs(system)[0]
    poke(system, dev, "write", hex(SPAD(5)), "0xfffffff0")   # image size
    poke(system, dev, "write", hex(APICICR_LO(7)), hex(229 | 1 << 13))
    system.wait_log("mic0-fw.log", r"boot-error", timeout=30)
    st = system.fw().request("status")
    assert st["ok"] and not st.get("card_vm_pid"), st
    # The host state machine never left ready; a proper boot works (the
    # driver resets the card first if the bootstrap is no longer ready).
    assert system.state(0) == "ready"
    system.run_ok("micctrl boot mic0")
    system.wait_log("mic0-console.log", r"micemu-card: ready", timeout=180)


def test_register_fuzz_survives(system):
    """Thousands of random register accesses: QEMU and micfw stay up."""
    dev = mic_pci_dirs(system)[0]
    for seed in (1, 2, 3):
        out = poke(system, dev, "fuzz", seed, 20000)
        assert re.search(r"fuzzed 20000 accesses", out)
    # Everyone is still alive and answering.
    assert system.proc.poll() is None
    assert system.fw().request("status")["ok"]
    assert "0x8086" in system.run_ok(f"cat {dev}/vendor")
    # The device said what it refused.
    assert re.search(r"mic-x100", system.read_log("host-qemu.log"))
    # The driver recovers: boot resets the card if the fuzz took it out of
    # ready, reprograms SMPT, MXAR and the enables, and the card boots.
    system.run_ok("micctrl boot mic0")
    system.wait_log("mic0-console.log", r"micemu-card: ready", timeout=180)
