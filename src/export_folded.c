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
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "export.h"
#include "sched_model.h"

struct folded {
	struct export_ctx *c;
	struct sched_callbacks cb;
	struct idmap totals;	/* ps_thread pointer -> uint64_t[TS_MAX] of ns */
	int err;
};

static void on_interval(void *ctx, const struct sched_interval *iv)
{
	struct folded *f = ctx;
	const struct ps_thread *t = proc_model__thread(f->c->pm, iv->tid);
	uint64_t start = iv->start_ns, end = iv->end_ns;
	uint64_t *ns;

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

static void *fo_begin(struct export_ctx *c, struct session_callbacks *cb)
{
	struct folded *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->c = c;
	f->cb.interval = on_interval;
	f->cb.ctx = f;
	cb->sched = &f->cb;
	return f;
}

static int fo_record(void *st, const struct session_event *ev)
{
	struct folded *f = st;

	(void)ev;
	return f->err;
}

static int fo_finish(void *st)
{
	struct folded *f = st;
	const struct proc_model *pm = f->c->pm;
	char pname[PS_COMM_LEN + 16], tname[PS_COMM_LEN + 16];

	if (f->err)
		return f->err;
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
