// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * 16 threads, each on its own glibc-allocated stack (mmap + PROT_NONE
 * guard); each reports its tid and an address on its stack, then blocks
 * while the main thread dumps the maps.
 */
#include <pthread.h>
#include <sys/syscall.h>
#include "vm_dump.h"

#define NTHREADS 16

static pthread_barrier_t ready;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static int use_stack(int n)
{
	volatile char buf[1024];

	buf[0] = (char)n;
	return n ? use_stack(n - 1) + buf[0] : buf[0];
}

static void *worker(void *arg)
{
	volatile int local = use_stack(16 * (int)(long)arg);

	pthread_mutex_lock(&lock);
	vm_fact("thread %ld %p\n", (long)syscall(SYS_gettid), (void *)&local);
	pthread_mutex_unlock(&lock);
	pthread_barrier_wait(&ready);
	for (;;)
		pause();
	return NULL;
}

int main(void)
{
	pthread_t t[NTHREADS];

	pthread_barrier_init(&ready, NULL, NTHREADS + 1);
	for (long i = 0; i < NTHREADS; i++)
		if (pthread_create(&t[i], NULL, worker, (void *)i))
			return 1;
	pthread_barrier_wait(&ready);
	pthread_mutex_lock(&lock);
	vm_dump_and_exit(0);
}
