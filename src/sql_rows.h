/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A session as rows of the SQL tables (sql_schema.h), handed to a sink
 * (SQLite, ClickHouse TSV) while the replay core (session.h) runs the
 * models: intervals, counters, calls and regions become rows as the models
 * close them, so memory follows the live threads, processes and regions,
 * not the trace length. The process, thread and session tables are written
 * at the end, from the models' final state.
 *
 *	rows = sql_rows__new(s, &sink, &cb);	// sets cb's callbacks
 *	session__replay(s, &cb);
 *	sql_rows__finish(rows);
 *	sql_rows__free(rows);
 *
 * The session must be opened with SQL_ROWS_MODELS.
 */
#ifndef PROCSCOPE_SQL_ROWS_H
#define PROCSCOPE_SQL_ROWS_H

#include "session.h"
#include "sql_schema.h"

/* the models the rows come from; FORGET keeps memory to what is alive */
#define SQL_ROWS_MODELS (SESSION_VM | SESSION_SCHED | SESSION_FORGET)

struct sql_rows;

/* NULL and errno on failure. Fills CB (models' callbacks, record, ctx). */
struct sql_rows *sql_rows__new(struct session *s, const struct sql_sink *sink,
			       struct session_callbacks *cb);
/* The record callback sql_rows__new() puts in CB (ctx: the sql_rows). */
int sql_rows__record(void *rows, const struct session_event *ev);
/* After the replay: the rows still open, then process, thread, session. 0 or -errno. */
int sql_rows__finish(struct sql_rows *r);
void sql_rows__free(struct sql_rows *r);
/*
 * For the sqlite and clickhouse exports: refuses a selection (--pid,
 * --from, --to: SQL selects), then sql_rows__new(). NULL and errno, the
 * message printed for a selection.
 */
struct export_ctx;
struct sql_rows *sql_rows__export_begin(const struct export_ctx *c, const struct sql_sink *sink,
					struct session_callbacks *cb);
/* Their export_format.record: ST's first member is its struct sql_rows *. */
int sql_rows__export_record(void *st, const struct session_event *ev);
/* "<boot_id>-<start_ns>": names the session among a fleet's (ClickHouse). */
const char *sql_rows__session_id(const struct sql_rows *r);

#endif
