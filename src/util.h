/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef PROCSCOPE_UTIL_H
#define PROCSCOPE_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#define PROCSCOPE_VERSION "0.1.0"
#define PS_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Exit statuses of every verb (README, "Exit status"): record -- CMD exits
 * with CMD's status instead of 0.
 */
#define PS_EXIT_OK		0
#define PS_EXIT_ERROR		1	/* nothing useful done: one message says why */
#define PS_EXIT_USAGE		2	/* bad command line */
#define PS_EXIT_INCOMPLETE	3	/* output made from a damaged or unfinished session */

/* "procscope: <message>\n" on stderr; the one line a failure prints. */
void ps_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Same, only with -v. */
void ps_dbg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern int ps_verbose;

uint64_t ps_now_ns(int clock_id);
/*
 * Parses "1.5", "2s", "500ms", "10us", "7ns", "end" (-> UINT64_MAX) into ns;
 * -EINVAL if not a time (inf and nan are not), -ERANGE beyond 2^62 ns.
 */
int ps_parse_time(const char *s, uint64_t *ns);
/* Same, for a duration: more than 0, and no "end". */
int ps_parse_seconds(const char *s, uint64_t *ns);
/* Parses a PID (1 .. 4194304, the kernel's PID_MAX_LIMIT); -EINVAL otherwise. */
int ps_parse_pid(const char *s, long *pid);
/* Parses "16M", "1G", "64KiB", "4096", "0x1000" into bytes; -ERANGE on overflow. */
int ps_parse_size(const char *s, uint64_t *bytes);
/* Human-readable size, "1.5 MiB", into buf. */
const char *ps_fmt_size(char *buf, size_t len, uint64_t bytes);

#endif
