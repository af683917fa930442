/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef PROCSCOPE_TRACE_READER_H
#define PROCSCOPE_TRACE_READER_H

#include <stdbool.h>
#include "trace_format.h"

struct trace_reader;

struct trace_reader_stats {
	__u64 chunks;		/* good chunks read */
	__u64 bad_chunks;	/* skipped: bad checksum, bad header or bad records */
	__u64 records;
	bool truncated;		/* ended inside a chunk */
	bool has_footer;	/* the recorder closed the file */
};

/*
 * Maps PATH and checks its header. NULL and errno on failure, with the
 * message printed: not a procscope file, a newer version, unreadable.
 * Memory use is one chunk's worth whatever the file's size.
 */
struct trace_reader *trace_reader__open(const char *path);
void trace_reader__free(struct trace_reader *r);

const struct ps_file_header *trace_reader__header(const struct trace_reader *r);
const char *trace_reader__cmdline(const struct trace_reader *r);
const char *trace_reader__targets(const struct trace_reader *r);

/*
 * Next record, in file order (per CPU, time order is not guaranteed across
 * chunks: models sort or tolerate). Each record returned is at least
 * rec_info__min_size() bytes. NULL at the end; damaged chunks are skipped
 * with a warning on stderr and the next good one is read.
 */
const struct ps_hdr *trace_reader__next(struct trace_reader *r);
/* Back to the first record, for a second pass. */
void trace_reader__rewind(struct trace_reader *r);
/* Valid once next() returned NULL: NULL when the file has no footer. */
const struct ps_footer *trace_reader__footer(const struct trace_reader *r);
const struct trace_reader_stats *trace_reader__stats(const struct trace_reader *r);
/* Silences damage warnings (for a second pass over the same file). */
void trace_reader__set_quiet(struct trace_reader *r, bool quiet);

#endif
