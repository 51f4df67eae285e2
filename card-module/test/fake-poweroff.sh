#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# /sbin/poweroff of the test VM: the init there is a script, not busybox
# init, so power off directly (orderly_poweroff() runs this).
echo "fake-poweroff: called" >/dev/console
exec /bin/busybox poweroff -f
