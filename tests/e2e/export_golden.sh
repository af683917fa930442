#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Exports are deterministic: the committed fixture session exports to the
# committed golden files byte for byte, in every format, twice over.
#   tests/e2e/export_golden.sh --update   rewrites the golden files (review the diff!)
set -euo pipefail
PROCSCOPE=${PROCSCOPE:-$PWD/procscope}
ARTIFACTS=${ARTIFACTS:-/tmp}
fx=tests/fixtures/export_small
out=$ARTIFACTS/export_golden
mkdir -p "$out"
declare -A ext=([perfetto]=pftrace [chrome]=chrome.json [speedscope]=speedscope.json [folded]=folded)
fail=0
for f in perfetto chrome speedscope folded; do
	golden=$fx.${ext[$f]}
	"$PROCSCOPE" export -i $fx.data --format $f -o "$out/a.${ext[$f]}"
	"$PROCSCOPE" export -i $fx.data --format $f -o - > "$out/b.${ext[$f]}"
	if ! cmp -s "$out/a.${ext[$f]}" "$out/b.${ext[$f]}"; then
		echo "$f: two exports of the same file differ"; fail=1
	fi
	if [ "${1:-}" = --update ]; then
		cp "$out/a.${ext[$f]}" "$golden"; echo "updated $golden"; continue
	fi
	if ! cmp "$out/a.${ext[$f]}" "$golden"; then
		echo "$f: output differs from $golden (if the change is intended: $0 --update)"
		[ "$f" = perfetto ] || diff "$golden" "$out/a.${ext[$f]}" | head -20
		fail=1
	else
		echo "$f: identical to $golden ($(stat -c %s "$golden") bytes)"
	fi
done
exit $fail
