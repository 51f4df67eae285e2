# SPDX-License-Identifier: GPL-2.0
"""Where a SCIF round trip spends its time, from the two QEMUs' trace events.

A system started with System(trace_events=EVENTS) logs, with the time of
day of each (both QEMUs run on one machine, so their clocks agree):

  host QEMU  mic_x100_card_irq    the host guest rang the card's doorbell
  card QEMU  mic_link_doorbell    the doorbell's eventfd woke the card QEMU
  card QEMU  mic_card_msix        ... which raised the card's MSI-X vector
  card QEMU  mic_card_host_irq    the card guest rang the host's doorbell
  host QEMU  mic_link_doorbell    the eventfd woke the host QEMU
  host QEMU  mic_x100_irq_msix    ... which raised the host's MSI-X vector

A round trip's critical path crosses each of the six points once, so it
splits into six segments: two link hops (eventfd write in one QEMU to the
wake-up of the other's main loop; rings coalesced into one wake-up count
from the last), two device segments (wake-up to the MSI write), and two
guest segments (MSI to the doorbell that carries the
answer: the interrupt, SCIF's receive work, the woken reader, its send,
down to the register write).  A guest may ring more than once per message
(SCIF acknowledges every receive with a CLIENT_RCVD message), so a guest
segment runs from an interrupt to the last doorbell that guest rings
before its next interrupt; interrupts after which a guest rings nothing
(it only took an acknowledgement) are not counted.
"""

import glob
import os
import re
import statistics

EVENTS = ("mic_x100_card_irq", "mic_link_doorbell", "mic_card_msix",
          "mic_card_host_irq", "mic_x100_irq_msix")

_LINE = re.compile(r"^\d+@(\d+)\.(\d{6}):(\w+)(.*)$")

SEGMENTS = (
    ("host->card hop", "eventfd write in the host QEMU to the card QEMU awake"),
    ("card device", "card QEMU awake to the card's MSI-X"),
    ("card guest", "MSI-X to the card's answering doorbell write"),
    ("card->host hop", "eventfd write in the card QEMU to the host QEMU awake"),
    ("host device", "host QEMU awake to the host's MSI-X"),
    ("host guest", "MSI-X to the host's next doorbell write"),
)


def read_events(path):
    """[(seconds, event, args)] of one QEMU trace file, in order."""
    out = []
    with open(path, errors="replace") as f:
        for ln in f:
            m = _LINE.match(ln)
            if m and m.group(3) in EVENTS:
                out.append((int(m.group(1)) + int(m.group(2)) / 1e6,
                            m.group(3), m.group(4)))
    return out


def card_trace_file(logdir, card=0):
    """The trace file of the card VM started last (one per card VM start)."""
    files = glob.glob(os.path.join(logdir, f"mic{card}-qemu-*.log"))
    if not files:
        raise FileNotFoundError(f"no mic{card}-qemu-*.log in {logdir}")
    return max(files, key=os.path.getmtime)


def _hops(rings, wakes):
    """Microseconds from a ring to the wake-up it caused: for each wake-up,
    from the last ring before it (the eventfd coalesces rings the other side
    has not woken for yet; the last one is the answer a waiting reader
    needs); wake-ups with no ring since the previous one are skipped."""
    out, j = [], 0
    for t in wakes:
        last = None
        while j < len(rings) and rings[j] <= t:
            last = rings[j]
            j += 1
        if last is not None:
            out.append((t - last) * 1e6)
    return out


def _guest(irqs, bells):
    """Microseconds from each interrupt to the last doorbell before the
    next interrupt; interrupts followed by no doorbell are skipped."""
    out, j = [], 0
    for k, t in enumerate(irqs):
        nxt = irqs[k + 1] if k + 1 < len(irqs) else float("inf")
        while j < len(bells) and bells[j] < t:
            j += 1
        last = None
        while j < len(bells) and bells[j] < nxt:
            last = bells[j]
            j += 1
        if last is not None:
            out.append((last - t) * 1e6)
    return out


def breakdown(host_events, card_events, since=0.0):
    """{segment: [microseconds]} from the two QEMUs' events after SINCE."""
    def times(evs, name):
        return [t for t, e, _ in evs if e == name and t >= since]

    h_ring = times(host_events, "mic_x100_card_irq")
    h_wake = times(host_events, "mic_link_doorbell")
    h_msi = times(host_events, "mic_x100_irq_msix")
    c_wake = times(card_events, "mic_link_doorbell")
    c_msi = times(card_events, "mic_card_msix")
    c_ring = times(card_events, "mic_card_host_irq")
    return {
        "host->card hop": _hops(h_ring, c_wake),
        "card device": _hops(c_wake, c_msi),
        "card guest": _guest(c_msi, c_ring),
        "card->host hop": _hops(c_ring, h_wake),
        "host device": _hops(h_wake, h_msi),
        "host guest": _guest(h_msi, h_ring),
    }


def summary(parts):
    """[(segment, what, median us, p90 us, n)] in path order."""
    rows = []
    for name, what in SEGMENTS:
        vals = sorted(parts[name])
        if not vals:
            rows.append((name, what, None, None, 0))
            continue
        p90 = vals[min(len(vals) - 1, int(0.9 * len(vals)))]
        rows.append((name, what, statistics.median(vals), p90, len(vals)))
    return rows
