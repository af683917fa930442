#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Loss accounting with a deliberately tiny ring per CPU (-b 4K): the brk
records read plus the brk records counted lost equal bpftrace's own count
of the same tracepoint (syscalls:sys_exit_brk) for the same process over
the same interval (its whole life), and the workload's own count of its
calls bounds both."""
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from pslib import PROCSCOPE, WORKLOADS, artifact, check, done, dump, fail  # noqa: E402

out = artifact("rec_lost_count.data")
N = 300000
# bpftrace ends itself when the workload's main thread exits (a SIGINT
# that lands while it is still attaching can leave it hanging)
prog = ('tracepoint:syscalls:sys_exit_brk /comm == "prod_churn"/ { @n = count(); } '
        'tracepoint:sched:sched_process_exit /comm == "prod_churn" && pid == tid/ { exit(); }')
bt = subprocess.Popen(["bpftrace", "-e", prog], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                      text=True)
try:
    said = []
    while not said or "Attaching" not in said[-1]:  # past its warnings (RLIMIT_MEMLOCK)
        said.append(bt.stdout.readline())
        if not said[-1]:
            fail(f"bpftrace did not start: {''.join(said).strip()}")
    time.sleep(1.0)  # "Attaching" is printed before the probes are
    rec = subprocess.run([PROCSCOPE, "record", "-b", "4K", "--no-stacks", "-o", out, "--",
                          f"{WORKLOADS}/prod_churn", "--brk", str(N)], capture_output=True, text=True)
finally:
    try:
        bt_out = bt.communicate(timeout=60)[0]  # it prints its map as it exits
    except subprocess.TimeoutExpired:
        bt.send_signal(2)
        try:
            bt_out = bt.communicate(timeout=60)[0]
        except subprocess.TimeoutExpired:
            bt.kill()
            bt.wait()
            fail("bpftrace did not exit, by itself or on SIGINT")
m = re.search(r"@n: (\d+)", bt_out)
if not m:
    fail(f"no count from bpftrace: {bt_out.strip()}")
independent = int(m.group(1))
check(rec.returncode == 0 and f"done {N}" in rec.stdout, f"record: exit {rec.returncode} {rec.stderr.strip()}")

recs, _ = dump(out)
read = sum(1 for r in recs if r.type == "brk")
lost_rec = next((r for r in reversed(recs) if r.type == "lost"), None)
lost = int(re.search(r"\bbrk=(\d+)", lost_rec.rest).group(1)) if lost_rec and "brk=" in lost_rec.rest else 0
print(f"brk records read {read}, lost {lost}, bpftrace counted {independent}, the workload made {N}+")
check(lost > 0, "the 4 KiB rings never overflowed: nothing was tested")
check(read + lost == independent, f"read {read} + lost {lost} = {read + lost}, bpftrace {independent}")
check(N <= independent <= N + 20, f"bpftrace {independent} brk calls, the workload made {N} and its loader a few")
done()
