// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The replay core (session.h): the reorder queue, time zero, the models in
 * their fixed order, and each record resolved to its thread once.
 *
 * The queue: record copies are appended to BLOCK_BYTES blocks; entries
 * (time, arrival number, record) go into sorted runs, each a FIFO: a new
 * record joins the run whose last time is the latest not after its own,
 * or opens a run. Delivery takes the smallest head over the runs. A nearly
 * sorted file makes one long run plus short ones for each inversion (and
 * one for a snapshot written ahead of older probe records), so a record
 * costs a copy and a look at a few runs: no heap, no shifting. More than
 * MAX_RUNS runs at once (only an adversarial file) releases the oldest
 * early, like a full queue. A block is reused once every record in it was
 * delivered; blocks are aligned to their size, so a record's block is
 * found from its address.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "session.h"
#include "util.h"

#define BLOCK_BYTES	(256u << 10)	/* > the largest record (hdr.size is 16 bits) */
#define MAX_BLOCKS	(SESSION_QUEUE_BYTES / BLOCK_BYTES)
#define SPARE_BLOCKS	2	/* kept for reuse instead of freed */
#define MAX_RUNS	64

struct qblock {
	struct qblock *next;	/* spare list */
	uint32_t used;		/* bytes handed out, from data[0] */
	uint32_t live;		/* records in it not yet delivered */
	uint64_t data[];	/* 8-byte aligned records */
};

struct qentry {
	uint64_t ts;
	uint64_t seq;		/* arrival: ties across runs keep file order */
	struct ps_hdr *rec;
};

/* A FIFO of entries in (ts, seq) order: a ring of cap (a power of 2) slots. */
struct qrun {
	struct qentry *e;
	size_t head, n, cap;
};

struct queue {
	struct qrun runs[MAX_RUNS];	/* [0, nruns) in use; the rest keep their rings */
	unsigned nruns;
	unsigned min;		/* run with the smallest head, if nruns */
	uint64_t seq;
	struct qblock *cur;	/* being filled */
	struct qblock *spare;
	unsigned nspare;
	unsigned nblocks;	/* allocated, spares included */
};

struct session {
	char *path;
	struct trace_reader *r;
	unsigned flags;
	uint32_t keep_pid, keep_largest;	/* session_opts */
	uint64_t until_ns;
	uint64_t zero_ns;
	struct queue q;
	uint64_t mark_ns;	/* newest probe record read */
	bool mark_set;
	uint64_t last_ns;	/* last delivered */
	bool delivered_any;
	bool eof;		/* the reader returned its last record */
	bool stopped;		/* until_ns passed */
	bool replayed;
	bool end_known;
	uint64_t end_ns;
	struct proc_model pm;
	struct vm_model *vm;
	struct sched_model *sm;
	struct coro_model *cm;
	struct session_stats stats;
};

/* ---- the reorder queue ---- */

static struct qblock *block_of(const struct ps_hdr *rec)
{
	return (struct qblock *)((uintptr_t)rec & ~(uintptr_t)(BLOCK_BYTES - 1));
}

static void block_release(struct queue *q, struct qblock *b)
{
	if (b == q->cur) {
		b->used = 0;	/* empty: refill from the start */
		return;
	}
	if (q->nspare < SPARE_BLOCKS) {
		b->next = q->spare;
		q->spare = b;
		q->nspare++;
		return;
	}
	free(b);
	q->nblocks--;
}

/* Room for SIZE bytes; NULL with errno ENOBUFS (queue at its bound) or ENOMEM. */
static void *queue_alloc(struct queue *q, size_t size)
{
	struct qblock *b = q->cur;
	void *p;

	if (!b || b->used + size > BLOCK_BYTES - sizeof(*b)) {
		if (b && !b->live) {
			b->used = 0;
		} else if (q->spare) {
			b = q->spare;
			q->spare = b->next;
			q->nspare--;
		} else if (q->nblocks >= MAX_BLOCKS) {
			errno = ENOBUFS;
			return NULL;
		} else {
			b = aligned_alloc(BLOCK_BYTES, BLOCK_BYTES);
			if (!b) {
				errno = ENOMEM;
				return NULL;
			}
			q->nblocks++;
		}
		b->used = 0;
		b->live = 0;
		q->cur = b;
	}
	p = (char *)b->data + b->used;
	b->used += size;
	b->live++;
	return p;
}

static const struct qentry *run_head(const struct qrun *r)
{
	return &r->e[r->head];
}

static const struct qentry *run_tail(const struct qrun *r)
{
	return &r->e[(r->head + r->n - 1) & (r->cap - 1)];
}

static bool entry_before(const struct qentry *a, const struct qentry *b)
{
	return a->ts < b->ts || (a->ts == b->ts && a->seq < b->seq);
}

static void find_min(struct queue *q)
{
	q->min = 0;
	for (unsigned i = 1; i < q->nruns; i++)
		if (entry_before(run_head(&q->runs[i]), run_head(&q->runs[q->min])))
			q->min = i;
}

/* The run a record stamped TS joins: -1 if it needs a new one. */
static int run_for(const struct queue *q, uint64_t ts)
{
	uint64_t best_ts = 0;
	int best = -1;

	for (unsigned i = 0; i < q->nruns; i++) {
		uint64_t t = run_tail(&q->runs[i])->ts;

		if (t <= ts && (best < 0 || t > best_ts)) {
			best = i;
			best_ts = t;
		}
	}
	return best;
}

static int run_grow(struct qrun *r)
{
	size_t cap = r->cap ? r->cap * 2 : 1024;
	struct qentry *a = malloc(cap * sizeof(*a));

	if (!a)
		return -ENOMEM;
	for (size_t i = 0; i < r->n; i++)	/* unwrap into the new ring */
		a[i] = r->e[(r->head + i) & (r->cap - 1)];
	free(r->e);
	r->e = a;
	r->head = 0;
	r->cap = cap;
	return 0;
}

/* Queues a copy of H stamped TS. 0, -ENOBUFS (deliver some first) or -ENOMEM. */
static int queue_push(struct queue *q, const struct ps_hdr *h, uint64_t ts)
{
	int i = run_for(q, ts);
	struct ps_hdr *rec;
	struct qentry *e;
	struct qrun *r;

	if (i < 0 && q->nruns == MAX_RUNS)
		return -ENOBUFS;
	r = &q->runs[i < 0 ? q->nruns : (unsigned)i];
	if (i < 0)
		r->head = 0;	/* a reused ring: its old entries are gone */
	if (r->n == r->cap && run_grow(r))
		return -ENOMEM;
	rec = queue_alloc(q, h->size);
	if (!rec)
		return -errno;
	memcpy(rec, h, h->size);
	rec->ts_ns = ts;
	e = &r->e[(r->head + r->n) & (r->cap - 1)];
	e->ts = ts;
	e->seq = q->seq++;
	e->rec = rec;
	r->n++;
	if (i < 0) {
		if (!q->nruns || entry_before(e, run_head(&q->runs[q->min])))
			q->min = q->nruns;
		q->nruns++;
	}
	return 0;
}

static bool queue_empty(const struct queue *q)
{
	return !q->nruns;
}

/* The oldest queued record, taken out of its run. */
static struct ps_hdr *queue_pop(struct queue *q)
{
	struct qrun *r = &q->runs[q->min];
	struct ps_hdr *rec = r->e[r->head].rec;

	r->head = (r->head + 1) & (r->cap - 1);
	if (!--r->n) {	/* drop the run, keep its ring for the next one */
		struct qrun last = q->runs[--q->nruns];

		q->runs[q->nruns] = *r;
		*r = last;
	}
	if (q->nruns)
		find_min(q);
	return rec;
}

static void queue_free(struct queue *q)
{
	struct qblock *b, *next;

	/* blocks still holding records: free each once, through its records */
	while (q->nruns) {
		b = block_of(queue_pop(q));
		if (b != q->cur && !--b->live)
			free(b);
	}
	for (b = q->spare; b; b = next) {
		next = b->next;
		free(b);
	}
	free(q->cur);
	for (unsigned i = 0; i < MAX_RUNS; i++)
		free(q->runs[i].e);
	memset(q, 0, sizeof(*q));
}

/* ---- delivery ---- */

/* Probe records are stamped at reservation; the recorder stamps these itself. */
static bool stamped_by_recorder(unsigned type)
{
	return type == PS_REC_SNAP_TASK || type == PS_REC_SNAP_MAP || type == PS_REC_LOST;
}

static int deliver(struct session *s, const struct ps_hdr *h, const struct session_callbacks *cb)
{
	struct session_event ev = { .h = h };
	int err;

	if (s->until_ns && h->ts_ns > s->until_ns) {
		s->stopped = true;
		return 0;
	}
	err = cb->before ? cb->before(cb->ctx, h) : 0;
	if (err)
		return err;
	err = proc_model__apply(&s->pm, h);
	if (err)
		return err;
	ev.thread = proc_model__resolve(&s->pm, h);
	if (s->sm)
		err = sched_model__apply(s->sm, h, ev.thread);
	if (!err && s->vm)
		err = vm_model__apply(s->vm, h, ev.thread);
	if (!err && s->cm)
		err = coro_model__apply(s->cm, h, ev.thread);
	if (err)
		return err;
	s->last_ns = h->ts_ns;
	s->delivered_any = true;
	s->stats.records++;
	if (cb->record) {
		ev.process = ev.thread ? ev.thread->proc :
			     h->tgid ? proc_model__process(&s->pm, h->tgid) : NULL;
		err = cb->record(cb->ctx, &ev);
		if (err)
			return err;
	}
	/* the final switch-out of a dead thread: nothing of it is needed any more */
	if (s->flags & SESSION_RELEASE && h->type == PS_REC_SWITCH && ev.thread &&
	    sched_model__dead(ev.thread)) {
		if (cb->release)
			cb->release(cb->ctx, ev.thread,
				    proc_model__last_thread(ev.thread) ? ev.thread->proc : NULL);
		sched_model__release_thread(s->sm, ev.thread);
		proc_model__release_thread(&s->pm, ev.thread);
	}
	return 0;
}

/* Delivers the queue's oldest record. */
static int deliver_head(struct session *s, const struct session_callbacks *cb)
{
	struct ps_hdr *rec = queue_pop(&s->q);
	struct qblock *b = block_of(rec);
	int err;

	err = deliver(s, rec, cb);
	if (!--b->live)
		block_release(&s->q, b);
	return err;
}

static bool head_ready(const struct session *s)
{
	const struct queue *q = &s->q;

	if (queue_empty(q))
		return false;
	if (s->eof)
		return true;
	return s->mark_set && s->mark_ns >= SESSION_WINDOW_NS &&
	       run_head(&q->runs[q->min])->ts <= s->mark_ns - SESSION_WINDOW_NS;
}

/*
 * Reads one record into the queue. CB NULL: priming before replay, when
 * nothing may be delivered: -ENOBUFS when the queue is full. 0, 1 at the
 * end of the file, or -errno.
 */
static int read_one(struct session *s, const struct session_callbacks *cb)
{
	const struct ps_hdr *h = trace_reader__next(s->r);
	uint64_t ts;
	int err;

	if (!h) {
		s->eof = true;
		return 1;
	}
	for (;;) {
		/* too late for its place: raised to the last time delivered, never dropped */
		ts = s->delivered_any && h->ts_ns < s->last_ns ? s->last_ns : h->ts_ns;
		err = queue_push(&s->q, h, ts);
		if (err != -ENOBUFS)
			break;
		if (!cb)
			return err;	/* cannot happen: prime() stops short of both bounds */
		s->stats.forced++;
		err = deliver_head(s, cb);
		if (err)
			return err;
	}
	if (err)
		return err;
	if (ts != h->ts_ns) {
		s->stats.late++;
		if (ts - h->ts_ns > s->stats.max_late_ns)
			s->stats.max_late_ns = ts - h->ts_ns;
	}
	if (!stamped_by_recorder(h->type) && (!s->mark_set || h->ts_ns > s->mark_ns)) {
		s->mark_ns = h->ts_ns;
		s->mark_set = true;
	}
	if ((uint64_t)s->q.nblocks * BLOCK_BYTES > s->stats.queue_peak_bytes)
		s->stats.queue_peak_bytes = (uint64_t)s->q.nblocks * BLOCK_BYTES;
	return 0;
}

/*
 * Fills the queue until its oldest record is ready, without delivering:
 * what session__first_ns() needs before replay. Stops one block and one
 * run short of the bounds so that no record read here waits for room.
 */
static int prime(struct session *s)
{
	int err = 0;

	if (s->flags & SESSION_RAW || s->replayed)
		return 0;
	while (!s->eof && !head_ready(s) && s->q.nblocks < MAX_BLOCKS - 1 &&
	       s->q.nruns < MAX_RUNS) {
		err = read_one(s, NULL);
		if (err < 0)
			return err;
	}
	return 0;
}

static int create_models(struct session *s, const struct session_callbacks *cb)
{
	if (s->flags & SESSION_VM) {
		s->vm = vm_model__new(&s->pm, cb->vm);
		if (!s->vm)
			return -errno;
		vm_model__forget_exited(s->vm, s->flags & SESSION_FORGET);
		if (s->flags & SESSION_TRIM_EXITED)
			vm_model__keep_exited(s->vm, s->keep_pid, s->keep_largest);
	}
	if (s->flags & SESSION_CORO) {
		s->cm = coro_model__new(&s->pm, s->vm, cb->coro);
		if (!s->cm)
			return -errno;
	}
	if (s->flags & SESSION_SCHED) {
		s->sm = sched_model__new(&s->pm, cb->sched);
		if (!s->sm)
			return -errno;
		sched_model__forget_dead(s->sm, s->flags & SESSION_FORGET);
	}
	return 0;
}

int session__replay(struct session *s, const struct session_callbacks *cb)
{
	static const struct session_callbacks none;
	int err;

	if (s->replayed)
		return -EALREADY;
	if (!cb)
		cb = &none;
	s->replayed = true;
	err = create_models(s, cb);
	if (err)
		return err;
	if (s->flags & SESSION_RAW) {
		struct session_event ev = {};

		/* records as stored: no models, nothing resolved */
		while ((ev.h = trace_reader__next(s->r))) {
			s->stats.records++;
			if (ev.h->ts_ns > s->last_ns)
				s->last_ns = ev.h->ts_ns;
			err = cb->record ? cb->record(cb->ctx, &ev) : 0;
			if (err)
				return err;
		}
		s->eof = true;
	} else {
		while (!s->stopped) {
			while (!s->stopped && head_ready(s)) {
				err = deliver_head(s, cb);
				if (err)
					return err;
			}
			if (s->eof || s->stopped)
				break;
			err = read_one(s, cb);
			if (err < 0)
				return err;
		}
	}
	if (s->sm)
		sched_model__finish(s->sm, s->stopped ? s->until_ns : session__end_ns(s));
	if (s->cm)
		coro_model__finish(s->cm, s->stopped ? s->until_ns : session__end_ns(s));
	if (s->stats.late || s->stats.forced)
		ps_dbg("%s: %llu records more than %llu ms out of time order (up to %.3f ms) and %llu "
		       "released early by a full queue: placed at the last time replayed", s->path,
		       (unsigned long long)s->stats.late, SESSION_WINDOW_NS / 1000000,
		       s->stats.max_late_ns / 1e6, (unsigned long long)s->stats.forced);
	return 0;
}

/* ---- opening, time, the end ---- */

struct session *session__open(const char *path, const struct session_opts *opts)
{
	struct session *s = calloc(1, sizeof(*s));
	struct ps_footer tail;
	int err;

	if (!s)
		return NULL;
	s->path = strdup(path);
	if (!s->path) {
		free(s);
		errno = ENOMEM;
		return NULL;
	}
	s->r = trace_reader__open(path);
	if (!s->r) {
		err = errno;
		free(s->path);
		free(s);
		errno = err;
		return NULL;
	}
	if (opts && (opts->flags & SESSION_QUIET))
		trace_reader__set_quiet(s->r, true);
	s->flags = opts ? opts->flags : 0;
	if (opts) {
		s->keep_pid = opts->keep_pid;
		s->keep_largest = opts->keep_largest;
	}
	if (s->flags & SESSION_CORO)
		s->flags |= SESSION_VM;	/* stack pointers are placed in the address space */
	/* deaths are the scheduling model's to see; other models keep nothing of the dead when forgetting */
	if ((s->flags & (SESSION_SCHED | SESSION_FORGET | SESSION_CORO)) != (SESSION_SCHED | SESSION_FORGET))
		s->flags &= ~SESSION_RELEASE;
	s->zero_ns = trace_reader__header(s->r)->start_ns;
	/* the end before any record is read: the footer at the file's tail (one small read) */
	if (!trace_reader__tail_footer(s->r, &tail)) {
		s->end_ns = tail.end_ns;
		s->end_known = true;
	}
	proc_model__init(&s->pm);
	return s;
}

void session__free(struct session *s)
{
	if (!s)
		return;
	queue_free(&s->q);
	sched_model__free(s->sm);
	coro_model__free(s->cm);
	vm_model__free(s->vm);
	proc_model__free(&s->pm);
	trace_reader__free(s->r);
	free(s->path);
	free(s);
}

void session__set_until(struct session *s, uint64_t abs_ns)
{
	s->until_ns = abs_ns;
}

const struct ps_file_header *session__header(const struct session *s)
{
	return trace_reader__header(s->r);
}

const char *session__path(const struct session *s)
{
	return s->path;
}

const char *session__cmdline(const struct session *s)
{
	return trace_reader__cmdline(s->r);
}

const char *session__targets(const struct session *s)
{
	return trace_reader__targets(s->r);
}

const char *session__hostname(const struct session *s)
{
	return trace_reader__hostname(s->r);
}

const char *session__boot_id(const struct session *s)
{
	return trace_reader__boot_id(s->r);
}

uint64_t session__time_zero(const struct session *s)
{
	return s->zero_ns;
}

uint64_t session__abs_ns(const struct session *s, uint64_t rel_ns)
{
	if (rel_ns == UINT64_MAX || rel_ns > UINT64_MAX - s->zero_ns)
		return UINT64_MAX;
	return s->zero_ns + rel_ns;
}

double session__sec(const struct session *s, uint64_t abs_ns)
{
	return abs_ns >= s->zero_ns ? (abs_ns - s->zero_ns) / 1e9 : -((s->zero_ns - abs_ns) / 1e9);
}

/* A cut-short file: the last record's time, from a pass of its own (no models). */
static uint64_t scan_end(const struct session *s)
{
	struct trace_reader *r = trace_reader__open(s->path);
	const struct ps_hdr *h;
	uint64_t end = 0;

	if (!r)
		return 0;
	trace_reader__set_quiet(r, true);
	while ((h = trace_reader__next(r)))
		if (h->ts_ns > end)
			end = h->ts_ns;
	if (trace_reader__footer(r) && trace_reader__footer(r)->end_ns > end)
		end = trace_reader__footer(r)->end_ns;
	trace_reader__free(r);
	return end;
}

uint64_t session__end_ns(struct session *s)
{
	const struct ps_footer *f;

	if (s->replayed && s->eof && !s->stopped) {
		f = trace_reader__footer(s->r);
		s->end_ns = f && f->end_ns > s->last_ns ? f->end_ns : s->last_ns;
		s->end_known = true;
	} else if (!s->end_known) {
		s->end_ns = scan_end(s);	/* no footer at the tail: a cut-short file */
		s->end_known = true;
	}
	return s->end_ns;
}

uint64_t session__first_ns(struct session *s)
{
	if (s->delivered_any || s->replayed)
		return s->pm.records ? s->pm.first_ns : 0;
	if (s->flags & SESSION_RAW || prime(s) || queue_empty(&s->q))
		return 0;
	return run_head(&s->q.runs[s->q.min])->ts;
}

const struct ps_footer *session__footer(const struct session *s)
{
	return trace_reader__footer(s->r);
}

const struct trace_reader_stats *session__reader_stats(const struct session *s)
{
	return trace_reader__stats(s->r);
}

const struct session_stats *session__stats(const struct session *s)
{
	return &s->stats;
}

struct proc_model *session__procs(struct session *s)
{
	return &s->pm;
}

struct vm_model *session__vm(struct session *s)
{
	return s->vm;
}

struct sched_model *session__sched(struct session *s)
{
	return s->sm;
}

struct coro_model *session__coro(struct session *s)
{
	return s->cm;
}
