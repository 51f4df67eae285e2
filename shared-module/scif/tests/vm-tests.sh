#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# vm-tests.sh host|card: SCIF tests run inside a VM (busybox sh, as root),
# with scif.ko, scif_test.ko, scif_fakepeer.ko in /lib and scif-pingpong,
# scif_api_test in PATH. Prints every step, then "scif-vm-tests: N failed";
# exits with the number of failures.
#   host: scif.ko as node 0: loopback, then fake cards over node queues,
#         then hostile fake cards
#   card: scif.ko as card node 5 behind a fake host
mode=${1:-host}
failed=0
M=/lib

# expect RC CMD...: run CMD, complain unless it exits with RC
expect() {
	want=$1
	shift
	echo "+ $*"
	"$@"
	rc=$?
	if [ "$rc" != "$want" ]; then
		echo "FAIL: '$*' exited $rc, expected $want"
		failed=$((failed + 1))
	fi
}

# expect_log TEXT: the kernel log must contain TEXT
expect_log() {
	if ! dmesg | grep -q "$1"; then
		echo "FAIL: kernel log lacks '$1'"
		failed=$((failed + 1))
	fi
}

# expect_nolog TEXT: the kernel log must not contain TEXT
expect_nolog() {
	if dmesg | grep -q "$1"; then
		echo "FAIL: kernel log has '$1'"
		failed=$((failed + 1))
	fi
}

# expect_node N STATE: /sys/kernel/debug/scif/nodes shows node N in STATE
expect_node() {
	if ! grep -q "^node $1 $2" /sys/kernel/debug/scif/nodes; then
		echo "FAIL: node $1 is not $2:"
		cat /sys/kernel/debug/scif/nodes
		failed=$((failed + 1))
	fi
}

wait_node() {
	i=0
	while [ $i -lt 50 ] &&
		! grep -q "^node $1 $2" /sys/kernel/debug/scif/nodes; do
		sleep 0.1
		i=$((i + 1))
	done
	expect_node "$1" "$2"
}

host_tests() {
	expect 0 insmod $M/scif.ko self_node=0 alive_timeout_ms=3000 \
		bootparam_poll_ms=200
	expect 0 insmod $M/scif_test.ko
	expect_node 0 "online loopback"
	expect_log "scif_test: node 0 up"
	scif-pingpong -s -p 2000 &
	srv=$!
	sleep 0.5
	expect 0 scif-pingpong -c 0 -p 2000 -n 1000 -S 64
	expect 0 scif-pingpong -c 0 -p 2000 -n 200 -S 4096
	for s in 1 1024 1025 1024000 1024001; do
		expect 0 scif-pingpong -c 0 -p 2000 -n 3 -S $s
	done
	expect 0 scif_api_test
	kill $srv

	echo "## node queues: fake card 1"
	expect 0 insmod $M/scif_fakepeer.ko node=1
	wait_node 1 online
	expect_log "scif_test: node 1 up"
	expect 0 scif-pingpong -c 1 -p 2000 -n 500 -S 64
	for s in 1 1025 1024001; do
		expect 0 scif-pingpong -c 1 -p 2000 -n 3 -S $s
	done
	expect 2 scif-pingpong -c 1 -p 3000 -n 1
	echo "## card leaves and comes back, idle and during traffic"
	echo 1 >/sys/module/scif_fakepeer/parameters/reboot
	sleep 0.5
	wait_node 1 online
	expect 0 scif-pingpong -c 1 -p 2000 -n 100 -S 333
	scif-pingpong -c 1 -p 2000 -n 1000000 -S 2000 &
	cl=$!
	sleep 1
	echo 1 >/sys/module/scif_fakepeer/parameters/reboot
	expect 2 wait $cl
	sleep 0.5
	wait_node 1 online
	expect 0 scif-pingpong -c 1 -p 2000 -n 100 -S 5000
	echo "## unload with a connection open"
	# scif.ko must keep the connection's rings until the peer acknowledged
	# EXIT, although the user closes the endpoint before that
	scif-pingpong -c 1 -p 2000 -n 1000000 -S 100 &
	cl=$!
	sleep 1
	echo 500 >/sys/module/scif_fakepeer/parameters/exit_check_ms
	expect 0 rmmod scif_fakepeer
	expect 2 wait $cl
	expect_log "scif cleared its device page fields"
	expect_log "EXIT: endpoint queue pairs 1 checked, 0 freed early"

	echo "## hostile cards"
	expect 0 insmod $M/scif_fakepeer.ko node=2 bad_magic=1
	sleep 1
	expect_node 2 waiting
	expect 0 rmmod scif_fakepeer
	expect 0 insmod $M/scif_fakepeer.ko node=3 bad_size=1
	sleep 1
	expect_node 3 waiting
	expect 0 rmmod scif_fakepeer
	expect 0 insmod $M/scif_fakepeer.ko node=4 flood=5000
	wait_node 4 online
	expect 0 scif-pingpong -c 4 -p 2000 -n 100 -S 1000
	expect 0 rmmod scif_fakepeer
	expect 0 insmod $M/scif_fakepeer.ko node=4 bad_offsets=1
	sleep 1
	expect 0 rmmod scif_fakepeer
	# card-to-card requests the host must refuse (cards connect to each
	# other peer to peer); NODE_ADD/REMOVE from a card ignored; the
	# flood above used up the rate limit of the same log lines, whose
	# window is 5 s
	sleep 6
	expect 0 insmod $M/scif_fakepeer.ko node=4
	wait_node 4 online
	echo 1 >/sys/module/scif_fakepeer/parameters/c2c_probe
	sleep 1
	expect_log "node 4: connection request for node 6 refused"
	expect_log "CNCT_REJ for 0xfc00000000000c20"
	expect_log "CNCT_REJ for 0xfc00000000000c21"
	expect_log "CNCT_REJ for 0xfc00000000000c22"
	expect_log "node 4: NODE_ADD for node 5 ignored"
	expect_log "node 4: NODE_ADD answer 5->6 dropped"
	expect_log "node 4: NODE_ADD answer for node 6, not introduced"
	expect_log "node 4: NODE_ADD answer 4->0 dropped"
	expect 0 scif-pingpong -c 4 -p 2000 -n 100 -S 1000
	expect 0 rmmod scif_fakepeer
}

card_tests() {
	expect 0 insmod $M/scif.ko alive_timeout_ms=3000 bootparam_poll_ms=200
	expect 0 insmod $M/scif_test.ko
	expect 0 insmod $M/scif_fakepeer.ko role=host node=5
	wait_node 0 online
	expect_node 5 "online loopback"
	expect_log "NODE_REMOVE_ACK for node 6"
	# the fake host's NODE_ADD has no apertures: no P2P link, a NACK
	expect_log "node 6: peer to peer link not set up"
	expect_log "NODE_ADD_NACK from node 5 for node 6"
	# answers it never asked for, and an introduction to itself
	expect_log "node 7: NODE_ADD answer out of turn"
	expect_log "node 0: NODE_ADD answer for node 0 ignored"
	expect_log "node 0: NODE_ADD for node 5 ignored"
	expect 0 scif-pingpong -c 0 -p 2000 -n 300 -S 64
	expect 0 scif-pingpong -c 0 -p 2000 -n 3 -S 1024001
	scif-pingpong -s -p 2001 &
	srv=$!
	sleep 0.3
	expect 0 scif-pingpong -c 5 -p 2001 -n 300 -S 777
	expect 2 scif-pingpong -c 0 -p 2001 -n 1
	echo "## host leaves and comes back"
	echo 1 >/sys/module/scif_fakepeer/parameters/reboot
	sleep 0.5
	wait_node 0 online
	expect 0 scif-pingpong -c 0 -p 2000 -n 100 -S 4000
	echo "## card side goes away with a connection open"
	# scif.ko must keep the connection's rings until the peer acknowledged
	# EXIT, although the user closes the endpoint before that
	scif-pingpong -c 0 -p 2000 -n 1000000 -S 100 &
	cl=$!
	sleep 1
	echo 500 >/sys/module/scif_fakepeer/parameters/exit_check_ms
	expect 0 rmmod scif_fakepeer
	expect 2 wait $cl
	expect_log "scif cleared its device page fields"
	expect_log "EXIT: endpoint queue pairs 1 checked, 0 freed early"
	expect 0 scif-pingpong -c 5 -p 2001 -n 10 -S 10
	kill $srv
}

case "$mode" in
host) host_tests ;;
card) card_tests ;;
*) echo "usage: vm-tests.sh host|card"; exit 2 ;;
esac
sleep 0.3
expect 0 rmmod scif_test
expect 0 rmmod scif
if dmesg | grep -qE "WARNING:|BUG:|Oops|Call Trace|circular locking|sleeping function"; then
	echo "FAIL: kernel warnings:"
	dmesg | grep -E -A20 "WARNING:|BUG:|Oops|circular locking|sleeping function"
	failed=$((failed + 1))
fi
echo "scif-vm-tests: $failed failed"
exit $failed
