/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Shared by the vm_* workloads: what the process knows about itself goes to
 * $VM_OUT/<pid>.facts ("kind ADDR" or "thread TID ADDR" lines), and its own
 * /proc/self/maps, read last, to $VM_OUT/<pid>.maps; then _exit(), so
 * nothing maps or unmaps between the snapshot and the end. Only raw
 * syscalls here: stdio or malloc could move the heap while we look.
 */
#ifndef VM_DUMP_H
#define VM_DUMP_H

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char vm_facts[1 << 16];
static size_t vm_facts_len;
static char vm_maps[1 << 20];

static void vm_fact(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(vm_facts + vm_facts_len, sizeof(vm_facts) - vm_facts_len, fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < sizeof(vm_facts) - vm_facts_len)
		vm_facts_len += n;
}

static void vm_write_file(const char *suffix, const char *buf, size_t len)
{
	const char *dir = getenv("VM_OUT") ? getenv("VM_OUT") : ".";
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%d.%s", dir, (int)getpid(), suffix);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, buf, len) != (ssize_t)len)
		_exit(3);
	close(fd);
}

static void __attribute__((noreturn)) vm_dump_and_exit(int code)
{
	const char *linger = getenv("VM_LINGER_MS");
	size_t len = 0;
	ssize_t n;
	int fd;

	/*
	 * VM_LINGER_MS: stay this long with the final layout before dumping it,
	 * so a recorder that reads /proc/PID/maps after exec (the fallback
	 * without the VMA iterator) finds the process alive.
	 */
	if (linger) {
		long ms = strtol(linger, NULL, 10);
		struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

		nanosleep(&ts, NULL);
	}
	fd = open("/proc/self/maps", O_RDONLY);
	if (fd < 0)
		_exit(3);
	while ((n = read(fd, vm_maps + len, sizeof(vm_maps) - len)) > 0)
		len += n;
	close(fd);
	vm_write_file("facts", vm_facts, vm_facts_len);
	vm_write_file("maps", vm_maps, len);
	_exit(code);
}

#endif
