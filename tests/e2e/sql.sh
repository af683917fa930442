#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""procscope sql: the tables agree with the kernel's and the workloads' own
accounts and with report/layout; the cached database follows the session
file; names in a trace are data, never SQL; damaged sessions say so.

- per thread, SUM(dur) of sched_slice is report's running_ns and the
  thread_state sums per state are its state times, exactly; thread.oncpu_ns
  is report's oncpu_ns;
- vm_mmap, vm_madvise and vm_threads dump their own /proc/self/maps right
  before they exit: the vma rows alive then are those regions, and layout
  --at end --json says the same; vm_madvise's madvise, mlock*, shm* calls
  are mem_call rows; the stack_profile_mapping row of each file their
  stacks ran in is that file's executable line of the same maps, its
  build_id what `readelf -n` reads in the file, and every frame in it lies
  in that mapping at rel_pc + load_bias;
- every memory call rec_basic logs is a mem_call row with its values;
- stacks_work's heap growth, CPU samples and sleeps are stack_sample rows
  whose callsites go through the function it spent them in;
- a thread named with SQL in it (comm set by python3 through prctl) reads
  back byte for byte and every table is still there;
- a new recording at the same path, or a touch, rebuilds FILE.db;
- a file that is no session, or whose chunks are damaged, says so.
"""
import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from pslib import PROCSCOPE, WORKLOADS, artifact, check, done, fail  # noqa: E402
from vm_compare import parse_maps  # noqa: E402

out = artifact("sql")
shutil.rmtree(out, ignore_errors=True)
os.makedirs(out)


def record(name, cmd, env=None):
    path = os.path.join(out, name + ".data")
    p = subprocess.run([PROCSCOPE, "record", "-o", path, "--"] + cmd, capture_output=True,
                       text=True, timeout=120, env=env)
    if not os.path.exists(path):
        fail(f"record {cmd} failed: {p.stderr}")
    return path, p


def sql(path, query, fmt="--json", rc=0):
    p = subprocess.run([PROCSCOPE, "sql", "-i", path, fmt, query], capture_output=True, text=True)
    if p.returncode != rc:
        fail(f"sql {query!r} exited {p.returncode}, want {rc}: {p.stderr.strip()}")
    return json.loads(p.stdout) if fmt == "--json" and rc == 0 else p


def report(path):
    p = subprocess.run([PROCSCOPE, "report", "-i", path, "--json"], capture_output=True, text=True)
    check(p.returncode == 0, f"report {path}: {p.stderr}")
    return json.loads(p.stdout)


# ---- scheduling: sched_slice and thread_state sum to report's figures ----
sched, _ = record("sched", [f"{WORKLOADS}/sched_work", "pool"])
rep = report(sched)
rows = {r["tid"]: r for r in sql(sched, """
    SELECT t.tid, t.oncpu_ns,
           (SELECT TOTAL(dur) FROM sched_slice s WHERE s.utid = t.utid) AS slice_ns,
           (SELECT TOTAL(dur) FROM thread_state s WHERE s.utid = t.utid AND state = 'Running') AS run_ns,
           (SELECT TOTAL(dur) FROM thread_state s WHERE s.utid = t.utid AND state IN ('R', 'R+')) AS runnable_ns,
           (SELECT TOTAL(dur) FROM thread_state s WHERE s.utid = t.utid AND state = 'S') AS sleep_ns,
           (SELECT TOTAL(dur) FROM thread_state s WHERE s.utid = t.utid AND state = 'D') AS blocked_ns,
           (SELECT TOTAL(dur) FROM thread_state s WHERE s.utid = t.utid AND state = 'T') AS stopped_ns,
           (SELECT TOTAL(dur) FROM thread_state s WHERE s.utid = t.utid AND state = '?') AS unknown_ns
    FROM thread t WHERE t.utid != 0""")}
nthreads = 0
for p in rep["processes"]:
    for t in p["threads"]:
        r = rows.get(t["tid"])
        if not check(r is not None, f"thread {t['tid']} in the thread table"):
            continue
        nthreads += 1
        check(r["oncpu_ns"] == t["oncpu_ns"], f"tid {t['tid']}: oncpu_ns {r['oncpu_ns']} != report {t['oncpu_ns']}")
        check(r["slice_ns"] == t["running_ns"],
              f"tid {t['tid']}: SUM(sched_slice.dur) {r['slice_ns']} != report running_ns {t['running_ns']}")
        for col, key in (("run_ns", "running_ns"), ("runnable_ns", "runnable_ns"), ("sleep_ns", "sleep_ns"),
                         ("blocked_ns", "blocked_ns"), ("stopped_ns", "stopped_ns"),
                         ("unknown_ns", "unknown_ns")):
            check(r[col] == t[key], f"tid {t['tid']}: thread_state {col} {r[col]} != report {key} {t[key]}")
check(nthreads >= 3, f"sched_work threads compared: {nthreads}")
# a thread's states cover its life without overlaps
bad = sql(sched, """SELECT a.utid, a.ts FROM thread_state a JOIN thread_state b
                    ON a.utid = b.utid AND b.ts > a.ts AND b.ts < a.ts + a.dur LIMIT 5""")
check(not bad, f"overlapping thread_state rows: {bad}")
print(f"sched: {nthreads} threads, slices and states equal report --json")

def check_mappings(vm, pid, maps_path, exe):
    """stack_profile_mapping of PID's files == its /proc/self/maps and the files' ELF notes"""
    execs = {}
    with open(maps_path) as f:
        for line in f:
            w = line.split()
            if len(w) >= 6 and w[1][2] == "x" and w[5].startswith("/"):
                lo, hi = (int(x, 16) for x in w[0].split("-"))
                execs.setdefault(w[5], (lo, hi, int(w[2], 16)))
    rows = sql(vm, f"""SELECT m.* FROM stack_profile_mapping m JOIN process p USING (upid)
                      WHERE p.pid = {pid}""")
    names = {r["name"] for r in rows}
    check(exe in names and any("/libc.so" in n for n in names),
          f"stack_profile_mapping has the workload and libc: {sorted(names)}")
    for r in rows:
        check((r["start"], r["end"], r["exact_offset"]) == execs.get(r["name"]),
              f"mapping {r['name']}: {r['start']:x}-{r['end']:x} offset {r['exact_offset']:x}, "
              f"/proc/self/maps: {execs.get(r['name'])}")
        note = subprocess.run(["readelf", "-n", r["name"]], capture_output=True, text=True).stdout
        want = re.search(r"Build ID: ([0-9a-f]+)", note)
        check(r["build_id"] == (want.group(1) if want else None),
              f"mapping {r['name']}: build_id {r['build_id']}, readelf -n: {want and want.group(1)}")
        # every frame that ran in the file lies in its executable mapping, at rel_pc + load_bias
        out = sql(vm, f"""SELECT COUNT(*) AS n, TOTAL(rel_pc + {r['load_bias']} NOT BETWEEN
                         {r['start']} AND {r['end'] - 1}) AS outside
                         FROM stack_profile_frame WHERE mapping = {r['id']}""")[0]
        check(out["n"] > 0 and out["outside"] == 0,
              f"mapping {r['name']}: {out['outside']} of {out['n']} frames outside it")
    print(f"stack_profile_mapping: {len(rows)} files of pid {pid} equal to /proc/self/maps and readelf -n")


# ---- regions: vma alive at the end == layout --at end == /proc/self/maps ----
for w in ("vm_mmap", "vm_madvise", "vm_threads"):
    vmdir = os.path.join(out, w)
    os.makedirs(vmdir)
    vm, _ = record(w, [f"{WORKLOADS}/{w}"], env=dict(os.environ, VM_OUT=vmdir))
    maps = [f for f in os.listdir(vmdir) if f.endswith(".maps")]
    check(len(maps) == 1, f"{w} dumped its maps: {maps}")
    for m in maps:
        pid = int(m.split(".")[0])
        kernel = {(lo, hi, perms) for lo, hi, perms, _ in parse_maps(os.path.join(vmdir, m))}
        alive = sql(vm, f"""SELECT v.start, v."end", v.perms, v.kind FROM vma v JOIN process p USING (upid)
                           WHERE p.pid = {pid} AND v.created_ts <= COALESCE(p.end_ts, 1 << 62)
                           AND (v.removed_ts IS NULL OR v.removed_ts >= COALESCE(p.end_ts, 1 << 62))""")
        got = {(r["start"], r["end"], r["perms"]) for r in alive}
        lay = subprocess.run([PROCSCOPE, "layout", "-i", vm, "--pid", str(pid), "--at", "end", "--json"],
                             capture_output=True, text=True)
        check(lay.returncode == 0, f"layout: {lay.stderr}")
        regions = json.loads(lay.stdout)["regions"] if lay.returncode == 0 else []
        layout = {(int(r["start"], 16), int(r["end"], 16), r["perms"]) for r in regions}
        check(got == kernel, f"{w} pid {pid}: vma alive at end != /proc/self/maps: only sql "
              f"{sorted(got - kernel)[:5]}, only kernel {sorted(kernel - got)[:5]}")
        check(got == layout, f"{w} pid {pid}: vma alive at end != layout --at end: {sorted(got ^ layout)[:5]}")
        kinds = {(r["start"], r["end"]): r["kind"] for r in alive}
        lkinds = {(int(r["start"], 16), int(r["end"], 16)): r["kind"] for r in regions}
        check(kinds == lkinds, f"{w}: vma kinds == layout kinds")
        print(f"vma: {w} pid {pid}: {len(got)} regions alive at end, equal to /proc/self/maps and layout")
        check_mappings(vm, pid, os.path.join(vmdir, m), f"{WORKLOADS}/{w}")
    if w == "vm_madvise":
        calls = {r["call"] for r in sql(vm, "SELECT DISTINCT call FROM mem_call")}
        want = {"madvise", "mlock", "mlock2", "munlock", "mlockall", "munlockall", "shmat", "shmdt",
                "remap_file_pages"}
        check(want <= calls, f"vm_madvise's calls in mem_call: missing {sorted(want - calls)}")

# ---- mem_call: every call rec_basic logged ----
basic, p = record("basic", [f"{WORKLOADS}/rec_basic"])
calls = sql(basic, "SELECT call, addr, len, new_len, prot, ret, errno FROM mem_call")
log = [line.split() for line in p.stdout.splitlines()]


def found(**want):
    return any(all(c.get(k) == v for k, v in want.items()) for c in calls)


nlogged = 0
for w in log:
    if w[0] in ("brk", "mmap", "munmap", "munmap_fail", "mremap", "mprotect"):
        nlogged += 1
    if w[0] == "brk":
        check(found(call="brk", addr=int(w[1], 16), ret=int(w[2], 16)), f"mem_call for {w}")
    elif w[0] == "mmap":
        check(found(call="mmap", len=int(w[2]), ret=int(w[1], 16), prot="PROT_READ|PROT_WRITE"),
              f"mem_call for {w}")
    elif w[0] == "munmap":
        check(found(call="munmap", addr=int(w[1], 16), len=int(w[2]), ret=0), f"mem_call for {w}")
    elif w[0] == "munmap_fail":
        check(found(call="munmap", addr=1, len=4096, ret=None, errno="EINVAL"), f"mem_call for {w}")
    elif w[0] == "mremap":
        check(found(call="mremap", addr=int(w[1], 16), len=int(w[2]), new_len=int(w[3]), ret=int(w[4], 16)),
              f"mem_call for {w}")
    elif w[0] == "mprotect":
        check(found(call="mprotect", addr=int(w[1], 16), len=int(w[2]), prot="PROT_READ"), f"mem_call for {w}")
check(nlogged >= 12, f"rec_basic logged its calls ({nlogged})")
print(f"mem_call: the {nlogged} calls rec_basic logged are there")

# ---- stacks: samples whose callsites name the function the workload spent in ----
stk, p = record("stacks", [f"{WORKLOADS}/stacks_work"])
facts = {w[0]: int(w[1]) for w in (line.split() for line in p.stdout.splitlines()) if len(w) == 2}


def through(kind, fn, tid=None):
    """(value of KIND samples whose stack has frame FN, value of all), of thread TID if given"""
    r = sql(stk, f"""
        WITH RECURSIVE anc(sid, cs) AS (
            SELECT rowid, callsite_id FROM stack_sample WHERE kind = '{kind}'
            UNION ALL
            SELECT anc.sid, c.parent_id FROM anc JOIN stack_profile_callsite c ON c.id = anc.cs
            WHERE c.parent_id IS NOT NULL),
        named(sid) AS (
            SELECT anc.sid FROM anc JOIN stack_profile_callsite c ON c.id = anc.cs
            JOIN stack_profile_frame f ON f.id = c.frame_id WHERE f.name = '{fn}')
        SELECT TOTAL(CASE WHEN s.rowid IN (SELECT sid FROM named) THEN s.value END) AS good,
               TOTAL(s.value) AS total
        FROM stack_sample s JOIN thread t USING (utid)
        WHERE s.kind = '{kind}' {f"AND t.tid = {tid}" if tid else ""}""")
    return r[0]["good"], r[0]["total"]


good, total = through("heap", "grow_heap")
check(good >= 0.9 * facts.get("heap_bytes", 1 << 62), f"heap: {good} bytes through grow_heap, "
      f"the workload grew its heap by {facts.get('heap_bytes')}")
good, total = through("oncpu", "spin_on_cpu", facts.get("spin_tid"))
check(total >= 10 and good >= 0.9 * total, f"oncpu: {good}/{total} samples of the spinner in spin_on_cpu")
good, total = through("offcpu", "sleep_in_nanosleep", facts.get("sleep_tid"))
check(good >= 0.9 * 200e6, f"offcpu: {good} ns asleep in sleep_in_nanosleep (slept 20 x 10 ms)")
print("stacks: samples and callsites name the functions the workload spent in")

# ---- output formats, bad queries ----
p = sql(basic, "SELECT tid, name FROM thread WHERE utid = 1", fmt="--csv")
rows = list(csv.reader(io.StringIO(p.stdout)))
check(rows[0] == ["tid", "name"] and len(rows) == 2, f"csv: {rows}")
p = subprocess.run([PROCSCOPE, "sql", "-i", basic, "SELECT utid, name FROM thread"], capture_output=True, text=True)
lines = p.stdout.splitlines()
check(p.returncode == 0 and lines[0].split() == ["utid", "name"] and set(lines[1]) <= {"-", " "},
      f"table output: {lines[:3]}")
for bad in ("SELEC 1", "SELECT nope FROM thread", "DROP TABLE thread", "INSERT INTO lost VALUES (1, 1, 'x', 1)"):
    p = sql(basic, bad, rc=1)
    err = p.stderr.strip()
    check(err.startswith("procscope: ") and "\n" not in err, f"{bad!r}: one line from SQLite: {err!r}")
check(sql(basic, "SELECT COUNT(*) AS n FROM thread")[0]["n"] > 1, "tables intact after refused writes")

# ---- hostile names: SQL in a thread name is data ----
name = "x');DROP TABLE "  # 15 bytes: the whole comm
code = ("import ctypes, threading, time\n"
        "libc = ctypes.CDLL(None)\n"
        "def run():\n"
        f"    libc.prctl(15, {name.encode()!r}, 0, 0, 0)\n"
        "    time.sleep(0.05)\n"
        "t = threading.Thread(target=run); t.start(); t.join()\n")
hostile, _ = record("hostile", ["python3", "-c", code])
got = sql(hostile, "SELECT name FROM thread")
check(any(r["name"] == name for r in got), f"thread named {name!r} stored as is: {got}")
tables = {r["name"] for r in sql(hostile, "SELECT name FROM sqlite_master WHERE type = 'table'")}
check({"thread", "vma", "sched_slice", "mem_call"} <= tables, f"tables intact: {tables}")
got = sql(hostile, f"SELECT COUNT(*) AS n FROM thread WHERE name = '{name.replace(chr(39), chr(39) * 2)}'")
check(got[0]["n"] == 1, "the name matches as a value")
print("hostile name: stored as data")

# ---- the cache follows the session file ----
cache = sched + ".db"
st = os.stat(cache)
sql(sched, "SELECT 1")
check(os.stat(cache).st_ino == st.st_ino, "an unchanged session reuses its database")
check(oct(st.st_mode & 0o777) == "0o600", "database is 0600")
old_id = sql(sched, "SELECT value FROM session WHERE key = 'session_id'")[0]["value"]
shutil.copy(basic, sched)  # another session at the same path
new_id = sql(sched, "SELECT value FROM session WHERE key = 'session_id'")[0]["value"]
want_id = sql(basic, "SELECT value FROM session WHERE key = 'session_id'")[0]["value"]
check(new_id == want_id and new_id != old_id, f"rebuilt after the session changed: {old_id} -> {new_id}")
ino = os.stat(cache).st_ino
os.utime(sched, ns=(1, 1))
sql(sched, "SELECT 1")
check(os.stat(cache).st_ino != ino, "rebuilt after the session's mtime changed")

# ---- damaged sessions ----
junk = os.path.join(out, "junk.data")
with open(junk, "wb") as f:
    f.write(b"not a procscope session at all, just bytes" * 10)
p = sql(junk, "SELECT 1", rc=1)
check("not a procscope trace" in p.stderr, f"junk says so: {p.stderr!r}")
check(not os.path.exists(junk + ".db"), "no database for junk")
hdr = os.path.join(out, "hdr.data")
data = bytearray(open(basic, "rb").read())
data[100] ^= 0xff  # inside the header: its checksum fails
open(hdr, "wb").write(data)
p = sql(hdr, "SELECT 1", rc=1)
check("damaged file header" in p.stderr, f"damaged header says so: {p.stderr!r}")
cut = os.path.join(out, "cut.data")
data = open(sched, "rb").read()
open(cut, "wb").write(data[: len(data) * 2 // 3])
for attempt in ("build", "cached"):
    p = sql(cut, "SELECT COUNT(*) AS n FROM thread", fmt="--csv", rc=3)
    check("cut short" in p.stderr, f"cut-short session says so ({attempt}): {p.stderr!r}")
done()
