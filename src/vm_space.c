// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The interval map of one address space, with the kernel's split and merge
 * rules (mm/vma.c): two neighbours merge when they touch, have the same
 * flags, the same file (or none) and contiguous vm_pgoff. Anonymous areas
 * get vm_pgoff = address >> PAGE_SHIFT when created and keep it when moved,
 * which is why a moved anon area rarely merges with its new neighbours.
 * Not modelled: anon_vma compatibility (areas faulted separately after a
 * fork), mempolicies, userfaultfd, madvise flag changes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "vm_space.h"

long vm_space__find(const struct vm_space *s, uint64_t addr)
{
	size_t i = vm_space__lower(s, addr);

	return i < s->n && s->a[i].r.start <= addr ? (long)i : -1;
}

/* I is the first area ending above ADDR. */
static inline bool lower_is(const struct vm_space *s, size_t i, uint64_t addr)
{
	return i < s->n && s->a[i].r.end > addr && (!i || s->a[i - 1].r.end <= addr);
}

size_t vm_space__lower(const struct vm_space *s, uint64_t addr)
{
	size_t lo = 0, hi = s->n, h = s->hint;

	if (lower_is(s, h, addr))
		return h;
	if (lower_is(s, h + 1, addr)) {
		lo = h + 1;
	} else {
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (s->a[mid].r.end <= addr)
				lo = mid + 1;
			else
				hi = mid;
		}
	}
	/* the hint is a cache, not state: queries on a const space may move it */
	((struct vm_space *)s)->hint = lo;
	return lo;
}

static int reserve(struct vm_space *s, size_t extra)
{
	struct vm_area *a;
	size_t cap;

	if (s->n + extra <= s->cap)
		return 0;
	cap = s->cap ? s->cap * 2 : 32;
	while (cap < s->n + extra)
		cap *= 2;
	a = realloc(s->a, cap * sizeof(*a));
	if (!a)
		return -ENOMEM;
	s->a = a;
	s->cap = cap;
	return 0;
}

static int insert_at(struct vm_space *s, size_t i, const struct vm_area *a)
{
	if (reserve(s, 1))
		return -ENOMEM;
	memmove(&s->a[i + 1], &s->a[i], (s->n - i) * sizeof(*a));
	s->a[i] = *a;
	s->n++;
	return 0;
}

static void remove_range(struct vm_space *s, size_t i, size_t j)
{
	if (j > i && s->n > j)
		memmove(&s->a[i], &s->a[j], (s->n - j) * sizeof(*s->a));
	s->n -= j - i;
}

/* One change per operation (vm_space.seq), however often it touches the area. */
static void count_change(const struct vm_space *s, struct vm_area *a)
{
	if (a->chg_seq == s->seq && s->seq)
		return;
	a->chg_seq = s->seq;
	a->r.changes++;
}

static void stamp(struct vm_space *s, struct vm_area *a, const struct vm_stamp *st, uint32_t how)
{
	count_change(s, a);
	a->r.how |= how;
	if (st)
		a->r.changed_ns = st->ts_ns;
}

/* Splits the area containing ADDR so that an area starts at ADDR. */
static int split_at(struct vm_space *s, uint64_t addr, const struct vm_stamp *st)
{
	long i = vm_space__find(s, addr);
	struct vm_area hi;
	uint64_t delta;

	if (i < 0 || s->a[i].r.start == addr)
		return 0;
	hi = s->a[i];
	delta = addr - hi.r.start;
	hi.r.start = addr;
	hi.vpgoff += delta;
	if (hi.ino)
		hi.r.pgoff += delta;
	if (insert_at(s, i + 1, &hi))
		return -ENOMEM;
	s->a[i].r.end = addr;
	stamp(s, &s->a[i], st, VM_CHG_SPLIT);
	stamp(s, &s->a[i + 1], st, VM_CHG_SPLIT);
	return 0;
}

static bool mergeable(const struct vm_area *lo, const struct vm_area *hi)
{
	if (lo->r.end != hi->r.start)
		return false;
	if ((lo->flags | hi->flags) & (VMF_SPECIAL | VMF_NOMERGE))
		return false;
	if ((lo->flags & VMF_MERGE_MASK) != (hi->flags & VMF_MERGE_MASK))
		return false;
	if (lo->ino != hi->ino || lo->dev != hi->dev || lo->r.path != hi->r.path)
		return false;
	return lo->vpgoff + (lo->r.end - lo->r.start) == hi->vpgoff;
}

/*
 * LO takes in HI, the area right above it (mergeable() said so). The
 * merged area's history is the longer of the two (a split and the merge
 * back are one history, not two), plus the merge itself.
 */
static void absorb(struct vm_space *s, struct vm_area *lo, const struct vm_area *hi)
{
	if (hi->r.created_ns < lo->r.created_ns) {
		lo->r.created_ns = hi->r.created_ns;
		lo->r.created_tid = hi->r.created_tid;
	}
	if (!lo->r.tid)
		lo->r.tid = hi->r.tid;
	if (hi->r.changes > lo->r.changes)
		lo->r.changes = hi->r.changes;
	if (hi->chg_seq > lo->chg_seq)
		lo->chg_seq = hi->chg_seq;
	count_change(s, lo);
	lo->r.how |= hi->r.how | VM_CHG_MERGE;
	if (hi->r.changed_ns > lo->r.changed_ns)
		lo->r.changed_ns = hi->r.changed_ns;
	if (hi->r.created_ns > lo->r.changed_ns)
		lo->r.changed_ns = hi->r.created_ns;
	lo->r.end = hi->r.end;
}

/* Merges area I with I+1 if the kernel would; true if it did. */
static bool merge_next(struct vm_space *s, size_t i)
{
	if (i + 1 >= s->n || !mergeable(&s->a[i], &s->a[i + 1]))
		return false;
	absorb(s, &s->a[i], &s->a[i + 1]);
	remove_range(s, i + 1, i + 2);
	return true;
}

/* Tries merges among areas [i - 1, j] after a change to [i, j). */
static void merge_span(struct vm_space *s, size_t i, size_t j)
{
	size_t k = i ? i - 1 : 0;

	while (k < j && k < s->n) {
		if (!merge_next(s, k))
			k++;
		else
			j--;
	}
}

int vm_space__unmap(struct vm_space *s, uint64_t start, uint64_t end, const struct vm_stamp *st)
{
	size_t i, j;
	if (vm_space__own(s))
		return -ENOMEM;

	if (start >= end)
		return 0;
	/*
	 * The end or the start of one area (brk shrinking, munmap of a heap
	 * page): what splitting and removing would leave, without moving the
	 * areas above twice.
	 */
	i = vm_space__lower(s, start);
	if (i < s->n && s->a[i].r.start < start && s->a[i].r.end == end) {
		s->a[i].r.end = start;
		stamp(s, &s->a[i], st, VM_CHG_SPLIT);
		return 0;
	}
	if (i < s->n && s->a[i].r.start == start && s->a[i].r.end > end) {
		s->a[i].r.start = end;
		s->a[i].vpgoff += end - start;
		if (s->a[i].ino)
			s->a[i].r.pgoff += end - start;
		stamp(s, &s->a[i], st, VM_CHG_SPLIT);
		return 0;
	}
	if (split_at(s, start, st) || split_at(s, end, st))
		return -ENOMEM;
	i = vm_space__lower(s, start);
	for (j = i; j < s->n && s->a[j].r.start < end; j++)
		;
	remove_range(s, i, j);
	return 0;
}

int vm_space__map(struct vm_space *s, const struct vm_area *a, bool merge)
{
	size_t i;
	if (vm_space__own(s))
		return -ENOMEM;

	if (a->r.start >= a->r.end)
		return 0;
	if (vm_space__unmap(s, a->r.start, a->r.end, NULL))
		return -ENOMEM;
	i = vm_space__lower(s, a->r.start);
	/*
	 * Growing the area below in place (brk, mostly): what inserting A and
	 * merging would do, without moving the areas above twice.
	 */
	if (merge && i > 0 && mergeable(&s->a[i - 1], a)) {
		absorb(s, &s->a[i - 1], a);
		merge_next(s, i - 1);
		return 0;
	}
	if (insert_at(s, i, a))
		return -ENOMEM;
	if (merge)
		merge_span(s, i, i + 1);
	return 0;
}

int vm_space__protect(struct vm_space *s, uint64_t start, uint64_t end, uint32_t prot,
		      const struct vm_stamp *st)
{
	uint64_t rwx = (prot & 7);	/* PROT_READ/WRITE/EXEC == VM_READ/WRITE/EXEC */
	size_t i, j;
	if (vm_space__own(s))
		return -ENOMEM;

	if (start >= end)
		return 0;
	if (split_at(s, start, st) || split_at(s, end, st))
		return -ENOMEM;
	i = vm_space__lower(s, start);
	for (j = i; j < s->n && s->a[j].r.start < end; j++) {
		struct vm_area *a = &s->a[j];
		uint64_t old = a->flags;

		/*
		 * mprotect_fixup(): a private area made writable is charged
		 * (VM_ACCOUNT) unless it already was or opted out.
		 */
		if ((rwx & VMF_WRITE) &&
		    !(old & (VMF_ACCOUNT | VMF_WRITE | VMF_HUGETLB | VMF_SHARED | VMF_NORESERVE)))
			a->flags |= VMF_ACCOUNT;
		a->flags = (a->flags & ~7ull) | rwx;
		a->r.prot = rwx;
		stamp(s, a, st, VM_CHG_PROTECT);
	}
	merge_span(s, i, j);
	return 0;
}

int vm_space__set_flags(struct vm_space *s, uint64_t start, uint64_t end, uint64_t set,
			uint64_t clear, uint64_t skip, const struct vm_stamp *st)
{
	size_t i, j;
	if (vm_space__own(s))
		return -ENOMEM;

	if (start >= end)
		return 0;
	/* nothing to change: no split either (the kernel leaves such areas alone) */
	for (j = vm_space__lower(s, start); j < s->n && s->a[j].r.start < end; j++)
		if (!(s->a[j].flags & skip) && ((s->a[j].flags & ~clear) | set) != s->a[j].flags)
			break;
	if (j == s->n || s->a[j].r.start >= end)
		return 0;
	if (split_at(s, start, st) || split_at(s, end, st))
		return -ENOMEM;
	i = vm_space__lower(s, start);
	for (j = i; j < s->n && s->a[j].r.start < end; j++) {
		struct vm_area *a = &s->a[j];
		uint64_t f = (a->flags & ~clear) | set;

		if ((a->flags & skip) || f == a->flags)
			continue;
		a->flags = f;
		count_change(s, a);
		if (st)
			a->r.changed_ns = st->ts_ns;
	}
	merge_span(s, i, j);
	return 0;
}

int vm_space__remap(struct vm_space *s, uint64_t old_addr, uint64_t old_len, uint64_t new_len,
		    uint64_t new_addr, bool keep_old, const struct vm_stamp *st)
{
	uint64_t keep = old_len < new_len ? old_len : new_len;
	struct vm_area *moved = NULL;
	size_t i, j, n = 0;
	int err = 0;
	if (vm_space__own(s))
		return -ENOMEM;

	old_len = VM_PAGE_UP(old_len);
	new_len = VM_PAGE_UP(new_len);
	keep = VM_PAGE_UP(keep);
	if (new_addr == old_addr) {
		long last;
		struct vm_area ext;

		if (new_len <= old_len) {
			err = vm_space__unmap(s, old_addr + new_len, old_addr + old_len, st);
			last = vm_space__find(s, old_addr + new_len - 1);
			if (!err && last >= 0 && new_len < old_len)
				stamp(s, &s->a[last], st, VM_CHG_SHRINK);
			return err;
		}
		last = vm_space__find(s, old_addr + old_len - 1);
		if (last < 0)
			return 0;	/* nothing known there: cannot tell what grew */
		ext = s->a[last];
		ext.vpgoff += old_addr + old_len - ext.r.start;
		if (ext.ino)
			ext.r.pgoff += old_addr + old_len - ext.r.start;
		ext.r.start = old_addr + old_len;
		ext.r.end = old_addr + new_len;
		err = vm_space__map(s, &ext, false);
		if (err)
			return err;
		/* vma_expand(): the same area, longer */
		last = vm_space__find(s, old_addr + old_len - 1);
		s->a[last].r.end = old_addr + new_len;
		remove_range(s, last + 1, last + 2);
		stamp(s, &s->a[last], st, VM_CHG_GROW);
		merge_span(s, last, last + 1);
		return 0;
	}

	/* a move: copy what survives, shifted, then drop the source */
	if (keep && (split_at(s, old_addr, st) || split_at(s, old_addr + keep, st)))
		return -ENOMEM;
	i = vm_space__lower(s, old_addr);
	for (j = i; j < s->n && s->a[j].r.start < old_addr + keep; j++)
		;
	if (j > i) {
		moved = malloc((j - i) * sizeof(*moved));
		if (!moved)
			return -ENOMEM;
		memcpy(moved, &s->a[i], (j - i) * sizeof(*moved));
		n = j - i;
	}
	if (!keep_old)
		err = vm_space__unmap(s, old_addr, old_addr + old_len, st);
	if (!err)
		err = vm_space__unmap(s, new_addr, new_addr + new_len, st);
	for (size_t k = 0; k < n && !err; k++) {
		struct vm_area a = moved[k];

		a.r.start = a.r.start - old_addr + new_addr;
		a.r.end = a.r.end - old_addr + new_addr;
		if (k == n - 1 && new_len > keep)
			a.r.end = new_addr + new_len;
		stamp(s, &a, st, VM_CHG_MOVE | (new_len > old_len ? VM_CHG_GROW : 0) |
			      (new_len < old_len ? VM_CHG_SHRINK : 0));
		err = vm_space__map(s, &a, true);
	}
	free(moved);
	return err;
}

/* Lets go of a shared array: the last holder frees it. S is empty after. */
static void release(struct vm_space *s)
{
	if (s->refs && --*s->refs) {
		s->a = NULL;	/* still someone else's */
	} else {
		free(s->refs);
		free(s->a);
		s->a = NULL;
	}
	s->refs = NULL;
	s->n = s->cap = s->hint = 0;
}

int vm_space__own(struct vm_space *s)
{
	struct vm_area *a;

	if (!s->refs)
		return 0;
	if (*s->refs == 1) {	/* the others have let go */
		free(s->refs);
		s->refs = NULL;
		return 0;
	}
	a = malloc((s->n ? s->n : 1) * sizeof(*a));
	if (!a)
		return -ENOMEM;
	memcpy(a, s->a, s->n * sizeof(*a));
	--*s->refs;
	s->refs = NULL;
	s->a = a;
	s->cap = s->n ? s->n : 1;
	return 0;
}

int vm_space__copy(struct vm_space *dst, const struct vm_space *src)
{
	vm_space__clear(dst);
	if (reserve(dst, src->n))
		return -ENOMEM;
	for (size_t i = 0; i < src->n; i++)
		if (!(src->a[i].flags & VMF_DONTCOPY))
			dst->a[dst->n++] = src->a[i];
	return 0;
}

int vm_space__share(struct vm_space *dst, struct vm_space *src)
{
	for (size_t i = 0; i < src->n; i++)
		if (src->a[i].flags & VMF_DONTCOPY)
			return vm_space__copy(dst, src);
	if (dst == src)
		return 1;
	release(dst);
	if (!src->n)
		return 1;	/* nothing to share */
	if (!src->refs) {
		src->refs = malloc(sizeof(*src->refs));
		if (!src->refs)
			return -ENOMEM;
		*src->refs = 1;
	}
	++*src->refs;
	dst->refs = src->refs;
	dst->a = src->a;
	dst->n = src->n;
	dst->cap = src->cap;
	return 1;
}

void vm_space__keep_largest(struct vm_space *s, size_t n)
{
	size_t top[VM_KEEP_MAX], ntop = 0, k = 0;
	struct vm_area *a;

	if (n > VM_KEEP_MAX)
		n = VM_KEEP_MAX;
	if (s->n > n) {
		/* indexes of the largest so far, largest first; equal ones keep address order */
		for (size_t i = 0; i < s->n; i++) {
			uint64_t len = s->a[i].r.end - s->a[i].r.start;
			size_t j = ntop;

			while (j > 0 && s->a[top[j - 1]].r.end - s->a[top[j - 1]].r.start < len)
				j--;
			if (j >= n)
				continue;
			if (ntop < n)
				ntop++;
			memmove(&top[j + 1], &top[j], (ntop - 1 - j) * sizeof(top[0]));
			top[j] = i;
		}
		/* back to address order */
		for (size_t i = 1; i < ntop; i++)
			for (size_t j = i; j > 0 && top[j - 1] > top[j]; j--) {
				size_t t = top[j];

				top[j] = top[j - 1];
				top[j - 1] = t;
			}
		/*
		 * Into a fresh small array, the large one freed whole: shrinking
		 * it in place would leave a hole of a few KiB after every exited
		 * process that the next one's areas do not fit in (the heap
		 * grew to 3x the live data on a fork-heavy session). A shared
		 * array is left to its other holders.
		 */
		if (!ntop) {
			release(s);
			return;
		}
		a = malloc(ntop * sizeof(*a));
		if (!a)
			return;	/* it just stays larger */
		for (k = 0; k < ntop; k++)
			a[k] = s->a[top[k]];
		release(s);
		s->a = a;
		s->n = s->cap = ntop;
		return;
	}
	vm_space__shrink(s);
}

void vm_space__shrink(struct vm_space *s)
{
	struct vm_area *a;

	if (!s->n) {
		vm_space__free(s);
		return;
	}
	if (s->n == s->cap || s->refs)
		return;	/* a shared array is as small as it gets: one for all */
	a = realloc(s->a, s->n * sizeof(*a));
	if (a) {	/* else it just stays larger */
		s->a = a;
		s->cap = s->n;
	}
}

void vm_space__clear(struct vm_space *s)
{
	if (s->refs)
		release(s);
	s->n = 0;
}

void vm_space__free(struct vm_space *s)
{
	if (!s)
		return;
	release(s);
	memset(s, 0, sizeof(*s));
}
