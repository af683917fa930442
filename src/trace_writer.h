/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef PROCSCOPE_TRACE_WRITER_H
#define PROCSCOPE_TRACE_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include "trace_format.h"

struct trace_writer;

/*
 * Creates the session file, 0600, under a temporary name beside PATH, and
 * writes the header at once. PATH must be absent or a regular file. The
 * first chunk written moves the file to PATH, an existing PATH becoming
 * PATH.old; freed before that, the writer leaves PATH as it was. NULL and
 * errno on failure, with the message printed. HOSTNAME and BOOT_ID may be
 * NULL (stored empty).
 */
struct trace_writer *trace_writer__open(const char *path, const struct ps_file_header *hdr,
					const char *cmdline, const char *targets,
					const char *hostname, const char *boot_id);
/* Appends one record (hdr->size bytes); writes a chunk when the buffer fills. */
int trace_writer__add(struct trace_writer *w, const struct ps_hdr *rec);
/* Writes buffered records as one chunk; 0 or -errno (file left at its last whole chunk). */
int trace_writer__flush(struct trace_writer *w);
/* Flushes, then writes the footer and syncs; records_by_type is filled in here. */
int trace_writer__finish(struct trace_writer *w, struct ps_footer *footer);
/*
 * Finish without fsync: for a file closed while the recording goes on,
 * where an fsync (up to seconds on a busy disk) would stall the drain and
 * let the rings fill; the kernel writes it back as any file.
 */
void trace_writer__no_sync(struct trace_writer *w);
void trace_writer__free(struct trace_writer *w);
/*
 * A writer that keeps its chunks in memory (no header, no file): one
 * keyframe group of the flight recorder. NULL and errno.
 */
struct trace_writer *trace_writer__open_mem(void);
/* Flushes and frees the compression buffers of a writer in memory; adds fail after. */
int trace_writer__seal(struct trace_writer *w);
/*
 * Writes a session file at PATH (made safely, an old one kept as PATH.old)
 * from the chunks of N writers in memory, in order, and FOOTER, whose
 * records_by_type is filled in here. 0 or -errno, with the message printed.
 */
int trace_writer__save(const char *path, const struct ps_file_header *hdr, const char *cmdline,
		       const char *targets, const char *hostname, const char *boot_id,
		       struct trace_writer *const *groups, size_t n, struct ps_footer *footer);
/* True once the file is at PATH (its first chunk is written). */
bool trace_writer__in_place(const struct trace_writer *w);
/* Records appended so far, per type, and bytes on disk (in memory: chunk bytes kept). */
const __u64 *trace_writer__counts(const struct trace_writer *w);
__u64 trace_writer__bytes(const struct trace_writer *w);
/* Bytes of records buffered, not yet in a chunk. */
size_t trace_writer__raw_bytes(const struct trace_writer *w);

#endif
