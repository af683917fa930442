#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Bad input gets one clear line and a non-zero exit; damage never loses the
# good part of a file: missing PID, unknown command, unwritable output, no
# permission for BPF, not a trace, a damaged chunk, a recorder killed with
# SIGKILL, a full disk.
set -u
fails=0
tmp=$(mktemp -d)
trap 'umount -q "$tmp/full" 2>/dev/null; rm -rf "$tmp"' EXIT
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

# expect STATUS-PREDICATE STDERR-REGEX -- command...
expect_err() {
	local want=$1 re=$2; shift 3
	local err rc
	err=$("$@" 2>&1 >/dev/null); rc=$?
	if [ $rc -eq 0 ]; then bad "'$*' exited 0"; return; fi
	[ "$want" = any ] || [ $rc -eq "$want" ] || bad "'$*' exit $rc, want $want"
	if [ "$(printf '%s\n' "$err" | grep -c .)" -ne 1 ]; then bad "'$*' printed not one line: $err"; return; fi
	if printf '%s' "$err" | grep -Eq "$re"; then ok "$*: $err"; else bad "'$*': '$err' !~ /$re/"; fi
}

expect_err 1 "^procscope: no process with PID 999999$" -- "$PROCSCOPE" record -o "$tmp/a" -p 999999
expect_err 127 "^procscope: cannot run 'no-such-cmd-xyz': command not found$" -- "$PROCSCOPE" record -o "$tmp/a" -- no-such-cmd-xyz
expect_err any "^procscope: cannot create '/nonexistent/dir/x.data': No such file or directory$" -- "$PROCSCOPE" record -o /nonexistent/dir/x.data -- true
expect_err 1 "^procscope: cannot open trace '$tmp/none': No such file or directory$" -- "$PROCSCOPE" dump -i "$tmp/none"
head -c 4096 /dev/urandom > "$tmp/junk"
expect_err 1 "^procscope: '$tmp/junk' is not a procscope trace" -- "$PROCSCOPE" report -i "$tmp/junk"
if command -v setpriv >/dev/null; then
	expect_err 1 "^procscope: cannot load BPF programs: .*(root|CAP_BPF)" -- \
		setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all "$PROCSCOPE" record -o "$tmp/u.data" -- true
fi
[ -e "$tmp/u.data" ] && bad "a refused recording left a file"

# an older file is kept as .old, never overwritten
"$PROCSCOPE" record -o "$tmp/k.data" -- true 2>/dev/null
"$PROCSCOPE" record -o "$tmp/k.data" -- true 2>/dev/null
[ -s "$tmp/k.data.old" ] && ok "previous file kept as .old" || bad "no .old kept"

# a damaged chunk: the reader says so, keeps the others
"$PROCSCOPE" record -o "$tmp/d.data" -- sh -c 'for i in $(seq 30); do ls / >/dev/null; sleep 0.05; done' 2>/dev/null
chunks_before=$("$PROCSCOPE" dump -i "$tmp/d.data" | grep -vc '^#')
size=$(stat -c %s "$tmp/d.data")
printf 'XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX' | dd of="$tmp/d.data" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
err=$("$PROCSCOPE" dump -i "$tmp/d.data" 2>&1 >"$tmp/d.txt"); rc=$?
after=$(grep -vc '^#' "$tmp/d.txt")
if [ $rc -ne 0 ] && printf '%s' "$err" | grep -q "damaged chunk" && [ "$after" -gt 0 ] && [ "$after" -lt "$chunks_before" ]; then
	ok "damaged chunk reported, $after of $chunks_before records kept"
else
	bad "damaged chunk: rc=$rc records $after/$chunks_before err=$err"
fi

# SIGKILL: the file reads up to its last flushed chunk (flushed each second)
"$PROCSCOPE" record -v -o "$tmp/kill.data" -- sleep 5 2>"$tmp/kill.log" &
rpid=$!
# loading the probes takes seconds on a busy machine: count from "recording to"
for _ in $(seq 200); do grep -q "recording to" "$tmp/kill.log" && break; sleep 0.05; done
sleep 1.5
child=$(cat /proc/$rpid/task/*/children 2>/dev/null | xargs)	# the traced sleep
kill -KILL $rpid; wait $rpid 2>/dev/null
out=$("$PROCSCOPE" dump -i "$tmp/kill.data" 2>/dev/null)
if printf '%s' "$out" | grep -q "process_exec .*sleep" && printf '%s' "$out" | grep -q "no footer"; then
	ok "killed recorder's file readable, exec of sleep in it"
else
	bad "killed recorder's file: $(printf '%s' "$out" | head -5)"
fi
"$PROCSCOPE" report -i "$tmp/kill.data" | grep -q "did not finish" && ok "report warns of an unfinished file" || bad "report silent on unfinished file"
# the command a killed recorder leaves running (untraced, as under perf): end it by its pid
[ -n "$child" ] && kill $child 2>/dev/null

# disk full: a 1 MiB tmpfs fills after the first chunks (one a second);
# clear error, non-zero exit, the chunks written before stay readable
mkdir -p "$tmp/full"
if mount -t tmpfs -o size=1m tmpfs "$tmp/full" 2>/dev/null; then
	err=$("$PROCSCOPE" record -o "$tmp/full/f.data" -- sh -c 'for i in $(seq 5000); do /bin/true; done' 2>&1 >/dev/null); rc=$?
	if [ $rc -ne 0 ] && printf '%s' "$err" | grep -q "disk full"; then ok "disk full: $err"; else bad "disk full: rc=$rc err=$err"; fi
	n=$("$PROCSCOPE" dump -i "$tmp/full/f.data" 2>/dev/null | grep -vc '^#')
	[ "$n" -gt 0 ] && ok "full-disk file keeps $n records" || bad "full-disk file unreadable"
	umount "$tmp/full"
else
	echo "tmpfs unavailable: disk-full case not run"
fi

[ $fails -eq 0 ] && echo "all ok" || echo "$fails failed"
[ $fails -eq 0 ]
