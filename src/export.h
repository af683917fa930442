/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * procscope export: one streaming pass over a session file through the
 * replay core (session.h): records in time order, through the models the
 * format asks for, then to the format, which writes as it goes. Memory is
 * bounded by live threads and regions (plus the session's reorder queue),
 * never by the trace length.
 */
#ifndef PROCSCOPE_EXPORT_H
#define PROCSCOPE_EXPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "proc_model.h"
#include "session.h"

/* The CPU pseudo-process of Chrome JSON: above any real pid (pid_max <= 2^22). */
#define EXPORT_CPU_PID 4194304

struct export_ctx {
	struct session *s;
	const struct ps_file_header *fh;
	const char *cmdline;	/* the recorded command line */
	struct proc_model *pm;	/* the session's */
	FILE *out;
	uint32_t pid;		/* only this process; 0: every process */
	uint64_t from_ns;	/* window, absolute CLOCK_MONOTONIC ns, [from, to) */
	uint64_t to_ns;
	uint64_t origin_ns;	/* zero of relative times: the session's time zero */
	uint64_t end_ns;	/* set before finish(): end of the recording */
	int stacks;		/* --stacks: an enum stack_kind, -1 if not asked for */
	const char *out_path;	/* -o as given; own_output formats create it themselves */
	const char *in_path;	/* -i: formats that read the session twice open it again */
};

/* Events of process TGID belong to the export (tgid 0 = idle: never). */
static inline bool export__want_pid(const struct export_ctx *c, uint32_t tgid)
{
	return tgid && (!c->pid || c->pid == tgid);
}

static inline bool export__want_ts(const struct export_ctx *c, uint64_t ts)
{
	return ts >= c->from_ns && ts < c->to_ns;
}

/* Clips [*start, *end) to the window; false if nothing is left. */
static inline bool export__clip(const struct export_ctx *c, uint64_t *start, uint64_t *end)
{
	if (*start < c->from_ns)
		*start = c->from_ns;
	if (*end > c->to_ns)
		*end = c->to_ns;
	return *start < *end;
}

/* The name a thread is shown with: its comm, or "<tid>" when none is known. */
const char *export__thread_name(char *buf, size_t len, const struct ps_thread *t, uint32_t tid);
const char *export__process_name(char *buf, size_t len, const struct ps_process *p, uint32_t pid);

/*
 * A memory syscall (brk, mmap, munmap, mremap, mprotect, and the
 * PS_REC_MEMOP calls: madvise, mlock, ...) as named arguments.
 */
enum export_arg_kind { EA_PTR, EA_UINT, EA_INT, EA_STR };

struct export_arg {
	const char *name;
	enum export_arg_kind kind;
	uint64_t u;		/* EA_PTR, EA_UINT */
	int64_t i;		/* EA_INT */
	const char *s;		/* EA_STR, points into the export_mem_call */
};

#define EXPORT_MAX_ARGS 10

struct export_mem_call {
	const char *name;	/* "mmap", ... */
	unsigned nargs;
	struct export_arg args[EXPORT_MAX_ARGS];
	char prot[96];
	char flags[256];
	char path[PS_PATH_DEPTH * PS_PATH_COMP + 1];
};

/*
 * Fills CALL from a memory syscall record: its arguments, then "ret" (the
 * resulting address) or "error" ("ENOMEM"). False for other record types.
 */
bool export__mem_call(const struct ps_hdr *h, struct export_mem_call *call);

struct export_format {
	const char *name;
	const char *default_output;
	const char *help;
	unsigned models;	/* SESSION_VM | SESSION_SCHED: the models the format reads */
	bool own_output;	/* writes c->out_path itself (a database, a directory); c->out is NULL */
	/* NULL and errno on failure; sets CB's model callbacks (the state owns them). */
	void *(*begin)(struct export_ctx *c, struct session_callbacks *cb);
	/* Each record, after every model took it; 0 or -errno. May be NULL. */
	int (*record)(void *st, const struct session_event *ev);
	/* After the last record and the models' last intervals (c->end_ns set); 0 or -errno. */
	int (*finish)(void *st);
	void (*free)(void *st);
};

extern const struct export_format export_perfetto;
extern const struct export_format export_chrome;
extern const struct export_format export_speedscope;
extern const struct export_format export_folded;
extern const struct export_format export_html;
extern const struct export_format export_sqlite;
extern const struct export_format export_clickhouse;

#endif
