# SPDX-License-Identifier: GPL-2.0
"""Cross-node SCIF check on a whole micemu system (host VM + one card VM).

    MICEMU_BUILD=<build dir with images> python3 xnode.py LOGDIR

Boots card 0, then runs scif-pingpong host->card, card->host and on the
card's loopback node with the sizes of the loopback tests, checks a
refused connect, resets the card during traffic (the client must see
ECONNRESET and the node go away), boots it again, and shuts it down.
Exit status 0 when every step did what it should and neither kernel
logged a BUG/WARNING. The card agent is used over one connection only:
reconnecting per command can make the card agent lose its port.
"""

import os
import re
import sys
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
sys.path.insert(0, os.path.join(TOP, "tests"))
sys.path.insert(0, os.path.join(TOP, "scripts"))

from micemu.system import System  # noqa: E402
from micemu_agent import Agent  # noqa: E402

SIZES = (1, 1024, 1025, 4096, 1024000, 1024001)


class Check:
    def __init__(self, system):
        self.s = system
        self.card = None
        self.failed = 0

    def _report(self, where, cmd, rc, out, want):
        ok = rc == want
        print(f"{'ok' if ok else 'FAIL'} [{where} rc={rc}] {cmd}\n{out}", flush=True)
        self.failed += not ok

    def host(self, cmd, want=0, timeout=300):
        rc, out = self.s.run(cmd, timeout=timeout)
        self._report("host", cmd, rc, out, want)
        return out

    def on_card(self, cmd, want=0, timeout=300):
        if self.card is None:
            self.card = Agent(os.path.join(self.s.run_dir, "mic0-agent.sock"),
                              connect_timeout=30)
        rc, out = self.card.run(cmd, timeout=timeout)
        self._report("card", cmd, rc, out, want)
        return out

    def card_gone(self):
        if self.card is not None:
            self.card.close()
            self.card = None


def main():
    s = System(sys.argv[1], cards=1, accel=os.environ.get("MICEMU_ACCEL", "tcg"))
    c = Check(s)
    try:
        s.boot_online(0, timeout=300)
        c.host("scif-pingpong -i")
        c.on_card("scif-pingpong -i")
        c.on_card("scif-pingpong -s -p 2000 >/tmp/srv.log 2>&1 &")
        c.host("scif-pingpong -s -p 2001 >/tmp/srv.log 2>&1 &")
        time.sleep(1)
        c.host("scif-pingpong -c 1 -p 2000 -n 1000 -S 64")
        for size in SIZES:
            c.host(f"scif-pingpong -c 1 -p 2000 -n 3 -S {size}")
        c.on_card("scif-pingpong -c 0 -p 2001 -n 1000 -S 64")
        for size in SIZES:
            c.on_card(f"scif-pingpong -c 0 -p 2001 -n 3 -S {size}")
        c.on_card("scif-pingpong -c 1 -p 2000 -n 200 -S 333")
        c.host("scif-pingpong -c 1 -p 2999 -n 1", want=2)

        c.host("scif-pingpong -c 1 -p 2000 -n 1000000 -S 500 >/tmp/long.log 2>&1 &")
        time.sleep(2)
        c.host("micctrl reset mic0")
        c.card_gone()
        s.wait_state(0, "ready", 300)
        out = c.host("sleep 1; cat /tmp/long.log; cat /sys/kernel/debug/scif/nodes")
        if ("Connection reset by peer" not in out or
                re.search(r"^node 1 ", out, re.M)):
            print("FAIL: reset: client not reset or node 1 still there", flush=True)
            c.failed += 1

        s.boot_online(0, timeout=300)
        c.on_card("scif-pingpong -s -p 2000 >/tmp/srv.log 2>&1 &")
        time.sleep(1)
        c.host("scif-pingpong -c 1 -p 2000 -n 300 -S 4000")
        c.host("micctrl shutdown mic0", timeout=400)
        c.card_gone()
        trouble = s.kernel_trouble()
        if trouble:
            print("FAIL: kernel trouble:\n" + "\n".join(trouble), flush=True)
            c.failed += 1
    finally:
        c.card_gone()
        s.shutdown()
    print(f"xnode: {c.failed} failed")
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
