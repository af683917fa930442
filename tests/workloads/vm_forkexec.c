// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fork then exec: the parent maps, forks a child that changes its copy and
 * exits, forks another that execs this program again as a "leaf" which
 * allocates on its own; everyone dumps its maps. Each layout must match.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/wait.h>
#include "vm_dump.h"

#define PG 4096ul

static void leaf(void)
{
	char *p = malloc(1000), *q = malloc(1 << 20);
	char *m = mmap(NULL, 5 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (!p || !q || m == MAP_FAILED)
		_exit(2);
	vm_fact("heap %p\n", p);
	vm_fact("anon %p\n", m);
	vm_dump_and_exit(0);
}

int main(int argc, char **argv)
{
	char *a, *b, *heap = malloc(100);
	pid_t c1, c2;
	int st1, st2;

	if (argc > 1 && !strcmp(argv[1], "leaf"))
		leaf();
	a = mmap(NULL, 24 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (a == MAP_FAILED || !heap)
		return 2;
	a[0] = 1;
	c1 = fork();
	if (c1 == 0) {
		/* the copy changes, the parent's does not */
		munmap(a + 8 * PG, 8 * PG);
		b = mmap(NULL, 3 * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (b == MAP_FAILED)
			_exit(2);
		vm_fact("anon %p\n", a);
		vm_fact("heap %p\n", heap);
		vm_dump_and_exit(0);
	}
	c2 = fork();
	if (c2 == 0) {
		execl("/proc/self/exe", argv[0], "leaf", (char *)NULL);
		_exit(127);
	}
	if (waitpid(c1, &st1, 0) != c1 || waitpid(c2, &st2, 0) != c2 || st1 || st2)
		return 2;
	mprotect(a, 4 * PG, PROT_READ);
	vm_fact("anon %p\n", a + 8 * PG);
	vm_fact("heap %p\n", heap);
	vm_dump_and_exit(0);
}
