// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "stack_agg.h"
#include "stack_model.h"
#include "stack_report.h"
#include "util.h"

#define TOP		3	/* stacks shown per kind (per thread for off-CPU) */
#define SHOW_FRAMES	7	/* user frames shown per stack, innermost first */

struct stack_report {
	struct stack_model *sm;
	struct sched_callbacks scb;
	struct stack_agg agg;	/* per process, offcpu per thread */
	bool sorted;
	int err;
};

static void on_sample(void *ctx, const struct stack_sample *s)
{
	struct stack_report *r = ctx;

	stack_agg__add(&r->agg, s, s->kind == SK_OFFCPU);
}

static void on_interval(void *ctx, const struct sched_interval *iv)
{
	struct stack_report *r = ctx;

	stack_model__interval(r->sm, iv);
}

static int on_record(void *ctx, const struct session_event *ev)
{
	struct stack_report *r = ctx;

	if (!r->err)
		r->err = stack_model__apply(r->sm, ev);
	return r->err;
}

struct stack_report *stack_report__new(struct session *s)
{
	struct stack_report *r = calloc(1, sizeof(*r));
	struct stack_callbacks cb = { .sample = on_sample, .ctx = r };

	if (!r)
		return NULL;
	r->sm = stack_model__new(s, &cb);
	if (!r->sm) {
		free(r);
		return NULL;
	}
	r->scb.interval = on_interval;
	r->scb.ctx = r;
	return r;
}

void stack_report__free(struct stack_report *r)
{
	if (!r)
		return;
	stack_agg__free(&r->agg);
	stack_model__free(r->sm);
	free(r);
}

void stack_report__callbacks(struct stack_report *r, struct session_callbacks *cb)
{
	cb->record = on_record;
	cb->sched = &r->scb;
	cb->ctx = r;
}

int stack_report__error(const struct stack_report *r)
{
	return r->err ? r->err : r->agg.err;
}

static void put_value(FILE *f, enum stack_kind k, uint64_t v, uint64_t total)
{
	char sz[32];

	if (k == SK_OFFCPU)
		fprintf(f, "%10.3f ms", v / 1e6);
	else if (k == SK_ONCPU)
		fprintf(f, "%7llu smpl", (unsigned long long)v);
	else
		fprintf(f, "%13s", ps_fmt_size(sz, sizeof(sz), v));
	fprintf(f, " %5.1f%%  ", total ? 100.0 * v / total : 0.0);
}

/* The user frames of a stack, innermost first: where the call was made. */
static void put_stack(FILE *f, struct stack_report *r, uint32_t id)
{
	const struct stack_frame *fr = NULL;
	uint32_t n = 0, shown = 0;

	fr = stack_model__frames(r->sm, id, &n);
	for (uint32_t i = 0; i < n && shown < SHOW_FRAMES; i++) {
		if (fr[i].module == SYM_MOD_KERNEL && i + 1 < n)
			continue;	/* the wait itself is named by the innermost user frames */
		fprintf(f, "%s%s", shown ? " < " : "", stack_model__frame_name(r->sm, &fr[i], false));
		shown++;
	}
	if (n > SHOW_FRAMES)
		fprintf(f, " < ...");
	fputc('\n', f);
}

static void put_kind(FILE *f, struct stack_report *r, const struct ps_process *p, enum stack_kind k,
		     uint32_t tid, const char *title)
{
	uint64_t total = 0;
	int shown = 0;

	for (size_t i = 0; i < r->agg.n; i++) {
		const struct stack_total *t = &r->agg.t[i];

		if (t->kind == k && t->tgid == p->pid && t->tid == tid)
			total += t->value;
	}
	if (!total)
		return;
	fprintf(f, "    %s\n", title);
	for (size_t i = 0; i < r->agg.n && shown < TOP; i++) {
		const struct stack_total *t = &r->agg.t[i];

		if (t->kind != k || t->tgid != p->pid || t->tid != tid)
			continue;
		fprintf(f, "      ");
		put_value(f, k, t->value, total);
		put_stack(f, r, t->stack);
		shown++;
	}
}

void stack_report__process(FILE *f, struct stack_report *r, const struct ps_process *p)
{
	static const char *const titles[SK_MAX] = {
		[SK_HEAP] = "heap growth (brk), top call sites:",
		[SK_MMAP] = "anonymous mmap bytes, top call sites:",
		[SK_MPROTECT] = "mprotect bytes, top call sites:",
		[SK_ONCPU] = "on-CPU samples, top stacks:",
	};
	char title[96];
	bool any = false;

	if (!r->sorted) {
		stack_agg__sort(&r->agg);
		r->sorted = true;
	}
	for (size_t i = 0; i < r->agg.n && !any; i++)
		any = r->agg.t[i].tgid == p->pid;
	if (!any)
		return;
	fprintf(f, "  call stacks (innermost frame first):\n");
	for (int k = SK_HEAP; k <= SK_MPROTECT; k++)
		put_kind(f, r, p, k, 0, titles[k]);
	for (size_t j = 0; j < p->nthreads; j++) {
		const struct ps_thread *t = p->threads[j];

		snprintf(title, sizeof(title), "off-CPU (slept or blocked), thread %u (%.*s), top stacks:",
			 t->tid, PS_COMM_LEN, t->comm);
		put_kind(f, r, p, SK_OFFCPU, t->tid, title);
	}
	put_kind(f, r, p, SK_ONCPU, 0, titles[SK_ONCPU]);
}
