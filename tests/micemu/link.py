# SPDX-License-Identifier: GPL-2.0
"""The micfw link (qemu-mic-device/mic_link.h, docs/link-protocol.rst) as
the tests speak it: wire structs, a device-side client (Link), a stand-in
for micfw that answers one card HELLO (FakeFw), and a host VM's RAM as a
memfd (HostRam)."""
import mmap
import os
import socket
import struct
import threading

from micemu.regs import RF_CARD_RAISED, RF_SIZE, RegFile, sealed_memfd

LINK_MAGIC = 0x4C43494D
LINK_VERSION = 1
HELLO, WELCOME, RESET, BOOT_KICK, ERROR, PEER = 1, 2, 3, 4, 5, 6
ROLE_HOST, ROLE_CARD = 1, 2

HDR = struct.Struct("<IHH")
HELLO_S = struct.Struct("<IIQQ")
WELCOME_S = struct.Struct("<IIQQQQ")
ERROR_S = struct.Struct("<I124s")
# struct mic_link_peer: index, flags, aperture base/size, mmio base/size
PEER_S = struct.Struct("<IIQQQQ")
PEER_PRESENT = 1
WELCOME_KEYS = ("version", "card_index", "card_mem_size", "regfile_size",
                "host_ram_below_4g", "host_ram_above_4g")


def _recv_exact(sock, n):
    """(bytes, fds): up to N bytes, fewer only at EOF."""
    data, fds = b"", []
    while len(data) < n:
        chunk, cfds, _, _ = socket.recv_fds(sock, n - len(data), 8)
        fds += cfds
        if not chunk:
            break
        data += chunk
    return data, fds


def recv_msg(sock, check_magic=False):
    """One link message: (type, payload, fds), or None at EOF (any fds
    that came with a partial message are closed)."""
    hdr, fds = _recv_exact(sock, HDR.size)
    if len(hdr) < HDR.size:
        for fd in fds:
            os.close(fd)
        return None
    magic, mtype, length = HDR.unpack(hdr)
    assert magic == LINK_MAGIC or not check_magic, hex(magic)
    payload, more = _recv_exact(sock, length)
    return mtype, payload, fds + more


class Link:
    """One connection to micfw's link socket, as a device model makes it."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(5)
        self.sock.connect(path)
        self.fds = []

    def send(self, mtype, payload=b"", fds=(), magic=LINK_MAGIC, length=None):
        hdr = HDR.pack(magic, mtype, len(payload) if length is None else length)
        if fds:
            socket.send_fds(self.sock, [hdr + payload], list(fds))
        else:
            self.sock.sendall(hdr + payload)

    def send_raw(self, data):
        self.sock.sendall(data)

    def recv(self):
        """(type, payload, fds), or None when micfw closed the connection."""
        msg = recv_msg(self.sock, check_magic=True)
        if msg:
            self.fds += msg[2]
        return msg

    def expect_error(self, code=None):
        msg = self.recv()
        assert msg is not None, "connection closed without ERROR"
        mtype, payload, _ = msg
        assert mtype == ERROR, "expected ERROR, got type %d" % mtype
        ecode, text = ERROR_S.unpack(payload)
        text = text.split(b"\0", 1)[0].decode()
        if code is not None:
            assert ecode == code, "errno %d (%s), want %d" % (ecode, text, code)
        return ecode, text

    def closed(self):
        """micfw closed its end: recv sees EOF."""
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True

    def hello(self, role=ROLE_HOST, below=0, above=0, fds=(),
              version=LINK_VERSION):
        """HELLO; returns (WELCOME as a dict, its fds)."""
        self.send(HELLO, HELLO_S.pack(version, role, below, above), fds)
        msg = self.recv()
        assert msg is not None, "no answer to HELLO"
        mtype, payload, fds = msg
        if mtype == ERROR:
            ecode, text = ERROR_S.unpack(payload)
            raise AssertionError("HELLO refused: %d %s" % (ecode, text))
        assert mtype == WELCOME, mtype
        return dict(zip(WELCOME_KEYS, WELCOME_S.unpack(payload))), fds

    def close(self):
        for fd in self.fds:
            try:
                os.close(fd)
            except OSError:
                pass
        self.fds = []
        self.sock.close()


def host_link(fw, **kw):
    """Connect to micfw FW as the host device: (Link, welcome, fds,
    RegFile)."""
    link = Link(fw.link_path)
    welcome, fds = link.hello(ROLE_HOST, **kw)
    rf = RegFile(fds[1], welcome["regfile_size"])
    return link, welcome, fds, rf


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


class FakeFw:
    """Listens on a unix socket and answers one card HELLO.

    mode selects the answer: "welcome" (default), "silent", "error",
    "garbage", or a callable(fakefw, sock) that sends whatever it likes.
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
