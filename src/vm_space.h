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
#define VMF_GROWSDOWN	0x00000100ull
#define VMF_PFNMAP	0x00000400ull
#define VMF_LOCKED	0x00002000ull
#define VMF_IO		0x00004000ull
#define VMF_DONTCOPY	0x00020000ull
#define VMF_DONTEXPAND	0x00040000ull
#define VMF_ACCOUNT	0x00100000ull
#define VMF_NORESERVE	0x00200000ull
#define VMF_HUGETLB	0x00400000ull
#define VMF_MIXEDMAP	0x10000000ull
#define VMF_HUGEPAGE	0x20000000ull
#define VMF_NOHUGEPAGE	0x40000000ull
/* flags compared for a merge: the ones above; MAY*, SOFTDIRTY and the rest are not modelled */
#define VMF_MERGE_MASK	(VMF_READ | VMF_WRITE | VMF_EXEC | VMF_SHARED | VMF_GROWSDOWN | \
			 VMF_LOCKED | VMF_DONTCOPY | VMF_ACCOUNT | VMF_NORESERVE | \
			 VMF_HUGETLB | VMF_HUGEPAGE | VMF_NOHUGEPAGE)
/* never merged: special mappings ([vdso], [vvar]) and driver maps */
#define VMF_SPECIAL	(VMF_PFNMAP | VMF_IO | VMF_DONTEXPAND | VMF_MIXEDMAP)
/* ours, not the kernel's: an area whose merging rules we cannot know (shared anon) */
#define VMF_NOMERGE	(1ull << 62)

struct vm_area {
	struct vm_region r;	/* public part; r.kind is set by the classifier */
	uint64_t flags;		/* VMF_* */
	uint64_t vpgoff;	/* kernel vm_pgoff in bytes: file offset, or the address an anon area was created at */
	uint64_t ino;		/* 0 for anonymous */
	uint64_t dev;
};

struct vm_space {
	struct vm_area *a;	/* sorted by start, disjoint */
	size_t n;
	size_t cap;
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
/* Copies SRC into DST (fork), leaving out VM_DONTCOPY areas. 0 or -ENOMEM. */
int vm_space__copy(struct vm_space *dst, const struct vm_space *src);
/* Gives back the room kept for growth (an exited process's space stays as it is). */
void vm_space__shrink(struct vm_space *s);
void vm_space__clear(struct vm_space *s);
void vm_space__free(struct vm_space *s);

#endif
