/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Labels the areas of an address space: text/rodata/data of each ELF image
 * from its program headers (libelf, read once per file), bss, heap, main
 * stack, thread stacks and their guards, vdso/vvar, anonymous and file maps.
 */
#ifndef PROCSCOPE_VM_CLASSIFY_H
#define PROCSCOPE_VM_CLASSIFY_H

#include "vm_space.h"

/* What the kernel's own labels depend on (fs/proc/task_mmu.c). */
struct vm_facts {
	uint64_t start_brk;
	uint64_t brk;
	uint64_t start_stack;
};

struct vm_classifier;

/* NULL and errno on failure. */
struct vm_classifier *vm_classify__new(void);
/* Sets a[i].r.kind for every area. O(n), plus one ELF read per new file. */
void vm_classify__space(struct vm_classifier *c, struct vm_area *a, size_t n,
			const struct vm_facts *f);
/*
 * Sets the kind of areas [LO, HI) of the N in A, in order; a[LO - 1] must be
 * labelled already. An area's kind depends on itself, the facts and its two
 * neighbours only, so what one change touched can be relabelled alone.
 */
void vm_classify__range(struct vm_classifier *c, struct vm_area *a, size_t n, size_t lo, size_t hi,
			const struct vm_facts *f);
void vm_classify__free(struct vm_classifier *c);

#endif
