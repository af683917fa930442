// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Session -> rows of the SQL tables (sql_rows.h), from the models'
 * callbacks and the records themselves:
 *   thread_state   every interval of the scheduling model;
 *   sched_slice    its Running intervals, each held until the thread's next
 *                  interval says how the run ended (one per thread), and
 *                  the CPUs' idle intervals;
 *   counter        the address-space model's counters of a process after
 *                  each record that can move them, stack depth at
 *                  switch-outs, each written only when its value changes;
 *   mem_call       memory syscalls (export__mem_call());
 *   vma            the process's regions compared, after each record that
 *                  can change them, with the shapes still open: O(regions)
 *                  per such record, which keeps this file ignorant of how
 *                  each call changes a space;
 *   lost           growth of the PS_REC_LOST counters;
 *   stack_*        the stack model's samples, their stacks interned as
 *                  Perfetto does: frames, and callsites (frame + caller);
 *                  a frame's file (mapping) described when first seen.
 * utid/upid are handed out in order of first sight, 0 being the idle task
 * as in Perfetto; they key on the model's ps_thread/ps_process objects,
 * which outlive pid and tid reuse.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "buildid.h"
#include "export.h"
#include "rec_info.h"
#include "sql_rows.h"
#include "stack_model.h"
#include "trace_reader.h"
#include "util.h"

enum { CT_HEAP, CT_ANON, CT_MAIN_STACK, CT_THREAD_STACKS, CT_RSS, NCT };
static const char *const ct_names[NCT] = { "heap", "anon", "main_stack", "thread_stacks", "rss" };

struct row_thread {
	int64_t utid;
	/* its last Running interval, until the next interval tells how it ended */
	bool pending;
	uint64_t p_start, p_end;
	int32_t p_cpu;
	bool p_prio_known;
	int32_t p_prio;
	/* its latest switch-in seen: when, at which priority */
	bool in_known;
	uint64_t in_ts;
	int32_t in_prio;
	int64_t depth_track;	/* 0: none yet (track ids start at 1) */
	uint64_t depth;
};

/* One shape of a region, open until it changes or goes. */
struct open_vma {
	struct vm_region r;	/* r.path: interned by the model, compared by pointer */
	int64_t id;
	uint64_t since;
	int64_t by_utid;	/* -1: none */
};

struct row_proc {
	int64_t upid;
	int64_t parent_upid;	/* -1: unknown */
	int64_t track[NCT];	/* 0: none yet */
	uint64_t last[NCT];
	struct open_vma *vmas;	/* sorted by start */
	size_t nvmas, cap;
};

struct sql_rows {
	struct session *s;
	struct proc_model *pm;
	struct sql_sink sink;
	struct sched_callbacks scb;
	struct vm_callbacks vcb;
	uint64_t zero;
	struct idmap threads;	/* ps_thread * -> row_thread */
	struct idmap procs;	/* ps_process * -> row_proc */
	int64_t next_utid, next_upid, next_track, next_vma;
	struct vm_region *cur;	/* a process's regions now */
	size_t ncur, cur_cap;
	struct open_vma *merged;
	size_t merged_cap;
	uint64_t lost[PS_REC_SLOTS];
	uint64_t lost_total;
	struct stack_model *stk;
	struct stack_callbacks stkcb;
	struct idmap frames;	/* hash of (module, addr) -> intern chain */
	struct idmap callsites;	/* hash of (parent, frame) -> intern chain */
	struct idmap stacks;	/* stack id + 1 -> innermost callsite id */
	struct idmap mappings;	/* module + 1 -> 1 once its row is written */
	int64_t next_frame, next_callsite;
	char session_id[96];
	int err;
};

static int64_t rel(const struct sql_rows *r, uint64_t ns)
{
	return (int64_t)(ns - r->zero);
}

static void emit(struct sql_rows *r, enum sql_table_id t, const struct sql_val *v)
{
	int err;

	if (r->err)
		return;
	err = r->sink.row(r->sink.ctx, t, v);
	if (err)
		r->err = err;
}

static struct sql_val opt_int(bool known, int64_t v)
{
	return known ? sql_int(v) : sql_null();
}

static struct row_thread *row_thread(struct sql_rows *r, const struct ps_thread *t)
{
	struct row_thread *rt = idmap__get(&r->threads, (uintptr_t)t);

	if (rt)
		return rt;
	rt = calloc(1, sizeof(*rt));
	if (!rt || idmap__set(&r->threads, (uintptr_t)t, rt)) {
		free(rt);
		r->err = -ENOMEM;
		return NULL;
	}
	rt->utid = r->next_utid++;
	return rt;
}

static struct row_proc *row_proc(struct sql_rows *r, const struct ps_process *p)
{
	struct row_proc *rp = idmap__get(&r->procs, (uintptr_t)p);

	if (rp)
		return rp;
	rp = calloc(1, sizeof(*rp));
	if (!rp || idmap__set(&r->procs, (uintptr_t)p, rp)) {
		free(rp);
		r->err = -ENOMEM;
		return NULL;
	}
	rp->upid = r->next_upid++;
	rp->parent_upid = -1;
	return rp;
}

/* The live thread TID of process TGID, or NULL. */
static struct ps_thread *thread_of(struct sql_rows *r, uint32_t tid, uint32_t tgid)
{
	struct ps_thread *t = proc_model__thread(r->pm, tid);

	return t && t->tgid == tgid ? t : NULL;
}

/* utid of whichever thread has TID now, -1 if none is traced. */
static int64_t utid_of_tid(struct sql_rows *r, uint32_t tid)
{
	struct ps_thread *t = tid ? proc_model__thread(r->pm, tid) : NULL;
	struct row_thread *rt = t ? row_thread(r, t) : NULL;

	return rt ? rt->utid : -1;
}

/* ---- scheduling ---- */

static const char *state_name(enum thread_state s, bool preempted)
{
	switch (s) {
	case TS_RUNNING: return "Running";
	case TS_RUNNABLE: return preempted ? "R+" : "R";
	case TS_SLEEPING: return "S";
	case TS_BLOCKED: return "D";
	case TS_STOPPED: return "T";
	case TS_DEAD: return "X";
	default: return "?";
	}
}

static void flush_slice(struct sql_rows *r, struct row_thread *rt, const char *end_state)
{
	struct sql_val v[] = {
		sql_int(rel(r, rt->p_start)), sql_int(rt->p_end - rt->p_start), sql_int(rt->p_cpu),
		sql_int(rt->utid), sql_text(end_state), opt_int(rt->p_prio_known, rt->p_prio),
	};

	rt->pending = false;
	emit(r, SQL_SCHED_SLICE, v);
}

static void on_interval(void *ctx, const struct sched_interval *iv)
{
	struct sql_rows *r = ctx;
	struct ps_thread *t = thread_of(r, iv->tid, iv->tgid);
	struct row_thread *rt = t ? row_thread(r, t) : NULL;
	int64_t waker = -1;

	stack_model__interval(r->stk, iv);
	if (!rt)
		return;
	if (iv->state == TS_RUNNABLE && iv->waker_tid)
		waker = utid_of_tid(r, iv->waker_tid);
	{
		struct sql_val v[] = {
			sql_int(rel(r, iv->start_ns)), sql_int(iv->end_ns - iv->start_ns),
			sql_int(rt->utid), sql_text(state_name(iv->state, iv->preempted)),
			opt_int(iv->cpu >= 0, iv->cpu), opt_int(waker >= 0, waker),
		};

		emit(r, SQL_THREAD_STATE, v);
	}
	if (rt->pending)
		flush_slice(r, rt, iv->state == TS_UNKNOWN || iv->state == TS_RUNNING ? NULL
			    : state_name(iv->state, iv->preempted));
	if (iv->state != TS_RUNNING)
		return;
	rt->pending = true;
	rt->p_start = iv->start_ns;
	rt->p_end = iv->end_ns;
	rt->p_cpu = iv->cpu;
	/* a switch-in the kernel did not report was rebuilt: its priority is not known */
	rt->p_prio_known = rt->in_known && rt->in_ts == iv->start_ns;
	rt->p_prio = rt->in_prio;
}

static void on_cpu_interval(void *ctx, const struct sched_cpu_interval *iv)
{
	struct sql_rows *r = ctx;

	if (iv->tid)
		return;	/* traced threads' runs come from their own intervals */
	{
		struct sql_val v[] = {
			sql_int(rel(r, iv->start_ns)), sql_int(iv->end_ns - iv->start_ns),
			sql_int(iv->cpu), sql_int(0), sql_null(), sql_null(),
		};

		emit(r, SQL_SCHED_SLICE, v);
	}
}

/* ---- counters ---- */

static int64_t new_track(struct sql_rows *r, const char *name, const char *type, int64_t upid,
			 int64_t utid)
{
	int64_t id = ++r->next_track;
	struct sql_val v[] = {
		sql_int(id), sql_text(name), sql_text(type), opt_int(upid >= 0, upid),
		opt_int(utid >= 0, utid), sql_text("bytes"),
	};

	emit(r, SQL_COUNTER_TRACK, v);
	return id;
}

static void counter(struct sql_rows *r, int64_t track, uint64_t ts, uint64_t value)
{
	struct sql_val v[] = { sql_int(rel(r, ts)), sql_int(track), sql_real((double)value) };

	emit(r, SQL_COUNTER, v);
}

static void on_stack_depth(void *ctx, const struct ps_thread *t, uint64_t ts, uint64_t depth)
{
	struct sql_rows *r = ctx;
	struct row_thread *rt = row_thread(r, t);

	if (!rt || (rt->depth_track && rt->depth == depth))
		return;
	if (!rt->depth_track)
		rt->depth_track = new_track(r, "stack_depth", "thread", -1, rt->utid);
	rt->depth = depth;
	counter(r, rt->depth_track, ts, depth);
}

static void proc_counters(struct sql_rows *r, const struct ps_process *p, struct row_proc *rp,
			  uint64_t ts)
{
	struct vm_proc_stats st;
	uint64_t now[NCT];

	if (vm_model__proc_stats(session__vm(r->s), p->pid, &st) || !st.known)
		return;
	now[CT_HEAP] = st.now.heap_bytes;
	now[CT_ANON] = st.now.anon_bytes;
	now[CT_MAIN_STACK] = st.now.stack_bytes;
	now[CT_THREAD_STACKS] = st.thread_stack_bytes;
	now[CT_RSS] = st.now.rss_bytes;
	for (int i = 0; i < NCT; i++) {
		if (rp->track[i] && rp->last[i] == now[i])
			continue;
		if (!rp->track[i])
			rp->track[i] = new_track(r, ct_names[i], "process", rp->upid, -1);
		rp->last[i] = now[i];
		counter(r, rp->track[i], ts, now[i]);
	}
}

/* ---- regions ---- */

static bool same_shape(const struct vm_region *a, const struct vm_region *b)
{
	return a->start == b->start && a->end == b->end && a->pgoff == b->pgoff &&
	       a->prot == b->prot && a->shared == b->shared && a->kind == b->kind &&
	       a->path == b->path && a->tid == b->tid;
}

static void vma_row(struct sql_rows *r, const struct row_proc *rp, const struct open_vma *o,
		    uint64_t end_ts, bool removed)
{
	char perms[5] = {
		o->r.prot & 1 ? 'r' : '-', o->r.prot & 2 ? 'w' : '-', o->r.prot & 4 ? 'x' : '-',
		o->r.shared ? 's' : 'p', '\0',
	};
	struct sql_val v[] = {
		sql_int(o->id), sql_int(rp->upid), sql_int(o->r.start), sql_int(o->r.end),
		sql_text(vm_model__kind_name(o->r.kind)), sql_text(perms), sql_text(o->r.path),
		sql_int(o->r.pgoff), opt_int(o->r.kind == VK_THREAD_STACK && o->r.tid, o->r.tid),
		sql_int(rel(r, o->since)), opt_int(removed, rel(r, end_ts)),
		opt_int(o->by_utid >= 0, o->by_utid),
	};

	/* a shape that lasted no time (several records at one instant) was never seen */
	if (removed && end_ts == o->since)
		return;
	emit(r, SQL_VMA, v);
}

static void collect(void *ctx, const struct vm_region *reg)
{
	struct sql_rows *r = ctx;

	if (r->ncur == r->cur_cap) {
		size_t cap = r->cur_cap ? r->cur_cap * 2 : 256;
		struct vm_region *a = realloc(r->cur, cap * sizeof(*a));

		if (!a) {
			r->err = -ENOMEM;
			return;
		}
		r->cur = a;
		r->cur_cap = cap;
	}
	r->cur[r->ncur++] = *reg;
}

/*
 * Compares the process's regions now with its open shapes, both sorted by
 * start: shapes that are gone or changed end at TS, new ones open at TS.
 * O(regions).
 */
static void sync_vmas(struct sql_rows *r, const struct ps_process *p, struct row_proc *rp,
		      uint64_t ts, int64_t by_utid)
{
	size_t i = 0, j = 0, n = 0;

	r->ncur = 0;
	vm_model__for_each_region(session__vm(r->s), p->pid, collect, r);
	if (r->err)
		return;
	if (r->merged_cap < r->ncur) {
		struct open_vma *a = realloc(r->merged, r->ncur * sizeof(*a));

		if (!a) {
			r->err = -ENOMEM;
			return;
		}
		r->merged = a;
		r->merged_cap = r->ncur;
	}
	while (i < rp->nvmas || j < r->ncur) {
		struct open_vma *o = i < rp->nvmas ? &rp->vmas[i] : NULL;
		const struct vm_region *c = j < r->ncur ? &r->cur[j] : NULL;

		if (o && c && same_shape(&o->r, c)) {
			r->merged[n++] = *o;
			i++, j++;
			continue;
		}
		if (o && (!c || o->r.start <= c->start)) {
			vma_row(r, rp, o, ts, true);
			i++;
		}
		if (c && (!o || c->start <= o->r.start)) {
			struct open_vma *nv = &r->merged[n++];

			nv->r = *c;
			nv->id = ++r->next_vma;
			nv->since = ts;
			nv->by_utid = by_utid;
			j++;
		}
	}
	/* the merged list becomes the process's, its old array the spare */
	{
		struct open_vma *a = rp->vmas;
		size_t cap = rp->cap;

		rp->vmas = r->merged;
		rp->cap = r->merged_cap;
		rp->nvmas = n;
		r->merged = a;
		r->merged_cap = cap;
	}
}

static void close_vmas(struct sql_rows *r, struct row_proc *rp, uint64_t ts, bool removed)
{
	for (size_t i = 0; i < rp->nvmas; i++)
		vma_row(r, rp, &rp->vmas[i], ts, removed);
	free(rp->vmas);
	rp->vmas = NULL;
	rp->nvmas = rp->cap = 0;
}

/* Records that never change an address space or its counters; any other may. */
static bool keeps_layout(unsigned type)
{
	return type == PS_REC_SWITCH || type == PS_REC_WAKEUP || type == PS_REC_LOST ||
	       type == PS_REC_RENAME || type == PS_REC_EXIT || type == PS_REC_COMM ||
	       type == PS_REC_USTACK || type == PS_REC_BUILDID;
}

static bool made_by_kernel(unsigned type)
{
	return type == PS_REC_EXEC || type == PS_REC_VMA || type == PS_REC_SNAP_TASK ||
	       type == PS_REC_SNAP_MAP;
}

static void on_layout(struct sql_rows *r, const struct session_event *ev)
{
	const struct ps_hdr *h = ev->h;
	struct ps_process *p = proc_model__process(r->pm, h->tgid);
	struct row_thread *rt = ev->thread ? row_thread(r, ev->thread) : NULL;
	int64_t by = rt && !made_by_kernel(h->type) ? rt->utid : -1;
	struct row_proc *rp;

	if (h->type == PS_REC_FORK) {
		const struct ps_fork *f = (const void *)h;
		struct row_proc *parent = ev->process ? row_proc(r, ev->process) : NULL;

		if (f->child_tgid == h->tgid)
			return;	/* a thread: same space */
		p = proc_model__process(r->pm, f->child_tgid);
		rp = p ? row_proc(r, p) : NULL;
		if (rp && parent)
			rp->parent_upid = parent->upid;
	} else {
		rp = p ? row_proc(r, p) : NULL;
	}
	if (!rp)
		return;
	if (h->type != PS_REC_RSS)
		sync_vmas(r, p, rp, h->ts_ns, by);
	proc_counters(r, p, rp, h->ts_ns);
}

/* ---- stacks ---- */

/* An interned pair (frames: module, addr; callsites: parent, frame) and its id. */
struct pair_node {
	struct pair_node *next;
	uint64_t a, b;
	int64_t id;
};

/* The id of (A, B) in MAP, NEW if first seen (then *FRESH). -1 on ENOMEM. */
static int64_t intern_pair(struct idmap *map, uint64_t a, uint64_t b, int64_t *next, bool *fresh)
{
	uint64_t h = (a * 0x9e3779b97f4a7c15ull) ^ (b + 0x632be59bd9b4e019ull + (a << 6));
	struct pair_node *head, *n;

	h |= 1;
	head = idmap__get(map, h);
	for (n = head; n; n = n->next)
		if (n->a == a && n->b == b) {
			*fresh = false;
			return n->id;
		}
	n = malloc(sizeof(*n));
	if (!n)
		return -1;
	*n = (struct pair_node){ head, a, b, ++*next };
	if (idmap__set(map, h, n)) {
		free(n);
		return -1;
	}
	*fresh = true;
	return n->id;
}

static void free_pairs(struct idmap *map)
{
	for (size_t i = 0; i < map->cap; i++) {
		struct pair_node *n = map->vals[i];

		while (n) {
			struct pair_node *next = n->next;

			free(n);
			n = next;
		}
	}
	idmap__free(map);
}

struct exec_map {
	const char *path;
	const struct vm_region *found;	/* its lowest executable mapping */
	struct vm_region r;
};

static void find_exec(void *ctx, const struct vm_region *reg)
{
	struct exec_map *x = ctx;

	if (x->found || !(reg->prot & PROT_EXEC) || !reg->path || strcmp(reg->path, x->path))
		return;
	x->r = *reg;
	x->found = &x->r;
}

/* MODULE's stack_profile_mapping row: the file, as process P (running it now) maps it. */
static void mapping_row(struct sql_rows *r, uint32_t module, const struct ps_process *p)
{
	struct exec_map x = { .path = stack_model__module_path(r->stk, module) };
	const struct row_proc *rp = p ? row_proc(r, p) : NULL;
	bool file = module >= SYM_MOD_FIRST, ok;
	char hex[2 * PS_BUILDID_MAX + 1] = "";
	const uint8_t *id = NULL;
	uint64_t vaddr = 0;
	uint32_t len;

	if (idmap__set(&r->mappings, module + 1ull, (void *)1)) {
		r->err = -ENOMEM;
		return;
	}
	ok = stack_model__module_file(r->stk, module, &id, &len);
	for (uint32_t i = 0; i < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", id[i]);
	if (file && p)
		vm_model__for_each_region(session__vm(r->s), p->pid, find_exec, &x);
	/* the ELF of a file changed since cannot say where its addresses load */
	ok = ok && x.found && !buildid__vaddr(x.path, x.r.pgoff, &vaddr);
	{
		struct sql_val v[] = {
			sql_int(module), sql_text(len ? hex : NULL),
			opt_int(x.found, x.r.pgoff), opt_int(file, 0),
			opt_int(x.found, x.r.start), opt_int(x.found, x.r.end),
			opt_int(ok, x.r.start - vaddr), sql_text(x.path),
			opt_int(x.found && rp, rp ? rp->upid : 0),
		};

		emit(r, SQL_STACK_MAPPING, v);
	}
}

/*
 * The innermost callsite of stack ID (taken in process P), its frames,
 * callsites and mappings written on first sight.
 */
static int64_t callsite_of(struct sql_rows *r, uint32_t id, const struct ps_process *p)
{
	uintptr_t known = (uintptr_t)idmap__get(&r->stacks, id + 1ull);
	const struct stack_frame *fr;
	int64_t parent = -1;
	uint32_t n;
	bool fresh;

	if (known)
		return (int64_t)known;
	fr = stack_model__frames(r->stk, id, &n);
	/* outermost first: a callsite is its frame reached from its parent */
	for (uint32_t i = n; i-- > 0;) {
		int64_t f = intern_pair(&r->frames, fr[i].module, fr[i].addr, &r->next_frame, &fresh);
		int64_t cs;

		if (f < 0)
			goto enomem;
		if (fresh && !idmap__get(&r->mappings, fr[i].module + 1ull))
			mapping_row(r, fr[i].module, p);
		if (fresh) {
			struct sql_val v[] = {
				sql_int(f), sql_text(stack_model__frame_name(r->stk, &fr[i], false)),
				sql_int(fr[i].module), sql_int((int64_t)fr[i].addr),
			};

			emit(r, SQL_STACK_FRAME, v);
		}
		cs = intern_pair(&r->callsites, (uint64_t)parent, f, &r->next_callsite, &fresh);
		if (cs < 0)
			goto enomem;
		if (fresh) {
			struct sql_val v[] = {
				sql_int(cs), sql_int(n - 1 - i), opt_int(parent >= 0, parent), sql_int(f),
			};

			emit(r, SQL_STACK_CALLSITE, v);
		}
		parent = cs;
	}
	if (parent < 0)
		return -1;	/* an empty stack */
	if (idmap__set(&r->stacks, id + 1ull, (void *)(uintptr_t)parent))
		goto enomem;
	return parent;
enomem:
	r->err = -ENOMEM;
	return -1;
}

static void on_sample(void *ctx, const struct stack_sample *sm)
{
	struct sql_rows *r = ctx;
	struct ps_thread *t = thread_of(r, sm->tid, sm->tgid);
	struct row_thread *rt = t ? row_thread(r, t) : NULL;
	int64_t cs = callsite_of(r, sm->stack, proc_model__process(r->pm, sm->tgid));

	if (cs < 0)
		return;
	{
		struct sql_val v[] = {
			sql_int(rel(r, sm->ts_ns)), opt_int(rt, rt ? rt->utid : 0),
			sql_text(stack_model__kind_name(sm->kind)), sql_int(cs), sql_int(sm->value),
		};

		emit(r, SQL_STACK_SAMPLE, v);
	}
}

/* ---- records ---- */

static void lost_row(struct sql_rows *r, uint64_t ts, const char *type, uint64_t n)
{
	struct sql_val v[] = { sql_int(rel(r, ts)), sql_null(), sql_text(type), sql_int(n) };

	emit(r, SQL_LOST, v);
}

static void on_lost(struct sql_rows *r, const struct ps_lost *l)
{
	size_t n = (l->h.size - offsetof(struct ps_lost, lost_by_type)) / sizeof(__u64);
	uint64_t typed = 0, total;

	if (n > PS_REC_SLOTS)
		n = PS_REC_SLOTS;
	for (size_t i = 0; i < n; i++) {
		uint64_t d = l->lost_by_type[i] > r->lost[i] ? l->lost_by_type[i] - r->lost[i] : 0;

		typed += d;
		r->lost[i] = l->lost_by_type[i];
		if (d)
			lost_row(r, l->h.ts_ns, rec_info__name(i), d);
	}
	total = l->lost_total > r->lost_total ? l->lost_total - r->lost_total : 0;
	r->lost_total = l->lost_total;
	if (total > typed)
		lost_row(r, l->h.ts_ns, "unknown", total - typed);
}

/* export_mem_call argument names -> mem_call columns; the others have none */
static const char *const arg_cols[][2] = {
	{ "addr", "addr" }, { "old_addr", "addr" }, { "len", "len" }, { "old_len", "len" },
	{ "new_len", "new_len" }, { "prot", "prot" }, { "flags", "flags" }, { "advice", "flags" },
	{ "fd", "fd" }, { "offset", "offset" }, { "file", "path" }, { "ret", "ret" },
	{ "error", "errno" },
};

static int column_of(enum sql_table_id t, const char *name)
{
	for (unsigned c = 0; c < sql_tables[t].ncols; c++)
		if (!strcmp(sql_tables[t].cols[c].name, name))
			return c;
	return -1;
}

static void put(struct sql_val *v, enum sql_table_id t, const char *name, struct sql_val x)
{
	int c = column_of(t, name);

	if (c >= 0)
		v[c] = x;
}

/* Every memory call export__mem_call() knows: brk, mmap, ..., madvise, mlock*, shmat, ... */
static void on_mem_call(struct sql_rows *r, const struct session_event *ev,
			const struct export_mem_call *c)
{
	struct row_thread *rt = ev->thread ? row_thread(r, ev->thread) : NULL;
	struct row_proc *rp = ev->process ? row_proc(r, ev->process) : NULL;
	char hex[EXPORT_MAX_ARGS][24];
	struct sql_val v[32];
	int ret = column_of(SQL_MEM_CALL, "ret"), err = column_of(SQL_MEM_CALL, "errno");

	for (unsigned i = 0; i < sql_tables[SQL_MEM_CALL].ncols; i++)
		v[i] = sql_null();
	v[0] = sql_int(rel(r, ev->h->ts_ns));
	v[1] = opt_int(rt, rt ? rt->utid : 0);
	v[2] = opt_int(rp, rp ? rp->upid : 0);
	v[3] = sql_text(c->name);
	for (unsigned i = 0; i < c->nargs; i++) {
		const struct export_arg *a = &c->args[i];

		for (size_t k = 0; k < PS_ARRAY_SIZE(arg_cols); k++) {
			int col = strcmp(arg_cols[k][0], a->name) ? -1 : column_of(SQL_MEM_CALL, arg_cols[k][1]);

			if (col < 0)
				continue;
			if (a->kind == EA_STR)
				v[col] = sql_text(a->s);
			else if (sql_tables[SQL_MEM_CALL].cols[col].type == SQL_TEXT)	/* flag bits */
				v[col] = sql_text((snprintf(hex[i], sizeof(hex[i]), "0x%llx",
							    (unsigned long long)a->u), hex[i]));
			else
				v[col] = a->kind == EA_INT ? sql_int(a->i) : sql_int((int64_t)a->u);
		}
	}
	/* calls whose success is 0 say nothing more: their ret is 0 */
	if (v[ret].null && v[err].null)
		v[ret] = sql_int(0);
	emit(r, SQL_MEM_CALL, v);
}

int sql_rows__record(void *ctx, const struct session_event *ev)
{
	struct sql_rows *r = ctx;
	const struct ps_hdr *h = ev->h;
	struct export_mem_call call;
	int err = stack_model__apply(r->stk, ev);

	if (err && !r->err)
		r->err = err;
	switch (h->type) {
	case PS_REC_SWITCH: {
		const struct ps_switch *sw = (const void *)h;
		struct ps_thread *t = thread_of(r, sw->next_tid, sw->next_tgid);
		struct row_thread *rt = t ? row_thread(r, t) : NULL;

		if (rt) {
			rt->in_known = true;
			rt->in_ts = h->ts_ns;
			rt->in_prio = sw->next_prio;
		}
		break;
	}
	case PS_REC_LOST:
		on_lost(r, (const void *)h);
		break;
	case PS_REC_EXIT: {
		struct row_proc *rp = ev->process ? row_proc(r, ev->process) : NULL;

		/* the model forgets an exited process's space: its regions end here */
		if (rp && ((const struct ps_exit *)h)->group_dead)
			close_vmas(r, rp, h->ts_ns, true);
		break;
	}
	default:
		if (export__mem_call(h, &call))
			on_mem_call(r, ev, &call);
		break;
	}
	if (!keeps_layout(h->type))
		on_layout(r, ev);
	return r->err;
}

/* ---- the end ---- */

static void process_row(struct sql_rows *r, const struct ps_process *p)
{
	struct row_proc *rp = row_proc(r, p), *pp = NULL;
	int32_t ec = p->exit_code;
	int64_t code = (ec & 0x7f) ? 128 + (ec & 0x7f) : (ec >> 8) & 0xff;

	if (!rp)
		return;
	if (rp->parent_upid < 0 && p->ppid) {
		struct ps_process *parent = proc_model__process(r->pm, p->ppid);

		if (parent && parent != p && parent->start_ns <= p->start_ns)
			pp = row_proc(r, parent);
	}
	{
		struct sql_val v[] = {
			sql_int(rp->upid), sql_int(p->pid), sql_text_n(p->comm, sizeof(p->comm)),
			sql_text(p->exe[0] ? p->exe : NULL),
			rp->parent_upid >= 0 ? sql_int(rp->parent_upid) : opt_int(pp, pp ? pp->upid : 0),
			sql_int(rel(r, p->start_ns)), opt_int(p->exited, rel(r, p->end_ns)),
			opt_int(p->exited && ec >= 0, code), sql_int(p->born_in_trace),
		};

		emit(r, SQL_PROCESS, v);
	}
}

static void thread_row(struct sql_rows *r, const struct ps_thread *t)
{
	struct row_thread *rt = row_thread(r, t);
	struct row_proc *rp = row_proc(r, t->proc);
	int64_t creator = t->creator_tid ? utid_of_tid(r, t->creator_tid) : -1;
	struct sched_thread_stats s;

	if (!rt || !rp)
		return;
	sched_model__thread_stats(session__sched(r->s), t, &s);
	{
		struct sql_val v[] = {
			sql_int(rt->utid), sql_int(t->tid), sql_int(rp->upid),
			sql_text_n(t->comm, sizeof(t->comm)), sql_int(rel(r, t->start_ns)),
			opt_int(t->exited, rel(r, t->end_ns)), sql_int(t->tid == t->tgid),
			sql_int(t->born_in_trace), opt_int(creator >= 0, creator),
			sql_int(s.oncpu_ns), sql_int(s.oncpu_total_ns), sql_int(s.running_ns),
			sql_int(s.runnable_ns), sql_int(s.sleep_ns), sql_int(s.blocked_ns),
			sql_int(s.nvcsw), sql_int(s.nivcsw), sql_int(s.migrations), sql_int(s.wakeups),
			sql_int(s.unreported),
		};

		emit(r, SQL_THREAD, v);
	}
}

/* Perfetto's convention: upid 0 and utid 0 are the idle task ("swapper"). */
static void idle_rows(struct sql_rows *r)
{
	static const char *const proc_null[] = { "cmdline", "parent_upid", "start_ts", "end_ts",
						 "exit_code" };
	static const char *const thread_null[] = { "start_ts", "end_ts", "creator_utid" };
	struct sql_val v[32];

	for (size_t i = 0; i < PS_ARRAY_SIZE(v); i++)
		v[i] = sql_int(0);
	put(v, SQL_PROCESS, "name", sql_text("swapper"));
	for (size_t i = 0; i < PS_ARRAY_SIZE(proc_null); i++)
		put(v, SQL_PROCESS, proc_null[i], sql_null());
	emit(r, SQL_PROCESS, v);
	for (size_t i = 0; i < PS_ARRAY_SIZE(v); i++)
		v[i] = sql_int(0);
	put(v, SQL_THREAD, "name", sql_text("swapper"));
	put(v, SQL_THREAD, "is_main_thread", sql_int(1));
	for (size_t i = 0; i < PS_ARRAY_SIZE(thread_null); i++)
		put(v, SQL_THREAD, thread_null[i], sql_null());
	emit(r, SQL_THREAD, v);
}

static void kv(struct sql_rows *r, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void kv(struct sql_rows *r, const char *key, const char *fmt, ...)
{
	char buf[4200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	{
		struct sql_val v[] = { sql_text(key), sql_text(buf) };

		emit(r, SQL_SESSION, v);
	}
}

static void session_rows(struct sql_rows *r)
{
	const struct ps_file_header *fh = session__header(r->s);
	const struct trace_reader_stats *rs = session__reader_stats(r->s);
	const struct ps_footer *ft = session__footer(r->s);
	uint64_t end = session__end_ns(r->s), skipped = 0;

	kv(r, "hostname", "%s", session__hostname(r->s));
	kv(r, "boot_id", "%s", session__boot_id(r->s));
	kv(r, "session_id", "%s", r->session_id);
	kv(r, "start_ns", "%" PRIu64, (uint64_t)fh->start_ns);
	kv(r, "realtime_offset_ns", "%" PRId64, (int64_t)fh->realtime_offset_ns);
	kv(r, "wall_clock_start_ns", "%" PRId64, (int64_t)(fh->start_ns + fh->realtime_offset_ns));
	kv(r, "end_ts", "%" PRId64, rel(r, end));
	kv(r, "duration_ns", "%" PRId64, rel(r, end));
	kv(r, "cmdline", "%s", session__cmdline(r->s));
	kv(r, "targets", "%s", session__targets(r->s));
	kv(r, "target_all", "%u", fh->target_all);
	kv(r, "kernel_release", "%s", fh->kernel_release);
	kv(r, "recorder_version", "%s", fh->procscope_version);
	kv(r, "format_version", "%u", fh->version);
	kv(r, "ncpus", "%u", fh->ncpus);
	kv(r, "page_size", "%u", fh->page_size);
	kv(r, "records", "%" PRIu64, session__stats(r->s)->records);
	kv(r, "lost_records", "%" PRIu64, r->pm->lost_total);
	for (int k = 0; k < PS_STK_SLOTS; k++)
		skipped += r->pm->stacks_skipped[k];
	kv(r, "stacks_skipped", "%" PRIu64, skipped);
	if (ft)
		kv(r, "exit_status", "%d", ft->exit_status);
	kv(r, "complete", "%d", rs->has_footer && !rs->bad_chunks && !rs->bad_records &&
	   !rs->truncated);
}

int sql_rows__finish(struct sql_rows *r)
{
	struct proc_model *pm = r->pm;
	uint64_t end = session__end_ns(r->s);

	for (size_t i = 0; i < pm->nprocs; i++) {
		struct ps_process *p = pm->order[i];
		struct row_proc *rp = idmap__get(&r->procs, (uintptr_t)p);

		for (size_t j = 0; j < p->nthreads; j++) {
			struct row_thread *rt = idmap__get(&r->threads, (uintptr_t)p->threads[j]);

			/* its last run: the thread died after it (no interval follows death) */
			if (rt && rt->pending)
				flush_slice(r, rt, p->threads[j]->exited ? "X" : NULL);
		}
		if (rp)
			close_vmas(r, rp, end, false);
	}
	idle_rows(r);
	for (size_t i = 0; i < pm->nprocs; i++) {
		process_row(r, pm->order[i]);
		for (size_t j = 0; j < pm->order[i]->nthreads; j++)
			thread_row(r, pm->order[i]->threads[j]);
	}
	session_rows(r);
	return r->err;
}

struct sql_rows *sql_rows__new(struct session *s, const struct sql_sink *sink,
			       struct session_callbacks *cb)
{
	struct sql_rows *r = calloc(1, sizeof(*r));
	const struct ps_file_header *fh = session__header(s);

	if (!r)
		return NULL;
	r->s = s;
	r->pm = session__procs(s);
	r->sink = *sink;
	r->zero = session__time_zero(s);
	r->next_utid = r->next_upid = 1;	/* 0: the idle task */
	if (session__boot_id(s)[0])
		snprintf(r->session_id, sizeof(r->session_id), "%s-%" PRIu64, session__boot_id(s),
			 (uint64_t)fh->start_ns);
	else	/* files from before the boot id was stored */
		snprintf(r->session_id, sizeof(r->session_id), "%08x-%" PRIu64, fh->header_crc32,
			 (uint64_t)fh->start_ns);
	r->stkcb = (struct stack_callbacks){ on_sample, r };
	r->stk = stack_model__new(s, &r->stkcb);
	if (!r->stk) {
		free(r);
		return NULL;
	}
	r->scb = (struct sched_callbacks){ on_interval, on_cpu_interval, r };
	r->vcb = (struct vm_callbacks){ NULL, on_stack_depth, r };
	cb->sched = &r->scb;
	cb->vm = &r->vcb;
	cb->record = sql_rows__record;
	cb->ctx = r;
	return r;
}

struct sql_rows *sql_rows__export_begin(const struct export_ctx *c, const struct sql_sink *sink,
					struct session_callbacks *cb)
{
	if (c->pid || c->from_ns || c->to_ns != UINT64_MAX) {
		ps_err("the sqlite and clickhouse exports take the whole session: "
		       "select with SQL instead of --pid, --from, --to");
		errno = EINVAL;
		return NULL;
	}
	return sql_rows__new(c->s, sink, cb);
}

int sql_rows__export_record(void *st, const struct session_event *ev)
{
	return sql_rows__record(*(struct sql_rows **)st, ev);
}

const char *sql_rows__session_id(const struct sql_rows *r)
{
	return r->session_id;
}

void sql_rows__free(struct sql_rows *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->threads.cap; i++)
		free(r->threads.vals[i]);
	for (size_t i = 0; i < r->procs.cap; i++) {
		struct row_proc *rp = r->procs.vals[i];

		if (rp) {
			free(rp->vmas);
			free(rp);
		}
	}
	idmap__free(&r->threads);
	idmap__free(&r->procs);
	free_pairs(&r->frames);
	free_pairs(&r->callsites);
	idmap__free(&r->stacks);
	idmap__free(&r->mappings);
	stack_model__free(r->stk);
	free(r->cur);
	free(r->merged);
	free(r);
}
