#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""A stand-in for the card VM's QEMU, for tests that need no real VM
(started through the fake-qemu shell wrapper).

It checks what micfw hands a card VM and reports it: the argv, whether
/dev/fd/N is the card memory of the right size, the extracted images.
It writes a marker into card memory through that fd (proving the memory is
shared), a line to the console chardev file and one to stderr, then waits
to be killed.  "fake.poweroff" in -append makes it exit 3 after a moment,
like a card OS powering off.  With -qmp it serves a minimal QMP monitor
(greeting, qmp_capabilities, inject-nmi, anything else an error); an NMI
writes "fake-qemu: NMI" to the console and, with "fake.nmi_panic" in
-append, exits 0 like a panicking card kernel with panic=-1 and
-no-reboot.  With "fake.qmp_silent" the monitor accepts and never
answers.
"""
import json
import mmap
import os
import socket
import sys
import threading
import time

MARKER_OFF = 0x1000
MARKER = b"FAKE-CARD-VM"


def opts(argv, name):
    return [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == name]


def opt(argv, name):
    vals = opts(argv, name)
    return vals[-1] if vals else None


def qemu_opts(text):
    """Split a QEMU option string; ",," is a literal comma."""
    parts, cur, i = [], "", 0
    while i < len(text):
        if text[i] == ",":
            if text[i + 1:i + 2] == ",":
                cur += ","
                i += 2
                continue
            parts.append(cur)
            cur = ""
        else:
            cur += text[i]
        i += 1
    parts.append(cur)
    return dict(p.split("=", 1) if "=" in p else (p, None) for p in parts)


def inherited():
    """What micfw let through exec: the open fds, and the signal state the
    fake-qemu shell wrapper recorded before Python changed it."""
    fds = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            fds[name] = os.readlink("/proc/self/fd/" + name)
        except OSError:
            pass                        # the directory listing's own fd
    sig = {}
    path = os.environ.get("FAKE_QEMU_REPORT", "") + ".sig"
    if os.path.exists(path):
        with open(path) as f:
            sig = dict(line.strip().split(":\t", 1) for line in f)
        os.unlink(path)
    return fds, int(sig.get("SigIgn", "-1"), 16), int(sig.get("SigBlk", "-1"), 16)


def serve_qmp(spec, console, append):
    """A QMP monitor on "unix:PATH,server=on,wait=off" (PATH relative to
    the working directory, as micfw passes it)."""
    path = qemu_opts(spec[len("unix:"):])
    path = next(iter(path))
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if os.path.exists(path):
        os.unlink(path)
    srv.bind(path)
    srv.listen(4)

    def client(conn):
        f = conn.makefile("rwb")
        if "fake.qmp_silent" in append:
            f.read()
            return
        f.write(b'{"QMP": {"version": {}, "capabilities": []}}\r\n')
        f.flush()
        for line in f:
            cmd = json.loads(line).get("execute")
            if cmd == "qmp_capabilities":
                f.write(b'{"return": {}}\r\n')
            elif cmd == "inject-nmi":
                with open(console, "a") as c:
                    c.write("fake-qemu: NMI\n")
                f.write(b'{"return": {}}\r\n')
                f.flush()
                if "fake.nmi_panic" in append:
                    time.sleep(0.1)
                    os._exit(0)
            else:
                f.write(b'{"error": {"class": "CommandNotFound", '
                        b'"desc": "fake-qemu knows no such command"}}\r\n')
            f.flush()

    def loop():
        while True:
            conn, _ = srv.accept()
            threading.Thread(target=client, args=(conn,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()


def main():
    argv = sys.argv
    fds, ign, blk = inherited()
    report = {"argv": argv, "pid": os.getpid(), "pgid": os.getpgid(0),
              "fds": fds, "sig_ignored": ign, "sig_blocked": blk}
    backend = qemu_opts(opt(argv, "-object"))
    size = int(backend["size"])
    fd = os.open(backend["mem-path"], os.O_RDWR)
    report["mem_size"] = os.fstat(fd).st_size
    mem = mmap.mmap(fd, size, mmap.MAP_SHARED)
    mem[MARKER_OFF:MARKER_OFF + len(MARKER)] = MARKER
    with open(opt(argv, "-kernel"), "rb") as f:
        report["kernel"] = f.read().hex()
    initrd = opt(argv, "-initrd")
    if initrd:
        with open(initrd, "rb") as f:
            report["initrd"] = f.read().hex()
    report["append"] = opt(argv, "-append")
    con = [c for c in map(qemu_opts, opts(argv, "-chardev"))
           if c.get("id") == "con"][0]
    report["console"] = con["path"]
    with open(con["path"], "a") as f:
        f.write("fake-qemu: booting %s\n" % report["append"])
    qmp = opt(argv, "-qmp")
    report["qmp"] = qmp
    if qmp:
        serve_qmp(qmp, con["path"], report["append"] or "")
    out = os.environ.get("FAKE_QEMU_REPORT")
    if out:
        with open(out + ".tmp", "w") as f:
            json.dump(report, f)
        os.rename(out + ".tmp", out)
    sys.stderr.write("fake-qemu: card memory %d bytes\n" % size)
    sys.stderr.flush()
    if "fake.poweroff" in (report["append"] or ""):
        time.sleep(0.3)
        sys.exit(3)
    while True:
        time.sleep(60)


if __name__ == "__main__":
    main()
