/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What a PS_REC_MEMOP call (madvise, mlock*, mseal, pkey_mprotect) does to
 * the flags of the areas it covers, as mm/madvise.c, mm/mlock.c, mm/mseal.c
 * and mm/mprotect.c do it. Pure: vm_model.c applies the effect.
 */
#ifndef PROCSCOPE_VM_MEMOP_H
#define PROCSCOPE_VM_MEMOP_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>
#include "records.h"

struct vm_memop_effect {
	uint64_t start, end;	/* bytes, page-aligned; the whole space when ALL */
	uint64_t set, clear;	/* VMF_* bits */
	uint64_t skip;		/* areas with any of these keep their flags */
	bool all;		/* mlockall, munlockall */
	bool def_flags;		/* also sets the flags of areas mapped from now on (MCL_FUTURE) */
	uint64_t def_set;	/* those flags (VM_LOCKED, VM_LOCKONFAULT), replacing earlier ones */
};

/* true if R changed vm_flags (then E says how), false if it changed none. */
bool vm_memop__effect(const struct ps_memop *r, struct vm_memop_effect *e);

#endif
