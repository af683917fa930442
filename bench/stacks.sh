#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# Stacks benchmark: each workload runs untraced, under `procscope record`
# with --no-stacks and with stacks (the default: memory calls, blocking
# switch-outs, 99 Hz CPU samples), under `perf record --call-graph dwarf`
# on the same tracepoints (every event) plus 99 Hz cpu-clock samples, and
# under bpftrace counting `ustack`/`kstack` at the same points (frame-pointer
# stacks: one or two frames through Debian's glibc, so cheaper, and not the
# same result). Prints the median of the workload's own wall time (not the
# tracers' start-up), its ratio to untraced, stacked records, bytes on disk
# per stacked record, lost records and (procscope) stacks skipped because a
# ring was over half full; writes bench/stacks_results.txt.
#
# Runs are interleaved (run 1 of every config, then run 2, ...).
# Usage (as root): bench/stacks.sh   BENCH_RUNS=3, BENCH_ONLY=REGEX (workload names)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
runs=${BENCH_RUNS:-3}
procscope=${PROCSCOPE:-$repo/build/procscope}
results=${BENCH_RESULTS:-$repo/bench/stacks_results.txt}
[ "$(id -u)" -eq 0 ] || { echo "bench: run as root" >&2; exit 1; }
tmp=$(mktemp -d /var/tmp/ps-stacks-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# name|python code
all=(
	"py-alloc|for i in range(40000): b = bytearray(300000)"
	"py-list|l = [bytearray(4000) for _ in range(60000)]"
	"sleep-switch|for i in range(5000): time.sleep(0.0001)"
)
perf_ev=(-c 1)
for t in brk mmap munmap mremap mprotect; do perf_ev+=(-e "syscalls:sys_exit_$t"); done
perf_ev+=(-e sched:sched_switch -e cpu-clock/freq=99/)
bt_prog='tracepoint:syscalls:sys_exit_brk, tracepoint:syscalls:sys_exit_mmap,
tracepoint:syscalls:sys_exit_munmap, tracepoint:syscalls:sys_exit_mremap,
tracepoint:syscalls:sys_exit_mprotect /pid == cpid/ { @m[ustack] = count(); }
tracepoint:sched:sched_switch /args->prev_pid == cpid && args->prev_state != 0/ { @o[ustack, kstack] = count(); }
profile:hz:99 /pid == cpid/ { @c[ustack, kstack] = count(); }'

# The workload's own wall time in us, under config $1.
run_one() {
	local w=$tmp/w.py
	rm -f "$tmp/us"
	case $1 in
	untraced) "$w" ;;
	ps-nostacks) "$procscope" record --no-stacks -o "$tmp/ps.data" -- "$w" 2>"$tmp/ps.err" ;;
	ps-stacks) "$procscope" record -o "$tmp/ps.data" -- "$w" 2>"$tmp/ps.err" ;;
	perf-dwarf) perf record -q -o "$tmp/perf.data" --call-graph dwarf "${perf_ev[@]}" -- "$w" \
		>/dev/null 2>"$tmp/perf.err" ;;
	bpftrace) bpftrace -e "$bt_prog" -c "$(readlink -f /usr/bin/python3) $w" >"$tmp/bt.out" 2>&1 || true ;;
	esac
	cat "$tmp/us" 2>/dev/null || echo "0 0"
	echo
}

# median of column $1 (1: wall us, 2: CPU us)
median() { awk -v c="${1:-1}" 'NF {print $c}' | sort -n | awk '{a[++n] = $1} END {print a[int((n + 1) / 2)]}'; }
# perf's count of $1 events (0 if none: grep finding nothing must not end the script)
perf_stat() { perf report -i "$tmp/perf.data" --stats 2>/dev/null |
	awk -v ev="$1 events:" 'index($0, ev) { sub(/.*events: */, ""); print $1 + 0; exit }'; }

{
printf "# bench/stacks.sh on %s, %s CPUs, Linux %s, %s runs interleaved; medians of the workload's own\n" \
	"$(hostname)" "$(nproc)" "$(uname -r)" "$runs"
printf "# wall time and of its own CPU time (process_time: its threads' user + system time, which\n"
printf "# includes the probes' run time; the tracers' own CPU is not in it), each against untraced\n"
printf "%-13s %-12s %10s %7s %9s %7s %8s %9s %6s %8s\n" workload config wall_ms ratio cpu_ms ratio \
	stacks B/stack lost skipped
for w in "${all[@]}"; do
	name=${w%%|*}
	[[ $name =~ ${BENCH_ONLY:-.} ]] || continue
	printf '#!/usr/bin/python3\nimport time\nt0, c0 = time.perf_counter(), time.process_time()\n%s\nopen("%s", "w").write("%%d %%d" %% ((time.perf_counter() - t0) * 1e6, (time.process_time() - c0) * 1e6))\n' \
		"${w#*|}" "$tmp/us" >"$tmp/w.py"
	chmod +x "$tmp/w.py"
	configs=(untraced ps-nostacks ps-stacks perf-dwarf bpftrace)
	# interleaved, so a change in the machine's load falls on every config alike;
	# the counts are those of each config's last run
	for i in $(seq "$runs"); do
		for cfg in "${configs[@]}"; do
			run_one $cfg >>"$tmp/times.$cfg"
			stacks=- bps=- lost=- skipped=-
			case $cfg in
			ps-*)
				"$procscope" dump -i "$tmp/ps.data" >"$tmp/dump" 2>/dev/null || true
				stacks=$(awk '$4 == "ustack"' "$tmp/dump" | wc -l)
				sz=$(stat -c %s "$tmp/ps.data")
				[ "$stacks" -gt 0 ] && bps=$((sz / stacks))
				lost=$(grep -o 'lost [0-9]* records' "$tmp/ps.err" | grep -o '[0-9]*' || echo 0)
				skipped=$(grep -o ', [0-9]* skipped under load' "$tmp/ps.err" |
					  grep -o '[0-9]*' || echo 0) ;;
			perf-dwarf)
				stacks=$(perf_stat SAMPLE); stacks=${stacks:-0}
				sz=$(stat -c %s "$tmp/perf.data")
				[ "$stacks" -gt 0 ] && bps=$((sz / stacks))
				lost=$(perf_stat LOST); lost=${lost:-0} ;;
			esac
			echo "$stacks $bps $lost $skipped" >"$tmp/counts.$cfg"
		done
	done
	base= cbase=
	for cfg in "${configs[@]}"; do
		us=$(median 1 <"$tmp/times.$cfg")
		cus=$(median 2 <"$tmp/times.$cfg")
		base=${base:-$us} cbase=${cbase:-$cus}
		read -r stacks bps lost skipped <"$tmp/counts.$cfg"
		rm -f "$tmp/times.$cfg"
		printf "%-13s %-12s %10.1f %7.2f %9.1f %7.2f %8s %9s %6s %8s\n" "$name" $cfg \
			"$(echo "$us / 1000" | bc -l)" "$(echo "$us / $base" | bc -l)" \
			"$(echo "$cus / 1000" | bc -l)" "$(echo "$cus / $cbase" | bc -l)" \
			"$stacks" "$bps" "$lost" "$skipped"
	done
done
} | tee "$results"
