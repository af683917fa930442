/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Memory section of `procscope report`: per process, heap (start, peak,
 * final, brk calls, a small chart of its size over time), anonymous maps,
 * the largest maps, main stack and per-thread stack depth peaks, RSS peak.
 */
#ifndef PROCSCOPE_MEM_REPORT_H
#define PROCSCOPE_MEM_REPORT_H

#include <stdio.h>
#include "proc_model.h"
#include "session.h"
#include "vm_model.h"

/* Largest maps printed per process (what report keeps of an exited layout). */
#define MEM_REPORT_TOP_MAPS 5

struct mem_report;

/* NULL and errno on failure. */
struct mem_report *mem_report__new(void);
/* What the session's address-space model calls as counters move (valid while MR lives). */
const struct vm_callbacks *mem_report__vm_callbacks(struct mem_report *mr);
/* 0, or -ENOMEM if a heap series could not be kept. */
int mem_report__error(const struct mem_report *mr);
/* After the replay: the memory section of P, from S's address-space model. */
void mem_report__process(FILE *f, const struct mem_report *mr, struct session *s,
			 const struct ps_process *p);
void mem_report__free(struct mem_report *mr);

#endif
