#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# What a coroutine switch costs under `record --coroutines`: the workload
# swaps between two ucontext coroutines N times (coro_ucontext pingpong)
# and prints wall and process CPU time (user + system) per switch. Side by
# side: untraced, `procscope record` (passive: no uprobes), `procscope
# record --coroutines` (a uprobe on swapcontext: a trap per switch), and
# bpftrace counting the same uprobe (the peer). Prints the median of
# CORO_RUNS runs and each row's ratio to the untraced run. The CPU figure
# is the one to quote: wall time on a busy 2-CPU VM also holds waiting.
#
# Usage (as root): bench/coro_uprobe.sh [PROCSCOPE_BINARY]   (default build/procscope)
# Environment: CORO_RUNS=5, CORO_SWITCHES=200000 (round trips; 2 switches each)
set -euo pipefail

cd "$(dirname "$0")/.."
bin=${1:-build/procscope}
wl=$(dirname "$bin")/workloads/coro_ucontext
runs=${CORO_RUNS:-5}
n=${CORO_SWITCHES:-200000}
libc=$(ldd "$wl" | awk '/libc.so/ { print $3 }')
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

die() { echo "coro_uprobe: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "run as root"
[ -x "$bin" ] && [ -x "$wl" ] || die "build first: make all (want $bin and $wl)"

# median of the wall and CPU ns per switch over $runs runs of "$@"
measure() {
	for _ in $(seq "$runs"); do
		"$@" 2>/dev/null | sed -n 's/^pingpong .*ns_per_switch=\([0-9.]*\) cpu_ns_per_switch=\([0-9.]*\)/\1 \2/p'
	done | sort -n -k2 | awk '{ w[NR] = $1; c[NR] = $2 } END { m = int((NR + 1) / 2); print w[m], c[m] }'
}

printf '%-28s %14s %14s %8s\n' "" "wall ns/switch" "CPU ns/switch" "CPU x"
base=""
row() {	# name, command...
	local name=$1; shift
	read -r wall cpu < <(measure "$@")
	[ -n "$base" ] || base=$cpu
	printf '%-28s %14.0f %14.0f %8.1f\n' "$name" "$wall" "$cpu" "$(echo "$cpu / $base" | bc -l)"
}
row "untraced" "$wl" pingpong "$n"
row "procscope record" "$bin" record -o "$tmp/p.data" -- "$wl" pingpong "$n"
row "procscope record --coroutines" "$bin" record --coroutines -o "$tmp/c.data" -- "$wl" pingpong "$n"
if command -v bpftrace >/dev/null; then
	row "bpftrace uprobe count" bpftrace -q -e "uprobe:$libc:swapcontext { @n = count(); }" \
		-c "$wl pingpong $n"
fi
