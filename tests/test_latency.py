# SPDX-License-Identifier: GPL-2.0
"""tests/micemu/latency.py splits round trips at the right points: a
synthetic pair of QEMU trace files with known gaps, in QEMU's log format
(`-msg timestamp=on`), including the acknowledgements and coalesced
doorbells a real SCIF exchange has.  The real figures come from
`make bench`."""

from micemu import latency


def fmt(t, ev, args=""):
    sec = int(t)
    return f"4242@{sec}.{round((t - sec) * 1e6):06d}:{ev}{args}\n"


def write_traces(tmp_path, host, card, card_file="mic0-qemu-1.log"):
    """The two QEMUs' trace files from lines HOST and CARD; their events."""
    hp, cp = tmp_path / "host-qemu.log", tmp_path / card_file
    hp.write_text("".join(host))
    cp.write_text("".join(card))
    assert latency.card_trace_file(str(tmp_path)) == str(cp)
    return latency.read_events(str(hp)), latency.read_events(str(cp))


def rows(parts, *groups):
    """{segment name: (median, samples)} of summary() over GROUPS."""
    out = {}
    for g in groups or (None,):
        table = latency.summary(parts) if g is None else latency.summary(parts, g)
        out.update({name: (med, n) for name, _, med, _, n in table})
    return out


def test_breakdown_of_known_round_trips(tmp_path):
    host, card = [], []
    t = 1000.0
    for _ in range(10):
        host.append(fmt(t, "mic_x100_card_irq", " host->card doorbell sources 0x00001"))
        card.append(fmt(t + 20e-6, "mic_link_doorbell", " mic-card: doorbell eventfd fired"))
        card.append(fmt(t + 25e-6, "mic_card_msix", " MSI-X vector 0"))
        # the card acknowledges the receive, then answers
        card.append(fmt(t + 60e-6, "mic_card_host_irq", " card->host doorbell (SICR0 raised)"))
        card.append(fmt(t + 125e-6, "mic_card_host_irq", " card->host doorbell (SICR0 raised)"))
        # both card doorbells coalesced into one wake-up of the host QEMU
        host.append(fmt(t + 155e-6, "mic_link_doorbell", " mic-x100: doorbell eventfd fired"))
        host.append(fmt(t + 157e-6, "mic_x100_irq_msix", " MSI-X vector 1"))
        # the host acknowledges (the card takes that interrupt and rings
        # nothing), then sends the next message
        host.append(fmt(t + 190e-6, "mic_x100_card_irq", " host->card doorbell sources 0x00001"))
        card.append(fmt(t + 210e-6, "mic_link_doorbell", " mic-card: doorbell eventfd fired"))
        card.append(fmt(t + 215e-6, "mic_card_msix", " MSI-X vector 0"))
        t += 300e-6
    h, c = write_traces(tmp_path, ["junk line\n"] + host, card, "mic0-qemu-77.log")
    parts = latency.breakdown(h, c, since=1000.0)
    got = rows(parts)
    approx = {k: round(v[0]) for k, v in got.items() if v[0] is not None}
    assert approx["card device"] == 5
    assert approx["card guest"] == 100              # MSI-X to the answer
    assert approx["card->host hop"] == 30           # from the answer's ring
    assert got["card->host hop"][1] == 10           # two rings, one wake-up
    assert approx["host device"] == 2
    # the host rings twice per round trip: ack at +33 us after its MSI-X,
    # the next message 300 - 157 = 143 us after it: the last one counts
    assert approx["host guest"] == 143
    assert approx["host->card hop"] == 20
    assert got["card guest"][1] == 10               # ack-only interrupts skipped
    assert got["card polled"][1] == got["host polled"][1] == 0
    whole = rows(parts, latency.WHOLE)
    assert round(whole["card whole"][0]) == 125     # request ring to answer
    assert round(whole["host whole"][0]) == 175


def test_breakdown_when_guests_poll(tmp_path):
    """Guests that poll their rings answer before their MSI-X arrives: the
    exchange counts as polled, from the peer's doorbell to the answer, and
    the MSI-X that comes late is not paired with the next exchange."""
    host, card = [], []
    t = 1000.0
    for i in range(10):
        # the host's message; the card sees it in its ring and answers
        # (ack, then the echo) before the doorbell's MSI-X reaches it
        host.append(fmt(t, "mic_x100_card_irq", " host->card doorbell"))
        card.append(fmt(t + 20e-6, "mic_card_host_irq", " card->host doorbell"))
        card.append(fmt(t + 40e-6, "mic_card_host_irq", " card->host doorbell"))
        card.append(fmt(t + 50e-6, "mic_link_doorbell", " mic-card: doorbell eventfd fired"))
        card.append(fmt(t + 55e-6, "mic_card_msix", " MSI-X vector 0"))
        host.append(fmt(t + 60e-6, "mic_link_doorbell", " mic-x100: doorbell eventfd fired"))
        host.append(fmt(t + 62e-6, "mic_x100_irq_msix", " MSI-X vector 1"))
        if i % 2:
            # the host polled too: ack and next message before its MSI-X
            host.append(fmt(t + 45e-6, "mic_x100_card_irq", " host->card doorbell"))
            t += 55e-6
        else:
            # the host slept: it acks after its MSI-X, and its next
            # message (the answer) follows at t + 110
            host.append(fmt(t + 100e-6, "mic_x100_card_irq", " host->card doorbell"))
            t += 110e-6
    h, c = write_traces(tmp_path, sorted(host, key=lambda ln: ln.split(":")[0].split("@")[1]),
                        card)
    got = rows(latency.breakdown(h, c, since=1000.0), None, latency.WHOLE)
    assert got["card guest"][1] == 0
    assert got["card polled"][1] == 10
    assert round(got["card polled"][0]) == 40       # host ring to the echo
    assert got["host polled"][1] == 5 and round(got["host polled"][0]) == 15
    # the host's answers after its MSI-X: from it (t + 62) to the next message
    assert got["host guest"][1] == 5 and round(got["host guest"][0]) == 48
    assert round(got["card whole"][0]) == 40


def test_pingpong_path_by_count(tmp_path):
    """The bench's ping-pong split by its four doorbells, told apart by
    count: also when a polling card acknowledges a message before the
    host's doorbell for it rang."""
    host, card = [], []
    n, t = 6, 1000.0
    host.append(fmt(t - 900e-6, "mic_x100_card_irq", " CNCT_REQ"))
    card.append(fmt(t - 800e-6, "mic_card_host_irq", " CNCT_GNT"))
    host.append(fmt(t - 700e-6, "mic_x100_card_irq", " CNCT_GNTACK"))
    for k in range(n):
        host.append(fmt(t, "mic_x100_card_irq", " SENT"))
        # every other card ack comes 5 us before the host's doorbell
        card.append(fmt(t + (-5e-6 if k % 2 else 30e-6), "mic_card_host_irq", " RCVD"))
        card.append(fmt(t + 50e-6, "mic_card_host_irq", " SENT"))
        card.append(fmt(t + 60e-6, "mic_link_doorbell", " woke"))
        card.append(fmt(t + 62e-6, "mic_card_msix", " MSI-X"))
        host.append(fmt(t + 90e-6, "mic_x100_card_irq", " RCVD"))
        t += 100e-6
    host.append(fmt(t + 500e-6, "mic_x100_card_irq", " DISCNCT"))
    card.append(fmt(t + 600e-6, "mic_card_host_irq", " DISCNT_ACK"))
    h, c = write_traces(tmp_path, host, card)
    parts = latency.breakdown(h, c, since=999.0, round_trips=n)
    got = rows(parts, latency.PATH, latency.WHOLE)
    assert got["card: to its ack"][1] == n
    assert abs(got["card: to its ack"][0] - 12.5) < 0.01   # median of 30 and -5
    assert round(got["card: ack to echo"][0]) == 38
    assert round(got["host: to its ack"][0]) == 40
    assert round(got["host: ack to next"][0]) == 10
    assert got["host: ack to next"][1] == n - 1
    assert round(got["card whole"][0]) == 50 and round(got["host whole"][0]) == 50
    # the MSI-X comes after the echo: every card exchange counts as polled
    assert latency.summary(parts)[3][4] == n
    # another count: no PATH rows
    parts = latency.breakdown(h, c, since=999.0, round_trips=n + 1)
    assert all(r[4] == 0 for r in latency.summary(parts, latency.PATH))
