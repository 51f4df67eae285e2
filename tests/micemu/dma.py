# SPDX-License-Identifier: GPL-2.0
"""The x100 DMA engine from the driver's side (facts §5, docs/dma.rst):
descriptors, and a channel programmed in the order upstream's driver
uses."""
from micemu.regs import (CH, DCAR, DCHERRMSK, DCR, DHPR, DRAR_HI, DRAR_LO,
                         DSTAT, DTPR, SMPT_BASE)
from micemu.wait import wait_for

IM0, IM1 = 1 << 24, 1 << 25     # DCAR interrupt masks (card, host owner)
SYSMEM = 1 << 26                # DRAR_HI: ring in system memory
HALTED = 1 << 29                # DSTAT
# DCHERR bits, micemu's own assignment (docs/dma.rst, "Errors")
ERR_RING, ERR_HEAD, ERR_DESC, ERR_ALIGN, ERR_ADDR, ERR_BUS = (
    1, 2, 4, 8, 16, 32)


def OWNER_HOST(n):
    return 1 << (2 * n)


def ENABLE(n):
    return 1 << (2 * n + 1)


def memcpy_desc(src, dst, length):
    return (src | (length // 64) << 46, 1 << 60 | dst)


def status_desc(value, dst, intr):
    return (value, 2 << 60 | (1 << 59 if intr else 0) | dst)


def pack(desc):
    return desc[0].to_bytes(8, "little") + desc[1].to_bytes(8, "little")


class Channel:
    """One DMA channel, programmed like the upstream driver does (§5.2).

    rd/wr access the register window; ring_put(index, bytes) writes ring
    slots."""

    def __init__(self, rd, wr, n, ring_put):
        self.rd, self.wr, self.n, self.ring_put = rd, wr, n, ring_put
        self.head = 0
        self.size = 0

    def reg(self, sub):
        return self.rd(CH(self.n) + sub)

    def set(self, sub, val):
        self.wr(CH(self.n) + sub, val)

    def setup(self, ring_card, size, drar_hi_extra=None, mask=0):
        """Disable, program the ring at card address RING_CARD, head =
        DTPR, enable."""
        self.wr(DCR, self.rd(DCR) & ~ENABLE(self.n))
        self.set(DCAR, mask)
        self.set(DCHERRMSK, 0)
        if drar_hi_extra is None:
            if ring_card >= SMPT_BASE:
                off = ring_card - SMPT_BASE
                drar_hi_extra = SYSMEM | (off >> 34) << 21 | (off >> 32) & 3
            else:
                drar_hi_extra = ring_card >> 32
        self.set(DRAR_LO, ring_card & 0xFFFFFFFF)
        self.set(DRAR_HI, size << 4 | drar_hi_extra)
        self.size = size
        self.head = self.reg(DTPR)
        self.wr(DCR, self.rd(DCR) | ENABLE(self.n))

    def queue(self, descs):
        """Write descriptors at the head, without handing them over."""
        for d in descs:
            self.ring_put(self.head, pack(d))
            self.head = (self.head + 1) % self.size

    def submit(self, descs):
        self.queue(descs)
        self.set(DHPR, self.head)

    def wait_halted(self, timeout=5):
        """Until the channel halts (an error whose DHPR write left the head
        where it was, so that wait_idle() could not tell): DSTAT."""
        def halted():
            st = self.reg(DSTAT)
            return st if st & HALTED else 0
        return wait_for(halted, timeout, "DMA channel %d to halt" % self.n,
                        poll=0.005)

    def wait_idle(self, timeout=30):
        """Until DTPR reaches the head or the channel halts: DSTAT."""
        def done():
            st = self.reg(DSTAT)
            return (st & HALTED or self.reg(DTPR) == self.head) and \
                (st | 1 << 31)
        return wait_for(done, timeout, "DMA channel %d" % self.n,
                        poll=0.005) & ~(1 << 31)
