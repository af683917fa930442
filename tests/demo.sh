#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# `make demo`: record the bundled demo program and show what procscope sees.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${DEMO_OUT:-demo.data}
echo "== procscope record -o $out -- build/workloads/demo"
./procscope record -o "$out" -- build/workloads/demo >/dev/null
echo
echo "== procscope report -i $out"
./procscope report -i "$out"
pid=$(./procscope dump -i "$out" | awk '$4 == "process_exec" && /workloads\/demo/ && !f {split($3, a, "/"); print a[1]; f = 1}')
if ./procscope layout --help >/dev/null 2>&1; then
	echo
	echo "== procscope layout -i $out --pid $pid"
	./procscope layout -i "$out" --pid "$pid"
fi
if ./procscope timeline --help >/dev/null 2>&1; then
	echo
	echo "== procscope timeline -i $out --pid $pid"
	./procscope timeline -i "$out" --pid "$pid"
fi
echo
echo "Raw records: ./procscope dump -i $out | less"
