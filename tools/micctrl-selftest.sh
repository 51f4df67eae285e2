#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Self-test of micctrl against a fake /sys/class/mic in /tmp.
# Regular files never signal POLLPRI, so "wait" is tested on its immediate
# match, timeout and periodic re-read paths. Prints TAP.

MICCTRL=${1:-./micctrl}
ROOT=$(mktemp -d /tmp/micctrl-test.XXXXXX) || exit 1
trap 'rm -rf "$ROOT"' EXIT INT TERM
export MICCTRL_SYSFS="$ROOT"

n=0
failed=0
OUT="$ROOT/.out"
ERR="$ROOT/.err"

ok() {
	n=$((n + 1))
	echo "ok $n - $1"
}

not_ok() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $1"
	sed 's/^/#   stdout: /' "$OUT"
	sed 's/^/#   stderr: /' "$ERR"
}

# expect DESCRIPTION EXIT-CODE STDERR-PATTERN -- ARGS...
expect() {
	desc=$1 want=$2 pattern=$3
	shift 4
	"$MICCTRL" "$@" >"$OUT" 2>"$ERR"
	rc=$?
	if [ "$rc" -ne "$want" ]; then
		echo "#   exit $rc, expected $want" >>"$ERR"
		not_ok "$desc"
	elif [ -n "$pattern" ] && ! grep -q -- "$pattern" "$ERR"; then
		echo "#   stderr lacks '$pattern'" >>"$ERR"
		not_ok "$desc"
	else
		ok "$desc"
	fi
}

# check DESCRIPTION FILE CONTENT
check_file() {
	if [ "$(cat "$2")" = "$3" ]; then
		ok "$1"
	else
		: >"$OUT"
		echo "#   $2 holds '$(cat "$2")', expected '$3'" >"$ERR"
		not_ok "$1"
	fi
}

make_card() {
	d="$ROOT/$1"
	mkdir -p "$d"
	echo "$2" >"$d/state"
	echo nop >"$d/shutdown_status"
	echo x100 >"$d/family"
	echo C0 >"$d/stepping"
	echo 1 >"$d/heartbeat_enable"
	: >"$d/bootmode"
	: >"$d/firmware"
	: >"$d/ramdisk"
	: >"$d/cmdline"
}

make_card mic0 ready
make_card mic10 online
make_card mic2 booting
# A card whose state cannot be written: the write fails with EISDIR.
make_card mic3 ready
rm "$ROOT/mic3/state"
mkdir "$ROOT/mic3/state"

echo "TAP version 13"

expect "no arguments is a usage error" 2 "no command" --
expect "unknown command" 2 "unknown command 'frob'" -- frob
expect "help" 0 "" -- --help
expect "bad card name" 2 "not a card name" -- boot card0
expect "boot needs a card" 2 "no card given" -- boot
expect "unknown card" 1 "mic7: no such card" -- status mic7
expect "status of one card" 0 "" -- status mic0
grep -q "stepping *C0" "$OUT" && ok "status shows stepping" ||
	not_ok "status shows stepping"
expect "status of all cards" 0 "" -- status
if [ "$(grep '^mic' "$OUT" | tr '\n' ' ')" = "mic0: mic2: mic3: mic10: " ]; then
	ok "status lists cards in numeric order"
else
	not_ok "status lists cards in numeric order"
fi

expect "boot writes state" 0 "" -- boot mic0
check_file "state holds boot" "$ROOT/mic0/state" boot
echo ready >"$ROOT/mic0/state"
expect "numeric card name" 0 "" -- reset 2
check_file "reset written" "$ROOT/mic2/state" reset
echo booting >"$ROOT/mic2/state"
expect "failed write shows errno text" 1 "mic3: boot: Is a directory" -- \
	boot mic3

expect "wait: unknown state" 2 "unknown state 'up'" -- wait mic0 up
expect "wait: unknown option" 2 "unknown option '--fast'" -- \
	wait mic0 ready --fast
expect "wait: bad timeout" 2 "invalid timeout" -- \
	wait mic0 ready --timeout soon
expect "wait: negative timeout" 2 "invalid timeout" -- \
	wait mic0 ready --timeout=-1
expect "wait: missing state" 2 "need a card and a state" -- wait mic0
expect "wait: unknown card" 1 "no such card" -- wait mic9 ready

start=$(date +%s)
expect "wait: immediate match" 0 "" -- wait mic0 ready --timeout 5
[ $(($(date +%s) - start)) -le 1 ] && ok "immediate match is immediate" ||
	not_ok "immediate match is immediate"

start=$(date +%s)
expect "wait: timeout" 1 "timed out after 1 s waiting for online (state is ready)" \
	-- wait mic0 online --timeout 1
elapsed=$(($(date +%s) - start))
[ "$elapsed" -ge 1 ] && [ "$elapsed" -le 3 ] && ok "timeout took about 1 s" ||
	not_ok "timeout took about 1 s (${elapsed} s)"
expect "wait: --timeout 0 checks once" 1 "timed out" -- \
	wait mic0 online --timeout=0

(sleep 1; echo online >"$ROOT/mic0/state") &
expect "wait: sees a later change" 0 "" -- wait mic0 online --timeout 6
wait

expect "config: unknown option" 2 "unknown option '--kernel'" -- \
	config mic0 --kernel x
expect "config: option without value" 2 "needs a value" -- \
	config mic0 --cmdline
expect "config: no card" 2 "no card given" -- config --bootmode linux
expect "config: writes attributes" 0 "" -- config mic0 --cmdline "quiet a=b" \
	--firmware mic/uos.img --ramdisk=mic/mic0.image --bootmode linux
check_file "cmdline written" "$ROOT/mic0/cmdline" "quiet a=b"
check_file "firmware written" "$ROOT/mic0/firmware" "mic/uos.img"
check_file "ramdisk written" "$ROOT/mic0/ramdisk" "mic/mic0.image"
check_file "bootmode written" "$ROOT/mic0/bootmode" "linux"
expect "config: empty value clears" 0 "" -- config mic0 --ramdisk ""
check_file "ramdisk cleared" "$ROOT/mic0/ramdisk" ""
expect "config: show" 0 "" -- config mic0
grep -q "firmware *mic/uos.img" "$OUT" && ok "config shows values" ||
	not_ok "config shows values"

# --- shutdown and reboot, against a fake mic_cosm ---------------------------
# fake_cosm DIR STATUS: reacts to writes to DIR/state as mic_cosm would, a
# little late (regular files cannot react synchronously): "shutdown" ->
# shutting_down and, 0.5 s later, STATUS (none if empty) published;
# "reset" -> resetting -> ready with status nop; "boot" -> booting. Each
# request it acts on is appended to DIR/seen first.
fake_cosm() {
	while :; do
		req=$(cat "$1/state")
		case "$req" in
		shutdown | reset | boot) echo "$req" >>"$1/seen" ;;
		esac
		case "$req" in
		shutdown)
			echo shutting_down >"$1/state"
			sleep 0.5
			[ -z "$2" ] || echo "$2" >"$1/shutdown_status" ;;
		reset)
			echo resetting >"$1/state"
			sleep 0.3
			echo nop >"$1/shutdown_status"
			echo ready >"$1/state" ;;
		boot)
			echo booting >"$1/state" ;;
		esac
		sleep 0.1
	done
}
FAKE=
start_fake() { fake_cosm "$ROOT/$1" "$2" & FAKE=$!; }
stop_fake() { kill "$FAKE" 2>/dev/null; wait "$FAKE" 2>/dev/null; FAKE=; }
trap 'stop_fake; rm -rf "$ROOT"' EXIT INT TERM

expect "shutdown: no card" 2 "shutdown: no card given" -- shutdown
expect "shutdown: unknown option" 2 "unknown option '--now'" -- \
	shutdown mic0 --now
expect "shutdown: bad timeout" 2 "invalid timeout" -- \
	shutdown mic0 --timeout=x
expect "shutdown: unknown card" 1 "mic7: no such card" -- shutdown mic7
expect "shutdown: refused write" 1 "mic3: shutdown: Is a directory" -- \
	shutdown mic3

echo online >"$ROOT/mic0/state"
start_fake mic0 poweroff
expect "shutdown: status published, card reset" 0 "" -- \
	shutdown mic0 --timeout 10
stop_fake
grep -q "^mic0: shutdown_status poweroff, state ready$" "$OUT" &&
	ok "shutdown reports the status" || not_ok "shutdown reports the status"
check_file "shutdown left the card ready" "$ROOT/mic0/state" ready

echo online >"$ROOT/mic0/state"
start_fake mic0 ""
expect "shutdown: no status in time" 1 \
	"timed out after 1 s waiting for a shutdown status (state is shutting_down)" \
	-- shutdown mic0 --timeout 1
stop_fake
grep -q "resetting it anyway" "$ERR" && ok "shutdown resets a silent card" ||
	not_ok "shutdown resets a silent card"
check_file "silent card ends ready" "$ROOT/mic0/state" ready

echo online >"$ROOT/mic0/state"
start_fake mic0 restart
expect "reboot: shutdown then boot" 0 "" -- reboot 0 --timeout=10
stop_fake
grep -q "shutdown_status restart" "$OUT" && ok "reboot reports the status" ||
	not_ok "reboot reports the status"
# the fake may have taken the boot request already (and may have been
# stopped while it rewrote the file)
if [ "$(cat "$ROOT/mic0/state")" = boot ] ||
	[ "$(tail -n 1 "$ROOT/mic0/seen")" = boot ]; then
	ok "reboot wrote boot"
else
	: >"$OUT"
	echo "#   state '$(cat "$ROOT/mic0/state")', requests seen:" \
		$(cat "$ROOT/mic0/seen") >"$ERR"
	not_ok "reboot wrote boot"
fi
echo ready >"$ROOT/mic0/state"

# --- log ----------------------------------------------------------------------
# A printk data ring as Linux >= 5.10 keeps it: 8-byte aligned blocks of a
# descriptor id (top bits clear) and the text of one record.
export MICCTRL_DEBUGFS="$ROOT/debug" MICCTRL_SYSTEM_MAP="$ROOT/System.map"
mkdir -p "$ROOT/debug/mic_cosm/mic0"
LOGBUF="$ROOT/debug/mic_cosm/mic0/log_buf"
ID1='\001\340\377\377\377\377\377\077'
ID2='\002\340\377\377\377\377\377\077'
ID3='\003\000\000\000\000\000\000\000'
printf "${ID1}Linux version 6.1 (micemu)\0\0\0\0\0\0${ID2}mic_card: ready.${ID3}cosm: online?\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0" \
	>"$LOGBUF"
echo 0000000000000000 >"$ROOT/mic0/log_buf_addr"
echo 0000000000000000 >"$ROOT/mic0/log_buf_len"

expect "log: unknown option" 2 "unknown option '--all'" -- log mic0 --all
expect "log: no card" 2 "log: no card given" -- log
expect "log: no System.map" 1 "not set and $ROOT/System.map" -- log mic0
printf 'ffffffff81aa6520 d log_buf_len\nffffffff81aa6528 d log_buf\nffffffff81b9e638 b __log_buf\n' \
	>"$ROOT/System.map"
expect "log: addresses from System.map" 0 "" -- log mic0
check_file "log_buf_addr from System.map" "$ROOT/mic0/log_buf_addr" \
	ffffffff81b9e638
check_file "log_buf_len from System.map" "$ROOT/mic0/log_buf_len" \
	ffffffff81aa6520
if [ "$(cat "$OUT")" = "$(printf 'Linux version 6.1 (micemu)\nmic_card: ready.\ncosm: online?')" ]; then
	ok "log prints one record per line"
else
	not_ok "log prints one record per line"
fi
rm "$ROOT/System.map"
echo "(____ptrval____)" >"$ROOT/mic0/log_buf_addr"
expect "log: addresses already set" 0 "" -- log mic0 --raw
check_file "log: (____ptrval____) counts as set" "$ROOT/mic0/log_buf_addr" \
	"(____ptrval____)"
cmp -s "$OUT" "$LOGBUF" && ok "log --raw is byte for byte" ||
	not_ok "log --raw is byte for byte"
: >"$LOGBUF"
expect "log: empty log" 1 "mic0: empty log" -- log mic0

echo "1..$n"
[ "$failed" -eq 0 ] && echo "# all $n passed" || echo "# $failed of $n failed"
[ "$failed" -eq 0 ]
