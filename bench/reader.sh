#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# Reader speed and memory: how long each verb takes to read a large session,
# next to `dump` (which does nothing but decode and print every record) and
# next to perf reading the same workload's events. For each session it
# records the whole machine (`record -a -d SECONDS`) while a workload runs,
# records the same workload again with `perf record -a` on the tracepoints
# the probes use, then times every reader BENCH_RUNS times and prints the
# median wall and CPU seconds, records/s, peak RSS and the ratio to dump.
# CPU seconds (user + sys) are the figure to compare on a shared machine:
# wall time also counts waiting for a CPU.
#
# Sessions (BENCH_SESSIONS, default "brk sched messaging"):
#   brk        stress-ng --brk 1 --switch 1: millions of brk calls, a heap
#              cut into thousands of regions by munmap, plus switches
#   sched      stress-ng --switch 2: switches and wakeups only
#   messaging  perf bench sched messaging in a loop: thousands of short-lived
#              processes (peak RSS should follow the live ones)
#
# A benchmark, not a test: nothing here passes or fails on time.
# Usage (as root): bench/reader.sh
# Environment:
#   BENCH_SECONDS=10   length of each recording
#   BENCH_RUNS=3       timed runs per verb (the median is printed)
#   BENCH_SESSIONS="brk sched messaging"
#   BENCH_TMP=/var/tmp where the session files go while the script runs
#   BENCH_KEEP=1       keep them (the directory is printed)
#   PROCSCOPE=build/procscope
#   BENCH_RECORD_OPTS="--no-stacks"  options for `record`: call stacks make each
#                        record several times larger and a busy -a session loses
#                        records, so by default the sessions hold the events perf
#                        records (set it empty to record stacks)
#   BENCH_BASELINE=PATH  another procscope binary (an older build) timed on the
#                        same files, rows marked "(base)", BENCH_BASELINE_RUNS times (1)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${BENCH_SECONDS:-10}
runs=${BENCH_RUNS:-3}
sessions=${BENCH_SESSIONS:-brk sched messaging}
procscope=${PROCSCOPE:-$PWD/build/procscope}
record_opts=${BENCH_RECORD_OPTS---no-stacks}

die() { echo "bench: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "run as root (the tracers need it)"
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || die "BENCH_SECONDS must be a positive integer"
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive integer"
for c in perf stress-ng /usr/bin/time; do
	command -v "$c" >/dev/null || die "$c missing (apt-get install linux-perf stress-ng time)"
done
[ -x "$procscope" ] || die "no $procscope: make first"

tmp=$(mktemp -d "${BENCH_TMP:-/var/tmp}/procscope-reader.XXXXXX")
load_pid=
cleanup() {
	if [ -n "$load_pid" ] && kill -0 "$load_pid" 2>/dev/null; then
		kill -TERM "$load_pid" 2>/dev/null || true
		wait "$load_pid" 2>/dev/null || true
	fi
	if [ -n "${BENCH_KEEP:-}" ]; then echo "bench: files kept in $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The tracepoints bpf/procscope.bpf.c attaches to (as in bench/run.sh).
perf_events=syscalls:sys_exit_brk,syscalls:sys_exit_mmap,syscalls:sys_exit_munmap
perf_events+=,syscalls:sys_exit_mremap,syscalls:sys_exit_mprotect,syscalls:sys_exit_clone
perf_events+=,syscalls:sys_exit_clone3,syscalls:sys_exit_fork,syscalls:sys_exit_vfork
perf_events+=,syscalls:sys_exit_execve,sched:sched_switch,sched:sched_waking
perf_events+=,sched:sched_wakeup_new,sched:sched_process_fork,sched:sched_process_exec
perf_events+=,sched:sched_process_exit,task:task_rename,kmem:rss_stat

# Starts session $1's workload in the background for $2 seconds; its pid in load_pid.
start_load() {
	local secs=$2
	case $1 in
	brk) stress-ng --brk 1 --switch 1 -t "$secs" -q >/dev/null 2>&1 & ;;
	sched) stress-ng --switch 2 -t "$secs" -q >/dev/null 2>&1 & ;;
	messaging)
		(end=$((SECONDS + secs))
		 while [ $SECONDS -lt $end ]; do perf bench sched messaging -l 20 >/dev/null 2>&1; done) & ;;
	*) die "unknown session '$1'" ;;
	esac
	load_pid=$!
	sleep 1	# let it get going before the tracer starts
}

stop_load() {
	kill -TERM "$load_pid" 2>/dev/null || true
	wait "$load_pid" 2>/dev/null || true
	load_pid=
}

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# time_verb NAME RECORDS CMD...: runs CMD (stdout to /dev/null) $runs times,
# prints one table row and remembers dump's time for the ratios.
dump_wall= dump_cpu=
time_verb() {
	local name=$1 n=$2 wall cpu rss
	shift 2
	: > "$tmp/times"
	for ((i = 0; i < runs; i++)); do
		if ! /usr/bin/time -f '%e %U %S %M' -o "$tmp/time" "$@" >/dev/null 2>"$tmp/err"; then
			printf '%-29s failed: %s\n' "$name" "$(tail -n 1 "$tmp/err")"
			return
		fi
		cat "$tmp/time" >> "$tmp/times"
	done
	wall=$(awk '{ print $1 }' "$tmp/times" | median)
	cpu=$(awk '{ print $2 + $3 }' "$tmp/times" | median)
	rss=$(awk '{ print $4 }' "$tmp/times" | median)
	if [ "$name" = dump ]; then dump_wall=$wall; dump_cpu=$cpu; fi
	awk -v name="$name" -v n="$n" -v w="$wall" -v c="$cpu" -v r="$rss" \
	    -v dw="$dump_wall" -v dc="$dump_cpu" 'function max(a, b) { return a > b ? a : b }
	BEGIN { printf "%-29s %8.2f %8.2f %10.2f %10.2f %9.1f %7.2f %7.2f\n", name, w, c,
		n / max(w, 0.005) / 1e6, n / max(c, 0.005) / 1e6, r / 1024,
		w / max(dw, 0.005), c / max(dc, 0.005) }'
}

printf '# %s (%s) reader benchmark: %s s sessions, median of %s runs, %s CPUs, kernel %s\n' \
	"$("$procscope" --version 2>/dev/null | head -n 1)" "$(git rev-parse --short HEAD 2>/dev/null || echo '?')" \
	"$seconds" "$runs" "$(nproc)" "$(uname -r)"
for s in $sessions; do
	data=$tmp/$s.data
	start_load "$s" $((seconds + 3))
	# shellcheck disable=SC2086 # options are words
	"$procscope" record $record_opts -a -d "$seconds" -b 256M -o "$data" 2>"$tmp/rec.err" ||
		{ cat "$tmp/rec.err" >&2; die "record failed"; }
	stop_load
	start_load "$s" $((seconds + 3))
	perf record -q -a -m 8M -e "$perf_events" -o "$tmp/$s.perf" -- sleep "$seconds" \
		>/dev/null 2>"$tmp/perf.err" || { cat "$tmp/perf.err" >&2; die "perf record failed"; }
	stop_load

	n=$("$procscope" dump -i "$data" | grep -vc '^#')
	np=$(perf script -i "$tmp/$s.perf" 2>/dev/null | wc -l)
	# the process with the most memory records, for layout
	busy=$("$procscope" dump -i "$data" | awk '$4 ~ /^(brk|mmap|munmap|mprotect|mremap)$/ {
		split($3, t, "/"); c[t[1]]++ } END { for (p in c) if (c[p] > m) { m = c[p]; b = p } print b }')
	echo
	echo "## $s: $n records, $(du -h "$data" | cut -f1) on disk; perf: $np events, $(du -h "$tmp/$s.perf" | cut -f1)"
	printf '%-29s %8s %8s %10s %10s %9s %7s %7s\n' verb wall_s cpu_s Mrec/s Mrec/cpu_s rss_MiB wall/dump cpu/dump
	dump_wall= dump_cpu=
	for bin in "$procscope" ${BENCH_BASELINE:+"$BENCH_BASELINE"}; do
		tag= keep_runs=$runs
		if [ "$bin" != "$procscope" ]; then tag=" (base)"; runs=${BENCH_BASELINE_RUNS:-1}; fi
		time_verb "dump$tag" "$n" "$bin" dump -i "$data"
		time_verb "report$tag" "$n" "$bin" report -i "$data"
		time_verb "layout --at end$tag" "$n" "$bin" layout -i "$data" --pid "${busy:-1}" --at end
		time_verb "timeline$tag" "$n" "$bin" timeline -i "$data"
		for fmt in perfetto chrome speedscope folded; do
			time_verb "export $fmt$tag" "$n" "$bin" export -i "$data" --format "$fmt" -o -
		done
		runs=$keep_runs
	done
	time_verb "perf script" "$np" perf script -i "$tmp/$s.perf"
	time_verb "perf sched timehist" "$np" perf sched timehist -i "$tmp/$s.perf"
	rm -f "$data" "$tmp/$s.perf"
done
