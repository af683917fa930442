#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Runs each libFuzzer harness (make fuzz) from the seed corpus for a bounded
# time; fails on any finding (crash, sanitizer report, leak, timeout) and
# keeps the input that caused it in $ARTIFACTS.
#   tests/fuzz/run.sh [SECONDS_PER_HARNESS]   (default 20: about 60 s for three)
set -uo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-20}
dir=${FUZZ_DIR:-build/fuzz}
art=${ARTIFACTS:-/tmp}/fuzz
mkdir -p "$art"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
for name in file chunks records; do
	bin=$dir/fuzz_$name
	if [ ! -x "$bin" ]; then
		echo "FAIL: $bin missing (make fuzz)"; fails=$((fails + 1)); continue
	fi
	mkdir -p "$tmp/$name"
	# new inputs go to the scratch corpus, never into the repo's seeds
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -close_fd_mask=2 \
		-artifact_prefix="$art/$name-" "$tmp/$name" "tests/fuzz/corpus/$name" \
		>"$tmp/$name.log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$tmp/$name.log")
	if [ $rc -ne 0 ]; then
		echo "FAIL: fuzz_$name: finding after ${runs:-?} runs (exit $rc); input kept in $art/"
		grep -m1 -A25 -E "ERROR: |runtime error|SUMMARY" "$tmp/$name.log"
		fails=$((fails + 1))
	else
		echo "ok: fuzz_$name: ${runs:-?} runs in ${secs} s, no finding"
	fi
done
[ $fails -eq 0 ]
