/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Unwinds recorded user stacks (PS_REC_USTACK) offline with elfutils'
 * libdwfl, as perf --call-graph dwarf does: the recorded registers are the
 * first frame, memory reads are served from the recorded stack bytes, and
 * each next frame comes from the module's .eh_frame/.debug_frame CFI, so
 * code without frame pointers unwinds right.
 *
 * The modules are the process's file mappings as the address-space model
 * has them at the stack's time (exited processes included: stacks are
 * unwound as the replay reaches them). One Dwfl per process, rebuilt only
 * after a mapping over one of its modules changed; libdwfl keeps each
 * module's CFI between stacks. A stack unwound before with the same inputs
 * is not unwound again (unwind_cache.h).
 */
#ifndef PROCSCOPE_UNWIND_H
#define PROCSCOPE_UNWIND_H

#include <stdint.h>
#include "symbols.h"
#include "vm_model.h"

#define UNWIND_MAX_FRAMES	128

struct unwinder;

/* NULL and errno. SYMS gives module ids (and says which files are the recorded ones). */
struct unwinder *unwinder__new(struct symbols *syms, const struct vm_model *vm);
void unwinder__free(struct unwinder *u);
/* PID's file mappings changed: rebuild its modules before its next stack. */
void unwinder__invalidate(struct unwinder *u, uint32_t pid);
/* PID mapped or unmapped [START, START + LEN): rebuild if that touches a module. */
void unwinder__changed(struct unwinder *u, uint32_t pid, uint64_t start, uint64_t len);
/* PID is gone (or exec'd): free its state. */
void unwinder__forget(struct unwinder *u, uint32_t pid);
/*
 * Unwinds S (of process PID) into OUT, innermost first, at most MAX
 * frames: call sites (return address - 1; the first frame's own pc) as
 * module and address in the module's file. Returns the number of frames,
 * at least 1 when the record has registers, 0 when it has none; -ENOMEM.
 */
int unwinder__unwind(struct unwinder *u, uint32_t pid, const struct ps_ustack *s,
		     struct stack_frame *out, int max);

#endif
