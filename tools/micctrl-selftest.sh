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

echo "1..$n"
[ "$failed" -eq 0 ] && echo "# all $n passed" || echo "# $failed of $n failed"
[ "$failed" -eq 0 ]
