# SPDX-License-Identifier: GPL-2.0
"""VOP (virtio over PCIe): upstream's mpssd in the host VM adds a virtio
console, network and block device to each card through the device page;
the card's VOP driver (card-module/vop/, mic_card_vop.ko) registers them
and the card kernel's stock virtio_console, virtio_net and virtio_blk bind.

What a user checks: a command typed into the console pty mpssd opened runs
on the card; bytes written to /dev/vda on the card are the bytes of the
backend file on the host and back, also after a card reboot; the host and
the card ping each other and move 16 MiB byte-exact both ways over the
network; a card reset or crash while all three are busy leaves mpssd and
the host running and the devices come back on the next boot; a card
shutting down removes its devices with upstream's handshake.

One system per host stack is shared by the scenarios (in file order; each
brings mic0 into the state it needs, and mic1 is booted only for the
two-card scenario). Every scenario fails on a BUG/WARNING/Oops in any
console. Host stacks: "micemu" (micemu's own host VOP, mic_vop_host.ko)
and "upstream" (upstream's vop.ko), the same upstream mpssd binary on both.
"""

import os
import re
import subprocess
import time

import pytest

from conftest import LOGROOT
from micemu.system import System, upstream_missing

# mpssd is upstream's: without the upstream tree there is none to run.
if upstream_missing():
    pytest.skip(upstream_missing(), allow_module_level=True)

STACKS = ["micemu", "upstream"]
BACKEND = "/var/lib/micemu/mic{}.img"
DISK = "64M"
MIB = 1 << 20


@pytest.fixture(scope="module", params=STACKS)
def vop(request):
    stack = request.param
    logdir = os.path.join(LOGROOT, f"test_vop.py-{stack}")
    subprocess.run(["rm", "-rf", logdir], check=True)
    s = System(logdir, cards=2, host_stack=stack, mpssd=True, mpssd_disk=DISK)
    s.vop_ready = set()
    yield s
    s.shutdown()


@pytest.fixture(autouse=True)
def no_kernel_trouble(request):
    """Fail the scenario on a new BUG/WARNING/Oops line in any console."""
    if "vop" not in request.fixturenames:
        yield
        return
    s = request.getfixturevalue("vop")
    before = len(s.kernel_trouble())
    yield
    trouble = s.kernel_trouble()[before:]
    assert not trouble, "kernel trouble in consoles:\n" + "\n".join(trouble)


def card_ip(card):
    return f"172.31.{card + 1}.1"


def mpssd_pid(s):
    out = s.run_ok("pidof mpssd || true").split()
    return sorted(int(p) for p in out)


def wait_mpssd_rearmed(s, card, timeout=60):
    """Wait until mpssd waits for mic{card}'s next boot. After the card
    reached ready, mpssd kills the process that served its devices and
    only then watches the state for "booting" again: a boot before that
    would go unseen (upstream mpssd's own race), and the card would come
    up without devices. Each boot logs one "Added VIRTIO_ID_CONSOLE", each
    teardown one "kill pid"."""
    deadline = time.monotonic() + timeout
    while True:
        log = s.run_ok("cat /var/log/mpssd")
        added = len(re.findall(rf"Added VIRTIO_ID_CONSOLE for mic{card}$", log, re.M))
        killed = len(re.findall(rf"^.*: mic{card}: mic_config \d+ kill pid", log, re.M))
        if killed >= added:
            time.sleep(1)       # from its log line to the poll on the state
            return
        assert time.monotonic() < deadline, f"mpssd did not let go of mic{card}:\n{log}"
        time.sleep(0.5)


def wait_not_state(s, card, state, timeout=120):
    deadline = time.monotonic() + timeout
    while s.state(card) == state:
        assert time.monotonic() < deadline, f"mic{card} still {state} after {timeout} s"
        time.sleep(0.5)


def ensure_ready(s, card=0):
    st = s.state(card)
    if st != "ready":
        if st not in ("resetting", "shutting_down"):
            s.run_ok(f"echo reset > /sys/class/mic/mic{card}/state")
        s.wait_state(card, "ready", 180)
    s.vop_ready.discard(card)
    wait_mpssd_rearmed(s, card)


def wait_vop(s, card=0, timeout=120):
    """Wait until the card has its three VOP devices bound and configured:
    hvc0, vda and the network interface with mpssd's address."""
    script = ("d=/sys/bus/virtio/drivers; "
              "for drv in virtio_console virtio_net virtio_blk; do "
              "ls $d/$drv 2>/dev/null | grep -q virtio || exit 1; done; "
              "[ -c /dev/hvc0 ] && [ -b /dev/vda ] && "
              f"ip -4 addr | grep -q 'inet {card_ip(card)}/24'")
    deadline = time.monotonic() + timeout
    while True:
        rc, out = s.card_run(card, script, timeout=30)
        if rc == 0:
            return
        if time.monotonic() > deadline:
            devs = s.card_run(card, "cat /sys/kernel/debug/mic_card_vop/devices; "
                              "ls -l /sys/bus/virtio/devices/", timeout=30)[1]
            raise AssertionError(f"mic{card}: VOP devices not ready in {timeout} s:\n{devs}")
        time.sleep(1)


def ensure_vop(s, card=0):
    """mic{card} online with its VOP devices; return boot-to-ready seconds
    (None if it already was)."""
    if s.state(card) == "online" and card in s.vop_ready:
        return None
    ensure_ready(s, card)
    t0 = time.monotonic()
    s.boot_online(card, timeout=240)
    wait_vop(s, card)
    s.vop_ready.add(card)
    return time.monotonic() - t0


def console(s, card, command, expect, tries=20):
    """Type COMMAND into mic{card}'s console pty (the one mpssd announced)
    until EXPECT shows in what the pty gives back; return that output."""
    script = (
        f"pty=$(sed -n 's/^.* mic{card} console message goes to "
        r"\(\/dev\/pts\/[0-9]*\)$/\1/p' /var/log/mpssd | tail -n 1); "
        f"[ -c \"$pty\" ] || {{ echo 'no console pty for mic{card}'; exit 2; }}; "
        "out=/tmp/console.$$; cat \"$pty\" >$out & reader=$!; i=0; "
        f"while [ $i -lt {tries} ]; do printf '%s\\n' '{command}' >\"$pty\"; sleep 1; "
        f"grep -q -- '{expect}' $out && break; i=$((i + 1)); done; "
        f"kill $reader; cat $out; grep -q -- '{expect}' $out")
    rc, out = s.run(script, timeout=tries * 2 + 30)
    assert rc == 0, f"mic{card} console: '{expect}' not seen after '{command}':\n{out}"
    return out


def md5(out):
    m = re.search(r"\b([0-9a-f]{32})\b", out)
    assert m, out
    return m.group(1)


# --- the devices ------------------------------------------------------------------

def test_vop_devices(vop):
    """mpssd adds console, network and block; the card's VOP driver
    registers them and the stock virtio drivers bind."""
    took = ensure_vop(vop)
    log = vop.run_ok("cat /var/log/mpssd")
    for kind in ("CONSOLE", "NET", "BLOCK"):
        assert f"Added VIRTIO_ID_{kind} for mic0" in log, log
    devs = vop.card_run_ok(0, "cat /sys/kernel/debug/mic_card_vop/devices")
    types = sorted(int(t) for t in re.findall(r" type (\d+) ", devs))
    assert types == [1, 2, 3], devs          # net, block, console
    # Every device is driver-OK (status 0x0f: ACK|DRIVER|DRIVER_OK|FEATURES_OK
    # for the legacy devices mpssd offers: 0x07 without FEATURES_OK).
    for line in devs.splitlines()[1:]:
        assert re.search(r"status 0x0[7f] ", line), devs
        assert re.search(r" vq0 128@0x[0-9a-f]+", line), devs
    con = vop.card_console()
    for kind in ("console", "net", "block"):
        assert re.search(rf"VOP: added {kind} device virtio\d+ \(type \d+", con), con
    # The disk is the backend file's size.
    sectors = int(vop.card_run_ok(0, "cat /sys/block/vda/size"))
    assert sectors * 512 == 64 * MIB
    assert vop.run_ok("cat /sys/class/net/mic0/operstate").strip() in ("up", "unknown")
    if took:
        print(f"{vop.host_stack}: boot to VOP devices ready {took:.1f} s")


def test_vop_console_round_trip(vop):
    """A command typed into the console pty runs on the card, its output
    comes back through the pty."""
    ensure_vop(vop)
    out = console(vop, 0, "echo con-$(hostname)-$((6 * 7)) $(cat /proc/sys/kernel/random/boot_id)",
                  "con-micemu-card-42")
    boot_id = vop.card_run_ok(0, "cat /proc/sys/kernel/random/boot_id").strip()
    assert boot_id in out, out


def test_vop_block_card_to_host(vop):
    """8 MiB written to /dev/vda on the card are the bytes of the backend
    file at the same offset on the host."""
    ensure_vop(vop)
    card = md5(vop.card_run_ok(0, "dd if=/dev/urandom of=/tmp/pat bs=1M count=8 2>/dev/null && "
                              "dd if=/tmp/pat of=/dev/vda bs=1M seek=4 conv=fsync 2>/dev/null && "
                              "md5sum /tmp/pat"))
    host = md5(vop.run_ok(f"dd if={BACKEND.format(0)} bs=1M skip=4 count=8 2>/dev/null | md5sum"))
    assert card == host


def test_vop_block_host_to_card(vop):
    """8 MiB written into the backend file on the host read back on the
    card from /dev/vda."""
    ensure_vop(vop)
    host = md5(vop.run_ok("dd if=/dev/urandom of=/tmp/hpat bs=1M count=8 2>/dev/null && "
                          f"dd if=/tmp/hpat of={BACKEND.format(0)} bs=1M seek=20 "
                          "conv=notrunc 2>/dev/null && md5sum /tmp/hpat"))
    card = md5(vop.card_run_ok(0, "blockdev --flushbufs /dev/vda && "
                              "dd if=/dev/vda bs=1M skip=20 count=8 2>/dev/null | md5sum"))
    assert card == host


def test_vop_net_ping(vop):
    """The host pings micN by name, the card pings the host."""
    ensure_vop(vop)
    out = vop.run_ok("ping -c 3 -W 10 mic0")
    assert f"from {card_ip(0)}" in out and " 0% packet loss" in out, out
    out = vop.card_run_ok(0, "ping -c 3 -W 10 host")
    assert "from 172.31.1.254" in out and " 0% packet loss" in out, out


def test_vop_net_transfer_16m(vop):
    """16 MiB host -> card and card -> host over HTTP, byte-exact."""
    ensure_vop(vop)
    host = md5(vop.run_ok("mkdir -p /tmp/www && "
                          "dd if=/dev/urandom of=/tmp/www/blob bs=1M count=16 2>/dev/null && "
                          "(httpd -p 8081 -h /tmp/www) && md5sum /tmp/www/blob"))
    t0 = time.monotonic()
    card = md5(vop.card_run_ok(0, "wget -q -O - http://host:8081/blob | md5sum", timeout=600))
    down = time.monotonic() - t0
    assert card == host
    card = md5(vop.card_run_ok(0, "mkdir -p /tmp/www && "
                              "dd if=/dev/urandom of=/tmp/www/blob bs=1M count=16 2>/dev/null && "
                              "(httpd -p 8080 -h /tmp/www) && md5sum /tmp/www/blob"))
    t0 = time.monotonic()
    host = md5(vop.run_ok("wget -q -O - http://mic0:8080/blob | md5sum", timeout=600))
    up = time.monotonic() - t0
    assert card == host
    print(f"{vop.host_stack}: 16 MiB host->card in {down:.1f} s ({16 / down:.2f} MiB/s), "
          f"card->host in {up:.1f} s ({16 / up:.2f} MiB/s)")


def test_vop_two_cards(vop):
    """Both cards online with console, block and network of their own."""
    ensure_vop(vop, 0)
    ensure_vop(vop, 1)
    for card in (0, 1):
        console(vop, card, "echo two-$((40 + 2))-$(ip -4 addr | grep -o 172.31.[0-9]*.1/)",
                f"two-42-{card_ip(card)}/")
        vop.card_run_ok(card, f"echo card{card}-disk | dd of=/dev/vda conv=fsync 2>/dev/null")
        assert vop.run_ok(f"head -c 10 {BACKEND.format(card)}") == f"card{card}-disk"
        vop.run_ok(f"ping -c 2 -W 10 mic{card}")
    # mpssd resets a card once it shut down (micctrl shutdown would race it)
    vop.run_ok("echo shutdown > /sys/class/mic/mic1/state")
    vop.wait_state(1, "ready", 180)
    vop.vop_ready.discard(1)


def test_vop_block_survives_card_reboot(vop):
    """A pattern written on the card is read back after the card rebooted
    (mpssd boots it again, as MPSS does)."""
    ensure_vop(vop)
    want = md5(vop.card_run_ok(0, "dd if=/dev/urandom of=/tmp/pat bs=1M count=4 2>/dev/null && "
                              "dd if=/tmp/pat of=/dev/vda bs=1M seek=40 conv=fsync 2>/dev/null && "
                              "md5sum /tmp/pat"))
    boot_id = vop.card_run_ok(0, "cat /proc/sys/kernel/random/boot_id").strip()
    # Rebooted from the card: mpssd resets it on the restart status and
    # boots it again, as MPSS does.
    vop.card_run_ok(0, "(sleep 1; reboot -f) >/dev/null 2>&1 &")
    wait_not_state(vop, 0, "online")
    vop.wait_state(0, "online", 240)
    wait_vop(vop, 0)
    assert vop.card_run_ok(0, "cat /proc/sys/kernel/random/boot_id").strip() != boot_id
    got = md5(vop.card_run_ok(0, "dd if=/dev/vda bs=1M skip=40 count=4 2>/dev/null | md5sum"))
    assert got == want


def busy(s, card=0):
    """Keep console, block and network of mic{card} busy; return a host
    command that stops the host side of it."""
    s.run_ok("mkdir -p /tmp/www && dd if=/dev/urandom of=/tmp/www/busy bs=1M count=2 2>/dev/null && "
             "(httpd -p 8082 -h /tmp/www)")
    s.card_run_ok(card, "(while :; do dd if=/dev/urandom of=/dev/vda bs=64k count=32 "
                        "2>/dev/null; done) >/dev/null 2>&1 & "
                        "(while :; do wget -q -O /dev/null http://host:8082/busy; done) "
                        ">/dev/null 2>&1 & "
                        "(while :; do echo busy-busy-busy-busy-busy; done >/dev/hvc0) "
                        ">/dev/null 2>&1 &")
    # The host drains the console and pings the card.
    s.run_ok(f"pty=$(sed -n 's/^.* mic{card} console message goes to \\(.*\\)$/\\1/p' "
             "/var/log/mpssd | tail -n 1); (cat $pty >/tmp/busy-console &); "
             f"(ping -q mic{card} >/dev/null 2>&1 &)")
    time.sleep(5)
    # Busy for real: the backend file and the console see traffic.
    out = s.run_ok(f"wc -c </tmp/busy-console; cd /sys/class/net/mic{card}/statistics && "
                   "cat rx_bytes tx_bytes")
    console_bytes, rx, tx = (int(x) for x in out.split())
    assert console_bytes > 0 and rx + tx > MIB // 4, out
    return "killall cat ping httpd 2>/dev/null; true"


def host_survived(s, pids):
    """mpssd is the same daemon and still serves, the host VM answers."""
    assert mpssd_pid(s)[0] == pids[0], (pids, mpssd_pid(s))
    s.run_ok("true")


def test_vop_card_reset_while_busy(vop):
    """Reset while console, block and net are busy: mpssd and the host
    survive, the devices come back on the next boot."""
    ensure_vop(vop)
    pids = mpssd_pid(vop)
    assert pids
    stop = busy(vop)
    vop.run_ok("micctrl reset mic0")
    vop.wait_state(0, "ready", 180)
    vop.vop_ready.discard(0)
    vop.run_ok(stop)
    host_survived(vop, pids)
    ensure_vop(vop)
    console(vop, 0, "echo again-$((6 * 7))", "again-42")
    vop.run_ok("ping -c 2 -W 10 mic0")


def test_vop_removal_on_shutdown(vop):
    """A card that shuts down takes its devices away with upstream's
    handshake: each driver resets its device, the host acknowledges."""
    ensure_vop(vop)
    start = len(vop.card_console())
    vop.run_ok("echo shutdown > /sys/class/mic/mic0/state")
    # mpssd resets the card after its shutdown status, as MPSS does
    # (micctrl shutdown, which resets too, would race it).
    vop.wait_state(0, "ready", 180)
    vop.vop_ready.discard(0)
    con = vop.card_console()[start:]
    removed = re.findall(r"VOP: removed device virtio\d+ \(entry at \d+\): card going away", con)
    assert len(removed) == 3, con
    assert "did not acknowledge" not in con, con
    assert vop.run("ls /dev/vop_virtio0")[0] != 0, "host VOP device still there at ready"
    assert mpssd_pid(vop)


def test_vop_card_crash_while_busy(vop):
    """The card VM dies while console, block and net are busy: the host
    declares it crashed, mpssd resets it, and the next boot has its
    devices again."""
    ensure_vop(vop)
    pids = mpssd_pid(vop)
    stop = busy(vop)
    assert vop.fw(0).request("crash")["ok"]
    vop.wait_state(0, "ready", 300)
    vop.vop_ready.discard(0)
    assert re.search(r"mic0: .* shutdown_status crashed", vop.run_ok("cat /var/log/mpssd"))
    vop.run_ok(stop)
    host_survived(vop, pids)
    ensure_vop(vop)
    console(vop, 0, "echo back-$((6 * 7))", "back-42")
    vop.run_ok("ping -c 2 -W 10 mic0")
