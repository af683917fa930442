// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * export --format sqlite, and the database `procscope sql` queries: the
 * tables of sql_schema.h in one SQLite file, written through libsqlite3 in
 * one transaction with one prepared INSERT per table (values bound, never
 * spliced into SQL: names in a trace are data). Indexes are built after the
 * rows, which is faster than keeping them up to date row by row.
 *
 * No journal and no fsync while writing: the file is a temporary one
 * (out_file.h) renamed into place only once complete, so a crash leaves no
 * half-built database under the output name. The page cache is bounded
 * (SQLITE_CACHE_KIB) and rows stream from the replay, so memory does not
 * grow with the trace.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sqlite3.h>
#include "export.h"
#include "export_sqlite.h"
#include "out_file.h"
#include "sql_rows.h"
#include "trace_reader.h"
#include "util.h"

#define SQLITE_CACHE_KIB 65536	/* page cache while building, at most */

struct sqlite_sink {
	sqlite3 *db;
	sqlite3_stmt *ins[SQL_NTABLES];
	const char *path;	/* the user's name for it, for messages */
};

static int sq_exec(struct sqlite_sink *k, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(k->db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	ps_err("cannot write '%s': %s", k->path, msg ? msg : sqlite3_errmsg(k->db));
	sqlite3_free(msg);
	return -EIO;
}

static const char *sqlite_type(const struct sql_column *c)
{
	return c->type == SQL_INT ? "INTEGER" : c->type == SQL_REAL ? "REAL" : "TEXT";
}

static int create_tables(struct sqlite_sink *k)
{
	char sql[4096];

	for (int t = 0; t < SQL_NTABLES; t++) {
		const struct sql_table *tb = &sql_tables[t];
		size_t off = snprintf(sql, sizeof(sql), "CREATE TABLE %s (", tb->name);
		int err;

		for (unsigned c = 0; c < tb->ncols; c++)
			off += snprintf(sql + off, sizeof(sql) - off, "%s\"%s\" %s%s", c ? ", " : "",
					tb->cols[c].name, sqlite_type(&tb->cols[c]),
					tb->cols[c].nullable ? "" : " NOT NULL");
		snprintf(sql + off, sizeof(sql) - off, ")");
		err = sq_exec(k, sql);
		if (err)
			return err;
		off = snprintf(sql, sizeof(sql), "INSERT INTO %s VALUES (", tb->name);
		for (unsigned c = 0; c < tb->ncols; c++)
			off += snprintf(sql + off, sizeof(sql) - off, "%s?", c ? "," : "");
		snprintf(sql + off, sizeof(sql) - off, ")");
		if (sqlite3_prepare_v3(k->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &k->ins[t], NULL)) {
			ps_err("cannot write '%s': %s", k->path, sqlite3_errmsg(k->db));
			return -EIO;
		}
	}
	return 0;
}

static int sink_open(struct sqlite_sink *k, const char *tmp_path, const char *path)
{
	char pragmas[256];

	k->path = path;
	if (sqlite3_open_v2(tmp_path, &k->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL)) {
		ps_err("cannot create '%s': %s", path, k->db ? sqlite3_errmsg(k->db) : "out of memory");
		return -EIO;
	}
	snprintf(pragmas, sizeof(pragmas),
		 "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA locking_mode=EXCLUSIVE;"
		 "PRAGMA cache_size=-%d; PRAGMA user_version=%d; BEGIN", SQLITE_CACHE_KIB,
		 SQL_SCHEMA_VERSION);
	if (sq_exec(k, pragmas))
		return -EIO;
	return create_tables(k);
}

static int sink_row(void *ctx, enum sql_table_id t, const struct sql_val *v)
{
	struct sqlite_sink *k = ctx;
	sqlite3_stmt *st = k->ins[t];
	int rc = SQLITE_OK;

	for (unsigned c = 0; c < sql_tables[t].ncols && rc == SQLITE_OK; c++) {
		if (v[c].null)
			rc = sqlite3_bind_null(st, c + 1);
		else if (v[c].type == SQL_INT)
			rc = sqlite3_bind_int64(st, c + 1, v[c].i);
		else if (v[c].type == SQL_REAL)
			rc = sqlite3_bind_double(st, c + 1, v[c].d);
		else
			rc = sqlite3_bind_text(st, c + 1, v[c].s, (int)v[c].len, SQLITE_STATIC);
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		ps_err("cannot write '%s': %s", k->path, sqlite3_errmsg(k->db));
		return rc == SQLITE_FULL ? -ENOSPC : -EIO;
	}
	return 0;
}

/* Indexes, the source's facts, COMMIT. */
static int sink_commit(struct sqlite_sink *k, const struct sql_source *src)
{
	char sql[512];
	int err;

	for (int t = 0; t < SQL_NTABLES; t++) {
		if (!sql_tables[t].sqlite_index)
			continue;
		snprintf(sql, sizeof(sql), "CREATE INDEX %s_idx ON %s (%s)", sql_tables[t].name,
			 sql_tables[t].name, sql_tables[t].sqlite_index);
		err = sq_exec(k, sql);
		if (err)
			return err;
	}
	snprintf(sql, sizeof(sql),
		 "CREATE TABLE _procscope_source (size INTEGER, mtime_ns INTEGER, header_crc32 "
		 "INTEGER, status INTEGER); INSERT INTO _procscope_source VALUES (%" PRId64 ", %"
		 PRId64 ", %u, %d)", src->size, src->mtime_ns, src->header_crc32, src->status);
	err = sq_exec(k, sql);
	return err ? err : sq_exec(k, "COMMIT");
}

static void sink_close(struct sqlite_sink *k)
{
	for (int t = 0; t < SQL_NTABLES; t++) {
		sqlite3_finalize(k->ins[t]);
		k->ins[t] = NULL;
	}
	sqlite3_close(k->db);
	k->db = NULL;
}

int sql_source__stat(const char *path, struct sql_source *src)
{
	struct stat st;

	memset(src, 0, sizeof(*src));
	if (stat(path, &st))
		return -errno;
	src->size = st.st_size;
	src->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	return 0;
}

/* ---- export --format sqlite ---- */

struct sqlite_export {
	struct sql_rows *rows;
	struct out_file of;
	struct sqlite_sink k;
	struct sql_source src;
};

static void sqlite_free(void *st)
{
	struct sqlite_export *e = st;

	if (!e)
		return;
	sql_rows__free(e->rows);
	sink_close(&e->k);
	out_file__close(&e->of);	/* removes the temporary file unless published */
	free(e);
}

static void *sqlite_begin(struct export_ctx *c, struct session_callbacks *cb)
{
	struct sqlite_export *e;
	struct sql_sink sink;
	int err;

	if (c->pid || c->from_ns || c->to_ns != UINT64_MAX) {
		ps_err("the sqlite and clickhouse exports take the whole session: "
		       "select with SQL instead of --pid, --from, --to");
		errno = EINVAL;
		return NULL;
	}
	if (!strcmp(c->out_path, "-")) {
		ps_err("a database cannot go to stdout: name it with -o");
		errno = EINVAL;
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->of.fd = -1;
	err = sql_source__stat(session__path(c->s), &e->src);
	if (!err)
		err = out_file__create(&e->of, c->out_path);
	if (!err)
		err = sink_open(&e->k, e->of.tmp, c->out_path);
	if (err)
		goto err_free;
	sink = (struct sql_sink){ sink_row, &e->k };
	e->rows = sql_rows__new(c->s, &sink, cb);
	if (!e->rows) {
		err = -ENOMEM;
		goto err_free;
	}
	e->src.header_crc32 = c->fh->header_crc32;
	return e;

err_free:
	sqlite_free(e);
	errno = -err;
	return NULL;
}

static int sqlite_record(void *st, const struct session_event *ev)
{
	return sql_rows__record(((struct sqlite_export *)st)->rows, ev);
}

static int sqlite_finish(void *st)
{
	struct sqlite_export *e = st;
	int err = sql_rows__finish(e->rows);

	/* what the reader made of the file, for `sql` to say again from the cache */
	e->src.status = trace_reader__exit_status();
	if (!err)
		err = sink_commit(&e->k, &e->src);
	sink_close(&e->k);
	if (!err)
		err = out_file__publish(&e->of, false);
	return err;
}

const struct export_format export_sqlite = {
	.name = "sqlite",
	.default_output = "procscope.db",
	.help = "SQLite database for `procscope sql` or any SQLite tool",
	.models = SQL_ROWS_MODELS,
	.own_output = true,
	.begin = sqlite_begin,
	.record = sqlite_record,
	.finish = sqlite_finish,
	.free = sqlite_free,
};

int export_sqlite__build(const char *session_path, const char *db_path)
{
	struct session_opts so = { .flags = SQL_ROWS_MODELS };
	struct session_callbacks cb = {};
	struct export_ctx c = {};
	struct sqlite_export *e;
	int err;

	c.s = session__open(session_path, &so);
	if (!c.s)
		return -errno;
	c.fh = session__header(c.s);
	c.pm = session__procs(c.s);
	c.origin_ns = session__time_zero(c.s);
	c.to_ns = UINT64_MAX;
	c.out_path = db_path;
	e = sqlite_begin(&c, &cb);
	if (!e) {
		err = -errno;
		goto out;
	}
	err = session__replay(c.s, &cb);	/* cb's record and ctx are the rows' own */
	if (!err)
		err = sqlite_finish(e);
	/* SQLite's own failures were said where they happened */
	if (err && err != -EIO && err != -ENOSPC)
		ps_err("cannot build '%s' from '%s': %s", db_path, session_path, strerror(-err));
	sqlite_free(e);
out:
	session__free(c.s);
	return err;
}
