#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The layout, region for region, on programs nobody here wrote: a JVM
# (OpenJDK 17, an allocation loop, from `record -- java` and attached with
# -p), a Go program (built here from the standard library only, both ways)
# and gcc -flto building a small three-file program (its lto1 processes).
# See vm_foreign.py for how each is stopped and compared.
set -u
[ "$(id -u)" -eq 0 ] || { echo "needs root for BPF"; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
out=$ARTIFACTS/vm_layout_foreign
rm -rf "$out"
mkdir -p "$out"
# A shallow build dir (linked from the artifacts): the probes keep the 8
# innermost components of a mapped file's path (PS_PATH_DEPTH), and a CI
# clone can sit deeper than that.
b=$(mktemp -d /tmp/ps-foreign.XXXXXX) || exit 1
trap 'rm -rf "$b"' EXIT
ln -s "$b" "$out/build"
for tool in java javac go gcc; do
	command -v $tool >/dev/null || { echo "$tool not installed (tests/install-deps.sh installs it)"; exit 1; }
done

gcc -shared -fPIC -O1 -Wall -Werror -o "$b/stop_at_exit.so" "$here/stop_at_exit.c" || exit 1

# the JVM's workload: allocate and drop 64-100 KiB arrays; ARG ms, 0: until killed
cat >"$b/Alloc.java" <<'JEOF'
public class Alloc {
	public static void main(String[] args) throws Exception {
		long ms = Long.parseLong(args[0]);
		long end = System.nanoTime() + ms * 1000000L;
		java.util.ArrayList<byte[]> keep = new java.util.ArrayList<>();
		for (int i = 0; ms == 0 || System.nanoTime() < end; i++) {
			keep.add(new byte[65536 + (i % 9) * 4096]);
			if (keep.size() > 1500)
				keep.subList(0, 750).clear();
			if (i % 200 == 0)
				Thread.sleep(2);
		}
		System.out.println(keep.size());
	}
}
JEOF
javac -d "$b" "$b/Alloc.java" || exit 1

# Go: standard library only, built offline into the test's own directory
mkdir -p "$b/go"
cat >"$b/go/main.go" <<'GEOF'
package main

import (
	"os"
	"runtime"
	"syscall"
	"time"
)

func main() {
	var keep [][]byte
	for i := 0; i < 4000; i++ {
		keep = append(keep, make([]byte, 65536+(i%13)*4096))
		if len(keep) > 600 {
			keep = keep[300:]
		}
	}
	done := make(chan int)
	for g := 0; g < 8; g++ {
		go func(n int) {
			b := make([]byte, (n+1)<<20)
			time.Sleep(20 * time.Millisecond)
			done <- len(b)
		}(g)
	}
	for g := 0; g < 8; g++ {
		<-done
	}
	runtime.GC()
	if len(os.Args) > 1 && os.Args[1] == "wait" {
		for {
			keep = append(keep[len(keep)/2:], make([]byte, 1<<20))
			time.Sleep(5 * time.Millisecond)
		}
	}
	// stopped until killed: a SIGCONT from anyone else stops it again
	for {
		syscall.Kill(syscall.Getpid(), syscall.SIGSTOP)
	}
}
GEOF
(cd "$b/go" && GOCACHE=$b/gocache GOPATH=$b/gopath GOFLAGS= GO111MODULE=off GOPROXY=off \
	go build -o "$b/goalloc" main.go) || exit 1

# gcc -flto: three units, one LTRANS partition each
mkdir -p "$b/lto"
printf 'int f(int);\nint g(int);\nint main(void) { long s = 0; for (int i = 0; i < 1000; i++) s += f(i) + g(i); return s == 42; }\n' >"$b/lto/a.c"
printf 'int f(int x) { return x * 3 + 1; }\n' >"$b/lto/b.c"
printf 'int g(int x) { return x ^ 0x55; }\n' >"$b/lto/c.c"

python3 "$here/vm_foreign.py" "$PROCSCOPE" "$out" ${VM_FOREIGN_CASES:-java java-attach go go-attach gcc-lto} || exit 1

# the header keeps the command line as typed: both PIDs of -p, quoting where sh needs it
sleep 30 & a=$!
sleep 30 & b=$!
"$PROCSCOPE" record -d 0.3 -p "$a,$b" -o "$out/two pids.data" >/dev/null 2>&1
kill $a $b
want="record -d 0.3 -p $a,$b -o '$out/two pids.data'"
got=$("$PROCSCOPE" dump -i "$out/two pids.data" | sed -n 's/^# command: //p')
[[ $got == *"$want" ]] || { echo "header command line: got '$got', want '...$want'"; exit 1; }
echo "header command line: $got"
