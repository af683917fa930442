/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Address-space model: per process, an interval map of its mappings updated
 * record by record (exec, fork, mmap, munmap, mremap, mprotect, brk, the
 * initial snapshot), each region classified (text, heap, thread stack, ...),
 * plus memory counters over time (heap, anonymous, main stack, RSS) and each
 * thread's stack depth.
 *
 * Streaming: feed every record in file order (after proc_model__apply() of
 * the same record); counter changes go to the callback as they happen.
 * Memory is bounded by the number of live regions.
 */
#ifndef PROCSCOPE_VM_MODEL_H
#define PROCSCOPE_VM_MODEL_H

#include <stdbool.h>
#include <stdint.h>
#include "proc_model.h"

enum vm_kind {
	VK_OTHER = 0, VK_TEXT, VK_RODATA, VK_DATA, VK_BSS, VK_HEAP, VK_STACK,
	VK_THREAD_STACK, VK_ANON, VK_FILE, VK_VDSO, VK_VVAR, VK_GUARD, VK_MAX,
};

/* "text", "rodata", ..., as layout --json spells them */
const char *vm_model__kind_name(enum vm_kind k);

struct vm_region {
	uint64_t start;
	uint64_t end;		/* exclusive */
	uint64_t pgoff;		/* bytes into the file */
	uint32_t prot;		/* PROT_READ 1 | PROT_WRITE 2 | PROT_EXEC 4 */
	bool shared;		/* MAP_SHARED */
	enum vm_kind kind;
	const char *path;	/* file maps and [vdso]-style names; NULL otherwise */
	uint32_t tid;		/* VK_THREAD_STACK: the thread it belongs to */
	uint64_t created_ns;	/* when it appeared */
	uint32_t created_tid;	/* by which thread (0: exec or snapshot) */
	uint32_t changes;	/* times it was resized, split or re-protected */
	uint32_t how;		/* VM_CHG_* seen so far */
	uint64_t changed_ns;	/* last change, 0 if none */
};

/* vm_region.how: what happened to a region since it appeared */
#define VM_CHG_GROW	0x01
#define VM_CHG_SHRINK	0x02
#define VM_CHG_SPLIT	0x04
#define VM_CHG_PROTECT	0x08
#define VM_CHG_MOVE	0x10
#define VM_CHG_MERGE	0x20	/* absorbed a neighbour (heap growth, adjacent anon maps) */

/* Counter values of one process; reported whenever one of them moves. */
struct vm_counters {
	uint64_t heap_bytes;	/* brk - start_brk */
	uint64_t anon_bytes;	/* private anonymous mappings (not heap, not stacks) */
	uint64_t stack_bytes;	/* main stack mapping size */
	uint64_t rss_bytes;	/* file + anon + shmem resident */
};

struct vm_callbacks {
	void (*counters)(void *ctx, const struct ps_process *p, uint64_t ts_ns,
			 const struct vm_counters *c);
	/* depth = stack top - user SP at switch-out, for every thread */
	void (*stack_depth)(void *ctx, const struct ps_thread *t, uint64_t ts_ns,
			    uint64_t depth_bytes);
	void *ctx;
};

struct vm_model;

/* NULL and errno on failure. CB may be NULL. One per proc_model: it uses ps_thread.vm. */
struct vm_model *vm_model__new(struct proc_model *pm, const struct vm_callbacks *cb);
/* T: proc_model__resolve(H), which the model does not look up again. 0 or -errno. */
int vm_model__apply(struct vm_model *m, const struct ps_hdr *h, struct ps_thread *t);
/* Calls FN for each region of PID at the current point, lowest address first. */
void vm_model__for_each_region(const struct vm_model *m, uint32_t pid,
			       void (*fn)(void *ctx, const struct vm_region *r), void *ctx);
/*
 * For one-pass consumers (exports): free a process's state when its last
 * thread exits, so memory follows the live address spaces; exited
 * processes then have no layout and no stats.
 */
void vm_model__forget_exited(struct vm_model *m, bool forget);
/*
 * For views that print only part of an exited process's layout (report:
 * its largest maps; layout: one pid): when a process's last thread exits,
 * keep all of PID's layout and only the LARGEST largest regions of any
 * other (at most 16; of equal sizes the lower ones), so memory follows the
 * live processes, not every process the file ever had. Stats, counters and
 * thread peaks stay whole. Not called: every exited layout stays whole.
 */
void vm_model__keep_exited(struct vm_model *m, uint32_t pid, size_t largest);
/*
 * For tests: relabel and re-sum the whole address space after every record,
 * O(regions) each, instead of only the areas the record touched. Both ways
 * must give the same kinds and counters.
 */
void vm_model__relabel_all(struct vm_model *m, bool all);
void vm_model__free(struct vm_model *m);

/* Per-process summary so far (after the last record: final). */
struct vm_proc_stats {
	bool known;		/* a layout was seen: exec, fork of a known parent, or snapshot */
	uint64_t start_brk;
	uint64_t brk;
	uint64_t nbrk;		/* brk calls, queries included */
	uint64_t nmmap, nmunmap, nmremap, nmprotect;	/* successful calls */
	uint64_t nbrk_failed;	/* brk calls that asked for a break and did not get it */
	uint64_t nmemop[PS_MEMOP_MAX];	/* PS_REC_MEMOP calls by op, failed ones too */
	uint64_t nmemop_failed;
	/*
	 * Times the kernel's VMAs after a call (PS_REC_VMA_SYNC) differed from
	 * the model's and were taken: a modelling gap or a lost record, made
	 * visible. 0 when the model followed every call exactly.
	 */
	uint64_t corrections;
	uint64_t snapshot_ns;	/* when the /proc snapshot was read; 0: the layout came from exec or fork */
	uint64_t heap_peak_bytes;
	uint64_t anon_peak_bytes;
	uint64_t stack_peak_bytes;	/* main stack mapping */
	uint64_t rss_peak_bytes;
	uint64_t thread_stack_bytes;	/* now: mapped thread stacks */
	struct vm_counters now;
};

/*
 * The region a user stack pointer SP of PID lies in (as the stack depth
 * finds it: the main stack below its known start counts, it grew by
 * faults). 0, or -ENOENT if none or PID has no known layout. O(log n).
 */
int vm_model__stack_region(const struct vm_model *m, uint32_t pid, uint64_t sp,
			   struct vm_region *out);
/* 0, or -ENOENT if PID never appeared. */
int vm_model__proc_stats(const struct vm_model *m, uint32_t pid, struct vm_proc_stats *out);
/* Corrections over every process of the session so far (see vm_proc_stats). */
uint64_t vm_model__corrections(const struct vm_model *m);
/*
 * A number that changes whenever PID's regions may have changed (0 while
 * PID has no address space): views that follow the layout over time look
 * at the regions again only when it moved. O(1).
 */
uint64_t vm_model__generation(const struct vm_model *m, uint32_t pid);
/* Deepest stack depth seen at a switch-out of T, 0 if never sampled. */
uint64_t vm_model__thread_peak_depth(const struct vm_model *m, const struct ps_thread *t);

#endif
