/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Sums of stack samples per (kind, process, thread, stack), for the views
 * that print totals (folded, report). Memory: one entry per distinct key.
 */
#ifndef PROCSCOPE_STACK_AGG_H
#define PROCSCOPE_STACK_AGG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "idmap.h"
#include "stack_model.h"

struct stack_total {
	enum stack_kind kind;
	uint32_t tgid;
	uint32_t tid;		/* 0 when summed per process */
	uint32_t stack;
	uint64_t value;
	uint64_t count;		/* samples summed */
};

struct stack_agg {
	struct idmap index;	/* key hash (+ probe) -> entry + 1 */
	struct stack_total *t;
	size_t n, cap;
	int err;
};

/* Adds S; PER_THREAD false sums a process's threads together. Errors stick in err. */
void stack_agg__add(struct stack_agg *a, const struct stack_sample *s, bool per_thread);
/* Sorts by kind, tgid, tid, then value, largest first; nothing may be added after. */
void stack_agg__sort(struct stack_agg *a);
void stack_agg__free(struct stack_agg *a);

#endif
