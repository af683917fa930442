/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Inside the HTML export: what export_html.c (the page, regions, counters,
 * memory calls, processes) and export_html_lanes.c (thread lanes) share:
 * the time grid, the output and the buffered number lists. The page's
 * records are described in export_html.c.
 */
#ifndef PROCSCOPE_EXPORT_HTML_H
#define PROCSCOPE_EXPORT_HTML_H

#include <stdbool.h>
#include <stdint.h>
#include "export.h"
#include "json_writer.h"
#include "sched_model.h"
#include "stack_model.h"
#include "vm_model.h"

#define HTML_COLS	1024	/* pixel columns of the time axis, slider stops */
#define HTML_CHUNK	240	/* numbers per buffered record, at most */
#define HTML_CALLS_PER_COL	4	/* memory calls kept whole per process and column */

/* Numbers waiting to go out as one record: grows from 8 to HTML_CHUNK. */
struct hx_buf {
	int64_t *v;
	unsigned n, cap;
};

struct hx_name;

enum { S_HEAP, S_ANON, S_STACK, S_TSTACK, S_RSS, NSERIES };

/* One counter series of a process, folded per column. */
struct hx_series {
	int64_t col;		/* column being folded, -1 none */
	uint64_t t[4], v[4];	/* first, lowest, highest, last */
	bool pre;		/* a value before the window */
	uint64_t pre_v;
	struct hx_buf out;
};

/* A region as the page draws it: one of the model's, or a run of them folded into one band. */
struct hx_region {
	struct vm_region r;
	uint32_t pieces;	/* model regions in it: 1, or a folded run's length */
	uint64_t mapped;	/* bytes mapped in [r.start, r.end) */
	uint64_t opened_ns;
	uint32_t id;		/* the version's number in the page */
	bool inherited;		/* the parent's version, copied at fork ("F") */
	bool referenced;	/* a child inherited it: written whatever the slider sees */
};

struct hx_proc {
	uint32_t uid;
	uint32_t pid;
	uint64_t gen;		/* vm_model__generation() when last looked at */
	uint64_t first_ns;	/* its first layout */
	uint64_t changed_ns;	/* its layout's last change not yet compared */
	bool dirty;		/* changed since its open versions were compared */
	bool listed;		/* in x->dirty */
	bool exited;		/* its last thread exited: the layout is final */
	struct hx_region *open;	/* versions alive now, sorted by start */
	size_t nopen, cap;
	struct hx_series s[NSERIES];
	int64_t call_col;	/* column of the calls counted below */
	uint32_t call_n;
	/* the last calls written whole: a stack that comes for one is written too */
	uint64_t kept_ts[HTML_CALLS_PER_COL];
	uint32_t kept_tid[HTML_CALLS_PER_COL];
	unsigned kept_next;
};

struct html {
	struct export_ctx *c;
	struct sched_callbacks scb;
	struct vm_callbacks vcb;
	FILE *data;		/* c->out through the '<' escaper */
	struct json_writer w;
	uint64_t lo, hi, col_ns;	/* the grid: [lo, hi], HTML_COLS columns */
	struct idmap procs;	/* ps_process pointer -> hx_proc */
	struct idmap threads;	/* ps_thread pointer -> hx_thread (export_html_lanes.c) */
	struct idmap paths;	/* interned path pointer -> index + 1 */
	uint32_t npaths, nuids;	/* uids: processes and threads alike */
	uint32_t nversions;	/* region versions numbered */
	struct hx_region *cur;	/* scratch: the model's regions of one process */
	size_t ncur, curcap;
	struct hx_region *next;	/* scratch: the next open list */
	size_t nextcap;
	struct hx_proc **dirty;	/* processes whose layout changed since the last stop */
	size_t ndirty, dirtycap;
	uint64_t next_stop;	/* the next slider stop's time */
	/* without --pid on a busy session: which processes are drawn (export_html.c) */
	bool *full;		/* by index in the process model's order; NULL: all */
	size_t nfull;		/* entries of full */
	size_t nindexed;	/* processes of this replay looked up in full so far */
	struct idmap drawn;	/* ps_process pointer -> 1: drawn */
	struct hx_name *names;	/* the others, by name */
	size_t nnames;
	uint64_t summarised, summarised_records;
	/* --stacks: memory calls' stacks (export_html_calls.c) */
	struct stack_model *sm;
	struct stack_callbacks stcb;
	struct idmap stacks_out;	/* stack id + 1 -> 1: written */
	bool oom;
};

/* TS in grid time: ns from the grid's start. */
static inline int64_t html__rel(const struct html *x, uint64_t ts)
{
	return (int64_t)(ts - x->lo);
}

/* The pixel column of TS; before and after the grid: the first and last. */
static inline int64_t html__col_of(const struct html *x, uint64_t ts)
{
	uint64_t c;

	if (ts <= x->lo)
		return 0;
	c = (ts - x->lo) / x->col_ns;
	return c < HTML_COLS ? (int64_t)c : HTML_COLS - 1;
}

/* P's state in the page, made on first use; NULL without memory (x->oom). */
struct hx_proc *html__proc(struct html *x, const struct ps_process *p);

/* Memory calls and execs (export_html_calls.c). */
void html_calls__call(struct html *x, const struct session_event *ev);
void html_calls__exec(struct html *x, const struct session_event *ev);
/* The count of calls not kept in HP's last column goes out. */
void html_calls__flush(struct html *x, struct hx_proc *hp);
/* With --stacks: the stack model, fed by html_calls__stack_apply(). 0 or -errno. */
int html_calls__stacks_begin(struct html *x);
int html_calls__stack_apply(struct html *x, const struct session_event *ev);
void html_calls__stacks_free(struct html *x);

/* Which processes are drawn (export_html_procs.c). */
/*
 * First pass (without --pid, on a file): the process tree alone, to rank
 * processes by records. 0 or -errno; x->full stays NULL when all are drawn.
 */
int html_procs__pick(struct html *x);
/* Is P drawn in the page (--pid, and the busiest-processes cap)? */
bool html__want(struct html *x, const struct ps_process *p);
/* The header's fields about the processes not drawn, if any. */
void html_procs__header(struct html *x);

/* Writes [TAG, UID, (HEAD,) [numbers]] and empties B; nothing if B is empty. */
void html__buf_flush(struct html *x, struct hx_buf *b, const char *tag, uint32_t uid,
		     int64_t head, bool has_head);
/*
 * Room for K more numbers in B: false when B is full (flush it) or, with
 * x->oom set, when there is no memory.
 */
bool html__buf_room(struct html *x, struct hx_buf *b, unsigned k);
void html__buf_release(struct hx_buf *b);

/* Thread lanes (export_html_lanes.c). */
void html_lanes__interval(void *ctx, const struct sched_interval *iv);	/* sched callback */
void html_lanes__stack_depth(void *ctx, const struct ps_thread *t, uint64_t ts, uint64_t depth);
void html_lanes__wakeup(struct html *x, const struct ps_wakeup *r);
/* T exited: its marks go out (its last switch-out may still add to its lane). */
void html_lanes__exit(struct html *x, const struct ps_thread *t);
/* T's lane is complete (its last switch-out, or the end): all it holds goes out. */
void html_lanes__done(struct html *x, const struct ps_thread *t);
/* T's uid (its lane's name in the page), done first; -1 without memory. */
int64_t html_lanes__finish(struct html *x, const struct ps_thread *t);
void html_lanes__free(struct html *x);

#endif
