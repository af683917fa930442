// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Names that are not plain ASCII, for the --json outputs: two threads name
 * themselves, one in UTF-8 and one with bytes that are not UTF-8, and the
 * process maps two files named the same way from DIR, keeping them mapped
 * until it exits.
 *
 *	names DIR
 *
 * Prints "pid PID", "utf8 TID" and "invalid TID" lines on stdout.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* also the expectations of tests/e2e/json_names.sh */
#define NAME_UTF8	"w\xc3\xb6rk-\xc3\x9f"	/* "wörk-ß" */
#define NAME_INVALID	"\xff\xfe"

static const char *const names[] = { NAME_UTF8, NAME_INVALID };
static const char *const labels[] = { "utf8", "invalid" };
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void *named(void *arg)
{
	long i = (long)arg;
	struct timespec ts = { 0, 20 * 1000 * 1000 };

	if (prctl(PR_SET_NAME, names[i]))
		return (void *)1;
	pthread_mutex_lock(&lock);
	printf("%s %ld\n", labels[i], (long)syscall(SYS_gettid));
	fflush(stdout);
	pthread_mutex_unlock(&lock);
	/* a few switches in and out under the new name */
	for (int i = 0; i < 3; i++)
		nanosleep(&ts, NULL);
	return NULL;
}

static int map_file(const char *dir, const char *name)
{
	char path[4096];
	void *p;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, 4096))
		return -1;
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	return p == MAP_FAILED ? -1 : 0;
}

int main(int argc, char **argv)
{
	pthread_t t[2];
	void *ret[2];

	if (argc != 2) {
		fprintf(stderr, "usage: names DIR\n");
		return 2;
	}
	if (map_file(argv[1], names[0]) || map_file(argv[1], names[1])) {
		perror("names: map");
		return 1;
	}
	printf("pid %d\n", (int)getpid());
	fflush(stdout);
	if (pthread_create(&t[0], NULL, named, (void *)0L) ||
	    pthread_create(&t[1], NULL, named, (void *)1L))
		return 1;
	pthread_join(t[0], &ret[0]);
	pthread_join(t[1], &ret[1]);
	return ret[0] || ret[1];
}
