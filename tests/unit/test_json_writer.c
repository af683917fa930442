// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * json_writer's string escaping, byte by byte: valid UTF-8 goes through
 * unchanged, each byte that does not belong to a valid sequence becomes
 * \ufffd, and what JSON forbids raw is escaped. Expected outputs are written
 * out by hand from RFC 8259 and the UTF-8 definition (RFC 3629).
 */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "json_writer.h"

/* S (LEN bytes, NULs allowed only as a terminator) as a JSON string value. */
static void expect(const char *s, size_t len, const char *want, int line)
{
	struct json_writer w;
	char *buf = NULL;
	size_t blen = 0;
	FILE *f = open_memstream(&buf, &blen);

	json_writer__init(&w, f);
	json_writer__string_n(&w, s, len);
	CHECK_EQ(json_writer__error(&w), 0);
	fclose(f);
	if (strcmp(buf, want)) {
		fprintf(stderr, "line %d: got %s, want %s\n", line, buf, want);
		check_failures++;
	}
	free(buf);
}

#define EXPECT(s, want) expect(s, sizeof(s) - 1, want, __LINE__)

static void test_escapes(void)
{
	EXPECT("plain ascii ~", "\"plain ascii ~\"");
	EXPECT("q\"b\\s/", "\"q\\\"b\\\\s/\"");
	/* control characters: always \u00XX, DEL (0x7f) is allowed raw */
	EXPECT("\x01\n\t\x1f\x7f", "\"\\u0001\\u000a\\u0009\\u001f\x7f\"");
	EXPECT("", "\"\"");
}

static void test_utf8_passes(void)
{
	EXPECT("\xc3\xa9", "\"\xc3\xa9\"");			/* U+00E9, 2 bytes */
	EXPECT("\xe2\x82\xac", "\"\xe2\x82\xac\"");		/* U+20AC, 3 bytes */
	EXPECT("\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"");	/* U+1F600, 4 bytes */
	EXPECT("\xef\xbf\xbf\xf4\x8f\xbf\xbf", "\"\xef\xbf\xbf\xf4\x8f\xbf\xbf\"");	/* U+FFFF, U+10FFFF */
	EXPECT("w\xc3\xb6rk-\xc3\x9f", "\"w\xc3\xb6rk-\xc3\x9f\"");	/* a thread name */
}

static void test_invalid_bytes(void)
{
	/* one U+FFFD per byte that starts no valid sequence, then resync */
	EXPECT("\xff\xfe", "\"\\ufffd\\ufffd\"");
	EXPECT("a\x80" "b", "\"a\\ufffdb\"");			/* lone continuation */
	EXPECT("\xc3", "\"\\ufffd\"");				/* truncated at the end */
	EXPECT("\xe2\x82" "A", "\"\\ufffd\\ufffdA\"");		/* truncated mid-string */
	EXPECT("\xc0\xaf", "\"\\ufffd\\ufffd\"");		/* overlong '/' */
	EXPECT("\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\"");	/* overlong, 3 bytes */
	EXPECT("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");	/* a UTF-16 surrogate */
	EXPECT("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");	/* above U+10FFFF */
	EXPECT("\xf8\x88\x80\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\"");	/* 5-byte form */
	EXPECT("\xc3\xa9\xff\xc3\xa9", "\"\xc3\xa9\\ufffd\xc3\xa9\"");	/* valid around invalid */
}

static void test_bounded(void)
{
	/* a fixed-size field cut inside a sequence: the cut part is invalid */
	expect("\xc3\xa9", 1, "\"\\ufffd\"", __LINE__);
	expect("ab\xe2\x82\xac", 4, "\"ab\\ufffd\\ufffd\"", __LINE__);
	/* stops at a NUL before the bound */
	expect("ab\0cd", 5, "\"ab\"", __LINE__);
}

static void test_keys(void)
{
	struct json_writer w;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	json_writer__init(&w, f);
	json_writer__begin_object(&w);
	json_writer__kv_uint(&w, "k\"\xff\xc3\xa9", 1);
	json_writer__end_object(&w);
	CHECK_EQ(json_writer__error(&w), 0);
	fclose(f);
	CHECK(!strcmp(buf, "{\"k\\\"\\ufffd\xc3\xa9\":1}"));
	free(buf);
}

/* Literal keys and values, hand breaks and exact decimals, as the exports write them. */
static void test_literals_numbers(void)
{
	static const char want[] = "{\"ph\":\"X\",\"ts\":-1234.567,\"a\":0.005,\"b\":0.000,"
				   "\"c\":-9223372036.854775808,\n\"d\":18446744073709551615,"
				   "\"e\":-7,\"f\":[\"x\",\n0]}";
	struct json_writer w;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	json_writer__init(&w, f);
	json_writer__begin_object(&w);
	json_writer__kv_lit(&w, "ph", "X");
	json_writer__kv_fixed_lit(&w, "ts", -1234567, 3);
	json_writer__kv_fixed_lit(&w, "a", 5, 3);
	json_writer__kv_fixed_lit(&w, "b", 0, 3);
	json_writer__kv_fixed_lit(&w, "c", INT64_MIN, 9);
	json_writer__break(&w);
	json_writer__kv_uint_lit(&w, "d", UINT64_MAX);
	json_writer__kv_int_lit(&w, "e", -7);
	json_writer__key_lit(&w, "f");
	json_writer__begin_array(&w);
	json_writer__str_lit(&w, "x");
	json_writer__break(&w);
	json_writer__uint(&w, 0);
	json_writer__end_array(&w);
	json_writer__end_object(&w);
	CHECK_EQ(json_writer__error(&w), 0);
	fclose(f);
	if (strcmp(buf, want)) {
		fprintf(stderr, "got %s, want %s\n", buf, want);
		check_failures++;
	}
	free(buf);
}

/* Integers at every power of ten and one below it: the digit count is estimated from the bit length. */
static void test_digit_counts(void)
{
	uint64_t p = 1;

	for (int k = 0; k < 20; k++, p *= 10) {
		uint64_t v[2] = { p, p - 1 };

		for (int j = 0; j < 2; j++) {
			struct json_writer w;
			char *buf = NULL, want[32];
			size_t len = 0;
			FILE *f = open_memstream(&buf, &len);

			json_writer__init(&w, f);
			json_writer__uint(&w, v[j]);
			fclose(f);
			snprintf(want, sizeof(want), "%llu", (unsigned long long)v[j]);
			if (strcmp(buf, want)) {
				fprintf(stderr, "got %s, want %s\n", buf, want);
				check_failures++;
			}
			free(buf);
		}
	}
}

/* A name quoted once, then written as a value: escaped as json_writer__string() would. */
static void test_quote(void)
{
	struct json_writer w;
	char q[16], small[4], *buf = NULL;
	size_t n = json_writer__quote(q, sizeof(q), "a\"b\xff", SIZE_MAX), len = 0;
	FILE *f = open_memstream(&buf, &len);

	CHECK_EQ(json_writer__quote(small, sizeof(small), "abcd", SIZE_MAX), 0);
	CHECK_EQ(n, 12);
	json_writer__init(&w, f);
	json_writer__begin_array(&w);
	json_writer__quoted(&w, q, n);
	json_writer__quoted(&w, q, n);
	json_writer__end_array(&w);
	CHECK_EQ(json_writer__error(&w), 0);
	fclose(f);
	CHECK(!strcmp(buf, "[\"a\\\"b\\ufffd\",\"a\\\"b\\ufffd\"]"));
	free(buf);
}

int main(void)
{
	test_quote();
	test_literals_numbers();
	test_digit_counts();
	test_escapes();
	test_utf8_passes();
	test_invalid_bytes();
	test_bounded();
	test_keys();
	return CHECK_DONE();
}
