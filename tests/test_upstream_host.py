# SPDX-License-Identifier: GPL-2.0
"""The "upstream" host personality: Debian bullseye's 5.10 kernel with
upstream's MIC host stack (Linux 5.9.2's mic_host, scif, mic_cosm,
mic_x100_dma, vop, built unmodified) drives micemu's emulated x100 and
micemu's card.  Whatever upstream's drivers see is what a real card would
have to show them; a failure here is a micemu bug (or an upstream quirk,
listed in the README).

This file holds what is upstream's alone: its modules, its quirks, its
fixed heartbeat timers and the issue's done-when command.  The scenarios
both host stacks share (boot, sysfs, micctrl, shutdown, reboot, reset,
SCIF messages, RMA, card-to-card) run on upstream's host as the
"upstream" variants of test_boot.py, test_cosm.py, test_sysfs_abi.py,
test_scif.py, test_scif_rma.py and test_scif_c2c.py.

One system with two cards is shared by the scenarios of this file (they
run in order and each one first brings its card into the state it needs;
mic1 is booted only for the crash scenario, which is also the time mic0
proves that heartbeats keep it online); the done-when scenario starts its
own system with scripts/run-vm.sh, as a user would.  Every
scenario fails on a BUG/WARNING/Oops in any console.
"""

import hashlib
import os
import re
import subprocess
import time

import pytest

from micemu.scif import start_server
from micemu.system import KERNEL_TROUBLE, TOP, upstream_missing

if upstream_missing():
    pytest.skip(upstream_missing(), allow_module_level=True)

BUILD = os.environ.get("MICEMU_BUILD", os.path.expanduser("~/.cache/micemu"))
UPSTREAM_MODULES = ("mic_bus", "scif_bus", "cosm_bus", "vop_bus", "mic_host",
                    "mic_x100_dma", "scif", "mic_cosm", "vop", "vringh")
# Upstream's fixed COSM timers (cosm_main.h, cosm_scif_server.c): the card
# sends a heartbeat every 30 s, the host declares it crashed after 40 s
# without a message.
HEARTBEAT_SEND_SEC = 30
HEARTBEAT_TIMEOUT_SEC = 40
PORT = 2000

pytestmark = pytest.mark.parametrize("host_stack", [pytest.param("upstream", id="upstream")],
                                     indirect=True, scope="module")
SHARED_SYSTEM = dict(cards=2)


def kernel_release():
    with open(os.path.join(BUILD, "upstream-host", "kernel-release")) as f:
        return f.read().strip()


@pytest.fixture
def up(shared):
    """The file's shared system: upstream's host with two cards."""
    return shared


def host_dma_channels(s):
    """Channels in /sys/class/dma and the driver each belongs to."""
    out = s.run_ok("for c in /sys/class/dma/dma*chan*; do [ -e $c ] || continue; "
                   "echo ${c##*/} $(basename $(readlink -f $c/device/driver)); done")
    return [line.split() for line in out.splitlines() if line.strip()]


# --- with the card in ready --------------------------------------------------

def test_upstream_modules_bind(up):
    """Upstream's modules, built here, are what runs and what binds the x100."""
    assert up.run_ok("uname -r").strip() == kernel_release()
    loaded = {line.split()[0] for line in up.run_ok("cat /proc/modules").splitlines()}
    missing = [m for m in UPSTREAM_MODULES if m not in loaded]
    assert not missing, f"not loaded: {missing}"
    assert "mic_x100" not in loaded, "micemu's own host driver is loaded"
    # The image's init loaded the very modules built from UPSTREAM_MIC_SRC.
    for rel in ("misc/mic/host/mic_host.ko", "misc/mic/scif/scif.ko",
                "misc/mic/cosm/mic_cosm.ko", "dma/mic_x100_dma.ko"):
        with open(os.path.join(BUILD, "upstream-host", "mic-src", "drivers", rel), "rb") as f:
            want = hashlib.sha256(f.read()).hexdigest()
        name = os.path.basename(rel)
        assert up.run_ok(f"sha256sum /lib/micemu/{name}").split()[0] == want, name
    # mic_host's PCI driver ("mic") bound the emulated card.
    bound = up.run_ok("ls /sys/bus/pci/drivers/mic/")
    assert re.search(r"0000:[0-9a-f:.]+", bound), bound
    assert up.sysfs(0, "family") == "x100"
    assert up.sysfs(0, "stepping") == "C0"
    assert up.state(0) == "ready"


def test_upstream_no_dma_channels_while_ready(up):
    """Upstream quirk: the host's DMA channels exist only while the card is
    booted (mic_host adds the DMA device in mic_start)."""
    up.ensure_ready()
    assert [c for c in host_dma_channels(up) if c[1] == "mic_x100_dma"] == []


# --- booted --------------------------------------------------------------------

def test_upstream_node_ids(up):
    """Upstream quirk: SCIF_GET_NODEIDS copies min(maxid, len) entries
    (scif_fd.c), one short of the ids 0..maxid, while it reports every
    node online; maxid is the highest node booted so far (upstream's
    debugfs scif/scif_dev shows it)."""
    up.ensure_online()
    maxid = int(re.search(r"Maxid (\d+)", up.run_ok("cat /sys/kernel/debug/scif/scif_dev"))
                .group(1))
    out = up.run_ok("scif-pingpong -i")
    m = re.search(r"^self 0 online (\d+):((?: \d+)*)(?: \((\d+) filled in\))?$", out, re.M)
    assert m, out
    online, ids = int(m.group(1)), [int(x) for x in m.group(2).split()]
    assert online == 2, out
    assert ids == [0, 1][:min(maxid, online)], out
    assert (m.group(3) is not None) == (len(ids) < online), out
    out = up.card_run_ok(0, "scif-pingpong -i")
    assert re.search(r"^self 1 online 2: 0 1$", out, re.M), out


def test_upstream_unbound_connect_quirk(up):
    """Upstream quirk: connect on an unbound endpoint only picks a local
    port and returns it (scif_api.c, SCIFEP_UNBOUND): nothing connects.
    scif-pingpong -U does that; the default (bind to port 0 first) works."""
    up.ensure_online()
    start_server(lambda cmd: up.card_run_ok(0, cmd), PORT + 2,
                 log="/tmp/pingpong-unbound.log")
    rc, out = up.run(f"scif-pingpong -c 1 -U -p {PORT + 2} -n 1 -S 8")
    # The ioctl "succeeds"; the first poll then finds the endpoint hung up,
    # and a receive says why.
    assert rc == 2 and "recv: Transport endpoint is not connected" in out, out
    assert "accepted" not in up.card_run_ok(0, "cat /tmp/pingpong-unbound.log")
    out = up.run_ok(f"scif-pingpong -c 1 -p {PORT + 2} -n 1 -S 8")
    assert re.search(rf"1 x 8 bytes to node 1 port {PORT + 2}: ok", out), out


def test_upstream_dma_channels_bound_while_booted(up):
    """Upstream's mic_x100_dma binds the card's four host channels while it
    is booted, without a channel error."""
    up.ensure_online()
    chans = [c for c in host_dma_channels(up) if c[1] == "mic_x100_dma"]
    assert len(chans) == 4, host_dma_channels(up)
    dmesg = up.run_ok("dmesg")
    assert not re.search(r"mic_x100_dma.*(error|fail)", dmesg, re.I), dmesg[-3000:]


def test_upstream_garbage_from_card(up):
    """A hostile COSM client on the card (unknown ids, messages sent the
    wrong way, out-of-range statuses, split records): upstream's server
    logs and survives, and the card can be reset and booted again."""
    up.ensure_online()
    up.card_run_ok(0, "rmmod mic_cosm_client")
    up.card_run_ok(0, "insmod /lib/micemu/mic_cosm_badclient.ko")
    up.wait_log("mic0-console.log", r"mic_cosm_badclient: sent", timeout=30)
    time.sleep(3)
    dmesg = up.run_ok("dmesg")
    assert re.search(r"unknown msg\.id 99\b", dmesg), dmesg[-3000:]
    assert re.search(r"Unexpected shutdown_status", dmesg), dmesg[-3000:]
    assert up.state(0) in ("online", "shutting_down")
    up.online_since.pop(0, None)
    up.ensure_ready()
    up.ensure_online()


def test_upstream_crash_detected(up):
    """A killed card VM (mic1): upstream's server notices once 40 s pass
    without a message and publishes crashed; a reset brings the card back
    to ready.  mic0 stays online meanwhile."""
    up.ensure_online(0)
    up.ensure_online(1)
    assert up.fw(1).request("crash")["ok"]
    t0 = time.monotonic()
    up.wait_state(1, "shutting_down", HEARTBEAT_TIMEOUT_SEC + 30)
    took = time.monotonic() - t0
    up.online_since.pop(1, None)
    assert up.sysfs(1, "shutdown_status") == "crashed"
    assert took <= HEARTBEAT_TIMEOUT_SEC + 10, f"crash noticed after {took:.1f} s"
    assert re.search(r"cosm-dev1: node alive timeout", up.run_ok("dmesg"))
    t1 = time.monotonic()
    up.run_ok("echo reset > /sys/class/mic/mic1/state")
    up.wait_state(1, "ready", 120)
    print(f"upstream host: crash noticed after {took:.1f} s, "
          f"reset to ready {time.monotonic() - t1:.1f} s")
    assert up.state(0) == "online"


def test_upstream_heartbeats_keep_card_online(up):
    """With upstream's fixed timers (card sends every 30 s, host gives up
    after 40 s of silence) a card stays online well past 40 s: mic0 has
    been online through the crash scenario."""
    up.ensure_online(0)
    left = up.online_since[0] + HEARTBEAT_TIMEOUT_SEC + 12 - time.monotonic()
    if left > 0:
        time.sleep(left)
    assert up.state(0) == "online"
    assert up.sysfs(0, "shutdown_status") == "nop"
    assert not re.search(r"cosm-dev0: node alive timeout", up.run_ok("dmesg"))


# --- two cards, the done-when command ----------------------------------

def test_upstream_two_cards_run_vm(logdir, shared_system):
    """scripts/run-vm.sh --host-stack upstream --cards 2 boots both cards."""
    shared_system.stop()        # one system at a time
    cmd = [os.path.join(TOP, "scripts", "run-vm.sh"), "--host-stack", "upstream",
           "--cards", "2", "--accel", os.environ.get("MICEMU_ACCEL", "tcg"),
           "--logdir", logdir, "--timeout", "400", "--exec",
           "micctrl boot mic0 mic1 && micctrl wait mic0 online && "
           "micctrl wait mic1 online"]
    t0 = time.monotonic()
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=480)
    took = time.monotonic() - t0
    assert res.returncode == 0, res.stdout + res.stderr
    trouble = []
    for name in ("host-console.log", "mic0-console.log", "mic1-console.log"):
        with open(os.path.join(logdir, name), errors="replace") as f:
            text = f.read()
        trouble += [f"{name}: {line}" for line in text.splitlines()
                    if KERNEL_TROUBLE.search(line)]
        if name != "host-console.log":
            assert "mic_cosm_client: connected to the host" in text, name
    assert not trouble, "\n".join(trouble)
    print(f"upstream host, 2 cards: run-vm.sh --exec took {took:.1f} s")
