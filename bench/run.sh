#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# The recorder benchmark: each workload runs untraced, under
# `procscope record -a` (call stacks on, the default, and --no-stacks), under
# `perf record -a` with the probes' tracepoints (without call graphs, and
# with --call-graph dwarf where procscope takes stacks) and under the
# bpftrace equivalent (bench/procscope.bt), interleaved, RUNS times each. It
# prints the median wall time of the workload itself (not the tracer's
# start-up or shutdown), the ratio to untraced, records captured, call
# stacks among them, bytes on disk per record, lost records and (procscope)
# stacks skipped under load, and writes the table to bench/results.txt.
#
# Usage (as root): bench/run.sh            or: make bench
# Environment:
#   BENCH_RUNS=5            runs per workload and configuration
#   BENCH_ONLY=REGEX        only the workloads whose name matches
#   BENCH_CONFIGS="untraced procscope ps-nostacks perf perf-dwarf bpftrace"
#   BENCH_SETTLE=0.5        seconds to wait after a tracer is attached
#   BENCH_PERF_MMAP=8M      perf record -m (per CPU); empty: perf's default
#   BENCH_PERF_DWARF_MMAP=16M   the same for perf-dwarf (procscope's ring with stacks)
#   BENCH_BT_PAGES=2048     bpftrace perf buffer pages per CPU (8 MiB)
#   BENCH_PS_ARGS=          extra `procscope record` options (e.g. -b 128M)
#   BENCH_RESULTS=bench/results.txt
#   BENCH_TMP=/var/tmp      where trace files go while a run lasts
#   PROCSCOPE=build/procscope
set -euo pipefail

cd "$(dirname "$0")/.."
repo=$PWD
runs=${BENCH_RUNS:-5}
only=${BENCH_ONLY:-.}
configs=${BENCH_CONFIGS:-untraced procscope ps-nostacks perf perf-dwarf bpftrace}
settle=${BENCH_SETTLE:-0.5}
perf_mmap=${BENCH_PERF_MMAP-8M}
perf_dwarf_mmap=${BENCH_PERF_DWARF_MMAP-16M}
bt_pages=${BENCH_BT_PAGES:-2048}
ps_args=${BENCH_PS_ARGS:-}
results=${BENCH_RESULTS:-$repo/bench/results.txt}
procscope=${PROCSCOPE:-$repo/build/procscope}

die() { echo "bench: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (the tracers need it)"
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive integer, not '$runs'"
# the peers and the workloads (tests/install-deps.sh lists them too)
missing=()
for p in linux-perf bpftrace stress-ng python3; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "bench: installing ${missing[*]}" >&2
	DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null || die "cannot install ${missing[*]}"
fi
[ -x "$procscope" ] || die "no procscope binary at '$procscope' (run make, or set PROCSCOPE)"
for t in perf bpftrace stress-ng taskset python3; do
	command -v "$t" >/dev/null || die "'$t' is missing"
done

tmp=$(mktemp -d "${BENCH_TMP:-/var/tmp}/procscope-bench.XXXXXX")
tracer_pid=
cleanup() {
	if [ -n "$tracer_pid" ] && kill -0 "$tracer_pid" 2>/dev/null; then
		kill -INT "$tracer_pid" 2>/dev/null || true
		wait "$tracer_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The tracepoints bpf/procscope.bpf.c attaches to.
tracepoints=(
	syscalls:sys_exit_brk syscalls:sys_exit_mmap syscalls:sys_exit_munmap
	syscalls:sys_exit_mremap syscalls:sys_exit_mprotect syscalls:sys_exit_clone
	syscalls:sys_exit_clone3 syscalls:sys_exit_fork syscalls:sys_exit_vfork
	syscalls:sys_exit_execve sched:sched_switch sched:sched_waking
	sched:sched_wakeup_new sched:sched_process_fork sched:sched_process_exec
	sched:sched_process_exit task:task_rename kmem:rss_stat
)
perf_events=$(IFS=,; echo "${tracepoints[*]}")
# perf-dwarf: user stacks (8 KiB, perf's default) where procscope takes them:
# the memory calls, sched_switch (every switch: perf cannot pick the blocking
# ones without losing the others) and 99 Hz cpu-clock samples
perf_dwarf_events=
for t in "${tracepoints[@]}"; do
	case $t in
	*sys_exit_brk | *sys_exit_mmap | *sys_exit_munmap | *sys_exit_mremap | *sys_exit_mprotect | \
	sched:sched_switch) perf_dwarf_events+="${perf_dwarf_events:+,}$t/call-graph=dwarf/" ;;
	*) perf_dwarf_events+="${perf_dwarf_events:+,}$t" ;;
	esac
done
perf_dwarf_events+=",cpu-clock/freq=99,call-graph=dwarf/"

# Sized to take about 1-2 s untraced on a 2-CPU VM. The pipe benchmark is
# pinned to one CPU: unpinned, its two tasks ping-pong between CPUs and its
# time swings 5x from run to run on a VM (the usual way to run it).
workloads=(
	"messaging|perf bench sched messaging -g 10 -l 300"
	"pipe|taskset -c 0 perf bench sched pipe -l 600000"
	"brk|stress-ng --brk 2 --brk-ops 1500000 -q"
	"mmap|stress-ng --mmap 2 --mmap-ops 300 --mmap-bytes 4M -q"
	"clone|stress-ng --clone 2 --clone-ops 1000 -q"
)

mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || true

now_s() { echo "$EPOCHREALTIME"; }

# Waits until the tracer PID says it is recording: CHECK (a shell command)
# succeeds; then BENCH_SETTLE more seconds. Fails if the tracer dies first.
wait_ready() {
	local pid=$1 check=$2 i
	for ((i = 0; i < 600; i++)); do
		kill -0 "$pid" 2>/dev/null || return 1
		if eval "$check"; then
			sleep "$settle"
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# BPF programs of other processes on the probed syscall tracepoints. A
# classic tracepoint program returning 0 makes the kernel drop the event for
# every perf event on that tracepoint too (perf_trace_run_bpf_submit()), so
# while one is attached (e.g. another procscope built before its probes
# returned 1, or a bcc tool) perf record silently misses those syscalls.
foreign_tp_bpf() {
	bpftool perf list -j 2>/dev/null | python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)
except ValueError:
    d = []
print(sum(1 for e in d if str(e.get("tracepoint", "")).startswith("sys_exit_")))'
}

perf_enable() {
	timeout 30 sh -c 'echo enable >"$1" && read -r line <"$2" && [ "$line" = ack ]' \
		sh "$tmp/perf.ctl" "$tmp/perf.ack"
}

# Starts tracer CONFIG in the background; sets tracer_pid.
start_tracer() {
	local config=$1
	rm -f "$tmp"/trace.* "$tmp"/tracer.err
	case $config in
	untraced)
		tracer_pid=
		return 0
		;;
	procscope | ps-nostacks)
		# The file is created once the probes are attached; its first chunk
		# (the /proc snapshot) is written once the drain loop runs.
		# shellcheck disable=SC2086
		"$procscope" record -a $ps_args $([ "$config" = ps-nostacks ] && echo --no-stacks) \
			-o "$tmp/trace.ps" >/dev/null 2>"$tmp/tracer.err" &
		tracer_pid=$!
		wait_ready "$tracer_pid" '[ "$(stat -c %s "$tmp/trace.ps" 2>/dev/null || echo 0)" -gt 1024 ]'
		;;
	perf | perf-dwarf)
		# Started disabled; "enable" is acked from perf's main loop, that is
		# after it synthesized the existing tasks and the events are on.
		rm -f "$tmp/perf.ctl" "$tmp/perf.ack"
		mkfifo "$tmp/perf.ctl" "$tmp/perf.ack"
		if [ "$config" = perf ]; then
			set -- ${perf_mmap:+-m "$perf_mmap"} -e "$perf_events"
		else
			set -- ${perf_dwarf_mmap:+-m "$perf_dwarf_mmap"} -e "$perf_dwarf_events"
		fi
		perf record -a "$@" \
			-o "$tmp/trace.perf" \
			-D -1 --control "fifo:$tmp/perf.ctl,$tmp/perf.ack" >/dev/null 2>"$tmp/tracer.err" &
		tracer_pid=$!
		foreign_tp_bpf >"$tmp/foreign.before"
		wait_ready "$tracer_pid" perf_enable
		;;
	bpftrace)
		# exec keeps the PID, so $$ tells the script which process to leave out
		BPFTRACE_PERF_RB_PAGES=$bt_pages sh -c \
			'exec bpftrace -o "$1" "$2" $$' sh "$tmp/trace.bt" "$repo/bench/procscope.bt" \
			>/dev/null 2>"$tmp/tracer.err" &
		tracer_pid=$!
		wait_ready "$tracer_pid" 'grep -q "^procscope.bt: attached" "$tmp/trace.bt" 2>/dev/null'
		;;
	esac
}

# Stops the tracer and prints "records bytes lost blinded stacks skipped" for
# what it wrote (blinded: 1 if perf may have missed syscalls, see
# foreign_tp_bpf; stacks: records with a call stack; skipped: stacks
# procscope left out under load).
stop_tracer() {
	local config=$1 recs bytes lost f blinded=0 stacks=- skipped=-
	if [ -z "$tracer_pid" ]; then
		echo "- - - 0 - -"
		return 0
	fi
	if [[ $config == perf* ]]; then
		if [ "$(cat "$tmp/foreign.before")" != 0 ] || [ "$(foreign_tp_bpf)" != 0 ]; then
			blinded=1
		fi
	fi
	kill -INT "$tracer_pid"
	wait "$tracer_pid" || true
	tracer_pid=
	case $config in
	procscope | ps-nostacks)
		f=$tmp/trace.ps
		recs=$(sed -n 's/^procscope: \([0-9]*\) records,.*/\1/p' "$tmp/tracer.err")
		lost=$(sed -n 's/^procscope: lost \([0-9]*\) records.*/\1/p' "$tmp/tracer.err")
		stacks=$(sed -n 's/^procscope: call stacks: \([0-9]*\) recorded.*/\1/p' "$tmp/tracer.err")
		skipped=$(sed -n 's/^procscope: call stacks: .*, \([0-9]*\) skipped.*/\1/p' "$tmp/tracer.err")
		stacks=${stacks:-0} skipped=${skipped:-0}
		;;
	perf | perf-dwarf)
		f=$tmp/trace.perf
		grep -q '^Events enabled' "$tmp/tracer.err" || die "perf never enabled its events"
		recs=$(sed -n 's/^\[ perf record: Captured.*(\([0-9]*\) samples) \]/\1/p' "$tmp/tracer.err")
		lost=0
		# perf warns when it lost anything; then count: --stats gives each
		# event's lost samples (its aggregated lines, with a %, count records)
		if grep -qi lost "$tmp/tracer.err"; then
			lost=$(perf report -i "$f" --stats 2>/dev/null | awk '
				/LOST_SAMPLES events:/ && !/%/ { s += $3 }
				END { print s + 0 }')
		fi
		if [ "$config" = perf-dwarf ]; then
			stacks=$(perf report -i "$f" --stats 2>/dev/null | awk '
				/^ *[a-z_]*:[a-z_]*|cpu-clock/ { ev = $1 }
				/SAMPLE events:/ && ev ~ /sys_exit_(brk|mmap|munmap|mremap|mprotect)|sched_switch|cpu-clock/ { s += $3 }
				END { print s + 0 }')
		else
			stacks=0
		fi
		;;
	bpftrace)
		f=$tmp/trace.bt
		recs=$(grep -c '^[0-9][0-9]* [0-9][0-9]* [0-9]' "$f" || true)
		lost=$(cat "$f" "$tmp/tracer.err" | sed -n 's/.*Lost \([0-9]*\) events.*/\1/p' |
		       awk '{ s += $1 } END { print s + 0 }')
		;;
	esac
	bytes=$(stat -c %s "$f" 2>/dev/null || echo 0)
	echo "${recs:-0} $bytes ${lost:-0} $blinded $stacks $skipped"
}

data=$tmp/runs.tsv
: >"$data"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
echo "bench: $runs runs x (${configs}); trace files in $tmp" >&2
for ((run = 1; run <= runs; run++)); do
	for w in "${workloads[@]}"; do
		name=${w%%|*}
		cmd=${w#*|}
		[[ "$name" =~ $only ]] || continue
		for config in $configs; do
			if ! start_tracer "$config"; then
				echo "bench: $config did not start:" >&2
				cat "$tmp/tracer.err" >&2
				exit 1
			fi
			t0=$(now_s)
			# shellcheck disable=SC2086
			if ! $cmd >"$tmp/workload.log" 2>&1; then
				echo "bench: workload '$cmd' failed:" >&2
				tail -5 "$tmp/workload.log" >&2
				exit 1
			fi
			t1=$(now_s)
			stop_tracer "$config" >"$tmp/stop.out"
			read -r recs bytes lost blinded stacks skipped <"$tmp/stop.out"
			wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')
			printf '%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$config" "$run" \
				"$wall" "$recs" "$bytes" "$lost" "$blinded" "$stacks" "$skipped" >>"$data"
			printf 'bench: run %d %-9s %-11s %6.3f s  records %s  bytes %s  lost %s  stacks %s  skipped %s%s\n' \
				"$run" "$name" "$config" "$wall" "$recs" "$bytes" "$lost" "$stacks" "$skipped" \
				"$([ "$blinded" = 1 ] && echo '  (blinded: foreign BPF on syscall tracepoints)')" >&2
		done
	done
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

rev=$(git -C "$repo" describe --always --dirty 2>/dev/null || echo unknown)
python3 - "$data" "$runs" "$load_start" "$load_end" "$perf_mmap" "$bt_pages" "$ps_args" \
	"$rev" >"$tmp/table.txt" <<'EOF'
import collections, os, statistics, sys

path, runs, load0, load1, perf_mmap, bt_pages, ps_args, rev = sys.argv[1:9]
rows = collections.defaultdict(list)
order, configs = [], []
for line in open(path):
    name, config, run, wall, recs, nbytes, lost, blind, stacks, skipped = \
        line.rstrip("\n").split("\t")
    if name not in order:
        order.append(name)
    if config not in configs:
        configs.append(config)
    rows[name, config].append((float(wall), recs, nbytes, lost, blind == "1", stacks, skipped))

def num(s):
    return int(s) if s not in ("-", "") else None

u = os.uname()
print(f"# procscope recorder benchmark: median of {runs} interleaved runs per cell")
print(f"# {u.sysname} {u.release} {u.machine}, {os.cpu_count()} CPUs; "
      f"load average at start {load0}, at end {load1}")
print("# the machine was shared with other jobs while this ran: read ratios, not seconds")
print(f"# wall: the workload's own time, tracer attached before and stopped after it")
print(f"# procscope ({rev}): record -a {ps_args} (stacks on: memory calls, blocking switch-outs,")
print("#   99 Hz samples; ring buffer 16 MiB per CPU unless -b says otherwise);")
print("# ps-nostacks: --no-stacks (ring buffer 8 MiB per CPU)")
print(f"# perf: record -a -m {perf_mmap or 'default'} -e <the probes' 18 tracepoints>")
print("# perf-dwarf: the same (-m 16M), with call-graph=dwarf (8 KiB of user stack) on the memory")
print("#   calls and every sched_switch, plus cpu-clock/freq=99,call-graph=dwarf/")
print(f"# bpftrace: bench/procscope.bt, {bt_pages} perf buffer pages per CPU")
print("# records: per run (median); stacks: those with a call stack (median); bytes/rec: file")
print("#   size / records; lost: summed over runs; skipped: call stacks procscope left out")
print("#   because its ring was over half full (their records kept), summed over runs")
print("# blind: perf runs during which another process had a BPF program on the")
print("#   syscall tracepoints, which hides those events from perf; such runs are")
print("#   left out of the medians when there are clean runs")
print()
hdr = f"{'workload':<10} {'tracer':<11} {'wall s':>7} {'min-max':>13} {'ratio':>6} " \
      f"{'records':>9} {'stacks':>8} {'bytes/rec':>9} {'lost':>8} {'skipped':>8} {'blind':>5}"
print(hdr)
print("-" * len(hdr))
for name in order:
    base = rows.get((name, "untraced"))
    base_med = statistics.median(r[0] for r in base) if base else None
    for config in configs:
        rs = rows.get((name, config))
        if not rs:
            continue
        nblind = sum(1 for r in rs if r[4])
        if 0 < nblind < len(rs):
            rs = [r for r in rs if not r[4]]
        walls = [r[0] for r in rs]
        med = statistics.median(walls)
        ratio = f"{med / base_med:6.2f}" if base_med else "     -"
        recs = [num(r[1]) for r in rs]
        stk_s = skip_s = "-"
        if recs[0] is None:
            rec_s, bpr, lost_s = "-", "-", "-"
        else:
            rec_s = f"{int(statistics.median(recs))}"
            per = [num(r[2]) / num(r[1]) for r in rs if num(r[1])]
            bpr = f"{statistics.median(per):.1f}" if per else "-"
            lost_s = f"{sum(num(r[3]) or 0 for r in rs)}"
            if num(rs[0][5]) is not None:
                stk_s = f"{int(statistics.median(num(r[5]) for r in rs))}"
            if num(rs[0][6]) is not None:
                skip_s = f"{sum(num(r[6]) for r in rs)}"
        print(f"{name:<10} {config:<11} {med:7.3f} {min(walls):6.3f}-{max(walls):6.3f} "
              f"{ratio} {rec_s:>9} {stk_s:>8} {bpr:>9} {lost_s:>8} {skip_s:>8} "
              f"{nblind if config.startswith('perf') else '-':>5}")
    print()
EOF
cat "$tmp/table.txt"
cp "$tmp/table.txt" "$results"
echo "bench: table written to $results" >&2
