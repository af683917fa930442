/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef PROCSCOPE_TRACE_READER_H
#define PROCSCOPE_TRACE_READER_H

#include <stdbool.h>
#include "trace_format.h"

struct trace_reader;

struct trace_reader_stats {
	__u64 chunks;		/* good chunks read */
	__u64 bad_chunks;	/* skipped: bad checksum, bad header, or a bad record size */
	__u64 bad_records;	/* skipped alone: too short for their type, unterminated string */
	__u64 unknown_records;	/* types this build does not know, stepped over */
	__u64 records;
	bool truncated;		/* ended inside a chunk */
	bool has_footer;	/* the recorder closed the file */
	bool shrank;		/* the file got shorter while being read: an error */
	bool read_error;	/* pread failed (EIO): an error */
};

/*
 * Opens PATH and checks its header (and its checksum from format 3 on).
 * NULL and errno on failure, with the message printed: not a regular file,
 * not a procscope file, a newer version, a damaged header, unreadable.
 * Memory use is one chunk's worth whatever the file's size.
 */
struct trace_reader *trace_reader__open(const char *path);
void trace_reader__free(struct trace_reader *r);

const struct ps_file_header *trace_reader__header(const struct trace_reader *r);
const char *trace_reader__cmdline(const struct trace_reader *r);
const char *trace_reader__targets(const struct trace_reader *r);
/* Where it was recorded: "" when unknown (files of procscope before they were stored). */
const char *trace_reader__hostname(const struct trace_reader *r);
const char *trace_reader__boot_id(const struct trace_reader *r);

/*
 * Next record, in file order (per CPU, time order is not guaranteed across
 * chunks: models sort or tolerate). Each record returned is of a known
 * type, at least rec_info__min_size() bytes, and passed rec_info__check()
 * (strings terminated); fields appended by a later format are there only
 * where hdr.size covers them. Damaged chunks and bad records are skipped.
 * NULL at the end; the first time, unless quiet, the reader prints the one
 * warning line for a damaged session and the one for a session cut short
 * (no footer), and notes the outcome for trace_reader__exit_status().
 */
const struct ps_hdr *trace_reader__next(struct trace_reader *r);
/* Back to the first record, for a second pass. */
void trace_reader__rewind(struct trace_reader *r);
/* Valid once next() returned NULL: NULL when the file has no footer. */
const struct ps_footer *trace_reader__footer(const struct trace_reader *r);
const struct trace_reader_stats *trace_reader__stats(const struct trace_reader *r);
/*
 * Before the first next(): the footer, read from the file's tail alone (a
 * few KiB), so a reader can know the end before reading the records.
 * 0, -ENOENT if the file does not end with a good footer chunk (cut
 * short: read it through), -EBUSY once reading began.
 */
int trace_reader__tail_footer(struct trace_reader *r, struct ps_footer *out);
/* Silences damage warnings (for a second pass over the same file). */
void trace_reader__set_quiet(struct trace_reader *r, bool quiet);
/*
 * The exit status every reading verb ends with when it succeeded otherwise:
 * 0 if every session read so far was whole, PS_EXIT_INCOMPLETE if one was
 * damaged or cut short (and its good part used), PS_EXIT_ERROR if one could
 * not be read to its end (it shrank, or a read failed).
 */
int trace_reader__exit_status(void);

#endif
