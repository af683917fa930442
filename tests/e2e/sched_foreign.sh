#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Scheduling counters on programs nobody here wrote, attached with -p (so
# every thread existed before recording: the snapshot's counters are the
# base). stress-ng's switch stressor is frozen with SIGSTOP while the
# recorder snapshots it and again before the recording ends, so /proc's
# counters then are final: per thread, nvcsw/nivcsw must equal
# voluntary/nonvoluntary_ctxt_switches exactly and on-CPU time
# (snapshot + traced) must be within 0.5% or 200 us of schedstat.
set -euo pipefail
: "${PROCSCOPE:?}" "${ARTIFACTS:?}"
[ "$(id -u)" = 0 ] || { echo "needs root"; exit 1; }
command -v stress-ng >/dev/null || { echo "stress-ng not installed (tests/install-deps.sh installs it)"; exit 1; }
out=$ARTIFACTS/sched_foreign
mkdir -p "$out"
rm -f "$out/stress.data" "$out/record.err" "$out/kernel.txt"

stress-ng --switch 2 -t 60 --quiet &
spid=$!
rec=
cleanup() {
	[ -n "$rec" ] && kill -INT "$rec" 2>/dev/null || true
	kill -CONT $(tree_pids) 2>/dev/null || true
	kill "$spid" 2>/dev/null || true
	wait 2>/dev/null || true
}
tree_pids() {	# stress-ng and every descendant
	local all=$spid new=$spid
	while [ -n "$new" ]; do
		new=$(for p in $new; do cat /proc/$p/task/*/children 2>/dev/null; done | xargs)
		all="$all $new"
	done
	echo $all
}
trap cleanup EXIT
# its workers and their children appear within a moment
for _ in $(seq 50); do
	[ "$(tree_pids | wc -w)" -ge 5 ] && break
	sleep 0.1
done
pids=$(tree_pids)
kill -STOP $pids
sleep 0.2
"$PROCSCOPE" record -v -o "$out/stress.data" -p "$(echo $pids | tr ' ' ,)" -d 4 \
	>"$out/record.out" 2>"$out/record.err" &
rec=$!
for _ in $(seq 600); do
	grep -q "recording to" "$out/record.err" 2>/dev/null && break
	sleep 0.05
done
grep -q "recording to" "$out/record.err" || { echo "recorder did not start"; exit 1; }
if grep -q "exited before recording" "$out/record.err"; then
	echo "stress-ng ended under us (killed by someone else?)"; exit 1
fi
kill -CONT $pids
sleep 1
kill -STOP $pids
sleep 0.2
for p in $pids; do
	for t in /proc/$p/task/*; do
		tid=${t##*/}
		echo "$p $tid $(awk '/^voluntary_ctxt_switches/{v=$2} /^nonvoluntary_ctxt_switches/{n=$2} END{print v, n}' $t/status) $(cut -d' ' -f1 $t/schedstat)"
	done
done >"$out/kernel.txt"
wait "$rec"
rec=
"$PROCSCOPE" report -i "$out/stress.data" --json >"$out/stress.json"
python3 - "$out/kernel.txt" "$out/stress.json" <<'PY'
import json, sys
kern, rep = sys.argv[1], json.load(open(sys.argv[2]))
threads = {t["tid"]: t for p in rep["processes"] for t in p["threads"]}
fail, total = [], 0
for line in open(kern):
    pid, tid, nv, niv, oncpu = map(int, line.split())
    t = threads.get(tid)
    if t is None:
        fail.append(f"{tid} missing"); continue
    total += nv + niv
    # the kernel charges a switch at its rq clock update, the tracepoint
    # fires after pick_next_task: up to ~1 us per switch moves between
    # prev and next (measured 0.6 us here), which matters only when slices
    # are tens of us, as in this stressor
    traced = nv + niv - t["before_trace"]["nvcsw"] - t["before_trace"]["nivcsw"]
    ok = (t["nvcsw"] == nv and t["nivcsw"] == niv and not t["born_in_trace"]
          and abs(t["oncpu_total_ns"] - oncpu) <= max(0.005 * oncpu, 200e3))
    print(("ok  " if ok else "FAIL"), tid, "model", t["nvcsw"], t["nivcsw"], t["oncpu_total_ns"],
          "kernel", nv, niv, oncpu, "before", t.get("before_trace"))
    if not ok:
        fail.append(str(tid))
# every switch record carries the kernel's totals, so a lost record or an
# unreported switch costs nothing here: only the last switch-out of each
# thread (at its SIGSTOP) counts
print("switches in all:", total, "lost records:", rep["lost_records"])
sys.exit(1 if fail or total < 1000 else 0)
PY
