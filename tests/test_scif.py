# SPDX-License-Identifier: GPL-2.0
"""SCIF between the host VM and a card VM, through /dev/scif (libscif) and
tools/scif-pingpong: data crosses the emulated PCIe link intact.  On both
host stacks (one shared system each, its card online): micemu's tools bind
to port 0 before connecting, which both SCIFs accept."""

import re

import pytest

from micemu.scif import pingpong, start_pingpong, start_server  # noqa: F401 (test_faults.py)
from micemu.stacks import micemu_only

pytestmark = pytest.mark.usefixtures("host_stack")

SIZES = [1, 4095, 4096, 65536, 1048576]
PORT = 2000


@pytest.fixture
def online(shared):
    shared.ensure_online(0)
    yield shared
    assert shared.state(0) == "online"


@pytest.mark.parametrize("direction", ["host-to-card", "card-to-host"])
def test_messages_cross_intact(online, direction):
    s = online
    host = s.run
    card = lambda cmd, timeout=300: s.card_run(0, cmd, timeout)  # noqa: E731
    if direction == "host-to-card":
        start_pingpong(card, PORT)
        client, node = host, 1
    else:
        start_pingpong(host, PORT + 1)
        client, node = card, 0
    for size in SIZES:
        count = 3 if size >= 65536 else 20
        pingpong(client, node, PORT if node else PORT + 1, size, count)


@micemu_only("upstream's SCIF_GET_NODEIDS fills in one id too few: that quirk "
             "is test_upstream_host.py::test_upstream_node_ids")
def test_node_ids(online):
    s = online
    assert re.search(r"self 0 online 2: 0 1", s.run_ok("scif-pingpong -i"))
    assert re.search(r"self 1 online 2:", s.card_run_ok(0, "scif-pingpong -i"))


def test_connect_to_closed_port_refused(online):
    s = online
    rc, out = s.run("scif-pingpong -c 1 -p 3999 -n 1 -S 8")
    assert rc == 2, out
    assert "connect: Connection refused" in out, out


@micemu_only("upstream's connect on an unbound endpoint does not connect: that "
             "quirk is test_upstream_host.py::test_upstream_unbound_connect_quirk")
def test_connect_unbound(online):
    """scif-pingpong -U connects without binding first: micemu's SCIF picks
    the local port in connect."""
    s = online
    start_pingpong(lambda cmd: s.card_run(0, cmd), 2002)
    out = s.run_ok("scif-pingpong -c 1 -U -p 2002 -n 20 -S 64")
    m = re.search(r"connected to node 1 port 2002 from port (\d+)", out)
    assert m and int(m.group(1)) > 0, out
    assert re.search(r"20 x 64 bytes to node 1 port 2002: ok", out), out
