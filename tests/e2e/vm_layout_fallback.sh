#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The feature-check fallbacks, forced on a kernel that has everything:
# - PROCSCOPE_NO_VMA_ITER=1: the probes do not list the VMAs of a fresh
#   exec; the recorder reads /proc/PID/maps when it sees the exec. The
#   rebuilt layout must still equal each workload's own /proc/PID/maps at
#   its end (the workloads linger a little so the recorder finds them).
# - PROCSCOPE_NO_TP=task_rename: a missing tracepoint costs its records and
#   one line saying so, not the recording.
set -u
[ "$(id -u)" -eq 0 ] || { echo "needs root for BPF"; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
out=$ARTIFACTS/vm_layout_fallback
rm -rf "$out"
mkdir -p "$out"
fail=0
# not vm_threads: a snapshot read after its threads started shows their
# stacks as plain anonymous memory (the clone records that named them come
# before it); the regions are right, the kinds are not.
for w in vm_malloc vm_mmap vm_dlopen vm_recurse vm_forkexec; do
	mkdir -p "$out/$w"
	if ! PROCSCOPE_NO_VMA_ITER=1 VM_LINGER_MS=200 VM_OUT=$out/$w \
		"$PROCSCOPE" record -o "$out/$w.data" -- "$WORKLOADS/$w" >"$out/$w.log" 2>&1; then
		echo "FAIL $w: record failed"; cat "$out/$w.log"; fail=1; continue
	fi
	echo "== $w"
	grep -q "no task VMA iterator" "$out/$w.log" || { echo "FAIL $w: no line about the VMA iterator"; fail=1; }
	"$PROCSCOPE" dump -i "$out/$w.data" >"$out/$w.dump" || { echo "FAIL $w: dump"; fail=1; continue; }
	if grep -qw exec_vma "$out/$w.dump"; then
		echo "FAIL $w: the probes listed VMAs although told not to"; fail=1
	fi
	grep -qw snap_map "$out/$w.dump" || { echo "FAIL $w: no /proc/PID/maps records after exec"; fail=1; }
	python3 "$here/vm_compare.py" "$PROCSCOPE" "$out/$w.data" "$out/$w" || fail=1
done
[ "$(ls "$out"/vm_forkexec/*.maps 2>/dev/null | wc -l)" -eq 3 ] || { echo "FAIL vm_forkexec: want 3 dumps"; fail=1; }

# a missing tracepoint: said once, recording goes on without its records
if ! PROCSCOPE_NO_TP=task_rename "$PROCSCOPE" record -o "$out/rename.data" -- \
	"$WORKLOADS/names" "$out" >"$out/rename.out" 2>"$out/rename.log"; then
	echo "FAIL no task_rename: record failed"; cat "$out/rename.log"; fail=1
else
	n=$(grep -c "no tracepoint task_rename" "$out/rename.log")
	[ "$n" -eq 1 ] || { echo "FAIL no task_rename: said $n times"; fail=1; }
	"$PROCSCOPE" dump -i "$out/rename.data" >"$out/rename.dump"
	if grep -qw task_rename "$out/rename.dump"; then
		echo "FAIL no task_rename: rename records were written"; fail=1
	fi
	grep -qw sched_switch "$out/rename.dump" || { echo "FAIL no task_rename: nothing else recorded"; fail=1; }
fi
[ $fail -eq 0 ] && echo "all passed"
exit $fail
