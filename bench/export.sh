#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# Export speed and memory on a large real session: records the whole machine
# (`record -a`) while `perf bench sched messaging` runs for BENCH_SECONDS
# (default 15, which gives several million records here), then exports it in every
# format and prints records/s and peak RSS per format. Exports stream, so
# peak RSS should not grow with the session (the reader maps the file, so
# RSS also counts the pages of the input it touched).
#
# Usage (as root): bench/export.sh     Environment: BENCH_SECONDS, BENCH_TMP, PROCSCOPE
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${BENCH_SECONDS:-15}
procscope=${PROCSCOPE:-$PWD/build/procscope}
tmp=$(mktemp -d "${BENCH_TMP:-/var/tmp}/procscope-export.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
[ "$(id -u)" -eq 0 ] || { echo "bench: run as root" >&2; exit 1; }
command -v perf >/dev/null || { echo "bench: perf missing (apt-get install linux-perf)" >&2; exit 1; }

"$procscope" record -a -b 256M -o "$tmp/big.data" 2>"$tmp/rec.err" &
rec=$!
sleep 2
end=$((SECONDS + seconds))
while [ $SECONDS -lt $end ]; do
	perf bench sched messaging -l 500 >/dev/null 2>&1
done
kill -INT $rec; wait $rec || true
cat "$tmp/rec.err" >&2
n=$("$procscope" dump -i "$tmp/big.data" | grep -vc '^#')
echo "session: $n records, $(du -h "$tmp/big.data" | cut -f1) on disk"
printf '%-11s %10s %12s %12s\n' format seconds records/s peak_rss_MiB
for fmt in perfetto chrome speedscope folded; do
	/usr/bin/time -f '%e %M' -o "$tmp/time" "$procscope" export -i "$tmp/big.data" --format "$fmt" -o "$tmp/out.$fmt" 2>/dev/null
	read -r secs kib < "$tmp/time"
	printf '%-11s %10.2f %12.0f %12.1f\n' "$fmt" "$secs" "$(echo "$n / $secs" | bc -l)" "$(echo "$kib / 1024" | bc -l)"
	rm -f "$tmp/out.$fmt"
done
