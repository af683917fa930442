#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""--json with names that are not ASCII: a thread named in UTF-8 and one
named with bytes that are not UTF-8, and files named the same way mapped
by the workload. `report --json` and `layout --json` must be valid JSON
(strict UTF-8), give the UTF-8 name back byte for byte, and give each
invalid byte back as U+FFFD (json_writer.h says so)."""
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from pslib import PROCSCOPE, WORKLOADS, artifact, check, done, fail  # noqa: E402

UTF8 = "w\u00f6rk-\u00df"          # what tests/workloads/names.c sets
INVALID_AS = "\ufffd\ufffd"         # b"\xff\xfe", one U+FFFD per byte

out = artifact("json_names")
shutil.rmtree(out, ignore_errors=True)
os.makedirs(out)
data = os.path.join(out, "names.data")
p = subprocess.run([PROCSCOPE, "record", "-o", data, "--", f"{WORKLOADS}/names", out],
                   capture_output=True, timeout=60)
if p.returncode != 0:
    fail(f"record failed ({p.returncode}): {p.stderr.decode(errors='replace')}")
facts = dict(line.split() for line in p.stdout.decode().splitlines())
pid, tid_utf8, tid_invalid = int(facts["pid"]), int(facts["utf8"]), int(facts["invalid"])


def load(what, args):
    r = subprocess.run([PROCSCOPE, what, "-i", data, "--json"] + args, capture_output=True)
    if r.returncode != 0:
        fail(f"{what} --json failed ({r.returncode}): {r.stderr.decode(errors='replace')}")
    try:
        r.stdout.decode("utf-8")	# strict: any invalid byte raises
        return json.loads(r.stdout)
    except ValueError as e:
        fail(f"{what} --json is not valid UTF-8 JSON: {e}")


rep = load("report", [])
procs = [pr for pr in rep["processes"] if pr["pid"] == pid]
if not procs:
    fail(f"process {pid} not in report --json")
comms = {t["tid"]: t["comm"] for t in procs[0]["threads"]}
check(comms.get(tid_utf8) == UTF8, f"thread {tid_utf8}: comm {comms.get(tid_utf8)!r}, want {UTF8!r}")
check(comms.get(tid_invalid) == INVALID_AS,
      f"thread {tid_invalid}: comm {comms.get(tid_invalid)!r}, want {INVALID_AS!r}")

lay = load("layout", ["--pid", str(pid)])
paths = [r.get("path", "") for r in lay["regions"]]
for name in (UTF8, INVALID_AS):
    want = "/json_names/" + name
    check(any(x.endswith(want) for x in paths), f"layout: no region mapping ...{want!r}; paths {paths}")
done()
