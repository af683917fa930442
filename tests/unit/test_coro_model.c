// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Coroutine model on synthetic records: a thread seen on one region only
 * is not said to run coroutines; a second stack confirms them; resumes are
 * counted per change of stack and per change of thread; a sigaltstack is
 * not a coroutine; with switch records the bounds are makecontext's, the
 * resumes exact, a switch-out inside swapcontext (before the stack moved)
 * is not a resume, and each run's on-CPU time (the kernel's delta) is split
 * at the switches by wall time.
 */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "coro_model.h"
#include "proc_model.h"
#include "vm_model.h"

#define PID		100
#define TID2		101
#define MAIN_SP		0x7ffff0000000ull	/* in the main stack */
#define CO_A		0x7f0000000000ull	/* two anonymous maps: coroutine stacks */
#define CO_B		0x7f0000100000ull
#define CO_LEN		0x40000ull
#define ALT		0x7f0000200000ull	/* a sigaltstack */

static struct proc_model pm;
static struct vm_model *vm;
static struct coro_model *cm;
static uint64_t now = 1000000;
static uint64_t sum_exec[2];	/* kernel totals of PID and TID2 */

static void hdr(struct ps_hdr *h, unsigned type, size_t size, uint32_t tid)
{
	memset(h, 0, size);
	h->type = type;
	h->size = size;
	h->ts_ns = now;
	h->tgid = PID;
	h->tid = tid;
}

static void feed(const struct ps_hdr *h)
{
	CHECK_EQ(proc_model__apply(&pm, h), 0);
	CHECK_EQ(vm_model__apply(vm, h, proc_model__resolve(&pm, h)), 0);
	CHECK_EQ(coro_model__apply(cm, h, proc_model__resolve(&pm, h)), 0);
}

static void setup(void)
{
	struct ps_exec e;
	struct ps_vma v;
	struct ps_fork f;
	struct ps_mmap m;
	uint64_t maps[3] = { CO_A, CO_B, ALT };

	proc_model__init(&pm);
	vm = vm_model__new(&pm, NULL);
	cm = coro_model__new(&pm, vm, NULL);
	CHECK(vm && cm);
	hdr(&e.h, PS_REC_EXEC, sizeof(e), PID);
	e.start_stack = MAIN_SP + 0x100;
	strcpy(e.comm, "t");
	feed(&e.h);
	hdr(&v.h, PS_REC_VMA, sizeof(v), PID);
	v.start = MAIN_SP - 0x20000;
	v.end = MAIN_SP + 0x1000;
	v.vm_flags = 3 | 0x100 | 0x100000;
	v.pgoff = v.start / 4096;
	feed(&v.h);
	for (int i = 0; i < 3; i++) {
		/* PROT_NONE between them: they stay apart */
		hdr(&m.h, PS_REC_MMAP, sizeof(m), PID);
		m.addr = maps[i] - 0x1000;
		m.len = 0x1000;
		m.flags = 0x22 | 0x10;	/* MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED */
		m.fd = -1;
		m.ret = m.addr;
		feed(&m.h);
		hdr(&m.h, PS_REC_MMAP, sizeof(m), PID);
		m.addr = maps[i];
		m.len = CO_LEN;
		m.prot = 3;
		m.flags = 0x22 | 0x10;
		m.fd = -1;
		m.ret = maps[i];
		feed(&m.h);
	}
	hdr(&f.h, PS_REC_FORK, sizeof(f), PID);
	f.child_tid = TID2;
	f.child_tgid = PID;
	feed(&f.h);
}

/* TID runs for RUN_NS (wall and on CPU), then is switched out with its SP at SP. */
static void run_then_out(uint32_t tid, uint64_t run_ns, uint64_t sp)
{
	uint64_t *sum = &sum_exec[tid == PID ? 0 : 1];
	struct ps_switch s;

	hdr(&s.h, PS_REC_SWITCH, sizeof(s), 0);
	s.h.tgid = 0;
	s.next_tid = tid;
	s.next_tgid = PID;
	s.next_sum_exec_ns = *sum;
	feed(&s.h);
	now += run_ns;
	*sum += run_ns;
	hdr(&s.h, PS_REC_SWITCH, sizeof(s), tid);
	s.prev_state = 1;
	s.prev_user_sp = sp;
	s.prev.sum_exec_ns = *sum;
	feed(&s.h);
	now += 1000;
}

static void coro_switch(uint32_t tid, uint64_t from_sp, uint64_t to_sp)
{
	struct ps_coro_switch r;

	hdr(&r.h, PS_REC_CORO_SWITCH, sizeof(r), tid);
	r.from_sp = from_sp;
	r.to_sp = to_sp;
	r.api = PS_CORO_UCONTEXT;
	r.op = PS_CORO_SWAP;
	feed(&r.h);
}

struct found {
	const struct coro_stack *s[8];
	int n;
};

static void collect(void *ctx, const struct coro_stack *s)
{
	struct found *f = ctx;

	if (f->n < 8)
		f->s[f->n++] = s;
}

static struct found stacks(void)
{
	struct found f = { .n = 0 };

	coro_model__for_each_stack(cm, PID, collect, &f);
	return f;
}

static void teardown(void)
{
	coro_model__free(cm);
	vm_model__free(vm);
	proc_model__free(&pm);
	memset(sum_exec, 0, sizeof(sum_exec));
}

static void test_passive(void)
{
	struct ps_sigaltstack a;
	struct found f;

	setup();
	/* TID2 only ever on CO_A: its own stack as far as anyone can tell */
	run_then_out(TID2, 1000, CO_A + 0x100);
	run_then_out(TID2, 1000, CO_A + 0x200);
	CHECK_EQ(stacks().n, 0);
	/* the main thread on its own stack, then on CO_B, then CO_A: both confirmed */
	run_then_out(PID, 1000, MAIN_SP - 0x100);
	run_then_out(PID, 5000, CO_B + 0x100);
	run_then_out(PID, 7000, CO_A + 0x300);
	run_then_out(PID, 1000, CO_A + 0x300);	/* same stack, same thread: no resume seen */
	run_then_out(PID, 3000, CO_B + 0x100);
	f = stacks();
	CHECK_EQ(f.n, 2);
	CHECK(f.n == 2 && f.s[0]->start == CO_A && f.s[0]->end == CO_A + CO_LEN);
	/* A: TID2 first (1), then the main thread (2); B: twice by the main thread */
	CHECK(f.n == 2 && f.s[0]->resumes == 2 && f.s[0]->ntids == 2);
	CHECK(f.n == 2 && f.s[1]->resumes == 2 && f.s[1]->ntids == 1);
	/* passive on-CPU: whole runs that ended on the stack */
	CHECK(f.n == 2 && f.s[0]->oncpu_ns == 2000 + 7000 + 1000 && f.s[1]->oncpu_ns == 8000);
	CHECK(!coro_model__exact(cm, PID));
	/* a handler switched out on the thread's sigaltstack */
	hdr(&a.h, PS_REC_SIGALTSTACK, sizeof(a), PID);
	a.sp = ALT;
	a.size = 0x10000;
	feed(&a.h);
	run_then_out(PID, 1000, ALT + 0x8000);
	f = stacks();
	CHECK_EQ(f.n, 3);
	CHECK(f.n == 3 && f.s[2]->kind == CORO_KIND_SIGALTSTACK && f.s[2]->start == ALT &&
	      f.s[2]->end == ALT + 0x10000);
	teardown();
}

static void test_exact(void)
{
	struct ps_coro_make mk;
	struct found f;
	struct ps_switch s;

	setup();
	hdr(&mk.h, PS_REC_CORO_MAKE, sizeof(mk), PID);
	mk.stack_lo = CO_A + 0x1000;	/* inside the map: the bounds given, not the region's */
	mk.stack_size = 0x8000;
	mk.api = PS_CORO_UCONTEXT;
	feed(&mk.h);
	/* one run: 1000 ns on the main stack, 3000 on A, 1000 back on the main stack */
	hdr(&s.h, PS_REC_SWITCH, sizeof(s), 0);
	s.h.tgid = 0;
	s.next_tid = PID;
	s.next_tgid = PID;
	feed(&s.h);
	now += 1000;
	coro_switch(PID, MAIN_SP - 0x100, CO_A + 0x8000);
	now += 3000;
	coro_switch(PID, CO_A + 0x7000, MAIN_SP - 0x100);
	now += 1000;
	/* the kernel charged 10000 ns for the 5000 ns run: split 1:3:1 */
	hdr(&s.h, PS_REC_SWITCH, sizeof(s), PID);
	s.prev_state = 1;
	s.prev_user_sp = MAIN_SP - 0x100;
	s.prev.sum_exec_ns = 10000;
	feed(&s.h);
	sum_exec[0] = 10000;
	f = stacks();
	CHECK_EQ(f.n, 1);
	CHECK(f.n == 1 && f.s[0]->start == CO_A + 0x1000 && f.s[0]->end == CO_A + 0x9000);
	CHECK(f.n == 1 && f.s[0]->resumes == 1 && f.s[0]->oncpu_ns == 6000);
	CHECK(coro_model__exact(cm, PID));
	/* swapcontext to A, switched out in its sigprocmask before the stack moved */
	now += 1000;
	coro_switch(PID, MAIN_SP - 0x100, CO_A + 0x7000);
	run_then_out(PID, 2000, MAIN_SP - 0x100);
	run_then_out(PID, 2000, CO_A + 0x7000);
	f = stacks();
	CHECK(f.n == 1 && f.s[0]->resumes == 2);
	teardown();
}

int main(void)
{
	test_passive();
	test_exact();
	return CHECK_DONE();
}
