/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Coroutine views: the section of `procscope report`, its --json array, and
 * what `layout` says of a region that holds coroutine stacks.
 */
#ifndef PROCSCOPE_CORO_REPORT_H
#define PROCSCOPE_CORO_REPORT_H

#include <stdio.h>
#include "coro_model.h"
#include "json_writer.h"

/* Coroutine section of process P; nothing if it has no coroutine stacks. */
void coro_report__process(FILE *f, const struct coro_model *cm, const struct ps_process *p);
/*
 * "coroutines": [{"stack_start": "0x..", "stack_end": "0x..", "kind": ..., "resumes": N,
 * "resumes_exact": bool, "oncpu_ns": N, "tids": [..]}] of PID, as a key of the open object.
 */
void coro_report__json(struct json_writer *w, const struct coro_model *cm, uint32_t pid);

struct coro_region_info {
	const char *kind;	/* "coroutine_stack", "goroutine_stacks" or "sigaltstack" when one fills it, else NULL */
	size_t nstacks;		/* confirmed stacks within the region */
	size_t nthreads;	/* distinct threads that ran on them */
	uint64_t resumes;
};

/* What PID's coroutine stacks make of region [START, END). */
void coro_report__region(const struct coro_model *cm, uint32_t pid, uint64_t start,
			 uint64_t end, struct coro_region_info *out);

#endif
