/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Shared by the libFuzzer harnesses: a session file in memory (a memfd,
 * which the reader sees as a regular file through /proc/self/fd) and the
 * reading verbs run on it as the command line would run them.
 */
#ifndef PROCSCOPE_FUZZ_COMMON_H
#define PROCSCOPE_FUZZ_COMMON_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "commands.h"
#include "trace_reader.h"

static int fuzz_fd = -1;
static char fuzz_path[64];

/*
 * Views print; the harness wants only their crashes, not their text. Their
 * warnings on stderr are silenced with libFuzzer's -close_fd_mask=2, which
 * keeps its own and the sanitizers' reports.
 */
static void fuzz_init(void)
{
	if (!freopen("/dev/null", "w", stdout))
		abort();
	fuzz_fd = memfd_create("procscope-fuzz", MFD_CLOEXEC);
	if (fuzz_fd < 0)
		abort();
	snprintf(fuzz_path, sizeof(fuzz_path), "/proc/self/fd/%d", fuzz_fd);
}

/* Makes the in-memory file hold exactly LEN bytes of DATA; returns its path. */
static const char *fuzz_file(const void *data, size_t len)
{
	if (ftruncate(fuzz_fd, 0) || pwrite(fuzz_fd, data, len, 0) != (ssize_t)len)
		abort();
	return fuzz_path;
}

/* The first traced process in the file, for the verbs that need --pid. */
static long fuzz_some_pid(const char *path)
{
	struct trace_reader *r = trace_reader__open(path);
	const struct ps_hdr *h;
	long pid = 1;

	if (!r)
		return pid;
	trace_reader__set_quiet(r, true);
	while ((h = trace_reader__next(r)))
		if (h->tgid && h->tgid <= 4194303) {
			pid = h->tgid;
			break;
		}
	trace_reader__free(r);
	return pid;
}

#define FUZZ_NVERBS 13

/* Runs reading verb number WHICH (mod FUZZ_NVERBS) on PATH, as "procscope VERB -i PATH ...". */
static void fuzz_verb(unsigned which, const char *path)
{
	char pid[16], *argv[12];
	int argc = 0;
	int (*fn)(int, char **) = NULL;

	snprintf(pid, sizeof(pid), "%ld", fuzz_some_pid(path));
#define A(s) (argv[argc++] = (char *)(s))
	switch (which % FUZZ_NVERBS) {
	case 0: fn = cmd_dump; A("dump"); break;
	case 1: fn = cmd_report; A("report"); break;
	case 2: fn = cmd_report; A("report"); A("--json"); break;
	case 3: fn = cmd_layout; A("layout"); A("--pid"); A(pid); break;
	case 4: fn = cmd_layout; A("layout"); A("--pid"); A(pid); A("--json"); A("--at"); A("0.001"); break;
	case 5: fn = cmd_timeline; A("timeline"); break;
	case 6: fn = cmd_timeline; A("timeline"); A("--cpus"); A("--pid"); A(pid); break;
	case 7: fn = cmd_export; A("export"); A("--format"); A("perfetto"); A("-o"); A("-"); break;
	case 8: fn = cmd_export; A("export"); A("--format"); A("chrome"); A("-o"); A("-"); break;
	case 9: fn = cmd_export; A("export"); A("--format"); A("speedscope"); A("-o"); A("-"); break;
	case 10: fn = cmd_export; A("export"); A("--format"); A("folded"); A("-o"); A("-"); break;
	case 11: fn = cmd_report; A("report"); A("--pid"); A(pid); break;
	case 12: fn = cmd_export; A("export"); A("--format"); A("html"); A("-o"); A("-"); break;
	}
	A("-i");
	A(path);
#undef A
	argv[argc] = NULL;
	fn(argc, argv);
	fflush(stdout);
}

#endif
