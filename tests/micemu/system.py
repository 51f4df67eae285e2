# SPDX-License-Identifier: GPL-2.0
"""A whole micemu system (host VM + N cards) started by scripts/run-vm.sh.

The system runs in --serve mode; the harness talks to the host VM through
the agent socket and to each card's firmware simulator through its control
socket, and reads the consoles and event logs from the log directory.
"""

import os
import re
import signal
import subprocess
import sys
import time

from micemu.agent import Agent
from micemu.build import TOP
from micemu.fwctl import Control as FirmwareControl

# scripts/micemu_hotplug.py is a command for users and the harness's hot-plug
sys.path.insert(0, os.path.join(TOP, "scripts"))
import micemu_hotplug  # noqa: E402

# Upstream's MIC sources (for the "upstream" host personality): the tree the
# build uses, UPSTREAM_MIC_SRC or ../shared beside the checkout.
UPSTREAM_MIC_SRC = os.environ.get("UPSTREAM_MIC_SRC") or os.path.join(
    os.path.dirname(TOP), "shared", "upstream", "linux-5.9.2-mic")
HOST_STACKS = ("micemu", "upstream")


def upstream_missing():
    """Why the upstream host stack cannot run here, or None if it can."""
    if os.path.isfile(os.path.join(UPSTREAM_MIC_SRC, "drivers", "misc", "mic",
                                   "host", "mic_main.c")):
        return None
    return (f"no upstream MIC tree at {UPSTREAM_MIC_SRC}: set UPSTREAM_MIC_SRC="
            "/path/to/linux-5.9 (its drivers/misc/mic) and run 'make images' "
            "to run the upstream host stack scenarios")


# Lines that mean a kernel went wrong, in either console.
KERNEL_TROUBLE = re.compile(r"BUG:|WARNING:|Oops|Kernel panic|general protection fault|"
                            r"UBSAN:|suspected memory leak|INFO: trying to register non-static key")
# A kernel's first line: where a console's expected trouble stops.
KERNEL_START = re.compile(rb"Linux version ")
# The card kernel's command line the host's init (and mpssd) configure.
CARD_CMDLINE = "console=ttyS0 panic=-1"
# What the host's init (and mpssd) does for every card it finds.
CONFIGURE_CARDS = ("for c in /sys/class/mic/mic*; do [ -d $c ] || continue; "
                   "echo linux >$c/bootmode; echo mic/uos.img >$c/firmware; "
                   "echo mic/initramfs.img >$c/ramdisk; "
                   f"echo '{CARD_CMDLINE}' >$c/cmdline; done")
# Upstream's COSM timers (30 s heartbeat, 40 s host timeout) compressed so
# that crash detection takes seconds: the card sends every 2 s, the host
# gives up after 2 + 3 s.  Resetting a crashed card waits
# scif.alive_timeout_ms for the EXIT_ACK a dead card never sends (upstream:
# 30 s); 5 s here (FAST_HEARTBEAT_HOST leaves that alone).  The card's
# half goes on its command line (System.set_card_cmdline) and is needed:
# with the host's alone, a card that sends every 30 s is taken for
# crashed 5 s after it comes online.
FAST_HEARTBEAT_HOST = "mic_cosm.heartbeat_send_sec=2 mic_cosm.heartbeat_slack_sec=3"
FAST_COSM_HOST = FAST_HEARTBEAT_HOST + " scif.alive_timeout_ms=5000"
FAST_COSM_CARD = "mic_cosm_client.heartbeat_send_sec=2"
# What a card kernel prints when micfw's card-panic knob hits it.
CARD_NMI_PANIC = r"Kernel panic - not syncing: NMI: Not continuing"
# On the debug flavour the dying kernel's lockdep then reports the console
# semaphore taken from the NMI ("{INITIAL USE} -> {IN-NMI}") as it prints.
CARD_NMI_PANIC_LOCKDEP = r"WARNING: inconsistent lock state"


class System:
    def __init__(self, logdir, cards=1, append="", ready_delay=500,
                 mem_size="1G", accel=None, boot_timeout=120, host_stack="micemu",
                 mpssd=False, mpssd_disk="64M", trace=False, dma_rate=0,
                 trace_events=None):
        assert host_stack in HOST_STACKS, host_stack
        self.logdir = logdir
        self.cards = cards
        self.host_stack = host_stack
        os.makedirs(logdir, exist_ok=True)
        accel = accel or os.environ.get("MICEMU_ACCEL", "tcg")
        cmd = [os.path.join(TOP, "scripts", "run-vm.sh"), "--serve",
               "--cards", str(cards), "--logdir", logdir, "--accel", accel,
               "--append", append, "--ready-delay", str(ready_delay),
               "--mem-size", mem_size, "--host-stack", host_stack]
        if mpssd:
            # VOP: upstream's mpssd in the host VM (run-vm.sh --mpssd)
            cmd += ["--mpssd", "--mpssd-disk", mpssd_disk]
        if dma_rate:
            # the DMA engines' bandwidth model, MB/s per channel
            cmd += ["--dma-rate", str(dma_rate)]
        if trace_events:
            # chosen events with time stamps (tests/micemu/latency.py)
            cmd += ["--trace-events", ",".join(trace_events)]
        elif trace:
            # mic_* trace events into the logs (tests/micemu/golden.py)
            cmd.append("--trace")
        self._fw = {}
        self.agent = None
        self.out = open(os.path.join(logdir, "run-vm.out"), "wb")
        self.proc = subprocess.Popen(cmd, stdout=self.out, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.started = time.monotonic()
        try:
            link = os.path.join(logdir, "run")
            self._wait_for(lambda: os.path.exists(os.path.join(link, "ready")),
                           60, "run-vm.sh did not start the system")
            # run/ links to a short directory: socket paths must stay short.
            self.run_dir = os.path.realpath(link)
            self.agent = Agent(os.path.join(self.run_dir, "agent.sock"))
            # The first command completes once the guest's init has started
            # the agent: that is the host VM's boot time.
            self.run_ok("true", timeout=boot_timeout)
        except BaseException:
            # A system that did not come up must not stay running.
            self.shutdown()
            raise
        self.boot_seconds = time.monotonic() - self.started
        # card -> time.monotonic() of the boot that brought it online; a
        # scenario that leaves a card online but disturbed drops it here
        self.online_since = {}
        self._expected_trouble = {}     # console log name -> [regex]

    def _wait_for(self, cond, timeout, what):
        deadline = time.monotonic() + timeout
        while not cond():
            if self.proc.poll() is not None:
                raise RuntimeError(f"{what}: run-vm.sh exited with {self.proc.returncode}"
                                   f" (see {self.logdir})")
            if time.monotonic() > deadline:
                raise TimeoutError(what)
            time.sleep(0.1)

    # --- host VM -------------------------------------------------------------
    def run(self, command, timeout=120):
        """Run a shell command in the host VM; return (rc, output)."""
        return self.agent.run(command, timeout=timeout)

    def run_ok(self, command, timeout=120):
        rc, out = self.run(command, timeout)
        assert rc == 0, f"'{command}' failed with {rc}:\n{out}"
        return out

    def kmemleak_report(self, scan_timeout=600, read_timeout=120):
        """The host's kmemleak report ('' when clean) after two scans
        (objects freed late in the first are not reported); None when the
        host kernel has no kmemleak (only the debug flavour has)."""
        leak = "/sys/kernel/debug/kmemleak"
        if self.run(f"test -e {leak}")[0] != 0:
            return None
        self.run_ok(f"echo scan > {leak}; sleep 1; echo scan > {leak}",
                    timeout=scan_timeout)
        return self.run_ok(f"cat {leak}", timeout=read_timeout).strip()

    def sysfs(self, card, attr):
        return self.run_ok(f"cat /sys/class/mic/mic{card}/{attr}").strip()

    def state(self, card=0):
        return self.sysfs(card, "state")

    def wait_state(self, card, state, timeout=120):
        rc, out = self.run(f"micctrl wait mic{card} {state} --timeout {timeout}",
                           timeout=timeout + 30)
        assert rc == 0, f"mic{card} did not reach {state}: {out}"

    # --- cards -----------------------------------------------------------------
    def card_run(self, card, command, timeout=120):
        """Run a shell command in card CARD's VM (through its test agent)."""
        agent = Agent(os.path.join(self.run_dir, f"mic{card}-agent.sock"),
                      connect_timeout=30)
        try:
            return agent.run(command, timeout=timeout)
        finally:
            agent.close()

    def card_run_ok(self, card, command, timeout=120):
        rc, out = self.card_run(card, command, timeout)
        assert rc == 0, f"mic{card}: '{command}' failed with {rc}:\n{out}"
        return out

    def boot_online(self, card=0, timeout=180):
        """Boot a card and wait until it is online; return the seconds taken."""
        t0 = time.monotonic()
        self.run_ok(f"micctrl boot mic{card}")
        self.wait_state(card, "online", timeout)
        self.online_since[card] = time.monotonic()
        return self.online_since[card] - t0

    def ensure_ready(self, card=0, timeout=120):
        """Bring a card to ready (reset it unless it is ready already)."""
        st = self.state(card)
        if st != "ready":
            self.online_since.pop(card, None)
            if st != "resetting":
                self.run_ok(f"echo reset > /sys/class/mic/mic{card}/state")
            self.wait_state(card, "ready", timeout)

    def ensure_online(self, card=0, timeout=180):
        """Bring a card online through a fresh boot unless a boot of ours
        already did and nothing disturbed it since; return the boot's
        seconds, or None if it was online already."""
        if card in self.online_since and self.state(card) == "online":
            return None
        self.ensure_ready(card)
        return self.boot_online(card, timeout)

    def fw(self, card=0):
        if card not in self._fw:
            self._fw[card] = FirmwareControl(
                os.path.join(self.run_dir, f"mic{card}-ctl.sock"))
        return self._fw[card]

    def _drop_fw(self, card):
        fw = self._fw.pop(card, None)
        if fw:
            fw.close()

    # --- fault knobs (micfw's control socket) ---------------------------------
    def card_panic(self, card=0):
        """NMI into card CARD's CPU: its kernel panics (the panic lines in
        its console are expected, up to the card's next boot)."""
        log = f"mic{card}-console.log"
        since = self.log_size(log)
        reply = self.fw(card).request("card-panic")
        assert reply["ok"], reply
        self.expect_trouble(log, CARD_NMI_PANIC, since)
        self.expect_trouble(log, CARD_NMI_PANIC_LOCKDEP, since)

    def spad_corrupt(self, card, spad, value, at="now"):
        """Overwrite SPAD SPAD of card CARD, now or at its next boot kick."""
        reply = self.fw(card).request("spad-corrupt", spad=spad, value=value, at=at)
        assert reply["ok"], reply
        return reply

    def link_down(self, card=0, down=True):
        """Card CARD falls off the host's bus (or comes back)."""
        reply = self.fw(card).request("link-down", value=down)
        assert reply["ok"], reply

    def doorbell_fault(self, card, to, drop=0, dup=0):
        """Swallow the next DROP doorbells towards TO ("card" or "host"),
        ring the DUP after them twice."""
        reply = self.fw(card).request("doorbell-fault", to=to, drop=drop, dup=dup)
        assert reply["ok"], reply

    def dma_error(self, card, channel):
        """The next descriptor of DMA channel CHANNEL fails (bus error)."""
        reply = self.fw(card).request("dma-error", channel=channel)
        assert reply["ok"], reply

    def expect_trouble(self, log, pattern, since=None):
        """Lines matching PATTERN in console LOG are the scenario's doing
        from byte offset SINCE of the log (default: its end now) until the
        next kernel starts on that console: the running kernel's words,
        not the next boot's."""
        now = self.log_size(log)
        self._expected_trouble.setdefault(log, []).append(
            (re.compile(pattern), now if since is None else since, now))

    # --- hot-plug (scripts/micemu_hotplug.py) -----------------------------------
    def hot_remove(self, card, surprise=False, timeout=60):
        """QMP device_del of micCARD, then its micfw stops (with surprise,
        micfw is killed first)."""
        self._drop_fw(card)
        micemu_hotplug.remove(self.run_dir, card, surprise, timeout)

    def hot_add(self, card, timeout=60):
        """A new micfw for card CARD and device_add of its mic-x100."""
        self._drop_fw(card)
        micemu_hotplug.add(self.run_dir, card, timeout)

    def configure_cards(self):
        """What the host's init (and mpssd) does for every card it finds."""
        self.run_ok(CONFIGURE_CARDS)

    def set_card_cmdline(self, card, extra):
        """Card CARD's kernel command line: the usual one and EXTRA."""
        self.run_ok(f"micctrl config mic{card} --cmdline '{CARD_CMDLINE} {extra}'")

    def log_path(self, name):
        return os.path.join(self.logdir, name)

    def log_size(self, name):
        try:
            return os.path.getsize(self.log_path(name))
        except FileNotFoundError:
            return 0

    def read_log_bytes(self, name):
        try:
            with open(self.log_path(name), "rb") as f:
                return f.read()
        except FileNotFoundError:
            return b""

    def read_log(self, name):
        return self.read_log_bytes(name).decode(errors="replace")

    def card_console(self, card=0):
        return self.read_log(f"mic{card}-console.log")

    def fw_log(self, card=0):
        return self.read_log(f"mic{card}-fw.log")

    def host_console(self):
        return self.read_log("host-console.log")

    def wait_log(self, name, pattern, timeout=120, start=0):
        """Wait until regex PATTERN appears in log NAME after offset START."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.read_log(name), start)
            if m:
                return m
            if time.monotonic() > deadline:
                raise TimeoutError(f"'{pattern}' not in {name} after {timeout}s")
            if self.proc.poll() is not None:
                raise RuntimeError(f"system exited while waiting for '{pattern}'")
            time.sleep(0.2)

    def kernel_trouble(self):
        """Lines of BUG/WARNING/Oops in the host and card consoles."""
        found = []
        names = ["host-console.log"] + [f"mic{i}-console.log" for i in range(self.cards)]
        for name in names:
            data = self.read_log_bytes(name)
            starts = [m.start() for m in KERNEL_START.finditer(data)]
            # (pattern, first offset, offset where the next kernel starts)
            scopes = [(rx, since, next((s for s in starts if s >= now), len(data)))
                      for rx, since, now in self._expected_trouble.get(name, [])]
            pos = 0
            for raw in data.splitlines(keepends=True):
                line = raw.decode(errors="replace").rstrip("\r\n")
                if KERNEL_TROUBLE.search(line) and not any(
                        since <= pos < end and rx.search(line)
                        for rx, since, end in scopes):
                    found.append(f"{name}: {line}")
                pos += len(raw)
        return found

    def shutdown(self):
        for fw in self._fw.values():
            fw.close()
        self._fw = {}
        try:
            if self.agent:
                self.agent.close()
        except OSError:
            pass
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.out.close()
