#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Records the vm_* workloads; each dumps its own /proc/self/maps right before
# it exits, and `layout --at end --json` must equal it region for region,
# with the kinds the kernel and the program itself give, and the kernel's
# VMAs after each call must never have had to correct the model.
set -u
[ "$(id -u)" -eq 0 ] || { echo "needs root for BPF"; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
out=$ARTIFACTS/vm_layout_workloads
rm -rf "$out"
mkdir -p "$out"
fail=0
for w in vm_malloc vm_mmap vm_threads vm_dlopen vm_recurse vm_forkexec vm_madvise; do
	mkdir -p "$out/$w"
	if ! VM_OUT=$out/$w "$PROCSCOPE" record -o "$out/$w.data" -- "$WORKLOADS/$w" >"$out/$w.log" 2>&1; then
		echo "FAIL $w: record failed"; cat "$out/$w.log"; fail=1; continue
	fi
	echo "== $w"
	python3 "$here/vm_compare.py" "$PROCSCOPE" "$out/$w.data" "$out/$w" || fail=1
	# the model follows every call of our own workloads: the kernel never had to correct it
	"$PROCSCOPE" report -i "$out/$w.data" --json | python3 -c '
import json, sys
n = json.load(sys.stdin)["layout_corrections"]
print("layout corrections: %d" % n)
sys.exit(n != 0)' || fail=1
done
# forkexec: three processes (parent, forked child, exec'd child) were compared
[ "$(ls "$out"/vm_forkexec/*.maps 2>/dev/null | wc -l)" -eq 3 ] || { echo "FAIL vm_forkexec: want 3 dumps"; fail=1; }
exit $fail
