// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * procscope layout: the address space of one process at one instant, drawn
 * as the textbook draws it (high addresses on top) with the real regions,
 * or as JSON. Replays the session file through the models up to TIME.
 */
#include <argp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "commands.h"
#include "coro_report.h"
#include "json_writer.h"
#include "proc_model.h"
#include "session.h"
#include "util.h"
#include "vm_model.h"

/* x86_64, 4-level paging: user space ends below TASK_SIZE, the kernel starts at the top half */
#define USER_TOP	0x00007ffffffff000ull
#define KERNEL_START	0xffff800000000000ull

static struct {
	const char *input;
	long pid;
	const char *at;
	bool json;
} env = { .input = "procscope.data", .at = "end" };

enum { OPT_AT = 0x100 };

static const struct argp_option opts[] = {
	{ "input", 'i', "FILE", 0, "Session file (default ./procscope.data)", 0 },
	{ "pid", 'p', "PID", 0, "The process to show (required)", 0 },
	/* time options have no short form: -t and -f meant different things in different verbs */
	{ "at", OPT_AT, "TIME", 0, "Seconds from the start of the recording, or 'end' (default): "
	  "right before the process exited", 0 },
	{ "json", 'j', NULL, 0, "JSON instead of the diagram", 0 },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'i':
		env.input = arg;
		break;
	case 'p':
		if (ps_parse_pid(arg, &env.pid))
			argp_error(state, "invalid PID '%s'", arg);
		break;
	case OPT_AT:
		env.at = arg;
		break;
	case 'j':
		env.json = true;
		break;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s'", arg);
		break;
	case ARGP_KEY_END:
		if (!env.pid)
			argp_error(state, "--pid PID is required");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

struct regions {
	struct vm_region *r;
	size_t n, cap;
	bool oom;
};

static void collect(void *ctx, const struct vm_region *r)
{
	struct regions *rs = ctx;

	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 64;
		struct vm_region *a = realloc(rs->r, cap * sizeof(*a));

		if (!a) {
			rs->oom = true;
			return;
		}
		rs->r = a;
		rs->cap = cap;
	}
	rs->r[rs->n++] = *r;
}

static const char *perms(char *buf, const struct vm_region *r)
{
	buf[0] = r->prot & 1 ? 'r' : '-';
	buf[1] = r->prot & 2 ? 'w' : '-';
	buf[2] = r->prot & 4 ? 'x' : '-';
	buf[3] = r->shared ? 's' : 'p';
	buf[4] = '\0';
	return buf;
}

static int print_json(FILE *f, uint32_t pid, uint64_t t_ns, const struct regions *rs,
		      const struct coro_model *cm)
{
	struct coro_region_info ci;
	struct json_writer w;
	char pb[8], addr[24];

	json_writer__init(&w, f);
	json_writer__set_line_depth(&w, 2);	/* one region per line */
	json_writer__begin_object(&w);
	json_writer__kv_uint(&w, "pid", pid);
	json_writer__kv_uint(&w, "time_ns", t_ns);
	json_writer__key(&w, "regions");
	json_writer__begin_array(&w);
	for (size_t i = 0; i < rs->n; i++) {
		const struct vm_region *r = &rs->r[i];

		json_writer__begin_object(&w);
		/* hex strings: addresses above 2^53 do not survive a JSON number */
		snprintf(addr, sizeof(addr), "0x%llx", (unsigned long long)r->start);
		json_writer__kv_str(&w, "start", addr);
		snprintf(addr, sizeof(addr), "0x%llx", (unsigned long long)r->end);
		json_writer__kv_str(&w, "end", addr);
		coro_report__region(cm, pid, r->start, r->end, &ci);
		json_writer__kv_str(&w, "kind", ci.kind ? ci.kind : vm_model__kind_name(r->kind));
		json_writer__kv_str(&w, "perms", perms(pb, r));
		if (r->path && r->path[0] == '/')
			json_writer__kv_str(&w, "path", r->path);
		if (r->kind == VK_THREAD_STACK)
			json_writer__kv_uint(&w, "tid", r->tid);
		if (ci.nstacks) {
			/* threads that ran on the coroutine stacks in it (an M:N scheduler: several) */
			json_writer__kv_uint(&w, "coroutine_stacks", ci.nstacks);
			json_writer__kv_uint(&w, "threads", ci.nthreads);
			json_writer__kv_uint(&w, "resumes", ci.resumes);
		}
		json_writer__end_object(&w);
	}
	json_writer__end_array(&w);
	json_writer__end_object(&w);
	fputc('\n', f);
	return json_writer__error(&w);
}

static void rule(FILE *f, uint64_t addr, const char *note)
{
	fprintf(f, "  0x%016llx +----------------------------------------------------------%s\n",
		(unsigned long long)addr, note);
}

static void gap(FILE *f, uint64_t bytes, const char *what)
{
	char sz[32];

	fprintf(f, "  %18s ~  %s %s\n", "", ps_fmt_size(sz, sizeof(sz), bytes), what);
}

static const char *label(char *buf, size_t len, const struct vm_region *r,
			 const struct vm_proc_stats *st)
{
	char sz[32];

	switch (r->kind) {
	case VK_STACK:
		snprintf(buf, len, "[stack] main thread, grows down; peak %s",
			 ps_fmt_size(sz, sizeof(sz), st->stack_peak_bytes));
		break;
	case VK_THREAD_STACK:
		snprintf(buf, len, "stack of thread %u", r->tid);
		break;
	case VK_HEAP:
		snprintf(buf, len, "[heap] grows up: brk 0x%llx, start_brk 0x%llx",
			 (unsigned long long)st->brk, (unsigned long long)st->start_brk);
		break;
	case VK_GUARD:
		snprintf(buf, len, "guard (no access)%s%s", r->path ? " " : "", r->path ? r->path : "");
		break;
	case VK_ANON:
		snprintf(buf, len, "anonymous%s", r->shared ? " shared" : "");
		break;
	case VK_BSS:
		snprintf(buf, len, "bss of the image below");
		break;
	default:
		snprintf(buf, len, "%s", r->path ? r->path : "");
		break;
	}
	return buf;
}

static void history(FILE *f, const struct vm_region *r, const struct session *s,
		    const struct vm_proc_stats *st)
{
	static const char *const what[] = { "grew", "shrank", "split", "re-protected", "moved",
					    "merged" };
	int n = 0;

	fprintf(f, "  %18s |   since %.6f s, ", "", r->created_ns ? session__sec(s, r->created_ns) : 0.0);
	if (r->created_tid)
		fprintf(f, "by thread %u", r->created_tid);
	else if (st->snapshot_ns && r->created_ns == st->snapshot_ns)
		fprintf(f, "from snapshot at %.6f s", session__sec(s, st->snapshot_ns));
	else
		fprintf(f, "by exec");
	if (r->changes) {
		fprintf(f, "; %u change%s (", r->changes, r->changes > 1 ? "s" : "");
		for (unsigned b = 0; b < PS_ARRAY_SIZE(what); b++)
			if (r->how & (1u << b))
				fprintf(f, "%s%s", n++ ? ", " : "", what[b]);
		fprintf(f, ")");
		if (r->changed_ns)
			fprintf(f, ", last at %.6f s", session__sec(s, r->changed_ns));
	}
	fprintf(f, "\n");
}

static void print_text(FILE *f, const struct session *s, const struct ps_process *p, uint64_t t_ns,
		       const struct regions *rs, const struct vm_proc_stats *st,
		       const struct coro_model *cm)
{
	struct coro_region_info ci;
	uint64_t mapped = 0, below;
	char sz[32], lb[600], pb[8];

	for (size_t i = 0; i < rs->n; i++)
		mapped += rs->r[i].end - rs->r[i].start;
	fprintf(f, "process %u (%s) at %.6f s: %zu regions, %s mapped\n", p->pid, p->comm,
		session__sec(s, t_ns), rs->n, ps_fmt_size(sz, sizeof(sz), mapped));
	fprintf(f, "  %18s   high addresses\n", "");
	rule(f, UINT64_MAX, "");
	fprintf(f, "  %18s | kernel space (not accessible from user mode)\n", "");
	rule(f, KERNEL_START, "");
	fprintf(f, "  %18s ~  non-canonical hole\n", "");
	rule(f, USER_TOP, " top of user space");
	below = USER_TOP;
	for (size_t k = rs->n; k-- > 0;) {
		const struct vm_region *r = &rs->r[k];

		if (r->end < below)
			gap(f, below - r->end, "unmapped");
		if (r->end != below)
			rule(f, r->end, "");
		coro_report__region(cm, p->pid, r->start, r->end, &ci);
		if (ci.kind && !strcmp(ci.kind, "sigaltstack"))
			snprintf(lb, sizeof(lb), "alternate signal stack (sigaltstack)");
		else if (ci.kind && !strcmp(ci.kind, "goroutine_stacks"))
			snprintf(lb, sizeof(lb), "Go heap: goroutine stacks, %zu threads ran on them",
				 ci.nthreads);
		else if (ci.kind)
			snprintf(lb, sizeof(lb), "coroutine stack: %zu thread%s ran on it, %llu resumes",
				 ci.nthreads, ci.nthreads == 1 ? "" : "s",
				 (unsigned long long)ci.resumes);
		else
			label(lb, sizeof(lb), r, st);
		fprintf(f, "  %18s | %-12s %s %10s  %s\n", "", ci.kind ? ci.kind :
			vm_model__kind_name(r->kind), perms(pb, r),
			ps_fmt_size(sz, sizeof(sz), r->end - r->start), lb);
		if (!ci.kind && ci.nstacks)
			fprintf(f, "  %18s |   holds %zu coroutine or signal stacks, %zu threads ran "
				"on them\n", "", ci.nstacks, ci.nthreads);
		history(f, r, s, st);
		rule(f, r->start, "");
		below = r->start;
	}
	if (below)
		gap(f, below, "unmapped (NULL page and below)");
	fprintf(f, "  %18s   0x0, low addresses\n", "");
}

static int stop_at_snapshot(void *ctx, const struct session_event *ev)
{
	uint64_t *snap_ns = ctx;

	if (ev->h->type != PS_REC_SNAP_MAP || ev->h->tgid != (uint64_t)env.pid)
		return 0;
	*snap_ns = ev->h->ts_ns;
	return -ECANCELED;	/* found: no need to read further */
}

/*
 * When PID was attached to (-p, -a), the time its /proc snapshot was read,
 * else 0. Reads the file only up to that snapshot, in file order.
 */
static uint64_t snapshot_time(void)
{
	struct session_opts so = { .flags = SESSION_RAW };
	uint64_t snap_ns = 0;
	struct session_callbacks cb = { .record = stop_at_snapshot, .ctx = &snap_ns };
	struct session *s = session__open(env.input, &so);

	if (!s)
		return 0;
	session__replay(s, &cb);
	session__free(s);
	return snap_ns;
}

int cmd_layout(int argc, char **argv)
{
	static const struct argp argp = { opts, parse_arg, NULL,
		"Show the address space of a process at a time, high addresses on top.\v"
		"EXAMPLES:\n  procscope layout --pid 1234            # right before it exited\n"
		"  procscope layout --pid 1234 --at 0.5   # 0.5 s after the recording started\n"
		"  procscope layout --pid 1234 --json", NULL, NULL, NULL };
	struct vm_proc_stats st;
	struct regions rs = { 0 };
	struct session_opts so = { .flags = SESSION_VM | SESSION_CORO };
	const struct ps_process *p;
	struct proc_model *pm;
	struct vm_model *vm;
	struct session *s;
	uint64_t at, t_ns;
	int err = 1;

	if (argp_parse(&argp, argc, argv, 0, NULL, NULL))
		return 2;
	if (ps_parse_time(env.at, &at)) {
		ps_err("invalid time '%s': want seconds from the start (e.g. 1.5, 200ms) or 'end'",
		       env.at);
		return 2;
	}
	/* of the processes that exit, only this one's layout is printed */
	so.flags |= SESSION_TRIM_EXITED;
	so.keep_pid = env.pid;
	s = session__open(env.input, &so);
	if (!s)
		return 1;
	if (at != UINT64_MAX && session__abs_ns(s, at) > session__end_ns(s)) {
		ps_err("--at %.6f s is past the end of the recording (%.6f s): use 'end' or an "
		       "earlier time", at / 1e9, session__sec(s, session__end_ns(s)));
		goto out;
	}
	/*
	 * Before the /proc snapshot of an attached process its layout is the
	 * snapshot's (nothing was recorded earlier): --at 0 shows that.
	 */
	if (at != UINT64_MAX) {
		uint64_t snap_ns = snapshot_time();

		if (snap_ns && session__abs_ns(s, at) < snap_ns) {
			fprintf(stderr, "procscope: process %ld was attached to: its layout is known "
				"from its snapshot at %.6f s on; showing that\n", env.pid,
				session__sec(s, snap_ns));
			at = snap_ns - session__time_zero(s);
		}
		/* records come in time order: the replay stops at the first one past TIME */
		session__set_until(s, session__abs_ns(s, at));
	}
	if (session__replay(s, NULL)) {
		ps_err("out of memory reading '%s'", env.input);
		goto out;
	}
	pm = session__procs(s);
	vm = session__vm(s);
	p = proc_model__process(pm, env.pid);
	if (!p) {
		ps_err("no process %ld in '%s'%s", env.pid, env.input,
		       at != UINT64_MAX ? " at that time" : "");
		goto out;
	}
	if (vm_model__proc_stats(vm, env.pid, &st) || !st.known) {
		ps_err("no layout known for process %ld at %.6f s (it had not exec'd or "
		       "forked from a traced parent yet, or was not attached to)", env.pid,
		       at != UINT64_MAX ? at / 1e9 : session__sec(s, pm->last_ns));
		goto out;
	}
	vm_model__for_each_region(vm, env.pid, collect, &rs);
	if (rs.oom) {
		ps_err("out of memory");
		goto out;
	}
	/* absolute: --at, or right before the process exited (the end if it did not) */
	t_ns = at != UINT64_MAX ? session__abs_ns(s, at) : p->exited ? p->end_ns : pm->last_ns;
	if (env.json) {
		/* time_ns counts from time zero; an instant before it shows as 0 */
		err = print_json(stdout, p->pid, t_ns > session__time_zero(s) ?
				 t_ns - session__time_zero(s) : 0, &rs, session__coro(s));
		if (err) {
			ps_err("cannot write the layout: %s", strerror(-err));
			err = 1;
			goto out;
		}
	} else
		print_text(stdout, s, p, t_ns, &rs, &st, session__coro(s));
	err = fflush(stdout) ? 1 : 0;
out:
	free(rs.r);
	session__free(s);
	return err;
}
