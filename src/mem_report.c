// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The memory section of the report. Reads the session's address-space
 * model and keeps, from its counter callbacks, per process a bounded
 * series of heap sizes for the chart: at most
 * MAX_POINTS (time, bytes) pairs; when full, neighbours are paired keeping
 * the larger size, so peaks survive and memory stays bounded whatever the
 * trace length.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "idmap.h"
#include "mem_report.h"
#include "rec_info.h"
#include "util.h"

#define MAX_POINTS	1024
#define CHART_COLS	60
#define CHART_ROWS	5
#define TOP_MAPS	MEM_REPORT_TOP_MAPS

struct heap_point {
	uint64_t ts_ns;
	uint64_t bytes;
};

/* Grows as points come (most processes have a handful): 16 KiB only where needed. */
struct heap_series {
	size_t n, cap;
	uint64_t last;
	struct heap_point pt[];
};

struct mem_report {
	struct vm_callbacks cb;
	struct idmap series;	/* pid -> heap_series */
	bool oom;
};

static void on_counters(void *ctx, const struct ps_process *p, uint64_t ts_ns,
			const struct vm_counters *c)
{
	struct mem_report *mr = ctx;
	struct heap_series *s = idmap__get(&mr->series, p->pid);

	if (!s) {
		s = calloc(1, sizeof(*s) + 4 * sizeof(s->pt[0]));
		if (!s || idmap__set(&mr->series, p->pid, s)) {
			free(s);
			mr->oom = true;
			return;
		}
		s->cap = 4;
	} else if (s->n && s->last == c->heap_bytes) {
		return;
	}
	if (s->n == s->cap && s->cap < MAX_POINTS) {
		struct heap_series *g = realloc(s, sizeof(*s) + 2 * s->cap * sizeof(s->pt[0]));

		if (!g) {
			mr->oom = true;
			return;
		}
		idmap__set(&mr->series, p->pid, g);	/* a replacement: cannot fail */
		s = g;
		s->cap *= 2;
	}
	if (s->n == MAX_POINTS) {
		for (size_t i = 0; i < MAX_POINTS / 2; i++) {
			const struct heap_point *a = &s->pt[2 * i], *b = &s->pt[2 * i + 1];

			s->pt[i] = a->bytes >= b->bytes ? *a : *b;
		}
		s->n = MAX_POINTS / 2;
	}
	s->pt[s->n].ts_ns = ts_ns;
	s->pt[s->n].bytes = c->heap_bytes;
	s->n++;
	s->last = c->heap_bytes;
}

struct mem_report *mem_report__new(void)
{
	struct mem_report *mr = calloc(1, sizeof(*mr));

	if (!mr)
		return NULL;
	mr->cb.counters = on_counters;
	mr->cb.ctx = mr;
	return mr;
}

const struct vm_callbacks *mem_report__vm_callbacks(struct mem_report *mr)
{
	return &mr->cb;
}

int mem_report__error(const struct mem_report *mr)
{
	return mr->oom ? -ENOMEM : 0;
}

struct largest {
	struct vm_region r[TOP_MAPS];
	size_t n;
};

static void keep_largest(void *ctx, const struct vm_region *r)
{
	struct largest *l = ctx;
	uint64_t len = r->end - r->start;
	size_t i;

	for (i = l->n; i > 0 && l->r[i - 1].end - l->r[i - 1].start < len; i--)
		;
	if (i >= TOP_MAPS)
		return;
	if (l->n < TOP_MAPS)
		l->n++;
	memmove(&l->r[i + 1], &l->r[i], (l->n - 1 - i) * sizeof(l->r[0]));
	l->r[i] = *r;
}

static void chart(FILE *f, const struct heap_series *s, const struct session *ses, uint64_t end_ns)
{
	uint64_t col[CHART_COLS] = { 0 }, peak = 0, t0, span;
	char sz[32];
	size_t k = 0;

	if (!s || !s->n)
		return;
	t0 = s->pt[0].ts_ns;
	if (end_ns <= t0)
		end_ns = s->pt[s->n - 1].ts_ns + 1;
	span = end_ns - t0 ? end_ns - t0 : 1;
	/* each column: the largest heap size during its slice of time (carried forward) */
	for (int c = 0; c < CHART_COLS; c++) {
		uint64_t hi = t0 + span * (c + 1) / CHART_COLS;
		uint64_t v = k ? s->pt[k - 1].bytes : s->pt[0].bytes;

		while (k < s->n && s->pt[k].ts_ns < hi) {
			if (s->pt[k].bytes > v)
				v = s->pt[k].bytes;
			k++;
		}
		col[c] = v;
		if (v > peak)
			peak = v;
	}
	if (!peak)
		return;
	fprintf(f, "    heap size over time (%.3f s .. %.3f s):\n", session__sec(ses, t0),
		session__sec(ses, end_ns));
	for (int row = CHART_ROWS; row > 0; row--) {
		if (row == CHART_ROWS)
			fprintf(f, "    %10s |", ps_fmt_size(sz, sizeof(sz), peak));
		else
			fprintf(f, "    %10s |", "");
		for (int c = 0; c < CHART_COLS; c++) {
			/* a column reaches this row if it is above the row's lower edge */
			bool on = col[c] * CHART_ROWS > peak * (row - 1) && col[c];

			fputc(on ? '#' : ' ', f);
		}
		fputc('\n', f);
	}
	fprintf(f, "    %10s +", "0 B");
	for (int c = 0; c < CHART_COLS; c++)
		fputc('-', f);
	fputc('\n', f);
}

/* The calls beyond mmap and friends, and how often the kernel corrected the layout. */
static void print_calls(FILE *f, const struct vm_proc_stats *st)
{
	int n = 0;

	fprintf(f, "    other calls:  ");
	for (unsigned op = 1; op < PS_MEMOP_MAX; op++)
		if (st->nmemop[op])
			fprintf(f, "%s %s %llu", n++ ? "," : "", rec_info__memop_name(op),
				(unsigned long long)st->nmemop[op]);
	if (st->nmemop_failed)
		fprintf(f, " (%llu failed)", (unsigned long long)st->nmemop_failed);
	if (st->nbrk_failed)
		fprintf(f, "%s brk failed %llu", n++ ? "," : "", (unsigned long long)st->nbrk_failed);
	fprintf(f, "%s\n", n ? "" : " none");
	/* the kernel's VMAs after a call differed from the model's: a modelling gap or a lost record */
	fprintf(f, "    layout corrections: %llu\n", (unsigned long long)st->corrections);
}

void mem_report__process(FILE *f, const struct mem_report *mr, struct session *s,
			 const struct ps_process *p)
{
	const struct vm_model *vm = session__vm(s);
	struct largest l = { .n = 0 };
	struct vm_proc_stats st;
	char a[32], b[32], c[32];
	size_t shown = 0;

	if (vm_model__proc_stats(vm, p->pid, &st) || !st.known) {
		fprintf(f, "  memory:    no layout recorded (not exec'd, forked or snapshotted in the trace)\n");
		return;
	}
	fprintf(f, "  memory:\n");
	fprintf(f, "    heap:          start 0x%llx, peak %s, final %s, %llu brk calls\n",
		(unsigned long long)st.start_brk, ps_fmt_size(a, sizeof(a), st.heap_peak_bytes),
		ps_fmt_size(b, sizeof(b), st.now.heap_bytes), (unsigned long long)st.nbrk);
	fprintf(f, "    anon maps:     peak %s, final %s (mmap %llu, munmap %llu, mremap %llu, "
		"mprotect %llu calls)\n", ps_fmt_size(a, sizeof(a), st.anon_peak_bytes),
		ps_fmt_size(b, sizeof(b), st.now.anon_bytes), (unsigned long long)st.nmmap,
		(unsigned long long)st.nmunmap, (unsigned long long)st.nmremap,
		(unsigned long long)st.nmprotect);
	print_calls(f, &st);
	fprintf(f, "    main stack:    peak %s mapped, final %s\n",
		ps_fmt_size(a, sizeof(a), st.stack_peak_bytes),
		ps_fmt_size(b, sizeof(b), st.now.stack_bytes));
	fprintf(f, "    thread stacks: %s mapped at the end\n",
		ps_fmt_size(a, sizeof(a), st.thread_stack_bytes));
	fprintf(f, "    stack depth:   peak per thread (stack top - user SP at switch-out):");
	for (size_t i = 0; i < p->nthreads; i++) {
		uint64_t d = vm_model__thread_peak_depth(vm, p->threads[i]);

		if (!d)
			continue;
		if (shown && shown % 4 == 0)
			fprintf(f, "\n                  ");
		fprintf(f, " %u %s", p->threads[i]->tid, ps_fmt_size(a, sizeof(a), d));
		shown++;
	}
	fprintf(f, "%s\n", shown ? "" : " none sampled");
	fprintf(f, "    rss:           peak %s, final %s (file+anon+shmem, in %s steps)\n",
		ps_fmt_size(a, sizeof(a), st.rss_peak_bytes),
		ps_fmt_size(b, sizeof(b), st.now.rss_bytes), ps_fmt_size(c, sizeof(c), 256 << 10));
	vm_model__for_each_region(vm, p->pid, keep_largest, &l);
	fprintf(f, "    largest maps:\n");
	for (size_t i = 0; i < l.n; i++) {
		const struct vm_region *r = &l.r[i];

		fprintf(f, "      %10s  0x%012llx-0x%012llx %-12s %s", ps_fmt_size(a, sizeof(a), r->end - r->start),
			(unsigned long long)r->start, (unsigned long long)r->end,
			vm_model__kind_name(r->kind), r->path ? r->path : "");
		if (r->kind == VK_THREAD_STACK)
			fprintf(f, "thread %u", r->tid);
		fputc('\n', f);
	}
	chart(f, idmap__get(&mr->series, p->pid), s,
	      p->exited ? p->end_ns : session__procs(s)->last_ns);
}

void mem_report__free(struct mem_report *mr)
{
	if (!mr)
		return;
	for (size_t i = 0; i < mr->series.cap; i++)
		free(mr->series.vals[i]);
	idmap__free(&mr->series);
	free(mr);
}
