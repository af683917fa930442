#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Writes hostile or large session files (format 2, uncompressed chunks)
for the hardening tests; layouts as in include/records.h and
src/trace_format.h.

    hostile.py snapmap OUT   one 4 MiB chunk (the most a chunk holds) ending
                             in a snapshot map whose path has no NUL
    hostile.py big OUT       8 chunks of 1 MiB of brk records, then a footer
    hostile.py empty OUT     a header and a footer, no record
"""
import struct
import sys
import zlib

PID = 4242
REC_BRK, REC_SNAP_TASK, REC_SNAP_MAP = 1, 17, 18
CHUNK_MAGIC, CHUNK_FOOTER = 0x4b4e4843, 0x2
MAX_RAW = 4 << 20


def header():
    strings = b'procscope record -- hostile\0pid:4242\0'
    return struct.pack('<8sIIIIQq32s72sII', b'PROCSCP\0', 2, 152 + len(strings), 4096, 2,
                       1000, 0, b'hostile', b'6.18', 0, 0) + strings


def rec(rtype, ts, body):
    return struct.pack('<HHIQII', rtype, 24 + len(body), 0, ts, PID, PID) + body


def brk(i):
    return rec(REC_BRK, 2000 + i, struct.pack('<QQ', 0x1000 * i, 0x1000 * i))


def snap_task():
    body = struct.pack('<II', 1, ord('S')) + struct.pack('<13Q', *([0] * 13)) + b'hostile'.ljust(16, b'\0')
    return rec(REC_SNAP_TASK, 1500, body)


def chunk(payload, flags=0):
    return struct.pack('<IIIIII', CHUNK_MAGIC, flags, len(payload), len(payload), 0,
                       zlib.crc32(payload)) + payload


def footer():
    return chunk(struct.pack('<Q', 10**9) + bytes(8 * 20) + bytes(8) + bytes(8 * 20) +
                 struct.pack('<iI', -1, 0), CHUNK_FOOTER)


def snap_map(ts, path):
    return rec(REC_SNAP_MAP, ts, struct.pack('<QQQQII8s', 0x400000, 0x401000, 0, 1, 8, 1, b'r-xp') + path)


def snapmap():
    head = snap_task() + snap_map(1600, b'/bin/hostile'.ljust(16, b'\0'))
    rest = MAX_RAW - len(head) - 72
    nbrk = (rest - 32) // 40
    path_len = rest - 40 * nbrk		# makes the chunk exactly MAX_RAW bytes
    recs = head + b''.join(brk(i) for i in range(nbrk))
    recs += snap_map(3000 + nbrk, b'A' * path_len)
    assert len(recs) == MAX_RAW, len(recs)
    return header() + chunk(recs) + footer()


def big():
    per = (1 << 20) // 40
    out = header() + chunk(snap_task())
    for c in range(8):
        out += chunk(b''.join(brk(c * per + i) for i in range(per)))
    return out + footer()


def empty():
    return header() + footer()


if __name__ == '__main__':
    data = {'snapmap': snapmap, 'big': big, 'empty': empty}[sys.argv[1]]()
    open(sys.argv[2], 'wb').write(data)
