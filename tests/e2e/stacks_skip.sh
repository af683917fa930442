#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Stacks under load give way, the calls do not: stacks_burst makes bursts
# of mmap+munmap calls whose stacks (8 KiB each) overflow the stack half of
# a 256 KiB ring many times over, and counts its own calls. Checked, for the
# probes' two ways of writing a stack (read into the ring in place, and the
# pre-6.16 fallback that builds it aside, PROCSCOPE_NO_READ_DYNPTR=1):
#  - the session holds exactly as many mmap and munmap records between the
#    workload's two marker maps as the workload says it made, and no record
#    was lost;
#  - some stacks were skipped, and report, report --json and dump say how
#    many; every memory call of the process has either its stack or a place
#    in that count (stacks recorded + skipped = memory-call records).
set -euo pipefail
: "${PROCSCOPE:?}" "${WORKLOADS:?}" "${ARTIFACTS:?}"
[ "$(id -u)" = 0 ] || { echo "needs root"; exit 1; }
out=$ARTIFACTS/stacks_skip
rm -rf "$out"
mkdir -p "$out"

for mode in dynptr copy; do
	d=$out/$mode
	mkdir -p "$d"
	no_dynptr=0
	[ $mode = copy ] && no_dynptr=1
	# --sample 0: only the calls' and the sleeps' stacks compete for the ring
	PROCSCOPE_NO_READ_DYNPTR=$no_dynptr "$PROCSCOPE" record -b 256K --sample 0 \
		-o "$d/skip.data" -- "$WORKLOADS/stacks_burst" >"$d/work.out" 2>"$d/rec.err"
	"$PROCSCOPE" dump -i "$d/skip.data" >"$d/dump.txt"
	"$PROCSCOPE" report -i "$d/skip.data" >"$d/report.txt"
	"$PROCSCOPE" report --json -i "$d/skip.data" >"$d/report.json"
	python3 - "$d" "$mode" <<'EOF'
import json, re, sys

d, mode = sys.argv[1:3]
fails = 0

def check(ok, what):
    global fails
    print(("ok   " if ok else "FAIL ") + f"[{mode}] {what}")
    fails += not ok

calls = int(re.search(r"calls (\d+)", open(f"{d}/work.out").read()).group(1))
mark_len = 97 * 4096
recs = []	# (ts, type, details) of the workload's own records
pid = None
mem_types = ("brk", "mmap", "munmap", "mremap", "mprotect")
lost_line = None
for line in open(f"{d}/dump.txt"):
    if line.startswith("#"):
        continue
    f = line.split(None, 4)
    if len(f) < 4:
        continue
    if f[3] == "lost":
        lost_line = line
        continue
    tgid, tid = f[2].split("/")
    if f[3] == "process_exec" and "stacks_burst" in line:
        pid = tgid
    if pid is not None and tgid == pid:
        recs.append((int(f[0]), f[3], f[4] if len(f) > 4 else ""))
check(pid is not None, "the workload's exec is in the session")
recs.sort(key=lambda r: r[0])

# the calls between the marker munmap and the marker mmap that follows it
marks = [i for i, r in enumerate(recs)
         if r[1] in ("mmap", "munmap") and re.search(rf"\(0x[0-9a-f]+, {mark_len}\b", r[2])]
check(len(marks) == 4, f"four marker calls found ({len(marks)})")
between = sum(1 for r in recs[marks[1] + 1:marks[2]] if r[1] in ("mmap", "munmap")) \
    if len(marks) == 4 else -1
print(f"workload: {calls} calls; session: {between} mmap/munmap records between the markers")
check(between == calls, "every call the workload made is in the session")

rep = open(f"{d}/report.txt").read()
m = re.search(r"# lost records: (\d+)", rep)
check(m and int(m.group(1)) == 0, f"no record lost ({m.group(1) if m else '?'})")
m = re.search(r"# call stacks skipped under load: (\d+) \(([^)]*)\)", rep)
check(m is not None, "report says how many stacks were skipped")
skipped = int(m.group(1)) if m else 0
by_kind = dict(kv.split("=") for kv in re.findall(r"\w+=\d+", m.group(2))) if m else {}
skipped_mem = int(by_kind.get("mem", 0))
print(f"skipped: {skipped} ({by_kind})")
check(skipped_mem > 0, "some memory-call stacks were skipped")

js = json.load(open(f"{d}/report.json"))
check(js["lost_records"] == 0, "report --json: no record lost")
check(js["stacks_skipped"]["mem"] == skipped_mem,
      f"report --json says the same ({js['stacks_skipped']})")
check(lost_line is not None and f"stacks_skipped_mem={skipped_mem}" in lost_line,
      "dump's lost record says the same")

mem_recs = sum(1 for r in recs if r[1] in mem_types)
mem_stacks = sum(1 for r in recs if r[1] == "ustack" and r[2].startswith("mem "))
print(f"memory-call records {mem_recs}, their stacks recorded {mem_stacks}, skipped {skipped_mem}")
check(mem_stacks > 0, "some memory-call stacks were recorded")
check(mem_stacks + skipped_mem == mem_recs, "each memory call has its stack or is counted as skipped")
sys.exit(1 if fails else 0)
EOF
done
echo "stacks_skip: all ok"
