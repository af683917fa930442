// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Session file writer: records are buffered into a chunk, which is
 * compressed, checksummed and written with one write(2). A failed write
 * truncates the file back to its last whole chunk, so whatever was written
 * before stays readable.
 *
 * The file is created under a temporary name (out_file.c) and takes its
 * place, the previous file becoming PATH.old, only once its first chunk is
 * written: a run that fails before recording anything (a command that
 * cannot be executed) leaves the previous files as they were.
 *
 * A writer in memory (trace_writer__open_mem) keeps its chunks, compressed,
 * in one growing buffer instead: the flight recorder holds its window as a
 * list of such writers, one per keyframe group, and trace_writer__save()
 * writes any run of them out as one session file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>
#include "out_file.h"
#include "trace_writer.h"
#include "util.h"

struct trace_writer {
	int fd;			/* -1 in memory */
	struct out_file out_file;
	__u8 *mem;		/* in memory: the chunks written, back to back */
	size_t mem_len, mem_cap;
	__u8 *raw;		/* records of the chunk being filled */
	size_t raw_len;
	__u32 nrecords;
	__u8 *out;		/* chunk header + compressed payload */
	ZSTD_CCtx *zctx;	/* reused: a context per chunk would cost more than the chunk */
	size_t out_cap;
	off_t good_off;		/* end of the last whole chunk */
	__u64 counts[PS_REC_MAX];
	int err;		/* sticky: once a write failed, nothing more is written */
	bool no_sync;		/* finish without fsync */
};

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= n;
	}
	return 0;
}

/* The header and its strings; their length in bytes, or -errno. */
static long write_header(int fd, const struct ps_file_header *hdr, const char *cmdline,
			 const char *targets, const char *hostname, const char *boot_id)
{
	const char *strs[] = { cmdline, targets, hostname ? hostname : "", boot_id ? boot_id : "" };
	struct ps_file_header h = *hdr;
	size_t len[4];
	uLong crc;
	int err;

	memcpy(h.magic, PS_FILE_MAGIC, sizeof(h.magic));
	h.version = PS_FILE_VERSION;
	h.header_len = sizeof(h);
	for (size_t i = 0; i < PS_ARRAY_SIZE(strs); i++) {
		len[i] = strlen(strs[i]) + 1;
		h.header_len += len[i];
	}
	h.header_crc32 = 0;
	crc = crc32(0, (const Bytef *)&h, sizeof(h));
	for (size_t i = 0; i < PS_ARRAY_SIZE(strs); i++)
		crc = crc32(crc, (const Bytef *)strs[i], len[i]);
	h.header_crc32 = crc;
	err = write_all(fd, &h, sizeof(h));
	for (size_t i = 0; i < PS_ARRAY_SIZE(strs) && !err; i++)
		err = write_all(fd, strs[i], len[i]);
	return err ? err : (long)h.header_len;
}

static struct trace_writer *writer_new(void)
{
	struct trace_writer *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->fd = -1;
	w->out_file.fd = -1;
	w->raw = malloc(PS_CHUNK_MAX_RAW);
	w->out_cap = sizeof(struct ps_chunk_header) + ZSTD_compressBound(PS_CHUNK_MAX_RAW);
	w->out = malloc(w->out_cap);
	w->zctx = ZSTD_createCCtx();
	if (!w->raw || !w->out || !w->zctx) {
		trace_writer__free(w);
		errno = ENOMEM;
		return NULL;
	}
	return w;
}

struct trace_writer *trace_writer__open(const char *path, const struct ps_file_header *hdr,
					const char *cmdline, const char *targets,
					const char *hostname, const char *boot_id)
{
	struct trace_writer *w = writer_new();
	long len;
	int err;

	if (!w)
		return NULL;
	err = out_file__create(&w->out_file, path);
	if (err)
		goto err_free;
	w->fd = w->out_file.fd;
	len = write_header(w->fd, hdr, cmdline, targets, hostname, boot_id);
	if (len < 0) {
		err = len;
		ps_err("cannot write '%s': %s", path, err == -ENOSPC ? "disk full" : strerror(-err));
		goto err_free;
	}
	w->good_off = len;
	return w;

err_free:
	trace_writer__free(w);
	errno = -err;
	return NULL;
}

/* In memory: keeps a chunk. The buffer grows by half, so it holds at most 1.5x its chunks. */
static int mem_append(struct trace_writer *w, const void *chunk, size_t len)
{
	if (w->mem_len + len > w->mem_cap) {
		size_t cap = w->mem_cap + w->mem_cap / 2;
		__u8 *p;

		if (cap < w->mem_len + len)
			cap = w->mem_len + len;
		p = realloc(w->mem, cap);
		if (!p) {
			w->err = -ENOMEM;
			return w->err;
		}
		w->mem = p;
		w->mem_cap = cap;
	}
	memcpy(w->mem + w->mem_len, chunk, len);
	w->mem_len += len;
	w->good_off += len;
	return 0;
}

static int write_chunk(struct trace_writer *w, __u32 flags, const void *payload,
		       size_t len, __u32 nrecords)
{
	struct ps_chunk_header *ch = (void *)w->out;
	size_t clen;
	int err;

	if (w->err)
		return w->err;
	ch->magic = PS_CHUNK_MAGIC;
	ch->flags = flags;
	ch->raw_len = len;
	ch->nrecords = nrecords;
	/*
	 * zstd level 1: ~5x smaller records at ~4x zlib-1's speed; the
	 * recorder shares the CPUs with what it traces, so speed wins over ratio.
	 */
	clen = len > 256 ? ZSTD_compressCCtx(w->zctx, w->out + sizeof(*ch), w->out_cap - sizeof(*ch),
					     payload, len, 1) : 0;
	if (clen && !ZSTD_isError(clen) && clen < len) {
		ch->flags |= PS_CHUNK_ZSTD;
	} else {
		memcpy(w->out + sizeof(*ch), payload, len);
		clen = len;
	}
	ch->stored_len = clen;
	ch->crc32 = crc32(0, w->out + sizeof(*ch), clen);
	if (w->fd < 0)
		return mem_append(w, w->out, sizeof(*ch) + clen);
	err = write_all(w->fd, w->out, sizeof(*ch) + clen);
	if (err) {
		/* drop the partial chunk so the file ends on a whole one */
		if (ftruncate(w->fd, w->good_off))
			ps_dbg("cannot truncate after failed write: %s", strerror(errno));
		w->err = err;
		return err;
	}
	w->good_off += sizeof(*ch) + clen;
	if (!w->out_file.published) {
		err = out_file__publish(&w->out_file, true);
		if (err)
			w->err = err;
	}
	return err;
}

int trace_writer__flush(struct trace_writer *w)
{
	int err;

	if (!w->nrecords)
		return w->err;
	err = write_chunk(w, 0, w->raw, w->raw_len, w->nrecords);
	if (err)
		return err;
	w->raw_len = 0;
	w->nrecords = 0;
	return 0;
}

int trace_writer__add(struct trace_writer *w, const struct ps_hdr *rec)
{
	int err;

	if (rec->size < sizeof(*rec) || rec->size % 8 || rec->type >= PS_REC_MAX)
		return -EINVAL;
	if (w->raw_len + rec->size > PS_CHUNK_MAX_RAW) {
		err = trace_writer__flush(w);
		if (err)
			return err;
	}
	memcpy(w->raw + w->raw_len, rec, rec->size);
	w->raw_len += rec->size;
	w->nrecords++;
	w->counts[rec->type]++;
	return 0;
}

int trace_writer__finish(struct trace_writer *w, struct ps_footer *footer)
{
	int err = trace_writer__flush(w);

	if (err)
		return err;
	memcpy(footer->records_by_type, w->counts, sizeof(w->counts));
	err = write_chunk(w, PS_CHUNK_FOOTER, footer, sizeof(*footer), 0);
	if (err)
		return err;
	if (!w->no_sync && fsync(w->fd) && errno != EINVAL)
		return -errno;
	return 0;
}

void trace_writer__no_sync(struct trace_writer *w)
{
	w->no_sync = true;
}

bool trace_writer__in_place(const struct trace_writer *w)
{
	return w->out_file.published;
}

const __u64 *trace_writer__counts(const struct trace_writer *w)
{
	return w->counts;
}

__u64 trace_writer__bytes(const struct trace_writer *w)
{
	return w->good_off;
}

size_t trace_writer__raw_bytes(const struct trace_writer *w)
{
	return w->raw_len;
}

struct trace_writer *trace_writer__open_mem(void)
{
	return writer_new();
}

int trace_writer__seal(struct trace_writer *w)
{
	int err = trace_writer__flush(w);

	if (err)
		return err;
	free(w->raw);
	free(w->out);
	ZSTD_freeCCtx(w->zctx);
	w->raw = w->out = NULL;
	w->zctx = NULL;
	w->err = -EROFS;	/* sealed: nothing more goes in */
	return 0;
}

int trace_writer__save(const char *path, const struct ps_file_header *hdr, const char *cmdline,
		       const char *targets, const char *hostname, const char *boot_id,
		       struct trace_writer *const *groups, size_t n, struct ps_footer *footer)
{
	struct out_file o = { .fd = -1 };
	struct {
		struct ps_chunk_header ch;
		struct ps_footer f;
	} fc = {};
	long len;
	int err;

	memset(footer->records_by_type, 0, sizeof(footer->records_by_type));
	for (size_t i = 0; i < n; i++)
		for (int t = 0; t < PS_REC_MAX; t++)
			footer->records_by_type[t] += groups[i]->counts[t];
	err = out_file__create(&o, path);
	if (err)
		return err;
	len = write_header(o.fd, hdr, cmdline, targets, hostname, boot_id);
	err = len < 0 ? len : 0;
	for (size_t i = 0; i < n && !err; i++)
		err = write_all(o.fd, groups[i]->mem, groups[i]->mem_len);
	if (!err) {
		fc.ch.magic = PS_CHUNK_MAGIC;
		fc.ch.flags = PS_CHUNK_FOOTER;
		fc.ch.stored_len = fc.ch.raw_len = sizeof(fc.f);
		fc.f = *footer;
		fc.ch.crc32 = crc32(0, (const Bytef *)&fc.f, sizeof(fc.f));
		err = write_all(o.fd, &fc, sizeof(fc));
	}
	if (!err && fsync(o.fd) && errno != EINVAL)
		err = -errno;
	if (err)
		ps_err("cannot write '%s': %s", path, err == -ENOSPC ? "disk full" : strerror(-err));
	else
		err = out_file__publish(&o, true);
	out_file__close(&o);
	return err;
}

void trace_writer__free(struct trace_writer *w)
{
	if (!w)
		return;
	/* an unpublished file recorded nothing: only its temporary name goes */
	out_file__close(&w->out_file);
	free(w->mem);
	free(w->raw);
	free(w->out);
	ZSTD_freeCCtx(w->zctx);
	free(w);
}
