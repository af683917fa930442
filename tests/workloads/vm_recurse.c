// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Grows the main stack by several MiB with a deep recursion; at the deepest
 * point it sleeps, so the scheduler switches it out with its stack pointer
 * deep down. Prints its stack top and that depth as facts.
 */
#include <time.h>
#include "vm_dump.h"

#define FRAME	8192
#define DEPTH	768		/* 6 MiB of frames, under the default 8 MiB limit */

static char *deepest;

static int recurse(int n)
{
	volatile char buf[FRAME];

	buf[0] = (char)n;
	buf[FRAME - 1] = (char)n;
	if (n == 0) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };

		deepest = (char *)buf;
		nanosleep(&ts, NULL);
		return buf[0];
	}
	return recurse(n - 1) + buf[FRAME - 1];
}

int main(void)
{
	int r = recurse(DEPTH);

	vm_fact("stack %p\n", deepest);
	vm_fact("deepest %p\n", deepest);
	vm_dump_and_exit(r == -1);
}
