// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Scheduling workloads with known behaviour, for tests/e2e/sched_*.sh.
 *   sched_work sleeper    one thread sleeps 20 times for 10 ms
 *   sched_work pinned     two CPU-bound threads pinned to CPU 0, 300 ms each
 *   sched_work pingpong   two processes bounce a byte over pipes 200 times
 *   sched_work pool       a pool of 8 threads drains 400 small jobs
 *   sched_work pinned3    three CPU-bound threads pinned to CPU 0, one for
 *                         400 ms of CPU time, two for 100 ms
 * With a second argument "stop" (for tests that attach with -p), it stops
 * itself (SIGSTOP) before it starts, and again at the end with every thread
 * still alive and parked, so that /proc's counters read while it is
 * stopped are final; it then waits to be killed.
 * Every thread reads its own counters from /proc/self/task/TID/{status,
 * schedstat} as its last act, keeps them in memory (printing could block
 * and add a switch), and the main thread prints them after joining:
 *   thread pid=P tid=T nvcsw=N nivcsw=N oncpu_ns=N
 * and the main thread its counters at the start of main() ("start thread
 * ...") and at the end ("main thread ...").
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct counters {
	int pid, tid;
	unsigned long long nvcsw, nivcsw, oncpu_ns;
};

static void read_counters(struct counters *c)
{
	char path[96], buf[4096];
	FILE *f;
	size_t n;
	char *p;

	c->pid = getpid();
	c->tid = syscall(SYS_gettid);
	/*
	 * On-CPU time: the kernel's sum_exec_runtime, the first field of
	 * /proc/self/task/TID/schedstat. Read through CLOCK_THREAD_CPUTIME_ID,
	 * which brings it up to date first: the /proc file shows it as of the
	 * thread's last accounting point (a tick or a switch), which for the
	 * thread reading it about itself lags by up to a tick.
	 */
	snprintf(path, sizeof(path), "/proc/self/task/%d/status", c->tid);
	f = fopen(path, "re");
	if (!f)
		return;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	p = strstr(buf, "\nvoluntary_ctxt_switches:");
	if (p)
		c->nvcsw = strtoull(strchr(p, ':') + 1, NULL, 10);
	p = strstr(buf, "\nnonvoluntary_ctxt_switches:");
	if (p)
		c->nivcsw = strtoull(strchr(p, ':') + 1, NULL, 10);
	/* last: the file read above (a first malloc may map an arena) costs time */
	{
		struct timespec ts;

		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
		c->oncpu_ns = ts.tv_sec * 1000000000ull + ts.tv_nsec;
	}
}

static void print_counters(const struct counters *c)
{
	char line[160];
	int n = snprintf(line, sizeof(line), "thread pid=%d tid=%d nvcsw=%llu nivcsw=%llu oncpu_ns=%llu\n",
			 c->pid, c->tid, c->nvcsw, c->nivcsw, c->oncpu_ns);

	if (write(STDOUT_FILENO, line, n) != n)
		exit(1);
}

static unsigned long long now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

#define MAX_THREADS 16
static struct counters results[MAX_THREADS];
static bool stop_at_end;
static atomic_int threads_done;

/* A thread's last act: read its counters, or in stop mode park for good. */
static void finish_thread(struct counters *c)
{
	read_counters(c);
	if (!stop_at_end)
		return;
	atomic_fetch_add(&threads_done, 1);
	for (;;)
		pause();
}

static void *sleeper(void *arg)
{
	struct timespec d = { 0, 10 * 1000 * 1000 };

	for (int i = 0; i < 20; i++)
		while (nanosleep(&d, &d) && errno == EINTR)
			;
	finish_thread(arg);
	return NULL;
}

/* Spins on CPU 0 for MS milliseconds of this thread's own CPU time. */
static void spin_pinned(unsigned ms)
{
	cpu_set_t set;
	unsigned long long end;
	volatile unsigned long x = 0;

	CPU_ZERO(&set);
	CPU_SET(0, &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set))
		exit(3);
	end = now_ns(CLOCK_THREAD_CPUTIME_ID) + ms * 1000 * 1000ull;
	while (now_ns(CLOCK_THREAD_CPUTIME_ID) < end)
		for (int i = 0; i < 10000; i++)
			x += i;
}

static void *spinner(void *arg)
{
	spin_pinned(300);	/* both get the same work */
	finish_thread(arg);
	return NULL;
}

static void *spinner3(void *arg)
{
	struct counters *c = arg;

	spin_pinned(c == &results[0] ? 400 : 100);
	finish_thread(c);
	return NULL;
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int jobs_left = 400;

static void *worker(void *arg)
{
	for (;;) {
		volatile unsigned long x = 0;

		pthread_mutex_lock(&lock);
		if (!jobs_left) {
			pthread_mutex_unlock(&lock);
			break;
		}
		jobs_left--;
		pthread_mutex_unlock(&lock);
		for (int i = 0; i < 200000; i++)
			x += i;
		if (jobs_left % 8 == 0)
			sched_yield();
	}
	finish_thread(arg);
	return NULL;
}

static int run_threads(void *(*fn)(void *), int n)
{
	pthread_t th[MAX_THREADS];

	for (int i = 0; i < n; i++)
		if (pthread_create(&th[i], NULL, fn, &results[i]))
			return 1;
	if (stop_at_end) {
		struct timespec d = { 0, 1000 * 1000 };

		while (atomic_load(&threads_done) < n)
			nanosleep(&d, NULL);
		return 0;
	}
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < n; i++)
		print_counters(&results[i]);
	return 0;
}

/* Spins (no sleep, so no timer wakeup) for US microseconds. */
static void spin_us(unsigned us)
{
	unsigned long long end = now_ns(CLOCK_MONOTONIC) + us * 1000ull;

	while (now_ns(CLOCK_MONOTONIC) < end)
		;
}

static void pin_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/*
 * Each side on its own CPU, and each works 1 ms before it replies, so the
 * other is always asleep in read() by then: every exchange is one wakeup
 * of the reader by its peer, alternating.
 */
static int pingpong(void)
{
	int ab[2], ba[2], status;
	struct counters c;
	char ch = 'x';
	pid_t pid;

	if (pipe(ab) || pipe(ba))
		return 1;
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		pin_cpu(1);
		for (int i = 0; i < 200; i++) {
			if (read(ab[0], &ch, 1) != 1)
				_exit(1);
			spin_us(1000);
			if (write(ba[1], &ch, 1) != 1)
				_exit(1);
		}
		if (stop_at_end)
			for (;;)
				pause();
		read_counters(&c);
		print_counters(&c);
		_exit(0);
	}
	pin_cpu(0);
	for (int i = 0; i < 200; i++) {
		spin_us(1000);
		if (write(ab[1], &ch, 1) != 1 || read(ba[0], &ch, 1) != 1)
			return 1;
	}
	if (stop_at_end)
		return 0;
	waitpid(pid, &status, 0);
	return !WIFEXITED(status) || WEXITSTATUS(status);
}

int main(int argc, char **argv)
{
	struct counters c, start;
	int err;

	/* the trace starts at exec: the part before main() is the loader's */
	read_counters(&start);

	if (argc < 2) {
		fprintf(stderr, "usage: sched_work sleeper|pinned|pingpong|pool\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	stop_at_end = argc > 2 && !strcmp(argv[2], "stop");
	if (stop_at_end)
		kill(getpid(), SIGSTOP);	/* until the recorder is attached */
	if (!strcmp(argv[1], "sleeper"))
		err = run_threads(sleeper, 1);
	else if (!strcmp(argv[1], "pinned"))
		err = run_threads(spinner, 2);
	else if (!strcmp(argv[1], "pool"))
		err = run_threads(worker, 8);
	else if (!strcmp(argv[1], "pinned3"))
		err = run_threads(spinner3, 3);
	else if (!strcmp(argv[1], "pingpong"))
		err = pingpong();
	else
		return 2;
	if (stop_at_end) {
		printf("stopping\n");
		kill(getpid(), SIGSTOP);	/* every thread parked: counters final */
		for (;;)
			pause();
	}
	read_counters(&c);
	printf("start ");
	print_counters(&start);
	printf("main ");
	print_counters(&c);
	return err;
}
