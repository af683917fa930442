// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>
#include "json_writer.h"

void json_writer__init(struct json_writer *w, FILE *f)
{
	memset(w, 0, sizeof(*w));
	w->f = f;
}

void json_writer__set_line_depth(struct json_writer *w, int depth)
{
	w->break_depth = depth;
}

/* Separator before a value or a key at the current position. */
static void before_value(struct json_writer *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->depth > 0) {
		if (w->nonempty[w->depth - 1])
			fputc_unlocked(',', w->f);
		w->nonempty[w->depth - 1] = true;
		if (w->depth == w->break_depth)
			fputc_unlocked('\n', w->f);
	}
}

static void open_container(struct json_writer *w, char c)
{
	before_value(w);
	if (w->depth == JSON_MAX_DEPTH) {
		w->err = w->err ?: -EINVAL;
		return;
	}
	w->nonempty[w->depth++] = false;
	fputc_unlocked(c, w->f);
}

static void close_container(struct json_writer *w, char c)
{
	if (!w->depth || w->after_key) {
		w->err = w->err ?: -EINVAL;
		return;
	}
	if (w->nonempty[w->depth - 1] && w->depth == w->break_depth)
		fputc_unlocked('\n', w->f);
	w->depth--;
	fputc_unlocked(c, w->f);
}

void json_writer__begin_object(struct json_writer *w)
{
	open_container(w, '{');
}

void json_writer__end_object(struct json_writer *w)
{
	close_container(w, '}');
}

void json_writer__begin_array(struct json_writer *w)
{
	open_container(w, '[');
}

void json_writer__end_array(struct json_writer *w)
{
	close_container(w, ']');
}

/* Length of the valid UTF-8 sequence at S (at most N bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		len = 2, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		len = 3, cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates and beyond U+10FFFF are not UTF-8 */
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

static void put_string(struct json_writer *w, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, len;

	fputc_unlocked('"', w->f);
	while (i < n && s[i]) {
		unsigned char c = s[i];

		if (c == '"' || c == '\\') {
			fputc_unlocked('\\', w->f);
			fputc_unlocked(c, w->f);
			i++;
		} else if (c < 0x20) {
			fprintf(w->f, "\\u%04x", c);
			i++;
		} else if (c < 0x80) {
			/* a run of plain ASCII goes out in one write */
			size_t j = i + 1;

			while (j < n && s[j] >= 0x20 && s[j] < 0x80 && s[j] != '"' && s[j] != '\\')
				j++;
			fwrite_unlocked(s + i, 1, j - i, w->f);
			i = j;
		} else if ((len = utf8_len(s + i, n - i))) {
			fwrite_unlocked(s + i, 1, len, w->f);
			i += len;
		} else {
			fputs_unlocked("\\ufffd", w->f);
			i++;
		}
	}
	fputc_unlocked('"', w->f);
}

void json_writer__key(struct json_writer *w, const char *key)
{
	if (!w->depth || w->after_key) {
		w->err = w->err ?: -EINVAL;
		return;
	}
	before_value(w);
	put_string(w, key, SIZE_MAX);
	fputc_unlocked(':', w->f);
	w->after_key = true;
}

void json_writer__string_n(struct json_writer *w, const char *s, size_t max)
{
	before_value(w);
	put_string(w, s, max);
}

void json_writer__string(struct json_writer *w, const char *s)
{
	json_writer__string_n(w, s, SIZE_MAX);
}

void json_writer__uint(struct json_writer *w, uint64_t v)
{
	before_value(w);
	fprintf(w->f, "%" PRIu64, v);
}

void json_writer__int(struct json_writer *w, int64_t v)
{
	before_value(w);
	fprintf(w->f, "%" PRId64, v);
}

void json_writer__bool(struct json_writer *w, bool v)
{
	before_value(w);
	fputs_unlocked(v ? "true" : "false", w->f);
}

void json_writer__null(struct json_writer *w)
{
	before_value(w);
	fputs_unlocked("null", w->f);
}

void json_writer__double(struct json_writer *w, double v)
{
	if (!isfinite(v)) {
		json_writer__null(w);
		return;
	}
	before_value(w);
	/* 17 significant digits read back as the same double */
	fprintf(w->f, "%.17g", v);
}

void json_writer__fixed(struct json_writer *w, int64_t v, unsigned digits)
{
	uint64_t scale = 1, mag;

	if (digits > 9) {
		w->err = w->err ?: -EINVAL;
		digits = 9;
	}
	for (unsigned i = 0; i < digits; i++)
		scale *= 10;
	before_value(w);
	/* magnitude in unsigned arithmetic: -INT64_MIN does not fit an int64 */
	mag = v < 0 ? -(uint64_t)v : (uint64_t)v;
	if (!digits)
		fprintf(w->f, "%s%" PRIu64, v < 0 ? "-" : "", mag);
	else
		fprintf(w->f, "%s%" PRIu64 ".%0*" PRIu64, v < 0 ? "-" : "", mag / scale,
			(int)digits, mag % scale);
}

void json_writer__kv_str(struct json_writer *w, const char *key, const char *s)
{
	json_writer__key(w, key);
	json_writer__string(w, s);
}

void json_writer__kv_uint(struct json_writer *w, const char *key, uint64_t v)
{
	json_writer__key(w, key);
	json_writer__uint(w, v);
}

void json_writer__kv_int(struct json_writer *w, const char *key, int64_t v)
{
	json_writer__key(w, key);
	json_writer__int(w, v);
}

int json_writer__error(const struct json_writer *w)
{
	if (w->err)
		return w->err;
	return ferror(w->f) ? -EIO : 0;
}
