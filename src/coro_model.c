// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Records -> coroutine stacks and who ran on them when (coro_model.h).
 *
 * Per process: every stack ever found (in order of discovery, for views),
 * a sorted array of the live stacks with known bounds (makecontext and
 * sigaltstack ranges, non-overlapping: a new one replaces what it
 * overlaps) and a map from region start to the region-sized stacks the
 * passive way found. Per thread: the stack in use (NULL: its own), its
 * own stack's range once seen, its alternate signal stack, and the current
 * run, whose on-CPU time is split among its stacks at the switch-out.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "coro_model.h"
#include "util.h"

#define SS_DISABLE_	2
/* stacks a run keeps apart before it credits by wall time alone */
#define RUN_SLOTS	8
/* an SP the layout cannot place: nothing is concluded from it */
#define UNKNOWN		((struct coro_stack *)1)

struct coro_proc {
	uint32_t pid;
	bool exact;		/* switch records seen */
	struct coro_stack **all;	/* discovery order */
	size_t nall, all_cap;
	struct coro_stack **live;	/* known bounds, sorted by start, disjoint */
	size_t nlive, live_cap;
	struct idmap regions;	/* region start -> CORO_FROM_REGION stack */
};

struct run_slot {
	struct coro_stack *stack;
	uint64_t wall_ns;
};

struct coro_thread {
	uint32_t tid, tgid;
	struct coro_stack *cur;	/* NULL: its own stack */
	uint64_t cur_since;
	bool cur_exact;		/* cur began at a switch record */
	bool seen;		/* cur is known */
	uint64_t own_lo, own_hi;	/* its own stack, once an SP was found there */
	bool own_known;		/* its own stack is labelled in the layout (see confirm()) */
	bool seen_own, multi;
	struct coro_stack *first_foreign;
	struct coro_stack *alt;	/* its alternate signal stack, NULL if none */
	struct coro_stack *left;	/* stack left at the last switch record (UNKNOWN: none) */
	/* the current run */
	bool running;
	uint64_t run_start;
	uint64_t run_base;	/* the kernel's total at the switch-in */
	bool run_base_known;
	uint64_t last_sum;	/* the kernel's total at its last switch */
	bool last_sum_known;
	struct coro_stack *run_first;	/* stack in use before the run's first switch */
	uint64_t first_pt, last_pt;	/* first and last switch in the run, 0 if none */
	struct run_slot slots[RUN_SLOTS];	/* wall time per stack between switches */
	unsigned nslots;
};

struct coro_model {
	struct proc_model *pm;
	const struct vm_model *vm;
	struct coro_callbacks cb;
	struct idmap procs;	/* pid -> coro_proc */
	struct idmap threads;	/* tid -> coro_thread */
};

/* ---- stacks ---- */

static struct coro_proc *get_proc(struct coro_model *m, uint32_t pid)
{
	struct coro_proc *p = idmap__get(&m->procs, pid);

	if (p)
		return p;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->pid = pid;
	if (idmap__set(&m->procs, pid, p)) {
		free(p);
		return NULL;
	}
	return p;
}

static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
	size_t c = *cap ? *cap * 2 : 8;
	void *a;

	if (n < *cap)
		return 0;
	a = realloc(*arr, c * elem);
	if (!a)
		return -ENOMEM;
	*arr = a;
	*cap = c;
	return 0;
}

static struct coro_stack *new_stack(struct coro_proc *p, uint64_t start, uint64_t end,
				    enum coro_kind kind, unsigned bounds)
{
	struct coro_stack *s;

	if (grow((void **)&p->all, &p->all_cap, p->nall, sizeof(*p->all)))
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->start = start;
	s->end = end;
	s->kind = kind;
	s->bounds = bounds;
	s->pid = p->pid;
	s->id = p->nall + 1;
	s->confirmed = bounds != CORO_FROM_REGION;
	p->all[p->nall++] = s;
	return s;
}

/* Index of the first live stack ending above ADDR. O(log n). */
static size_t live_lower(const struct coro_proc *p, uint64_t addr)
{
	size_t lo = 0, hi = p->nlive;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (p->live[mid]->end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct coro_stack *live_find(const struct coro_proc *p, uint64_t addr)
{
	size_t i = live_lower(p, addr);

	return i < p->nlive && p->live[i]->start <= addr ? p->live[i] : NULL;
}

/*
 * A stack with known bounds [START, END): the live one with exactly these
 * bounds and kind (a context made again on the same stack), or a new one
 * replacing the live stacks it overlaps (their memory was reused).
 */
static struct coro_stack *known_stack(struct coro_proc *p, uint64_t start, uint64_t end,
				      enum coro_kind kind, unsigned bounds)
{
	size_t i = live_lower(p, start), j = i;
	struct coro_stack *s;

	if (i < p->nlive && p->live[i]->start == start && p->live[i]->end == end &&
	    p->live[i]->kind == kind)
		return p->live[i];
	while (j < p->nlive && p->live[j]->start < end)
		j++;
	if (grow((void **)&p->live, &p->live_cap, p->nlive - (j - i) + 1, sizeof(*p->live)))
		return NULL;
	s = new_stack(p, start, end, kind, bounds);
	if (!s)
		return NULL;
	memmove(&p->live[i + 1], &p->live[j], (p->nlive - j) * sizeof(*p->live));
	p->nlive = p->nlive - (j - i) + 1;
	p->live[i] = s;
	return s;
}

static int add_tid(struct coro_stack *s, uint32_t tid)
{
	for (size_t i = 0; i < s->ntids; i++)
		if (s->tids[i] == tid)
			return 0;
	if (grow((void **)&s->tids, &s->tids_cap, s->ntids, sizeof(*s->tids)))
		return -ENOMEM;
	s->tids[s->ntids++] = tid;
	if (s->ntids > 1)
		s->confirmed = true;
	return 0;
}

/* ---- threads ---- */

static struct coro_thread *get_thread(struct coro_model *m, const struct ps_thread *t)
{
	struct coro_thread *ct = idmap__get(&m->threads, t->tid);

	if (ct && ct->tgid == t->tgid)
		return ct;
	if (!ct) {
		ct = malloc(sizeof(*ct));
		if (!ct)
			return NULL;
		if (idmap__set(&m->threads, t->tid, ct)) {
			free(ct);
			return NULL;
		}
	}
	/* new, or a reused tid in another process */
	memset(ct, 0, sizeof(*ct));
	ct->tid = t->tid;
	ct->tgid = t->tgid;
	ct->left = UNKNOWN;
	/* the layout labels the main stack and the stacks clone() handed out */
	ct->own_known = t->tid == t->tgid || (t->born_in_trace && t->clone_syscall);
	return ct;
}

/* A thread of a traced process, as the record's header names it; NULL otherwise. */
static struct ps_thread *thread_of(const struct coro_model *m, uint32_t tid, uint32_t tgid)
{
	struct ps_thread *t = tid ? proc_model__thread(m->pm, tid) : NULL;

	return t && t->tgid == tgid ? t : NULL;
}

/*
 * The stack SP of CT lies in: NULL for its own, UNKNOWN where the layout
 * has nothing, else the stack (found or made). O(log n).
 */
static struct coro_stack *stack_of(struct coro_model *m, struct coro_proc *p,
				   struct coro_thread *ct, uint64_t sp)
{
	struct coro_stack *s;
	struct vm_region r;

	if (ct->alt && ct->alt->start <= sp && sp < ct->alt->end)
		return ct->alt;
	s = live_find(p, sp);
	if (s)
		return s;
	if (ct->own_hi && ct->own_lo <= sp && sp < ct->own_hi)
		return NULL;
	if (vm_model__stack_region(m->vm, p->pid, sp, &r))
		return UNKNOWN;
	if ((ct->tid == ct->tgid && r.kind == VK_STACK) ||
	    (r.kind == VK_THREAD_STACK && r.tid == ct->tid)) {
		ct->own_lo = r.start < sp ? r.start : sp;	/* a main stack that grew below */
		ct->own_hi = r.end;
		return NULL;
	}
	s = idmap__get(&p->regions, r.start);
	if (s && s->end == r.end)
		return s;
	s = new_stack(p, r.start, r.end, CORO_KIND_COROUTINE, CORO_FROM_REGION);
	if (!s || idmap__set(&p->regions, r.start, s))
		return NULL;	/* out of memory: taken as its own stack */
	s->region_kind = r.kind;
	return s;
}

static void confirm(struct coro_thread *ct, struct coro_stack *s)
{
	if (!s) {
		ct->seen_own = true;
		if (ct->own_known && ct->first_foreign)
			ct->first_foreign->confirmed = true;
		return;
	}
	if (!ct->first_foreign)
		ct->first_foreign = s;
	else if (s != ct->first_foreign)
		ct->multi = true;
	if ((ct->multi && ct->own_known) || (ct->seen_own && ct->own_known)) {
		s->confirmed = true;
		ct->first_foreign->confirmed = true;
	}
}

static void emit(struct coro_model *m, struct coro_thread *ct, uint64_t end, bool exact)
{
	struct coro_segment seg;

	if (!ct->seen || !ct->cur || !m->cb.segment || !ct->cur->confirmed)
		return;
	seg.tid = ct->tid;
	seg.tgid = ct->tgid;
	seg.stack = ct->cur;
	seg.start_ns = ct->cur_since;
	seg.end_ns = end > ct->cur_since ? end : ct->cur_since;
	seg.exact = exact && ct->cur_exact;
	m->cb.segment(m->cb.ctx, &seg);
}

/*
 * CT is on S (NULL: its own stack) from TS on. SINCE: when that began as far
 * as is known (the switch's time, or for an SP seen at a switch-out the
 * start of the run). A change of stack, or a stack another thread ran last,
 * is a resume.
 */
static int move_to(struct coro_model *m, struct coro_thread *ct, struct coro_stack *s,
		   uint64_t ts, uint64_t since, bool exact)
{
	bool resumed = s && (!ct->seen || ct->cur != s || s->last_tid != ct->tid);

	if (ct->seen && ct->cur == s && !resumed)
		return 0;
	if (since < ct->cur_since)
		since = ct->cur_since;
	emit(m, ct, since, exact);
	ct->cur = s;
	ct->cur_since = since;
	ct->cur_exact = exact;
	ct->seen = true;
	if (!s)
		return 0;
	s->resumes++;
	s->last_tid = ct->tid;
	if (!s->first_ns)
		s->first_ns = ts;
	s->last_ns = ts;
	return add_tid(s, ct->tid);
}

/* Wall time WALL of the current run was spent on S. */
static void run_add(struct coro_thread *ct, struct coro_stack *s, uint64_t wall)
{
	for (unsigned i = 0; i < ct->nslots; i++) {
		if (ct->slots[i].stack == s) {
			ct->slots[i].wall_ns += wall;
			return;
		}
	}
	if (ct->nslots < RUN_SLOTS) {
		ct->slots[ct->nslots].stack = s;
		ct->slots[ct->nslots++].wall_ns = wall;
	} else if (s) {
		s->oncpu_ns += wall;	/* many stacks in one run: wall time, unscaled */
	}
}

static void run_begin(struct coro_thread *ct, uint64_t ts, const uint64_t *base)
{
	ct->running = true;
	ct->run_start = ts;
	ct->run_base_known = base != NULL;
	if (base) {
		ct->run_base = *base;
		ct->last_sum = *base;
		ct->last_sum_known = true;
	}
	ct->first_pt = ct->last_pt = 0;
	ct->nslots = 0;
	ct->run_first = ct->cur;
}

/*
 * The run ends at TS with the kernel's total TOTAL (NULL: unknown): its
 * on-CPU time, split by wall time among the stacks it ran on.
 */
static void run_end(struct coro_thread *ct, uint64_t ts, const uint64_t *total)
{
	uint64_t oncpu, wall, start;

	if (ct->running) {
		start = ct->run_start;
		if (total && ct->run_base_known && *total >= ct->run_base)
			oncpu = *total - ct->run_base;
		else
			oncpu = ts > start ? ts - start : 0;
	} else if (total && ct->last_sum_known && *total >= ct->last_sum) {
		/* the kernel did not report the switch-in: the run began its length ago */
		oncpu = *total - ct->last_sum;
		start = oncpu < ts ? ts - oncpu : 0;
	} else {
		/* nothing tells when it began: the first switch seen in it, else nothing */
		start = ct->first_pt ? ct->first_pt : ts;
		oncpu = ts - start;
	}
	if (ct->first_pt && ct->first_pt < start)
		start = ct->first_pt;
	if (ct->first_pt) {
		run_add(ct, ct->run_first, ct->first_pt - start);
		run_add(ct, ct->cur, ts > ct->last_pt ? ts - ct->last_pt : 0);
	} else {
		run_add(ct, ct->cur, ts > start ? ts - start : 0);
	}
	wall = ts > start ? ts - start : 0;
	for (unsigned i = 0; i < ct->nslots; i++) {
		struct coro_stack *s = ct->slots[i].stack;

		if (!s)
			continue;
		/* u64 overflow needs a run of 2^32 ns both ways: scale in double */
		s->oncpu_ns += wall ? (uint64_t)((double)oncpu * ct->slots[i].wall_ns / wall) :
				      (ct->nslots == 1 ? oncpu : 0);
	}
	ct->nslots = 0;
	ct->first_pt = ct->last_pt = 0;
	ct->running = false;
	if (total) {
		ct->last_sum = *total;
		ct->last_sum_known = true;
	}
}

/* ---- records ---- */

/* T: the thread switched out (the record's own), NULL if untraced or idle. */
static int on_switch(struct coro_model *m, const struct ps_switch *r, struct ps_thread *t)
{
	bool totals = r->h.size >= sizeof(*r);
	uint64_t ts = r->h.ts_ns, total = totals ? r->prev.sum_exec_ns : 0;
	uint64_t base = totals ? r->next_sum_exec_ns : 0;
	struct coro_stack *s = UNKNOWN;
	struct coro_thread *ct;
	struct coro_proc *p;
	int err = 0;

	if (t) {
		ct = get_thread(m, t);
		p = get_proc(m, r->h.tgid);
		if (!ct || !p)
			return -ENOMEM;
		if (r->prev_user_sp)	/* 0: a task past exit_mm() */
			s = stack_of(m, p, ct, r->prev_user_sp);
		/*
		 * Switched out inside swapcontext() (its sigprocmask call) after
		 * the probe at its entry and before the stack switch: the switch
		 * is under way, not undone.
		 */
		if (s != UNKNOWN && s == ct->left && s != ct->cur)
			s = UNKNOWN;
		if (s != UNKNOWN) {
			uint64_t since = ct->running ? ct->run_start : ts;

			if (s)
				s->sp_samples++;
			confirm(ct, s);
			if (ct->first_pt && s != ct->cur) {
				/* a switch the records missed: the run's last part goes to S */
				run_add(ct, ct->cur, ts > ct->last_pt ? ts - ct->last_pt : 0);
				ct->last_pt = ts;
				since = ts;
			}
			err = move_to(m, ct, s, ts, since, false);
		}
		run_end(ct, ts, totals ? &total : NULL);
	}
	t = thread_of(m, r->next_tid, r->next_tgid);
	if (t) {
		ct = get_thread(m, t);
		if (!ct)
			return -ENOMEM;
		run_begin(ct, ts, totals ? &base : NULL);
	}
	return err;
}

/*
 * A CPU sample or a memory call's stack: the thread is running, its SP is
 * where it runs (x86_64: regs[7] in DWARF order). One more look between
 * switch-outs (an off-CPU stack repeats its switch's SP): a stack seen
 * here that was not in use before is a resume. No run ends.
 */
static int on_sample(struct coro_model *m, struct coro_proc *p, struct coro_thread *ct,
		     const struct ps_ustack *r)
{
	struct coro_stack *s;

	/* with switch records the switches are known: nothing to learn here */
	if (p->exact || r->kind == PS_STK_OFFCPU || r->abi != PS_STK_ABI_X86_64 || !r->regs[7])
		return 0;
	s = stack_of(m, p, ct, r->regs[7]);
	if (s == UNKNOWN || (s == ct->left && s != ct->cur))
		return 0;
	if (s)
		s->sp_samples++;
	confirm(ct, s);
	return move_to(m, ct, s, r->h.ts_ns, r->h.ts_ns, false);
}

static int on_coro_switch(struct coro_model *m, struct coro_proc *p, struct coro_thread *ct,
			  const struct ps_coro_switch *r)
{
	struct coro_stack *to = stack_of(m, p, ct, r->to_sp);
	uint64_t ts = r->h.ts_ns;

	p->exact = true;
	if (to == UNKNOWN)
		return 0;
	if (!ct->running && !ct->first_pt) {
		/* its switch-in was not reported: run_end() finds the start from the totals */
		ct->run_start = ts;
		ct->run_base_known = false;
	}
	if (!ct->first_pt) {
		ct->first_pt = ts;
		ct->run_first = ct->cur;
	} else {
		run_add(ct, ct->cur, ts > ct->last_pt ? ts - ct->last_pt : 0);
	}
	ct->last_pt = ts;
	ct->left = ct->cur;
	if (to && to->kind == CORO_KIND_COROUTINE)
		to->confirmed = true;
	return move_to(m, ct, to, ts, ts, true);
}

static int on_sigaltstack(struct coro_proc *p, struct coro_thread *ct,
			  const struct ps_sigaltstack *r)
{
	if (r->ret)
		return 0;
	if (!r->sp || !r->size || (r->flags & SS_DISABLE_)) {
		ct->alt = NULL;
		return 0;
	}
	ct->alt = known_stack(p, r->sp, r->sp + r->size, CORO_KIND_SIGALTSTACK,
			      CORO_FROM_SIGALTSTACK);
	return ct->alt ? 0 : -ENOMEM;
}

/* The address space was replaced: its stacks are gone (they stay in the report). */
static void on_exec(struct coro_model *m, struct coro_proc *p)
{
	p->nlive = 0;
	idmap__free(&p->regions);
	for (size_t i = 0; i < m->threads.cap; i++) {
		struct coro_thread *ct = m->threads.vals[i];

		if (ct && ct->tgid == p->pid) {
			ct->cur = NULL;
			ct->alt = NULL;
			ct->left = UNKNOWN;
			ct->own_lo = ct->own_hi = 0;
		}
	}
}

int coro_model__apply(struct coro_model *m, const struct ps_hdr *h, struct ps_thread *t)
{
	struct coro_thread *ct;
	struct coro_proc *p;

	switch (h->type) {
	case PS_REC_SWITCH:
		return on_switch(m, (const void *)h, t);
	case PS_REC_EXEC: {
		const struct ps_exec *r = (const void *)h;

		p = idmap__get(&m->procs, h->tgid);
		if (p)
			on_exec(m, p);
		if (t && h->size >= sizeof(*r)) {
			/* its total so far: the first run's start if its switch-in is not seen */
			ct = get_thread(m, t);
			if (!ct)
				return -ENOMEM;
			ct->last_sum = r->totals.sum_exec_ns;
			ct->last_sum_known = true;
		}
		return 0;
	}
	case PS_REC_SIGALTSTACK:
	case PS_REC_CORO_MAKE:
	case PS_REC_CORO_SWITCH:
	case PS_REC_USTACK:
		break;
	default:
		return 0;
	}
	if (!t)
		return 0;
	p = get_proc(m, h->tgid);
	ct = get_thread(m, t);
	if (!p || !ct)
		return -ENOMEM;
	switch (h->type) {
	case PS_REC_SIGALTSTACK:
		return on_sigaltstack(p, ct, (const void *)h);
	case PS_REC_USTACK:
		return on_sample(m, p, ct, (const void *)h);
	case PS_REC_CORO_MAKE: {
		const struct ps_coro_make *r = (const void *)h;

		p->exact = true;
		if (!r->stack_size || r->stack_lo + r->stack_size < r->stack_lo)
			return 0;
		return known_stack(p, r->stack_lo, r->stack_lo + r->stack_size,
				   CORO_KIND_COROUTINE, CORO_FROM_CALL) ? 0 : -ENOMEM;
	}
	default:
		return on_coro_switch(m, p, ct, (const void *)h);
	}
}

void coro_model__finish(struct coro_model *m, uint64_t end_ns)
{
	for (size_t i = 0; i < m->threads.cap; i++) {
		struct coro_thread *ct = m->threads.vals[i];
		struct ps_thread *t;

		if (!ct)
			continue;
		t = proc_model__thread(m->pm, ct->tid);
		emit(m, ct, t && t->exited && t->end_ns < end_ns ? t->end_ns : end_ns, true);
		ct->seen = false;
	}
}

/* ---- queries ---- */

static int by_start(const void *a, const void *b)
{
	const struct coro_stack *x = *(const struct coro_stack *const *)a;
	const struct coro_stack *y = *(const struct coro_stack *const *)b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

void coro_model__for_each_stack(const struct coro_model *m, uint32_t pid,
				void (*fn)(void *ctx, const struct coro_stack *s), void *ctx)
{
	const struct coro_proc *p = idmap__get(&m->procs, pid);
	struct coro_stack **v;
	size_t n = 0;

	if (!p || !p->nall)
		return;
	v = malloc(p->nall * sizeof(*v));
	if (!v)
		return;
	for (size_t i = 0; i < p->nall; i++)
		if (p->all[i]->confirmed)
			v[n++] = p->all[i];
	qsort(v, n, sizeof(*v), by_start);
	for (size_t i = 0; i < n; i++)
		fn(ctx, v[i]);
	free(v);
}

size_t coro_model__count(const struct coro_model *m, uint32_t pid)
{
	size_t n = 0;

	for (size_t i = 0; i < m->procs.cap; i++) {
		const struct coro_proc *p = m->procs.vals[i];

		if (!p || (pid && p->pid != pid))
			continue;
		for (size_t j = 0; j < p->nall; j++)
			n += p->all[j]->confirmed;
	}
	return n;
}

bool coro_model__exact(const struct coro_model *m, uint32_t pid)
{
	const struct coro_proc *p = idmap__get(&m->procs, pid);

	return p && p->exact;
}

struct coro_model *coro_model__new(struct proc_model *pm, const struct vm_model *vm,
				   const struct coro_callbacks *cb)
{
	struct coro_model *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->pm = pm;
	m->vm = vm;
	if (cb)
		m->cb = *cb;
	return m;
}

void coro_model__free(struct coro_model *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->procs.cap; i++) {
		struct coro_proc *p = m->procs.vals[i];

		if (!p)
			continue;
		for (size_t j = 0; j < p->nall; j++) {
			free(p->all[j]->tids);
			free(p->all[j]);
		}
		free(p->all);
		free(p->live);
		idmap__free(&p->regions);
		free(p);
	}
	for (size_t i = 0; i < m->threads.cap; i++)
		free(m->threads.vals[i]);
	idmap__free(&m->procs);
	idmap__free(&m->threads);
	free(m);
}
