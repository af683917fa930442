#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Exact thread accounting against the kernel's own counters.

Each sched_work mode runs under `record -p`, idle and with both CPUs loaded
by `stress-ng --cpu 2`. The workload stops itself (SIGSTOP) with every
thread still alive once its work is done, so what /proc says of each
thread then is final; the recording ends while it is stopped. Per thread,
nvcsw/nivcsw must equal /proc/.../status exactly and the on-CPU total must
be within 0.5% or 200 us of schedstat's sum_exec_runtime, whatever switches
the kernel did not report (those are counted as "unreported", never as
lost records, and leave no "unknown" time).
SCHED_RUNS=N repeats every case N times (default 1)."""
import atexit
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from pslib import PROCSCOPE, WORKLOADS, artifact, check, done  # noqa: E402

started = []  # processes this test started, ended by their pid at exit


def cleanup():
    for p in started:
        if p.poll() is None:
            try:
                os.kill(p.pid, signal.SIGCONT)
                p.kill()
            except ProcessLookupError:
                pass
            p.wait()


atexit.register(cleanup)


def proc_state(pid):
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "?"


def tree(pid):
    """pid and its descendants."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for t in os.listdir(f"/proc/{p}/task"):
            try:
                todo += [int(c) for c in open(f"/proc/{p}/task/{t}/children").read().split()]
            except OSError:
                pass
    return out


def kernel_counters(pids):
    """tid -> (nvcsw, nivcsw, sum_exec_ns) from /proc."""
    out = {}
    for pid in pids:
        for tid in os.listdir(f"/proc/{pid}/task"):
            st = open(f"/proc/{pid}/task/{tid}/status").read()
            get = lambda key: int(st.split(key + ":")[1].split()[0])  # noqa: E731
            oncpu = int(open(f"/proc/{pid}/task/{tid}/schedstat").read().split()[0])
            out[int(tid)] = (get("voluntary_ctxt_switches"), get("nonvoluntary_ctxt_switches"), oncpu)
    return out


def wait_for(cond, what, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.01)
    check(False, f"timed out waiting for {what}")
    return False


def run_case(mode, loaded, n):
    name = f"{mode}{'-loaded' if loaded else ''}-{n}"
    out = artifact(f"sched_exact/{name}.data")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    load = None
    if loaded:
        load = subprocess.Popen(["stress-ng", "--cpu", "2", "--quiet", "-t", "120"])
        started.append(load)
    w = subprocess.Popen([f"{WORKLOADS}/sched_work", mode, "stop"], stdout=subprocess.PIPE, text=True)
    started.append(w)
    if not wait_for(lambda: proc_state(w.pid) == "T", f"{name}: workload waiting"):
        return
    err = open(artifact(f"sched_exact/{name}.err"), "w")
    rec = subprocess.Popen([PROCSCOPE, "record", "-v", "-o", out, "-p", str(w.pid)], stderr=err)
    started.append(rec)
    if not wait_for(lambda: "recording to" in open(err.name).read(), f"{name}: recorder attached"):
        return
    os.kill(w.pid, signal.SIGCONT)
    w.stdout.readline()  # "stopping": its work is done
    wait_for(lambda: proc_state(w.pid) == "T", f"{name}: workload stopped at its end")
    time.sleep(0.1)  # the child of pingpong parks in pause()
    kern = kernel_counters(tree(w.pid))
    rec.send_signal(signal.SIGINT)
    check(rec.wait(timeout=60) == 0, f"{name}: record exit status {rec.returncode}")
    os.kill(w.pid, signal.SIGCONT)
    for pid in tree(w.pid)[1:]:
        os.kill(pid, signal.SIGKILL)  # pingpong's child, which this test's workload forked
    w.kill()
    w.wait()
    if load:
        load.terminate()
        load.wait()
    rep = subprocess.run([PROCSCOPE, "report", "-i", out, "--json"], capture_output=True, text=True)
    check(rep.returncode == 0, f"{name}: report: {rep.stderr.strip()}")
    rep = json.loads(rep.stdout)
    threads = {t["tid"]: t for p in rep["processes"] for t in p["threads"]}
    lost = rep["lost_records"]
    check(lost == 0, f"{name}: no records lost ({lost})")
    unreported = 0
    for tid, (nv, niv, oncpu) in sorted(kern.items()):
        t = threads.get(tid)
        if not check(t is not None, f"{name}: thread {tid} in the report"):
            continue
        unreported += t["unreported"]
        tol = max(0.005 * oncpu, 200e3)
        print(f"{name}: {tid} nvcsw {t['nvcsw']}/{nv} nivcsw {t['nivcsw']}/{niv} "
              f"on-cpu {t['oncpu_total_ns']}/{oncpu} unreported {t['unreported']}")
        check(t["nvcsw"] == nv and t["nivcsw"] == niv,
              f"{name}: {tid} switches {t['nvcsw']}/{t['nivcsw']} == kernel {nv}/{niv}")
        check(abs(t["oncpu_total_ns"] - oncpu) <= tol,
              f"{name}: {tid} on-cpu {t['oncpu_total_ns']} within {tol:.0f} ns of schedstat {oncpu}")
        check(t["unknown_ns"] == 0 and t["inconsistencies"] == 0,
              f"{name}: {tid} no unknown time ({t['unknown_ns']} ns, {t['inconsistencies']} contradictions)")
    text = subprocess.run([PROCSCOPE, "report", "-i", out], capture_output=True, text=True).stdout
    check("records were lost" not in text, f"{name}: report speaks of lost records with none lost")
    print(f"{name}: {len(kern)} threads, {unreported} unreported switches rebuilt")


runs = int(os.environ.get("SCHED_RUNS", "1"))
for n in range(runs):
    for loaded in (False, True):
        for mode in ("pinned3", "sleeper", "pinned", "pingpong", "pool"):
            run_case(mode, loaded, n)
done()
