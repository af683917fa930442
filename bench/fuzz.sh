#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# A long fuzzing campaign: each libFuzzer harness (make fuzz) in turn, until
# RUNS executions or SECONDS, whichever comes first, from the seed corpus
# plus what earlier campaigns found (kept in $WORK/corpus-NAME). Prints the
# executions and findings per harness; inputs that fail are kept in $WORK.
#   make fuzz && bench/fuzz.sh [RUNS] [SECONDS]    (default 1100000 runs, 3600 s)
set -uo pipefail
cd "$(dirname "$0")/.."
runs=${1:-1100000}
secs=${2:-3600}
dir=${FUZZ_DIR:-build/fuzz}
work=${WORK:-/tmp/procscope-fuzz}
mkdir -p "$work"
status=0
for name in file chunks records; do
	mkdir -p "$work/corpus-$name"
	# small inputs run ~10x faster and reach the same code; the seeds are cut to fit
	nice -n 10 "$dir/fuzz_$name" -runs="$runs" -max_total_time="$secs" -max_len=4096 \
		-timeout=10 -rss_limit_mb=2048 -close_fd_mask=2 -print_final_stats=1 \
		-artifact_prefix="$work/$name-" "$work/corpus-$name" "tests/fuzz/corpus/$name" \
		>"$work/$name.log" 2>&1
	rc=$?
	n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$name.log")
	t=$(sed -n 's/.*Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$work/$name.log")
	if [ $rc -eq 0 ]; then
		echo "fuzz_$name: ${n:-?} executions in ${t:-?} s, no finding"
	else
		echo "fuzz_$name: FINDING after ${n:-?} executions (exit $rc), see $work/$name.log"
		status=1
	fi
done
exit $status
