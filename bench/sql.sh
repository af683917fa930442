#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# SQL speed on a large real session: `perf bench sched pipe -l BENCH_LOOPS`
# (default 4,000,000 round trips: about 10 M records) recorded by procscope,
# then
#   - the SQLite database built (`export --format sqlite`): records/s and
#     peak RSS, next to `export --format chrome` (the same replay and models,
#     no SQLite) and `report`;
#   - `procscope sql` queries over sched_slice and thread_state on it;
#   - the peers on the same command: `perf sched record`, then `perf sched
#     timehist -s` (per-task run-time summary, the nearest thing perf has to
#     a sched_slice query) and `perf script` (every event decoded).
# Prints wall and CPU (user + sys) seconds: on a loaded machine the CPU
# figures are the comparable ones. No assertion: speed is not a test.
#
# Usage (as root): bench/sql.sh     Environment: BENCH_LOOPS, BENCH_TMP, PROCSCOPE
set -euo pipefail
cd "$(dirname "$0")/.."
loops=${BENCH_LOOPS:-4000000}
procscope=${PROCSCOPE:-$PWD/build/procscope}
tmp=$(mktemp -d "${BENCH_TMP:-/var/tmp}/procscope-sql.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
[ "$(id -u)" -eq 0 ] || { echo "bench: run as root" >&2; exit 1; }
command -v perf >/dev/null || { echo "bench: perf missing (apt-get install linux-perf)" >&2; exit 1; }

timed() {	# label, records, command...: wall s, CPU s, records per CPU s, peak RSS
	local label=$1 n=$2; shift 2
	/usr/bin/time -f '%e %U %S %M' -o "$tmp/time" "$@" >"$tmp/out" 2>"$tmp/err" ||
		{ cat "$tmp/err" >&2; return 1; }
	read -r wall user sys kib < "$tmp/time"
	cpu=$(echo "$user + $sys" | bc -l)
	printf '%-46s %7.2f %7.2f %12s %8.0f\n' "$label" "$wall" "$cpu" \
		"$([ "$n" -gt 0 ] && printf '%.0f' "$(echo "$n / ($cpu + 0.005)" | bc -l)" || echo -)" \
		"$(echo "$kib / 1024" | bc -l)"
}

"$procscope" record -o "$tmp/big.data" -- perf bench sched pipe -l "$loops" >/dev/null 2>"$tmp/rec.err"
n=$(sed -n 's/.*procscope: \([0-9]*\) records.*/\1/p' "$tmp/rec.err" | tail -1)
echo "procscope session: $n records, $(du -h "$tmp/big.data" | cut -f1) on disk"
perf sched record -o "$tmp/perf.data" -- perf bench sched pipe -l "$loops" >/dev/null 2>&1
pn=$(perf script -i "$tmp/perf.data" 2>/dev/null | wc -l)
echo "perf sched session: $pn events, $(du -h "$tmp/perf.data" | cut -f1) on disk"

printf '\n%-46s %7s %7s %12s %8s\n' "" wall_s cpu_s "records/cpu_s" "RSS_MiB"
timed "procscope export --format sqlite" "$n" \
	"$procscope" export -i "$tmp/big.data" --format sqlite -o "$tmp/big.data.db"
touch -r "$tmp/big.data" "$tmp/big.data"	# the cache check compares the session's mtime
timed "procscope export --format chrome (no SQLite)" "$n" \
	"$procscope" export -i "$tmp/big.data" --format chrome -o "$tmp/big.json"
rm -f "$tmp/big.json"
timed "procscope report" "$n" "$procscope" report -i "$tmp/big.data"
echo "  database: $(du -h "$tmp/big.data.db" | cut -f1); $("$procscope" sql -i "$tmp/big.data" --csv \
	"SELECT (SELECT COUNT(*) FROM sched_slice) || ' sched_slice rows, ' || (SELECT COUNT(*) FROM thread_state) || ' thread_state rows, ' || (SELECT COUNT(*) FROM counter) || ' counter rows'" | tail -1 | tr -d '\r')"
timed "sql: runs and run time per thread" 0 "$procscope" sql -i "$tmp/big.data" \
	"SELECT utid, COUNT(*) AS runs, SUM(dur) AS ns FROM sched_slice GROUP BY utid"
timed "sql: busy time per CPU" 0 "$procscope" sql -i "$tmp/big.data" \
	"SELECT cpu, SUM(dur) FROM sched_slice WHERE utid != 0 GROUP BY cpu"
timed "sql: 10 longest runs" 0 "$procscope" sql -i "$tmp/big.data" \
	"SELECT ts, dur, cpu, utid FROM sched_slice ORDER BY dur DESC LIMIT 10"
timed "sql: longest runnable wait per thread" 0 "$procscope" sql -i "$tmp/big.data" \
	"SELECT utid, MAX(dur) FROM thread_state WHERE state IN ('R', 'R+') GROUP BY utid"
timed "perf sched timehist -s (per-task summary)" "$pn" perf sched timehist -i "$tmp/perf.data" -s
timed "perf script (every event decoded)" "$pn" perf script -i "$tmp/perf.data"
