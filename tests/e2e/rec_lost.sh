#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Nothing is lost silently: with a 4 KiB ring buffer a busy workload overflows
# it; the loss is counted, printed at the end, stored in the file, and
# report shows the same number.
set -u
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
err=$("$PROCSCOPE" record -b 4096 -o "$tmp/l.data" -- sh -c 'for i in $(seq 300); do ls -R /usr/include >/dev/null; done' 2>&1 >/dev/null)
echo "$err"
n=$(printf '%s\n' "$err" | sed -n 's/^procscope: lost \([0-9]*\) records.*/\1/p')
[ -n "$n" ] && [ "$n" -gt 0 ] || { echo "FAIL: no 'lost N records' line"; exit 1; }
rep=$("$PROCSCOPE" report -i "$tmp/l.data") || { echo "FAIL: report failed"; exit 1; }
printf '%s\n' "$rep" | head -6
printf '%s\n' "$rep" | grep -q "^# lost records: $n " || printf '%s\n' "$rep" | grep -q "^# lost records: $n$" ||
	{ echo "FAIL: report does not say $n lost"; exit 1; }
last=$("$PROCSCOPE" dump -i "$tmp/l.data" | awk '$4 == "lost" {v = $5} END {print v}')
[ "$last" = "total=$n" ] || { echo "FAIL: last lost record '$last' != total=$n"; exit 1; }
echo "ok: $n lost records counted in the kernel, printed, stored and reported"
