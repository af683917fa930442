#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Runs every test: unit tests (built with ASan+UBSan, no BPF) and end-to-end
# tests (real probes on real programs, as root). Ends with "N passed, N failed".
#   tests/run.sh [PATTERN]   only tests whose name contains PATTERN
set -uo pipefail
cd "$(dirname "$0")/.."

# e2e tests run the sanitizer build: the user side must pass under ASan+UBSan
# with real recordings; one more run of the main recording test uses the
# release build that users run.
release=$PWD/build/procscope
export PROCSCOPE=${PROCSCOPE:-$PWD/build-san/procscope}
export WORKLOADS=${WORKLOADS:-$PWD/build/workloads}
export ARTIFACTS=$PWD/tests/artifacts
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p "$ARTIFACTS"
pattern=${1:-}
passed=0 failed=0 skipped=0 failures=()

run() {	# name, command...
	local name=$1; shift
	[ -n "$pattern" ] && [[ $name != *"$pattern"* ]] && return
	local log="$ARTIFACTS/${name//\//_}.log" start=$SECONDS rc
	"$@" >"$log" 2>&1
	rc=$?
	if [ $rc -eq 0 ]; then
		passed=$((passed + 1)); printf 'PASS %-40s %3ds\n' "$name" $((SECONDS - start))
	elif [ $rc -eq 77 ]; then
		skipped=$((skipped + 1)); printf 'SKIP %-40s %s\n' "$name" "$(tail -n 1 "$log")"
	else
		failed=$((failed + 1)); failures+=("$name")
		printf 'FAIL %-40s (exit %d)\n' "$name" $rc
		sed 's/^/    | /' "$log" | tail -n 25
	fi
}

for t in build-san/tests/test_*; do
	[ -x "$t" ] && run "unit/$(basename "$t")" "$t"
done
for t in tests/e2e/*.sh; do
	# a test that lost its exec bit must not pass unseen
	[ -x "$t" ] || { run "e2e/$(basename "$t" .sh)" sh -c "echo '$t is not executable'; exit 1"; continue; }
	run "e2e/$(basename "$t" .sh)" "$t"
done
# each libFuzzer harness (make fuzz) for 20 s from the seed corpus; any finding fails
run "fuzz/harnesses" tests/fuzz/run.sh 20
if [ -x "$release" ] && [ "$PROCSCOPE" != "$release" ]; then
	PROCSCOPE=$release run "e2e-release/rec_cmd" tests/e2e/rec_cmd.sh
fi

echo
[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
