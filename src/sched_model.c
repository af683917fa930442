// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Scheduling model: a state machine per thread driven by sched_switch,
 * sched_waking/wakeup_new, fork and the initial snapshot, and a per-CPU
 * occupancy track.
 *
 * How the kernel counts, and so how we count (kernel/sched/core.c
 * __schedule): a switch-out with a non-zero prev_state that is not a
 * preemption bumps nvcsw, anything else nivcsw; the probe stores
 * prev_state = 0 for a preemption. The very last switch-out of a dying
 * task (TASK_DEAD) is not counted: the kernel adds the thread's counters to
 * its process (__exit_signal) before that switch, and the thread's own
 * last look at /proc/self/task/TID/status cannot see it either.
 *
 * The kernel does not emit sched_switch for every switch (on this VM some
 * switches in from idle go unreported; perf and ftrace miss the same ones).
 * Format 3 records carry the kernel's own totals (sum_exec_runtime, nvcsw,
 * nivcsw) of the task switched out, the total of the task switched in, and
 * the totals at exec and exit. With them:
 *  - a switch-out of a thread the model does not have on a CPU is a
 *    switch-in the kernel did not report: the run's length is the growth of
 *    sum_exec_runtime since the thread's last known total, so its start is
 *    known; the run and its CPU lane are rebuilt ("unreported");
 *  - a switch-in of a thread the model has running is an unreported
 *    switch-out: its run ended when its total stopped growing;
 *  - on-CPU time is the sum of the kernel's per-run deltas, and switch
 *    counts are the kernel's own counters.
 * Older files (no totals) fall back to counting events and marking what
 * they contradict as unknown.
 *
 * Records are in reserve order (one ring buffer), so a wakeup may appear
 * before the switch-out of the thread it wakes (sched_waking fires before
 * try_to_wake_up waits for the task to leave its CPU): such a wakeup is
 * kept pending and applied at the switch-out. Timestamps are taken after
 * the reservation, so small inversions are clamped, never trusted.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "sched_model.h"
#include "task_state.h"


/*
 * Run-queue latency histogram, log-linear: values below 32 ns exactly, then
 * 32 buckets per power of two (about 3% wide), up to 2^42 ns (73 min).
 * 5 KiB per live thread that ever waited, whatever the trace length; a
 * dead thread keeps only its used buckets (struct hist_ent, 8 bytes each,
 * typically a few dozen), which is all its and its process's percentiles
 * need.
 */
#define HIST_SUB_BITS	5
#define HIST_SUB	(1u << HIST_SUB_BITS)
#define HIST_MAX_EXP	42
#define HIST_BUCKETS	((HIST_MAX_EXP - HIST_SUB_BITS + 2) * HIST_SUB)

#define NWAKERS		8	/* wakers tracked per thread (space-saving top-k) */

struct waker_count {
	uint32_t tid;
	uint32_t count;
};

/* A used bucket of a dead thread's histogram. */
struct hist_ent {
	uint32_t bucket;
	uint32_t count;
};

struct sched_thread {
	struct ps_thread *t;
	enum thread_state state;	/* of the open interval */
	uint64_t since;			/* its start */
	int32_t cpu;
	bool preempted;
	uint32_t waker;
	bool resolvable;	/* TS_UNKNOWN since birth: the next event tells what it was */
	bool dead;		/* final switch-out seen */
	size_t idx;		/* in sched_model.threads */
	bool pending_wake;	/* woken while still on its CPU */
	uint32_t pending_waker;
	uint64_t runq_since;	/* when it became runnable, for the latency */
	bool counts_latency;
	int32_t last_cpu;
	uint64_t ns[TS_MAX];
	uint64_t nvcsw, nivcsw, migrations, wakeups, inconsistencies;
	bool has_snap;
	uint64_t snap_ts, snap_nvcsw, snap_nivcsw, snap_oncpu, oncpu_after_snap;
	uint64_t runq_samples, runq_max;
	bool exit_seen;
	uint64_t nvcsw_at_exit, nivcsw_at_exit, oncpu_at_exit;
	/* the kernel's totals (format 3), see the top of this file */
	bool k_counts;		/* k_nvcsw/k_nivcsw hold the kernel's counters */
	uint64_t k_nvcsw, k_nivcsw;
	bool k_sum_known;	/* k_sum: its exact total at its last switch */
	uint64_t k_sum;
	bool k_oncpu_used;	/* k_oncpu holds its on-CPU time (per-run deltas) */
	uint64_t k_oncpu;
	bool run_base_known;	/* RUNNING: run_base is its total when the run began */
	uint64_t run_base;
	bool exit_total_pending;	/* at exit its run's start was not known yet */
	uint64_t exit_ts;
	bool exit_total_known;
	uint64_t oncpu_total_at_exit;
	uint64_t unreported;	/* switches the kernel did not report, rebuilt */
	uint32_t *hist;		/* HIST_BUCKETS, allocated at the first sample; NULL once dead */
	struct hist_ent *used;	/* dead: the used buckets of hist, in bucket order */
	uint32_t nused;
	struct waker_count wakers[NWAKERS];
};

struct sched_cpu {
	bool known;
	uint32_t tid, tgid;
	uint64_t since;
	struct sched_cpu_stats st;
};

struct sched_model {
	struct proc_model *pm;
	struct sched_callbacks cb;
	struct sched_thread **threads;	/* in order of first sight; NULL: released */
	size_t nthreads, threads_cap;
	size_t nreleased;		/* NULLs in threads */
	struct sched_cpu *cpus;
	uint32_t ncpus;
	struct sched_gap *gaps;
	uint64_t ngaps, gaps_cap;
	uint64_t last_lost, last_lost_ts;
	bool seen_any;
	uint64_t first_ts;
	int err;
	bool forget_dead;	/* see sched_model__forget_dead() */
	bool totals;		/* records carry the kernel's totals (format 3) */
};

static const char *const state_names[TS_MAX] = {
	[TS_UNKNOWN] = "unknown", [TS_RUNNING] = "running", [TS_RUNNABLE] = "runnable",
	[TS_SLEEPING] = "sleeping", [TS_BLOCKED] = "blocked", [TS_STOPPED] = "stopped",
	[TS_DEAD] = "dead",
};

const char *sched_model__state_name(enum thread_state s)
{
	return (unsigned)s < TS_MAX ? state_names[s] : "?";
}

static unsigned hist_bucket(uint64_t v)
{
	unsigned e;

	if (v < HIST_SUB)
		return v;
	e = 63 - __builtin_clzll(v);
	if (e > HIST_MAX_EXP)
		return HIST_BUCKETS - 1;
	return (e - HIST_SUB_BITS + 1) * HIST_SUB + ((v >> (e - HIST_SUB_BITS)) & (HIST_SUB - 1));
}

/* Middle of bucket B, in ns. */
static uint64_t hist_value(unsigned b)
{
	unsigned e, sub;
	uint64_t lo, width;

	if (b < HIST_SUB)
		return b;
	e = b / HIST_SUB + HIST_SUB_BITS - 1;
	sub = b % HIST_SUB;
	width = 1ull << (e - HIST_SUB_BITS);
	lo = (1ull << e) + sub * width;
	return lo + width / 2;
}

const struct proc_model *sched_model__procs(const struct sched_model *sm)
{
	return sm->pm;
}

struct sched_model *sched_model__new(struct proc_model *pm, const struct sched_callbacks *cb)
{
	struct sched_model *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->pm = pm;
	if (cb)
		m->cb = *cb;
	return m;
}

void sched_model__forget_dead(struct sched_model *m, bool forget)
{
	m->forget_dead = forget;
}

static struct sched_cpu *get_cpu(struct sched_model *m, uint32_t cpu)
{
	if (cpu >= 4096)
		return NULL;	/* not a CPU number: a damaged record */
	if (cpu >= m->ncpus) {
		uint32_t n = cpu + 1;
		struct sched_cpu *c = realloc(m->cpus, n * sizeof(*c));

		if (!c) {
			m->err = -ENOMEM;
			return NULL;
		}
		memset(c + m->ncpus, 0, (n - m->ncpus) * sizeof(*c));
		m->cpus = c;
		m->ncpus = n;
	}
	return &m->cpus[cpu];
}

static void emit(struct sched_model *m, struct sched_thread *st, uint64_t end)
{
	struct sched_interval iv;
	uint64_t d = end - st->since;

	st->ns[st->state] += d;
	if (st->state == TS_RUNNING && st->has_snap && end > st->snap_ts)
		st->oncpu_after_snap += end - (st->since > st->snap_ts ? st->since : st->snap_ts);
	if (!d || !m->cb.interval)
		return;
	iv.tid = st->t->tid;
	iv.tgid = st->t->tgid;
	iv.state = st->state;
	iv.cpu = st->state == TS_RUNNING || st->state == TS_RUNNABLE ? st->cpu : -1;
	iv.start_ns = st->since;
	iv.end_ns = end;
	iv.preempted = st->state == TS_RUNNABLE && st->preempted;
	iv.waker_tid = st->state == TS_RUNNABLE ? st->waker : 0;
	iv.thread = st->t;
	m->cb.interval(m->cb.ctx, &iv);
}

/* Closes the open interval at TS (clamped to its start) and opens STATE. */
static void move_to(struct sched_model *m, struct sched_thread *st, uint64_t ts,
		    enum thread_state state, int32_t cpu)
{
	if (ts < st->since)
		ts = st->since;	/* a small cross-CPU inversion */
	emit(m, st, ts);
	st->state = state;
	st->since = ts;
	st->cpu = cpu;
	st->preempted = false;
	st->waker = 0;
	st->resolvable = false;
}

/* The open interval contradicts the record at TS: records were lost. */
static void mark_unknown(struct sched_thread *st)
{
	st->state = TS_UNKNOWN;
	st->inconsistencies++;
}

static struct sched_thread *attach(struct sched_model *m, struct ps_thread *t)
{
	struct sched_thread *st;

	if (t->sched)
		return t->sched;
	if (m->nthreads == m->threads_cap) {
		size_t cap = m->threads_cap ? m->threads_cap * 2 : 64;
		struct sched_thread **a = realloc(m->threads, cap * sizeof(*a));

		if (!a) {
			m->err = -ENOMEM;
			return NULL;
		}
		m->threads = a;
		m->threads_cap = cap;
	}
	st = calloc(1, sizeof(*st));
	if (!st) {
		m->err = -ENOMEM;
		return NULL;
	}
	st->t = t;
	st->state = TS_UNKNOWN;
	st->resolvable = true;
	st->since = t->start_ns;
	st->cpu = -1;
	st->last_cpu = -1;
	/*
	 * Already on a CPU (its switch-in came before the record that made it
	 * known, e.g. the `record -- CMD` child): running since then.
	 */
	for (uint32_t c = 0; c < m->ncpus; c++) {
		if (m->cpus[c].known && m->cpus[c].tid == t->tid && m->cpus[c].since <= st->since) {
			st->state = TS_RUNNING;
			st->resolvable = false;
			st->since = m->cpus[c].since;
			st->cpu = st->last_cpu = c;
			if (t->start_ns > st->since)
				t->start_ns = st->since;
			break;
		}
	}
	t->sched = st;
	st->idx = m->nthreads;
	m->threads[m->nthreads++] = st;
	return st;
}

bool sched_model__dead(const struct ps_thread *t)
{
	const struct sched_thread *st = t->sched;

	return st && st->dead;
}

void sched_model__release_thread(struct sched_model *m, struct ps_thread *t)
{
	struct sched_thread *st = t->sched;
	size_t n = 0;

	if (!m || !st)
		return;
	m->threads[st->idx] = NULL;
	free(st->hist);
	free(st->used);
	free(st);
	t->sched = NULL;
	/* squeezed, in order, once half of the array is holes: O(1) amortized */
	if (++m->nreleased <= m->nthreads / 2)
		return;
	for (size_t i = 0; i < m->nthreads; i++) {
		if (m->threads[i]) {
			m->threads[i]->idx = n;
			m->threads[n++] = m->threads[i];
		}
	}
	m->nthreads = n;
	m->nreleased = 0;
}

/* Sched state of the live traced thread TID in process TGID, or NULL. */
static struct sched_thread *lookup(struct sched_model *m, uint32_t tid, uint32_t tgid)
{
	struct ps_thread *t;

	if (!tid)
		return NULL;
	t = proc_model__thread(m->pm, tid);
	if (!t || t->tgid != tgid)
		return NULL;
	return attach(m, t);
}

/* A dead thread's histogram to its used buckets (kept whole on failure). */
static void hist_compact(struct sched_thread *st)
{
	uint32_t n = 0;

	if (!st->hist)
		return;
	for (unsigned b = 0; b < HIST_BUCKETS; b++)
		n += st->hist[b] != 0;
	st->used = malloc((n ? n : 1) * sizeof(*st->used));
	if (!st->used)
		return;
	st->nused = 0;
	for (unsigned b = 0; b < HIST_BUCKETS; b++)
		if (st->hist[b])
			st->used[st->nused++] = (struct hist_ent){ .bucket = b, .count = st->hist[b] };
	free(st->hist);
	st->hist = NULL;
}

static void add_latency(struct sched_model *m, struct sched_thread *st, uint64_t ns)
{
	if (!st->hist) {
		st->hist = calloc(HIST_BUCKETS, sizeof(*st->hist));
		if (!st->hist) {
			m->err = -ENOMEM;
			return;
		}
		/* a sample after its death (never seen, but the file says so): whole again */
		for (uint32_t i = 0; i < st->nused; i++)
			st->hist[st->used[i].bucket] += st->used[i].count;
		free(st->used);
		st->used = NULL;
		st->nused = 0;
	}
	st->hist[hist_bucket(ns)]++;
	st->runq_samples++;
	if (ns > st->runq_max)
		st->runq_max = ns;
}

static void count_waker(struct sched_thread *st, uint32_t tid)
{
	struct waker_count *min = &st->wakers[0];

	for (int i = 0; i < NWAKERS; i++) {
		struct waker_count *w = &st->wakers[i];

		if (w->count && w->tid == tid) {
			w->count++;
			return;
		}
		if (w->count < min->count)
			min = w;
	}
	/* space-saving: the newcomer inherits the smallest count */
	min->tid = tid;
	min->count++;
}

static enum thread_state sleep_state(uint32_t prev_state)
{
	if ((prev_state & (TASK_UNINTERRUPTIBLE | TASK_NOLOAD)) == TASK_UNINTERRUPTIBLE)
		return TS_BLOCKED;
	if (prev_state & (__TASK_STOPPED | __TASK_TRACED))
		return TS_STOPPED;
	return TS_SLEEPING;	/* S, and TASK_IDLE (D|NOLOAD: not counted as load) */
}

/* The CPU's current occupant leaves it at END (>= its since); KNOWN: it, a traced thread, or NULL. */
static void close_cpu_interval(struct sched_model *m, struct sched_cpu *c, uint32_t cpu,
			       uint64_t end, const struct ps_thread *known)
{
	uint64_t d = end - c->since;

	if (!c->tid)
		c->st.idle_ns += d;
	else if (known || proc_model__thread(m->pm, c->tid))
		c->st.traced_ns += d;
	else
		c->st.other_ns += d;
	if (d && m->cb.cpu_interval) {
		struct sched_cpu_interval iv = {
			.cpu = cpu, .tid = c->tid, .tgid = c->tgid,
			.start_ns = c->since, .end_ns = end, .thread = known,
		};
		m->cb.cpu_interval(m->cb.ctx, &iv);
	}
}

static bool switch_has_totals(const struct ps_switch *r)
{
	return r->h.size >= sizeof(*r);
}

/*
 * The open RUNNING interval of ST ends at TS: adds its on-CPU time, the
 * growth of the kernel's total over the run where both ends are known
 * (TOTAL, or NULL), else the interval's length.
 */
static void account_run(struct sched_thread *st, uint64_t ts, const uint64_t *total)
{
	if (total && st->run_base_known && *total >= st->run_base)
		st->k_oncpu += *total - st->run_base;
	else if (ts > st->since)
		st->k_oncpu += ts - st->since;
	if (total) {
		st->k_sum = *total;
		st->k_sum_known = true;
	}
	st->run_base_known = false;
}

/* Opens a RUNNING interval whose start total is BASE (or unknown). */
static void start_run(struct sched_thread *st, const uint64_t *base)
{
	st->run_base_known = base != NULL;
	if (base) {
		st->run_base = *base;
		st->k_sum = *base;
		st->k_sum_known = true;
	}
}

/*
 * A switch-out of ST at TS on CPU C, but ST was not on a CPU: the kernel did
 * not report the switch-in. The run's on-CPU time is the growth of its
 * total since the last known one, so it began at TS minus that (never
 * before ST's current state began, nor before the CPU's current occupant
 * took the CPU). Rebuilds the switch-in there, thread and CPU lane alike.
 */
static void rebuild_switch_in(struct sched_model *m, struct sched_thread *st,
			      const struct ps_switch *r, struct sched_cpu *c)
{
	uint64_t ts = r->h.ts_ns, ran = r->prev.sum_exec_ns - st->k_sum, start;

	start = ran < ts ? ts - ran : 0;
	if (start < st->since)
		start = st->since;
	if (c && c->known && start < c->since)
		start = c->since;
	if (start > ts)
		start = ts;
	if (st->state == TS_RUNNABLE && st->counts_latency)
		add_latency(m, st, start > st->runq_since ? start - st->runq_since : 0);
	if (st->last_cpu >= 0 && st->last_cpu != (int32_t)r->h.cpu)
		st->migrations++;
	st->last_cpu = r->h.cpu;
	move_to(m, st, start, TS_RUNNING, r->h.cpu);
	start_run(st, &st->k_sum);
	st->counts_latency = false;
	st->unreported++;
	if (!c)
		return;
	/* the CPU's lane: its occupant until START, then ST */
	if (c->known && c->tid != st->t->tid) {
		close_cpu_interval(m, c, r->h.cpu, start, NULL);
		c->tid = st->t->tid;
		c->tgid = st->t->tgid;
		c->since = start;
		c->st.switches++;
		c->st.unreported++;
	}
}

static void switch_out(struct sched_model *m, struct sched_thread *st, const struct ps_switch *r)
{
	uint64_t ts = r->h.ts_ns;
	uint32_t ps = r->prev_state;

	if (st->dead)
		return;
	if (st->resolvable) {
		st->state = TS_RUNNING;	/* it was on this CPU */
		st->cpu = r->h.cpu;
		if (st->last_cpu < 0)
			st->last_cpu = r->h.cpu;
	} else if (st->state != TS_RUNNING) {
		if (switch_has_totals(r) && st->k_sum_known)
			rebuild_switch_in(m, st, r, NULL);
		else
			mark_unknown(st);
	}
	if (!st->has_snap || ts >= st->snap_ts) {
		if (!ps)
			st->nivcsw++;
		else if (!(ps & TASK_DEAD))
			st->nvcsw++;
	}
	if (switch_has_totals(r)) {
		uint64_t total = r->prev.sum_exec_ns;

		account_run(st, ts, &total);
		st->k_counts = true;
		st->k_nvcsw = r->prev.nvcsw;
		st->k_nivcsw = r->prev.nivcsw;
	} else {
		account_run(st, ts, NULL);
	}
	if (st->exit_total_pending) {
		/* it ran from its exit until now */
		uint64_t after = ts > st->exit_ts ? ts - st->exit_ts : 0;

		st->exit_total_pending = false;
		st->oncpu_at_exit = st->k_oncpu > after ? st->k_oncpu - after : 0;
		st->exit_total_known = st->k_sum_known;
		st->oncpu_total_at_exit = st->k_sum > after ? st->k_sum - after : 0;
	}
	if (ps & (TASK_DEAD | EXIT_DEAD | EXIT_ZOMBIE)) {
		move_to(m, st, ts, TS_DEAD, -1);
		st->dead = true;
		if (m->forget_dead) {
			free(st->hist);
			st->hist = NULL;
		} else {
			hist_compact(st);
		}
		st->pending_wake = false;
		return;
	}
	if (!ps) {
		move_to(m, st, ts, TS_RUNNABLE, r->h.cpu);
		st->preempted = true;
		st->runq_since = st->since;
		st->counts_latency = true;
	} else if (st->pending_wake) {
		/* woken before it got off the CPU: runnable at once */
		move_to(m, st, ts, TS_RUNNABLE, r->h.cpu);
		st->waker = st->pending_waker;
		st->runq_since = st->since;
		st->counts_latency = true;
	} else {
		move_to(m, st, ts, sleep_state(ps), -1);
	}
	st->pending_wake = false;
}

static void switch_in(struct sched_model *m, struct sched_thread *st, const struct ps_switch *r)
{
	uint64_t ts = r->h.ts_ns;
	int32_t cpu = r->h.cpu;

	if (st->dead)
		return;
	switch (st->state) {
	case TS_RUNNABLE:
		if (st->counts_latency)
			add_latency(m, st, ts > st->runq_since ? ts - st->runq_since : 0);
		break;
	case TS_SLEEPING:
	case TS_BLOCKED:
	case TS_STOPPED:
		/* no wakeup after the switch-out: it came just before it */
		if (st->pending_wake) {
			st->state = TS_RUNNABLE;
			st->waker = st->pending_waker;
			add_latency(m, st, ts > st->since ? ts - st->since : 0);
		} else if (switch_has_totals(r) && st->k_sum_known &&
			   r->next_sum_exec_ns == st->k_sum) {
			/*
			 * The kernel reported no wakeup (as with switches, some
			 * go unreported), but its total proves it did not run
			 * since: it waited until now.
			 */
			st->unreported++;
		} else {
			mark_unknown(st);
		}
		break;
	case TS_UNKNOWN:
		if (st->resolvable)
			st->state = TS_RUNNABLE;	/* waiting for a CPU */
		break;
	default:	/* RUNNING: the kernel did not report its switch-out */
		if (switch_has_totals(r) && st->run_base_known &&
		    r->next_sum_exec_ns >= st->run_base) {
			/* its run ended when its total stopped growing */
			uint64_t total = r->next_sum_exec_ns;
			uint64_t end = st->since + (total - st->run_base);

			if (end > ts)
				end = ts;
			account_run(st, end, &total);
			move_to(m, st, end, st->pending_wake ? TS_SLEEPING : TS_RUNNABLE, -1);
			st->unreported++;
		} else {
			mark_unknown(st);
		}
		break;
	}
	if (st->last_cpu >= 0 && st->last_cpu != cpu)
		st->migrations++;
	st->last_cpu = cpu;
	move_to(m, st, ts, TS_RUNNING, cpu);
	if (switch_has_totals(r)) {
		uint64_t total = r->next_sum_exec_ns;

		start_run(st, &total);
	} else {
		start_run(st, NULL);
	}
	st->pending_wake = false;
	st->counts_latency = false;
}

/* T: the thread switched out, resolved by the session (or NULL). */
static void on_switch(struct sched_model *m, const struct ps_switch *r, struct ps_thread *t)
{
	struct sched_cpu *c = get_cpu(m, r->h.cpu);
	struct sched_thread *prev, *next;
	uint64_t ts = r->h.ts_ns;

	if (switch_has_totals(r))
		m->totals = true;
	prev = t ? attach(m, t) : NULL;
	/* a traced prev the CPU lane does not have: its switch-in went unreported */
	if (prev && c && c->known && c->tid != r->h.tid && !prev->dead && !prev->resolvable &&
	    prev->state != TS_RUNNING && switch_has_totals(r) && prev->k_sum_known)
		rebuild_switch_in(m, prev, r, c);
	if (c) {
		if (c->known) {
			ts = ts > c->since ? ts : c->since;
			/* the occupant is most often the prev named by this record */
			close_cpu_interval(m, c, r->h.cpu, ts, t && c->tid == t->tid ? t : NULL);
		} else if (prev && (prev->state == TS_RUNNING || prev->resolvable) && prev->since < ts) {
			/*
			 * The first switch seen on this CPU: a traced prev that was
			 * already running here (its lane says so from its first
			 * record) also occupied the CPU lane until now.
			 */
			c->st.traced_ns += ts - prev->since;
			if (m->cb.cpu_interval) {
				struct sched_cpu_interval iv = {
					.cpu = r->h.cpu, .tid = r->h.tid, .tgid = r->h.tgid,
					.start_ns = prev->since, .end_ns = ts, .thread = t,
				};
				m->cb.cpu_interval(m->cb.ctx, &iv);
			}
		}
		c->known = true;
		c->tid = r->next_tid;
		c->tgid = r->next_tgid;
		c->since = ts;
		c->st.switches++;
	}
	if (prev)
		switch_out(m, prev, r);
	next = lookup(m, r->next_tid, r->next_tgid);
	if (next)
		switch_in(m, next, r);
}

static void on_wakeup(struct sched_model *m, const struct ps_wakeup *r)
{
	struct sched_thread *st = lookup(m, r->woken_tid, r->woken_tgid);
	uint64_t ts = r->h.ts_ns;

	if (!st || st->dead)
		return;
	st->wakeups++;
	count_waker(st, r->h.tid);
	switch (st->state) {
	case TS_RUNNING:
		st->pending_wake = true;
		st->pending_waker = r->h.tid;
		break;
	case TS_RUNNABLE:
		if (r->is_new) {	/* born runnable at fork; queued now */
			st->waker = r->h.tid;
			st->runq_since = ts > st->since ? ts : st->since;
			st->counts_latency = true;
		}
		break;
	case TS_UNKNOWN:
		if (st->resolvable)
			st->state = TS_SLEEPING;	/* woken: it was waiting */
		/* fall through */
	default:
		move_to(m, st, ts, TS_RUNNABLE, r->target_cpu);
		st->waker = r->h.tid;
		st->runq_since = st->since;
		st->counts_latency = true;
		break;
	}
}

static void on_fork(struct sched_model *m, const struct ps_fork *r)
{
	struct ps_thread *t = proc_model__thread(m->pm, r->child_tid);
	struct sched_thread *st;

	if (!t || t->tgid != r->child_tgid || t->sched)
		return;
	st = attach(m, t);
	if (!st)
		return;
	/* TASK_NEW until wake_up_new_task queues it: runnable from birth */
	st->state = TS_RUNNABLE;
	st->resolvable = false;
	st->since = r->h.ts_ns;
	st->runq_since = r->h.ts_ns;
	st->counts_latency = true;
	st->waker = r->h.tid;
	/* a new task starts with zero totals (sched_fork(), copy_process()) */
	st->k_counts = st->k_sum_known = true;
}

static void on_snapshot(struct sched_model *m, const struct ps_snap_task *r, struct ps_thread *t)
{
	struct sched_thread *st = t ? attach(m, t) : NULL;

	if (!st)
		return;
	st->has_snap = true;
	st->snap_ts = r->h.ts_ns;
	st->snap_nvcsw = r->nvcsw;
	st->snap_nivcsw = r->nivcsw;
	st->snap_oncpu = r->sum_exec_ns;
	/*
	 * The counters change only at switches: exact. schedstat's sum of a
	 * task on a CPU lags by up to a tick: exact only for a waiting one.
	 */
	st->k_counts = true;
	st->k_nvcsw = r->nvcsw;
	st->k_nivcsw = r->nivcsw;
	if (r->state != 'R') {
		st->k_sum = r->sum_exec_ns;
		st->k_sum_known = true;
	}
	if (!st->resolvable)
		return;
	/* R is running or runnable: resolved by its next switch */
	switch (r->state) {
	case 'S': case 'I':
		move_to(m, st, r->h.ts_ns, TS_SLEEPING, -1);
		break;
	case 'D':
		move_to(m, st, r->h.ts_ns, TS_BLOCKED, -1);
		break;
	case 'T': case 't':
		move_to(m, st, r->h.ts_ns, TS_STOPPED, -1);
		break;
	}
}

static void on_lost(struct sched_model *m, const struct ps_lost *r)
{
	uint64_t start = m->last_lost_ts ? m->last_lost_ts : m->first_ts;

	if (r->lost_total > m->last_lost) {
		if (m->ngaps == m->gaps_cap) {
			uint64_t cap = m->gaps_cap ? m->gaps_cap * 2 : 8;
			struct sched_gap *g = realloc(m->gaps, cap * sizeof(*g));

			if (!g) {
				m->err = -ENOMEM;
				return;
			}
			m->gaps = g;
			m->gaps_cap = cap;
		}
		m->gaps[m->ngaps].start_ns = start;
		m->gaps[m->ngaps].end_ns = r->h.ts_ns > start ? r->h.ts_ns : start;
		m->gaps[m->ngaps].lost = r->lost_total - m->last_lost;
		m->ngaps++;
		m->last_lost = r->lost_total;
	}
	m->last_lost_ts = r->h.ts_ns;
}

/*
 * sched_process_exit: what the thread could last read of itself in /proc.
 * Its counters come with the record; its on-CPU total (which lags on a
 * running task) is its total at the start of this run plus the time since,
 * or, where that start went unreported, is taken at its next switch-out.
 */
static void on_exit_rec(struct sched_model *m, const struct ps_exit *r, struct ps_thread *t)
{
	struct sched_thread *st = t ? attach(m, t) : NULL;
	uint64_t ts = r->h.ts_ns, running = 0;

	if (!st || st->exit_seen)
		return;
	st->exit_seen = true;
	if ((st->state == TS_RUNNING || st->resolvable) && ts > st->since)
		running = ts - st->since;
	if (r->h.size < sizeof(*r)) {	/* older files: what was seen */
		st->nvcsw_at_exit = st->nvcsw;
		st->nivcsw_at_exit = st->nivcsw;
		st->oncpu_at_exit = st->ns[TS_RUNNING] + running;
		return;
	}
	st->k_counts = true;
	st->k_nvcsw = st->nvcsw_at_exit = r->totals.nvcsw;
	st->k_nivcsw = st->nivcsw_at_exit = r->totals.nivcsw;
	if (st->state == TS_RUNNING && st->run_base_known) {
		st->oncpu_at_exit = st->k_oncpu + running;
		st->oncpu_total_at_exit = st->run_base + running;
		st->exit_total_known = true;
	} else {
		st->exit_total_pending = true;
		st->exit_ts = ts;
	}
}

int sched_model__apply(struct sched_model *m, const struct ps_hdr *h, struct ps_thread *t)
{
	if (!m->seen_any || h->ts_ns < m->first_ts)
		m->first_ts = h->ts_ns;
	m->seen_any = true;
	switch (h->type) {
	case PS_REC_SWITCH:
		on_switch(m, (const void *)h, t);
		break;
	case PS_REC_WAKEUP:
		on_wakeup(m, (const void *)h);
		break;
	case PS_REC_FORK:
		on_fork(m, (const void *)h);
		if (t)
			attach(m, t);
		break;
	case PS_REC_SNAP_TASK:
		on_snapshot(m, (const void *)h, t);
		break;
	case PS_REC_LOST:
		on_lost(m, (const void *)h);
		break;
	case PS_REC_EXEC: {
		const struct ps_exec *r = (const void *)h;
		struct sched_thread *st = t ? attach(m, t) : NULL;

		if (st && h->size >= sizeof(*r)) {
			/* it is on its CPU: the counters are exact, the sum lags */
			st->k_counts = true;
			st->k_nvcsw = r->totals.nvcsw;
			st->k_nivcsw = r->totals.nivcsw;
		}
		break;
	}
	case PS_REC_EXIT:
		on_exit_rec(m, (const void *)h, t);
		break;
	default:
		/* any record of a thread makes it known (and maybe running already) */
		if (t)
			attach(m, t);
		break;
	}
	return m->err;
}

void sched_model__finish(struct sched_model *m, uint64_t end_ns)
{
	for (size_t i = 0; i < m->nthreads; i++) {
		struct sched_thread *st = m->threads[i];

		if (!st || st->dead || end_ns < st->since)
			continue;
		if (st->state == TS_RUNNING || st->resolvable) {
			/* still on its CPU: its total grew by the time since */
			bool base = st->run_base_known;
			uint64_t total = st->run_base + (end_ns - st->since);

			account_run(st, end_ns, base ? &total : NULL);
		}
		if (st->exit_total_pending) {
			uint64_t after = end_ns > st->exit_ts ? end_ns - st->exit_ts : 0;

			st->exit_total_pending = false;
			st->oncpu_at_exit = st->k_oncpu > after ? st->k_oncpu - after : 0;
		}
		move_to(m, st, end_ns, st->state, st->cpu);
	}
	for (uint32_t c = 0; c < m->ncpus; c++) {
		struct ps_switch r = { .h = { .type = PS_REC_SWITCH, .cpu = c, .ts_ns = end_ns } };

		if (!m->cpus[c].known || end_ns < m->cpus[c].since)
			continue;
		/* closes the CPU's interval; no thread is named by tid 0 */
		on_switch(m, &r, NULL);
		m->cpus[c].known = false;
		m->cpus[c].st.switches--;
	}
}

static uint64_t hist_quantile(const uint32_t *hist, uint64_t n, double q, uint64_t max)
{
	uint64_t rank = (uint64_t)(q * (n - 1)), seen = 0;

	for (unsigned b = 0; b < HIST_BUCKETS; b++) {
		seen += hist[b];
		if (seen > rank) {
			uint64_t v = hist_value(b);

			return v > max ? max : v;
		}
	}
	return max;
}

/* The same over a dead thread's used buckets. */
static uint64_t used_quantile(const struct hist_ent *used, uint32_t nused, uint64_t n, double q,
			      uint64_t max)
{
	uint64_t rank = (uint64_t)(q * (n - 1)), seen = 0;

	for (uint32_t i = 0; i < nused; i++) {
		seen += used[i].count;
		if (seen > rank) {
			uint64_t v = hist_value(used[i].bucket);

			return v > max ? max : v;
		}
	}
	return max;
}

static void fill_stats(const struct sched_model *m, const struct sched_thread *st,
		       struct sched_thread_stats *o)
{
	o->oncpu_ns += m->totals ? st->k_oncpu : st->ns[TS_RUNNING];
	o->runnable_ns += st->ns[TS_RUNNABLE];
	o->sleep_ns += st->ns[TS_SLEEPING];
	o->blocked_ns += st->ns[TS_BLOCKED];
	o->stopped_ns += st->ns[TS_STOPPED];
	o->unknown_ns += st->ns[TS_UNKNOWN];
	if (m->totals && st->k_counts) {
		o->nvcsw += st->k_nvcsw;
		o->nivcsw += st->k_nivcsw;
	} else {
		o->nvcsw += st->nvcsw + st->snap_nvcsw;
		o->nivcsw += st->nivcsw + st->snap_nivcsw;
	}
	o->migrations += st->migrations;
	o->wakeups += st->wakeups;
	o->runq_samples += st->runq_samples;
	if (st->runq_max > o->runq_max_ns)
		o->runq_max_ns = st->runq_max;
	if (m->totals && st->k_sum_known)
		o->oncpu_total_ns += st->k_sum;
	else
		o->oncpu_total_ns += st->has_snap ? st->snap_oncpu + st->oncpu_after_snap
						  : st->ns[TS_RUNNING];
	o->before_trace |= st->has_snap;
	o->snap_nvcsw += st->snap_nvcsw;
	o->snap_nivcsw += st->snap_nivcsw;
	o->snap_oncpu_ns += st->snap_oncpu;
	o->inconsistencies += st->inconsistencies;
	o->exit_seen |= st->exit_seen;
	if (m->totals && st->k_counts) {
		o->nvcsw_at_exit += st->exit_seen ? st->nvcsw_at_exit : st->k_nvcsw;
		o->nivcsw_at_exit += st->exit_seen ? st->nivcsw_at_exit : st->k_nivcsw;
	} else {
		o->nvcsw_at_exit += (st->exit_seen ? st->nvcsw_at_exit : st->nvcsw) + st->snap_nvcsw;
		o->nivcsw_at_exit += (st->exit_seen ? st->nivcsw_at_exit : st->nivcsw) + st->snap_nivcsw;
	}
	o->oncpu_at_exit_ns += st->exit_seen ? st->oncpu_at_exit
					     : m->totals ? st->k_oncpu : st->ns[TS_RUNNING];
	o->unreported += st->unreported;
	o->running_ns += st->ns[TS_RUNNING];
	o->totals_at_exit |= st->exit_total_known;
	o->oncpu_total_at_exit_ns += st->exit_total_known ? st->oncpu_total_at_exit
				     : m->totals && st->k_sum_known ? st->k_sum : 0;
}

static void top_wakers(const struct waker_count *w, size_t n, struct sched_thread_stats *o)
{
	for (int k = 0; k < 3; k++) {
		size_t best = n;

		for (size_t i = 0; i < n; i++) {
			bool taken = false;

			for (int j = 0; j < k; j++)
				taken |= o->top_wakers[j] == w[i].tid && o->top_waker_counts[j];
			if (!w[i].count || taken)
				continue;
			if (best == n || w[i].count > w[best].count)
				best = i;
		}
		if (best == n)
			break;
		o->top_wakers[k] = w[best].tid;
		o->top_waker_counts[k] = w[best].count;
	}
}

void sched_model__thread_stats(const struct sched_model *m, const struct ps_thread *t,
			       struct sched_thread_stats *out)
{
	const struct sched_thread *st = t->sched;

	memset(out, 0, sizeof(*out));
	out->last_cpu = -1;
	if (!st)
		return;
	fill_stats(m, st, out);
	out->last_cpu = st->last_cpu;
	if (st->hist && st->runq_samples) {
		out->runq_p50_ns = hist_quantile(st->hist, st->runq_samples, 0.50, st->runq_max);
		out->runq_p99_ns = hist_quantile(st->hist, st->runq_samples, 0.99, st->runq_max);
	} else if (st->used && st->runq_samples) {
		out->runq_p50_ns = used_quantile(st->used, st->nused, st->runq_samples, 0.50,
						 st->runq_max);
		out->runq_p99_ns = used_quantile(st->used, st->nused, st->runq_samples, 0.99,
						 st->runq_max);
	}
	top_wakers(st->wakers, NWAKERS, out);
}

void sched_model__process_stats(const struct sched_model *m, const struct ps_process *p,
				struct sched_thread_stats *out)
{
	struct waker_count w[64] = {};
	uint32_t *hist = NULL;
	size_t nw = 0;

	memset(out, 0, sizeof(*out));
	out->last_cpu = -1;
	for (size_t i = 0; i < p->nthreads; i++) {
		const struct sched_thread *st = p->threads[i]->sched;

		if (!st)
			continue;
		fill_stats(m, st, out);
		for (int k = 0; k < NWAKERS; k++) {
			size_t j;

			if (!st->wakers[k].count)
				continue;
			for (j = 0; j < nw && w[j].tid != st->wakers[k].tid; j++)
				;
			if (j == nw && nw == sizeof(w) / sizeof(w[0]))
				continue;
			if (j == nw)
				w[nw++].tid = st->wakers[k].tid;
			w[j].count += st->wakers[k].count;
		}
		if (!st->hist && !st->used)
			continue;
		if (!hist)
			hist = calloc(HIST_BUCKETS, sizeof(*hist));
		if (hist && st->hist)
			for (unsigned b = 0; b < HIST_BUCKETS; b++)
				hist[b] += st->hist[b];
		else if (hist)
			for (uint32_t k = 0; k < st->nused; k++)
				hist[st->used[k].bucket] += st->used[k].count;
	}
	if (hist && out->runq_samples) {
		out->runq_p50_ns = hist_quantile(hist, out->runq_samples, 0.50, out->runq_max_ns);
		out->runq_p99_ns = hist_quantile(hist, out->runq_samples, 0.99, out->runq_max_ns);
	}
	free(hist);
	top_wakers(w, nw, out);
}

uint64_t sched_model__gaps(const struct sched_model *m, uint64_t *gap_ns)
{
	uint64_t ns = 0;

	for (uint64_t i = 0; i < m->ngaps; i++)
		ns += m->gaps[i].end_ns - m->gaps[i].start_ns;
	if (gap_ns)
		*gap_ns = ns;
	return m->ngaps;
}

const struct sched_gap *sched_model__gap(const struct sched_model *m, uint64_t i)
{
	return i < m->ngaps ? &m->gaps[i] : NULL;
}

uint32_t sched_model__ncpus(const struct sched_model *m)
{
	return m->ncpus;
}

void sched_model__cpu_stats(const struct sched_model *m, uint32_t cpu, struct sched_cpu_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (cpu < m->ncpus)
		*out = m->cpus[cpu].st;
}

void sched_model__free(struct sched_model *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nthreads; i++) {
		if (!m->threads[i])
			continue;
		m->threads[i]->t->sched = NULL;
		free(m->threads[i]->hist);
		free(m->threads[i]->used);
		free(m->threads[i]);
	}
	free(m->threads);
	free(m->cpus);
	free(m->gaps);
	free(m);
}
