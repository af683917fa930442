/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A streaming JSON writer: values go straight to a FILE, commas and colons
 * are placed for the caller, strings are escaped, numbers are printed
 * exactly (integers, or fixed-point decimals such as ns as microseconds).
 * Every JSON procscope prints goes through it (report --json, layout
 * --json, the chrome and speedscope exports), so all agree on strings:
 *
 * - valid UTF-8 (RFC 3629: shortest form, no surrogates, <= U+10FFFF) is
 *   written through byte for byte, so a thread named "wörk-ß" reads back
 *   as "wörk-ß";
 * - each byte that does not belong to a valid sequence is written as
 *   \ufffd (U+FFFD REPLACEMENT CHARACTER), one per byte, and decoding
 *   resumes at the next byte: "\xff\xfe" becomes "\ufffd\ufffd". Kernel
 *   names (comm, paths) are bytes, not text; this keeps the output valid
 *   JSON and the same on every run, though the original bytes are lost;
 * - '"' and '\\' are backslash-escaped, bytes below 0x20 become \u00XX,
 *   everything else (DEL included) is written raw.
 *
 *	json_writer__init(&w, stdout);
 *	json_writer__begin_object(&w);
 *	json_writer__key(&w, "pid"); json_writer__uint(&w, 42);
 *	json_writer__end_object(&w);
 *
 * Output is built in the writer's own buffer (JSON_BUF_BYTES) and handed to
 * the FILE in blocks: when the buffer fills, when the outermost value is
 * complete, and at json_writer__flush(). A caller that writes to the FILE
 * itself while a value is still open calls json_writer__flush() first.
 * Memory is constant; nesting is limited to JSON_MAX_DEPTH.
 */
#ifndef PROCSCOPE_JSON_WRITER_H
#define PROCSCOPE_JSON_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define JSON_MAX_DEPTH 32
/* stdio's per-call cost was most of a big export's time; 16 KiB is 4 pages per write() */
#define JSON_BUF_BYTES 16384

struct json_writer {
	FILE *f;
	size_t len;			/* bytes in buf not yet handed to f */
	int depth;
	bool nonempty[JSON_MAX_DEPTH];	/* container at each depth has a member already */
	bool after_key;			/* a key was written, its value comes next */
	int break_depth;		/* members of containers at this depth start a line; 0: none */
	bool break_next;		/* json_writer__break(): the next member starts a line */
	int err;			/* -EINVAL on misuse, -EIO when f failed; sticky */
	char buf[JSON_BUF_BYTES];
};

void json_writer__init(struct json_writer *w, FILE *f);
/*
 * Members of containers opened at nesting DEPTH (1 = the outermost value's
 * members, 2 = their members' members) each start on a new line: one event
 * per line for big arrays, so outputs diff well. 0 turns it off.
 */
void json_writer__set_line_depth(struct json_writer *w, int depth);

void json_writer__begin_object(struct json_writer *w);
void json_writer__end_object(struct json_writer *w);
void json_writer__begin_array(struct json_writer *w);
void json_writer__end_array(struct json_writer *w);
void json_writer__key(struct json_writer *w, const char *key);
/*
 * The next member or element starts on a new line, whatever the line
 * depth: for a few breaks by hand in a document otherwise on one line.
 */
void json_writer__break(struct json_writer *w);

/*
 * Keys and values that are string literals of the program's own, printable
 * ASCII without '"', '\\' or control bytes (not checked at run time; the
 * export tests parse every output): quoted at compile time and copied, not
 * scanned, since scanning keys was most of a big export's per-event cost.
 * KEY and S must be literals ("ph"), not pointers: the macros paste quotes
 * around them, so anything else does not compile.
 */
#define json_writer__key_lit(w, key) json_writer__raw_key((w), "\"" key "\":", sizeof(key) + 2)
#define json_writer__str_lit(w, s) json_writer__raw_value((w), "\"" s "\"", sizeof(s) + 1)
#define json_writer__kv_lit(w, key, s) \
	json_writer__raw_member((w), "\"" key "\":\"" s "\"", sizeof(key) + sizeof(s) + 3)
/*
 * For names written again and again (a state's name on every interval):
 * S (at most MAX bytes, at most JSON_QUOTE_MAX) quoted and escaped once
 * into BUF, quotes included; its length, 0 if it does not fit LEN. Then
 * json_writer__quoted(w, buf, n) writes it as a string value, uncopied by
 * the escaper.
 */
#define JSON_QUOTE_MAX 1024
size_t json_writer__quote(char *buf, size_t len, const char *s, size_t max);
#define json_writer__quoted(w, text, n) json_writer__raw_value((w), (text), (n))

/* Through the macros above only: TEXT is already JSON. */
void json_writer__raw_value(struct json_writer *w, const char *text, size_t n);
static inline void json_writer__raw_key(struct json_writer *w, const char *text, size_t n);
static inline bool json_writer__raw_member(struct json_writer *w, const char *text, size_t n);

void json_writer__string(struct json_writer *w, const char *s);
/* At most MAX bytes of S (fixed-size fields such as a comm). */
void json_writer__string_n(struct json_writer *w, const char *s, size_t max);
void json_writer__uint(struct json_writer *w, uint64_t v);
/* V as the string "0x..." (lowercase, as %llx): addresses, which JSON readers cut to 53 bits as numbers. */
void json_writer__hex(struct json_writer *w, uint64_t v);
void json_writer__int(struct json_writer *w, int64_t v);
void json_writer__bool(struct json_writer *w, bool v);
void json_writer__null(struct json_writer *w);
/* A double that reads back exactly; NaN and infinities (not JSON) as null. */
void json_writer__double(struct json_writer *w, double v);
/* V / 10^DIGITS printed exactly, e.g. (1234567, 3) -> 1234.567; DIGITS <= 9. */
void json_writer__fixed(struct json_writer *w, int64_t v, unsigned digits);
/* Shorthands for "key": value members. */
void json_writer__kv_str(struct json_writer *w, const char *key, const char *s);
void json_writer__kv_uint(struct json_writer *w, const char *key, uint64_t v);
void json_writer__kv_int(struct json_writer *w, const char *key, int64_t v);
/* "key": V / 10^DIGITS, KEY a literal as for json_writer__key_lit(). */
#define json_writer__kv_fixed_lit(w, key, v, digits) \
	do { json_writer__key_lit((w), key); json_writer__fixed((w), (v), (digits)); } while (0)
#define json_writer__kv_uint_lit(w, key, v) \
	do { json_writer__key_lit((w), key); json_writer__uint((w), (v)); } while (0)
#define json_writer__kv_int_lit(w, key, v) \
	do { json_writer__key_lit((w), key); json_writer__int((w), (v)); } while (0)

/* Hands what is buffered to the FILE (not fflush: the FILE keeps its own buffering). */
void json_writer__flush(struct json_writer *w);
/* 0, -EINVAL (unbalanced or misused) or -EIO (the stream failed). */
int json_writer__error(const struct json_writer *w);

/*
 * The writer's innermost steps, inline so that a literal's copy is a few
 * moves of a known size: not for callers.
 */
void json_writer__misuse(struct json_writer *w);

/* Room for N more bytes (N <= JSON_BUF_BYTES / 2) in the buffer; where they go. */
static inline __attribute__((always_inline)) char *json_writer__reserve(struct json_writer *w,
									size_t n)
{
	if (w->len + n > sizeof(w->buf))
		json_writer__flush(w);
	return w->buf + w->len;
}

static inline __attribute__((always_inline)) void json_writer__put_char(struct json_writer *w,
									char c)
{
	*json_writer__reserve(w, 1) = c;
	w->len++;
}

/* Separator before a value or a key at the current position. */
static inline __attribute__((always_inline)) void json_writer__before_value(struct json_writer *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->depth > 0) {
		if (w->nonempty[w->depth - 1])
			json_writer__put_char(w, ',');
		w->nonempty[w->depth - 1] = true;
		if (w->depth == w->break_depth || w->break_next) {
			json_writer__put_char(w, '\n');
			w->break_next = false;
		}
	}
}

/* N: a literal's size, so the copy is inlined; false on misuse */
static inline bool json_writer__raw_member(struct json_writer *w, const char *text, size_t n)
{
	if (!w->depth || w->after_key) {
		json_writer__misuse(w);
		return false;
	}
	json_writer__before_value(w);
	memcpy(json_writer__reserve(w, n), text, n);
	w->len += n;
	return true;
}

/* a member's key (with its colon) whose value follows */
static inline void json_writer__raw_key(struct json_writer *w, const char *text, size_t n)
{
	if (json_writer__raw_member(w, text, n))
		w->after_key = true;
}

#endif
