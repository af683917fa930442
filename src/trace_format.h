/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The session file (default ./procscope.data), little-endian:
 *
 *   struct ps_file_header, then header_len - sizeof(header) bytes holding
 *   NUL-terminated strings: the command line, the targets, and (written
 *   since procscope stores them; older files of every version end after the
 *   targets) the host name and the boot id (/proc/sys/kernel/random/boot_id).
 *   Readers take strings missing at the end as empty and skip strings they
 *   do not know, so adding one needs no new version. From version 3 on,
 *   header_crc32 covers these header_len bytes;
 *   chunks: struct ps_chunk_header + stored_len bytes of payload, the payload
 *   being records (include/records.h) back to back, zstd-compressed when
 *   PS_CHUNK_ZSTD is set (zlib when PS_CHUNK_ZLIB is: version 1 files);
 *   crc32 covers the stored payload;
 *   a last chunk flagged PS_CHUNK_FOOTER whose payload is struct ps_footer.
 *
 * A file without a footer was not closed (recorder killed, disk full): it
 * reads up to its last complete chunk, and PS_REC_LOST records in the stream
 * carry the lost-record counts so far.
 */
#ifndef PROCSCOPE_TRACE_FORMAT_H
#define PROCSCOPE_TRACE_FORMAT_H

#include <linux/types.h>
#include "records.h"

#define PS_FILE_MAGIC		"PROCSCP\0"
/*
 * 4: per-type arrays (PS_REC_LOST, the footer) have PS_REC_SLOTS slots;
 * 3: switch, exec and exit records carry the kernel's task totals
 *    (struct ps_task_totals); the header has a checksum (header_crc32);
 * 2: chunks compressed with zstd; 1: zlib.
 * Older versions are still read.
 */
#define PS_FILE_VERSION		4
#define PS_CHUNK_MAGIC		0x4b4e4843u	/* "CHNK" */
#define PS_CHUNK_ZLIB		0x1
#define PS_CHUNK_FOOTER		0x2
#define PS_CHUNK_ZSTD		0x4
#define PS_CHUNK_MAX_RAW	(4u << 20)	/* bytes of records per chunk, at most */
/* header_len, at most: the recorder writes four strings of < 4 KiB each */
#define PS_HEADER_MAX_LEN	(64u << 10)

struct ps_file_header {
	char magic[8];
	__u32 version;
	__u32 header_len;	/* bytes, strings included */
	__u32 page_size;
	__u32 ncpus;
	__u64 start_ns;		/* CLOCK_MONOTONIC at recording start */
	__s64 realtime_offset_ns;	/* add to a monotonic ns to get wall clock */
	char procscope_version[32];
	char kernel_release[72];
	__u32 target_all;	/* -a */
	__u32 header_crc32;	/* v3: zlib crc32 of header_len bytes, this field 0; v1, v2: 0 */
	/* followed by: command line\0 targets\0 */
};

struct ps_chunk_header {
	__u32 magic;
	__u32 flags;
	__u32 stored_len;	/* bytes following this header */
	__u32 raw_len;		/* bytes of records once decompressed */
	__u32 nrecords;
	__u32 crc32;		/* zlib crc32 of the stored bytes */
};

struct ps_footer {
	__u64 end_ns;		/* CLOCK_MONOTONIC at the end of recording */
	__u64 records_by_type[PS_REC_SLOTS];	/* format 3 and older: PS_REC_SLOTS_V3 */
	__u64 lost_total;
	__u64 lost_by_type[PS_REC_SLOTS];
	__s32 exit_status;	/* of the traced command, -1 if none */
	__u32 pad;
	/* appended in format 4 (older footers end before it: read as 0): as in ps_lost */
	__u64 stacks_skipped[PS_STK_SLOTS];
};

#endif /* PROCSCOPE_TRACE_FORMAT_H */
