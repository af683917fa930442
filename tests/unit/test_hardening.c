// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Hardening: the reader's record checks (unterminated strings, short
 * records, unknown types), the format 3 header checksum (and format 2
 * headers without one), safe output files, and the command-line number
 * parsers at their limits.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check.h"
#include "out_file.h"
#include "rec_info.h"
#include "trace_reader.h"
#include "trace_writer.h"
#include "util.h"

static char dir[] = "/tmp/procscope-hardening-XXXXXX";

static void hdr(struct ps_hdr *h, unsigned type, unsigned size)
{
	memset(h, 0, size);
	h->type = type;
	h->size = size;
	h->ts_ns = 5000;
	h->tgid = h->tid = 77;
}

/* Good records interleaved with hostile ones; returns 0 or -errno. */
static int write_hostile(const char *path)
{
	struct ps_file_header fh = { .page_size = 4096, .ncpus = 1, .start_ns = 1000 };
	struct ps_footer footer = { .exit_status = -1 };
	union {
		struct ps_snap_map m;
		struct ps_exit e;
		struct ps_brk b;
		char raw[512];
	} u;
	struct trace_writer *w = trace_writer__open(path, &fh, "cmd", "targets", NULL, NULL);
	int err = 0;

	if (!w)
		return -errno;
	/* good: a brk */
	hdr(&u.b.h, PS_REC_BRK, sizeof(u.b));
	err = err ?: trace_writer__add(w, &u.b.h);
	/* bad: a snapshot map whose path fills the record without a NUL */
	hdr(&u.m.h, PS_REC_SNAP_MAP, sizeof(u.m) + 24);
	memcpy(u.m.perms, "r-xp", 5);
	memset(u.m.path, 'A', 24);
	err = err ?: trace_writer__add(w, &u.m.h);
	/* good: a snapshot map with its NUL */
	u.m.path[23] = '\0';
	err = err ?: trace_writer__add(w, &u.m.h);
	/* bad: an exit whose comm has no NUL */
	hdr(&u.e.h, PS_REC_EXIT, rec_info__min_size(PS_REC_EXIT));
	memset(u.e.comm, 'c', sizeof(u.e.comm));
	err = err ?: trace_writer__add(w, &u.e.h);
	/* bad: an mmap record the size of a brk */
	hdr(&u.b.h, PS_REC_MMAP, sizeof(u.b));
	err = err ?: trace_writer__add(w, &u.b.h);
	/* unknown type (0): stepped over, not an error */
	hdr(&u.b.h, PS_REC_NONE, 32);
	err = err ?: trace_writer__add(w, &u.b.h);
	/* good: a brk after all that */
	hdr(&u.b.h, PS_REC_BRK, sizeof(u.b));
	u.b.req = 0xb00;
	err = err ?: trace_writer__add(w, &u.b.h);
	err = err ?: trace_writer__finish(w, &footer);
	trace_writer__free(w);
	return err;
}

static void test_record_checks(const char *path)
{
	const struct trace_reader_stats *st;
	struct trace_reader *r;
	const struct ps_hdr *h;
	int types[8], n = 0;

	CHECK_EQ(write_hostile(path), 0);
	r = trace_reader__open(path);
	CHECK(r != NULL);
	if (!r)
		return;
	trace_reader__set_quiet(r, true);
	while ((h = trace_reader__next(r)) && n < 8) {
		CHECK(h->size >= rec_info__min_size(h->type));
		types[n++] = h->type;
		if (h->type == PS_REC_SNAP_MAP)
			CHECK(!strcmp(((const struct ps_snap_map *)h)->path, "AAAAAAAAAAAAAAAAAAAAAAA"));
		if (h->type == PS_REC_BRK && n == 3)
			CHECK_EQ(((const struct ps_brk *)h)->req, 0xb00);
	}
	CHECK_EQ(n, 3);
	CHECK_EQ(types[0], PS_REC_BRK);
	CHECK_EQ(types[1], PS_REC_SNAP_MAP);
	CHECK_EQ(types[2], PS_REC_BRK);
	st = trace_reader__stats(r);
	CHECK_EQ(st->bad_records, 3);
	CHECK_EQ(st->unknown_records, 1);
	CHECK_EQ(st->bad_chunks, 0);
	CHECK(st->has_footer);
	trace_reader__free(r);
}

static void patch(const char *path, off_t off, const void *p, size_t len)
{
	int fd = open(path, O_WRONLY);

	CHECK(fd >= 0 && pwrite(fd, p, len, off) == (ssize_t)len);
	close(fd);
}

static void test_header_checksum(const char *path)
{
	struct ps_file_header h;
	struct trace_reader *r;
	int fd;

	CHECK_EQ(write_hostile(path), 0);
	fd = open(path, O_RDONLY);
	CHECK(fd >= 0 && pread(fd, &h, sizeof(h), 0) == sizeof(h));
	close(fd);
	CHECK_EQ(h.version, PS_FILE_VERSION);
	CHECK(h.header_crc32 != 0);
	/* one flipped bit in the kernel release, then in the command line */
	h.kernel_release[3] ^= 1;
	patch(path, 0, &h, sizeof(h));
	CHECK(trace_reader__open(path) == NULL && errno == EBADMSG);
	h.kernel_release[3] ^= 1;
	patch(path, 0, &h, sizeof(h));
	r = trace_reader__open(path);
	CHECK(r != NULL);
	trace_reader__free(r);
	patch(path, sizeof(h), "x", 1);
	CHECK(trace_reader__open(path) == NULL && errno == EBADMSG);
	patch(path, sizeof(h), "c", 1);
	/* a format 2 header has no checksum: its field is 0 and not checked */
	h.version = 2;
	h.header_crc32 = 0;
	patch(path, 0, &h, sizeof(h));
	r = trace_reader__open(path);
	CHECK(r != NULL);
	trace_reader__free(r);
}

static int count_tmp(void)
{
	char cmd[128];
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls -A %s | grep -c '\\.tmp$'", dir);
	p = popen(cmd, "r");
	if (p && fscanf(p, "%d", &n) != 1)
		n = -1;
	if (p)
		pclose(p);
	return n;
}

static void test_out_file(void)
{
	char path[256], link[256], sub[256], old[300];
	struct out_file o;
	struct stat st;
	FILE *f;

	snprintf(path, sizeof(path), "%s/out.txt", dir);
	snprintf(link, sizeof(link), "%s/link", dir);
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	snprintf(old, sizeof(old), "%s.old", path);

	/* published: in place, 0600 whatever the umask, nothing temporary left */
	umask(0);
	CHECK_EQ(out_file__create(&o, path), 0);
	f = out_file__stream(&o);
	CHECK(f && fputs("one\n", f) >= 0);
	CHECK(stat(path, &st) && errno == ENOENT);	/* not there until published */
	CHECK_EQ(out_file__publish(&o, false), 0);
	out_file__close(&o);
	umask(022);
	CHECK(!stat(path, &st) && (st.st_mode & 0777) == 0600 && st.st_size == 4);
	CHECK_EQ(count_tmp(), 0);

	/* not published: the output stays as it was, the temporary file goes */
	CHECK_EQ(out_file__create(&o, path), 0);
	CHECK(write(o.fd, "two two\n", 8) == 8);
	out_file__close(&o);
	CHECK(!stat(path, &st) && st.st_size == 4);
	CHECK_EQ(count_tmp(), 0);

	/* keep_old: the previous file becomes .old */
	CHECK_EQ(out_file__create(&o, path), 0);
	CHECK(write(o.fd, "three\n", 6) == 6);
	CHECK_EQ(out_file__publish(&o, true), 0);
	out_file__close(&o);
	CHECK(!stat(old, &st) && st.st_size == 4);
	CHECK(!stat(path, &st) && st.st_size == 6);

	/* a symlink, even to a regular file, and a directory are refused */
	CHECK(!symlink(path, link));
	CHECK_EQ(out_file__create(&o, link), -EEXIST);
	CHECK(!lstat(link, &st) && S_ISLNK(st.st_mode));
	CHECK(!mkdir(sub, 0700));
	CHECK_EQ(out_file__create(&o, sub), -EEXIST);
	CHECK(!stat(sub, &st) && S_ISDIR(st.st_mode));
	/* a symlink that appears at the path before publishing is refused and left alone */
	unlink(link);
	CHECK_EQ(out_file__create(&o, link), 0);
	CHECK(!symlink(path, link));
	CHECK_EQ(out_file__publish(&o, true), -EEXIST);
	out_file__close(&o);
	CHECK(!lstat(link, &st) && S_ISLNK(st.st_mode));
	CHECK(!stat(path, &st) && st.st_size == 6);
	CHECK_EQ(count_tmp(), 0);
	unlink(link);
	rmdir(sub);
	unlink(old);
	unlink(path);
}

static void test_numbers(void)
{
	uint64_t v;
	long pid;

	CHECK_EQ(ps_parse_time("1.5", &v), 0);
	CHECK_EQ(v, 1500000000ull);
	CHECK_EQ(ps_parse_time("200ms", &v), 0);
	CHECK_EQ(v, 200000000ull);
	CHECK_EQ(ps_parse_time("end", &v), 0);
	CHECK_EQ(v, UINT64_MAX);
	CHECK(ps_parse_time("1e300", &v) < 0);
	CHECK(ps_parse_time("inf", &v) < 0);
	CHECK(ps_parse_time("nan", &v) < 0);
	CHECK(ps_parse_time("-1", &v) < 0);
	CHECK(ps_parse_time("1e19ns", &v) < 0);
	CHECK(ps_parse_seconds("0", &v) < 0);
	CHECK(ps_parse_seconds("end", &v) < 0);
	CHECK(ps_parse_seconds("inf", &v) < 0);
	CHECK_EQ(ps_parse_seconds("0.5", &v), 0);
	CHECK_EQ(ps_parse_pid("4194304", &pid), 0);
	CHECK(ps_parse_pid("4294967297", &pid) < 0);
	CHECK(ps_parse_pid("99999999999", &pid) < 0);
	CHECK(ps_parse_pid("0", &pid) < 0);
	CHECK_EQ(ps_parse_size("64M", &v), 0);
	CHECK_EQ(v, 64ull << 20);
	CHECK_EQ(ps_parse_size("16KiB", &v), 0);
	CHECK_EQ(v, 16ull << 10);
	CHECK_EQ(ps_parse_size("0x40000000000004K", &v), -ERANGE);
	CHECK_EQ(ps_parse_size("99999999999999999999", &v), -ERANGE);
	CHECK_EQ(ps_parse_size("17179869184G", &v), -ERANGE);	/* 2^34 GiB = 2^64 */
	CHECK(ps_parse_size("-1", &v) < 0);
	CHECK(ps_parse_size("1X", &v) < 0);
}

int main(void)
{
	char path[256];

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/h.data", dir);
	test_record_checks(path);
	test_header_checksum(path);
	unlink(path);
	test_out_file();
	test_numbers();
	rmdir(dir);
	return CHECK_DONE();
}
