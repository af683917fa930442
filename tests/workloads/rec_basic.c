// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Does known memory and task operations and logs each one, so a test can
 * check that every one of them was recorded with the right values:
 *   brk <requested> <result>, mmap <addr> <len>, munmap <addr> <len>,
 *   mremap <old> <oldlen> <newlen> <new>, mprotect <addr> <len> <prot>,
 *   thread <tid>, child <pid>, exit <status>
 * With --wait it first prints "ready <pid>" and waits for SIGUSR1 (for -p).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define NTHREADS 4

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static void *thread_fn(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&log_lock);
	printf("thread %ld\n", (long)syscall(SYS_gettid));
	fflush(stdout);
	pthread_mutex_unlock(&log_lock);
	usleep(20000);
	return NULL;
}

static volatile sig_atomic_t go;

static void on_usr1(int sig)
{
	(void)sig;
	go = 1;
}

int main(int argc, char **argv)
{
	static const size_t lens[] = { 4096, 65536, 1 << 20, 3 * 4096 };
	pthread_t th[NTHREADS];
	void *maps[4];
	pid_t child;
	int status;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && !strcmp(argv[1], "--wait")) {
		signal(SIGUSR1, on_usr1);
		printf("ready %d\n", getpid());
		while (!go)
			usleep(1000);
	}
	/* heap: 5 steps of known size, then one shrink */
	for (int i = 1; i <= 5; i++) {
		unsigned long cur = syscall(SYS_brk, 0);
		unsigned long want = cur + i * 8192;
		unsigned long got = syscall(SYS_brk, want);

		printf("brk 0x%lx 0x%lx\n", want, got);
	}
	{
		unsigned long cur = syscall(SYS_brk, 0);
		unsigned long got = syscall(SYS_brk, cur - 8192);

		printf("brk 0x%lx 0x%lx\n", cur - 8192, got);
	}
	for (int i = 0; i < 4; i++) {
		maps[i] = mmap(NULL, lens[i], PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		printf("mmap %p %zu\n", maps[i], lens[i]);
	}
	if (mprotect(maps[2], 4096, PROT_READ) == 0)
		printf("mprotect %p 4096 1\n", maps[2]);
	{
		void *n = mremap(maps[1], lens[1], 4 * lens[1], MREMAP_MAYMOVE);

		printf("mremap %p %zu %zu %p\n", maps[1], lens[1], 4 * lens[1], n);
		maps[1] = n;
	}
	munmap(maps[0], lens[0]);
	printf("munmap %p %zu\n", maps[0], lens[0]);
	/* a failing call is recorded with its error */
	munmap((void *)1, 4096);
	printf("munmap_fail 0x1 4096\n");

	for (int i = 0; i < NTHREADS; i++)
		pthread_create(&th[i], NULL, thread_fn, NULL);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);

	child = fork();
	if (child == 0) {
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	printf("child %d\n", child);
	waitpid(child, &status, 0);
	printf("exit 7\n");
	return 7;
}
