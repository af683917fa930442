// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The bundled demo for `make demo`: a small program with a life worth
 * watching. The heap grows and shrinks, a large buffer is mmap'd, resized
 * and freed, four worker threads compute and sleep on their own stacks,
 * one recursion deepens the main stack, and a child process runs ls.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile unsigned long sink;

static void *worker(void *arg)
{
	long id = (long)arg;
	char name[16];

	snprintf(name, sizeof(name), "worker-%ld", id);
	pthread_setname_np(pthread_self(), name);
	for (int round = 0; round < 10; round++) {
		for (unsigned long i = 0; i < 2000000; i++)
			sink += i * id;
		usleep(5000);
	}
	return NULL;
}

static unsigned long recurse(int depth)
{
	volatile char frame[4096];

	memset((char *)frame, depth, sizeof(frame));
	return depth ? recurse(depth - 1) + frame[100] : 0;
}

int main(void)
{
	pthread_t th[4];
	char *chunks[64];
	char *big;
	pid_t child;

	for (int i = 0; i < 64; i++) {		/* small blocks: the brk heap */
		chunks[i] = malloc(16 * 1024);
		memset(chunks[i], i, 16 * 1024);
	}
	big = mmap(NULL, 8 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(big, 1, 8 << 20);
	big = mremap(big, 8 << 20, 16 << 20, MREMAP_MAYMOVE);
	for (long i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, worker, (void *)i);
	sink += recurse(512);			/* ~2 MiB of main stack */
	child = fork();
	if (child == 0) {
		execlp("ls", "ls", "/", (char *)NULL);
		_exit(127);
	}
	waitpid(child, NULL, 0);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	munmap(big, 16 << 20);
	for (int i = 63; i >= 0; i--)
		free(chunks[i]);
	malloc_trim(0);
	return 0;
}
