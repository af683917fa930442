/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Remembers unwound stacks (unwind.c) so that the same stack seen again is
 * not unwound again: a session's blocking switch-outs are mostly the same
 * few call sites, and libdwfl costs microseconds per stack.
 *
 * An unwind is a function of what it reads: the process's modules and
 * regions (named by an epoch the unwinder bumps whenever it rebuilds them
 * and the address-space model's generation), the registers its rules use
 * (a mask: SP, the frame pointer, the PC and those the frames' CFI names;
 * a loop counter in r12 then does not make every stack new), and the stack
 * words the unwinder asked for. An entry keeps those words (offset from SP
 * and value, or "was outside the copy"), so a later stack with the same
 * key hits only if every one of them reads the same in its own copy: the
 * unwinder would then ask for the same words and get the same frames.
 * Bytes it never read (locals deeper in the frames) do not matter.
 *
 * Bounded: a 2-way set-associative table, least recently used of the two
 * replaced, and a byte budget over all entries (UWC_BUDGET).
 */
#ifndef PROCSCOPE_UNWIND_CACHE_H
#define PROCSCOPE_UNWIND_CACHE_H

#include <stdint.h>
#include "symbols.h"

#define UWC_NREGS	17	/* PS_STK_NREGS */
#define UWC_ALL_REGS	((1u << UWC_NREGS) - 1)
/* DWARF numbers of the registers every key has: frame pointer, SP, PC */
#define UWC_REG_FP	6
#define UWC_REG_SP	7
#define UWC_REG_PC	16
/* An unwind that read more words than this is not kept (never seen: ~2 per frame). */
#define UWC_MAX_READS	1024

struct uwc_key {
	uint32_t pid;
	int32_t max;		/* frames asked for */
	uint64_t epoch;		/* the unwinder's modules of PID */
	uint64_t vm_gen;	/* vm_model__generation(): the regions */
	uint64_t regs[UWC_NREGS];
};

/* One word the unwinder asked for: OFF bytes above SP; OK: inside the copy, VAL. */
struct uwc_read {
	uint64_t off;
	uint64_t val;
	uint64_t ok;
};

struct unwind_cache;

struct unwind_cache *unwind_cache__new(void);
void unwind_cache__free(struct unwind_cache *c);
/*
 * The frames of a stack with KEY whose copy is STACK (LEN bytes): copied
 * to OUT (at most KEY->max) and their number, or -1 when not kept.
 */
int unwind_cache__get(struct unwind_cache *c, const struct uwc_key *key, const uint8_t *stack,
		      uint32_t len, struct stack_frame *out);
/*
 * Keeps N frames of KEY, unwound from the registers in MASK (bit i: DWARF
 * register i; the others may differ on a hit) and the NREADS words READS.
 * Failure is silent.
 */
void unwind_cache__put(struct unwind_cache *c, const struct uwc_key *key, uint32_t mask,
		       const struct uwc_read *reads, uint32_t nreads,
		       const struct stack_frame *frames, int n);

#endif
