// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A program whose every cost comes from one named function, for the stack
 * tests. Built with -O2 -fomit-frame-pointer -g (Makefile): no frame
 * pointers anywhere, as in Debian's userland.
 *   main thread: grow_heap() grows the heap through malloc (brk), then
 *                map_through_malloc() makes malloc mmap large blocks;
 *   "stk-sleep":  sleep_in_nanosleep() sleeps 20 x 10 ms;
 *   "stk-spin":   spin_on_cpu() runs about 0.4 s of CPU.
 * Prints what it knows of itself on stdout:
 *   heap_bytes N (sbrk(0) growth), mmap_bytes N, sleep_tid N, spin_tid N.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define HEAP_BLOCKS	4096		/* x 4 KiB: 16 MiB through brk */
#define MAP_BLOCKS	32		/* x 1 MiB: above malloc's mmap threshold */

static void *keep[HEAP_BLOCKS + MAP_BLOCKS];
static volatile uint64_t sink;
static pid_t sleep_tid, spin_tid;

__attribute__((noinline)) static void grow_heap(void)
{
	for (int i = 0; i < HEAP_BLOCKS; i++) {
		keep[i] = malloc(4096);
		memset(keep[i], 1, 64);
	}
}

__attribute__((noinline)) static uint64_t map_through_malloc(void)
{
	uint64_t bytes = 0;

	for (int i = 0; i < MAP_BLOCKS; i++) {
		keep[HEAP_BLOCKS + i] = malloc(1 << 20);
		memset(keep[HEAP_BLOCKS + i], 1, 64);
		bytes += 1 << 20;
	}
	return bytes;
}

__attribute__((noinline)) static void sleep_in_nanosleep(void)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	for (int i = 0; i < 20; i++)
		nanosleep(&ts, NULL);
}

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

__attribute__((noinline)) static void spin_on_cpu(void)
{
	uint64_t end = cpu_ns() + 400 * 1000 * 1000ull;

	/* the clock read is a syscall: look at it rarely */
	while (cpu_ns() < end)
		for (int i = 0; i < 4000000; i++)
			sink += i;
}

static void *sleeper(void *arg)
{
	(void)arg;
	prctl(PR_SET_NAME, "stk-sleep");
	sleep_tid = syscall(SYS_gettid);
	sleep_in_nanosleep();
	return NULL;
}

static void *spinner(void *arg)
{
	(void)arg;
	prctl(PR_SET_NAME, "stk-spin");
	spin_tid = syscall(SYS_gettid);
	spin_on_cpu();
	return NULL;
}

int main(void)
{
	pthread_t a, b;
	char *brk0 = sbrk(0);
	uint64_t heap, mapped;

	grow_heap();
	heap = (char *)sbrk(0) - brk0;
	mapped = map_through_malloc();
	if (pthread_create(&a, NULL, sleeper, NULL) || pthread_create(&b, NULL, spinner, NULL))
		return 1;
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	printf("heap_bytes %llu\nmmap_bytes %llu\nsleep_tid %d\nspin_tid %d\n",
	       (unsigned long long)heap, (unsigned long long)mapped, sleep_tid, spin_tid);
	return 0;
}
