// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * export --format clickhouse -o DIR: the tables of sql_schema.h for a
 * fleet's ClickHouse. DIR gets, per table, TABLE.sql (its CREATE TABLE)
 * and TABLE.tsv (its rows, TabSeparated). Every row starts with host and
 * session_id, so the sessions of many hosts load into the same tables and
 * join on (host, session_id, utid) or (host, session_id, upid):
 *
 *	clickhouse-client --multiquery < DIR/TABLE.sql		(each table)
 *	clickhouse-client --query "INSERT INTO TABLE FORMAT TabSeparated" < DIR/TABLE.tsv
 *
 * The DDL is what ClickHouse 18.16 (Debian bookworm's) accepts, and newer
 * releases too: MergeTree() with ORDER BY (no PARTITION BY: a session is
 * small next to a partition), Int64/Float64/String and Nullable(), no
 * LowCardinality (experimental before 19.x). Sort keys lead with host and
 * session_id, then the table's own key (never a Nullable column, which
 * MergeTree refuses in a key).
 *
 * Each file is an out_file (temporary name, renamed once complete); DIR is
 * created 0700 if missing, and refused if it is anything but a directory.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "export.h"
#include "out_file.h"
#include "sql_rows.h"
#include "util.h"

struct ch_export {
	struct sql_rows *rows;	/* first: sql_rows__export_record() */
	struct out_file tsv[SQL_NTABLES];
	struct out_file ddl[SQL_NTABLES];
	FILE *f[SQL_NTABLES];
	const char *dir;
	bool made_dir;		/* this run created DIR: removed again on failure if empty */
	bool published;
	char *prefix;		/* "host\tsession_id\t", escaped */
	size_t prefix_len;
};

/* TabSeparated escaping: backslash, tab, newline, CR and NUL. */
static void tsv_str(FILE *f, const char *s, size_t len)
{
	size_t run = 0;

	for (size_t i = 0; i < len; i++) {
		const char *esc = s[i] == '\\' ? "\\\\" : s[i] == '\t' ? "\\t" : s[i] == '\n' ? "\\n"
				: s[i] == '\r' ? "\\r" : s[i] == '\0' ? "\\0" : NULL;

		if (!esc)
			continue;
		fwrite(s + run, 1, i - run, f);
		fputs(esc, f);
		run = i + 1;
	}
	fwrite(s + run, 1, len - run, f);
}

static int ch_row(void *ctx, enum sql_table_id t, const struct sql_val *v)
{
	struct ch_export *e = ctx;
	FILE *f = e->f[t];

	fwrite(e->prefix, 1, e->prefix_len, f);
	for (unsigned c = 0; c < sql_tables[t].ncols; c++) {
		if (c)
			fputc('\t', f);
		if (v[c].null)
			fputs("\\N", f);
		else if (v[c].type == SQL_INT)
			fprintf(f, "%" PRId64, v[c].i);
		else if (v[c].type == SQL_REAL)
			fprintf(f, "%.17g", v[c].d);
		else
			tsv_str(f, v[c].s, v[c].len);
	}
	return fputc('\n', f) == EOF ? -EIO : 0;
}

static const char *ch_type(const struct sql_column *c)
{
	static const char *const types[][2] = {
		[SQL_INT] = { "Int64", "Nullable(Int64)" },
		[SQL_REAL] = { "Float64", "Nullable(Float64)" },
		[SQL_TEXT] = { "String", "Nullable(String)" },
	};

	return types[c->type][c->nullable];
}

static void write_ddl(FILE *f, const struct sql_table *tb)
{
	fprintf(f, "CREATE TABLE IF NOT EXISTS %s (\n    `host` String,\n    `session_id` String",
		tb->name);
	for (unsigned c = 0; c < tb->ncols; c++)
		fprintf(f, ",\n    `%s` %s", tb->cols[c].name, ch_type(&tb->cols[c]));
	fprintf(f, "\n) ENGINE = MergeTree() ORDER BY (host, session_id, %s);\n", tb->ch_order_by);
}

static int open_file(struct out_file *of, const char *dir, const char *table, const char *ext)
{
	char *path = NULL;
	int err;

	if (asprintf(&path, "%s/%s.%s", dir, table, ext) < 0)
		return -ENOMEM;
	err = out_file__create(of, path);
	free(path);
	if (!err && !out_file__stream(of)) {
		err = -errno;
		ps_err("cannot create '%s': %s", of->path, strerror(errno));
	}
	return err;
}

static int make_dir(struct ch_export *e)
{
	struct stat st;

	if (!mkdir(e->dir, 0700)) {
		e->made_dir = true;
		return 0;
	}
	if (errno != EEXIST) {
		ps_err("cannot create '%s': %s", e->dir, strerror(errno));
		return -errno;
	}
	if (lstat(e->dir, &st) || !S_ISDIR(st.st_mode)) {
		ps_err("cannot write into '%s': not a directory (symbolic links are not followed)",
		       e->dir);
		return -ENOTDIR;
	}
	return 0;
}

static void ch_free(void *st)
{
	struct ch_export *e = st;

	if (!e)
		return;
	sql_rows__free(e->rows);
	for (int t = 0; t < SQL_NTABLES; t++) {
		out_file__close(&e->tsv[t]);
		out_file__close(&e->ddl[t]);
	}
	if (e->made_dir && !e->published)
		rmdir(e->dir);	/* only if empty: nothing of this run is left in it */
	free(e->prefix);
	free(e);
}

static void *ch_begin(struct export_ctx *c, struct session_callbacks *cb)
{
	struct sql_sink sink;
	struct ch_export *e;
	char *host = NULL;
	size_t host_len = 0;
	FILE *hf;
	int err;

	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	for (int t = 0; t < SQL_NTABLES; t++)
		e->tsv[t].fd = e->ddl[t].fd = -1;
	e->dir = c->out_path;
	sink = (struct sql_sink){ ch_row, e };
	e->rows = sql_rows__export_begin(c, &sink, cb);
	if (!e->rows) {
		err = errno ? -errno : -ENOMEM;
		goto err_free;
	}
	/* the two columns every row starts with */
	hf = open_memstream(&host, &host_len);
	if (!hf) {
		err = -ENOMEM;
		goto err_free;
	}
	tsv_str(hf, session__hostname(c->s), strlen(session__hostname(c->s)));
	fputc('\t', hf);
	tsv_str(hf, sql_rows__session_id(e->rows), strlen(sql_rows__session_id(e->rows)));
	fputc('\t', hf);
	if (fclose(hf)) {
		free(host);
		err = -ENOMEM;
		goto err_free;
	}
	e->prefix = host;
	e->prefix_len = host_len;
	err = make_dir(e);
	for (int t = 0; t < SQL_NTABLES && !err; t++) {
		err = open_file(&e->tsv[t], e->dir, sql_tables[t].name, "tsv");
		if (!err)
			err = open_file(&e->ddl[t], e->dir, sql_tables[t].name, "sql");
		if (!err) {
			e->f[t] = e->tsv[t].f;
			write_ddl(e->ddl[t].f, &sql_tables[t]);
		}
	}
	if (err)
		goto err_free;
	return e;

err_free:
	ch_free(e);
	errno = -err;
	return NULL;
}

static int ch_finish(void *st)
{
	struct ch_export *e = st;
	int err = sql_rows__finish(e->rows);

	for (int t = 0; t < SQL_NTABLES && !err; t++) {
		err = out_file__publish(&e->tsv[t], false);
		if (!err)
			err = out_file__publish(&e->ddl[t], false);
	}
	e->published = !err;
	return err;
}

const struct export_format export_clickhouse = {
	.name = "clickhouse",
	.default_output = "procscope-clickhouse",
	.help = "directory of TABLE.sql (ClickHouse DDL) and TABLE.tsv per table",
	.models = SQL_ROWS_MODELS,
	.own_output = true,
	.begin = ch_begin,
	.record = sql_rows__export_record,
	.finish = ch_finish,
	.free = ch_free,
};
