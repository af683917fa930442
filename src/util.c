// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "util.h"

int ps_verbose;

void ps_err(const char *fmt, ...)
{
	va_list ap;

	flockfile(stderr);	/* one line, whichever thread says it */
	fputs("procscope: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}

void ps_dbg(const char *fmt, ...)
{
	va_list ap;

	if (!ps_verbose)
		return;
	fputs("procscope: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

uint64_t ps_now_ns(int clock_id)
{
	struct timespec ts;

	clock_gettime(clock_id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* Largest time on any command line, ns: 2^62 ns is 146 years, far beyond a recording. */
#define PS_TIME_MAX_NS	(1ull << 62)

int ps_parse_time(const char *s, uint64_t *ns)
{
	double v;
	char *end;

	if (!strcmp(s, "end")) {
		*ns = UINT64_MAX;
		return 0;
	}
	errno = 0;
	v = strtod(s, &end);
	/* isfinite: strtod takes "inf" and "nan"; neither converts to an integer */
	if (errno || end == s || !isfinite(v) || v < 0)
		return -EINVAL;
	if (!strcmp(end, "") || !strcmp(end, "s"))
		v *= 1e9;
	else if (!strcmp(end, "ms"))
		v *= 1e6;
	else if (!strcmp(end, "us"))
		v *= 1e3;
	else if (strcmp(end, "ns"))
		return -EINVAL;
	if (v >= (double)PS_TIME_MAX_NS)
		return -ERANGE;
	*ns = (uint64_t)v;
	return 0;
}

int ps_parse_seconds(const char *s, uint64_t *ns)
{
	int err;

	if (!strcmp(s, "end"))
		return -EINVAL;
	err = ps_parse_time(s, ns);
	if (!err && !*ns)
		return -EINVAL;
	return err;
}

int ps_parse_pid(const char *s, long *pid)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v <= 0 || v > 4194304)
		return -EINVAL;
	*pid = v;
	return 0;
}

int ps_parse_size(const char *s, uint64_t *bytes)
{
	unsigned long long v;
	unsigned shift = 0;
	char *end;

	/* strtoull takes "-1" as 2^64-1: only digits may start a size */
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno == ERANGE)
		return -ERANGE;
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	}
	if (shift && *end == 'i')
		end++;
	if (*end == 'B')
		end++;
	if (*end)
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*bytes = v << shift;
	return 0;
}

const char *ps_fmt_size(char *buf, size_t len, uint64_t bytes)
{
	static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = bytes;
	unsigned i = 0;

	while (v >= 1024 && i < PS_ARRAY_SIZE(units) - 1) {
		v /= 1024;
		i++;
	}
	if (i == 0)
		snprintf(buf, len, "%llu B", (unsigned long long)bytes);
	else
		snprintf(buf, len, "%.1f %s", v, units[i]);
	return buf;
}
