# SPDX-License-Identifier: GPL-2.0
"""SCIF when the card goes away under traffic, and the card's own
loopback node: what used to be the stand-alone cross-node check
(shared-module/scif/tests/xnode.py), as pytest scenarios."""

import re
import time

PORT = 2000


def test_reset_during_traffic_then_boot_again(system):
    """micctrl reset while the host streams to the card: the client sees
    ECONNRESET, node 1 leaves the host's node list, and after the next
    boot a new connection carries data again."""
    s = system
    s.boot_online(0)
    s.card_run_ok(0, f"scif-pingpong -s -p {PORT} >/tmp/srv.log 2>&1 &")
    s.run_ok(f"for i in $(seq 50); do scif-pingpong -c 1 -p {PORT} -n 1 -S 8 "
             ">/dev/null 2>&1 && break; sleep 0.2; done")
    s.run_ok(f"scif-pingpong -c 1 -p {PORT} -n 1000000 -S 500 >/tmp/long.log 2>&1 &")
    time.sleep(2)
    s.run_ok("micctrl reset mic0")
    s.wait_state(0, "ready")
    out = s.run_ok("sleep 1; cat /tmp/long.log; cat /sys/kernel/debug/scif/nodes")
    assert "Connection reset by peer" in out, out
    assert not re.search(r"^node 1 ", out, re.M), out

    s.boot_online(0)
    s.card_run_ok(0, f"scif-pingpong -s -p {PORT} >/tmp/srv.log 2>&1 &")
    out = s.run_ok(f"for i in $(seq 50); do scif-pingpong -c 1 -p {PORT} -n 300 -S 4000 "
                   "&& break; sleep 0.2; done")
    assert re.search(rf"300 x 4000 bytes to node 1 port {PORT}: ok", out), out


def test_card_loopback_node(system):
    """A card talks to itself through SCIF's loopback node (its own id)."""
    s = system
    s.boot_online(0)
    s.card_run_ok(0, f"scif-pingpong -s -p {PORT} >/tmp/srv.log 2>&1 &")
    out = s.card_run_ok(0, f"for i in $(seq 50); do scif-pingpong -c 1 -p {PORT} "
                        "-n 200 -S 333 && break; sleep 0.2; done")
    assert re.search(rf"200 x 333 bytes to node 1 port {PORT}: ok", out), out
