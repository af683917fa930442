// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Records -> address spaces. Each process gets a vm_space seeded by exec
 * (the PS_REC_VMA list: the exact areas the kernel made), by a copy of its
 * parent at fork, or by the /proc/PID/maps snapshot, then changed by every
 * successful memory syscall in file order. Exit leaves the layout as it was
 * right before the process died, which is what `layout --at end` shows.
 *
 * Main stack growth comes from PS_REC_STACK (mm->stack_vm sampled at
 * switch-out and at exit): the kernel grows the stack on page faults, which
 * no syscall tells. Thread stacks are the areas clone/clone3 were handed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "rec_info.h"
#include "vm_classify.h"
#include "vm_memop.h"
#include "vm_model.h"

#define MAP_SHARED_	0x01
#define MAP_TYPE_	0x0f
#define MAP_ANON_	0x20
#define MAP_GROWSDOWN_	0x0100
#define MAP_LOCKED_	0x2000
#define MAP_NORESERVE_	0x4000
#define MAP_STACK_	0x20000
#define MREMAP_DONTUNMAP_ 4
#define CLONE_THREAD_	0x00010000

/* Bytes mapped per kind that the counters sum, kept up to date area by area. */
struct vm_sums {
	uint64_t anon_bytes;	/* private VK_ANON */
	uint64_t stack_bytes;	/* VK_STACK */
	uint64_t tstack_bytes;	/* VK_THREAD_STACK */
};

struct vm_proc {
	uint32_t pid;
	struct vm_space sp;
	struct vm_facts facts;
	struct vm_sums sums;	/* over sp, labelled; valid while st.known */
	uint64_t gen;		/* changes whenever sp may have changed */
	bool snap_reset;	/* the next SNAP_MAP starts a fresh snapshot */
	bool reported;		/* counters were handed out once */
	uint64_t def_flags;	/* mm->def_flags: VM_LOCKED after mlockall(MCL_FUTURE) */
	int64_t rss[4];		/* PS_RSS_* bytes */
	struct vm_counters last;	/* last reported */
	struct vm_proc_stats st;
};

/* Hung off ps_thread.vm; not kept in forget_exited mode, where nothing reads it. */
struct vm_thread {
	struct vm_thread *next;	/* every one, for vm_model__free() */
	uint64_t peak;
	/* the area holding the last switch-out's SP, while the space has not changed since */
	uint64_t hint_gen, hint_start, hint_end;
};

struct str_node {
	struct str_node *next;
	char s[];
};

struct vm_model {
	struct proc_model *pm;
	struct vm_callbacks cb;
	struct vm_classifier *cls;
	struct idmap procs;	/* pid -> vm_proc */
	struct vm_thread *threads;	/* list of all */
	struct idmap strs;	/* string hash -> str_node chain: interned paths */
	bool forget_exited;	/* see vm_model__forget_exited() */
	bool trim_exited;	/* see vm_model__keep_exited() */
	uint32_t keep_pid;
	size_t keep_largest;
	uint64_t corrections;	/* over every process, exited and forgotten ones too */
	bool relabel_all;	/* see vm_model__relabel_all() */
};

static const char *const kind_names[VK_MAX] = {
	[VK_OTHER] = "other", [VK_TEXT] = "text", [VK_RODATA] = "rodata", [VK_DATA] = "data",
	[VK_BSS] = "bss", [VK_HEAP] = "heap", [VK_STACK] = "stack",
	[VK_THREAD_STACK] = "thread_stack", [VK_ANON] = "anon", [VK_FILE] = "file",
	[VK_VDSO] = "vdso", [VK_VVAR] = "vvar", [VK_GUARD] = "guard",
};

const char *vm_model__kind_name(enum vm_kind k)
{
	return (unsigned)k < VK_MAX ? kind_names[k] : "other";
}

struct vm_model *vm_model__new(struct proc_model *pm, const struct vm_callbacks *cb)
{
	struct vm_model *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->pm = pm;
	if (cb)
		m->cb = *cb;
	m->cls = vm_classify__new();
	if (!m->cls) {
		free(m);
		errno = ENOMEM;
		return NULL;
	}
	return m;
}

/* Paths are kept once each: areas compare them by pointer. NULL on ENOMEM. */
static const char *intern(struct vm_model *m, const char *s)
{
	uint64_t h = 1469598103934665603ull;	/* FNV-1a */
	struct str_node *head, *n;
	size_t len = strlen(s);

	for (const char *p = s; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	h |= 1;	/* never 0: idmap keys are arbitrary but keep it distinct */
	head = idmap__get(&m->strs, h);
	for (n = head; n; n = n->next)
		if (!strcmp(n->s, s))
			return n->s;
	n = malloc(sizeof(*n) + len + 1);
	if (!n)
		return NULL;
	memcpy(n->s, s, len + 1);
	n->next = head;
	if (idmap__set(&m->strs, h, n)) {
		free(n);
		return NULL;
	}
	return n->s;
}

static struct vm_proc *get_proc(struct vm_model *m, uint32_t pid)
{
	struct vm_proc *vp = idmap__get(&m->procs, pid);

	if (vp)
		return vp;
	vp = calloc(1, sizeof(*vp));
	if (!vp || idmap__set(&m->procs, pid, vp)) {
		free(vp);
		return NULL;
	}
	vp->pid = pid;
	return vp;
}

/* A fresh address space: exec, or the start of a snapshot. */
static void reset(struct vm_proc *vp)
{
	vm_space__clear(&vp->sp);
	vp->gen++;
	memset(&vp->sums, 0, sizeof(vp->sums));
	memset(&vp->facts, 0, sizeof(vp->facts));
	memset(&vp->st, 0, sizeof(vp->st));
	memset(vp->rss, 0, sizeof(vp->rss));
	vp->def_flags = 0;	/* exec: mm_init() keeps none of the lock flags */
	vp->st.known = true;
}

static void account(struct vm_sums *sum, const struct vm_region *r, bool add)
{
	uint64_t len = r->end - r->start, *to;

	if (r->kind == VK_ANON && !r->shared)
		to = &sum->anon_bytes;
	else if (r->kind == VK_STACK)
		to = &sum->stack_bytes;
	else if (r->kind == VK_THREAD_STACK)
		to = &sum->tstack_bytes;
	else
		return;
	*to = add ? *to + len : *to - len;
}

/* Labels every area and sums them again: O(n). After exec, fork, a snapshot. */
static void relabel(struct vm_model *m, struct vm_proc *vp)
{
	vp->gen++;
	memset(&vp->sums, 0, sizeof(vp->sums));
	vm_classify__space(m->cls, vp->sp.a, vp->sp.n, &vp->facts);
	for (size_t i = 0; i < vp->sp.n; i++)
		account(&vp->sums, &vp->sp.a[i].r, true);
}

/*
 * What one operation can change, in addresses: the areas overlapping its
 * range [start, end), the one area on each side it may merge with, and one
 * more on each side whose kind depends on those (a guard looks at the area
 * above it, bss at the one below). The span runs from the start of the
 * second area below to the end of the second area above, whole areas that
 * the operation leaves as they are, so taking the span's areas out of the
 * sums before and putting them back (relabelled) after keeps the sums exact
 * while the rest of the space is not looked at: O(log n + areas in the span).
 */
struct vm_span {
	uint64_t lo, hi;
};

static struct vm_span span_of(const struct vm_space *s, uint64_t start, uint64_t end)
{
	size_t i = vm_space__lower(s, start), j = vm_space__lower(s, end);
	struct vm_span sp;

	if (j < s->n && s->a[j].r.start < end)
		j++;	/* now the first area at or above END */
	sp.lo = i >= 2 ? s->a[i - 2].r.start : 0;
	sp.hi = j + 1 < s->n ? s->a[j + 1].r.end : UINT64_MAX;
	return sp;
}

static struct vm_span span_union(struct vm_span a, struct vm_span b)
{
	if (b.lo < a.lo)
		a.lo = b.lo;
	if (b.hi > a.hi)
		a.hi = b.hi;
	return a;
}

/* Takes the areas of SP out of the sums: call before the operation. */
static void span_take(struct vm_model *m, struct vm_proc *vp, const struct vm_span *sp)
{
	const struct vm_space *s = &vp->sp;

	if (!vp->st.known || m->relabel_all)
		return;
	for (size_t i = vm_space__lower(s, sp->lo); i < s->n && s->a[i].r.start < sp->hi; i++)
		account(&vp->sums, &s->a[i].r, false);
}

/* Relabels the areas of SP and puts them back in the sums: call after the operation. */
static void span_put(struct vm_model *m, struct vm_proc *vp, const struct vm_span *sp)
{
	const struct vm_space *s = &vp->sp;
	size_t i, j;

	vp->gen++;
	if (!vp->st.known || m->relabel_all)
		return;
	i = vm_space__lower(s, sp->lo);
	for (j = i; j < s->n && s->a[j].r.start < sp->hi; j++)
		;
	vm_classify__range(m->cls, s->a, s->n, i, j, &vp->facts);
	for (; i < j; i++)
		account(&vp->sums, &s->a[i].r, true);
}

/* Hands out the counters if one of them moved. O(1), or O(n) in relabel_all mode. */
static void update(struct vm_model *m, struct vm_proc *vp, uint64_t ts)
{
	struct vm_counters c = { 0 };
	struct vm_proc_stats *st = &vp->st;
	struct ps_process *p;

	if (m->relabel_all)
		relabel(m, vp);
	c.anon_bytes = vp->sums.anon_bytes;
	c.stack_bytes = vp->sums.stack_bytes;
	if (vp->facts.brk > vp->facts.start_brk && vp->facts.start_brk)
		c.heap_bytes = vp->facts.brk - vp->facts.start_brk;
	c.rss_bytes = vp->rss[PS_RSS_FILE] + vp->rss[PS_RSS_ANON] + vp->rss[PS_RSS_SHMEM];
	st->start_brk = vp->facts.start_brk;
	st->brk = vp->facts.brk;
	st->thread_stack_bytes = vp->sums.tstack_bytes;
	st->now = c;
	if (c.heap_bytes > st->heap_peak_bytes)
		st->heap_peak_bytes = c.heap_bytes;
	if (c.anon_bytes > st->anon_peak_bytes)
		st->anon_peak_bytes = c.anon_bytes;
	if (c.stack_bytes > st->stack_peak_bytes)
		st->stack_peak_bytes = c.stack_bytes;
	if (c.rss_bytes > st->rss_peak_bytes)
		st->rss_peak_bytes = c.rss_bytes;
	if (vp->reported && !memcmp(&c, &vp->last, sizeof(c)))
		return;
	vp->last = c;
	vp->reported = true;
	p = proc_model__process(m->pm, vp->pid);
	if (m->cb.counters && p)
		m->cb.counters(m->cb.ctx, p, ts, &c);
}

/* Maps A (MAP_FIXED semantics), keeping labels and sums up to date. 0 or -ENOMEM. */
static int map_area(struct vm_model *m, struct vm_proc *vp, const struct vm_area *a, bool merge)
{
	struct vm_span sp = span_of(&vp->sp, a->r.start, a->r.end);
	int err;

	span_take(m, vp, &sp);
	err = vm_space__map(&vp->sp, a, merge);
	span_put(m, vp, &sp);
	return err;
}

static void init_area(struct vm_area *a, const struct ps_hdr *h, uint64_t start, uint64_t end)
{
	memset(a, 0, sizeof(*a));
	a->r.start = start;
	a->r.end = end;
	a->r.created_ns = h->ts_ns;
	a->r.created_tid = h->tid;
	a->vpgoff = start;	/* anonymous: vm_pgoff is the address */
}

static int on_exec_vma(struct vm_model *m, struct vm_proc *vp, const struct ps_vma *r)
{
	char path[PS_PATH_DEPTH * PS_PATH_COMP];
	struct vm_area a;

	init_area(&a, &r->h, r->start, r->end);
	a.r.created_tid = 0;	/* made by exec, not by a syscall of the program */
	a.flags = r->vm_flags;
	a.vpgoff = r->pgoff * VM_PAGE_SIZE;
	a.r.prot = r->vm_flags & 7;
	a.r.shared = r->vm_flags & (VMF_SHARED | VMF_MAYSHARE);
	a.ino = r->ino;
	a.dev = r->dev;
	rec_info__path(path, sizeof(path), r->path);
	if (path[0]) {
		a.r.path = intern(m, path);
		if (!a.r.path)
			return -ENOMEM;
		if (path[0] == '[')
			a.flags |= VMF_NOMERGE;
	}
	if (a.ino)
		a.r.pgoff = a.vpgoff;
	return map_area(m, vp, &a, false);
}

static int on_snap_map(struct vm_model *m, struct vm_proc *vp, const struct ps_snap_map *r)
{
	const char *name = r->path;
	struct vm_area a;

	/* [vsyscall] lives in the kernel half, not among the process's VMAs: exec never lists it */
	if (r->start >= 0xffff800000000000ull)
		return 0;
	init_area(&a, &r->h, r->start, r->end);
	a.r.created_tid = 0;
	a.r.prot = (r->perms[0] == 'r' ? 1 : 0) | (r->perms[1] == 'w' ? 2 : 0) |
		   (r->perms[2] == 'x' ? 4 : 0);
	a.r.shared = r->perms[3] == 's';
	a.flags = a.r.prot | (a.r.shared ? VMF_SHARED : 0);
	/* a guess: the snapshot does not show VM_ACCOUNT, but mmap sets it so */
	if ((a.r.prot & 2) && !a.r.shared)
		a.flags |= VMF_ACCOUNT;
	a.ino = r->ino;
	a.dev = ((uint64_t)r->dev_major << 20) | r->dev_minor;	/* the kernel's dev_t */
	if (!strcmp(name, "[heap]")) {
		if (r->end > vp->facts.brk) {
			/* areas from the old brk up are heap now */
			struct vm_span sp = span_of(&vp->sp, vp->facts.brk & ~(VM_PAGE_SIZE - 1), r->end);

			span_take(m, vp, &sp);
			vp->facts.brk = r->end;
			span_put(m, vp, &sp);
		}
		name = "";
	} else if (!strcmp(name, "[stack]")) {
		a.flags |= VMF_GROWSDOWN;
		name = "";
	} else if (!strncmp(name, "[anon", 5)) {
		name = "";
	}
	if (name[0]) {
		a.r.path = intern(m, name);
		if (!a.r.path)
			return -ENOMEM;
		if (name[0] != '/' || a.r.shared)
			a.flags |= VMF_NOMERGE;
	}
	if (a.ino) {
		a.vpgoff = r->offset;
		a.r.pgoff = r->offset;
	}
	return map_area(m, vp, &a, false);
}

static int on_mmap(struct vm_model *m, struct vm_proc *vp, const struct ps_mmap *r)
{
	struct vm_area a;

	init_area(&a, &r->h, r->ret, r->ret + VM_PAGE_UP(r->len));
	a.r.prot = r->prot & 7;
	a.r.shared = (r->flags & MAP_TYPE_) == MAP_SHARED_ || (r->flags & MAP_TYPE_) == 0x03;
	a.flags = a.r.prot | (a.r.shared ? VMF_SHARED : 0);
	if (r->flags & MAP_GROWSDOWN_)
		a.flags |= VMF_GROWSDOWN;
	if (r->flags & MAP_LOCKED_)
		a.flags |= VMF_LOCKED;
	if (r->flags & MAP_NORESERVE_)
		a.flags |= VMF_NORESERVE;
	if (r->flags & MAP_STACK_)
		a.flags |= VMF_NOHUGEPAGE;	/* since Linux 6.7 */
	a.flags |= vp->def_flags;
	/* accountable_mapping(): private and writable, not opted out */
	if ((a.flags & (VMF_NORESERVE | VMF_SHARED | VMF_WRITE)) == VMF_WRITE)
		a.flags |= VMF_ACCOUNT;
	if (!(r->flags & MAP_ANON_) && r->ino) {
		char path[PS_PATH_DEPTH * PS_PATH_COMP];

		rec_info__path(path, sizeof(path), r->path);
		a.r.path = intern(m, path[0] ? path : "?");
		if (!a.r.path)
			return -ENOMEM;
		a.ino = r->ino;
		a.dev = r->dev;
		a.vpgoff = r->off;
		a.r.pgoff = r->off;
	} else if (a.r.shared) {
		a.flags |= VMF_NOMERGE;	/* a shmem file of its own each */
	}
	vp->st.nmmap++;
	return map_area(m, vp, &a, true);
}

static int on_brk(struct vm_model *m, struct vm_proc *vp, const struct ps_brk *r)
{
	uint64_t old = VM_PAGE_UP(vp->facts.brk), new = VM_PAGE_UP(r->ret);
	struct vm_span sp;
	struct vm_area a;
	int err = 0;

	vp->st.nbrk++;
	if (r->req && r->req != r->ret)
		vp->st.nbrk_failed++;	/* brk returns the old break when it cannot move it */
	/*
	 * Moving brk changes the pages in between and the heap label of the
	 * areas starting between the old and the new brk (all of them below it
	 * when brk was not known yet).
	 */
	sp = span_of(&vp->sp, old < new ? old : new, old < new ? new : old);
	if (!vp->facts.brk)
		sp = span_union(sp, span_of(&vp->sp, 0, new));
	span_take(m, vp, &sp);
	if (!vp->facts.brk) {
		vp->facts.brk = r->ret;	/* attached without a snapshot: learn it */
		goto put_span;
	}
	if (new > old) {
		init_area(&a, &r->h, old, new);
		a.r.prot = 3;
		a.flags = VMF_READ | VMF_WRITE | VMF_ACCOUNT | vp->def_flags;
		err = vm_space__map(&vp->sp, &a, true);
	} else if (new < old) {
		struct vm_stamp st = { r->h.ts_ns, r->h.tid };
		long i;

		err = vm_space__unmap(&vp->sp, new, old, &st);
		i = vm_space__find(&vp->sp, new - 1);
		if (i >= 0) {
			vp->sp.a[i].r.how |= VM_CHG_SHRINK;
			vp->sp.a[i].r.changed_ns = r->h.ts_ns;
		}
	}
	vp->facts.brk = r->ret;
put_span:
	span_put(m, vp, &sp);
	return err;
}

/* The kernel grew the main stack on faults: stack_vm says by how much. */
static int on_stack(struct vm_model *m, struct vm_proc *vp, const struct ps_stack *r)
{
	uint64_t have = 0, want = r->stack_vm_pages * VM_PAGE_SIZE;
	struct vm_space *s = &vp->sp;
	long main = -1;

	if (!r->start_stack || !vp->facts.start_stack)
		return 0;	/* an mm under construction (exec) */
	for (size_t i = 0; i < s->n; i++) {
		if (!(s->a[i].flags & VMF_GROWSDOWN))
			continue;
		have += s->a[i].r.end - s->a[i].r.start;
		if (s->a[i].r.start <= vp->facts.start_stack && s->a[i].r.end >= vp->facts.start_stack)
			main = i;
	}
	if (main < 0 || want <= have)
		return 0;	/* as a fork's child mostly finds it: no copy then */
	if (vm_space__own(s))
		return -ENOMEM;
	{
		struct vm_area *a = &s->a[main];
		uint64_t floor = main > 0 ? s->a[main - 1].r.end : 0;
		uint64_t start = a->r.start - (want - have);
		struct vm_span sp;

		if (start < floor || start > a->r.start)
			start = floor;
		sp = span_of(s, start, a->r.end);
		span_take(m, vp, &sp);
		a->vpgoff -= a->r.start - start;
		a->r.start = start;
		a->r.changes++;
		a->r.how |= VM_CHG_GROW;
		a->r.changed_ns = r->h.ts_ns;
		span_put(m, vp, &sp);
	}
	return 0;
}

/* clone(CLONE_THREAD) handed the child a stack: label the area holding it. */
static int on_clone(struct vm_model *m, struct vm_proc *vp, const struct ps_clone *r)
{
	uint64_t top = r->stack;
	struct vm_region *reg;
	struct vm_span sp;
	long i;

	if (PS_IS_ERR(r->ret) || r->ret <= 0 || !(r->flags & CLONE_THREAD_) || !r->stack)
		return 0;	/* a fork leaves the parent's space alone (and shared) */
	if (r->syscall == PS_NR_CLONE3)
		top = r->stack + r->stack_size;
	if (vm_space__own(&vp->sp))
		return -ENOMEM;
	i = vm_space__find(&vp->sp, top - 1);
	if (i < 0)
		return 0;
	reg = &vp->sp.a[i].r;
	if (reg->path || reg->kind == VK_HEAP || reg->kind == VK_STACK)
		return 0;	/* a stack carved from the heap or a file stays what it is */
	sp = span_of(&vp->sp, reg->start, reg->end);
	span_take(m, vp, &sp);
	reg->tid = r->ret;
	span_put(m, vp, &sp);
	return 0;
}

/* A thread alive at the snapshot: the anonymous area holding its SP is its stack. */
static void on_snap_sp(struct vm_model *m, struct vm_proc *vp, const struct ps_snap_sp *r)
{
	struct vm_region *reg;
	struct vm_span sp;
	long i;

	if (!r->sp || r->h.tid == r->h.tgid)
		return;	/* running then (no SP), or the main thread (the main stack) */
	i = vm_space__find(&vp->sp, r->sp);
	if (i < 0)
		return;
	reg = &vp->sp.a[i].r;
	if (reg->path || reg->kind == VK_HEAP || reg->kind == VK_STACK || reg->tid)
		return;
	sp = span_of(&vp->sp, reg->start, reg->end);
	span_take(m, vp, &sp);
	reg->tid = r->h.tid;
	span_put(m, vp, &sp);
}

/* The kernel's VMAs after a call: check the model against them (vm_sync.c). */
static int on_vma_sync(struct vm_model *m, struct vm_proc *vp, const struct ps_vma_sync *r)
{
	struct vm_kernel_area k[PS_SYNC_VMAS];
	uint64_t lo = r->lo, hi = r->hi;
	struct vm_area fresh;
	struct vm_span sp;
	uint32_t n = r->n;
	int ret;

	if (n > PS_SYNC_VMAS || r->h.size < offsetof(struct ps_vma_sync, vma) + n * sizeof(r->vma[0]))
		return 0;	/* the reader checks this; a record that lies is left alone */
	for (uint32_t i = 0; i < n; i++) {
		k[i].start = r->vma[i].start;
		k[i].end = r->vma[i].end;
		k[i].flags = r->vma[i].vm_flags;
		k[i].vpgoff = r->vma[i].pgoff == PS_VMA_PGOFF_UNKNOWN ? VM_PGOFF_UNKNOWN :
			      r->vma[i].pgoff * VM_PAGE_SIZE;
		if (k[i].start >= k[i].end || (i && k[i].start < k[i - 1].end))
			return 0;
	}
	if (n && k[0].start < lo)
		lo = k[0].start;
	if (n && k[n - 1].end > hi)
		hi = k[n - 1].end;
	init_area(&fresh, &r->h, 0, 0);
	sp = span_of(&vp->sp, lo, hi);
	span_take(m, vp, &sp);
	ret = vm_space__sync(&vp->sp, r->lo, r->hi, k, n, &fresh);
	span_put(m, vp, &sp);
	if (ret == 1 && r->call != PS_REC_SNAP_MAP) {
		vp->st.corrections++;
		m->corrections++;
	}
	return ret < 0 ? ret : 0;
}

/* madvise, mlock*, mseal, pkey_mprotect, remap_file_pages, shmat, shmdt. */
static int on_memop(struct vm_model *m, struct vm_proc *vp, const struct ps_memop *r)
{
	struct vm_stamp st = { r->h.ts_ns, r->h.tid };
	struct vm_memop_effect e;
	struct vm_span sp;
	struct vm_area a;
	int err = 0;
	long i;

	if (r->op < PS_MEMOP_MAX)
		vp->st.nmemop[r->op]++;
	if (PS_IS_ERR(r->ret))
		vp->st.nmemop_failed++;
	if (r->op == PS_MEMOP_PKEY_MPROTECT && !r->ret) {
		sp = span_of(&vp->sp, r->addr, r->addr + VM_PAGE_UP(r->len));
		span_take(m, vp, &sp);
		err = vm_space__protect(&vp->sp, r->addr, r->addr + VM_PAGE_UP(r->len), r->arg, &st);
		span_put(m, vp, &sp);
	}
	if (!err && vm_memop__effect(r, &e)) {
		if (e.def_flags)
			vp->def_flags = (vp->def_flags & ~(VMF_LOCKED | VMF_LOCKONFAULT)) | e.def_set;
		sp = e.all ? (struct vm_span){ 0, UINT64_MAX } : span_of(&vp->sp, e.start, e.end);
		span_take(m, vp, &sp);
		err = vm_space__set_flags(&vp->sp, e.start, e.end, e.set, e.clear, e.skip, &st);
		span_put(m, vp, &sp);
		return err;
	}
	if (err || PS_IS_ERR(r->ret))
		return err;
	switch (r->op) {
	case PS_MEMOP_SHMAT:	/* a shmem file of its own: never merges */
		if (!r->len)
			return 0;
		init_area(&a, &r->h, r->addr, r->addr + r->len);
		a.r.prot = 1 | (r->arg2 & 010000 ? 0 : 2) | (r->arg2 & 0100000 ? 4 : 0);
		a.r.shared = true;
		a.flags = a.r.prot | VMF_SHARED | VMF_NOMERGE | vp->def_flags;
		a.vpgoff = 0;
		return map_area(m, vp, &a, false);
	case PS_MEMOP_SHMDT:	/* the segment attached at ADDR */
		i = vm_space__find(&vp->sp, r->addr);
		if (i < 0 || vp->sp.a[i].r.start != r->addr || !vp->sp.a[i].r.shared)
			return 0;
		sp = span_of(&vp->sp, vp->sp.a[i].r.start, vp->sp.a[i].r.end);
		span_take(m, vp, &sp);
		err = vm_space__unmap(&vp->sp, vp->sp.a[i].r.start, vp->sp.a[i].r.end, &st);
		span_put(m, vp, &sp);
		return err;
	case PS_MEMOP_REMAP_FILE_PAGES:	/* an mmap of the same file at another offset */
		i = vm_space__find(&vp->sp, r->addr);
		if (i < 0 || !vp->sp.a[i].ino)
			return 0;
		a = vp->sp.a[i];
		a.r.start = r->addr & ~(VM_PAGE_SIZE - 1);
		a.r.end = VM_PAGE_UP(r->addr + r->len);
		a.vpgoff = a.r.pgoff = r->arg * VM_PAGE_SIZE;
		return map_area(m, vp, &a, true);
	}
	return 0;
}

/* The area SP is in, or NULL: see on_switch(). O(log n). */
static const struct vm_area *stack_area(const struct vm_space *s, uint64_t sp)
{
	long i = vm_space__find(s, sp);
	size_t j;

	if (i < 0)
		i = vm_space__find(s, sp - 1);	/* an empty stack */
	if (i >= 0)
		return &s->a[i];
	/*
	 * Below the main stack: it grew by faults and the PS_REC_STACK telling
	 * so comes right after this switch record.
	 */
	j = vm_space__lower(s, sp);
	return j < s->n && (s->a[j].flags & VMF_GROWSDOWN) ? &s->a[j] : NULL;
}

/*
 * The stack depth at each switch-out. The hot path of a scheduling-heavy
 * session: the thread's own state hangs off its ps_thread and remembers the
 * area its SP was in last time, so that while the space stays as it was
 * (most of the time) no lookup is needed.
 */
static void on_switch(struct vm_model *m, const struct ps_switch *r, struct ps_thread *t)
{
	struct vm_thread *vt = NULL;
	const struct vm_area *a;
	struct vm_proc *vp;
	uint64_t depth, sp = r->prev_user_sp;

	if (!t)
		return;
	vp = idmap__get(&m->procs, r->h.tgid);
	if (!vp || !vp->st.known)
		return;
	if (!m->forget_exited) {
		vt = t->vm;
		if (!vt) {
			vt = calloc(1, sizeof(*vt));
			if (!vt)
				return;
			vt->next = m->threads;
			m->threads = vt;
			t->vm = vt;
		}
		if (vt->hint_gen == vp->gen && vt->hint_start <= sp && sp < vt->hint_end) {
			depth = vt->hint_end - sp;
			goto found;
		}
	}
	a = stack_area(&vp->sp, sp);
	if (!a)
		return;
	depth = a->r.end - sp;
	if (vt) {
		vt->hint_gen = vp->gen;
		vt->hint_start = a->r.start;
		vt->hint_end = a->r.end;
	}
found:
	if (vt && depth > vt->peak)
		vt->peak = depth;
	if (m->cb.stack_depth)
		m->cb.stack_depth(m->cb.ctx, t, r->h.ts_ns, depth);
}

int vm_model__apply(struct vm_model *m, const struct ps_hdr *h, struct ps_thread *t)
{
	struct vm_stamp st = { h->ts_ns, h->tid };
	struct vm_span sp;
	struct vm_proc *vp;
	int err = 0;

	if (h->type == PS_REC_LOST || !h->tid)
		return 0;
	if (h->type == PS_REC_WAKEUP)
		return 0;
	if (h->type == PS_REC_SWITCH) {
		if (((const struct ps_switch *)h)->prev_user_sp)
			on_switch(m, (const void *)h, t);
		return 0;
	}
	vp = get_proc(m, h->tgid);
	if (!vp)
		return -ENOMEM;
	vp->sp.seq++;	/* one change per region per record, however it splits and merges */
	/*
	 * A space shared since a fork gets its own array before anything may
	 * write to it (labels too): not for the records that only read it or
	 * replace it whole, so a child that never maps anything never copies.
	 */
	if (h->type != PS_REC_EXEC && h->type != PS_REC_FORK && h->type != PS_REC_EXIT &&
	    h->type != PS_REC_RSS && h->type != PS_REC_CLONE && h->type != PS_REC_STACK &&
	    vm_space__own(&vp->sp))
		return -ENOMEM;

	switch (h->type) {
	case PS_REC_EXEC: {
		const struct ps_exec *r = (const void *)h;

		reset(vp);
		vp->facts.start_brk = r->start_brk;
		vp->facts.brk = r->brk;
		vp->facts.start_stack = r->start_stack;
		break;
	}
	case PS_REC_VMA:
		err = on_exec_vma(m, vp, (const void *)h);
		break;
	case PS_REC_SNAP_TASK: {
		const struct ps_snap_task *r = (const void *)h;

		if (h->tid != h->tgid)
			return 0;
		vp->snap_reset = true;
		if (vp->facts.start_brk == r->start_brk && vp->facts.start_stack == r->start_stack)
			return 0;
		vp->facts.start_brk = r->start_brk;
		vp->facts.start_stack = r->start_stack;
		if (vp->st.known && !m->relabel_all)
			relabel(m, vp);	/* labels follow the facts even if no map comes */
		return 0;
	}
	case PS_REC_SNAP_MAP:
		if (vp->snap_reset) {
			struct vm_facts f = vp->facts;

			reset(vp);
			vp->facts = f;
			vp->facts.brk = f.start_brk;
			vp->snap_reset = false;
			vp->st.snapshot_ns = h->ts_ns;
		}
		err = on_snap_map(m, vp, (const void *)h);
		break;
	case PS_REC_FORK: {
		const struct ps_fork *r = (const void *)h;
		struct vm_proc *child;

		if (r->child_tgid == h->tgid || !vp->st.known)
			return 0;
		child = get_proc(m, r->child_tgid);
		if (!child)
			return -ENOMEM;
		reset(child);
		child->facts = vp->facts;
		child->def_flags = vp->def_flags;
		/*
		 * The same areas under the same facts get the same labels: a
		 * shared space keeps the parent's labels and sums (relabel_all
		 * mode relabels on every update, so it gets a copy).
		 */
		err = m->relabel_all ? vm_space__copy(&child->sp, &vp->sp) :
				       vm_space__share(&child->sp, &vp->sp);
		if (err < 0)
			return err;
		if (err == 1) {
			child->gen++;
			child->sums = vp->sums;
		} else {
			relabel(m, child);
		}
		update(m, child, h->ts_ns);
		return 0;
	}
	case PS_REC_BRK:
		err = on_brk(m, vp, (const void *)h);
		break;
	case PS_REC_MMAP: {
		const struct ps_mmap *r = (const void *)h;

		if (PS_IS_ERR(r->ret))
			return 0;
		err = on_mmap(m, vp, r);
		break;
	}
	case PS_REC_MUNMAP: {
		const struct ps_munmap *r = (const void *)h;

		if (r->ret)
			return 0;
		vp->st.nmunmap++;
		sp = span_of(&vp->sp, r->addr, r->addr + VM_PAGE_UP(r->len));
		span_take(m, vp, &sp);
		err = vm_space__unmap(&vp->sp, r->addr, r->addr + VM_PAGE_UP(r->len), &st);
		span_put(m, vp, &sp);
		break;
	}
	case PS_REC_MREMAP: {
		const struct ps_mremap *r = (const void *)h;

		if (PS_IS_ERR(r->ret))
			return 0;
		vp->st.nmremap++;
		/* one span over source and target: rare enough that the areas between do not matter */
		sp = span_union(span_of(&vp->sp, r->old_addr, r->old_addr + VM_PAGE_UP(r->old_len)),
				span_of(&vp->sp, r->ret, r->ret + VM_PAGE_UP(r->new_len)));
		span_take(m, vp, &sp);
		err = vm_space__remap(&vp->sp, r->old_addr, r->old_len, r->new_len, r->ret,
				      (r->flags & MREMAP_DONTUNMAP_) || !r->old_len, &st);
		span_put(m, vp, &sp);
		break;
	}
	case PS_REC_MPROTECT: {
		const struct ps_mprotect *r = (const void *)h;

		if (r->ret)
			return 0;
		vp->st.nmprotect++;
		sp = span_of(&vp->sp, r->addr, r->addr + VM_PAGE_UP(r->len));
		span_take(m, vp, &sp);
		err = vm_space__protect(&vp->sp, r->addr, r->addr + VM_PAGE_UP(r->len), r->prot, &st);
		span_put(m, vp, &sp);
		break;
	}
	case PS_REC_CLONE:
		err = on_clone(m, vp, (const void *)h);
		break;
	case PS_REC_VMA_SYNC:
		if (!vp->st.known)
			return 0;
		err = on_vma_sync(m, vp, (const void *)h);
		break;
	case PS_REC_MEMOP:
		if (!vp->st.known)
			return 0;
		err = on_memop(m, vp, (const void *)h);
		break;
	case PS_REC_SNAP_SP:
		on_snap_sp(m, vp, (const void *)h);
		break;
	case PS_REC_STACK:
		err = on_stack(m, vp, (const void *)h);
		break;
	case PS_REC_EXIT:
		if (!((const struct ps_exit *)h)->group_dead)
			return 0;
		if (m->forget_exited) {
			/* records after the exit (its last switch-out) find no process: fine */
			idmap__del(&m->procs, vp->pid);
			vm_space__free(&vp->sp);
			free(vp);
		} else if (m->trim_exited && vp->pid != m->keep_pid) {
			/* the counters and stats stay as they are: they move by deltas, not from sp */
			vm_space__keep_largest(&vp->sp, m->keep_largest);
		} else {
			vm_space__shrink(&vp->sp);	/* kept for layout --at end, as small as it can be */
		}
		return 0;
	case PS_REC_RSS: {
		const struct ps_rss *r = (const void *)h;

		if (r->member > PS_RSS_SHMEM)
			return 0;
		vp->rss[r->member] = r->bytes;
		break;
	}
	default:
		return 0;
	}
	if (!err && vp->st.known)
		update(m, vp, h->ts_ns);
	return err;
}

void vm_model__forget_exited(struct vm_model *m, bool forget)
{
	m->forget_exited = forget;
}

void vm_model__keep_exited(struct vm_model *m, uint32_t pid, size_t largest)
{
	m->trim_exited = true;
	m->keep_pid = pid;
	m->keep_largest = largest;
}

void vm_model__relabel_all(struct vm_model *m, bool all)
{
	m->relabel_all = all;
}

void vm_model__for_each_region(const struct vm_model *m, uint32_t pid,
			       void (*fn)(void *ctx, const struct vm_region *r), void *ctx)
{
	const struct vm_proc *vp = idmap__get(&m->procs, pid);

	if (!vp)
		return;
	for (size_t i = 0; i < vp->sp.n; i++)
		fn(ctx, &vp->sp.a[i].r);
}

int vm_model__stack_region(const struct vm_model *m, uint32_t pid, uint64_t sp,
			   struct vm_region *out)
{
	const struct vm_proc *vp = idmap__get(&m->procs, pid);
	const struct vm_area *a;

	if (!vp || !vp->st.known)
		return -ENOENT;
	a = stack_area(&vp->sp, sp);
	if (!a)
		return -ENOENT;
	*out = a->r;
	return 0;
}

int vm_model__proc_stats(const struct vm_model *m, uint32_t pid, struct vm_proc_stats *out)
{
	const struct vm_proc *vp = idmap__get(&m->procs, pid);

	memset(out, 0, sizeof(*out));
	if (!vp)
		return -ENOENT;
	*out = vp->st;
	return 0;
}

uint64_t vm_model__corrections(const struct vm_model *m)
{
	return m->corrections;
}

uint64_t vm_model__generation(const struct vm_model *m, uint32_t pid)
{
	const struct vm_proc *vp = idmap__get(&m->procs, pid);

	return vp ? vp->gen : 0;
}

uint64_t vm_model__thread_peak_depth(const struct vm_model *m, const struct ps_thread *t)
{
	const struct vm_thread *vt = t->vm;

	(void)m;	/* the state is T's own: one vm_model per proc_model */
	return vt ? vt->peak : 0;
}

void vm_model__free(struct vm_model *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->procs.cap; i++) {
		struct vm_proc *vp = m->procs.vals[i];

		if (vp) {
			vm_space__free(&vp->sp);
			free(vp);
		}
	}
	while (m->threads) {
		struct vm_thread *next = m->threads->next;

		free(m->threads);
		m->threads = next;
	}
	for (size_t i = 0; i < m->strs.cap; i++) {
		struct str_node *n = m->strs.vals[i];

		while (n) {
			struct str_node *next = n->next;

			free(n);
			n = next;
		}
	}
	idmap__free(&m->procs);
	idmap__free(&m->strs);
	vm_classify__free(m->cls);
	free(m);
}
