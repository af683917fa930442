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
#include "vm_model.h"

struct mem_report;

/* NULL and errno on failure. */
struct mem_report *mem_report__new(struct proc_model *pm);
/* Feed every record in file order, after proc_model__apply(). 0 or -ENOMEM. */
int mem_report__apply(struct mem_report *mr, const struct ps_hdr *h);
void mem_report__process(FILE *f, const struct mem_report *mr, const struct ps_process *p);
void mem_report__free(struct mem_report *mr);

#endif
