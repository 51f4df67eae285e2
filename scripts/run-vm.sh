#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run-vm.sh: start a whole micemu system: one firmware simulator (micfw) per
# emulated card and the host VM with an mic-x100 device per card.
#
# QEMU's guest-error log goes to host-qemu.log / micN-qemu.log.
#
# Each card's micfw builds its card VM's command line (the mic-card device
# and its link, the card's clock); this script only asks for the test agent
# on a virtio-serial port (run/micN-agent.sock) and the logs.  QEMU finds
# its firmware in its build tree, where the Makefile links it (QEMU_FIRMWARE).
#
# Each card is a mic-x100 "micN" behind its own PCIe root port "rpN" of the
# q35 host VM, so it can be hot-removed and hot-added while the system runs
# (scripts/micemu_hotplug.py, which restarts micN's micfw from the command
# line recorded in run/micN-fw.argv and adds the device recorded in
# run/micN-device).
#
# Without --exec you get the host VM's console on this terminal (Ctrl-A x
# quits).  With --exec CMD, CMD runs in the host VM's shell through the
# agent, its output is printed, everything is shut down and the script exits
# with CMD's exit code.  With --serve the system runs until the script gets
# SIGTERM/SIGINT; the test harness drives it through the sockets in the run
# directory.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
build=${MICEMU_BUILD:-$HOME/.cache/micemu}

usage() {
	cat <<EOF
usage: run-vm.sh [--cards N] [--accel auto|tcg|kvm] [--logdir DIR]
                 [--exec 'CMD' | --serve] [--timeout S] [--mem-size SIZE]
                 [--host-mem SIZE] [--append 'ARGS'] [--ready-delay MS]
                 [--flavour default|debug] [--kernel-version 6.1|6.12]
                 [--dma-rate MBPS] [--host-stack micemu|upstream] [--mpssd]
                 [--mpssd-disk SIZE] [--trace] [--trace-events LIST]

  --cards N        emulated x100 cards, 0-8 (default 1)
  --accel A        auto (probe KVM once by booting, else TCG), tcg or kvm
  --logdir DIR     host-console.log, micN-console.log, micN-fw.log go here
                   (default: a new directory under ./logs/)
  --exec CMD       run CMD in the host VM, print its output, exit with its code
  --serve          run until SIGTERM; sockets in DIR/run/ (for the tests)
  --timeout S      hard limit for the whole run with --exec (default 600)
  --mem-size SIZE  card memory per card (default 1G); which sizes micfw
                   runs: micfw --help (real cards: 6G, 8G, 16G)
  --host-mem SIZE  host VM RAM (default 1G)
  --append ARGS    extra host kernel arguments (e.g. mic_cosm.reset_poll_ms=100)
  --ready-delay MS firmware simulator's reset-to-ready delay (default 500)
  --dma-rate MBPS  pace every DMA channel, host and card side, to MBPS MB/s
                   (a real x100 moves about 6500-7000 MB/s per direction);
                   default 0: as fast as the host copies
  --flavour F      guest kernel: default, or debug (KASAN, lockdep, kmemleak;
                   built by 'make FLAVOUR=debug'); default \$MICEMU_FLAVOUR
  --kernel-version V  guest kernel version for the host VM (micemu stack)
                   and the cards: 6.1 or 6.12 (built by 'make KERNEL=6.12');
                   default \$MICEMU_KERNEL_VERSION, else 6.1
  --host-stack S   the host VM's personality: micemu (our kernel and host
                   modules, default) or upstream (Debian bullseye's 5.10
                   kernel with upstream's MIC host stack, built by 'make
                   images' when the upstream tree is there); the cards are
                   the same either way
  --mpssd          run upstream's mpssd in the host VM: each booted card gets
                   a virtio console (mic-console micN), network (ping micN;
                   the card is 172.31.N+1.1) and a block device backed by
                   /var/lib/micemu/micN.img in the host VM (VOP)
  --mpssd-disk S   size of each card's block device with --mpssd (default
                   64M; sparse, in the host VM's RAM)
  --trace          enable QEMU's mic_* trace events (register accesses,
                   doorbells, interrupts, DMA, link): the host VM's go into
                   host-qemu.log, each card VM's into micN-qemu-PID.log (one
                   file per card VM start, PID as in micN-fw.log's
                   card-vm-start); tests/micemu/golden.py normalises them
  --trace-events L only the trace events of the comma-separated list L
                   (QEMU patterns, e.g. mic_link_doorbell,mic_card_msix),
                   each line with its thread id and time of day
                   (-msg timestamp=on): the same files as --trace, for
                   latency measurements (tests/micemu/latency.py)
EOF
}

die() { echo "run-vm.sh: $*" >&2; exit 2; }

cards=1 accel=auto logdir= exec_cmd= serve=0 timeout=600
mem_size=1G host_mem=1G append= ready_delay=500 dma_rate=0 have_exec=0
flavour=${MICEMU_FLAVOUR:-default} host_stack=micemu mpssd=0 mpssd_disk=64M trace=0 trace_events=
kver=${MICEMU_KERNEL_VERSION:-6.1}
while [ $# -gt 0 ]; do
	case "$1" in
	--cards) cards=${2:?--cards needs a value}; shift 2 ;;
	--accel) accel=${2:?--accel needs a value}; shift 2 ;;
	--logdir) logdir=${2:?--logdir needs a value}; shift 2 ;;
	--exec) exec_cmd=${2?--exec needs a value}; have_exec=1; shift 2 ;;
	--serve) serve=1; shift ;;
	--timeout) timeout=${2:?--timeout needs a value}; shift 2 ;;
	--mem-size) mem_size=${2:?--mem-size needs a value}; shift 2 ;;
	--host-mem) host_mem=${2:?--host-mem needs a value}; shift 2 ;;
	--append) append=${2?--append needs a value}; shift 2 ;;
	--ready-delay) ready_delay=${2:?--ready-delay needs a value}; shift 2 ;;
	--flavour) flavour=${2:?--flavour needs a value}; shift 2 ;;
	--kernel-version) kver=${2:?--kernel-version needs a value}; shift 2 ;;
	--dma-rate) dma_rate=${2:?--dma-rate needs a value}; shift 2 ;;
	--host-stack) host_stack=${2:?--host-stack needs a value}; shift 2 ;;
	--mpssd) mpssd=1; shift ;;
	--mpssd-disk) mpssd_disk=${2:?--mpssd-disk needs a value}; shift 2 ;;
	--trace) trace=1; shift ;;
	--trace-events)
		trace_events=${2:?--trace-events needs a list}; trace=1; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; die "unknown option '$1'" ;;
	esac
done
[[ "$cards" =~ ^[0-8]$ ]] || die "--cards must be 0..8, not '$cards'"
[[ "$timeout" =~ ^[1-9][0-9]*$ ]] || die "--timeout must be a positive number of seconds"
[[ "$ready_delay" =~ ^[0-9]+$ ]] || die "--ready-delay must be milliseconds"
[[ "$dma_rate" =~ ^(0|[1-9][0-9]{0,6})$ ]] ||
	die "--dma-rate must be MB/s, 0 (unpaced) to 9999999, not '$dma_rate'"
case "$accel" in auto|tcg|kvm) ;; *) die "--accel must be auto, tcg or kvm" ;; esac
[[ "$mpssd_disk" =~ ^[1-9][0-9]{0,5}[KMG]?$ ]] ||
	die "--mpssd-disk must be a size like 64M, not '$mpssd_disk'"
if [ "$mpssd" = 1 ]; then
	append="micemu.mpssd=1 micemu.mpssd_disk=$mpssd_disk $append"
fi
[ $have_exec = 1 ] && [ $serve = 1 ] && die "--exec and --serve exclude each other"
# 6.1 keeps the directories it always had; 6.12 has its own (see Makefile).
case "$kver" in
6.1) ktag= ;;
6.12) ktag=-$kver ;;
*) die "--kernel-version must be 6.1 or 6.12, not '$kver'" ;;
esac
case "$flavour" in
default) images=$build/images$ktag ;;
debug) images=$build/images$ktag-debug ;;
*) die "--flavour must be default or debug, not '$flavour'" ;;
esac

qemu=$build/qemu-build/qemu-system-x86_64
case "$host_stack" in
micemu)
	kernel=$build/kernel$ktag-$flavour/arch/x86/boot/bzImage
	initrd=$images/host-initramfs.img ;;
upstream)
	release=$(cat "$build/upstream-host/kernel-release" 2>/dev/null) ||
		die "no upstream host kernel: run 'make images' with the upstream tree (UPSTREAM_MIC_SRC)"
	# the ELF make unpacked from the bzImage (PVH boot, no xz under TCG)
	kernel=$build/upstream-host/vmlinux-$release
	[ -f "$kernel" ] || kernel=$build/upstream-host/root/boot/vmlinuz-$release
	initrd=$images/host-initramfs-upstream.img ;;
*) die "--host-stack must be micemu or upstream, not '$host_stack'" ;;
esac
micfw=$build/card-firmware-sim/micfw
for f in "$qemu" "$kernel" "$initrd" "$micfw"; do
	[ -x "$f" ] || [ -f "$f" ] ||
		die "$f is missing: run 'make FLAVOUR=$flavour KERNEL=$kver images' first"
done
# The Makefile links Debian's firmware into QEMU's build tree (QEMU_FIRMWARE).
[ -e "$(dirname "$qemu")/qemu-bundle/usr/local/share/qemu/bios-256k.bin" ] ||
	die "QEMU finds no firmware in its build tree: run 'make images' (or 'make qemu')"
# The card memory limits live in micfw: ask it before starting anything.
"$micfw" --check --mem-size "$mem_size" 2>&1 | sed -e 's/^micfw: /run-vm.sh: /' -e 's/ (see --help)$//' >&2
[ "${PIPESTATUS[0]}" = 0 ] || exit 2

if [ -z "$logdir" ]; then
	logdir=$PWD/logs/run-$(date +%Y%m%d-%H%M%S)-$$
fi
mkdir -p "$logdir"
logdir=$(cd "$logdir" && pwd)
# Sockets live in a short private directory, linked from the log directory:
# an AF_UNIX path is limited to 107 bytes and log directories (per-test ones
# in CI checkouts) can be longer than that.
run=$(mktemp -d "${TMPDIR:-/tmp}/micemu-run.XXXXXX") || die "cannot create a runtime directory"
rm -rf "$logdir/run"
ln -s "$run" "$logdir/run"

log() { echo "run-vm.sh: $*" >&2; echo "$(date -u +%FT%T.%6NZ) $*" >>"$logdir/run-vm.log"; }

# --- acceleration ---------------------------------------------------------
# KVM is tried by booting, never judged by /dev/kvm existing (nested KVM
# here can exist and still fail to run a guest).  The answer is cached per
# kernel and QEMU binary.
probe_kvm() {
	local key cache out
	key=$(cat "$kernel" "$qemu" | md5sum | cut -c1-12)
	cache=$build/accel-probe-$key
	if [ ! -f "$cache" ]; then
		out=$(mktemp)
		timeout -k 2 25 "$qemu" -accel kvm -cpu max -M q35 -m 256M \
			-nodefaults -display none -no-reboot -kernel "$kernel" \
			-initrd "$initrd" -append "console=ttyS0 panic=-1 micemu.probe" \
			-serial "file:$out" >/dev/null 2>&1 || true
		if grep -q 'micemu-host: init started' "$out"; then
			echo kvm >"$cache"
		else
			echo tcg >"$cache"
		fi
		rm -f "$out"
	fi
	cat "$cache"
}
if [ "$accel" = auto ]; then
	if [ -w /dev/kvm ]; then accel=$(probe_kvm); else accel=tcg; fi
fi
log "acceleration: $accel, kernel $kver, flavour: $flavour, host stack: $host_stack"
if [ "$accel" = kvm ]; then cpu=(-accel kvm -cpu max); else cpu=(-accel tcg); fi

# --- process bookkeeping --------------------------------------------------
# Every child runs in its own process group and is killed, group and all, on
# every way out, including Ctrl-C during start-up.
pids=()
cleanup() {
	local p f
	trap - EXIT INT TERM
	# micfws started again by a hot-add are not our children
	for f in "$run"/mic*-fw.pid; do
		[ -f "$f" ] || continue
		p=$(cat "$f" 2>/dev/null) || continue
		[[ "$p" =~ ^[0-9]+$ ]] || continue
		[[ " ${pids[*]} " = *" $p "* ]] || pids+=("$p")
	done
	for p in "${pids[@]}"; do kill -TERM -- "-$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 -- "-$p" 2>/dev/null || break
			sleep 0.2
		done
		kill -KILL -- "-$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start_group() { setsid "$@" & pids+=("$!"); }

# --- trace events (--trace) -------------------------------------------------
# QEMU's trace backend here is "log": events go to the -D file.  A card VM
# is a new QEMU at every boot and QEMU truncates its -D file, so traced
# card VMs log to one file per process (QEMU expands %d to its pid).
host_trace=() card_trace=()
if [ -n "$trace_events" ]; then
	case $trace_events in
	*[!A-Za-z0-9_*,]*) die "--trace-events: '$trace_events' is not a list of event names" ;;
	esac
	IFS=, read -ra evs <<<"$trace_events"
	host_trace=(-msg timestamp=on)
	card_trace=(--qemu-arg=-msg --qemu-arg=timestamp=on)
	for ev in "${evs[@]}"; do
		[ -n "$ev" ] || continue
		host_trace+=(-trace "enable=$ev")
		card_trace+=(--qemu-arg=-trace --qemu-arg="enable=$ev")
	done
elif [ $trace = 1 ]; then
	host_trace=(-trace 'enable=mic_*')
	card_trace=(--qemu-arg=-trace --qemu-arg='enable=mic_*')
fi

# --- firmware simulators, one per card ------------------------------------
card_args=()
for ((i = 0; i < cards; i++)); do
	card_qlog=$logdir/mic$i-qemu.log
	[ $trace = 1 ] && card_qlog=$logdir/mic$i-qemu-%d.log
	fw=("$micfw" --index "$i"
		--link "$run/mic$i-link.sock" --control "$run/mic$i-ctl.sock"
		--mem-size "$mem_size" --qemu "$qemu" --accel "$accel"
		--dma-rate "$dma_rate" --qemu-log "$card_qlog" "${card_trace[@]}"
		--agent "$run/mic$i-agent.sock"
		--console-log "$logdir/mic$i-console.log"
		--event-log "$logdir/mic$i-fw.log" --run-dir "$run/mic$i"
		--ready-delay "$ready_delay")
	start_group "${fw[@]}"
	echo "${pids[-1]}" >"$run/mic$i-fw.pid"
	printf '%s\0' "${fw[@]}" >"$run/mic$i-fw.argv"
	dev="mic-x100,id=mic$i,bus=rp$i,chardev=mic$i,host-mem=hostram,dma-rate=$dma_rate"
	echo "$dev" >"$run/mic$i-device"
	card_args+=(-device "pcie-root-port,id=rp$i,bus=pcie.0,chassis=$((i + 1))"
		    -chardev "socket,id=mic$i,path=$run/mic$i-link.sock"
		    -device "$dev")
done
for ((i = 0; i < cards; i++)); do
	for _ in $(seq 100); do
		[ -S "$run/mic$i-link.sock" ] && break
		sleep 0.1
	done
	[ -S "$run/mic$i-link.sock" ] || die "micfw for mic$i did not start (see $logdir/mic$i-fw.log)"
done

# --- host VM --------------------------------------------------------------
host=("$qemu" "${cpu[@]}" -M q35,memory-backend=hostram
      -object "memory-backend-memfd,id=hostram,size=$host_mem,share=on"
      -m "$host_mem" -smp 1 -nodefaults -display none -no-reboot
      -d guest_errors,unimp -D "$logdir/host-qemu.log" "${host_trace[@]}"
      -kernel "$kernel" -initrd "$initrd"
      -append "console=ttyS0 panic=-1 $append"
      -device virtio-serial-pci,id=vser
      -chardev "socket,id=agent,path=$run/agent.sock,server=on,wait=off"
      -device virtserialport,bus=vser.0,chardev=agent,name=micemu.agent
      -qmp "unix:$run/qmp.sock,server=on,wait=off"
      "${card_args[@]}")
printf '%q ' "${host[@]}" >"$logdir/host-cmdline.txt"

if [ $have_exec = 0 ] && [ $serve = 0 ]; then
	# Interactive: the console on this terminal, also logged.
	log "host VM console follows; Ctrl-A x quits, logs in $logdir"
	"${host[@]}" -chardev "stdio,id=con,mux=on,signal=off,logfile=$logdir/host-console.log" \
		-serial chardev:con -mon chardev=con,mode=readline
	exit 0
fi

start_group "${host[@]}" -serial "file:$logdir/host-console.log"
hostpid=${pids[-1]}
echo "$logdir" >"$run/logdir"
log "host VM started (pid $hostpid), logs in $logdir"

if [ $serve = 1 ]; then
	touch "$run/ready"
	while kill -0 "$hostpid" 2>/dev/null; do sleep 0.5; done
	log "host VM exited"
	exit 0
fi

set +e
timeout -k 5 "$timeout" /usr/bin/python3 "$here/micemu_agent.py" \
	"$run/agent.sock" "$exec_cmd"
rc=$?
set -e
[ $rc = 124 ] && log "--exec timed out after ${timeout}s"
exit $rc
