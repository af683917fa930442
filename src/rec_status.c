// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdio.h>
#include <unistd.h>
#include "rec_status.h"
#include "util.h"

#define STATUS_PERIOD_NS	1000000000ull

void rec_status__init(struct rec_status *s, bool quiet)
{
	*s = (struct rec_status){ .on = !quiet && isatty(STDERR_FILENO) };
}

bool rec_status__due(const struct rec_status *s, uint64_t now_ns)
{
	return s->on && (!s->last_ns || now_ns - s->last_ns >= STATUS_PERIOD_NS);
}

void rec_status__update(struct rec_status *s, uint64_t now_ns, const struct rec_status_figures *f)
{
	char size[32], procs[32] = "?", files[32] = "";
	uint64_t secs = f->elapsed_ns / 1000000000ull, dt = now_ns - s->last_ns;
	double rate;

	if (!s->on)
		return;
	rate = s->last_ns && dt ? (f->records - s->last_records) * 1e9 / dt : 0;
	s->last_ns = now_ns;
	s->last_records = f->records;
	if (f->processes >= 0)
		snprintf(procs, sizeof(procs), "%ld", f->processes);
	if (f->files > 1)
		snprintf(files, sizeof(files), " (file %u)", f->files);
	/* \r and erase-to-end: one line, redrawn in place */
	fprintf(stderr, "\r\033[K%02llu:%02llu:%02llu  %.0f rec/s  %llu records  %llu lost  %s%s  %s processes",
		(unsigned long long)(secs / 3600), (unsigned long long)(secs / 60 % 60),
		(unsigned long long)(secs % 60), rate, (unsigned long long)f->records,
		(unsigned long long)f->lost, ps_fmt_size(size, sizeof(size), f->bytes), files, procs);
	fflush(stderr);
	s->shown = true;
}

void rec_status__clear(struct rec_status *s)
{
	if (!s->shown)
		return;
	fprintf(stderr, "\r\033[K");
	fflush(stderr);
	s->shown = false;
}
