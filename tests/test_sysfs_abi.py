# SPDX-License-Identifier: GPL-2.0
"""Bad sysfs writes get upstream's error codes; micctrl reports clearly."""


def write(system, attr, value, card=0):
    return system.run(f"echo '{value}' > /sys/class/mic/mic{card}/{attr}")


def test_bad_sysfs_writes(system):
    for attr, value in [("state", "bogus"), ("state", "shutdown"),
                        ("state", "reset"), ("bootmode", "windows"),
                        ("heartbeat_enable", "maybe")]:
        rc, out = write(system, attr, value)
        assert rc != 0 and "Invalid argument" in out, (attr, value, out)
    assert system.state(0) == "ready"
    # Accepted values read back as upstream prints them.
    assert write(system, "bootmode", "flash")[0] == 0
    assert system.sysfs(0, "bootmode") == "flash"
    # bootmode flash cannot boot an x100: the start fails with EINVAL.
    rc, out = write(system, "state", "boot")
    assert rc != 0 and "Invalid argument" in out
    assert write(system, "bootmode", "linux")[0] == 0
    assert write(system, "cmdline", "quiet foo=bar")[0] == 0
    assert system.sysfs(0, "cmdline") == "quiet foo=bar"


def test_micctrl_errors(system):
    rc, out = system.run("micctrl status mic7")
    assert rc == 1 and "mic7" in out
    rc, out = system.run("micctrl wait mic0 sleeping --timeout 1")
    assert rc == 2 and "sleeping" in out
    rc, out = system.run("micctrl frobnicate mic0")
    assert rc == 2
    rc, out = system.run("micctrl wait mic0 online --timeout 1")
    assert rc != 0 and "timed out" in out
    rc, out = system.run("micctrl status mic0")
    assert rc == 0 and "ready" in out
