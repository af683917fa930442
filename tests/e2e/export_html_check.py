#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Judges what tests/viewer/html_check.mjs saw in an HTML export.

    export_html_check.py OBS.json --message TEXT
        the page has nothing to show and says TEXT
    export_html_check.py OBS.json --path PATH
        the page shows a layout with a region of file PATH
    export_html_check.py OBS.json --busy PID DIR OUT
        html_busy: OUT holds its "children N" and "run START END" lines, DIR
        its maps; the page draws the busiest processes only and says how
        many it left out (1 + N recorded), and the punched map is one band
        whose pieces and bytes are the kernel's maps inside it
    export_html_check.py OBS.json --stacks CALL:FUNC ...
        export --stacks: some CALL mark (brk, mmap) of the process shows a
        call stack through FUNC, the workload's own function that made it,
        and every mark's stack starts in the libc wrapper of its own call
    export_html_check.py OBS.json PROCSCOPE TRACE PID DIR NAMES
        DIR/PID.maps (and .facts): the workload's own /proc/self/maps at its
        end; NAMES: the workload's "thread TID NAME" lines, or - to look at
        the layouts only

Always: the page asked for nothing (no request at all) and logged no
error. Then: the layout at the slider's end equals the maps region for
region (start, end, permissions, path) with kinds the kernel and the
program agree with; the layout at the slider's middle equals `layout --at`
of that time; every thread's name is on a lane; each lane's running time
equals `report --json`'s running_ns within one pixel column; a click on a
lane moved the slider. Exit 0 if all hold.
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vm_compare  # noqa: E402  (parse_maps, expected_kinds)


def check_page(obs):
    errors = ["the page asked for %s" % u for u in obs["requests"]]
    errors += ["the page logged %s" % e for e in obs["errors"]]
    return errors


def check_end(obs, pid, d):
    errors = []
    bands = obs["end_bands"]
    got = {(int(b["start"], 16), int(b["end"], 16), b["perms"]): b for b in bands}
    kmaps = vm_compare.parse_maps(os.path.join(d, "%d.maps" % pid))
    want = {(lo, hi, perms) for lo, hi, perms, _ in kmaps}
    for lo, hi, perms, name in kmaps:
        b = got.get((lo, hi, perms))
        if b is None:
            errors.append("end: the kernel has %x-%x %s %s, the page does not" % (lo, hi, perms, name))
            continue
        kinds = vm_compare.expected_kinds(name)
        if kinds is not None and b["kind"] not in kinds:
            errors.append("end: %x-%x %s %s is drawn as %s, want one of %s" %
                          (lo, hi, perms, name, b["kind"], sorted(kinds)))
        if name.startswith("/") and b["path"] != name.replace(" (deleted)", ""):
            errors.append("end: %x-%x path %r, the kernel says %r" % (lo, hi, b["path"], name))
    for key, b in got.items():
        if key not in want:
            errors.append("end: the page draws %x-%x %s %s, the kernel has no such region" %
                          (key[0], key[1], key[2], b["kind"]))
    facts = os.path.join(d, "%d.facts" % pid)
    for line in open(facts) if os.path.exists(facts) else []:
        f = line.split()
        if len(f) < 2:
            continue
        addr = int(f[-1], 16)
        b = next((b for (lo, hi, _), b in got.items() if lo <= addr < hi), None)
        if f[0] == "thread" and (not b or b["kind"] != "thread_stack" or b["tid"] != int(f[1])):
            errors.append("end: the stack of thread %s at %x is drawn as %s" % (f[1], addr, b))
        elif f[0] != "thread" and (not b or b["kind"] != f[0]):
            errors.append("end: %x should be %s, is drawn as %s" % (addr, f[0], b))
    print("end: %d kernel regions, %d bands" % (len(kmaps), len(bands)))
    return errors


def check_busy(obs, pid, d, out_path):
    errors = []
    said = dict((l.split()[0], l.split()[1:]) for l in open(out_path) if l.strip())
    children = int(said["children"][0])
    run_lo, run_hi = (int(v, 16) for v in said["run"])
    total = 1 + children	# record -- html_busy traces it and its children only
    drawn = obs["drawn"]
    if not drawn or drawn >= total or len(obs["processes"]) != drawn:
        errors.append("busy: %d processes recorded, the page draws %d (header says %d)" %
                      (total, len(obs["processes"]), drawn))
    if obs["summarised"] != total - drawn:
        errors.append("busy: the page leaves out %d processes, want %d" % (obs["summarised"], total - drawn))
    if "%d more" % (total - drawn) not in obs["summary"]:
        errors.append("busy: the page does not say it left out %d: %r" % (total - drawn, obs["summary"]))
    if not any(p["pid"] == pid for p in obs["processes"]):
        errors.append("busy: the busiest process %d is not drawn" % pid)
    kmaps = vm_compare.parse_maps(os.path.join(d, "%d.maps" % pid))
    bands = obs["end_bands"]
    folded = []
    for b in bands:
        lo, hi = int(b["start"], 16), int(b["end"], 16)
        if b["pieces"] < 2:
            continue
        inside = [(a, z, perms) for a, z, perms, _ in kmaps if a < hi and z > lo]
        folded.append((lo, hi))
        if (b["pieces"], b["mapped"]) != (len(inside), sum(z - a for a, z, _ in inside)):
            errors.append("busy: band %x-%x folds %d maps, %d bytes; the kernel has %d maps, %d bytes there" %
                          (lo, hi, b["pieces"], b["mapped"], len(inside), sum(z - a for a, z, _ in inside)))
        if any(perms != b["perms"] for _, _, perms in inside):
            errors.append("busy: band %x-%x %s holds maps of other permissions: %s" % (lo, hi, b["perms"], inside))
    run = [b for b in bands if int(b["start"], 16) <= run_lo and int(b["end"], 16) >= run_hi]
    pieces = sum(1 for a, z, _, _ in kmaps if a < run_hi and z > run_lo)
    if len(run) != 1 or run[0]["kind"] != "anon" or run[0]["pieces"] < pieces:
        errors.append("busy: the punched map %x-%x (%d maps to the kernel) is not one anon band: %s" %
                      (run_lo, run_hi, pieces, run))
    else:
        print("busy: the punched map is one band of %d pieces, %d bytes mapped" %
              (run[0]["pieces"], run[0]["mapped"]))
    in_fold = lambda lo, hi: any(a <= lo and hi <= z for a, z in folded)
    got = {(int(b["start"], 16), int(b["end"], 16), b["perms"]) for b in bands if b["pieces"] < 2}
    want = {(lo, hi, perms) for lo, hi, perms, _ in kmaps if not in_fold(lo, hi)}
    errors += ["busy: the kernel has %x-%x %s, the page does not" % w for w in sorted(want - got)]
    errors += ["busy: the page draws %x-%x %s, the kernel has no such region" % g for g in sorted(got - want)]
    print("busy: %d of %d processes drawn, %d kernel regions, %d bands (%d folded)" %
          (drawn, total, len(kmaps), len(bands), len(folded)))
    return errors


def check_middle(obs, procscope, trace, pid):
    at = "%dns" % obs["mid_ns"]
    res = subprocess.run([procscope, "layout", "-i", trace, "--pid", str(pid), "--at", at, "--json"],
                         capture_output=True, text=True)
    if res.returncode and ("no process" in res.stderr or "no layout" in res.stderr):
        want = []	# not there yet, or no layout known then: the page must draw none
    elif res.returncode:
        return ["middle: layout --at %s failed: %s" % (at, res.stderr.strip())]
    else:
        want = [(int(r["start"], 16), int(r["end"], 16), r["perms"], r["kind"], r.get("path", ""),
                 r.get("tid", 0)) for r in json.loads(res.stdout)["regions"]]
    got = [(int(b["start"], 16), int(b["end"], 16), b["perms"], b["kind"],
            b["path"] if b["path"].startswith("/") else "", b["tid"]) for b in obs["mid_bands"]]
    got.sort()
    errors = ["middle (%s): layout --at has %x-%x %s %s %s %s, the page does not" % ((at,) + w)
              for w in want if w not in got]
    errors += ["middle (%s): the page draws %x-%x %s %s %s %s, layout --at does not" % ((at,) + g)
               for g in got if g not in want]
    print("middle: slider position %d = %s from time zero: %d regions, %d bands" %
          (obs["mid_position"], at, len(want), len(got)))
    return errors


def check_threads(obs, procscope, trace, pid, names_path):
    errors = []
    labels = obs["lane_labels"]
    for line in open(names_path):
        f = line.split()
        if len(f) == 3 and f[0] == "thread" and not any(f[2] in l and f[1] in l for l in labels):
            errors.append("lanes: no lane named %s (tid %s) among %s" % (f[2], f[1], labels))
    rep = json.loads(subprocess.run([procscope, "report", "-i", trace, "--json"], check=True,
                                    capture_output=True, text=True).stdout)
    proc = next(p for p in rep["processes"] if p["pid"] == pid)
    pixel = obs["col_ns"]
    page = {t["tid"]: t["running_ns"] for t in obs["threads"]}
    for t in proc["threads"]:
        got = page.get(t["tid"])
        if got is None:
            errors.append("lanes: thread %d (%s) has no lane" % (t["tid"], t["comm"]))
        elif abs(got - t["running_ns"]) > pixel:
            errors.append("lanes: thread %d (%s) runs %d ns on its lane, report --json says %d "
                          "(more than a pixel, %d ns, apart)" % (t["tid"], t["comm"], got,
                                                                 t["running_ns"], pixel))
        else:
            print("lanes: thread %d (%s): %d ns running, report --json %d" %
                  (t["tid"], t["comm"], got, t["running_ns"]))
    want_pos = obs["cols"] // 5
    if abs(obs["click_position"] - want_pos) > 2:
        errors.append("lanes: a click a fifth of the way moved the slider to %d, want about %d" %
                      (obs["click_position"], want_pos))
    return errors


def main():
    obs = json.load(open(sys.argv[1]))
    errors = check_page(obs)
    print("page: interactive after %.0f ms, %d requests, %d errors" %
          (obs.get("ready_ms") or -1, len(obs["requests"]), len(obs["errors"])))
    if sys.argv[2] == "--path":
        if obs.get("empty") or not any(b["path"] == sys.argv[3] for b in obs.get("end_bands", [])):
            errors.append("no region of %r among %s" % (sys.argv[3], obs.get("end_bands")))
        else:
            print("path: a region of %s is drawn" % sys.argv[3])
    elif sys.argv[2] == "--stacks":
        got = obs.get("call_stacks", [])
        for c in got:
            if c["frames"][0].lstrip("_") != c["name"]:
                errors.append("stacks: the %s mark at %d shows the stack of another call: %s" %
                              (c["name"], c["t"], c["frames"]))
        for spec in sys.argv[3:]:
            call, func = spec.split(":")
            hit = [c for c in got if c["name"] == call and func in c["frames"]]
            if not hit:
                errors.append("stacks: no %s mark shows a stack through %s (%d marks with stacks: %s)" %
                              (call, func, len(got), sorted({c["name"] for c in got})))
            else:
                print("stacks: %d %s marks with a stack through %s, e.g. %s" %
                      (len(hit), call, func, ";".join(reversed(hit[0]["frames"]))))
    elif sys.argv[2] == "--busy":
        errors += check_busy(obs, int(sys.argv[3]), sys.argv[4], sys.argv[5])
    elif sys.argv[2] == "--message":
        if not obs.get("empty") or sys.argv[3] not in obs.get("message", ""):
            errors.append("the page should say %r, it says %r" % (sys.argv[3], obs.get("message")))
        else:
            print("message: %s" % obs["message"])
    else:
        procscope, trace, pid, d, names = sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6]
        if obs.get("empty"):
            errors.append("the page shows nothing: %s" % obs.get("message"))
        else:
            errors += check_end(obs, pid, d)
            errors += check_middle(obs, procscope, trace, pid)
            if names != "-":
                errors += check_threads(obs, procscope, trace, pid, names)
    for e in errors:
        print("FAIL " + e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
