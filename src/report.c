// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * procscope report: one pass over the session file through the models, then
 * a summary per process: what ran, how long, its threads, what it recorded.
 */
#include <argp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "commands.h"
#include "coro_report.h"
#include "mem_report.h"
#include "proc_model.h"
#include "rec_info.h"
#include "sched_model.h"
#include "sched_report.h"
#include "stack_report.h"
#include "session.h"
#include "util.h"

static struct {
	const char *input;
	long pid;	/* 0: every process */
	bool json;	/* --json: machine-readable, scheduling per process and thread */
} env = { .input = "procscope.data" };

static const struct argp_option opts[] = {
	{ "input", 'i', "FILE", 0, "Session file (default ./procscope.data)", 0 },
	{ "pid", 'p', "PID", 0, "Only this process", 0 },
	{ "json", 'j', NULL, 0, "JSON: per process and thread scheduling (see sched_report.h)", 0 },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'i':
		env.input = arg;
		break;
	case 'j':
		env.json = true;
		break;
	case 'p':
		if (ps_parse_pid(arg, &env.pid))
			argp_error(state, "invalid PID '%s'", arg);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static double sec(uint64_t ns)
{
	return ns / 1e9;
}

static void print_exit(FILE *f, const struct ps_process *p)
{
	if (!p->exited) {
		fprintf(f, "alive at end of recording");
		return;
	}
	if (p->exit_code < 0)
		fprintf(f, "exited");
	else if ((p->exit_code & 0x7f) == 0)
		fprintf(f, "exited with status %d", (p->exit_code >> 8) & 0xff);
	else
		fprintf(f, "killed by signal %d", p->exit_code & 0x7f);
}

static void report_process(FILE *f, struct session *s, const struct ps_process *p)
{
	uint64_t end = p->exited ? p->end_ns : session__procs(s)->last_ns;
	uint64_t total = 0;

	fprintf(f, "\nprocess %u (%s)", p->pid, p->comm);
	if (p->ppid)
		fprintf(f, ", parent %u", p->ppid);
	fprintf(f, "\n");
	if (p->exe[0])
		fprintf(f, "  image:     %s%s\n", p->exe, p->nexecs > 1 ? " (last of several execs)" : "");
	fprintf(f, "  lifetime:  %.6f s .. %.6f s (%.6f s)%s, ", session__sec(s, p->start_ns),
		session__sec(s, end), sec(end - p->start_ns),
		p->born_in_trace ? "" : ", started before recording");
	print_exit(f, p);
	fprintf(f, "\n  threads:   %zu seen:", p->nthreads);
	for (size_t i = 0; i < p->nthreads && i < 16; i++)
		fprintf(f, " %u(%s)", p->threads[i]->tid, p->threads[i]->comm);
	if (p->nthreads > 16)
		fprintf(f, " ...");
	fprintf(f, "\n  records:  ");
	for (int t = 1; t < PS_REC_MAX; t++) {
		if (!p->records[t])
			continue;
		fprintf(f, " %s=%llu", rec_info__name(t), (unsigned long long)p->records[t]);
		total += p->records[t];
	}
	fprintf(f, " (total %llu)\n", (unsigned long long)total);
}

int cmd_report(int argc, char **argv)
{
	static const struct argp argp = { opts, parse_arg, NULL,
		"Summarise a session file per process.", NULL, NULL, NULL };
	const struct trace_reader_stats *st;
	const struct session_stats *ss;
	const struct ps_file_header *fh;
	const struct ps_footer *footer;
	struct session_callbacks cb = {};
	struct session_opts so = {};
	struct mem_report *mr = NULL;
	struct stack_report *sr = NULL;
	struct sched_model *sm;
	struct proc_model *pm;
	struct session *s;
	int err = 0, shown = 0;
	uint64_t lost_total, skipped = 0;
	const uint64_t *lost_by_type, *skipped_by_kind;

	if (argp_parse(&argp, argc, argv, 0, NULL, NULL))
		return 2;
	/* --json: scheduling, and the layout corrections of the address-space model */
	so.flags = SESSION_SCHED | SESSION_CORO;	/* CORO implies VM */
	/* an exited process's layout: only the largest maps mem_report prints */
	so.flags |= SESSION_TRIM_EXITED;
	so.keep_largest = MEM_REPORT_TOP_MAPS;
	s = session__open(env.input, &so);
	if (!s)
		return 1;
	pm = session__procs(s);
	if (!env.json) {
		mr = mem_report__new();
		if (!mr) {
			err = -ENOMEM;
			goto nomem;
		}
		cb.vm = mem_report__vm_callbacks(mr);
		sr = stack_report__new(s);
		if (!sr) {
			err = -ENOMEM;
			goto nomem;
		}
		stack_report__callbacks(sr, &cb);
	}
	err = session__replay(s, &cb);
	if (!err && mr)
		err = mem_report__error(mr);
	if (!err && sr)
		err = stack_report__error(sr);
	if (err)
		goto nomem;
	sm = session__sched(s);
	fh = session__header(s);
	st = session__reader_stats(s);
	ss = session__stats(s);
	footer = session__footer(s);
	if (env.json) {
		if (env.pid && !proc_model__process(pm, env.pid)) {
			ps_err("no process %ld in '%s'", env.pid, env.input);
			err = -1;
			goto out;
		}
		err = sched_report__json(stdout, pm, sm, session__vm(s), session__coro(s), env.pid,
					 session__end_ns(s));
		if (err)
			ps_err("cannot write the report: %s", strerror(-err));
		goto out;
	}
	lost_total = footer ? footer->lost_total : pm->lost_total;
	lost_by_type = footer ? (const uint64_t *)footer->lost_by_type : pm->lost_by_type;
	skipped_by_kind = footer ? (const uint64_t *)footer->stacks_skipped : pm->stacks_skipped;
	for (int k = 0; k < PS_STK_SLOTS; k++)
		skipped += skipped_by_kind[k];

	printf("# procscope report: %s\n", env.input);
	printf("# recorded by procscope %s on Linux %s, %u CPUs: %s\n", fh->procscope_version,
	       fh->kernel_release, fh->ncpus, session__cmdline(s));
	printf("# targets: %s\n", session__targets(s));
	printf("# %llu records over %.6f s, %zu processes",
	       (unsigned long long)st->records, sec(pm->last_ns - pm->first_ns), pm->nprocs);
	if (footer && footer->exit_status >= 0)
		printf(", command exit status %d", footer->exit_status);
	printf("\n# lost records: %llu", (unsigned long long)lost_total);
	for (int t = 0; t < PS_REC_MAX; t++)
		if (lost_by_type[t])
			printf(" %s=%llu", rec_info__name(t), (unsigned long long)lost_by_type[t]);
	if (skipped) {
		printf("\n# call stacks skipped under load: %llu (", (unsigned long long)skipped);
		for (int k = 0, sep = 0; k < PS_STK_SLOTS; k++)
			if (skipped_by_kind[k])
				printf("%s%s=%llu", sep++ ? " " : "", rec_info__stack_kind(k),
				       (unsigned long long)skipped_by_kind[k]);
		printf("; the ring was over half full: their records were kept)");
	}
	printf("\n# layout corrections: %llu (the kernel's VMAs after a call differed from the model's)\n",
	       (unsigned long long)vm_model__corrections(session__vm(s)));
	if (ss->late)
		printf("# %llu records came more than %.0f ms out of time order (up to %.3f ms): "
		       "placed at the last time already replayed\n", (unsigned long long)ss->late,
		       SESSION_WINDOW_NS / 1e6, ss->max_late_ns / 1e6);
	if (!footer)
		printf("# WARNING: no footer: the recording did not finish; read up to its last whole chunk\n");
	if (st->bad_chunks)
		printf("# WARNING: %llu damaged chunks skipped\n", (unsigned long long)st->bad_chunks);

	for (size_t i = 0; i < pm->nprocs; i++) {
		if (env.pid && pm->order[i]->pid != env.pid)
			continue;
		report_process(stdout, s, pm->order[i]);
		sched_report__process(stdout, sm, pm->order[i]);
		mem_report__process(stdout, mr, s, pm->order[i]);
		coro_report__process(stdout, session__coro(s), pm->order[i]);
		stack_report__process(stdout, sr, pm->order[i]);
		shown++;
	}
	if (env.pid && !shown) {
		ps_err("no process %ld in '%s'", env.pid, env.input);
		err = -1;
	}
	if (!env.pid)
		sched_report__summary(stdout, sm, session__time_zero(s));
	goto out;
nomem:
	ps_err("out of memory reading '%s'", env.input);
out:
	mem_report__free(mr);
	stack_report__free(sr);
	session__free(s);
	return err ? 1 : 0;
}
