#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Coroutine stacks against what the coroutines know of themselves.

tests/workloads/coro_ucontext.c runs three ucontext coroutines, N:1 on the
main thread then M:N on two threads, and a SIGUSR1 handler on a
sigaltstack; it prints each stack's bounds, resumes, on-CPU time
(CLOCK_THREAD_CPUTIME_ID deltas) and the threads that ran it.
tests/workloads/coro_fcontext.c does the same (no sigaltstack) on
boost.context's make_fcontext/jump_fcontext (libboost-context-dev).

Passive (no --coroutines): report --json finds exactly three coroutine
stacks, each the region holding the workload's stack and no other's, run
by the threads that ran it, with resumes a lower bound; the alternate
signal stack is labelled sigaltstack, with its exact bounds, and is not a
coroutine; layout calls each stack's region coroutine_stack.
With --coroutines: the bounds are exactly the workload's, resumes exact,
on-CPU within 1% of the coroutine's own clock, and the Perfetto export has
a track per coroutine stack with one slice per resume, covering its on-CPU
time (decoded with protoc and the public trace.proto)."""
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from pslib import PROCSCOPE, WORKLOADS, artifact, check, done, fail  # noqa: E402

# a slice of 6 ms: the uprobe traps around each switch (~10 us of CPU here,
# outside what the coroutine measures of itself) stay well under 1%
ROUNDS, SPIN_US = 20, 6000


def run(args, tmp, name, wl):
    WL = os.path.join(WORKLOADS, wl)
    name = f"{wl}_{name}"
    out = os.path.join(tmp, name + ".data")
    p = subprocess.run([PROCSCOPE, "record", *args, "-o", out, "--", WL, str(ROUNDS),
                        str(SPIN_US)], capture_output=True, text=True, timeout=60)
    open(artifact(f"{name}.log"), "w").write(p.stdout + p.stderr)
    if p.returncode != 0:
        fail(f"{name}: record failed ({p.returncode}): {p.stderr.strip()}")
    truth = {"coro": [], "alt": None}
    for line in p.stdout.splitlines():
        m = re.match(r"coro (\d) lo=0x([0-9a-f]+) hi=0x([0-9a-f]+) resumes=(\d+) "
                     r"oncpu_ns=(\d+) tids=([\d,]+)", line)
        if m:
            truth["coro"].append({"lo": int(m[2], 16), "hi": int(m[3], 16),
                                  "resumes": int(m[4]), "oncpu": int(m[5]),
                                  "tids": {int(t) for t in m[6].split(",")}})
        m = re.match(r"altstack lo=0x([0-9a-f]+) hi=0x([0-9a-f]+) tid=(\d+)", line)
        if m:
            truth["alt"] = (int(m[1], 16), int(m[2], 16), int(m[3]))
    if len(truth["coro"]) != 3 or (wl == "coro_ucontext" and not truth["alt"]):
        fail(f"{name}: workload output incomplete:\n{p.stdout}")
    rep = subprocess.run([PROCSCOPE, "report", "--json", "-i", out], capture_output=True,
                         text=True)
    if rep.returncode != 0:
        fail(f"{name}: report failed: {rep.stderr}")
    open(artifact(f"{name}.json"), "w").write(rep.stdout)
    procs = [p for p in json.loads(rep.stdout)["processes"] if p["exe"] == WL]
    if len(procs) != 1:
        fail(f"{name}: the workload's process is not in the report")
    return out, truth, procs[0]


def stacks(proc, kind):
    return [dict(s, lo=int(s["stack_start"], 16), hi=int(s["stack_end"], 16))
            for s in proc["coroutines"] if s["kind"] == kind]


def check_alt(name, proc, truth):
    if not truth["alt"]:
        check(not stacks(proc, "sigaltstack"), f"{name}: a sigaltstack that was never set")
        return
    lo, hi, tid = truth["alt"]
    alts = stacks(proc, "sigaltstack")
    check(len(alts) == 1 and (alts[0]["lo"], alts[0]["hi"]) == (lo, hi) and
          alts[0]["tids"] == [tid],
          f"{name}: sigaltstack {lo:#x}-{hi:#x} of {tid} labelled as such: {alts}")
    for s in stacks(proc, "coroutine_stack"):
        check(s["hi"] <= lo or s["lo"] >= hi,
              f"{name}: the alternate signal stack is called a coroutine stack: {s}")


def passive(tmp, wl):
    out, truth, proc = run([], tmp, "passive", wl)
    found = stacks(proc, "coroutine_stack")
    check(len(found) == 3, f"{wl} passive: {len(found)} coroutine stacks, want 3: {found}")
    for i, c in enumerate(truth["coro"]):
        hold = [s for s in found if s["lo"] <= c["lo"] and c["hi"] <= s["hi"]]
        if not check(len(hold) == 1, f"{wl} passive: coroutine {i} {c['lo']:#x}-{c['hi']:#x} "
                     f"in {len(hold)} stacks"):
            continue
        s = hold[0]
        others = [o for j, o in enumerate(truth["coro"]) if j != i]
        check(all(o["hi"] <= s["lo"] or o["lo"] >= s["hi"] for o in others),
              f"{wl} passive: stack {s['stack_start']} holds another coroutine's stack too")
        check(1 <= s["resumes"] <= c["resumes"] and not s["resumes_exact"],
              f"{wl} passive: coroutine {i}: {s['resumes']} resumes, a lower bound of "
              f"{c['resumes']}")
        check(set(s["tids"]) <= c["tids"] and len(s["tids"]) >= 2,
              f"{wl} passive: coroutine {i} ran on {sorted(c['tids'])}, seen on {s['tids']}")
    check_alt(f"{wl} passive", proc, truth)
    lay = subprocess.run([PROCSCOPE, "layout", "--json", "-i", out, "--pid",
                          str(proc["pid"])], capture_output=True, text=True)
    regions = json.loads(lay.stdout)["regions"] if lay.returncode == 0 else []
    for i, c in enumerate(truth["coro"]):
        r = [r for r in regions if int(r["start"], 16) <= c["lo"] < int(r["end"], 16)]
        check(len(r) == 1 and r[0]["kind"] == "coroutine_stack" and r[0]["threads"] >= 2,
              f"{wl} layout: coroutine {i}'s region: {r}")


def perfetto_slices(data, tmp):
    """{track name: [(begin_ts, end_ts)]} of the slices on coroutine tracks."""
    pf = os.path.join(tmp, "x.pftrace")
    e = subprocess.run([PROCSCOPE, "export", "-f", "perfetto", "-i", data, "-o", pf],
                       capture_output=True, text=True)
    proto = os.environ.get("PERFETTO_PROTO", "../shared/perfetto")  # as export_check.py
    dec = subprocess.run(["protoc", "--proto_path=" + proto, "--decode=perfetto.protos.Trace",
                          "perfetto_trace.proto"], stdin=open(pf, "rb"), capture_output=True,
                         text=True)
    if e.returncode or dec.returncode:
        fail(f"perfetto export/decode failed: {e.stderr} {dec.stderr}")
    names, events = {}, []
    for pkt in dec.stdout.split("\npacket {")[1:]:
        m = re.search(r"track_descriptor \{\s*uuid: (\d+)\s*name: \"(coroutine stack [^\"]+)\"", pkt)
        if m:
            names[m[1]] = m[2]
        m = re.search(r"timestamp: (\d+).*type: TYPE_SLICE_(BEGIN|END)\s*track_uuid: (\d+)", pkt,
                      re.S)
        if m:
            events.append((int(m[1]), m[2], m[3]))
    slices, open_ = {}, {}
    for ts, kind, uuid in sorted(events):
        if uuid not in names:
            continue
        if kind == "BEGIN":
            open_[uuid] = ts
        elif uuid in open_:
            slices.setdefault(names[uuid], []).append((open_.pop(uuid), ts))
    return slices


def exact(tmp, wl):
    data, truth, proc = run(["--coroutines"], tmp, "exact", wl)
    slices = perfetto_slices(data, tmp)
    for i, c in enumerate(truth["coro"]):
        sl = slices.get(f"coroutine stack {c['lo']:#x}-{c['hi']:#x}", [])
        span = sum(b - a for a, b in sl)
        check(len(sl) == c["resumes"] and span >= c["oncpu"],
              f"{wl} perfetto: coroutine {i}: {len(sl)} slices ({c['resumes']} resumes), "
              f"{span} ns (on-CPU {c['oncpu']} ns)")
    found = stacks(proc, "coroutine_stack")
    check(len(found) == 3, f"{wl} exact: {len(found)} coroutine stacks, want 3: {found}")
    for i, c in enumerate(truth["coro"]):
        s = [s for s in found if (s["lo"], s["hi"]) == (c["lo"], c["hi"])]
        if not check(len(s) == 1, f"{wl} exact: no stack {c['lo']:#x}-{c['hi']:#x}: {found}"):
            continue
        s = s[0]
        check(s["resumes"] == c["resumes"] and s["resumes_exact"],
              f"{wl} exact: coroutine {i}: {s['resumes']} resumes, it counted {c['resumes']}")
        err = abs(s["oncpu_ns"] - c["oncpu"]) / c["oncpu"]
        check(err <= 0.01, f"{wl} exact: coroutine {i}: on-CPU {s['oncpu_ns']} ns, its own clock "
              f"{c['oncpu']} ns ({100 * err:.2f}% off)")
        print(f"{wl} exact: coroutine {i}: resumes {s['resumes']}, on-CPU {100 * err:.2f}% off")
        check(set(s["tids"]) == c["tids"],
              f"{wl} exact: coroutine {i} ran on {sorted(c['tids'])}, seen on {s['tids']}")
    check_alt(f"{wl} exact", proc, truth)


with tempfile.TemporaryDirectory() as tmp:
    for wl in ("coro_ucontext", "coro_fcontext"):
        passive(tmp, wl)
        exact(tmp, wl)
done()
