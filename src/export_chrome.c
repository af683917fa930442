// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Chrome trace JSON export (chrome://tracing, Perfetto's JSON importer) and
 * its speedscope variant.
 *
 * chrome: per thread, an X slice for each state interval of the scheduling
 * model (running on CPU n, runnable, sleeping, blocked, stopped); a CPU
 * pseudo-process (pid EXPORT_CPU_PID) with one lane per CPU showing who ran;
 * C counters per process for the memory series of the address-space model;
 * i instants for each memory syscall with its arguments; M metadata naming
 * processes and threads (again after a rename or an exec).
 *
 * speedscope: the same slices and names without arguments, counters or
 * instants, which is what speedscope's Chrome importer takes; written as B/E
 * pairs rather than X because speedscope computes an X's end as ts + dur in
 * floating point, which can land a hair after the next slice's start and
 * nest it. B/E print the same decimal text for one slice's end and the next
 * one's start, and speedscope closes before it opens at equal times when the
 * names differ; adjacent slices with the same name are merged so they never
 * meet. That keeps one pending slice per lane (thread or CPU).
 *
 * ts and dur are microseconds since the recording start, printed with three
 * decimals so no nanosecond is lost. Events are written as the models close
 * them, so they are not sorted by ts: every importer sorts.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "export.h"
#include "json_writer.h"
#include "sched_model.h"
#include "vm_model.h"

enum { C_HEAP, C_ANON, C_STACK, C_RSS, NCOUNTERS };
static const char *const counter_names[NCOUNTERS] = {
	"heap bytes", "anon mmap bytes", "main stack bytes", "RSS bytes",
};

struct ch_name {
	const void *obj;	/* the ps_thread/ps_process it was written for */
	char name[PS_COMM_LEN];
	bool written;
	bool counters;		/* processes: counters written at least once */
	uint64_t last[NCOUNTERS];
};

/* speedscope: the slice of a lane not yet written, to merge with the next one */
struct lane {
	uint32_t pid, tid;
	uint64_t start, end;
	char name[PS_COMM_LEN + 24];
};

struct chrome {
	struct export_ctx *c;
	struct json_writer w;
	struct sched_callbacks scb;
	struct vm_callbacks vcb;
	bool speedscope;	/* X and M only, no args */
	struct idmap procs;	/* pid -> ch_name */
	struct idmap threads;	/* tid -> ch_name */
	struct idmap cpus;	/* cpu + 1 -> non-NULL once named */
	struct idmap lanes;	/* speedscope: pid << 32 | tid -> lane */
	bool cpu_process_named;
	int err;
};

static void ts_field(struct chrome *ch, const char *key, uint64_t ns)
{
	json_writer__key(&ch->w, key);
	json_writer__fixed(&ch->w, (int64_t)(ns - ch->c->origin_ns), 3);
}

static void begin_event(struct chrome *ch, const char *ph, uint32_t pid, uint32_t tid)
{
	json_writer__begin_object(&ch->w);
	json_writer__kv_str(&ch->w, "ph", ph);
	json_writer__kv_uint(&ch->w, "pid", pid);
	json_writer__kv_uint(&ch->w, "tid", tid);
}

static void meta_event(struct chrome *ch, const char *what, uint32_t pid, uint32_t tid,
		       const char *name)
{
	begin_event(ch, "M", pid, tid);
	json_writer__kv_str(&ch->w, "name", what);
	json_writer__key(&ch->w, "args");
	json_writer__begin_object(&ch->w);
	json_writer__kv_str(&ch->w, "name", name);
	json_writer__end_object(&ch->w);
	json_writer__end_object(&ch->w);
}

static struct ch_name *name_slot(struct chrome *ch, struct idmap *map, uint32_t id, const void *obj)
{
	struct ch_name *n = idmap__get(map, id);

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
	return n;
}

/* Writes M events for the thread (and its process) when new or renamed. */
static void name_thread(struct chrome *ch, const struct ps_thread *t)
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
	}
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

static void be_event(struct chrome *ch, const char *ph, const struct lane *l, uint64_t ts)
{
	begin_event(ch, ph, l->pid, l->tid);
	json_writer__kv_str(&ch->w, "name", l->name);
	ts_field(ch, "ts", ts);
	json_writer__end_object(&ch->w);
}

static void flush_lane(struct chrome *ch, struct lane *l)
{
	if (!l->name[0])
		return;
	be_event(ch, "B", l, l->start);
	be_event(ch, "E", l, l->end);
	l->name[0] = '\0';
}

/* speedscope: queues a slice on its lane, merged with the pending one if it continues it. */
static void lane_slice(struct chrome *ch, uint32_t pid, uint32_t tid, const char *name,
		       uint64_t start, uint64_t end)
{
	uint64_t key = (uint64_t)pid << 32 | tid;
	struct lane *l = idmap__get(&ch->lanes, key);

	if (!l) {
		l = calloc(1, sizeof(*l));
		if (!l || idmap__set(&ch->lanes, key, l)) {
			free(l);
			ch->err = -ENOMEM;
			return;
		}
		l->pid = pid;
		l->tid = tid;
	}
	if (l->name[0] && l->end == start && !strncmp(l->name, name, sizeof(l->name))) {
		l->end = end;
		return;
	}
	flush_lane(ch, l);
	snprintf(l->name, sizeof(l->name), "%s", name);
	l->start = start;
	l->end = end;
}

static void on_interval(void *ctx, const struct sched_interval *iv)
{
	struct chrome *ch = ctx;
	const struct ps_thread *t = proc_model__thread(ch->c->pm, iv->tid);
	uint64_t start = iv->start_ns, end = iv->end_ns;
	char name[32];

	if (iv->state == TS_UNKNOWN || iv->state == TS_DEAD || !export__want_pid(ch->c, iv->tgid))
		return;
	if (!export__clip(ch->c, &start, &end))
		return;
	if (t && t->tgid == iv->tgid)
		name_thread(ch, t);
	if (iv->state == TS_RUNNING)
		snprintf(name, sizeof(name), "running on CPU %d", iv->cpu);
	else
		snprintf(name, sizeof(name), "%s", sched_model__state_name(iv->state));
	if (ch->speedscope) {
		lane_slice(ch, iv->tgid, iv->tid, name, start, end);
		return;
	}
	begin_event(ch, "X", iv->tgid, iv->tid);
	json_writer__kv_str(&ch->w, "name", name);
	json_writer__kv_str(&ch->w, "cat", "sched");
	ts_field(ch, "ts", start);
	json_writer__key(&ch->w, "dur");
	json_writer__fixed(&ch->w, (int64_t)(end - start), 3);
	if (!ch->speedscope && iv->state == TS_RUNNABLE && (iv->preempted || iv->waker_tid || iv->cpu >= 0)) {
		json_writer__key(&ch->w, "args");
		json_writer__begin_object(&ch->w);
		if (iv->cpu >= 0)
			json_writer__kv_int(&ch->w, "cpu", iv->cpu);
		if (iv->preempted) {
			json_writer__key(&ch->w, "preempted");
			json_writer__bool(&ch->w, true);
		}
		if (iv->waker_tid)
			json_writer__kv_uint(&ch->w, "waker_tid", iv->waker_tid);
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
	export__thread_name(name, sizeof(name), proc_model__thread(ch->c->pm, iv->tid), iv->tid);
	if (ch->speedscope) {
		lane_slice(ch, EXPORT_CPU_PID, iv->cpu, name, start, end);
		return;
	}
	begin_event(ch, "X", EXPORT_CPU_PID, iv->cpu);
	json_writer__kv_str(&ch->w, "name", name);
	json_writer__kv_str(&ch->w, "cat", "cpu");
	ts_field(ch, "ts", start);
	json_writer__key(&ch->w, "dur");
	json_writer__fixed(&ch->w, (int64_t)(end - start), 3);
	if (!ch->speedscope) {
		json_writer__key(&ch->w, "args");
		json_writer__begin_object(&ch->w);
		json_writer__kv_uint(&ch->w, "tid", iv->tid);
		json_writer__kv_uint(&ch->w, "pid", iv->tgid);
		json_writer__end_object(&ch->w);
	}
	json_writer__end_object(&ch->w);
}

static void counter_event(struct chrome *ch, uint32_t pid, uint64_t ts, const char *name,
			  uint64_t v)
{
	begin_event(ch, "C", pid, pid);
	json_writer__kv_str(&ch->w, "name", name);
	json_writer__kv_str(&ch->w, "cat", "memory");
	ts_field(ch, "ts", ts);
	json_writer__key(&ch->w, "args");
	json_writer__begin_object(&ch->w);
	json_writer__kv_uint(&ch->w, "value", v);
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
	char name[PS_COMM_LEN + 48];

	if (!export__want_pid(ch->c, t->tgid) || !export__want_ts(ch->c, ts))
		return;
	name_thread(ch, t);
	/* C events are per process: one series per thread, named after it */
	snprintf(name, sizeof(name), "stack depth bytes %.*s %u", PS_COMM_LEN, t->comm, t->tid);
	counter_event(ch, t->tgid, ts, name, depth);
}

static void on_mem_call(struct chrome *ch, const struct ps_hdr *h, const struct ps_thread *t)
{
	struct export_mem_call call;
	char hex[24];

	if (!export__want_pid(ch->c, h->tgid) || !export__want_ts(ch->c, h->ts_ns))
		return;
	if (!export__mem_call(h, &call))
		return;
	if (t)
		name_thread(ch, t);
	begin_event(ch, "i", h->tgid, h->tid);
	json_writer__kv_str(&ch->w, "name", call.name);
	json_writer__kv_str(&ch->w, "cat", "memory");
	json_writer__kv_str(&ch->w, "s", "t");
	ts_field(ch, "ts", h->ts_ns);
	json_writer__key(&ch->w, "args");
	json_writer__begin_object(&ch->w);
	for (unsigned i = 0; i < call.nargs; i++) {
		const struct export_arg *a = &call.args[i];

		switch (a->kind) {
		case EA_PTR:	/* hex text: JSON readers keep only 53 bits of a number */
			snprintf(hex, sizeof(hex), "0x%llx", (unsigned long long)a->u);
			json_writer__kv_str(&ch->w, a->name, hex);
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

static void ch_free(void *st)
{
	struct chrome *ch = st;

	if (!ch)
		return;
	for (size_t i = 0; i < ch->procs.cap; i++)
		free(ch->procs.vals[i]);
	for (size_t i = 0; i < ch->threads.cap; i++)
		free(ch->threads.vals[i]);
	for (size_t i = 0; i < ch->lanes.cap; i++)
		free(ch->lanes.vals[i]);
	idmap__free(&ch->lanes);
	idmap__free(&ch->procs);
	idmap__free(&ch->threads);
	idmap__free(&ch->cpus);
	free(ch);
}

static void *begin(struct export_ctx *c, struct session_callbacks *cb, bool speedscope)
{
	struct chrome *ch = calloc(1, sizeof(*ch));

	if (!ch)
		return NULL;
	ch->c = c;
	ch->speedscope = speedscope;
	ch->scb = (struct sched_callbacks){ .interval = on_interval, .cpu_interval = on_cpu_interval,
					    .ctx = ch };
	ch->vcb = (struct vm_callbacks){ .counters = on_counters, .stack_depth = on_stack_depth,
					 .ctx = ch };
	cb->sched = &ch->scb;
	cb->vm = speedscope ? NULL : &ch->vcb;
	json_writer__init(&ch->w, c->out);
	json_writer__set_line_depth(&ch->w, 2);	/* one event per line */
	json_writer__begin_object(&ch->w);
	if (!speedscope) {
		json_writer__kv_str(&ch->w, "displayTimeUnit", "ns");
		json_writer__key(&ch->w, "otherData");
		json_writer__begin_object(&ch->w);
		json_writer__kv_str(&ch->w, "source", "procscope");
		json_writer__kv_str(&ch->w, "procscope_version", c->fh->procscope_version);
		json_writer__kv_str(&ch->w, "kernel", c->fh->kernel_release);
		json_writer__kv_str(&ch->w, "command", c->cmdline);
		json_writer__kv_str(&ch->w, "cpu_pid", "4194304");
		json_writer__end_object(&ch->w);
	}
	json_writer__key(&ch->w, "traceEvents");
	json_writer__begin_array(&ch->w);
	return ch;
}

static void *chrome_begin(struct export_ctx *c, struct session_callbacks *cb)
{
	return begin(c, cb, false);
}

static void *speedscope_begin(struct export_ctx *c, struct session_callbacks *cb)
{
	return begin(c, cb, true);
}

static int ch_record(void *st, const struct session_event *ev)
{
	const struct ps_hdr *h = ev->h;
	struct chrome *ch = st;

	if (!ch->speedscope)
		on_mem_call(ch, h, ev->thread);
	/* names change mid-trace: say so where it happens, once it was named */
	if ((h->type == PS_REC_RENAME || h->type == PS_REC_EXEC) && ev->thread &&
	    idmap__get(&ch->threads, h->tid))
		name_thread(ch, ev->thread);
	return ch->err ?: json_writer__error(&ch->w);
}

static int ch_finish(void *st)
{
	struct chrome *ch = st;

	/* idmap order: arbitrary but the same for the same input */
	for (size_t i = 0; i < ch->lanes.cap; i++)
		if (ch->lanes.vals[i])
			flush_lane(ch, ch->lanes.vals[i]);
	json_writer__end_array(&ch->w);
	json_writer__end_object(&ch->w);
	fputc('\n', ch->c->out);
	return ch->err ?: json_writer__error(&ch->w);
}

const struct export_format export_chrome = {
	.name = "chrome",
	.default_output = "procscope.json",
	.models = SESSION_SCHED | SESSION_VM,
	.begin = chrome_begin,
	.record = ch_record,
	.finish = ch_finish,
	.free = ch_free,
};

const struct export_format export_speedscope = {
	.name = "speedscope",
	.default_output = "procscope.speedscope.json",
	.models = SESSION_SCHED,
	.begin = speedscope_begin,
	.record = ch_record,
	.finish = ch_finish,
	.free = ch_free,
};
