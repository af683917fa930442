// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A long-running workload for the production-recording tests: two named
 * threads ("churn-1", "churn-2") map, touch, protect and unmap memory and
 * move the heap, without end, until told on stdin:
 *
 *   q TAG   quiesce: every thread parks between calls; then the process
 *           copies its own /proc/self/maps to $VM_OUT/TAG.maps and says
 *           "quiet TAG" on stdout. Nothing maps or unmaps until "g".
 *   g       go on churning.
 *   x       exit (from quiet or not).
 *
 * Says "ready PID" when its threads run. `prod_churn --brk N` instead
 * calls brk exactly N times (grow and shrink by a page), then says
 * "done N" and exits: the lost-records test counts them.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define NTHREADS	2

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int quiet_wanted, parked;

/* Parks between calls while a quiesce is wanted. */
static void checkpoint(void)
{
	pthread_mutex_lock(&lock);
	if (quiet_wanted) {
		parked++;
		pthread_cond_broadcast(&cond);
		while (quiet_wanted)
			pthread_cond_wait(&cond, &lock);
		parked--;
	}
	pthread_mutex_unlock(&lock);
}

static void *churn(void *arg)
{
	unsigned seed = (unsigned)(long)arg * 7919u;
	char name[16];
	void *keep[8] = { 0 };
	size_t keep_len[8] = { 0 };

	snprintf(name, sizeof(name), "churn-%ld", (long)arg);
	pthread_setname_np(pthread_self(), name);
	for (unsigned i = 0;; i++) {
		unsigned slot = rand_r(&seed) % 8;
		size_t len = (1 + rand_r(&seed) % 16) * 4096;
		struct timespec nap = { 0, 200000 };	/* 0.2 ms: busy, not a flood */
		void *p;

		checkpoint();
		if (keep[slot])
			munmap(keep[slot], keep_len[slot]);
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			keep[slot] = NULL;
			continue;
		}
		memset(p, 1, len);
		if (i % 3 == 0)
			mprotect(p, 4096, PROT_READ);
		keep[slot] = p;
		keep_len[slot] = len;
		free(malloc(1 + rand_r(&seed) % 200000));	/* heap or a short-lived mapping */
		nanosleep(&nap, NULL);
	}
	return NULL;
}

static void copy_maps(const char *tag)
{
	static char buf[1 << 20];
	const char *dir = getenv("VM_OUT") ? getenv("VM_OUT") : ".";
	char path[4096];
	ssize_t n, len = 0;
	int fd = open("/proc/self/maps", O_RDONLY);

	if (fd < 0)
		exit(3);
	while ((n = read(fd, buf + len, sizeof(buf) - len)) > 0)
		len += n;
	close(fd);
	snprintf(path, sizeof(path), "%s/%s.maps", dir, tag);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, buf, len) != len)
		exit(3);
	close(fd);
}

static int brk_only(long n)
{
	char *base = sbrk(0);

	for (long i = 0; i < n; i++)
		syscall(SYS_brk, base + (i % 2 ? 0 : 4096));
	printf("done %ld\n", n);
	return 0;
}

int main(int argc, char **argv)
{
	pthread_t t[NTHREADS];
	char line[256];

	if (argc == 3 && !strcmp(argv[1], "--brk"))
		return brk_only(atol(argv[2]));
	setvbuf(stdout, NULL, _IONBF, 0);
	for (long i = 0; i < NTHREADS; i++)
		pthread_create(&t[i], NULL, churn, (void *)(i + 1));
	printf("ready %d\n", getpid());
	while (fgets(line, sizeof(line), stdin)) {
		char tag[200] = "maps";

		if (line[0] == 'x')
			break;
		if (line[0] == 'g') {
			pthread_mutex_lock(&lock);
			quiet_wanted = 0;
			pthread_cond_broadcast(&cond);
			pthread_mutex_unlock(&lock);
		} else if (line[0] == 'q') {
			sscanf(line + 1, "%199s", tag);
			pthread_mutex_lock(&lock);
			quiet_wanted = 1;
			while (parked < NTHREADS)
				pthread_cond_wait(&cond, &lock);
			pthread_mutex_unlock(&lock);
			copy_maps(tag);
			printf("quiet %s\n", tag);
		}
	}
	_exit(0);
}
