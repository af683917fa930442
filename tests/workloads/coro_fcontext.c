// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Coroutines on boost.context's fcontext (make_fcontext/jump_fcontext), for
 * tests/e2e/coro_ucontext.sh: the same schedule as coro_ucontext.c (three
 * coroutines N:1 on the main thread, then M:N on two threads, each slice
 * spin, sleep 200 us, spin, yield) and the same output lines, without the
 * sigaltstack phase. libboost_context is opened with dlopen so that the
 * workloads build without boost; the functions are boost's C ABI
 * (boost/context/detail/fcontext.hpp).
 * Usage: coro_fcontext [ROUNDS [SPIN_US]]   (defaults 20, 2000); exits 2
 * when libboost_context cannot be loaded.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define NCORO		3
#define STACK_BYTES	(256 << 10)
#define PAGE		4096
#define MAX_TIDS	4

typedef void *fcontext_t;
typedef struct {
	fcontext_t fctx;
	void *data;
} transfer_t;

static transfer_t (*jump_fcontext)(fcontext_t const to, void *vp);
static fcontext_t (*make_fcontext)(void *sp, size_t size, void (*fn)(transfer_t));

struct coro {
	fcontext_t ctx;		/* where to resume it */
	fcontext_t back;	/* the scheduler that resumed it */
	char *lo, *hi;
	long target, resumes;
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

static void coro_main(transfer_t t)
{
	struct coro *c = t.data;
	struct timespec nap = { 0, 200000 };

	c->back = t.fctx;
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
		t = jump_fcontext(c->back, NULL);
		c->back = t.fctx;
	}
}

static char *map_stack(size_t bytes)
{
	char *p = mmap(NULL, bytes + PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	if (p == MAP_FAILED || mprotect(p, PAGE, PROT_NONE)) {
		perror("mmap");
		exit(1);
	}
	return p + PAGE;
}

static void coro_init(struct coro *c, char *stack)
{
	c->lo = stack;
	c->hi = stack + STACK_BYTES;
	c->ctx = make_fcontext(c->hi, STACK_BYTES, coro_main);
}

static void resume(struct coro *c)
{
	transfer_t t = jump_fcontext(c->ctx, c);

	c->ctx = t.fctx;	/* where it yielded */
}

static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;
static struct coro *queue[NCORO];
static int qhead, qlen;
static volatile int ndone;
static int sched_tids[2];

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

static void *mn_sched(void *arg)
{
	struct coro *c;

	sched_tids[(long)arg] = syscall(SYS_gettid);
	while (__atomic_load_n(&ndone, __ATOMIC_ACQUIRE) < NCORO) {
		c = take();
		if (!c) {
			sched_yield();
			continue;
		}
		resume(c);
		if (c->done)
			__atomic_add_fetch(&ndone, 1, __ATOMIC_RELEASE);
		else
			give(c);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	void *lib = dlopen("libboost_context.so", RTLD_NOW);
	long rounds = argc > 1 ? atol(argv[1]) : 20;
	pthread_t th[2];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 2)
		spin_us = atol(argv[2]);
	if (!lib || !(jump_fcontext = dlsym(lib, "jump_fcontext")) ||
	    !(make_fcontext = dlsym(lib, "make_fcontext"))) {
		fprintf(stderr, "coro_fcontext: no boost.context: %s\n", dlerror());
		return 2;
	}
	coro_init(&co[1], map_stack(STACK_BYTES));
	coro_init(&co[2], map_stack(STACK_BYTES));
	coro_init(&co[0], malloc(STACK_BYTES));
	for (int i = 0; i < NCORO; i++)
		co[i].target = rounds;
	for (long r = 0; r < rounds; r++)
		for (int i = 0; i < NCORO; i++)
			resume(&co[i]);
	for (int i = 0; i < NCORO; i++) {
		co[i].done = 0;
		co[i].target = 2 * rounds;
		give(&co[i]);
	}
	for (long i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, mn_sched, (void *)i);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
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
