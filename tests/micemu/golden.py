# SPDX-License-Identifier: GPL-2.0
"""Register-level golden traces: normalise what a traced system recorded.

A system started with ``run-vm.sh --trace`` (``System(trace=True)``) leaves
in its log directory:

* ``host-qemu.log``: the host VM's ``mic_*`` trace events (register reads
  and writes of ``mic-x100`` with register names, doorbells, interrupts,
  DMA, link messages), besides QEMU's guest-error lines;
* ``micN-qemu-PID.log``: the same for each start of card N's VM (``mic-card``);
* ``micN-fw.log``: the firmware simulator's event log (POST codes, boot
  kick, reset, card VM start and end).

``normalise(logdir, cards)`` turns these into one text that is the same on
every run of the same scenario with the same drivers, and differs when a
driver changes the register-level conversation; with ``since``/``until``
(``snapshot()`` marks taken at quiet points) it does so for a part of a
run.  ``python3 tests/micemu/golden.py LOGDIR`` prints it.  The streams stay
separate (host, each card VM start, each firmware simulator): within a
stream the order is the driver's; between streams it is timing.

What is done, and why:

* kept: register writes (value and the events they caused), register
  reads (value), boot kick, reset, SMPT, DMA set-up and descriptors, link
  messages, POST codes and firmware state events;
* the card image and ramdisk sizes (SPAD5, the boot kick) are masked as
  ``<size>``: they change with every rebuild of the card image;
* values that are addresses, which move with memory allocation (device
  page address in SPAD14/15, DMA ring addresses, descriptor addresses,
  SMPT-translated host bus addresses), are masked as ``<addr>``;
  timestamps, pids, paths, connection and client numbers are dropped, and
  so are the counts of doorbells pending when micfw resets the card;
* interrupt and doorbell traffic (doorbell writes and the interrupts they
  raise, the interrupt handler's cause/mask register accesses) is
  collapsed: a run of such events becomes one line listing, sorted, the
  distinct events it held.  How many doorbells a SCIF exchange rings and
  how many of them one interrupt serves depends on timing; which ones are
  rung, and where in the register sequence, does not;
* reads that only poll (DMA head/tail and status, POST code, interrupt
  cause and status SICR0/SICS0) are dropped,
  and runs of identical lines (a polling loop) become one line;
* QEMU's guest-error lines, the card VM's console and output, the test
  harness's control-socket chatter (accept, status queries), the card VM's
  link closing (it races the VM's exit being reaped) and teardown (link
  down after the run is stopped) are not part of the trace.
"""

import glob
import os
import re
import sys

MASK = "<addr>"

# Registers whose values are bus addresses of host memory.
ADDR_REGS = re.compile(r"^(SPAD14|SPAD15|DMA\d+\.DRAR_(LO|HI))$")
# Registers whose values are the size of the card image, which changes with
# every rebuild of the card kernel or ramdisk.
SIZE_REGS = re.compile(r"^SPAD5$")
# Reads that only poll; their number and values depend on timing.
POLL_READS = re.compile(r"^(DMA\d+\.(DTPR|DHPR|DSTAT)|POSTCODE|SICR0|SICS0)$")
# Interrupt and doorbell registers: host SICR/SICS/SICE/SICC/SIAC, the
# card's doorbell to the host (SDBIC), host-to-card doorbells (APICICR0-6;
# APICICR7 is the boot interrupt and stays), MSI-X pending bits.
IRQ_REGS = re.compile(r"^(SIC[RSEC]\d|SIAC\d|SDBIC\d|APICICR_(LO|HI)[0-6]|MSIXPBACR)$")
IRQ_EVENTS = {
    "mic_x100_card_irq", "mic_x100_irq_msix", "mic_x100_irq_msi",
    "mic_x100_irq_intx", "mic_x100_link_to_host", "mic_x100_pba_clear",
    "mic_x100_card_irq_dropped",
    "mic_card_host_irq", "mic_card_irq", "mic_card_irq_held", "mic_card_msix",
    "mic_card_link_to_card", "mic_card_host_irq_dropped",
    "mic_link_doorbell", "mic_link_ring_dropped",
}
# Events whose every number is an address or a time, and the DMA engine's
# scheduling (bottom-half runs, workers in threads), which depends on
# timing and the host's CPUs, not on the guest.
DROP_EVENTS = {
    "mic_dma_paced", "mic_dma_yield", "mic_card_smpt_unbacked",
    "mic_dma_worker", "mic_dma_worker_run",
}

LINE = re.compile(r"^(mic_[a-z0-9_]+) (.*)$")
# the device's own windows; others (a peer's registers) keep their name
OWN_DEVS = re.compile(r"^(mic-x100|mic-card): ")
MMIO = re.compile(r"^(\S+) @0x([0-9a-f]+) (->|<-) 0x([0-9a-f]+)(?: events 0x([0-9a-f]+))?$")
DESC = re.compile(r"^(.*descriptor \d+): 0x([0-9a-f]+) 0x([0-9a-f]+)$")


def _desc(text):
    m = DESC.match(text)
    if not m:
        return text
    qw0, qw1 = int(m.group(2), 16), int(m.group(3), 16)
    dtype = qw1 >> 60
    if dtype == 1:
        return f"{m.group(1)}: MEMCPY {(qw0 >> 46) * 64} bytes {MASK} -> {MASK}"
    if dtype == 2:
        intr = " +interrupt" if qw1 & (1 << 59) else ""
        return f"{m.group(1)}: STATUS{intr} -> {MASK}"
    return f"{m.group(1)}: type {dtype}"


def qemu_event(name, text):
    """One QEMU trace event -> (kind, normalised text); kind is 'keep',
    'irq' (interrupt/doorbell traffic) or None (dropped)."""
    if name in DROP_EVENTS:
        return None, None
    text = OWN_DEVS.sub("", text)
    short = name[len("mic_"):]
    if name in ("mic_regwin_read", "mic_regwin_write"):
        dev, _, rest = text.rpartition(": ")
        m = MMIO.match(rest)
        if not m:
            return "keep", f"{short} {text}"
        reg, _, op, val, events = m.groups()
        if op == "->" and POLL_READS.match(reg):
            return None, None
        if ADDR_REGS.match(reg):
            val = MASK
        elif SIZE_REGS.match(reg):
            val = "<size>"
        else:
            val = "0x" + val
        out = f"{dev + ': ' if dev else ''}{reg} {op} {val}"
        if events and events != "0":
            out += f" events 0x{events}"
        return ("irq" if IRQ_REGS.match(reg) else "keep"), out
    if name in IRQ_EVENTS:
        return "irq", f"{short} {text}"
    if name == "mic_x100_boot_kick":
        return "keep", f"{short} " + re.sub(r"image size \d+", "image size <size>", text)
    if name == "mic_dma_desc":
        return "keep", f"{short} {_desc(text)}"
    if name == "mic_card_smpt_map":
        return "keep", f"{short} " + re.sub(r"host bus 0x[0-9a-f]+", f"host bus {MASK}", text)
    if name in ("mic_card_peer_map", "mic_x100_peer_send"):
        return "keep", f"{short} " + re.sub(r"0x[0-9a-f]{5,}", MASK, text)
    return "keep", f"{short} {text}"


def collapse(events):
    """[(kind, text)] -> lines: interrupt runs folded, repeats removed."""
    out, run = [], []

    def flush():
        if run:
            out.append("~ irq/doorbell: " + " | ".join(sorted(set(run))))
            run.clear()
    for kind, text in events:
        if kind == "irq":
            run.append(text)
            continue
        flush()
        out.append(text)
    flush()
    # runs of identical lines (polling, repeated interrupt runs) -> one
    return [ln for i, ln in enumerate(out) if i == 0 or ln != out[i - 1]]


def _lines(path, start=0, end=None):
    """The lines of PATH between byte offsets START and END (None: EOF)."""
    if not os.path.exists(path):
        return []
    with open(path, "rb") as f:
        f.seek(start)
        data = f.read() if end is None else f.read(max(0, end - start))
    return data.decode(errors="replace").splitlines()


def qemu_stream(path, start=0, end=None):
    events = []
    for line in _lines(path, start, end):
        m = LINE.match(line)
        if not m:
            continue            # guest-error and other QEMU output
        kind, text = qemu_event(m.group(1), m.group(2))
        if kind:
            events.append((kind, text))
    # teardown: the run was stopped, the link went down
    while events and events[-1][1].startswith("link_down "):
        events.pop()
    return collapse(events)


# --- firmware simulator event log -------------------------------------------
FW_STAMP = re.compile(r"^\S+Z \+\d+ms (.*)$")
# plumbing and harness chatter, not the card's behaviour
FW_DROP = re.compile(r"^(start|resources|link-listen|control-listen|control-accept|"
                     r"control-close|link-accept|link-hello|card-vm-cmdline|"
                     r"card-vm-stdout|card-vm-stderr|signal|exit|run-dir-kept) ")
FW_STATUS_CMD = re.compile(r"^control-cmd client=\d+ cmd=status$")
# the end of a run stopped from outside (run-vm.sh's teardown), at the end
FW_TEARDOWN = re.compile(r"^(link-close role=host |card-vm-killed .*reason=micfw stopping)")
# the card VM's link closing: when its exit is seen first is timing
FW_CARD_CLOSE = re.compile(r"^link-close conn=\d+ role=card ")


def fw_stream(path, start=0, end=None):
    lines = []
    for line in _lines(path, start, end):
        m = FW_STAMP.match(line)
        if not m:
            continue
        ev = m.group(1)
        if FW_DROP.match(ev) or FW_STATUS_CMD.match(ev) or FW_CARD_CLOSE.match(ev):
            continue
        ev = re.sub(r"\bpid=\d+", "pid=<pid>", ev)
        ev = re.sub(r"(image=|ramdisk=0x[0-9a-f]+\+)\d+B", r"\1<size>", ev)
        ev = re.sub(r"\b(client|conn)=\d+ ?", "", ev)
        # doorbells pending at a reset: whether the card VM took the last
        # one before it went away is timing
        ev = re.sub(r"^(drain) .*", r"\1 (pending doorbells dropped)", ev)
        lines.append(ev)
    # teardown: the run was stopped
    while lines and FW_TEARDOWN.match(lines[-1]):
        lines.pop()
    return lines


def card_vm_pids(fw_log):
    """Card VM pids in start order, from micfw's card-vm-start events."""
    return [int(m.group(1)) for m in
            (re.search(r" card-vm-start pid=(\d+) boots=\d+$", ln) for ln in _lines(fw_log))
            if m]


TRACE_FILES = re.compile(r"^(host-qemu|mic\d+-qemu-\d+|mic\d+-fw)\.log$")


def snapshot(logdir):
    """Sizes of the trace and event logs now: a mark between two parts of
    one run (normalise(..., since=, until=))."""
    return {n: os.path.getsize(os.path.join(logdir, n))
            for n in os.listdir(logdir) if TRACE_FILES.match(n)}


def normalise(logdir, cards=1, since=None, until=None):
    """The normalised trace of one traced run, as text; with SINCE/UNTIL
    (snapshots), of the part of the run between those marks."""
    since = since or {}

    def part(name):
        # a file not in UNTIL did not exist yet at that mark
        end = None if until is None else until.get(name, 0)
        return os.path.join(logdir, name), since.get(name, 0), end
    out = ["[host mic-x100 trace]"]
    out += qemu_stream(*part("host-qemu.log"))
    for i in range(cards):
        fw_log = f"mic{i}-fw.log"
        pids = card_vm_pids(os.path.join(logdir, fw_log))
        known = {f"mic{i}-qemu-{p}.log" for p in pids}
        for path in sorted(glob.glob(os.path.join(logdir, f"mic{i}-qemu-*.log"))):
            if os.path.basename(path) not in known:
                out += ["", f"[mic{i} trace file without a card-vm-start: {path}]"]
        for n, pid in enumerate(pids, 1):
            name = f"mic{i}-qemu-{pid}.log"
            lines = qemu_stream(*part(name))
            if lines:       # card VMs that did something in this part
                out += ["", f"[mic{i} card VM start {n}: mic-card trace]"] + lines
        out += ["", f"[mic{i} firmware simulator events]"]
        out += fw_stream(*part(fw_log))
    return "\n".join(out) + "\n"


def main(argv):
    """golden.py LOGDIR [CARDS]: print the normalised trace of a run of
    'run-vm.sh --trace --logdir LOGDIR'."""
    if len(argv) not in (2, 3):
        print(main.__doc__.strip(), file=sys.stderr)
        return 2
    sys.stdout.write(normalise(argv[1], int(argv[2]) if len(argv) == 3 else 1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
