/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * record --cgroup PATH, --comm NAME: which processes the trace admits.
 * The probes judge each task as it first runs (bpf/procscope.bpf.c:
 * admit()); this side resolves the options for them and judges the
 * processes already running at start, the same way, from /proc.
 */
#ifndef PROCSCOPE_REC_FILTER_H
#define PROCSCOPE_REC_FILTER_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "records.h"

struct rec_filter {
	bool on;			/* a filter was given */
	const char *cgroup_path;	/* as given */
	uint64_t cgroup_id;		/* the directory's cgroup id (inode); 0: none */
	unsigned cgroup_level;		/* depth below the cgroup v2 root */
	char cgroup_rel[PATH_MAX];	/* "/a/b": as /proc/PID/cgroup names it */
	char comm[PS_COMM_LEN];		/* "": none */
};

/* Resolves --cgroup PATH: a cgroup v2 directory. 0 or -errno, one message printed. */
int rec_filter__set_cgroup(struct rec_filter *f, const char *path);
void rec_filter__set_comm(struct rec_filter *f, const char *name);
/* A process already running matches: one of its threads is named so, and it is in the cgroup. */
bool rec_filter__match(const struct rec_filter *f, pid_t pid);

#endif
