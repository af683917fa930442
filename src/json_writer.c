// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <math.h>
#include <string.h>
#include "json_writer.h"

/* The longest token written in one piece: "\\u00XX", a number, "false". */
#define JSON_TOKEN_MAX 32

void json_writer__init(struct json_writer *w, FILE *f)
{
	w->f = f;
	w->len = 0;
	w->depth = 0;
	memset(w->nonempty, 0, sizeof(w->nonempty));
	w->after_key = false;
	w->break_depth = 0;
	w->break_next = false;
	w->err = 0;
}

void json_writer__set_line_depth(struct json_writer *w, int depth)
{
	w->break_depth = depth;
}

void json_writer__misuse(struct json_writer *w)
{
	w->err = w->err ?: -EINVAL;
}

void json_writer__flush(struct json_writer *w)
{
	if (w->len && fwrite_unlocked(w->buf, 1, w->len, w->f) != w->len)
		w->err = w->err ?: -EIO;
	w->len = 0;
}

static void put_bytes(struct json_writer *w, const void *p, size_t n)
{
	if (n <= JSON_TOKEN_MAX) {	/* keys, literals: a loop costs less than a call to memcpy */
		const char *s = p;
		char *o = json_writer__reserve(w, n);

		for (size_t i = 0; i < n; i++)
			o[i] = s[i];
		w->len += n;
		return;
	}
	if (w->len + n > sizeof(w->buf)) {
		json_writer__flush(w);
		if (n > sizeof(w->buf) / 2) {	/* big: straight through */
			if (fwrite_unlocked(p, 1, n, w->f) != n)
				w->err = w->err ?: -EIO;
			return;
		}
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

/* The outermost value is complete: hand it over, so the caller may write after it. */
static inline __attribute__((always_inline)) void value_done(struct json_writer *w)
{
	if (!w->depth)
		json_writer__flush(w);
}

static void open_container(struct json_writer *w, char c)
{
	json_writer__before_value(w);
	if (w->depth == JSON_MAX_DEPTH) {
		w->err = w->err ?: -EINVAL;
		return;
	}
	w->nonempty[w->depth++] = false;
	json_writer__put_char(w, c);
}

static void close_container(struct json_writer *w, char c)
{
	if (!w->depth || w->after_key) {
		w->err = w->err ?: -EINVAL;
		return;
	}
	if (w->nonempty[w->depth - 1] && w->depth == w->break_depth)
		json_writer__put_char(w, '\n');
	w->depth--;
	json_writer__put_char(w, c);
	value_done(w);
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

/* Bytes written as they are: printable ASCII but '"' (0x22) and '\\' (0x5c). */
static const bool plain[256] = {
	[0x20 ... 0x21] = true, [0x23 ... 0x5b] = true, [0x5d ... 0x7f] = true,
};

static void put_string(struct json_writer *w, const char *str, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, len;
	char *o;

	json_writer__put_char(w, '"');
	while (i < n && s[i]) {
		unsigned char c = s[i];

		if (plain[c]) {
			/* a run of plain ASCII: scanned and copied in one pass, as far as the buffer goes */
			size_t k = 0, lim;

			o = json_writer__reserve(w, JSON_TOKEN_MAX);
			lim = sizeof(w->buf) - w->len;
			if (n - i < lim)
				lim = n - i;
			s += i;
			while (k < lim && plain[s[k]]) {
				o[k] = s[k];
				k++;
			}
			s -= i;
			i += k;
			w->len += k;
		} else if (c == '"' || c == '\\') {
			o = json_writer__reserve(w, 2);
			o[0] = '\\';
			o[1] = c;
			w->len += 2;
			i++;
		} else if (c < 0x20) {
			o = json_writer__reserve(w, 6);
			memcpy(o, "\\u00", 4);
			o[4] = hex[c >> 4];
			o[5] = hex[c & 0xf];
			w->len += 6;
			i++;
		} else if ((len = utf8_len(s + i, n - i))) {
			put_bytes(w, s + i, len);
			i += len;
		} else {
			put_bytes(w, "\\ufffd", 6);
			i++;
		}
	}
	json_writer__put_char(w, '"');
}

void json_writer__key(struct json_writer *w, const char *key)
{
	if (!w->depth || w->after_key) {
		w->err = w->err ?: -EINVAL;
		return;
	}
	json_writer__before_value(w);
	{
		/* most keys are short plain ASCII: copied with the quotes and colon in one go */
		const unsigned char *k = (const unsigned char *)key;
		char *o = json_writer__reserve(w, JSON_TOKEN_MAX);
		size_t n = 0;

		while (n < JSON_TOKEN_MAX - 3 && plain[k[n]]) {
			o[n + 1] = k[n];
			n++;
		}
		if (!k[n]) {
			o[0] = '"';
			o[n + 1] = '"';
			o[n + 2] = ':';
			w->len += n + 3;
			w->after_key = true;
			return;
		}
	}
	put_string(w, key, SIZE_MAX);
	json_writer__put_char(w, ':');
	w->after_key = true;
}

void json_writer__break(struct json_writer *w)
{
	w->break_next = true;
}

void json_writer__raw_value(struct json_writer *w, const char *text, size_t n)
{
	json_writer__before_value(w);
	put_bytes(w, text, n);
	value_done(w);
}

size_t json_writer__quote(char *buf, size_t len, const char *s, size_t max)
{
	/* on the stack, never flushed: 1 KiB escapes to at most 6 KiB + 2 of its 16 KiB */
	struct json_writer tmp;

	json_writer__init(&tmp, NULL);
	put_string(&tmp, s, max < JSON_QUOTE_MAX ? max : JSON_QUOTE_MAX);
	if (tmp.len > len)
		return 0;
	memcpy(buf, tmp.buf, tmp.len);
	return tmp.len;
}

void json_writer__string_n(struct json_writer *w, const char *s, size_t max)
{
	json_writer__before_value(w);
	put_string(w, s, max);
	value_done(w);
}

void json_writer__string(struct json_writer *w, const char *s)
{
	json_writer__string_n(w, s, SIZE_MAX);
}

/*
 * V in decimal, at least MIN_DIGITS digits (zero-padded), written back to
 * front ending at END; returns where it starts. At most 20 digits.
 */
static char *format_u64(char *end, uint64_t v, unsigned min_digits)
{
	static const char pairs[] =
		"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
		"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
		"8081828384858687888990919293949596979899";
	char *p = end, *stop = end - min_digits;

	while (v >= 100) {
		unsigned r = v % 100;

		v /= 100;
		p -= 2;
		memcpy(p, pairs + 2 * r, 2);
	}
	if (v >= 10) {
		p -= 2;
		memcpy(p, pairs + 2 * v, 2);
	} else {
		*--p = '0' + v;
	}
	while (p > stop)
		*--p = '0';
	return p;
}

/* Decimal digits of V; 0 for 0 (callers ask for at least one digit). */
static inline unsigned dec_digits(uint64_t v)
{
	static const uint64_t pow10[20] = {
		1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull,
		100000000ull, 1000000000ull, 10000000000ull, 100000000000ull, 1000000000000ull,
		10000000000000ull, 100000000000000ull, 1000000000000000ull, 10000000000000000ull,
		100000000000000000ull, 1000000000000000000ull, 10000000000000000000ull,
	};
	/* log10(2) ~ 1233/4096: the estimate from the bit length is exact or one short */
	unsigned n = ((64 - __builtin_clzll(v | 1)) * 1233) >> 12;

	return n + (n < 20 && v >= pow10[n]);
}

/*
 * An optional '-' and MAG in decimal; with DIGITS, its last DIGITS digits
 * after a '.' (MAG 1234567, DIGITS 3: 1234.567; MAG 5: 0.005). Formatted in
 * place in the buffer, the fraction moved one byte right for the point: no
 * division by a power of ten, no copy.
 */
static void put_number(struct json_writer *w, bool neg, uint64_t mag, unsigned digits)
{
	char *o = json_writer__reserve(w, JSON_TOKEN_MAX), *p = o + neg;
	unsigned len = dec_digits(mag);

	if (len < digits + 1)
		len = digits + 1;
	if (neg)
		*o = '-';
	format_u64(p + len, mag, digits + 1);
	if (digits) {
		for (unsigned i = len; i > len - digits; i--)
			p[i] = p[i - 1];
		p[len - digits] = '.';
		len++;
	}
	w->len += neg + len;
}

void json_writer__uint(struct json_writer *w, uint64_t v)
{
	json_writer__before_value(w);
	put_number(w, false, v, 0);
	value_done(w);
}

void json_writer__hex(struct json_writer *w, uint64_t v)
{
	static const char hex[] = "0123456789abcdef";
	unsigned n = v ? (67 - __builtin_clzll(v)) / 4 : 1;	/* hex digits */
	char *o;

	json_writer__before_value(w);
	o = json_writer__reserve(w, JSON_TOKEN_MAX);
	o[0] = '"';
	o[1] = '0';
	o[2] = 'x';
	for (unsigned i = n; i--; v >>= 4)
		o[3 + i] = hex[v & 0xf];
	o[3 + n] = '"';
	w->len += n + 4;
	value_done(w);
}

void json_writer__int(struct json_writer *w, int64_t v)
{
	json_writer__before_value(w);
	/* magnitude in unsigned arithmetic: -INT64_MIN does not fit an int64 */
	put_number(w, v < 0, v < 0 ? -(uint64_t)v : (uint64_t)v, 0);
	value_done(w);
}

void json_writer__bool(struct json_writer *w, bool v)
{
	json_writer__before_value(w);
	if (v)
		put_bytes(w, "true", 4);
	else
		put_bytes(w, "false", 5);
	value_done(w);
}

void json_writer__null(struct json_writer *w)
{
	json_writer__before_value(w);
	put_bytes(w, "null", 4);
	value_done(w);
}

void json_writer__double(struct json_writer *w, double v)
{
	char tmp[JSON_TOKEN_MAX];
	int n;

	if (!isfinite(v)) {
		json_writer__null(w);
		return;
	}
	json_writer__before_value(w);
	/* 17 significant digits read back as the same double (at most 24 characters) */
	n = snprintf(tmp, sizeof(tmp), "%.17g", v);
	put_bytes(w, tmp, n > 0 && (size_t)n < sizeof(tmp) ? (size_t)n : 0);
	value_done(w);
}

void json_writer__fixed(struct json_writer *w, int64_t v, unsigned digits)
{
	if (digits > 9) {
		w->err = w->err ?: -EINVAL;
		digits = 9;
	}
	json_writer__before_value(w);
	put_number(w, v < 0, v < 0 ? -(uint64_t)v : (uint64_t)v, digits);
	value_done(w);
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
