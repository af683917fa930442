// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Session file reader. The file is mapped; one chunk at a time is checked
 * and, if compressed, inflated into a buffer of at most PS_CHUNK_MAX_RAW
 * bytes, so memory stays bounded by the chunk size, not the file size.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>
#include "rec_info.h"
#include "trace_reader.h"
#include "util.h"

struct trace_reader {
	char *path;
	const __u8 *map;
	size_t map_len;
	const struct ps_file_header *hdr;
	const char *cmdline;
	const char *targets;
	size_t first_chunk;	/* offset of the first chunk */
	size_t off;		/* offset of the next chunk */
	__u8 *buf;		/* current chunk's records */
	const __u8 *recs;
	size_t recs_len;
	size_t rec_off;
	struct ps_footer footer;
	struct trace_reader_stats stats;
	bool quiet;
};

static void warn(struct trace_reader *r, const char *fmt, unsigned long long off, const char *why)
{
	if (r->quiet)
		return;
	fprintf(stderr, "procscope: %s: ", r->path);
	fprintf(stderr, fmt, off, why);
	fputc('\n', stderr);
}

struct trace_reader *trace_reader__open(const char *path)
{
	const struct ps_file_header *h;
	struct trace_reader *r;
	struct stat st;
	int fd, err;

	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->path = strdup(path);
	r->buf = malloc(PS_CHUNK_MAX_RAW);
	if (!r->path || !r->buf) {
		err = -ENOMEM;
		goto err_free;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		ps_err("cannot open trace '%s': %s", path, strerror(-err));
		goto err_free;
	}
	if (fstat(fd, &st)) {
		err = -errno;
		close(fd);
		ps_err("cannot open trace '%s': %s", path, strerror(-err));
		goto err_free;
	}
	if ((size_t)st.st_size < sizeof(*h)) {
		close(fd);
		err = -EBADMSG;
		ps_err("'%s' is not a procscope trace (too short: %lld bytes)", path,
		       (long long)st.st_size);
		goto err_free;
	}
	r->map_len = st.st_size;
	r->map = mmap(NULL, r->map_len, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (r->map == MAP_FAILED) {
		err = -errno;
		r->map = NULL;
		ps_err("cannot map trace '%s': %s", path, strerror(-err));
		goto err_free;
	}
	h = r->hdr = (const void *)r->map;
	if (memcmp(h->magic, PS_FILE_MAGIC, sizeof(h->magic))) {
		err = -EBADMSG;
		ps_err("'%s' is not a procscope trace (bad magic)", path);
		goto err_free;
	}
	if (h->version > PS_FILE_VERSION) {
		err = -EPROTONOSUPPORT;
		ps_err("'%s' is format version %u, newer than this procscope reads (%u): upgrade procscope",
		       path, h->version, PS_FILE_VERSION);
		goto err_free;
	}
	if (h->version < 1 || h->header_len < sizeof(*h) + 2 || h->header_len > r->map_len ||
	    r->map[h->header_len - 1] != '\0') {
		err = -EBADMSG;
		ps_err("'%s': damaged file header", path);
		goto err_free;
	}
	r->cmdline = (const char *)(h + 1);
	r->targets = r->cmdline + strnlen(r->cmdline, h->header_len - sizeof(*h)) + 1;
	if ((const __u8 *)r->targets >= r->map + h->header_len)
		r->targets = "";
	r->first_chunk = r->off = h->header_len;
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
	if (r->map)
		munmap((void *)r->map, r->map_len);
	free(r->buf);
	free(r->path);
	free(r);
}

const struct ps_file_header *trace_reader__header(const struct trace_reader *r)
{
	return r->hdr;
}

const char *trace_reader__cmdline(const struct trace_reader *r)
{
	return r->cmdline;
}

const char *trace_reader__targets(const struct trace_reader *r)
{
	return r->targets;
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

/* Offset of the next chunk magic after OFF, or map_len. O(n) scan, only after damage. */
static size_t resync(const struct trace_reader *r, size_t off)
{
	__u32 magic = PS_CHUNK_MAGIC;

	for (off++; off + sizeof(struct ps_chunk_header) <= r->map_len; off++)
		if (!memcmp(r->map + off, &magic, sizeof(magic)))
			return off;
	return r->map_len;
}

/* Loads the next good chunk into recs; false at the end of the file. */
static bool load_chunk(struct trace_reader *r)
{
	while (r->off < r->map_len) {
		struct ps_chunk_header chdr, *ch = &chdr;
		size_t at = r->off;
		const __u8 *payload;
		uLongf raw_len;

		if (r->map_len - at < sizeof(*ch)) {
			r->stats.truncated = true;
			warn(r, "truncated at offset %llu (%s): read up to the last whole chunk",
			     at, "partial chunk header");
			r->off = r->map_len;
			return false;
		}
		/* chunks are packed back to back: copy the header out, it may be unaligned */
		memcpy(ch, r->map + at, sizeof(*ch));
		if (ch->magic != PS_CHUNK_MAGIC || ch->raw_len > PS_CHUNK_MAX_RAW) {
			r->stats.bad_chunks++;
			warn(r, "damaged chunk at offset %llu (%s), skipped", at, "bad header");
			r->off = resync(r, at);
			continue;
		}
		if (ch->stored_len > r->map_len - at - sizeof(*ch)) {
			r->stats.truncated = true;
			warn(r, "truncated at offset %llu (%s): read up to the last whole chunk",
			     at, "partial chunk");
			r->off = r->map_len;
			return false;
		}
		payload = r->map + at + sizeof(*ch);
		if (crc32(0, payload, ch->stored_len) != ch->crc32) {
			r->stats.bad_chunks++;
			warn(r, "damaged chunk at offset %llu (%s), skipped", at, "bad checksum");
			r->off = at + sizeof(*ch) + ch->stored_len;
			continue;
		}
		r->off = at + sizeof(*ch) + ch->stored_len;
		if (ch->flags & (PS_CHUNK_ZSTD | PS_CHUNK_ZLIB)) {
			bool ok;

			if (ch->flags & PS_CHUNK_ZSTD) {
				size_t n = ZSTD_decompress(r->buf, PS_CHUNK_MAX_RAW, payload,
							   ch->stored_len);

				ok = !ZSTD_isError(n) && n == ch->raw_len;
				raw_len = n;
			} else {
				raw_len = PS_CHUNK_MAX_RAW;
				ok = uncompress(r->buf, &raw_len, payload, ch->stored_len) == Z_OK &&
				     raw_len == ch->raw_len;
			}
			if (!ok) {
				r->stats.bad_chunks++;
				warn(r, "damaged chunk at offset %llu (%s), skipped", at,
				     "cannot decompress");
				continue;
			}
			payload = r->buf;
		} else {
			/* records are read in place: align them by copying */
			raw_len = ch->stored_len;
			if (raw_len > PS_CHUNK_MAX_RAW) {
				r->stats.bad_chunks++;
				warn(r, "damaged chunk at offset %llu (%s), skipped", at, "too large");
				continue;
			}
			memcpy(r->buf, payload, raw_len);
			payload = r->buf;
		}
		if (ch->flags & PS_CHUNK_FOOTER) {
			if (raw_len >= sizeof(r->footer)) {
				memcpy(&r->footer, payload, sizeof(r->footer));
				r->stats.has_footer = true;
			}
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

const struct ps_hdr *trace_reader__next(struct trace_reader *r)
{
	for (;;) {
		const struct ps_hdr *h;

		if (!r->recs || r->rec_off >= r->recs_len) {
			if (!load_chunk(r))
				return NULL;
		}
		if (r->recs_len - r->rec_off < sizeof(*h))
			goto bad;
		h = (const void *)(r->recs + r->rec_off);
		if (h->size % 8 || h->size > r->recs_len - r->rec_off || h->type >= PS_REC_MAX ||
		    !rec_info__min_size(h->type) || h->size < rec_info__min_size(h->type))
			goto bad;
		r->rec_off += h->size;
		r->stats.records++;
		return h;
bad:
		/* the checksum matched, so this was written wrong: drop the rest of the chunk */
		r->stats.bad_chunks++;
		warn(r, "bad record in chunk ending at offset %llu (%s), rest of chunk skipped",
		     r->off, "invalid size or type");
		r->recs = NULL;
	}
}
