#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Checks exports of a session against what the workload (export_small) said
it did and what the raw records hold:
    export_check.py DATA WORKLOAD_OUT DIR   (DIR holds x.pftrace x.json x.speedscope.json x.folded)
Prints each failed check and exits 1 if any failed."""
import collections, json, os, re, subprocess, sys

data, wl_out, d = sys.argv[1:4]
procscope = os.environ["PROCSCOPE"]
proto = os.path.join(os.environ.get("PERFETTO_PROTO", "../shared/perfetto"))
fails = []

def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        fails.append(what)

# --- what the workload did, and the raw records ---
wl = collections.defaultdict(list)
for line in open(wl_out):
    f = line.split()
    if f:
        wl[f[0]].append(f[1:])
pid = int(wl["pid"][0][0])
threads = {int(t): n for t, n in wl["thread"]}
workers = {t: n for t, n in threads.items() if n.startswith("exp-worker")}
dump = subprocess.run([procscope, "dump", "-i", data], capture_output=True, text=True, check=True).stdout
kernel = re.search(r"kernel (\S+),", dump).group(1)
ncpus = int(re.search(r"(\d+) CPUs", dump).group(1))
nswitch = sum(1 for l in dump.splitlines() if re.match(r"\s*\d+\s+\d+\s+\d+/\d+\s+sched_switch ", l))

# --- Perfetto: decoded by protoc, parsed from the text format ---
def parse_text(text):
    root, stack = {}, []
    cur = root
    for line in text.splitlines():
        line = line.strip()
        if line.endswith("{"):
            node = {}
            cur.setdefault(line[:-1].strip(), []).append(node)
            stack.append(cur)
            cur = node
        elif line == "}":
            cur = stack.pop()
        elif line:
            k, v = line.split(":", 1)
            v = v.strip()
            cur.setdefault(k, []).append(json.loads(v) if v.startswith('"') else v)
    return root

dec = subprocess.run(["protoc", "--proto_path=" + proto, "--decode=perfetto.protos.Trace",
                      "perfetto_trace.proto"], stdin=open(os.path.join(d, "x.pftrace"), "rb"),
                     capture_output=True, check=True)
check(dec.stderr == b"", "protoc decodes the trace without complaint")
packets = parse_text(dec.stdout.decode())["packet"]
g = lambda m, k, dflt=None: m.get(k, [dflt])[0]
si = [p for p in packets if "system_info" in p]
check(len(si) == 1 and g(g(g(si[0], "system_info"), "utsname"), "sysname") == "Linux"
      and g(g(g(si[0], "system_info"), "utsname"), "release") == kernel,
      f"one system_info packet: Linux {kernel}")
pt_threads = {}
for p in packets:
    for t in g(p, "process_tree", {}).get("threads", []):
        pt_threads[int(g(t, "tid"))] = (int(g(t, "tgid")), g(t, "name"))
check(all(pt_threads.get(t, (0, ""))[0] == pid for t in threads), "process_tree maps every thread to its process")
check(all(pt_threads[t][1] == n for t, n in threads.items() if t in pt_threads), "process_tree has the final thread names")
td = {}
for p in packets:
    th = g(g(p, "track_descriptor", {}), "thread")
    if th:
        td[int(g(th, "tid"))] = g(th, "thread_name")
check(all(td.get(t) == n for t, n in threads.items()), "thread track descriptors carry the thread names")
bundles = [g(p, "ftrace_events") for p in packets if "ftrace_events" in p]
events, last_ts, ordered = collections.Counter(), {}, True
switch_states, newtasks = set(), {}
for b in bundles:
    cpu = int(g(b, "cpu"))
    for e in b.get("event", []):
        ts = int(g(e, "timestamp"))
        ordered &= ts >= last_ts.get(cpu, 0)
        last_ts[cpu] = ts
        for k in ("sched_switch", "sched_waking", "sched_wakeup_new", "task_newtask", "task_rename", "sched_process_free"):
            if k in e:
                events[k] += 1
                if k == "sched_switch":
                    switch_states.add(int(g(g(e, k), "prev_state")))
                if k == "task_newtask":
                    newtasks[int(g(g(e, k), "pid"))] = int(g(g(e, k), "clone_flags"))
check(ordered, "ftrace events are in time order on each CPU")
check(len(last_ts) > 0 and all(c < ncpus for c in last_ts), "ftrace bundles only for recorded CPUs")
check(events["sched_switch"] == nswitch, f"sched_switch events ({events['sched_switch']}) = switch records ({nswitch})")
check(switch_states <= {0, 1, 2, 4, 8, 16, 32, 64, 128, 256}, f"prev_state in the kernel's report encoding: {sorted(switch_states)}")
check(all(newtasks.get(t, 0) & 0x10000 for t in workers), "task_newtask with CLONE_THREAD for each worker")
check(events["task_rename"] >= len(workers), "task_rename for each pthread_setname_np")
check(events["sched_process_free"] >= len(workers), "sched_process_free for each ended worker")

def annotations(te):
    out = {}
    for a in te.get("debug_annotations", []):
        v = [g(a, k) for k in ("pointer_value", "uint_value", "int_value", "string_value") if k in a]
        out[g(a, "name")] = v[0] if v else None
    return out

instants = collections.defaultdict(list)
counters = collections.defaultdict(list)
uuid_name = {}
for p in packets:
    tdsc = g(p, "track_descriptor")
    if tdsc and "counter" in tdsc:
        uuid_name[g(tdsc, "uuid")] = (g(tdsc, "name"), g(tdsc, "parent_uuid"))
    te = g(p, "track_event")
    if te and g(te, "type") == "TYPE_INSTANT":
        instants[g(te, "name")].append((int(g(te, "track_uuid")), annotations(te)))
    if te and g(te, "type") == "TYPE_COUNTER":
        counters[uuid_name[g(te, "track_uuid")][0]].append(int(g(te, "counter_value")))
thread_uuid = lambda t: (2 << 56) | (pid << 24) | t
for call, key in (("mmap", "ret"), ("munmap", "addr"), ("mprotect", "addr"), ("mremap", "ret")):
    want = collections.Counter((thread_uuid(int(t)), int(a, 16), int(n)) for t, a, n in wl[call])
    got = collections.Counter((u, int(a[key]), int(a.get("len", a.get("new_len", 0))))
                              for u, a in instants[call] if key in a)
    check(want and not (want - got), f"{sum(want.values())} {call} calls of the workload are instants on their thread with address and length")
old, new = (int(x, 16) for x in wl["brk"][0][1:3])
check(max(counters["heap bytes"], default=0) >= new - old, f"heap counter reaches the workload's sbrk ({new - old} bytes)")
check(max(counters["RSS bytes"], default=0) >= 1 << 20, "RSS counter passes the 1 MiB a worker touched")

# --- Chrome JSON ---
ev = json.load(open(os.path.join(d, "x.json")))["traceEvents"]
names = {(e["pid"], e["tid"]): e["args"]["name"] for e in ev if e["ph"] == "M" and e["name"] == "thread_name"}
check(all(names.get((pid, t)) == n for t, n in threads.items()), "chrome: thread_name metadata for every thread")
check(any(e["ph"] == "M" and e["name"] == "process_name" and e["pid"] == 4194304 and e["args"]["name"] == "CPUs" for e in ev),
      "chrome: the CPU pseudo-process")
running, cpu_running = collections.Counter(), collections.Counter()
slices = collections.defaultdict(list)
for e in ev:
    if e["ph"] != "X":
        continue
    if e["pid"] == 4194304:
        cpu_running[e["args"]["tid"]] += round(e["dur"] * 1000)
        check_cpu = e["tid"] < ncpus
        if not check_cpu:
            check(False, f"chrome: CPU lane {e['tid']} exists")
        continue
    slices[e["tid"]].append((round(e["ts"] * 1000), round(e["dur"] * 1000), e["name"]))
    if e["name"].startswith("running on CPU "):
        running[e["tid"]] += round(e["dur"] * 1000)
for t in threads:
    s = sorted(slices[t])
    check(s and all(a[0] + a[1] <= b[0] for a, b in zip(s, s[1:])), f"chrome: state slices of {t} do not overlap")
    check(running[t] == cpu_running[t], f"chrome: {t} runs as long in its lane as in the CPU lanes ({running[t]} ns)")
# a recording that starts at exec lacks the main thread's run before main()
begun = {int(t): int(n) for t, n in wl.get("schedstart", [])}
for t, ns in ((int(t), int(n) - begun.get(int(t), 0)) for t, n in wl["schedstat"]):
    # read just before the thread ended: the export has that plus the last few us
    check(0.8 * ns - 200000 <= running[t] <= 1.2 * ns + 2000000,
          f"chrome: {t} on-CPU {running[t]} ns matches the kernel's schedstat {ns} ns")
inst = collections.Counter((e["tid"], int(e["args"]["ret"], 16), e["args"]["len"]) for e in ev
                           if e["ph"] == "i" and e["name"] == "mmap" and "ret" in e["args"])
want = collections.Counter((int(t), int(a, 16), int(n)) for t, a, n in wl["mmap"])
check(not (want - inst), "chrome: every workload mmap is an i event with its address and length")
check(any(e["ph"] == "C" and e["pid"] == pid and e["name"] == "heap bytes" for e in ev), "chrome: heap counter")

# --- speedscope (its own file format): evented profiles nest, thread time agrees ---
ss = json.load(open(os.path.join(d, "x.speedscope.json")))
frames = [f["name"] for f in ss["shared"]["frames"]]
ss_running = collections.Counter()
for prof in ss["profiles"]:
    if prof["type"] != "evented":
        check(len(prof["samples"]) == len(prof["weights"]), f"speedscope: {prof['name']}: a weight per sample")
        continue
    open_frames, last, ok = [], 0, True
    for e in prof["events"]:
        ok = ok and e["at"] >= last
        last = e["at"]
        if e["type"] == "O":
            open_frames.append((e["frame"], e["at"]))
        else:
            ok = ok and bool(open_frames) and open_frames[-1][0] == e["frame"]
            f, at = open_frames.pop() if open_frames else (0, 0)
            m = re.search(r"\(tid (\d+)\)$", prof["name"])
            if m and frames[f].startswith("running on CPU"):
                ss_running[int(m.group(1))] += e["at"] - at
    check(ok and not open_frames, f"speedscope: {prof['name']}: events in time order, each closes what it opened")
for t in threads:
    check(ss_running[t] == running[t], f"speedscope: running ns of {t} agrees with chrome's slices")

# --- folded ---
fold = collections.Counter()
for line in open(os.path.join(d, "x.folded")):
    m = re.fullmatch(r"(.+) \((\d+)\);(.+) \((\d+)\);([a-z]+) (\d+)\n", line)
    check(m is not None, f"folded line well formed: {line.strip()}")
    if m:
        fold[(int(m.group(4)), m.group(5))] = int(m.group(6))
for t in threads:
    check(abs(fold[(t, "running")] - running[t] / 1000) <= 1, f"folded: running us of {t} agrees with the slices")

print(f"{len(fails)} checks failed" if fails else "all checks passed")
sys.exit(1 if fails else 0)
