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
    hp, cp = tmp_path / "host-qemu.log", tmp_path / "mic0-qemu-77.log"
    hp.write_text("junk line\n" + "".join(host))
    cp.write_text("".join(card))
    assert latency.card_trace_file(str(tmp_path)) == str(cp)

    parts = latency.breakdown(latency.read_events(str(hp)),
                              latency.read_events(str(cp)), since=1000.0)
    rows = {name: (med, n) for name, _, med, _, n in latency.summary(parts)}
    approx = {k: round(v[0]) for k, v in rows.items()}
    assert approx["card device"] == 5
    assert approx["card guest"] == 100              # MSI-X to the answer
    assert approx["card->host hop"] == 30           # from the answer's ring
    assert rows["card->host hop"][1] == 10          # two rings, one wake-up
    assert approx["host device"] == 2
    # the host rings twice per round trip: ack at +33 us after its MSI-X,
    # the next message 300 - 157 = 143 us after it: the last one counts
    assert approx["host guest"] == 143
    assert approx["host->card hop"] == 20
    assert rows["card guest"][1] == 10              # ack-only interrupts skipped
