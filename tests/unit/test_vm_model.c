// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Address-space model on synthetic records: each tricky case the kernel
 * handles (MAP_FIXED over maps, holes, mremap moves, one-page mprotect,
 * brk shrink, fork then exec, thread stacks, stack growth) against the
 * areas the kernel would show in /proc/PID/maps for the same calls.
 */
#include <string.h>
#include "check.h"
#include "proc_model.h"
#include "vm_model.h"

#define PG	4096ull
#define PID	100
#define MMAP_BASE 0x7f0000000000ull

static struct proc_model pm;
static struct vm_model *vm;
static uint64_t now = 1000;

struct got {
	struct vm_region r[64];
	int n;
};

static void collect(void *ctx, const struct vm_region *r)
{
	struct got *g = ctx;

	if (g->n < 64)
		g->r[g->n++] = *r;
}

static struct got layout(uint32_t pid)
{
	struct got g = { .n = 0 };

	vm_model__for_each_region(vm, pid, collect, &g);
	return g;
}

static void hdr(struct ps_hdr *h, unsigned type, size_t size, uint32_t pid, uint32_t tid)
{
	h->type = type;
	h->size = size;
	h->ts_ns = now++;
	h->tgid = pid;
	h->tid = tid;
}

static void feed(const struct ps_hdr *h)
{
	CHECK_EQ(proc_model__apply(&pm, h), 0);
	CHECK_EQ(vm_model__apply(vm, h), 0);
}

static void exec_image(uint32_t pid, uint64_t brk)
{
	struct ps_exec e = { 0 };
	struct ps_vma v = { 0 };

	hdr(&e.h, PS_REC_EXEC, sizeof(e), pid, pid);
	e.start_brk = e.brk = brk;
	e.start_stack = 0x7ffff0000100ull;
	strcpy(e.comm, "t");
	feed(&e.h);
	/* one anonymous writable area standing for the image, and the stack */
	hdr(&v.h, PS_REC_VMA, sizeof(v), pid, pid);
	v.start = 0x400000;
	v.end = 0x401000;
	v.vm_flags = 3 | 0x100000;
	v.pgoff = 0x400;
	feed(&v.h);
	hdr(&v.h, PS_REC_VMA, sizeof(v), pid, pid);
	v.start = 0x7fffeffdf000ull;
	v.end = 0x7ffff0001000ull;
	v.vm_flags = 3 | 0x100 | 0x100000;
	v.pgoff = v.start / PG;
	feed(&v.h);
}

static uint64_t do_mmap(uint32_t pid, uint64_t addr, uint64_t len, uint32_t prot, uint32_t flags,
			uint64_t ret)
{
	struct ps_mmap m = { 0 };

	hdr(&m.h, PS_REC_MMAP, sizeof(m), pid, pid);
	m.addr = addr;
	m.len = len;
	m.prot = prot;
	m.flags = flags;
	m.fd = -1;
	m.ret = ret;
	feed(&m.h);
	return ret;
}

static void do_file_mmap(uint32_t pid, uint64_t ret, uint64_t len, uint64_t off)
{
	struct ps_mmap m = { 0 };

	hdr(&m.h, PS_REC_MMAP, sizeof(m), pid, pid);
	m.len = len;
	m.prot = 1;
	m.flags = 0x02 | 0x10;	/* MAP_PRIVATE|MAP_FIXED */
	m.fd = 3;
	m.off = off;
	m.ret = ret;
	m.ino = 77;
	m.dev = 8;
	strcpy(m.path[0], "data.bin");
	strcpy(m.path[1], "tmp");
	feed(&m.h);
}

static void do_munmap(uint32_t pid, uint64_t addr, uint64_t len)
{
	struct ps_munmap m = { 0 };

	hdr(&m.h, PS_REC_MUNMAP, sizeof(m), pid, pid);
	m.addr = addr;
	m.len = len;
	feed(&m.h);
}

static void do_mprotect(uint32_t pid, uint64_t addr, uint64_t len, uint32_t prot)
{
	struct ps_mprotect m = { 0 };

	hdr(&m.h, PS_REC_MPROTECT, sizeof(m), pid, pid);
	m.addr = addr;
	m.len = len;
	m.prot = prot;
	feed(&m.h);
}

static void do_mremap(uint32_t pid, uint64_t old, uint64_t old_len, uint64_t new_len,
		      uint32_t flags, uint64_t ret)
{
	struct ps_mremap m = { 0 };

	hdr(&m.h, PS_REC_MREMAP, sizeof(m), pid, pid);
	m.old_addr = old;
	m.old_len = old_len;
	m.new_len = new_len;
	m.flags = flags;
	m.ret = ret;
	feed(&m.h);
}

static void do_brk(uint32_t pid, uint64_t req, uint64_t ret)
{
	struct ps_brk b = { 0 };

	hdr(&b.h, PS_REC_BRK, sizeof(b), pid, pid);
	b.req = req;
	b.ret = ret;
	feed(&b.h);
}

/* Index of the region starting at START, or -1. */
static int at(const struct got *g, uint64_t start)
{
	for (int i = 0; i < g->n; i++)
		if (g->r[i].start == start)
			return i;
	return -1;
}

#define ANON_RW	0x22	/* MAP_PRIVATE|MAP_ANONYMOUS */
#define FIXED	0x10

static void test_map_fixed_and_holes(void)
{
	uint64_t a = MMAP_BASE;
	struct got g;
	int i;

	exec_image(PID, 0x600000);
	do_mmap(PID, 0, 16 * PG, 3, ANON_RW, a);
	do_mmap(PID, 0, 16 * PG, 3, ANON_RW, a - 16 * PG);	/* just below: merges */
	g = layout(PID);
	i = at(&g, a - 16 * PG);
	CHECK(i >= 0);
	if (i >= 0)
		CHECK_EQ(g.r[i].end, a + 16 * PG);
	/* MAP_FIXED rwx over 3 pages in the middle of the merged area */
	do_mmap(PID, a + 4 * PG, 3 * PG, 7, ANON_RW | FIXED, a + 4 * PG);
	/* munmap of the middle of the lower half */
	do_munmap(PID, a - 10 * PG, 2 * PG);
	g = layout(PID);
	i = at(&g, a - 16 * PG);
	CHECK(i >= 0);
	if (i < 0)
		return;
	CHECK_EQ(g.r[i].end, a - 10 * PG);
	CHECK_EQ(g.r[i + 1].start, a - 8 * PG);
	CHECK_EQ(g.r[i + 1].end, a + 4 * PG);
	CHECK_EQ(g.r[i + 2].start, a + 4 * PG);
	CHECK_EQ(g.r[i + 2].end, a + 7 * PG);
	CHECK_EQ(g.r[i + 2].prot, 7);
	CHECK_EQ(g.r[i + 3].start, a + 7 * PG);
	CHECK_EQ(g.r[i + 3].end, a + 16 * PG);
	CHECK_EQ(g.r[i + 3].kind, VK_ANON);
}

static void test_mprotect_one_page(void)
{
	uint64_t b = MMAP_BASE + 0x100000;
	struct got g;
	int i;

	do_mmap(PID, 0, 8 * PG, 3, ANON_RW, b);
	do_mprotect(PID, b + 3 * PG, PG, 1);
	g = layout(PID);
	i = at(&g, b);
	CHECK(i >= 0);
	if (i < 0)
		return;
	CHECK_EQ(g.r[i].end, b + 3 * PG);
	CHECK_EQ(g.r[i + 1].end, b + 4 * PG);
	CHECK_EQ(g.r[i + 1].prot, 1);
	CHECK_EQ(g.r[i + 2].end, b + 8 * PG);
	/* back to rw: the kernel merges the three again */
	do_mprotect(PID, b + 3 * PG, PG, 3);
	g = layout(PID);
	i = at(&g, b);
	CHECK(i >= 0);
	if (i >= 0)
		CHECK_EQ(g.r[i].end, b + 8 * PG);
}

static void test_mremap(void)
{
	uint64_t c = MMAP_BASE + 0x200000, d = MMAP_BASE + 0x300000;
	struct got g;
	int i;

	/* the destination's lower neighbour was made fresh: a moved area keeps its vm_pgoff and does not merge */
	do_mmap(PID, d - 4 * PG, 4 * PG, 3, ANON_RW | FIXED, d - 4 * PG);
	do_mmap(PID, 0, 4 * PG, 3, ANON_RW, c);
	do_mremap(PID, c, 4 * PG, 8 * PG, 1 /* MREMAP_MAYMOVE */, d);
	g = layout(PID);
	CHECK_EQ(at(&g, c), -1);
	i = at(&g, d);
	CHECK(i >= 0);
	if (i >= 0) {
		CHECK_EQ(g.r[i].end, d + 8 * PG);
		CHECK(g.r[i].how & VM_CHG_MOVE);
		CHECK_EQ(g.r[i - 1].end, d);
	}
	/* shrink in place, then grow in place */
	do_mremap(PID, d, 8 * PG, 2 * PG, 0, d);
	g = layout(PID);
	i = at(&g, d);
	CHECK(i >= 0);
	if (i >= 0)
		CHECK_EQ(g.r[i].end, d + 2 * PG);
	do_mremap(PID, d, 2 * PG, 5 * PG, 0, d);
	g = layout(PID);
	i = at(&g, d);
	CHECK(i >= 0);
	if (i >= 0)
		CHECK_EQ(g.r[i].end, d + 5 * PG);
}

static void test_file_merge(void)
{
	uint64_t f = MMAP_BASE + 0x400000;
	struct got g;
	int i;

	do_file_mmap(PID, f, 2 * PG, 0);
	do_file_mmap(PID, f + 2 * PG, 2 * PG, 2 * PG);	/* contiguous offsets: one area */
	do_file_mmap(PID, f + 4 * PG, 2 * PG, 9 * PG);	/* a jump in offset: a new area */
	g = layout(PID);
	i = at(&g, f);
	CHECK(i >= 0);
	if (i < 0)
		return;
	CHECK_EQ(g.r[i].end, f + 4 * PG);
	CHECK(g.r[i].path && !strcmp(g.r[i].path, "/tmp/data.bin"));
	CHECK_EQ(g.r[i].kind, VK_FILE);	/* no such ELF on disk */
	CHECK_EQ(g.r[i + 1].start, f + 4 * PG);
	CHECK_EQ(g.r[i + 1].pgoff, 9 * PG);
}

static void test_brk(void)
{
	uint64_t h = 0x600000;
	struct vm_proc_stats st;
	struct got g;
	int i;

	do_brk(PID, 0, h);
	do_brk(PID, h + 40 * PG, h + 40 * PG);
	do_brk(PID, h + 10 * PG + 100, h + 10 * PG + 100);	/* shrink: keeps the partial page */
	g = layout(PID);
	i = at(&g, h);
	CHECK(i >= 0);
	if (i >= 0) {
		CHECK_EQ(g.r[i].end, h + 11 * PG);
		CHECK_EQ(g.r[i].kind, VK_HEAP);
	}
	CHECK_EQ(vm_model__proc_stats(vm, PID, &st), 0);
	CHECK_EQ(st.heap_peak_bytes, 40 * PG);
	CHECK_EQ(st.now.heap_bytes, 10 * PG + 100);
	CHECK_EQ(st.nbrk, 3);
}

static void test_threads_and_stack(void)
{
	uint64_t s = MMAP_BASE + 0x800000, size = 64 * PG;
	struct ps_clone c = { 0 };
	struct ps_stack k = { 0 };
	struct got g;
	int i;

	/* glibc: map with PROT_NONE, open up all but the guard page */
	do_mmap(PID, 0, size, 0, ANON_RW | 0x20000 /* MAP_STACK */, s);
	do_mprotect(PID, s + PG, size - PG, 3);
	hdr(&c.h, PS_REC_CLONE, sizeof(c), PID, PID);
	c.flags = 0x3d0f00;	/* CLONE_VM|CLONE_FS|...|CLONE_THREAD|... */
	c.stack = s;
	c.stack_size = size;
	c.syscall = PS_NR_CLONE3;
	c.ret = PID + 1;
	feed(&c.h);
	/* the main stack grew by faults to 40 pages */
	hdr(&k.h, PS_REC_STACK, sizeof(k), PID, PID);
	k.stack_vm_pages = 40;
	k.start_stack = 0x7ffff0000100ull;
	feed(&k.h);
	g = layout(PID);
	i = at(&g, s);
	CHECK(i >= 0);
	if (i >= 0) {
		CHECK_EQ(g.r[i].kind, VK_GUARD);
		CHECK_EQ(g.r[i + 1].kind, VK_THREAD_STACK);
		CHECK_EQ(g.r[i + 1].tid, PID + 1);
	}
	i = at(&g, 0x7ffff0001000ull - 40 * PG);
	CHECK(i >= 0);
	if (i >= 0)
		CHECK_EQ(g.r[i].kind, VK_STACK);
}

static void test_fork_then_exec(void)
{
	struct ps_fork f = { 0 };
	struct got parent, child;
	int i;

	parent = layout(PID);
	hdr(&f.h, PS_REC_FORK, sizeof(f), PID, PID);
	f.child_tid = f.child_tgid = PID + 50;
	feed(&f.h);
	child = layout(PID + 50);
	CHECK_EQ(child.n, parent.n);
	for (i = 0; i < child.n && i < parent.n; i++) {
		CHECK_EQ(child.r[i].start, parent.r[i].start);
		CHECK_EQ(child.r[i].end, parent.r[i].end);
	}
	/* the child's change is its own: [a, a + 16 pages) held the tail of one area and two more */
	do_munmap(PID + 50, MMAP_BASE, 16 * PG);
	CHECK_EQ(layout(PID + 50).n, parent.n - 2);
	CHECK_EQ(layout(PID).n, parent.n);
	/* and exec throws the copy away */
	exec_image(PID + 50, 0x900000);
	child = layout(PID + 50);
	CHECK_EQ(child.n, 2);
	CHECK_EQ(child.r[1].kind, VK_STACK);
}

int main(void)
{
	proc_model__init(&pm);
	vm = vm_model__new(&pm, NULL);
	CHECK(vm != NULL);
	if (!vm)
		return 1;
	test_map_fixed_and_holes();
	test_mprotect_one_page();
	test_mremap();
	test_file_merge();
	test_brk();
	test_threads_and_stack();
	test_fork_then_exec();
	vm_model__free(vm);
	proc_model__free(&pm);
	return CHECK_DONE();
}
