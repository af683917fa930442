/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The SQLite database of a session (export --format sqlite, and the one
 * `procscope sql` caches next to the session file).
 */
#ifndef PROCSCOPE_EXPORT_SQLITE_H
#define PROCSCOPE_EXPORT_SQLITE_H

#include <stdint.h>

/* What a database was built from, stored in it (table _procscope_source). */
struct sql_source {
	int64_t size;		/* bytes of the session file */
	int64_t mtime_ns;	/* its modification time */
	uint32_t header_crc32;	/* its header's checksum (0 before format 3) */
	int status;		/* the reader's exit status: damaged or cut short (PS_EXIT_*) */
};

/* Size and mtime of PATH; 0 or -errno. */
int sql_source__stat(const char *path, struct sql_source *src);
/*
 * Builds DB_PATH from the session file SESSION_PATH, safely (out_file.h):
 * nothing at DB_PATH changes unless the whole database was written.
 * 0 or -errno, the message printed.
 */
int export_sqlite__build(const char *session_path, const char *db_path);

#endif
