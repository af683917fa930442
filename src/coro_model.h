/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Coroutine model: user-level stack switches seen from the kernel side.
 *
 * Passive, for every coroutine library at once: each recorded user stack
 * pointer (the SP at every switch-out and at every CPU sample) is placed
 * in the address space
 * (vm_model). A thread whose SP lies outside its own stack runs on another
 * stack: the alternate signal stack it installed (PS_REC_SIGALTSTACK, always
 * recorded) or a coroutine stack. Without --coroutines a coroutine stack is
 * the whole region (VMA) holding the SP: exact for stacks that have a
 * mapping of their own (mmap'd, or malloc'd above glibc's mmap threshold),
 * one "stack" for all those carved from the heap. With --coroutines the
 * makecontext/make_fcontext records give each stack's exact bounds and the
 * swapcontext/setcontext/jump_fcontext records each switch's time.
 *
 * Resumes: with switch records, the switches to the stack (exact); without,
 * the switch-outs at which a thread is seen on a stack it was not on at its
 * previous one, or which another thread ran last (a lower bound: a
 * coroutine resumed and left between two switch-outs is not seen).
 *
 * On-CPU: each run of a thread (switch-in to switch-out) has the kernel's
 * own length (growth of sum_exec_runtime); it is split among the stacks the
 * thread ran on during the run in proportion to wall time between the
 * switches, and without switch records goes whole to the stack the thread
 * is on at the switch-out.
 *
 * A region seen under one thread only is its own stack unless something
 * says otherwise, so nothing is called a coroutine stack that is not one:
 * a stack counts ("confirmed") when its bounds came from makecontext, when
 * two threads ran on it, or when a thread ran on it and also on its own
 * known stack or on another stack. Threads alive before the recording whose
 * own stack the layout does not know need one of the first two.
 *
 * Feed every record after vm_model__apply() of the same record. Memory:
 * per process its stacks, per thread a few words.
 */
#ifndef PROCSCOPE_CORO_MODEL_H
#define PROCSCOPE_CORO_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "proc_model.h"
#include "vm_model.h"

enum coro_kind {
	CORO_KIND_COROUTINE = 1,
	CORO_KIND_SIGALTSTACK,
};

/* coro_stack.bounds: where start/end come from */
#define CORO_FROM_REGION	1	/* the region holding the SPs (passive) */
#define CORO_FROM_CALL		2	/* makecontext/make_fcontext's stack argument */
#define CORO_FROM_SIGALTSTACK	3	/* sigaltstack(2) */

struct coro_stack {
	uint64_t start;
	uint64_t end;		/* exclusive */
	enum coro_kind kind;
	unsigned bounds;	/* CORO_FROM_* */
	enum vm_kind region_kind;	/* CORO_FROM_REGION: the region's kind (VK_HEAP: shared by many) */
	uint32_t pid;
	uint32_t id;		/* 1, 2, ... in order of discovery in its process */
	bool confirmed;		/* see above: only confirmed stacks are shown */
	uint64_t first_ns;	/* first seen in use */
	uint64_t last_ns;
	uint64_t resumes;
	uint64_t oncpu_ns;
	uint64_t sp_samples;	/* switch-outs with an SP on it */
	uint32_t last_tid;	/* thread that ran it last */
	uint32_t *tids;		/* distinct threads that ran it, in order of appearance */
	size_t ntids;
	size_t tids_cap;
};

/* A span of time in which thread TID was on STACK (a coroutine or alternate signal stack). */
struct coro_segment {
	uint32_t tid;
	uint32_t tgid;
	const struct coro_stack *stack;
	uint64_t start_ns;
	uint64_t end_ns;
	bool exact;		/* both ends are switches seen by --coroutines */
};

struct coro_callbacks {
	void (*segment)(void *ctx, const struct coro_segment *seg);	/* may be NULL */
	void *ctx;
};

struct coro_model;

/* NULL and errno on failure. VM must be fed the same records first; CB may be NULL. */
struct coro_model *coro_model__new(struct proc_model *pm, const struct vm_model *vm,
				   const struct coro_callbacks *cb);
/* T: proc_model__resolve(H), which the model does not look up again. 0 or -ENOMEM. */
int coro_model__apply(struct coro_model *m, const struct ps_hdr *h, struct ps_thread *t);
/* Ends every thread's open segment at END_NS. */
void coro_model__finish(struct coro_model *m, uint64_t end_ns);
/* Calls FN for each confirmed stack of PID, lowest address first. */
void coro_model__for_each_stack(const struct coro_model *m, uint32_t pid,
				void (*fn)(void *ctx, const struct coro_stack *s), void *ctx);
/* Confirmed stacks of PID (all of them if PID is 0). */
size_t coro_model__count(const struct coro_model *m, uint32_t pid);
/* Whether PID's switches were recorded (--coroutines): resumes are exact. */
bool coro_model__exact(const struct coro_model *m, uint32_t pid);
void coro_model__free(struct coro_model *m);

#endif
