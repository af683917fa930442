/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The state of already running processes, read from /proc at recording start. */
#ifndef PROCSCOPE_SNAPSHOT_H
#define PROCSCOPE_SNAPSHOT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "trace_writer.h"

/*
 * Writes a PS_REC_SNAP_TASK per thread of PID and, with MAPS, a
 * PS_REC_SNAP_MAP per line of its /proc/PID/maps. -ENOENT if PID is gone,
 * -errno from the writer.
 */
int snapshot__process(struct trace_writer *w, pid_t pid, bool maps);
/*
 * Only the PS_REC_SNAP_MAP records of PID, stamped TS_NS (when they were
 * read): the recorder's stand-in, after an exec, for the VMA list the
 * probes cannot make without the VMA iterator (kernel_features.h). Each line
 * replaces what the model has there. -ENOENT/-ESRCH if PID is gone.
 */
int snapshot__maps(struct trace_writer *w, pid_t pid, uint64_t ts_ns);
/* Every process on the machine, except SKIP (the recorder). Returns processes seen. */
int snapshot__all(struct trace_writer *w, pid_t skip);

#endif
