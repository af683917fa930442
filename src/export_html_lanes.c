// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Thread lanes of the HTML page: per thread, its state intervals from the
 * scheduling model as contiguous items ["L", uid, start, [code, dur, ...]]:
 * an interval at least a pixel column long as it is (code: the state, for
 * running | (cpu + 1) << 3), shorter ones summed into one mixed item per
 * column (code 7, dur, then the ns running, runnable and blocked in it), so
 * that running time sums exactly while a busy thread costs at most a few
 * items per column. Wakeups go out per column as their first time and
 * count, stack depth (at switch-outs) as its lowest and highest.
 * Memory: a few numbers per thread seen, and buffers while it lives.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "export_html.h"

#define LANE_MIXED	7

struct hx_thread {
	uint32_t uid;
	uint64_t lane_end;	/* end of the last lane item written */
	bool mix;		/* a mixed item is being summed */
	int64_t mix_col;
	uint64_t mix_start, mix_end, mix_ns[3];	/* running, runnable, blocked */
	struct hx_buf lane;	/* items of the current "L" record */
	uint64_t lane_start;
	int64_t wake_col;
	uint64_t wake_t;
	uint32_t wake_n;
	struct hx_buf wake;
	int64_t depth_col;
	uint64_t depth_min, depth_max;
	struct hx_buf depth;
};

static struct hx_thread *thread_of(struct html *x, const struct ps_thread *t)
{
	struct hx_thread *ht = idmap__get(&x->threads, (uintptr_t)t);

	if (ht)
		return ht;
	ht = calloc(1, sizeof(*ht));
	if (!ht || idmap__set(&x->threads, (uintptr_t)t, ht)) {
		free(ht);
		x->oom = true;
		return NULL;
	}
	ht->uid = x->nuids++;
	ht->mix_col = ht->wake_col = ht->depth_col = -1;
	return ht;
}

/* The thread TID of process TGID as the model knows it now, NULL if not that one. */
static const struct ps_thread *find_thread(const struct html *x, uint32_t tid, uint32_t tgid)
{
	const struct ps_thread *t = proc_model__thread(x->c->pm, tid);

	return t && t->tgid == tgid ? t : NULL;
}

static void lane_item(struct html *x, struct hx_thread *ht, uint64_t start, uint64_t end,
		      const int64_t *v, unsigned k)
{
	/* an item starts where the last ended; a gap starts a new record */
	if (ht->lane.n && start != ht->lane_end)
		html__buf_flush(x, &ht->lane, "L", ht->uid, html__rel(x, ht->lane_start), true);
	if (!html__buf_room(x, &ht->lane, k)) {
		if (x->oom)
			return;
		html__buf_flush(x, &ht->lane, "L", ht->uid, html__rel(x, ht->lane_start), true);
	}
	if (!ht->lane.n)
		ht->lane_start = start;
	memcpy(ht->lane.v + ht->lane.n, v, k * sizeof(*v));
	ht->lane.n += k;
	ht->lane_end = end;
}

static void mix_flush(struct html *x, struct hx_thread *ht)
{
	int64_t v[5];

	if (!ht->mix)
		return;
	v[0] = LANE_MIXED;
	v[1] = ht->mix_end - ht->mix_start;
	v[2] = ht->mix_ns[0];
	v[3] = ht->mix_ns[1];
	v[4] = ht->mix_ns[2];
	lane_item(x, ht, ht->mix_start, ht->mix_end, v, 5);
	ht->mix = false;
}

void html_lanes__interval(void *ctx, const struct sched_interval *iv)
{
	struct html *x = ctx;
	uint64_t start = iv->start_ns, end = iv->end_ns;
	const struct ps_thread *t;
	struct hx_thread *ht;
	int64_t col;

	if (iv->state == TS_DEAD || !export__want_pid(x->c, iv->tgid))
		return;
	t = find_thread(x, iv->tid, iv->tgid);
	if (!t || !html__want(x, t->proc))
		return;
	if (start < x->lo)
		start = x->lo;
	if (end > x->hi)
		end = x->hi;
	if (start >= end || !export__clip(x->c, &start, &end))
		return;
	ht = thread_of(x, t);
	if (!ht)
		return;
	if (end - start >= x->col_ns) {
		int64_t v[2] = { iv->state, end - start };

		if (iv->state == TS_RUNNING && iv->cpu >= 0)
			v[0] |= (int64_t)(iv->cpu + 1) << 3;
		mix_flush(x, ht);
		lane_item(x, ht, start, end, v, 2);
		return;
	}
	/* shorter than a pixel column: summed into the column's mixed item */
	col = html__col_of(x, start);
	if (ht->mix && (col != ht->mix_col || start != ht->mix_end))
		mix_flush(x, ht);
	if (!ht->mix) {
		ht->mix = true;
		ht->mix_col = col;
		ht->mix_start = start;
		memset(ht->mix_ns, 0, sizeof(ht->mix_ns));
	}
	ht->mix_end = end;
	if (iv->state == TS_RUNNING)
		ht->mix_ns[0] += end - start;
	else if (iv->state == TS_RUNNABLE)
		ht->mix_ns[1] += end - start;
	else if (iv->state == TS_BLOCKED)
		ht->mix_ns[2] += end - start;
}

static void wake_flush(struct html *x, struct hx_thread *ht)
{
	if (ht->wake_col < 0)
		return;
	if (!html__buf_room(x, &ht->wake, 2)) {
		if (x->oom)
			return;
		html__buf_flush(x, &ht->wake, "W", ht->uid, 0, false);
	}
	ht->wake.v[ht->wake.n++] = html__rel(x, ht->wake_t);
	ht->wake.v[ht->wake.n++] = ht->wake_n;
	ht->wake_col = -1;
}

void html_lanes__wakeup(struct html *x, const struct ps_wakeup *r)
{
	const struct ps_thread *t;
	struct hx_thread *ht;
	int64_t col;

	if (!export__want_pid(x->c, r->woken_tgid) || !export__want_ts(x->c, r->h.ts_ns) ||
	    r->h.ts_ns < x->lo || r->h.ts_ns > x->hi)
		return;
	t = find_thread(x, r->woken_tid, r->woken_tgid);
	if (!t || !html__want(x, t->proc) || !(ht = thread_of(x, t)))
		return;
	col = html__col_of(x, r->h.ts_ns);
	if (col != ht->wake_col) {
		wake_flush(x, ht);
		ht->wake_col = col;
		ht->wake_t = r->h.ts_ns;
		ht->wake_n = 0;
	}
	ht->wake_n++;
}

static void depth_flush(struct html *x, struct hx_thread *ht)
{
	if (ht->depth_col < 0)
		return;
	if (!html__buf_room(x, &ht->depth, 3)) {
		if (x->oom)
			return;
		html__buf_flush(x, &ht->depth, "K", ht->uid, 0, false);
	}
	ht->depth.v[ht->depth.n++] = ht->depth_col;
	ht->depth.v[ht->depth.n++] = ht->depth_min;
	ht->depth.v[ht->depth.n++] = ht->depth_max;
	ht->depth_col = -1;
}

void html_lanes__stack_depth(void *ctx, const struct ps_thread *t, uint64_t ts, uint64_t depth)
{
	struct html *x = ctx;
	struct hx_thread *ht;
	int64_t col;

	if (!html__want(x, t->proc) || !export__want_ts(x->c, ts) || ts < x->lo || ts > x->hi)
		return;
	ht = thread_of(x, t);
	if (!ht)
		return;
	col = html__col_of(x, ts);
	if (col != ht->depth_col) {
		depth_flush(x, ht);
		ht->depth_col = col;
		ht->depth_min = ht->depth_max = depth;
	}
	if (depth < ht->depth_min)
		ht->depth_min = depth;
	if (depth > ht->depth_max)
		ht->depth_max = depth;
}

/* Everything a thread still holds goes out; its buffers are freed. */
static void thread_flush(struct html *x, struct hx_thread *ht)
{
	mix_flush(x, ht);
	html__buf_flush(x, &ht->lane, "L", ht->uid, html__rel(x, ht->lane_start), true);
	wake_flush(x, ht);
	html__buf_flush(x, &ht->wake, "W", ht->uid, 0, false);
	depth_flush(x, ht);
	html__buf_flush(x, &ht->depth, "K", ht->uid, 0, false);
	html__buf_release(&ht->lane);
	html__buf_release(&ht->wake);
	html__buf_release(&ht->depth);
}

void html_lanes__exit(struct html *x, const struct ps_thread *t)
{
	struct hx_thread *ht = idmap__get(&x->threads, (uintptr_t)t);

	if (ht) {
		wake_flush(x, ht);
		depth_flush(x, ht);
	}
}

void html_lanes__done(struct html *x, const struct ps_thread *t)
{
	struct hx_thread *ht = idmap__get(&x->threads, (uintptr_t)t);

	if (ht)
		thread_flush(x, ht);
}

int64_t html_lanes__finish(struct html *x, const struct ps_thread *t)
{
	struct hx_thread *ht = thread_of(x, t);

	if (!ht)
		return -1;
	thread_flush(x, ht);
	return ht->uid;
}

void html_lanes__free(struct html *x)
{
	for (size_t i = 0; i < x->threads.cap; i++) {
		struct hx_thread *ht = x->threads.vals[i];

		if (!ht)
			continue;
		html__buf_release(&ht->lane);
		html__buf_release(&ht->wake);
		html__buf_release(&ht->depth);
		free(ht);
	}
	idmap__free(&x->threads);
}
