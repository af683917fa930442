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
 * Cost: one ring-buffer reservation of the largest record (the recorder
 * stores only hdr.size bytes of it) and one bpf_probe_read_user() of the
 * stack bytes actually in use: from SP to the end of the stack's mapping,
 * at most targ_ustack_bytes.
 *
 * Included by procscope.bpf.c after reserve()/submit().
 */
#ifndef PROCSCOPE_STACKS_BPF_H
#define PROCSCOPE_STACKS_BPF_H

const volatile bool targ_stacks = true;			/* --no-stacks: false */
const volatile __u32 targ_ustack_bytes = 8192;		/* --stack-size, <= PS_USTACK_MAX */

/*
 * Reserved per stack: the largest record this recording makes. targ_ is
 * read-only data, so the verifier knows it as a constant; the recorder
 * stores only hdr.size bytes of it.
 */
#define PS_STK_RESERVE	(sizeof(struct ps_ustack) + PS_KSTACK_MAX * 8 + targ_ustack_bytes)

static long stack_top_cb(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	*(__u64 *)data = vma->vm_end;
	return 0;
}

static __always_inline void read_uregs(struct pt_regs *regs, struct ps_ustack *r)
{
#if defined(bpf_target_x86)
	r->abi = PS_STK_ABI_X86_64;
	r->regs[0] = BPF_CORE_READ(regs, ax);
	r->regs[1] = BPF_CORE_READ(regs, dx);
	r->regs[2] = BPF_CORE_READ(regs, cx);
	r->regs[3] = BPF_CORE_READ(regs, bx);
	r->regs[4] = BPF_CORE_READ(regs, si);
	r->regs[5] = BPF_CORE_READ(regs, di);
	r->regs[6] = BPF_CORE_READ(regs, bp);
	r->regs[7] = BPF_CORE_READ(regs, sp);
	r->regs[8] = BPF_CORE_READ(regs, r8);
	r->regs[9] = BPF_CORE_READ(regs, r9);
	r->regs[10] = BPF_CORE_READ(regs, r10);
	r->regs[11] = BPF_CORE_READ(regs, r11);
	r->regs[12] = BPF_CORE_READ(regs, r12);
	r->regs[13] = BPF_CORE_READ(regs, r13);
	r->regs[14] = BPF_CORE_READ(regs, r14);
	r->regs[15] = BPF_CORE_READ(regs, r15);
	r->regs[16] = BPF_CORE_READ(regs, ip);
#else
	r->abi = PS_STK_ABI_NONE;
#endif
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
	struct pt_regs *regs;
	struct ps_ustack *r;
	__u64 sp, top = 0, len = 0;
	long n = 0;
	__u8 *data;

	if (!targ_stacks || (task->flags & PF_KTHREAD) || !task->mm)
		return;
	r = reserve(PS_REC_USTACK, PS_STK_RESERVE, tgid, tid);
	if (!r)
		return;
	if (ref)
		r->h.ts_ns = ref->ts_ns;
	r->kind = kind;
	r->ref_type = ref ? ref->type : 0;
	r->ustack_err = 0;
	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	read_uregs(regs, r);
	data = (__u8 *)(r + 1);
	if (kstack) {
		/* at sched_switch the innermost two are this program and bpf_trace_run4() */
		n = bpf_get_stack(ctx, data, PS_KSTACK_MAX * 8, kind == PS_STK_OFFCPU ? 2 : 0);
		if (n < 0)
			n = 0;
		if (n > PS_KSTACK_MAX * 8)
			n = PS_KSTACK_MAX * 8;
	}
	r->nkframes = n / 8;
	sp = PT_REGS_SP_CORE(regs);
	/* in use: from SP to the end of its mapping (the main stack, a thread's stack) */
	if (bpf_find_vma(task, sp, stack_top_cb, &top, 0) == 0 && top > sp)
		len = top - sp;
	else
		len = targ_ustack_bytes;	/* mmap lock busy: try, the read says */
	if (len > targ_ustack_bytes)
		len = targ_ustack_bytes;
	if (len > PS_USTACK_MAX)
		len = PS_USTACK_MAX;
	len &= ~7ull;
	/*
	 * The copy cannot fault pages in: where the top of the range is not
	 * resident, the lower half, which holds the innermost frames, may be.
	 */
	for (int i = 0; i < 4 && len; i++) {
		long e = bpf_probe_read_user(data + n, len, (void *)sp);

		if (!e)
			break;
		r->ustack_err = e;
		len = (len >> 1) & ~7ull;
	}
	if (!len)
		r->ustack_err = r->ustack_err ?: -14;	/* EFAULT */
	else
		r->ustack_err = 0;
	r->ustack_len = len;
	r->h.size = sizeof(*r) + n + len;
	submit(r);
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
