/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Records shared by the BPF probes (bpf/), the recorder and every reader
 * (src/). Plain structs of fixed-width types; the includer provides
 * __u8..__u64/__s32/__s64 (vmlinux.h on the BPF side, <linux/types.h> on the
 * user side).
 *
 * Every record starts with struct ps_hdr; hdr.size is the whole record in
 * bytes, header included, always a multiple of 8, so records can be walked
 * in a buffer without knowing their type. The trace file stores these
 * records byte for byte (see trace_format.h); changing a layout here means
 * bumping PS_FILE_VERSION.
 */
#ifndef PROCSCOPE_RECORDS_H
#define PROCSCOPE_RECORDS_H

#define PS_COMM_LEN	16
#define PS_FNAME_LEN	256	/* exec filename */
#define PS_PATH_DEPTH	8	/* path components kept for a mapped file */
#define PS_PATH_COMP	48	/* bytes per path component, NUL included */
#define PS_SNAP_PATH	512	/* path of one /proc/PID/maps line */

/*
 * Record type numbers are stored in every session file: they are explicit
 * and never renumbered or reused (files outlive code). A new type takes the
 * next free number; a retired one keeps its number, unused.
 */
enum ps_rec_type {
	PS_REC_NONE = 0,
	/* syscalls, emitted at syscall exit with their arguments and result */
	PS_REC_BRK = 1,		/* struct ps_brk */
	PS_REC_MMAP = 2,	/* struct ps_mmap */
	PS_REC_MUNMAP = 3,	/* struct ps_munmap */
	PS_REC_MREMAP = 4,	/* struct ps_mremap */
	PS_REC_MPROTECT = 5,	/* struct ps_mprotect */
	PS_REC_CLONE = 6,	/* struct ps_clone: clone, clone3, fork, vfork */
	PS_REC_EXECVE = 7,	/* struct ps_execve: execve's result */
	/* scheduler and task lifecycle */
	PS_REC_SWITCH = 8,	/* struct ps_switch */
	PS_REC_WAKEUP = 9,	/* struct ps_wakeup: sched_wakeup(_new) */
	PS_REC_FORK = 10,	/* struct ps_fork: sched_process_fork */
	PS_REC_EXEC = 11,	/* struct ps_exec: sched_process_exec */
	PS_REC_EXIT = 12,	/* struct ps_exit: sched_process_exit */
	PS_REC_RENAME = 13,	/* struct ps_rename: task_rename */
	PS_REC_VMA = 14,	/* struct ps_vma: one mapping of a fresh image */
	/* memory counters */
	PS_REC_RSS = 15,	/* struct ps_rss: kmem/rss_stat, throttled */
	PS_REC_STACK = 16,	/* struct ps_stack: main stack size changed */
	/* written by the recorder, not by the probes */
	PS_REC_SNAP_TASK = 17,	/* struct ps_snap_task: thread alive at start */
	PS_REC_SNAP_MAP = 18,	/* struct ps_snap_map: /proc/PID/maps line */
	PS_REC_LOST = 19,	/* struct ps_lost: lost-record counters */
	/* call stacks: 30-39 */
	PS_REC_USTACK = 30,	/* struct ps_ustack: registers, user stack bytes, kernel frames */
	PS_REC_BUILDID = 31,	/* struct ps_buildid: a mapped file's identity (recorder) */
	/* layout exactness: 20-29 */
	PS_REC_VMA_SYNC = 20,	/* struct ps_vma_sync: the kernel's VMAs after a call */
	PS_REC_MEMOP = 21,	/* struct ps_memop: madvise, mlock*, mseal, shmat, ... */
	PS_REC_COMM = 22,	/* struct ps_comm: name of an untraced task that woke a traced one */
	PS_REC_SNAP_SP = 23,	/* struct ps_snap_sp: user SP of a thread alive at start */
	/* coroutines: 40-49 */
	PS_REC_SIGALTSTACK = 40,	/* struct ps_sigaltstack: a thread's alternate signal stack */
	PS_REC_CORO_MAKE = 41,	/* struct ps_coro_make: a context made on a stack (--coroutines) */
	PS_REC_CORO_SWITCH = 42,	/* struct ps_coro_switch: a user-level stack switch (--coroutines) */
	/* One more than the highest type; at most PS_REC_SLOTS. */
	PS_REC_MAX = 43,
};

/*
 * Slots of the per-type arrays stored in files (PS_REC_LOST, the footer):
 * room for types yet to come, so a new type needs no new format. Format 3
 * and older stored 20 (PS_REC_SLOTS_V3).
 */
#define PS_REC_SLOTS	64
#define PS_REC_SLOTS_V3	20
/* Slots of the per-kind stack counters in files (PS_STK_*, room for kinds to come). */
#define PS_STK_SLOTS	8

/*
 * ps_clone.syscall: which call created the task. procscope's own values on
 * every architecture (they happen to be x86_64's syscall numbers, which is
 * what older files hold), not the running kernel's syscall numbers.
 */
#define PS_NR_CLONE	56
#define PS_NR_FORK	57
#define PS_NR_VFORK	58
#define PS_NR_CLONE3	435

struct ps_hdr {
	__u16 type;		/* enum ps_rec_type */
	__u16 size;		/* bytes, header included, multiple of 8 */
	__u32 cpu;
	__u64 ts_ns;		/* CLOCK_MONOTONIC */
	__u32 tgid;		/* process of the task that caused the record */
	__u32 tid;
};

/* A syscall result: >= 0 success, -4095..-1 an -errno. */
#define PS_IS_ERR(ret)	((__s64)(ret) < 0 && (__s64)(ret) >= -4095)

struct ps_brk {
	struct ps_hdr h;
	__u64 req;		/* requested break (0 queries it) */
	__u64 ret;		/* resulting break (brk never returns -errno) */
};

struct ps_mmap {
	struct ps_hdr h;
	__u64 addr;		/* hint, or exact with MAP_FIXED */
	__u64 len;
	__u64 off;
	__s64 ret;		/* mapped address or -errno */
	__u32 prot;
	__u32 flags;
	__s32 fd;
	__u32 ino;		/* inode of the mapped file, 0 if anonymous */
	__u64 dev;
	/* mapped file path, leaf first: comp[0] is the base name */
	char path[PS_PATH_DEPTH][PS_PATH_COMP];
};

struct ps_munmap {
	struct ps_hdr h;
	__u64 addr;
	__u64 len;
	__s64 ret;
};

struct ps_mremap {
	struct ps_hdr h;
	__u64 old_addr;
	__u64 old_len;
	__u64 new_len;
	__u64 new_addr_arg;	/* with MREMAP_FIXED */
	__s64 ret;		/* new address or -errno */
	__u32 flags;
	__u32 pad;
};

struct ps_mprotect {
	struct ps_hdr h;
	__u64 addr;
	__u64 len;
	__s64 ret;
	__u32 prot;
	__u32 pad;
};

struct ps_clone {
	struct ps_hdr h;
	__u64 flags;		/* clone flags; fork: SIGCHLD, vfork: CLONE_VM|CLONE_VFORK|SIGCHLD */
	__u64 stack;		/* child stack: clone's newsp, clone3's lowest byte */
	__u64 stack_size;	/* clone3 only, 0 otherwise */
	__s64 ret;		/* child tid or -errno */
	__u32 syscall;		/* PS_NR_* */
	__u32 pad;
};

struct ps_execve {
	struct ps_hdr h;
	__s64 ret;		/* 0 or -errno (on success the image is in ps_exec) */
};

/*
 * The kernel's own running totals of a task (task->se.sum_exec_runtime,
 * nvcsw, nivcsw), as /proc/PID/task/TID/{schedstat,status} show them. The
 * kernel does not emit sched_switch for every switch (see
 * shared/notes/kernel-facts.md), so counting events is not exact; these are.
 * Appended to records in format 3: older files have records without them
 * (hdr.size tells).
 */
struct ps_task_totals {
	__u64 sum_exec_ns;
	__u64 nvcsw;
	__u64 nivcsw;
};

struct ps_switch {
	struct ps_hdr h;	/* tgid/tid: the task switched out (prev) */
	__u32 next_tid;
	__u32 next_tgid;
	__u32 prev_state;	/* 0 = preempted while runnable; TASK_* bits */
	__s32 next_prio;
	__u64 prev_user_sp;	/* user stack pointer of prev, 0 for kthreads */
	/* format 3: */
	struct ps_task_totals prev;	/* after this switch-out */
	__u64 next_sum_exec_ns;		/* next's on-CPU total as it is switched in */
};

struct ps_wakeup {
	struct ps_hdr h;	/* tgid/tid: the waker (current task) */
	__u32 woken_tid;
	__u32 woken_tgid;
	__u32 target_cpu;
	__u32 is_new;		/* 1 for sched_wakeup_new */
};

struct ps_fork {
	struct ps_hdr h;	/* tgid/tid: the parent */
	__u32 child_tid;
	__u32 child_tgid;	/* == h.tgid for a new thread (CLONE_THREAD) */
	char child_comm[PS_COMM_LEN];
};

/* Layout of a fresh image, read from task->mm at sched_process_exec. */
struct ps_exec {
	struct ps_hdr h;
	__u32 old_tid;		/* tid before exec (a thread's exec becomes the leader) */
	__u32 pad;
	__u64 start_code, end_code;
	__u64 start_data, end_data;
	__u64 start_brk, brk;
	__u64 start_stack;
	__u64 arg_start, arg_end;
	__u64 env_start, env_end;
	__u64 stack_vm;		/* pages */
	char comm[PS_COMM_LEN];
	char filename[PS_FNAME_LEN];
	/* format 3: */
	struct ps_task_totals totals;	/* of the task at its exec */
};

struct ps_exit {
	struct ps_hdr h;
	__u32 exit_code;	/* as wait(2) encodes it */
	__u32 group_dead;	/* last thread of its process */
	char comm[PS_COMM_LEN];
	/* format 3: */
	struct ps_task_totals totals;	/* at sched_process_exit, before its last switch-out */
};

struct ps_rename {
	struct ps_hdr h;
	char oldcomm[PS_COMM_LEN];
	char newcomm[PS_COMM_LEN];
};

/* One VMA of an image, right after exec (mappings no syscall made). */
struct ps_vma {
	struct ps_hdr h;
	__u64 start;
	__u64 end;
	__u64 pgoff;		/* in pages */
	__u64 vm_flags;		/* VM_READ 1, VM_WRITE 2, VM_EXEC 4, VM_SHARED 8, VM_GROWSDOWN 0x100 */
	__u64 dev;
	__u64 ino;
	char path[PS_PATH_DEPTH][PS_PATH_COMP];
};

/* rss_stat member, as the kernel numbers them */
#define PS_RSS_FILE	0
#define PS_RSS_ANON	1
#define PS_RSS_SWAP	2
#define PS_RSS_SHMEM	3

struct ps_rss {
	struct ps_hdr h;
	__s64 bytes;		/* value of the member that moved */
	__u32 member;		/* PS_RSS_* */
	__u32 pad;
};

struct ps_stack {
	struct ps_hdr h;
	__u64 stack_vm_pages;	/* pages in VM_GROWSDOWN mappings (the main stack) */
	__u64 start_stack;
};

struct ps_snap_task {
	struct ps_hdr h;	/* tgid/tid: the thread */
	__u32 ppid;
	__u32 state;		/* /proc state letter */
	__u64 start_code, end_code;
	__u64 start_data, end_data;
	__u64 start_brk;
	__u64 start_stack;
	__u64 arg_start, arg_end;
	__u64 env_start, env_end;
	__u64 nvcsw, nivcsw;	/* context switches before recording began */
	__u64 sum_exec_ns;	/* schedstat on-CPU time before recording began */
	char comm[PS_COMM_LEN];
};

struct ps_snap_map {
	struct ps_hdr h;	/* tgid: the process; size covers path's used bytes */
	__u64 start;
	__u64 end;
	__u64 offset;
	__u64 ino;
	__u32 dev_major;
	__u32 dev_minor;
	char perms[8];		/* "rwxp" from /proc/PID/maps */
	char path[];		/* NUL-terminated, padded to 8 */
};

struct ps_lost {
	struct ps_hdr h;
	__u64 lost_total;	/* cumulative, summed over CPUs */
	__u64 lost_by_type[PS_REC_SLOTS];	/* format 3 and older: PS_REC_SLOTS_V3 */
	/*
	 * Appended in format 4 (older files end before it; hdr.size tells):
	 * cumulative call stacks the probes left out because the ring was
	 * over half full, by PS_STK_* kind. Their records were kept.
	 */
	__u64 stacks_skipped[PS_STK_SLOTS];
};

/*
 * The kernel's own VMAs around a call, read at its exit with the task VMA
 * iterator: every VMA that intersects [lo, hi) is in vma[], lowest first,
 * whole (its start may lie below lo, its end above hi). A walk of more
 * than PS_SYNC_VMAS VMAs is cut into several records whose ranges follow
 * each other. Written after brk, mmap, munmap, mremap (one walk for the
 * source, one for the target), mprotect and every PS_REC_MEMOP, and by the
 * recorder for its /proc/PID/smaps snapshot (call PS_REC_SNAP_MAP): the
 * address-space model checks itself against it.
 */
#define PS_SYNC_VMAS	8

struct ps_vma_ent {
	__u64 start;
	__u64 end;
	__u64 vm_flags;		/* the kernel's, VM_* of include/linux/mm.h */
	__u64 pgoff;		/* vm_pgoff, in pages; PS_VMA_PGOFF_UNKNOWN from a snapshot of an anonymous VMA */
};
#define PS_VMA_PGOFF_UNKNOWN	(~0ull)

struct ps_vma_sync {
	struct ps_hdr h;
	__u64 lo;		/* bytes: first address looked at */
	__u64 hi;		/* one past the last address looked at */
	__u16 call;		/* record type of the call (PS_REC_SNAP_MAP: snapshot) */
	__u16 op;		/* PS_MEMOP_* when call is PS_REC_MEMOP */
	__u32 n;		/* entries used; hdr.size covers exactly these */
	struct ps_vma_ent vma[PS_SYNC_VMAS];
};

/* ps_memop.op: procscope's own numbers, stored in files */
#define PS_MEMOP_MADVISE	1	/* arg: advice */
#define PS_MEMOP_MLOCK		2
#define PS_MEMOP_MLOCK2		3	/* arg: flags (MLOCK_ONFAULT) */
#define PS_MEMOP_MUNLOCK	4
#define PS_MEMOP_MLOCKALL	5	/* arg: MCL_* flags; addr, len 0 */
#define PS_MEMOP_MUNLOCKALL	6
#define PS_MEMOP_PKEY_MPROTECT	7	/* arg: prot, arg2: pkey */
#define PS_MEMOP_MSEAL		8	/* arg: flags */
#define PS_MEMOP_REMAP_FILE_PAGES 9	/* arg: pgoff (pages), arg2: flags */
#define PS_MEMOP_SHMAT		10	/* arg: shmid, arg2: shmflg; len: size attached */
#define PS_MEMOP_SHMDT		11
#define PS_MEMOP_MAX		12

struct ps_memop {
	struct ps_hdr h;
	__u64 addr;
	__u64 len;		/* bytes as passed (shmat: of the VMA attached) */
	__s64 ret;		/* 0 / address, or -errno */
	__u64 arg;
	__u32 op;		/* PS_MEMOP_* */
	__s32 arg2;
};

/* A task outside the trace, named once per (tid, comm) when it wakes a traced one. */
struct ps_comm {
	struct ps_hdr h;	/* tgid/tid: the task named */
	char comm[PS_COMM_LEN];
};

/* /proc/PID/task/TID/syscall of a thread alive at start: where its stack is. */
struct ps_snap_sp {
	struct ps_hdr h;	/* tgid/tid: the thread */
	__u64 sp;		/* user stack pointer, 0 if the thread was running */
};

/*
 * A call stack, emitted right after the record it belongs to, with that
 * record's ts_ns, tgid and tid (kind PS_STK_MEM, PS_STK_OFFCPU), or alone
 * (PS_STK_SAMPLE). It is unwound offline, as perf --call-graph dwarf does:
 * the user registers plus a copy of the user stack from SP up to the top of
 * the stack's mapping, at most the recorder's --stack-size, let the reader
 * walk .eh_frame/.debug_frame CFI through code without frame pointers.
 * After the fixed part: nkframes kernel return addresses (u64, innermost
 * first), then ustack_len bytes of user stack (the lowest at regs[SP]),
 * padded to 8.
 */
#define PS_STK_MEM	1	/* a memory syscall (ref_type says which) */
#define PS_STK_OFFCPU	2	/* a switch-out that blocks or sleeps */
#define PS_STK_SAMPLE	3	/* a CPU-clock sample of a running thread */

#define PS_STK_ABI_NONE		0	/* no user registers (kernel thread, unknown arch) */
#define PS_STK_ABI_X86_64	1	/* regs[] in DWARF order: rax rdx rcx rbx rsi rdi rbp rsp r8-r15 rip */
#define PS_STK_NREGS	17
#define PS_KSTACK_MAX	32	/* kernel frames kept */
#define PS_USTACK_MAX	32768	/* user stack bytes copied, at most (hdr.size is a u16) */

struct ps_ustack {
	struct ps_hdr h;
	__u16 kind;		/* PS_STK_* */
	__u16 ref_type;		/* type of the record it belongs to, 0 for a sample */
	__u16 nkframes;
	__u16 abi;		/* PS_STK_ABI_* */
	__u32 ustack_len;	/* bytes of user stack that follow */
	__s32 ustack_err;	/* 0, or -errno of the copy (then ustack_len is 0) */
	__u64 regs[PS_STK_NREGS];
	/* __u64 kframes[nkframes]; __u8 ustack[ustack_len]; */
};

#define PS_BUILDID_MAX	20

/*
 * Identity of a file the traced processes mapped, read by the recorder when
 * it first sees the file (by dev, ino): the reader symbolizes a module only
 * when the file at PATH still has this build-id (or, without one, the same
 * size and mtime), so a binary replaced or deleted since is never
 * mis-symbolized.
 */
struct ps_buildid {
	struct ps_hdr h;	/* tgid: the process that mapped it first */
	__u64 dev;		/* as in ps_mmap/ps_vma (the kernel's s_dev) */
	__u64 ino;
	__u64 size;		/* bytes, at record time */
	__s64 mtime_ns;
	__u32 len;		/* build-id bytes, 0 if the file has none */
	__s32 err;		/* 0, or -errno: the recorder could not read it */
	__u8 id[PS_BUILDID_MAX];
	__u32 pad;
	char path[];		/* NUL-terminated, padded to 8 */
};

/*
 * sigaltstack(2) at its exit: the thread's alternate signal stack as the
 * kernel keeps it then (task->sas_ss_sp/size/flags), whatever the call
 * asked. A stack pointer inside it is a signal handler, not a coroutine.
 */
struct ps_sigaltstack {
	struct ps_hdr h;	/* tgid/tid: the thread (alternate stacks are per thread) */
	__u64 sp;		/* lowest byte, 0 if none */
	__u64 size;		/* bytes */
	__u32 flags;		/* SS_AUTODISARM and the like, as the kernel keeps them */
	__s32 ret;		/* 0 or -errno */
};

/* ps_coro_make.api, ps_coro_switch.api: which library */
#define PS_CORO_UCONTEXT	1	/* glibc makecontext/swapcontext/setcontext */
#define PS_CORO_FCONTEXT	2	/* boost.context make_fcontext/jump_fcontext/ontop_fcontext */

/* makecontext(ucp, ...) or make_fcontext(sp, size, fn) at entry: a stack that will be switched to. */
struct ps_coro_make {
	struct ps_hdr h;
	__u64 ctx;		/* ucontext_t address; make_fcontext: 0 */
	__u64 stack_lo;		/* lowest byte of the stack */
	__u64 stack_size;	/* bytes */
	__u64 entry;		/* function the context starts in */
	__u32 api;		/* PS_CORO_* */
	__u32 pad;
};

/* ps_coro_switch.op */
#define PS_CORO_SWAP	1	/* swapcontext(oucp, ucp) */
#define PS_CORO_SET	2	/* setcontext(ucp): no way back saved */
#define PS_CORO_JUMP	3	/* jump_fcontext(to, vp) */
#define PS_CORO_ONTOP	4	/* ontop_fcontext(to, vp, fn) */

/*
 * A user-level stack switch, at the entry of the call that makes it (the
 * switch itself follows within the call, a few hundred ns later): the
 * thread leaves the stack holding from_sp for the one holding to_sp.
 */
struct ps_coro_switch {
	struct ps_hdr h;
	__u64 from_sp;		/* user SP at the call */
	__u64 to_sp;		/* SP the target context resumes with */
	__u64 to_ctx;		/* ucontext_t address, or fcontext_t (which is to_sp) */
	__u32 api;		/* PS_CORO_* */
	__u32 op;		/* PS_CORO_SWAP, ... */
};

#endif /* PROCSCOPE_RECORDS_H */
