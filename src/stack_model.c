// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "stack_model.h"
#include "unwind.h"
#include "util.h"

/* An off-CPU stack pairs with a wait that starts at most this much later (late records raised). */
#define PAIR_SLACK_NS	1000000ull

static const char *const kind_names[SK_MAX] = {
	[SK_HEAP] = "heap", [SK_MMAP] = "mmap", [SK_MPROTECT] = "mprotect",
	[SK_OFFCPU] = "offcpu", [SK_ONCPU] = "oncpu",
};

const char *stack_model__kind_name(enum stack_kind k)
{
	return k < SK_MAX ? kind_names[k] : "unknown";
}

int stack_model__parse_kind(const char *s)
{
	for (int k = 0; k < SK_MAX; k++)
		if (!strcmp(s, kind_names[k]))
			return k;
	return -EINVAL;
}

const char *stack_model__kind_unit(enum stack_kind k)
{
	return k == SK_OFFCPU ? "ns" : k == SK_ONCPU ? "samples" : "bytes";
}

struct stack_ref {
	uint32_t off;		/* into frames */
	uint32_t n;
};

/* Per thread: the last memory call (waiting for its stack) and the last off-CPU stack. */
struct pending {
	uint64_t mem_ts;
	uint64_t mem_value;
	uint16_t mem_type;
	int16_t mem_kind;	/* -1: no sample (munmap, a failed call, a brk that did not grow) */
	bool mem_open;
	bool off_open;
	uint64_t off_ts;
	uint32_t off_stack;
};

struct stack_model {
	struct session *s;
	struct stack_callbacks cb;
	struct symbols *syms;
	struct unwinder *uw;
	struct stack_frame *frames;	/* every distinct stack's frames, back to back */
	size_t nframes, frames_cap;
	struct stack_ref *stacks;
	size_t nstacks, stacks_cap;
	struct idmap by_hash;		/* frames hash (+ probe) -> id + 1 */
	struct idmap pending;		/* tid -> struct pending */
	struct idmap brk;		/* tgid -> last break + 1 */
	struct stack_model_stats stats;
	int64_t last_stack;		/* stack_model__last_stack() */
	struct stack_frame scratch[PS_KSTACK_MAX + UNWIND_MAX_FRAMES];
};

struct stack_model *stack_model__new(struct session *s, const struct stack_callbacks *cb)
{
	struct stack_model *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->s = s;
	if (cb)
		m->cb = *cb;
	m->syms = symbols__new(session__header(s)->kernel_release, session__boot_id(s));
	if (!m->syms) {
		free(m);
		return NULL;
	}
	return m;
}

void stack_model__free(struct stack_model *m)
{
	if (!m)
		return;
	unwinder__free(m->uw);
	symbols__free(m->syms);
	for (size_t i = 0; i < m->pending.cap; i++)
		free(m->pending.vals[i]);
	idmap__free(&m->pending);
	idmap__free(&m->brk);
	idmap__free(&m->by_hash);
	free(m->frames);
	free(m->stacks);
	free(m);
}

const struct stack_model_stats *stack_model__stats(const struct stack_model *m)
{
	return &m->stats;
}

const char *stack_model__module_path(const struct stack_model *m, uint32_t module)
{
	return symbols__module_path(m->syms, module);
}

bool stack_model__module_file(struct stack_model *m, uint32_t module, const uint8_t **build_id,
			      uint32_t *len)
{
	*len = symbols__module_buildid(m->syms, module, build_id);
	return symbols__module_ok(m->syms, module);
}

int64_t stack_model__last_stack(const struct stack_model *m)
{
	return m->last_stack;
}

const struct stack_frame *stack_model__frames(const struct stack_model *m, uint32_t id,
					      uint32_t *n)
{
	if (id >= m->nstacks) {
		*n = 0;
		return NULL;
	}
	*n = m->stacks[id].n;
	return m->frames + m->stacks[id].off;
}

const char *stack_model__frame_name(struct stack_model *m, const struct stack_frame *f,
				    bool with_line)
{
	return symbols__name(m->syms, f, with_line);
}

static uint64_t frames_hash(const struct stack_frame *f, uint32_t n)
{
	uint64_t h = 0xcbf29ce484222325ull ^ n;

	for (uint32_t i = 0; i < n; i++)
		h = (h ^ (f[i].addr + ((uint64_t)f[i].module << 48))) * 0x100000001b3ull;
	return h;
}

/* The id of the stack F[0..N), interned; -ENOMEM. */
static int64_t intern(struct stack_model *m, const struct stack_frame *f, uint32_t n)
{
	uint64_t key = frames_hash(f, n);
	uintptr_t v;

	while ((v = (uintptr_t)idmap__get(&m->by_hash, key))) {
		const struct stack_ref *r = &m->stacks[v - 1];

		if (r->n == n && !memcmp(m->frames + r->off, f, n * sizeof(*f)))
			return v - 1;
		key++;
	}
	if (m->nframes + n > m->frames_cap) {
		size_t cap = m->frames_cap ? 2 * m->frames_cap : 4096;
		struct stack_frame *nf;

		while (cap < m->nframes + n)
			cap *= 2;
		nf = realloc(m->frames, cap * sizeof(*nf));
		if (!nf)
			return -ENOMEM;
		m->frames = nf;
		m->frames_cap = cap;
	}
	if (m->nstacks == m->stacks_cap) {
		size_t cap = m->stacks_cap ? 2 * m->stacks_cap : 1024;
		struct stack_ref *ns = realloc(m->stacks, cap * sizeof(*ns));

		if (!ns)
			return -ENOMEM;
		m->stacks = ns;
		m->stacks_cap = cap;
	}
	if (idmap__set(&m->by_hash, key, (void *)(uintptr_t)(m->nstacks + 1)))
		return -ENOMEM;
	if (n)
		memcpy(m->frames + m->nframes, f, n * sizeof(*f));
	m->stacks[m->nstacks] = (struct stack_ref){ .off = m->nframes, .n = n };
	m->nframes += n;
	m->stats.distinct++;
	return m->nstacks++;
}

static struct pending *pending_of(struct stack_model *m, uint32_t tid)
{
	struct pending *p = idmap__get(&m->pending, tid);

	if (p)
		return p;
	p = calloc(1, sizeof(*p));
	if (p && idmap__set(&m->pending, tid, p)) {
		free(p);
		return NULL;
	}
	return p;
}

static void emit(struct stack_model *m, enum stack_kind k, uint32_t tgid, uint32_t tid,
		 uint32_t stack, uint64_t ts, uint64_t value)
{
	struct stack_sample s = {
		.kind = k, .tgid = tgid, .tid = tid, .stack = stack, .ts_ns = ts, .value = value,
	};

	if (m->cb.sample)
		m->cb.sample(m->cb.ctx, &s);
}

/* A memory call: what its stack, which follows, is charged with. */
static int note_mem_call(struct stack_model *m, const struct ps_hdr *h)
{
	struct pending *p = pending_of(m, h->tid);
	uint64_t value = 0;
	int kind = -1;

	if (!p)
		return -ENOMEM;
	switch (h->type) {
	case PS_REC_BRK: {
		const struct ps_brk *r = (const void *)h;
		uintptr_t last = (uintptr_t)idmap__get(&m->brk, h->tgid);

		/* the first brk of a process (glibc's query) sets the base */
		if (last && r->ret > last - 1) {
			kind = SK_HEAP;
			value = r->ret - (last - 1);
		}
		if (idmap__set(&m->brk, h->tgid, (void *)(uintptr_t)(r->ret + 1)))
			return -ENOMEM;
		break;
	}
	case PS_REC_MMAP: {
		const struct ps_mmap *r = (const void *)h;

		if (!PS_IS_ERR(r->ret) && (r->flags & MAP_ANONYMOUS)) {
			kind = SK_MMAP;
			value = r->len;
		}
		break;
	}
	case PS_REC_MPROTECT: {
		const struct ps_mprotect *r = (const void *)h;

		if (!PS_IS_ERR(r->ret)) {
			kind = SK_MPROTECT;
			value = r->len;
		}
		break;
	}
	}
	p->mem_open = true;
	p->mem_ts = h->ts_ns;
	p->mem_type = h->type;
	p->mem_kind = kind;
	p->mem_value = value;
	return 0;
}

/* Tells the unwinder which records may have moved a process's modules. */
static void note_layout(struct stack_model *m, const struct ps_hdr *h)
{
	switch (h->type) {
	case PS_REC_MMAP: {
		const struct ps_mmap *r = (const void *)h;

		if (PS_IS_ERR(r->ret))
			break;
		if (r->ino)
			unwinder__invalidate(m->uw, h->tgid);
		else
			unwinder__changed(m->uw, h->tgid, r->ret, r->len);
		break;
	}
	case PS_REC_MUNMAP: {
		const struct ps_munmap *r = (const void *)h;

		unwinder__changed(m->uw, h->tgid, r->addr, r->len);
		break;
	}
	case PS_REC_MREMAP: {
		const struct ps_mremap *r = (const void *)h;

		unwinder__changed(m->uw, h->tgid, r->old_addr, r->old_len);
		break;
	}
	case PS_REC_VMA:
	case PS_REC_SNAP_MAP:
		unwinder__invalidate(m->uw, h->tgid);
		break;
	case PS_REC_FORK: {
		const struct ps_fork *r = (const void *)h;

		/* a new process on a pid whose exit was lost: not the old modules */
		if (r->child_tgid != h->tgid)
			unwinder__forget(m->uw, r->child_tgid);
		break;
	}
	case PS_REC_EXEC:
		unwinder__forget(m->uw, h->tgid);
		idmap__del(&m->brk, h->tgid);
		break;
	case PS_REC_EXIT:
		free(idmap__del(&m->pending, h->tid));
		if (((const struct ps_exit *)h)->group_dead) {
			unwinder__forget(m->uw, h->tgid);
			idmap__del(&m->brk, h->tgid);
		}
		break;
	}
}

static int take_stack(struct stack_model *m, const struct ps_ustack *s)
{
	const uint64_t *k = (const uint64_t *)(s + 1);
	struct pending *p;
	uint32_t n = 0;
	int64_t id;
	int nu;

	m->stats.stacks++;
	for (uint32_t i = 0; i < s->nkframes; i++)
		m->scratch[n++] = (struct stack_frame){ .module = SYM_MOD_KERNEL, .addr = k[i] };
	nu = unwinder__unwind(m->uw, s->h.tgid, s, m->scratch + n, UNWIND_MAX_FRAMES);
	if (nu < 0)
		return nu;
	m->stats.frames += nu;
	m->stats.one_frame += nu <= 1;
	n += nu;
	id = intern(m, m->scratch, n);
	if (id < 0)
		return id;
	m->last_stack = id;
	p = pending_of(m, s->h.tid);
	if (!p)
		return -ENOMEM;
	switch (s->kind) {
	case PS_STK_MEM:
		if (!p->mem_open || p->mem_type != s->ref_type || p->mem_ts != s->h.ts_ns) {
			m->stats.unpaired++;
			break;
		}
		p->mem_open = false;
		if (p->mem_kind >= 0)
			emit(m, p->mem_kind, s->h.tgid, s->h.tid, id, s->h.ts_ns, p->mem_value);
		break;
	case PS_STK_OFFCPU:
		p->off_open = true;
		p->off_ts = s->h.ts_ns;
		p->off_stack = id;
		break;
	case PS_STK_SAMPLE:
		emit(m, SK_ONCPU, s->h.tgid, s->h.tid, id, s->h.ts_ns, 1);
		break;
	}
	return 0;
}

int stack_model__apply(struct stack_model *m, const struct session_event *ev)
{
	const struct ps_hdr *h = ev->h;

	m->last_stack = -1;
	if (!m->uw) {
		/* the session makes its models when the replay starts */
		m->uw = unwinder__new(m->syms, session__vm(m->s));
		if (!m->uw)
			return -ENOMEM;
	}
	switch (h->type) {
	case PS_REC_BUILDID:
		return symbols__note_buildid(m->syms, (const void *)h);
	case PS_REC_USTACK:
		return take_stack(m, (const void *)h);
	case PS_REC_BRK:
	case PS_REC_MMAP:
	case PS_REC_MUNMAP:
	case PS_REC_MREMAP:
	case PS_REC_MPROTECT:
		note_layout(m, h);
		return note_mem_call(m, h);
	default:
		note_layout(m, h);
		return 0;
	}
}

void stack_model__interval(struct stack_model *m, const struct sched_interval *iv)
{
	struct pending *p;

	if (iv->state != TS_SLEEPING && iv->state != TS_BLOCKED)
		return;
	p = idmap__get(&m->pending, iv->tid);
	if (!p || !p->off_open || iv->start_ns < p->off_ts ||
	    iv->start_ns - p->off_ts > PAIR_SLACK_NS)
		return;
	p->off_open = false;
	emit(m, SK_OFFCPU, iv->tgid, iv->tid, p->off_stack, iv->start_ns, iv->end_ns - iv->start_ns);
}
