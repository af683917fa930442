/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Tiny assertion helpers for unit tests: each test binary exits 0 when all checks held. */
#ifndef PROCSCOPE_CHECK_H
#define PROCSCOPE_CHECK_H

#include <stdio.h>

static int check_failures;

#define CHECK(cond) do {							\
	if (!(cond)) {								\
		fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
		check_failures++;						\
	}									\
} while (0)

#define CHECK_EQ(a, b) do {							\
	unsigned long long _a = (unsigned long long)(a), _b = (unsigned long long)(b); \
	if (_a != _b) {								\
		fprintf(stderr, "%s:%d: check failed: %s == %s (0x%llx != 0x%llx)\n", \
			__FILE__, __LINE__, #a, #b, _a, _b);			\
		check_failures++;						\
	}									\
} while (0)

#define CHECK_DONE() (check_failures ? (fprintf(stderr, "%d checks failed\n", check_failures), 1) : 0)

#endif
