/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A map from 64-bit ids (pid, tid, address) to pointers: open addressing, linear probing. */
#ifndef PROCSCOPE_IDMAP_H
#define PROCSCOPE_IDMAP_H

#include <stddef.h>
#include <stdint.h>

struct idmap {
	uint64_t *keys;
	void **vals;
	size_t cap;	/* power of 2 */
	size_t len;
};

/* NULL if absent. O(1) expected. */
void *idmap__get(const struct idmap *m, uint64_t key);
/* Inserts or replaces; 0 or -ENOMEM. */
int idmap__set(struct idmap *m, uint64_t key, void *val);
/* Iterate with for (i = 0; i < m->cap; i++) if (m->vals[i]) ...; order is arbitrary. */
void idmap__free(struct idmap *m);

#endif
