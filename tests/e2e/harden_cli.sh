#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The command line is strict: every number is range-checked before anything
# runs (a PID past 2^32 must not wrap to PID 1, a duration of inf or nan
# must not run forever, a ring buffer size must not overflow), every usage
# error of every verb exits 2, and the short options mean one thing in
# every verb.
set -u
fails=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
P=$PROCSCOPE
"$P" record -o "$tmp/s.data" -- /bin/true 2>/dev/null || bad "record -- /bin/true failed"

# usage ERROR-REGEX ARGS...: exit 2 with the message, nothing recorded
usage() {
	local re=$1 err rc; shift
	rm -f "$tmp/r.data"
	err=$(timeout 20 "$P" "$@" 2>&1 >/dev/null); rc=$?
	if [ $rc -eq 2 ] && printf '%s' "$err" | grep -Eq -- "$re" && [ ! -e "$tmp/r.data" ]; then
		ok "$*: $(printf '%s' "$err" | head -1)"
	else
		bad "$*: exit $rc (want 2), /$re/: $(printf '%s' "$err" | head -2)"
	fi
}

# out-of-range numbers
usage "invalid PID '4294967297'" record -o "$tmp/r.data" -p 4294967297 -d 1
usage "invalid PID '99999999999'" record -o "$tmp/r.data" -p 99999999999 -d 1
usage "invalid PID '4194305'" record -o "$tmp/r.data" -p 1,4194305 -d 1
usage "invalid duration 'nan'" record -o "$tmp/r.data" -a -d nan
usage "invalid duration 'inf'" record -o "$tmp/r.data" -a -d inf
usage "invalid duration '1e300'" record -o "$tmp/r.data" -a -d 1e300
usage "too large" record -o "$tmp/r.data" -a -d 1 -b 0x40000000000004K
usage "too large" record -o "$tmp/r.data" -a -d 1 -b 4G
usage "invalid buffer size" record -o "$tmp/r.data" -a -d 1 -b -4096
usage "invalid PID '4294967297'" report -i "$tmp/s.data" -p 4294967297
for t in 1e300 inf nan -1 -inf 1e19; do
	usage "invalid|time" layout -i "$tmp/s.data" --pid 1 --at "$t"
	usage "invalid|time" timeline -i "$tmp/s.data" --from "$t"
	usage "invalid|time" timeline -i "$tmp/s.data" --to "$t"
	usage "invalid|time" export -i "$tmp/s.data" --format folded -o "$tmp/x" --from "$t"
	usage "invalid|time" export -i "$tmp/s.data" --format folded -o "$tmp/x" --to "$t"
done
usage "invalid width" timeline -i "$tmp/s.data" -w 99999999999999999999
usage "invalid width" timeline -i "$tmp/s.data" -w 4294967396	# 2^32 + 100

# one usage status for every verb
for v in record report layout timeline dump export; do
	usage "unrecognized option|invalid option" "$v" --no-such-option
done
usage "nothing to trace" record -o "$tmp/r.data"
usage "--pid PID is required" layout -i "$tmp/s.data"
usage "needs --format" export -i "$tmp/s.data"
usage "unknown export format" export -i "$tmp/s.data" --format nope
usage "unknown command" no-such-verb

# short options: -f is export's --format only, no verb has a -t
usage "invalid option" timeline -i "$tmp/s.data" -f 1
usage "invalid option" timeline -i "$tmp/s.data" -t 1
usage "invalid option" layout -i "$tmp/s.data" --pid 1 -t 1
"$P" export -i "$tmp/s.data" -f folded -o "$tmp/f.folded" 2>/dev/null && ok "export -f is --format" || bad "export -f folded failed"

# a good duration still stops the recording
"$P" record -o "$tmp/d.data" -a -d 300ms -b 1M 2>/dev/null && [ -s "$tmp/d.data" ] && ok "record -a -d 300ms -b 1M" || bad "record -a -d 300ms -b 1M failed"

[ $fails -eq 0 ] && echo "all ok" || echo "$fails failed"
[ $fails -eq 0 ]
