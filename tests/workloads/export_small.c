// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A small, fixed workload for the export tests: two named worker threads
 * that map, touch, re-protect, grow and unmap anonymous memory and sleep in
 * between, and a main thread that moves the break. It prints what it did,
 * one fact per line, so tests compare exports with the program's own account:
 *   pid PID
 *   thread TID NAME
 *   mmap TID ADDR LEN         (and munmap, mprotect, mremap likewise)
 *   brk TID OLD NEW
 *   schedstart TID ONCPU_NS    (main thread: the kernel's count at main())
 *   schedstat TID ONCPU_NS     (the kernel's count, read as the thread ends)
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define NWORKERS 2
#define ROUNDS 3
#define MAP_LEN (1u << 20)

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static pid_t gettid_(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&out_lock);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

/*
 * On-CPU ns of the calling thread as the kernel counts it (sum_exec_runtime,
 * schedstat's field 1), read through CLOCK_THREAD_CPUTIME_ID, which brings
 * it up to date: /proc/self/task/TID/schedstat lags by up to a tick for the
 * thread reading it about itself.
 */
static unsigned long long oncpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void say_schedstat(pid_t tid)
{
	say("schedstat %d %llu\n", tid, oncpu_ns());
}

static void nap_ms(long ms)
{
	struct timespec ts = { 0, ms * 1000000L };

	nanosleep(&ts, NULL);
}

static void *worker(void *arg)
{
	long id = (long)arg;
	char name[16];
	pid_t tid = gettid_();

	snprintf(name, sizeof(name), "exp-worker-%ld", id);
	pthread_setname_np(pthread_self(), name);
	say("thread %d %s\n", tid, name);
	for (int i = 0; i < ROUNDS; i++) {
		char *p = mmap(NULL, MAP_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		char *q;

		if (p == MAP_FAILED)
			return NULL;
		say("mmap %d %p %u\n", tid, (void *)p, MAP_LEN);
		size_t len = MAP_LEN;

		memset(p, 0x5a, MAP_LEN);
		q = mremap(p, MAP_LEN, 2 * MAP_LEN, MREMAP_MAYMOVE);
		if (q != MAP_FAILED) {
			say("mremap %d %p %u\n", tid, (void *)q, 2 * MAP_LEN);
			p = q;
			len = 2 * MAP_LEN;
		}
		if (!mprotect(p, MAP_LEN / 2, PROT_READ))
			say("mprotect %d %p %u\n", tid, (void *)p, MAP_LEN / 2);
		if (!munmap(p, len))
			say("munmap %d %p %zu\n", tid, (void *)p, len);
		nap_ms(3);
	}
	say_schedstat(tid);
	return NULL;
}

int main(void)
{
	pthread_t th[NWORKERS];
	void *old, *cur;

	/* the trace starts at exec: what ran before main() is not in it */
	say("schedstart %d %llu\n", gettid_(), oncpu_ns());
	say("pid %d\n", getpid());
	say("thread %d %s\n", gettid_(), "export_small");
	old = sbrk(0);
	if (sbrk(256 * 1024) != (void *)-1) {
		cur = sbrk(0);
		say("brk %d %p %p\n", gettid_(), old, cur);
	}
	for (long i = 0; i < NWORKERS; i++)
		pthread_create(&th[i], NULL, worker, (void *)i);
	for (int i = 0; i < NWORKERS; i++)
		pthread_join(th[i], NULL);
	say_schedstat(gettid_());
	return 0;
}
