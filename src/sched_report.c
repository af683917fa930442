// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Scheduling section of `procscope report` and its --json form.
 *
 * Counters are the kernel's own (format 3): nvcsw/nivcsw are what
 * /proc/.../status says, switches before the recording included; oncpu_ns
 * is the on-CPU time within the recording and oncpu_total_ns the kernel's
 * sum_exec_runtime. "unreported" counts switches the kernel emitted no
 * sched_switch for, rebuilt from those totals: not lost records.
 */
#include <inttypes.h>
#include <string.h>
#include "coro_report.h"
#include "json_writer.h"
#include "rec_info.h"
#include "sched_report.h"

static double ms(uint64_t ns)
{
	return ns / 1e6;
}

/* "woken by 812 kworker/0:1(x12) 0 idle/irq(x3)": named when the recording named them */
static void print_wakers(FILE *f, const struct sched_model *sm, const struct sched_thread_stats *s)
{
	const struct proc_model *pm = sched_model__procs(sm);

	if (!s->top_waker_counts[0])
		return;
	fprintf(f, "  woken by");
	for (int i = 0; i < 3 && s->top_waker_counts[i]; i++) {
		const char *name = proc_model__task_name(pm, s->top_wakers[i]);

		fprintf(f, " %u%s%.16s(x%u)", s->top_wakers[i], name ? " " : "", name ? name : "",
			s->top_waker_counts[i]);
	}
}

/* LOST: records were lost in this session. */
static void print_stats(FILE *f, const struct sched_model *sm, const struct sched_thread_stats *s,
			bool lost)
{
	fprintf(f, "on-cpu %.3f  runnable %.3f  sleep %.3f  blocked %.3f", ms(s->oncpu_ns),
		ms(s->runnable_ns), ms(s->sleep_ns), ms(s->blocked_ns));
	if (s->stopped_ns)
		fprintf(f, "  stopped %.3f", ms(s->stopped_ns));
	if (s->unknown_ns)
		fprintf(f, "  unknown %.3f", ms(s->unknown_ns));
	fprintf(f, " ms\n%14s csw %" PRIu64 " vol / %" PRIu64 " invol, %" PRIu64 " migrations, %" PRIu64
		" wakeups", "", s->nvcsw, s->nivcsw, s->migrations, s->wakeups);
	if (s->runq_samples)
		fprintf(f, ", runq p50 %.3f p99 %.3f max %.3f ms", ms(s->runq_p50_ns),
			ms(s->runq_p99_ns), ms(s->runq_max_ns));
	print_wakers(f, sm, s);
	if (s->before_trace)
		fprintf(f, "\n%14s before recording: %" PRIu64 " vol / %" PRIu64
			" invol, %.3f ms on-cpu (in the totals; on-cpu total %.3f ms)", "",
			s->snap_nvcsw, s->snap_nivcsw, ms(s->snap_oncpu_ns), ms(s->oncpu_total_ns));
	if (s->unreported)
		fprintf(f, "\n%14s unreported switches: %" PRIu64
			" (no sched_switch from the kernel; rebuilt from its totals)", "", s->unreported);
	if (s->inconsistencies)
		fprintf(f, "\n%14s %" PRIu64 " state contradictions%s", "", s->inconsistencies,
			lost ? ": records were lost" : "");
	fprintf(f, "\n");
}

void sched_report__process(FILE *f, const struct sched_model *sm, const struct ps_process *p)
{
	bool lost = sched_model__gaps(sm, NULL) > 0;
	struct sched_thread_stats s;

	sched_model__process_stats(sm, p, &s);
	fprintf(f, "  sched:     ");
	print_stats(f, sm, &s, lost);
	for (size_t i = 0; i < p->nthreads; i++) {
		const struct ps_thread *t = p->threads[i];

		sched_model__thread_stats(sm, t, &s);
		fprintf(f, "  thread %u (%s)%s, ", t->tid, t->comm,
			t->born_in_trace ? "" : " started before recording");
		if (t->creator_tid)
			fprintf(f, "created by %u, ", t->creator_tid);
		if (t->old_tid)
			fprintf(f, "was %u before exec, ", t->old_tid);
		if (t->exited)
			fprintf(f, "lived %.3f ms\n", ms(t->end_ns - t->start_ns));
		else
			fprintf(f, "alive at end\n");
		fprintf(f, "%14s", "");
		print_stats(f, sm, &s, lost);
	}
}

void sched_report__summary(FILE *f, const struct sched_model *sm, uint64_t zero_ns)
{
	uint64_t gap_ns, ngaps = sched_model__gaps(sm, &gap_ns);
	struct sched_cpu_stats c;

	fprintf(f, "\ncpus (from the switches seen; without -a, \"other\" is any untraced task):\n");
	for (uint32_t i = 0; i < sched_model__ncpus(sm); i++) {
		sched_model__cpu_stats(sm, i, &c);
		fprintf(f, "  cpu %u: traced %.3f ms, other %.3f ms, idle %.3f ms, %" PRIu64
			" switches", i, ms(c.traced_ns), ms(c.other_ns), ms(c.idle_ns), c.switches);
		if (c.unreported)
			fprintf(f, " (%" PRIu64 " unreported by the kernel, rebuilt)", c.unreported);
		fprintf(f, "\n");
	}
	fprintf(f, "lost-records gaps: %" PRIu64, ngaps);
	if (ngaps)
		fprintf(f, " (%.3f ms in all; states there may be wrong)", ms(gap_ns));
	for (uint64_t i = 0; i < ngaps && i < 16; i++) {
		const struct sched_gap *g = sched_model__gap(sm, i);

		fprintf(f, "\n  %.6f s .. %.6f s: %" PRIu64 " records lost",
			((int64_t)(g->start_ns - zero_ns)) / 1e9, ((int64_t)(g->end_ns - zero_ns)) / 1e9,
			g->lost);
	}
	fprintf(f, "\n");
}

static void json_stats(struct json_writer *w, const struct sched_thread_stats *s)
{
	json_writer__kv_uint(w, "oncpu_ns", s->oncpu_ns);
	json_writer__kv_uint(w, "running_ns", s->running_ns);
	json_writer__kv_uint(w, "runnable_ns", s->runnable_ns);
	json_writer__kv_uint(w, "sleep_ns", s->sleep_ns);
	json_writer__kv_uint(w, "blocked_ns", s->blocked_ns);
	json_writer__kv_uint(w, "stopped_ns", s->stopped_ns);
	json_writer__kv_uint(w, "unknown_ns", s->unknown_ns);
	json_writer__kv_uint(w, "nvcsw", s->nvcsw);
	json_writer__kv_uint(w, "nivcsw", s->nivcsw);
	json_writer__kv_uint(w, "migrations", s->migrations);
	json_writer__kv_uint(w, "wakeups", s->wakeups);
	json_writer__key(w, "runq_latency_ns");
	json_writer__begin_object(w);
	json_writer__kv_uint(w, "p50", s->runq_p50_ns);
	json_writer__kv_uint(w, "p99", s->runq_p99_ns);
	json_writer__kv_uint(w, "max", s->runq_max_ns);
	json_writer__kv_uint(w, "samples", s->runq_samples);
	json_writer__end_object(w);
	json_writer__kv_uint(w, "oncpu_total_ns", s->oncpu_total_ns);
	json_writer__kv_uint(w, "inconsistencies", s->inconsistencies);
	json_writer__kv_uint(w, "unreported", s->unreported);
	json_writer__key(w, "top_wakers");
	json_writer__begin_array(w);
	for (int i = 0; i < 3 && s->top_waker_counts[i]; i++) {
		json_writer__begin_object(w);
		json_writer__kv_uint(w, "tid", s->top_wakers[i]);
		json_writer__kv_uint(w, "count", s->top_waker_counts[i]);
		json_writer__end_object(w);
	}
	json_writer__end_array(w);
	if (s->exit_seen) {
		json_writer__key(w, "at_exit");
		json_writer__begin_object(w);
		json_writer__kv_uint(w, "nvcsw", s->nvcsw_at_exit);
		json_writer__kv_uint(w, "nivcsw", s->nivcsw_at_exit);
		json_writer__kv_uint(w, "oncpu_ns", s->oncpu_at_exit_ns);
		if (s->totals_at_exit)
			json_writer__kv_uint(w, "oncpu_total_ns", s->oncpu_total_at_exit_ns);
		json_writer__end_object(w);
	}
	if (s->before_trace) {
		json_writer__key(w, "before_trace");
		json_writer__begin_object(w);
		json_writer__kv_uint(w, "nvcsw", s->snap_nvcsw);
		json_writer__kv_uint(w, "nivcsw", s->snap_nivcsw);
		json_writer__kv_uint(w, "oncpu_ns", s->snap_oncpu_ns);
		json_writer__end_object(w);
	}
}

static void json_kv_bool(struct json_writer *w, const char *key, bool v)
{
	json_writer__key(w, key);
	json_writer__bool(w, v);
}

static void json_thread(struct json_writer *w, const struct sched_model *sm,
			const struct ps_thread *t, uint64_t end_ns)
{
	struct sched_thread_stats s;

	sched_model__thread_stats(sm, t, &s);
	json_writer__begin_object(w);
	json_writer__kv_uint(w, "tid", t->tid);
	json_writer__key(w, "comm");
	json_writer__string_n(w, t->comm, sizeof(t->comm));
	json_writer__kv_uint(w, "start_ns", t->start_ns);
	json_writer__kv_uint(w, "end_ns", t->exited ? t->end_ns : end_ns);
	json_kv_bool(w, "alive", !t->exited);
	json_kv_bool(w, "born_in_trace", t->born_in_trace);
	json_kv_bool(w, "is_thread", t->is_thread);
	json_writer__kv_uint(w, "creator_tid", t->creator_tid);
	json_writer__kv_uint(w, "old_tid", t->old_tid);
	json_writer__kv_int(w, "last_cpu", s.last_cpu);
	json_stats(w, &s);
	json_writer__end_object(w);
}

int sched_report__json(FILE *f, const struct proc_model *pm, const struct sched_model *sm,
		       const struct vm_model *vm, const struct coro_model *cm, long pid,
		       uint64_t end_ns)
{
	uint64_t gap_ns, ngaps = sched_model__gaps(sm, &gap_ns);
	struct sched_thread_stats s;
	struct sched_cpu_stats c;
	struct json_writer w;

	json_writer__init(&w, f);
	/* one process, CPU or gap per line, so the output diffs well */
	json_writer__set_line_depth(&w, 2);
	json_writer__begin_object(&w);
	json_writer__kv_uint(&w, "first_ns", pm->first_ns);
	json_writer__kv_uint(&w, "end_ns", end_ns);
	json_writer__kv_uint(&w, "lost_records", pm->lost_total);
	json_writer__key(&w, "stacks_skipped");
	json_writer__begin_object(&w);
	for (unsigned k = PS_STK_MEM; k <= PS_STK_SAMPLE; k++)
		json_writer__kv_uint(&w, rec_info__stack_kind(k), pm->stacks_skipped[k]);
	json_writer__end_object(&w);
	if (vm)
		json_writer__kv_uint(&w, "layout_corrections", vm_model__corrections(vm));
	json_writer__key(&w, "processes");
	json_writer__begin_array(&w);
	for (size_t i = 0; i < pm->nprocs; i++) {
		const struct ps_process *p = pm->order[i];

		if (pid > 0 && p->pid != (uint64_t)pid)
			continue;
		sched_model__process_stats(sm, p, &s);
		json_writer__begin_object(&w);
		json_writer__kv_uint(&w, "pid", p->pid);
		json_writer__kv_uint(&w, "ppid", p->ppid);
		json_writer__key(&w, "comm");
		json_writer__string_n(&w, p->comm, sizeof(p->comm));
		json_writer__kv_str(&w, "exe", p->exe);
		json_writer__kv_uint(&w, "start_ns", p->start_ns);
		json_writer__kv_uint(&w, "end_ns", p->exited ? p->end_ns : end_ns);
		json_kv_bool(&w, "alive", !p->exited);
		json_writer__kv_int(&w, "exit_code", p->exit_code);
		json_kv_bool(&w, "born_in_trace", p->born_in_trace);
		json_writer__kv_uint(&w, "creator_tid", p->creator_tid);
		json_kv_bool(&w, "vfork", p->vfork);
		if (vm) {
			struct vm_proc_stats vs;

			if (!vm_model__proc_stats(vm, p->pid, &vs))
				json_writer__kv_uint(&w, "layout_corrections", vs.corrections);
		}
		json_stats(&w, &s);
		json_writer__key(&w, "threads");
		json_writer__begin_array(&w);
		for (size_t j = 0; j < p->nthreads; j++)
			json_thread(&w, sm, p->threads[j], end_ns);
		json_writer__end_array(&w);
		if (cm)
			coro_report__json(&w, cm, p->pid);
		json_writer__end_object(&w);
	}
	json_writer__end_array(&w);
	json_writer__key(&w, "cpus");
	json_writer__begin_array(&w);
	for (uint32_t i = 0; i < sched_model__ncpus(sm); i++) {
		sched_model__cpu_stats(sm, i, &c);
		json_writer__begin_object(&w);
		json_writer__kv_uint(&w, "cpu", i);
		json_writer__kv_uint(&w, "traced_ns", c.traced_ns);
		json_writer__kv_uint(&w, "other_ns", c.other_ns);
		json_writer__kv_uint(&w, "idle_ns", c.idle_ns);
		json_writer__kv_uint(&w, "switches", c.switches);
		json_writer__kv_uint(&w, "unreported", c.unreported);
		json_writer__end_object(&w);
	}
	json_writer__end_array(&w);
	json_writer__key(&w, "gaps");
	json_writer__begin_array(&w);
	for (uint64_t i = 0; i < ngaps; i++) {
		const struct sched_gap *g = sched_model__gap(sm, i);

		json_writer__begin_object(&w);
		json_writer__kv_uint(&w, "start_ns", g->start_ns);
		json_writer__kv_uint(&w, "end_ns", g->end_ns);
		json_writer__kv_uint(&w, "lost", g->lost);
		json_writer__end_object(&w);
	}
	json_writer__end_array(&w);
	json_writer__end_object(&w);
	fputc('\n', f);
	return json_writer__error(&w);
}
