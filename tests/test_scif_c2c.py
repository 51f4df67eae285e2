# SPDX-License-Identifier: GPL-2.0
"""SCIF between card VMs, peer to peer as upstream does it: the host maps
each card's BARs for the others and introduces them with NODE_ADD
(shared-module/scif/scif_p2p.c); the host device model tells every card VM
where the other cards' BARs are (link PEER, through micfw), so a card's
SMPT window reaches the other card's memory and registers. Card micN is
node N+1."""

import re
import time

import pytest

PORT = 2100
SIZES = [1, 4097, 1048576]
RMA_PORT = 2200
# (size, byte offset into our window, byte offset into the peer's window)
XFERS = [(64, 0, 0), (4096, 0, 0), (1048576 + 64, 0, 0), (1001, 3, 130)]


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


def p2p_nodes(s, card):
    """Nodes card CARD has a peer-to-peer link to, from SCIF's debugfs."""
    out = s.card_run_ok(card, "cat /sys/kernel/debug/scif/nodes")
    return {int(n) for n in re.findall(r"node (\d+) online .*peer-to-peer", out)}


def wait_p2p(s, card, nodes, timeout=60):
    deadline = time.monotonic() + timeout
    while p2p_nodes(s, card) != nodes and time.monotonic() < deadline:
        time.sleep(1)
    return p2p_nodes(s, card)


def test_c2c_is_peer_to_peer(two_cards):
    """The link between the cards is theirs: the host introduced them with
    the mapped BARs (not a relay), each card holds a P2P link to the other,
    and each card VM got the other card's BARs from the host device."""
    s = two_cards
    assert wait_p2p(s, 0, {2}) == {2}
    assert wait_p2p(s, 1, {1}) == {1}
    assert re.search(r"nodes [12] and [12]: peer to peer", s.run_ok("dmesg"))
    for card, peer in ((0, 2), (1, 1)):
        log = s.card_run_ok(card, "dmesg")
        assert f"node {peer} online, peer to peer" in log, log
    # micfw handed each card VM the other card's apertures (link PEER)
    assert re.search(r"link-peer-forward peer=1 present=1", s.fw_log(0))
    assert re.search(r"link-peer-forward peer=0 present=1", s.fw_log(1))
    # and the messages take that path: a round trip works, and the host
    # refused nothing on the cards' behalf
    start_server(s, 1)
    out = s.card_run_ok(0, f"scif-pingpong -c 2 -p {PORT} -n 50 -S 8")
    assert re.search(rf"50 x 8 bytes to node 2 port {PORT}: ok", out), out
    assert "connection request for node" not in s.run_ok("dmesg")


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
    wait_node_ids(s, 0, r"online 3: 0 1 2")
    rc, out = s.card_run(0, f"scif-pingpong -c 2 -p {PORT + 1} -n 1 -S 8")
    assert rc == 2, out
    assert "connect: Connection refused" in out, out


@pytest.mark.parametrize("how", ["reset", "crash-then-reset"])
def test_c2c_peer_reset(two_cards, how):
    """Card 1 goes away under a connection from card 0: reset while it
    runs, or its VM killed first (it cannot answer anything) and then
    reset by the host. The host tells card 0 (NODE_REMOVE), card 0 drops
    its P2P link, and gets a new one when card 1 is back."""
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
    assert p2p_nodes(s, 0) == set()
    assert "node 2 offline" in s.card_run_ok(0, "dmesg")

    # Card 1 comes back: card 0 can connect to it again.
    s.boot_online(1, timeout=300)
    start_server(s, 1)
    wait_node_ids(s, 0, r"online 3: 0 1 2")
    assert wait_p2p(s, 0, {2}) == {2}
    out = s.card_run_ok(0, f"scif-pingpong -c 2 -p {PORT} -n 20 -S 4097", timeout=300)
    assert re.search(rf"20 x 4097 bytes to node 2 port {PORT}: ok", out), out
    assert s.state(0) == "online"


def test_c2c_concurrent_connections(two_cards):
    """Three connections at once, in both directions."""
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


def rma_stats(s, card):
    """(cpu_bytes, dma_bytes) RMA moved on card CARD, from debugfs."""
    out = s.card_run_ok(card, "cat /sys/kernel/debug/scif/rma")
    return (int(re.search(r"cpu_bytes (\d+)", out).group(1)),
            int(re.search(r"dma_bytes (\d+)", out).group(1)))


@pytest.mark.parametrize("cpu", [True, False], ids=["usecpu", "default"])
def test_c2c_rma(two_cards, cpu):
    """RMA card to card: windows registered on card 1, written and read by
    card 0 through its SMPT window into card 1's memory, every byte of
    both windows checked (tools/scif-rma). USECPU by the CPU; the default
    moves the aligned bulk with card 0's DMA engine."""
    s = two_cards
    wait_node_ids(s, 0, r"online 3: 0 1 2")
    s.card_run_ok(1, f"scif-rma -s -p {RMA_PORT} >/tmp/rma.log 2>&1 & "
                     "for i in $(seq 100); do grep -q listening /tmp/rma.log && break; "
                     "sleep 0.1; done; grep -q listening /tmp/rma.log")
    flag = " -u" if cpu else ""
    cpu0, dma0 = rma_stats(s, 0)
    for size, loff, roff in XFERS:
        out = s.card_run_ok(0, f"scif-rma -c 2 -p {RMA_PORT}{flag} -S {size} "
                               f"-l {loff} -r {roff} xfer", timeout=600)
        assert re.search(rf"writeto {size} bytes \(loff {loff} roff {roff}.*\): ok", out), out
        assert re.search(rf"readfrom {size} bytes \(loff {loff} roff {roff}.*\): ok", out), out
    cpu1, dma1 = rma_stats(s, 0)
    assert cpu1 > cpu0
    if cpu:
        assert dma1 == dma0, f"{dma1 - dma0} bytes went by DMA"
    else:
        assert dma1 - dma0 >= 2 * 1048576, f"only {dma1 - dma0} bytes by DMA"
        # fences card to card: marks, waits and signals by DMA status
        # descriptors on the P2P link
        out = s.card_run_ok(0, f"scif-rma -c 2 -p {RMA_PORT} -S 65536 fence",
                            timeout=300)
        assert "FAIL" not in out and "MISMATCH" not in out, out
        assert "ok: peer saw the value after the data = 0" in out, out
        assert "ok: local value after peer fence = 0" in out, out
    assert s.state(0) == "online" and s.state(1) == "online"


def test_c2c_four_cards(make_system):
    """Four cards: every card has a P2P link to each of the three others,
    and messages cross between several pairs at once."""
    s = make_system(cards=4)
    for i in range(4):
        s.run_ok(f"micctrl boot mic{i}")
    for i in range(4):
        s.wait_state(i, "online", 300)
    for card in range(4):
        want = {1, 2, 3, 4} - {card + 1}
        assert wait_p2p(s, card, want, timeout=120) == want, card
        out = wait_node_ids(s, card, r"online 5: 0 1 2 3 4")
        assert re.search(rf"self {card + 1} online 5: 0 1 2 3 4$", out.strip()), out
    for card in range(4):
        start_server(s, card)
    runs = [(0, 4), (3, 1), (1, 3), (2, 2)]      # client card, server node
    for i, (card, node) in enumerate(runs):
        s.card_run_ok(card, f"(scif-pingpong -c {node} -p {PORT} -n 10 -S 4097; echo rc=$?)"
                            f" >/tmp/client{i}.log 2>&1 &")
    for i, (card, node) in enumerate(runs):
        deadline = time.monotonic() + 600
        out = ""
        while "rc=" not in out and time.monotonic() < deadline:
            time.sleep(2)
            out = s.card_run_ok(card, f"cat /tmp/client{i}.log")
        assert "rc=0" in out, out
        assert re.search(rf"10 x 4097 bytes to node {node} port {PORT}: ok", out), out


def test_c2c_upstream_host(make_system):
    """Upstream's host stack (the "upstream" personality: Linux 5.9.2's
    mic_host and scif, unmodified) introduces two micemu cards with its
    own scif_p2p_setup: its NODE_ADD payload, its SMPT mappings of the
    other card's BARs, its forwarding of our NODE_ADD_ACKs. The cards then
    talk peer to peer, byte-exact in both directions, messages and RMA
    (by CPU and by the card's DMA engine)."""
    from micemu.system import upstream_missing
    why = upstream_missing()
    if why:
        pytest.skip(why)
    s = make_system(cards=2, host_stack="upstream")
    for i in range(2):
        s.run_ok(f"echo boot > /sys/class/mic/mic{i}/state")
    for i in range(2):
        s.wait_state(i, "online", 300)
    assert wait_p2p(s, 0, {2}, timeout=120) == {2}
    assert wait_p2p(s, 1, {1}, timeout=120) == {1}
    for card, peer in ((0, 2), (1, 1)):
        log = s.card_run_ok(card, "dmesg")
        assert f"node {peer} online, peer to peer" in log, log
        out = wait_node_ids(s, card, r"online 3: 0 1 2")
        assert re.search(rf"self {card + 1} online 3: 0 1 2$", out.strip()), out
    for server, client in ((1, 0), (0, 1)):
        start_server(s, server, log=f"/tmp/pingpong-server-{server}.log")
        node = server + 1
        for size, count in ((8, 50), (4097, 20), (1048576, 3)):
            out = s.card_run_ok(client, f"scif-pingpong -c {node} -p {PORT} -n {count} -S {size}",
                                timeout=600)
            assert re.search(rf"{count} x {size} bytes to node {node} port {PORT}: ok", out), out
    # RMA card to card under upstream's host: it never sees the windows
    s.card_run_ok(1, f"scif-rma -s -p {RMA_PORT} >/tmp/rma.log 2>&1 & "
                     "for i in $(seq 100); do grep -q listening /tmp/rma.log && break; "
                     "sleep 0.1; done; grep -q listening /tmp/rma.log")
    for flag in (" -u", ""):
        for size, loff, roff in XFERS:
            out = s.card_run_ok(0, f"scif-rma -c 2 -p {RMA_PORT}{flag} -S {size} "
                                   f"-l {loff} -r {roff} xfer", timeout=600)
            assert re.search(rf"writeto {size} bytes \(loff {loff} roff {roff}.*\): ok",
                             out), out
            assert re.search(rf"readfrom {size} bytes \(loff {loff} roff {roff}.*\): ok",
                             out), out
    assert s.state(0) == "online" and s.state(1) == "online"
    # upstream resets card 1: its NODE_REMOVE takes card 0's P2P link down
    # (our NODE_REMOVE_ACK lets it go on); booted again, the pair is back
    s.run_ok("echo reset > /sys/class/mic/mic1/state")
    s.wait_state(1, "ready", 120)
    assert wait_p2p(s, 0, set()) == set()
    assert "node 2 offline" in s.card_run_ok(0, "dmesg")
    assert s.state(0) == "online"
    s.run_ok("echo boot > /sys/class/mic/mic1/state")
    s.wait_state(1, "online", 300)
    assert wait_p2p(s, 0, {2}, timeout=120) == {2}
    start_server(s, 1, log="/tmp/pingpong-server-again.log")
    out = s.card_run_ok(0, f"scif-pingpong -c 2 -p {PORT} -n 20 -S 4097", timeout=300)
    assert re.search(rf"20 x 4097 bytes to node 2 port {PORT}: ok", out), out
