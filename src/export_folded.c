// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Folded stacks (flamegraph.pl, speedscope, inferno): one line per thread
 * state path with the microseconds spent in it,
 *
 *	export_small (4242);exp-worker-0 (4243);running 1532
 *
 * so a flame graph shows where each thread's wall time went: on a CPU,
 * waiting for one, sleeping or blocked. Totals are kept per thread and
 * state (memory bounded by the threads seen) and written at the end, in
 * order of appearance. ';' in a name would split a frame: it becomes ':'.
 *
 * With --stacks KIND, one line per thread and distinct call stack instead,
 * outermost frame first, kernel frames marked _[k], with the stack's sum
 * (bytes for heap/mmap/mprotect, ns for offcpu, samples for oncpu);
 * stacks that name the same functions are one line:
 *
 *	stacks_work (4242);stacks_work (4242);main;grow_heap;malloc;...;__brk 16781312
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "export.h"
#include "sched_model.h"
#include "stack_agg.h"

struct folded {
	struct export_ctx *c;
	struct sched_callbacks cb;
	struct idmap totals;	/* ps_thread pointer -> uint64_t[TS_MAX] of ns */
	struct stack_model *sm;	/* --stacks */
	struct stack_callbacks scb;
	struct stack_agg agg;
	int err;
};

static void on_interval(void *ctx, const struct sched_interval *iv)
{
	struct folded *f = ctx;
	const struct ps_thread *t = proc_model__thread(f->c->pm, iv->tid);
	uint64_t start = iv->start_ns, end = iv->end_ns;
	uint64_t *ns;

	if (f->sm) {
		stack_model__interval(f->sm, iv);
		return;
	}
	if (!t || t->tgid != iv->tgid || !export__want_pid(f->c, iv->tgid))
		return;
	if (!export__clip(f->c, &start, &end))
		return;
	ns = idmap__get(&f->totals, (uintptr_t)t);
	if (!ns) {
		ns = calloc(TS_MAX, sizeof(*ns));
		if (!ns || idmap__set(&f->totals, (uintptr_t)t, ns)) {
			free(ns);
			f->err = -ENOMEM;
			return;
		}
	}
	ns[iv->state] += end - start;
}

static void put_frame(FILE *out, const char *name, uint32_t id)
{
	for (const char *s = name; *s; s++)
		fputc(*s == ';' ? ':' : *s, out);
	fprintf(out, " (%u)", id);
}

static void on_sample(void *ctx, const struct stack_sample *s)
{
	struct folded *f = ctx;

	if (s->kind == (enum stack_kind)f->c->stacks && export__want_pid(f->c, s->tgid) &&
	    export__want_ts(f->c, s->ts_ns))
		stack_agg__add(&f->agg, s, true);
}

static void *fo_begin(struct export_ctx *c, struct session_callbacks *cb)
{
	struct folded *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->c = c;
	if (c->stacks >= 0) {
		f->scb.sample = on_sample;
		f->scb.ctx = f;
		f->sm = stack_model__new(c->s, &f->scb);
		if (!f->sm) {
			free(f);
			return NULL;
		}
	}
	f->cb.interval = on_interval;
	f->cb.ctx = f;
	cb->sched = &f->cb;
	return f;
}

static int fo_record(void *st, const struct session_event *ev)
{
	struct folded *f = st;

	if (f->sm && !f->err)
		f->err = stack_model__apply(f->sm, ev);
	return f->err;
}

static void put_name(FILE *out, const char *name)
{
	for (const char *s = name; *s; s++)
		fputc(*s == ';' ? ':' : *s, out);
}

/* One output line being merged: stacks of a thread that name the same functions. */
struct folded_line {
	char *text;		/* "process;thread;frames" */
	uint64_t value;
};

static int line_cmp(const void *a, const void *b)
{
	const struct folded_line *x = a, *y = b;

	if (x->value != y->value)
		return x->value < y->value ? 1 : -1;
	return strcmp(x->text, y->text);
}

/* Writes the lines of one thread, largest first, and frees them. */
static void put_lines(FILE *out, struct folded_line *l, size_t n)
{
	qsort(l, n, sizeof(*l), line_cmp);
	for (size_t i = 0; i < n; i++) {
		fprintf(out, "%s %llu\n", l[i].text, (unsigned long long)l[i].value);
		free(l[i].text);
	}
}

static uint64_t text_hash(const char *p)
{
	uint64_t h = 0xcbf29ce484222325ull;	/* FNV-1a */

	for (; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
	return h;
}

/*
 * Stacks that differ only in addresses inside the same functions (two
 * call sites in one function, or samples at different instructions) name
 * the same frames: one line each, their values summed.
 */
static int put_stacks(struct folded *f)
{
	char pname[PS_COMM_LEN + 16], tname[PS_COMM_LEN + 16];
	FILE *out = f->c->out;
	struct folded_line *lines = NULL;
	struct idmap by_text = {};	/* text hash (+ probe) -> line + 1 */
	size_t n = 0, cap = 0;
	int err = 0;

	if (f->agg.err)
		return f->agg.err;
	stack_agg__sort(&f->agg);
	for (size_t i = 0; i < f->agg.n && !err; i++) {
		const struct stack_total *t = &f->agg.t[i];
		const struct ps_thread *th = proc_model__thread(f->c->pm, t->tid);
		const struct stack_frame *fr;
		char *text = NULL;
		size_t len = 0;
		uint64_t key;
		uintptr_t v;
		uint32_t nf;
		FILE *m;

		if (i && (t->tgid != f->agg.t[i - 1].tgid || t->tid != f->agg.t[i - 1].tid)) {
			put_lines(out, lines, n);	/* the previous thread is complete */
			n = 0;
			idmap__free(&by_text);
		}
		if (th && th->tgid != t->tgid)
			th = NULL;
		m = open_memstream(&text, &len);
		if (!m) {
			err = -ENOMEM;
			break;
		}
		export__process_name(pname, sizeof(pname), proc_model__process(f->c->pm, t->tgid),
				     t->tgid);
		export__thread_name(tname, sizeof(tname), th, t->tid);
		put_frame(m, pname, t->tgid);
		fputc(';', m);
		put_frame(m, tname, t->tid);
		fr = stack_model__frames(f->sm, t->stack, &nf);
		while (nf--) {
			fputc(';', m);
			put_name(m, stack_model__frame_name(f->sm, &fr[nf], false));
			if (fr[nf].module == SYM_MOD_KERNEL)
				fputs("_[k]", m);
		}
		if (fclose(m) || !text) {
			free(text);
			err = -ENOMEM;
			break;
		}
		for (key = text_hash(text); (v = (uintptr_t)idmap__get(&by_text, key)); key++)
			if (!strcmp(lines[v - 1].text, text))
				break;
		if (v) {
			lines[v - 1].value += t->value;
			free(text);
			continue;
		}
		if (n == cap) {
			struct folded_line *nl = realloc(lines, (cap ? 2 * cap : 64) * sizeof(*nl));

			if (!nl) {
				free(text);
				err = -ENOMEM;
				break;
			}
			lines = nl;
			cap = cap ? 2 * cap : 64;
		}
		lines[n] = (struct folded_line){ .text = text, .value = t->value };
		if (idmap__set(&by_text, key, (void *)(uintptr_t)++n))
			err = -ENOMEM;
	}
	put_lines(out, lines, n);
	free(lines);
	idmap__free(&by_text);
	return err ?: ferror(out) ? -EIO : 0;
}

static int fo_finish(void *st)
{
	struct folded *f = st;
	const struct proc_model *pm = f->c->pm;
	char pname[PS_COMM_LEN + 16], tname[PS_COMM_LEN + 16];

	if (f->err)
		return f->err;
	if (f->sm)
		return put_stacks(f);
	for (size_t i = 0; i < pm->nprocs; i++) {
		const struct ps_process *p = pm->order[i];

		export__process_name(pname, sizeof(pname), p, p->pid);
		for (size_t j = 0; j < p->nthreads; j++) {
			const struct ps_thread *t = p->threads[j];
			const uint64_t *ns = idmap__get(&f->totals, (uintptr_t)t);

			if (!ns)
				continue;
			export__thread_name(tname, sizeof(tname), t, t->tid);
			for (int s = TS_RUNNING; s < TS_MAX; s++) {
				if (s == TS_DEAD || ns[s] < 1000)
					continue;	/* under a microsecond rounds to nothing */
				put_frame(f->c->out, pname, p->pid);
				fputc(';', f->c->out);
				put_frame(f->c->out, tname, t->tid);
				fprintf(f->c->out, ";%s %llu\n", sched_model__state_name(s),
					(unsigned long long)(ns[s] / 1000));
			}
		}
	}
	return 0;
}

static void fo_free(void *st)
{
	struct folded *f = st;

	if (!f)
		return;
	for (size_t i = 0; i < f->totals.cap; i++)
		free(f->totals.vals[i]);
	idmap__free(&f->totals);
	stack_agg__free(&f->agg);
	stack_model__free(f->sm);
	free(f);
}

const struct export_format export_folded = {
	.name = "folded",
	.default_output = "procscope.folded",
	.models = SESSION_SCHED,
	.begin = fo_begin,
	.record = fo_record,
	.finish = fo_finish,
	.free = fo_free,
};
