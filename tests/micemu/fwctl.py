# SPDX-License-Identifier: GPL-2.0
"""micfw from a test's side: its control socket (line-based JSON,
card-firmware-sim/micfw-control.c) and a micfw process of the test's own
with its sockets, event log and run dir (Micfw)."""
import errno
import json
import os
import re
import signal
import socket
import subprocess

from micemu.build import find_micfw
from micemu.wait import wait_for

# one event log line: time, +ms since start, name, fields
EVENT_RE = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z \+(\d+)ms ([a-z0-9-]+)(?: (.*))?$")


class Control:
    """One connection to a micfw control socket.  TIMEOUT (s) bounds every
    answer; None waits as long as it takes."""

    def __init__(self, path, timeout=None):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(path)
        except OSError:
            self.sock.close()
            raise
        self.file = self.sock.makefile("rwb")

    def request(self, cmd, **args):
        """{"cmd": CMD, ARGS...}; the parsed reply."""
        return self.raw(json.dumps(dict(args, cmd=cmd)))

    __call__ = request

    def raw(self, line):
        """Send LINE (str or bytes) as it is; the parsed reply."""
        if isinstance(line, str):
            line = line.encode()
        self.file.write(line + b"\n")
        self.file.flush()
        return self.raw_reply()

    def raw_reply(self):
        line = self.file.readline()
        if not line:
            raise ConnectionError("firmware simulator closed the control "
                                  "socket")
        assert line.endswith(b"\n"), line
        return json.loads(line)

    def close(self):
        self.file.close()
        self.sock.close()


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


def errno_name(code):
    return errno.errorcode.get(code, str(code))


# every micfw a test started, so that none survives a failing test
STARTED = []


def kill_leftovers():
    for fw in STARTED:
        if fw.proc.poll() is None:
            fw.kill()


class Micfw:
    """A micfw process with its sockets, logs and run dir under TMPDIR;
    EXTRA are more command-line arguments."""

    def __init__(self, tmpdir, *extra, index=0, ready_delay=100,
                 mem_size="256M", env=None, micfw=None):
        self.tmp = tmpdir
        self.link_path = os.path.join(tmpdir, "link.sock")
        self.ctl_path = os.path.join(tmpdir, "ctl.sock")
        self.event_log = os.path.join(tmpdir, "events.log")
        self.run_dir = os.path.join(tmpdir, "run")
        argv = [micfw or find_micfw(), "--index", str(index),
                "--link", self.link_path, "--control", self.ctl_path,
                "--event-log", self.event_log, "--run-dir", self.run_dir,
                "--ready-delay", str(ready_delay),
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
            self.ctl = Control(self.ctl_path, timeout=5)
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
