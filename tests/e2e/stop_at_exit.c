// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * LD_PRELOAD exit hook for the layout tests on programs nobody here wrote:
 * when a process whose comm starts with $PS_STOP_COMM (lto1 renames itself
 * lto1-wpa and lto1-ltrans) exits through exit(), it
 * stops itself (SIGSTOP, every thread at once) from its last destructor,
 * so the test can copy /proc/PID/maps while nothing moves, then end it
 * (SIGKILL) or let it finish (SIGUSR2 then SIGCONT). A SIGCONT alone (from
 * anyone else on a shared machine) stops it again. Built by the test with
 * `cc -shared -fPIC`.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

static volatile sig_atomic_t released;

static void release(int sig)
{
	(void)sig;
	released = 1;
}

__attribute__((destructor)) static void stop_at_exit(void)
{
	const char *want = getenv("PS_STOP_COMM");
	char comm[32] = "";
	ssize_t n;
	int fd;

	if (!want)
		return;
	fd = open("/proc/self/comm", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, comm, sizeof(comm) - 1);
	close(fd);
	if (n <= 0)
		return;
	comm[strcspn(comm, "\n")] = '\0';
	if (strncmp(comm, want, strlen(want)))
		return;
	signal(SIGUSR2, release);
	while (!released)
		kill(getpid(), SIGSTOP);
}
