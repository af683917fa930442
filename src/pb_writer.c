// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "pb_writer.h"

enum { WT_VARINT = 0, WT_FIXED64 = 1, WT_LEN = 2 };

void pb_writer__init(struct pb_writer *w)
{
	memset(w, 0, sizeof(*w));
}

void pb_writer__free(struct pb_writer *w)
{
	if (!w)
		return;
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

void pb_writer__reset(struct pb_writer *w)
{
	if (w->depth)
		w->err = w->err ?: -EINVAL;
	w->len = 0;
}

int pb_writer__error(const struct pb_writer *w)
{
	return w->err;
}

size_t pb_varint_size(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/* reserve()'s slow path: after an error, or when the buffer must grow. */
static __attribute__((noinline)) bool grow(struct pb_writer *w, size_t n)
{
	size_t cap;
	uint8_t *b;

	if (w->err)
		return false;
	if (w->len + n <= w->cap)
		return true;
	cap = w->cap ? w->cap : 4096;
	while (cap < w->len + n)
		cap *= 2;
	b = realloc(w->buf, cap);
	if (!b) {
		w->err = -ENOMEM;
		return false;
	}
	w->buf = b;
	w->cap = cap;
	return true;
}

/*
 * Room for N more bytes; false (and err set) when out of memory. Inline:
 * it runs for every field (a fifth of the perfetto export's time as a call).
 */
static inline __attribute__((always_inline)) bool reserve(struct pb_writer *w, size_t n)
{
	if (__builtin_expect(!w->err && w->len + n <= w->cap, 1))
		return true;
	return grow(w, n);
}

static inline __attribute__((always_inline)) void put_varint(struct pb_writer *w, uint64_t v)
{
	uint8_t *p;

	if (!reserve(w, 10))
		return;
	p = w->buf + w->len;
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	w->len = p - w->buf;
}

static void put_tag(struct pb_writer *w, uint32_t field, unsigned wire_type)
{
	put_varint(w, ((uint64_t)field << 3) | wire_type);
}

void pb_writer__varint(struct pb_writer *w, uint32_t field, uint64_t v)
{
	put_tag(w, field, WT_VARINT);
	put_varint(w, v);
}

void pb_writer__fixed64(struct pb_writer *w, uint32_t field, uint64_t v)
{
	put_tag(w, field, WT_FIXED64);
	if (!reserve(w, 8))
		return;
	for (int i = 0; i < 8; i++)	/* little-endian on the wire whatever the host */
		w->buf[w->len++] = (uint8_t)(v >> (8 * i));
}

void pb_writer__double(struct pb_writer *w, uint32_t field, double v)
{
	uint64_t u;

	memcpy(&u, &v, sizeof(u));
	pb_writer__fixed64(w, field, u);
}

void pb_writer__bytes(struct pb_writer *w, uint32_t field, const void *p, size_t n)
{
	put_tag(w, field, WT_LEN);
	put_varint(w, n);
	if (!n || !reserve(w, n))
		return;
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

void pb_writer__string(struct pb_writer *w, uint32_t field, const char *s, size_t max)
{
	pb_writer__bytes(w, field, s, strnlen(s, max));
}

void pb_writer__begin(struct pb_writer *w, uint32_t field)
{
	if (w->depth == PB_MAX_DEPTH) {
		w->err = w->err ?: -EINVAL;
		return;
	}
	put_tag(w, field, WT_LEN);
	if (!reserve(w, 1))
		return;
	/* one length byte for now: most messages are under 128 bytes */
	w->open[w->depth++] = w->len;
	w->buf[w->len++] = 0;
}

void pb_writer__end(struct pb_writer *w)
{
	size_t at, body, n;

	if (w->err)
		return;
	if (!w->depth) {
		w->err = -EINVAL;
		return;
	}
	at = w->open[--w->depth];
	body = w->len - at - 1;
	n = pb_varint_size(body);
	if (n > 1) {
		if (!reserve(w, n - 1))
			return;
		memmove(w->buf + at + n, w->buf + at + 1, body);
		w->len += n - 1;
	}
	for (size_t i = 0; i < n; i++, body >>= 7)
		w->buf[at + i] = (uint8_t)((body & 0x7f) | (i + 1 < n ? 0x80 : 0));
}

int pb_writer__flush(struct pb_writer *w, FILE *f)
{
	if (w->err)
		return w->err;
	if (w->depth)
		return -EINVAL;
	if (w->len && fwrite(w->buf, 1, w->len, f) != w->len)
		return -EIO;
	w->len = 0;
	return 0;
}
