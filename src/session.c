// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The replay core (session.h): the reorder queue, time zero, the models in
 * their fixed order, and each record resolved to its thread once.
 *
 * The queue: record copies are appended to BLOCK_BYTES blocks; a sorted
 * array of (timestamp, record) entries says the delivery order. A new
 * record almost always belongs at the array's end, so the place is found
 * by looking back from the end (a binary search past SCAN_BACK entries)
 * and what follows is moved up: O(1) per record on a nearly sorted file.
 * A block is reused once every record in it was delivered; blocks are
 * aligned to their size, so a record's block is found from its address.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "session.h"
#include "util.h"

#define BLOCK_BYTES	(256u << 10)	/* > the largest record (hdr.size is 16 bits) */
#define MAX_BLOCKS	(SESSION_QUEUE_BYTES / BLOCK_BYTES)
#define SPARE_BLOCKS	2	/* kept for reuse instead of freed */
#define SCAN_BACK	16	/* entries compared one by one before bisecting */

struct qblock {
	struct qblock *next;	/* spare list */
	uint32_t used;		/* bytes handed out, from data[0] */
	uint32_t live;		/* records in it not yet delivered */
	uint64_t data[];	/* 8-byte aligned records */
};

struct qentry {
	uint64_t ts;
	struct ps_hdr *rec;
};

struct queue {
	struct qentry *e;	/* sorted by ts, then arrival: [head, tail) */
	size_t head, tail, cap;
	struct qblock *cur;	/* being filled */
	struct qblock *spare;
	unsigned nspare;
	unsigned nblocks;	/* allocated, spares included */
};

struct session {
	char *path;
	struct trace_reader *r;
	unsigned flags;
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

/* Index of the first entry later than TS: ties keep arrival order. */
static size_t queue_place(const struct queue *q, uint64_t ts)
{
	size_t lo = q->head, hi = q->tail, stop;

	stop = hi - lo > SCAN_BACK ? hi - SCAN_BACK : lo;
	while (hi > stop && q->e[hi - 1].ts > ts)
		hi--;
	if (hi > stop || hi == lo || q->e[hi - 1].ts <= ts)
		return hi;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (q->e[mid].ts > ts)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static int queue_grow(struct queue *q)
{
	struct qentry *a;
	size_t cap;

	if (q->head > q->cap / 4) {	/* room at the front: slide down, amortised O(1) */
		memmove(q->e, q->e + q->head, (q->tail - q->head) * sizeof(*q->e));
		q->tail -= q->head;
		q->head = 0;
		return 0;
	}
	cap = q->cap ? q->cap * 2 : 4096;
	a = realloc(q->e, cap * sizeof(*a));
	if (!a)
		return -ENOMEM;
	q->e = a;
	q->cap = cap;
	return 0;
}

/* Queues a copy of H stamped TS. 0, -ENOBUFS (deliver some first) or -ENOMEM. */
static int queue_push(struct queue *q, const struct ps_hdr *h, uint64_t ts)
{
	struct ps_hdr *rec;
	size_t at;

	if (q->tail == q->cap && queue_grow(q))
		return -ENOMEM;
	rec = queue_alloc(q, h->size);
	if (!rec)
		return -errno;
	memcpy(rec, h, h->size);
	rec->ts_ns = ts;
	at = queue_place(q, ts);
	if (at < q->tail)
		memmove(q->e + at + 1, q->e + at, (q->tail - at) * sizeof(*q->e));
	q->e[at].ts = ts;
	q->e[at].rec = rec;
	q->tail++;
	return 0;
}

static bool queue_empty(const struct queue *q)
{
	return q->head == q->tail;
}

static void queue_free(struct queue *q)
{
	struct qblock *b, *next;

	for (b = q->spare; b; b = next) {
		next = b->next;
		free(b);
	}
	free(q->cur);
	free(q->e);
	/* blocks still holding records: each is found through its entries */
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
	err = proc_model__apply(&s->pm, h);
	if (!err && s->sm)
		err = sched_model__apply(s->sm, h);
	if (!err && s->vm)
		err = vm_model__apply(s->vm, h);
	if (err)
		return err;
	s->last_ns = h->ts_ns;
	s->delivered_any = true;
	s->stats.records++;
	if (!cb->record)
		return 0;
	if (h->tid) {
		ev.thread = proc_model__thread(&s->pm, h->tid);
		if (ev.thread && ev.thread->tgid != h->tgid)
			ev.thread = NULL;
	}
	ev.process = ev.thread ? ev.thread->proc :
		     h->tgid ? proc_model__process(&s->pm, h->tgid) : NULL;
	return cb->record(cb->ctx, &ev);
}

/* Delivers the queue's oldest record. */
static int deliver_head(struct session *s, const struct session_callbacks *cb)
{
	struct queue *q = &s->q;
	struct ps_hdr *rec = q->e[q->head].rec;
	struct qblock *b = block_of(rec);
	int err;

	q->head++;
	err = deliver(s, rec, cb);
	if (!--b->live)
		block_release(q, b);
	if (q->head == q->tail)
		q->head = q->tail = 0;
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
	       q->e[q->head].ts <= s->mark_ns - SESSION_WINDOW_NS;
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
	ts = h->ts_ns;
	if (s->delivered_any && ts < s->last_ns) {
		/* too late for its place: raised to the last time delivered, never dropped */
		s->stats.late++;
		if (s->last_ns - ts > s->stats.max_late_ns)
			s->stats.max_late_ns = s->last_ns - ts;
		ts = s->last_ns;
	}
	while ((err = queue_push(&s->q, h, ts)) == -ENOBUFS) {
		if (!cb)
			return err;	/* cannot happen: prime() stops a block short of the bound */
		s->stats.forced++;
		err = deliver_head(s, cb);
		if (err)
			return err;
	}
	if (err)
		return err;
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
 * what session__first_ns() needs before replay. Stops one block short of
 * the bound so that no record read here ever has to wait for room.
 */
static int prime(struct session *s)
{
	int err = 0;

	if (s->flags & SESSION_RAW || s->replayed)
		return 0;
	while (!s->eof && !head_ready(s) && s->q.nblocks < MAX_BLOCKS - 1) {
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
	s->flags = opts ? opts->flags : 0;
	s->zero_ns = trace_reader__header(s->r)->start_ns;
	proc_model__init(&s->pm);
	return s;
}

void session__free(struct session *s)
{
	if (!s)
		return;
	/* queued records live in blocks reachable from the entries: free each block once */
	for (size_t i = s->q.head; i < s->q.tail; i++) {
		struct qblock *b = block_of(s->q.e[i].rec);

		if (b != s->q.cur && !--b->live)
			free(b);
	}
	queue_free(&s->q);
	sched_model__free(s->sm);
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
		s->end_ns = scan_end(s);
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
	return s->q.e[s->q.head].ts;
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
