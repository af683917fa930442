// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Coroutines on ucontext, for tests/e2e/coro_*.py: three coroutines, each
 * on a stack of its own (one from malloc, big enough that glibc maps it by
 * itself; two from mmap below a PROT_NONE guard page so that neighbouring
 * stacks never merge into one VMA), are
 *   1. resumed round-robin by the main thread (N:1), ROUNDS each, then
 *   2. resumed by two threads taking them from one shared queue (M:N), so
 *      a coroutine moves between threads, ROUNDS more each;
 *   3. then a SIGUSR1 handler runs on a sigaltstack (mmap'd) and sleeps
 *      there, so the thread is switched out on the alternate stack.
 * Each slice of a coroutine spins SPIN_US of CPU, sleeps 200 us (so the
 * kernel switches the thread out while it is on the coroutine's stack),
 * spins again, and yields. A coroutine counts its own resumes (every time
 * it gets control, the first included) and its on-CPU time as deltas of
 * CLOCK_THREAD_CPUTIME_ID from getting control to yielding, and the
 * threads that ran it. At the end it prints, one line each:
 *   coro I lo=0xLO hi=0xHI resumes=N oncpu_ns=N tids=T1,T2
 *   altstack lo=0xLO hi=0xHI tid=T
 *   sched tid=T           (each scheduler thread)
 * Usage: coro_ucontext [ROUNDS [SPIN_US]]   (defaults 20, 2000)
 *        coro_ucontext pingpong N           N swapcontext round trips,
 *        prints "pingpong switches=2N ns_per_switch=X cpu_ns_per_switch=Y" (wall
 *        and process CPU time, user + system, per switch: bench/coro_uprobe.sh)
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#define NCORO		3
#define STACK_BYTES	(256 << 10)	/* > glibc's 128 KiB mmap threshold */
#define PAGE		4096
#define MAX_TIDS	4

struct coro {
	ucontext_t ctx;
	ucontext_t *back;	/* the scheduler context that resumed it */
	char *lo, *hi;		/* the stack handed to makecontext */
	int id;
	long target;		/* resumes before it is done */
	long resumes;
	unsigned long long oncpu_ns;
	int tids[MAX_TIDS];
	int ntids;
	volatile int done;
};

static struct coro co[NCORO];
static long spin_us = 2000;

static unsigned long long thread_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void spin(long us)
{
	unsigned long long end = thread_ns() + us * 1000ull;
	volatile unsigned long x = 0;

	while (thread_ns() < end)
		for (int i = 0; i < 1000; i++)
			x += i;
}

static void note_tid(struct coro *c)
{
	int tid = syscall(SYS_gettid);

	for (int i = 0; i < c->ntids; i++)
		if (c->tids[i] == tid)
			return;
	if (c->ntids < MAX_TIDS)
		c->tids[c->ntids++] = tid;
}

static void coro_main(unsigned int hi, unsigned int lo)
{
	struct coro *c = (struct coro *)(((uintptr_t)hi << 32) | lo);
	struct timespec nap = { 0, 200000 };

	for (;;) {
		unsigned long long t0 = thread_ns();

		c->resumes++;
		note_tid(c);
		spin(spin_us / 2);
		nanosleep(&nap, NULL);
		spin(spin_us / 2);
		c->oncpu_ns += thread_ns() - t0;
		if (c->resumes >= c->target)
			c->done = 1;
		swapcontext(&c->ctx, c->back);
	}
}

static char *map_stack(size_t bytes)
{
	char *p = mmap(NULL, bytes + PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	if (mprotect(p, PAGE, PROT_NONE)) {	/* guard below the stack */
		perror("mprotect");
		exit(1);
	}
	return p + PAGE;
}

static void coro_init(struct coro *c, int id, char *stack)
{
	uintptr_t a = (uintptr_t)c;

	c->id = id;
	c->lo = stack;
	c->hi = stack + STACK_BYTES;
	getcontext(&c->ctx);
	c->ctx.uc_stack.ss_sp = stack;
	c->ctx.uc_stack.ss_size = STACK_BYTES;
	c->ctx.uc_link = NULL;
	makecontext(&c->ctx, (void (*)(void))coro_main, 2, (unsigned int)(a >> 32),
		    (unsigned int)a);
}

static void resume(struct coro *c, ucontext_t *self)
{
	c->back = self;
	swapcontext(self, &c->ctx);
}

/* ---- M:N: two threads share one queue of runnable coroutines ---- */

static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;
static struct coro *queue[NCORO];
static int qhead, qlen;

static struct coro *take(void)
{
	struct coro *c = NULL;

	pthread_mutex_lock(&qlock);
	if (qlen) {
		c = queue[qhead];
		qhead = (qhead + 1) % NCORO;
		qlen--;
	}
	pthread_mutex_unlock(&qlock);
	return c;
}

static void give(struct coro *c)
{
	pthread_mutex_lock(&qlock);
	queue[(qhead + qlen) % NCORO] = c;
	qlen++;
	pthread_mutex_unlock(&qlock);
}

static volatile int ndone;
static int sched_tids[2];

static void *mn_sched(void *arg)
{
	ucontext_t self;
	struct coro *c;

	sched_tids[(long)arg] = syscall(SYS_gettid);
	while (__atomic_load_n(&ndone, __ATOMIC_ACQUIRE) < NCORO) {
		c = take();
		if (!c) {
			sched_yield();
			continue;
		}
		resume(c, &self);
		if (c->done)
			__atomic_add_fetch(&ndone, 1, __ATOMIC_RELEASE);
		else
			give(c);	/* its context is saved: the other thread may take it */
	}
	return NULL;
}

/* ---- sigaltstack ---- */

static void on_usr1(int sig)
{
	struct timespec nap = { 0, 2000000 };

	(void)sig;
	nanosleep(&nap, NULL);	/* switched out while on the alternate stack */
}

static void altstack_phase(void)
{
	char *stack = map_stack(64 << 10);
	stack_t ss = { .ss_sp = stack, .ss_size = 64 << 10 };
	struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = SA_ONSTACK };

	if (sigaltstack(&ss, NULL) || sigaction(SIGUSR1, &sa, NULL)) {
		perror("sigaltstack");
		exit(1);
	}
	for (int i = 0; i < 5; i++)
		raise(SIGUSR1);
	printf("altstack lo=%p hi=%p tid=%ld\n", (void *)stack, (void *)(stack + (64 << 10)),
	       (long)syscall(SYS_gettid));
}

/* ---- the swap cost, for bench/coro_uprobe.sh ---- */

static ucontext_t pp_main, pp_co;
static long pp_n;

static void pp_body(void)
{
	for (;;)
		swapcontext(&pp_co, &pp_main);
}

static int pingpong(long n)
{
	char *stack = map_stack(STACK_BYTES);
	struct timespec a, b, ca, cb;
	double ns, cpu;

	pp_n = n;
	getcontext(&pp_co);
	pp_co.uc_stack.ss_sp = stack;
	pp_co.uc_stack.ss_size = STACK_BYTES;
	makecontext(&pp_co, pp_body, 0);
	clock_gettime(CLOCK_MONOTONIC, &a);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ca);
	for (long i = 0; i < n; i++)
		swapcontext(&pp_main, &pp_co);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cb);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ns = (b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec);
	cpu = (cb.tv_sec - ca.tv_sec) * 1e9 + (cb.tv_nsec - ca.tv_nsec);
	printf("pingpong switches=%ld ns_per_switch=%.1f cpu_ns_per_switch=%.1f\n", 2 * n,
	       ns / (2.0 * n), cpu / (2.0 * n));
	return 0;
}

int main(int argc, char **argv)
{
	long rounds = 20;
	pthread_t th[2];
	ucontext_t self;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 2 && !strcmp(argv[1], "pingpong"))
		return pingpong(atol(argv[2]));
	if (argc > 1)
		rounds = atol(argv[1]);
	if (argc > 2)
		spin_us = atol(argv[2]);
	/* the mmap'd ones first: the malloc'd one then lies below their guards */
	coro_init(&co[1], 1, map_stack(STACK_BYTES));
	coro_init(&co[2], 2, map_stack(STACK_BYTES));
	coro_init(&co[0], 0, malloc(STACK_BYTES));
	for (int i = 0; i < NCORO; i++)
		co[i].target = rounds;

	for (long r = 0; r < rounds; r++)	/* N:1 */
		for (int i = 0; i < NCORO; i++)
			resume(&co[i], &self);

	for (int i = 0; i < NCORO; i++) {	/* M:N */
		co[i].done = 0;
		co[i].target = 2 * rounds;
		give(&co[i]);
	}
	for (long i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, mn_sched, (void *)i);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);

	altstack_phase();
	for (int i = 0; i < NCORO; i++) {
		printf("coro %d lo=%p hi=%p resumes=%ld oncpu_ns=%llu tids=", i, (void *)co[i].lo,
		       (void *)co[i].hi, co[i].resumes, co[i].oncpu_ns);
		for (int j = 0; j < co[i].ntids; j++)
			printf("%s%d", j ? "," : "", co[i].tids[j]);
		printf("\n");
	}
	printf("sched tid=%ld\nsched tid=%d\nsched tid=%d\n", (long)syscall(SYS_gettid),
	       sched_tids[0], sched_tids[1]);
	return 0;
}
