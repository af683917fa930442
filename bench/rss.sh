#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# The recorder's memory over a long `record -a` under load: VmRSS of the
# recorder every RSS_STEP seconds while stress-ng (brk, mmap, fork) and
# perf bench sched pipe keep both CPUs busy, for RSS_SECONDS. Prints the
# samples as a table and a bar per sample, then the peak (VmHWM) and
# whether it stayed at or below RSS_LIMIT_MIB.
#
# Usage (as root): bench/rss.sh [PROCSCOPE_BINARY] [-- EXTRA RECORD OPTIONS]
# Environment:
#   RSS_SECONDS=600  RSS_STEP=10  RSS_LIMIT_MIB=64
set -euo pipefail

cd "$(dirname "$0")/.."
bin=${1:-build/procscope}
shift || true
[ "${1:-}" = "--" ] && shift
secs=${RSS_SECONDS:-600}
step=${RSS_STEP:-10}
limit=${RSS_LIMIT_MIB:-64}

die() { echo "rss: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "run as root"
[ -x "$bin" ] || die "no procscope binary at '$bin'"
for t in stress-ng perf; do
	command -v "$t" >/dev/null || die "'$t' is missing (tests/install-deps.sh installs it)"
done

tmp=$(mktemp -d /var/tmp/procscope-rss.XXXXXX)
loads=() rec=
cleanup() {
	for p in "${loads[@]}"; do kill "$p" 2>/dev/null || true; done
	[ -n "$rec" ] && kill -INT "$rec" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

stress-ng --brk 1 --mmap 1 --fork 1 --quiet -t $((secs + 60)) & loads+=($!)
perf bench sched pipe -T -l 1000000000 >/dev/null 2>&1 & loads+=($!)	# -T: threads, one kill ends it
"$bin" record -q -a -o "$tmp/rss.data" "$@" 2>"$tmp/err" &
rec=$!
sleep 2
echo "# procscope record -a $* under stress-ng --brk 1 --mmap 1 --fork 1 and perf bench sched pipe"
echo "# seconds  VmRSS MiB"
# the pause between samples without sleep(1): a test elsewhere may pkill -x sleep
mkfifo "$tmp/tick"
exec 3<>"$tmp/tick"
t=0
while [ "$t" -le "$secs" ]; do
	kb=$(awk '/^VmRSS:/ { print $2 }' /proc/$rec/status 2>/dev/null) || die "recorder gone: $(cat "$tmp/err")"
	mib=$((kb / 1024))
	bar=$(printf '%*s' $((mib / 2)) '' | tr ' ' '#')
	printf '%8d %10.1f  %s\n' "$t" "$(echo "$kb / 1024" | bc -l)" "$bar"
	read -r -t "$step" -u 3 || true
	t=$((t + step))
done
hwm=$(awk '/^VmHWM:/ { print $2 }' /proc/$rec/status)
size=$(stat -c %s "$tmp/rss.data" 2>/dev/null || echo 0)
kill -INT "$rec"; wait "$rec" || true
rec=
tail -n 2 "$tmp/err" | sed 's/^/# /'
printf '# peak RSS (VmHWM) %.1f MiB, limit %d MiB: %s; file %d MiB\n' "$(echo "$hwm / 1024" | bc -l)" \
	"$limit" "$( [ $((hwm / 1024)) -le "$limit" ] && echo ok || echo OVER)" $((size >> 20))
