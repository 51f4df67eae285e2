# SPDX-License-Identifier: GPL-2.0
"""/dev/scif, its upstream ioctl ABI and libscif on a whole system.

tools/scif-abi-check drives the ioctls directly (numbers and layouts are
checked when it is compiled; at run time error codes, EFAULT, the
two-step accept, poll and flush); scif-pingpong goes through libscif.
The scenarios share one system (micemu's host stack: scif-abi-check's
expectations are micemu's /dev/scif; not yet run against upstream's).
"""

import re

import pytest

from micemu.scif import start_server

pytestmark = pytest.mark.parametrize("host_stack", [pytest.param("micemu", id="micemu")],
                                     indirect=True, scope="module")

SIZES = [1, 4095, 4096, 65537, 1048576]


@pytest.fixture
def online(shared):
    shared.ensure_online(0)
    return shared


def tap_ok(out):
    """A TAP run passed: a plan, no 'not ok', the summary says 0 failed."""
    assert re.search(r"^1\.\.\d+$", out, re.M), out
    assert "not ok" not in out, out
    assert re.search(r"scif-abi-check: 0 of \d+ failed", out), out


def test_abi_check_in_host_vm(online):
    """Every check of scif-abi-check passes on the host's node 0."""
    out = online.run_ok("scif-abi-check", timeout=300)
    tap_ok(out)
    # The round and the two-step accept really ran, on node 0.
    assert re.search(r"^ok \d+ - ACCEPTREG$", out, re.M), out
    assert re.search(r"^ok \d+ - GET_NODEIDS: 2 nodes online, self 0$", out, re.M), out


def test_abi_check_on_card(online):
    """The same checks in the card VM, on the card's loopback node 1."""
    out = online.card_run_ok(0, "scif-abi-check", timeout=300)
    tap_ok(out)
    assert re.search(r"^ok \d+ - GET_NODEIDS: 2 nodes online, self 1$", out, re.M), out


@pytest.mark.parametrize("direction", ["host-to-card", "card-to-host"])
def test_oneway_stream(online, direction):
    """One-way streams of 1 B .. 1 MiB messages arrive intact (the sink
    compares every byte and acks only then)."""
    s = online
    card = lambda cmd: s.card_run_ok(0, cmd, timeout=300)  # noqa: E731
    if direction == "host-to-card":
        start_server(card, 2002, kind="-d")
        client, node = s.run_ok, 1
    else:
        start_server(s.run_ok, 2002, kind="-d")
        client, node = card, 0
    for size in SIZES:
        count = 4 if size >= 65536 else 50
        out = client(f"scif-pingpong -c {node} -o -p 2002 -n {count} -S {size}")
        assert re.search(rf"{count} x {size} bytes one-way to node {node} "
                         rf"port 2002: ok", out), out
        assert re.search(r"oneway_MBps \d+\.\d+", out), out


def test_accept_across_the_link(online):
    """ACCEPTREQ/ACCEPTREG on each side reports the other side's node and
    the port its connector got, and the accepted descriptor carries data."""
    s = online
    card = lambda cmd: s.card_run_ok(0, cmd, timeout=300)  # noqa: E731
    start_server(s.run_ok, 2010, log="/tmp/acc.log")
    start_server(card, 2011, log="/tmp/acc.log")
    for client, node, other, srv in ((card, 0, s.run_ok, 2010),
                                     (s.run_ok, 1, card, 2011)):
        ports = []
        for _ in range(2):
            out = client(f"scif-pingpong -c {node} -p {srv} -n 5 -S 3000")
            assert "5 x 3000 bytes" in out, out
            ports.append(int(re.search(r"from port (\d+)", out).group(1)))
        log = other("cat /tmp/acc.log")
        accepted = [(int(n), int(p)) for n, p in
                    re.findall(r"accepted node (\d+) port (\d+)", log)]
        client_node = 1 - node
        assert accepted == [(client_node, p) for p in ports], log
        assert all(p > 1088 for p in ports), ports


def test_hostile_accept_handles(online):
    """Bit flips, neighbours, kernel-looking values and random handles never
    claim a parked connection; the real handle still does, once; SCIF keeps
    working afterwards."""
    s = online
    out = s.run_ok("scif-abi-check hostile 20000", timeout=600)
    tap_ok(out)
    assert re.search(r"^ok \d+ - 20000 random handles: all EINVAL$", out, re.M), out
    start_server(lambda c: s.card_run_ok(0, c), 2000)
    out = s.run_ok("scif-pingpong -c 1 -p 2000 -n 10 -S 4096")
    assert "10 x 4096 bytes to node 1 port 2000: ok" in out, out
