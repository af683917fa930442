/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Call stacks for procscope.bpf.c: user registers plus a copy of the user
 * stack (and, for off-CPU switches and samples, the kernel stack), unwound
 * offline with elfutils from .eh_frame CFI (src/unwind.c), the way perf
 * --call-graph dwarf does. Debian's userland has no frame pointers, so a
 * frame-pointer walk here (bpf_get_stack(BPF_F_USER_STACK)) stops after a
 * frame or two; copying bytes is the one cheap thing a probe can do that
 * keeps every frame recoverable.
 *
 * Cost (bench/probe_cost.sh): the ring takes the bytes in use, not the
 * largest record: the record is reserved at its real size (a dynptr, the
 * user stack read straight into the ring; Linux 6.16+) or built in a slot
 * per CPU and copied in (older kernels). The user stack copied is the part
 * in use: from SP to the top of the thread's stack, at most
 * targ_ustack_bytes.
 *
 * Overload: a stack is left out, and counted per kind in stk_skipped, when
 * it would take its CPU's ring past half full. The record it belongs to is
 * emitted all the same: what a recorder that cannot keep up loses is the
 * stacks of some calls, never the calls.
 *
 * Included by procscope.bpf.c after reserve()/submit().
 */
#ifndef PROCSCOPE_STACKS_BPF_H
#define PROCSCOPE_STACKS_BPF_H

const volatile bool targ_stacks = true;			/* --no-stacks: false */
const volatile __u32 targ_ustack_bytes = 8192;		/* --stack-size, <= PS_USTACK_MAX */
/* bpf_probe_read_user_dynptr() exists (Linux 6.16+): src/kernel_features.c */
const volatile bool targ_read_dynptr = true;

extern int bpf_probe_read_user_dynptr(struct bpf_dynptr *dptr, __u32 off, __u32 size,
				      const void *unsafe_ptr) __ksym __weak;

/* The largest stack record: its fixed part, the kernel frames, the user stack. */
struct ps_ustack_max {
	struct ps_ustack s;
	__u8 data[PS_KSTACK_MAX * 8 + PS_USTACK_MAX];
};

/*
 * Where a stack is built: the kernel frames (and, without the dynptr read,
 * the whole record). Two slots per CPU, one for the task's own probes and
 * one for the CPU-clock sample, which can interrupt them there; each probe
 * runs once at a time per CPU. An array, not a per-CPU one: a per-CPU
 * value holds 32 KiB at most.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);	/* resized by the recorder: 2 per possible CPU */
	__type(key, __u32);
	__type(value, struct ps_ustack_max);
} stk_scratch SEC(".maps");

/* Stacks left out under load, per CPU and PS_STK_* kind (read by the recorder). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PS_STK_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} stk_skipped SEC(".maps");

/*
 * The stack mapping a thread last ran on, by tid: at a switch-out or a
 * sample the interrupts are off, and there bpf_find_vma() must defer its
 * unlock to an irq_work (an interrupt per call) or fails. A thread keeps
 * its stack for life; a hit needs the same mm and SP inside the range.
 */
struct stk_range {
	__u64 mm;
	__u64 start, end;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct stk_range);
} stk_ranges SEC(".maps");

static __always_inline void count_skipped(__u32 kind)
{
	__u64 *cnt = bpf_map_lookup_elem(&stk_skipped, &kind);

	if (cnt)
		(*cnt)++;
}

/*
 * Room for a stack of SIZE bytes in ring RB: it stays under half full, the
 * other half being the core records' (switches, calls, ...).
 */
static __always_inline bool stack_room(void *rb, __u64 size)
{
	return bpf_ringbuf_query(rb, BPF_RB_AVAIL_DATA) + size <=
	       bpf_ringbuf_query(rb, BPF_RB_RING_SIZE) / 2;
}

static long stack_range_cb(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	struct stk_range *r = data;

	r->start = vma->vm_start;
	r->end = vma->vm_end;
	return 0;
}

/*
 * Top of the frames above SP, 0 if not known. The main thread's frames end
 * at start_stack (the SP exec handed it; above are argv, the environment
 * and the aux vector, a few KiB no unwinder reads); a thread's at the end
 * of its stack's mapping.
 */
static __always_inline __u64 ustack_top(struct task_struct *task, __u32 tid, __u64 sp)
{
	struct mm_struct *mm = task->mm;
	struct stk_range cur = { .mm = (__u64)mm }, *c;
	__u64 top = mm->start_stack;

	/* slack above start_stack: the outermost frame's CFA may reach argc */
	if (sp < top && top - sp <= (mm->stack_vm << 12))
		return top + 64;
	c = bpf_map_lookup_elem(&stk_ranges, &tid);
	if (c && c->mm == cur.mm && sp >= c->start && sp < c->end)
		return c->end;
	if (bpf_find_vma(task, sp, stack_range_cb, &cur, 0) || cur.end <= sp)
		return 0;	/* mmap lock busy */
	bpf_map_update_elem(&stk_ranges, &tid, &cur, BPF_ANY);
	return cur.end;
}

/* Bytes of user stack to copy at SP, a multiple of 8. */
static __always_inline __u64 ustack_len(struct task_struct *task, __u32 tid, __u64 sp)
{
	__u64 top = ustack_top(task, tid, sp);
	__u64 len = top ? top - sp : targ_ustack_bytes;	/* unknown: try, the read says */

	if (len > targ_ustack_bytes)
		len = targ_ustack_bytes;
	if (len > PS_USTACK_MAX)
		len = PS_USTACK_MAX;
	return len & ~7ull;
}

static __always_inline void read_uregs(struct pt_regs *regs, struct ps_ustack *r)
{
#if defined(bpf_target_x86)
	/* direct loads through the task's BTF pointer: no helper call per register */
	r->abi = PS_STK_ABI_X86_64;
	r->regs[0] = regs->ax;
	r->regs[1] = regs->dx;
	r->regs[2] = regs->cx;
	r->regs[3] = regs->bx;
	r->regs[4] = regs->si;
	r->regs[5] = regs->di;
	r->regs[6] = regs->bp;
	r->regs[7] = regs->sp;
	r->regs[8] = regs->r8;
	r->regs[9] = regs->r9;
	r->regs[10] = regs->r10;
	r->regs[11] = regs->r11;
	r->regs[12] = regs->r12;
	r->regs[13] = regs->r13;
	r->regs[14] = regs->r14;
	r->regs[15] = regs->r15;
	r->regs[16] = regs->ip;
#else
	r->abi = PS_STK_ABI_NONE;
#endif
}

/* What a stack record says besides its bytes. */
struct stk_meta {
	const struct ps_hdr *ref;
	struct pt_regs *regs;
	__u32 cpu, tgid, tid;
	__u16 kind;
};

static __always_inline void fill_ustack(struct ps_ustack *r, const struct stk_meta *s,
					long nkbytes, __u64 len, long err)
{
	r->h.type = PS_REC_USTACK;
	r->h.size = sizeof(*r) + nkbytes + len;
	r->h.cpu = s->cpu;
	r->h.ts_ns = s->ref ? s->ref->ts_ns : bpf_ktime_get_ns();
	r->h.tgid = s->tgid;
	r->h.tid = s->tid;
	r->kind = s->kind;
	r->ref_type = s->ref ? s->ref->type : 0;
	r->nkframes = nkbytes / 8;
	r->ustack_len = len;
	/* the copy failed at every size tried: say why */
	r->ustack_err = len ? 0 : (err ?: -14);	/* EFAULT */
	read_uregs(s->regs, r);
}

/*
 * The copies cannot fault pages in: where the top of the range is not
 * resident, the lower half, which holds the innermost frames, may be. Up
 * to 4 tries, each half the last.
 */
#define STK_TRIES	4

/* Reserves the record at its size and reads the user stack straight into the ring. */
static __always_inline void emit_dynptr(void *rb, const struct stk_meta *s, const __u8 *kframes,
					long nkbytes, __u64 sp, __u64 len)
{
	struct bpf_dynptr d;
	struct ps_ustack *r;
	long err = 0;

	if (bpf_ringbuf_reserve_dynptr(rb, sizeof(*r) + nkbytes + len, 0, &d)) {
		bpf_ringbuf_discard_dynptr(&d, 0);
		count_lost(PS_REC_USTACK);
		return;
	}
	if (nkbytes)
		bpf_dynptr_write(&d, sizeof(*r), (void *)kframes, nkbytes, 0);
	for (int i = 0; i < STK_TRIES && len; i++) {
		err = bpf_probe_read_user_dynptr(&d, sizeof(*r) + nkbytes, len, (void *)sp);
		if (!err)
			break;
		len = (len >> 1) & ~7ull;
	}
	r = bpf_dynptr_data(&d, 0, sizeof(*r));
	if (!r) {	/* never: the reservation holds it */
		bpf_ringbuf_discard_dynptr(&d, 0);
		return;
	}
	fill_ustack(r, s, nkbytes, len, err);
	bpf_ringbuf_submit_dynptr(&d, BPF_RB_NO_WAKEUP);
}

/* Builds the record in M (kernel frames already in M->data) and copies it into the ring. */
static __always_inline void emit_copy(void *rb, const struct stk_meta *s, struct ps_ustack_max *m,
				      long nkbytes, __u64 sp, __u64 len)
{
	long err = 0;
	__u64 size;

	for (int i = 0; i < STK_TRIES && len; i++) {
		err = bpf_probe_read_user(m->data + nkbytes, len, (void *)sp);
		if (!err)
			break;
		len = (len >> 1) & ~7ull;
	}
	fill_ustack(&m->s, s, nkbytes, len, err);
	size = sizeof(m->s) + nkbytes + len;
	if (size > sizeof(*m))	/* never: for the verifier */
		return;
	if (bpf_ringbuf_output(rb, m, size, BPF_RB_NO_WAKEUP))
		count_lost(PS_REC_USTACK);
}

/*
 * Emits the stack of the current task as a PS_REC_USTACK of KIND for the
 * record whose header is REF (NULL for a sample), with REF's time and ids
 * so the reader pairs them; call it before submitting REF, so the stack
 * follows it in the ring. KSTACK: add the kernel frames (CTX is the
 * program's context, for bpf_get_stack()).
 */
static __always_inline void stacks__emit(void *ctx, __u16 kind, const struct ps_hdr *ref,
					 __u32 tgid, __u32 tid, bool kstack)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct stk_meta s = { .ref = ref, .tgid = tgid, .tid = tid, .kind = kind };
	struct ps_ustack_max *m;
	__u32 slot;
	__u64 sp, len;
	long n = 0;
	void *rb;

	if (!targ_stacks || (task->flags & PF_KTHREAD) || !task->mm)
		return;
	s.cpu = bpf_get_smp_processor_id();
	slot = s.cpu * 2 + (kind == PS_STK_SAMPLE);
	rb = cpu_ring(s.cpu);
	m = bpf_map_lookup_elem(&stk_scratch, &slot);
	if (!rb || !m)
		return;
	s.regs = (struct pt_regs *)bpf_task_pt_regs(task);
	sp = s.regs->sp;
	len = ustack_len(task, tid, sp);
	/* the kernel frames are not read yet: count them at their most */
	if (!stack_room(rb, sizeof(struct ps_ustack) + (kstack ? PS_KSTACK_MAX * 8 : 0) + len)) {
		count_skipped(kind);
		return;
	}
	if (kstack) {
		/* at sched_switch the innermost two are this program and bpf_trace_run4() */
		n = bpf_get_stack(ctx, m->data, PS_KSTACK_MAX * 8, kind == PS_STK_OFFCPU ? 2 : 0);
		if (n < 0)
			n = 0;
		if (n > PS_KSTACK_MAX * 8)
			n = PS_KSTACK_MAX * 8;
		n &= ~7l;
	}
	if (targ_read_dynptr)
		emit_dynptr(rb, &s, m->data, n, sp, len);
	else
		emit_copy(rb, &s, m, n, sp, len);
}

/*
 * CPU samples: the recorder opens a software cpu-clock perf event per CPU
 * (--sample HZ; hardware cycles are not available in every VM) and attaches
 * this program to each.
 */
SEC("perf_event")
int cpu_sample(struct bpf_perf_event_data *ctx)
{
	__u32 tgid, tid;

	if (!current_traced(&tgid, &tid) || !tid)
		return 0;
	stacks__emit(ctx, PS_STK_SAMPLE, NULL, tgid, tid, true);
	return 0;
}

#endif /* PROCSCOPE_STACKS_BPF_H */
