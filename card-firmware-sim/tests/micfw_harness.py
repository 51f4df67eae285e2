# SPDX-License-Identifier: GPL-2.0
"""Helpers for the micfw tests: start a board, talk link and control.

Python standard library only (these run before any VM exists).  The wire
structs mirror qemu-mic-device/mic_link.h; offsets mirror mic_regfile.h
and the facts sheet (SPAD2 at BAR4 + 0x1AB20).
"""
import errno
import json
import mmap
import os
import re
import signal
import socket
import struct
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
MICFW = os.environ.get("MICFW") or os.path.join(os.path.dirname(HERE), "micfw")

LINK_MAGIC = 0x4C43494D
LINK_VERSION = 1
HELLO, WELCOME, RESET, BOOT_KICK, ERROR, PEER = 1, 2, 3, 4, 5, 6
ROLE_HOST, ROLE_CARD = 1, 2

HDR = struct.Struct("<IHH")
HELLO_S = struct.Struct("<IIQQ")
WELCOME_S = struct.Struct("<IIQQQQ")
ERROR_S = struct.Struct("<I124s")
# struct mic_link_peer: index, flags, aper base/size, mmio base/size
PEER_S = struct.Struct("<IIQQQQ")
PEER_PRESENT = 1

MMIO_SIZE = 0x20000
REGFILE_MAGIC_OFF = MMIO_SIZE           # first control word after mmio[]
REGFILE_MAGIC = 0x4D494352
POSTCODE = 0x0242C


def SPAD(j):
    return 0x1AB20 + 4 * j


BOOT_ADDR = 0x04000000
SPAD2_READY = 1

EVENT_RE = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z \+(\d+)ms ([a-z0-9-]+)(?: (.*))?$")


def wait_for(pred, timeout=5.0, step=0.02, what="condition"):
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > end:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(step)


def pid_alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def pid_state(pid):
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0]


class Link:
    """One connection to micfw's link socket, as a device model would."""

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

    def _recv_exact(self, n):
        data, fds = b"", []
        while len(data) < n:
            chunk, cfds, _, _ = socket.recv_fds(self.sock, n - len(data), 8)
            fds += cfds
            if not chunk:
                break
            data += chunk
        return data, fds

    def recv(self):
        """(type, payload, fds), or None when micfw closed the connection."""
        hdr, fds = self._recv_exact(HDR.size)
        if len(hdr) < HDR.size:
            for fd in fds:
                os.close(fd)
            return None
        magic, mtype, length = HDR.unpack(hdr)
        assert magic == LINK_MAGIC, hex(magic)
        payload, more = self._recv_exact(length)
        fds += more
        self.fds += fds
        return mtype, payload, fds

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
        self.send(HELLO, HELLO_S.pack(version, role, below, above), fds)
        msg = self.recv()
        assert msg is not None, "no answer to HELLO"
        mtype, payload, fds = msg
        if mtype == ERROR:
            ecode, text = ERROR_S.unpack(payload)
            raise AssertionError("HELLO refused: %d %s" % (ecode, text))
        assert mtype == WELCOME, mtype
        keys = ("version", "card_index", "card_mem_size", "regfile_size",
                "host_ram_below_4g", "host_ram_above_4g")
        return dict(zip(keys, WELCOME_S.unpack(payload))), fds

    def close(self):
        for fd in self.fds:
            try:
                os.close(fd)
            except OSError:
                pass
        self.fds = []
        self.sock.close()


class Control:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(5)
        try:
            self.sock.connect(path)
        except OSError:
            self.sock.close()
            raise
        self.f = self.sock.makefile("rwb")

    def raw(self, line):
        if isinstance(line, str):
            line = line.encode()
        self.f.write(line + b"\n")
        self.f.flush()
        reply = self.f.readline()
        assert reply.endswith(b"\n"), reply
        return json.loads(reply)

    def __call__(self, cmd, **args):
        args["cmd"] = cmd
        return self.raw(json.dumps(args))

    def close(self):
        self.f.close()
        self.sock.close()


class RegFile:
    """The shared register file, mapped the way a device model maps it."""

    def __init__(self, fd, size):
        self.map = mmap.mmap(fd, size, mmap.MAP_SHARED)

    def read(self, off):
        return struct.unpack_from("<I", self.map, off)[0]

    def write(self, off, value):
        struct.pack_into("<I", self.map, off, value)

    def spad(self, j):
        return self.read(SPAD(j))

    def close(self):
        self.map.close()


# every micfw a test started, so that none survives a failing test
STARTED = []


def kill_leftovers():
    for fw in STARTED:
        if fw.proc.poll() is None:
            fw.kill()


class Micfw:
    """A micfw process with its sockets, logs and run dir under tmpdir."""

    def __init__(self, tmpdir, *extra, index=0, ready_delay=100,
                 mem_size="256M", env=None):
        self.tmp = tmpdir
        self.link_path = os.path.join(tmpdir, "link.sock")
        self.ctl_path = os.path.join(tmpdir, "ctl.sock")
        self.event_log = os.path.join(tmpdir, "events.log")
        self.run_dir = os.path.join(tmpdir, "run")
        argv = [MICFW, "--index", str(index), "--link", self.link_path,
                "--control", self.ctl_path, "--event-log", self.event_log,
                "--run-dir", self.run_dir, "--ready-delay", str(ready_delay),
                "--mem-size", mem_size] + list(extra)
        self.proc = subprocess.Popen(argv, start_new_session=True,
                                     stderr=subprocess.PIPE, env=env)
        STARTED.append(self)
        # a stale socket file may exist before micfw listens: connect
        self.ctl = None
        try:
            wait_for(self._connect, what="micfw control socket")
        except AssertionError:
            self.kill()
            raise
        if self.proc.poll() is not None:
            raise AssertionError("micfw exited: " +
                                 self.proc.stderr.read().decode())

    def _connect(self):
        if self.proc.poll() is not None:
            return True
        try:
            self.ctl = Control(self.ctl_path)
            return True
        except (FileNotFoundError, ConnectionRefusedError):
            return False

    def status(self):
        st = self.ctl("status")
        assert st["ok"], st
        return st

    def wait_state(self, state, timeout=5.0):
        return wait_for(lambda: self.status()["state"] == state, timeout,
                        what="state " + state)

    def events(self):
        with open(self.event_log, errors="replace") as f:
            return f.read().splitlines()

    def find_events(self, name):
        out = []
        for line in self.events():
            m = EVENT_RE.match(line)
            if m and m.group(2) == name:
                out.append((int(m.group(1)), m.group(3) or ""))
        return out

    def wait_event(self, name, timeout=5.0, count=1):
        return wait_for(lambda: len(self.find_events(name)) >= count and
                        self.find_events(name), timeout, what="event " + name)

    def alive(self):
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Signal micfw and return its exit code."""
        if self.ctl:
            self.ctl.close()
            self.ctl = None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("micfw did not exit on %s" % sig)
        self.proc.stderr.close()
        return rc

    def kill(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        if self.ctl:
            self.ctl.close()
        if self.proc.stderr:
            self.proc.stderr.close()


def host_link(fw, **kw):
    """Connect as the host device: (Link, welcome, RegFile)."""
    link = Link(fw.link_path)
    welcome, fds = link.hello(ROLE_HOST, **kw)
    rf = RegFile(fds[1], welcome["regfile_size"])
    return link, welcome, fds, rf


def errno_name(code):
    return errno.errorcode.get(code, str(code))
