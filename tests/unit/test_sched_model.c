// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Scheduling model on synthetic switch/wakeup sequences. */
#include <string.h>
#include "check.h"
#include "proc_model.h"
#include "sched_model.h"

static struct proc_model pm;
static struct sched_model *sm;
static int nunknown_iv;

static void on_iv(void *ctx, const struct sched_interval *iv)
{
	(void)ctx;
	nunknown_iv += iv->state == TS_UNKNOWN;
}

static void feed(const struct ps_hdr *h)
{
	CHECK_EQ(proc_model__apply(&pm, h), 0);
	CHECK_EQ(sched_model__apply(sm, h), 0);
}

static void hdr(struct ps_hdr *h, unsigned type, size_t size, uint32_t cpu, uint64_t ts,
		uint32_t tgid, uint32_t tid)
{
	h->type = type;
	h->size = size;
	h->cpu = cpu;
	h->ts_ns = ts;
	h->tgid = tgid;
	h->tid = tid;
}

static void sw(uint32_t cpu, uint64_t ts, uint32_t ptgid, uint32_t ptid, uint32_t state,
	       uint32_t ntgid, uint32_t ntid)
{
	struct ps_switch r = {};

	hdr(&r.h, PS_REC_SWITCH, sizeof(r), cpu, ts, ptgid, ptid);
	r.prev_state = state;
	r.next_tgid = ntgid;
	r.next_tid = ntid;
	feed(&r.h);
}

static void wake(uint64_t ts, uint32_t wtgid, uint32_t wtid, uint32_t tgid, uint32_t tid, int is_new)
{
	struct ps_wakeup r = {};

	hdr(&r.h, PS_REC_WAKEUP, sizeof(r), 0, ts, wtgid, wtid);
	r.woken_tgid = tgid;
	r.woken_tid = tid;
	r.is_new = is_new;
	feed(&r.h);
}

/* A thread alive before recording: the snapshot's counters are the base. */
static void test_snapshot_and_migration(void)
{
	struct ps_snap_task s = {};
	struct sched_thread_stats st;
	struct ps_thread *t;

	hdr(&s.h, PS_REC_SNAP_TASK, sizeof(s), 0, 1000, 100, 100);
	s.state = 'S';
	s.nvcsw = 5;
	s.nivcsw = 2;
	s.sum_exec_ns = 7000;
	strcpy(s.comm, "old");
	feed(&s.h);
	wake(2000, 0, 0, 100, 100, 0);			/* woken by an interrupt */
	sw(0, 2500, 0, 0, 0, 100, 100);			/* 500 ns in the run queue */
	sw(0, 4500, 100, 100, 0, 0, 7);			/* preempted after 2000 ns */
	sw(1, 5000, 0, 0, 0, 100, 100);			/* migrates to cpu 1 */
	sw(1, 6000, 100, 100, 0x1, 0, 0);		/* sleeps */
	sched_model__finish(sm, 10000);
	t = proc_model__thread(&pm, 100);
	CHECK(t && !t->born_in_trace);
	sched_model__thread_stats(sm, t, &st);
	CHECK_EQ(st.nvcsw, 5 + 1);
	CHECK_EQ(st.nivcsw, 2 + 1);
	CHECK_EQ(st.oncpu_ns, 2000 + 1000);
	CHECK_EQ(st.runnable_ns, 500 + 500);
	CHECK_EQ(st.sleep_ns, (2000 - 1000) + (10000 - 6000));
	CHECK_EQ(st.oncpu_total_ns, 7000 + 3000);
	CHECK_EQ(st.migrations, 1);
	CHECK_EQ(st.runq_samples, 2);
	CHECK_EQ(st.runq_max_ns, 500);
	CHECK(st.runq_p50_ns >= 485 && st.runq_p50_ns <= 500);
	CHECK(st.before_trace);
	CHECK_EQ(st.unknown_ns, 0);
	CHECK_EQ(st.last_cpu, 1);
}

/* Fork, wakeup_new, a wakeup seen before the switch-out, and the final switch. */
static void test_fork_and_exit(void)
{
	struct sched_thread_stats st;
	struct ps_fork f = {};
	struct ps_exit e = {};

	hdr(&f.h, PS_REC_FORK, sizeof(f), 0, 1000, 200, 200);
	f.child_tgid = 200;
	f.child_tid = 201;
	feed(&f.h);
	wake(1100, 200, 200, 200, 201, 1);
	sw(1, 1300, 0, 0, 0, 200, 201);			/* 200 ns latency */
	wake(1400, 200, 200, 200, 201, 0);		/* waker ran before 201 left its CPU */
	sw(1, 1500, 200, 201, 0x1, 0, 0);		/* so it is runnable, not asleep */
	sw(1, 1600, 0, 0, 0, 200, 201);
	hdr(&e.h, PS_REC_EXIT, sizeof(e), 1, 1700, 200, 201);
	feed(&e.h);
	sw(1, 1800, 200, 201, 0x80, 0, 0);		/* TASK_DEAD: not counted */
	sched_model__finish(sm, 5000);
	sched_model__thread_stats(sm, proc_model__thread(&pm, 201), &st);
	CHECK(proc_model__thread(&pm, 201)->is_thread);
	CHECK_EQ(proc_model__thread(&pm, 201)->creator_tid, 200);
	CHECK_EQ(st.nvcsw, 1);
	CHECK_EQ(st.nivcsw, 0);
	CHECK_EQ(st.sleep_ns, 0);
	CHECK_EQ(st.runnable_ns, 300 + 100);
	CHECK_EQ(st.oncpu_ns, 200 + 200);
	CHECK_EQ(st.runq_samples, 2);
	CHECK_EQ(st.top_wakers[0], 200);
	CHECK(st.exit_seen);
	CHECK_EQ(st.oncpu_at_exit_ns, 200 + 100);
}

/* Lost records: the LOST window is a gap, and a contradiction marks unknown time. */
static void test_lost_gap(void)
{
	struct sched_thread_stats st;
	struct ps_lost l = {};
	struct ps_fork f = {};

	hdr(&f.h, PS_REC_FORK, sizeof(f), 0, 1000, 300, 300);
	f.child_tgid = 301;
	f.child_tid = 301;
	feed(&f.h);
	sw(0, 2000, 0, 0, 0, 301, 301);
	/* lost here: its switch-out on cpu 0 and its wakeup */
	hdr(&l.h, PS_REC_LOST, sizeof(l), 0, 4000, 0, 0);
	l.lost_total = 2;
	l.lost_by_type[PS_REC_SWITCH] = 1;
	l.lost_by_type[PS_REC_WAKEUP] = 1;
	feed(&l.h);
	sw(1, 5000, 0, 0, 0, 301, 301);			/* switched in while "running" */
	sw(1, 6000, 301, 301, 0x2, 0, 0);		/* D */
	sched_model__finish(sm, 7000);
	sched_model__thread_stats(sm, proc_model__thread(&pm, 301), &st);
	CHECK_EQ(sched_model__gaps(sm, NULL), 1);
	CHECK_EQ(sched_model__gap(sm, 0)->lost, 2);
	CHECK_EQ(sched_model__gap(sm, 0)->end_ns, 4000);
	CHECK_EQ(st.inconsistencies, 1);
	CHECK_EQ(st.unknown_ns, 5000 - 2000);
	CHECK_EQ(st.oncpu_ns, 1000);
	CHECK_EQ(st.blocked_ns, 1000);
	CHECK_EQ(st.migrations, 1);
	CHECK(nunknown_iv >= 1);
	CHECK(proc_model__process(&pm, 301)->ppid == 300);
}

static void run(void (*fn)(void))
{
	struct sched_callbacks cb = { .interval = on_iv };

	proc_model__init(&pm);
	sm = sched_model__new(&pm, &cb);
	CHECK(sm != NULL);
	fn();
	sched_model__free(sm);
	proc_model__free(&pm);
}

int main(void)
{
	CHECK(!strcmp(sched_model__state_name(TS_BLOCKED), "blocked"));
	run(test_snapshot_and_migration);
	run(test_fork_and_exit);
	run(test_lost_gap);
	return CHECK_DONE();
}
