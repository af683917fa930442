#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# A real viewer: the speedscope export of a fresh recording, opened in
# speedscope (npm) in headless Chromium, lists the workload's thread names;
# for stacks_work (-O2 -fomit-frame-pointer), the sleeping thread's slices
# open into sleep_in_nanosleep and the spinning thread's CPU samples into
# spin_on_cpu (the functions the program spends its time in, by its source).
# Keeps the screenshots in $ARTIFACTS. Skips (77) only without chromium or npm.
set -euo pipefail
PROCSCOPE=${PROCSCOPE:-$PWD/procscope}
WORKLOADS=${WORKLOADS:-$PWD/build/workloads}
ARTIFACTS=${ARTIFACTS:-/tmp}
chromium=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
[ -n "$chromium" ] || { echo "chromium missing (apt-get install chromium)"; exit 1; }
command -v node >/dev/null && command -v npm >/dev/null || { echo "node/npm missing"; exit 1; }
if [ ! -d tests/viewer/node_modules/speedscope ] || [ ! -d tests/viewer/node_modules/puppeteer-core ]; then
	(cd tests/viewer && npm install --no-audit --no-fund --loglevel=error) ||
		{ echo "npm cannot install speedscope/puppeteer-core"; exit 1; }
fi
out=$ARTIFACTS/export_viewer
rm -rf "$out"; mkdir -p "$out"
"$PROCSCOPE" record -o "$out/run.data" -- "$WORKLOADS/export_small" > "$out/run.out"
"$PROCSCOPE" export -i "$out/run.data" --format speedscope -o "$out/run.speedscope.json"
mapfile -t names < <(awk '$1 == "thread" { print $3 " (tid " $2 ")" }' "$out/run.out")
[ ${#names[@]} -eq 3 ] || { echo "workload printed ${#names[@]} threads, want 3"; exit 1; }
CHROMIUM=$chromium timeout 180 node tests/viewer/speedscope_check.mjs \
	"$out/run.speedscope.json" "$out/speedscope.png" "${names[@]}"
echo "screenshot: $out/speedscope.png"

"$PROCSCOPE" record -o "$out/stk.data" -- "$WORKLOADS/stacks_work" > "$out/stk.out"
"$PROCSCOPE" export -i "$out/stk.data" --format speedscope -o "$out/stk.speedscope.json"
sleep_tid=$(awk '$1 == "sleep_tid" { print $2 }' "$out/stk.out")
spin_tid=$(awk '$1 == "spin_tid" { print $2 }' "$out/stk.out")
CHROMIUM=$chromium timeout 180 node tests/viewer/speedscope_check.mjs \
	"$out/stk.speedscope.json" "$out/speedscope_stacks.png" \
	"stk-sleep (tid $sleep_tid)" "stk-spin (tid $spin_tid) CPU samples" \
	sleep_in_nanosleep spin_on_cpu
echo "screenshot: $out/speedscope_stacks.png"
