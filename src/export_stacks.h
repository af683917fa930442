/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Call stacks for the timeline exports (perfetto, chrome, speedscope): the
 * stack model fed from the export's records, plus what every such format
 * needs around it.
 *
 * A memory call's stack is a record of its own that comes right after the
 * call (same thread, same time), so each memory call is held until the
 * next record of its thread: the format gets the call with its stack id,
 * or with -1 when no stack followed (--no-stacks, munmap of an older file,
 * a lost record). One held call per thread at most.
 *
 * Names are interned into dense ids (frames, states), so a format writes
 * each name once and refers to it by number.
 *
 * Memory: the stack model's distinct stacks, the distinct names, one held
 * call per live thread.
 */
#ifndef PROCSCOPE_EXPORT_STACKS_H
#define PROCSCOPE_EXPORT_STACKS_H

#include <stdint.h>
#include "export.h"
#include "stack_model.h"

struct export_stacks_callbacks {
	/* A memory call (export__mem_call() reads it) and its stack id, or -1. */
	void (*mem_call)(void *ctx, const struct ps_hdr *h, int64_t stack);
	/* Every stack record, with the id it was interned as (off-CPU stacks, samples). */
	void (*stack)(void *ctx, const struct ps_ustack *s, uint32_t id);
	/* The stack model's samples (offcpu ones only if the format feeds intervals). */
	void (*sample)(void *ctx, const struct stack_sample *s);
	void *ctx;
};

struct export_stacks;

/* NULL and errno. */
struct export_stacks *export_stacks__new(struct session *s, const struct export_stacks_callbacks *cb);
void export_stacks__free(struct export_stacks *x);
/* Each session record, after the models: 0 or -errno. */
int export_stacks__record(struct export_stacks *x, const struct session_event *ev);
/* A scheduling interval (for the off-CPU samples). */
void export_stacks__interval(struct export_stacks *x, const struct sched_interval *iv);
/* Hands out the calls still held; 0 or -errno. */
int export_stacks__finish(struct export_stacks *x);
struct stack_model *export_stacks__model(struct export_stacks *x);

/* Dense id of NAME (0, 1, ...), interned; -ENOMEM. */
int64_t export_stacks__name_id(struct export_stacks *x, const char *name);
/* The name of id ID; there are export_stacks__nnames() of them. */
const char *export_stacks__name(const struct export_stacks *x, uint32_t id);
uint32_t export_stacks__nnames(const struct export_stacks *x);
/* Dense name id of a stack's frame (F from stack_model__frames()); -ENOMEM. */
int64_t export_stacks__frame_name_id(struct export_stacks *x, const struct stack_frame *f);

#endif
