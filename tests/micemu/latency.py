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
(SCIF acknowledges every receive with a CLIENT_RCVD message), so the
doorbells are taken in runs: the rings of one side up to the other side's
next ring.  An exchange is a run of one side's rings after the other's:
its request is the last ring of the other side's run before it (the
peer wrote the message into our memory before it rang), its answer the
last ring of its own run.  Its guest segment runs from the first MSI-X
after the request to the answer.

A guest that polls its rings (scif.ko's poll_us) sees a message as soon
as the peer has written it, before the peer's doorbell, so the MSI-X is
no longer on the path: it arrives while the guest already answers, or
after (then the exchange counts as "polled", from the peer's doorbell to
our answer, apart from the guest segments).  The hop and device segments
are measured over every doorbell, on the path or not.

So the round trip of the bench's ping-pong (scif-pingpong -c, N round
trips of one message each) is also split by its four doorbells, which
are on the path whatever wakes the guest: the host's CLIENT_SENT (the
message), the card's CLIENT_RCVD (it has read it), the card's
CLIENT_SENT (the echo), the host's CLIENT_RCVD, and the host's next
CLIENT_SENT.  The doorbells carry no message id, and with polling a
guest may acknowledge a message before the peer's doorbell for it rang,
so they are told apart by count: after the connection (host CNCT_REQ,
card CNCT_GNT, host CNCT_GNTACK) each side rings exactly twice per round
trip, and the close adds one each (DISCNCT, DISCNT_ACK).  With other
counts (breakdown() without round_trips) the four PATH rows stay empty
and the exchanges are taken in runs as above.  The two sides' "whole"
rows (request doorbell to answer doorbell) sum to the round trip either
way.
"""

import bisect
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
    ("card polled", "host's doorbell to the card's answer, answered before its MSI-X"),
    ("card->host hop", "eventfd write in the card QEMU to the host QEMU awake"),
    ("host device", "host QEMU awake to the host's MSI-X"),
    ("host guest", "MSI-X to the host's answering doorbell write"),
    ("host polled", "card's doorbell to the host's answer, answered before its MSI-X"),
)

# The round trip of the bench's ping-pong by its four doorbells.
PATH = (
    ("card: to its ack", "host's CLIENT_SENT doorbell to the card's CLIENT_RCVD "
                         "doorbell (the card sees the message, by interrupt or by "
                         "polling, and reads it)"),
    ("card: ack to echo", "card's CLIENT_RCVD to its CLIENT_SENT doorbell (back to "
                          "user space, the echo sent)"),
    ("host: to its ack", "card's CLIENT_SENT doorbell to the host's CLIENT_RCVD "
                         "doorbell"),
    ("host: ack to next", "host's CLIENT_RCVD to its next CLIENT_SENT doorbell"),
)

# Per side, request doorbell to answer doorbell over every exchange: the
# two medians add up to a round trip, polled or not.
WHOLE = (
    ("card whole", "host's doorbell to the card's answer, every exchange"),
    ("host whole", "card's doorbell to the host's answer, every exchange"),
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


def _first_msi(msis, req, ans):
    """The first of MSIS after REQ if it came before ANS, else None."""
    k = bisect.bisect_right(msis, req)
    return msis[k] if k < len(msis) and msis[k] <= ans else None


def _exchanges(req_rings, ans_rings, msis):
    """[(request, None, answer, msi)] for each run of ANS_RINGS after a
    ring of REQ_RINGS: the other side's last ring before the run, the
    run's last ring, and the first of MSIS after the request if it came
    before the answer (else None: answered by polling).  Lists sorted."""
    merged = sorted([(t, 0) for t in req_rings] + [(t, 1) for t in ans_rings])
    out, req, i = [], None, 0
    while i < len(merged):
        t, side = merged[i]
        if side == 0:
            req, i = t, i + 1
            continue
        while i < len(merged) and merged[i][1] == 1:
            ans, i = merged[i][0], i + 1
        if req is not None:
            out.append((req, None, ans, _first_msi(msis, req, ans)))
        req = None
    return out


def _pingpong(h_ring, c_ring, h_msi, c_msi, n):
    """(card exchanges, host exchanges) [(request, ack, answer, msi)] of N
    ping-pong round trips told apart by count, or None if the counts are
    not those of one connection with N round trips (see above)."""
    if not n or len(h_ring) != 2 * n + 3 or len(c_ring) != 2 * n + 2:
        return None
    hs, hr = h_ring[2:2 * n + 2:2], h_ring[3:2 * n + 3:2]
    cr, cs = c_ring[1:2 * n + 1:2], c_ring[2:2 * n + 2:2]
    card = [(hs[k], cr[k], cs[k], _first_msi(c_msi, hs[k], cs[k]))
            for k in range(n)]
    host = [(cs[k], hr[k], hs[k + 1], _first_msi(h_msi, cs[k], hs[k + 1]))
            for k in range(n - 1)]
    return card, host


def _sides(exchanges):
    """(guest, polled, whole, to ack, ack to answer) microseconds."""
    guest = [(a - m) * 1e6 for _, _, a, m in exchanges if m is not None]
    polled = [(a - r) * 1e6 for r, _, a, m in exchanges if m is None]
    whole = [(a - r) * 1e6 for r, _, a, _ in exchanges]
    to_ack = [(k - r) * 1e6 for r, k, _, _ in exchanges if k is not None]
    ack_ans = [(a - k) * 1e6 for _, k, a, _ in exchanges if k is not None]
    return guest, polled, whole, to_ack, ack_ans


def breakdown(host_events, card_events, since=0.0, round_trips=None):
    """{segment: [microseconds]} from the two QEMUs' events after SINCE;
    ROUND_TRIPS: the ping-pong's count, for the PATH rows."""
    def times(evs, name):
        return [t for t, e, _ in evs if e == name and t >= since]

    h_ring = times(host_events, "mic_x100_card_irq")
    h_wake = times(host_events, "mic_link_doorbell")
    h_msi = times(host_events, "mic_x100_irq_msix")
    c_wake = times(card_events, "mic_link_doorbell")
    c_msi = times(card_events, "mic_card_msix")
    c_ring = times(card_events, "mic_card_host_irq")
    pp = _pingpong(h_ring, c_ring, h_msi, c_msi, round_trips)
    if pp is None:
        pp = (_exchanges(h_ring, c_ring, c_msi), _exchanges(c_ring, h_ring, h_msi))
    c_guest, c_polled, c_whole, c_ack, c_ans = _sides(pp[0])
    h_guest, h_polled, h_whole, h_ack, h_ans = _sides(pp[1])
    return {
        "host->card hop": _hops(h_ring, c_wake),
        "card device": _hops(c_wake, c_msi),
        "card guest": c_guest,
        "card polled": c_polled,
        "card->host hop": _hops(c_ring, h_wake),
        "host device": _hops(h_wake, h_msi),
        "host guest": h_guest,
        "host polled": h_polled,
        "card whole": c_whole,
        "host whole": h_whole,
        "card: to its ack": c_ack,
        "card: ack to echo": c_ans,
        "host: to its ack": h_ack,
        "host: ack to next": h_ans,
    }


def summary(parts, segments=SEGMENTS):
    """[(segment, what, median us, p90 us, n)] in path order (SEGMENTS,
    WHOLE for the two sides' totals, or PATH)."""
    rows = []
    for name, what in segments:
        vals = sorted(parts[name])
        if not vals:
            rows.append((name, what, None, None, 0))
            continue
        p90 = vals[min(len(vals) - 1, int(0.9 * len(vals)))]
        rows.append((name, what, statistics.median(vals), p90, len(vals)))
    return rows
