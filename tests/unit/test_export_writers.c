// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* pb_writer and json_writer against hand-computed encodings. */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "json_writer.h"
#include "pb_writer.h"

static void test_pb(void)
{
	struct pb_writer w;
	static const unsigned char want1[] = { 0x08, 0x96, 0x01 };	/* field 1 = 150 */
	char big[200];

	pb_writer__init(&w);
	pb_writer__varint(&w, 1, 150);
	CHECK_EQ(w.len, 3);
	CHECK(!memcmp(w.buf, want1, 3));
	pb_writer__reset(&w);
	pb_writer__int(&w, 2, -1);	/* negative int32: 10 bytes of varint */
	CHECK_EQ(w.len, 11);
	pb_writer__reset(&w);
	/* a nested message longer than 127 bytes takes a 2-byte length */
	memset(big, 'a', sizeof(big));
	pb_writer__begin(&w, 3);
	pb_writer__bytes(&w, 1, big, sizeof(big));	/* 1 + 2 + 200 = 203 bytes */
	pb_writer__end(&w);
	CHECK_EQ(w.len, 1 + 2 + 203);
	CHECK_EQ(w.buf[0], 0x1a);
	CHECK_EQ(w.buf[1], 0xcb);	/* 203 = 0xcb 0x01 */
	CHECK_EQ(w.buf[2], 0x01);
	CHECK_EQ(w.buf[3], 0x0a);
	pb_writer__reset(&w);
	pb_writer__fixed64(&w, 1, 0x0102030405060708ull);
	CHECK_EQ(w.buf[0], 0x09);
	CHECK_EQ(w.buf[1], 0x08);
	CHECK_EQ(w.buf[8], 0x01);
	pb_writer__end(&w);	/* unbalanced: sticky error */
	CHECK(pb_writer__error(&w) != 0);
	pb_writer__free(&w);
}

static void test_json(void)
{
	struct json_writer w;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	json_writer__init(&w, f);
	json_writer__begin_object(&w);
	json_writer__kv_str(&w, "s", "a\"b\\c\n\x01\xff\xc3\xa9");
	json_writer__key(&w, "t");
	json_writer__fixed(&w, 1234567, 3);
	json_writer__key(&w, "n");
	json_writer__fixed(&w, -5, 3);
	json_writer__key(&w, "a");
	json_writer__begin_array(&w);
	json_writer__uint(&w, 18446744073709551615ull);
	json_writer__int(&w, -7);
	json_writer__bool(&w, true);
	json_writer__null(&w);
	json_writer__end_array(&w);
	json_writer__end_object(&w);
	CHECK_EQ(json_writer__error(&w), 0);
	fclose(f);
	CHECK(!strcmp(buf, "{\"s\":\"a\\\"b\\\\c\\u000a\\u0001\\ufffd\xc3\xa9\",\"t\":1234.567,\"n\":-0.005,"
			   "\"a\":[18446744073709551615,-7,true,null]}"));
	if (strcmp(buf, "") && check_failures)
		fprintf(stderr, "got: %s\n", buf);
	free(buf);
}

int main(void)
{
	test_pb();
	test_json();
	return CHECK_DONE();
}
