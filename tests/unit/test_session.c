// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The replay core on synthetic session files: delivery order (time, then
 * file order), late records, the recorder's own records, the queue bound,
 * time zero, the end, each record resolved to its thread, and the hook
 * called before the models take a record.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "session.h"
#include "task_state.h"
#include "trace_writer.h"
#include "util.h"

#define ZERO_NS		5000000000ull	/* the header's start: 5 s of CLOCK_MONOTONIC */
#define MS		1000000ull
#define MAXREC		400000

static char dir[] = "/tmp/procscope-session-XXXXXX";
static char path[64];

/* What a replay saw, in delivery order: id is the record's brk.req (or snap_map.start). */
struct seen {
	uint64_t ts[MAXREC];
	uint64_t id[MAXREC];
	unsigned type[MAXREC];
	size_t n;
	uint32_t thread_tid[MAXREC];	/* resolved thread, 0 if none */
	uint32_t process_pid[MAXREC];
};

static struct seen seen;

static int on_record(void *ctx, const struct session_event *ev)
{
	struct seen *s = ctx;
	const struct ps_hdr *h = ev->h;

	if (s->n == MAXREC)
		return -E2BIG;
	s->ts[s->n] = h->ts_ns;
	s->type[s->n] = h->type;
	s->id[s->n] = h->type == PS_REC_BRK ? ((const struct ps_brk *)h)->req :
		      h->type == PS_REC_SNAP_MAP ? ((const struct ps_snap_map *)h)->start : 0;
	s->thread_tid[s->n] = ev->thread ? ev->thread->tid : 0;
	s->process_pid[s->n] = ev->process ? ev->process->pid : 0;
	s->n++;
	return 0;
}

static struct trace_writer *start(void)
{
	struct ps_file_header h = { .page_size = 4096, .ncpus = 2, .start_ns = ZERO_NS };

	return trace_writer__open(path, &h, "record -- ./x", "cmd:./x", "host", "boot");
}

static void add_brk(struct trace_writer *w, uint32_t cpu, uint64_t ts, uint64_t id)
{
	struct ps_brk r = {};

	r.h.type = PS_REC_BRK;
	r.h.size = sizeof(r);
	r.h.cpu = cpu;
	r.h.ts_ns = ts;
	r.h.tgid = 42;
	r.h.tid = 43;
	r.req = id;
	CHECK_EQ(trace_writer__add(w, &r.h), 0);
}

/* Thread TID of process 42, alive in STATE when the recording began (ts ZERO_NS + 1). */
static void add_snap_task(struct trace_writer *w, uint32_t tid, char state, const char *comm)
{
	struct ps_snap_task t = {};

	t.h.type = PS_REC_SNAP_TASK;
	t.h.size = sizeof(t);
	t.h.ts_ns = ZERO_NS + 1;
	t.h.tgid = 42;
	t.h.tid = tid;
	t.state = state;
	strcpy(t.comm, comm);
	CHECK_EQ(trace_writer__add(w, &t.h), 0);
}

static void add_snap_map(struct trace_writer *w, uint64_t ts, uint64_t id, size_t path_len)
{
	union {
		struct ps_snap_map m;
		char b[sizeof(struct ps_snap_map) + 1024];
	} u = {};

	u.m.h.type = PS_REC_SNAP_MAP;
	u.m.h.size = (sizeof(u.m) + path_len + 1 + 7) & ~7u;
	u.m.h.ts_ns = ts;
	u.m.h.tgid = 42;
	u.m.start = id;
	memset(u.m.path, 'x', path_len);
	CHECK_EQ(trace_writer__add(w, &u.m.h), 0);
}

static void finish(struct trace_writer *w, uint64_t end_ns)
{
	struct ps_footer f = { .end_ns = end_ns, .exit_status = 0 };

	if (end_ns)
		CHECK_EQ(trace_writer__finish(w, &f), 0);
	else
		CHECK_EQ(trace_writer__flush(w), 0);
	trace_writer__free(w);
}

/* Replays PATH with FLAGS into `seen`; returns the session for stats (caller frees). */
static struct session *replay(unsigned flags, uint64_t until_ns)
{
	struct session_opts o = { .flags = flags };
	struct session_callbacks cb = { .record = on_record, .ctx = &seen };
	struct session *s;

	memset(&seen, 0, sizeof(seen));
	s = session__open(path, &o);
	CHECK(s != NULL);
	if (!s)
		return NULL;
	if (until_ns)
		session__set_until(s, until_ns);
	CHECK_EQ(session__replay(s, &cb), 0);
	return s;
}

static bool sorted(void)
{
	for (size_t i = 1; i < seen.n; i++)
		if (seen.ts[i] < seen.ts[i - 1])
			return false;
	return true;
}

/* Two CPUs whose records interleave out of order, ties among them. */
static void test_order(void)
{
	static const struct { uint32_t cpu; uint64_t ts, id; } in[] = {
		{ 0, 100, 1 }, { 0, 300, 2 }, { 1, 200, 3 }, { 1, 150, 4 }, { 0, 300, 5 },
		{ 1, 300, 6 }, { 0, 250, 7 }, { 1, 400, 8 }, { 0, 300, 9 }, { 1, 120, 10 },
	};
	/* by time; equal times (300) in file order: 2, 5, 6, 9 */
	static const uint64_t want[] = { 1, 10, 4, 3, 7, 2, 5, 6, 9, 8 };
	struct trace_writer *w = start();
	struct session *s;

	for (size_t i = 0; i < PS_ARRAY_SIZE(in); i++)
		add_brk(w, in[i].cpu, ZERO_NS + in[i].ts * 1000, in[i].id);
	finish(w, ZERO_NS + MS);
	s = replay(0, 0);
	CHECK_EQ(seen.n, PS_ARRAY_SIZE(want));
	for (size_t i = 0; i < seen.n && i < PS_ARRAY_SIZE(want); i++)
		CHECK_EQ(seen.id[i], want[i]);
	CHECK_EQ(session__stats(s)->late, 0);
	CHECK_EQ(session__stats(s)->records, PS_ARRAY_SIZE(want));
	session__free(s);

	/* raw mode: file order, stored times */
	s = replay(SESSION_RAW, 0);
	CHECK_EQ(seen.n, PS_ARRAY_SIZE(in));
	for (size_t i = 0; i < seen.n && i < PS_ARRAY_SIZE(in); i++) {
		CHECK_EQ(seen.id[i], in[i].id);
		CHECK_EQ(seen.ts[i], ZERO_NS + in[i].ts * 1000);
	}
	session__free(s);
}

static int by_time_then_index(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;	/* (ts, index) pairs */

	if (x[0] != y[0])
		return x[0] < y[0] ? -1 : 1;
	return x[1] < y[1] ? -1 : x[1] > y[1];
}

/*
 * Many CPUs' worth of jitter (inversions of up to 2 ms, well inside the
 * window, and many equal times): the delivery is exactly a stable sort of
 * the file by time.
 */
static void test_jitter(void)
{
	static uint64_t want[100000][2];
	struct trace_writer *w = start();
	size_t n = PS_ARRAY_SIZE(want);
	struct session *s;

	srandom(8);
	for (size_t i = 0; i < n; i++) {
		/* 10 us apart, then moved back by up to 2 ms one time in 16, in 1 us steps */
		uint64_t ts = ZERO_NS + i * 10000 - (random() % 16 ? 0 : random() % 2000 * 1000);

		want[i][0] = ts;
		want[i][1] = i;
		add_brk(w, i % 4, ts, i);
	}
	finish(w, ZERO_NS + n * 10000);
	qsort(want, n, sizeof(want[0]), by_time_then_index);
	s = replay(0, 0);
	CHECK_EQ(seen.n, n);
	for (size_t i = 0; i < n && i < seen.n; i++)
		if (seen.id[i] != want[i][1]) {
			CHECK_EQ(seen.id[i], want[i][1]);
			break;
		}
	CHECK_EQ(session__stats(s)->late, 0);
	CHECK_EQ(session__stats(s)->forced, 0);
	session__free(s);
}

/*
 * A record more than the window behind the newest one arrives after
 * later records went out: delivered, never dropped, its time raised to
 * the last delivered, and counted.
 */
static void test_late(void)
{
	struct trace_writer *w = start();
	struct session *s;
	uint64_t late_ts = ZERO_NS + 5 * MS;
	size_t i, at = 0;

	for (i = 0; i < 100; i++)	/* 0..99 ms */
		add_brk(w, 0, ZERO_NS + i * MS, i);
	add_brk(w, 1, late_ts, 1000);	/* 94 ms behind: past the 10 ms window */
	for (; i < 120; i++)
		add_brk(w, 0, ZERO_NS + i * MS, i);
	finish(w, ZERO_NS + 200 * MS);
	s = replay(0, 0);
	CHECK_EQ(seen.n, 121);
	CHECK(sorted());
	for (i = 0; i < seen.n; i++)
		if (seen.id[i] == 1000)
			at = i;
	CHECK(at > 0);
	/* it lands right after the last record delivered before it arrived */
	CHECK_EQ(seen.ts[at], seen.ts[at - 1]);
	CHECK(seen.ts[at] >= ZERO_NS + 99 * MS - SESSION_WINDOW_NS);
	CHECK_EQ(session__stats(s)->late, 1);
	CHECK_EQ(session__stats(s)->max_late_ns, seen.ts[at] - late_ts);
	session__free(s);

	/* within the window: put in its place, not late */
	w = start();
	for (i = 0; i < 100; i++)
		add_brk(w, 0, ZERO_NS + i * MS, i);
	add_brk(w, 1, ZERO_NS + 99 * MS - SESSION_WINDOW_NS / 2, 1000);
	finish(w, ZERO_NS + 200 * MS);
	s = replay(0, 0);
	CHECK_EQ(seen.n, 101);
	CHECK(sorted());
	CHECK_EQ(session__stats(s)->late, 0);
	for (i = 0; i < seen.n; i++)
		if (seen.id[i] == 1000)
			CHECK_EQ(seen.ts[i], ZERO_NS + 99 * MS - SESSION_WINDOW_NS / 2);
	session__free(s);
}

/*
 * The recorder's snapshot is written before the probe records of its own
 * duration: ordered among them by time, and it does not make them late.
 */
static void test_snapshot(void)
{
	struct trace_writer *w = start();
	struct session *s;

	for (unsigned i = 0; i < 50; i++)	/* snapshot read from 20 to 70 ms */
		add_snap_map(w, ZERO_NS + 20 * MS + i * MS, 5000 + i, 10);
	for (unsigned i = 0; i < 100; i++)	/* probes from -10 ms on */
		add_brk(w, i % 2, ZERO_NS - 10 * MS + i * MS, i);
	finish(w, ZERO_NS + 200 * MS);
	s = replay(0, 0);
	CHECK_EQ(seen.n, 150);
	CHECK(sorted());
	CHECK_EQ(session__stats(s)->late, 0);
	CHECK_EQ(seen.id[0], 0);	/* the probe record at -10 ms comes first */
	CHECK(session__sec(s, seen.ts[0]) < 0);
	session__free(s);
}

/* More than SESSION_QUEUE_BYTES waiting: the oldest go out early, none is lost. */
static void test_bound(void)
{
	struct trace_writer *w = start();
	size_t rec = (sizeof(struct ps_snap_map) + 1000 + 7) & ~7u;
	size_t n = SESSION_QUEUE_BYTES / rec + 20000;
	struct session *s;

	/* recorder-stamped records never move the window: only the bound releases them */
	for (size_t i = 0; i < n; i++)
		add_snap_map(w, ZERO_NS + i, i, 1000);
	finish(w, ZERO_NS + MS);
	s = replay(0, 0);
	CHECK_EQ(seen.n, n);
	CHECK(sorted());
	CHECK(session__stats(s)->forced > 0);
	CHECK(session__stats(s)->queue_peak_bytes <= SESSION_QUEUE_BYTES);
	for (size_t i = 0; i < seen.n; i++)
		if (seen.id[i] != i) {
			CHECK_EQ(seen.id[i], i);
			break;
		}
	session__free(s);
}

/* --from 1s, --at 1s: one instant, the header's start + 1 s, for every verb. */
static void test_time_zero(void)
{
	struct trace_writer *w = start();
	struct session *s;
	uint64_t at;

	/* the first record 300 ms after the start: not time zero */
	for (unsigned i = 0; i < 30; i++)
		add_brk(w, 0, ZERO_NS + 300 * MS + i * 100 * MS, i);
	finish(w, ZERO_NS + 4000 * MS);
	s = session__open(path, &(struct session_opts){ 0 });
	CHECK(s != NULL);
	if (!s)
		return;
	CHECK_EQ(session__time_zero(s), ZERO_NS);
	CHECK_EQ(session__abs_ns(s, 1000 * MS), ZERO_NS + 1000 * MS);
	CHECK_EQ(session__abs_ns(s, UINT64_MAX), UINT64_MAX);
	CHECK(session__sec(s, ZERO_NS + 1500 * MS) == 1.5);
	CHECK(session__sec(s, ZERO_NS - 500 * MS) == -0.5);
	/* the end from the footer at the file's tail: no record read for it */
	CHECK_EQ(session__end_ns(s), ZERO_NS + 4000 * MS);
	CHECK_EQ(session__reader_stats(s)->records, 0);
	/* before replay, from the queue alone */
	CHECK_EQ(session__first_ns(s), ZERO_NS + 300 * MS);
	at = session__abs_ns(s, 1000 * MS);
	session__free(s);

	/* layout --at 1s: the state after the last record at or before zero + 1 s */
	s = replay(0, at);
	CHECK_EQ(seen.n, 8);	/* 300, 400, ..., 1000 ms */
	CHECK_EQ(seen.ts[seen.n - 1], ZERO_NS + 1000 * MS);
	session__free(s);

	/* the tail read leaves the reader at the start: the whole file and its footer follow */
	s = replay(0, 0);
	CHECK_EQ(seen.n, 30);
	CHECK(session__footer(s) != NULL);
	CHECK_EQ(session__end_ns(s), ZERO_NS + 4000 * MS);
	session__free(s);
}

/* The end: the footer's, or for a file cut short the last record's. */
static void test_end(void)
{
	struct trace_writer *w = start();
	struct session *s;

	add_brk(w, 0, ZERO_NS + 2 * MS, 1);
	add_brk(w, 1, ZERO_NS + 7 * MS, 2);
	add_brk(w, 0, ZERO_NS + 3 * MS, 3);
	finish(w, 0);	/* no footer */
	s = session__open(path, NULL);
	CHECK(s != NULL);
	if (!s)
		return;
	CHECK_EQ(session__end_ns(s), ZERO_NS + 7 * MS);
	CHECK_EQ(session__first_ns(s), ZERO_NS + 2 * MS);
	CHECK_EQ(session__replay(s, NULL), 0);
	CHECK_EQ(session__end_ns(s), ZERO_NS + 7 * MS);
	CHECK(session__footer(s) == NULL);
	CHECK_EQ(session__replay(s, NULL), -EALREADY);
	session__free(s);
}

/* Each record comes with its thread and process, looked up once by the session. */
static void test_resolve(void)
{
	struct trace_writer *w = start();
	struct ps_switch sw = {};
	struct session *s;

	add_snap_task(w, 43, 'S', "worker");
	add_brk(w, 0, ZERO_NS + 2, 1);
	sw.h.type = PS_REC_SWITCH;
	sw.h.size = sizeof(sw);
	sw.h.ts_ns = ZERO_NS + 3;
	sw.h.tgid = 77;		/* untraced: the process tree never names it */
	sw.h.tid = 78;
	CHECK_EQ(trace_writer__add(w, &sw.h), 0);
	finish(w, ZERO_NS + 10);
	s = replay(SESSION_SCHED | SESSION_VM, 0);
	CHECK_EQ(seen.n, 3);
	CHECK_EQ(seen.thread_tid[0], 43);
	CHECK_EQ(seen.process_pid[0], 42);
	CHECK_EQ(seen.thread_tid[1], 43);
	CHECK_EQ(seen.process_pid[1], 42);
	CHECK_EQ(seen.thread_tid[2], 0);
	CHECK_EQ(seen.process_pid[2], 0);
	CHECK(session__sched(s) != NULL);
	CHECK(session__vm(s) != NULL);
	session__free(s);
}

/* The 'before' hook: each record, before the models (and the record callback) see it. */
struct before_log {
	struct session *s;
	char calls[16];		/* 'b' before, 'r' record, in call order */
	size_t n;
	bool known[4];		/* at before(record i): did the process tree know pid 42? */
	size_t nb;
};

static int log_before(void *ctx, const struct ps_hdr *h)
{
	struct before_log *l = ctx;

	(void)h;
	if (l->n < sizeof(l->calls))
		l->calls[l->n++] = 'b';
	if (l->nb < 4)
		l->known[l->nb++] = proc_model__process(session__procs(l->s), 42) != NULL;
	return 0;
}

static int log_record(void *ctx, const struct session_event *ev)
{
	struct before_log *l = ctx;

	(void)ev;
	if (l->n < sizeof(l->calls))
		l->calls[l->n++] = 'r';
	return 0;
}

static void test_before(void)
{
	struct trace_writer *w = start();
	struct session_opts o = { .flags = SESSION_VM };
	struct before_log l = {};
	struct session_callbacks cb = { .record = log_record, .before = log_before, .ctx = &l };

	add_snap_task(w, 42, 'S', "worker");
	add_brk(w, 0, ZERO_NS + 2, 1);
	finish(w, ZERO_NS + 10);
	l.s = session__open(path, &o);
	CHECK(l.s != NULL);
	if (!l.s)
		return;
	CHECK_EQ(session__replay(l.s, &cb), 0);
	CHECK_EQ(l.n, 4);
	CHECK(!memcmp(l.calls, "brbr", 4));
	CHECK_EQ(l.nb, 2);
	CHECK(!l.known[0]);	/* the snapshot record makes the process: not yet at its before */
	CHECK(l.known[1]);
	session__free(l.s);
}

struct released {
	unsigned threads, processes;
	uint32_t tid, pid;
};

static void on_release(void *ctx, const struct ps_thread *t, const struct ps_process *p)
{
	struct released *r = ctx;

	r->threads++;
	r->tid = t->tid;
	if (p) {
		r->processes++;
		r->pid = p->pid;
	}
}

static void add_switch(struct trace_writer *w, uint64_t ts, uint32_t prev, uint32_t next,
		       uint32_t prev_state)
{
	struct ps_switch sw = {};

	sw.h.type = PS_REC_SWITCH;
	sw.h.size = sizeof(sw);
	sw.h.ts_ns = ts;
	sw.h.tgid = sw.h.tid = prev;
	sw.next_tgid = sw.next_tid = next;
	sw.prev_state = prev_state;
	CHECK_EQ(trace_writer__add(w, &sw.h), 0);
}

/*
 * The lifetime rule of proc_model.h: with SESSION_RELEASE a child that
 * exited is freed at its final switch-out, its process with it, and the
 * view hears of it first; without, both stay for views that read them last.
 */
static void test_release(void)
{
	struct trace_writer *w = start();
	struct ps_fork f = {};
	struct ps_exit e = {};

	add_snap_task(w, 42, 'R', "");
	f.h.type = PS_REC_FORK;
	f.h.size = sizeof(f);
	f.h.ts_ns = ZERO_NS + 2;
	f.h.tgid = f.h.tid = 42;
	f.child_tid = f.child_tgid = 50;
	CHECK_EQ(trace_writer__add(w, &f.h), 0);
	add_switch(w, ZERO_NS + 3, 42, 50, TASK_INTERRUPTIBLE);
	e.h.type = PS_REC_EXIT;
	e.h.size = sizeof(e);
	e.h.ts_ns = ZERO_NS + 4;
	e.h.tgid = e.h.tid = 50;
	e.group_dead = 1;
	CHECK_EQ(trace_writer__add(w, &e.h), 0);
	add_switch(w, ZERO_NS + 5, 50, 42, TASK_DEAD);
	add_brk(w, 0, ZERO_NS + 6, 1);	/* 42/43: a thread of the parent's */
	finish(w, ZERO_NS + 10);

	for (int release = 0; release < 2; release++) {
		struct session_opts o = { .flags = SESSION_SCHED | SESSION_FORGET |
						   (release ? SESSION_RELEASE : 0) };
		struct released r = {};
		struct session_callbacks cb = { .release = on_release, .ctx = &r };
		struct session *s = session__open(path, &o);
		struct proc_model *pm;

		CHECK(s != NULL);
		if (!s)
			return;
		CHECK_EQ(session__replay(s, &cb), 0);
		pm = session__procs(s);
		CHECK_EQ(r.threads, release ? 1 : 0);
		CHECK_EQ(r.processes, release ? 1 : 0);
		CHECK_EQ(r.tid, release ? 50 : 0);
		CHECK_EQ(r.pid, release ? 50 : 0);
		CHECK_EQ(proc_model__process(pm, 50) == NULL, release);
		CHECK_EQ(proc_model__thread(pm, 50) == NULL, release);
		CHECK(proc_model__thread(pm, 42) != NULL);
		CHECK_EQ(pm->nprocs, release ? 1 : 2);
		session__free(s);
	}
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/s.data", dir);
	test_order();
	test_jitter();
	test_late();
	test_snapshot();
	test_bound();
	test_time_zero();
	test_end();
	test_resolve();
	test_before();
	test_release();
	unlink(path);
	strcat(path, ".old");	/* the writer keeps the previous file under this name */
	unlink(path);
	rmdir(dir);
	return CHECK_DONE();
}
