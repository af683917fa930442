/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The kernel's word on a memory call: at its exit, the VMAs around the
 * range it touched, as PS_REC_VMA_SYNC records (include/records.h). The
 * address-space model applies the call as it understands it, then checks
 * itself against these and takes the kernel's boundaries where they differ.
 *
 * Included by procscope.bpf.c after its helpers (output(), targ_vma_iter,
 * the bpf_iter_task_vma_* kfuncs); each memory-syscall program ends with
 * one call to vma_state__sync().
 *
 * Cost: the iterator takes mmap_lock for reading (a trylock: when another
 * thread holds it for writing, the walk is skipped and the model goes
 * unchecked for that call), finds the first VMA in O(log n) in the maple
 * tree, then one step per VMA: typically 3-5 VMAs, one record.
 */
#ifndef PROCSCOPE_VMA_STATE_BPF_H
#define PROCSCOPE_VMA_STATE_BPF_H

#define PS_PAGE_SIZE	4096ull
#define PS_PAGE_UP(x)	(((x) + PS_PAGE_SIZE - 1) & ~(PS_PAGE_SIZE - 1))
/* VMAs walked per call, at most: a few for any call but mlockall's whole space */
#define PS_SYNC_WALK_MAX	64
#define PS_SYNC_WALK_ALL	1024

/* Scratch record, per CPU: too big for the BPF stack next to the caller's. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ps_vma_sync);
} vma_sync_buf SEC(".maps");

static __always_inline void sync_flush(struct ps_vma_sync *r, __u32 n, __u64 hi)
{
	__u64 size;

	if (n > PS_SYNC_VMAS)
		return;
	r->n = n;
	r->hi = hi;
	size = __builtin_offsetof(struct ps_vma_sync, vma) + n * sizeof(struct ps_vma_ent);
	r->h.size = size;
	r->h.ts_ns = bpf_ktime_get_ns();
	output(r, size, PS_REC_VMA_SYNC);
}

/*
 * Records the current task's VMAs intersecting [lo, hi) (bytes), CALL and
 * OP saying which call this follows, LIMIT VMAs at most. A global
 * function: the verifier checks the iterator loop once, not at every call
 * site. Returns the number of VMAs recorded.
 */
__noinline int vma_state__walk(__u64 lo, __u64 hi, __u32 call, __u32 op, __u32 limit)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 id = bpf_get_current_pid_tgid();
	struct bpf_iter_task_vma it;
	struct vm_area_struct *vma;
	struct ps_vma_sync *r;
	__u32 zero = 0, n = 0, total = 0;

	if (!targ_vma_iter || lo >= hi)
		return 0;
	r = bpf_map_lookup_elem(&vma_sync_buf, &zero);
	if (!r)
		return 0;
	r->h.type = PS_REC_VMA_SYNC;
	r->h.cpu = bpf_get_smp_processor_id();
	r->h.tgid = id >> 32;
	r->h.tid = (__u32)id;
	r->lo = lo;
	r->call = call;
	r->op = op;
	if (bpf_iter_task_vma_new(&it, task, lo))
		goto out;
	while ((vma = bpf_iter_task_vma_next(&it))) {
		struct ps_vma_ent *e;

		if (vma->vm_start >= hi || total >= limit)
			break;
		if (n >= PS_SYNC_VMAS) {
			/* the next record starts where this one's last VMA ends */
			sync_flush(r, PS_SYNC_VMAS, r->vma[PS_SYNC_VMAS - 1].end);
			r->lo = r->vma[PS_SYNC_VMAS - 1].end;
			n = 0;
		}
		e = &r->vma[n & (PS_SYNC_VMAS - 1)];
		e->start = vma->vm_start;
		e->end = vma->vm_end;
		e->vm_flags = vma->vm_flags;
		e->pgoff = vma->vm_pgoff;
		n++;
		total++;
	}
	/* cut short: claim only what was looked at */
	if (total >= limit && n)
		hi = r->vma[(n - 1) & (PS_SYNC_VMAS - 1)].end;
	sync_flush(r, n, hi);
out:
	bpf_iter_task_vma_destroy(&it);
	return total;
}

/*
 * After a call that changed [addr, addr + len): the VMAs from the one
 * holding the byte below ADDR to the one holding the byte at the end, so
 * the neighbours it may have merged with or split from are seen too.
 */
static __always_inline void vma_state__sync(__u64 addr, __u64 len, __u32 call, __u32 op)
{
	__u64 end = addr + PS_PAGE_UP(len);

	if (end < addr)
		return;
	vma_state__walk(addr ? addr - 1 : 0, end + 1, call, op, PS_SYNC_WALK_MAX);
}

/* After a call that changed the whole space (mlockall, munlockall). */
static __always_inline void vma_state__sync_all(__u32 call, __u32 op)
{
	vma_state__walk(0, ~0ull, call, op, PS_SYNC_WALK_ALL);
}

/* Length of the VMA starting at ADDR (shmat's result), 0 if none. */
__noinline __u64 vma_state__len_at(__u64 addr)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct bpf_iter_task_vma it;
	struct vm_area_struct *vma;
	__u64 len = 0;

	if (!targ_vma_iter)
		return 0;
	if (bpf_iter_task_vma_new(&it, task, addr))
		goto out;
	vma = bpf_iter_task_vma_next(&it);
	if (vma && vma->vm_start == addr)
		len = vma->vm_end - vma->vm_start;
out:
	bpf_iter_task_vma_destroy(&it);
	return len;
}

#endif /* PROCSCOPE_VMA_STATE_BPF_H */
