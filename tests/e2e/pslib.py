# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Helpers for end-to-end tests: run procscope, parse `procscope dump`."""
import os
import re
import subprocess
import sys

PROCSCOPE = os.environ.get("PROCSCOPE", "./procscope")
WORKLOADS = os.environ.get("WORKLOADS", "build/workloads")
ARTIFACTS = os.environ.get("ARTIFACTS", "tests/artifacts")

LINE = re.compile(r"^\s*(-?\d+)\s+(\d+)\s+(\d+)/(\d+)\s+(\S+)\s?(.*)$")


class Rec:
    __slots__ = ("ts", "cpu", "tgid", "tid", "type", "rest")

    def __init__(self, m):
        self.ts, self.cpu = int(m[1]), int(m[2])
        self.tgid, self.tid = int(m[3]), int(m[4])
        self.type, self.rest = m[5], m[6]

    def __repr__(self):
        return f"{self.ts} {self.tgid}/{self.tid} {self.type} {self.rest}"


def dump(path, check=True):
    """Records of a session file, in file order."""
    # names are raw bytes (a system-wide session holds every task's comm)
    p = subprocess.run([PROCSCOPE, "dump", "-i", path], capture_output=True, text=True,
                       errors="surrogateescape")
    if check and p.returncode != 0:
        fail(f"dump of {path} failed ({p.returncode}): {p.stderr.strip()}")
    recs = []
    for line in p.stdout.splitlines():
        if line.startswith("#"):
            continue
        m = LINE.match(line)
        if not m:
            fail(f"unparsable dump line: {line!r}")
        recs.append(Rec(m))
    return recs, p


def artifact(name):
    os.makedirs(ARTIFACTS, exist_ok=True)
    return os.path.join(ARTIFACTS, name)


_failures = []


def check(cond, msg):
    if not cond:
        _failures.append(msg)
        print("FAIL:", msg)
    return cond


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def done():
    if _failures:
        print(f"{len(_failures)} checks failed")
        sys.exit(1)
    print("ok")
    sys.exit(0)
