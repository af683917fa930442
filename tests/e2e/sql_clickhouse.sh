#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""export --format clickhouse into a real ClickHouse server.

Starts Debian's clickhouse-server (18.16) as its own process: a config of
its own, listening on 127.0.0.1 only on free ports, data in a throwaway
directory. Two sessions recorded as two hosts (PROCSCOPE_HOSTNAME set at
record time) are loaded into the same tables with the commands README
shows; a cross-host query joining thread with sched_slice on (host,
session_id, utid) must give each thread's on-CPU and running time exactly
as that session's `report --json` does. The server is stopped by its pid
and its directory removed, whatever happened.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from pslib import PROCSCOPE, WORKLOADS, artifact, check, done, fail  # noqa: E402

SERVER = shutil.which("clickhouse-server") or "/usr/bin/clickhouse-server"
CLIENT = shutil.which("clickhouse-client") or "/usr/bin/clickhouse-client"
if not os.path.exists(SERVER) or not os.path.exists(CLIENT):
    fail("clickhouse-server/clickhouse-client are not installed (tests/install-deps.sh installs them)")

out = artifact("sql_clickhouse")
shutil.rmtree(out, ignore_errors=True)
os.makedirs(out)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


tcp, http = free_port(), free_port()
data = tempfile.mkdtemp(prefix="procscope-clickhouse-")
config = f"""<?xml version="1.0"?>
<yandex>
    <logger><level>warning</level><log>{data}/server.log</log><errorlog>{data}/server.err.log</errorlog></logger>
    <listen_host>127.0.0.1</listen_host>
    <tcp_port>{tcp}</tcp_port>
    <http_port>{http}</http_port>
    <path>{data}/db/</path>
    <tmp_path>{data}/tmp/</tmp_path>
    <user_files_path>{data}/user_files/</user_files_path>
    <format_schema_path>{data}/format_schemas/</format_schema_path>
    <users_config>{data}/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <mark_cache_size>5368709120</mark_cache_size>
</yandex>
"""
users = """<?xml version="1.0"?>
<yandex>
    <profiles><default></default></profiles>
    <users><default><password></password><networks><ip>127.0.0.1</ip></networks>
        <profile>default</profile><quota>default</quota></default></users>
    <quotas><default></default></quotas>
</yandex>
"""
with open(f"{data}/config.xml", "w") as f:
    f.write(config)
with open(f"{data}/users.xml", "w") as f:
    f.write(users)


def client(*args, stdin=None, check_rc=True):
    p = subprocess.run([CLIENT, "--host", "127.0.0.1", "--port", str(tcp)] + list(args),
                       stdin=stdin, capture_output=True, text=True, timeout=60)
    if check_rc and p.returncode != 0:
        fail(f"clickhouse-client {args}: {p.stderr.strip()}")
    return p


server = subprocess.Popen([SERVER, f"--config-file={data}/config.xml"], stdout=subprocess.DEVNULL,
                          stderr=open(f"{out}/server.stderr", "w"), cwd=data)
try:
    for _ in range(300):
        if server.poll() is not None:
            err = open(f"{out}/server.stderr").read()
            log = open(f"{data}/server.err.log").read() if os.path.exists(f"{data}/server.err.log") else ""
            fail(f"clickhouse-server exited with {server.returncode}: {err.strip()} {log.strip()[-2000:]}")
        if client("--query", "SELECT 1", check_rc=False).returncode == 0:
            break
        time.sleep(0.1)
    else:
        fail("clickhouse-server did not answer in 30 s")
    print("server:", client("--query", "SELECT version()").stdout.strip(), "on 127.0.0.1:%d" % tcp)

    reports = {}
    for host in ("host-a", "host-b"):
        path = f"{out}/{host}.data"
        p = subprocess.run([PROCSCOPE, "record", "-o", path, "--", f"{WORKLOADS}/sched_work", "pool"],
                           capture_output=True, text=True, timeout=120,
                           env=dict(os.environ, PROCSCOPE_HOSTNAME=host))
        check(p.returncode == 0, f"record as {host}: {p.stderr}")
        d = f"{out}/{host}"
        p = subprocess.run([PROCSCOPE, "export", "-i", path, "--format", "clickhouse", "-o", d],
                           capture_output=True, text=True)
        check(p.returncode == 0, f"export {host}: {p.stderr}")
        # the loader of README: DDL of each table, then its rows
        for f in sorted(os.listdir(d)):
            if f.endswith(".sql"):
                client("--multiquery", stdin=open(f"{d}/{f}"))
        for f in sorted(os.listdir(d)):
            if f.endswith(".tsv") and os.path.getsize(f"{d}/{f}"):
                client("--query", f"INSERT INTO {f[:-4]} FORMAT TabSeparated", stdin=open(f"{d}/{f}"))
        r = subprocess.run([PROCSCOPE, "report", "-i", path, "--json"], capture_output=True, text=True)
        check(r.returncode == 0, f"report {host}")
        reports[host] = {t["tid"]: t for p in json.loads(r.stdout)["processes"] for t in p["threads"]}

    q = """SELECT host, tid, oncpu_ns, running_ns, slice_ns FROM thread
           ANY LEFT JOIN (SELECT host, session_id, utid, sum(dur) AS slice_ns FROM sched_slice
                          GROUP BY host, session_id, utid) USING (host, session_id, utid)
           WHERE utid != 0 ORDER BY host, tid FORMAT TabSeparated"""
    rows = [line.split("\t") for line in client("--query", q).stdout.splitlines()]
    seen = {}
    for host, tid, oncpu, running, slices in rows:
        seen.setdefault(host, 0)
        t = reports.get(host, {}).get(int(tid))
        if not check(t is not None, f"{host} thread {tid} in report"):
            continue
        seen[host] += 1
        check(int(oncpu) == t["oncpu_ns"], f"{host} tid {tid}: oncpu_ns {oncpu} != report {t['oncpu_ns']}")
        check(int(slices) == t["running_ns"] == int(running),
              f"{host} tid {tid}: sum(sched_slice.dur) {slices} != report running_ns {t['running_ns']}")
    for host, threads in reports.items():
        check(seen.get(host) == len(threads), f"{host}: {seen.get(host)} of {len(threads)} threads in ClickHouse")
    n = client("--query", "SELECT count(DISTINCT (host, session_id)) FROM session").stdout.strip()
    check(n == "2", f"two sessions in ClickHouse, got {n}")
    print("cross-host query: per-thread on-CPU and running time equal each session's report --json")
finally:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
    shutil.rmtree(data, ignore_errors=True)
done()
