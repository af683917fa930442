// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Scheduling model on synthetic switch/wakeup sequences. */
#include <string.h>
#include "check.h"
#include "proc_model.h"
#include "sched_model.h"

#include <stddef.h>

static struct proc_model pm;
static struct sched_model *sm;
static int nunknown_iv;
static struct sched_cpu_interval cpu_ivs[16];
static int ncpu_ivs;

static void on_iv(void *ctx, const struct sched_interval *iv)
{
	(void)ctx;
	nunknown_iv += iv->state == TS_UNKNOWN;
}

static void on_cpu_iv(void *ctx, const struct sched_cpu_interval *iv)
{
	(void)ctx;
	if (ncpu_ivs < 16)
		cpu_ivs[ncpu_ivs++] = *iv;
}

static void feed(const struct ps_hdr *h)
{
	CHECK_EQ(proc_model__apply(&pm, h), 0);
	CHECK_EQ(sched_model__apply(sm, h, proc_model__resolve(&pm, h)), 0);
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

/* A switch as format 2 wrote it: no kernel totals. */
static void sw(uint32_t cpu, uint64_t ts, uint32_t ptgid, uint32_t ptid, uint32_t state,
	       uint32_t ntgid, uint32_t ntid)
{
	struct ps_switch r = {};

	hdr(&r.h, PS_REC_SWITCH, offsetof(struct ps_switch, prev), cpu, ts, ptgid, ptid);
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
	hdr(&e.h, PS_REC_EXIT, offsetof(struct ps_exit, totals), 1, 1700, 200, 201);
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

/* A format 3 switch: PREV's totals after it, NEXT's on-CPU total as it comes in. */
static void swt(uint32_t cpu, uint64_t ts, uint32_t ptgid, uint32_t ptid, uint32_t state,
		uint64_t psum, uint64_t pnv, uint64_t pniv, uint32_t ntgid, uint32_t ntid, uint64_t nsum)
{
	struct ps_switch r = {};

	hdr(&r.h, PS_REC_SWITCH, sizeof(r), cpu, ts, ptgid, ptid);
	r.prev_state = state;
	r.next_tgid = ntgid;
	r.next_tid = ntid;
	r.prev.sum_exec_ns = psum;
	r.prev.nvcsw = pnv;
	r.prev.nivcsw = pniv;
	r.next_sum_exec_ns = nsum;
	feed(&r.h);
}

static void fork_thread(uint64_t ts, uint32_t tgid, uint32_t parent, uint32_t child)
{
	struct ps_fork f = {};

	hdr(&f.h, PS_REC_FORK, sizeof(f), 0, ts, tgid, parent);
	f.child_tgid = tgid;
	f.child_tid = child;
	feed(&f.h);
}

/*
 * The kernel reports no switch-in (idle -> 401 at 3200): the switch-out's
 * total says the run lasted 800 ns, so it began at 3200. The thread's
 * states and the CPU lane are rebuilt; nothing is unknown.
 */
static void test_unreported_switch_in(void)
{
	struct sched_thread_stats st;
	struct sched_cpu_stats cs;

	fork_thread(1000, 400, 400, 401);
	wake(1100, 400, 400, 400, 401, 1);
	swt(0, 1300, 0, 0, 0, 0, 0, 0, 400, 401, 0);
	swt(0, 2300, 400, 401, 0x1, 1000, 1, 0, 0, 0, 0);	/* ran 1000, sleeps */
	wake(3000, 0, 0, 400, 401, 0);
	/* idle -> 401 at 3200: not reported */
	swt(0, 4000, 400, 401, 0x1, 1800, 2, 0, 0, 0, 0);	/* ran 800 more */
	sched_model__finish(sm, 5000);
	sched_model__thread_stats(sm, proc_model__thread(&pm, 401), &st);
	CHECK_EQ(st.unreported, 1);
	CHECK_EQ(st.unknown_ns, 0);
	CHECK_EQ(st.inconsistencies, 0);
	CHECK_EQ(st.oncpu_ns, 1800);
	CHECK_EQ(st.oncpu_total_ns, 1800);
	CHECK_EQ(st.running_ns, 1000 + 800);
	CHECK_EQ(st.runnable_ns, 300 + 200);	/* after its fork, and after the wakeup */
	CHECK_EQ(st.sleep_ns, 700 + 1000);
	CHECK_EQ(st.nvcsw, 2);
	CHECK_EQ(st.runq_samples, 2);
	CHECK_EQ(st.runq_max_ns, 200);
	sched_model__cpu_stats(sm, 0, &cs);
	CHECK_EQ(cs.unreported, 1);
	CHECK_EQ(cs.switches, 3 + 1);
	CHECK_EQ(cs.traced_ns, 1000 + 800);
	/* lane: 401 1300-2300, idle 2300-3200, 401 3200-4000, idle 4000-5000 */
	CHECK_EQ(ncpu_ivs, 4);
	CHECK(cpu_ivs[1].tid == 0 && cpu_ivs[1].start_ns == 2300 && cpu_ivs[1].end_ns == 3200);
	CHECK(cpu_ivs[2].tid == 401 && cpu_ivs[2].start_ns == 3200 && cpu_ivs[2].end_ns == 4000);
}

/*
 * No switch-out reported (401 -> idle at 2500): the next switch-in's total
 * says the run ended 500 ns after it began. A wakeup the kernel did not
 * report either: its total proves it did not run, so it waited.
 */
static void test_unreported_switch_out_and_wakeup(void)
{
	struct sched_thread_stats st;
	struct ps_exit e = {};

	fork_thread(1000, 500, 500, 501);
	swt(1, 2000, 0, 0, 0, 0, 0, 0, 500, 501, 0);
	/* 501 -> idle at 2500: not reported */
	swt(1, 4000, 0, 0, 0, 0, 0, 0, 500, 501, 500);
	swt(1, 4600, 500, 501, 0x1, 1100, 2, 0, 0, 0, 0);	/* sleeps */
	/* its wakeup: not reported */
	swt(1, 6000, 0, 0, 0, 0, 0, 0, 500, 501, 1100);
	hdr(&e.h, PS_REC_EXIT, sizeof(e), 1, 6300, 500, 501);
	e.totals.sum_exec_ns = 1100 + 250;	/* lags: read on its CPU */
	e.totals.nvcsw = 3;
	feed(&e.h);
	swt(1, 6400, 500, 501, 0x80, 1500, 3, 0, 0, 0, 0);
	sched_model__finish(sm, 7000);
	sched_model__thread_stats(sm, proc_model__thread(&pm, 501), &st);
	CHECK_EQ(st.unreported, 2);
	CHECK_EQ(st.unknown_ns, 0);
	CHECK_EQ(st.inconsistencies, 0);
	CHECK_EQ(st.oncpu_ns, 1500);
	CHECK_EQ(st.running_ns, 500 + 600 + 400);
	CHECK_EQ(st.runnable_ns, 1000 + 1500);
	CHECK_EQ(st.sleep_ns, 1400);
	CHECK(st.exit_seen && st.totals_at_exit);
	CHECK_EQ(st.nvcsw_at_exit, 3);
	CHECK_EQ(st.oncpu_total_at_exit_ns, 1100 + 300);	/* its run's start total + 300 ns */
	CHECK_EQ(st.nvcsw, 3);
}

static void run(void (*fn)(void))
{
	struct sched_callbacks cb = { .interval = on_iv, .cpu_interval = on_cpu_iv };

	nunknown_iv = ncpu_ivs = 0;
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
	run(test_unreported_switch_in);
	run(test_unreported_switch_out_and_wakeup);
	return CHECK_DONE();
}
