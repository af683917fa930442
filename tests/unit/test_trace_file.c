// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Session file writer/reader: round trip, truncation, corruption, bad headers. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check.h"
#include "trace_reader.h"
#include "trace_writer.h"

#define NREC 200000	/* enough for several chunks */

static char dir[] = "/tmp/procscope-unit-XXXXXX";

static void make_brk(struct ps_brk *r, unsigned i)
{
	memset(r, 0, sizeof(*r));
	r->h.type = PS_REC_BRK;
	r->h.size = sizeof(*r);
	r->h.ts_ns = 1000 + i;
	r->h.tgid = 42;
	r->h.tid = 43 + (i % 3);
	r->req = 0x1000ull * i;
	r->ret = 0x1000ull * i + 7;
}

/* Writes NREC brk records and, every 1000th, a variable-sized snapshot map. */
static int write_file(const char *path, int finish)
{
	struct ps_file_header h = { .page_size = 4096, .ncpus = 2, .start_ns = 1000 };
	struct ps_footer footer = { .exit_status = 3, .lost_total = 5 };
	struct trace_writer *w;
	int err = 0;

	w = trace_writer__open(path, &h, "record -- ./x", "cmd:./x", "host", "boot");
	if (!w)
		return -errno;
	for (unsigned i = 0; i < NREC && !err; i++) {
		struct ps_brk r;

		make_brk(&r, i);
		err = trace_writer__add(w, &r.h);
		if (i % 1000 == 0) {
			union {
				struct ps_snap_map m;
				char b[sizeof(struct ps_snap_map) + 16];
			} u = {};

			u.m.h.type = PS_REC_SNAP_MAP;
			u.m.h.size = sizeof(u);
			u.m.start = i;
			strcpy(u.m.path, "/lib/x.so");
			err = err ?: trace_writer__add(w, &u.m.h);
		}
	}
	if (!err && finish)
		err = trace_writer__finish(w, &footer);
	else if (!err)
		err = trace_writer__flush(w);
	trace_writer__free(w);
	return err;
}

/* Reads back; returns brk records seen, checking each one's contents. */
static long read_back(const char *path, int *bad, int *footer)
{
	struct trace_reader *r = trace_reader__open(path);
	const struct ps_hdr *h;
	long n = 0, maps = 0;

	if (!r)
		return -errno;
	trace_reader__set_quiet(r, true);
	while ((h = trace_reader__next(r))) {
		if (h->type == PS_REC_SNAP_MAP) {
			const struct ps_snap_map *m = (const void *)h;

			CHECK(!strcmp(m->path, "/lib/x.so"));
			maps++;
			continue;
		}
		if (h->type != PS_REC_BRK) {
			CHECK(!"unexpected record type");
			continue;
		}
		{
			const struct ps_brk *b = (const void *)h;
			unsigned i = b->h.ts_ns - 1000;

			CHECK_EQ(b->req, 0x1000ull * i);
			CHECK_EQ(b->ret, 0x1000ull * i + 7);
			CHECK_EQ(b->h.tgid, 42);
		}
		n++;
	}
	*bad = trace_reader__stats(r)->bad_chunks + trace_reader__stats(r)->truncated;
	*footer = trace_reader__footer(r) != NULL;
	if (*footer) {
		CHECK_EQ(trace_reader__footer(r)->records_by_type[PS_REC_BRK], NREC);
		CHECK_EQ(trace_reader__footer(r)->records_by_type[PS_REC_SNAP_MAP], NREC / 1000);
		CHECK_EQ(trace_reader__footer(r)->exit_status, 3);
		CHECK_EQ(trace_reader__footer(r)->lost_total, 5);
		if (!*bad)
			CHECK_EQ(maps, NREC / 1000);
	}
	CHECK(!strcmp(trace_reader__cmdline(r), "record -- ./x"));
	CHECK(!strcmp(trace_reader__targets(r), "cmd:./x"));
	CHECK(!strcmp(trace_reader__hostname(r), "host"));
	CHECK(!strcmp(trace_reader__boot_id(r), "boot"));
	trace_reader__free(r);
	return n;
}

static off_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? -1 : st.st_size;
}

/* Overwrites LEN bytes at OFF with garbage. */
static void scribble(const char *path, off_t off, size_t len)
{
	int fd = open(path, O_WRONLY);
	char junk[64];

	memset(junk, 0xa5, sizeof(junk));
	CHECK(fd >= 0 && pwrite(fd, junk, len < sizeof(junk) ? len : sizeof(junk), off) > 0);
	close(fd);
}

int main(void)
{
	char path[256], old[300];
	int bad, footer;
	long n;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/t.data", dir);
	snprintf(old, sizeof(old), "%s.old", path);

	/* round trip: every record back, footer present, 0600 */
	CHECK_EQ(write_file(path, 1), 0);
	CHECK_EQ(read_back(path, &bad, &footer), NREC);
	CHECK_EQ(bad, 0);
	CHECK_EQ(footer, 1);
	{
		struct stat st;

		CHECK(!stat(path, &st) && (st.st_mode & 0777) == 0600);
	}

	/* a second recording keeps the first as .old */
	CHECK_EQ(write_file(path, 1), 0);
	CHECK(file_size(old) > 0);

	/* truncated inside the last chunk: whole chunks still read, no footer */
	{
		off_t sz = file_size(path);

		CHECK(truncate(path, sz - 100) == 0);
		n = read_back(path, &bad, &footer);
		CHECK(n > 0 && n < NREC);
		CHECK_EQ(footer, 0);
		CHECK(bad > 0);
	}

	/* a damaged chunk in the middle: skipped, the chunks after it read */
	{
		off_t sz;
		long before;

		CHECK_EQ(write_file(path, 1), 0);
		sz = file_size(path);
		scribble(path, sz / 2, 64);
		before = read_back(path, &bad, &footer);
		CHECK(before > NREC / 4 && before < NREC);
		CHECK(bad >= 1);
		CHECK_EQ(footer, 1);
	}

	/* unfinished file (recorder killed): reads everything flushed */
	CHECK_EQ(write_file(path, 0), 0);
	CHECK_EQ(read_back(path, &bad, &footer), NREC);
	CHECK_EQ(footer, 0);

	/* not a procscope file; a newer version */
	{
		int fd = open(path, O_WRONLY | O_TRUNC);
		struct ps_file_header h = {};

		char junk[512];

		memset(junk, 'x', sizeof(junk));
		CHECK(write(fd, junk, sizeof(junk)) == sizeof(junk));
		close(fd);
		CHECK(trace_reader__open(path) == NULL && errno == EBADMSG);
		memcpy(h.magic, PS_FILE_MAGIC, 8);
		h.version = PS_FILE_VERSION + 1;
		h.header_len = sizeof(h) + 2;
		fd = open(path, O_WRONLY | O_TRUNC);
		CHECK(write(fd, &h, sizeof(h)) == sizeof(h) && write(fd, "\0\0", 2) == 2);
		close(fd);
		CHECK(trace_reader__open(path) == NULL && errno == EPROTONOSUPPORT);
		CHECK(trace_reader__open("/nonexistent/x.data") == NULL && errno == ENOENT);
	}

	/* an unwritable output is refused up front */
	CHECK(trace_writer__open("/proc/version/x", &(struct ps_file_header){}, "", "", NULL, NULL) == NULL);

	unlink(path);
	unlink(old);
	rmdir(dir);
	return CHECK_DONE();
}
