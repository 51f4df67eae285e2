# SPDX-License-Identifier: GPL-2.0
"""SCIF between card VMs, peer to peer as upstream does it: the host maps
each card's BARs for the others and introduces them with NODE_ADD (micemu:
shared-module/scif/scif_p2p.c; upstream: its scif_p2p_setup, NODE_ADD
payload and SMPT mappings, and its forwarding of our NODE_ADD_ACKs); the
host device model tells every card VM where the other cards' BARs are
(link PEER, through micfw), so a card's SMPT window reaches the other
card's memory and registers. Card micN is node N+1.

The two-card scenarios run on both host stacks and share one system with
two cards per stack; with upstream's host the cards talk to each other
without the host seeing any of it."""

import re
import time

import pytest

from micemu import rma as R
from micemu.scif import pingpong, start_pingpong
from micemu.stacks import micemu_only

pytestmark = pytest.mark.usefixtures("host_stack")

SHARED_SYSTEM = dict(cards=2)
PORT = 2100
SIZES = [1, 4097, 1048576]
RMA_PORT = 2200
# (size, byte offset into our window, byte offset into the peer's window)
XFERS = [(64, 0, 0), (4096, 0, 0), (1048576 + 64, 0, 0), (1001, 3, 130)]


@pytest.fixture
def two_cards(shared):
    """The shared system with both cards online and linked peer to peer."""
    s = shared
    for i in range(2):
        if not (i in s.online_since and s.state(i) == "online"):
            s.ensure_ready(i)
            s.online_since.pop(i, None)
            s.run_ok(f"micctrl boot mic{i}")
    for i in range(2):
        if i not in s.online_since:
            s.wait_state(i, "online", 300)
            s.online_since[i] = time.monotonic()
    assert wait_p2p(s, 0, {2}, timeout=120) == {2}
    assert wait_p2p(s, 1, {1}, timeout=120) == {1}
    yield s
    assert s.state(0) == "online" and s.state(1) == "online"


def on_card(s, i):
    """A (rc, output) runner on card I."""
    return lambda cmd, timeout=600: s.card_run(i, cmd, timeout)


def start_server(s, i, port=PORT):
    """A scif-pingpong echo server on card I (kept between scenarios)."""
    start_pingpong(on_card(s, i), port)


def wait_node_ids(s, card, want, timeout=60):
    """The node list a card reports, once it is WANT (or the last one)."""
    deadline = time.monotonic() + timeout
    while True:
        out = s.card_run_ok(card, "scif-pingpong -i")
        if re.search(want, out) or time.monotonic() > deadline:
            return out
        time.sleep(1)


def p2p_nodes(s, card):
    """Nodes card CARD has a peer-to-peer link to, from SCIF's debugfs."""
    out = s.card_run_ok(card, "cat /sys/kernel/debug/scif/nodes")
    return {int(n) for n in re.findall(r"node (\d+) online .*peer-to-peer", out)}


def wait_p2p(s, card, nodes, timeout=60):
    deadline = time.monotonic() + timeout
    while p2p_nodes(s, card) != nodes and time.monotonic() < deadline:
        time.sleep(1)
    return p2p_nodes(s, card)


def wait_client(s, card, i, timeout=600):
    """Output of background client I on CARD (/tmp/clientI.log, ending in
    rc=N) once it has finished; it must have exited 0."""
    deadline = time.monotonic() + timeout
    out = ""
    while "rc=" not in out and time.monotonic() < deadline:
        time.sleep(2)
        out = s.card_run_ok(card, f"cat /tmp/client{i}.log")
    assert "rc=0" in out, out
    return out


def test_c2c_is_peer_to_peer(two_cards):
    """The link between the cards is theirs: the host introduced them with
    the mapped BARs (not a relay), each card holds a P2P link to the other,
    and each card VM got the other card's BARs from the host device."""
    s = two_cards
    if s.host_stack == "micemu":
        assert re.search(r"nodes [12] and [12]: peer to peer", s.run_ok("dmesg"))
    for i, peer in ((0, 2), (1, 1)):
        log = s.card_run_ok(i, "dmesg")
        assert f"node {peer} online, peer to peer" in log, log
    # micfw handed each card VM the other card's apertures (link PEER)
    assert re.search(r"link-peer-forward peer=1 present=1", s.fw_log(0))
    assert re.search(r"link-peer-forward peer=0 present=1", s.fw_log(1))
    # and the messages take that path: a round trip works, and the host
    # refused nothing on the cards' behalf
    start_server(s, 1)
    pingpong(on_card(s, 0), 2, PORT, 8, 50)
    if s.host_stack == "micemu":
        assert "connection request for node" not in s.run_ok("dmesg")


@pytest.mark.parametrize("server,client", [(1, 0), (0, 1)],
                         ids=["node1-to-node2", "node2-to-node1"])
def test_c2c_messages_intact(two_cards, server, client):
    s = two_cards
    start_server(s, server)
    for size in SIZES:
        count = 3 if size >= 65536 else 20
        pingpong(on_card(s, client), server + 1, PORT, size, count)


def test_c2c_node_ids(two_cards):
    """Each card knows all three nodes (with upstream's host the host's own
    list is its SCIF_GET_NODEIDS quirk: test_upstream_host.py)."""
    s = two_cards
    if s.host_stack == "micemu":
        assert re.search(r"self 0 online 3: 0 1 2$", s.run_ok("scif-pingpong -i").strip())
    for i in range(2):
        out = wait_node_ids(s, i, r"online 3: 0 1 2")
        assert re.search(rf"self {i + 1} online 3: 0 1 2$", out.strip()), out


def test_c2c_connect_to_closed_port_refused(two_cards):
    s = two_cards
    wait_node_ids(s, 0, r"online 3: 0 1 2")
    rc, out = s.card_run(0, f"scif-pingpong -c 2 -p {PORT + 1} -n 1 -S 8")
    assert rc == 2, out
    assert "connect: Connection refused" in out, out


def peer_reset(s, crash_first):
    """Card 1 goes away under a connection from card 0: reset while it
    runs, or its VM killed first (it cannot answer anything) and then
    reset by the host. The host tells card 0 (NODE_REMOVE), card 0 drops
    its P2P link, and gets a new one when card 1 is back."""
    start_server(s, 1)
    # A long stream of round trips from card 0 (node 1) to card 1 (node 2).
    s.card_run_ok(0, f"(scif-pingpong -c 2 -p {PORT} -n 100000000 -S 64; echo rc=$?)"
                     " >/tmp/client.log 2>&1 &")
    time.sleep(5)
    out = s.card_run_ok(0, "cat /tmp/client.log")
    assert "rc=" not in out, f"client ended before the reset: {out}"

    s.online_since.pop(1, None)
    if crash_first:
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
    if s.host_stack == "micemu":
        assert re.search(r"self 0 online 2: 0 1$", s.run_ok("scif-pingpong -i").strip())
    assert wait_p2p(s, 0, set()) == set()
    assert "node 2 offline" in s.card_run_ok(0, "dmesg")

    # Card 1 comes back: card 0 can connect to it again.
    s.boot_online(1, timeout=300)
    start_server(s, 1)
    wait_node_ids(s, 0, r"online 3: 0 1 2")
    assert wait_p2p(s, 0, {2}, timeout=120) == {2}
    pingpong(on_card(s, 0), 2, PORT, 4097, 20)
    assert s.state(0) == "online"


def test_c2c_peer_reset(two_cards):
    peer_reset(two_cards, crash_first=False)


@micemu_only("upstream's reset of a dead card waits a fixed 30 s for its "
             "node-exit answer; test_c2c_peer_reset covers upstream's NODE_REMOVE")
def test_c2c_peer_crash_then_reset(two_cards):
    peer_reset(two_cards, crash_first=True)


def test_c2c_concurrent_connections(two_cards):
    """Three connections at once, in both directions."""
    s = two_cards
    start_server(s, 1, PORT)
    start_server(s, 1, PORT + 2)
    start_server(s, 0, PORT + 3)
    runs = [(0, 2, PORT), (0, 2, PORT + 2), (1, 1, PORT + 3)]
    for i, (c, node, port) in enumerate(runs):
        s.card_run_ok(c, f"(scif-pingpong -c {node} -p {port} -n 20 -S 65537; echo rc=$?)"
                         f" >/tmp/client{i}.log 2>&1 &")
    for i, (c, node, port) in enumerate(runs):
        out = wait_client(s, c, i)
        assert re.search(rf"20 x 65537 bytes to node {node} port {port}: ok", out), out


@pytest.mark.parametrize("cpu", [True, False], ids=["usecpu", "default"])
def test_c2c_rma(two_cards, cpu):
    """RMA card to card: windows registered on card 1, written and read by
    card 0 through its SMPT window into card 1's memory, every byte of
    both windows checked (tools/scif-rma). USECPU by the CPU; the default
    moves the aligned bulk with card 0's DMA engine, and runs fences
    (marks, waits and signals by DMA status descriptors on the P2P link)."""
    s = two_cards
    wait_node_ids(s, 0, r"online 3: 0 1 2")
    R.start_server(on_card(s, 1), RMA_PORT)
    c0 = on_card(s, 0)
    st0 = R.stats(c0)
    R.xfers(c0, 2, RMA_PORT, " -u" if cpu else "", table=XFERS)
    st1 = R.stats(c0)
    assert st1["cpu_bytes"] > st0["cpu_bytes"]
    moved = st1["dma_bytes"] - st0["dma_bytes"]
    if cpu:
        assert moved == 0, f"{moved} bytes went by DMA"
    else:
        assert moved >= 2 * 1048576, f"only {moved} bytes by DMA"
        out = s.card_run_ok(0, f"scif-rma -c 2 -p {RMA_PORT} -S 65536 fence",
                            timeout=300)
        assert "FAIL" not in out and "MISMATCH" not in out, out
        assert "ok: peer saw the value after the data = 0" in out, out
        assert "ok: local value after peer fence = 0" in out, out


@micemu_only("kept to micemu's host stack for the time budget (a system of "
             "its own with four cards); upstream's P2P is covered by the "
             "two-card scenarios")
def test_c2c_four_cards(make_system):
    """Four cards: every card has a P2P link to each of the three others,
    and messages cross between several pairs at once."""
    s = make_system(cards=4)
    for i in range(4):
        s.run_ok(f"micctrl boot mic{i}")
    for i in range(4):
        s.wait_state(i, "online", 300)
    for c in range(4):
        want = {1, 2, 3, 4} - {c + 1}
        assert wait_p2p(s, c, want, timeout=120) == want, c
        out = wait_node_ids(s, c, r"online 5: 0 1 2 3 4")
        assert re.search(rf"self {c + 1} online 5: 0 1 2 3 4$", out.strip()), out
    for c in range(4):
        start_server(s, c)
    runs = [(0, 4), (3, 1), (1, 3), (2, 2)]      # client card, server node
    for i, (c, node) in enumerate(runs):
        s.card_run_ok(c, f"(scif-pingpong -c {node} -p {PORT} -n 10 -S 4097; echo rc=$?)"
                         f" >/tmp/client{i}.log 2>&1 &")
    for i, (c, node) in enumerate(runs):
        out = wait_client(s, c, i)
        assert re.search(rf"10 x 4097 bytes to node {node} port {PORT}: ok", out), out
