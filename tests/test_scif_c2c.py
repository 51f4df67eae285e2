# SPDX-License-Identifier: GPL-2.0
"""SCIF between two card VMs: the host relays card-to-card connections
(shared-module/scif/scif_relay.c). Card mic0 is node 1, mic1 is node 2."""

import re
import time

import pytest

PORT = 2100
SIZES = [1, 4097, 1048576]


@pytest.fixture
def two_cards(make_system):
    s = make_system(cards=2)
    for i in range(2):
        s.run_ok(f"micctrl boot mic{i}")
    for i in range(2):
        s.wait_state(i, "online", 300)
    return s


def start_server(s, card, port=PORT, log="/tmp/pingpong-server.log"):
    """Start a scif-pingpong server on a card and return once it listens."""
    s.card_run_ok(card, f"scif-pingpong -s -p {port} >{log} 2>&1 & "
                  f"for i in $(seq 100); do grep -q 'server on port' {log} && break; "
                  f"sleep 0.1; done; cat {log}; grep -q 'server on port {port}' {log}")


def wait_node_ids(s, card, want, timeout=60):
    """The node list a card reports, once it is WANT (or the last one)."""
    deadline = time.monotonic() + timeout
    while True:
        out = s.card_run_ok(card, "scif-pingpong -i")
        if re.search(want, out) or time.monotonic() > deadline:
            return out
        time.sleep(1)


@pytest.mark.parametrize("server,client", [(1, 0), (0, 1)],
                         ids=["node1-to-node2", "node2-to-node1"])
def test_c2c_messages_intact(two_cards, server, client):
    s = two_cards
    start_server(s, server)
    node = server + 1
    for size in SIZES:
        count = 3 if size >= 65536 else 20
        out = s.card_run_ok(client, f"scif-pingpong -c {node} -p {PORT} -n {count} -S {size}",
                            timeout=600)
        assert re.search(rf"{count} x {size} bytes to node {node} port {PORT}: ok", out), out


def test_c2c_node_ids(two_cards):
    s = two_cards
    assert re.search(r"self 0 online 3: 0 1 2$", s.run_ok("scif-pingpong -i").strip())
    for card in range(2):
        out = wait_node_ids(s, card, r"online 3: 0 1 2")
        assert re.search(rf"self {card + 1} online 3: 0 1 2$", out.strip()), out


def test_c2c_connect_to_closed_port_refused(two_cards):
    s = two_cards
    rc, out = s.card_run(0, f"scif-pingpong -c 2 -p {PORT + 1} -n 1 -S 8")
    assert rc == 2, out
    assert "connect: Connection refused" in out, out


@pytest.mark.parametrize("how", ["reset", "crash-then-reset"])
def test_c2c_peer_reset(two_cards, how):
    """Card 1 goes away under a connection from card 0: reset while it
    runs, or its VM killed first (it cannot answer anything) and then
    reset by the host."""
    s = two_cards
    start_server(s, 1)
    # A long stream of round trips from card 0 (node 1) to card 1 (node 2).
    s.card_run_ok(0, f"(scif-pingpong -c 2 -p {PORT} -n 100000000 -S 64; echo rc=$?)"
                     " >/tmp/client.log 2>&1 &")
    time.sleep(5)
    out = s.card_run_ok(0, "cat /tmp/client.log")
    assert "rc=" not in out, f"client ended before the reset: {out}"

    if how == "crash-then-reset":
        assert s.fw(1).request("crash")["ok"]
        time.sleep(3)
        out = s.card_run_ok(0, "cat /tmp/client.log")
        assert "rc=" not in out, f"client ended before the host knew: {out}"
    s.run_ok("micctrl reset mic1")
    deadline = time.monotonic() + 120
    while "rc=" not in out and time.monotonic() < deadline:
        time.sleep(1)
        out = s.card_run_ok(0, "cat /tmp/client.log")
    assert "rc=2" in out, out
    assert re.search(r"connection lost|Connection reset by peer", out), out

    # Card 0 is still online and only sees the host and itself now.
    s.wait_state(1, "ready", 120)
    assert s.state(0) == "online"
    out = wait_node_ids(s, 0, r"online 2: 0 1$")
    assert re.search(r"self 1 online 2: 0 1$", out.strip()), out
    assert re.search(r"self 0 online 2: 0 1$", s.run_ok("scif-pingpong -i").strip())

    # Card 1 comes back: card 0 can connect to it again.
    s.boot_online(1, timeout=300)
    start_server(s, 1)
    wait_node_ids(s, 0, r"online 3: 0 1 2")
    out = s.card_run_ok(0, f"scif-pingpong -c 2 -p {PORT} -n 20 -S 4097", timeout=300)
    assert re.search(rf"20 x 4097 bytes to node 2 port {PORT}: ok", out), out
    assert s.state(0) == "online"


def test_c2c_concurrent_connections(two_cards):
    """Three relayed connections at once, in both directions."""
    s = two_cards
    start_server(s, 1, PORT)
    start_server(s, 1, PORT + 2, log="/tmp/pingpong-server2.log")
    start_server(s, 0, PORT + 3)
    runs = [(0, 2, PORT), (0, 2, PORT + 2), (1, 1, PORT + 3)]
    for i, (card, node, port) in enumerate(runs):
        s.card_run_ok(card, f"(scif-pingpong -c {node} -p {port} -n 20 -S 65537; echo rc=$?)"
                            f" >/tmp/client{i}.log 2>&1 &")
    for i, (card, node, port) in enumerate(runs):
        deadline = time.monotonic() + 600
        out = ""
        while "rc=" not in out and time.monotonic() < deadline:
            time.sleep(2)
            out = s.card_run_ok(card, f"cat /tmp/client{i}.log")
        assert "rc=0" in out, out
        assert re.search(rf"20 x 65537 bytes to node {node} port {port}: ok", out), out


def test_c2c_rma_refused(two_cards):
    """RMA over a relayed connection: the relay moves bytes but owns no
    windows, so scif_register fails with EOPNOTSUPP instead of hanging."""
    s = two_cards
    s.card_run_ok(1, "scif-rma -s -p 2200 >/tmp/rma.log 2>&1 & "
                     "for i in $(seq 100); do grep -q listening /tmp/rma.log && break; "
                     "sleep 0.1; done; grep -q listening /tmp/rma.log")
    rc, out = s.card_run(0, "scif-rma -c 2 -p 2200 -S 4096 xfer", timeout=300)
    assert rc != 0, out
    assert "register: Operation not supported" in out, out
    assert s.state(0) == "online" and s.state(1) == "online"
