#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# /init of the COSM client test VM (run-vm-tests.sh builds and boots it).
#
# No host and no card hardware: scif.ko runs as node 0 with its loopback
# link, so mic_cosm_client (which connects to node 0, port 201) reaches
# cosm-fake-server in this same VM. Prints "VMTEST ok|FAIL <name>" per
# check and "VMTEST done fails=N"; then ends with the kernel command
# line's cosmtest_end= action: "poweroff" (the server sends SHUTDOWN; the
# client powers off and sends status 3) or "reboot" (reboot -f; status 4).
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t debugfs debugfs /sys/kernel/debug
M=/lib/micemu
fails=0
end=poweroff
for arg in $(cat /proc/cmdline); do
	case "$arg" in cosmtest_end=*) end=${arg#cosmtest_end=} ;; esac
done

ok() { echo "VMTEST ok $1"; }
fail() { echo "VMTEST FAIL $1"; fails=$((fails + 1)); }
check() {
	name=$1
	shift
	if "$@"; then ok "$name"; else fail "$name"; fi
}
lines() { grep -c "$1" "$2"; }
logged() { dmesg | grep -q "$1"; }
ids() { sed -n 's/^rx id=\([0-9]*\) arg=\([0-9]*\).*/\1:\2/p' "$1" | tr '\n' ' '; }
# intervals FILE: ms between consecutive heartbeats of one connection
intervals() {
	awk '/^accept/ { last = 0 }
	     /^rx id=2 / { t = substr($NF, 3); if (last) print t - last; last = t }' "$1"
}
in_range() { awk -v lo="$2" -v hi="$3" '$1 < lo || $1 > hi { bad = 1 } END { exit bad }' "$1"; }

echo "VMTEST start, end=$end"
insmod $M/scif.ko self_node=0 alive_timeout_ms=5000
insmod $M/scif_test.ko
insmod $M/mic_x100_dma.ko
insmod $M/mic_card.ko
check card_driver_loads test -d /sys/bus/pci/drivers/mic_card

# A: time sync, unknown ids, server closes twice: the client reconnects,
# then gives up after 10 tries once nobody listens.
cosm-fake-server -k 2 -t 1900000000 -u -H 3 -T 60 >/tmp/a.log 2>&1 &
srv=$!
sleep 1
insmod $M/mic_cosm_client.ko heartbeat_send_sec=1
wait $srv
check A_server_done test $? -eq 0
check A_reconnected test "$(lines '^accept' /tmp/a.log)" -eq 2
check A_heartbeats test "$(lines '^rx id=2 ' /tmp/a.log)" -ge 6
check A_only_heartbeats test "$(grep '^rx' /tmp/a.log | grep -vc '^rx id=2 ')" -eq 0
check A_time_set test "$(date -u +%Y)" = 2030
check A_unknown_77 logged 'unknown id 77$'
check A_unknown_ffffffff logged 'unknown id 4294967295$'
sleep 14
check A_gave_up logged 'after 10 tries'
check A_rmmod_idle rmmod mic_cosm_client
cat /tmp/a.log

# B: unload closes the endpoint (server sees HUP), reload reconnects;
# heartbeats come every heartbeat_send_sec.
cosm-fake-server -k 2 -T 60 >/tmp/b.log 2>&1 &
srv=$!
sleep 1
insmod $M/mic_cosm_client.ko heartbeat_send_sec=2
sleep 7
rmmod mic_cosm_client
sleep 1
check B_hup_on_unload test "$(lines '^hup' /tmp/b.log)" -eq 1
insmod $M/mic_cosm_client.ko heartbeat_send_sec=2
sleep 5
check B_rmmod_connected rmmod mic_cosm_client
wait $srv
check B_server_done test $? -eq 0
check B_two_hups test "$(lines '^hup' /tmp/b.log)" -eq 2
intervals /tmp/b.log >/tmp/b.int
check B_period_2s in_range /tmp/b.int 1700 2600
check B_enough_heartbeats test "$(wc -l </tmp/b.int)" -ge 3
cat /tmp/b.log /tmp/b.int

# D: the hostile client; the server must see exactly this stream.
cosm-fake-server -k 1 -H 10 -T 60 >/tmp/d.log 2>&1 &
srv=$!
sleep 1
insmod $M/mic_cosm_badclient.ko heartbeat_ms=500 extra_ids=7,8 extra_status=42
sleep 2
echo 1 >/sys/module/mic_cosm_badclient/parameters/trigger
wait $srv
check D_server_done test $? -eq 0
burst="4:0 99:0 4294967295:0 18446744073709551615:0 0:0 1:12345 7:0 8:0 3:0 3:5 3:1000 3:18446744073709551615 3:42 11936128518282651045:6510615555426919845 14106333703424951235:14106333703424951235 14106333703424951235:14106333703424951235 14106333703424951235:14106333703424951235"
got=$(ids /tmp/d.log)
case "$got" in
"$burst "*) ok D_burst_stream ;;
*) fail D_burst_stream; echo "want: $burst"; echo "got:  $got" ;;
esac
check D_burst_twice test "$(lines '^rx id=99 ' /tmp/d.log)" -eq 2
sleep 1
check D_hup_seen logged 'mic_cosm_badclient: connection to the host closed'
check D_rmmod rmmod mic_cosm_badclient
cat /tmp/d.log

check no_oops sh -c '! dmesg | grep -qE "BUG:|WARNING:|Oops|general protection"'
echo "VMTEST done fails=$fails"

# E: the end of the card's life.
if [ "$end" = reboot ]; then
	cosm-fake-server -k 1 -T 60 >/dev/console 2>&1 &
	sleep 1
	insmod $M/mic_cosm_client.ko heartbeat_send_sec=1
	sleep 2
	echo "VMTEST rebooting"
	reboot -f
else
	cosm-fake-server -k 1 -H 2 -S -T 60 >/dev/console 2>&1 &
	sleep 1
	insmod $M/mic_cosm_client.ko heartbeat_send_sec=1
fi
sleep 30
echo "VMTEST FAIL E_still_running"
poweroff -f
