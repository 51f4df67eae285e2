# SPDX-License-Identifier: GPL-2.0
"""The x100 register window and the shared register file, as the tests
see them.

Offsets are written out by value from the facts sheet (§2.1, §2.5, §3.3,
§5.2) on purpose, not read from mic_regfile.h: a misread offset should
fail a test, not cancel out.  RegFile maps a register file memfd, or
makes one the way micfw does.
"""
import fcntl
import mmap
import os
import struct

# ---- card physical map (facts §2.5, §3.1, §3.3) ----
MMIO_BASE = 0x8_007C_0000
MMIO_SIZE = 0x20000
SMPT_BASE = 0x80_0000_0000
SMPT_PAGE = 1 << 34

# ---- registers, offsets in the 128 KiB window (facts §2.1) ----
SBOX = 0x10000
POSTCODE = 0x0242C
RGCR = SBOX + 0x4010
SICR0 = SBOX + 0x9004
SICE0 = SBOX + 0x900C
SICC0 = SBOX + 0x9010
SIAC0 = SBOX + 0x9014
MSIXPBACR = SBOX + 0x9084
DCR = SBOX + 0xA280


def _array(base, stride):
    """Register i of an array of them."""
    return lambda i: base + stride * i


SMPT = _array(SBOX + 0x3100, 4)
MXAR = _array(SBOX + 0x9044, 4)
APICICR_LO = _array(SBOX + 0xA9D0, 8)
SPAD = _array(SBOX + 0xAB20, 4)
RDMASR = _array(SBOX + 0xB180, 4)
SDBIC = _array(SBOX + 0xCC90, 4)


# ---- DMA channels (facts §5.2; micemu's choices in docs/dma.rst) ----
CH = _array(SBOX + 0xA000, 0x40)
DCAR, DHPR, DTPR, DRAR_LO, DRAR_HI, DSTAT, DCHERR, DCHERRMSK = (
    0x00, 0x04, 0x08, 0x14, 0x18, 0x20, 0x2C, 0x30)


def DMA_DHPR(n):
    return CH(n) + DHPR


# ---- SPAD2 and boot (facts §2.2) ----
BOOT_ADDR = 0x04000000
SPAD2_READY = 1

# ---- struct MicRegFile: control words after mmio[] ----
RF_MAGIC_OFF = MMIO_SIZE
RF_VERSION_OFF = MMIO_SIZE + 4
RF_HOST_RAISED = MMIO_SIZE + 8
RF_CARD_RAISED = MMIO_SIZE + 12
# fault injection words (micfw's knobs), up to the end of fault_dma_error
RF_FAULT_LINK_DOWN = MMIO_SIZE + 52
RF_FAULT_DB_DROP = MMIO_SIZE + 56           # [to card, to host]
RF_FAULT_DB_DUP = MMIO_SIZE + 64
RF_FAULT_DMA_ERROR = MMIO_SIZE + 80
RF_FAULT_END = MMIO_SIZE + 84
RF_SIZE = MMIO_SIZE + 4096
RF_MAGIC = 0x4D494352


def sealed_memfd(name, size, seal=True):
    """A memfd the way micfw makes them: sealed at its size (QEMU refuses
    shared memory a peer could shrink)."""
    fd = os.memfd_create(name, os.MFD_ALLOW_SEALING)
    os.ftruncate(fd, size)
    if seal:
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SHRINK |
                    fcntl.F_SEAL_GROW | fcntl.F_SEAL_SEAL)
    return fd


class RegFile:
    """A register file: FD mapped as a device model maps it, or without
    FD a new sealed memfd initialised like mic_regfile_init() (magic and
    version as given, so tests can break them)."""

    def __init__(self, fd=None, size=RF_SIZE, magic=RF_MAGIC, version=1):
        self.owned = fd is None
        self.fd = sealed_memfd("test-regfile", size) if fd is None else fd
        self.map = mmap.mmap(self.fd, size, mmap.MAP_SHARED)
        if self.owned and size >= RF_SIZE:
            self.write(DCR, 0x55)
            self.write(RF_VERSION_OFF, version)
            self.write(RF_MAGIC_OFF, magic)

    def read(self, off):
        return struct.unpack_from("<I", self.map, off)[0]

    def write(self, off, value):
        struct.pack_into("<I", self.map, off, value & 0xFFFFFFFF)

    def spad(self, j):
        return self.read(SPAD(j))

    def close(self):
        self.map.close()
        if self.owned:
            os.close(self.fd)
