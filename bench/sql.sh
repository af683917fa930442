#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# SQL speed on a large real session: records the whole machine (`record -a`)
# while `perf bench sched messaging` runs for BENCH_SECONDS (default 40: about
# 10 M records here), then
#   - builds the SQLite database (`export --format sqlite`): records/s, peak RSS;
#   - times `procscope sql` queries over sched_slice on the cached database;
#   - side by side, the peers on the same workload: `perf sched record` for
#     the same seconds, then `perf sched timehist -s` (per-task run times, the
#     nearest thing perf has to a sched_slice query) and `perf script`
#     (every event decoded), in events/s.
# Prints one table; no assertion (speed is not a test).
#
# Usage (as root): bench/sql.sh     Environment: BENCH_SECONDS, BENCH_TMP, PROCSCOPE
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${BENCH_SECONDS:-40}
procscope=${PROCSCOPE:-$PWD/build/procscope}
tmp=$(mktemp -d "${BENCH_TMP:-/var/tmp}/procscope-sql.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
[ "$(id -u)" -eq 0 ] || { echo "bench: run as root" >&2; exit 1; }
command -v perf >/dev/null || { echo "bench: perf missing (apt-get install linux-perf)" >&2; exit 1; }

load() {	# runs the workload for $seconds
	local end=$((SECONDS + seconds))
	while [ $SECONDS -lt $end ]; do
		perf bench sched messaging -l 500 >/dev/null 2>&1
	done
}

timed() {	# label, records, command...: prints seconds, rate, peak RSS
	local label=$1 n=$2; shift 2
	/usr/bin/time -f '%e %M' -o "$tmp/time" "$@" >"$tmp/out" 2>"$tmp/err" || { cat "$tmp/err" >&2; return 1; }
	read -r secs kib < "$tmp/time"
	printf '%-44s %8.2f %12s %8.0f\n' "$label" "$secs" \
		"$([ "$n" -gt 0 ] && printf '%.0f' "$(echo "$n / ($secs + 0.005)" | bc -l)" || echo -)" \
		"$(echo "$kib / 1024" | bc -l)"
}

"$procscope" record -a -b 256M -o "$tmp/big.data" 2>"$tmp/rec.err" &
rec=$!
sleep 2
load
kill -INT $rec; wait $rec || true
n=$("$procscope" sql -i "$tmp/big.data" --csv "SELECT value FROM session WHERE key = 'records'" | tail -1 | tr -d '\r')
rm -f "$tmp/big.data.db"
echo "procscope session: $n records, $(du -h "$tmp/big.data" | cut -f1) on disk"

perf sched record -o "$tmp/perf.data" -- sleep "$seconds" >/dev/null 2>&1 &
prec=$!
load
wait $prec || true
pn=$(perf script -i "$tmp/perf.data" 2>/dev/null | wc -l)
echo "perf sched session: $pn events, $(du -h "$tmp/perf.data" | cut -f1) on disk"

printf '\n%-44s %8s %12s %8s\n' "" seconds "records/s" "RSS MiB"
timed "procscope export --format sqlite" "$n" \
	"$procscope" export -i "$tmp/big.data" --format sqlite -o "$tmp/big.data.db"
echo "  database: $(du -h "$tmp/big.data.db" | cut -f1); rows: $("$procscope" sql -i "$tmp/big.data" --csv \
	"SELECT (SELECT COUNT(*) FROM sched_slice) || ' sched_slice, ' || (SELECT COUNT(*) FROM thread_state) || ' thread_state, ' || (SELECT COUNT(*) FROM counter) || ' counter'" | tail -1 | tr -d '\r')"
timed "procscope report (one pass, for scale)" "$n" "$procscope" report -i "$tmp/big.data"
timed "sql: run time per thread (sched_slice)" 0 "$procscope" sql -i "$tmp/big.data" \
	"SELECT utid, COUNT(*) AS runs, SUM(dur) AS ns FROM sched_slice GROUP BY utid ORDER BY ns DESC LIMIT 10"
timed "sql: busy time per CPU (sched_slice)" 0 "$procscope" sql -i "$tmp/big.data" \
	"SELECT cpu, SUM(dur) FROM sched_slice WHERE utid != 0 GROUP BY cpu"
timed "sql: longest runnable waits (thread_state)" 0 "$procscope" sql -i "$tmp/big.data" \
	"SELECT utid, MAX(dur) AS w FROM thread_state WHERE state IN ('R', 'R+') GROUP BY utid ORDER BY w DESC LIMIT 10"
timed "perf sched timehist -s (per-task summary)" "$pn" perf sched timehist -i "$tmp/perf.data" -s
timed "perf script (every event decoded)" "$pn" perf script -i "$tmp/perf.data"
