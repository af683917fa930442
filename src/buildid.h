/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Build-ids of mapped files. The recorder notes each file the traced
 * processes map (by the kernel's dev and ino) once, as a PS_REC_BUILDID
 * record; the reader compares it with the file found at the same path, so a
 * binary replaced or deleted since the recording is said to be so, never
 * symbolized from the wrong file.
 */
#ifndef PROCSCOPE_BUILDID_H
#define PROCSCOPE_BUILDID_H

#include <stddef.h>
#include <stdint.h>
#include "idmap.h"
#include "trace_writer.h"

/* A file's identity as read now: build-id (len 0 if none), size, mtime. */
struct file_id {
	uint8_t id[PS_BUILDID_MAX];
	uint32_t len;
	uint64_t size;
	int64_t mtime_ns;
	uint64_t ino;
	uint64_t dev;		/* st_dev, user-space encoding */
};

/* Reads PATH's identity; 0 or -errno. */
int buildid__read(const char *path, struct file_id *out);
/*
 * The ELF virtual address that file offset OFF of PATH loads at (the PT_LOAD
 * segment holding it: p_vaddr + OFF - p_offset). 0, -ENOENT if no segment
 * holds OFF, or -errno.
 */
int buildid__vaddr(const char *path, uint64_t off, uint64_t *vaddr);
/* The user-space dev_t of a kernel s_dev (as the probes record it). */
uint64_t buildid__udev(uint64_t kernel_dev);

/* Recorder: files already noted. */
struct buildid_notes {
	struct idmap seen;	/* hash of (dev, ino) -> 1 */
	uint64_t records;
};

/*
 * If H maps a file not noted yet (ps_mmap, ps_vma, or an executable
 * ps_snap_map of a process already running), reads its identity and
 * appends a PS_REC_BUILDID to W. 0 or -errno of the write (a file that
 * cannot be read is recorded with its errno, not an error).
 */
int buildid__note(struct buildid_notes *n, struct trace_writer *w, const struct ps_hdr *h);
void buildid__notes_free(struct buildid_notes *n);

#endif
