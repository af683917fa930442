// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Perfetto protobuf export (a perfetto.protos.Trace: a stream of TracePacket).
 *
 * Scheduling goes out as the kernel's own ftrace events (sched_switch,
 * sched_waking, sched_wakeup_new, task_newtask, task_rename,
 * sched_process_free) in per-CPU FtraceEventBundles, so the UI draws CPU
 * lanes and thread states itself; a system_info packet carries the recorded
 * kernel release, which tells trace_processor how to decode prev_state.
 * Threads and processes are announced in process_tree packets as they
 * appear. Memory goes out as track events: memory syscalls as instants on
 * the calling thread's track, and per-process counter tracks (heap, anon,
 * stack, RSS) plus a per-thread stack-depth counter from the address-space
 * model. Coroutine stacks (coro_model) get a track each under their
 * process, with a slice per span a thread ran on them: a coroutine that
 * moves between threads stays on its one track.
 *
 * Call stacks (export_perfetto_stacks.c): CPU-clock samples as PerfSample
 * packets whose callstacks, frames, function names and mappings are
 * interned on the sequence; a memory call's stack as a "stack" debug
 * annotation (frames innermost first) on its instant; an off-CPU stack as
 * a slice on the thread's track from the switch-out to the wakeup, named
 * after the innermost user function, with the stack annotated.
 *
 * Field numbers are those of the public schema (protos/perfetto/trace/...),
 * written with pb_writer; nothing is generated from the .proto file.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include "export.h"
#include "export_perfetto_stacks.h"
#include "pb_writer.h"
#include "task_state.h"
#include "util.h"
#include "vm_model.h"

/* TracePacket */
#define TP_FTRACE_EVENTS	1
#define TP_PROCESS_TREE		2
#define TP_TIMESTAMP		8
#define TP_SEQ_ID		10
#define TP_TRACK_EVENT		11
#define TP_SEQ_FLAGS		13
#define TP_SYSTEM_INFO		45
#define TP_TRACK_DESCRIPTOR	60
#define TP_PERF_SAMPLE		66
#define SEQ_INCREMENTAL_STATE_CLEARED 1
#define SEQ_NEEDS_INCREMENTAL_STATE 2
/* PerfSample */
#define PS_CPU			1
#define PS_PID			2
#define PS_TID			3
#define PS_CALLSTACK_IID	4
#define PS_CPU_MODE		5
#define CPU_MODE_KERNEL		1
#define CPU_MODE_USER		2
/* FtraceEventBundle / FtraceEvent */
#define FB_CPU			1
#define FB_EVENT		2
#define FE_TIMESTAMP		1
#define FE_PID			2
#define FE_SCHED_SWITCH		4
#define FE_SCHED_WAKING		20
#define FE_SCHED_WAKEUP_NEW	114
#define FE_TASK_NEWTASK		235
#define FE_TASK_RENAME		236
#define FE_SCHED_PROCESS_FREE	240
/* TrackDescriptor, ProcessDescriptor, ThreadDescriptor, CounterDescriptor */
#define TD_UUID			1
#define TD_NAME			2
#define TD_PROCESS		3
#define TD_THREAD		4
#define TD_PARENT_UUID		5
#define TD_COUNTER		8
#define PD_PID			1
#define PD_CMDLINE		2
#define PD_NAME			6
#define THD_PID			1
#define THD_TID			2
#define THD_NAME		5
#define CD_UNIT			3
#define CD_UNIT_SIZE_BYTES	3
/* TrackEvent, DebugAnnotation */
#define TE_DEBUG_ANNOTATIONS	4
#define TE_TYPE			9
#define TE_TRACK_UUID		11
#define TE_CATEGORIES		22
#define TE_NAME			23
#define TE_COUNTER_VALUE	30
#define TE_TYPE_SLICE_BEGIN	1
#define TE_TYPE_SLICE_END	2
#define TE_TYPE_INSTANT		3
#define TE_TYPE_COUNTER		4
#define DA_UINT			3
#define DA_INT			4
#define DA_STRING		6
#define DA_POINTER		7
#define DA_NAME			10

#define SEQ_ID			1	/* the one sequence every track event is on */
#define DEFAULT_PRIO		120	/* nice 0, when a task's priority was never seen */
#define FLUSH_BYTES		(1u << 20)
/*
 * Events per CPU bundle. The session delivers records in time order, so
 * each CPU's events arrive sorted and a bundle is written as it fills.
 */
#define BATCH			2048
#define MAX_CPUS		4096

/* Track uuids, fixed by ids so that the output is deterministic. */
#define UUID_PROCESS(pid)	((1ull << 56) | (pid))
#define UUID_THREAD(tgid, tid)	((2ull << 56) | ((uint64_t)(tgid) << 24) | (tid))
#define UUID_COUNTER(k, pid)	(((3ull + (k)) << 56) | (pid))
#define UUID_DEPTH(tgid, tid)	((8ull << 56) | ((uint64_t)(tgid) << 24) | (tid))
#define UUID_CORO(pid, id)	((9ull << 56) | ((uint64_t)(pid) << 24) | (id))

enum ev_kind { EV_SWITCH, EV_WAKING, EV_WAKEUP_NEW, EV_NEWTASK, EV_RENAME, EV_FREE };

struct ftrace_ev {
	uint64_t ts;
	uint32_t kind;
	uint32_t cur_tid;	/* FtraceEvent.pid: the task running when it happened */
	uint32_t pid_a;		/* switch: prev; waking/newtask/free/rename: the task */
	uint32_t pid_b;		/* switch: next; waking: target CPU */
	int32_t prio_a, prio_b;
	int64_t val;		/* switch: prev_state (report encoding); newtask: clone flags */
	char comm_a[PS_COMM_LEN];
	char comm_b[PS_COMM_LEN];
};

struct cpu_queue {
	struct ftrace_ev *ev;	/* BATCH slots */
	size_t n;
};

enum { C_HEAP, C_ANON, C_STACK, C_RSS, NCOUNTERS };
static const char *const counter_names[NCOUNTERS] = {
	"heap bytes", "anon mmap bytes", "main stack bytes", "RSS bytes",
};

struct pf_proc {
	const struct ps_process *p;
	char announced_name[PS_COMM_LEN];
	char announced_exe[PS_FNAME_LEN];
	bool announced;
	bool counters_declared;
	uint64_t last[NCOUNTERS];
};

struct pf_thread {
	const struct ps_thread *t;
	char announced_name[PS_COMM_LEN];
	bool announced;
	bool depth_declared;
	int32_t prio;		/* last seen at switch-in, DEFAULT_PRIO before */
	bool off_open;		/* off-CPU since off_start, in stack off_stack */
	uint64_t off_start;
	uint32_t off_stack;
};

struct perfetto {
	struct export_ctx *c;
	struct pb_writer pb;
	struct vm_callbacks vcb;
	struct coro_callbacks ccb;
	struct idmap coro_end;	/* coroutine track uuid -> end of its last slice (boxed u64) */
	struct cpu_queue *cpus;
	size_t ncpus;
	bool first_track_packet;
	struct idmap procs;	/* pid -> pf_proc */
	struct idmap threads;	/* tid -> pf_thread, the latest with that tid */
	struct export_stacks *x;
	struct pf_stacks *ps;
	int err;
};

static int maybe_flush(struct perfetto *e)
{
	if (e->pb.len < FLUSH_BYTES)
		return pb_writer__error(&e->pb);
	return pb_writer__flush(&e->pb, e->c->out);
}

/* A TracePacket on the track-event sequence with FLAGS: field 1 of Trace, opened. */
static void begin_seq_packet_flags(struct perfetto *e, uint64_t ts, uint32_t flags)
{
	pb_writer__begin(&e->pb, 1);
	if (ts)
		pb_writer__varint(&e->pb, TP_TIMESTAMP, ts);
	pb_writer__varint(&e->pb, TP_SEQ_ID, SEQ_ID);
	if (e->first_track_packet) {
		flags |= SEQ_INCREMENTAL_STATE_CLEARED;
		e->first_track_packet = false;
	}
	if (flags)
		pb_writer__varint(&e->pb, TP_SEQ_FLAGS, flags);
}

static void begin_seq_packet(struct perfetto *e, uint64_t ts)
{
	begin_seq_packet_flags(e, ts, 0);
}

/* ---- names, process tree, track descriptors ---- */

/* The export's state of thread T (tid TID, NULL if the process tree does not know it). */
static struct pf_thread *thread_slot(struct perfetto *e, uint32_t tid, const struct ps_thread *t)
{
	struct pf_thread *pt = idmap__get(&e->threads, tid);

	if (pt && (!t || pt->t == t))
		return pt;
	if (!t)
		return NULL;
	if (!pt) {
		pt = calloc(1, sizeof(*pt));
		if (!pt || idmap__set(&e->threads, tid, pt)) {
			free(pt);
			e->err = -ENOMEM;
			return NULL;
		}
		pt->prio = DEFAULT_PRIO;
	}
	/* a new thread with a recycled tid: announce it afresh */
	pt->t = t;
	pt->announced = false;
	pt->depth_declared = false;
	return pt;
}

static struct pf_thread *thread_state(struct perfetto *e, uint32_t tid)
{
	return thread_slot(e, tid, proc_model__thread(e->c->pm, tid));
}

static const char *comm_of(struct perfetto *e, char *buf, size_t len, uint32_t tid, uint32_t cpu)
{
	if (!tid) {
		snprintf(buf, len, "swapper/%u", cpu);	/* what the kernel calls idle */
		return buf;
	}
	return export__thread_name(buf, len, proc_model__thread(e->c->pm, tid), tid);
}

static void process_descriptor(struct perfetto *e, const struct ps_process *p, uint64_t ts)
{
	char name[PS_COMM_LEN + 8];

	begin_seq_packet(e, ts);
	pb_writer__begin(&e->pb, TP_TRACK_DESCRIPTOR);
	pb_writer__varint(&e->pb, TD_UUID, UUID_PROCESS(p->pid));
	pb_writer__begin(&e->pb, TD_PROCESS);
	pb_writer__varint(&e->pb, PD_PID, p->pid);
	if (p->exe[0])
		pb_writer__string(&e->pb, PD_CMDLINE, p->exe, sizeof(p->exe));
	pb_writer__string(&e->pb, PD_NAME, export__process_name(name, sizeof(name), p, p->pid),
			  sizeof(name));
	pb_writer__end(&e->pb);
	pb_writer__end(&e->pb);
	pb_writer__end(&e->pb);
}

static void thread_descriptor(struct perfetto *e, const struct ps_thread *t, uint64_t ts)
{
	char name[PS_COMM_LEN + 8];

	begin_seq_packet(e, ts);
	pb_writer__begin(&e->pb, TP_TRACK_DESCRIPTOR);
	pb_writer__varint(&e->pb, TD_UUID, UUID_THREAD(t->tgid, t->tid));
	pb_writer__varint(&e->pb, TD_PARENT_UUID, UUID_PROCESS(t->tgid));
	pb_writer__begin(&e->pb, TD_THREAD);
	pb_writer__varint(&e->pb, THD_PID, t->tgid);
	pb_writer__varint(&e->pb, THD_TID, t->tid);
	pb_writer__string(&e->pb, THD_NAME, export__thread_name(name, sizeof(name), t, t->tid),
			  sizeof(name));
	pb_writer__end(&e->pb);
	pb_writer__end(&e->pb);
	pb_writer__end(&e->pb);
}

/* process_tree packet: the process (when NEW_PROC) and the thread, at TS. */
static void process_tree(struct perfetto *e, const struct ps_thread *t, bool with_proc, uint64_t ts)
{
	const struct ps_process *p = t->proc;
	char name[PS_COMM_LEN + 8];

	pb_writer__begin(&e->pb, 1);
	pb_writer__varint(&e->pb, TP_TIMESTAMP, ts);
	pb_writer__begin(&e->pb, TP_PROCESS_TREE);
	if (with_proc) {
		pb_writer__begin(&e->pb, 1);	/* processes */
		pb_writer__varint(&e->pb, 1, p->pid);
		if (p->ppid)
			pb_writer__varint(&e->pb, 2, p->ppid);
		if (p->exe[0])
			pb_writer__string(&e->pb, 3, p->exe, sizeof(p->exe));
		else
			pb_writer__string(&e->pb, 3, export__process_name(name, sizeof(name), p, p->pid),
					  sizeof(name));
		pb_writer__end(&e->pb);
	}
	pb_writer__begin(&e->pb, 2);		/* threads */
	pb_writer__varint(&e->pb, 1, t->tid);
	pb_writer__string(&e->pb, 2, export__thread_name(name, sizeof(name), t, t->tid), sizeof(name));
	pb_writer__varint(&e->pb, 3, t->tgid);
	pb_writer__end(&e->pb);
	pb_writer__end(&e->pb);
	pb_writer__end(&e->pb);
}

/*
 * Announces thread T (tid TID, NULL if unknown) and its process the first
 * time it is seen and again whenever its name, its process's name or image
 * changed: process_tree plus track descriptors, so names follow exec and
 * renames.
 */
static struct pf_thread *announce_thread(struct perfetto *e, uint32_t tid,
					 const struct ps_thread *t, uint64_t ts)
{
	const struct ps_process *p;
	struct pf_thread *pt;
	struct pf_proc *pp;
	bool proc_changed, thread_changed;

	pt = thread_slot(e, tid, t);
	if (!pt || !export__want_pid(e->c, pt->t->tgid))
		return pt;
	p = pt->t->proc;
	pp = idmap__get(&e->procs, p->pid);
	if (!pp || pp->p != p) {
		if (!pp) {
			pp = calloc(1, sizeof(*pp));
			if (!pp || idmap__set(&e->procs, p->pid, pp)) {
				free(pp);
				e->err = -ENOMEM;
				return NULL;
			}
		}
		memset(pp, 0, sizeof(*pp));
		pp->p = p;
	}
	proc_changed = !pp->announced || strncmp(pp->announced_name, p->comm, PS_COMM_LEN) ||
		       strncmp(pp->announced_exe, p->exe, PS_FNAME_LEN);
	thread_changed = proc_changed || !pt->announced ||
			 strncmp(pt->announced_name, pt->t->comm, PS_COMM_LEN);
	if (!thread_changed)
		return pt;
	process_tree(e, pt->t, proc_changed, ts);
	if (proc_changed) {
		process_descriptor(e, p, ts);
		memcpy(pp->announced_name, p->comm, PS_COMM_LEN);
		memcpy(pp->announced_exe, p->exe, PS_FNAME_LEN);
		pp->announced = true;
	}
	thread_descriptor(e, pt->t, ts);
	memcpy(pt->announced_name, pt->t->comm, PS_COMM_LEN);
	pt->announced = true;
	return pt;
}

static struct pf_thread *announce(struct perfetto *e, uint32_t tid, uint64_t ts)
{
	return announce_thread(e, tid, proc_model__thread(e->c->pm, tid), ts);
}

/* ---- ftrace events, per CPU, in time order ---- */

static void woken(struct perfetto *e, uint32_t tid, uint64_t ts);

/* Raw task->__state at switch-out (0 = preempted) to what sched_switch reports. */
static int64_t report_state(uint32_t raw)
{
	uint32_t s;

	if (!raw)
		return TASK_REPORT_MAX;
	if ((raw & (TASK_UNINTERRUPTIBLE | TASK_NOLOAD)) == (TASK_UNINTERRUPTIBLE | TASK_NOLOAD))
		return TASK_REPORT_IDLE;
	if (raw & TASK_RTLOCK_WAIT)
		return TASK_UNINTERRUPTIBLE;
	if (raw & TASK_DEAD)
		return EXIT_DEAD;	/* exit_state is not recorded: threads are mostly reaped at once */
	s = raw & TASK_REPORT;
	return s ? 1 << (31 - __builtin_clz(s)) : 0;	/* the highest bit, as fls() picks it */
}

static void write_event(struct perfetto *e, const struct ftrace_ev *v)
{
	struct pb_writer *w = &e->pb;

	pb_writer__begin(w, FB_EVENT);
	pb_writer__varint(w, FE_TIMESTAMP, v->ts);
	pb_writer__varint(w, FE_PID, v->cur_tid);
	switch (v->kind) {
	case EV_SWITCH:
		pb_writer__begin(w, FE_SCHED_SWITCH);
		pb_writer__string(w, 1, v->comm_a, PS_COMM_LEN);
		pb_writer__int(w, 2, v->pid_a);
		pb_writer__int(w, 3, v->prio_a);
		pb_writer__int(w, 4, v->val);
		pb_writer__string(w, 5, v->comm_b, PS_COMM_LEN);
		pb_writer__int(w, 6, v->pid_b);
		pb_writer__int(w, 7, v->prio_b);
		break;
	case EV_WAKING:
	case EV_WAKEUP_NEW:
		pb_writer__begin(w, v->kind == EV_WAKING ? FE_SCHED_WAKING : FE_SCHED_WAKEUP_NEW);
		pb_writer__string(w, 1, v->comm_a, PS_COMM_LEN);
		pb_writer__int(w, 2, v->pid_a);
		pb_writer__int(w, 3, v->prio_a);
		pb_writer__int(w, 4, 1);	/* success: always 1 since 4.x */
		pb_writer__int(w, 5, v->pid_b);
		break;
	case EV_NEWTASK:
		pb_writer__begin(w, FE_TASK_NEWTASK);
		pb_writer__int(w, 1, v->pid_a);
		pb_writer__string(w, 2, v->comm_a, PS_COMM_LEN);
		pb_writer__varint(w, 3, (uint64_t)v->val);
		pb_writer__int(w, 4, 0);
		break;
	case EV_RENAME:
		pb_writer__begin(w, FE_TASK_RENAME);
		pb_writer__int(w, 1, v->pid_a);
		pb_writer__string(w, 2, v->comm_a, PS_COMM_LEN);
		pb_writer__string(w, 3, v->comm_b, PS_COMM_LEN);
		pb_writer__int(w, 4, 0);
		break;
	default:	/* EV_FREE */
		pb_writer__begin(w, FE_SCHED_PROCESS_FREE);
		pb_writer__string(w, 1, v->comm_a, PS_COMM_LEN);
		pb_writer__int(w, 2, v->pid_a);
		pb_writer__int(w, 3, v->prio_a);
		break;
	}
	pb_writer__end(w);
	pb_writer__end(w);
}

/* Writes CPU's pending events, already in time order, as one bundle. */
static int write_bundle(struct perfetto *e, uint32_t cpu)
{
	struct cpu_queue *q = &e->cpus[cpu];

	if (!q->n)
		return 0;
	pb_writer__begin(&e->pb, 1);
	pb_writer__begin(&e->pb, TP_FTRACE_EVENTS);
	pb_writer__varint(&e->pb, FB_CPU, cpu);
	for (size_t i = 0; i < q->n; i++)
		write_event(e, &q->ev[i]);
	pb_writer__end(&e->pb);
	pb_writer__end(&e->pb);
	q->n = 0;
	return maybe_flush(e);
}

/* A new ftrace event slot on CPU, stamped TS; NULL on error (e->err set). */
static struct ftrace_ev *queue_event(struct perfetto *e, uint32_t cpu, uint64_t ts, uint32_t kind,
				     uint32_t cur_tid)
{
	struct ftrace_ev *v;
	struct cpu_queue *q;

	if (cpu >= MAX_CPUS) {
		e->err = -ERANGE;
		return NULL;
	}
	if (cpu >= e->ncpus) {
		size_t n = cpu + 1;
		struct cpu_queue *a = realloc(e->cpus, n * sizeof(*a));

		if (!a) {
			e->err = -ENOMEM;
			return NULL;
		}
		memset(a + e->ncpus, 0, (n - e->ncpus) * sizeof(*a));
		e->cpus = a;
		e->ncpus = n;
	}
	q = &e->cpus[cpu];
	if (!q->ev) {
		q->ev = calloc(BATCH, sizeof(*q->ev));
		if (!q->ev) {
			e->err = -ENOMEM;
			return NULL;
		}
	}
	if (q->n == BATCH) {
		e->err = write_bundle(e, cpu);
		if (e->err)
			return NULL;
	}
	v = &q->ev[q->n++];
	memset(v, 0, sizeof(*v));
	v->ts = ts;
	v->kind = kind;
	v->cur_tid = cur_tid;
	return v;
}

static void on_switch(struct perfetto *e, const struct ps_switch *r)
{
	const struct ps_hdr *h = &r->h;
	struct pf_thread *prev = thread_state(e, h->tid), *next = thread_state(e, r->next_tid);
	struct ftrace_ev *v;

	if (next)
		next->prio = r->next_prio;
	woken(e, r->next_tid, h->ts_ns);	/* in case its wakeup was not seen */
	if (e->c->pid && h->tgid != e->c->pid && r->next_tgid != e->c->pid)
		return;
	if (!export__want_ts(e->c, h->ts_ns))
		return;
	v = queue_event(e, h->cpu, h->ts_ns, EV_SWITCH, h->tid);
	if (!v)
		return;
	comm_of(e, v->comm_a, PS_COMM_LEN, h->tid, h->cpu);
	v->pid_a = h->tid;
	v->prio_a = prev ? prev->prio : DEFAULT_PRIO;
	v->val = report_state(r->prev_state);
	comm_of(e, v->comm_b, PS_COMM_LEN, r->next_tid, h->cpu);
	v->pid_b = r->next_tid;
	v->prio_b = r->next_prio;
	if (!(r->prev_state & TASK_DEAD) || !h->tid)
		return;
	/* its last switch-out: the task is gone (the kernel frees it soon after) */
	v = queue_event(e, h->cpu, h->ts_ns, EV_FREE, h->tid);
	if (!v)
		return;
	comm_of(e, v->comm_a, PS_COMM_LEN, h->tid, h->cpu);
	v->pid_a = h->tid;
	v->prio_a = prev ? prev->prio : DEFAULT_PRIO;
}

static void on_wakeup(struct perfetto *e, const struct ps_wakeup *r)
{
	const struct ps_hdr *h = &r->h;
	struct pf_thread *woken_pt = thread_state(e, r->woken_tid);
	struct ftrace_ev *v;

	woken(e, r->woken_tid, h->ts_ns);
	if (e->c->pid && h->tgid != e->c->pid && r->woken_tgid != e->c->pid)
		return;
	if (!export__want_ts(e->c, h->ts_ns))
		return;
	v = queue_event(e, h->cpu, h->ts_ns, r->is_new ? EV_WAKEUP_NEW : EV_WAKING, h->tid);
	if (!v)
		return;
	comm_of(e, v->comm_a, PS_COMM_LEN, r->woken_tid, h->cpu);
	v->pid_a = r->woken_tid;
	v->prio_a = woken_pt ? woken_pt->prio : DEFAULT_PRIO;
	v->pid_b = r->target_cpu;
}

static void on_fork(struct perfetto *e, const struct ps_fork *r)
{
	const struct ps_hdr *h = &r->h;
	struct ftrace_ev *v;

	announce(e, r->child_tid, h->ts_ns);
	if (!export__want_pid(e->c, h->tgid) && !export__want_pid(e->c, r->child_tgid))
		return;
	if (!export__want_ts(e->c, h->ts_ns))
		return;
	v = queue_event(e, h->cpu, h->ts_ns, EV_NEWTASK, h->tid);
	if (!v)
		return;
	v->pid_a = r->child_tid;
	memcpy(v->comm_a, r->child_comm, PS_COMM_LEN);
	/*
	 * The clone flags arrive later, at syscall exit; trace_processor only
	 * looks at CLONE_THREAD, so write what pthread_create and fork pass.
	 */
	v->val = r->child_tgid == h->tgid ?
		 CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD : SIGCHLD;
}

static void on_rename(struct perfetto *e, const struct ps_rename *r)
{
	const struct ps_hdr *h = &r->h;
	struct ftrace_ev *v;

	if (!export__want_pid(e->c, h->tgid) || !export__want_ts(e->c, h->ts_ns))
		return;
	v = queue_event(e, h->cpu, h->ts_ns, EV_RENAME, h->tid);
	if (!v)
		return;
	v->pid_a = h->tid;
	memcpy(v->comm_a, r->oldcomm, PS_COMM_LEN);
	memcpy(v->comm_b, r->newcomm, PS_COMM_LEN);
}

/* ---- memory: instants and counters ---- */

/* A memory call (held until its stack: export_stacks.h) as an instant. */
static void on_mem_call(void *ctx, const struct ps_hdr *h, int64_t stack)
{
	struct perfetto *e = ctx;
	struct export_mem_call call;
	struct pb_writer *w = &e->pb;

	if (!export__want_pid(e->c, h->tgid) || !export__want_ts(e->c, h->ts_ns))
		return;
	if (!export__mem_call(h, &call))
		return;
	begin_seq_packet(e, h->ts_ns);
	pb_writer__begin(w, TP_TRACK_EVENT);
	pb_writer__varint(w, TE_TYPE, TE_TYPE_INSTANT);
	pb_writer__varint(w, TE_TRACK_UUID, UUID_THREAD(h->tgid, h->tid));
	pb_writer__string(w, TE_CATEGORIES, "memory", 16);
	pb_writer__string(w, TE_NAME, call.name, 16);
	for (unsigned i = 0; i < call.nargs; i++) {
		const struct export_arg *a = &call.args[i];

		pb_writer__begin(w, TE_DEBUG_ANNOTATIONS);
		pb_writer__string(w, DA_NAME, a->name, 32);
		switch (a->kind) {
		case EA_PTR:
			pb_writer__varint(w, DA_POINTER, a->u);
			break;
		case EA_UINT:
			pb_writer__varint(w, DA_UINT, a->u);
			break;
		case EA_INT:
			pb_writer__int(w, DA_INT, a->i);
			break;
		case EA_STR:
			pb_writer__string(w, DA_STRING, a->s, SIZE_MAX);
			break;
		}
		pb_writer__end(w);
	}
	if (stack >= 0)
		pf_stacks__annotation(e->ps, w, "stack", stack);
	pb_writer__end(w);
	pb_writer__end(w);
}

/* ---- call stacks: CPU samples, off-CPU slices ---- */

/* The off-CPU wait of PT (thread TID) ends at END: a slice on its track. */
static void close_off_cpu(struct perfetto *e, struct pf_thread *pt, uint64_t end)
{
	const struct ps_thread *t = pt->t;
	uint64_t start = pt->off_start;
	char name[160];

	pt->off_open = false;
	if (!t || !export__want_pid(e->c, t->tgid) || !export__clip(e->c, &start, &end))
		return;
	snprintf(name, sizeof(name), "off-CPU: %s", pf_stacks__user_leaf(e->ps, pt->off_stack));
	for (int i = 0; i < 2; i++) {
		begin_seq_packet(e, i ? end : start);
		pb_writer__begin(&e->pb, TP_TRACK_EVENT);
		pb_writer__varint(&e->pb, TE_TYPE, i ? TE_TYPE_SLICE_END : TE_TYPE_SLICE_BEGIN);
		pb_writer__varint(&e->pb, TE_TRACK_UUID, UUID_THREAD(t->tgid, t->tid));
		if (!i) {
			pb_writer__string(&e->pb, TE_CATEGORIES, "offcpu", 16);
			pb_writer__string(&e->pb, TE_NAME, name, sizeof(name));
			pf_stacks__annotation(e->ps, &e->pb, "stack", pt->off_stack);
		}
		pb_writer__end(&e->pb);
		pb_writer__end(&e->pb);
	}
}

static void woken(struct perfetto *e, uint32_t tid, uint64_t ts)
{
	struct pf_thread *pt = idmap__get(&e->threads, tid);

	if (pt && pt->off_open)
		close_off_cpu(e, pt, ts);
}

/* A stack record: an off-CPU wait begins, or a CPU sample. */
static void on_stack(void *ctx, const struct ps_ustack *s, uint32_t id)
{
	struct perfetto *e = ctx;
	const struct ps_hdr *h = &s->h;
	struct pb_writer *w = &e->pb;
	struct pf_thread *pt;

	if (s->kind == PS_STK_OFFCPU) {
		pt = thread_state(e, h->tid);
		if (pt) {
			pt->off_open = true;
			pt->off_start = h->ts_ns;
			pt->off_stack = id;
		}
		return;
	}
	if (s->kind != PS_STK_SAMPLE || !export__want_pid(e->c, h->tgid) ||
	    !export__want_ts(e->c, h->ts_ns))
		return;
	begin_seq_packet_flags(e, h->ts_ns, SEQ_NEEDS_INCREMENTAL_STATE);
	pf_stacks__intern(e->ps, w, id);
	pb_writer__begin(w, TP_PERF_SAMPLE);
	pb_writer__varint(w, PS_CPU, h->cpu);
	pb_writer__varint(w, PS_PID, h->tgid);
	pb_writer__varint(w, PS_TID, h->tid);
	pb_writer__varint(w, PS_CALLSTACK_IID, pf_stacks__iid(id));
	pb_writer__varint(w, PS_CPU_MODE, s->nkframes ? CPU_MODE_KERNEL : CPU_MODE_USER);
	pb_writer__end(w);
	pb_writer__end(w);
}

static void counter_descriptor(struct perfetto *e, uint64_t uuid, uint64_t parent,
			       const char *name, uint64_t ts)
{
	begin_seq_packet(e, ts);
	pb_writer__begin(&e->pb, TP_TRACK_DESCRIPTOR);
	pb_writer__varint(&e->pb, TD_UUID, uuid);
	pb_writer__varint(&e->pb, TD_PARENT_UUID, parent);
	pb_writer__string(&e->pb, TD_NAME, name, SIZE_MAX);
	pb_writer__begin(&e->pb, TD_COUNTER);
	pb_writer__varint(&e->pb, CD_UNIT, CD_UNIT_SIZE_BYTES);
	pb_writer__end(&e->pb);
	pb_writer__end(&e->pb);
	pb_writer__end(&e->pb);
}

static void counter_value(struct perfetto *e, uint64_t uuid, uint64_t ts, uint64_t v)
{
	begin_seq_packet(e, ts);
	pb_writer__begin(&e->pb, TP_TRACK_EVENT);
	pb_writer__varint(&e->pb, TE_TYPE, TE_TYPE_COUNTER);
	pb_writer__varint(&e->pb, TE_TRACK_UUID, uuid);
	pb_writer__int(&e->pb, TE_COUNTER_VALUE, (int64_t)v);
	pb_writer__end(&e->pb);
	pb_writer__end(&e->pb);
}

static void on_counters(void *ctx, const struct ps_process *p, uint64_t ts,
			const struct vm_counters *vc)
{
	struct perfetto *e = ctx;
	uint64_t v[NCOUNTERS] = { vc->heap_bytes, vc->anon_bytes, vc->stack_bytes, vc->rss_bytes };
	struct pf_proc *pp;

	if (!export__want_pid(e->c, p->pid) || !export__want_ts(e->c, ts) || !p->nthreads)
		return;
	announce(e, p->threads[0]->tid, ts);
	pp = idmap__get(&e->procs, p->pid);
	if (!pp)
		return;
	for (int k = 0; k < NCOUNTERS; k++) {
		if (pp->counters_declared && pp->last[k] == v[k])
			continue;
		if (!pp->counters_declared)
			counter_descriptor(e, UUID_COUNTER(k, p->pid), UUID_PROCESS(p->pid),
					   counter_names[k], ts);
		counter_value(e, UUID_COUNTER(k, p->pid), ts, v[k]);
		pp->last[k] = v[k];
	}
	pp->counters_declared = true;
	if (!e->err)
		e->err = maybe_flush(e);
}

static void on_stack_depth(void *ctx, const struct ps_thread *t, uint64_t ts, uint64_t depth)
{
	struct perfetto *e = ctx;
	struct pf_thread *pt;

	if (!export__want_pid(e->c, t->tgid) || !export__want_ts(e->c, ts))
		return;
	pt = announce(e, t->tid, ts);
	if (!pt || pt->t != t)
		return;
	if (!pt->depth_declared) {
		counter_descriptor(e, UUID_DEPTH(t->tgid, t->tid), UUID_THREAD(t->tgid, t->tid),
				   "stack depth bytes", ts);
		pt->depth_declared = true;
	}
	counter_value(e, UUID_DEPTH(t->tgid, t->tid), ts, depth);
}

/*
 * Thread TID ran on a coroutine stack from start to end: a slice on the
 * stack's track. Segments come when they end, so on one track they come in
 * order of their ends; a start before the previous end (passive spans are
 * approximate) is moved to it, so slices on a track never overlap.
 */
static void on_coro_segment(void *ctx, const struct coro_segment *seg)
{
	const struct coro_stack *cs = seg->stack;
	uint64_t uuid = UUID_CORO(seg->tgid, cs->id), start = seg->start_ns, end = seg->end_ns;
	struct perfetto *e = ctx;
	char name[96], tb[PS_COMM_LEN + 16];
	struct pf_thread *pt;
	uint64_t *last;

	if (!export__want_pid(e->c, seg->tgid) || !export__clip(e->c, &start, &end))
		return;
	last = idmap__get(&e->coro_end, uuid);
	if (last && start < *last)
		start = *last;
	if (start >= end)
		return;
	if (!last) {
		last = malloc(sizeof(*last));
		if (!last || idmap__set(&e->coro_end, uuid, last)) {
			free(last);
			e->err = -ENOMEM;
			return;
		}
		announce(e, seg->tid, start);
		snprintf(name, sizeof(name), "%s 0x%llx-0x%llx",
			 cs->kind == CORO_KIND_SIGALTSTACK ? "sigaltstack" : "coroutine stack",
			 (unsigned long long)cs->start, (unsigned long long)cs->end);
		begin_seq_packet(e, start);
		pb_writer__begin(&e->pb, TP_TRACK_DESCRIPTOR);
		pb_writer__varint(&e->pb, TD_UUID, uuid);
		pb_writer__varint(&e->pb, TD_PARENT_UUID, UUID_PROCESS(seg->tgid));
		pb_writer__string(&e->pb, TD_NAME, name, SIZE_MAX);
		pb_writer__end(&e->pb);
		pb_writer__end(&e->pb);
	}
	*last = end;
	pt = idmap__get(&e->threads, seg->tid);
	snprintf(tb, sizeof(tb), "%s %u", pt && pt->t ? pt->t->comm : "thread", seg->tid);
	for (int i = 0; i < 2; i++) {
		begin_seq_packet(e, i ? end : start);
		pb_writer__begin(&e->pb, TP_TRACK_EVENT);
		pb_writer__varint(&e->pb, TE_TYPE, i ? TE_TYPE_SLICE_END : TE_TYPE_SLICE_BEGIN);
		pb_writer__varint(&e->pb, TE_TRACK_UUID, uuid);
		if (!i) {
			pb_writer__string(&e->pb, TE_CATEGORIES, "coroutine", 16);
			pb_writer__string(&e->pb, TE_NAME, tb, sizeof(tb));
			pb_writer__begin(&e->pb, TE_DEBUG_ANNOTATIONS);
			pb_writer__string(&e->pb, DA_NAME, "exact", 8);
			pb_writer__varint(&e->pb, DA_UINT, seg->exact);
			pb_writer__end(&e->pb);
		}
		pb_writer__end(&e->pb);
		pb_writer__end(&e->pb);
	}
}

/* ---- the format ---- */

static void system_info(struct perfetto *e)
{
	const struct ps_file_header *fh = e->c->fh;

	pb_writer__begin(&e->pb, 1);
	pb_writer__begin(&e->pb, TP_SYSTEM_INFO);
	pb_writer__begin(&e->pb, 1);	/* utsname */
	pb_writer__string(&e->pb, 1, "Linux", 8);
	pb_writer__string(&e->pb, 3, fh->kernel_release, sizeof(fh->kernel_release));
	pb_writer__string(&e->pb, 4, "x86_64", 8);
	pb_writer__end(&e->pb);
	pb_writer__end(&e->pb);
	pb_writer__end(&e->pb);
}

static void pf_free(void *st)
{
	struct perfetto *e = st;

	if (!e)
		return;
	for (size_t i = 0; i < e->ncpus; i++)
		free(e->cpus[i].ev);
	free(e->cpus);
	for (size_t i = 0; i < e->procs.cap; i++)
		free(e->procs.vals ? e->procs.vals[i] : NULL);
	for (size_t i = 0; i < e->threads.cap; i++)
		free(e->threads.vals ? e->threads.vals[i] : NULL);
	idmap__free(&e->procs);
	idmap__free(&e->threads);
	for (size_t i = 0; i < e->coro_end.cap; i++)
		free(e->coro_end.vals ? e->coro_end.vals[i] : NULL);
	idmap__free(&e->coro_end);
	pf_stacks__free(e->ps);
	export_stacks__free(e->x);
	pb_writer__free(&e->pb);
	free(e);
}

static void *pf_begin(struct export_ctx *c, struct session_callbacks *cb)
{
	struct perfetto *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->c = c;
	e->first_track_packet = true;
	pb_writer__init(&e->pb);
	e->vcb = (struct vm_callbacks){ .counters = on_counters, .stack_depth = on_stack_depth,
					.ctx = e };
	cb->vm = &e->vcb;
	e->ccb = (struct coro_callbacks){ .segment = on_coro_segment, .ctx = e };
	cb->coro = &e->ccb;
	e->x = export_stacks__new(c->s, &(struct export_stacks_callbacks){
		.mem_call = on_mem_call, .stack = on_stack, .ctx = e });
	e->ps = e->x ? pf_stacks__new(e->x) : NULL;
	if (!e->ps) {
		pf_free(e);
		return NULL;
	}
	system_info(e);
	return e;
}

static int pf_record(void *st, const struct session_event *ev)
{
	const struct ps_hdr *h = ev->h;
	struct perfetto *e = st;

	if (h->tid && h->type != PS_REC_SWITCH && h->type != PS_REC_WAKEUP && h->type != PS_REC_LOST)
		announce_thread(e, h->tid, ev->thread, h->ts_ns);
	switch (h->type) {
	case PS_REC_SWITCH:
		on_switch(e, (const void *)h);
		break;
	case PS_REC_WAKEUP:
		on_wakeup(e, (const void *)h);
		break;
	case PS_REC_FORK:
		on_fork(e, (const void *)h);
		break;
	case PS_REC_RENAME:
		on_rename(e, (const void *)h);
		break;
	}
	/* memory calls go out through on_mem_call() once their stack is known */
	e->err = e->err ?: export_stacks__record(e->x, ev) ?: pf_stacks__error(e->ps);
	if (e->err)
		return e->err;
	return maybe_flush(e);
}

static int pf_finish(void *st)
{
	struct perfetto *e = st;
	int err = export_stacks__finish(e->x);

	for (size_t i = 0; i < e->threads.cap; i++) {
		struct pf_thread *pt = e->threads.vals ? e->threads.vals[i] : NULL;

		if (pt && pt->off_open)
			close_off_cpu(e, pt, e->c->end_ns);
	}
	err = err ?: e->err ?: pf_stacks__error(e->ps);
	for (size_t cpu = 0; cpu < e->ncpus && !err; cpu++)
		err = write_bundle(e, cpu);
	if (!err)
		err = pb_writer__flush(&e->pb, e->c->out);
	return err;
}

const struct export_format export_perfetto = {
	.name = "perfetto",
	.default_output = "procscope.pftrace",
	.models = SESSION_VM | SESSION_CORO,
	.begin = pf_begin,
	.record = pf_record,
	.finish = pf_finish,
	.free = pf_free,
};
