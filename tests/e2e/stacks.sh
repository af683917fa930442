#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Call stacks against what the programs know of themselves:
#  - stacks_work (-O2 -fomit-frame-pointer): at least 90% of its heap growth
#    (its own sbrk(0)), of its malloc'd mmap bytes, of its sleeping thread's
#    off-CPU time and of its spinning thread's CPU samples sit on stacks
#    through the function that did it, with malloc/brk/mmap/nanosleep named;
#    the process has exited by the export, so exited processes are symbolized;
#  - python3 growing a list of bytearrays: heap stacks reach from brk through
#    glibc's malloc into python's own functions;
#  - a copy of stacks_work deleted after recording: its frames are reported
#    as deleted (one warning), never named from another file.
set -euo pipefail
: "${PROCSCOPE:?}" "${WORKLOADS:?}" "${ARTIFACTS:?}"
[ "$(id -u)" = 0 ] || { echo "needs root"; exit 77; }
out=$ARTIFACTS/stacks
rm -rf "$out"
mkdir -p "$out"

"$PROCSCOPE" record -o "$out/work.data" -- "$WORKLOADS/stacks_work" >"$out/work.out" 2>"$out/work.err"
for k in heap mmap offcpu oncpu; do
	"$PROCSCOPE" export -i "$out/work.data" --format folded --stacks $k -o "$out/work.$k.folded" \
		2>>"$out/export.err"
done

"$PROCSCOPE" record -o "$out/py.data" -- python3 -c 'l = [bytearray(4000) for _ in range(20000)]' \
	2>"$out/py.err"
"$PROCSCOPE" export -i "$out/py.data" --format folded --stacks heap -o "$out/py.heap.folded"

cp "$WORKLOADS/stacks_work" "$out/doomed_work"
"$PROCSCOPE" record -o "$out/del.data" -- "$out/doomed_work" >/dev/null 2>"$out/del.err"
rm -f "$out/doomed_work"
"$PROCSCOPE" export -i "$out/del.data" --format folded --stacks heap -o "$out/del.heap.folded" \
	2>"$out/del.export.err"

python3 - "$out" <<'PY'
import re, sys
out = sys.argv[1]
fail = []
def check(cond, msg):
    print(("ok   " if cond else "FAIL ") + msg)
    if not cond:
        fail.append(msg)

def folded(path):
    rows = []
    for line in open(path):
        stack, value = line.rstrip("\n").rsplit(" ", 1)
        frames = stack.split(";")
        pm = re.search(r"\((\d+)\)$", frames[0])
        tm = re.search(r"\((\d+)\)$", frames[1])
        rows.append((int(pm[1]), int(tm[1]), frames[2:], int(value)))
    return rows

facts = dict(l.split() for l in open(f"{out}/work.out"))
facts = {k: int(v) for k, v in facts.items()}

def share(rows, want, names, tid=None):
    """Value on stacks through WANT (with every one of NAMES in them), and in all."""
    rows = [r for r in rows if tid is None or r[1] == tid]
    total = sum(r[3] for r in rows)
    good = sum(r[3] for r in rows if want in r[2] and
               all(any(n in f for f in r[2]) for n in names))
    return good, total

heap = folded(f"{out}/work.heap.folded")
good, total = share(heap, "grow_heap", ["malloc", "brk"])
check(good >= 0.9 * facts["heap_bytes"],
      f"heap: {good} of the program's own {facts['heap_bytes']} bytes of growth on grow_heap;malloc..brk stacks (all stacks: {total})")
check(total and good >= 0.9 * total, f"heap: {good}/{total} bytes through grow_heap")

mm = folded(f"{out}/work.mmap.folded")
good, total = share(mm, "map_through_malloc", ["malloc", "mmap"])
check(good >= 0.9 * facts["mmap_bytes"],
      f"mmap: {good} of the program's {facts['mmap_bytes']} malloc'd mmap bytes on map_through_malloc;malloc..mmap stacks")

off = folded(f"{out}/work.offcpu.folded")
good, total = share(off, "sleep_in_nanosleep", ["nanosleep", "schedule_[k]"], facts["sleep_tid"])
check(total >= 0.9 * 200e6, f"offcpu: sleeping thread {total} ns off-CPU (slept 20 x 10 ms)")
check(total and good >= 0.9 * total,
      f"offcpu: {good}/{total} ns of the sleeper's on sleep_in_nanosleep;nanosleep..schedule stacks")

on = folded(f"{out}/work.oncpu.folded")
good, total = share(on, "spin_on_cpu", ["start_thread"], facts["spin_tid"])
check(total >= 10, f"oncpu: {total} samples of the spinning thread (0.4 s at 99 Hz)")
check(total and good >= 0.9 * total, f"oncpu: {good}/{total} samples on start_thread;spinner;spin_on_cpu")

py = folded(f"{out}/py.heap.folded")
total = sum(r[3] for r in py)
good = sum(r[3] for r in py if r[2][-1] in ("brk", "__brk") and any("malloc" in f for f in r[2])
           and any(re.match(r"_?Py", f) for f in r[2]))
check(total > 40e6, f"python3: {total} bytes of heap growth (20000 x 4000-byte bytearrays)")
check(total and good >= 0.9 * total, f"python3: {good}/{total} bytes on stacks brk..malloc..Py* functions")

dele = folded(f"{out}/del.heap.folded")
err = open(f"{out}/del.export.err").read()
check(err.count("was deleted") == 1 and "doomed_work" in err, f"deleted binary: one warning ({err.strip()!r})")
check(all(not any("grow_heap" in f for f in r[2]) for r in dele), "deleted binary: none of its frames named")
check(any(any("doomed_work (deleted)+0x" in f for f in r[2]) for r in dele),
      "deleted binary: its frames shown as doomed_work (deleted)+0xOFFSET")
check(any(any("malloc" in f for f in r[2]) for r in dele), "deleted binary: libc frames still named")
sys.exit(1 if fail else 0)
PY
