#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""record -a --cgroup DIR: only the tasks of a cgroup v2 directory (and of
those below it) are traced, their children too. A fresh directory is made
(and removed) here; one shell loop is in it before recording starts, one
is moved in while recording, one stays out. Every process in the file must
be one of the two inside or a descendant of them (the kernel's parent
links, read from /proc/PID/stat while they run), and the children each loop
forks must be there. --comm picks a process by name the same way. A path
that is not a cgroup v2 directory is one clear error."""
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from pslib import PROCSCOPE, artifact, check, done, dump, fail  # noqa: E402

# the cgroup v2 hierarchy: /sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid hosts
ROOT = next((l.split()[1] for l in open("/proc/self/mounts") if l.split()[2] == "cgroup2"), None)
if not ROOT:
    fail("no cgroup v2 hierarchy mounted")
cg = os.path.join(ROOT, f"procscope-test-{os.getpid()}")
sub = os.path.join(cg, "inner")
out, out_comm = artifact("rec_cgroup.data"), artifact("rec_cgroup_comm.data")
# each loop runs its own copies of true and sleep, named after the loop's side,
# so a child that lives too short for the recorder to read its parent in /proc
# (admitted in the kernel at its first switch-in, gone before the next drain)
# still says by its name whose it is
LOOP = "while :; do {d}/cgtrue-{side}; {d}/cgsleep-{side} 0.05; done"
procs, rec = [], None
tmp = tempfile.mkdtemp(prefix="procscope-cgroup.")


def loop(name, side):
    """A shell loop whose task name (comm) is NAME: the kernel names a task after
    the file it executes, a symlink's own name included."""
    link = os.path.join(tmp, name)
    os.symlink("/bin/bash", link)
    for prog in ("true", "sleep"):
        if not os.path.exists(os.path.join(tmp, f"cg{prog}-{side}")):
            os.symlink(f"/bin/{prog}", os.path.join(tmp, f"cg{prog}-{side}"))
    p = subprocess.Popen([link, "-c", LOOP.format(d=tmp, side=side)])
    procs.append(p)
    return p


def move(pid, d):
    with open(os.path.join(d, "cgroup.procs"), "w") as f:
        f.write(str(pid))


def ancestry(pid):
    """pid, its parent, ... up to 1, from /proc (None once gone)."""
    chain = []
    while pid > 1:
        chain.append(pid)
        try:
            pid = int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])
        except OSError:
            return None
    return chain


err = subprocess.run([PROCSCOPE, "record", "-a", "--cgroup", "/nonexistent/cg", "-d", "1", "-o", out],
                     capture_output=True, text=True)
check(err.returncode != 0 and err.stderr.count("\n") == 1 and "cannot use cgroup" in err.stderr,
      f"missing cgroup: exit {err.returncode}, {err.stderr.strip()!r}")
err = subprocess.run([PROCSCOPE, "record", "-a", "--cgroup", "/tmp", "-d", "1", "-o", out],
                     capture_output=True, text=True)
check(err.returncode != 0 and "not a cgroup v2 directory" in err.stderr,
      f"/tmp as cgroup: exit {err.returncode}, {err.stderr.strip()!r}")

os.mkdir(cg)
try:
    os.mkdir(sub)
    before, moved, outside = loop("cgloop-before", "in"), loop("cgloop-moved", "in"), \
        loop("cgloop-out", "out")
    move(before.pid, sub)  # below the cgroup traced: counts as in it
    rec = subprocess.Popen([PROCSCOPE, "record", "-q", "-a", "--cgroup", cg, "-d", "4", "-o", out],
                           stderr=subprocess.PIPE, text=True)
    rc = subprocess.Popen([PROCSCOPE, "record", "-q", "--comm", "cgloop-out", "-d", "4", "-o", out_comm],
                          stderr=subprocess.PIPE, text=True)
    time.sleep(2.5)
    move(moved.pid, cg)
    moved_at = time.monotonic()
    _, e = rec.communicate(timeout=60)
    _, e2 = rc.communicate(timeout=60)
    check(rec.returncode == 0, f"record --cgroup: exit {rec.returncode} {e.strip()}")
    check(rc.returncode == 0, f"record --comm: exit {rc.returncode} {e2.strip()}")
finally:
    for p in procs:
        p.kill()
        p.wait()
    for d in (sub, cg):
        for _ in range(50):
            try:
                os.rmdir(d)
                break
            except OSError:
                time.sleep(0.1)  # its tasks are still going

subprocess.run(["rm", "-rf", tmp])
recs, _ = dump(out)
inside = {before.pid, moved.pid}
# a process is in if it is a loop inside, or one of theirs: forks name their
# children, snapshots the parents of processes running at start
kids = {}
for r in recs:
    if r.type == "process_fork" and r.rest.strip().startswith("process "):  # "process TGID/TID comm=..."
        kids[int(r.rest.split()[1].split("/")[0])] = r.tgid
    elif r.type == "snap_task" and r.tid == r.tgid and " ppid=" in r.rest:  # running at start
        kids[r.tgid] = int(r.rest.split(" ppid=")[1].split()[0])
tgids = {r.tgid for r in recs if r.type not in ("sched_switch", "sched_wakeup", "lost", "comm") and r.tgid}


def descends(t):
    seen = set()
    while t not in inside:
        if t in seen or t not in kids:
            return False
        seen.add(t)
        t = kids[t]
    return True


comm = {}
for r in recs:
    if " comm=" in r.rest and r.tid == r.tgid and r.type in ("process_exec", "process_exit", "snap_task"):
        comm[r.tgid] = r.rest.split(" comm=")[1].split()[0] if r.type != "snap_task" else \
            r.rest.split("comm=")[1].split()[0]
strangers = sorted(t for t in tgids if not descends(t) and comm.get(t, "").split("-")[-1] != "in")
check(not any(c.endswith("-out") for t, c in comm.items() if t in tgids),
      "a child of the loop outside the cgroup traced")
check(not strangers, f"processes outside the cgroup traced: {strangers[:10]}")
check(before.pid in tgids, "the loop already in the cgroup is not traced")
check(moved.pid in tgids, "the loop moved into the cgroup is not traced")
check(outside.pid not in tgids, "the loop outside the cgroup is traced")
execs = [r for r in recs if r.type == "process_exec"]
for p in (before, moved):
    n = sum(1 for r in execs if kids.get(r.tgid) == p.pid)
    check(n >= 5, f"children of loop {p.pid}: {n} exec'd in the trace")

recs, _ = dump(out_comm)
tgids = {r.tgid for r in recs if r.type not in ("sched_switch", "sched_wakeup", "lost", "comm") and r.tgid}
check(outside.pid in tgids, "--comm: the loop named so is not traced")
check(not tgids & inside, "--comm: other loops traced")
check(any(r.type == "process_exec" and r.tgid != outside.pid for r in recs), "--comm: its children missing")
done()
