#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Exports say what happened: the committed fixture and a fresh recording of
# export_small, in every format, checked against the workload's own account
# (threads, names, mmap addresses, schedstat) and the raw records
# (tests/e2e/export_check.py); then the --pid/--from/--to filters and bad input.
set -euo pipefail
PROCSCOPE=${PROCSCOPE:-$PWD/procscope}
WORKLOADS=${WORKLOADS:-$PWD/build/workloads}
ARTIFACTS=${ARTIFACTS:-/tmp}
export PROCSCOPE PERFETTO_PROTO=$PWD/../shared/perfetto
[ -d "$PERFETTO_PROTO" ] || { echo "no ../shared/perfetto schema"; exit 1; }
command -v protoc >/dev/null || { echo "protoc missing (apt-get install protobuf-compiler)"; exit 1; }
out=$ARTIFACTS/export_semantics
rm -rf "$out"; mkdir -p "$out/fixture" "$out/fresh"

export_all() {	# data, dir
	"$PROCSCOPE" export -i "$1" --format perfetto -o "$2/x.pftrace"
	"$PROCSCOPE" export -i "$1" --format chrome -o "$2/x.json"
	"$PROCSCOPE" export -i "$1" --format speedscope -o "$2/x.speedscope.json"
	"$PROCSCOPE" export -i "$1" --format folded -o "$2/x.folded"
}

echo "== fixture"
export_all tests/fixtures/export_small.data "$out/fixture"
python3 tests/e2e/export_check.py tests/fixtures/export_small.data tests/fixtures/export_small.out "$out/fixture"

echo "== fresh recording"
"$PROCSCOPE" record -o "$out/fresh.data" -- "$WORKLOADS/export_small" > "$out/fresh.out"
export_all "$out/fresh.data" "$out/fresh"
python3 tests/e2e/export_check.py "$out/fresh.data" "$out/fresh.out" "$out/fresh"
protoc --proto_path="$PERFETTO_PROTO" --decode=perfetto.protos.Trace perfetto_trace.proto \
	< "$out/fresh/x.pftrace" > "$out/fresh/x.pftrace.txt"
grep -q "release: \"$(uname -r)\"" "$out/fresh/x.pftrace.txt" ||
	{ echo "FAIL system_info does not carry this kernel's release $(uname -r)"; exit 1; }

echo "== --pid, --from, --to"
pid=$(awk '$1 == "pid" { print $2 }' "$out/fresh.out")
# a 6 ms window starting 1 ms after the workload's exec (on a loaded machine
# the exec itself may come late after the start of the recording)
from=$("$PROCSCOPE" dump -i "$out/fresh.data" | awk -v p="$pid" '$4 == "process_exec" && $3 == p "/" p && !f { print int($1 / 1000000) + 1; f = 1 }')
to=$((from + 6))
"$PROCSCOPE" export -i "$out/fresh.data" --format chrome --pid "$pid" --from "${from}ms" --to "${to}ms" -o "$out/window.json"
python3 - "$out/window.json" "$pid" "$from" "$to" <<'PY'
import json, sys
ev = json.load(open(sys.argv[1]))["traceEvents"]
pid = int(sys.argv[2])
lo, hi = int(sys.argv[3]) * 1000, int(sys.argv[4]) * 1000
timed = [e for e in ev if e["ph"] in "XiC"]
assert timed, "nothing in the window"
bad = [e for e in timed if e["ph"] == "X" and (e["ts"] < lo or e["ts"] + e["dur"] > hi + 0.0005)]
assert not bad, f"X outside {lo}..{hi} us: {bad[:3]}"
bad = [e for e in timed if e["ph"] != "X" and not lo <= e["ts"] < hi]
assert not bad, f"instants/counters outside {lo}..{hi} us: {bad[:3]}"
other = [e for e in ev if e["pid"] not in (pid, 4194304)]
assert not other, f"events of other processes: {other[:3]}"
cpu = [e for e in timed if e["pid"] == 4194304 and e["args"]["pid"] != pid]
assert not cpu, f"CPU lanes show other processes: {cpu[:3]}"
print(f"ok   window and pid filter: {len(timed)} events, all of pid {pid} within {lo}..{hi} us")
PY

echo "== bad input"
expect_fail() {	# description, args...
	local what=$1; shift
	if "$PROCSCOPE" export "$@" > "$out/err.out" 2> "$out/err.txt"; then
		echo "FAIL $what: exit status 0"; exit 1
	fi
	grep -q '^procscope' "$out/err.txt" || { echo "FAIL $what: no procscope message"; cat "$out/err.txt"; exit 1; }
	echo "ok   $what: $(head -n 1 "$out/err.txt")"
}
expect_fail "missing file" -i "$out/nonexistent.data" --format chrome -o "$out/x.json"
expect_fail "not a session file" -i "$out/fresh.out" --format chrome -o "$out/x.json"
expect_fail "unknown format" -i "$out/fresh.data" --format svg -o "$out/x.svg"
expect_fail "no format" -i "$out/fresh.data"
expect_fail "bad time" -i "$out/fresh.data" --format chrome --from soon -o "$out/x.json"
expect_fail "empty window" -i "$out/fresh.data" --format chrome --from 2s --to 1s -o "$out/x.json"
expect_fail "unwritable output" -i "$out/fresh.data" --format chrome -o /nonexistent/dir/x.json
[ ! -e "$out/x.json" ] || { echo "FAIL a failed export left a file behind"; exit 1; }
echo "all passed"
