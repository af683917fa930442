// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include "idmap.h"

#define IDMAP_MIN_CAP 64

static size_t slot_of(uint64_t key, size_t cap)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdull;
	key ^= key >> 33;
	return key & (cap - 1);
}

static size_t find(const struct idmap *m, uint64_t key)
{
	size_t i;

	for (i = slot_of(key, m->cap); m->vals[i]; i = (i + 1) & (m->cap - 1))
		if (m->keys[i] == key)
			break;
	return i;	/* KEY's slot, or the free slot ending its probe run */
}

void *idmap__get(const struct idmap *m, uint64_t key)
{
	if (!m->cap)
		return NULL;
	return m->vals[find(m, key)];
}

static int resize(struct idmap *m, size_t cap)
{
	uint64_t *keys = calloc(cap, sizeof(*keys));
	void **vals = calloc(cap, sizeof(*vals));

	if (!keys || !vals) {
		free(keys);
		free(vals);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->cap; i++) {
		size_t j;

		if (!m->vals[i])
			continue;
		for (j = slot_of(m->keys[i], cap); vals[j]; j = (j + 1) & (cap - 1))
			;
		keys[j] = m->keys[i];
		vals[j] = m->vals[i];
	}
	free(m->keys);
	free(m->vals);
	m->keys = keys;
	m->vals = vals;
	m->cap = cap;
	return 0;
}

int idmap__set(struct idmap *m, uint64_t key, void *val)
{
	size_t i;

	if (!val)
		return -EINVAL;
	if (m->cap) {
		i = find(m, key);
		if (m->vals[i]) {
			m->vals[i] = val;	/* replacing never allocates */
			return 0;
		}
	}
	if ((m->len + 1) * 2 > m->cap && resize(m, m->cap ? m->cap * 2 : IDMAP_MIN_CAP))
		return -ENOMEM;
	i = find(m, key);
	m->keys[i] = key;
	m->vals[i] = val;
	m->len++;
	return 0;
}

void *idmap__del(struct idmap *m, uint64_t key)
{
	size_t mask = m->cap - 1, hole, i;
	void *val;

	if (!m->cap)
		return NULL;
	hole = find(m, key);
	val = m->vals[hole];
	if (!val)
		return NULL;
	/*
	 * Backward shift: an entry further along the run moves into the hole
	 * unless its home slot lies cyclically in (hole, i], where a lookup
	 * starting at home would no longer pass the hole to reach it.
	 */
	for (i = (hole + 1) & mask; m->vals[i]; i = (i + 1) & mask) {
		size_t home = slot_of(m->keys[i], m->cap);

		if (((i - home) & mask) < ((i - hole) & mask))
			continue;
		m->keys[hole] = m->keys[i];
		m->vals[hole] = m->vals[i];
		hole = i;
	}
	m->vals[hole] = NULL;
	m->len--;
	/* shrinking is optional: on ENOMEM the table just stays larger */
	if (m->cap > IDMAP_MIN_CAP && m->len * 8 < m->cap)
		resize(m, m->cap / 2);
	return val;
}

void idmap__free(struct idmap *m)
{
	free(m->keys);
	free(m->vals);
	m->keys = NULL;
	m->vals = NULL;
	m->cap = m->len = 0;
}
