#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""record -- CMD: every operation the workload logs is in the file with the
right values, its threads and child are followed from their first
instruction, its exit status is procscope's, and nothing of an unrelated
busy process leaks in."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from pslib import PROCSCOPE, WORKLOADS, artifact, check, done, dump, fail  # noqa: E402

out = artifact("rec_cmd.data")
# an unrelated process doing the same kind of work at the same time
noise = subprocess.Popen([f"{WORKLOADS}/rec_basic"], stdout=subprocess.DEVNULL)
p = subprocess.run([PROCSCOPE, "record", "-o", out, "--", f"{WORKLOADS}/rec_basic"],
                   capture_output=True, text=True, timeout=60)
noise.wait()
check(p.returncode == 7, f"procscope exits with the command's status 7, got {p.returncode}")
check(re.search(r"procscope: \d+ records, .* written to", p.stderr), f"summary line: {p.stderr!r}")
check(oct(os.stat(out).st_mode & 0o777) == "0o600", "session file is 0600")

log = [l.split() for l in p.stdout.splitlines()]
recs, _ = dump(out)
execs = [r for r in recs if r.type == "process_exec" and "rec_basic" in r.rest]
if not execs:
    fail("no process_exec record for the workload")
pid = execs[0].tgid
threads = {int(l[1]) for l in log if l[0] == "thread"}
child = [int(l[1]) for l in log if l[0] == "child"][0]
mine = [r for r in recs if r.tgid == pid]


def find(rtype, text):
    return [r for r in mine if r.type == rtype and text in r.rest]


for l in log:
    if l[0] == "brk":
        check(find("brk", f"brk({l[1]}) = {l[2]}"), f"brk record {l}")
    elif l[0] == "mmap":
        addr = int(l[1], 16)
        check(find("mmap", f"mmap(0x0, {l[2]}, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0x0) = {addr:#x}"),
              f"mmap record {l}")
    elif l[0] == "munmap":
        check(find("munmap", f"munmap({int(l[1], 16):#x}, {l[2]}) = 0x0"), f"munmap record {l}")
    elif l[0] == "munmap_fail":
        check(find("munmap", "munmap(0x1, 4096) = -Invalid argument"), "failed munmap recorded with its error")
    elif l[0] == "mremap":
        check(find("mremap", f"mremap({int(l[1], 16):#x}, {l[2]}, {l[3]}, 0x1, 0x0) = {int(l[4], 16):#x}"),
              f"mremap record {l}")
    elif l[0] == "mprotect":
        check(find("mprotect", f"mprotect({int(l[1], 16):#x}, {l[2]}, PROT_READ) = 0x0"), f"mprotect record {l}")

# threads: born by clone3 with a stack, followed, and their exits seen
for tid in threads:
    check(find("process_fork", f"thread {pid}/{tid} "), f"fork record for thread {tid}")
    check([r for r in mine if r.type == "clone" and "CLONE_THREAD" in r.rest and r.rest.endswith(f"= {tid}")
           and "stack=0x0," not in r.rest], f"clone3 record with a child stack for thread {tid}")
    check([r for r in recs if r.tid == tid and r.type == "process_exit"], f"exit of thread {tid}")
    check([r for r in recs if r.tid == tid and r.type == "sched_switch"], f"thread {tid} scheduled")

# the child process: forked, exec'd /bin/true, exited
check(find("process_fork", f"process {child}/{child} "), "fork record for the child process")
check([r for r in recs if r.tgid == child and r.type == "process_exec" and "/bin/true" in r.rest],
      "child's exec of /bin/true")
check([r for r in recs if r.tgid == child and r.type == "exec_vma" and "/usr/bin/true" in r.rest],
      "child's fresh image mappings")
check([r for r in recs if r.tgid == child and r.type == "process_exit" and "group_dead" in r.rest],
      "child's exit")
check([r for r in mine if r.type == "process_exit" and "exit_code=0x700" in r.rest and "group_dead" in r.rest],
      "workload's exit with status 7")

# traced from the first instruction: the exec comes before any syscall of the new image
first_brk = next((r for r in mine if r.type == "brk"), None)
check(first_brk and first_brk.ts > execs[0].ts, "exec recorded before the image's first syscall")

# nothing from other processes, except scheduler records naming a traced task
# and the names of the untraced tasks that woke one (comm)
traced = {pid, child}
for r in recs:
    if r.type in ("sched_switch", "sched_wakeup", "lost", "comm"):
        continue
    if r.tgid not in traced:
        check(False, f"record of an untraced process leaked in: {r}")
        break
for r in recs:
    if r.type == "sched_switch":
        m = re.search(r"next=(\d+)/", r.rest)
        if r.tgid not in traced and int(m[1]) not in traced:
            check(False, f"switch between untraced tasks: {r}")
            break
done()
