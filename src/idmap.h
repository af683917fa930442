/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A map from 64-bit ids (pid, tid, address) to non-NULL pointers: open
 * addressing with linear probing, kept at most half full. Deleting shifts
 * the following entries of the probe run back (no tombstones), so lookups
 * stay short however many keys came and went, and the table shrinks as it
 * empties: memory follows the keys present now, not all keys ever seen.
 */
#ifndef PROCSCOPE_IDMAP_H
#define PROCSCOPE_IDMAP_H

#include <stddef.h>
#include <stdint.h>

struct idmap {
	uint64_t *keys;
	void **vals;	/* NULL: free slot */
	size_t cap;	/* power of 2, or 0 */
	size_t len;
};

/* NULL if absent. O(1) expected. */
void *idmap__get(const struct idmap *m, uint64_t key);
/* Inserts or replaces (which cannot fail); VAL must not be NULL. 0 or -ENOMEM. */
int idmap__set(struct idmap *m, uint64_t key, void *val);
/*
 * Removes KEY and returns its value, NULL if absent. O(1) expected; halves
 * the table when it is less than 1/8 full. Moves other entries: not while
 * iterating.
 */
void *idmap__del(struct idmap *m, uint64_t key);
/* Iterate with for (i = 0; i < m->cap; i++) if (m->vals[i]) ...; order is arbitrary. */
void idmap__free(struct idmap *m);

#endif
