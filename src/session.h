/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The one replay core every verb reads a session file through.
 *
 * Order. Records are delivered by timestamp; records with equal timestamps
 * keep their file order. The file is nearly sorted: the probes stamp a
 * record right after reserving it in the one ring buffer, so two CPUs can
 * swap a few microseconds (45 us at most seen under stress-ng on 2 CPUs),
 * and the recorder writes its /proc snapshot before the first drain, so
 * the probe records of the snapshot's own duration (100 ms and more with
 * -a) come after snapshot records stamped later. A bounded reorder queue
 * (the idea of perf's ordered-events) fixes both:
 *   - a record is held until the newest probe record seen is
 *     SESSION_WINDOW_NS past it; records the recorder stamps itself
 *     (snapshot, lost counters) are ordered like the rest but do not move
 *     that mark, since their place in the file is not their time;
 *   - the queue holds at most SESSION_QUEUE_BYTES of records; past that
 *     the oldest go out early (stats.forced);
 *   - a record older than one already delivered ("late") is never dropped:
 *     it is delivered next, its timestamp raised to the last one delivered
 *     (stats.late, stats.max_late_ns), so models never see time go back.
 * SESSION_RAW keeps file order and the stored timestamps and runs no
 * model: dump shows the file as it is, disorder included, which is what
 * one looks at dump for (the ordered views hide it).
 *
 * Time zero is the header's start_ns (CLOCK_MONOTONIC when the recorder
 * started, written before any record), for every verb: --at, --from, --to
 * and printed times count from it. Probes attach just before it, so the
 * first records of -p/-a sessions can sit a few ms before zero.
 *
 * Per record, the session applies the process tree, then the scheduling
 * model, then the address-space model, then the coroutine model, which
 * places stack pointers in the address space (those the view asked for;
 * the first two are independent, the order fixes their callbacks' order),
 * resolves the record once to its thread and process, and then calls the
 * view.
 * Memory: one chunk (trace_reader), the queue, and the models' live state.
 */
#ifndef PROCSCOPE_SESSION_H
#define PROCSCOPE_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include "coro_model.h"
#include "proc_model.h"
#include "sched_model.h"
#include "trace_reader.h"
#include "vm_model.h"

/* Out-of-order tolerance: 200x the largest inversion seen between CPUs. */
#define SESSION_WINDOW_NS	10000000ull	/* 10 ms */
/* Upper bound of queued record bytes (a big -a snapshot fits with room). */
#define SESSION_QUEUE_BYTES	(64u << 20)

/* session_opts.flags */
#define SESSION_RAW	0x1	/* file order, timestamps as stored, no models (dump) */
#define SESSION_VM	0x2	/* run the address-space model */
#define SESSION_SCHED	0x4	/* run the scheduling model */
#define SESSION_FORGET	0x8	/* one-pass views: models free exited threads' and processes' state */
#define SESSION_CORO	0x10	/* run the coroutine model (implies SESSION_VM) */
#define SESSION_TRIM_EXITED 0x20	/* see session_opts.keep_pid */
#define SESSION_QUIET	0x40	/* a view's second look at the file: no damage warnings */
#define SESSION_RELEASE	0x80	/* with SCHED and FORGET: dead threads and processes freed (proc_model.h) */

struct session_opts {
	unsigned flags;
	/*
	 * Without SESSION_FORGET: with SESSION_TRIM_EXITED, the address-space
	 * model keeps of an exited process's layout all of keep_pid's and the
	 * keep_largest largest regions of the others (vm_model__keep_exited).
	 */
	uint32_t keep_pid;
	uint32_t keep_largest;
};

struct session_stats {
	uint64_t records;	/* delivered */
	uint64_t late;		/* arrived after a later record was delivered: time raised */
	uint64_t max_late_ns;	/* the most a late record was raised by */
	uint64_t forced;	/* delivered before their window passed: queue full */
	uint64_t queue_peak_bytes;
};

/* One record as a view sees it: after every model has taken it. */
struct session_event {
	const struct ps_hdr *h;		/* h->ts_ns possibly raised (see above) */
	struct ps_thread *thread;	/* the thread h->tid of process h->tgid; NULL if untraced or idle */
	struct ps_process *process;	/* process h->tgid, NULL if unknown */
};

struct session_callbacks {
	const struct vm_callbacks *vm;		/* given to the address-space model; may be NULL */
	const struct sched_callbacks *sched;	/* given to the scheduling model; may be NULL */
	const struct coro_callbacks *coro;	/* given to the coroutine model; may be NULL */
	/* Each record, in delivery order; 0, or -errno to stop. May be NULL. */
	int (*record)(void *ctx, const struct session_event *ev);
	/*
	 * Each record before any model takes it (the models still show the
	 * state up to the record before); 0, or -errno to stop. May be NULL.
	 * For views that sample the models at chosen times.
	 */
	int (*before)(void *ctx, const struct ps_hdr *h);
	/*
	 * SESSION_RELEASE: T, and P if not NULL (T's process), are about to be
	 * freed; the view drops what it keeps of them. May be NULL.
	 */
	void (*release)(void *ctx, const struct ps_thread *t, const struct ps_process *p);
	void *ctx;
};

struct session;

/* Opens PATH; NULL and errno on failure, the message printed. */
struct session *session__open(const char *path, const struct session_opts *opts);
/*
 * Replays the file once, models first, then CB; then closes the
 * scheduling model's open intervals at session__end_ns(). 0 or -errno
 * (-ENOMEM, or a callback's error as is), printing nothing: the verb says
 * what failed. Damage in the file is the reader's to report.
 */
int session__replay(struct session *s, const struct session_callbacks *cb);
void session__free(struct session *s);
/*
 * Before replay: stop after the last record at or before ABS_NS (layout
 * --at). Ordered delivery makes that a stop, not a skip.
 */
void session__set_until(struct session *s, uint64_t abs_ns);

const struct ps_file_header *session__header(const struct session *s);
const char *session__path(const struct session *s);
const char *session__cmdline(const struct session *s);
const char *session__targets(const struct session *s);
/* Where it was recorded, "" if the file does not say. */
const char *session__hostname(const struct session *s);
const char *session__boot_id(const struct session *s);
/* Time zero, absolute CLOCK_MONOTONIC ns. */
uint64_t session__time_zero(const struct session *s);
/* ZERO + REL, saturating; REL UINT64_MAX ("end") stays UINT64_MAX. */
uint64_t session__abs_ns(const struct session *s, uint64_t rel_ns);
/* Seconds from time zero (negative before it), for printing. */
double session__sec(const struct session *s, uint64_t abs_ns);
/*
 * End of the recording: the footer's end, else (a cut-short file) the
 * last record's time. Known before replay when the footer can be read
 * from the file's tail; otherwise this reads the file once (no models).
 */
uint64_t session__end_ns(struct session *s);
/* Earliest record time; before replay it reads at most one window ahead. 0 if none. */
uint64_t session__first_ns(struct session *s);
/* After replay: NULL when the file has no footer. */
const struct ps_footer *session__footer(const struct session *s);
const struct trace_reader_stats *session__reader_stats(const struct session *s);
const struct session_stats *session__stats(const struct session *s);

struct proc_model *session__procs(struct session *s);
/* NULL unless asked for with SESSION_VM / SESSION_SCHED, and before replay. */
struct vm_model *session__vm(struct session *s);
struct sched_model *session__sched(struct session *s);
struct coro_model *session__coro(struct session *s);

#endif
