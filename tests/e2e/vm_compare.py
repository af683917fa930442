#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Compares `procscope layout --at end --json` with the kernel's /proc/PID/maps.

    vm_compare.py PROCSCOPE TRACE DIR

DIR holds PID.maps (a copy of /proc/PID/maps taken at the very end of the
process) and optionally PID.facts (what the program knows about itself:
"heap|anon|file|text|stack ADDR" or "thread TID ADDR"). Every maps line must
be a rebuilt region with the same start, end and permissions, and the kinds
must agree with what the kernel and the program say. Exit 0 if all agree.
"""
import glob
import json
import os
import subprocess
import sys

ANON_KINDS = {"anon", "bss", "thread_stack", "guard", "coroutine_stack", "goroutine_stacks",
              "sigaltstack"}
FILE_KINDS = {"text", "rodata", "data", "file", "guard"}


def parse_maps(path):
    out = []
    with open(path) as f:
        for line in f:
            parts = line.split(None, 5)
            if len(parts) < 5:
                continue
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            name = parts[5].strip() if len(parts) > 5 else ""
            if lo >= 0xffff800000000000:
                continue  # [vsyscall]: in the kernel half, not a VMA of the process
            out.append((lo, hi, parts[1], name))
    return out


def expected_kinds(name):
    if name == "[heap]":
        return {"heap"}
    if name == "[stack]":
        return {"stack"}
    if name == "[vdso]":
        return {"vdso"}
    if name.startswith("[vvar"):
        return {"vvar"}
    if name.startswith("/dev/zero") or name.startswith("/SYSV") or name.startswith("/memfd:"):
        return {"anon", "file"}
    if name.startswith("/"):
        return FILE_KINDS
    if name == "" or name.startswith("[anon"):
        return ANON_KINDS
    return None


def check(procscope, trace, pid, maps_path, facts_path):
    errors = []
    res = subprocess.run([procscope, "layout", "-i", trace, "--pid", str(pid), "--json"],
                         capture_output=True, text=True)
    if res.returncode != 0:
        return ["pid %d: layout failed: %s" % (pid, res.stderr.strip())]
    lay = json.loads(res.stdout)
    regions = [(int(r["start"], 16), int(r["end"], 16), r) for r in lay["regions"]]
    got = {(lo, hi, r["perms"]): r for lo, hi, r in regions}
    kmaps = parse_maps(maps_path)
    want = {(lo, hi, perms) for lo, hi, perms, _ in kmaps}
    for lo, hi, perms, name in kmaps:
        r = got.get((lo, hi, perms))
        if r is None:
            errors.append("pid %d: kernel has %x-%x %s %s, layout does not" % (pid, lo, hi, perms, name))
            continue
        kinds = expected_kinds(name)
        if kinds is not None and r["kind"] not in kinds:
            errors.append("pid %d: %x-%x %s %s: kind %s, want one of %s" %
                          (pid, lo, hi, perms, name, r["kind"], sorted(kinds)))
        # /dev/zero and SysV segments (/SYSV<key>) are shmem files nothing names in the records
        if name.startswith("/") and not name.startswith(("/dev/zero", "/SYSV")) and \
                r.get("path") != name.replace(" (deleted)", ""):
            errors.append("pid %d: %x-%x path %r, kernel says %r" % (pid, lo, hi, r.get("path"), name))
    for lo, hi, r in regions:
        if (lo, hi, r["perms"]) not in want:
            errors.append("pid %d: layout has %x-%x %s %s, kernel does not" % (pid, lo, hi, r["perms"], r["kind"]))

    def region_at(addr):
        for lo, hi, r in regions:
            if lo <= addr < hi:
                return r
        return None

    if facts_path and os.path.exists(facts_path):
        for line in open(facts_path):
            f = line.split()
            if not f:
                continue
            if f[0] == "thread":
                tid, addr = int(f[1]), int(f[2], 16)
                r = region_at(addr)
                if not r or r["kind"] != "thread_stack" or r.get("tid") != tid:
                    errors.append("pid %d: stack of thread %d at %x is %s" % (pid, tid, addr, r))
            elif f[0] in ("heap", "anon", "file", "text", "stack"):
                addr = int(f[1], 16)
                r = region_at(addr)
                if not r or r["kind"] != f[0]:
                    errors.append("pid %d: %x should be %s, is %s" % (pid, addr, f[0], r))
    print("pid %d: %d kernel regions, %d rebuilt, %d problems" % (pid, len(kmaps), len(regions), len(errors)))
    return errors


def main():
    procscope, trace, d = sys.argv[1:4]
    errors = []
    n = 0
    for maps in sorted(glob.glob(os.path.join(d, "*.maps"))):
        pid = int(os.path.basename(maps).split(".")[0])
        errors += check(procscope, trace, pid, maps, maps[:-5] + ".facts")
        n += 1
    for e in errors:
        print(e)
    if n == 0:
        print("no maps to compare")
        return 1
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
