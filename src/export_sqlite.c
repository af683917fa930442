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
 * (SQLITE_CACHE_KIB) and rows stream from the replay through a bounded
 * queue to the writer thread (below), so memory does not grow with the
 * trace.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
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
#define SQLITE_PAGE_BYTES 65536	/* the largest: fewer, fuller pages for scans */
#define SQ_BATCH_ROWS	64	/* rows per INSERT: one statement run per 64 rows */
#define SQ_TEXT_BYTES	16384	/* a batch's copies of its rows' strings */
#define SQ_LAG		64	/* full batches the writer may have yet to write */
#define SQ_WAKE		8	/* ... before a waiting writer is woken */

/*
 * Rows go to SQLite on a thread of their own (the writer), so the replay,
 * the models and the unwinder run while SQLite inserts: SQLite is two
 * thirds of the work. A table's rows wait in a batch until SQ_BATCH_ROWS of
 * them can go in one multi-row INSERT (MANY): one sqlite3_step() and one
 * statement start per batch instead of per row. Their strings are copied
 * into the batch's TEXT, which SQLite reads (SQLITE_STATIC) when the writer
 * runs the batch; a batch cut short (the end, or TEXT full) goes row by row
 * through ONE. Full batches queue for the writer, at most SQ_LAG of them:
 * the reader waits when the writer lags further, so memory stays bounded.
 */
struct sq_batch {
	enum sql_table_id t;
	unsigned n;		/* rows */
	bool owned;		/* one long row's own batch: freed once written */
	size_t text_used, text_cap;
	struct sql_val *vals;	/* rows * the table's columns */
	char *text;
	struct sq_batch *next;	/* in the queue or the free list */
};

/* The writer's statements for a table. */
struct sq_table {
	sqlite3_stmt *one, *many;
	unsigned rows;		/* rows per MANY */
};

struct sqlite_sink {
	sqlite3 *db;
	const char *path;	/* the user's name for it, for messages */
	struct sq_table tab[SQL_NTABLES];
	struct sq_batch *cur[SQL_NTABLES];	/* the reader's: filling */
	struct sq_batch *pool;			/* SQ_LAG + SQL_NTABLES of them */
	/* under LOCK: */
	pthread_mutex_t lock;
	pthread_cond_t work, room;
	struct sq_batch *queue, **queue_tail, *free;
	unsigned queued, nfree;
	bool writer_waits, reader_waits, done;
	int err;		/* the writer's first failure */
	pthread_t writer;
	bool writing;		/* WRITER runs */
};

/* SQLite's failure RC: -ENOSPC for a full disk, which the caller says; else said here, -EIO. */
static int sq_error(struct sqlite_sink *k, int rc, const char *msg)
{
	if ((rc & 0xff) == SQLITE_FULL)
		return -ENOSPC;
	ps_err("cannot write '%s': %s", k->path, msg ? msg : sqlite3_errmsg(k->db));
	return -EIO;
}

static int sq_exec(struct sqlite_sink *k, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(k->db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK)
		rc = sq_error(k, rc, msg);
	sqlite3_free(msg);
	return rc;
}

static int sq_failed(struct sqlite_sink *k, int rc)
{
	return sq_error(k, rc, NULL);
}

static const char *sqlite_type(const struct sql_column *c)
{
	return c->type == SQL_INT ? "INTEGER" : c->type == SQL_REAL ? "REAL" : "TEXT";
}

/* The table that holds TB's rows: TB, or the store of a view. */
static const char *stored_as(const struct sql_table *tb)
{
	return tb->sqlite_derived ? tb->sqlite_derived->store : tb->name;
}

/* "INSERT INTO t VALUES (?,?),(?,?)...": ROWS rows of NCOLS values. NULL on ENOMEM. */
static char *insert_sql(const struct sql_table *tb, unsigned rows)
{
	size_t cap = strlen(stored_as(tb)) + 32 + (size_t)rows * (tb->ncols * 2 + 3);
	char *sql = malloc(cap);
	size_t off;

	if (!sql)
		return NULL;
	off = snprintf(sql, cap, "INSERT INTO %s VALUES ", stored_as(tb));
	for (unsigned r = 0; r < rows; r++) {
		sql[off++] = r ? ',' : ' ';
		sql[off++] = '(';
		for (unsigned c = 0; c < tb->ncols; c++) {
			if (c)
				sql[off++] = ',';
			sql[off++] = '?';
		}
		sql[off++] = ')';
	}
	sql[off] = '\0';
	return sql;
}

static int prepare(struct sqlite_sink *k, const struct sql_table *tb, unsigned rows,
		   sqlite3_stmt **st)
{
	char *sql = insert_sql(tb, rows);
	int rc;

	if (!sql)
		return -ENOMEM;
	rc = sqlite3_prepare_v3(k->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
	free(sql);
	return rc ? sq_failed(k, rc) : 0;
}

static int create_tables(struct sqlite_sink *k)
{
	int max_vars = sqlite3_limit(k->db, SQLITE_LIMIT_VARIABLE_NUMBER, -1);
	char sql[4096];

	for (int t = 0; t < SQL_NTABLES; t++) {
		const struct sql_table *tb = &sql_tables[t];
		size_t off = snprintf(sql, sizeof(sql), "CREATE TABLE %s (", stored_as(tb));
		struct sq_table *q = &k->tab[t];
		int err;

		for (unsigned c = 0; c < tb->ncols; c++)
			off += snprintf(sql + off, sizeof(sql) - off, "%s\"%s\" %s%s", c ? ", " : "",
					tb->cols[c].name, sqlite_type(&tb->cols[c]),
					tb->cols[c].nullable ? "" : " NOT NULL");
		snprintf(sql + off, sizeof(sql) - off, ")");
		err = sq_exec(k, sql);
		if (!err && tb->sqlite_derived) {
			snprintf(sql, sizeof(sql), "CREATE VIEW %s AS %s", tb->name,
				 tb->sqlite_derived->view);
			err = sq_exec(k, sql);
		}
		if (err)
			return err;
		q->rows = (unsigned)max_vars / tb->ncols;
		if (q->rows > SQ_BATCH_ROWS)
			q->rows = SQ_BATCH_ROWS;
		err = prepare(k, tb, 1, &q->one);
		if (!err && q->rows > 1)
			err = prepare(k, tb, q->rows, &q->many);
		if (err)
			return err;
	}
	return 0;
}

static int bind_row(sqlite3_stmt *st, unsigned first, const struct sql_val *v, unsigned ncols)
{
	int rc = SQLITE_OK;

	for (unsigned c = 0; c < ncols && rc == SQLITE_OK; c++) {
		int i = first + c + 1;

		if (v[c].null)
			rc = sqlite3_bind_null(st, i);
		else if (v[c].type == SQL_INT)
			rc = sqlite3_bind_int64(st, i, v[c].i);
		else if (v[c].type == SQL_REAL)
			rc = sqlite3_bind_double(st, i, v[c].d);
		else
			rc = sqlite3_bind_text(st, i, v[c].s, (int)v[c].len, SQLITE_STATIC);
	}
	return rc;
}

/* Runs ST with what is bound. */
static int run(struct sqlite_sink *k, sqlite3_stmt *st, int rc)
{
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : sq_failed(k, rc);
}

/* The writer: B's rows into its table, in one INSERT if it is full. */
static int write_batch(struct sqlite_sink *k, const struct sq_batch *b)
{
	struct sq_table *q = &k->tab[b->t];
	unsigned ncols = sql_tables[b->t].ncols;
	int rc = SQLITE_OK, err = 0;

	if (b->n == q->rows && q->many) {
		for (unsigned r = 0; r < b->n && rc == SQLITE_OK; r++)
			rc = bind_row(q->many, r * ncols, b->vals + (size_t)r * ncols, ncols);
		return run(k, q->many, rc);
	}
	for (unsigned r = 0; r < b->n && !err; r++)
		err = run(k, q->one, bind_row(q->one, 0, b->vals + (size_t)r * ncols, ncols));
	return err;
}

static void *writer_main(void *arg)
{
	struct sqlite_sink *k = arg;
	int err = 0;

	pthread_mutex_lock(&k->lock);
	for (;;) {
		struct sq_batch *b = k->queue;

		if (!b) {
			if (k->done)
				break;
			k->writer_waits = true;
			pthread_cond_wait(&k->work, &k->lock);
			k->writer_waits = false;
			continue;
		}
		k->queue = b->next;
		if (!k->queue)
			k->queue_tail = &k->queue;
		k->queued--;
		pthread_mutex_unlock(&k->lock);
		if (!err)	/* after a failure the rest is only let go */
			err = write_batch(k, b);
		pthread_mutex_lock(&k->lock);
		if (err && !k->err)
			k->err = err;
		if (b->owned) {
			free(b);
		} else {
			b->next = k->free;
			k->free = b;
			k->nfree++;
		}
		/* the reader goes on once half the lag is written: not a wakeup per batch */
		if (k->reader_waits && (k->nfree >= SQ_LAG / 2 || !k->queue))
			pthread_cond_signal(&k->room);
	}
	pthread_mutex_unlock(&k->lock);
	return NULL;
}

/* Queues B for the writer. The writer's failure, if any. */
static int hand_over(struct sqlite_sink *k, struct sq_batch *b)
{
	int err;

	b->next = NULL;
	pthread_mutex_lock(&k->lock);
	*k->queue_tail = b;
	k->queue_tail = &b->next;
	k->queued++;
	if (k->writer_waits && k->queued >= SQ_WAKE)
		pthread_cond_signal(&k->work);
	err = k->err;
	pthread_mutex_unlock(&k->lock);
	return err;
}

/* An empty batch for table T, once the writer has one to give back. */
static struct sq_batch *take_free(struct sqlite_sink *k, enum sql_table_id t)
{
	struct sq_batch *b;

	pthread_mutex_lock(&k->lock);
	while (!k->free) {
		k->reader_waits = true;
		if (k->writer_waits)	/* fewer than SQ_WAKE queued: write them */
			pthread_cond_signal(&k->work);
		pthread_cond_wait(&k->room, &k->lock);
		k->reader_waits = false;
	}
	b = k->free;
	k->free = b->next;
	k->nfree--;
	pthread_mutex_unlock(&k->lock);
	b->t = t;
	b->n = 0;
	b->text_used = 0;
	return b;
}

/* Stops the writer once it has written what is queued. Its failure, if any. */
static int writer_stop(struct sqlite_sink *k)
{
	if (!k->writing)
		return k->err;
	pthread_mutex_lock(&k->lock);
	k->done = true;
	pthread_cond_signal(&k->work);
	pthread_mutex_unlock(&k->lock);
	pthread_join(k->writer, NULL);
	k->writing = false;
	return k->err;
}

static int writer_start(struct sqlite_sink *k)
{
	unsigned widest = 0, n = SQ_LAG + SQL_NTABLES;
	size_t vals = 0;
	int err;

	for (int t = 0; t < SQL_NTABLES; t++)
		if (sql_tables[t].ncols > widest)
			widest = sql_tables[t].ncols;
	vals = (size_t)SQ_BATCH_ROWS * widest;
	k->pool = calloc(n, sizeof(*k->pool) + vals * sizeof(struct sql_val) + SQ_TEXT_BYTES);
	if (!k->pool)
		return -ENOMEM;
	k->queue_tail = &k->queue;
	for (unsigned i = 0; i < n; i++) {
		struct sq_batch *b = &k->pool[i];

		b->vals = (struct sql_val *)(k->pool + n) + vals * i;
		b->text = (char *)((struct sql_val *)(k->pool + n) + vals * n) +
			  (size_t)SQ_TEXT_BYTES * i;
		b->text_cap = SQ_TEXT_BYTES;
		b->next = k->free;
		k->free = b;
		k->nfree++;
	}
	pthread_mutex_init(&k->lock, NULL);
	pthread_cond_init(&k->work, NULL);
	pthread_cond_init(&k->room, NULL);
	err = -pthread_create(&k->writer, NULL, writer_main, k);
	if (err) {
		ps_err("cannot start the database writer: %s", strerror(-err));
		return err;
	}
	k->writing = true;
	return 0;
}

static int sink_open(struct sqlite_sink *k, const char *tmp_path, const char *path)
{
	char pragmas[256];
	int err;

	k->path = path;
	/* the writer alone uses the connection until it stops: no mutex around every call */
	if (sqlite3_open_v2(tmp_path, &k->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW |
			    SQLITE_OPEN_NOMUTEX, NULL)) {
		ps_err("cannot create '%s': %s", path, k->db ? sqlite3_errmsg(k->db) : "out of memory");
		return -EIO;
	}
	snprintf(pragmas, sizeof(pragmas),
		 "PRAGMA page_size=%d; PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
		 "PRAGMA locking_mode=EXCLUSIVE; PRAGMA cache_size=-%d; PRAGMA user_version=%d; BEGIN",
		 SQLITE_PAGE_BYTES, SQLITE_CACHE_KIB, SQL_SCHEMA_VERSION);
	if (sq_exec(k, pragmas))
		return -EIO;
	err = create_tables(k);
	return err ? err : writer_start(k);
}

/* A batch of its own for a row whose strings (TEXT bytes) fill more than one. */
static struct sq_batch *long_row(enum sql_table_id t, size_t text)
{
	unsigned ncols = sql_tables[t].ncols;
	struct sq_batch *b = calloc(1, sizeof(*b) + ncols * sizeof(struct sql_val) + text);

	if (!b)
		return NULL;
	b->t = t;
	b->owned = true;
	b->vals = (struct sql_val *)(b + 1);
	b->text = (char *)(b->vals + ncols);
	b->text_cap = text;
	return b;
}

/* The reader's side: the row into its table's batch, the batch to the writer when full. */
static int sink_row(void *ctx, enum sql_table_id t, const struct sql_val *v)
{
	struct sqlite_sink *k = ctx;
	unsigned ncols = sql_tables[t].ncols;
	struct sq_batch *b = k->cur[t];
	struct sql_val *row;
	size_t text = 0;
	int err;

	if (sql_tables[t].sqlite_derived && sql_tables[t].sqlite_derived->derived(v))
		return 0;	/* the view has it from another table */
	for (unsigned c = 0; c < ncols; c++)
		if (!v[c].null && v[c].type == SQL_TEXT)
			text += v[c].len;
	if (b && b->text_used + text > b->text_cap) {
		k->cur[t] = NULL;
		err = hand_over(k, b);
		if (err)
			return err;
		b = NULL;
	}
	if (!b) {
		b = text > SQ_TEXT_BYTES ? long_row(t, text) : take_free(k, t);
		if (!b)
			return -ENOMEM;
		if (!b->owned)
			k->cur[t] = b;
	}
	row = b->vals + (size_t)b->n * ncols;
	memcpy(row, v, ncols * sizeof(*v));
	for (unsigned c = 0; c < ncols; c++) {
		if (row[c].null || row[c].type != SQL_TEXT)
			continue;
		row[c].s = memcpy(b->text + b->text_used, row[c].s, row[c].len);
		b->text_used += row[c].len;
	}
	b->n++;
	if (!b->owned && b->n < k->tab[t].rows)
		return 0;
	if (!b->owned)
		k->cur[t] = NULL;
	return hand_over(k, b);
}

/* The last rows, indexes, the source's facts, COMMIT. */
static int sink_commit(struct sqlite_sink *k, const struct sql_source *src)
{
	char sql[512];
	int err = 0;

	for (int t = 0; t < SQL_NTABLES && !err; t++) {
		if (k->cur[t] && k->cur[t]->n)
			err = hand_over(k, k->cur[t]);
		k->cur[t] = NULL;
	}
	err = writer_stop(k) ?: err;
	if (err)
		return err;
	for (int t = 0; t < SQL_NTABLES; t++) {
		for (int i = 0; i < SQL_MAX_INDEXES && sql_tables[t].sqlite_index[i]; i++) {
			snprintf(sql, sizeof(sql), "CREATE INDEX %s_idx%d ON %s (%s)",
				 sql_tables[t].name, i, stored_as(&sql_tables[t]),
				 sql_tables[t].sqlite_index[i]);
			err = sq_exec(k, sql);
			if (err)
				return err;
		}
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
	if (k->writing)
		writer_stop(k);
	if (k->pool) {
		pthread_cond_destroy(&k->room);
		pthread_cond_destroy(&k->work);
		pthread_mutex_destroy(&k->lock);
	}
	for (int t = 0; t < SQL_NTABLES; t++) {
		sqlite3_finalize(k->tab[t].one);
		sqlite3_finalize(k->tab[t].many);
		k->tab[t].one = k->tab[t].many = NULL;
	}
	free(k->pool);
	k->pool = NULL;
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
	struct sql_rows *rows;	/* first: sql_rows__export_record() */
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

	if (!strcmp(c->out_path, "-")) {
		ps_err("a database cannot go to stdout: name it with -o");
		errno = EINVAL;
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->of.fd = -1;
	sink = (struct sql_sink){ sink_row, &e->k };
	e->rows = sql_rows__export_begin(c, &sink, cb);
	err = e->rows ? sql_source__stat(session__path(c->s), &e->src) : errno ? -errno : -ENOMEM;
	if (!err)
		err = out_file__create(&e->of, c->out_path);
	if (!err)
		err = sink_open(&e->k, e->of.tmp, c->out_path);
	if (err)
		goto err_free;
	e->src.header_crc32 = c->fh->header_crc32;
	return e;

err_free:
	sqlite_free(e);
	errno = -err;
	return NULL;
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
	.record = sql_rows__export_record,
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
	if (err && err != -EIO)
		ps_err("cannot build '%s' from '%s': %s", db_path, session_path,
		       err == -ENOSPC ? "disk full" : strerror(-err));
	sqlite_free(e);
out:
	session__free(c.s);
	return err;
}
