# SPDX-License-Identifier: GPL-2.0
"""What differs between the two host personalities, for the scenarios that
run on both (the `host_stack` fixture, tests/conftest.py)."""

import re

import pytest


def micemu_only(reason):
    """Mark a scenario, in a file whose others run on both host stacks, as
    one for micemu's host stack only; REASON says why upstream's cannot
    run it (it shows in `pytest --markers` style listings and the code)."""
    def mark(func):
        func = pytest.mark.micemu_only(reason=reason)(func)
        return pytest.mark.parametrize("host_stack", [pytest.param("micemu", id="micemu")],
                                       indirect=True, scope="module")(func)
    return mark


def host_dma_descriptors(s):
    """Upstream host: descriptors posted so far on mic_x100_dma's four host
    channels of card 0, per channel, from the head pointers (DHPR) in its
    debugfs."""
    out = s.run_ok("cat /sys/kernel/debug/mic_x100_dma/*/mic_dma_reg")
    heads = {}
    for m in re.finditer(r"^(\d+)\s*\|\s*(0x[0-9a-f]+|0)\s+(0x[0-9a-f]+|0)\s+"
                         r"(0x[0-9a-f]+|0)", out, re.M):
        heads[int(m.group(1))] = int(m.group(4), 16)
    assert len(heads) == 4, out
    return heads


def descriptors_moved(before, after, ring=128 * 1024 - 4):
    """Descriptors posted between two host_dma_descriptors() readings."""
    return sum((after[c] - before[c]) % ring for c in before)
