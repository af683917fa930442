#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# What each probe costs in the kernel: with kernel.bpf_stats_enabled, the
# kernel sums every BPF program's run time (run_time_ns) and runs
# (run_cnt). For each procscope binary given, a workload runs under
# `record -a` and the per-program figures are read from bpftool just before
# the recording ends; printed as ns per run, side by side, with the ratio of
# each binary to the first.
#
# Usage (as root): bench/probe_cost.sh [PROCSCOPE_BINARY...]
#   default: build/procscope
# Compare two builds, e.g. before and after a change to the probes:
#   git worktree add /tmp/ps-old REV && make -C /tmp/ps-old all
#   bench/probe_cost.sh /tmp/ps-old/build/procscope build/procscope
# Environment:
#   COST_RUNS=3        runs per binary and workload (the median is printed)
#   COST_ARGS=         extra `record` options for every binary (e.g. --no-stacks)
#   COST_SECONDS=4     length of each recording
#   COST_WORKLOADS="switch brk"
#     switch: perf bench sched pipe (sched_switch, sched_waking), both CPUs
#     switch1: the same on CPU 0 alone (one busy CPU)
#     brk:    stress-ng --brk 1 (brk, mmap, munmap, rss_stat)
#     brk2:   stress-ng --brk 2 (two busy CPUs)
#     mmap:   stress-ng --mmap 1 (mmap, munmap, mprotect, madvise, with the
#             VMA walk that follows each of them)
set -euo pipefail

cd "$(dirname "$0")/.."
runs=${COST_RUNS:-3}
secs=${COST_SECONDS:-4}
workloads=${COST_WORKLOADS:-switch brk}
COST_ARGS=${COST_ARGS:-}
bins=("$@")
[ ${#bins[@]} -gt 0 ] || bins=(build/procscope)

die() { echo "probe_cost: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "run as root"
for t in bpftool perf stress-ng python3; do
	command -v "$t" >/dev/null || die "'$t' is missing (tests/install-deps.sh installs it)"
done
for b in "${bins[@]}"; do
	[ -x "$b" ] || die "no procscope binary at '$b'"
done

tmp=$(mktemp -d /var/tmp/procscope-cost.XXXXXX)
rec= load=
old_stats=$(sysctl -n kernel.bpf_stats_enabled)
cleanup() {
	[ -n "$load" ] && stop_load
	[ -n "$rec" ] && kill -INT "$rec" 2>/dev/null
	wait 2>/dev/null
	sysctl -qw kernel.bpf_stats_enabled="$old_stats"
	rm -rf "$tmp"
}
trap cleanup EXIT
sysctl -qw kernel.bpf_stats_enabled=1

# the load and the processes it forked (perf bench pipe's other end): by pid
stop_load() {
	kill $(pgrep -P "$load") "$load" 2>/dev/null
	wait "$load" 2>/dev/null || true
}

start_load() {	# workload -> pid in $load
	case $1 in
	switch) perf bench sched pipe -l 100000000 >/dev/null 2>&1 & ;;
	switch1) taskset -c 0 perf bench sched pipe -l 100000000 >/dev/null 2>&1 & ;;
	brk) stress-ng --brk 1 --quiet -t 600 & ;;
	brk2) stress-ng --brk 2 --quiet -t 600 & ;;
	mmap) stress-ng --mmap 1 --mmap-bytes 4M --quiet -t 600 & ;;
	*) die "unknown workload '$1'" ;;
	esac
	load=$!
}

# one run: prints "prog ns_per_run runs" lines for the recorder's programs
one_run() {	# binary workload
	local bin=$1 w=$2 ids
	start_load "$w"
	sleep 0.5
	"$bin" record -v -a $COST_ARGS -o "$tmp/cost.data" -d $((secs + 60)) 2>"$tmp/err" &
	rec=$!
	# loading and verifying every program takes seconds: measure from attach on
	until grep -q "recording to" "$tmp/err"; do
		kill -0 "$rec" 2>/dev/null || die "recorder failed: $(tail -n 3 "$tmp/err")"
		sleep 0.1
	done
	sleep "$secs"
	# the recorder's own programs: the prog ids behind its file descriptors
	ids=$(grep -h "^prog_id:" /proc/$rec/fdinfo/* 2>/dev/null | awk '{print $2}' | sort -u | xargs || true)
	bpftool -j prog show | python3 -c '
import json, sys
ids = {int(x) for x in sys.argv[1:]}
for p in json.load(sys.stdin):
    if p["id"] in ids and p.get("run_cnt"):
        print(p["name"], p["run_time_ns"] / p["run_cnt"], p["run_cnt"])
' $ids
	kill -INT "$rec"
	wait "$rec" || true
	rec=
	stop_load
	load=
	rm -f "$tmp"/cost.data*
}

for w in $workloads; do
	for i in "${!bins[@]}"; do
		for r in $(seq "$runs"); do
			one_run "${bins[$i]}" "$w" | sed "s/^/$w $i /"
		done
	done
done >"$tmp/all"

python3 - "$tmp/all" "${bins[@]}" <<'PY'
import statistics, sys
rows, bins = sys.argv[1], sys.argv[2:]
data = {}
for line in open(rows):
    w, i, prog, ns, cnt = line.split()
    data.setdefault((w, prog), {}).setdefault(int(i), []).append(float(ns))
print("ns per run (median of runs); ratio to the first binary")
for i, b in enumerate(bins):
    print(f"  [{i}] {b}")
print(f"{'workload':8} {'program':22}" + "".join(f" {'['+str(i)+']':>9}" for i in range(len(bins))) +
      "".join(f" {'x['+str(i)+']':>7}" for i in range(1, len(bins))))
for (w, prog), by in sorted(data.items()):
    med = [statistics.median(by[i]) if i in by else None for i in range(len(bins))]
    cells = "".join(f" {m:9.1f}" if m is not None else f" {'-':>9}" for m in med)
    ratios = "".join(f" {m / med[0]:7.2f}" if m is not None and med[0] else f" {'-':>7}"
                     for m in med[1:])
    print(f"{w:8} {prog:22}{cells}{ratios}")
PY
