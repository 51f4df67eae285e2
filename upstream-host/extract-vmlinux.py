#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""extract-vmlinux.py VMLINUZ OUT: unpack the kernel ELF inside Debian's
xz-compressed bzImage, for QEMU to boot directly through the kernel's PVH
entry point (CONFIG_PVH).  Under TCG the bzImage's own xz decompressor
costs the upstream host VM about 10 s per boot; the ELF loads in well
under one.  Refuses an image without a PVH entry note (QEMU could not boot
it); OUT is left alone if it is newer than VMLINUZ."""

import lzma
import os
import struct
import sys

XEN_ELFNOTE_PHYS32_ENTRY = 18


def pvh_entry(elf):
    """The PVH entry address from the ELF's Xen notes, or None."""
    if elf[:4] != b"\x7fELF" or elf[4] != 2:
        return None
    phoff, = struct.unpack_from("<Q", elf, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
    for i in range(phnum):
        ptype, _, off, _, _, filesz = struct.unpack_from("<IIQQQQ", elf, phoff + i * phentsize)
        if ptype != 4:                          # PT_NOTE
            continue
        pos, end = off, off + filesz
        while pos + 12 <= end:
            namesz, descsz, ntype = struct.unpack_from("<III", elf, pos)
            name = elf[pos + 12:pos + 12 + namesz].rstrip(b"\0")
            desc = pos + 12 + (namesz + 3) // 4 * 4
            if name == b"Xen" and ntype == XEN_ELFNOTE_PHYS32_ENTRY:
                return struct.unpack_from("<I", elf, desc)[0]
            pos = desc + (descsz + 3) // 4 * 4
    return None


def main(vmlinuz, out):
    if os.path.exists(out) and os.path.getmtime(out) >= os.path.getmtime(vmlinuz):
        return 0
    with open(vmlinuz, "rb") as f:
        image = f.read()
    start = image.find(b"\xfd7zXZ\x00")
    if start < 0:
        sys.exit(f"extract-vmlinux: no xz stream in {vmlinuz}")
    elf = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(image[start:])
    entry = pvh_entry(elf)
    if entry is None:
        sys.exit(f"extract-vmlinux: the kernel in {vmlinuz} has no PVH entry note")
    with open(out + ".tmp", "wb") as f:
        f.write(elf)
    os.replace(out + ".tmp", out)
    print(f"extract-vmlinux: {out}, {len(elf) >> 20} MiB, PVH entry {entry:#x}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: extract-vmlinux.py VMLINUZ OUT")
    sys.exit(main(sys.argv[1], sys.argv[2]))
