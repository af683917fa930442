// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "unwind_cache.h"

/* 2 x 2048 entries; a typical entry (20 frames, 40 words) is ~1.5 KiB */
#define UWC_SETS	2048
#define UWC_WAYS	2
/* bytes of all entries together: past it a new stack is not kept */
#define UWC_BUDGET	(4u << 20)

struct uwc_entry {
	struct uwc_key key;
	uint64_t used;		/* tick of the last hit */
	size_t size;		/* bytes of this entry */
	uint32_t mask;		/* the registers the key compares */
	uint32_t nreads;
	int n;
	struct uwc_read *reads;	/* after frames[] */
	struct stack_frame frames[];
};

struct unwind_cache {
	struct uwc_entry *slot[UWC_SETS][UWC_WAYS];
	uint64_t tick;
	size_t bytes;
};


struct unwind_cache *unwind_cache__new(void)
{
	return calloc(1, sizeof(struct unwind_cache));
}

void unwind_cache__free(struct unwind_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < UWC_SETS; i++)
		for (size_t w = 0; w < UWC_WAYS; w++)
			free(c->slot[i][w]);
	free(c);
}

/*
 * The key's set: a multiply-xorshift mix of the words every entry compares
 * (the compare makes it exact).
 */
static size_t set_of(const struct uwc_key *k)
{
	uint64_t w[] = { (uint64_t)k->pid << 32 | (uint32_t)k->max, k->epoch, k->vm_gen,
			 k->regs[UWC_REG_FP], k->regs[UWC_REG_SP], k->regs[UWC_REG_PC] };
	uint64_t h = 0x9e3779b97f4a7c15ull;

	for (size_t i = 0; i < sizeof(w) / 8; i++) {
		h ^= w[i];
		h *= 0xbf58476d1ce4e5b9ull;
		h ^= h >> 31;
	}
	h ^= h >> 29;
	return h % UWC_SETS;
}

static bool same_key(const struct uwc_entry *e, const struct uwc_key *k)
{
	if (e->key.pid != k->pid || e->key.max != k->max || e->key.epoch != k->epoch ||
	    e->key.vm_gen != k->vm_gen)
		return false;
	for (int i = 0; i < UWC_NREGS; i++)
		if ((e->mask >> i & 1) && e->key.regs[i] != k->regs[i])
			return false;
	return true;
}

/* Would the unwinder read from STACK (LEN bytes) what it read for E? */
static bool same_reads(const struct uwc_entry *e, const uint8_t *stack, uint32_t len)
{
	for (uint32_t i = 0; i < e->nreads; i++) {
		const struct uwc_read *r = &e->reads[i];
		bool inside = r->off <= len && len - r->off >= 8;

		if (inside != (bool)r->ok)
			return false;
		if (inside && memcmp(stack + r->off, &r->val, 8))
			return false;
	}
	return true;
}

int unwind_cache__get(struct unwind_cache *c, const struct uwc_key *key, const uint8_t *stack,
		      uint32_t len, struct stack_frame *out)
{
	struct uwc_entry **set = c->slot[set_of(key)];

	for (size_t w = 0; w < UWC_WAYS; w++) {
		struct uwc_entry *e = set[w];

		if (!e || !same_key(e, key) || !same_reads(e, stack, len))
			continue;
		e->used = ++c->tick;
		memcpy(out, e->frames, e->n * sizeof(*out));
		return e->n;
	}
	return -1;
}

void unwind_cache__put(struct unwind_cache *c, const struct uwc_key *key, uint32_t mask,
		       const struct uwc_read *reads, uint32_t nreads,
		       const struct stack_frame *frames, int n)
{
	struct uwc_entry **set = c->slot[set_of(key)], **victim = &set[0], *e;
	size_t size;

	if (n < 0 || n > key->max || nreads > UWC_MAX_READS)
		return;
	size = sizeof(*e) + n * sizeof(*frames) + nreads * sizeof(*reads);
	for (size_t w = 0; w < UWC_WAYS; w++) {
		if (!set[w]) {
			victim = &set[w];
			break;
		}
		if (set[w]->used < (*victim)->used)
			victim = &set[w];
	}
	if (*victim) {
		c->bytes -= (*victim)->size;
		free(*victim);
		*victim = NULL;
	}
	if (c->bytes + size > UWC_BUDGET)
		return;
	e = malloc(size);
	if (!e)
		return;
	e->key = *key;
	e->mask = mask | 1u << UWC_REG_FP | 1u << UWC_REG_SP | 1u << UWC_REG_PC;
	e->used = ++c->tick;
	e->size = size;
	e->nreads = nreads;
	e->n = n;
	e->reads = (struct uwc_read *)(e->frames + n);
	memcpy(e->frames, frames, n * sizeof(*frames));
	if (nreads)
		memcpy(e->reads, reads, nreads * sizeof(*reads));
	c->bytes += size;
	*victim = e;
}
