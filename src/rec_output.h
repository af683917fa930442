/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Where the recorder's records go: one session file; a series of files
 * capped in size (--max-size, --max-files); or a flight recorder keeping
 * the newest bytes of the session in memory (--ring) and writing them out
 * on demand. Files of a series are FILE, FILE.1, FILE.2, ...
 *
 * Keyframes. Every file of a series and every flight-recorder file decodes
 * alone: it starts with a keyframe, a fresh /proc snapshot of the traced
 * processes (the same PS_REC_SNAP_TASK and PS_REC_SNAP_MAP records a
 * recording attached with -p starts from), taken when the file (or the
 * flight recorder's group of chunks) begins. A snapshot of the kernel's
 * state, not a copy of the recorder's idea of it: the recorder keeps no
 * model, and the kernel's state holds what no record said (mappings made
 * before recording, calls whose records were lost).
 *
 * The keyframe instant K is taken just before the snapshot is read, after
 * a drain. Records stamped before K still in the rings then (the next
 * drain brings them) go to the file or group before, and only records at
 * or after K follow the keyframe: a file never holds a record older than
 * its keyframe, so nothing in it contradicts the keyframe, and its header's
 * start is K. The file before is closed at the next drain, once it has
 * all its records.
 */
#ifndef PROCSCOPE_REC_OUTPUT_H
#define PROCSCOPE_REC_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>
#include "trace_writer.h"

struct rec_output_opts {
	const char *path;
	const struct ps_file_header *hdr;	/* start_ns: the recording's start */
	const char *cmdline, *targets, *hostname, *boot_id;
	uint64_t max_size;	/* bytes per file; 0: one file */
	unsigned max_files;	/* files of a series kept; 0: all */
	uint64_t ring_bytes;	/* flight recorder: bytes kept in memory; 0: off */
	/* writes a keyframe into W: records stamped from now on */
	int (*keyframe)(void *ctx, struct trace_writer *w);
	void *ctx;
};

struct rec_output;

/* NULL and errno, the message printed. Nothing is on disk yet in ring mode. */
struct rec_output *rec_output__open(const struct rec_output_opts *o);
/* A probe record: to the file or group its time belongs to. */
int rec_output__add(struct rec_output *out, const struct ps_hdr *h);
/*
 * Where records the recorder stamps itself go (snapshots, lost counts):
 * the newest file or group. A PS_REC_LOST record is written through
 * rec_output__lost() instead.
 */
struct trace_writer *rec_output__writer(struct rec_output *out);
/*
 * Cumulative lost counters (since recording started) as a PS_REC_LOST
 * record, and kept for the footers. A file of a series counts from its own
 * start; a flight-recorder file counts from the recording's start.
 */
int rec_output__lost(struct rec_output *out, const struct ps_lost *l);
/*
 * After each drain: closes the file or group left behind by the last
 * rotation, and starts a new one with its keyframe when the current one is
 * full. 0 or -errno.
 */
int rec_output__tick(struct rec_output *out);
/* Writes buffered records as a chunk (on disk, or into the flight recorder). */
int rec_output__flush(struct rec_output *out);
/*
 * Flight recorder: writes what it holds as the next file of the series
 * (FILE, then FILE.1, ...), the recording going on. EXIT_STATUS for the
 * footer (-1: none). 0 or -errno.
 */
int rec_output__save(struct rec_output *out, int exit_status);
/* Ends the recording: the last file's footer, or the flight recorder's last save. */
int rec_output__finish(struct rec_output *out, int exit_status);
void rec_output__free(struct rec_output *out);

/* Records written since the start (all files), bytes of the current file (or held in memory). */
uint64_t rec_output__records(const struct rec_output *out);
uint64_t rec_output__bytes(const struct rec_output *out);
/* Files written or started so far; the name of the last one (valid until free). */
unsigned rec_output__files(const struct rec_output *out);
const char *rec_output__last_path(const struct rec_output *out);
/* True once a file is at its path (false: nothing was recorded, the old file stays). */
bool rec_output__in_place(const struct rec_output *out);

#endif
