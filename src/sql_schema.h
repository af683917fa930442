/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The tables a session becomes for SQL (procscope sql, export --format
 * sqlite|clickhouse): their names, columns, types and meaning, said once
 * here. SQLite's DDL, ClickHouse's DDL and `procscope sql --schema` (the
 * reference in docs/sql.md) are all printed from these tables.
 *
 * Names and columns follow Perfetto's trace processor where the concept is
 * the same (process, thread, sched_slice, thread_state, counter_track,
 * counter, stack_profile_*), so its queries carry over; mem_call, vma,
 * lost, stack_sample and session are procscope's own. Timestamps are ns from the recording's start (the
 * session's time zero; a few records of -p/-a sessions are slightly
 * negative), durations ns; session gives the wall-clock offset.
 */
#ifndef PROCSCOPE_SQL_SCHEMA_H
#define PROCSCOPE_SQL_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Bumped whenever a table or column changes: cached databases are rebuilt. */
#define SQL_SCHEMA_VERSION 5

enum sql_type { SQL_INT, SQL_REAL, SQL_TEXT };

struct sql_column {
	const char *name;
	enum sql_type type;
	bool nullable;
	const char *doc;
};

enum sql_table_id {
	SQL_SESSION, SQL_PROCESS, SQL_THREAD, SQL_SCHED_SLICE, SQL_THREAD_STATE,
	SQL_COUNTER_TRACK, SQL_COUNTER, SQL_MEM_CALL, SQL_VMA, SQL_LOST,
	SQL_STACK_MAPPING, SQL_STACK_FRAME, SQL_STACK_CALLSITE, SQL_STACK_SAMPLE,
	SQL_NTABLES,
};

#define SQL_MAX_INDEXES	2

struct sql_table {
	const char *name;
	const char *doc;
	const struct sql_column *cols;
	unsigned ncols;
	/* columns of each SQLite index, built after the rows */
	const char *sqlite_index[SQL_MAX_INDEXES];
	const char *ch_order_by;	/* ClickHouse sort key after (host, session_id) */
	/*
	 * SQLite: the rows for which DERIVED is true are already another
	 * table's: the table is a view, the rest stored in table STORE and
	 * VIEW (a SELECT) adding the derived ones back. NULL: a plain table.
	 */
	const struct sql_derived *sqlite_derived;
};

struct sql_val;

struct sql_derived {
	const char *store;
	const char *view;
	bool (*derived)(const struct sql_val *row);
};

extern const struct sql_table sql_tables[SQL_NTABLES];

/* One value of a row, in the table's column order. */
struct sql_val {
	enum sql_type type;
	bool null;
	int64_t i;
	double d;
	const char *s;	/* SQL_TEXT: LEN bytes, not necessarily NUL-terminated */
	size_t len;
};

static inline struct sql_val sql_int(int64_t v)
{
	return (struct sql_val){ .type = SQL_INT, .i = v };
}

static inline struct sql_val sql_real(double v)
{
	return (struct sql_val){ .type = SQL_REAL, .d = v };
}

static inline struct sql_val sql_null(void)
{
	return (struct sql_val){ .type = SQL_INT, .null = true };
}

/* At most MAX bytes of S, up to its NUL (fixed-size kernel strings such as comm). */
struct sql_val sql_text_n(const char *s, size_t max);
struct sql_val sql_text(const char *s);	/* NULL S: a NULL value */

/* Where rows go: SQLite, ClickHouse TSV. 0 or -errno. */
struct sql_sink {
	int (*row)(void *ctx, enum sql_table_id t, const struct sql_val *v);
	void *ctx;
};

/* The reference: every table and column with its meaning (sql --schema). */
void sql_schema__print(FILE *f);

#endif
