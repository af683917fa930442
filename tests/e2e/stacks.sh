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
#    as deleted (one warning), never named from another file;
#  - a shell attached with -p, its binary replaced after the recording: the
#    attach snapshot noted the build-id of the file it ran, so its frames
#    are reported as replaced (one warning), never named from the new file;
#  - the timeline exports of stacks_work carry the same stacks: Perfetto
#    PerfSamples (decoded with protoc against ../shared/perfetto) whose
#    interned callstacks go through spin_on_cpu, one per folded oncpu sample;
#    chrome's sleeping slices and speedscope's sleeping intervals of the
#    sleeper open into sleep_in_nanosleep; chrome's memory instants carry
#    the grow_heap stacks.
set -euo pipefail
: "${PROCSCOPE:?}" "${WORKLOADS:?}" "${ARTIFACTS:?}"
[ "$(id -u)" = 0 ] || { echo "needs root"; exit 1; }
out=$ARTIFACTS/stacks
rm -rf "$out"
mkdir -p "$out"

"$PROCSCOPE" record -o "$out/work.data" -- "$WORKLOADS/stacks_work" >"$out/work.out" 2>"$out/work.err"
for k in heap mmap offcpu oncpu; do
	"$PROCSCOPE" export -i "$out/work.data" --format folded --stacks $k -o "$out/work.$k.folded" \
		2>>"$out/export.err"
done
"$PROCSCOPE" export -i "$out/work.data" --format perfetto -o "$out/work.pftrace"
"$PROCSCOPE" export -i "$out/work.data" --format chrome -o "$out/work.json"
"$PROCSCOPE" export -i "$out/work.data" --format speedscope -o "$out/work.speedscope.json"
protoc --proto_path="$PWD/../shared/perfetto" --decode=perfetto.protos.Trace perfetto_trace.proto \
	< "$out/work.pftrace" > "$out/work.pftrace.txt"

"$PROCSCOPE" record -o "$out/py.data" -- python3 -c 'l = [bytearray(4000) for _ in range(20000)]' \
	2>"$out/py.err"
"$PROCSCOPE" export -i "$out/py.data" --format folded --stacks heap -o "$out/py.heap.folded"

cp "$WORKLOADS/stacks_work" "$out/doomed_work"
"$PROCSCOPE" record -o "$out/del.data" -- "$out/doomed_work" >/dev/null 2>"$out/del.err"
rm -f "$out/doomed_work"
"$PROCSCOPE" export -i "$out/del.data" --format folded --stacks heap -o "$out/del.heap.folded" \
	2>"$out/del.export.err"

# a copy of sh in a loop of sleeps (each wait4 a blocking switch-out in sh's code)
cp "$(readlink -f /bin/sh)" "$out/att_sh"
"$out/att_sh" -c 'while :; do sleep 0.01; done' &
att=$!
sleep 0.2
"$PROCSCOPE" record -q -p $att -d 1 -o "$out/att.data" 2>"$out/att.err"
kill $att; wait $att 2>/dev/null || true
cp "$(readlink -f /bin/true)" "$out/att_sh"	# another binary at the same path
"$PROCSCOPE" export -i "$out/att.data" --format folded --stacks offcpu -o "$out/att.offcpu.folded" \
	2>"$out/att.export.err"

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
total_on = total

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

att = [r for r in folded(f"{out}/att.offcpu.folded") if r[0] == r[1]]
err = open(f"{out}/att.export.err").read()
check(err.count("was replaced") == 1 and "att_sh" in err, f"attached, binary replaced: one warning ({err.strip()!r})")
check(att and any(any("att_sh (replaced)+0x" in f for f in r[2]) for r in att),
      f"attached, binary replaced: the shell's {len(att)} off-CPU stacks show att_sh (replaced)+0xOFFSET")

# --- perfetto: protoc's text of the trace, as nested dicts of lists ---
def pb_text(path):
    root, stack = {}, []
    cur = root
    for line in open(path):
        line = line.strip()
        if line.endswith("{"):
            child = {}
            cur.setdefault(line[:-1].strip(), []).append(child)
            stack.append(cur)
            cur = child
        elif line == "}":
            cur = stack.pop()
        elif ": " in line:
            k, v = line.split(": ", 1)
            cur.setdefault(k, []).append(v.strip('"'))
    return root

trace = pb_text(f"{out}/work.pftrace.txt")
names, frames, stacks, samples = {}, {}, {}, []
for pkt in trace.get("packet", []):
    for idata in pkt.get("interned_data", []):
        for fn in idata.get("function_names", []):
            names[fn["iid"][0]] = fn["str"][0]
        for fr in idata.get("frames", []):
            frames[fr["iid"][0]] = fr["function_name_id"][0]
        for cs in idata.get("callstacks", []):
            stacks[cs["iid"][0]] = cs.get("frame_ids", [])
    for ps in pkt.get("perf_sample", []):
        samples.append((int(ps["tid"][0]), ps["callstack_iid"][0]))
spin = [iid for tid, iid in samples if tid == facts["spin_tid"]]
check(all(iid in stacks and all(f in frames and frames[f] in names for f in stacks[iid])
          for _, iid in samples), f"perfetto: {len(samples)} perf_samples, each callstack interned down to its function names")
check(len(spin) == total_on, f"perfetto: {len(spin)} perf_samples of the spinning thread, as many as folded oncpu ({total_on})")
good = sum(1 for iid in spin if "spin_on_cpu" in (names[frames[f]] for f in stacks[iid]))
check(spin and good >= 0.9 * len(spin), f"perfetto: {good}/{len(spin)} of its samples' callstacks through spin_on_cpu")

# --- chrome: sf on the sleeper's sleeping slices and on the heap's brk instants ---
import json
cj = json.load(open(f"{out}/work.json"))
sf = cj["stackFrames"]
def chain(node):
    names = []
    while node:
        names.append(sf[str(node)]["name"])
        node = int(sf[str(node)].get("parent", 0))
    return names
slept = [e for e in cj["traceEvents"] if e["ph"] == "X" and e["tid"] == facts["sleep_tid"]
         and e["name"] in ("sleeping", "blocked")]
dur = sum(e["dur"] for e in slept)
good = sum(e["dur"] for e in slept if "sf" in e and "sleep_in_nanosleep" in chain(e["sf"]))
check(dur and good >= 0.9 * dur, f"chrome: {good:.0f}/{dur:.0f} us of the sleeper's sleeping slices with an sf through sleep_in_nanosleep")
brks = [e for e in cj["traceEvents"] if e["ph"] == "i" and e["name"] == "brk" and e["pid"] == e["tid"]]
good = sum(1 for e in brks if "sf" in e and "grow_heap" in chain(e["sf"]))
check(brks and good >= 0.9 * len(brks), f"chrome: {good}/{len(brks)} of the main thread's brk instants with an sf through grow_heap")
psamp = [e for e in cj["traceEvents"] if e["ph"] == "P" and e["tid"] == facts["spin_tid"]]
check(len(psamp) == total_on, f"chrome: {len(psamp)} P samples of the spinning thread, as folded says")

# --- speedscope: the sleeper's sleeping intervals open into sleep_in_nanosleep ---
ss = json.load(open(f"{out}/work.speedscope.json"))
fn = [f["name"] for f in ss["shared"]["frames"]]
ev = next(p for p in ss["profiles"] if p["type"] == "evented" and p["name"].endswith(f"(tid {facts['sleep_tid']})"))
open_, sleep_ns, good = [], 0, 0
for e in ev["events"]:
    if e["type"] == "O":
        open_.append((fn[e["frame"]], e["at"]))
        continue
    name, at = open_.pop()
    if name == "sleeping":
        sleep_ns += e["at"] - at
    if name == "sleep_in_nanosleep" and open_ and open_[0][0] == "sleeping":
        good += e["at"] - at
check(sleep_ns and good >= 0.9 * sleep_ns,
      f"speedscope: {good}/{sleep_ns} ns of the sleeper's sleeping intervals open into sleep_in_nanosleep")
sp = next(p for p in ss["profiles"] if p["type"] == "sampled" and f"(tid {facts['spin_tid']})" in p["name"])
check(len(sp["samples"]) == total_on, f"speedscope: {len(sp['samples'])} samples in the spinner's sampled profile")
sys.exit(1 if fail else 0)
PY
