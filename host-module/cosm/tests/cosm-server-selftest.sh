#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# cosm-server-selftest.sh: the COSM SCIF server against cosm_fakeclient.
# Runs in a host VM without x100 cards, with the modules loaded as
#   scif self_node=1, mic_cosm heartbeat_send_sec=2 heartbeat_slack_sec=1
#   reset_poll_ms=100, cosm_fakeclient
# so that card mic0 is the fake one and its client talks to port 201 over
# SCIF's loopback node. Prints TAP; exit status 0 when all passed.

C=/sys/class/mic/mic0
D=/sys/kernel/debug/cosm_fakeclient
MICCTRL=${MICCTRL:-micctrl}
HB_TIMEOUT=3	# heartbeat_send_sec + heartbeat_slack_sec
n=0
failed=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
	n=$((n + 1)); failed=$((failed + 1))
	echo "not ok $n - $1"
	[ -z "$2" ] || echo "#   $2"
}
check() { # check DESCRIPTION COMMAND...
	desc=$1; shift
	if "$@"; then ok "$desc"; else not_ok "$desc" "failed: $*"; fi
}
ctl() { echo "$*" >"$D/ctl"; }
state() { cat "$C/state"; }
status() { cat "$C/shutdown_status"; }
is_state() { [ "$(state)" = "$1" ]; }
is_status() { [ "$(status)" = "$1" ]; }
logged() { grep -q -- "$1" "$D/log"; }
dmesg_has() { dmesg | grep -q -- "$1"; }
# wait_for SECONDS COMMAND...: true once COMMAND succeeds
wait_for() {
	t=$(($1 * 10)); shift
	while [ $t -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		t=$((t - 1))
	done
	"$@"
}
# boot_online: boot the fake card and connect its client.
boot_online() {
	ctl clear
	$MICCTRL boot mic0 && ctl connect &&
		$MICCTRL wait mic0 online --timeout 10 >/dev/null
}
reset_ready() {
	$MICCTRL reset mic0 2>/dev/null
	$MICCTRL wait mic0 ready --timeout 20 >/dev/null
}

echo "TAP version 13"
dmesg -c >/dev/null

# --- going online -------------------------------------------------------------
check "fake card registered as mic0, ready" is_state ready
$MICCTRL config mic0 --bootmode linux >/dev/null
check "boot: booting" $MICCTRL boot mic0
check "state booting" is_state booting
check "hw start called" logged "hw start"
ctl connect
check "client connected" logged "^connected"
check "card online" $MICCTRL wait mic0 online --timeout 10
check "SYNC_TIME received" wait_for 5 logged "rx SYNC_TIME"
host_now=$(date +%s)
sent=$(sed -n 's/^rx SYNC_TIME \([0-9]*\) .*/\1/p' "$D/log" | head -n1)
if [ -n "$sent" ] && [ $((host_now - sent)) -ge 0 ] &&
   [ $((host_now - sent)) -le 5 ]; then
	ok "SYNC_TIME carries the host time ($sent vs $host_now)"
else
	not_ok "SYNC_TIME carries the host time" "got '$sent', now $host_now"
fi
nsec=$(sed -n 's/^rx SYNC_TIME [0-9]* \([0-9]*\)$/\1/p' "$D/log" | head -n1)
check "SYNC_TIME nanoseconds in range" [ -n "$nsec" -a "$nsec" -lt 1000000000 ]

# --- heartbeats -------------------------------------------------------------
ctl auto_hb 500
sleep $((HB_TIMEOUT * 2))
check "heartbeats keep the card online" is_state online
check "and its status nop" is_status nop

# heartbeat_enable=0 while online: silence is no crash
echo 0 >"$C/heartbeat_enable"
ctl auto_hb 0
sleep $((HB_TIMEOUT + 2))
check "watchdog off: silent card stays online" is_state online
ctl auto_hb 500
sleep 1
echo 1 >"$C/heartbeat_enable"
sleep $((HB_TIMEOUT + 1))
check "watchdog back on with heartbeats: online" is_state online

# --- reconnect ----------------------------------------------------------------
ctl close
sleep 1
check "client gone: card stays online" is_state online
check "client gone: status still nop" is_status nop
ctl clear
ctl connect
check "reconnect keeps online" $MICCTRL wait mic0 online --timeout 5
check "reconnect re-sends the time" wait_for 5 logged "rx SYNC_TIME"

# --- garbage from the card ------------------------------------------------------
ctl send 99 1 2
ctl status 0
ctl status 7
ctl status 18446744073709551615
ctl send 0 0 0
ctl send 1 0 0
ctl garbage 200
sleep 1
check "garbage: card still online" is_state online
check "garbage: status still nop" is_status nop
check "unknown id logged" dmesg_has "ignoring COSM message id 99"
check "bad status logged" dmesg_has "ignoring shutdown status 7"
ctl clear
ctl close
ctl connect
check "garbage: reconnect works" $MICCTRL wait mic0 online --timeout 5

# A record that arrives in two pieces is put back together.
ctl auto_hb 0
ctl send_split 10 3 2
sleep 1
check "split status record: shutting_down" is_state shutting_down
check "status kept until the card hangs up" is_status nop
ctl close
check "hang-up publishes the status" wait_for 5 is_status halted
check "reset after shutdown" reset_ready
check "reset: status back to nop" is_status nop

# --- crash: heartbeats stop ---------------------------------------------------
boot_online
ctl auto_hb 0
start=$(date +%s)
check "silent card: crashed" wait_for $((HB_TIMEOUT + 5)) is_status crashed
took=$(($(date +%s) - start))
check "crash detected after about $HB_TIMEOUT s (took $took s)" \
	[ $took -ge $((HB_TIMEOUT - 1)) -a $took -le $((HB_TIMEOUT + 3)) ]
check "crashed card is shutting_down" is_state shutting_down
check "crash logged" dmesg_has "heartbeat lost"
check "reset a crashed card" reset_ready
check "reset called hw stop" logged "hw stop"
check "reset closed the client" logged "closed"

# --- shutdown -----------------------------------------------------------------
boot_online
ctl close
sleep 1
out=$(echo shutdown 2>&1 >"$C/state")
check "shutdown without a connection: ENOTCONN" \
	sh -c "echo '$out' | grep -q 'not connected'"
ctl connect
$MICCTRL wait mic0 online --timeout 5 >/dev/null
ctl auto_shutdown 1
ctl auto_hb 500
out=$($MICCTRL shutdown mic0 --timeout 20)
check "micctrl shutdown succeeds" [ $? -eq 0 ]
check "micctrl shutdown reports poweroff" \
	sh -c "echo '$out' | grep -q 'shutdown_status poweroff, state ready'"
check "card got COSM_MSG_SHUTDOWN" logged "rx SHUTDOWN"
check "card is ready afterwards" is_state ready
out=$(echo shutdown 2>&1 >"$C/state")
check "shutdown when not online: EINVAL" \
	sh -c "echo '$out' | grep -q 'Invalid argument'"

# reboot: shutdown, reset, boot again
boot_online
ctl auto_shutdown 1
check "micctrl reboot" $MICCTRL reboot mic0 --timeout 20
check "rebooted card is booting" is_state booting
ctl connect
check "and comes online again" $MICCTRL wait mic0 online --timeout 5
reset_ready

# --- a reset that SCIF does not hang up ----------------------------------------
echo 0 >/sys/module/cosm_fakeclient/parameters/hangup_on_stop
boot_online
ctl auto_hb 500
check "reset without hang-up" reset_ready
check "server closed the stale connection" wait_for 5 logged "^hup"
echo 1 >/sys/module/cosm_fakeclient/parameters/hangup_on_stop

# --- debugfs log_buf -------------------------------------------------------------
ctl cardlog "hello from the card log"
echo ffffffff80010000 >"$C/log_buf_addr"
echo ffffffff80008000 >"$C/log_buf_len"
check "log_buf empty while ready" \
	[ -z "$(cat /sys/kernel/debug/mic_cosm/mic0/log_buf)" ]
boot_online
check "log_buf reads the card log through the aperture" \
	[ "$(cat /sys/kernel/debug/mic_cosm/mic0/log_buf)" = \
	  "hello from the card log" ]
check "micctrl log --raw" \
	[ "$($MICCTRL log mic0 --raw)" = "hello from the card log" ]
echo ffffffff00000000 >"$C/log_buf_addr"
check "log_buf outside card memory: empty" \
	[ -z "$(cat /sys/kernel/debug/mic_cosm/mic0/log_buf)" ]
reset_ready

# --- unload while connected ----------------------------------------------------
boot_online
ctl auto_hb 500
check "unload the fake card while online" rmmod cosm_fakeclient
check "mic0 gone" [ ! -e "$C" ]

if dmesg | grep -qE "BUG|WARNING|Oops|INFO: task|general protection"; then
	not_ok "no kernel warnings" "$(dmesg | grep -E 'BUG|WARNING|Oops|INFO: task' | head -n3)"
else
	ok "no kernel warnings"
fi

echo "1..$n"
[ "$failed" -eq 0 ] && echo "# all $n passed" || echo "# $failed of $n failed"
[ "$failed" -eq 0 ]
