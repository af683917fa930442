// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * mmap/munmap/mremap/mprotect patterns: adjacent anonymous maps that merge,
 * MAP_FIXED over existing maps, holes punched in the middle, one page
 * re-protected, mremap shrink / grow in place / move / move to a fixed
 * address, file maps (shared and private) partly unmapped, shared anon.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include "vm_dump.h"

#define PG 4096ul

static char *map(void *hint, size_t pages, int prot, int flags)
{
	char *p = mmap(hint, pages * PG, prot, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);

	if (p == MAP_FAILED)
		_exit(2);
	return p;
}

int main(void)
{
	const char *dir = getenv("VM_OUT") ? getenv("VM_OUT") : ".";
	char path[4096], *a, *b, *c, *d, *e, *f, *g, *fs, *fp, *sh, *n;
	int fd;

	a = map(NULL, 16, PROT_READ | PROT_WRITE, 0);
	b = map(NULL, 16, PROT_READ | PROT_WRITE, 0);	/* usually right below a: one area */
	a[0] = b[0] = 1;
	munmap(a + 4 * PG, 4 * PG);				/* a hole in the middle */
	mprotect(b + 2 * PG, PG, PROT_READ);			/* one page re-protected: 3 areas */
	map(a + 10 * PG, 3, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_FIXED);	/* over a */

	c = map(NULL, 4, PROT_READ | PROT_WRITE, 0);
	c[0] = 1;
	c = mremap(c, 4 * PG, 64 * PG, MREMAP_MAYMOVE);		/* grows; moves if it must */
	if (c == MAP_FAILED)
		return 2;
	d = map(NULL, 32, PROT_READ, 0);
	d = mremap(d, 32 * PG, 8 * PG, 0);			/* shrinks in place */
	e = map(NULL, 16, PROT_READ | PROT_WRITE, MAP_NORESERVE);
	munmap(e + 8 * PG, 8 * PG);
	e = mremap(e, 8 * PG, 12 * PG, 0);			/* grows in place into the hole */
	f = map(NULL, 8, PROT_READ | PROT_WRITE, 0);
	f[0] = 1;
	g = map(NULL, 20, PROT_NONE, 0);
	f = mremap(f, 8 * PG, 8 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, g + 6 * PG);	/* into g */
	if (c == MAP_FAILED || d == MAP_FAILED || e == MAP_FAILED || f == MAP_FAILED)
		return 2;

	snprintf(path, sizeof(path), "%s/vm_mmap.%d.bin", dir, (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || ftruncate(fd, 32 * PG))
		return 2;
	fs = mmap(NULL, 32 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	fp = mmap(NULL, 32 * PG, PROT_READ, MAP_PRIVATE, fd, 0);
	if (fs == MAP_FAILED || fp == MAP_FAILED)
		return 2;
	fs[0] = 1;
	munmap(fp + 8 * PG, 8 * PG);				/* file map split in two */
	mprotect(fs, 4 * PG, PROT_READ);
	close(fd);
	sh = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return 2;
	sh[0] = 1;
	n = map(NULL, 8, PROT_READ | PROT_WRITE, 0);
	mprotect(n, 8 * PG, PROT_NONE);
	mprotect(n, 8 * PG, PROT_READ | PROT_WRITE);		/* back: merges again */

	vm_fact("anon %p\n", a);
	vm_fact("anon %p\n", c);
	vm_fact("anon %p\n", f);
	vm_fact("file %p\n", fs + 5 * PG);
	vm_fact("file %p\n", fp);
	vm_fact("file %p\n", fp + 20 * PG);
	vm_dump_and_exit(0);
}
