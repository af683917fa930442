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
/* Flushes, then writes the footer; records_by_type is filled in here. */
int trace_writer__finish(struct trace_writer *w, struct ps_footer *footer);
void trace_writer__free(struct trace_writer *w);
/* True once the file is at PATH (its first chunk is written). */
bool trace_writer__in_place(const struct trace_writer *w);
/* Records appended so far, per type, and bytes on disk. */
const __u64 *trace_writer__counts(const struct trace_writer *w);
__u64 trace_writer__bytes(const struct trace_writer *w);

#endif
