/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * One address space as the kernel keeps it: a sorted set of disjoint areas
 * (VMAs) that mmap/munmap/mprotect/mremap/brk split, replace and merge the
 * way mm/vma.c does, so that the result can be compared line by line with
 * /proc/PID/maps. Knows nothing about records or processes (vm_model.c
 * drives it) and nothing about kinds (vm_classify.c labels it).
 *
 * A sorted array: lookups are O(log n), changes O(n) in the number of live
 * areas (a few hundred in a typical process, 65530 at most by
 * vm.max_map_count), which is simpler than a tree and fast enough here.
 */
#ifndef PROCSCOPE_VM_SPACE_H
#define PROCSCOPE_VM_SPACE_H

#include <stddef.h>
#include <stdint.h>
#include "vm_model.h"

#define VM_PAGE_SIZE	4096ull
#define VM_PAGE_UP(x)	(((x) + VM_PAGE_SIZE - 1) & ~(VM_PAGE_SIZE - 1))

/* Kernel vm_flags bits (include/linux/mm.h) that decide whether areas merge. */
#define VMF_READ	0x00000001ull
#define VMF_WRITE	0x00000002ull
#define VMF_EXEC	0x00000004ull
#define VMF_SHARED	0x00000008ull
#define VMF_MAYSHARE	0x00000080ull	/* MAP_SHARED: maps shows 's' (VM_SHARED only if writable) */
#define VMF_GROWSDOWN	0x00000100ull
#define VMF_PFNMAP	0x00000400ull
#define VMF_LOCKED	0x00002000ull
#define VMF_IO		0x00004000ull
#define VMF_SEQ_READ	0x00008000ull
#define VMF_RAND_READ	0x00010000ull
#define VMF_DONTCOPY	0x00020000ull
#define VMF_DONTEXPAND	0x00040000ull
#define VMF_LOCKONFAULT	0x00080000ull
#define VMF_ACCOUNT	0x00100000ull
#define VMF_NORESERVE	0x00200000ull
#define VMF_HUGETLB	0x00400000ull
#define VMF_WIPEONFORK	0x02000000ull
#define VMF_DONTDUMP	0x04000000ull
#define VMF_MIXEDMAP	0x10000000ull
#define VMF_HUGEPAGE	0x20000000ull
#define VMF_NOHUGEPAGE	0x40000000ull
#define VMF_MERGEABLE	0x80000000ull
#define VMF_PKEY_MASK	0x0000000f00000000ull	/* x86 protection key, bits 32-35 */
#define VMF_SEALED	(1ull << 42)	/* mseal(), 64-bit kernels */
/*
 * Flags compared for a merge: the ones above. The kernel compares all but
 * VM_SOFTDIRTY; MAY* and the rest are not modelled (they follow from the
 * others in every case seen).
 */
#define VMF_MERGE_MASK	(VMF_READ | VMF_WRITE | VMF_EXEC | VMF_SHARED | VMF_GROWSDOWN | \
			 VMF_LOCKED | VMF_SEQ_READ | VMF_RAND_READ | VMF_DONTCOPY | \
			 VMF_LOCKONFAULT | VMF_ACCOUNT | VMF_NORESERVE | VMF_HUGETLB | \
			 VMF_WIPEONFORK | VMF_DONTDUMP | VMF_HUGEPAGE | VMF_NOHUGEPAGE | \
			 VMF_MERGEABLE | VMF_PKEY_MASK | VMF_SEALED)
/* never merged: special mappings ([vdso], [vvar]) and driver maps */
#define VMF_SPECIAL	(VMF_PFNMAP | VMF_IO | VMF_DONTEXPAND | VMF_MIXEDMAP)
/* ours, not the kernel's: an area whose merging rules we cannot know (shared anon) */
#define VMF_NOMERGE	(1ull << 62)

struct vm_area {
	struct vm_region r;	/* public part; r.kind is set by the classifier */
	uint64_t chg_seq;	/* vm_space.seq of the last operation counted in r.changes */
	uint64_t flags;		/* VMF_* */
	uint64_t vpgoff;	/* kernel vm_pgoff in bytes: file offset, or the address an anon area was created at */
	uint64_t ino;		/* 0 for anonymous */
	uint64_t dev;
};

struct vm_space {
	struct vm_area *a;	/* sorted by start, disjoint */
	size_t n;
	size_t cap;
	/*
	 * Operation number, raised by the caller before each call it applies:
	 * an area counts one change per operation however many times that
	 * operation split, stamped or merged it.
	 */
	uint64_t seq;
	/*
	 * Where the last vm_space__lower() landed: one call's lookups fall on
	 * the same area or the next, so checking there first saves most
	 * binary searches (a brk heap cut into thousands of areas). Only a
	 * hint: any value is safe.
	 */
	size_t hint;
	/*
	 * NULL while the array is this space's alone. After a fork it is
	 * shared copy-on-write: REFS counts the spaces holding A, and the
	 * first change to any of them gives it its own copy (vm_space__own()).
	 * A fork is then O(1) and a thousand children that never change
	 * their space hold one array between them.
	 */
	unsigned *refs;
};

/* Who did it and when, stamped on what an operation creates or changes. */
struct vm_stamp {
	uint64_t ts_ns;
	uint32_t tid;
};

/* Index of the area containing ADDR, or -1. */
long vm_space__find(const struct vm_space *s, uint64_t addr);
/* Index of the first area ending above ADDR (== n if none). */
size_t vm_space__lower(const struct vm_space *s, uint64_t addr);

/* Removes [start, end), splitting areas that straddle its ends. 0 or -ENOMEM. */
int vm_space__unmap(struct vm_space *s, uint64_t start, uint64_t end, const struct vm_stamp *st);
/*
 * Maps A over whatever was at [A->r.start, A->r.end) (MAP_FIXED semantics),
 * then merges it with compatible neighbours when MERGE. 0 or -ENOMEM.
 */
int vm_space__map(struct vm_space *s, const struct vm_area *a, bool merge);
/* mprotect(): new r/w/x on [start, end), splitting and re-merging. 0 or -ENOMEM. */
int vm_space__protect(struct vm_space *s, uint64_t start, uint64_t end, uint32_t prot,
		      const struct vm_stamp *st);
/*
 * mremap() that returned NEW_ADDR: shrink, grow in place, or move (keeping
 * vm_pgoff, so a moved anon area merges only where the kernel would).
 * KEEP_OLD: MREMAP_DONTUNMAP or old_len 0 (the source stays mapped). 0 or -ENOMEM.
 */
int vm_space__remap(struct vm_space *s, uint64_t old_addr, uint64_t old_len, uint64_t new_len,
		    uint64_t new_addr, bool keep_old, const struct vm_stamp *st);
/*
 * madvise, mlock, mseal and the like: on [start, end), clears CLEAR then
 * sets SET in every area's flags except those with any of SKIP, splitting
 * and re-merging. 0 or -ENOMEM.
 */
int vm_space__set_flags(struct vm_space *s, uint64_t start, uint64_t end, uint64_t set,
			uint64_t clear, uint64_t skip, const struct vm_stamp *st);

/* One VMA as the kernel has it (ps_vma_ent, vm_pgoff in bytes or VM_PGOFF_UNKNOWN). */
struct vm_kernel_area {
	uint64_t start, end, flags, vpgoff;
};
#define VM_PGOFF_UNKNOWN	UINT64_MAX

/*
 * The kernel's VMAs intersecting [lo, hi) are K[0..n): makes the space say
 * the same there (src/vm_sync.c). Where the boundaries, protections or
 * sharing differ, the areas in the span are replaced by the kernel's,
 * keeping what the model knew of each (file, owner, history); where they
 * agree, only the flags and vm_pgoff are taken. FRESH fills in areas the
 * model had nothing for. Returns 1 if boundaries were corrected, 0 if they
 * agreed, -ENOMEM.
 */
int vm_space__sync(struct vm_space *s, uint64_t lo, uint64_t hi, const struct vm_kernel_area *k,
		   size_t n, const struct vm_area *fresh);

/* Copies SRC into DST (fork), leaving out VM_DONTCOPY areas. 0 or -ENOMEM. */
int vm_space__copy(struct vm_space *dst, const struct vm_space *src);
/*
 * Makes DST the same as SRC sharing SRC's array (see refs), if no area is
 * VM_DONTCOPY (else a copy as vm_space__copy()). 1 if shared, 0 if
 * copied, -ENOMEM.
 */
int vm_space__share(struct vm_space *dst, struct vm_space *src);
/*
 * Gives S an array of its own if it shares one: call before writing to
 * S->a directly (the operations here call it themselves). 0 or -ENOMEM.
 */
int vm_space__own(struct vm_space *s);
/* Gives back the room kept for growth (an exited process's space stays as it is). */
void vm_space__shrink(struct vm_space *s);
/*
 * Keeps only the N largest areas (of equal sizes, the lower ones), in
 * address order, and gives back the rest of the memory. N <= VM_KEEP_MAX.
 */
#define VM_KEEP_MAX 16
void vm_space__keep_largest(struct vm_space *s, size_t n);
void vm_space__clear(struct vm_space *s);
void vm_space__free(struct vm_space *s);

#endif
