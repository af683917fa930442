#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""record -p PID: the file starts with the target's threads and maps as
/proc shows them, then holds what it did; recording ends when it exits.
record -a -d: other processes are seen too."""
import atexit
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from pslib import PROCSCOPE, WORKLOADS, artifact, check, done, dump, fail  # noqa: E402

out = artifact("rec_attach.data")
w = subprocess.Popen([f"{WORKLOADS}/rec_basic", "--wait"], stdout=subprocess.PIPE, text=True)
atexit.register(lambda: w.poll() is None and w.kill())  # never leave it waiting
ready = w.stdout.readline().split()
pid = int(ready[1])
maps_before = open(f"/proc/{pid}/maps").read().splitlines()
tids_before = sorted(int(t) for t in os.listdir(f"/proc/{pid}/task"))
rec = subprocess.Popen([PROCSCOPE, "record", "-v", "-o", out, "-p", str(pid)],
                       stderr=subprocess.PIPE, text=True)
# attached (probes loaded, snapshot taken: -v says "recording to") before it starts working;
# loading takes seconds on a busy machine
early = []
for line in rec.stderr:
    early.append(line)
    if "recording to" in line:
        break
os.kill(pid, 10)  # SIGUSR1: go
log = [l.split() for l in w.stdout.read().splitlines()]
w.wait()
try:
    _, err = rec.communicate(timeout=20)
    err = "".join(early) + err
except subprocess.TimeoutExpired:
    rec.kill()
    fail("recording did not end when the target exited")
check(rec.returncode == 0, f"record -p exit status {rec.returncode}: {err}")

recs, _ = dump(out)
snap_tasks = sorted(r.tid for r in recs if r.type == "snap_task" and r.tgid == pid)
check(snap_tasks == tids_before, f"snapshot threads {snap_tasks} == /proc {tids_before}")
snap_maps = [r.rest.split()[0] for r in recs if r.type == "snap_map" and r.tgid == pid]
want = ["0x" + l.split()[0].replace("-", "-0x") for l in maps_before]
check(snap_maps == want, f"snapshot maps equal /proc/PID/maps ({len(snap_maps)} vs {len(want)})")
for l in log:
    if l[0] == "brk":
        check([r for r in recs if r.tgid == pid and r.type == "brk" and f"brk({l[1]}) = {l[2]}" in r.rest],
              f"brk after attach {l}")
threads = [int(l[1]) for l in log if l[0] == "thread"]
for tid in threads:
    check([r for r in recs if r.type == "process_fork" and f"thread {pid}/{tid} " in r.rest], f"thread {tid}")
child = [int(l[1]) for l in log if l[0] == "child"][0]
check([r for r in recs if r.tgid == child and r.type == "process_exec"], "child followed after attach")
check([r for r in recs if r.tgid == pid and r.type == "process_exit" and "group_dead" in r.rest], "target exit")

# -a: a short system-wide recording sees more than one process, and not itself
out_a = artifact("rec_all.data")
busy = subprocess.Popen(["sh", "-c", "while :; do ls / >/dev/null; sleep 0.01; done"])
atexit.register(lambda: busy.poll() is None and busy.kill())
p = subprocess.run([PROCSCOPE, "record", "-a", "-d", "1", "-o", out_a], capture_output=True, text=True,
                   timeout=60)
busy.kill()
check(p.returncode == 0, f"record -a -d 1 exit status {p.returncode}: {p.stderr}")
recs, _ = dump(out_a)
procs = {r.tgid for r in recs if r.type == "process_exec"}
check(len(procs) >= 2, f"-a saw the execs of several processes ({len(procs)})")
check(any(r.type == "snap_task" and r.tgid == 1 for r in recs), "-a snapshot includes PID 1")
done()
