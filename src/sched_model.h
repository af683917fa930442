/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Scheduling model: per thread, a complete sequence of state intervals from
 * birth to end; per CPU, who ran when; wakeups and run-queue latency.
 *
 * Streaming: feed every record in file order (after proc_model__apply() of
 * the same record); each closed interval is handed to the callback at once,
 * and memory stays bounded by the number of threads, not the trace length.
 */
#ifndef PROCSCOPE_SCHED_MODEL_H
#define PROCSCOPE_SCHED_MODEL_H

#include <stdbool.h>
#include <stdint.h>
#include "proc_model.h"

enum thread_state {
	TS_UNKNOWN = 0,		/* before its first record, or inside a lost-records gap */
	TS_RUNNING,		/* on a CPU */
	TS_RUNNABLE,		/* woken or preempted, waiting for a CPU */
	TS_SLEEPING,		/* S: interruptible wait */
	TS_BLOCKED,		/* D: uninterruptible wait */
	TS_STOPPED,		/* T/t */
	TS_DEAD,		/* exited */
	TS_MAX,
};

const char *sched_model__state_name(enum thread_state s);	/* "running", "runnable", ... */

struct sched_interval {
	uint32_t tid;
	uint32_t tgid;
	enum thread_state state;
	int32_t cpu;		/* RUNNING: the CPU; RUNNABLE: the target CPU; else -1 */
	uint64_t start_ns;
	uint64_t end_ns;
	bool preempted;		/* RUNNABLE after an involuntary switch */
	uint32_t waker_tid;	/* RUNNABLE after a wakeup: who woke it (0 if unknown) */
	const struct ps_thread *thread;	/* the thread itself: no lookup by tid needed */
};

/* Per-CPU occupancy: tid 0 is idle. */
struct sched_cpu_interval {
	uint32_t cpu;
	uint32_t tid;
	uint32_t tgid;
	uint64_t start_ns;
	uint64_t end_ns;
	const struct ps_thread *thread;	/* the occupant if the model has it at hand, else NULL: by tid */
};

struct sched_thread_stats {
	uint64_t oncpu_ns;	/* in the recording: the kernel's per-run deltas (format 3) */
	uint64_t runnable_ns;
	uint64_t sleep_ns;
	uint64_t blocked_ns;
	uint64_t stopped_ns;
	uint64_t unknown_ns;	/* lost-records gaps, and before its first record */
	/*
	 * Context switches: the kernel's own counters (format 3: what
	 * /proc/.../status shows, switches before the recording included),
	 * or, in older files, the switches seen plus the snapshot's.
	 */
	uint64_t nvcsw;
	uint64_t nivcsw;
	uint64_t migrations;
	uint64_t wakeups;	/* times it was woken */
	uint64_t runq_p50_ns;	/* run-queue latency, wakeup (or preemption) to running */
	uint64_t runq_p99_ns;
	uint64_t runq_max_ns;
	uint32_t top_wakers[3];	/* tids that woke it most, 0-terminated */
	uint32_t top_waker_counts[3];
	/* appended: */
	uint64_t runq_samples;	/* latencies behind the percentiles */
	uint64_t oncpu_total_ns;	/* kernel's view: snapshot's sum_exec + on-CPU after it */
	bool before_trace;	/* alive before recording: a snapshot gave base counters */
	uint64_t snap_nvcsw;	/* the snapshot's counters (in nvcsw/nivcsw/oncpu_total_ns) */
	uint64_t snap_nivcsw;
	uint64_t snap_oncpu_ns;
	uint64_t inconsistencies;	/* records that contradicted the state: some were lost */
	int32_t last_cpu;	/* CPU it last ran on, -1 if never seen running */
	/*
	 * At its sched_process_exit (what the thread itself could last read in
	 * /proc; its final switches, e.g. a preemption by the joiner it woke,
	 * come after). Valid if exit_seen; snapshot bases included.
	 */
	bool exit_seen;
	uint64_t nvcsw_at_exit;
	uint64_t nivcsw_at_exit;
	uint64_t oncpu_at_exit_ns;	/* on-CPU time in the trace up to its exit */
	/* appended (format 3): */
	uint64_t unreported;	/* switches the kernel did not report, rebuilt from its totals */
	bool totals_at_exit;	/* oncpu_total_at_exit_ns is the kernel's */
	uint64_t oncpu_total_at_exit_ns;	/* the kernel's total on-CPU time at its exit */
	/*
	 * Time in the running state on its timeline (between switch events):
	 * with the other states it covers the thread's life. It differs from
	 * oncpu_ns by what the kernel does not charge to the task (interrupt
	 * time) and by the switch itself.
	 */
	uint64_t running_ns;
};

struct sched_cpu_stats {
	uint64_t traced_ns;	/* running a traced thread */
	uint64_t other_ns;	/* running an untraced task (every task with -a is traced) */
	uint64_t idle_ns;	/* idle task (pid 0) */
	uint64_t switches;
	uint64_t unreported;	/* of switches: rebuilt, the kernel did not report them */
};

/* A window in which records were lost (between two PS_REC_LOST that differ). */
struct sched_gap {
	uint64_t start_ns;
	uint64_t end_ns;
	uint64_t lost;		/* records lost in it */
};

struct sched_model;

struct sched_callbacks {
	void (*interval)(void *ctx, const struct sched_interval *iv);	/* may be NULL */
	void (*cpu_interval)(void *ctx, const struct sched_cpu_interval *iv);	/* may be NULL */
	void *ctx;
};

/* NULL and errno on failure. CB may be NULL (stats only). */
struct sched_model *sched_model__new(struct proc_model *pm, const struct sched_callbacks *cb);
/* The process tree the model was made with. */
const struct proc_model *sched_model__procs(const struct sched_model *sm);
/* T: proc_model__resolve(H), which the model does not look up again. 0 or -errno. */
int sched_model__apply(struct sched_model *m, const struct ps_hdr *h, struct ps_thread *t);
/* Closes every open interval at END_NS (the end of the recording). */
void sched_model__finish(struct sched_model *m, uint64_t end_ns);
/* Stats of a thread so far (after finish: final); zeros if never seen. */
void sched_model__thread_stats(const struct sched_model *m, const struct ps_thread *t,
			       struct sched_thread_stats *out);
/* Stats of a whole process: sums, and percentiles over all its threads' latencies. */
void sched_model__process_stats(const struct sched_model *m, const struct ps_process *p,
				struct sched_thread_stats *out);
/*
 * For one-pass consumers (exports): drop what a dead thread's statistics
 * need (its latency histogram, 5 KiB) once it is gone, so memory follows
 * the live threads; its stats then lack run-queue percentiles.
 */
void sched_model__forget_dead(struct sched_model *m, bool forget);
/* T's final switch-out was seen: the kernel is done with it (proc_model.h, Lifetime). */
bool sched_model__dead(const struct ps_thread *t);
/* Frees T's scheduling state before T is released (proc_model.h, Lifetime). */
void sched_model__release_thread(struct sched_model *m, struct ps_thread *t);
/* Lost-records gaps seen: count and total ns. */
uint64_t sched_model__gaps(const struct sched_model *m, uint64_t *gap_ns);
/* The I-th gap (0 <= I < count), or NULL. */
const struct sched_gap *sched_model__gap(const struct sched_model *m, uint64_t i);
/* CPUs seen (highest cpu number + 1) and their occupancy so far. */
uint32_t sched_model__ncpus(const struct sched_model *m);
void sched_model__cpu_stats(const struct sched_model *m, uint32_t cpu, struct sched_cpu_stats *out);
void sched_model__free(struct sched_model *m);

#endif
