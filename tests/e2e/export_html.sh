#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The HTML export in a real browser (headless Chromium through puppeteer-core):
#  - html_film, which dumps its own /proc/self/maps at its end: the layout at
#    the slider's end equals those maps region for region with their kinds,
#    the layout at the slider's middle equals `layout --at` of that time,
#    every thread name is on a lane, lanes' running time equals report
#    --json's, a click on a lane moves the slider;
#  - vm_forkexec: the same for a parent, its forked child and an exec'd one;
#  - html_busy, more processes than the page draws and a map punched full of
#    holes: the busiest drawn, the others counted and said, the holes one
#    band with the kernel's pieces and bytes, the rest region for region;
#  - stacks_work with --stacks: its brk marks show the stacks through
#    grow_heap, the function that made them, and every mark's stack starts
#    in its own call (its few mmap marks may all be counted rather than
#    kept whole, so they are not required);
#  - a mapped file whose path holds "</script>": the page still loads whole;
#  - an empty session and a pid with no records: the page says so.
# Every page: no network request at all and no console error. Screenshots
# stay in $ARTIFACTS/export_html.
set -euo pipefail
PROCSCOPE=${PROCSCOPE:-$PWD/procscope}
WORKLOADS=${WORKLOADS:-$PWD/build/workloads}
ARTIFACTS=${ARTIFACTS:-/tmp}
here=$(cd "$(dirname "$0")" && pwd)
viewer=$here/../viewer
[ "$(id -u)" -eq 0 ] || { echo "needs root for BPF"; exit 1; }
chromium=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
[ -n "$chromium" ] || { echo "chromium missing (tests/install-deps.sh installs it)"; exit 1; }
command -v node >/dev/null && command -v npm >/dev/null || { echo "node/npm missing"; exit 1; }
if [ ! -d "$viewer/node_modules/puppeteer-core" ]; then
	(cd "$viewer" && npm install --no-audit --no-fund --loglevel=error) ||
		{ echo "npm cannot install puppeteer-core"; exit 1; }
fi
out=$ARTIFACTS/export_html
rm -rf "$out"
mkdir -p "$out/maps"
fail=0
drive() {	# page obs shots [pid]
	CHROMIUM=$chromium timeout 300 node "$viewer/html_check.mjs" "$@"
}

echo "== html_film"
VM_OUT=$out/maps "$PROCSCOPE" record -o "$out/film.data" -- "$WORKLOADS/html_film" >"$out/film.out"
pid=$(basename "$(ls "$out"/maps/*.maps)" .maps)
"$PROCSCOPE" export -i "$out/film.data" --format html -o "$out/film.html"
echo "page: $(stat -c %s "$out/film.html") bytes"
drive "$out/film.html" "$out/film.json" "$out/film" "$pid"
python3 "$here/export_html_check.py" "$out/film.json" "$PROCSCOPE" "$out/film.data" "$pid" \
	"$out/maps" "$out/film.out" || fail=1

echo "== vm_forkexec: a forked child starts with its parent's layout, an exec'd one with its own"
mkdir -p "$out/fork"
VM_OUT=$out/fork "$PROCSCOPE" record -o "$out/fork.data" -- "$WORKLOADS/vm_forkexec" >/dev/null
"$PROCSCOPE" export -i "$out/fork.data" --format html -o "$out/fork.html"
for maps in "$out"/fork/*.maps; do
	p=$(basename "$maps" .maps)
	drive "$out/fork.html" "$out/fork-$p.json" "$out/fork-$p" "$p"
	python3 "$here/export_html_check.py" "$out/fork-$p.json" "$PROCSCOPE" "$out/fork.data" "$p" \
		"$out/fork" - || fail=1
done
[ "$(ls "$out"/fork/*.maps | wc -l)" -eq 3 ] || { echo "FAIL vm_forkexec: want 3 dumps"; fail=1; }

echo "== html_busy: many processes, a map full of holes"
mkdir -p "$out/busy"
VM_OUT=$out/busy "$PROCSCOPE" record -o "$out/busy.data" -- "$WORKLOADS/html_busy" >"$out/busy.out"
p=$(basename "$(ls "$out"/busy/*.maps)" .maps)
"$PROCSCOPE" export -i "$out/busy.data" --format html -o "$out/busy.html"
drive "$out/busy.html" "$out/busy.json" "$out/busy" "$p"
python3 "$here/export_html_check.py" "$out/busy.json" --busy "$p" "$out/busy" "$out/busy.out" || fail=1

echo "== stacks_work with --stacks: memory calls' stacks on hover"
"$PROCSCOPE" record -o "$out/stacks.data" -- "$WORKLOADS/stacks_work" >"$out/stacks.out"
p=$("$PROCSCOPE" report -i "$out/stacks.data" --json | python3 -c '
import json, sys
print(next(p["pid"] for p in json.load(sys.stdin)["processes"] if p["comm"] == "stacks_work"))')
"$PROCSCOPE" export -i "$out/stacks.data" --format html --stacks heap -o "$out/stacks.html"
drive "$out/stacks.html" "$out/stacks.json" "$out/stacks" "$p"
python3 "$here/export_html_check.py" "$out/stacks.json" --stacks brk:grow_heap || fail=1

echo "== a path with </script> in it"
mkdir -p "$out/a<"
cp /bin/true "$out/a</script>"
"$PROCSCOPE" record -o "$out/script.data" -- "$out/a</script>" >/dev/null
"$PROCSCOPE" export -i "$out/script.data" --format html -o "$out/script.html"
drive "$out/script.html" "$out/script.json" "$out/script"
python3 "$here/export_html_check.py" "$out/script.json" --path "$out/a</script>" || fail=1

echo "== a pid with no records"
"$PROCSCOPE" export -i "$out/film.data" --format html --pid 4194303 -o "$out/nopid.html"
drive "$out/nopid.html" "$out/nopid.json" "$out/nopid"
python3 "$here/export_html_check.py" "$out/nopid.json" --message "Process 4194303 has no records" || fail=1

echo "== an empty session"
"$here/hostile.py" empty "$out/empty.data"
"$PROCSCOPE" export -i "$out/empty.data" --format html -o "$out/empty.html"
drive "$out/empty.html" "$out/empty.json" "$out/empty"
python3 "$here/export_html_check.py" "$out/empty.json" --message "This session has no records" || fail=1

ls "$out"/*.png
exit $fail
