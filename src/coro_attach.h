/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * `record --coroutines`: the uprobes of bpf/coro.bpf.h on glibc's
 * makecontext/swapcontext/setcontext and boost.context's
 * make_fcontext/jump_fcontext/ontop_fcontext.
 */
#ifndef PROCSCOPE_CORO_ATTACH_H
#define PROCSCOPE_CORO_ATTACH_H

#include <stdbool.h>
#include <sys/types.h>

struct procscope_bpf;
struct coro_links;

/* Before load: the uprobes load only when ON (each costs a trap per call). */
void coro_attach__setup(struct procscope_bpf *skel, bool on);
/*
 * After load: attaches the uprobes to the C library and boost.context the
 * targets map (/proc/PID/maps of PIDS, through /proc/PID/root), or, with
 * no PIDS (a command not started yet, -a), to the C library this recorder
 * runs with and the boost.context found in the usual library directories.
 * uprobes sit on the file, so a library mapped later is covered too; every
 * process that maps it traps, and the probes drop untraced ones. 0, or
 * -errno with one message when no C library could be probed.
 */
int coro_attach__attach(struct procscope_bpf *skel, const pid_t *pids, int npids,
			struct coro_links **out);
void coro_attach__free(struct coro_links *l);

#endif
