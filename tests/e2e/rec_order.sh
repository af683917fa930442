#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The rings of the CPUs are merged by time before the file is written: on
a recording of both CPUs under load, the probe records in file order go
back in time, globally and per CPU, by far less than the replay's reorder
window (10 ms; session.h), so every reader gets one stream in time order.
Without the merge, a drain's records of one CPU would follow another CPU's
by up to a drain interval (10 ms) or a stalled recorder's backlog."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from pslib import PROCSCOPE, artifact, check, done, dump, fail  # noqa: E402

out = artifact("rec_order.data")
BOUND_NS = 1000000  # 1 ms: a probe's run, not a drain's
# the recorder stamps these itself, when it reads /proc or its counters
RECORDER = {"snap_task", "snap_map", "snap_sp", "lost", "buildid", "comm"}

load = [subprocess.Popen(["stress-ng", "--brk", "2", "--quiet", "-t", "20"]),
        subprocess.Popen(["perf", "bench", "sched", "pipe", "-T", "-l", "100000000"],  # threads: one kill
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
try:
    rec = subprocess.run([PROCSCOPE, "record", "-q", "-a", "-d", "3", "-o", out],
                         capture_output=True, text=True)
finally:
    for p in load:
        p.kill()
        p.wait()
check(rec.returncode == 0, f"record: exit {rec.returncode} {rec.stderr.strip()}")
recs, _ = dump(out)
# a snapshot also writes rss_stat and vma_sync records, stamped as its snap_* ones
snap = {(r.ts, r.tgid) for r in recs if r.type.startswith("snap_")}
probe = [r for r in recs if r.type not in RECORDER and (r.ts, r.tgid) not in snap]
cpus = {}
for r in probe:
    cpus[r.cpu] = cpus.get(r.cpu, 0) + 1
check(len(cpus) >= 2 and min(cpus.values()) > 1000, f"records per CPU: {cpus}")


def worst_step_back(rs):
    top, worst, n = None, 0, 0
    for r in rs:
        if top is not None and r.ts < top:
            worst = max(worst, top - r.ts)
            n += 1
        top = r.ts if top is None else max(top, r.ts)
    return worst, n


worst, n = worst_step_back(probe)
print(f"{len(probe)} probe records on CPUs {cpus}: {n} step back in time, the most by {worst} ns")
check(worst < BOUND_NS, f"a record {worst} ns older than one before it in the file")
for cpu in cpus:
    w, k = worst_step_back(r for r in probe if r.cpu == cpu)
    check(w < BOUND_NS, f"CPU {cpu}: a record {w} ns older than one before it ({k} such)")
done()
