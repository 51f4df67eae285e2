#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-config.sh CONFIG FRAGMENT: fail if an option the fragment asks for
# did not make it into the final kernel config (merge_config.sh only warns).
set -euo pipefail
config=${1:?usage: check-config.sh CONFIG FRAGMENT}
frag=${2:?usage: check-config.sh CONFIG FRAGMENT}
bad=0
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=n) opt=${line%%=*}
		! grep -qE "^$opt=[ym]$" "$config" ||
			{ echo "check-config: $line not applied" >&2; bad=1; } ;;
	CONFIG_*=*) grep -qxF "$line" "$config" ||
		{ echo "check-config: $line not applied ($(grep "^${line%%=*}=" "$config" || echo unset))" >&2; bad=1; } ;;
	esac
done <"$frag"
exit $bad
