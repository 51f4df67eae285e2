# SPDX-License-Identifier: GPL-2.0
"""Small initramfs images built in memory, for tests that boot the guest
kernel with a busybox init of their own."""


def cpio_newc(entries):
    """A newc cpio archive of (name, mode, data, rdev_major, rdev_minor)."""
    out = bytearray()
    for ino, (name, mode, data, rmaj, rmin) in enumerate(
            entries + [("TRAILER!!!", 0, b"", 0, 0)], 1):
        nm = name.encode() + b"\0"
        fields = (ino, mode, 0, 0, 1, 0, len(data), 0, 0, rmaj, rmin,
                  len(nm), 0)
        out += b"070701" + b"".join(b"%08X" % f for f in fields) + nm
        out += b"\0" * (-len(out) % 4) + data
        out += b"\0" * (-len(out) % 4)
    return bytes(out)
