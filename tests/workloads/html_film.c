// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A life spread over about a second, for the HTML export's tests: named
 * threads that spin and sleep on their own stacks, while the main thread
 * moves the break, maps, re-protects, grows and unmaps anonymous memory a
 * step at a time. Prints "thread TID NAME" for every thread; at the end the
 * process dumps its own /proc/self/maps (vm_dump.h) with the threads
 * still alive, so the last layout is known to the kernel's word.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include "vm_dump.h"

#define NSPIN 3
#define STEPS 12

static pthread_barrier_t ready;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static volatile unsigned long sink;

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Reports the thread's tid and name on stdout and a stack address as a fact. */
static void hello(const char *name)
{
	volatile int local = 0;

	pthread_setname_np(pthread_self(), name);
	pthread_mutex_lock(&lock);
	printf("thread %ld %s\n", (long)syscall(SYS_gettid), name);
	fflush(stdout);
	if (strcmp(name, "film-main"))
		vm_fact("thread %ld %p\n", (long)syscall(SYS_gettid), (void *)&local);
	pthread_mutex_unlock(&lock);
}

static void *spinner(void *arg)
{
	char name[16];

	snprintf(name, sizeof(name), "film-spin-%ld", (long)arg);
	hello(name);
	for (int round = 0; round < 8; round++) {
		for (unsigned long i = 0; i < 3000000; i++)
			sink += i;
		nap_ms(40 + 10 * (long)arg);
	}
	pthread_barrier_wait(&ready);
	for (;;)
		pause();
	return NULL;
}

static void *sleeper(void *arg)
{
	(void)arg;
	hello("film-sleeper");
	for (int i = 0; i < 10; i++)
		nap_ms(70);
	pthread_barrier_wait(&ready);
	for (;;)
		pause();
	return NULL;
}

int main(void)
{
	char *maps[STEPS] = { 0 };
	pthread_t t[NSPIN + 1];
	char *brk0 = sbrk(0);

	hello("film-main");
	pthread_barrier_init(&ready, NULL, NSPIN + 2);
	for (long i = 0; i < NSPIN; i++)
		if (pthread_create(&t[i], NULL, spinner, (void *)i))
			return 1;
	if (pthread_create(&t[NSPIN], NULL, sleeper, NULL))
		return 1;
	/* one change every 60 ms: the layout differs from step to step */
	for (int s = 0; s < STEPS; s++) {
		size_t len = (size_t)(s + 1) << 18;

		sbrk(64 << 10);
		maps[s] = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (maps[s] == MAP_FAILED)
			return 1;
		memset(maps[s], s, len);
		if (s % 3 == 1)
			mprotect(maps[s], 4096, PROT_READ);
		if (s % 4 == 2) {
			char *grown = mremap(maps[s], len, 2 * len, MREMAP_MAYMOVE);

			if (grown != MAP_FAILED)
				maps[s] = grown;
		}
		if (s >= 3 && s % 2) {
			munmap(maps[s - 3], (size_t)(s - 2) << 18);
			maps[s - 3] = NULL;
		}
		nap_ms(60);
	}
	sbrk(-((char *)sbrk(0) - brk0) / 2);
	pthread_barrier_wait(&ready);
	pthread_mutex_lock(&lock);
	vm_fact("heap %p\n", (void *)brk0);
	vm_dump_and_exit(0);
}
