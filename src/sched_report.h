/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Scheduling views of `procscope report`: a per-process and per-thread
 * section in text, the per-CPU summary, and the whole report as JSON.
 */
#ifndef PROCSCOPE_SCHED_REPORT_H
#define PROCSCOPE_SCHED_REPORT_H

#include <stdio.h>
#include "coro_model.h"
#include "proc_model.h"
#include "sched_model.h"
#include "vm_model.h"

/* Scheduling lines of process P (its totals, then one line per thread). */
void sched_report__process(FILE *f, const struct sched_model *sm, const struct ps_process *p);
/* Per-CPU occupancy and lost-records gaps, after every process. */
/* ZERO_NS: the session's time zero (session__time_zero()), for printed times. */
void sched_report__summary(FILE *f, const struct sched_model *sm, uint64_t zero_ns);
/*
 * `report --json`: {"processes":[...],"cpus":[...],"gaps":[...]}, only
 * process PID if PID > 0. With CM: "coroutines" for each process
 * (coro_report.h). With VM: "layout_corrections" for the session
 * and for each process (see vm_proc_stats.corrections). Times are CLOCK_MONOTONIC ns as in the records.
 * Names go through json_writer (see there for bytes that are not UTF-8).
 * 0, or -errno if the output could not be written.
 */
int sched_report__json(FILE *f, const struct proc_model *pm, const struct sched_model *sm,
		       const struct vm_model *vm, const struct coro_model *cm, long pid,
		       uint64_t end_ns);

#endif
