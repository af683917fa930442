#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""record --max-size 1M [--max-files N] on a busy workload, next to an
uncapped recording of the same process over the same interval (the
workload is quiet, no thread making a call, while recorders start and
stop):
- every file of the series decodes alone (report, layout, timeline, no
  warning) and each after the first starts with a keyframe;
- the last file's layout of the still-running workload equals the
  /proc/PID/maps it copied of itself when the recording stopped;
- the series' probe records together equal the uncapped recording's, type
  by type;
- with --max-files 2 only the newest two files are left."""
import collections
import glob
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from pslib import PROCSCOPE, WORKLOADS, artifact, check, done, dump, fail  # noqa: E402
import vm_compare  # noqa: E402

tmp = tempfile.mkdtemp(prefix="procscope-series.")
full_out, ser_out, kept_out = artifact("rec_series_full.data"), artifact("rec_series.data"), \
    artifact("rec_series_kept.data")
for p in glob.glob(ser_out + "*") + glob.glob(kept_out + "*") + glob.glob(full_out + "*"):
    os.unlink(p)

w = subprocess.Popen([f"{WORKLOADS}/prod_churn"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                     text=True, env=dict(os.environ, VM_OUT=tmp))
recs = []


def say(cmd, want=None):
    w.stdin.write(cmd + "\n")
    w.stdin.flush()
    if want:
        line = w.stdout.readline().split()
        if line != want:
            fail(f"workload said {line}, not {want}")


try:
    pid = int(w.stdout.readline().split()[1])
    say("q start", ["quiet", "start"])
    for args in (["-o", full_out], ["--max-size", "1M", "-o", ser_out],
                 ["--max-size", "1M", "--max-files", "2", "-o", kept_out]):
        # no stacks: three recorders share two CPUs with the workload here
        recs.append(subprocess.Popen([PROCSCOPE, "record", "-q", "--no-stacks", "-p", str(pid)] + args,
                                     stderr=subprocess.PIPE, text=True))
    # all three attached: each file is in place once its attach snapshot is written
    for _ in range(600):
        if all(os.path.exists(p) for p in (full_out, ser_out, kept_out)):
            break
        time.sleep(0.05)
    time.sleep(0.5)
    say("g")
    time.sleep(8)
    say("q end", ["quiet", "end"])
    time.sleep(0.5)
    for r in recs:
        r.send_signal(2)
    errs = [r.communicate(timeout=30)[1] for r in recs]
finally:
    for r in recs:
        if r.poll() is None:
            r.kill()
    if w.poll() is None:
        say("x")
        w.wait(timeout=10)

for r, e in zip(recs, errs):
    check(r.returncode == 0, f"recorder {r.args}: exit {r.returncode} {e.strip()}")


def lost_of(recs):
    """Per type, from the file's last lost-counter record (counts since its start)."""
    last = next((r for r in reversed(recs) if r.type == "lost"), None)
    out = collections.Counter()
    for kv in (last.rest.split() if last else []):
        k, _, v = kv.partition("=")
        if v.isdigit() and k != "total":
            out[k] = int(v)
    return out

series = [ser_out] + sorted(glob.glob(ser_out + ".*"), key=lambda p: int(p.rsplit(".", 1)[1]))
series = [p for p in series if not p.endswith(".old")]
check(len(series) >= 3, f"only {len(series)} files of 1M in the series")
PROBE_SKIP = {"snap_task", "snap_map", "snap_sp", "lost", "buildid"}
# not one record per event, so two recorders of the same events may differ:
# rss_stat is emitted on a 256 KiB move from the last value each recorder's
# probe sent; vma_sync walks are skipped when mmap_lock is taken (a trylock)
SAMPLED = {"rss_stat", "vma_sync"}
counts, lost = collections.Counter(), collections.Counter()
for i, path in enumerate(series):
    size = os.path.getsize(path)
    # SIZE, plus at most what one drain brings past it
    check(size <= (1 << 20) + (256 << 10), f"{path}: {size} bytes")
    rs, _ = dump(path)
    if i:
        check(rs and rs[0].type == "snap_task", f"{path} starts with {rs[0] if rs else None}")
        first_probe = next((r.ts for r in rs if r.type not in PROBE_SKIP), None)
        check(first_probe is None or first_probe >= 0, f"{path}: a record before its keyframe")
    counts.update(r.type for r in rs if r.type not in PROBE_SKIP)
    lost.update(lost_of(rs))
    for verb in (["report"], ["timeline"], ["layout", "--pid", str(pid)]):
        p = subprocess.run([PROCSCOPE] + verb + ["-i", path], capture_output=True, text=True)
        check(p.returncode == 0 and "warning" not in p.stderr,
              f"{verb[0]} of {path}: exit {p.returncode} {p.stderr.strip()[:300]}")
errors = vm_compare.check(PROCSCOPE, series[-1], pid, os.path.join(tmp, "end.maps"), None)
for e in errors[:10]:
    print(e)
check(not errors, f"last file {series[-1]}: layout differs from /proc/{pid}/maps")

full, _ = dump(full_out)
want = collections.Counter(r.type for r in full if r.type not in PROBE_SKIP)
full_lost = lost_of(full)
# equal type by type; a record lost on one side (a recorder starved of CPU
# longer than its rings last) is the only excuse, and must stay rare
for t in sorted((set(want) | set(counts)) - SAMPLED):
    check(abs(want[t] - counts[t]) <= lost[t] + full_lost[t],
          f"{t}: {counts[t]} in the series (lost {lost[t]}), {want[t]} uncapped (lost {full_lost[t]})")
total_lost = sum(lost.values()) + sum(full_lost.values())
check(total_lost * 100 <= sum(want.values()), f"{total_lost} records lost")
print(f"{sum(counts.values())} probe records in {len(series)} files (lost {sum(lost.values())}), "
      f"{sum(want.values())} in the uncapped recording (lost {sum(full_lost.values())})")

kept = sorted(glob.glob(kept_out + "*"))
check(len(kept) == 2 and kept_out not in kept, f"--max-files 2 left {kept}")
for path in kept:
    p = subprocess.run([PROCSCOPE, "report", "-i", path], capture_output=True, text=True)
    check(p.returncode == 0 and "warning" not in p.stderr, f"report of {path}: {p.stderr.strip()}")
subprocess.run(["rm", "-rf", tmp])
done()
