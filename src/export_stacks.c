// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "export_stacks.h"

/* A memory call waiting for the stack record that follows it. */
struct held_call {
	bool full;
	uint16_t cap;
	uint8_t *rec;		/* hdr.size bytes */
};

struct export_stacks {
	struct stack_model *sm;
	struct export_stacks_callbacks cb;
	struct idmap held;	/* tid -> held_call */
	/* names */
	char **names;
	uint32_t nnames, names_cap;
	struct idmap by_name;	/* name hash (+ probe) -> id + 1 */
	struct idmap frame_names[2];	/* frame addr -> name id + 1: [0] user, [1] kernel */
	int err;
};

static void on_sample(void *ctx, const struct stack_sample *s)
{
	struct export_stacks *x = ctx;

	if (x->cb.sample)
		x->cb.sample(x->cb.ctx, s);
}

struct export_stacks *export_stacks__new(struct session *s, const struct export_stacks_callbacks *cb)
{
	struct export_stacks *x = calloc(1, sizeof(*x));
	struct stack_callbacks scb = { .sample = on_sample, .ctx = x };

	if (!x)
		return NULL;
	x->cb = *cb;
	x->sm = stack_model__new(s, &scb);
	if (!x->sm) {
		free(x);
		return NULL;
	}
	return x;
}

void export_stacks__free(struct export_stacks *x)
{
	if (!x)
		return;
	stack_model__free(x->sm);
	for (size_t i = 0; i < x->held.cap; i++) {
		struct held_call *c = x->held.vals[i];

		if (c)
			free(c->rec);
		free(c);
	}
	idmap__free(&x->held);
	for (uint32_t i = 0; i < x->nnames; i++)
		free(x->names[i]);
	free(x->names);
	idmap__free(&x->by_name);
	idmap__free(&x->frame_names[0]);
	idmap__free(&x->frame_names[1]);
	free(x);
}

struct stack_model *export_stacks__model(struct export_stacks *x)
{
	return x->sm;
}

static void release(struct export_stacks *x, struct held_call *c, int64_t stack)
{
	c->full = false;
	x->cb.mem_call(x->cb.ctx, (const struct ps_hdr *)c->rec, stack);
}

static int hold(struct export_stacks *x, const struct ps_hdr *h)
{
	struct held_call *c = idmap__get(&x->held, h->tid);

	if (!c) {
		c = calloc(1, sizeof(*c));
		if (!c || idmap__set(&x->held, h->tid, c)) {
			free(c);
			return -ENOMEM;
		}
	}
	if (c->cap < h->size) {
		uint8_t *r = realloc(c->rec, h->size);

		if (!r)
			return -ENOMEM;
		c->rec = r;
		c->cap = h->size;
	}
	memcpy(c->rec, h, h->size);
	c->full = true;
	return 0;
}

static bool is_mem_call(uint16_t type)
{
	switch (type) {
	case PS_REC_BRK:
	case PS_REC_MMAP:
	case PS_REC_MUNMAP:
	case PS_REC_MREMAP:
	case PS_REC_MPROTECT:
	case PS_REC_MEMOP:
		return true;
	}
	return false;
}

int export_stacks__record(struct export_stacks *x, const struct session_event *ev)
{
	const struct ps_hdr *h = ev->h;
	struct held_call *c = h->tid ? idmap__get(&x->held, h->tid) : NULL;
	int64_t id;
	int err;

	err = stack_model__apply(x->sm, ev);
	if (err)
		return err;
	id = stack_model__last_stack(x->sm);
	if (id >= 0 && x->cb.stack)
		x->cb.stack(x->cb.ctx, (const void *)h, id);
	if (c && c->full) {
		const struct ps_hdr *call = (const void *)c->rec;
		const struct ps_ustack *s = (const void *)h;
		bool its_stack = h->type == PS_REC_USTACK && s->kind == PS_STK_MEM &&
				 s->ref_type == call->type && h->ts_ns == call->ts_ns;

		release(x, c, its_stack ? id : -1);
	}
	if (is_mem_call(h->type))
		return hold(x, h);
	if (h->type == PS_REC_EXIT) {
		c = idmap__del(&x->held, h->tid);
		if (c)
			free(c->rec);
		free(c);
	}
	return x->err;
}

void export_stacks__interval(struct export_stacks *x, const struct sched_interval *iv)
{
	stack_model__interval(x->sm, iv);
}

int export_stacks__finish(struct export_stacks *x)
{
	/* idmap order: arbitrary, but the same for the same input */
	for (size_t i = 0; i < x->held.cap; i++) {
		struct held_call *c = x->held.vals[i];

		if (c && c->full)
			release(x, c, -1);
	}
	return x->err;
}

/* ---- names ---- */

static uint64_t name_hash(const char *p)
{
	uint64_t h = 0xcbf29ce484222325ull;	/* FNV-1a */

	for (; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
	return h;
}

int64_t export_stacks__name_id(struct export_stacks *x, const char *name)
{
	uint64_t key = name_hash(name);
	uintptr_t v;
	char *copy;

	/* a hash collision takes the next key: ids are found by comparing names */
	while ((v = (uintptr_t)idmap__get(&x->by_name, key))) {
		if (!strcmp(x->names[v - 1], name))
			return v - 1;
		key++;
	}
	if (x->nnames == x->names_cap) {
		uint32_t cap = x->names_cap ? 2 * x->names_cap : 256;
		char **n = realloc(x->names, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		x->names = n;
		x->names_cap = cap;
	}
	copy = strdup(name);
	if (!copy || idmap__set(&x->by_name, key, (void *)(uintptr_t)(x->nnames + 1))) {
		free(copy);
		return -ENOMEM;
	}
	x->names[x->nnames] = copy;
	return x->nnames++;
}

const char *export_stacks__name(const struct export_stacks *x, uint32_t id)
{
	return id < x->nnames ? x->names[id] : "";
}

uint32_t export_stacks__nnames(const struct export_stacks *x)
{
	return x->nnames;
}

int64_t export_stacks__frame_name_id(struct export_stacks *x, const struct stack_frame *f)
{
	bool kernel = f->module == SYM_MOD_KERNEL;
	/* user addresses are below 2^48: the module id above them makes the key unique */
	uint64_t key = kernel ? f->addr : f->addr ^ ((uint64_t)f->module << 48);
	uintptr_t v = (uintptr_t)idmap__get(&x->frame_names[kernel], key);
	const char *name;
	char buf[512];
	int64_t id;

	if (v)
		return v - 1;
	name = stack_model__frame_name(x->sm, f, false);
	if (kernel) {	/* flamegraph.pl's mark of a kernel frame, as in folded */
		snprintf(buf, sizeof(buf), "%s_[k]", name);
		name = buf;
	}
	id = export_stacks__name_id(x, name);
	if (id >= 0 && idmap__set(&x->frame_names[kernel], key, (void *)(uintptr_t)(id + 1)))
		return -ENOMEM;
	return id;
}
