/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The process tree: who exists, who created whom, names, births, exits.
 * Fed every record in file order with proc_model__apply(); other models
 * (vm_model, sched_model) hang their per-process and per-thread state off
 * the objects here.
 *
 * Lifetime. The model owns every ps_process and ps_thread. By default they
 * live until proc_model__free(): views that print exited processes after
 * the replay (report, layout, folded, html, sql) read them then. A
 * one-pass view (SESSION_RELEASE, which needs the scheduling model) lets
 * the session release a thread once the kernel is done with it: its
 * final switch-out, which the scheduling model sees as its death (after
 * its exit record). Its process goes with its last thread once the
 * process has exited (proc_model__last_thread()). The session releases
 * after that record reached every model and the view: the view's release
 * callback drops what it keeps of them, sched_model__release_thread()
 * frees the thread's scheduling state (vm_model holds none of an exited
 * process in SESSION_FORGET mode), and proc_model__release_thread() frees
 * them; no pointer to them is used afterwards. A later record with the
 * same tid or pid is a new thread or process.
 */
#ifndef PROCSCOPE_PROC_MODEL_H
#define PROCSCOPE_PROC_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include "idmap.h"
#include "records.h"

struct ps_process;

struct ps_thread {
	uint32_t tid;
	uint32_t tgid;
	char comm[PS_COMM_LEN];
	uint64_t start_ns;	/* birth if born_in_trace, else first record */
	uint64_t end_ns;	/* exit, 0 while alive */
	uint32_t creator_tid;	/* 0 if it existed before recording */
	uint32_t old_tid;	/* tid before an exec by a non-leader thread made it the leader, else 0 */
	uint32_t clone_syscall;	/* PS_NR_* that created it, 0 if unknown */
	uint64_t clone_flags;	/* its creator's clone flags, 0 if unknown */
	bool born_in_trace;
	bool is_thread;		/* created with CLONE_THREAD (shares its creator's process) */
	bool exited;
	uint32_t exit_code;	/* task->exit_code at exit (wait(2) encoding) */
	struct ps_process *proc;
	void *sched;		/* owned by sched_model */
	void *vm;		/* owned by vm_model */
};

struct ps_process {
	uint32_t pid;
	uint32_t ppid;		/* 0 if unknown */
	char comm[PS_COMM_LEN];
	char exe[PS_FNAME_LEN];	/* last exec's filename, "" if none seen */
	uint64_t start_ns;
	uint64_t end_ns;	/* exit of its last thread, 0 while alive */
	bool born_in_trace;
	bool exited;
	int32_t exit_code;	/* wait(2) status of the process, -1 unknown */
	uint32_t nexecs;
	uint32_t creator_tid;	/* thread that forked it, 0 if unknown */
	bool vfork;		/* created by vfork (CLONE_VFORK|CLONE_VM) */
	bool shares_vm;		/* created with CLONE_VM but not CLONE_THREAD */
	uint64_t records[PS_REC_MAX];	/* records caused by this process, by type */
	struct ps_thread **threads;	/* every thread seen, in order of appearance */
	size_t nthreads;
	size_t threads_cap;
	void *vm;		/* owned by vm_model */
};

struct proc_model {
	struct idmap procs;	/* pid -> ps_process */
	struct idmap threads;	/* tid -> ps_thread, the latest with that tid */
	struct idmap untraced;	/* tid -> char[PS_COMM_LEN]: untraced wakers named by PS_REC_COMM */
	struct ps_process **order;	/* in order of appearance */
	size_t nprocs;
	size_t order_cap;
	uint64_t first_ns;	/* first record's timestamp */
	uint64_t last_ns;	/* last record's timestamp */
	uint64_t records;
	uint64_t lost_total;	/* from the latest PS_REC_LOST */
	uint64_t lost_by_type[PS_REC_MAX];
	uint64_t stacks_skipped[PS_STK_SLOTS];	/* from the latest PS_REC_LOST, by PS_STK_* */
};

void proc_model__init(struct proc_model *m);
/* 0 or -ENOMEM. */
int proc_model__apply(struct proc_model *m, const struct ps_hdr *h);
void proc_model__free(struct proc_model *m);
/*
 * A task's name for a view: a traced thread's comm, an untraced waker's
 * (PS_REC_COMM), "idle/irq" for tid 0 (a wakeup from idle or an
 * interrupt); NULL if nothing named it.
 */
const char *proc_model__task_name(const struct proc_model *m, uint32_t tid);

struct ps_process *proc_model__process(const struct proc_model *m, uint32_t pid);
/* The latest thread with TID (pid reuse: older ones stay in their process). */
struct ps_thread *proc_model__thread(const struct proc_model *m, uint32_t tid);
/*
 * The thread record H is about, after proc_model__apply(H): thread H->tid
 * of process H->tgid; NULL for tid 0 (idle, an interrupt) or a tid not
 * known in that process. The session resolves it once and hands it to
 * every model's apply and to the view.
 */
struct ps_thread *proc_model__resolve(const struct proc_model *m, const struct ps_hdr *h);
/* Releasing T releases its process too: the process exited and T is its last thread. */
bool proc_model__last_thread(const struct ps_thread *t);
/*
 * Frees T (see Lifetime above), and its process if proc_model__last_thread(T):
 * out of the maps, out of its process's threads (which keep their order),
 * and out of the model's order of processes.
 */
void proc_model__release_thread(struct proc_model *m, struct ps_thread *t);

#endif
