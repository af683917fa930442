// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * procscope sql: SQL over a session. The session's tables (sql_schema.h)
 * live in an SQLite database next to it, FILE.db, built on first use
 * (export_sqlite.c) and reused while it still describes FILE: it stores
 * FILE's size, modification time and header checksum and the schema
 * version, and any difference rebuilds it (a new file renamed over the old
 * one, so a reader never sees half a database). Queries run on a read-only
 * connection: nothing a query says can change the cache.
 *
 * Output: an aligned table (widths from the first SQL_WIDTH_ROWS rows, so
 * memory stays bounded whatever the result's size), CSV (RFC 4180), or
 * JSON (an array of objects through json_writer, one row per line).
 */
#include <argp.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <unistd.h>
#include "commands.h"
#include "export_sqlite.h"
#include "json_writer.h"
#include "sql_schema.h"
#include "trace_reader.h"
#include "util.h"

#define SQL_WIDTH_ROWS	1000	/* rows buffered to size the table's columns */
#define SQL_MAX_WIDTH	64	/* a column is never padded wider */
#define SQL_MMAP_BYTES	(1LL << 40)	/* the whole database mapped, up to SQLite's cap */

enum sql_out { OUT_TABLE, OUT_CSV, OUT_JSON };

static struct {
	const char *input;
	const char *query;
	enum sql_out out;
	bool schema;
} env;

enum { OPT_CSV = 0x100, OPT_JSON, OPT_SCHEMA };

static const struct argp_option opts[] = {
	{ "input", 'i', "FILE", 0, "Session file (default ./procscope.data); its database is FILE.db", 0 },
	{ "csv", OPT_CSV, NULL, 0, "CSV with a header row", 0 },
	{ "json", OPT_JSON, NULL, 0, "JSON: an array of objects, one per row", 0 },
	{ "schema", OPT_SCHEMA, NULL, 0, "Print every table and column, then exit", 0 },
	{},
};

static const char doc[] =
	"Run SQL on a session: an SQLite database of its tables, built next to it\n"
	"(FILE.db) on first use and rebuilt when FILE changes.\n"
	"\n"
	"EXAMPLES:\n"
	"  procscope sql \"SELECT utid, SUM(dur) FROM sched_slice GROUP BY utid\"\n"
	"  procscope sql -i run.data --csv \"SELECT * FROM mem_call WHERE call = 'mmap'\"\n"
	"  procscope sql --schema";

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'i':
		env.input = arg;
		break;
	case OPT_CSV:
	case OPT_JSON:
		if (env.out != OUT_TABLE)
			argp_error(state, "--csv and --json exclude each other");
		env.out = key == OPT_CSV ? OUT_CSV : OUT_JSON;
		break;
	case OPT_SCHEMA:
		env.schema = true;
		break;
	case ARGP_KEY_ARG:
		if (env.query)
			argp_error(state, "one query, in quotes (got '%s' too)", arg);
		env.query = arg;
		break;
	case ARGP_KEY_END:
		if (!env.query && !env.schema)
			argp_error(state, "no query: procscope sql \"SELECT ...\" (--schema lists the tables)");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* ---- the cached database ---- */

/* True if DB was built by this schema from the file SRC describes. */
static bool db_fresh(sqlite3 *db, const struct sql_source *src, int *status)
{
	sqlite3_stmt *st = NULL;
	bool fresh = false;

	if (sqlite3_prepare_v2(db, "SELECT size, mtime_ns, header_crc32, status, "
			       "(SELECT user_version FROM pragma_user_version) FROM _procscope_source",
			       -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		fresh = sqlite3_column_int64(st, 0) == src->size &&
			sqlite3_column_int64(st, 1) == src->mtime_ns &&
			(uint32_t)sqlite3_column_int64(st, 2) == src->header_crc32 &&
			sqlite3_column_int(st, 4) == SQL_SCHEMA_VERSION;
		*status = sqlite3_column_int(st, 3);
	}
	sqlite3_finalize(st);
	return fresh;
}

static sqlite3 *open_db(const char *path)
{
	long ncpus = sysconf(_SC_NPROCESSORS_ONLN);
	sqlite3 *db = NULL;
	char pragmas[96];

	/* read-only: a query cannot change the cache; NOFOLLOW: never a symlink's target */
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW, NULL)) {
		sqlite3_close(db);
		return NULL;
	}
	/*
	 * Pages read through a mapping of the file, not copied into a cache
	 * (SQLite caps the size at its SQLITE_MAX_MMAP_SIZE, 2 GiB in Debian's
	 * build); a sort (GROUP BY, ORDER BY without an index) on every CPU.
	 */
	snprintf(pragmas, sizeof(pragmas), "PRAGMA mmap_size=%lld; PRAGMA threads=%ld",
		 SQL_MMAP_BYTES, ncpus > 1 ? ncpus - 1 : 0);
	sqlite3_exec(db, pragmas, NULL, NULL, NULL);	/* a speed-up only: failure is no error */
	return db;
}

/*
 * Opens the database of session INPUT, building it first if it is missing
 * or stale. *STATUS: the reader's verdict on the session (PS_EXIT_*).
 */
static sqlite3 *session_db(const char *input, const char *db_path, int *status)
{
	struct trace_reader *r;
	struct sql_source src;
	sqlite3 *db;
	int err;

	/* the header is checked first: a file that is no session says so here */
	r = trace_reader__open(input);
	if (!r)
		return NULL;
	err = sql_source__stat(input, &src);
	src.header_crc32 = trace_reader__header(r)->header_crc32;
	trace_reader__free(r);
	if (err) {
		ps_err("cannot open trace '%s': %s", input, strerror(-err));
		return NULL;
	}
	db = open_db(db_path);
	if (db && db_fresh(db, &src, status))
		return db;
	sqlite3_close(db);
	ps_dbg("building '%s' from '%s'", db_path, input);
	if (export_sqlite__build(input, db_path))
		return NULL;
	*status = trace_reader__exit_status();
	db = open_db(db_path);
	if (!db)
		ps_err("cannot open '%s' after building it", db_path);
	return db;
}

/* ---- output ---- */

static bool is_number(int type)
{
	return type == SQLITE_INTEGER || type == SQLITE_FLOAT;
}

/* A cell as printed in the table and CSV: SQLite's own text of the value, NULL as NULL. */
static const char *cell(sqlite3_stmt *st, int c, int *len)
{
	const char *s;

	if (sqlite3_column_type(st, c) == SQLITE_NULL) {
		*len = 4;
		return "NULL";
	}
	s = (const char *)sqlite3_column_text(st, c);
	*len = sqlite3_column_bytes(st, c);
	return s ? s : "";
}

struct table_out {
	int ncols;
	int *width;
	char **rows;	/* buffered rows: cells joined by '\0', with their types */
	int **types;
	size_t nrows;
};

static void print_row(FILE *f, const struct table_out *t, char *const *cells, const int *types)
{
	for (int c = 0; c < t->ncols; c++) {
		const char *s = cells[c];
		int w = t->width[c];

		if (is_number(types[c]))
			fprintf(f, "%s%*s", c ? "  " : "", w, s);
		else if (c == t->ncols - 1)
			fprintf(f, "%s%s", c ? "  " : "", s);
		else
			fprintf(f, "%s%-*s", c ? "  " : "", w, s);
	}
	fputc('\n', f);
}

static void flush_table(FILE *f, struct table_out *t, sqlite3_stmt *st)
{
	char *cells[t->ncols];
	int types[t->ncols];

	for (int c = 0; c < t->ncols; c++) {
		fprintf(f, "%s%-*s", c ? "  " : "", c == t->ncols - 1 ? 0 : t->width[c],
			sqlite3_column_name(st, c));
	}
	fputc('\n', f);
	for (int c = 0; c < t->ncols; c++) {
		fprintf(f, "%s", c ? "  " : "");
		for (int i = 0; i < t->width[c]; i++)
			fputc('-', f);
	}
	fputc('\n', f);
	for (size_t i = 0; i < t->nrows; i++) {
		char *p = t->rows[i];

		for (int c = 0; c < t->ncols; c++) {
			cells[c] = p;
			p += strlen(p) + 1;
			types[c] = t->types[i][c];
		}
		print_row(f, t, cells, types);
		free(t->rows[i]);
		free(t->types[i]);
	}
	t->nrows = 0;
}

static int buffer_row(struct table_out *t, sqlite3_stmt *st)
{
	size_t total = 0, off = 0;
	char *row;
	int *types, len;

	for (int c = 0; c < t->ncols; c++) {
		cell(st, c, &len);
		total += len + 1;
	}
	row = malloc(total);
	types = malloc(t->ncols * sizeof(*types));
	if (!row || !types) {
		free(row);
		free(types);
		return -ENOMEM;
	}
	for (int c = 0; c < t->ncols; c++) {
		const char *s = cell(st, c, &len);

		/* a NUL or newline inside a value would break the table's lines */
		for (int i = 0; i < len; i++)
			row[off + i] = s[i] == '\0' || s[i] == '\n' ? ' ' : s[i];
		row[off + len] = '\0';
		off += len + 1;
		types[c] = sqlite3_column_type(st, c);
		if (len > t->width[c])
			t->width[c] = len > SQL_MAX_WIDTH ? SQL_MAX_WIDTH : len;
	}
	t->rows[t->nrows] = row;
	t->types[t->nrows++] = types;
	return 0;
}

static void csv_field(FILE *f, const char *s, int len, bool null)
{
	if (null)
		return;	/* NULL: an empty field */
	if (!memchr(s, ',', len) && !memchr(s, '"', len) && !memchr(s, '\n', len) &&
	    !memchr(s, '\r', len)) {
		fwrite(s, 1, len, f);
		return;
	}
	fputc('"', f);
	for (int i = 0; i < len; i++) {
		if (s[i] == '"')
			fputc('"', f);
		fputc(s[i], f);
	}
	fputc('"', f);
}

static void json_cell(struct json_writer *w, sqlite3_stmt *st, int c)
{
	switch (sqlite3_column_type(st, c)) {
	case SQLITE_NULL:
		json_writer__null(w);
		break;
	case SQLITE_INTEGER:
		json_writer__int(w, sqlite3_column_int64(st, c));
		break;
	case SQLITE_FLOAT:
		json_writer__double(w, sqlite3_column_double(st, c));
		break;
	default: {
		const char *s = (const char *)sqlite3_column_text(st, c);

		json_writer__string_n(w, s ? s : "", sqlite3_column_bytes(st, c));
	}
	}
}

/* Runs one prepared statement, printing its rows. 0 or -errno (message printed). */
static int run_stmt(sqlite3 *db, sqlite3_stmt *st, FILE *f)
{
	struct table_out t = { .ncols = sqlite3_column_count(st) };
	int width[t.ncols > 0 ? t.ncols : 1];
	struct json_writer w;
	int rc, err = 0;
	bool header = false;

	t.width = width;
	for (int c = 0; c < t.ncols; c++) {
		int len = strlen(sqlite3_column_name(st, c));

		width[c] = len > SQL_MAX_WIDTH ? SQL_MAX_WIDTH : len;
	}
	if (env.out == OUT_TABLE && t.ncols) {
		t.rows = calloc(SQL_WIDTH_ROWS, sizeof(*t.rows));
		t.types = calloc(SQL_WIDTH_ROWS, sizeof(*t.types));
		if (!t.rows || !t.types) {
			err = -ENOMEM;
			goto out;
		}
	}
	if (env.out == OUT_JSON) {
		json_writer__init(&w, f);
		json_writer__set_line_depth(&w, 1);
		json_writer__begin_array(&w);
	}
	if (env.out == OUT_CSV && t.ncols) {
		for (int c = 0; c < t.ncols; c++) {
			const char *n = sqlite3_column_name(st, c);

			fputs(c ? "," : "", f);
			csv_field(f, n, strlen(n), false);
		}
		fputs("\r\n", f);
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (env.out == OUT_JSON) {
			json_writer__begin_object(&w);
			for (int c = 0; c < t.ncols; c++) {
				json_writer__key(&w, sqlite3_column_name(st, c));
				json_cell(&w, st, c);
			}
			json_writer__end_object(&w);
		} else if (env.out == OUT_CSV) {
			for (int c = 0; c < t.ncols; c++) {
				int len;
				const char *s = cell(st, c, &len);

				fputs(c ? "," : "", f);
				csv_field(f, s, len, sqlite3_column_type(st, c) == SQLITE_NULL);
			}
			fputs("\r\n", f);
		} else if (t.nrows < SQL_WIDTH_ROWS && !header) {
			err = buffer_row(&t, st);
			if (err)
				goto out;
		} else {
			char *cells[t.ncols];
			int types[t.ncols], len;

			if (!header) {
				flush_table(f, &t, st);
				header = true;
			}
			/* past the rows that sized the columns: print as they come */
			for (int c = 0; c < t.ncols; c++) {
				cells[c] = (char *)cell(st, c, &len);
				types[c] = sqlite3_column_type(st, c);
			}
			print_row(f, &t, cells, types);
		}
	}
	if (rc != SQLITE_DONE) {
		/* the error of a running query: SQLite's message, one line */
		ps_err("%s", sqlite3_errmsg(db));
		err = -EINVAL;
		goto out;
	}
	if (env.out == OUT_TABLE && t.ncols && !header)
		flush_table(f, &t, st);
	if (env.out == OUT_JSON) {
		json_writer__end_array(&w);
		fputc('\n', f);
	}
out:
	for (size_t i = 0; i < t.nrows; i++) {
		free(t.rows[i]);
		free(t.types[i]);
	}
	free(t.rows);
	free(t.types);
	return err;
}

/* Runs every statement of SQL in turn. 0 or -errno, the message printed. */
static int run_query(sqlite3 *db, const char *sql)
{
	const char *tail = sql;
	int err = 0;

	while (!err && tail && *tail) {
		sqlite3_stmt *st = NULL;

		if (sqlite3_prepare_v2(db, tail, -1, &st, &tail) != SQLITE_OK) {
			ps_err("%s", sqlite3_errmsg(db));
			return -EINVAL;
		}
		if (!st)
			break;	/* only blanks or comments were left */
		err = run_stmt(db, st, stdout);
		sqlite3_finalize(st);
	}
	if (!err && (fflush(stdout) || ferror(stdout))) {
		ps_err("cannot write the results: %s", strerror(errno));
		err = -EIO;
	}
	return err;
}

int cmd_sql(int argc, char **argv)
{
	static const struct argp argp = { opts, parse_arg, "\"SELECT ...\"", doc, NULL, NULL, NULL };
	char *db_path = NULL;
	int status = 0, err;
	sqlite3 *db;

	memset(&env, 0, sizeof(env));
	env.input = "procscope.data";
	argv[0] = "procscope sql";
	if (argp_parse(&argp, argc, argv, 0, NULL, NULL))
		return PS_EXIT_USAGE;
	if (env.schema) {
		sql_schema__print(stdout);
		return 0;
	}
	if (asprintf(&db_path, "%s.db", env.input) < 0)
		return PS_EXIT_ERROR;
	db = session_db(env.input, db_path, &status);
	free(db_path);
	if (!db)
		return PS_EXIT_ERROR;
	err = run_query(db, env.query);
	sqlite3_close(db);
	if (err)
		return PS_EXIT_ERROR;
	if (status && !trace_reader__exit_status())
		/* the database is the cached one: say again what its build found */
		ps_err("warning: '%s' is damaged or was cut short: results come from its readable part",
		       env.input);
	return status;
}
