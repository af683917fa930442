#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# The HTML export on a busy machine: records the whole machine (`record -a`)
# for BENCH_SECONDS (default 60) while a mix runs (perf bench sched
# messaging, stress-ng's vm, mmap, fork and cpu stressors, a C build done
# over and over, and a loop of short-lived processes), then exports it as
# html and, next to it, as chrome JSON (the nearest peer: a timeline of the
# same session a browser opens), and prints for each: CPU seconds, wall
# seconds, peak RSS and output size; then opens the
# page in headless Chromium (tests/viewer/html_check.mjs) and prints how long
# it took to become interactive (page JS ready, first process drawn).
# Also prints the page size per minute of recording, to extrapolate.
# CPU seconds are user + system: the machine is shared.
#
# Usage (as root): bench/html_page.sh    Environment: BENCH_SECONDS, BENCH_TMP, PROCSCOPE,
# BENCH_DATA (a session file made before: export and open it, record nothing)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${BENCH_SECONDS:-60}
procscope=${PROCSCOPE:-$PWD/build/procscope}
tmp=$(mktemp -d "${BENCH_TMP:-/var/tmp}/procscope-html.XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
if [ -n "${BENCH_DATA:-}" ]; then
	ln -s "$(realpath "$BENCH_DATA")" "$tmp/busy.data"
else
	[ "$(id -u)" -eq 0 ] || { echo "bench: run as root" >&2; exit 1; }
	for c in perf stress-ng node; do
		command -v $c >/dev/null || { echo "bench: $c missing" >&2; exit 1; }
	done

	"$procscope" record -a -b 256M -o "$tmp/busy.data" 2>"$tmp/rec.err" &
	rec=$!
	sleep 2
	stress-ng --vm 1 --vm-bytes 64M --mmap 1 --mmap-bytes 32M --fork 1 --cpu 1 \
		--timeout "${seconds}s" >/dev/null 2>&1 &
	pids+=($!)
	# process churn: short-lived processes, as shells and builds make them
	( end=$((SECONDS + seconds)); while [ $SECONDS -lt $end ]; do
		/bin/true; sh -c 'exit 0'; sleep 0.005; done ) &
	pids+=($!)
	mkdir -p "$tmp/build"
	cp src/*.c src/*.h "$tmp/build/"
	( end=$((SECONDS + seconds)); while [ $SECONDS -lt $end ]; do
		for f in "$tmp"/build/*.c; do cc -O1 -D_GNU_SOURCE -Iinclude -I"$tmp/build" -Ibuild -c "$f" \
			-o "$tmp/build/x.o" 2>/dev/null || true; done; done ) &
	pids+=($!)
	end=$((SECONDS + seconds))
	while [ $SECONDS -lt $end ]; do
		perf bench sched messaging -l 200 >/dev/null 2>&1
	done
	wait "${pids[@]}" 2>/dev/null || true
	pids=()
	kill -INT $rec; wait $rec || true
	tail -n 2 "$tmp/rec.err" >&2
fi
n=$("$procscope" dump -i "$tmp/busy.data" | grep -vc '^#')
dur=$("$procscope" report -i "$tmp/busy.data" | awk '/records over/ { print $5 }')
echo "session: $n records over $dur s, $(du -hL "$tmp/busy.data" | cut -f1) on disk"
printf '%-8s %8s %8s %14s %12s\n' format cpu_s wall_s peak_rss_MiB output_MiB
for fmt in chrome html; do
	/usr/bin/time -f '%U %S %e %M' -o "$tmp/time" "$procscope" export -i "$tmp/busy.data" --format "$fmt" \
		-o "$tmp/out.$fmt" 2>/dev/null
	read -r usr sys secs kib < "$tmp/time"
	printf '%-8s %8.2f %8.2f %14.1f %12.2f\n' "$fmt" "$(echo "$usr + $sys" | bc -l)" "$secs" \
		"$(echo "$kib / 1024" | bc -l)" "$(echo "$(stat -c %s "$tmp/out.$fmt") / 1048576" | bc -l)"
	if [ "$fmt" = chrome ]; then rm -f "$tmp/out.chrome"; fi	# hundreds of MB
done
echo "html page: $(echo "$(stat -c %s "$tmp/out.html") / 1048576 / $dur * 60" | bc -l | xargs printf '%.2f') MiB per minute recorded"
node tests/viewer/html_check.mjs "$tmp/out.html" "$tmp/obs.json" "$tmp/shot" >/dev/null
python3 -c "
import json; o = json.load(open('$tmp/obs.json'))
print('chromium: interactive after %.0f ms; %d processes; %d requests, %d errors' %
      (o['ready_ms'], len(o['processes']), len(o['requests']), len(o['errors'])))
for e in o['errors']: print('  page error: ' + e)"
