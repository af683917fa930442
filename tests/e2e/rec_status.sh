#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The live status line: on a terminal (script(1) gives record one) stderr
# gets a line redrawn about once a second with records/s, records, lost,
# bytes and processes; -q silences it, and a stderr that is not a terminal
# never gets it. The end-of-run summary is there in every case.
set -uo pipefail
P=${PROCSCOPE:-./procscope}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

command -v script >/dev/null || { echo "FAIL: script(1) missing (util-linux)"; exit 1; }
script -qec "$P record -a -d 6 -o $tmp/t.data" "$tmp/tty.log" >/dev/null 2>&1
lines=$(tr '\r' '\n' <"$tmp/tty.log" | grep -c 'rec/s .* records .* lost .* processes')
[ "$lines" -ge 2 ] && ok "status line redrawn $lines times on a terminal" ||
	bad "status line on a terminal: $lines draws: $(tr '\r' '\n' <"$tmp/tty.log" | tail -n 3)"
grep -q "records, .* written to" "$tmp/tty.log" && ok "summary after it" || bad "no summary on a terminal"

script -qec "$P record -q -a -d 2 -o $tmp/q.data" "$tmp/q.log" >/dev/null 2>&1
grep -q 'rec/s' "$tmp/q.log" && bad "-q: status line drawn" || ok "-q: no status line"
grep -q "records, .* written to" "$tmp/q.log" && ok "-q: summary kept" || bad "-q: no summary"

"$P" record -a -d 2 -o "$tmp/p.data" 2>"$tmp/pipe.log"
grep -q 'rec/s' "$tmp/pipe.log" && bad "status line on a stderr that is a file" || ok "no status line off a terminal"
grep -q "records, .* written to" "$tmp/pipe.log" && ok "summary off a terminal" || bad "no summary off a terminal"
[ $fails -eq 0 ] || { echo "$fails failed"; exit 1; }
