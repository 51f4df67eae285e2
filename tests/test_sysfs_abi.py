# SPDX-License-Identifier: GPL-2.0
"""The /sys/class/mic ABI on both host stacks (one shared system each,
its card ready): the attribute set of upstream's ABI document, bad sysfs
writes get upstream's error codes, micctrl reports clearly."""

import os
import re

import pytest

from micemu.system import CARD_CMDLINE, UPSTREAM_MIC_SRC

pytestmark = pytest.mark.usefixtures("host_stack")


@pytest.fixture
def ready(shared):
    shared.ensure_ready(0)
    return shared


def write(system, attr, value, card=0):
    return system.run(f"echo '{value}' > /sys/class/mic/mic{card}/{attr}")


def test_sysfs_attributes(ready):
    """/sys/class/mic/mic0 has exactly the attributes upstream's ABI
    document lists (Documentation/ABI/testing/sysfs-class-mic), plus the
    driver core's own; the configuration mpssd writes (the image's init
    wrote it) reads back."""
    s = ready
    doc = os.path.join(UPSTREAM_MIC_SRC, "Documentation", "ABI", "testing",
                       "sysfs-class-mic")
    if not os.path.isfile(doc):
        pytest.skip(f"no {doc}: set UPSTREAM_MIC_SRC=/path/to/linux-5.9 to "
                    "check the attribute set against upstream's ABI document")
    with open(doc) as f:
        abi = set(re.findall(r"^What:\s+/sys/class/mic/mic\(x\)/(\w+)", f.read(), re.M))
    assert len(abi) >= 10, abi
    present = set(s.run_ok("ls /sys/class/mic/mic0").split())
    core = {"device", "power", "subsystem", "uevent"}
    assert present - core == abi, (f"missing {sorted(abi - present)}, "
                                   f"extra {sorted(present - core - abi)}")
    assert s.sysfs(0, "family") == "x100"
    assert s.sysfs(0, "stepping") == "C0"
    assert s.sysfs(0, "shutdown_status") == "nop"
    assert s.sysfs(0, "bootmode") == "linux"
    assert s.sysfs(0, "firmware") == "mic/uos.img"
    assert s.sysfs(0, "ramdisk") == "mic/initramfs.img"
    assert s.sysfs(0, "cmdline") == CARD_CMDLINE


def test_bad_sysfs_writes(ready):
    s = ready
    try:
        for attr, value in [("state", "bogus"), ("state", "shutdown"),
                            ("state", "reset"), ("bootmode", "windows"),
                            ("heartbeat_enable", "maybe")]:
            rc, out = write(s, attr, value)
            assert rc != 0 and "Invalid argument" in out, (attr, value, out)
        assert s.state(0) == "ready"
        # Accepted values read back as upstream prints them.
        assert write(s, "bootmode", "flash")[0] == 0
        assert s.sysfs(0, "bootmode") == "flash"
        # bootmode flash cannot boot an x100: the start fails with EINVAL.
        rc, out = write(s, "state", "boot")
        assert rc != 0 and "Invalid argument" in out
        assert write(s, "bootmode", "linux")[0] == 0
        assert write(s, "cmdline", "quiet foo=bar")[0] == 0
        assert s.sysfs(0, "cmdline") == "quiet foo=bar"
    finally:
        # the next scenario on this system boots the card as configured
        write(s, "bootmode", "linux")
        write(s, "cmdline", CARD_CMDLINE)
    assert s.sysfs(0, "cmdline") == CARD_CMDLINE


def test_micctrl_errors(ready):
    s = ready
    rc, out = s.run("micctrl status mic7")
    assert rc == 1 and "mic7" in out
    rc, out = s.run("micctrl wait mic0 sleeping --timeout 1")
    assert rc == 2 and "sleeping" in out
    rc, out = s.run("micctrl frobnicate mic0")
    assert rc == 2
    rc, out = s.run("micctrl wait mic0 online --timeout 1")
    assert rc != 0 and "timed out" in out
    rc, out = s.run("micctrl status mic0")
    assert rc == 0 and "ready" in out
