/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The live status line of `record` on a terminal's stderr, redrawn in
 * place about once a second: elapsed time, records/s over the last
 * second, records, lost, bytes written (or held by the flight recorder),
 * processes traced.
 */
#ifndef PROCSCOPE_REC_STATUS_H
#define PROCSCOPE_REC_STATUS_H

#include <stdbool.h>
#include <stdint.h>

struct rec_status {
	bool on;		/* stderr is a terminal and no -q */
	bool shown;		/* a line is on screen */
	uint64_t last_ns, last_records;
};

struct rec_status_figures {
	uint64_t elapsed_ns, records, lost, bytes;
	unsigned files;		/* > 1: a series or saved snapshots */
	long processes;		/* < 0: not known */
};

void rec_status__init(struct rec_status *s, bool quiet);
/* A redraw is due: on, and a second passed since the last (NOW_NS: CLOCK_MONOTONIC). */
bool rec_status__due(const struct rec_status *s, uint64_t now_ns);
/* Redraws the line (the figures cost a look at the traced processes: only when due). */
void rec_status__update(struct rec_status *s, uint64_t now_ns, const struct rec_status_figures *f);
/* Clears the line, so the summary starts on a clean one. */
void rec_status__clear(struct rec_status *s);

#endif
