/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Output files created the safe way, as procscope runs as root: the data
 * goes to a new temporary file beside the output (O_EXCL|O_NOFOLLOW, mode
 * 0600), which is renamed into place once it is worth keeping. A symlink,
 * a directory, a device or a FIFO at the output path is refused, never
 * followed, written through or removed; on failure only the temporary
 * file this run created is removed.
 */
#ifndef PROCSCOPE_OUT_FILE_H
#define PROCSCOPE_OUT_FILE_H

#include <stdbool.h>
#include <stdio.h>

struct out_file {
	char *path;		/* where the output goes */
	char *tmp;		/* the temporary file, until published */
	int fd;
	FILE *f;		/* from out_file__stream(), owns fd */
	int err;		/* first write error seen through f, as an errno */
	bool published;
};

/*
 * Refuses PATH if it exists and is not a regular file, then creates the
 * temporary file. 0 or -errno, with the message printed.
 */
int out_file__create(struct out_file *o, const char *path);
/* A buffered stream on the file that remembers the errno of a failed write. */
FILE *out_file__stream(struct out_file *o);
/*
 * Moves the temporary file to PATH; with KEEP_OLD an existing PATH is first
 * renamed to PATH.old. A stream is flushed first, and its write errors
 * reported with their own errno (ENOSPC as such). The fd stays open for
 * more writes. 0 or -errno, with the message printed.
 */
int out_file__publish(struct out_file *o, bool keep_old);
/* Closes; removes the temporary file unless it was published. NULL-safe. */
void out_file__close(struct out_file *o);

#endif
