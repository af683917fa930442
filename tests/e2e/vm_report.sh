#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The memory section of `report` against what the kernel and the programs
# know: heap start (/proc/PID/stat start_brk via the maps), peak and final
# heap from the program's own sbrk(0), main stack size from its
# /proc/self/maps, and the main thread's deepest stack from the address of
# its deepest frame (it sleeps there, so it is switched out there).
set -u
[ "$(id -u)" -eq 0 ] || { echo "needs root for BPF"; exit 1; }
out=$ARTIFACTS/vm_report
rm -rf "$out"
mkdir -p "$out/vm_malloc" "$out/vm_recurse"
for w in vm_malloc vm_recurse; do
	VM_OUT=$out/$w "$PROCSCOPE" record -o "$out/$w.data" -- "$WORKLOADS/$w" >"$out/$w.log" 2>&1 || { cat "$out/$w.log"; exit 1; }
	"$PROCSCOPE" report -i "$out/$w.data" >"$out/$w.report" || exit 1
done
python3 - "$out" <<'PYEOF'
import glob, os, re, sys
out = sys.argv[1]

def fmt(b):  # ps_fmt_size()
    units = ["B", "KiB", "MiB", "GiB", "TiB"]
    v, i = float(b), 0
    while v >= 1024 and i < len(units) - 1:
        v /= 1024; i += 1
    return "%d B" % b if i == 0 else "%.1f %s" % (v, units[i])

def load(w):
    maps = glob.glob(os.path.join(out, w, "*.maps"))[0]
    pid = os.path.basename(maps).split(".")[0]
    facts = {}
    for line in open(maps[:-5] + ".facts"):
        k, v = line.split()[:2]
        facts[k] = int(v, 16)
    regions = {}
    for line in open(maps):
        p = line.split()
        if len(p) > 5 and p[5] in ("[heap]", "[stack]"):
            lo, hi = (int(x, 16) for x in p[0].split("-"))
            regions[p[5]] = (lo, hi)
    rep = open(os.path.join(out, w + ".report")).read()
    sec = rep[rep.index("\nprocess %s " % pid):]
    return pid, facts, regions, sec

bad = 0
pid, facts, regions, sec = load("vm_malloc")
m = re.search(r"heap: +start 0x([0-9a-f]+), peak (.+?), final (.+?), (\d+) brk calls", sec)
lo = regions["[heap]"][0]
want = (lo, fmt(facts["brkpeak"] - lo), fmt(facts["brkend"] - lo))
got = (int(m.group(1), 16), m.group(2), m.group(3)) if m else None
print("heap: want start/peak/final %s, got %s" % (want, got))
bad += got != want
pid, facts, regions, sec = load("vm_recurse")
lo, hi = regions["[stack]"]
m = re.search(r"main stack: +peak (.+?) mapped, final (.+)", sec)
print("main stack: kernel %s, report %s" % (fmt(hi - lo), m.groups() if m else None))
bad += not m or m.group(2).strip() != fmt(hi - lo) or m.group(1) != fmt(hi - lo)
m = re.search(r"stack depth: .*?\b%s ([0-9.]+) (B|KiB|MiB)" % pid, sec, re.S)
scale = {"B": 1, "KiB": 1024, "MiB": 1 << 20}
depth = float(m.group(1)) * scale[m.group(2)] if m else 0
need = hi - facts["deepest"]
# SP is below the deepest frame's buffer (nanosleep's own frames), by less than 64 KiB
print("main thread depth: frame at %d bytes below the top, report %d" % (need, depth))
bad += not (need * 0.99 <= depth <= need + 65536)
sys.exit(1 if bad else 0)
PYEOF
