// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Address-space model on synthetic records: each tricky case the kernel
 * handles (MAP_FIXED over maps, holes, mremap moves, one-page mprotect,
 * brk shrink, fork then exec, thread stacks, stack growth) against the
 * areas the kernel would show in /proc/PID/maps for the same calls; then a
 * long random sequence of calls labelled incrementally against the same
 * sequence labelled from scratch after every call.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
	CHECK_EQ(vm_model__apply(vm, h, proc_model__resolve(&pm, h)), 0);
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

/*
 * A split and the merge back are one history: each call counts once per
 * region (before, split halves copied the count and merges added them, so
 * it doubled at every cycle).
 */
static void test_change_count_split_merge(void)
{
	uint64_t b = MMAP_BASE + 0x180000;
	struct got g;
	int i;

	do_mmap(PID, 0, 8 * PG, 3, ANON_RW, b);
	for (int k = 0; k < 10; k++) {
		do_mprotect(PID, b + 3 * PG, PG, 1);
		do_mprotect(PID, b + 3 * PG, PG, 3);
	}
	g = layout(PID);
	i = at(&g, b);
	CHECK(i >= 0);
	if (i < 0)
		return;
	CHECK_EQ(g.r[i].end, b + 8 * PG);
	CHECK_EQ(g.r[i].changes, 20);
}

static void do_sync(uint32_t pid, uint64_t lo, uint64_t hi, const struct ps_vma_ent *e, uint32_t n)
{
	struct ps_vma_sync s = { 0 };

	hdr(&s.h, PS_REC_VMA_SYNC, offsetof(struct ps_vma_sync, vma) + n * sizeof(*e), pid, pid);
	s.lo = lo;
	s.hi = hi;
	s.call = PS_REC_MMAP;
	s.n = n;
	memcpy(s.vma, e, n * sizeof(*e));
	feed(&s.h);
}

static void do_madvise(uint32_t pid, uint64_t addr, uint64_t len, uint64_t advice)
{
	struct ps_memop m = { 0 };

	hdr(&m.h, PS_REC_MEMOP, sizeof(m), pid, pid);
	m.op = PS_MEMOP_MADVISE;
	m.addr = addr;
	m.len = len;
	m.arg = advice;
	feed(&m.h);
}

/*
 * The kernel's VMAs after a call: agreeing ones correct nothing; an
 * anon_vma split the model cannot see (two areas the model merged) is
 * taken from the kernel and counted; madvise(MADV_HUGEPAGE) splits and
 * splits off the range it covers.
 */
static void test_sync_and_madvise(void)
{
	uint64_t b = MMAP_BASE + 0x400000, flags = 0x100073;	/* rw, MAY*, ACCOUNT */
	struct ps_vma_ent e[3] = {
		{ b, b + 8 * PG, flags, b / PG },
	};
	struct vm_proc_stats st;
	struct got g;
	int i;

	do_mmap(PID, 0, 8 * PG, 3, ANON_RW, b);
	do_sync(PID, b - 1, b + 8 * PG + 1, e, 1);
	CHECK_EQ(vm_model__proc_stats(vm, PID, &st), 0);
	CHECK_EQ(st.corrections, 0);
	/* the model merges the next map into the area below; the kernel did not */
	do_mmap(PID, 0, 4 * PG, 3, ANON_RW, b + 8 * PG);
	e[1] = (struct ps_vma_ent){ b + 8 * PG, b + 12 * PG, flags, (b + 8 * PG) / PG };
	do_sync(PID, b + 8 * PG - 1, b + 12 * PG + 1, e, 2);
	CHECK_EQ(vm_model__proc_stats(vm, PID, &st), 0);
	CHECK_EQ(st.corrections, 1);
	g = layout(PID);
	i = at(&g, b);
	CHECK(i >= 0);
	if (i < 0)
		return;
	CHECK_EQ(g.r[i].end, b + 8 * PG);
	CHECK_EQ(g.r[i + 1].start, b + 8 * PG);
	CHECK_EQ(g.r[i + 1].end, b + 12 * PG);
	/* MADV_HUGEPAGE on two middle pages: three areas, as the kernel makes them */
	do_madvise(PID, b + 2 * PG, 2 * PG, 14);
	g = layout(PID);
	i = at(&g, b);
	CHECK_EQ(g.r[i].end, b + 2 * PG);
	CHECK_EQ(g.r[i + 1].end, b + 4 * PG);
	CHECK_EQ(g.r[i + 2].end, b + 8 * PG);
	/* MADV_NORMAL touches other bits: nothing changes; the kernel agrees, nothing counted */
	do_madvise(PID, b + 2 * PG, 2 * PG, 0);
	e[0] = (struct ps_vma_ent){ b, b + 2 * PG, flags, b / PG };
	e[1] = (struct ps_vma_ent){ b + 2 * PG, b + 4 * PG, flags | 0x20000000, (b + 2 * PG) / PG };
	e[2] = (struct ps_vma_ent){ b + 4 * PG, b + 8 * PG, flags, (b + 4 * PG) / PG };
	do_sync(PID, b + 2 * PG - 1, b + 4 * PG + 1, e, 3);
	CHECK_EQ(vm_model__proc_stats(vm, PID, &st), 0);
	CHECK_EQ(st.corrections, 1);
	CHECK_EQ(layout(PID).n, g.n);
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

/*
 * Incremental labels and sums against a model that relabels and re-sums the
 * whole space after every record: a few thousand random brk, mmap (anon,
 * shared, stack, file), munmap, mprotect, mremap, clone and stack-growth
 * calls crowded into 96 pages, so that they split, merge and border on
 * each other all the time. After each call both must show the same areas
 * with the same kinds, and the same counters.
 */
#define RPID	300
#define WIN	0x10000000ull	/* the crowded window */
#define WIN_PAGES 96
#define RSTACK	(WIN + 72 * PG)	/* main stack: [RSTACK, RSTACK + 8 pages), growing down */

static struct proc_model ref_pm;	/* each model hangs its state off its own threads */
static struct vm_model *ref;
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static ino_t exe_ino;
static uint64_t exe_offs[16];	/* file offsets the kernel mapped this binary at: its segments */
static int nexe_offs;

static uint64_t rnd(uint64_t n)
{
	rng ^= rng << 13;	/* xorshift64: the same sequence every run */
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng % n;
}

struct many {
	struct vm_region r[2 * WIN_PAGES];
	int n;
};

static void collect_many(void *ctx, const struct vm_region *r)
{
	struct many *g = ctx;

	if (g->n < 2 * WIN_PAGES)
		g->r[g->n++] = *r;
}

static void feed_both(const struct ps_hdr *h)
{
	CHECK_EQ(proc_model__apply(&pm, h), 0);
	CHECK_EQ(vm_model__apply(vm, h, proc_model__resolve(&pm, h)), 0);
	CHECK_EQ(proc_model__apply(&ref_pm, h), 0);
	CHECK_EQ(vm_model__apply(ref, h, proc_model__resolve(&ref_pm, h)), 0);
}

/* Both models agree on PID; counts the kinds seen in SEEN. False on the first difference. */
static bool same_labels(uint32_t pid, unsigned *seen)
{
	static struct many a, b;
	struct vm_proc_stats sa, sb;
	bool same = true;

	a.n = b.n = 0;
	vm_model__for_each_region(vm, pid, collect_many, &a);
	vm_model__for_each_region(ref, pid, collect_many, &b);
	CHECK_EQ(a.n, b.n);
	for (int i = 0; i < a.n && i < b.n; i++) {
		if (a.r[i].start != b.r[i].start || a.r[i].end != b.r[i].end ||
		    a.r[i].kind != b.r[i].kind || a.r[i].tid != b.r[i].tid) {
			fprintf(stderr, "region %d: %llx-%llx %s, relabelled: %llx-%llx %s\n", i,
				(unsigned long long)a.r[i].start, (unsigned long long)a.r[i].end,
				vm_model__kind_name(a.r[i].kind), (unsigned long long)b.r[i].start,
				(unsigned long long)b.r[i].end, vm_model__kind_name(b.r[i].kind));
			same = false;
			break;
		}
		seen[a.r[i].kind]++;
	}
	CHECK_EQ(vm_model__proc_stats(vm, pid, &sa), 0);
	CHECK_EQ(vm_model__proc_stats(ref, pid, &sb), 0);
	same = same && a.n == b.n && sa.now.heap_bytes == sb.now.heap_bytes &&
	       sa.now.anon_bytes == sb.now.anon_bytes && sa.now.stack_bytes == sb.now.stack_bytes &&
	       sa.now.rss_bytes == sb.now.rss_bytes && sa.thread_stack_bytes == sb.thread_stack_bytes &&
	       sa.anon_peak_bytes == sb.anon_peak_bytes && sa.stack_peak_bytes == sb.stack_peak_bytes;
	CHECK(same);
	return same;
}

/* Where the kernel mapped this test binary, from /proc/self/maps. */
static void find_segments(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	unsigned long long off, ino;
	char line[512];

	if (!f)
		return;
	while (fgets(line, sizeof(line), f) && nexe_offs < 16)
		if (sscanf(line, "%*x-%*x %*s %llx %*s %llu", &off, &ino) == 2 && ino == exe_ino)
			exe_offs[nexe_offs++] = off;
	fclose(f);
}

static void random_exec(uint32_t pid)
{
	struct ps_exec e = { 0 };
	struct ps_vma v = { 0 };

	hdr(&e.h, PS_REC_EXEC, sizeof(e), pid, pid);
	e.start_brk = e.brk = WIN + 16 * PG;
	e.start_stack = RSTACK + 4 * PG + 0x40;
	strcpy(e.comm, "r");
	feed_both(&e.h);
	hdr(&v.h, PS_REC_VMA, sizeof(v), pid, pid);
	v.start = RSTACK;
	v.end = RSTACK + 8 * PG;
	v.vm_flags = 3 | 0x100 | 0x100000;	/* rw, VM_GROWSDOWN, VM_ACCOUNT */
	v.pgoff = v.start / PG;
	feed_both(&v.h);
}

static void random_call(void)
{
	uint64_t addr = WIN + rnd(WIN_PAGES) * PG, len = (1 + rnd(4)) * PG;
	static const uint32_t prots[] = { 0, 1, 3, 5, 3, 1 };
	union {
		struct ps_mmap mm;
		struct ps_munmap mu;
		struct ps_mprotect mp;
		struct ps_mremap mr;
		struct ps_brk b;
		struct ps_clone c;
		struct ps_stack k;
	} u;

	memset(&u, 0, sizeof(u));
	switch (rnd(10)) {
	case 0:
	case 1:	/* brk, up or down, to an unaligned end */
		hdr(&u.b.h, PS_REC_BRK, sizeof(u.b), RPID, RPID);
		u.b.ret = WIN + 16 * PG + rnd(24 * PG);
		u.b.req = u.b.ret;
		break;
	case 2:
	case 3: {	/* anonymous: private, sometimes shared or a stack; any protection */
		static const uint32_t flags[] = { 0x22, 0x22, 0x22, 0x21, 0x20022, 0x122 };

		hdr(&u.mm.h, PS_REC_MMAP, sizeof(u.mm), RPID, RPID);
		u.mm.len = len - rnd(2) * 100;
		u.mm.prot = prots[rnd(6)];
		u.mm.flags = flags[rnd(6)] | FIXED;
		u.mm.fd = -1;
		u.mm.ret = addr;
		break;
	}
	case 4:	/* this ELF file where a segment starts: text, rodata, data or a guard */
		hdr(&u.mm.h, PS_REC_MMAP, sizeof(u.mm), RPID, RPID);
		u.mm.len = len;
		u.mm.prot = prots[rnd(6)];
		u.mm.flags = 0x02 | FIXED;
		u.mm.fd = 3;
		u.mm.off = exe_offs[rnd(nexe_offs)] + rnd(3) * PG;
		u.mm.off = u.mm.off >= PG ? u.mm.off - PG : 0;	/* around a segment's start */
		u.mm.ret = addr;
		u.mm.ino = exe_ino;
		strcpy(u.mm.path[0], "exe");
		strcpy(u.mm.path[1], "self");
		strcpy(u.mm.path[2], "proc");
		break;
	case 5:
		hdr(&u.mu.h, PS_REC_MUNMAP, sizeof(u.mu), RPID, RPID);
		u.mu.addr = addr;
		u.mu.len = len;
		break;
	case 6:
		hdr(&u.mp.h, PS_REC_MPROTECT, sizeof(u.mp), RPID, RPID);
		u.mp.addr = addr;
		u.mp.len = len;
		u.mp.prot = prots[rnd(6)];
		break;
	case 7:	/* shrink, grow in place, or move (the model trusts the kernel's answer) */
		hdr(&u.mr.h, PS_REC_MREMAP, sizeof(u.mr), RPID, RPID);
		u.mr.old_addr = addr;
		u.mr.old_len = len;
		u.mr.new_len = (1 + rnd(4)) * PG;
		u.mr.ret = rnd(2) ? addr : WIN + rnd(WIN_PAGES) * PG;
		u.mr.flags = (uint64_t)u.mr.ret != addr ? 1 | 2 : 1;	/* MREMAP_MAYMOVE(|FIXED) */
		break;
	case 8:	/* a thread handed a stack ending at ADDR */
		hdr(&u.c.h, PS_REC_CLONE, sizeof(u.c), RPID, RPID);
		u.c.flags = 0x3d0f00;
		u.c.stack = addr;
		u.c.syscall = PS_NR_CLONE;
		u.c.ret = RPID + 1 + rnd(50);
		break;
	default:	/* the main stack grew by faults */
		hdr(&u.k.h, PS_REC_STACK, sizeof(u.k), RPID, RPID);
		u.k.stack_vm_pages = 8 + rnd(16);
		u.k.start_stack = RSTACK + 4 * PG + 0x40;
		break;
	}
	feed_both((const struct ps_hdr *)&u);
}

/* mmap of this binary (OFF != -1) or of anonymous memory, at ADDR in PID. */
static void map_at(uint32_t pid, uint64_t addr, uint64_t len, uint32_t prot, int64_t off)
{
	struct ps_mmap m = { 0 };

	hdr(&m.h, PS_REC_MMAP, sizeof(m), pid, pid);
	m.len = len;
	m.prot = prot;
	m.ret = addr;
	m.fd = -1;
	m.flags = 0x22 | FIXED;
	if (off >= 0) {
		m.flags = 0x02 | FIXED;
		m.fd = 3;
		m.off = off;
		m.ino = exe_ino;
		strcpy(m.path[0], "exe");
		strcpy(m.path[1], "self");
		strcpy(m.path[2], "proc");
	}
	feed_both(&m.h);
}

static void protect_at(uint32_t pid, uint64_t addr, uint64_t len, uint32_t prot)
{
	struct ps_mprotect m = { 0 };

	hdr(&m.h, PS_REC_MPROTECT, sizeof(m), pid, pid);
	m.addr = addr;
	m.len = len;
	m.prot = prot;
	feed_both(&m.h);
}

static enum vm_kind kind_at(struct vm_model *m, uint32_t pid, uint64_t addr)
{
	static struct many g;

	g.n = 0;
	vm_model__for_each_region(m, pid, collect_many, &g);
	for (int i = 0; i < g.n; i++)
		if (g.r[i].start <= addr && addr < g.r[i].end)
			return g.r[i].kind;
	return VK_MAX;
}

/*
 * A call changes labels two areas away: merging gives an area a neighbour's
 * thread, which makes the PROT_NONE area below it a guard; merging a data
 * page into a rodata page below it takes the bss label from the area above.
 */
static void test_labels_two_away(void)
{
	uint32_t pid = RPID + 200;
	uint64_t x = WIN + 8 * PG, ro = 0, data = 0;
	struct ps_clone c = { 0 };
	unsigned seen[VK_MAX];

	random_exec(pid);
	map_at(pid, x, 4 * PG, 3, -1);
	protect_at(pid, x, PG, 0);		/* none | rw | rw | rw */
	protect_at(pid, x + 2 * PG, PG, 1);	/* none | rw | r | rw */
	hdr(&c.h, PS_REC_CLONE, sizeof(c), pid, pid);
	c.flags = 0x3d0f00;
	c.stack = x + 3 * PG;	/* the r area holds the new thread's stack */
	c.syscall = PS_NR_CLONE;
	c.ret = pid + 1;
	feed_both(&c.h);
	CHECK_EQ(kind_at(vm, pid, x), VK_ANON);
	protect_at(pid, x + 2 * PG, PG, 3);	/* none | one rw area with the thread */
	CHECK_EQ(kind_at(ref, pid, x), VK_GUARD);
	CHECK(same_labels(pid, seen));

	/* a page of this binary's data segment whose page below is not data */
	for (int i = 0; i < 3 * nexe_offs && !data; i++) {
		uint64_t off = exe_offs[i / 3] + i % 3 * PG;

		if (!off)
			continue;
		map_at(pid, x + 40 * PG, PG, 1, off);
		map_at(pid, x + 42 * PG, PG, 1, off - PG);
		if (kind_at(ref, pid, x + 40 * PG) == VK_DATA &&
		    kind_at(ref, pid, x + 42 * PG) != VK_DATA) {
			data = off;
			ro = off - PG;
		}
	}
	CHECK(data != 0);
	map_at(pid, x + 32 * PG, 16 * PG, 0, -1);	/* clean slate */
	map_at(pid, x + 33 * PG, PG, 1, data);
	map_at(pid, x + 34 * PG, PG, 3, -1);
	CHECK_EQ(kind_at(vm, pid, x + 34 * PG), VK_BSS);
	map_at(pid, x + 32 * PG, PG, 1, ro);	/* merges with the data page above: rodata now */
	CHECK_EQ(kind_at(ref, pid, x + 34 * PG), VK_ANON);
	CHECK(same_labels(pid, seen));
}

/* Process PID exits whole: both models keep its 3 largest areas. */
static void exit_proc(uint32_t pid)
{
	struct ps_exit e = { 0 };

	vm_model__keep_exited(vm, RPID, 3);
	vm_model__keep_exited(ref, RPID, 3);
	hdr(&e.h, PS_REC_EXIT, sizeof(e), pid, pid);
	e.group_dead = 1;
	feed_both(&e.h);
}

static void test_incremental_labels(void)
{
	unsigned seen[VK_MAX] = { 0 };
	struct ps_fork f = { 0 };
	struct stat st;
	int calls;

	proc_model__init(&ref_pm);
	ref = vm_model__new(&ref_pm, NULL);
	CHECK(ref != NULL);
	if (!ref)
		return;
	vm_model__relabel_all(ref, true);
	CHECK_EQ(stat("/proc/self/exe", &st), 0);
	exe_ino = st.st_ino;
	find_segments();
	CHECK(nexe_offs >= 3);
	if (nexe_offs < 1)
		return;
	test_labels_two_away();
	random_exec(RPID);
	for (calls = 0; calls < 50000; calls++) {
		random_call();
		if (!same_labels(RPID, seen)) {
			fprintf(stderr, "labels differ after call %d\n", calls);
			break;
		}
	}
	/* the random calls reached every rule */
	CHECK(seen[VK_HEAP] && seen[VK_STACK] && seen[VK_THREAD_STACK] && seen[VK_GUARD]);
	CHECK(seen[VK_BSS] && seen[VK_DATA] && seen[VK_TEXT] && seen[VK_RODATA] && seen[VK_ANON]);
	/* a fork relabels the copy whole */
	hdr(&f.h, PS_REC_FORK, sizeof(f), RPID, RPID);
	f.child_tgid = f.child_tid = RPID + 100;
	feed_both(&f.h);
	CHECK(same_labels(RPID + 100, seen));
	/*
	 * Children share the parent's areas until one side changes them: the
	 * parent's calls after the forks leave both children as they were,
	 * and a child's exit (keeping its largest areas) leaves the parent's.
	 */
	f.child_tgid = f.child_tid = RPID + 101;
	feed_both(&f.h);
	for (calls = 0; calls < 2000; calls++)
		random_call();
	CHECK(same_labels(RPID, seen));
	CHECK(same_labels(RPID + 100, seen));
	CHECK(same_labels(RPID + 101, seen));
	f.child_tgid = f.child_tid = RPID + 102;
	feed_both(&f.h);
	exit_proc(RPID + 102);
	CHECK(same_labels(RPID + 102, seen));
	CHECK(same_labels(RPID, seen));
	vm_model__free(ref);
	proc_model__free(&ref_pm);
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
	test_change_count_split_merge();
	test_sync_and_madvise();
	test_mremap();
	test_file_merge();
	test_brk();
	test_threads_and_stack();
	test_fork_then_exec();
	test_incremental_labels();
	vm_model__free(vm);
	proc_model__free(&pm);
	return CHECK_DONE();
}
