// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Memory calls in bursts from deep in the stack, for the stack-skip test
 * (tests/e2e/stacks_skip.sh): each call's stack is the full --stack-size
 * (a 16 KiB frame sits between the calls and main), so a burst fills a
 * small ring's stack half many times over, while the pause after it lets
 * the recorder drain the calls' own records.
 *
 * Between two marker maps of MARK_PAGES pages (mapped and unmapped at once,
 * so the test can find them), BURSTS bursts of PAIRS mmap+munmap pairs of
 * one page. Prints "calls N": the mmap and munmap calls between the
 * markers (the markers' own four not counted), each one syscall.
 *
 * Usage: stacks_burst [BURSTS [PAIRS [PAUSE_MS]]]   default 40 20 50
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MARK_PAGES	97	/* a length nothing else here maps */

static void marker(void)
{
	void *p = mmap(NULL, MARK_PAGES * 4096ul, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED || munmap(p, MARK_PAGES * 4096ul))
		exit(2);
}

/* One burst, under a frame of 16 KiB the stack copies start in. */
static __attribute__((noinline)) long burst(long pairs)
{
	volatile char frame[16384];
	long calls = 0;

	memset((char *)frame, 1, sizeof(frame));
	for (long i = 0; i < pairs; i++) {
		char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			exit(2);
		calls++;
		if (munmap(p, 4096))
			exit(2);
		calls++;
	}
	return calls + frame[0] - 1;
}

int main(int argc, char **argv)
{
	long bursts = argc > 1 ? atol(argv[1]) : 40;
	long pairs = argc > 2 ? atol(argv[2]) : 20;
	long pause_ms = argc > 3 ? atol(argv[3]) : 50;
	struct timespec pause = { pause_ms / 1000, (pause_ms % 1000) * 1000000L };
	long calls = 0;

	marker();
	for (long b = 0; b < bursts; b++) {
		calls += burst(pairs);
		nanosleep(&pause, NULL);
	}
	marker();
	printf("calls %ld\n", calls);
	return 0;
}
