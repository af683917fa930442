// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Session file reader. One chunk at a time is read with pread(2), checked
 * and, if compressed, inflated into a buffer of at most PS_CHUNK_MAX_RAW
 * bytes, so memory stays bounded by the chunk size, not the file size.
 * pread, not mmap: a file cut short under the reader (the recorder itself
 * truncates on a full disk) is a short read and a clear error, not SIGBUS.
 *
 * Every record is checked here, once, before any model sees it (see
 * rec_info__check()): a model may read every field of its type's struct up
 * to hdr.size, which is at least rec_info__min_size() (fields a later
 * format appended are there only where hdr.size covers them).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>
#include "rec_info.h"
#include "trace_reader.h"
#include "util.h"

/* Stored chunk payload, at most: the writer stores compressed only if smaller. */
#define STORED_MAX	(PS_CHUNK_MAX_RAW + (64u << 10))
/* Smallest footer ever written (format 1 to 3, 20 record types). */
#define FOOTER_MIN	344u

/* The footer of formats 1 to 3: per-type arrays of PS_REC_SLOTS_V3. */
struct ps_footer_v3 {
	__u64 end_ns;
	__u64 records_by_type[PS_REC_SLOTS_V3];
	__u64 lost_total;
	__u64 lost_by_type[PS_REC_SLOTS_V3];
	__s32 exit_status;
	__u32 pad;
};

/* Reads a footer of format VERSION from BUF (LEN >= FOOTER_MIN bytes). */
static void read_footer(struct ps_footer *out, const __u8 *buf, size_t len, __u32 version)
{
	struct ps_footer_v3 old;

	memset(out, 0, sizeof(*out));
	if (version >= 4) {
		memcpy(out, buf, len < sizeof(*out) ? len : sizeof(*out));
		return;
	}
	memcpy(&old, buf, sizeof(old));
	out->end_ns = old.end_ns;
	memcpy(out->records_by_type, old.records_by_type, sizeof(old.records_by_type));
	out->lost_total = old.lost_total;
	memcpy(out->lost_by_type, old.lost_by_type, sizeof(old.lost_by_type));
	out->exit_status = old.exit_status;
}
#define RESYNC_BLOCK	(64u << 10)

struct trace_reader {
	char *path;
	int fd;
	__u64 file_len;		/* at open: a recorder may still be appending */
	struct ps_file_header hdr;
	char *strings;		/* header_len - sizeof(hdr) bytes */
	const char *cmdline;
	const char *targets;
	const char *hostname;
	const char *boot_id;
	__u64 first_chunk;	/* offset of the first chunk */
	__u64 off;		/* offset of the next chunk */
	__u8 *stored;		/* current chunk as stored, stored_cap bytes */
	__u8 *buf;		/* current chunk's records, buf_cap bytes */
	size_t stored_cap, buf_cap;
	const __u8 *recs;
	size_t recs_len;
	size_t rec_off;
	__u64 last_ts;		/* latest record time seen, for the unfinished warning */
	struct ps_footer footer;
	struct trace_reader_stats stats;
	bool quiet;
	bool summarized;	/* the end-of-file warnings were printed */
};

/* Worst outcome of any reader in this process, for the verbs' exit status. */
static int exit_status;

static void note_status(int status)
{
	if (status == PS_EXIT_ERROR || (status == PS_EXIT_INCOMPLETE && !exit_status))
		exit_status = status;
}

int trace_reader__exit_status(void)
{
	return exit_status;
}

/* Per-chunk detail of damage: with -v only; the summary at the end says it once. */
static void detail(struct trace_reader *r, const char *what, __u64 off, const char *why)
{
	if (!r->quiet)
		ps_dbg("'%s': %s at offset %llu (%s)", r->path, what, (unsigned long long)off, why);
}

/* Reads exactly LEN bytes at OFF: 0, -errno, or -ENODATA if the file ended first. */
static int read_at(struct trace_reader *r, void *buf, size_t len, __u64 off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(r->fd, (char *)buf + done, len - done, off + done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -ENODATA;
		done += n;
	}
	return 0;
}

static int check_header(struct trace_reader *r)
{
	struct ps_file_header *h = &r->hdr;
	size_t slen;
	int err;

	if (memcmp(h->magic, PS_FILE_MAGIC, sizeof(h->magic))) {
		ps_err("'%s' is not a procscope trace (bad magic)", r->path);
		return -EBADMSG;
	}
	if (h->version > PS_FILE_VERSION) {
		ps_err("'%s' is format version %u, newer than this procscope reads (%u): upgrade procscope",
		       r->path, h->version, PS_FILE_VERSION);
		return -EPROTONOSUPPORT;
	}
	if (h->version < 1 || h->header_len < sizeof(*h) + 2 || h->header_len > r->file_len ||
	    h->header_len > PS_HEADER_MAX_LEN)
		goto damaged;
	slen = h->header_len - sizeof(*h);
	r->strings = malloc(slen);
	if (!r->strings)
		return -ENOMEM;
	err = read_at(r, r->strings, slen, sizeof(*h));
	if (err == -ENODATA)
		goto damaged;
	if (err) {
		ps_err("cannot read '%s': %s", r->path, strerror(-err));
		return err;
	}
	if (h->version >= 3) {
		struct ps_file_header zh = *h;
		uLong crc;

		zh.header_crc32 = 0;
		crc = crc32(0, (const Bytef *)&zh, sizeof(zh));
		crc = crc32(crc, (const Bytef *)r->strings, slen);
		if (crc != h->header_crc32)
			goto damaged;
	}
	if (r->strings[slen - 1] != '\0')
		goto damaged;
	/* strings the writer did not store (older recorders: the last two) read as "" */
	{
		const char **dst[] = { &r->cmdline, &r->targets, &r->hostname, &r->boot_id };
		const char *p = r->strings, *end = r->strings + slen;

		for (size_t i = 0; i < PS_ARRAY_SIZE(dst); i++) {
			*dst[i] = p < end ? p : "";
			if (p < end)
				p += strlen(p) + 1;
		}
	}
	/* fixed-size strings shown to the user: never trust their NUL */
	h->procscope_version[sizeof(h->procscope_version) - 1] = '\0';
	h->kernel_release[sizeof(h->kernel_release) - 1] = '\0';
	return 0;
damaged:
	ps_err("'%s': damaged file header", r->path);
	return -EBADMSG;
}

struct trace_reader *trace_reader__open(const char *path)
{
	struct trace_reader *r;
	struct stat st;
	int err;

	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->fd = -1;
	r->path = strdup(path);
	if (!r->path) {
		err = -ENOMEM;
		goto err_free;
	}
	/* O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below */
	r->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (r->fd < 0) {
		err = -errno;
		ps_err("cannot open trace '%s': %s", path, strerror(-err));
		goto err_free;
	}
	if (fstat(r->fd, &st)) {
		err = -errno;
		ps_err("cannot open trace '%s': %s", path, strerror(-err));
		goto err_free;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -EINVAL;
		ps_err("cannot open trace '%s': not a regular file", path);
		goto err_free;
	}
	r->file_len = st.st_size;
	if (r->file_len < sizeof(r->hdr)) {
		err = -EBADMSG;
		ps_err("'%s' is not a procscope trace (too short: %llu bytes)", path,
		       (unsigned long long)r->file_len);
		goto err_free;
	}
	err = read_at(r, &r->hdr, sizeof(r->hdr), 0);
	if (err) {
		err = err == -ENODATA ? -EBADMSG : err;
		ps_err("cannot read '%s': %s", path,
		       err == -EBADMSG ? "file shrank while reading" : strerror(-err));
		goto err_free;
	}
	err = check_header(r);
	if (err)
		goto err_free;
	r->first_chunk = r->off = r->hdr.header_len;
	return r;

err_free:
	trace_reader__free(r);
	errno = -err;
	return NULL;
}

void trace_reader__free(struct trace_reader *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	free(r->strings);
	free(r->stored);
	free(r->buf);
	free(r->path);
	free(r);
}

const struct ps_file_header *trace_reader__header(const struct trace_reader *r)
{
	return &r->hdr;
}

const char *trace_reader__cmdline(const struct trace_reader *r)
{
	return r->cmdline;
}

const char *trace_reader__targets(const struct trace_reader *r)
{
	return r->targets;
}

const char *trace_reader__hostname(const struct trace_reader *r)
{
	return r->hostname;
}

const char *trace_reader__boot_id(const struct trace_reader *r)
{
	return r->boot_id;
}

const struct ps_footer *trace_reader__footer(const struct trace_reader *r)
{
	return r->stats.has_footer ? &r->footer : NULL;
}

const struct trace_reader_stats *trace_reader__stats(const struct trace_reader *r)
{
	return &r->stats;
}

void trace_reader__set_quiet(struct trace_reader *r, bool quiet)
{
	r->quiet = quiet;
}

void trace_reader__rewind(struct trace_reader *r)
{
	r->off = r->first_chunk;
	r->recs = NULL;
	r->recs_len = r->rec_off = 0;
	memset(&r->stats, 0, sizeof(r->stats));
}

/* The file ended before its size at open: stop reading, say it once. */
static void shrank(struct trace_reader *r, __u64 at)
{
	r->stats.shrank = true;
	if (!r->quiet)
		ps_err("cannot read '%s': file shrank while reading (cut at offset %llu or before by another program?): read up to there",
		       r->path, (unsigned long long)at);
	r->off = r->file_len;
}

static void read_error(struct trace_reader *r, __u64 at, int err)
{
	r->stats.read_error = true;
	if (!r->quiet)
		ps_err("cannot read '%s' at offset %llu: %s", r->path, (unsigned long long)at,
		       strerror(-err));
	r->off = r->file_len;
}

/* Grows *BUF to hold LEN bytes: buffers follow the largest chunk read, not the cap. */
static int reserve(__u8 **buf, size_t *cap, size_t len)
{
	__u8 *b;

	if (len <= *cap)
		return 0;
	b = realloc(*buf, len);
	if (!b)
		return -ENOMEM;
	*buf = b;
	*cap = len;
	return 0;
}

/* Offset of the next chunk magic after OFF, or file_len. O(n) scan, only after damage. */
static __u64 resync(struct trace_reader *r, __u64 off)
{
	const __u32 magic = PS_CHUNK_MAGIC;

	for (off++; off + sizeof(struct ps_chunk_header) <= r->file_len;) {
		size_t n = r->file_len - off < RESYNC_BLOCK ? r->file_len - off : RESYNC_BLOCK;
		__u8 *blk;
		int err;

		/* the stored buffer is free between chunks */
		err = reserve(&r->stored, &r->stored_cap, n);
		blk = r->stored;
		if (!err)
			err = read_at(r, blk, n, off);

		if (err == -ENODATA) {
			shrank(r, off);
			return r->file_len;
		}
		if (err) {
			read_error(r, off, err);
			return r->file_len;
		}
		for (size_t i = 0; i + sizeof(magic) <= n; i++)
			if (!memcmp(blk + i, &magic, sizeof(magic)))
				return off + i;
		/* a magic may straddle two blocks */
		off += n > sizeof(magic) ? n - (sizeof(magic) - 1) : n;
	}
	return r->file_len;
}

static void bad_chunk(struct trace_reader *r, __u64 at, const char *why)
{
	r->stats.bad_chunks++;
	detail(r, "damaged chunk skipped", at, why);
}

/* Loads the next good chunk into recs; false at the end of the file. */
static bool load_chunk(struct trace_reader *r)
{
	while (r->off < r->file_len) {
		struct ps_chunk_header ch;
		__u64 at = r->off;
		const __u8 *payload;
		size_t raw_len;
		int err;

		if (r->file_len - at < sizeof(ch)) {
			r->stats.truncated = true;
			detail(r, "truncated", at, "partial chunk header");
			r->off = r->file_len;
			return false;
		}
		err = read_at(r, &ch, sizeof(ch), at);
		if (err) {
			err == -ENODATA ? shrank(r, at) : read_error(r, at, err);
			return false;
		}
		if (ch.magic != PS_CHUNK_MAGIC || ch.raw_len > PS_CHUNK_MAX_RAW ||
		    ch.stored_len > STORED_MAX) {
			bad_chunk(r, at, "bad header");
			r->off = resync(r, at);
			continue;
		}
		if (ch.stored_len > r->file_len - at - sizeof(ch)) {
			r->stats.truncated = true;
			detail(r, "truncated", at, "partial chunk");
			r->off = r->file_len;
			return false;
		}
		err = reserve(&r->stored, &r->stored_cap, ch.stored_len);
		if (err) {
			read_error(r, at, err);
			return false;
		}
		err = read_at(r, r->stored, ch.stored_len, at + sizeof(ch));
		if (err) {
			err == -ENODATA ? shrank(r, at) : read_error(r, at, err);
			return false;
		}
		r->off = at + sizeof(ch) + ch.stored_len;
		if (crc32(0, r->stored, ch.stored_len) != ch.crc32) {
			bad_chunk(r, at, "bad checksum");
			continue;
		}
		if (ch.flags & (PS_CHUNK_ZSTD | PS_CHUNK_ZLIB)) {
			bool ok;

			/* raw_len is checked against the cap and against what inflates */
			err = reserve(&r->buf, &r->buf_cap, ch.raw_len ? ch.raw_len : 1);
			if (err) {
				read_error(r, at, err);
				return false;
			}

			if (ch.flags & PS_CHUNK_ZSTD) {
				size_t n = ZSTD_decompress(r->buf, ch.raw_len, r->stored,
							   ch.stored_len);

				ok = !ZSTD_isError(n) && n == ch.raw_len;
				raw_len = n;
			} else {
				uLongf n = ch.raw_len;

				ok = uncompress(r->buf, &n, r->stored, ch.stored_len) == Z_OK &&
				     n == ch.raw_len;
				raw_len = n;
			}
			if (!ok) {
				bad_chunk(r, at, "cannot decompress");
				continue;
			}
			payload = r->buf;
		} else {
			raw_len = ch.stored_len;
			if (raw_len > PS_CHUNK_MAX_RAW) {
				bad_chunk(r, at, "too large");
				continue;
			}
			payload = r->stored;
		}
		if (ch.flags & PS_CHUNK_FOOTER) {
			/* a footer from a build with fewer record types is shorter: zero the rest */
			if (raw_len < FOOTER_MIN) {
				bad_chunk(r, at, "short footer");
				continue;
			}
			read_footer(&r->footer, payload, raw_len, r->hdr.version);
			r->stats.has_footer = true;
			continue;
		}
		r->stats.chunks++;
		r->recs = payload;
		r->recs_len = raw_len;
		r->rec_off = 0;
		return true;
	}
	return false;
}

int trace_reader__tail_footer(struct trace_reader *r, struct ps_footer *out)
{
	struct trace_reader_stats stats = r->stats;
	struct ps_chunk_header ch;
	bool quiet = r->quiet;
	__u8 tail[4096];	/* the footer chunk: < 1 KiB (header, ~60 counters) */
	__u64 start;
	size_t n, i;
	int err = -ENOENT;

	if (r->recs || r->off != r->first_chunk)
		return -EBUSY;
	n = r->file_len - r->first_chunk < sizeof(tail) ? r->file_len - r->first_chunk : sizeof(tail);
	start = r->file_len - n;
	if (n < sizeof(ch) || read_at(r, tail, n, start))
		return -ENOENT;
	/* the last chunk header whose payload ends the file exactly; load_chunk() checks the rest */
	for (i = n - sizeof(ch) + 1; i-- > 0;) {
		memcpy(&ch, tail + i, sizeof(ch));
		if (ch.magic != PS_CHUNK_MAGIC || !(ch.flags & PS_CHUNK_FOOTER) ||
		    start + i + sizeof(ch) + ch.stored_len != r->file_len)
			continue;
		r->quiet = true;
		r->off = start + i;
		load_chunk(r);
		if (r->stats.has_footer) {
			*out = r->footer;
			err = 0;
		}
		break;
	}
	/* back to the start, as if nothing was read */
	r->quiet = quiet;
	r->stats = stats;
	r->off = r->first_chunk;
	r->recs = NULL;
	return err;
}

/* The warnings every verb prints once about a session it could not read whole. */
static void summarize(struct trace_reader *r)
{
	const struct trace_reader_stats *st = &r->stats;

	if (r->summarized)
		return;
	r->summarized = true;
	if (st->shrank || st->read_error) {
		note_status(PS_EXIT_ERROR);
		return;		/* said when it happened */
	}
	if (st->bad_chunks || st->bad_records) {
		ps_err("warning: '%s' is damaged: skipped %llu damaged chunks and %llu bad records, read the rest",
		       r->path, (unsigned long long)st->bad_chunks,
		       (unsigned long long)st->bad_records);
		note_status(PS_EXIT_INCOMPLETE);
	}
	if (!st->has_footer || st->truncated) {
		double t = r->last_ts > r->hdr.start_ns ? (r->last_ts - r->hdr.start_ns) / 1e9 : 0;

		ps_err("warning: '%s' was cut short: recorded up to %.3f s, recorder did not finish",
		       r->path, t);
		note_status(PS_EXIT_INCOMPLETE);
	}
}

const struct ps_hdr *trace_reader__next(struct trace_reader *r)
{
	for (;;) {
		const struct ps_hdr *h;
		const char *why;

		if (!r->recs || r->rec_off >= r->recs_len) {
			if (!load_chunk(r)) {
				if (!r->quiet)
					summarize(r);
				return NULL;
			}
		}
		if (r->recs_len - r->rec_off < sizeof(*h))
			goto bad_size;
		h = (const void *)(r->recs + r->rec_off);
		if (h->size < sizeof(*h) || h->size % 8 || h->size > r->recs_len - r->rec_off)
			goto bad_size;
		r->rec_off += h->size;
		if (!rec_info__min_size(h->type)) {
			/* a type from a newer build of the same format: step over it */
			r->stats.unknown_records++;
			continue;
		}
		if (rec_info__check(h, &why)) {
			r->stats.bad_records++;
			detail(r, "bad record skipped", r->off, why);
			continue;
		}
		r->stats.records++;
		if (h->ts_ns > r->last_ts)
			r->last_ts = h->ts_ns;
		return h;
bad_size:
		/* the checksum matched, so this was written wrong: drop the rest of the chunk */
		r->stats.bad_chunks++;
		detail(r, "bad record size, rest of chunk skipped; chunk ends", r->off,
		       "invalid size");
		r->recs = NULL;
	}
}
