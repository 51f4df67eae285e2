# SPDX-License-Identifier: GPL-2.0
"""SCIF between the host VM and a card VM, through /dev/scif (libscif) and
tools/scif-pingpong: data crosses the emulated PCIe link intact."""

import re

import pytest

SIZES = [1, 4095, 4096, 65536, 1048576]
PORT = 2000


def start_server(side_ok, port, kind="-s", log="/tmp/pingpong-server.log"):
    """Start a scif-pingpong server and return once it listens."""
    side_ok(f"scif-pingpong {kind} -p {port} >{log} 2>&1 & "
            f"for i in $(seq 100); do grep -q 'server on port' {log} && break; "
            f"sleep 0.1; done; cat {log}; grep -q 'server on port {port}' {log}")


@pytest.fixture
def online(system):
    system.boot_online(0)
    return system


@pytest.mark.parametrize("direction", ["host-to-card", "card-to-host"])
def test_messages_cross_intact(online, direction):
    s = online
    host = s.run_ok
    card = lambda cmd: s.card_run_ok(0, cmd, timeout=300)  # noqa: E731
    if direction == "host-to-card":
        start_server(card, PORT)
        client, node = host, 1
    else:
        start_server(host, PORT)
        client, node = card, 0
    for size in SIZES:
        count = 3 if size >= 65536 else 20
        out = client(f"scif-pingpong -c {node} -p {PORT} -n {count} -S {size}")
        assert re.search(rf"{count} x {size} bytes to node {node} port {PORT}: ok", out), out


def test_node_ids(online):
    s = online
    assert re.search(r"self 0 online 2: 0 1", s.run_ok("scif-pingpong -i"))
    assert re.search(r"self 1 online 2:", s.card_run_ok(0, "scif-pingpong -i"))


def test_connect_to_closed_port_refused(online):
    s = online
    rc, out = s.run("scif-pingpong -c 1 -p 3999 -n 1 -S 8")
    assert rc == 2, out
    assert "connect: Connection refused" in out, out


def test_connect_unbound(online):
    """scif-pingpong -U connects without binding first: micemu's SCIF picks
    the local port in connect (upstream's does not connect then: see
    test_upstream_host.py)."""
    s = online
    start_server(lambda cmd: s.card_run_ok(0, cmd), 2002)
    out = s.run_ok("scif-pingpong -c 1 -U -p 2002 -n 20 -S 64")
    m = re.search(r"connected to node 1 port 2002 from port (\d+)", out)
    assert m and int(m.group(1)) > 0, out
    assert re.search(r"20 x 64 bytes to node 1 port 2002: ok", out), out
