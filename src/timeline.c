// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * procscope timeline: a terminal picture of the scheduling model, one row
 * per thread (or per CPU with --cpus), one column per time slice. Each
 * cell shows the state that took most of its slice. One replay paints the
 * cells from the model's intervals (the span comes from the session before
 * it), so memory is rows x columns whatever the length. Coroutine stacks
 * (coro_model) get a row each, after the threads of their process in
 * order of appearance: when some thread was on the stack.
 */
#include <argp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "commands.h"
#include "coro_model.h"
#include "idmap.h"
#include "proc_model.h"
#include "sched_model.h"
#include "session.h"
#include "util.h"

#define LABEL_W		24	/* row label columns, separator included */
#define MAX_ROWS	4096

static struct {
	const char *input;
	long pid;
	const char *from, *to;
	bool cpus;
	int width;
} env = { .input = "procscope.data" };

enum { OPT_FROM = 0x100, OPT_TO };

static const struct argp_option opts[] = {
	{ "input", 'i', "FILE", 0, "Session file (default ./procscope.data)", 0 },
	{ "pid", 'p', "PID", 0, "Only the threads of this process", 0 },
	/* time options have no short form: -t and -f meant different things in different verbs */
	{ "from", OPT_FROM, "TIME", 0, "Start, from the recording's start: 1.5, 200ms, 2s (default 0)", 0 },
	{ "to", OPT_TO, "TIME", 0, "End, same units, or \"end\" (default)", 0 },
	{ "cpus", 'c', NULL, 0, "One row per CPU instead of per thread", 0 },
	{ "width", 'w', "COLS", 0, "Total width in columns (default $COLUMNS or 80)", 0 },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	char *end;
	long w;

	switch (key) {
	case 'i':
		env.input = arg;
		break;
	case 'p':
		if (ps_parse_pid(arg, &env.pid))
			argp_error(state, "invalid PID '%s'", arg);
		break;
	case OPT_FROM:
		env.from = arg;
		break;
	case OPT_TO:
		env.to = arg;
		break;
	case 'c':
		env.cpus = true;
		break;
	case 'w':
		/* checked as a long: 2^32 + 100 must not pass as 100 */
		errno = 0;
		w = strtol(arg, &end, 10);
		if (errno || end == arg || *end || w < LABEL_W + 10 || w > 4096)
			argp_error(state, "invalid width '%s' (%d..4096)", arg, LABEL_W + 10);
		env.width = w;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* ns of each state (threads) or of each occupant class (CPUs) per cell */
struct row {
	uint32_t tid, tgid;	/* thread rows; cpu rows: tid = cpu */
	const struct coro_stack *coro;	/* coroutine rows: the stack; ns[][TS_RUNNING] = on it */
	uint64_t (*ns)[TS_MAX];
	uint32_t *top_tid;	/* cpu rows: the thread that took most of the cell */
	uint64_t *top_ns;
};

struct paint {
	uint64_t from, to;	/* absolute ns */
	int cols;
	const struct proc_model *pm;
	struct idmap rows_by_key;
	struct row *rows;
	size_t nrows, cap;
	int err;
};

static struct row *get_row(struct paint *pt, uint64_t key, uint32_t tid, uint32_t tgid)
{
	struct row *r;
	uintptr_t idx = (uintptr_t)idmap__get(&pt->rows_by_key, key);

	if (idx)
		return &pt->rows[idx - 1];
	if (pt->nrows >= MAX_ROWS)
		return NULL;
	if (pt->nrows == pt->cap) {
		size_t cap = pt->cap ? pt->cap * 2 : 32;
		struct row *a = realloc(pt->rows, cap * sizeof(*a));

		if (!a)
			goto nomem;
		pt->rows = a;
		pt->cap = cap;
	}
	r = &pt->rows[pt->nrows];
	memset(r, 0, sizeof(*r));
	r->tid = tid;
	r->tgid = tgid;
	r->ns = calloc(pt->cols, sizeof(*r->ns));
	r->top_tid = calloc(pt->cols, sizeof(*r->top_tid));
	r->top_ns = calloc(pt->cols, sizeof(*r->top_ns));
	if (!r->ns || !r->top_tid || !r->top_ns ||
	    idmap__set(&pt->rows_by_key, key, (void *)(uintptr_t)(pt->nrows + 1))) {
		free(r->ns);
		free(r->top_tid);
		free(r->top_ns);
		goto nomem;
	}
	pt->nrows++;
	return r;
nomem:
	pt->err = -ENOMEM;
	return NULL;
}

/* Adds [start, end) to the cells it overlaps; CB(cell, ns) does the adding. */
static void spread(const struct paint *pt, uint64_t start, uint64_t end,
		   void (*cb)(void *arg, int cell, uint64_t ns), void *arg)
{
	double span = (double)(pt->to - pt->from);

	if (end <= pt->from || start >= pt->to || end <= start)
		return;
	if (start < pt->from)
		start = pt->from;
	if (end > pt->to)
		end = pt->to;
	for (int c = (int)((start - pt->from) / span * pt->cols); c < pt->cols; c++) {
		uint64_t cs = pt->from + (uint64_t)(span * c / pt->cols);
		uint64_t ce = pt->from + (uint64_t)(span * (c + 1) / pt->cols);
		uint64_t s = start > cs ? start : cs, e = end < ce ? end : ce;

		if (cs >= end)
			break;
		if (e > s)
			cb(arg, c, e - s);
	}
}

struct add_ctx {
	struct row *row;
	int state;
	uint32_t tid;
};

static void add_state(void *arg, int cell, uint64_t ns)
{
	struct add_ctx *a = arg;

	a->row->ns[cell][a->state] += ns;
	/* cpu rows: remember the thread (tid+1, 0 = idle/other) that ran most */
	if (a->tid && ns > a->row->top_ns[cell]) {
		a->row->top_ns[cell] = ns;
		a->row->top_tid[cell] = a->tid;
	}
}

static void on_interval(void *ctx, const struct sched_interval *iv)
{
	struct paint *pt = ctx;
	struct add_ctx a = { .state = iv->state };

	if (env.cpus || (env.pid && iv->tgid != env.pid))
		return;
	a.row = get_row(pt, (uint64_t)iv->tgid << 32 | iv->tid, iv->tid, iv->tgid);
	if (a.row)
		spread(pt, iv->start_ns, iv->end_ns, add_state, &a);
}

static void on_coro_segment(void *ctx, const struct coro_segment *seg)
{
	struct paint *pt = ctx;
	struct add_ctx a = { .state = TS_RUNNING };

	if (env.cpus || (env.pid && seg->tgid != env.pid))
		return;
	a.row = get_row(pt, 1ull << 63 | (uint64_t)seg->tgid << 24 | seg->stack->id, seg->tid,
			seg->tgid);
	if (!a.row)
		return;
	a.row->coro = seg->stack;
	spread(pt, seg->start_ns, seg->end_ns, add_state, &a);
}

/* CPU rows reuse the state slots: RUNNING = a traced thread, SLEEPING = idle, UNKNOWN = other */
static void on_cpu_interval(void *ctx, const struct sched_cpu_interval *iv)
{
	struct paint *pt = ctx;
	struct add_ctx a = { .state = TS_UNKNOWN };

	if (!env.cpus)
		return;
	if (!iv->tid)
		a.state = TS_SLEEPING;
	else if ((!env.pid || iv->tgid == env.pid) && proc_model__thread(pt->pm, iv->tid) &&
		 proc_model__thread(pt->pm, iv->tid)->tgid == iv->tgid)
		a.state = TS_RUNNING;
	a.tid = a.state == TS_RUNNING ? iv->tid : 0;
	a.row = get_row(pt, iv->cpu, iv->cpu, 0);
	if (a.row)
		spread(pt, iv->start_ns, iv->end_ns, add_state, &a);
}

static const char state_char[TS_MAX] = {
	[TS_UNKNOWN] = '?', [TS_RUNNING] = '#', [TS_RUNNABLE] = 'r', [TS_SLEEPING] = '-',
	[TS_BLOCKED] = 'D', [TS_STOPPED] = 'T', [TS_DEAD] = ' ',
};

static char thread_cell(const uint64_t *ns)
{
	/* ties go to the more telling state: running, runnable, blocked, ... */
	static const int prio[] = { TS_RUNNING, TS_RUNNABLE, TS_BLOCKED, TS_STOPPED,
				    TS_SLEEPING, TS_UNKNOWN };
	uint64_t total = 0;
	int best = -1;

	for (int i = 0; i < TS_MAX; i++)
		total += ns[i];
	/* a slice wider than the thread's time slices: say it ran part of it */
	if (ns[TS_RUNNING] * 10 >= total * 6 && total)
		return '#';
	if (ns[TS_RUNNING])
		return '~';
	for (size_t i = 0; i < PS_ARRAY_SIZE(prio); i++)
		if (ns[prio[i]] && (best < 0 || ns[prio[i]] > ns[best]))
			best = prio[i];
	return best < 0 ? ' ' : state_char[best];
}

/* Letter for the K-th thread seen on the CPU rows. */
static char thread_letter(size_t k)
{
	static const char letters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

	return k < sizeof(letters) - 1 ? letters[k] : '*';
}

static void print_ruler(const struct paint *pt, const struct session *s)
{
	char line[4200];
	int n = pt->cols;

	memset(line, ' ', n);
	line[n] = '\0';
	for (int c = 0; c < n; c += 20) {
		char lab[32];
		double t = session__sec(s, pt->from) + (double)(pt->to - pt->from) * c / n / 1e9;
		int len = snprintf(lab, sizeof(lab), "|%.3fs", t);

		if (c + len <= n)
			memcpy(line + c, lab, len);
	}
	printf("%-*s%s\n", LABEL_W, "time", line);
}

static void print_rows(struct paint *pt, const struct proc_model *pm, const struct sched_model *sm,
		       const struct session *s)
{
	char line[4200];
	uint32_t legend[52];
	size_t nlegend = 0, ncoro = 0;
	uint64_t cell_ns = (pt->to - pt->from) / pt->cols;

	print_ruler(pt, s);
	for (size_t i = 0; i < pt->nrows; i++) {
		struct row *r = &pt->rows[i];
		char label[64];

		for (int c = 0; c < pt->cols; c++) {
			if (r->coro) {
				uint64_t on = r->ns[c][TS_RUNNING];

				line[c] = on * 10 >= cell_ns * 6 && on ? '#' : on ? '~' : ' ';
				continue;
			}
			if (!env.cpus) {
				line[c] = thread_cell(r->ns[c]);
				continue;
			}
			line[c] = ' ';
			if (r->ns[c][TS_RUNNING] >= r->ns[c][TS_SLEEPING] &&
			    r->ns[c][TS_RUNNING] >= r->ns[c][TS_UNKNOWN] && r->ns[c][TS_RUNNING]) {
				size_t k;

				for (k = 0; k < nlegend && legend[k] != r->top_tid[c]; k++)
					;
				if (k == nlegend && nlegend < PS_ARRAY_SIZE(legend))
					legend[nlegend++] = r->top_tid[c];
				line[c] = thread_letter(k);
			} else if (r->ns[c][TS_UNKNOWN] >= r->ns[c][TS_SLEEPING] && r->ns[c][TS_UNKNOWN]) {
				line[c] = '+';
			} else if (r->ns[c][TS_SLEEPING]) {
				line[c] = '.';
			}
		}
		line[pt->cols] = '\0';
		if (r->coro) {
			snprintf(label, sizeof(label), " %s 0x%llx",
				 r->coro->kind == CORO_KIND_SIGALTSTACK ? "sigalt" : "coro",
				 (unsigned long long)r->coro->start);
			ncoro++;
		} else if (env.cpus) {
			snprintf(label, sizeof(label), "cpu %u", r->tid);
		} else {
			const struct ps_thread *t = proc_model__thread(pm, r->tid);

			snprintf(label, sizeof(label), "%u/%u %.12s", r->tgid, r->tid,
				 t && t->tgid == r->tgid ? t->comm : "");
		}
		printf("%-*.*s%s\n", LABEL_W, LABEL_W - 1, label, line);
	}
	if (sched_model__gaps(sm, NULL)) {
		memset(line, ' ', pt->cols);
		line[pt->cols] = '\0';
		for (uint64_t i = 0; sched_model__gap(sm, i); i++) {
			const struct sched_gap *g = sched_model__gap(sm, i);
			double span = (double)(pt->to - pt->from);

			for (int c = 0; c < pt->cols; c++) {
				uint64_t cs = pt->from + (uint64_t)(span * c / pt->cols);
				uint64_t ce = pt->from + (uint64_t)(span * (c + 1) / pt->cols);

				if (g->start_ns < ce && g->end_ns >= cs)
					line[c] = '!';
			}
		}
		printf("%-*s%s\n", LABEL_W, "lost records", line);
	}
	if (env.cpus) {
		printf("\nlegend: . idle  + untraced task  letters: traced threads:");
		for (size_t k = 0; k < nlegend; k++) {
			const struct ps_thread *t = proc_model__thread(pm, legend[k]);

			printf("%s %c=%u(%s)", k % 4 ? "" : "\n ", thread_letter(k), legend[k],
			       t ? t->comm : "?");
		}
		printf("\n");
	} else {
		printf("\nlegend: # running  ~ ran in part of the slice  r runnable (woken, preempted)\n"
		       "        - sleeping  D blocked (uninterruptible)  T stopped\n"
		       "        ? unknown (lost records)  blank: not alive or not traced\n");
		if (ncoro)
			printf("        coro/sigalt rows (by stack start): # a thread was on that stack "
			       "most of the slice, ~ part of it\n");
	}
	if (sched_model__gaps(sm, NULL))
		printf("        ! records were lost somewhere in this slice: states around it are uncertain\n");
}

static uint64_t term_width(void)
{
	const char *c = getenv("COLUMNS");
	long w = c ? strtol(c, NULL, 10) : 0;

	return w >= LABEL_W + 10 && w <= 4096 ? (uint64_t)w : 80;
}

int cmd_timeline(int argc, char **argv)
{
	static const struct argp argp = { opts, parse_arg, NULL,
		"Terminal timeline of thread states (or CPUs with --cpus).\v"
		"EXAMPLES:\n  procscope timeline -i run.data --pid 1234\n"
		"  procscope timeline --from 1.2s --to 1.5s --cpus -w 120", NULL, NULL, NULL };
	struct sched_callbacks cb = { on_interval, on_cpu_interval, NULL };
	struct coro_callbacks ccb = { on_coro_segment, NULL };
	/* layouts only place coroutine stacks while a process lives: none kept past its exit */
	struct session_opts so = { .flags = SESSION_SCHED | SESSION_CORO | SESSION_TRIM_EXITED };
	struct session_callbacks scb = { .sched = &cb, .coro = &ccb };
	struct paint pt = { 0 };
	struct proc_model *pm;
	struct session *s;
	uint64_t first, last, from = 0, to = UINT64_MAX;
	int err = 0;

	if (argp_parse(&argp, argc, argv, 0, NULL, NULL))
		return 2;
	if ((env.from && ps_parse_time(env.from, &from)) || (env.to && ps_parse_time(env.to, &to))) {
		ps_err("invalid time '%s' (try 1.5, 200ms, 2s or end)",
		       env.from && ps_parse_time(env.from, &from) ? env.from : env.to);
		return 2;
	}
	s = session__open(env.input, &so);
	if (!s)
		return 1;
	pm = session__procs(s);
	/* the span before painting: the first record (one window read ahead) and the end */
	first = session__first_ns(s);
	last = session__end_ns(s);
	if (!first || last <= first) {
		ps_err("'%s' holds no records to draw", env.input);
		err = -ENOENT;
		goto out;
	}
	/* --from/--to count from time zero; without --from the picture starts at the first record */
	pt.from = env.from ? session__abs_ns(s, from) : first;
	pt.to = to == UINT64_MAX || session__abs_ns(s, to) > last ? last : session__abs_ns(s, to);
	if (pt.from >= last || pt.to <= pt.from) {
		ps_err("empty window: the recording spans %.6f..%.6f s", session__sec(s, first),
		       session__sec(s, last));
		err = -EINVAL;
		goto out;
	}
	pt.cols = (env.width ? env.width : (int)term_width()) - LABEL_W;
	cb.ctx = &pt;
	ccb.ctx = &pt;
	pt.pm = pm;
	err = session__replay(s, &scb);
	if (err || pt.err)
		goto nomem;
	if (env.pid && !proc_model__process(pm, env.pid)) {
		ps_err("no process %ld in '%s'", env.pid, env.input);
		err = -ENOENT;
		goto out;
	}
	printf("# %s: %.3f..%.3f s of %.3f..%.3f s, %.3f ms/column%s\n", env.input,
	       session__sec(s, pt.from), session__sec(s, pt.to), session__sec(s, first),
	       session__sec(s, last), (pt.to - pt.from) / 1e6 / pt.cols,
	       pt.nrows >= MAX_ROWS ? " (rows cut)" : "");
	if (!pt.nrows)
		printf("(no scheduling records in this window)\n");
	else
		print_rows(&pt, pm, session__sched(s), s);
	goto out;
nomem:
	ps_err("out of memory reading '%s'", env.input);
	err = -ENOMEM;
out:
	for (size_t i = 0; i < pt.nrows; i++) {
		free(pt.rows[i].ns);
		free(pt.rows[i].top_tid);
		free(pt.rows[i].top_ns);
	}
	free(pt.rows);
	idmap__free(&pt.rows_by_key);
	session__free(s);
	return err ? 1 : 0;
}
