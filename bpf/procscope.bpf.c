// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * procscope probes: memory syscalls, task lifecycle and the scheduler.
 *
 * Every record goes to the ring buffer of the CPU it happens on and is
 * submitted with BPF_RB_NO_WAKEUP: the recorder drains on a timer. On this
 * kernel a wakeup from sched_switch stops the probes firing for other tasks,
 * and a wakeup per record would cost a context switch each anyway.
 *
 * Syscalls are probed at exit only; their arguments are read back from the
 * task's saved user registers, which the syscalls probed here leave intact
 * (PT_REGS_PARMn_CORE_SYSCALL, see core_fixes.bpf.h). One program per
 * syscall instead of an enter/exit pair and a map.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "core_fixes.bpf.h"
#include "kernel_defs.h"
#include "records.h"
#include "task_state.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* set by the recorder before load */
const volatile bool targ_all = false;		/* -a: every process */
const volatile __u32 targ_self_tgid = 0;	/* never trace the recorder */
const volatile __s64 targ_rss_step = 256 * 1024;	/* bytes */
/*
 * --cgroup, --comm: tasks admitted into the trace as they first run (see
 * admit()). targ_cgroup_id is the cgroup v2 directory's id (its inode
 * number), targ_cgroup_level its depth below the root.
 */
const volatile bool targ_filter = false;
const volatile __u64 targ_cgroup_id = 0;
const volatile __u32 targ_cgroup_level = 0;
const volatile char targ_comm[PS_COMM_LEN] = {};
/*
 * `record -- CMD`: the pid of the child that will exec CMD. It is traced
 * from its exec on, so the file starts at CMD's first instruction and holds
 * nothing of the recorder's own forked child before it.
 */
__u32 targ_exec_pid = 0;

/*
 * One ring buffer per CPU: CPUs never contend for a ring's producer lock
 * (with one shared ring, the brk probe cost 90 ns with one busy CPU and
 * 220 ns with two). The recorder creates the rings, all of one size (the
 * kernel wants inner maps alike), puts ring N at index N before attaching,
 * and merges them by time (src/ring_set.c).
 */
struct ps_ring {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);	/* resized by the recorder */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);		/* resized by the recorder: possible CPUs */
	__type(key, __u32);
	__array(values, struct ps_ring);
} rings SEC(".maps");

/*
 * Traced processes (tgid -> PS_TRACED_*). Children are added at fork in the
 * kernel, so nothing between fork and the recorder's next look is missed.
 */
#define PS_TRACED_LIVE	1
#define PS_TRACED_GONE	2	/* exited; kept until its last switch-out */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
} traced SEC(".maps");

/* Records the ring buffer could not take, per CPU and record type. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PS_REC_MAX);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

/* Last emitted RSS value per (tgid, member): emit on moves >= targ_rss_step. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __s64);
} rss_last SEC(".maps");

/* Last main-stack size seen per tgid, in pages. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u64);
} stack_last SEC(".maps");

/*
 * The task VMA iterator (Linux 6.7+). Weak, so the object loads without it:
 * the recorder then sets targ_vma_iter to false (src/kernel_features.c), the
 * verifier drops the calls as dead code, and the recorder reads
 * /proc/PID/maps at each exec instead.
 */
const volatile bool targ_vma_iter = true;
extern int bpf_iter_task_vma_new(struct bpf_iter_task_vma *it,
				 struct task_struct *task, __u64 addr) __ksym __weak;
extern struct vm_area_struct *bpf_iter_task_vma_next(struct bpf_iter_task_vma *it) __ksym __weak;
extern void bpf_iter_task_vma_destroy(struct bpf_iter_task_vma *it) __ksym __weak;

static __always_inline bool is_traced(__u32 tgid)
{
	if (tgid == targ_self_tgid)
		return false;
	if (targ_all)
		return true;
	return bpf_map_lookup_elem(&traced, &tgid) != NULL;
}

static __always_inline void count_lost(__u32 type)
{
	__u64 *cnt = bpf_map_lookup_elem(&lost, &type);

	if (cnt)
		(*cnt)++;
}

/* This CPU's ring buffer; NULL only before the recorder has set it. */
static __always_inline void *cpu_ring(__u32 cpu)
{
	return bpf_map_lookup_elem(&rings, &cpu);
}

static __always_inline bool comm_matches(struct task_struct *t)
{
	char comm[PS_COMM_LEN];

	bpf_probe_read_kernel(comm, sizeof(comm), t->comm);
	for (int i = 0; i < PS_COMM_LEN; i++) {
		if (comm[i] != targ_comm[i])
			return false;
		if (!comm[i])
			break;
	}
	return true;
}

/* T's cgroup (v2) is targ_cgroup_id or below it: its ancestor at that level is it. */
static __always_inline bool cgroup_matches(struct task_struct *t)
{
	struct cgroup *cg = BPF_CORE_READ(t, cgroups, dfl_cgrp), *anc = NULL;
	__u32 level = targ_cgroup_level;

	if (!cg || BPF_CORE_READ(cg, level) < (int)level)
		return false;
	bpf_core_read(&anc, sizeof(anc), &cg->ancestors[level]);
	return anc && BPF_CORE_READ(anc, kn, id) == targ_cgroup_id;
}

/*
 * Processes admit() let in, for the recorder to snapshot (it has no fork
 * record of them): their names, parents, threads and mappings. Full, the
 * oldest entry goes (BPF_EXIST); 4096 between two drains is far more than
 * a cgroup gains in 10 ms.
 */
struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, 4096);
	__type(value, __u32);
} admitted SEC(".maps");

/*
 * --cgroup, --comm: T's process joins the trace if T matches every filter
 * given. Called with the task about to run at each switch, so every task
 * is judged before it does anything, at one hash lookup per switch (only
 * with a filter); its children then join at fork like any traced
 * process's. A task that leaves the cgroup or changes its name stays.
 */
static __always_inline void admit(struct task_struct *t)
{
	__u32 tgid = t->tgid;
	__u8 live = PS_TRACED_LIVE;

	if (!targ_filter || !tgid || tgid == targ_self_tgid ||
	    bpf_map_lookup_elem(&traced, &tgid))
		return;
	if (targ_comm[0] && !comm_matches(t))
		return;
	if (targ_cgroup_id && !cgroup_matches(t))
		return;
	if (!bpf_map_update_elem(&traced, &tgid, &live, BPF_NOEXIST))
		bpf_map_push_elem(&admitted, &tgid, BPF_EXIST);
}

static __always_inline void *reserve(__u32 type, __u32 size, __u32 tgid, __u32 tid)
{
	__u32 cpu = bpf_get_smp_processor_id();
	void *rb = cpu_ring(cpu);
	struct ps_hdr *h = rb ? bpf_ringbuf_reserve(rb, size, 0) : NULL;

	if (!h) {
		count_lost(type);
		return NULL;
	}
	h->type = type;
	h->size = size;
	h->cpu = cpu;
	h->ts_ns = bpf_ktime_get_ns();
	h->tgid = tgid;
	h->tid = tid;
	return h;
}

static __always_inline void submit(void *rec)
{
	bpf_ringbuf_submit(rec, BPF_RB_NO_WAKEUP);
}

/* A record built elsewhere (SIZE bytes, its header filled in), copied into this CPU's ring. */
static __always_inline __attribute__((unused)) void output(void *rec, __u64 size, __u32 type)
{
	void *rb = cpu_ring(bpf_get_smp_processor_id());

	if (!rb || bpf_ringbuf_output(rb, rec, size, BPF_RB_NO_WAKEUP))
		count_lost(type);
}

#include "vma_state.bpf.h"

/* Current task if it is traced: its tgid/tid, else false. */
static __always_inline bool current_traced(__u32 *tgid, __u32 *tid)
{
	__u64 id = bpf_get_current_pid_tgid();

	*tgid = id >> 32;
	*tid = (__u32)id;
	return is_traced(*tgid);
}

/*
 * The kernel's own totals of task T. sum_exec_runtime is brought up to date
 * at every switch (prev is accounted in put_prev_task() before the
 * tracepoint); for a task on its CPU it lags by up to a tick.
 */
static __always_inline void read_totals(struct task_struct *t, struct ps_task_totals *out)
{
	out->sum_exec_ns = t->se.sum_exec_runtime;
	out->nvcsw = t->nvcsw;
	out->nivcsw = t->nivcsw;
}

static __always_inline struct pt_regs *current_regs(void)
{
	return (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
}

struct ps_path {
	char comp[PS_PATH_DEPTH][PS_PATH_COMP];
};

/*
 * Path of a mapped file, leaf first, one component per slot, crossing mount
 * points; deeper paths keep their PS_PATH_DEPTH innermost components.
 * A global function, so the verifier checks it once and not again at each
 * call site (inside the VMA iterator it would exceed the complexity limit).
 * Pointers come in as integers: global functions take no kernel pointers.
 */
__noinline int read_path(__u64 dentry, __u64 vfsmount, struct ps_path *out)
{
	struct dentry *d = (void *)dentry;
	struct vfsmount *vmnt = (void *)vfsmount;
	struct mount *mnt = container_of(vmnt, struct mount, mnt);
	int slot = 0;

	if (!out)
		return 0;
	for (int i = 0; i < 2 * PS_PATH_DEPTH; i++) {
		struct dentry *root = BPF_CORE_READ(vmnt, mnt_root);
		struct dentry *parent = BPF_CORE_READ(d, d_parent);

		if (d == root || d == parent) {
			struct mount *up = BPF_CORE_READ(mnt, mnt_parent);

			if (up == mnt || !up)
				break;
			d = BPF_CORE_READ(mnt, mnt_mountpoint);
			mnt = up;
			vmnt = &up->mnt;
			continue;
		}
		if (slot >= PS_PATH_DEPTH)
			break;
		bpf_probe_read_kernel_str(out->comp[slot], PS_PATH_COMP,
					  BPF_CORE_READ(d, d_name.name));
		slot++;
		d = parent;
	}
	return slot;
}

static __always_inline void read_file_path(struct file *f, char (*out)[PS_PATH_COMP])
{
	read_path((__u64)BPF_CORE_READ(f, f_path.dentry), (__u64)BPF_CORE_READ(f, f_path.mnt),
		  (struct ps_path *)out);
}

#include "stacks.bpf.h"

/* ---- syscalls ---------------------------------------------------------- */

/*
 * What these classic tracepoint programs return: on 0 the kernel also drops
 * the event for every perf event open on the tracepoint
 * (perf_trace_run_bpf_submit()), so a `perf record -e syscalls:...` or
 * `perf stat` running next to procscope would see none of these syscalls.
 */
#define TP_PASS	1

SEC("tracepoint/syscalls/sys_exit_brk")
int sys_exit_brk(struct trace_event_raw_sys_exit *ctx)
{
	struct ps_brk *r;
	__u32 tgid, tid;

	if (!current_traced(&tgid, &tid))
		return TP_PASS;
	r = reserve(PS_REC_BRK, sizeof(*r), tgid, tid);
	if (!r)
		return TP_PASS;
	r->req = PT_REGS_PARM1_CORE_SYSCALL(current_regs());
	r->ret = ctx->ret;
	stacks__emit(ctx, PS_STK_MEM, &r->h, tgid, tid, false);
	submit(r);
	/* moved: the heap's end and what is above it (r is the ring's after submit) */
	if (ctx->ret && PT_REGS_PARM1_CORE_SYSCALL(current_regs()) == (__u64)ctx->ret)
		vma_state__sync(ctx->ret, 0, PS_REC_BRK, 0);
	return TP_PASS;
}

SEC("tracepoint/syscalls/sys_exit_mmap")
int sys_exit_mmap(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs = current_regs();
	struct ps_mmap *r;
	__u32 tgid, tid;

	if (!current_traced(&tgid, &tid))
		return TP_PASS;
	r = reserve(PS_REC_MMAP, sizeof(*r), tgid, tid);
	if (!r)
		return TP_PASS;
	r->addr = PT_REGS_PARM1_CORE_SYSCALL(regs);
	r->len = PT_REGS_PARM2_CORE_SYSCALL(regs);
	r->prot = PT_REGS_PARM3_CORE_SYSCALL(regs);
	r->flags = PT_REGS_PARM4_CORE_SYSCALL(regs);
	r->fd = PT_REGS_PARM5_CORE_SYSCALL(regs);
	r->off = PT_REGS_PARM6_CORE_SYSCALL(regs);
	r->ret = ctx->ret;
	r->ino = 0;
	r->dev = 0;
	__builtin_memset(r->path, 0, sizeof(r->path));
	if (!(r->flags & MAP_ANONYMOUS) && r->fd >= 0 && !PS_IS_ERR(r->ret)) {
		struct task_struct *task = bpf_get_current_task_btf();
		struct file **fds = BPF_CORE_READ(task, files, fdt, fd);
		unsigned int max_fds = BPF_CORE_READ(task, files, fdt, max_fds);
		struct file *f = NULL;

		if ((unsigned int)r->fd < max_fds)
			bpf_probe_read_kernel(&f, sizeof(f), &fds[r->fd]);
		if (f) {
			r->ino = BPF_CORE_READ(f, f_inode, i_ino);
			r->dev = BPF_CORE_READ(f, f_inode, i_sb, s_dev);
			read_file_path(f, r->path);
		}
	}
	stacks__emit(ctx, PS_STK_MEM, &r->h, tgid, tid, false);
	submit(r);
	if (!PS_IS_ERR(ctx->ret))
		vma_state__sync(ctx->ret, PT_REGS_PARM2_CORE_SYSCALL(regs), PS_REC_MMAP, 0);
	return TP_PASS;
}

SEC("tracepoint/syscalls/sys_exit_munmap")
int sys_exit_munmap(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs = current_regs();
	struct ps_munmap *r;
	__u32 tgid, tid;

	if (!current_traced(&tgid, &tid))
		return TP_PASS;
	r = reserve(PS_REC_MUNMAP, sizeof(*r), tgid, tid);
	if (!r)
		return TP_PASS;
	r->addr = PT_REGS_PARM1_CORE_SYSCALL(regs);
	r->len = PT_REGS_PARM2_CORE_SYSCALL(regs);
	r->ret = ctx->ret;
	stacks__emit(ctx, PS_STK_MEM, &r->h, tgid, tid, false);
	submit(r);
	if (!ctx->ret)
		vma_state__sync(PT_REGS_PARM1_CORE_SYSCALL(regs), PT_REGS_PARM2_CORE_SYSCALL(regs),
				PS_REC_MUNMAP, 0);
	return TP_PASS;
}

/* Source and target of a successful mremap: one walk if it stayed in place. */
static __always_inline void mremap_sync(__u64 old_addr, __u64 old_len, __u64 new_len, __u64 ret)
{
	if (ret == old_addr) {
		vma_state__sync(old_addr, old_len > new_len ? old_len : new_len, PS_REC_MREMAP, 0);
		return;
	}
	vma_state__sync(old_addr, old_len, PS_REC_MREMAP, 0);
	vma_state__sync(ret, new_len, PS_REC_MREMAP, 0);
}

SEC("tracepoint/syscalls/sys_exit_mremap")
int sys_exit_mremap(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs = current_regs();
	struct ps_mremap *r;
	__u32 tgid, tid;

	if (!current_traced(&tgid, &tid))
		return TP_PASS;
	r = reserve(PS_REC_MREMAP, sizeof(*r), tgid, tid);
	if (!r)
		return TP_PASS;
	r->old_addr = PT_REGS_PARM1_CORE_SYSCALL(regs);
	r->old_len = PT_REGS_PARM2_CORE_SYSCALL(regs);
	r->new_len = PT_REGS_PARM3_CORE_SYSCALL(regs);
	r->flags = PT_REGS_PARM4_CORE_SYSCALL(regs);
	r->new_addr_arg = PT_REGS_PARM5_CORE_SYSCALL(regs);
	r->ret = ctx->ret;
	r->pad = 0;
	stacks__emit(ctx, PS_STK_MEM, &r->h, tgid, tid, false);
	submit(r);
	if (!PS_IS_ERR(ctx->ret))
		mremap_sync(PT_REGS_PARM1_CORE_SYSCALL(regs), PT_REGS_PARM2_CORE_SYSCALL(regs),
			    PT_REGS_PARM3_CORE_SYSCALL(regs), ctx->ret);
	return TP_PASS;
}

SEC("tracepoint/syscalls/sys_exit_mprotect")
int sys_exit_mprotect(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs = current_regs();
	struct ps_mprotect *r;
	__u32 tgid, tid;

	if (!current_traced(&tgid, &tid))
		return TP_PASS;
	r = reserve(PS_REC_MPROTECT, sizeof(*r), tgid, tid);
	if (!r)
		return TP_PASS;
	r->addr = PT_REGS_PARM1_CORE_SYSCALL(regs);
	r->len = PT_REGS_PARM2_CORE_SYSCALL(regs);
	r->prot = PT_REGS_PARM3_CORE_SYSCALL(regs);
	r->ret = ctx->ret;
	r->pad = 0;
	stacks__emit(ctx, PS_STK_MEM, &r->h, tgid, tid, false);
	submit(r);
	/* also on failure: mprotect may have changed part of the range before failing */
	vma_state__sync(PT_REGS_PARM1_CORE_SYSCALL(regs), PT_REGS_PARM2_CORE_SYSCALL(regs),
			PS_REC_MPROTECT, 0);
	return TP_PASS;
}

/*
 * The other calls that change VMAs (flags, locks, seals, keys, SysV shm):
 * one record type, the op saying which call. Arguments as the call took
 * them; the kernel's resulting VMAs follow (also on failure: madvise and
 * mlock may have changed part of the range before failing).
 */
static __always_inline int memop_exit(struct trace_event_raw_sys_exit *ctx, __u32 op)
{
	struct pt_regs *regs = current_regs();
	__u64 a1 = PT_REGS_PARM1_CORE_SYSCALL(regs);
	__u64 a2 = PT_REGS_PARM2_CORE_SYSCALL(regs);
	__u64 a3 = PT_REGS_PARM3_CORE_SYSCALL(regs);
	__s64 ret = ctx->ret;	/* read once: the verifier refuses a moved ctx pointer */
	__u64 addr = a1, len = a2;
	struct ps_memop *r;
	__u32 tgid, tid;

	if (!current_traced(&tgid, &tid))
		return TP_PASS;
	r = reserve(PS_REC_MEMOP, sizeof(*r), tgid, tid);
	if (!r)
		return TP_PASS;
	r->arg = 0;
	r->arg2 = 0;
	switch (op) {
	case PS_MEMOP_MADVISE:
	case PS_MEMOP_MLOCK2:
	case PS_MEMOP_MSEAL:
		r->arg = a3;
		break;
	case PS_MEMOP_PKEY_MPROTECT:
		r->arg = a3;
		r->arg2 = PT_REGS_PARM4_CORE_SYSCALL(regs);
		break;
	case PS_MEMOP_REMAP_FILE_PAGES:	/* (start, size, prot, pgoff, flags) */
		r->arg = PT_REGS_PARM4_CORE_SYSCALL(regs);
		r->arg2 = PT_REGS_PARM5_CORE_SYSCALL(regs);
		break;
	case PS_MEMOP_MLOCKALL:		/* (flags) */
		r->arg = a1;
		addr = len = 0;
		break;
	case PS_MEMOP_MUNLOCKALL:
		addr = len = 0;
		break;
	case PS_MEMOP_SHMAT:		/* (shmid, shmaddr, shmflg) -> address */
		r->arg = a1;
		r->arg2 = a3;
		addr = PS_IS_ERR(ret) ? a2 : ret;
		len = PS_IS_ERR(ret) ? 0 : vma_state__len_at(ret);
		break;
	case PS_MEMOP_SHMDT:		/* (shmaddr) */
		len = 0;
		break;
	}
	r->op = op;
	r->ret = ret;
	r->addr = addr;
	r->len = len;
	submit(r);
	if (op == PS_MEMOP_MLOCKALL || op == PS_MEMOP_MUNLOCKALL)
		vma_state__sync_all(PS_REC_MEMOP, op);
	else if (op == PS_MEMOP_SHMDT)	/* the segment's VMAs are gone: what is around */
		vma_state__sync(addr, PS_PAGE_SIZE, PS_REC_MEMOP, op);
	else
		vma_state__sync(addr, len, PS_REC_MEMOP, op);
	return TP_PASS;
}

#define MEMOP_PROG(name, op)						\
SEC("tracepoint/syscalls/sys_exit_" #name)				\
int sys_exit_##name(struct trace_event_raw_sys_exit *ctx)		\
{									\
	return memop_exit(ctx, op);					\
}

MEMOP_PROG(madvise, PS_MEMOP_MADVISE)
MEMOP_PROG(mlock, PS_MEMOP_MLOCK)
MEMOP_PROG(mlock2, PS_MEMOP_MLOCK2)
MEMOP_PROG(munlock, PS_MEMOP_MUNLOCK)
MEMOP_PROG(mlockall, PS_MEMOP_MLOCKALL)
MEMOP_PROG(munlockall, PS_MEMOP_MUNLOCKALL)
MEMOP_PROG(pkey_mprotect, PS_MEMOP_PKEY_MPROTECT)
MEMOP_PROG(mseal, PS_MEMOP_MSEAL)
MEMOP_PROG(remap_file_pages, PS_MEMOP_REMAP_FILE_PAGES)
MEMOP_PROG(shmat, PS_MEMOP_SHMAT)
MEMOP_PROG(shmdt, PS_MEMOP_SHMDT)

/*
 * The parent's side of clone/clone3/fork/vfork. The child's return (0) is
 * not recorded: sched_process_fork already says when the child was born.
 */
static __always_inline int clone_exit(struct trace_event_raw_sys_exit *ctx, __u32 nr)
{
	struct pt_regs *regs = current_regs();
	struct ps_clone *r;
	__u32 tgid, tid;

	if (ctx->ret == 0 || !current_traced(&tgid, &tid))
		return TP_PASS;
	r = reserve(PS_REC_CLONE, sizeof(*r), tgid, tid);
	if (!r)
		return TP_PASS;
	r->syscall = nr;
	r->pad = 0;
	r->ret = ctx->ret;
	r->stack = 0;
	r->stack_size = 0;
	if (nr == PS_NR_CLONE) {
#ifdef bpf_target_s390
		/* CONFIG_CLONE_BACKWARDS2: stack first */
		r->flags = PT_REGS_PARM2_CORE_SYSCALL(regs);
		r->stack = PT_REGS_PARM1_CORE_SYSCALL(regs);
#else
		r->flags = PT_REGS_PARM1_CORE_SYSCALL(regs);
		r->stack = PT_REGS_PARM2_CORE_SYSCALL(regs);
#endif
	} else if (nr == PS_NR_CLONE3) {
		struct clone_args *uargs = (void *)PT_REGS_PARM1_CORE_SYSCALL(regs);
		struct clone_args args = {};

		bpf_probe_read_user(&args, sizeof(args.flags) * 7, uargs);
		r->flags = args.flags | (args.exit_signal & 0xff);
		r->stack = args.stack;
		r->stack_size = args.stack_size;
	} else if (nr == PS_NR_VFORK) {
		r->flags = CLONE_VFORK | CLONE_VM | SIGCHLD;
	} else {
		r->flags = SIGCHLD;
	}
	submit(r);
	return TP_PASS;
}

SEC("tracepoint/syscalls/sys_exit_clone")
int sys_exit_clone(struct trace_event_raw_sys_exit *ctx)
{
	return clone_exit(ctx, PS_NR_CLONE);
}

SEC("tracepoint/syscalls/sys_exit_clone3")
int sys_exit_clone3(struct trace_event_raw_sys_exit *ctx)
{
	return clone_exit(ctx, PS_NR_CLONE3);
}

SEC("tracepoint/syscalls/sys_exit_fork")
int sys_exit_fork(struct trace_event_raw_sys_exit *ctx)
{
	return clone_exit(ctx, PS_NR_FORK);
}

SEC("tracepoint/syscalls/sys_exit_vfork")
int sys_exit_vfork(struct trace_event_raw_sys_exit *ctx)
{
	return clone_exit(ctx, PS_NR_VFORK);
}

/* Successful execs are told by sched_process_exec; this adds failures. */
SEC("tracepoint/syscalls/sys_exit_execve")
int sys_exit_execve(struct trace_event_raw_sys_exit *ctx)
{
	struct ps_execve *r;
	__u32 tgid, tid;

	if (!current_traced(&tgid, &tid))
		return TP_PASS;
	r = reserve(PS_REC_EXECVE, sizeof(*r), tgid, tid);
	if (!r)
		return TP_PASS;
	r->ret = ctx->ret;
	submit(r);
	return TP_PASS;
}

/* ---- scheduler --------------------------------------------------------- */

static __always_inline void note_stack_growth(struct task_struct *t, __u32 tgid, __u32 tid)
{
	struct mm_struct *mm = t->mm;
	struct ps_stack *r;
	__u64 pages, *last;

	if (!mm)
		return;
	pages = mm->stack_vm;
	last = bpf_map_lookup_elem(&stack_last, &tgid);
	if (last && *last == pages)
		return;
	bpf_map_update_elem(&stack_last, &tgid, &pages, BPF_ANY);
	r = reserve(PS_REC_STACK, sizeof(*r), tgid, tid);
	if (!r)
		return;
	r->stack_vm_pages = pages;
	r->start_stack = mm->start_stack;
	submit(r);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch, bool preempt, struct task_struct *prev,
	     struct task_struct *next, unsigned int prev_state)
{
	__u32 prev_tgid = prev->tgid, next_tgid = next->tgid;
	bool prev_user = !(prev->flags & PF_KTHREAD) && prev->mm;
	struct ps_switch *r;

	bool prev_traced = is_traced(prev_tgid);	/* a hash lookup: once per switch */

	admit(next);

	if (!prev_traced && !is_traced(next_tgid))
		return 0;
	r = reserve(PS_REC_SWITCH, sizeof(*r), prev_tgid, prev->pid);
	if (!r)
		return 0;
	r->next_tid = next->pid;
	r->next_tgid = next_tgid;
	r->prev_state = preempt ? TASK_RUNNING : prev_state;
	r->next_prio = next->prio;
	r->prev_user_sp = 0;
	if (prev_user) {
		struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(prev);

		r->prev_user_sp = PT_REGS_SP_CORE(regs);
	}
	read_totals(prev, &r->prev);
	r->next_sum_exec_ns = next->se.sum_exec_runtime;
	if (prev_user && prev_traced && (r->prev_state & (TASK_INTERRUPTIBLE | TASK_UNINTERRUPTIBLE)))
		stacks__emit(ctx, PS_STK_OFFCPU, &r->h, prev_tgid, prev->pid, true);
	submit(r);
	if (prev_user && prev_traced)
		note_stack_growth(prev, prev_tgid, prev->pid);
	return 0;
}

/*
 * Wakers outside the trace: the name of each, once per (tid, comm), so a
 * report names them. Keyed by tid; the value is the comm's first 8 bytes,
 * enough to tell a rename.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64);
} comm_sent SEC(".maps");

static __always_inline void name_waker(__u32 tgid, __u32 tid)
{
	char comm[PS_COMM_LEN];
	struct ps_comm *r;
	__u64 *sent, head;

	if (!tid)
		return;	/* idle or an interrupt: the views name it */
	bpf_get_current_comm(comm, sizeof(comm));
	__builtin_memcpy(&head, comm, sizeof(head));
	sent = bpf_map_lookup_elem(&comm_sent, &tid);
	if (sent && *sent == head)
		return;
	bpf_map_update_elem(&comm_sent, &tid, &head, BPF_ANY);
	r = reserve(PS_REC_COMM, sizeof(*r), tgid, tid);
	if (!r)
		return;
	__builtin_memcpy(r->comm, comm, sizeof(comm));
	submit(r);
}

static __always_inline int wakeup(struct task_struct *p, __u32 is_new)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, woken_tgid = p->tgid;
	bool waker_traced = is_traced(tgid);
	struct ps_wakeup *r;

	if (!waker_traced && !is_traced(woken_tgid))
		return 0;
	if (!waker_traced)
		name_waker(tgid, (__u32)id);
	r = reserve(PS_REC_WAKEUP, sizeof(*r), tgid, (__u32)id);
	if (!r)
		return 0;
	r->woken_tid = p->pid;
	r->woken_tgid = woken_tgid;
	r->target_cpu = p->wake_cpu;
	r->is_new = is_new;
	submit(r);
	return 0;
}

/*
 * sched_waking, not sched_wakeup: it fires in the waker's context on every
 * path (sched_wakeup may fire later from an IPI on the target CPU, where
 * "current" is not the waker), and it is what Perfetto calls a wakeup.
 */
SEC("tp_btf/sched_waking")
int BPF_PROG(sched_waking, struct task_struct *p)
{
	return wakeup(p, 0);
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(sched_wakeup_new, struct task_struct *p)
{
	return wakeup(p, 1);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 tgid = parent->tgid, child_tgid = child->tgid;
	struct ps_fork *r;

	if (!is_traced(tgid))
		return 0;
	if (!targ_all && child_tgid != tgid) {
		__u8 live = PS_TRACED_LIVE;

		bpf_map_update_elem(&traced, &child_tgid, &live, BPF_ANY);
	}
	r = reserve(PS_REC_FORK, sizeof(*r), tgid, parent->pid);
	if (!r)
		return 0;
	r->child_tid = child->pid;
	r->child_tgid = child_tgid;
	bpf_probe_read_kernel_str(r->child_comm, sizeof(r->child_comm), child->comm);
	submit(r);
	return 0;
}

/* One record per VMA of the fresh image: the mappings exec made itself. */
static __always_inline void emit_vmas(struct task_struct *p, __u32 tgid, __u32 tid)
{
	struct bpf_iter_task_vma it;
	struct vm_area_struct *vma;
	int n = 0;

	if (!targ_vma_iter)
		return;
	if (bpf_iter_task_vma_new(&it, p, 0))
		goto out;
	while ((vma = bpf_iter_task_vma_next(&it)) && n < 64) {
		struct ps_vma *r = reserve(PS_REC_VMA, sizeof(*r), tgid, tid);
		struct file *f;

		n++;
		if (!r)
			continue;
		r->start = vma->vm_start;
		r->end = vma->vm_end;
		r->pgoff = vma->vm_pgoff;
		r->vm_flags = vma->vm_flags;
		r->dev = 0;
		r->ino = 0;
		__builtin_memset(r->path, 0, sizeof(r->path));
		f = vma->vm_file;
		if (f) {
			r->ino = BPF_CORE_READ(f, f_inode, i_ino);
			r->dev = BPF_CORE_READ(f, f_inode, i_sb, s_dev);
			read_file_path(f, r->path);
		} else if (vma->vm_ops && vma->vm_private_data) {
			/* [vdso], [vvar], [vvar_vclock]: a vm_special_mapping */
			struct vm_special_mapping *sm = vma->vm_private_data;

			bpf_probe_read_kernel_str(r->path[0], PS_PATH_COMP, BPF_CORE_READ(sm, name));
		}
		submit(r);
	}
out:
	bpf_iter_task_vma_destroy(&it);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(sched_process_exec, struct task_struct *p, pid_t old_pid,
	     struct linux_binprm *bprm)
{
	__u32 tgid = p->tgid;
	struct mm_struct *mm;
	struct ps_exec *r;
	__u64 stack_vm;

	if (targ_exec_pid && tgid == targ_exec_pid && !targ_all) {
		__u8 live = PS_TRACED_LIVE;

		bpf_map_update_elem(&traced, &tgid, &live, BPF_ANY);
		targ_exec_pid = 0;
	}
	if (!is_traced(tgid))
		return 0;
	r = reserve(PS_REC_EXEC, sizeof(*r), tgid, p->pid);
	if (!r)
		return 0;
	mm = p->mm;
	r->old_tid = old_pid;
	r->pad = 0;
	r->start_code = mm->start_code;
	r->end_code = mm->end_code;
	r->start_data = mm->start_data;
	r->end_data = mm->end_data;
	r->start_brk = mm->start_brk;
	r->brk = mm->brk;
	r->start_stack = mm->start_stack;
	r->arg_start = mm->arg_start;
	r->arg_end = mm->arg_end;
	r->env_start = mm->env_start;
	r->env_end = mm->env_end;
	r->stack_vm = stack_vm = mm->stack_vm;
	bpf_probe_read_kernel_str(r->comm, sizeof(r->comm), p->comm);
	bpf_probe_read_kernel_str(r->filename, sizeof(r->filename), bprm->filename);
	read_totals(p, &r->totals);
	submit(r);
	bpf_map_update_elem(&stack_last, &tgid, &stack_vm, BPF_ANY);
	emit_vmas(p, tgid, p->pid);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(sched_process_exit, struct task_struct *p, bool group_dead)
{
	__u32 tgid = p->tgid;
	struct ps_exit *r;

	if (!is_traced(tgid))
		return 0;
	/*
	 * The stack may have grown since the last switch-out, and the final
	 * switch-out comes after exit_mm(): sample it now (on 6.16+ this
	 * tracepoint fires before exit_mm(), so p->mm is still there).
	 */
	if (p->mm)
		note_stack_growth(p, tgid, p->pid);
	if (group_dead && !targ_all) {
		__u8 gone = PS_TRACED_GONE;

		bpf_map_update_elem(&traced, &tgid, &gone, BPF_EXIST);
	}
	r = reserve(PS_REC_EXIT, sizeof(*r), tgid, p->pid);
	if (!r)
		return 0;
	r->exit_code = p->exit_code;
	r->group_dead = group_dead;
	bpf_probe_read_kernel_str(r->comm, sizeof(r->comm), p->comm);
	read_totals(p, &r->totals);
	submit(r);
	return 0;
}

SEC("tp_btf/task_rename")
int BPF_PROG(task_rename, struct task_struct *task, const char *comm)
{
	__u32 tgid = task->tgid;
	struct ps_rename *r;

	if (!is_traced(tgid))
		return 0;
	r = reserve(PS_REC_RENAME, sizeof(*r), tgid, task->pid);
	if (!r)
		return 0;
	bpf_probe_read_kernel_str(r->oldcomm, sizeof(r->oldcomm), task->comm);
	bpf_probe_read_kernel_str(r->newcomm, sizeof(r->newcomm), comm);
	submit(r);
	return 0;
}

/*
 * RSS: fires on every counter change (each fault), so emit only when the
 * member moved by targ_rss_step since the last record. Only changes made
 * by the owning process itself are seen (reclaim by kswapd is not).
 */
SEC("tp_btf/rss_stat")
int BPF_PROG(rss_stat, struct mm_struct *mm, int member)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	__u32 tgid, tid;
	__s64 bytes, *last, diff;
	struct ps_rss *r;
	__u64 key;

	if (cur->mm != mm || member < 0 || member > PS_RSS_SHMEM)
		return 0;
	if (!current_traced(&tgid, &tid))
		return 0;
	bytes = BPF_CORE_READ(mm, rss_stat[member & 3].count) * 4096;
	key = ((__u64)tgid << 2) | (member & 3);
	last = bpf_map_lookup_elem(&rss_last, &key);
	if (last) {
		diff = bytes - *last;
		if (diff < targ_rss_step && diff > -targ_rss_step)
			return 0;
	}
	bpf_map_update_elem(&rss_last, &key, &bytes, BPF_ANY);
	r = reserve(PS_REC_RSS, sizeof(*r), tgid, tid);
	if (!r)
		return 0;
	r->bytes = bytes;
	r->member = member;
	r->pad = 0;
	submit(r);
	return 0;
}

#include "coro.bpf.h"
