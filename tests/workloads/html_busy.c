// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * For the HTML export's size rules on busy sessions: the process punches
 * every other page out of an anonymous map (PAGES / 2 pieces with holes
 * between, which the page draws as one band), then forks CHILDREN
 * short-lived children one after another (more processes than the page
 * draws in full). Prints "children N" and "run START END" (the punched
 * map); at the end dumps its own /proc/self/maps (vm_dump.h) and exits.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include "vm_dump.h"

#define PAGES		256
#define CHILDREN	80

int main(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	char *m = mmap(NULL, PAGES * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (m == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	vm_fact("anon %p\n", (void *)m);
	for (int i = 0; i < PAGES; i++)
		m[i * pg] = 1;
	for (int i = 1; i < PAGES; i += 2)
		if (munmap(m + i * pg, pg)) {
			perror("munmap");
			return 1;
		}
	for (int c = 0; c < CHILDREN; c++) {
		pid_t pid = fork();

		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (!pid)
			_exit(0);
		waitpid(pid, NULL, 0);
	}
	printf("children %d\nrun %lx %lx\n", CHILDREN, (unsigned long)m, (unsigned long)(m + PAGES * pg));
	fflush(stdout);
	vm_dump_and_exit(0);
}
