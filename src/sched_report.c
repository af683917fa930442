// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Scheduling section of `procscope report` and its --json form.
 *
 * Counters follow the kernel's: nvcsw/nivcsw of a thread alive before
 * recording include the snapshot's values (what /proc said at start), so
 * they compare with /proc at the thread's end; oncpu_ns is the on-CPU time
 * seen in the trace, and oncpu_total_ns adds the snapshot's schedstat.
 */
#include <inttypes.h>
#include <string.h>
#include "sched_report.h"

static double ms(uint64_t ns)
{
	return ns / 1e6;
}

static void print_wakers(FILE *f, const struct sched_thread_stats *s)
{
	if (!s->top_waker_counts[0])
		return;
	fprintf(f, "  woken by");
	for (int i = 0; i < 3 && s->top_waker_counts[i]; i++)
		fprintf(f, " %u(x%u)", s->top_wakers[i], s->top_waker_counts[i]);
}

static void print_stats(FILE *f, const struct sched_thread_stats *s)
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
	print_wakers(f, s);
	if (s->before_trace)
		fprintf(f, "\n%14s before recording: %" PRIu64 " vol / %" PRIu64
			" invol, %.3f ms on-cpu (in the totals; on-cpu total %.3f ms)", "",
			s->snap_nvcsw, s->snap_nivcsw, ms(s->snap_oncpu_ns), ms(s->oncpu_total_ns));
	if (s->inconsistencies)
		fprintf(f, "\n%14s %" PRIu64 " state contradictions: records were lost here", "",
			s->inconsistencies);
	fprintf(f, "\n");
}

void sched_report__process(FILE *f, const struct sched_model *sm, const struct ps_process *p)
{
	struct sched_thread_stats s;

	sched_model__process_stats(sm, p, &s);
	fprintf(f, "  sched:     ");
	print_stats(f, &s);
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
		print_stats(f, &s);
	}
}

void sched_report__summary(FILE *f, const struct proc_model *pm, const struct sched_model *sm)
{
	uint64_t gap_ns, ngaps = sched_model__gaps(sm, &gap_ns);
	struct sched_cpu_stats c;

	(void)pm;
	fprintf(f, "\ncpus (from the switches seen; without -a, \"other\" is any untraced task):\n");
	for (uint32_t i = 0; i < sched_model__ncpus(sm); i++) {
		sched_model__cpu_stats(sm, i, &c);
		fprintf(f, "  cpu %u: traced %.3f ms, other %.3f ms, idle %.3f ms, %" PRIu64
			" switches\n", i, ms(c.traced_ns), ms(c.other_ns), ms(c.idle_ns), c.switches);
	}
	fprintf(f, "lost-records gaps: %" PRIu64, ngaps);
	if (ngaps)
		fprintf(f, " (%.3f ms in all; states there may be wrong)", ms(gap_ns));
	for (uint64_t i = 0; i < ngaps && i < 16; i++) {
		const struct sched_gap *g = sched_model__gap(sm, i);

		fprintf(f, "\n  %.6f s .. %.6f s: %" PRIu64 " records lost",
			(g->start_ns - pm->first_ns) / 1e9, (g->end_ns - pm->first_ns) / 1e9, g->lost);
	}
	fprintf(f, "\n");
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = *s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static void json_stats(FILE *f, const struct sched_thread_stats *s)
{
	fprintf(f, "\"oncpu_ns\":%" PRIu64 ",\"runnable_ns\":%" PRIu64 ",\"sleep_ns\":%" PRIu64
		",\"blocked_ns\":%" PRIu64 ",\"stopped_ns\":%" PRIu64 ",\"unknown_ns\":%" PRIu64
		",\"nvcsw\":%" PRIu64 ",\"nivcsw\":%" PRIu64 ",\"migrations\":%" PRIu64
		",\"wakeups\":%" PRIu64 ",\"runq_latency_ns\":{\"p50\":%" PRIu64 ",\"p99\":%" PRIu64
		",\"max\":%" PRIu64 ",\"samples\":%" PRIu64 "},\"oncpu_total_ns\":%" PRIu64
		",\"inconsistencies\":%" PRIu64 ",\"top_wakers\":[",
		s->oncpu_ns, s->runnable_ns, s->sleep_ns, s->blocked_ns, s->stopped_ns, s->unknown_ns,
		s->nvcsw, s->nivcsw, s->migrations, s->wakeups, s->runq_p50_ns, s->runq_p99_ns,
		s->runq_max_ns, s->runq_samples, s->oncpu_total_ns, s->inconsistencies);
	for (int i = 0; i < 3 && s->top_waker_counts[i]; i++)
		fprintf(f, "%s{\"tid\":%u,\"count\":%u}", i ? "," : "", s->top_wakers[i],
			s->top_waker_counts[i]);
	fprintf(f, "]");
	if (s->exit_seen)
		fprintf(f, ",\"at_exit\":{\"nvcsw\":%" PRIu64 ",\"nivcsw\":%" PRIu64
			",\"oncpu_ns\":%" PRIu64 "}", s->nvcsw_at_exit, s->nivcsw_at_exit,
			s->oncpu_at_exit_ns);
	if (s->before_trace)
		fprintf(f, ",\"before_trace\":{\"nvcsw\":%" PRIu64 ",\"nivcsw\":%" PRIu64
			",\"oncpu_ns\":%" PRIu64 "}", s->snap_nvcsw, s->snap_nivcsw, s->snap_oncpu_ns);
}

static void json_thread(FILE *f, const struct sched_model *sm, const struct ps_thread *t,
			uint64_t end_ns)
{
	struct sched_thread_stats s;

	sched_model__thread_stats(sm, t, &s);
	fprintf(f, "{\"tid\":%u,\"comm\":", t->tid);
	json_str(f, t->comm);
	fprintf(f, ",\"start_ns\":%" PRIu64 ",\"end_ns\":%" PRIu64 ",\"alive\":%s"
		",\"born_in_trace\":%s,\"is_thread\":%s,\"creator_tid\":%u,\"old_tid\":%u"
		",\"last_cpu\":%d,", t->start_ns, t->exited ? t->end_ns : end_ns,
		t->exited ? "false" : "true", t->born_in_trace ? "true" : "false",
		t->is_thread ? "true" : "false", t->creator_tid, t->old_tid, s.last_cpu);
	json_stats(f, &s);
	fprintf(f, "}");
}

void sched_report__json(FILE *f, const struct proc_model *pm, const struct sched_model *sm,
			long pid, uint64_t end_ns)
{
	uint64_t gap_ns, ngaps = sched_model__gaps(sm, &gap_ns);
	struct sched_thread_stats s;
	struct sched_cpu_stats c;
	bool first = true;

	fprintf(f, "{\"first_ns\":%" PRIu64 ",\"end_ns\":%" PRIu64 ",\"lost_records\":%" PRIu64
		",\"processes\":[", pm->first_ns, end_ns, pm->lost_total);
	for (size_t i = 0; i < pm->nprocs; i++) {
		const struct ps_process *p = pm->order[i];

		if (pid > 0 && p->pid != (uint64_t)pid)
			continue;
		sched_model__process_stats(sm, p, &s);
		fprintf(f, "%s\n{\"pid\":%u,\"ppid\":%u,\"comm\":", first ? "" : ",", p->pid, p->ppid);
		first = false;
		json_str(f, p->comm);
		fprintf(f, ",\"exe\":");
		json_str(f, p->exe);
		fprintf(f, ",\"start_ns\":%" PRIu64 ",\"end_ns\":%" PRIu64 ",\"alive\":%s"
			",\"exit_code\":%d,\"born_in_trace\":%s,\"creator_tid\":%u,\"vfork\":%s,",
			p->start_ns, p->exited ? p->end_ns : end_ns, p->exited ? "false" : "true",
			p->exit_code, p->born_in_trace ? "true" : "false", p->creator_tid,
			p->vfork ? "true" : "false");
		json_stats(f, &s);
		fprintf(f, ",\"threads\":[");
		for (size_t j = 0; j < p->nthreads; j++) {
			fprintf(f, "%s\n  ", j ? "," : "");
			json_thread(f, sm, p->threads[j], end_ns);
		}
		fprintf(f, "]}");
	}
	fprintf(f, "],\n\"cpus\":[");
	for (uint32_t i = 0; i < sched_model__ncpus(sm); i++) {
		sched_model__cpu_stats(sm, i, &c);
		fprintf(f, "%s{\"cpu\":%u,\"traced_ns\":%" PRIu64 ",\"other_ns\":%" PRIu64
			",\"idle_ns\":%" PRIu64 ",\"switches\":%" PRIu64 "}", i ? "," : "", i,
			c.traced_ns, c.other_ns, c.idle_ns, c.switches);
	}
	fprintf(f, "],\n\"gaps\":[");
	for (uint64_t i = 0; i < ngaps; i++) {
		const struct sched_gap *g = sched_model__gap(sm, i);

		fprintf(f, "%s{\"start_ns\":%" PRIu64 ",\"end_ns\":%" PRIu64 ",\"lost\":%" PRIu64 "}",
			i ? "," : "", g->start_ns, g->end_ns, g->lost);
	}
	fprintf(f, "]}\n");
}
