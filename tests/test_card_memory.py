# SPDX-License-Identifier: GPL-2.0
"""Card memory sizes: real x100 cards carry 6, 8 or 16 GiB, more than the
card VM can keep below its PCI hole (a 6 GiB card's BAR0 is 8 GiB, the
last 2 GiB without memory: qemu-mic-device/docs/mic-x100.rst).  micfw lays such a card out as RAM below
3 GiB plus a DIMM at 4 GiB mapped from offset 4 GiB of the same memory, so
card physical address = BAR0 offset for every address the card CPU can use
(card-firmware-sim/micfw-cardvm.c)."""

import re

import pytest

from test_dma import Dma

GiB = 1 << 30


@pytest.mark.parametrize("size", ["6G", "8G", "16G"])
def test_large_card_online_and_dma_across_4g(make_system, size):
    gib = int(size[:-1])
    s = make_system(mem_size=size)
    # The DMA round trip below writes the first 2 MiB above 4 GiB: the
    # card kernel must not be using them (on the debug flavour it was).
    s.set_card_cmdline(0, "memmap=2M$0x100000000")
    s.boot_online(0)
    console = s.card_console()
    end = gib * GiB - 1
    assert f"user: [mem 0x0000000100200000-{end:#018x}] usable" in console, \
        "card kernel was not told about its RAM above 4 GiB + 2 MiB"
    # The RAM the kernel manages: all of it but the hole [3 GiB, 4 GiB)
    # and what the firmware keeps. MemTotal is smaller by what the kernel
    # reserves at boot, on the debug flavour a good part (KASAN's shadow
    # is an eighth of RAM), so it only has to exceed what fits below the
    # hole: then the RAM above 4 GiB is in use.
    managed_kib = int(re.search(r"Memory: \d+K/(\d+)K available", console).group(1))
    assert managed_kib * 1024 > (gib - 1.5) * GiB, \
        f"card kernel manages {managed_kib} KiB"
    total_kib = int(re.search(r"MemTotal:\s+(\d+) kB",
                              s.card_run_ok(0, "cat /proc/meminfo")).group(1))
    assert total_kib * 1024 > 3 * GiB, f"card kernel has {total_kib} KiB"

    # A round trip by the host's DMA channels through card memory that
    # straddles the 4 GiB line, checked byte for byte by the host CPU.
    d = Dma(s)
    straddle = 4 * GiB - 2 * (1 << 20)
    d.host.ok(f"peer {straddle:#x} 4194304")
    d.host.ok("fill 7 4194304")
    d.host.ok("copy to_peer 4194304 0")
    d.host.ok("fill 8 4194304")
    d.host.ok("copy from_peer 4194304 1")
    d.host.ok("check 7 4194304")
    for ch in (0, 1):
        assert re.search(r"failed 0 errors 0", d.host.ok(f"stats {ch}"))
    assert not s.kernel_trouble()
