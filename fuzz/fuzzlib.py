# SPDX-License-Identifier: GPL-2.0
"""micfuzz plumbing: failures, a pipelined qtest client, QMP with a
deadline, process resource samples, descriptor fds of every kind.

The qtest, QMP and micfw clients are the project's test harness
(tests/micemu, on PYTHONPATH); this file only adds what a
fuzzer needs on top: many commands in flight, a 10 s hang deadline on
every answer and crash reports instead of exceptions.
"""
import fcntl
import json
import os
import select
import signal
import socket
import time

from micemu.build import find_micfw
from micemu.qmp import Qmp
from micemu.qtest import QTest
from micemu.regs import sealed_memfd

if not os.environ.get("MICFW") and find_micfw():
    os.environ["MICFW"] = find_micfw()

HANG_S = 10.0           # no answer within this long is a hang

# glibc returns freed memory at once (fixed mmap threshold, small trim
# threshold), so RssAnon follows what QEMU and micfw really hold rather
# than what bursts of frees (QEMU's RCU-deferred flat views) left cached
os.environ.setdefault("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=131072:"
                      "glibc.malloc.mmap_threshold=131072")


class Failure(Exception):
    """What the fuzzer reports: kind is crash, hang, rss, fds, health,
    json or exit; detail says what was seen."""

    def __init__(self, kind, detail):
        super().__init__("%s: %s" % (kind, detail))
        self.kind = kind
        self.detail = detail


def proc_sample(pid):
    """(RssAnon in KiB, open fd count) of a live process, None if gone."""
    try:
        rss = 0
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    rss = int(line.split()[1])
        return rss, len(os.listdir("/proc/%d/fd" % pid))
    except (FileNotFoundError, ProcessLookupError):
        return None


SANITIZER_MARKS = ("ERROR: AddressSanitizer", "runtime error:",
                   "ERROR: LeakSanitizer")


def check_sanitizer(name, text):
    """A sanitizer report in a process's stderr is a failure."""
    for mark in SANITIZER_MARKS:
        i = text.find(mark)
        if i >= 0:
            raise Failure("sanitizer", "%s: %s" % (name, text[max(0, i - 200):
                                                              i + 3000]))


def describe_rc(rc):
    if rc is None:
        return "running"
    if rc < 0:
        try:
            return "killed by %s" % signal.Signals(-rc).name
        except ValueError:
            return "killed by signal %d" % -rc
    return "exit status %d" % rc


class FuzzQTest(QTest):
    """The harness's qtest client with commands pipelined: queue() adds a
    line, sync() sends everything queued and collects every answer, with
    a HANG_S deadline on each.  cmd()/raw() (and with them rd, wr,
    cfg_read, put, get of the harness) go through the same path."""

    BATCH = 256

    def __init__(self, qemu, args, stderr_path, name, pass_fds=(),
                 machine=None, env=None):
        super().__init__(qemu, args, stderr_path, pass_fds=pass_fds,
                         machine=machine,
                         env=dict(os.environ, **env) if env else None)
        self.name = name
        self.in_fd = self.p.stdin.fileno()
        self.out_fd = self.p.stdout.fileno()
        os.set_blocking(self.in_fd, False)
        self.buf = b""
        self.pending = []
        self.lines = 0          # qtest commands answered

    def _dead(self, what):
        try:
            rc = self.p.wait(timeout=HANG_S)
        except Exception:       # noqa: BLE001 - still running: a hang
            rc = None
        tail = self.stderr()[-2000:]
        if rc is None:
            raise Failure("hang", "%s: %s; stderr:\n%s" % (self.name, what,
                                                           tail))
        raise Failure("crash", "%s %s during %s; stderr:\n%s" % (
            self.name, describe_rc(rc), what, tail))

    def _exchange(self, lines):
        data = ("\n".join(lines) + "\n").encode()
        want, out = len(lines), []
        deadline = time.monotonic() + HANG_S
        while data or len(out) < want:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failure("hang", "%s: no qtest answer in %.0f s to %s" %
                              (self.name, HANG_S, lines[len(out)][:120]))
            wl = [self.in_fd] if data else []
            r, w, _ = select.select([self.out_fd], wl, [], left)
            if w:
                try:
                    n = os.write(self.in_fd, data[:65536])
                except (BrokenPipeError, BlockingIOError) as e:
                    if isinstance(e, BlockingIOError):
                        continue
                    self._dead(lines[len(out)][:120])
                data = data[n:]
                deadline = time.monotonic() + HANG_S
            if r:
                chunk = os.read(self.out_fd, 1 << 20)
                if not chunk:
                    self._dead(lines[min(len(out), want - 1)][:120])
                self.buf += chunk
                while b"\n" in self.buf:
                    line, self.buf = self.buf.split(b"\n", 1)
                    if line.startswith(b"IRQ"):
                        continue
                    out.append(line.decode(errors="replace"))
                deadline = time.monotonic() + HANG_S
        for line, resp in zip(lines, out):
            if not resp.startswith("OK"):
                raise Failure("qtest", "%s: %s -> %s" % (self.name, line[:120],
                                                         resp[:200]))
        self.lines += want
        return out

    def queue(self, line):
        self.pending.append(line)
        if len(self.pending) >= self.BATCH:
            self.sync()

    def sync(self):
        if self.pending:
            lines, self.pending = self.pending, []
            self._exchange(lines)

    def raw(self, line, timeout=None):
        self.sync()
        return self._exchange([line])[0][2:].strip()

    def cmd(self, line, timeout=None):
        parts = self.raw(line).split()
        return int(parts[0], 16) if parts else None

    def pid(self):
        return self.p.pid

    def check_alive(self):
        if self.p.poll() is not None:
            self._dead("(found dead)")

    def stop(self):
        """SIGTERM; anything but a clean exit 0 within HANG_S fails."""
        self.sync()
        if self.p.poll() is not None:
            self._dead("(found dead at the end)")
        self.p.terminate()
        try:
            rc = self.p.wait(timeout=HANG_S)
        except Exception:       # noqa: BLE001
            self.kill()
            raise Failure("hang", "%s ignored SIGTERM" % self.name)
        self.kill()
        if rc != 0:
            raise Failure("exit", "%s %s on SIGTERM; stderr:\n%s" % (
                self.name, describe_rc(rc), self.stderr()[-2000:]))
        check_sanitizer(self.name, self.stderr())

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
        try:
            self.p.wait(timeout=HANG_S)
        except Exception:       # noqa: BLE001
            pass
        for f in (self.p.stdin, self.p.stdout, self.err):
            try:
                f.close()
            except OSError:
                pass


class FuzzQmp(Qmp):
    """The test suite's QMP client with a deadline and event capture."""

    def __init__(self, path, name):
        end = time.monotonic() + HANG_S
        while True:                 # the socket file exists before listen()
            try:
                super().__init__(path)
                break
            except ConnectionRefusedError:
                if time.monotonic() > end:
                    raise Failure("hang", name + ": QMP refuses connections")
                time.sleep(0.01)
        self.s.settimeout(HANG_S)
        self.name = name
        self.events = []

    def call(self, name, **args):
        """Like cmd(), but a QMP error is returned as {"error": ...}."""
        try:
            self.f.write(json.dumps({"execute": name, "arguments": args}) +
                         "\n")
            self.f.flush()
            while True:
                line = self.f.readline()
                if not line:
                    raise Failure("crash", "%s: QMP closed during %s" %
                                  (self.name, name))
                msg = json.loads(line)
                if "event" in msg:
                    self.events.append(msg["event"])
                    continue
                return msg
        except socket.timeout:
            raise Failure("hang", "%s: no QMP answer in %.0f s to %s" %
                          (self.name, HANG_S, name))
        except (BrokenPipeError, ConnectionResetError):
            raise Failure("crash", "%s: QMP gone during %s" % (self.name,
                                                               name))


# ---- file descriptors of every kind, for hostile peers -------------------

FD_KINDS = ("memfd_sealed", "memfd_unsealed", "memfd_small", "memfd_huge",
            "eventfd", "devzero", "devnull", "pipe", "file", "socket",
            "dir")


def make_fd(kind, size, tmpdir):
    """A new fd of the given kind (size for memfds); the caller closes."""
    if kind == "memfd_sealed":
        return sealed_memfd("fuzz", size)
    if kind == "memfd_unsealed":
        return sealed_memfd("fuzz", size, seal=False)
    if kind == "memfd_small":
        return sealed_memfd("fuzz", max(size // 2, 4096) & ~4095)
    if kind == "memfd_huge":
        return sealed_memfd("fuzz", 1 << 40)
    if kind == "eventfd":
        return os.eventfd(0, os.EFD_NONBLOCK)
    if kind == "devzero":
        return os.open("/dev/zero", os.O_RDWR)
    if kind == "devnull":
        return os.open("/dev/null", os.O_RDWR)
    if kind == "pipe":
        r, w = os.pipe()
        os.close(w)
        return r
    if kind == "file":
        path = os.path.join(tmpdir, "plain-file")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        os.ftruncate(fd, size)
        return fd
    if kind == "socket":
        a, b = socket.socketpair()
        b.close()
        return a.detach()
    if kind == "dir":
        return os.open(tmpdir, os.O_RDONLY | os.O_DIRECTORY)
    raise ValueError(kind)


def close_fds(fds):
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


def set_cloexec(fd):
    flags = fcntl.fcntl(fd, fcntl.F_GETFD)
    fcntl.fcntl(fd, fcntl.F_SETFD, flags | fcntl.FD_CLOEXEC)
