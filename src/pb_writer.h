/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Protocol Buffers wire encoding, written by hand (no generated code): varint,
 * fixed64 and length-delimited fields into one growable buffer, with nested
 * messages opened and closed like brackets. A nested message's length is
 * written in the fewest varint bytes once it is closed, so the output is the
 * canonical encoding and the same input always gives the same bytes.
 *
 * Errors are sticky: after an allocation failure every call is a no-op and
 * pb_writer__error() returns -ENOMEM.
 */
#ifndef PROCSCOPE_PB_WRITER_H
#define PROCSCOPE_PB_WRITER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PB_MAX_DEPTH 16

struct pb_writer {
	uint8_t *buf;
	size_t len;
	size_t cap;
	size_t open[PB_MAX_DEPTH];	/* offset of each open message's length byte */
	int depth;
	int err;			/* 0 or -ENOMEM/-EINVAL, sticky */
};

void pb_writer__init(struct pb_writer *w);
void pb_writer__free(struct pb_writer *w);
/* Drops the bytes written so far (keeps the allocation); depth must be 0. */
void pb_writer__reset(struct pb_writer *w);
int pb_writer__error(const struct pb_writer *w);

/* Wire type 0: uint32/uint64/bool/enum, and int32/int64 (negatives take 10 bytes). */
void pb_writer__varint(struct pb_writer *w, uint32_t field, uint64_t v);
static inline void pb_writer__int(struct pb_writer *w, uint32_t field, int64_t v)
{
	pb_writer__varint(w, field, (uint64_t)v);
}
/* Wire type 1: fixed64 and double. */
void pb_writer__fixed64(struct pb_writer *w, uint32_t field, uint64_t v);
void pb_writer__double(struct pb_writer *w, uint32_t field, double v);
/* Wire type 2: bytes and strings (a string is cut at its first NUL or at MAX bytes). */
void pb_writer__bytes(struct pb_writer *w, uint32_t field, const void *p, size_t n);
void pb_writer__string(struct pb_writer *w, uint32_t field, const char *s, size_t max);
/* A nested message: begin, its fields, end. At most PB_MAX_DEPTH open at once. */
void pb_writer__begin(struct pb_writer *w, uint32_t field);
void pb_writer__end(struct pb_writer *w);

/* Writes the buffer to F and resets it; 0 or -EIO. */
int pb_writer__flush(struct pb_writer *w, FILE *f);

/* Bytes a varint of V takes (1..10). */
size_t pb_varint_size(uint64_t v);

#endif
