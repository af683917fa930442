#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Exports are deterministic: the committed fixture sessions export to the
# committed golden files byte for byte, in every format, twice over.
#   export_small  threads, memory calls, no stacks;
#   stacks_small  stacks_tiny (tests/fixtures/make_stacks_fixture.sh): the
#                 stacks of its memory calls, sleeps and CPU samples. Its
#                 committed binary is put back where it ran, so its frames
#                 are named from the very file the recording saw (build-id
#                 checked), and kernel frames from the lines of that boot's
#                 kallsyms kept with it (--kallsyms).
#   tests/e2e/export_golden.sh --update   rewrites the golden files (review the diff!)
set -euo pipefail
PROCSCOPE=${PROCSCOPE:-$PWD/procscope}
ARTIFACTS=${ARTIFACTS:-/tmp}
out=$ARTIFACTS/export_golden
mkdir -p "$out"
declare -A ext=([perfetto]=pftrace [chrome]=chrome.json [speedscope]=speedscope.json [folded]=folded)
fail=0

check() {	# golden file, output, label
	if [ "${update:-}" = 1 ]; then
		cp "$2" "$1"; echo "updated $1"; return
	fi
	if ! cmp "$2" "$1"; then
		echo "$3: output differs from $1 (if the change is intended: $0 --update)"
		case $1 in *.pftrace) ;; *) diff "$1" "$2" | head -20 ;; esac
		fail=1
	else
		echo "$3: identical to $1 ($(stat -c %s "$1") bytes)"
	fi
}

golden() {	# fixture name, extra export options...
	local fx=tests/fixtures/$1; shift
	for f in perfetto chrome speedscope folded; do
		"$PROCSCOPE" export -i $fx.data "$@" --format $f -o "$out/a.${ext[$f]}"
		"$PROCSCOPE" export -i $fx.data "$@" --format $f -o - > "$out/b.${ext[$f]}"
		if ! cmp -s "$out/a.${ext[$f]}" "$out/b.${ext[$f]}"; then
			echo "$f: two exports of the same file differ"; fail=1
		fi
		check $fx.${ext[$f]} "$out/a.${ext[$f]}" "$(basename $fx) $f"
	done
}

[ "${1:-}" = --update ] && update=1
golden export_small

# the stacked fixture: its binary where it ran (removed after, if this run put it there)
dir=/tmp/procscope-fixture
if [ ! -e $dir ]; then
	mkdir $dir
	trap 'rm -r $dir' EXIT
fi
if ! cmp -s tests/fixtures/stacks_tiny $dir/stacks_tiny; then
	[ ! -e $dir/stacks_tiny ] || { echo "$dir/stacks_tiny is another file: remove it"; exit 1; }
	install -m 0755 tests/fixtures/stacks_tiny $dir/stacks_tiny
fi
ks=(--kallsyms tests/fixtures/stacks_small.kallsyms)
golden stacks_small "${ks[@]}"
for k in heap mmap mprotect offcpu oncpu; do
	"$PROCSCOPE" export -i tests/fixtures/stacks_small.data "${ks[@]}" --format folded --stacks $k -o -
done > "$out/stacks.folded"
check tests/fixtures/stacks_small.stacks.folded "$out/stacks.folded" "stacks_small folded --stacks"
exit $fail
