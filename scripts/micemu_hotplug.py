#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Hot-remove and hot-add an emulated x100 card in a running micemu system.

    scripts/micemu_hotplug.py LOGDIR remove N [--surprise] [--timeout S]
    scripts/micemu_hotplug.py LOGDIR add N [--timeout S]

LOGDIR is the --logdir of a running scripts/run-vm.sh (--serve, --exec or
interactive); the system's QMP socket and what run-vm.sh recorded about
card N are in LOGDIR/run/.  Every card sits behind its own PCIe root port
(rpN) of the q35 host VM.

remove: QMP device_del of mic-x100 "micN", as pressing the slot's button:
the host kernel runs its driver's remove path and ejects the card (ACPI
PCI hot-plug), whatever state the card is in; then the card's firmware
simulator is stopped (its card VM goes with it) and the link chardev is
removed.  With --surprise the board goes first: micfw is killed (SIGKILL,
no goodbye), so the driver's remove path meets a card that no longer
answers, and only then is the device deleted.

add: a new micfw for card N, started with the command line run-vm.sh gave
the first one (same sockets, logs appended), a new link chardev, and
device_add of mic-x100 "micN" on rpN.  The host kernel finds it as on a
hot-plug into an empty slot; the host stack probes it (a new micM).

Exit code 0 when done, 1 on failure (with a message), 2 for usage errors.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time


class QmpError(RuntimeError):
    pass


class Qmp:
    """A minimal QMP client: commands in order, events kept."""

    def __init__(self, path, timeout=30):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.file = self.sock.makefile("rwb")
        self.events = []
        greeting = self._read()
        if "QMP" not in greeting:
            raise QmpError(f"not a QMP greeting: {greeting}")
        self.cmd("qmp_capabilities")

    def _read(self):
        line = self.file.readline()
        if not line:
            raise QmpError("QEMU closed the QMP connection")
        return json.loads(line)

    def cmd(self, name, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.file.write(json.dumps(msg).encode() + b"\n")
        self.file.flush()
        while True:
            reply = self._read()
            if "event" in reply:
                self.events.append(reply)
            elif "error" in reply:
                raise QmpError(f"{name}: {reply['error'].get('desc', reply)}")
            elif "return" in reply:
                return reply["return"]

    def wait_event(self, name, timeout, match=None):
        """Wait for event NAME whose data contains MATCH; return it."""
        deadline = time.monotonic() + timeout
        while True:
            for i, ev in enumerate(self.events):
                data = ev.get("data", {})
                if ev["event"] == name and all(data.get(k) == v for k, v in
                                               (match or {}).items()):
                    return self.events.pop(i)
            left = deadline - time.monotonic()
            if left <= 0:
                raise QmpError(f"no {name} {match or ''} within {timeout} s")
            self.sock.settimeout(left)
            try:
                self.events.append(self._read())
            except socket.timeout:
                pass

    def close(self):
        self.file.close()
        self.sock.close()


class Card:
    """What run-vm.sh recorded about card N in RUN: the micfw argv, the
    mic-x100 -device string, the pid file."""

    def __init__(self, run, index):
        self.run = run
        self.index = index
        self.name = f"mic{index}"
        self.pid_file = os.path.join(run, f"{self.name}-fw.pid")
        self.link = os.path.join(run, f"{self.name}-link.sock")
        with open(os.path.join(run, f"{self.name}-fw.argv"), "rb") as f:
            self.fw_argv = [a.decode() for a in f.read().split(b"\0") if a]
        with open(os.path.join(run, f"{self.name}-device")) as f:
            self.device = f.read().strip()

    def fw_pid(self):
        try:
            with open(self.pid_file) as f:
                return int(f.read())
        except (FileNotFoundError, ValueError):
            return None

    def present(self, qmp):
        return any(d.get("qdev_id") == self.name for bus in qmp.cmd("query-pci")
                   for d in all_devices(bus["devices"]))


def all_devices(devices):
    for d in devices:
        yield d
        bridge = d.get("pci_bridge")
        if bridge:
            yield from all_devices(bridge.get("devices", []))


def pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def stop_fw(card, sig):
    """Stop card N's micfw (its card VM dies with it) and wait for it."""
    pid = card.fw_pid()
    if pid is None:
        return
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + 10
    while pid_alive(pid) and time.monotonic() < deadline:
        try:
            os.waitpid(pid, os.WNOHANG)     # ours when we started it
        except ChildProcessError:
            pass
        time.sleep(0.1)
    if pid_alive(pid):
        os.killpg(pid, signal.SIGKILL)
    os.unlink(card.pid_file)


def remove(run, index, surprise=False, timeout=60):
    card = Card(run, index)
    qmp = Qmp(os.path.join(run, "qmp.sock"))
    try:
        if not card.present(qmp):
            raise QmpError(f"{card.name} is not plugged in")
        if surprise:
            stop_fw(card, signal.SIGKILL)
        qmp.cmd("device_del", id=card.name)
        qmp.wait_event("DEVICE_DELETED", timeout, {"device": card.name})
        stop_fw(card, signal.SIGTERM)
        qmp.cmd("chardev-remove", id=card.name)
    finally:
        qmp.close()


def add(run, index, timeout=60):
    card = Card(run, index)
    qmp = Qmp(os.path.join(run, "qmp.sock"))
    try:
        if card.present(qmp):
            raise QmpError(f"{card.name} is plugged in already")
        if card.fw_pid() is not None and pid_alive(card.fw_pid()):
            raise QmpError(f"{card.name}'s micfw (pid {card.fw_pid()}) still runs")
        if os.path.exists(card.link):
            os.unlink(card.link)
        fw = subprocess.Popen(card.fw_argv, stdin=subprocess.DEVNULL,
                              start_new_session=True)
        with open(card.pid_file + ".tmp", "w") as f:
            f.write(f"{fw.pid}\n")
        os.rename(card.pid_file + ".tmp", card.pid_file)
        deadline = time.monotonic() + timeout
        while not os.path.exists(card.link):
            if fw.poll() is not None:
                raise QmpError(f"micfw for {card.name} exited with {fw.returncode}")
            if time.monotonic() > deadline:
                raise QmpError(f"micfw for {card.name} did not start")
            time.sleep(0.1)
        qmp.cmd("chardev-add", id=card.name,
                backend={"type": "socket", "data": {
                    "addr": {"type": "unix", "data": {"path": card.link}},
                    "server": False}})
        # QMP wants typed values: numbers as numbers
        opts = {k: int(v) if v.isdigit() else v for k, v in
                (kv.split("=", 1) for kv in card.device.split(",")[1:])}
        qmp.cmd("device_add", driver=card.device.split(",")[0], **opts)
    finally:
        qmp.close()


def main(argv):
    args = list(argv)
    surprise = "--surprise" in args
    if surprise:
        args.remove("--surprise")
    timeout = 60
    if "--timeout" in args:
        i = args.index("--timeout")
        try:
            timeout = int(args[i + 1])
        except (IndexError, ValueError):
            return usage("--timeout needs seconds")
        del args[i:i + 2]
    if len(args) != 3 or args[1] not in ("remove", "add") or not args[2].isdigit():
        return usage("need LOGDIR remove|add N")
    run = os.path.join(args[0], "run")
    if not os.path.exists(os.path.join(run, "qmp.sock")):
        return usage(f"no running system in {args[0]} ({run}/qmp.sock missing)")
    if surprise and args[1] != "remove":
        return usage("--surprise goes with remove")
    try:
        if args[1] == "remove":
            remove(run, int(args[2]), surprise, timeout)
        else:
            add(run, int(args[2]), timeout)
    except (QmpError, OSError) as e:
        sys.stderr.write(f"micemu_hotplug: {e}\n")
        return 1
    return 0


def usage(msg):
    sys.stderr.write(f"micemu_hotplug: {msg}\n{__doc__.splitlines()[2]}\n"
                     f"{__doc__.splitlines()[3]}\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
