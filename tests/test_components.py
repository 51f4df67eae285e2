# SPDX-License-Identifier: GPL-2.0
"""Component suites that boot VMs of their own, run as part of the suite.

Each one exercises one part against a second, independently written peer:
the COSM server against a fake card client in a host VM without cards,
scif.ko against a fake SCIF node, the card modules against a fake COSM
server.  Their own output goes to the test's log directory.  (The suites
under qemu-mic-device/tests and card-firmware-sim/tests are collected by
pytest directly: pytest.ini.)
"""

import os
import re
import subprocess

from micemu.build import BUILD, KBUILD, MODDIR, TOP


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
                           "-d", MODDIR],
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
                               "MODDIR": MODDIR})
    assert rc == 0, out[-4000:]
    assert "skipped" not in out, out[-4000:]
    assert "run-vm-tests: all passed" in out, out[-4000:]
