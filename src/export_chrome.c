// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Chrome trace JSON export (chrome://tracing, Perfetto's JSON importer).
 *
 * chrome: per thread, an X slice for each state interval of the scheduling
 * model (running on CPU n, runnable, sleeping, blocked, stopped); a CPU
 * pseudo-process (pid EXPORT_CPU_PID) with one lane per CPU showing who ran;
 * C counters per process for the memory series of the address-space model;
 * i instants for each memory syscall with its arguments; M metadata naming
 * processes and threads (again after a rename or an exec).
 *
 * Call stacks: a tree of "stackFrames" nodes (a node is its parent plus one
 * frame, ids "1", "2", ...), written after the events; "sf" names the
 * innermost node of a memory call's stack on its instant and of a sleeping
 * or blocked interval's stack on its slice; each CPU-clock sample is a P
 * event with its "sf".
 *
 * ts and dur are microseconds since the recording start, printed with three
 * decimals so no nanosecond is lost. Events are written as the models close
 * them, so they are not sorted by ts: every importer sorts.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "export.h"
#include "export_stacks.h"
#include "json_writer.h"
#include "sched_model.h"
#include "vm_model.h"

enum { C_HEAP, C_ANON, C_STACK, C_RSS, NCOUNTERS };
static const char *const counter_names[NCOUNTERS] = {
	"heap bytes", "anon mmap bytes", "main stack bytes", "RSS bytes",
};

#define RUNNING_NAME_LEN 32
#define RUNNING_NAME_CPUS 65536	/* CPU numbers whose name is kept (40 bytes each) */

/* A name written on every interval, quoted and escaped once. */
struct qname {
	char text[RUNNING_NAME_LEN + 6];
	size_t len;		/* 0: not made yet */
};

#define DEPTH_PREFIX	"stack depth bytes "
#define DEPTH_NAME_LEN	(sizeof(DEPTH_PREFIX) + PS_COMM_LEN + 11)

struct ch_name {
	const void *obj;	/* the ps_thread/ps_process it was written for */
	char name[PS_COMM_LEN];
	bool written;
	bool counters;		/* processes: counters written at least once */
	uint64_t last[NCOUNTERS];
	char depth_name[DEPTH_NAME_LEN];	/* threads: its stack depth series, "" until made */
};

/*
 * Recently named threads and processes by object address: two idmap
 * lookups per interval were a tenth of the export's time. An entry is
 * good while its slot still belongs to the same object and id.
 */
#define NAME_CACHE 256

struct name_cache {
	const void *obj;
	uint32_t id;
	struct ch_name *n;
};

struct chrome {
	struct export_ctx *c;
	struct name_cache cache[2][NAME_CACHE];	/* [0]: processes, [1]: threads */
	struct json_writer w;
	struct sched_callbacks scb;
	struct vm_callbacks vcb;
	struct idmap procs;	/* pid -> ch_name */
	struct idmap threads;	/* tid -> ch_name */
	struct idmap cpus;	/* cpu + 1 -> non-NULL once named */
	bool cpu_process_named;
	/* chrome: call stacks as a tree of stackFrames nodes (1, 2, ...; 0 is no parent) */
	struct export_stacks *x;
	int64_t offcpu_stack;	/* the interval being written slept in it; -1: none */
	struct idmap node_of;	/* parent node << 32 | name id -> node */
	struct idmap leaf_of;	/* stack id + 1 -> its innermost node */
	uint32_t *node_parent;	/* [node - 1] */
	uint32_t *node_name;
	uint32_t nnodes, nodes_cap;
	struct qname *cpu_names;	/* [cpu]: "running on CPU n" */
	uint32_t ncpu_names;
	struct qname odd_cpu_name;
	struct qname state_names[TS_MAX];
	int err;
};

static void ts_field(struct chrome *ch, uint64_t ns)
{
	json_writer__kv_fixed_lit(&ch->w, "ts", (int64_t)(ns - ch->c->origin_ns), 3);
}

/* PH: a literal such as "X" */
#define begin_event(ch, ph, pid, tid) \
	do { \
		json_writer__begin_object(&(ch)->w); \
		json_writer__kv_lit(&(ch)->w, "ph", ph); \
		json_writer__kv_uint_lit(&(ch)->w, "pid", (pid)); \
		json_writer__kv_uint_lit(&(ch)->w, "tid", (tid)); \
	} while (0)

/* The stackFrames node of stack ID's innermost frame (0 on failure: no sf written). */
static uint32_t stack_node(struct chrome *ch, uint32_t id)
{
	struct stack_model *sm = export_stacks__model(ch->x);
	uintptr_t leaf = (uintptr_t)idmap__get(&ch->leaf_of, id + 1ull);
	const struct stack_frame *f;
	uint32_t n, node = 0;

	if (leaf)
		return leaf;
	f = stack_model__frames(sm, id, &n);
	while (n--) {	/* outermost first: a node is its parent plus one frame */
		int64_t name = export_stacks__frame_name_id(ch->x, &f[n]);
		uint64_t key = (uint64_t)node << 32 | (uint64_t)name;
		uintptr_t v;

		if (name < 0)
			goto fail;
		v = (uintptr_t)idmap__get(&ch->node_of, key);
		if (!v) {
			if (ch->nnodes == ch->nodes_cap) {
				uint32_t cap = ch->nodes_cap ? 2 * ch->nodes_cap : 1024;
				uint32_t *p = realloc(ch->node_parent, cap * sizeof(*p));

				if (!p)
					goto fail;
				ch->node_parent = p;
				p = realloc(ch->node_name, cap * sizeof(*p));
				if (!p)
					goto fail;
				ch->node_name = p;
				ch->nodes_cap = cap;
			}
			ch->node_parent[ch->nnodes] = node;
			ch->node_name[ch->nnodes] = name;
			v = ++ch->nnodes;
			if (idmap__set(&ch->node_of, key, (void *)v))
				goto fail;
		}
		node = v;
	}
	if (node && idmap__set(&ch->leaf_of, id + 1ull, (void *)(uintptr_t)node))
		goto fail;
	return node;
fail:
	ch->err = -ENOMEM;
	return 0;
}

static void sf_field(struct chrome *ch, int64_t stack)
{
	uint32_t node = stack >= 0 ? stack_node(ch, stack) : 0;

	if (node)
		json_writer__kv_uint_lit(&ch->w, "sf", node);
}

static void meta_event(struct chrome *ch, const char *what, uint32_t pid, uint32_t tid,
		       const char *name)
{
	begin_event(ch, "M", pid, tid);
	json_writer__key_lit(&ch->w, "name");
	json_writer__string(&ch->w, what);
	json_writer__key_lit(&ch->w, "args");
	json_writer__begin_object(&ch->w);
	json_writer__key_lit(&ch->w, "name");
	json_writer__string(&ch->w, name);
	json_writer__end_object(&ch->w);
	json_writer__end_object(&ch->w);
}

static struct ch_name *name_slot(struct chrome *ch, struct idmap *map, uint32_t id, const void *obj)
{
	struct name_cache *e = &ch->cache[map == &ch->threads][((uintptr_t)obj >> 6) % NAME_CACHE];
	struct ch_name *n;

	if (e->n && e->obj == obj && e->id == id && e->n->obj == obj)
		return e->n;
	n = idmap__get(map, id);

	if (!n) {
		n = calloc(1, sizeof(*n));
		if (!n || idmap__set(map, id, n)) {
			free(n);
			ch->err = -ENOMEM;
			return NULL;
		}
	}
	if (n->obj != obj) {	/* first sight, or a recycled id */
		memset(n, 0, sizeof(*n));
		n->obj = obj;
	}
	*e = (struct name_cache){ .obj = obj, .id = id, .n = n };
	return n;
}

/* Writes M events for the thread (and its process) when new or renamed; the thread's slot. */
static struct ch_name *name_thread(struct chrome *ch, const struct ps_thread *t)
{
	const struct ps_process *p = t->proc;
	char buf[PS_COMM_LEN + 16];
	struct ch_name *n;

	n = name_slot(ch, &ch->procs, p->pid, p);
	if (n && (!n->written || strncmp(n->name, p->comm, PS_COMM_LEN))) {
		meta_event(ch, "process_name", p->pid, 0, export__process_name(buf, sizeof(buf), p, p->pid));
		memcpy(n->name, p->comm, PS_COMM_LEN);
		n->written = true;
	}
	n = name_slot(ch, &ch->threads, t->tid, t);
	if (n && (!n->written || strncmp(n->name, t->comm, PS_COMM_LEN))) {
		meta_event(ch, "thread_name", t->tgid, t->tid, export__thread_name(buf, sizeof(buf), t, t->tid));
		memcpy(n->name, t->comm, PS_COMM_LEN);
		n->written = true;
		n->depth_name[0] = '\0';
	}
	return n;
}

/* The slot of ID in MAP, if it is OBJ's: freed (the object is about to be). */
static void drop_slot(struct chrome *ch, struct idmap *map, uint32_t id, const void *obj)
{
	struct ch_name *n = idmap__get(map, id);

	if (!n || n->obj != obj)
		return;
	for (int k = 0; k < 2; k++)
		for (int i = 0; i < NAME_CACHE; i++)
			if (ch->cache[k][i].n == n)
				ch->cache[k][i] = (struct name_cache){ 0 };
	idmap__del(map, id);
	free(n);
}

/* A dead thread (and its process) freed: their names were written, nothing more will be. */
static void on_release(void *ctx, const struct ps_thread *t, const struct ps_process *p)
{
	struct chrome *ch = ctx;

	drop_slot(ch, &ch->threads, t->tid, t);
	if (p)
		drop_slot(ch, &ch->procs, p->pid, p);
}

static void name_cpu(struct chrome *ch, uint32_t cpu)
{
	char buf[32];

	if (!ch->cpu_process_named) {
		meta_event(ch, "process_name", EXPORT_CPU_PID, 0, "CPUs");
		ch->cpu_process_named = true;
	}
	if (idmap__get(&ch->cpus, cpu + 1ull))
		return;
	if (idmap__set(&ch->cpus, cpu + 1ull, ch)) {
		ch->err = -ENOMEM;
		return;
	}
	snprintf(buf, sizeof(buf), "CPU %u", cpu);
	meta_event(ch, "thread_name", EXPORT_CPU_PID, cpu, buf);
}

/* NAME quoted into Q once (json_writer__quote()); false if it does not fit. */
static bool make_qname(struct qname *q, const char *name)
{
	q->len = json_writer__quote(q->text, sizeof(q->text), name, SIZE_MAX);
	return q->len != 0;
}

/*
 * An interval's name, quoted: "running on CPU n" (made once per CPU), or
 * its state's name. NULL on failure (ch->err set).
 */
static const struct qname *state_qname(struct chrome *ch, const struct sched_interval *iv)
{
	char buf[RUNNING_NAME_LEN];
	struct qname *q;
	int32_t cpu = iv->cpu;

	if (iv->state != TS_RUNNING) {
		q = &ch->state_names[iv->state];
		if (!q->len && !make_qname(q, sched_model__state_name(iv->state)))
			goto fail;
		return q;
	}
	if (cpu < 0 || cpu >= RUNNING_NAME_CPUS) {	/* not a CPU number: made each time */
		snprintf(buf, sizeof(buf), "running on CPU %d", cpu);
		return make_qname(&ch->odd_cpu_name, buf) ? &ch->odd_cpu_name : NULL;
	}
	if ((uint32_t)cpu >= ch->ncpu_names) {
		uint32_t n = (uint32_t)cpu + 1;
		struct qname *p = realloc(ch->cpu_names, n * sizeof(*p));

		if (!p)
			goto fail;
		memset(p + ch->ncpu_names, 0, (n - ch->ncpu_names) * sizeof(*p));
		ch->cpu_names = p;
		ch->ncpu_names = n;
	}
	q = &ch->cpu_names[cpu];
	if (!q->len) {
		snprintf(buf, sizeof(buf), "running on CPU %d", cpu);
		if (!make_qname(q, buf))
			goto fail;
	}
	return q;
fail:
	ch->err = ch->err ?: -ENOMEM;
	return NULL;
}

static void on_interval(void *ctx, const struct sched_interval *iv)
{
	struct chrome *ch = ctx;
	const struct ps_thread *t = iv->thread;
	uint64_t start = iv->start_ns, end = iv->end_ns;
	const struct qname *name;

	ch->offcpu_stack = -1;
	if (ch->x)	/* a sleeping or blocked interval's stack comes as a sample, now */
		export_stacks__interval(ch->x, iv);
	if (iv->state == TS_UNKNOWN || iv->state == TS_DEAD || !export__want_pid(ch->c, iv->tgid))
		return;
	if (!export__clip(ch->c, &start, &end))
		return;
	if (t && t->tgid == iv->tgid)
		name_thread(ch, t);
	name = state_qname(ch, iv);
	if (!name)
		return;
	begin_event(ch, "X", iv->tgid, iv->tid);
	json_writer__key_lit(&ch->w, "name");
	json_writer__quoted(&ch->w, name->text, name->len);
	json_writer__kv_lit(&ch->w, "cat", "sched");
	ts_field(ch, start);
	json_writer__kv_fixed_lit(&ch->w, "dur", (int64_t)(end - start), 3);
	sf_field(ch, ch->offcpu_stack);
	if (iv->state == TS_RUNNABLE && (iv->preempted || iv->waker_tid || iv->cpu >= 0)) {
		json_writer__key_lit(&ch->w, "args");
		json_writer__begin_object(&ch->w);
		if (iv->cpu >= 0)
			json_writer__kv_int_lit(&ch->w, "cpu", iv->cpu);
		if (iv->preempted) {
			json_writer__key_lit(&ch->w, "preempted");
			json_writer__bool(&ch->w, true);
		}
		if (iv->waker_tid)
			json_writer__kv_uint_lit(&ch->w, "waker_tid", iv->waker_tid);
		json_writer__end_object(&ch->w);
	}
	json_writer__end_object(&ch->w);
}

static void on_cpu_interval(void *ctx, const struct sched_cpu_interval *iv)
{
	struct chrome *ch = ctx;
	uint64_t start = iv->start_ns, end = iv->end_ns;
	char name[PS_COMM_LEN + 16];

	if (!iv->tid || !export__want_pid(ch->c, iv->tgid))
		return;		/* idle is the gaps between slices */
	if (!export__clip(ch->c, &start, &end))
		return;
	name_cpu(ch, iv->cpu);
	export__thread_name(name, sizeof(name), iv->thread ?: proc_model__thread(ch->c->pm, iv->tid),
			    iv->tid);
	begin_event(ch, "X", EXPORT_CPU_PID, iv->cpu);
	json_writer__key_lit(&ch->w, "name");
	json_writer__string(&ch->w, name);
	json_writer__kv_lit(&ch->w, "cat", "cpu");
	ts_field(ch, start);
	json_writer__kv_fixed_lit(&ch->w, "dur", (int64_t)(end - start), 3);
	json_writer__key_lit(&ch->w, "args");
	json_writer__begin_object(&ch->w);
	json_writer__kv_uint_lit(&ch->w, "tid", iv->tid);
	json_writer__kv_uint_lit(&ch->w, "pid", iv->tgid);
	json_writer__end_object(&ch->w);
	json_writer__end_object(&ch->w);
}

static void counter_event(struct chrome *ch, uint32_t pid, uint64_t ts, const char *name,
			  uint64_t v)
{
	begin_event(ch, "C", pid, pid);
	json_writer__key_lit(&ch->w, "name");
	json_writer__string(&ch->w, name);
	json_writer__kv_lit(&ch->w, "cat", "memory");
	ts_field(ch, ts);
	json_writer__key_lit(&ch->w, "args");
	json_writer__begin_object(&ch->w);
	json_writer__kv_uint_lit(&ch->w, "value", v);
	json_writer__end_object(&ch->w);
	json_writer__end_object(&ch->w);
}

static void on_counters(void *ctx, const struct ps_process *p, uint64_t ts,
			const struct vm_counters *vc)
{
	struct chrome *ch = ctx;
	uint64_t v[NCOUNTERS] = { vc->heap_bytes, vc->anon_bytes, vc->stack_bytes, vc->rss_bytes };
	struct ch_name *n;

	if (!export__want_pid(ch->c, p->pid) || !export__want_ts(ch->c, ts) || !p->nthreads)
		return;
	name_thread(ch, p->threads[0]);
	n = idmap__get(&ch->procs, p->pid);
	if (!n)
		return;
	for (int k = 0; k < NCOUNTERS; k++) {
		if (n->counters && n->last[k] == v[k])
			continue;
		counter_event(ch, p->pid, ts, counter_names[k], v[k]);
		n->last[k] = v[k];
	}
	n->counters = true;
}

static void on_stack_depth(void *ctx, const struct ps_thread *t, uint64_t ts, uint64_t depth)
{
	struct chrome *ch = ctx;
	struct ch_name *n;

	if (!export__want_pid(ch->c, t->tgid) || !export__want_ts(ch->c, ts))
		return;
	n = name_thread(ch, t);
	if (!n)
		return;		/* out of memory: ch->err says so */
	/* C events are per process: one series per thread, "... COMM TID", made once per name */
	if (!n->depth_name[0])
		snprintf(n->depth_name, sizeof(n->depth_name), DEPTH_PREFIX "%.*s %u", PS_COMM_LEN,
			 t->comm, t->tid);
	counter_event(ch, t->tgid, ts, n->depth_name, depth);
}

/* A memory call (held until its stack: export_stacks.h) as an instant. */
static void on_mem_call(void *ctx, const struct ps_hdr *h, int64_t stack)
{
	struct chrome *ch = ctx;
	struct export_mem_call call;

	if (!export__want_pid(ch->c, h->tgid) || !export__want_ts(ch->c, h->ts_ns))
		return;
	if (!export__mem_call(h, &call))
		return;
	begin_event(ch, "i", h->tgid, h->tid);
	json_writer__key_lit(&ch->w, "name");
	json_writer__string(&ch->w, call.name);
	json_writer__kv_lit(&ch->w, "cat", "memory");
	json_writer__kv_lit(&ch->w, "s", "t");
	ts_field(ch, h->ts_ns);
	sf_field(ch, stack);
	json_writer__key_lit(&ch->w, "args");
	json_writer__begin_object(&ch->w);
	for (unsigned i = 0; i < call.nargs; i++) {
		const struct export_arg *a = &call.args[i];

		switch (a->kind) {
		case EA_PTR:
			json_writer__key(&ch->w, a->name);
			json_writer__hex(&ch->w, a->u);
			break;
		case EA_UINT:
			json_writer__kv_uint(&ch->w, a->name, a->u);
			break;
		case EA_INT:
			json_writer__kv_int(&ch->w, a->name, a->i);
			break;
		case EA_STR:
			json_writer__kv_str(&ch->w, a->name, a->s);
			break;
		}
	}
	json_writer__end_object(&ch->w);
	json_writer__end_object(&ch->w);
}

/* A CPU-clock sample: a P event on its thread, at its stack. */
static void on_stack(void *ctx, const struct ps_ustack *s, uint32_t id)
{
	struct chrome *ch = ctx;
	const struct ps_thread *t = proc_model__thread(ch->c->pm, s->h.tid);

	if (s->kind != PS_STK_SAMPLE || !export__want_pid(ch->c, s->h.tgid) ||
	    !export__want_ts(ch->c, s->h.ts_ns))
		return;
	if (t && t->tgid == s->h.tgid)
		name_thread(ch, t);
	begin_event(ch, "P", s->h.tgid, s->h.tid);
	json_writer__kv_lit(&ch->w, "name", "cpu sample");
	json_writer__kv_lit(&ch->w, "cat", "cpu");
	ts_field(ch, s->h.ts_ns);
	sf_field(ch, id);
	json_writer__end_object(&ch->w);
}

static void on_stack_sample(void *ctx, const struct stack_sample *s)
{
	struct chrome *ch = ctx;

	if (s->kind == SK_OFFCPU)
		ch->offcpu_stack = s->stack;
}

static void write_stack_frames(struct chrome *ch)
{
	char id[16];

	json_writer__key(&ch->w, "stackFrames");
	json_writer__begin_object(&ch->w);
	for (uint32_t i = 0; i < ch->nnodes; i++) {
		snprintf(id, sizeof(id), "%u", i + 1);
		json_writer__key(&ch->w, id);
		json_writer__begin_object(&ch->w);
		json_writer__kv_str(&ch->w, "name", export_stacks__name(ch->x, ch->node_name[i]));
		if (ch->node_parent[i]) {
			snprintf(id, sizeof(id), "%u", ch->node_parent[i]);
			json_writer__kv_str(&ch->w, "parent", id);
		}
		json_writer__end_object(&ch->w);
	}
	json_writer__end_object(&ch->w);
}

static void ch_free(void *st)
{
	struct chrome *ch = st;

	if (!ch)
		return;
	for (size_t i = 0; i < ch->procs.cap; i++)
		free(ch->procs.vals[i]);
	for (size_t i = 0; i < ch->threads.cap; i++)
		free(ch->threads.vals[i]);
	idmap__free(&ch->procs);
	idmap__free(&ch->threads);
	idmap__free(&ch->cpus);
	export_stacks__free(ch->x);
	idmap__free(&ch->node_of);
	idmap__free(&ch->leaf_of);
	free(ch->node_parent);
	free(ch->node_name);
	free(ch->cpu_names);
	free(ch);
}

static void *ch_begin(struct export_ctx *c, struct session_callbacks *cb)
{
	struct export_stacks_callbacks xcb = {
		.mem_call = on_mem_call, .stack = on_stack, .sample = on_stack_sample,
	};
	struct chrome *ch = calloc(1, sizeof(*ch));

	if (!ch)
		return NULL;
	ch->c = c;
	ch->offcpu_stack = -1;
	xcb.ctx = ch;
	ch->x = export_stacks__new(c->s, &xcb);
	if (!ch->x) {
		free(ch);
		return NULL;
	}
	ch->scb = (struct sched_callbacks){ .interval = on_interval, .cpu_interval = on_cpu_interval,
					    .ctx = ch };
	ch->vcb = (struct vm_callbacks){ .counters = on_counters, .stack_depth = on_stack_depth,
					 .ctx = ch };
	cb->sched = &ch->scb;
	cb->vm = &ch->vcb;
	cb->release = on_release;
	json_writer__init(&ch->w, c->out);
	json_writer__set_line_depth(&ch->w, 2);	/* one event per line */
	json_writer__begin_object(&ch->w);
	json_writer__kv_str(&ch->w, "displayTimeUnit", "ns");
	json_writer__key(&ch->w, "otherData");
	json_writer__begin_object(&ch->w);
	json_writer__kv_str(&ch->w, "source", "procscope");
	json_writer__kv_str(&ch->w, "procscope_version", c->fh->procscope_version);
	json_writer__kv_str(&ch->w, "kernel", c->fh->kernel_release);
	json_writer__kv_str(&ch->w, "command", c->cmdline);
	json_writer__kv_str(&ch->w, "cpu_pid", "4194304");
	json_writer__end_object(&ch->w);
	json_writer__key(&ch->w, "traceEvents");
	json_writer__begin_array(&ch->w);
	return ch;
}

static int ch_record(void *st, const struct session_event *ev)
{
	const struct ps_hdr *h = ev->h;
	struct chrome *ch = st;

	/* the call's instant waits for its stack (on_mem_call()); its thread is named now */
	if (ev->thread && export__want_pid(ch->c, h->tgid) && export__want_ts(ch->c, h->ts_ns) &&
	    (h->type == PS_REC_MEMOP || (h->type >= PS_REC_BRK && h->type <= PS_REC_MPROTECT)))
		name_thread(ch, ev->thread);
	ch->err = ch->err ?: export_stacks__record(ch->x, ev);
	/* names change mid-trace: say so where it happens, once it was named */
	if ((h->type == PS_REC_RENAME || h->type == PS_REC_EXEC) && ev->thread &&
	    idmap__get(&ch->threads, h->tid))
		name_thread(ch, ev->thread);
	return ch->err ?: json_writer__error(&ch->w);
}

static int ch_finish(void *st)
{
	struct chrome *ch = st;

	ch->err = ch->err ?: export_stacks__finish(ch->x);
	json_writer__end_array(&ch->w);
	if (ch->nnodes)
		write_stack_frames(ch);
	json_writer__end_object(&ch->w);
	fputc('\n', ch->c->out);
	return ch->err ?: json_writer__error(&ch->w);
}

const struct export_format export_chrome = {
	.name = "chrome",
	.default_output = "procscope.json",
	.models = SESSION_SCHED | SESSION_VM | SESSION_RELEASE,
	.begin = ch_begin,
	.record = ch_record,
	.finish = ch_finish,
	.free = ch_free,
};
