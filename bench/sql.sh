#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# SQL speed on a large real session: `perf bench sched pipe -l BENCH_LOOPS`
# (default 1,400,000 round trips: about 10 M records, call stacks included)
# recorded by procscope,
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
# Usage (as root): bench/sql.sh
# Environment:
#   BENCH_LOOPS=1400000     round trips of perf bench sched pipe
#   BENCH_RECORD_OPTS=      options for `record` (e.g. --no-stacks: with call
#                           stacks, unwinding them is half of the build)
#   BENCH_BASELINE=PATH     another procscope (an older build): its build and
#                           queries timed on the same session, rows "(base)"
#   BENCH_PEERS=1           0: leave out perf (the same figures for any session)
#   BENCH_TMP=/var/tmp, PROCSCOPE=build/procscope
set -euo pipefail
cd "$(dirname "$0")/.."
loops=${BENCH_LOOPS:-1400000}
procscope=${PROCSCOPE:-$PWD/build/procscope}
baseline=${BENCH_BASELINE:-}
record_opts=${BENCH_RECORD_OPTS:-}
peers=${BENCH_PEERS:-1}
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
	printf '%-52s %7.2f %7.2f %12s %8.0f\n' "$label" "$wall" "$cpu" \
		"$([ "$n" -gt 0 ] && printf '%.0f' "$(echo "$n / ($cpu + 0.005)" | bc -l)" || echo -)" \
		"$(echo "$kib / 1024" | bc -l)"
}

queries=(
	"runs and run time per thread|SELECT utid, COUNT(*) AS runs, SUM(dur) AS ns FROM sched_slice GROUP BY utid"
	"busy time per CPU|SELECT cpu, SUM(dur) FROM sched_slice WHERE utid != 0 GROUP BY cpu"
	"10 longest runs|SELECT ts, dur, cpu, utid FROM sched_slice ORDER BY dur DESC LIMIT 10"
	"runs in a 1 s window|SELECT COUNT(*), SUM(dur) FROM sched_slice WHERE ts BETWEEN 1000000000 AND 2000000000"
	"one thread's runs in a 1 s window|SELECT COUNT(*), SUM(dur) FROM sched_slice WHERE utid = 1 AND ts BETWEEN 1000000000 AND 2000000000"
	"runs per end state (GROUP BY, no index)|SELECT end_state, COUNT(*) FROM sched_slice GROUP BY end_state"
	"longest runnable wait per thread (thread_state)|SELECT utid, MAX(dur) FROM thread_state WHERE state IN ('R', 'R+') GROUP BY utid"
)

# the database of SESSION by BINARY, then the queries on it; TAG marks the rows
sql_bench() {	# binary, session, tag
	local bin=$1 data=$2 tag=$3 q
	timed "procscope export --format sqlite$tag" "$n" \
		"$bin" export -i "$data" --format sqlite -o "$data.db"
	for q in "${queries[@]}"; do
		timed "sql: ${q%%|*}$tag" 0 "$bin" sql -i "$data" "${q#*|}"
	done
	echo "  database$tag: $(du -h "$data.db" | cut -f1)"
}

# shellcheck disable=SC2086 # options are words
"$procscope" record $record_opts -o "$tmp/big.data" -- perf bench sched pipe -l "$loops" >/dev/null 2>"$tmp/rec.err"
n=$(sed -n 's/.*procscope: \([0-9]*\) records.*/\1/p' "$tmp/rec.err" | tail -1)
echo "procscope session: $n records, $(du -h "$tmp/big.data" | cut -f1) on disk"
if [ "$peers" = 1 ]; then
	perf sched record -o "$tmp/perf.data" -- perf bench sched pipe -l "$loops" >/dev/null 2>&1
	pn=$(perf script -i "$tmp/perf.data" 2>/dev/null | wc -l)
	echo "perf sched session: $pn events, $(du -h "$tmp/perf.data" | cut -f1) on disk"
fi

printf '\n%-52s %7s %7s %12s %8s\n' "" wall_s cpu_s "records/cpu_s" "RSS_MiB"
sql_bench "$procscope" "$tmp/big.data" ""
echo "  $("$procscope" sql -i "$tmp/big.data" --csv \
	"SELECT (SELECT COUNT(*) FROM sched_slice) || ' sched_slice rows, ' || (SELECT COUNT(*) FROM thread_state) || ' thread_state rows, ' || (SELECT COUNT(*) FROM stack_sample) || ' stack_sample rows'" | tail -1 | tr -d '\r')"
rm -f "$tmp/big.data.db"
if [ -n "$baseline" ]; then
	cp "$tmp/big.data" "$tmp/base.data"	# its own FILE.db: the schemas differ
	sql_bench "$baseline" "$tmp/base.data" " (base)"
	rm -f "$tmp/base.data.db"
fi
timed "procscope export --format chrome (no SQLite)" "$n" \
	"$procscope" export -i "$tmp/big.data" --format chrome -o "$tmp/big.json"
rm -f "$tmp/big.json"
timed "procscope report" "$n" "$procscope" report -i "$tmp/big.data"
[ "$peers" = 1 ] || exit 0
timed "perf sched timehist -s (per-task summary)" "$pn" perf sched timehist -i "$tmp/perf.data" -s
timed "perf script (every event decoded)" "$pn" perf script -i "$tmp/perf.data"
