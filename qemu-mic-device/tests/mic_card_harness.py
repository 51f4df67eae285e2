# SPDX-License-Identifier: GPL-2.0
"""Helpers for the mic-card qtest tests (Python standard library only).

* QTest: a card VM under -accel qtest, driven over stdio.
* FakeFw: a stand-in for micfw that answers one CARD HELLO with a WELCOME
  it builds itself (or with something broken, on request), so the test
  owns the register file, the eventfds and the host RAM memfd.

Offsets mirror mic_regfile.h and the facts sheet on purpose by value: a
misread offset should fail here, not cancel out.
"""
import fcntl
import mmap
import os
import select
import socket
import struct
import subprocess
import threading
import time

BIOS_DIRS = ["-L", "/usr/share/seabios", "-L", "/usr/lib/ipxe/qemu",
             "-L", "/usr/share/qemu"]



def wait_for(pred, timeout=5.0, what="condition", poll=0.02):
    """PRED's first true value, polled every POLL s; AssertionError after TIMEOUT s."""
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > end:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(poll)


def find_qemu():
    qemu = os.environ.get("MICEMU_QEMU") or os.environ.get("QEMU")
    if not qemu:
        build = os.environ.get("MICEMU_BUILD",
                               os.path.expanduser("~/.cache/micemu"))
        qemu = os.path.join(build, "qemu-build/qemu-system-x86_64")
    return qemu


def find_micfw():
    here = os.path.dirname(os.path.abspath(__file__))
    build = os.environ.get("MICEMU_BUILD",
                           os.path.expanduser("~/.cache/micemu"))
    for path in (os.environ.get("MICFW"),
                 os.path.join(build, "card-firmware-sim/micfw"),
                 os.path.join(here, "../../card-firmware-sim/micfw")):
        if path and os.access(path, os.X_OK):
            return os.path.abspath(path)
    return None


# ---- card physical map and registers (facts §2.1, §2.5, §3.3) ----
MMIO_BASE = 0x8_007C_0000
SMPT_BASE = 0x80_0000_0000
SMPT_PAGE = 1 << 34
MMIO_SIZE = 0x20000
SBOX = 0x10000
POSTCODE = 0x0242C
RGCR = SBOX + 0x4010
SICR0 = SBOX + 0x9004
SICE0 = SBOX + 0x900C
SIAC0 = SBOX + 0x9014
MSIXPBACR = SBOX + 0x9084
DCR = SBOX + 0xA280


def SMPT(i):
    return SBOX + 0x3100 + 4 * i


def MXAR(i):
    return SBOX + 0x9044 + 4 * i


def APICICR_LO(k):
    return SBOX + 0xA9D0 + 8 * k


def SPAD(j):
    return SBOX + 0xAB20 + 4 * j


def RDMASR(m):
    return SBOX + 0xB180 + 4 * m


def SDBIC(d):
    return SBOX + 0xCC90 + 4 * d


def DMA_DHPR(n):
    return SBOX + 0xA000 + 0x40 * n + 4


# register file control words after mmio[] (struct MicRegFile)
RF_MAGIC_OFF = MMIO_SIZE
RF_VERSION_OFF = MMIO_SIZE + 4
RF_HOST_RAISED = MMIO_SIZE + 8
RF_CARD_RAISED = MMIO_SIZE + 12
RF_SIZE = MMIO_SIZE + 4096
RF_MAGIC = 0x4D494352

# ---- link (mic_link.h) ----
LINK_MAGIC = 0x4C43494D
HELLO, WELCOME, RESET, BOOT_KICK, ERROR = 1, 2, 3, 4, 5
ROLE_HOST, ROLE_CARD = 1, 2
HDR = struct.Struct("<IHH")
HELLO_S = struct.Struct("<IIQQ")
WELCOME_S = struct.Struct("<IIQQQQ")
ERROR_S = struct.Struct("<I124s")

# ---- the card function's PCI side ----
SLOT = 4
MSIX_BAR_ADDR = 0xE000_0000
MSI_TARGET = 0x0010_0000         # card RAM the MSI-X writes land in
NUM_VECTORS = 20


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
    """A register file memfd, initialised like mic_regfile_init()."""

    def __init__(self, size=RF_SIZE, magic=RF_MAGIC, version=1):
        self.fd = sealed_memfd("test-regfile", size)
        self.map = mmap.mmap(self.fd, size, mmap.MAP_SHARED)
        if size >= RF_SIZE:
            self.write(DCR, 0x55)
            self.write(RF_VERSION_OFF, version)
            self.write(RF_MAGIC_OFF, magic)

    def read(self, off):
        return struct.unpack_from("<I", self.map, off)[0]

    def write(self, off, value):
        struct.pack_into("<I", self.map, off, value & 0xFFFFFFFF)

    def close(self):
        self.map.close()
        os.close(self.fd)


class HostRam:
    """A host VM's RAM as a sparse memfd: below-4G part, then above-4G."""

    def __init__(self, below, above, seal=True):
        self.below, self.above = below, above
        self.fd = sealed_memfd("test-host-ram", below + above, seal)
        self.map = mmap.mmap(self.fd, below + above, mmap.MAP_SHARED)

    def offset(self, bus):
        """memfd offset of a host bus address."""
        if bus < self.below:
            return bus
        assert 4 << 30 <= bus < (4 << 30) + self.above, hex(bus)
        return self.below + bus - (4 << 30)

    def put(self, bus, data):
        off = self.offset(bus)
        self.map[off:off + len(data)] = data

    def get(self, bus, n):
        off = self.offset(bus)
        return self.map[off:off + n]

    def close(self):
        self.map.close()
        os.close(self.fd)


def recv_msg(sock):
    """One link message: (type, payload, fds) or None at EOF."""
    data, fds = b"", []
    while len(data) < HDR.size:
        chunk, cfds, _, _ = socket.recv_fds(sock, HDR.size - len(data), 8)
        fds += cfds
        if not chunk:
            return None
        data += chunk
    magic, mtype, length = HDR.unpack(data)
    payload = b""
    while len(payload) < length:
        chunk = sock.recv(length - len(payload))
        if not chunk:
            return None
        payload += chunk
    return mtype, payload, fds


class FakeFw:
    """Listens on a unix socket and answers one card HELLO.

    mode selects the answer: "welcome" (default), "silent", "error",
    "garbage", or a callable(sock, hello) that sends whatever it likes.
    """

    def __init__(self, path, regfile, host_ram=None, card_mem_size=1 << 26,
                 mode="welcome", extra_fds=0, payload_tail=b""):
        self.path = path
        self.rf = regfile
        self.host_ram = host_ram
        self.card_mem = sealed_memfd("test-card-mem", card_mem_size)
        self.card_mem_size = card_mem_size
        self.to_host = os.eventfd(0, os.EFD_NONBLOCK)
        self.to_card = os.eventfd(0, os.EFD_NONBLOCK)
        self.mode = mode
        self.extra_fds = extra_fds
        self.payload_tail = payload_tail
        self.hello = None
        self.conn = None
        self.answered = threading.Event()
        self.lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.lsock.bind(path)
        self.lsock.listen(1)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def welcome_fds(self):
        fds = [self.card_mem, self.rf.fd, self.to_host, self.to_card]
        if self.host_ram:
            fds.append(self.host_ram.fd)
        return fds

    def send_welcome(self, sock, version=1, fds=None, below=None, above=None):
        hr = self.host_ram
        below = (hr.below if hr else 0) if below is None else below
        above = (hr.above if hr else 0) if above is None else above
        payload = WELCOME_S.pack(version, 3, self.card_mem_size, RF_SIZE,
                                 below, above) + self.payload_tail
        fds = self.welcome_fds() if fds is None else fds
        extra = [os.open("/dev/null", os.O_RDONLY)
                 for _ in range(self.extra_fds)]
        socket.send_fds(sock, [HDR.pack(LINK_MAGIC, WELCOME, len(payload)) +
                               payload], fds + extra)
        for fd in extra:
            os.close(fd)

    def _serve(self):
        try:
            conn, _ = self.lsock.accept()
        except OSError:
            return
        self.conn = conn
        msg = recv_msg(conn)
        if msg is None:
            return
        self.hello = HELLO_S.unpack(msg[1][:HELLO_S.size])
        if callable(self.mode):
            self.mode(self, conn)
        elif self.mode == "welcome":
            self.send_welcome(conn)
        elif self.mode == "error":
            text = b"card refused by test"
            conn.sendall(HDR.pack(LINK_MAGIC, ERROR, ERROR_S.size) +
                         ERROR_S.pack(1, text))
        elif self.mode == "garbage":
            conn.sendall(b"\xde\xad\xbe\xef" * 8)
        # "silent": say nothing
        self.answered.set()

    def hang_up(self):
        """Close the connection, once the HELLO was answered."""
        self.answered.wait(10)
        if self.conn:
            self.conn.shutdown(socket.SHUT_RDWR)
            self.conn.close()
            self.conn = None

    def host_events(self):
        """Drain the "to host" eventfd: the count, 0 if nothing."""
        try:
            return os.eventfd_read(self.to_host)
        except BlockingIOError:
            return 0

    def ring_card(self, sources):
        """What the host device does for a host->card doorbell."""
        raised = self.rf.read(RF_CARD_RAISED)
        self.rf.write(RF_CARD_RAISED, raised | sources)
        os.eventfd_write(self.to_card, 1)

    def close(self):
        self.answered.set()
        self.hang_up()
        try:
            self.lsock.shutdown(socket.SHUT_RDWR)   # wakes accept()
        except OSError:
            pass
        self.lsock.close()
        self.thread.join(5)
        for fd in (self.card_mem, self.to_host, self.to_card):
            os.close(fd)
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


class QTest:
    """A card VM under -accel qtest; stderr goes to a file for checks."""

    def __init__(self, qemu, args, stderr_path, pass_fds=(), machine="pc"):
        """machine None: args bring their own -M."""
        argv = [qemu] + (["-M", machine] if machine else []) + [
            "-accel", "qtest", "-qtest", "stdio", "-qtest-log", "/dev/null",
            "-nodefaults", "-display", "none",
            "-cpu", "qemu64,family=11,model=1"] + BIOS_DIRS + list(args)
        self.stderr_path = stderr_path
        self.err = open(stderr_path, "w")
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=self.err,
                                  text=True, bufsize=1, pass_fds=pass_fds)

    def cmd(self, line, timeout=20):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        while True:
            ready, _, _ = select.select([self.p.stdout], [], [], timeout)
            if not ready:
                raise RuntimeError("QEMU did not answer: " + line)
            resp = self.p.stdout.readline()
            if not resp:
                raise RuntimeError("QEMU exited during: %s\n%s" %
                                   (line, self.stderr()))
            if resp.startswith("IRQ"):
                continue
            if not resp.startswith("OK"):
                raise RuntimeError("%s -> %s" % (line, resp.strip()))
            parts = resp.split()
            return int(parts[1], 16) if len(parts) > 1 else None

    def stderr(self):
        if not self.err.closed:
            self.err.flush()
        with open(self.stderr_path, errors="replace") as f:
            return f.read()

    # memory
    def rd(self, addr, width=32):
        op = {8: "readb", 16: "readw", 32: "readl", 64: "readq"}[width]
        return self.cmd("%s 0x%x" % (op, addr))

    def wr(self, addr, val, width=32):
        op = {8: "writeb", 16: "writew", 32: "writel", 64: "writeq"}[width]
        self.cmd("%s 0x%x 0x%x" % (op, addr, val))

    def reg(self, off):
        return self.rd(MMIO_BASE + off)

    def set_reg(self, off, val):
        self.wr(MMIO_BASE + off, val)

    # PCI configuration space, mechanism #1
    def _cfg(self, reg, slot):
        self.cmd("outl 0xcf8 0x%x" % (0x80000000 | (slot << 11) |
                                      (reg & 0xFC)))

    def cfg_read(self, reg, slot=SLOT):
        self._cfg(reg, slot)
        return self.cmd("inl 0xcfc")

    def cfg_write(self, reg, val, slot=SLOT):
        self._cfg(reg, slot)
        self.cmd("outl 0xcfc 0x%x" % val)

    def find_cap(self, cap_id, slot=SLOT):
        ptr = self.cfg_read(0x34, slot) & 0xFC
        for _ in range(48):                 # a broken list must not loop
            if not ptr or ptr == 0xFC:
                break
            hdr = self.cfg_read(ptr, slot)
            if hdr & 0xFF == cap_id:
                return ptr
            ptr = (hdr >> 8) & 0xFC
        return None

    def alive(self):
        return self.p.poll() is None

    def close(self):
        """SIGTERM; returns the exit status (0 for a clean exit)."""
        if self.p.poll() is None:
            self.p.terminate()
        try:
            self.p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        self.p.stdin.close()
        self.p.stdout.close()
        self.err.close()
        return self.p.returncode

    def wait_exit(self, timeout=20):
        try:
            rc = self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.close()
            raise
        self.p.stdin.close()
        self.p.stdout.close()
        self.err.close()
        return rc


class Msix:
    """Program the card function's MSI-X so vector v writes
    0xC0DE0000 | v to MSI_TARGET + 4 * v in card RAM."""

    def __init__(self, q):
        self.q = q
        self.cap = q.find_cap(0x11)
        q.cfg_write(0x10, MSIX_BAR_ADDR)
        q.cfg_write(0x04, 0x6)              # memory + bus master
        for v in range(NUM_VECTORS):
            q.wr(MSI_TARGET + 4 * v, 0)
            e = MSIX_BAR_ADDR + 16 * v
            q.wr(e, MSI_TARGET + 4 * v)
            q.wr(e + 4, 0)
            q.wr(e + 8, 0xC0DE0000 | v)
            q.wr(e + 12, 0)                 # unmasked

    def control(self):
        return self.q.cfg_read(self.cap) >> 16

    def enable(self, on=True):
        ctl = self.q.cfg_read(self.cap)
        ctl = (ctl | (1 << 31)) if on else (ctl & ~(1 << 31))
        self.q.cfg_write(self.cap, ctl & ~(1 << 30))

    def mask(self, v, masked):
        self.q.wr(MSIX_BAR_ADDR + 16 * v + 12, 1 if masked else 0)

    def pba(self):
        return self.q.rd(MSIX_BAR_ADDR + 2048, 64)

    def fired(self):
        """Vectors whose message landed since the last call (and clear)."""
        out = set()
        for v in range(NUM_VECTORS):
            if self.q.rd(MSI_TARGET + 4 * v) == 0xC0DE0000 | v:
                out.add(v)
                self.q.wr(MSI_TARGET + 4 * v, 0)
        return out
