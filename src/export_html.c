// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * HTML export: one self-contained page (assets/viewer/: page, CSS and JS
 * compiled into the binary) that films each process: its layout moving
 * through time on a slider, its memory counters, its threads' lanes
 * (export_html_lanes.c), its memory calls (export_html_calls.c) and the
 * process tree; on a busy session, the busiest processes only
 * (export_html_procs.c). The page fetches nothing.
 *
 * The data goes into the page as one JSON array of small arrays, written
 * as the models produce them (the page groups them by process at load):
 *
 *   {header}                      first: time grid, command, kernel, the
 *                                 processes not drawn (export_html_procs.c)
 *   ["S", idx, "path"]            a mapped file's path, before its first use
 *   ["R", puid, id, "start", "end", prot|shared<<3, kind, path idx or -1,
 *    tid, opened, closed or -1 [, created, created_tid [, how, changes,
 *    changed [, pieces, "mapped"]]]]  one version of a region: [opened,
 *                                 closed); PIECES regions folded into one
 *                                 band with MAPPED bytes (see fold_runs)
 *   ["F", child, parent, t]       a fork: the child has the parent's versions
 *                                 alive at t, from t on, until
 *   ["r", puid, id, t]            one of them ends in the child, or
 *   ["E", puid, t]                all those left end (exec, or never seen)
 *   ["C", puid, series, [t, v, ...]]   counter points (heap, anon, main
 *                                 stack, thread stacks, RSS)
 *   ["L", tuid, start, [item, ...]]    thread lane: contiguous items from START
 *   ["W", tuid, [t, n, ...]]      wakeups: first in a pixel column, how many
 *   ["K", tuid, [col, min, max, ...]]  stack depth bytes at switch-outs
 *   ["M", puid, tid, t, "name", "args"]  a memory call
 *   ["m", puid, col, n]           calls of a column not kept whole
 *   ["X", puid, t, "filename"]    an exec
 *   ["P", ...], ["T", ...]        processes and threads, at the end
 *   {footer}                      last: records read, lost
 *
 * Times are ns from the grid's start (lo, below). Addresses are hex text:
 * JavaScript numbers keep 53 bits.
 *
 * Size. The time axis is HTML_COLS pixel columns of col_ns each; the
 * slider stops at each column's start (and at the end). Long timelines are
 * folded per column, keeping what a column can show:
 *   - a region version is kept only if the slider can stop inside it, so
 *     the layout at every slider position is exact, and maps that came and
 *     went between two positions cost nothing (their calls are marks); a
 *     layout is compared with its versions once per column it changed in
 *     (regions_check), not at every call;
 *   - a run of many like regions with holes between is one band
 *     (fold_runs): the layout is downsampled in addresses too;
 *   - a thread's intervals shorter than a column are merged into one
 *     "mixed" item per column holding the ns spent running, runnable and
 *     blocked, so running time sums exactly;
 *   - a counter keeps, per column, its first, lowest, highest and last
 *     point; stack depth its lowest and highest; wakeups their first time
 *     and count; memory calls the first HTML_CALLS_PER_COL whole, then a
 *     count.
 * Memory: per live process its open region versions, per thread a few
 * numbers, and buffers of at most HTML_CHUNK numbers while it lives; never
 * the trace length.
 *
 * The JSON sits in a <script> element: every '<' is written as \u003c (a
 * '<' can only occur inside a JSON string) so no name or path can end the
 * element.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "export_html.h"
#include "task_state.h"
#include "util.h"
#include "html_assets.h"	/* generated from assets/viewer/ by the Makefile */

#define HTML_FORMAT_VERSION	1

static const char *const series_names[NSERIES] = {
	"heap", "anon", "stack", "thread stacks", "rss",
};

/* ---- the page's bytes around the data ---- */

/* fopencookie write: '<' becomes \u003c; everything else as is. */
static ssize_t escape_write(void *cookie, const char *buf, size_t len)
{
	FILE *out = cookie;
	size_t i = 0, j;

	while (i < len) {
		for (j = i; j < len && buf[j] != '<'; j++)
			;
		if (j > i && fwrite(buf + i, 1, j - i, out) != j - i)
			return -1;
		if (j < len && fputs("\\u003c", out) == EOF)
			return -1;
		i = j + (j < len);
	}
	return len;
}

/* Writes the template between marker FROM (NULL: its start) and marker TO (NULL: its end). */
static void put_part(FILE *out, const char *from, const char *to)
{
	const char *t = (const char *)html_page_html, *end = t + sizeof(html_page_html);
	const char *a = t, *b = end;

	if (from) {
		a = memmem(t, end - t, from, strlen(from));
		a = a ? a + strlen(from) : end;
	}
	if (to) {
		b = memmem(a, end - a, to, strlen(to));
		if (!b)
			b = end;
	}
	fwrite(a, 1, b - a, out);
}

/* ---- time grid ---- */
/* Slider position K: the start of column K; the last one is the end. */
static uint64_t stop_ns(const struct html *x, uint64_t k)
{
	uint64_t t = x->lo + k * x->col_ns;

	return k >= HTML_COLS || t > x->hi ? x->hi : t;
}

/* Can the slider stop in [opened, closed)? closed UINT64_MAX: still there at the end. */
static bool seen_by_slider(const struct html *x, uint64_t opened, uint64_t closed)
{
	uint64_t k;

	if (opened > x->hi)
		return false;
	if (closed == UINT64_MAX)
		return true;
	k = opened <= x->lo ? 0 : (opened - x->lo + x->col_ns - 1) / x->col_ns;
	return stop_ns(x, k) < closed;
}

/* ---- buffered number lists ---- */

void html__buf_flush(struct html *x, struct hx_buf *b, const char *tag, uint32_t uid,
		     int64_t head, bool has_head)
{
	if (!b->n)
		return;
	json_writer__begin_array(&x->w);
	json_writer__string(&x->w, tag);
	json_writer__uint(&x->w, uid);
	if (has_head)
		json_writer__int(&x->w, head);
	json_writer__begin_array(&x->w);
	for (unsigned i = 0; i < b->n; i++)
		json_writer__int(&x->w, b->v[i]);
	json_writer__end_array(&x->w);
	json_writer__end_array(&x->w);
	b->n = 0;
}

/*
 * Room for K more numbers in B: false when B is full (flush it) or, with
 * x->oom set, when there is no memory. Small first: most threads and
 * processes write a few numbers only.
 */
bool html__buf_room(struct html *x, struct hx_buf *b, unsigned k)
{
	if (b->n + k <= b->cap)
		return true;
	if (b->cap < HTML_CHUNK) {
		unsigned cap = b->cap ? 4 * b->cap : 8;
		int64_t *v;

		if (cap > HTML_CHUNK)
			cap = HTML_CHUNK;
		v = realloc(b->v, cap * sizeof(*v));
		if (!v) {
			x->oom = true;
			return false;
		}
		b->v = v;
		b->cap = cap;
		return b->n + k <= b->cap;
	}
	return false;
}

void html__buf_release(struct hx_buf *b)
{
	free(b->v);
	b->v = NULL;
	b->n = b->cap = 0;
}

/* ---- processes and threads ---- */

struct hx_proc *html__proc(struct html *x, const struct ps_process *p)
{
	struct hx_proc *hp = idmap__get(&x->procs, (uintptr_t)p);

	if (hp)
		return hp;
	hp = calloc(1, sizeof(*hp));
	if (!hp || idmap__set(&x->procs, (uintptr_t)p, hp)) {
		free(hp);
		x->oom = true;
		return NULL;
	}
	hp->uid = x->nuids++;
	hp->pid = p->pid;
	hp->call_col = -1;
	for (int i = 0; i < NSERIES; i++)
		hp->s[i].col = -1;
	return hp;
}

/* ---- counters ---- */

static void series_point(struct html *x, struct hx_series *s, uint32_t uid, int which,
			 uint64_t t, uint64_t v)
{
	if (!html__buf_room(x, &s->out, 2)) {
		if (x->oom)
			return;
		html__buf_flush(x, &s->out, "C", uid, which, true);
	}
	s->out.v[s->out.n++] = html__rel(x, t);
	s->out.v[s->out.n++] = v;
}

/* The folded column's points, in time order, each once. */
static void series_flush(struct html *x, struct hx_series *s, uint32_t uid, int which)
{
	int order[4] = { 0, 1, 2, 3 };

	if (s->col < 0)
		return;
	if (s->t[2] < s->t[1]) {
		order[1] = 2;
		order[2] = 1;
	}
	for (int i = 0; i < 4; i++) {
		int k = order[i];
		bool dup = false;

		for (int j = 0; j < i; j++)
			if (s->t[order[j]] == s->t[k])
				dup = true;
		if (!dup)
			series_point(x, s, uid, which, s->t[k], s->v[k]);
	}
	s->col = -1;
}

static void series_add(struct html *x, struct hx_series *s, uint32_t uid, int which,
		       uint64_t t, uint64_t v)
{
	int64_t col;

	if (t < x->lo) {	/* before the window: its value at the start */
		s->pre = true;
		s->pre_v = v;
		return;
	}
	if (t > x->hi || !export__want_ts(x->c, t))
		return;
	if (s->pre) {
		s->pre = false;
		if (t > x->lo) {
			s->col = 0;
			for (int i = 0; i < 4; i++) {
				s->t[i] = x->lo;
				s->v[i] = s->pre_v;
			}
		}
	}
	col = html__col_of(x, t);
	if (col != s->col) {
		series_flush(x, s, uid, which);
		s->col = col;
		for (int i = 0; i < 4; i++) {
			s->t[i] = t;
			s->v[i] = v;
		}
		return;
	}
	if (v < s->v[1]) {
		s->t[1] = t;
		s->v[1] = v;
	}
	if (v > s->v[2]) {
		s->t[2] = t;
		s->v[2] = v;
	}
	s->t[3] = t;
	s->v[3] = v;
}

static void on_counters(void *ctx, const struct ps_process *p, uint64_t ts,
			const struct vm_counters *vc)
{
	struct html *x = ctx;
	struct vm_proc_stats st;
	uint64_t v[NSERIES];
	struct hx_proc *hp;

	if (!html__want(x, p))
		return;
	hp = html__proc(x, p);
	if (!hp)
		return;
	vm_model__proc_stats(session__vm(x->c->s), p->pid, &st);
	v[S_HEAP] = vc->heap_bytes;
	v[S_ANON] = vc->anon_bytes;
	v[S_STACK] = vc->stack_bytes;
	v[S_TSTACK] = st.thread_stack_bytes;
	v[S_RSS] = vc->rss_bytes;
	for (int i = 0; i < NSERIES; i++)
		series_add(x, &hp->s[i], hp->uid, i, ts, v[i]);
}

static void proc_flush(struct html *x, struct hx_proc *hp);

/* ---- regions ---- */

static int64_t path_index(struct html *x, const char *path)
{
	uintptr_t idx;

	if (!path)
		return -1;
	idx = (uintptr_t)idmap__get(&x->paths, (uintptr_t)path);
	if (idx)
		return idx - 1;
	idx = ++x->npaths;
	if (idmap__set(&x->paths, (uintptr_t)path, (void *)idx)) {
		x->oom = true;
		return -1;
	}
	json_writer__begin_array(&x->w);
	json_writer__string(&x->w, "S");
	json_writer__uint(&x->w, idx - 1);
	json_writer__string(&x->w, path);
	json_writer__end_array(&x->w);
	return idx - 1;
}

static void hex(struct html *x, uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%llx", (unsigned long long)v);
	json_writer__string(&x->w, buf);
}

/* A version that ended at CLOSED (UINT64_MAX: still there at the end, or at the exit). */
static void region_out(struct html *x, const struct hx_proc *hp, const struct hx_region *v,
		       uint64_t closed)
{
	const struct vm_region *r = &v->r;
	int64_t path;

	if (v->inherited) {	/* the page has it from the parent: only its end */
		json_writer__begin_array(&x->w);
		json_writer__string(&x->w, "r");
		json_writer__uint(&x->w, hp->uid);
		json_writer__uint(&x->w, v->id);
		json_writer__int(&x->w, html__rel(x, closed));
		json_writer__end_array(&x->w);
		return;
	}
	if (!v->referenced && !seen_by_slider(x, v->opened_ns, closed))
		return;
	path = path_index(x, r->path);
	json_writer__begin_array(&x->w);
	json_writer__string(&x->w, "R");
	json_writer__uint(&x->w, hp->uid);
	json_writer__uint(&x->w, v->id);
	hex(x, r->start);
	hex(x, r->end);
	json_writer__uint(&x->w, (r->prot & 7) | (r->shared ? 8 : 0));
	json_writer__uint(&x->w, r->kind);
	json_writer__int(&x->w, path);
	json_writer__uint(&x->w, r->kind == VK_THREAD_STACK ? r->tid : 0);
	json_writer__int(&x->w, html__rel(x, v->opened_ns));
	json_writer__int(&x->w, closed == UINT64_MAX ? -1 : html__rel(x, closed));
	/* where they say more than "made then by the call that opened it" */
	if ((r->created_ns && r->created_ns != v->opened_ns) || r->created_tid || r->changes ||
	    v->pieces > 1) {
		json_writer__int(&x->w, html__rel(x, r->created_ns ? r->created_ns : v->opened_ns));
		json_writer__uint(&x->w, r->created_tid);
	}
	if (r->changes || v->pieces > 1) {
		json_writer__uint(&x->w, r->how);
		json_writer__uint(&x->w, r->changes);
		json_writer__int(&x->w, r->changed_ns ? html__rel(x, r->changed_ns) : -1);
	}
	if (v->pieces > 1) {	/* a folded run */
		json_writer__uint(&x->w, v->pieces);
		hex(x, v->mapped);
	}
	json_writer__end_array(&x->w);
}

static bool same_region(const struct hx_region *va, const struct hx_region *vb)
{
	const struct vm_region *a = &va->r, *b = &vb->r;

	return a->start == b->start && a->end == b->end && a->prot == b->prot &&
	       a->shared == b->shared && a->kind == b->kind && a->path == b->path &&
	       a->pgoff == b->pgoff && (a->kind != VK_THREAD_STACK || a->tid == b->tid) &&
	       va->pieces == vb->pieces && va->mapped == vb->mapped;
}

static void collect(void *ctx, const struct vm_region *r)
{
	struct html *x = ctx;

	if (x->ncur == x->curcap) {
		size_t cap = x->curcap ? 2 * x->curcap : 256;
		struct hx_region *a = realloc(x->cur, cap * sizeof(*a));

		if (!a) {
			x->oom = true;
			return;
		}
		x->cur = a;
		x->curcap = cap;
	}
	x->cur[x->ncur++] = (struct hx_region){ .r = *r, .pieces = 1, .mapped = r->end - r->start };
}

/*
 * Address-space downsampling: a run of at least HTML_FOLD_MIN neighbouring
 * regions alike (kind, path, permissions, sharing; not stacks, each one
 * a thread's) with gaps under HTML_FOLD_GAP between them is
 * one band of the page (its pieces and bytes mapped are told): a map
 * punched full of holes (stress-ng's mmap stressor makes thousands of 4 KiB
 * pieces at once) or a heap split into thousands of pieces (stress-ng's brk
 * stressor) is a handful of pixels, not thousands of versions at every
 * slider position. Ordinary layouts have no such runs (libraries
 * alternate permissions, thread stacks alternate with their guards) and
 * stay region for region.
 */
#define HTML_FOLD_MIN	16
#define HTML_FOLD_GAP	(64ULL << 20)	/* the page folds gaps from 64 MiB */

static bool foldable(const struct vm_region *a, const struct vm_region *b)
{
	return b->start - a->end < HTML_FOLD_GAP && a->kind == b->kind && a->path == b->path &&
	       a->prot == b->prot && a->shared == b->shared && a->kind != VK_STACK &&
	       a->kind != VK_THREAD_STACK;
}

static void fold_runs(struct html *x)
{
	size_t i = 0, n = 0;

	while (i < x->ncur) {
		size_t j = i + 1;
		struct hx_region f;

		while (j < x->ncur && foldable(&x->cur[j - 1].r, &x->cur[j].r))
			j++;
		if (j - i < HTML_FOLD_MIN) {
			memmove(&x->cur[n], &x->cur[i], (j - i) * sizeof(*x->cur));
			n += j - i;
			i = j;
			continue;
		}
		f = x->cur[i];
		for (size_t k = i + 1; k < j; k++) {
			const struct vm_region *r = &x->cur[k].r;

			f.mapped += r->end - r->start;
			f.r.changes += r->changes;
			f.r.how |= r->how;
			if (r->created_ns < f.r.created_ns)
				f.r.created_ns = r->created_ns;
			if (r->changed_ns > f.r.changed_ns)
				f.r.changed_ns = r->changed_ns;
		}
		f.r.end = x->cur[j - 1].r.end;
		f.r.created_tid = 0;
		f.pieces = j - i;
		x->cur[n++] = f;
		i = j;
	}
	x->ncur = n;
}

/*
 * Compares the model's regions of HP's process (folded) with its open
 * versions: those that differ end at TS, the new ones open at TS. Both
 * lists are sorted by start and disjoint: one merge pass, O(regions).
 */
static void regions_diff(struct html *x, struct hx_proc *hp, uint64_t ts)
{
	size_t i = 0, j = 0, n = 0, cap, inherited = 0;
	struct hx_region *tmp;
	bool all_gone;

	x->ncur = 0;
	vm_model__for_each_region(session__vm(x->c->s), hp->pid, collect, x);
	if (x->oom)
		return;
	fold_runs(x);
	if (x->ncur > x->nextcap) {
		tmp = realloc(x->next, x->ncur * sizeof(*tmp));
		if (!tmp) {
			x->oom = true;
			return;
		}
		x->next = tmp;
		x->nextcap = x->ncur;
	}
	for (size_t k = 0; k < hp->nopen; k++)
		inherited += hp->open[k].inherited;
	/* exec: every inherited version ends at once, in one record */
	all_gone = false;
	if (inherited > 1) {
		size_t kept = 0;

		for (size_t k = 0, l = 0; k < hp->nopen; k++) {
			while (l < x->ncur && x->cur[l].r.start < hp->open[k].r.start)
				l++;
			kept += hp->open[k].inherited && l < x->ncur && same_region(&hp->open[k], &x->cur[l]);
		}
		all_gone = !kept;
	}
	if (all_gone) {
		json_writer__begin_array(&x->w);
		json_writer__string(&x->w, "E");
		json_writer__uint(&x->w, hp->uid);
		json_writer__int(&x->w, html__rel(x, ts));
		json_writer__end_array(&x->w);
	}
	while (i < hp->nopen || j < x->ncur) {
		const struct hx_region *o = i < hp->nopen ? &hp->open[i] : NULL;
		const struct hx_region *r = j < x->ncur ? &x->cur[j] : NULL;

		if (o && r && same_region(o, r)) {
			x->next[n++] = *o;
			i++, j++;
		} else if (o && (!r || o->r.start <= r->r.start)) {
			if (!(all_gone && o->inherited))
				region_out(x, hp, o, ts);
			i++;
		} else {
			x->next[n] = *r;
			x->next[n].opened_ns = ts;
			x->next[n++].id = x->nversions++;
			j++;
		}
	}
	/* the lists trade places: the old one is the next scratch */
	tmp = hp->open;
	hp->open = x->next;
	x->next = tmp;
	cap = hp->cap;
	hp->cap = x->nextcap;
	x->nextcap = cap;
	hp->nopen = n;
}

/*
 * The layout is compared only where the page can look at it: at each
 * slider stop (hx_before, before the first record past the stop), before
 * a fork (the child takes the parent's versions) and before the exit (the
 * last layout). A process that changed in between is marked here; its
 * versions open and close at its last change before the comparison, which
 * lies between the same two stops as the real change. So a process making
 * thousands of calls per column costs one comparison per column, and the
 * layout at every slider stop is the model's.
 */
static void regions_check(struct html *x, uint32_t pid, uint64_t ts)
{
	const struct ps_process *p;
	struct hx_proc *hp;
	uint64_t gen;

	if (!export__want_pid(x->c, pid))
		return;
	p = proc_model__process(x->c->pm, pid);
	if (!p || !html__want(x, p))
		return;
	gen = vm_model__generation(session__vm(x->c->s), pid);
	hp = idmap__get(&x->procs, (uintptr_t)p);
	if ((!hp && !gen) || (hp && (hp->gen == gen || hp->exited)))
		return;
	hp = hp ?: html__proc(x, p);
	if (!hp)
		return;
	hp->gen = gen;
	hp->changed_ns = ts;
	if (!hp->first_ns)
		hp->first_ns = ts;
	hp->dirty = true;
	if (hp->listed)
		return;
	if (x->ndirty == x->dirtycap) {
		size_t cap = x->dirtycap ? 2 * x->dirtycap : 64;
		struct hx_proc **a = realloc(x->dirty, cap * sizeof(*a));

		if (!a) {
			x->oom = true;
			return;
		}
		x->dirty = a;
		x->dirtycap = cap;
	}
	x->dirty[x->ndirty++] = hp;
	hp->listed = true;
}

static void regions_sync(struct html *x, struct hx_proc *hp)
{
	if (!hp || !hp->dirty || hp->exited)
		return;
	hp->dirty = false;
	regions_diff(x, hp, hp->changed_ns);
}

static void regions_sync_pid(struct html *x, uint32_t pid)
{
	const struct ps_process *p = proc_model__process(x->c->pm, pid);

	if (p)
		regions_sync(x, idmap__get(&x->procs, (uintptr_t)p));
}

static void regions_sync_all(struct html *x)
{
	for (size_t i = 0; i < x->ndirty; i++) {
		regions_sync(x, x->dirty[i]);
		x->dirty[i]->listed = false;
	}
	x->ndirty = 0;
}

/*
 * A fork: the child starts with the parent's versions, written once for
 * both (["F", child, parent, t]: the parent's versions alive at t), so a
 * forked process costs only what it changes.
 */
static void inherit(struct html *x, const struct ps_fork *r)
{
	const struct ps_process *pp = proc_model__process(x->c->pm, r->h.tgid);
	const struct ps_process *cp = proc_model__process(x->c->pm, r->child_tgid);
	struct hx_proc *parent, *child;

	if (!pp || !cp || !html__want(x, pp) || !html__want(x, cp))
		return;
	parent = idmap__get(&x->procs, (uintptr_t)pp);
	if (!parent || parent->exited || !parent->nopen)
		return;
	child = html__proc(x, cp);	/* may exist already: the model handed out its counters */
	if (!child || child->first_ns || child->nopen)
		return;
	child->open = malloc(parent->nopen * sizeof(*child->open));
	if (!child->open) {
		x->oom = true;
		return;
	}
	child->cap = child->nopen = parent->nopen;
	for (size_t i = 0; i < parent->nopen; i++) {
		parent->open[i].referenced = true;
		child->open[i] = parent->open[i];
		child->open[i].inherited = true;
	}
	child->first_ns = r->h.ts_ns;
	json_writer__begin_array(&x->w);
	json_writer__string(&x->w, "F");
	json_writer__uint(&x->w, child->uid);
	json_writer__uint(&x->w, parent->uid);
	json_writer__int(&x->w, html__rel(x, r->h.ts_ns));
	json_writer__end_array(&x->w);
}

/*
 * The process is gone: its last layout stays, as layout --at shows it after
 * the exit, if the slider saw the process alive; one that lived between
 * two slider positions shows none (["E"] ends what it inherited).
 */
static void proc_exit(struct html *x, struct hx_proc *hp, uint64_t ts)
{
	bool seen = hp->first_ns && seen_by_slider(x, hp->first_ns, ts);
	bool inherited = false;

	for (size_t i = 0; i < hp->nopen; i++) {
		if (hp->open[i].inherited)
			inherited = true;
		else if (seen)
			region_out(x, hp, &hp->open[i], UINT64_MAX);
		else if (hp->open[i].referenced)	/* a child's: it ends here */
			region_out(x, hp, &hp->open[i], ts);
	}
	if (inherited && !seen) {
		json_writer__begin_array(&x->w);
		json_writer__string(&x->w, "E");
		json_writer__uint(&x->w, hp->uid);
		json_writer__int(&x->w, html__rel(x, ts));
		json_writer__end_array(&x->w);
	}
	hp->exited = true;
	proc_flush(x, hp);	/* its counters and calls end here */
	free(hp->open);
	hp->open = NULL;
	hp->nopen = hp->cap = 0;
}

static void on_task_exit(struct html *x, const struct session_event *ev)
{
	struct hx_proc *hp;

	if (ev->thread)
		html_lanes__exit(x, ev->thread);
	if (!((const struct ps_exit *)ev->h)->group_dead || !ev->process)
		return;
	hp = idmap__get(&x->procs, (uintptr_t)ev->process);
	if (hp && !hp->exited)
		proc_exit(x, hp, ev->h->ts_ns);
}

/*
 * A fork names as its child a pid whose process has not exited: that
 * process's exit record was lost (the kernel gives a pid to a new process
 * only after the old one was reaped), and the process model carries on
 * with the same process. Its old life ends here, at the latest: its last
 * layout closes at the fork (not left alive to the end), its counters and
 * calls go out, and the child starts afresh from its parent's layout. The
 * page shows the pid's lives as one process whose layout restarts. (A
 * process whose exit was lost and whose pid was not reused stays alive to
 * the end: without a snapshot at the end of the recording nothing tells it
 * from a process that slept.)
 */
static void lost_exit(struct html *x, const struct ps_fork *r)
{
	const struct ps_process *p = proc_model__process(x->c->pm, r->child_tgid);
	struct hx_proc *hp;

	if (r->child_tgid == r->h.tgid || !p || p->exited)
		return;
	hp = idmap__get(&x->procs, (uintptr_t)p);
	if (!hp || hp->exited)
		return;
	regions_sync(x, hp);
	for (size_t i = 0; i < hp->nopen; i++)
		region_out(x, hp, &hp->open[i], r->h.ts_ns);
	hp->exited = true;	/* proc_flush: counters and calls only */
	proc_flush(x, hp);
	hp->exited = false;
	free(hp->open);
	hp->open = NULL;
	hp->nopen = hp->cap = 0;
	hp->first_ns = 0;
	hp->dirty = false;
}

/* Before the models take H: compare the layouts the page may look at as they are. */
static int hx_before(void *st, const struct ps_hdr *h)
{
	struct html *x = st;
	uint64_t k;

	if (h->ts_ns > x->next_stop) {	/* the layouts at the stop are complete */
		regions_sync_all(x);
		k = h->ts_ns <= x->lo ? 0 : (h->ts_ns - x->lo + x->col_ns - 1) / x->col_ns;
		x->next_stop = stop_ns(x, k);
	}
	switch (h->type) {
	case PS_REC_EXIT:
		if (((const struct ps_exit *)h)->group_dead)
			regions_sync_pid(x, h->tgid);
		break;
	case PS_REC_FORK:
		regions_sync_pid(x, h->tgid);
		lost_exit(x, (const struct ps_fork *)h);
		break;
	}
	return x->oom ? -ENOMEM : json_writer__error(&x->w);
}

static int hx_record(void *st, const struct session_event *ev)
{
	const struct ps_hdr *h = ev->h;
	struct html *x = st;
	int err = html_calls__stack_apply(x, ev);

	if (err)
		return err;
	switch (h->type) {
	case PS_REC_SWITCH:
		/* its last switch-out: the lane is complete, what the thread holds goes */
		if (ev->thread && (((const struct ps_switch *)h)->prev_state &
				   (TASK_DEAD | EXIT_DEAD | EXIT_ZOMBIE)))
			html_lanes__done(x, ev->thread);
		return x->oom ? -ENOMEM : json_writer__error(&x->w);
	case PS_REC_LOST:
		return 0;
	case PS_REC_WAKEUP:
		html_lanes__wakeup(x, (const void *)h);
		return x->oom ? -ENOMEM : json_writer__error(&x->w);
	case PS_REC_EXIT:
		/* the model forgot the exited process already: no layout to look at */
		on_task_exit(x, ev);
		return x->oom ? -ENOMEM : json_writer__error(&x->w);
	case PS_REC_EXEC:
		html_calls__exec(x, ev);
		break;
	case PS_REC_FORK:
		if (h->ts_ns <= x->hi) {
			inherit(x, (const void *)h);
			regions_check(x, ((const struct ps_fork *)h)->child_tgid, h->ts_ns);
		}
		break;
	default:
		html_calls__call(x, ev);
		break;
	}
	if (h->ts_ns > x->hi)
		return x->oom ? -ENOMEM : json_writer__error(&x->w);	/* past --to: no version opens */
	regions_check(x, h->tgid, h->ts_ns);
	return x->oom ? -ENOMEM : json_writer__error(&x->w);
}

/* ---- begin and finish ---- */

static void hx_free(void *st);

static void *hx_begin(struct export_ctx *c, struct session_callbacks *cb)
{
	static const cookie_io_functions_t io = { .write = escape_write };
	struct html *x = calloc(1, sizeof(*x));
	uint64_t first, end;

	if (!x)
		return NULL;
	x->c = c;
	errno = -html_procs__pick(x);
	if (!errno)
		errno = -html_calls__stacks_begin(x);
	if (errno) {
		hx_free(x);
		return NULL;
	}
	x->scb = (struct sched_callbacks){ .interval = html_lanes__interval, .ctx = x };
	x->vcb = (struct vm_callbacks){ .counters = on_counters, .stack_depth = html_lanes__stack_depth,
					.ctx = x };
	cb->sched = &x->scb;
	cb->vm = &x->vcb;
	cb->before = hx_before;

	/* the grid: from the first record (a few ms before time zero with -p/-a) to the end */
	first = session__first_ns(c->s);
	end = session__end_ns(c->s);
	x->lo = first && first < c->origin_ns ? first : c->origin_ns;
	if (x->lo < c->from_ns)
		x->lo = c->from_ns;
	x->hi = end < c->to_ns ? end : c->to_ns;
	if (x->hi <= x->lo)
		x->hi = x->lo + 1;
	x->col_ns = (x->hi - x->lo + HTML_COLS - 1) / HTML_COLS;
	x->next_stop = x->lo;

	put_part(c->out, NULL, "@@CSS@@");
	fwrite(html_viewer_css, 1, sizeof(html_viewer_css), c->out);
	put_part(c->out, "@@CSS@@", "@@DATA@@");
	x->data = fopencookie(c->out, "w", io);
	if (!x->data) {
		hx_free(x);
		return NULL;
	}
	json_writer__init(&x->w, x->data);
	json_writer__set_line_depth(&x->w, 1);	/* one record per line */
	json_writer__begin_array(&x->w);
	json_writer__begin_object(&x->w);
	json_writer__kv_str(&x->w, "format", "procscope-html");
	json_writer__kv_uint(&x->w, "version", HTML_FORMAT_VERSION);
	json_writer__kv_str(&x->w, "procscope_version", c->fh->procscope_version);
	json_writer__kv_str(&x->w, "kernel", c->fh->kernel_release);
	json_writer__kv_str(&x->w, "command", c->cmdline);
	json_writer__kv_uint(&x->w, "pid", c->pid);
	/* time zero (what --at and report count from) in grid time */
	json_writer__kv_int(&x->w, "zero", (int64_t)(c->origin_ns - x->lo));
	json_writer__kv_uint(&x->w, "span", x->hi - x->lo);
	json_writer__kv_uint(&x->w, "cols", HTML_COLS);
	json_writer__kv_uint(&x->w, "col_ns", x->col_ns);
	json_writer__kv_uint(&x->w, "calls_per_col", HTML_CALLS_PER_COL);
	json_writer__key(&x->w, "kinds");	/* region kinds, by number */
	json_writer__begin_array(&x->w);
	for (int k = 0; k < VK_MAX; k++)
		json_writer__string(&x->w, vm_model__kind_name(k));
	json_writer__end_array(&x->w);
	json_writer__key(&x->w, "series");
	json_writer__begin_array(&x->w);
	for (int i = 0; i < NSERIES; i++)
		json_writer__string(&x->w, series_names[i]);
	json_writer__end_array(&x->w);
	html_procs__header(x);
	json_writer__end_object(&x->w);
	return x;
}

static void meta_proc(struct html *x, const struct ps_process *p, const struct hx_proc *hp)
{
	char name[PS_COMM_LEN + 16];

	json_writer__begin_array(&x->w);
	json_writer__string(&x->w, "P");
	json_writer__uint(&x->w, hp->uid);
	json_writer__uint(&x->w, p->pid);
	json_writer__uint(&x->w, p->ppid);
	json_writer__string(&x->w, export__process_name(name, sizeof(name), p, p->pid));
	json_writer__string_n(&x->w, p->exe, sizeof(p->exe));
	json_writer__int(&x->w, html__rel(x, p->start_ns));
	json_writer__int(&x->w, p->exited ? html__rel(x, p->end_ns) : -1);
	json_writer__int(&x->w, p->exited ? p->exit_code : -1);
	json_writer__uint(&x->w, p->creator_tid);
	json_writer__bool(&x->w, p->born_in_trace);
	json_writer__bool(&x->w, p->vfork);
	json_writer__end_array(&x->w);
}

static void meta_thread(struct html *x, const struct ps_thread *t, uint32_t puid)
{
	int64_t uid = html_lanes__finish(x, t);
	char name[PS_COMM_LEN + 16];

	if (uid < 0)
		return;
	json_writer__begin_array(&x->w);
	json_writer__string(&x->w, "T");
	json_writer__uint(&x->w, uid);
	json_writer__uint(&x->w, puid);
	json_writer__uint(&x->w, t->tid);
	json_writer__string(&x->w, export__thread_name(name, sizeof(name), t, t->tid));
	json_writer__int(&x->w, html__rel(x, t->start_ns));
	json_writer__int(&x->w, t->exited ? html__rel(x, t->end_ns) : -1);
	json_writer__uint(&x->w, t->creator_tid);
	json_writer__end_array(&x->w);
}

/* With --pid: the process, its parent and its children make the tree. */
static bool in_tree(const struct export_ctx *c, const struct ps_process *p)
{
	const struct ps_process *want;

	if (!p->pid)
		return false;
	if (!c->pid || p->pid == c->pid || p->ppid == c->pid)
		return true;
	want = proc_model__process(c->pm, c->pid);
	return want && want->ppid == p->pid;
}

/* What a process still holds goes out: counters, call counts, its layout at the end. */
static void proc_flush(struct html *x, struct hx_proc *hp)
{
	for (int k = 0; k < NSERIES; k++) {
		struct hx_series *s = &hp->s[k];

		if (s->pre)	/* nothing moved in the window: the value it had */
			series_point(x, s, hp->uid, k, x->lo, s->pre_v);
		s->pre = false;
		series_flush(x, s, hp->uid, k);
		html__buf_flush(x, &s->out, "C", hp->uid, k, true);
		html__buf_release(&s->out);
	}
	html_calls__flush(x, hp);
	if (!hp->exited)
		for (size_t k = 0; k < hp->nopen; k++)
			if (!hp->open[k].inherited)
				region_out(x, hp, &hp->open[k], UINT64_MAX);
}

static int hx_finish(void *st)
{
	struct html *x = st;
	const struct export_ctx *c = x->c;
	const struct proc_model *pm = c->pm;
	int err;

	regions_sync_all(x);
	for (size_t i = 0; i < pm->nprocs && !x->oom; i++) {
		const struct ps_process *p = pm->order[i];
		struct hx_proc *hp;

		if (!in_tree(c, p) || (x->full && !html__want(x, p)))
			continue;
		hp = html__proc(x, p);
		if (!hp)
			break;
		proc_flush(x, hp);
		meta_proc(x, p, hp);
		if (!export__want_pid(c, p->pid))
			continue;
		for (size_t k = 0; k < p->nthreads; k++)
			meta_thread(x, p->threads[k], hp->uid);
	}
	json_writer__begin_object(&x->w);
	json_writer__kv_uint(&x->w, "records", session__stats(c->s)->records);
	json_writer__kv_uint(&x->w, "lost_records", pm->lost_total);
	json_writer__end_object(&x->w);
	json_writer__end_array(&x->w);
	err = x->oom ? -ENOMEM : json_writer__error(&x->w);
	if (fclose(x->data) && !err)
		err = -EIO;
	x->data = NULL;
	if (err)
		return err;
	put_part(c->out, "@@DATA@@", "@@JS@@");
	fwrite(html_viewer_js, 1, sizeof(html_viewer_js), c->out);
	put_part(c->out, "@@JS@@", NULL);
	return ferror(c->out) ? -EIO : 0;
}

static void hx_free(void *st)
{
	struct html *x = st;

	if (!x)
		return;
	if (x->data)
		fclose(x->data);
	for (size_t i = 0; i < x->procs.cap; i++) {
		struct hx_proc *hp = x->procs.vals[i];

		if (!hp)
			continue;
		for (int k = 0; k < NSERIES; k++)
			html__buf_release(&hp->s[k].out);
		free(hp->open);
		free(hp);
	}
	html_lanes__free(x);
	idmap__free(&x->procs);
	idmap__free(&x->paths);
	free(x->cur);
	free(x->next);
	html_calls__stacks_free(x);
	free(x->dirty);
	free(x->full);
	free(x->names);
	idmap__free(&x->drawn);
	free(x);
}

const struct export_format export_html = {
	.name = "html",
	.default_output = "procscope.html",
	.models = SESSION_SCHED | SESSION_VM,
	.begin = hx_begin,
	.record = hx_record,
	.finish = hx_finish,
	.free = hx_free,
};
