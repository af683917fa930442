// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The id map against a plain array of what should be in it: many keys
 * inserted, deleted and inserted again in a random order (pids and tids
 * reused the way a long session reuses them), lookups checked after each
 * phase; then the table must have shrunk back once empty.
 */
#include <stdlib.h>
#include "check.h"
#include "idmap.h"

#define NKEYS 20000

static uint64_t rng = 88172645463325252ull;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;	/* xorshift64: the same sequence on every run */
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Key I: dense small ids like pids, and pointer-like ids 64 bytes apart. */
static uint64_t key_of(size_t i)
{
	return i & 1 ? 0x7f0000000000ull + i * 64 : i;
}

static void *val_of(size_t i, unsigned gen)
{
	return (void *)(uintptr_t)(((uint64_t)gen << 32) | (i + 1));
}

static void check_all(const struct idmap *m, const unsigned *gen)
{
	size_t len = 0, bad = 0;

	for (size_t i = 0; i < NKEYS; i++) {
		void *want = gen[i] ? val_of(i, gen[i]) : NULL;

		if (idmap__get(m, key_of(i)) != want)
			bad++;
		len += gen[i] != 0;
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(m->len, len);
}

int main(void)
{
	unsigned *gen = calloc(NKEYS, sizeof(*gen));	/* 0: absent, else the value's generation */
	struct idmap m = { 0 };
	size_t peak_cap;

	if (!gen)
		return 1;
	CHECK(idmap__get(&m, 5) == NULL);
	CHECK(idmap__del(&m, 5) == NULL);
	CHECK(idmap__set(&m, 5, NULL) != 0);

	for (size_t i = 0; i < NKEYS; i++) {
		gen[i] = 1;
		CHECK_EQ(idmap__set(&m, key_of(i), val_of(i, 1)), 0);
	}
	check_all(&m, gen);
	peak_cap = m.cap;

	/* random deletes, re-inserts and replacements, each answer checked as it comes */
	for (unsigned round = 2; round < 40; round++) {
		for (size_t n = 0; n < NKEYS; n++) {
			size_t i = next_rand() % NKEYS;
			void *got;

			switch (next_rand() % 3) {
			case 0:
				got = idmap__del(&m, key_of(i));
				CHECK(got == (gen[i] ? val_of(i, gen[i]) : NULL));
				gen[i] = 0;
				break;
			default:
				gen[i] = round;
				CHECK_EQ(idmap__set(&m, key_of(i), val_of(i, round)), 0);
				break;
			}
		}
		check_all(&m, gen);
	}

	/* delete everything: lookups fail, the table shrinks back */
	for (size_t i = 0; i < NKEYS; i++) {
		idmap__del(&m, key_of(i));
		gen[i] = 0;
	}
	check_all(&m, gen);
	CHECK_EQ(m.len, 0);
	CHECK(m.cap < peak_cap / 8);
	for (size_t i = 0; i < m.cap; i++)
		CHECK(m.vals[i] == NULL);

	/* and it works again afterwards */
	for (size_t i = 0; i < NKEYS; i += 3) {
		gen[i] = 99;
		CHECK_EQ(idmap__set(&m, key_of(i), val_of(i, 99)), 0);
	}
	check_all(&m, gen);
	idmap__free(&m);
	free(gen);
	return CHECK_DONE();
}
