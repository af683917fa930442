#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Builds the three seed corpora from real session files.

    tests/fuzz/seed.py OUTDIR FILE.data...

OUTDIR/file/    byte 0 (the verb) + the file as it is
OUTDIR/chunks/  byte 0 (the verb), byte 1 (zstd, footer, one chunk) + its records
OUTDIR/records/ its records, inflated and back to back
Record streams are cut at a record boundary after 32 KiB to keep seeds small.
"""
import os
import struct
import subprocess
import sys
import zlib

HDR = struct.Struct('<8sIIIIQq32s72sII')
CHUNK = struct.Struct('<IIIIII')
MAGIC = 0x4b4e4843
FOOTER, ZLIB, ZSTD = 0x2, 0x1, 0x4
MAX_RECS = 32 << 10


def records(data):
    """The records of every good chunk, inflated, in file order."""
    hdr = HDR.unpack_from(data)
    off, out = hdr[2], bytearray()
    while off + CHUNK.size <= len(data):
        magic, flags, stored, raw, _, crc = CHUNK.unpack_from(data, off)
        payload = data[off + CHUNK.size:off + CHUNK.size + stored]
        off += CHUNK.size + stored
        if magic != MAGIC or zlib.crc32(payload) != crc or flags & FOOTER:
            continue
        if flags & ZSTD:
            payload = subprocess.run(['zstd', '-dcq'], input=payload, check=True,
                                     stdout=subprocess.PIPE).stdout
        elif flags & ZLIB:
            payload = zlib.decompress(payload)
        out += payload
    cut = 0
    while cut + 24 <= len(out) and cut < MAX_RECS:
        size = struct.unpack_from('<H', out, cut + 2)[0]
        if size < 24 or cut + size > len(out):
            break
        cut += size
    return bytes(out[:cut])


def main():
    outdir, files = sys.argv[1], sys.argv[2:]
    for sub in ('file', 'chunks', 'records'):
        os.makedirs(os.path.join(outdir, sub), exist_ok=True)
    for i, path in enumerate(files):
        name = os.path.basename(path).rsplit('.', 1)[0]
        data = open(path, 'rb').read()
        recs = records(data)
        verb = bytes([i % 12])
        open(os.path.join(outdir, 'file', name), 'wb').write(verb + data)
        open(os.path.join(outdir, 'chunks', name), 'wb').write(verb + bytes([1 | 4]) + recs)
        open(os.path.join(outdir, 'records', name), 'wb').write(recs)


if __name__ == '__main__':
    main()
