# SPDX-License-Identifier: GPL-2.0
"""Component suites that live next to their code, run as part of the suite.

Each one exercises one part against a second, independently written peer:
the device models under qtest (no guest), the COSM server against a fake
card client in a host VM without cards. Their own output goes to the test's
log directory; a skipped sub-test counts as a failure here, because in
`make test` everything they need has been built.
"""

import os
import re
import subprocess

from micemu.system import TOP

BUILD = os.environ.get("MICEMU_BUILD", os.path.expanduser("~/.cache/micemu"))
QEMU = os.path.join(BUILD, "qemu-build", "qemu-system-x86_64")
MICFW = os.path.join(BUILD, "card-firmware-sim", "micfw")
FLAVOUR = os.environ.get("MICEMU_FLAVOUR", "default")
SUFFIX = "-debug" if FLAVOUR == "debug" else ""
KBUILD = os.path.join(BUILD, "kernel-" + FLAVOUR)


def _make_device_tests(target, logdir):
    """Run one target of qemu-mic-device/tests; return its output."""
    env = dict(os.environ, MICEMU_BUILD=BUILD, MICFW=MICFW)
    proc = subprocess.run(
        ["make", "-s", "-C", os.path.join(TOP, "qemu-mic-device", "tests"),
         target, "QEMU=" + QEMU, "MICFW=" + MICFW],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600)
    out = proc.stdout.decode(errors="replace")
    with open(os.path.join(logdir, target + ".log"), "w") as f:
        f.write(out)
    assert proc.returncode == 0, f"make {target} failed:\n{out[-4000:]}"
    return out


def test_mic_x100_qtest_smoke(logdir):
    """The host device's registers, BARs and interrupts under qtest."""
    out = _make_device_tests("qtest", logdir)
    assert "skip" not in out.lower(), out[-2000:]


def test_mic_card_qtest_suite(logdir):
    """The card device (and micfw with the real mic-x100) under qtest."""
    out = _make_device_tests("check-qtest", logdir)
    m = re.search(r"^Ran (\d+) tests?", out, re.M)
    assert m and int(m.group(1)) > 0, out[-2000:]
    assert re.search(r"^OK$", out, re.M), out[-2000:]
    assert "skipped" not in out, "sub-tests were skipped:\n" + out[-2000:]


# The COSM server through SCIF's loopback node: scif with self_node=1 makes
# the fake client's connections come from "card 0" (see the script's head).
COSM_SELFTEST_APPEND = ("scif.self_node=1 mic_cosm.heartbeat_send_sec=2 "
                        "mic_cosm.heartbeat_slack_sec=1 mic_cosm.reset_poll_ms=100")


def test_cosm_server_selftest(make_system):
    """mic_cosm.ko against cosm_fakeclient.ko: 50+ TAP checks, all ok."""
    s = make_system(cards=0, append=COSM_SELFTEST_APPEND)
    s.run_ok("insmod /lib/micemu/cosm_fakeclient.ko")
    rc, out = s.run("sh /lib/micemu/cosm-server-selftest.sh", timeout=600)
    with open(s.log_path("cosm-server-selftest.tap"), "w") as f:
        f.write(out)
    oks = re.findall(r"^ok \d+", out, re.M)
    bad = re.findall(r"^not ok \d+ .*", out, re.M)
    assert not bad, "failed checks:\n" + "\n".join(bad) + "\n" + out[-3000:]
    assert rc == 0, out[-3000:]
    assert len(oks) >= 50, f"only {len(oks)} checks ran:\n{out[-3000:]}"


def _run_script(argv, logdir, name, env=None, timeout=900):
    proc = subprocess.run(argv, env=dict(os.environ, MICEMU_BUILD=BUILD, **(env or {})),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=timeout)
    out = proc.stdout.decode(errors="replace")
    with open(os.path.join(logdir, name + ".log"), "w") as f:
        f.write(out)
    return proc.returncode, out


def test_scif_against_fake_peer(logdir):
    """scif.ko as host and as card against scif_fakepeer.ko (a second
    reading of the wire protocol), hostile messages included."""
    rc, out = _run_script([os.path.join(TOP, "shared-module", "scif", "tests",
                                        "run-vm-tests.sh"), "-o", logdir, "-b", KBUILD,
                           "-d", os.path.join(BUILD, "modules" + SUFFIX)],
                          logdir, "run-vm-tests")
    assert rc == 0, out[-4000:]
    for mode in ("host", "card"):
        assert f"scif vm tests ({mode}): PASS" in out, out[-4000:]


def test_card_modules_against_fakes(logdir):
    """mic_cosm_client/badclient against a fake COSM server, and mic_card
    on a stand-alone mic-card without a device page or x100 CPU."""
    rc, out = _run_script([os.path.join(TOP, "card-module", "test",
                                        "run-vm-tests.sh")],
                          logdir, "run-vm-tests",
                          env={"OUT": logdir, "KBUILD": KBUILD,
                               "MODDIR": os.path.join(BUILD, "modules" + SUFFIX)})
    assert rc == 0, out[-4000:]
    assert "skipped" not in out, out[-4000:]
    assert "run-vm-tests: all passed" in out, out[-4000:]
