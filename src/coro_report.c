// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Coroutine section of `procscope report` and of its --json, and the
 * coroutine labels of `layout` (coro_report.h).
 */
#include <stdlib.h>
#include <string.h>
#include "coro_report.h"
#include "util.h"

#define TOP_ROWS	10	/* stacks listed per process, by on-CPU time */

struct stack_list {
	const struct coro_stack **v;
	size_t n, cap;
	bool nomem;
};

static void collect(void *ctx, const struct coro_stack *s)
{
	struct stack_list *l = ctx;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		const struct coro_stack **v = realloc(l->v, cap * sizeof(*v));

		if (!v) {
			l->nomem = true;
			return;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = s;
}

static int by_oncpu(const void *a, const void *b)
{
	const struct coro_stack *x = *(const struct coro_stack *const *)a;
	const struct coro_stack *y = *(const struct coro_stack *const *)b;

	if (x->oncpu_ns != y->oncpu_ns)
		return x->oncpu_ns > y->oncpu_ns ? -1 : 1;
	return x->start < y->start ? -1 : x->start > y->start;
}

/*
 * Go carves goroutine stacks out of its heap spans (8 KiB and up, moved to
 * a bigger one when they grow) and gives every thread a 32 KiB signal stack
 * from the same heap. On x86_64 it reserves its heap arenas at the hints
 * (i << 40) | 0xc000000000 (runtime/malloc.go). A passive stack, i.e. a
 * whole region, at such an address that holds one of the process's
 * alternate signal stacks is a Go heap region: the goroutine stacks in it
 * cannot be told apart from the kernel side, and it is named for all of them.
 */
#define GO_ARENA_HINT	0xc000000000ull
#define GO_HINT_MASK	((1ull << 40) - 1)

static bool go_heap(const struct stack_list *l, const struct coro_stack *s)
{
	if (s->bounds != CORO_FROM_REGION || (s->start & GO_HINT_MASK) < GO_ARENA_HINT)
		return false;
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i]->kind == CORO_KIND_SIGALTSTACK && l->v[i]->start >= s->start &&
		    l->v[i]->end <= s->end)
			return true;
	return false;
}

static const char *kind_name(const struct stack_list *l, const struct coro_stack *s)
{
	if (s->kind == CORO_KIND_SIGALTSTACK)
		return "sigaltstack";
	return go_heap(l, s) ? "goroutine_stacks" : "coroutine_stack";
}

static const char *bounds_name(const struct coro_stack *s)
{
	switch (s->bounds) {
	case CORO_FROM_CALL:
		return "exact";
	case CORO_FROM_SIGALTSTACK:
		return "sigaltstack";
	default:
		return s->region_kind == VK_HEAP ? "heap region" : "region";
	}
}

void coro_report__process(FILE *f, const struct coro_model *cm, const struct ps_process *p)
{
	struct stack_list l = {};
	uint64_t resumes = 0, oncpu = 0;
	size_t ncoro = 0, nalt = 0, heap = 0, go = 0;
	bool exact;
	char sz[32];

	if (!cm)
		return;
	coro_model__for_each_stack(cm, p->pid, collect, &l);
	if (!l.n || l.nomem)
		goto out;
	exact = coro_model__exact(cm, p->pid);
	for (size_t i = 0; i < l.n; i++) {
		const struct coro_stack *s = l.v[i];

		if (s->kind == CORO_KIND_SIGALTSTACK) {
			nalt++;
			continue;
		}
		ncoro++;
		resumes += s->resumes;
		oncpu += s->oncpu_ns;
		heap += s->bounds == CORO_FROM_REGION && s->region_kind == VK_HEAP;
		go += go_heap(&l, s);
	}
	qsort(l.v, l.n, sizeof(*l.v), by_oncpu);
	fprintf(f, "  coroutines: %zu stack%s", ncoro - go, ncoro - go == 1 ? "" : "s");
	if (go)
		fprintf(f, ", %zu Go heap region%s with goroutine stacks", go, go == 1 ? "" : "s");
	fprintf(f, ", %llu resumes%s, %.3f ms on CPU on them", (unsigned long long)resumes,
		exact ? "" : " at least", oncpu / 1e6);
	if (nalt)
		fprintf(f, "; %zu alternate signal stack%s", nalt, nalt == 1 ? "" : "s");
	fprintf(f, "\n    %s\n", exact ?
		"switches recorded (--coroutines): resumes exact, on-CPU split at the switches" :
		"found from stack pointers at switch-outs: resumes are a lower bound, on-CPU is "
		"that of the runs that ended on the stack (record --coroutines for exact switches)");
	if (go)
		fprintf(f, "    goroutine_stacks: a Go heap region. Go carves goroutine stacks from its "
			"spans and moves them as they grow, so one row stands for every goroutine in it; "
			"its resumes are entries onto it seen at switch-outs, and its threads are those "
			"seen with their SP in it (running a goroutine, or on the runtime's g0 stack, "
			"which Go also allocates there)\n");
	if (heap)
		fprintf(f, "    stacks carved from the heap cannot be told apart without "
			"--coroutines: one row stands for all of them\n");
	fprintf(f, "    %-33s %-16s %-11s %9s %12s  %s\n", "stack", "kind", "bounds", "resumes",
		"on-CPU ms", "threads");
	for (size_t i = 0; i < l.n && i < TOP_ROWS; i++) {
		const struct coro_stack *s = l.v[i];
		char range[48];

		snprintf(range, sizeof(range), "0x%llx-0x%llx", (unsigned long long)s->start,
			 (unsigned long long)s->end);
		fprintf(f, "    %-33s %-16s %-11s %9llu %12.3f  ", range, kind_name(&l, s),
			bounds_name(s), (unsigned long long)s->resumes, s->oncpu_ns / 1e6);
		for (size_t j = 0; j < s->ntids && j < 8; j++)
			fprintf(f, "%s%u", j ? "," : "", s->tids[j]);
		if (s->ntids > 8)
			fprintf(f, ",... (%zu)", s->ntids);
		fprintf(f, "  %s\n", ps_fmt_size(sz, sizeof(sz), s->end - s->start));
	}
	if (l.n > TOP_ROWS)
		fprintf(f, "    ... %zu more (report --json lists every one)\n", l.n - TOP_ROWS);
out:
	free(l.v);
}

void coro_report__json(struct json_writer *w, const struct coro_model *cm, uint32_t pid)
{
	struct stack_list l = {};
	char addr[24];
	bool exact;

	json_writer__key(w, "coroutines");
	json_writer__begin_array(w);
	if (cm)
		coro_model__for_each_stack(cm, pid, collect, &l);
	exact = cm && coro_model__exact(cm, pid);
	for (size_t i = 0; i < l.n && !l.nomem; i++) {
		const struct coro_stack *s = l.v[i];

		json_writer__begin_object(w);
		/* hex strings: addresses above 2^53 do not survive a JSON number */
		snprintf(addr, sizeof(addr), "0x%llx", (unsigned long long)s->start);
		json_writer__kv_str(w, "stack_start", addr);
		snprintf(addr, sizeof(addr), "0x%llx", (unsigned long long)s->end);
		json_writer__kv_str(w, "stack_end", addr);
		json_writer__kv_str(w, "kind", kind_name(&l, s));
		json_writer__kv_str(w, "bounds", bounds_name(s));
		json_writer__kv_uint(w, "resumes", s->resumes);
		json_writer__key(w, "resumes_exact");
		json_writer__bool(w, exact);
		json_writer__kv_uint(w, "oncpu_ns", s->oncpu_ns);
		json_writer__kv_uint(w, "first_ns", s->first_ns);
		json_writer__kv_uint(w, "last_ns", s->last_ns);
		json_writer__key(w, "tids");
		json_writer__begin_array(w);
		for (size_t j = 0; j < s->ntids; j++)
			json_writer__uint(w, s->tids[j]);
		json_writer__end_array(w);
		json_writer__end_object(w);
	}
	json_writer__end_array(w);
	free(l.v);
}

struct region_ctx {
	uint64_t start, end;
	struct coro_region_info *out;
	struct stack_list all;	/* every stack of the process (go_heap() looks at them) */
	const struct coro_stack *coro, *alt;	/* the last of each kind in the region */
	size_t ncoro, nalt;
	uint32_t tids[64];
	size_t ntids;
};

static void in_region(void *ctx, const struct coro_stack *s)
{
	struct region_ctx *c = ctx;

	collect(&c->all, s);
	if (s->end <= c->start || s->start >= c->end)
		return;
	c->out->nstacks++;
	if (s->kind == CORO_KIND_SIGALTSTACK) {
		c->alt = s;
		c->nalt++;
		return;	/* a signal stack: no resumes, its thread is in the threads of its region */
	}
	c->coro = s;
	c->ncoro++;
	c->out->resumes += s->resumes;
	for (size_t i = 0; i < s->ntids; i++) {
		size_t j = 0;

		while (j < c->ntids && c->tids[j] != s->tids[i])
			j++;
		if (j == c->ntids && c->ntids < PS_ARRAY_SIZE(c->tids))
			c->tids[c->ntids++] = s->tids[i];
	}
}

/* S is the region [START, END), or most of it (a malloc'd stack: header and page rounding) */
static bool fills(const struct coro_stack *s, uint64_t start, uint64_t end)
{
	return (s->end - s->start) * 2 > end - start;
}

void coro_report__region(const struct coro_model *cm, uint32_t pid, uint64_t start,
			 uint64_t end, struct coro_region_info *out)
{
	struct region_ctx c = { .start = start, .end = end, .out = out };

	memset(out, 0, sizeof(*out));
	if (!cm)
		return;
	coro_model__for_each_stack(cm, pid, in_region, &c);
	out->nthreads = c.ntids;
	if (c.ncoro == 1 && fills(c.coro, start, end))
		out->kind = kind_name(&c.all, c.coro);
	else if (!c.ncoro && c.nalt == 1 && fills(c.alt, start, end))
		out->kind = "sigaltstack";
	free(c.all.v);
}
