#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Goroutines: what the coroutine report says of a Go program, and that it
says nothing false.

A Go program (built here from source with Debian's golang-go, offline)
runs 200 goroutines that each spin and then sleep in a raw nanosleep
syscall, so their threads are switched out with the SP on the goroutine's
stack. Passive recording (glibc's uprobes do not apply: Go calls the
kernel itself). Checks:
  - the goroutine stacks are found: at least one entry of kind
    goroutine_stacks, a region at a Go heap arena address (on x86_64
    (i << 40) | 0xc000000000), with at least one resume, run by threads of
    the process;
  - nothing false: every entry lies in the Go heap (Go has no other user
    stacks but the threads' own), no entry claims exact bounds or exact
    resumes, and the alternate signal stacks are the runtime's 32 KiB ones,
    each inside a goroutine_stacks region."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from pslib import PROCSCOPE, artifact, check, done, fail  # noqa: E402

PROG = r"""
package main

import (
	"fmt"
	"sync"
	"syscall"
)

func main() {
	var wg sync.WaitGroup
	sum := make([]int, 200)
	for g := 0; g < 200; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			ts := syscall.Timespec{Nsec: 500000}
			for i := 0; i < 10; i++ {
				for j := 0; j < 20000; j++ {
					sum[g] += j
				}
				syscall.Nanosleep(&ts, nil) // the thread sleeps on this goroutine's stack
			}
		}(g)
	}
	wg.Wait()
	fmt.Println("goroutines", len(sum))
}
"""
GO_ARENA_HINT, GO_HINT_MASK = 0xc000000000, (1 << 40) - 1

go = shutil.which("go")
if not go:
    fail("no go compiler: tests/install-deps.sh installs golang-go")
with tempfile.TemporaryDirectory() as tmp:
    open(os.path.join(tmp, "main.go"), "w").write(PROG)
    open(os.path.join(tmp, "go.mod"), "w").write("module gocoro\ngo 1.19\n")
    env = dict(os.environ, GOCACHE=os.path.join(tmp, "cache"), GOPATH=os.path.join(tmp, "gopath"),
               GOPROXY="off", GOFLAGS="-mod=mod", CGO_ENABLED="0")
    exe = os.path.join(tmp, "gocoro")
    b = subprocess.run([go, "build", "-o", exe, "."], cwd=tmp, env=env, capture_output=True,
                       text=True)
    if b.returncode != 0:
        fail(f"go build failed: {b.stderr}")
    out = os.path.join(tmp, "g.data")
    r = subprocess.run([PROCSCOPE, "record", "-o", out, "--", exe], capture_output=True,
                       text=True, timeout=60)
    if r.returncode != 0 or "goroutines 200" not in r.stdout:
        fail(f"record failed ({r.returncode}): {r.stdout} {r.stderr}")
    rep = subprocess.run([PROCSCOPE, "report", "--json", "-i", out], capture_output=True,
                         text=True)
    text = subprocess.run([PROCSCOPE, "report", "-i", out], capture_output=True, text=True)
    open(artifact("coro_go.txt"), "w").write(text.stdout)
    procs = [p for p in json.loads(rep.stdout)["processes"] if p["exe"].endswith("gocoro")]
    if len(procs) != 1:
        fail("the Go process is not in the report")
    proc = procs[0]
    tids = {t["tid"] for t in proc["threads"]}
    stacks = [dict(s, lo=int(s["stack_start"], 16), hi=int(s["stack_end"], 16))
              for s in proc["coroutines"]]
    print(json.dumps(proc["coroutines"], indent=1)[:3000])
    heaps = [s for s in stacks if s["kind"] == "goroutine_stacks"]
    check(heaps, f"no goroutine_stacks entry: {stacks}")
    for s in heaps:
        check(s["resumes"] >= 1 and s["tids"] and set(s["tids"]) <= tids,
              f"goroutine region {s['stack_start']}: resumes {s['resumes']}, tids {s['tids']}")
    for s in stacks:
        check((s["lo"] & GO_HINT_MASK) >= GO_ARENA_HINT,
              f"{s['kind']} {s['stack_start']} is outside the Go heap")
        check(s["bounds"] in ("region", "sigaltstack") and not s["resumes_exact"],
              f"{s['stack_start']}: claims {s['bounds']} bounds / exact resumes")
        if s["kind"] == "sigaltstack":
            check(s["hi"] - s["lo"] == 32 << 10 and
                  any(h["lo"] <= s["lo"] and s["hi"] <= h["hi"] for h in heaps),
                  f"sigaltstack {s['stack_start']}-{s['stack_end']} is not the runtime's 32 KiB "
                  "signal stack in its heap")
        else:
            check(s["kind"] == "goroutine_stacks", f"{s['stack_start']} called {s['kind']}")
    check("goroutine_stacks" in text.stdout and "one row stands for every goroutine" in
          text.stdout, "the text report does not say the goroutines are not told apart")
done()
