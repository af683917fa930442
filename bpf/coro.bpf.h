/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Coroutine probes for procscope.bpf.c (see src/coro_model.h).
 *
 * sys_exit_sigaltstack is always on: the call is rare, and it is what tells
 * a signal handler's stack from a coroutine's. The uprobes are loaded only
 * with `record --coroutines` (the recorder turns their autoload off
 * otherwise) and attached by src/coro_attach.c to the library files the
 * targets map: each costs a trap per call (see README, "Coroutines").
 *
 * ucontext_t offsets are glibc's x86_64 ABI (<sys/ucontext.h>: uc_flags,
 * uc_link, uc_stack{ss_sp, ss_flags, ss_size}, uc_mcontext.gregs[23] with
 * REG_RSP = 15); boost.context's fcontext_t is the saved stack pointer
 * itself. Other architectures load none of these uprobes.
 *
 * Included by procscope.bpf.c after reserve()/submit().
 */
#ifndef PROCSCOPE_CORO_BPF_H
#define PROCSCOPE_CORO_BPF_H

#define UC_STACK_SP	16
#define UC_STACK_SIZE	32
#define UC_GREG_RSP	(40 + 15 * 8)

SEC("tracepoint/syscalls/sys_exit_sigaltstack")
int sys_exit_sigaltstack(struct trace_event_raw_sys_exit *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct ps_sigaltstack *r;
	__u32 tgid, tid;

	if (!current_traced(&tgid, &tid))
		return TP_PASS;
	r = reserve(PS_REC_SIGALTSTACK, sizeof(*r), tgid, tid);
	if (!r)
		return TP_PASS;
	r->sp = task->sas_ss_sp;
	r->size = task->sas_ss_size;
	r->flags = task->sas_ss_flags;
	r->ret = ctx->ret;
	submit(r);
	return TP_PASS;
}

static __always_inline __u64 user_u64(__u64 addr)
{
	__u64 v = 0;

	bpf_probe_read_user(&v, sizeof(v), (void *)addr);
	return v;
}

static __always_inline int coro_make(struct pt_regs *ctx, __u64 ucp, __u64 lo, __u64 size,
				     __u64 entry, __u32 api)
{
	struct ps_coro_make *r;
	__u32 tgid, tid;

	if (!current_traced(&tgid, &tid))
		return 0;
	r = reserve(PS_REC_CORO_MAKE, sizeof(*r), tgid, tid);
	if (!r)
		return 0;
	r->ctx = ucp;
	r->stack_lo = lo;
	r->stack_size = size;
	r->entry = entry;
	r->api = api;
	r->pad = 0;
	submit(r);
	return 0;
}

static __always_inline int coro_switch(struct pt_regs *ctx, __u64 to_sp, __u64 to_ctx,
				       __u32 api, __u32 op)
{
	struct ps_coro_switch *r;
	__u32 tgid, tid;

	if (!current_traced(&tgid, &tid))
		return 0;
	r = reserve(PS_REC_CORO_SWITCH, sizeof(*r), tgid, tid);
	if (!r)
		return 0;
	r->from_sp = PT_REGS_SP(ctx);
	r->to_sp = to_sp;
	r->to_ctx = to_ctx;
	r->api = api;
	r->op = op;
	submit(r);
	return 0;
}

/* makecontext(ucp, func, argc, ...): ucp->uc_stack is the stack it will run on */
SEC("uprobe")
int BPF_KPROBE(coro_makecontext, void *ucp, void *func)
{
	__u64 u = (__u64)ucp;

	return coro_make(ctx, u, user_u64(u + UC_STACK_SP), user_u64(u + UC_STACK_SIZE),
			 (__u64)func, PS_CORO_UCONTEXT);
}

/* swapcontext(oucp, ucp) */
SEC("uprobe")
int BPF_KPROBE(coro_swapcontext, void *oucp, void *ucp)
{
	__u64 u = (__u64)ucp;

	return coro_switch(ctx, user_u64(u + UC_GREG_RSP), u, PS_CORO_UCONTEXT, PS_CORO_SWAP);
}

/* setcontext(ucp) */
SEC("uprobe")
int BPF_KPROBE(coro_setcontext, void *ucp)
{
	__u64 u = (__u64)ucp;

	return coro_switch(ctx, user_u64(u + UC_GREG_RSP), u, PS_CORO_UCONTEXT, PS_CORO_SET);
}

/* make_fcontext(sp, size, fn): the stack is [sp - size, sp) */
SEC("uprobe")
int BPF_KPROBE(coro_make_fcontext, void *sp, __u64 size, void *fn)
{
	return coro_make(ctx, 0, (__u64)sp - size, size, (__u64)fn, PS_CORO_FCONTEXT);
}

/* jump_fcontext(to, vp): TO is the target's saved stack pointer */
SEC("uprobe")
int BPF_KPROBE(coro_jump_fcontext, void *to)
{
	return coro_switch(ctx, (__u64)to, (__u64)to, PS_CORO_FCONTEXT, PS_CORO_JUMP);
}

/* ontop_fcontext(to, vp, fn) */
SEC("uprobe")
int BPF_KPROBE(coro_ontop_fcontext, void *to)
{
	return coro_switch(ctx, (__u64)to, (__u64)to, PS_CORO_FCONTEXT, PS_CORO_ONTOP);
}

#endif /* PROCSCOPE_CORO_BPF_H */
