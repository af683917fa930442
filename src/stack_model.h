/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Stack model: pairs each recorded stack (PS_REC_USTACK) with what it is
 * the stack of, unwinds it (unwind.c) and hands the views samples of
 *   heap      bytes the heap grew by at a brk,
 *   mmap      bytes of a successful anonymous mmap,
 *   mprotect  bytes of a successful mprotect,
 *   offcpu    ns a thread slept or blocked after a switch-out,
 *   oncpu     one CPU-clock sample,
 * each with an interned stack id (equal stacks share one id). Frames are
 * named lazily through symbols.c.
 *
 * A view feeds it every session event (stack_model__apply(), after the
 * address-space model: the session must run SESSION_VM) and, for offcpu,
 * every scheduling interval (stack_model__interval(): SESSION_SCHED).
 * Memory: the distinct stacks, plus one pending entry per thread.
 */
#ifndef PROCSCOPE_STACK_MODEL_H
#define PROCSCOPE_STACK_MODEL_H

#include <stdbool.h>
#include <stdint.h>
#include "sched_model.h"
#include "session.h"
#include "symbols.h"

enum stack_kind { SK_HEAP, SK_MMAP, SK_MPROTECT, SK_OFFCPU, SK_ONCPU, SK_MAX };

/* "heap", "mmap", "mprotect", "offcpu", "oncpu" */
const char *stack_model__kind_name(enum stack_kind k);
/* The kind named S, or -EINVAL. */
int stack_model__parse_kind(const char *s);
/* What a kind's values count: "bytes", "ns", "samples". */
const char *stack_model__kind_unit(enum stack_kind k);

struct stack_sample {
	enum stack_kind kind;
	uint32_t tgid;
	uint32_t tid;
	uint32_t stack;		/* stack id */
	uint64_t ts_ns;		/* the call, the switch-out, the sample */
	uint64_t value;		/* bytes, ns (offcpu: ts_ns + value is the wakeup), 1 */
};

struct stack_callbacks {
	void (*sample)(void *ctx, const struct stack_sample *s);
	void *ctx;
};

struct stack_model_stats {
	uint64_t stacks;	/* stack records */
	uint64_t distinct;	/* stack ids */
	uint64_t frames;	/* user frames unwound, summed */
	uint64_t one_frame;	/* stacks that did not unwind past their first frame */
	uint64_t unpaired;	/* stacks without the record they belong to */
};

struct stack_model;

/* NULL and errno. CB may be NULL (stats only). */
struct stack_model *stack_model__new(struct session *s, const struct stack_callbacks *cb);
void stack_model__free(struct stack_model *m);
int stack_model__apply(struct stack_model *m, const struct session_event *ev);
void stack_model__interval(struct stack_model *m, const struct sched_interval *iv);
/* Frames of stack ID, innermost first (kernel frames, then user frames). */
const struct stack_frame *stack_model__frames(const struct stack_model *m, uint32_t id,
					      uint32_t *n);
/* A frame's name (see symbols__name()), valid until stack_model__free(). */
const char *stack_model__frame_name(struct stack_model *m, const struct stack_frame *f,
				    bool with_line);
/* The file of a frame's module (symbols__module_path()). */
const char *stack_model__module_path(const struct stack_model *m, uint32_t module);
/*
 * The build-id the recorder read from MODULE's file (symbols__module_buildid());
 * returns true if the file at its path is still the recorded one.
 */
bool stack_model__module_file(struct stack_model *m, uint32_t module, const uint8_t **build_id,
			      uint32_t *len);
const struct stack_model_stats *stack_model__stats(const struct stack_model *m);
/* The id of the stack record the last stack_model__apply() took; -1 if it took none. */
int64_t stack_model__last_stack(const struct stack_model *m);

#endif
