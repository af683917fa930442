// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The model checked against the kernel's own VMAs (PS_REC_VMA_SYNC).
 *
 * vm_space.c applies each call the way mm/vma.c would, but some of the
 * kernel's choices depend on state no syscall shows: whether two anonymous
 * areas share an anon_vma (areas faulted separately never merge), flags set
 * by the kernel itself, a record lost in the ring buffer. After each call
 * the probes read the VMAs around it; here the model's areas in that span
 * are compared with them and, where the boundaries or protections differ,
 * replaced. O(log n + areas in the span), plus O(n) to move the areas above
 * when their number changes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "vm_space.h"

/* Flags that are ours, not the kernel's: kept across a sync. */
#define VMF_OURS	VMF_NOMERGE

/* MAP_SHARED as /proc/PID/maps tells it: a read-only file's shared map has VM_MAYSHARE only */
static bool k_shared(const struct vm_kernel_area *k)
{
	return k->flags & (VMF_SHARED | VMF_MAYSHARE);
}

static bool same_shape(const struct vm_area *a, const struct vm_kernel_area *k)
{
	return a->r.start == k->start && a->r.end == k->end && a->r.prot == (k->flags & 7) &&
	       a->r.shared == k_shared(k);
}

/* Takes the kernel's flags and vm_pgoff into an area of the same shape. */
static void adopt(struct vm_area *a, const struct vm_kernel_area *k)
{
	a->flags = (k->flags & ~VMF_OURS) | (a->flags & VMF_OURS);
	if (k->vpgoff == VM_PGOFF_UNKNOWN)
		return;	/* a snapshot's anonymous area: the model's guess stays */
	a->vpgoff = k->vpgoff;
	if (a->ino)
		a->r.pgoff = k->vpgoff;
}

/* The model's area of A[0..n) holding START, else the first overlapping [start, end), else NULL. */
static const struct vm_area *model_at(const struct vm_area *a, size_t n, uint64_t start,
				      uint64_t end)
{
	for (size_t i = 0; i < n; i++)
		if (a[i].r.start <= start && start < a[i].r.end)
			return &a[i];
	for (size_t i = 0; i < n; i++)
		if (a[i].r.start < end && start < a[i].r.end)
			return &a[i];
	return NULL;
}

int vm_space__sync(struct vm_space *s, uint64_t lo, uint64_t hi, const struct vm_kernel_area *k,
		   size_t n, const struct vm_area *fresh)
{
	size_t i = vm_space__lower(s, lo), j;
	struct vm_area *old = NULL, *repl = NULL;
	uint64_t span_lo = lo, span_hi = hi;
	int err = 0;
	if (vm_space__own(s))
		return -ENOMEM;

	for (j = i; j < s->n && s->a[j].r.start < hi; j++)
		;
	if (j - i == n) {
		size_t c;

		for (c = 0; c < n && same_shape(&s->a[i + c], &k[c]); c++)
			;
		if (c == n) {
			for (c = 0; c < n; c++)
				adopt(&s->a[i + c], &k[c]);
			return 0;
		}
	}

	/*
	 * They differ: the span [lo, hi), widened to the kernel's whole VMAs,
	 * becomes what the kernel says. Model areas reaching outside it keep
	 * their outer parts (nothing is known there).
	 */
	if (n && k[0].start < span_lo)
		span_lo = k[0].start;
	if (n && k[n - 1].end > span_hi)
		span_hi = k[n - 1].end;
	i = vm_space__lower(s, span_lo);
	for (j = i; j < s->n && s->a[j].r.start < span_hi; j++)
		;
	if (j > i) {
		old = malloc((j - i) * sizeof(*old));
		if (!old)
			return -ENOMEM;
		memcpy(old, &s->a[i], (j - i) * sizeof(*old));
	}
	if (n) {
		repl = calloc(n, sizeof(*repl));
		if (!repl) {
			err = -ENOMEM;
			goto free_old;
		}
	}
	for (size_t c = 0; c < n; c++) {
		const struct vm_area *was = model_at(old, j - i, k[c].start, k[c].end);
		struct vm_area *a = &repl[c];

		*a = was ? *was : *fresh;
		a->r.start = k[c].start;
		a->r.end = k[c].end;
		a->r.prot = k[c].flags & 7;
		a->r.shared = k_shared(&k[c]);
		if (k[c].vpgoff == VM_PGOFF_UNKNOWN)
			a->vpgoff = k[c].start;
		adopt(a, &k[c]);
	}
	err = vm_space__unmap(s, span_lo, span_hi, NULL);
	for (size_t c = 0; c < n && !err; c++)
		err = vm_space__map(s, &repl[c], false);
	free(repl);
free_old:
	free(old);
	return err ? err : 1;
}
