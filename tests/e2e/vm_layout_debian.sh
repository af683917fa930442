#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The layout comparison on programs nobody here wrote: python3 and sh stop
# themselves (SIGSTOP) at the end of their work, xz -T2 is stopped from
# outside while its threads run. While stopped, the test copies
# /proc/PID/maps, then kills them: `layout --at end --json` must match.
set -u
[ "$(id -u)" -eq 0 ] || { echo "needs root for BPF"; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
out=$ARTIFACTS/vm_layout_debian
rm -rf "$out"
mkdir -p "$out"
py=/usr/bin/python3
[ -x "$py" ] || py=python3
command -v xz >/dev/null || { echo "xz not installed"; exit 1; }

# stop_and_snapshot NAME SELF_STOPS COMM CMD...: record CMD, snapshot COMM's maps while stopped
run_case() {
	local name=$1 self=$2 comm=$3; shift 3
	mkdir -p "$out/$name"
	"$py" - "$PROCSCOPE" "$out/$name.data" "$out/$name" "$self" "$comm" "$@" <<'PYEOF'
import os, signal, subprocess, sys, time
procscope, data, d, self_stops, comm = sys.argv[1:6]
cmd = sys.argv[6:]
log = open(d + ".rec.log", "w")
if self_stops == "attach":
    # -p: the layout starts from the /proc snapshot the recorder takes
    prog = subprocess.Popen(cmd)
    time.sleep(0.3)
    rec = subprocess.Popen([procscope, "record", "-v", "-o", data, "-p", str(prog.pid)],
                           stdout=log, stderr=subprocess.STDOUT)
    # -v says "recording to" once the probes are attached and the snapshot taken
    for _ in range(600):
        if "recording to" in open(d + ".rec.log").read():
            break
        time.sleep(0.05)
    os.kill(prog.pid, signal.SIGUSR1)   # now it may start changing its layout
    self_stops = "1"
else:
    rec = subprocess.Popen([procscope, "record", "-o", data, "--"] + cmd,
                           stdout=log, stderr=subprocess.STDOUT)

def stat(pid):
    with open("/proc/%s/stat" % pid) as f:
        s = f.read()
    rest = s[s.rindex(")") + 2:].split()
    return s[s.index("(") + 1:s.rindex(")")], rest[0], int(rest[1])

def descends(pid):
    for _ in range(64):
        if pid == rec.pid:
            return True
        try:
            pid = stat(pid)[2]
        except OSError:
            return False
        if pid <= 1:
            return False
    return False

def tasks_stopped(pid):
    try:
        return all(stat("%s/task/%s" % (pid, t))[1] in "tT" for t in os.listdir("/proc/%s/task" % pid))
    except OSError:
        return False

target = None
deadline = time.time() + 60
while time.time() < deadline and target is None and rec.poll() is None:
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            c, st, _ = stat(p)
        except OSError:
            continue
        if c != comm or (not descends(int(p)) and int(p) != getattr(locals().get("prog"), "pid", -1)):
            continue
        if self_stops == "1" and st == "T":
            target = p
        elif self_stops == "0" and len(os.listdir("/proc/%s/task" % p)) >= 3:
            time.sleep(0.5)   # let its threads work a little
            os.kill(int(p), signal.SIGSTOP)
            target = p
    time.sleep(0.05)
if target is None:
    print("no stopped %s found" % comm)
    rec.kill()
    sys.exit(1)
while not tasks_stopped(target):
    time.sleep(0.01)
time.sleep(0.2)  # the recorder drains on a timer: let it catch up (not needed for correctness)
with open("/proc/%s/maps" % target) as f, open("%s/%s.maps" % (d, target), "w") as o:
    o.write(f.read())
nthreads = len(os.listdir("/proc/%s/task" % target))
os.kill(int(target), signal.SIGKILL)
rec.wait(timeout=60)
print("%s: pid %s, %d threads when stopped" % (comm, target, nthreads))
# every thread but the main one runs on a stack of its own that layout names
if nthreads > 1:
    import json
    lay = json.loads(subprocess.run([procscope, "layout", "-i", data, "--pid", target, "--json"],
                                    capture_output=True, text=True).stdout)
    tids = {r["tid"] for r in lay["regions"] if r["kind"] == "thread_stack"}
    alive = set()
    print("thread stacks for tids %s" % sorted(tids))
    if len(tids) < nthreads - 1:
        print("want at least %d thread stacks" % (nthreads - 1))
        sys.exit(1)
PYEOF
	[ $? -eq 0 ] || return 1
	echo "== $name"
	python3 "$here/vm_compare.py" "$PROCSCOPE" "$out/$name.data" "$out/$name"
}

fail=0
run_case python3 1 python3 "$py" -c '
import os, signal, json, decimal, threading
keep = [bytearray(100000) for i in range(100)] + [dict(a=i) for i in range(20000)]
t = threading.Thread(target=lambda: sum(range(100000))); t.start(); t.join()
os.kill(os.getpid(), signal.SIGSTOP)' || fail=1
run_case python3-attach attach python3 "$py" -c '
import os, signal, time, mmap
signal.signal(signal.SIGUSR1, lambda *a: None)
signal.pause()
time.sleep(0.5)
keep = [bytearray(300000) for i in range(50)] + [mmap.mmap(-1, 1 << 20) for i in range(4)]
del keep[10:20]
os.kill(os.getpid(), signal.SIGSTOP)' || fail=1
run_case sh 1 sh /bin/sh -c 'x=$(echo hi); y=$(ls /); kill -STOP $$; echo $x' || fail=1
run_case xz 0 xz /bin/sh -c 'head -c 400000000 /dev/urandom | xz -T2 -1 >/dev/null' || fail=1
exit $fail
