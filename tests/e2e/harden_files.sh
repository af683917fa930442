#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Hostile files and unsafe outputs (procscope runs as root): a record with
# an unterminated string through every verb, a file cut short while being
# read, a FIFO as input, symlinks, device nodes and directories as outputs,
# a failed exec that must not rotate the files, exports' mode, a full disk
# under export, a flipped bit in the header, and the one warning line and
# exit status every verb gives a damaged or cut-short session (README,
# "Exit status").
set -u
fails=0
tmp=$(mktemp -d)
trap 'umount -q "$tmp/full" 2>/dev/null; exec 3<&- 2>/dev/null; [ -n "${dpid:-}" ] && kill $dpid 2>/dev/null; rm -rf "$tmp"' EXIT
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
here=$(dirname "$0")
P=$PROCSCOPE

# every reading verb, "name|args" (the session file goes after -i)
verbs=("dump|" "report|" "report|--json" "layout|--pid PID" "layout|--pid PID --json"
       "timeline|" "timeline|--cpus" "export|--format perfetto -o OUT.pftrace"
       "export|--format chrome -o OUT.json" "export|--format speedscope -o OUT.speedscope.json"
       "export|--format folded -o OUT.folded" "export|--format sqlite -o OUT.db"
       "export|--format clickhouse -o OUT.ch" "export|--format html -o OUT.html" "sql|SELECT(1)")

# run_verbs FILE PID WANT_RC LINE_RE: each verb exits WANT_RC and prints LINE_RE
# exactly once; with LINE_RE empty, no warning at all
run_verbs() {
	local file=$1 pid=$2 want=$3 re=${4:-warning} v verb args rc n wantn=1
	[ -z "${4:-}" ] && wantn=0
	for v in "${verbs[@]}"; do
		verb=${v%%|*}
		args=${v#*|}; args=${args//PID/$pid}; args=${args//OUT/$tmp/out}
		# shellcheck disable=SC2086
		"$P" $verb $args -i "$file" >"$tmp/v.out" 2>"$tmp/v.err"; rc=$?
		n=$(grep -cE "$re" "$tmp/v.err")
		if grep -qE "Sanitizer|runtime error" "$tmp/v.err"; then
			bad "$verb $args on $(basename "$file"): $(grep -m1 -E 'Sanitizer|runtime error' "$tmp/v.err")"
		elif [ $rc -ne "$want" ] || [ "$n" -ne $wantn ]; then
			bad "$verb $args on $(basename "$file"): exit $rc (want $want), $n lines /$re/ (want $wantn): $(head -3 "$tmp/v.err")"
		else
			ok "$verb $args on $(basename "$file"): exit $rc, $n warning"
		fi
	done
}

# 1. a snapshot map whose path has no NUL, ending a chunk of the largest size:
# skipped by the reader (one warning), never read past by any model or view
"$here/hostile.py" snapmap "$tmp/hostile.data"
run_verbs "$tmp/hostile.data" 4242 3 "warning: .* is damaged: skipped 0 damaged chunks and 1 bad records"
if grep -q AAAA "$tmp"/out.* 2>/dev/null; then bad "the unterminated path reached an export"; else ok "the unterminated path reached no output"; fi

# 2. a file cut short while dump reads it: a clean error, not SIGBUS
"$here/hostile.py" big "$tmp/big.data"
mkfifo "$tmp/pipe"
"$P" dump -i "$tmp/big.data" >"$tmp/pipe" 2>"$tmp/shrink.err" &
dpid=$!
exec 3<"$tmp/pipe"
# once brk lines come, dump has read the first record chunk and blocks on the full pipe
while read -r line <&3; do [[ $line == *brk* ]] && break; done
truncate -s $(( $(stat -c %s "$tmp/big.data") / 3 )) "$tmp/big.data"
cat <&3 >/dev/null
exec 3<&-
wait $dpid; rc=$?; dpid=
if [ $rc -eq 1 ] && grep -q "file shrank while reading" "$tmp/shrink.err"; then
	ok "shrinking file: exit 1, $(head -1 "$tmp/shrink.err")"
else
	bad "shrinking file: exit $rc: $(head -3 "$tmp/shrink.err")"
fi

# 3. a FIFO as input is refused at once, not waited on
mkfifo "$tmp/in.fifo"
err=$(timeout 20 "$P" report -i "$tmp/in.fifo" 2>&1 >/dev/null); rc=$?
[ $rc -eq 1 ] && [[ $err == *"not a regular file"* ]] && ok "FIFO input: $err" || bad "FIFO input: exit $rc: $err"

# a good recording for the output tests
"$P" record -o "$tmp/good.data" -- /bin/true 2>/dev/null || bad "record -- /bin/true failed"
sum=$(cksum <"$tmp/good.data")

# 4. outputs that are not regular files are refused and left alone
echo precious >"$tmp/victim"
ln -s "$tmp/victim" "$tmp/link"
ln -s "$tmp/nothing-here" "$tmp/dangling"
mknod "$tmp/null" c 1 3
mkfifo "$tmp/out.fifo"
mkdir "$tmp/dir"
for out in link dangling null out.fifo dir; do
	err=$(timeout 20 "$P" export --format folded -i "$tmp/good.data" -o "$tmp/$out" 2>&1); rc=$?
	[ $rc -eq 1 ] && [[ $err == *"cannot create"* ]] && ok "export -o $out refused: $err" || bad "export -o $out: exit $rc: $err"
	err=$(timeout 20 "$P" record -o "$tmp/$out" -- /bin/true 2>&1); rc=$?
	[ $rc -eq 1 ] && [[ $err == *"cannot create"* ]] && ok "record -o $out refused: $err" || bad "record -o $out: exit $rc: $err"
done
[ "$(cat "$tmp/victim")" = precious ] && [ -L "$tmp/link" ] && ok "symlink target untouched" || bad "symlink target changed"
[ -e "$tmp/nothing-here" ] && bad "a dangling symlink's target was created" || ok "dangling symlink not followed"
[ -c "$tmp/null" ] && ok "device node kept" || bad "device node removed"
[ -p "$tmp/out.fifo" ] && ok "FIFO kept" || bad "FIFO removed"
[ -d "$tmp/dir" ] && [ ! -e "$tmp/dir.old" ] && ok "directory kept, not renamed" || bad "directory renamed or removed"

# 5. a failed exec (a directory) twice: the good recording stays, no .old, no leftovers
for i in 1 2; do "$P" record -o "$tmp/good.data" -- /tmp 2>/dev/null; rc=$?; done
if [ $rc -eq 127 ] && [ "$(cksum <"$tmp/good.data")" = "$sum" ] && [ ! -e "$tmp/good.data.old" ]; then
	ok "failed exec: exit 127, recording and .old untouched"
else
	bad "failed exec: exit $rc, file $( [ "$(cksum <"$tmp/good.data")" = "$sum" ] && echo same || echo changed), .old $( [ -e "$tmp/good.data.old" ] && echo created || echo absent)"
fi
left=$(ls -A "$tmp" | grep -c '\.tmp$')
[ "$left" -eq 0 ] && ok "no temporary files left" || bad "$left temporary files left: $(ls -A "$tmp")"
"$P" record -o "$tmp/good.data" -- /bin/true 2>/dev/null
[ "$(cksum <"$tmp/good.data.old")" = "$sum" ] && ok "a good run rotates to .old" || bad "no rotation after a good run"

# 6. exports are 0600 whatever the umask
(umask 000; "$P" export --format chrome -i "$tmp/good.data" -o "$tmp/m.json" 2>/dev/null)
mode=$(stat -c %a "$tmp/m.json" 2>/dev/null)
[ "$mode" = 600 ] && ok "export mode 0600 under umask 000" || bad "export mode $mode"

# 7. export into a full disk: "disk full", nothing left behind
mkdir -p "$tmp/full"
if mount -t tmpfs -o size=64k tmpfs "$tmp/full"; then
	"$here/hostile.py" big "$tmp/big2.data"
	err=$("$P" export --format chrome -i "$tmp/big2.data" -o "$tmp/full/b.json" 2>&1 >/dev/null); rc=$?
	if [ $rc -eq 1 ] && [[ $err == *"disk full"* ]] && [ ! -e "$tmp/full/b.json" ] && \
	   [ "$(ls -A "$tmp/full" | grep -c '\.tmp$')" -eq 0 ]; then
		ok "export to a full disk: $err"
	else
		bad "export to a full disk: exit $rc: $err; left: $(ls -A "$tmp/full")"
	fi
	# the same for a database: one line, nothing left
	err=$("$P" export --format sqlite -i "$tmp/big2.data" -o "$tmp/full/b.db" 2>&1 >/dev/null); rc=$?
	if [ $rc -eq 1 ] && [ "$err" = "procscope: cannot export '$tmp/big2.data' to '$tmp/full/b.db': disk full" ] &&
	   [ -z "$(ls -A "$tmp/full")" ]; then
		ok "SQLite export to a full disk: $err"
	else
		bad "SQLite export to a full disk: exit $rc: $err; left: $(ls -A "$tmp/full")"
	fi
	umount "$tmp/full"
else
	bad "cannot mount a tmpfs for the full-disk case"
fi

# 8. a flipped bit in a format 3 header is caught by its checksum; format 1 still reads
cp "$tmp/good.data" "$tmp/flip.data"
printf 'X' | dd of="$tmp/flip.data" bs=1 seek=60 conv=notrunc 2>/dev/null	# in kernel_release
err=$("$P" dump -i "$tmp/flip.data" 2>&1 >/dev/null); rc=$?
[ $rc -eq 1 ] && [[ $err == *"damaged file header"* ]] && ok "header bit flip: $err" || bad "header bit flip: exit $rc: $err"
"$P" dump -i "$here/../fixtures/export_small.data" >/dev/null 2>&1 && ok "format 1 file still read" || bad "format 1 file refused"

# 9. one warning line and exit 3 from every verb, for a damaged session and a cut-short one
"$P" record -o "$tmp/s.data" -- sh -c 'for i in 1 2 3 4 5 6; do ls / >/dev/null; sleep 0.4; done' 2>/dev/null
spid=$("$P" dump -i "$tmp/s.data" | awk '$4 == "process_exec" && /sh/ { split($3, a, "/"); print a[1]; exit }')
u32() { od -An -tu4 -j"$2" -N4 "$1" | tr -d ' '; }
hl=$(u32 "$tmp/s.data" 12)
second=$((hl + 24 + $(u32 "$tmp/s.data" $((hl + 8)))))	# the first chunk holds the exec: spare it
cp "$tmp/s.data" "$tmp/damaged.data"
printf 'XXXXXXXX' | dd of="$tmp/damaged.data" bs=1 seek=$((second + 40)) conv=notrunc 2>/dev/null
run_verbs "$tmp/damaged.data" "$spid" 3 "warning: .* is damaged: skipped 1 damaged chunks"
cp "$tmp/s.data" "$tmp/short.data"
truncate -s -10 "$tmp/short.data"
run_verbs "$tmp/short.data" "$spid" 3 "warning: .* was cut short: recorded up to [0-9.]+ s, recorder did not finish"
run_verbs "$tmp/s.data" "$spid" 0 ""

[ $fails -eq 0 ] && echo "all ok" || echo "$fails failed"
[ $fails -eq 0 ]
