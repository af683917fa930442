#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Layout tests on programs nobody here wrote (a JVM, Go, gcc -flto).

    vm_foreign.py PROCSCOPE OUTDIR CASE...

Each case records a program, copies /proc/PID/maps of the processes it
names while they are stopped (SIGSTOP: nothing moves), and hands the copies
to vm_compare.py: `layout --at end --json` must equal them region for region
(start, end, perms). How the target is stopped:
  record -- CMD: a process stops itself as it exits (the LD_PRELOAD hook
      stop_at_exit.so, or the program's own SIGSTOP); the test copies its
      maps, then ends it (SIGKILL) or lets it finish (SIGCONT: gcc's lto1
      processes, so the build completes);
  attach (-p): the test stops the running program from outside.
Prints the match figures and the session's layout corrections.
"""
import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def stat(pid):
    with open("/proc/%s/stat" % pid) as f:
        s = f.read()
    rest = s[s.rindex(")") + 2:].split()
    return s[s.index("(") + 1:s.rindex(")")], rest[0], int(rest[1])


def descends(pid, root):
    for _ in range(64):
        if pid == root:
            return True
        try:
            pid = stat(pid)[2]
        except OSError:
            return False
        if pid <= 1:
            return False
    return False


def all_stopped(pid):
    try:
        return all(stat("%s/task/%s" % (pid, t))[1] in "tT" for t in os.listdir("/proc/%s/task" % pid))
    except OSError:
        return False


def copy_maps(pid, d):
    while not all_stopped(pid):
        time.sleep(0.01)
    with open("/proc/%s/maps" % pid) as f, open("%s/%s.maps" % (d, pid), "w") as o:
        o.write(f.read())


def wait_log(log, text, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if text in open(log).read():
            return True
        time.sleep(0.05)
    return False


def record_cmd(procscope, data, d, cmd, env, comm, after, want):
    """record -- CMD; each process COMM* that stops itself: copy maps, then AFTER (kill/cont).
    ENV goes to CMD only (through env(1)): the recorder may be an ASan build."""
    log = open(d + ".rec.log", "w")
    extra = ["%s=%s" % kv for kv in sorted(env.items()) if os.environ.get(kv[0]) != kv[1]]
    rec = subprocess.Popen([procscope, "record", "-o", data, "--", "env"] + extra + cmd,
                           stdout=log, stderr=subprocess.STDOUT)
    seen = set()
    deadline = time.time() + 240
    while rec.poll() is None and time.time() < deadline:
        for p in os.listdir("/proc"):
            if not p.isdigit() or p in seen:
                continue
            try:
                c, st, _ = stat(p)
            except OSError:
                continue
            if not c.startswith(comm) or st != "T" or not descends(int(p), rec.pid):
                continue
            copy_maps(p, d)
            seen.add(p)
            if after == "kill":
                os.kill(int(p), signal.SIGKILL)
            else:  # stop_at_exit.so lets it go on SIGUSR2, delivered at the SIGCONT
                os.kill(int(p), signal.SIGUSR2)
                os.kill(int(p), signal.SIGCONT)
        if after == "kill" and len(seen) >= want:
            break
        time.sleep(0.02)
    rec.wait(timeout=120)
    if len(seen) < want:
        print("want %d stopped %s processes, saw %d" % (want, comm, len(seen)))
        return False
    return True


def attach(procscope, data, d, cmd, env, warmup, run):
    """Starts CMD, attaches after WARMUP s, lets it run RUN s more, stops it from outside."""
    prog = subprocess.Popen(cmd, env=env)
    time.sleep(warmup)
    log = d + ".rec.log"
    rec = subprocess.Popen([procscope, "record", "-v", "-o", data, "-p", str(prog.pid)],
                           stdout=open(log, "w"), stderr=subprocess.STDOUT)
    if not wait_log(log, "recording to"):
        print("recorder did not start")
        prog.kill()
        rec.kill()
        return False
    time.sleep(run)
    # --at 0 is before the snapshot: the layout shown is the snapshot's
    at0 = subprocess.run([procscope, "layout", "-i", data, "--pid", str(prog.pid), "--at", "0"],
                         capture_output=True, text=True)
    os.kill(prog.pid, signal.SIGSTOP)
    copy_maps(str(prog.pid), d)
    time.sleep(0.1)  # the recorder drains on a timer (not needed for correctness)
    prog.kill()
    prog.wait()
    rec.wait(timeout=60)
    if at0.returncode != 0 or "snapshot" not in at0.stderr or "from snapshot at" not in at0.stdout:
        print("layout --at 0 of an attached process: want the snapshot, got %d: %s" %
              (at0.returncode, at0.stderr.strip()))
        return False
    late = subprocess.run([procscope, "layout", "-i", data, "--pid", str(prog.pid), "--at", "100000"],
                          capture_output=True, text=True)
    if late.returncode == 0 or "past the end" not in late.stderr:
        print("layout --at past the end: want a clear refusal, got %d: %s" %
              (late.returncode, late.stderr.strip()))
        return False
    return True


def corrections(procscope, data):
    out = subprocess.run([procscope, "report", "-i", data, "--json"], capture_output=True, text=True)
    try:
        return json.loads(out.stdout).get("layout_corrections")
    except ValueError:
        return None


def main():
    procscope, outdir = sys.argv[1:3]
    tmp = os.path.join(outdir, "build")
    os.makedirs(tmp, exist_ok=True)
    env = dict(os.environ)
    fail = 0
    for case in sys.argv[3:]:
        d = os.path.join(outdir, case)
        os.makedirs(d, exist_ok=True)
        data = d + ".data"
        cenv = dict(env)
        if case == "java":
            ok = record_cmd(procscope, data, d, ["java", "-Xmx256m", "-cp", tmp, "Alloc", "1500"],
                            dict(cenv, LD_PRELOAD=os.path.join(tmp, "stop_at_exit.so"),
                                 PS_STOP_COMM="java"), "java", "kill", 1)
        elif case == "java-attach":
            ok = attach(procscope, data, d, ["java", "-Xmx256m", "-cp", tmp, "Alloc", "0"], cenv, 1.5, 1.5)
        elif case == "go":
            ok = record_cmd(procscope, data, d, [os.path.join(tmp, "goalloc")], cenv, "goalloc", "kill", 1)
        elif case == "go-attach":
            ok = attach(procscope, data, d, [os.path.join(tmp, "goalloc"), "wait"], cenv, 0.5, 1.0)
        elif case == "gcc-lto":
            src = os.path.join(tmp, "lto")
            cmd = ["sh", "-c", "cd %s && gcc -O2 -flto -c a.c b.c c.c && "
                   "gcc -O2 -flto=2 -flto-partition=1to1 a.o b.o c.o -o prog && ./prog" % src]
            ok = record_cmd(procscope, data, d, cmd,
                            dict(cenv, LD_PRELOAD=os.path.join(tmp, "stop_at_exit.so"),
                                 PS_STOP_COMM="lto1"), "lto1", "cont", 2)
        else:
            print("unknown case", case)
            ok = False
        print("== %s" % case)
        if not ok:
            fail = 1
            continue
        if subprocess.run([sys.executable, os.path.join(HERE, "vm_compare.py"), procscope, data, d]).returncode:
            fail = 1
        print("%s: layout corrections %s" % (case, corrections(procscope, data)))
    return fail


if __name__ == "__main__":
    sys.exit(main())
