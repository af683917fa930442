// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include "stack_agg.h"

static uint64_t key_of(enum stack_kind k, uint32_t tgid, uint32_t tid, uint32_t stack)
{
	uint64_t h = ((uint64_t)stack << 32 | tid) * 0x9e3779b97f4a7c15ull;

	return h ^ ((uint64_t)tgid << 8 | k);
}

void stack_agg__add(struct stack_agg *a, const struct stack_sample *s, bool per_thread)
{
	uint32_t tid = per_thread ? s->tid : 0;
	uint64_t key = key_of(s->kind, s->tgid, tid, s->stack);
	struct stack_total *t;
	uintptr_t v;

	if (a->err)
		return;
	while ((v = (uintptr_t)idmap__get(&a->index, key))) {
		t = &a->t[v - 1];
		if (t->kind == s->kind && t->tgid == s->tgid && t->tid == tid && t->stack == s->stack) {
			t->value += s->value;
			t->count++;
			return;
		}
		key++;
	}
	if (a->n == a->cap) {
		size_t cap = a->cap ? 2 * a->cap : 256;

		t = realloc(a->t, cap * sizeof(*t));
		if (!t) {
			a->err = -ENOMEM;
			return;
		}
		a->t = t;
		a->cap = cap;
	}
	if (idmap__set(&a->index, key, (void *)(uintptr_t)(a->n + 1))) {
		a->err = -ENOMEM;
		return;
	}
	a->t[a->n++] = (struct stack_total){
		.kind = s->kind, .tgid = s->tgid, .tid = tid, .stack = s->stack,
		.value = s->value, .count = 1,
	};
}

static int cmp(const void *x, const void *y)
{
	const struct stack_total *a = x, *b = y;

	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	if (a->tgid != b->tgid)
		return a->tgid < b->tgid ? -1 : 1;
	if (a->tid != b->tid)
		return a->tid < b->tid ? -1 : 1;
	if (a->value != b->value)
		return a->value > b->value ? -1 : 1;
	return a->stack < b->stack ? -1 : a->stack > b->stack;
}

void stack_agg__sort(struct stack_agg *a)
{
	idmap__free(&a->index);	/* stale once sorted */
	if (a->n)
		qsort(a->t, a->n, sizeof(*a->t), cmp);
}

void stack_agg__free(struct stack_agg *a)
{
	idmap__free(&a->index);
	free(a->t);
	a->t = NULL;
	a->n = a->cap = 0;
}
