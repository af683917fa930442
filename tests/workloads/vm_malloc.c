// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * malloc-heavy: small blocks grow the heap with brk, large ones are mmapped
 * (above M_MMAP_THRESHOLD, 128 KiB at start), frees shrink the heap (trim)
 * and unmap the large blocks.
 */
#include <malloc.h>
#include "vm_dump.h"

#define NSMALL 40000

static void *small[NSMALL];

int main(void)
{
	void *big[8], *first_big;
	volatile char sink = 0;

	/* before any free: glibc's dynamic threshold has not moved yet, so this is an mmap */
	first_big = malloc(4 << 20);
	memset(first_big, 1, 4096);
	for (int i = 0; i < NSMALL; i++) {
		small[i] = malloc(64 + (i % 64) * 8);
		memset(small[i], i, 16);
	}
	vm_fact("brkpeak %p\n", sbrk(0));
	for (int i = 0; i < 8; i++) {
		big[i] = malloc((1 + i) << 20);
		memset(big[i], 2, 4096);
	}
	for (int i = 0; i < 8; i += 2)
		free(big[i]);
	/* free the top half of the heap: trim gives it back with brk */
	for (int i = NSMALL - 1; i >= NSMALL / 2; i--)
		free(small[i]);
	malloc_trim(0);
	for (int i = 0; i < 1000; i++)
		sink += ((char *)small[i])[0];
	vm_fact("heap %p\n", small[10]);
	vm_fact("brkend %p\n", sbrk(0));
	vm_fact("anon %p\n", first_big);
	vm_dump_and_exit(sink == 42);
}
