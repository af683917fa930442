#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Installs what procscope needs to build and test (Debian bookworm, as root),
# and mounts tracefs. Quiet when everything is already there.
set -euo pipefail

pkgs=(clang llvm libbpf-dev bpftool libelf-dev libdw-dev libiberty-dev zlib1g-dev libzstd-dev make gcc pkg-config
      python3 protobuf-compiler stress-ng linux-perf bpftrace chromium
      libsqlite3-dev clickhouse-server clickhouse-client
      openjdk-17-jdk-headless golang-go libboost-context-dev)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "procscope: missing packages: ${missing[*]} (run as root to install them)" >&2
		exit 1
	fi
	echo "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ "$(id -u)" -eq 0 ] && [ ! -d /sys/kernel/tracing/events ]; then
	mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || true
fi
