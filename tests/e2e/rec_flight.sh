#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""record --ring SIZE: the flight recorder keeps only the newest SIZE, and
each SIGUSR1 writes it to the next file (FILE, FILE.1, ...) while the
recording goes on. Each file decodes alone: its layout of the workload at
its end equals the /proc/PID/maps the workload copied of itself at that
moment (quiesced: no thread maps or unmaps until the file is written), and
it names the workload's threads, though the ring wrapped long after the
threads were created."""
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from pslib import PROCSCOPE, WORKLOADS, artifact, check, done, dump, fail  # noqa: E402
import vm_compare  # noqa: E402

tmp = tempfile.mkdtemp(prefix="procscope-flight.")
out = artifact("rec_flight.data")
for i in range(4):
    p = out if i == 0 else f"{out}.{i}"
    if os.path.exists(p):
        os.unlink(p)

w = subprocess.Popen([f"{WORKLOADS}/prod_churn"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                     text=True, env=dict(os.environ, VM_OUT=tmp))
rec = None


def cleanup():
    if w.poll() is None:
        w.kill()
    if rec and rec.poll() is None:
        rec.kill()


try:
    pid = int(w.stdout.readline().split()[1])
    rec = subprocess.Popen([PROCSCOPE, "record", "-q", "--ring", "1M", "-o", out, "-p", str(pid)],
                           stderr=subprocess.PIPE, text=True)

    def say(cmd):
        w.stdin.write(cmd + "\n")
        w.stdin.flush()

    def snapshot(i):
        """Quiesce, copy maps, SIGUSR1, wait for the file, go on."""
        say(f"q s{i}")
        line = w.stdout.readline().split()
        if line != ["quiet", f"s{i}"]:
            fail(f"workload said {line}")
        path = out if i == 0 else f"{out}.{i}"
        rec.send_signal(10)
        for _ in range(200):
            if os.path.exists(path):
                break
            time.sleep(0.05)
        time.sleep(0.3)  # written and renamed into place: give the recorder its next tick
        say("g")
        return path

    time.sleep(4)  # well past one ring's worth of churn
    files = []
    for i in range(2):
        files.append(snapshot(i))
        time.sleep(2)
    rec.send_signal(2)
    _, err = rec.communicate(timeout=30)
    say("x")
    w.wait(timeout=10)
finally:
    cleanup()

check(rec.returncode == 0, f"recorder exit {rec.returncode}: {err.strip()}")
check(os.path.exists(f"{out}.2"), "the end of the recording wrote the next file")
for i, path in enumerate(files):
    if not check(os.path.exists(path), f"snapshot {i} at {path}"):
        continue
    size = os.path.getsize(path)
    check(size <= (1 << 20) + (64 << 10), f"{path}: {size} bytes, more than the ring holds")
    recs, _ = dump(path)
    # the ring wrapped: the file starts with a keyframe, after the workload's threads were made
    check(recs and recs[0].type == "snap_task", f"{path} starts with {recs[0] if recs else None}")
    check(not any(r.type == "process_fork" and r.tgid == pid for r in recs),
          f"{path}: the ring did not wrap (threads' creation still in it)")
    # its layout at its end is the workload's own copy of /proc/PID/maps at that moment
    errors = vm_compare.check(PROCSCOPE, path, pid, os.path.join(tmp, f"s{i}.maps"), None)
    for e in errors[:10]:
        print(e)
    check(not errors, f"{path}: layout differs from /proc/{pid}/maps ({len(errors)} regions)")
    rep = subprocess.run([PROCSCOPE, "report", "-i", path, "--pid", str(pid), "--json"],
                         capture_output=True, text=True)
    if check(rep.returncode == 0, f"report of {path}: {rep.stderr.strip()}"):
        text = json.dumps(json.loads(rep.stdout))
        for name in ("churn-1", "churn-2", "prod_churn"):
            check(f'"{name}"' in text, f"{path}: thread {name} not named")
    for verb in (["timeline"], ["export", "--format", "perfetto", "-o", os.path.join(tmp, "p.pb")]):
        r = subprocess.run([PROCSCOPE] + verb + ["-i", path], capture_output=True, text=True)
        check(r.returncode == 0 and "warning" not in r.stderr,
              f"{verb[0]} of {path}: exit {r.returncode} {r.stderr.strip()[:300]}")
subprocess.run(["rm", "-rf", tmp])
done()
