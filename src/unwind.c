// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include "unwind.h"
#include "unwind_cache.h"
#include "util.h"

_Static_assert(UWC_NREGS == PS_STK_NREGS, "the cache keys every recorded register");

struct uw_range {
	uint64_t low, high;
};

struct uw_proc {
	Dwfl *dwfl;		/* NULL: build before the next stack */
	bool attached;		/* dwfl_attach_state() took: frames past the first */
	struct uw_range *mods;	/* the modules' address ranges */
	size_t nmods;
	uint64_t epoch;		/* unique to this Dwfl: the cache's name for these modules */
};

struct unwinder {
	struct symbols *syms;
	const struct vm_model *vm;
	struct idmap procs;	/* pid -> uw_proc */
	struct unwind_cache *cache;
	uint64_t epochs;	/* Dwfls built */
	/* the stack being unwound, for the callbacks */
	const struct ps_ustack *cur;
	const uint8_t *bytes;
	struct stack_frame *out;
	int n, max;
	Dwfl *dwfl;
	uint32_t pid;
	struct uw_proc *proc;
	Dwarf_Addr pcs[UNWIND_MAX_FRAMES];	/* the frames' pcs, for regs_used() */
	/* the words it read, for the cache: more than UWC_MAX_READS are not kept */
	uint32_t nreads;
	struct uwc_read reads[UWC_MAX_READS];
};

/*
 * Unwinding reads .eh_frame, and a file's own .debug_frame, but no separate
 * debug file: libdwfl falls back to .debug_frame at every stack's last
 * frame, and opening a separate debug file decompresses all its sections
 * again in each process's Dwfl (glibc's: ~7 ms a time, so a session of
 * short-lived processes took seconds per hundred stacks). Names still come
 * from separate debug files (symbols.c, once per file).
 */
static int no_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
			const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
			char **debuginfo_file_name)
{
	(void)mod, (void)userdata, (void)modname, (void)base, (void)file_name;
	(void)debuglink_file, (void)debuglink_crc, (void)debuginfo_file_name;
	return -1;
}

static const Dwfl_Callbacks proc_callbacks = {
	.find_elf = dwfl_linux_proc_find_elf,		/* opens the module's path */
	.find_debuginfo = no_debuginfo,
};

struct unwinder *unwinder__new(struct symbols *syms, const struct vm_model *vm)
{
	struct unwinder *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->syms = syms;
	u->vm = vm;
	u->cache = unwind_cache__new();
	if (!u->cache) {
		free(u);
		return NULL;
	}
	return u;
}

static void proc_clear(struct uw_proc *p)
{
	if (p->dwfl)
		dwfl_end(p->dwfl);
	p->dwfl = NULL;
	p->attached = false;
	free(p->mods);
	p->mods = NULL;
	p->nmods = 0;
}

static void proc_free(struct uw_proc *p)
{
	if (p)
		proc_clear(p);
	free(p);
}

void unwinder__free(struct unwinder *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->procs.cap; i++)
		proc_free(u->procs.vals[i]);
	idmap__free(&u->procs);
	unwind_cache__free(u->cache);
	free(u);
}

void unwinder__invalidate(struct unwinder *u, uint32_t pid)
{
	struct uw_proc *p = idmap__get(&u->procs, pid);

	if (p)
		proc_clear(p);
}

void unwinder__changed(struct unwinder *u, uint32_t pid, uint64_t start, uint64_t len)
{
	struct uw_proc *p = idmap__get(&u->procs, pid);

	if (!p)
		return;
	for (size_t i = 0; i < p->nmods; i++) {
		if (start < p->mods[i].high && start + len > p->mods[i].low) {
			proc_clear(p);
			return;
		}
	}
}

void unwinder__forget(struct unwinder *u, uint32_t pid)
{
	proc_free(idmap__del(&u->procs, pid));
}

/* ---- libdwfl's view of the recorded thread ---- */

static pid_t cb_next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	(void)dwfl, (void)arg, (void)thread_argp;
	return 0;	/* only the thread asked for by get_thread */
}

static bool cb_get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_argp)
{
	(void)dwfl, (void)tid;
	*thread_argp = arg;
	return true;
}

/* Memory is the copied stack and nothing else: a read outside it ends the walk. */
static bool cb_memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	struct unwinder *u = arg;
	uint64_t sp = u->cur->regs[7];
	uint64_t off = addr < sp ? UINT64_MAX : addr - sp;
	bool inside = off <= u->cur->ustack_len && u->cur->ustack_len - off >= 8;
	struct uwc_read *r = &u->reads[u->nreads < UWC_MAX_READS ? u->nreads : 0];

	(void)dwfl;
	if (inside)
		memcpy(result, u->bytes + off, 8);
	if (u->nreads++ < UWC_MAX_READS)
		*r = (struct uwc_read){ .off = off, .val = inside ? *result : 0, .ok = inside };
	return inside;
}

static bool cb_set_initial_registers(Dwfl_Thread *thread, void *arg)
{
	struct unwinder *u = arg;
	Dwarf_Word regs[PS_STK_NREGS];

	memcpy(regs, u->cur->regs, sizeof(regs));
	if (!dwfl_thread_state_registers(thread, 0, PS_STK_NREGS, regs))
		return false;
	dwfl_thread_state_register_pc(thread, regs[16]);
	return true;
}

static const Dwfl_Thread_Callbacks thread_callbacks = {
	.next_thread = cb_next_thread,
	.get_thread = cb_get_thread,
	.memory_read = cb_memory_read,
	.set_initial_registers = cb_set_initial_registers,
};

/* ---- modules from the address-space model ---- */

struct maps_ctx {
	struct unwinder *u;
	FILE *f;
};

/* One /proc/PID/maps line per mapping of a file that is still the recorded one. */
static void add_region(void *ctx, const struct vm_region *r)
{
	struct maps_ctx *m = ctx;
	uint32_t id;

	if (!r->path || r->path[0] != '/')
		return;
	id = symbols__module(m->u->syms, r->path);
	if (!id || !symbols__module_ok(m->u->syms, id))
		return;
	/* libdwfl tells files apart by inode: the module id stands in for it */
	fprintf(m->f, "%llx-%llx %c%c%cp %08llx 00:01 %u %s\n", (unsigned long long)r->start,
		(unsigned long long)r->end, r->prot & PROT_READ ? 'r' : '-',
		r->prot & PROT_WRITE ? 'w' : '-', r->prot & PROT_EXEC ? 'x' : '-',
		(unsigned long long)r->pgoff, id, r->path);
}

static int tag_module(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start,
		      void *arg)
{
	struct unwinder *u = arg;
	struct uw_proc *p = u->proc;
	Dwarf_Addr low, high;
	struct uw_range *r;

	(void)start;
	*userdata = (void *)(uintptr_t)symbols__module(u->syms, name);
	if (!dwfl_module_info(mod, NULL, &low, &high, NULL, NULL, NULL, NULL))
		return DWARF_CB_OK;
	r = realloc(p->mods, (p->nmods + 1) * sizeof(*r));
	if (!r)
		return DWARF_CB_ABORT;
	p->mods = r;
	r[p->nmods++] = (struct uw_range){ low, high };
	return DWARF_CB_OK;
}

static int build(struct unwinder *u, uint32_t pid, struct uw_proc *p)
{
	struct maps_ctx m = { .u = u };
	char *text = NULL;
	size_t len = 0;

	m.f = open_memstream(&text, &len);
	if (!m.f)
		return -errno;
	vm_model__for_each_region(u->vm, pid, add_region, &m);
	if (fclose(m.f)) {
		free(text);
		return -ENOMEM;
	}
	p->dwfl = dwfl_begin(&proc_callbacks);
	if (!p->dwfl) {
		free(text);
		return -ENOMEM;
	}
	dwfl_report_begin(p->dwfl);
	m.f = len ? fmemopen(text, len, "r") : NULL;
	if (m.f) {
		dwfl_linux_proc_maps_report(p->dwfl, m.f);
		fclose(m.f);
	}
	free(text);
	dwfl_report_end(p->dwfl, NULL, NULL);
	p->epoch = ++u->epochs;
	u->proc = p;
	dwfl_getmodules(p->dwfl, tag_module, u, 0);
	/* fails without any ELF module (no architecture known): first frames only */
	p->attached = dwfl_attach_state(p->dwfl, NULL, pid, &thread_callbacks, u);
	return 0;
}

struct find_ctx {
	uint64_t pc;
	const struct vm_region *r;
	const char *path;
	uint64_t off;
};

static void find_region(void *ctx, const struct vm_region *r)
{
	struct find_ctx *c = ctx;

	if (c->pc >= r->start && c->pc < r->end && r->path && r->path[0] == '/') {
		c->path = r->path;
		c->off = c->pc - r->start + r->pgoff;
	}
}

/* The frame at PC: its module and address in the file, or the raw address. */
static void resolve(struct unwinder *u, Dwarf_Addr pc, struct stack_frame *f)
{
	struct find_ctx fc = { .pc = pc };
	Dwfl_Module *mod = u->dwfl ? dwfl_addrmodule(u->dwfl, pc) : NULL;
	void **ud = NULL;
	GElf_Addr bias = 0;

	f->pad = 0;
	if (mod && dwfl_module_info(mod, &ud, NULL, NULL, NULL, NULL, NULL, NULL) && ud &&
	    (uintptr_t)*ud && dwfl_module_getelf(mod, &bias)) {
		f->module = (uintptr_t)*ud;
		f->addr = pc - bias;
		return;
	}
	/* a file left out (deleted, replaced): its name and the offset in it */
	vm_model__for_each_region(u->vm, u->pid, find_region, &fc);
	f->module = fc.path ? symbols__module(u->syms, fc.path) : 0;
	f->addr = fc.off;
	if (!f->module) {
		f->module = SYM_MOD_UNKNOWN;
		f->addr = pc;
	}
}

static int frame_cb(Dwfl_Frame *state, void *arg)
{
	struct unwinder *u = arg;
	Dwarf_Addr pc;
	bool activation;

	if (!dwfl_frame_pc(state, &pc, &activation))
		return DWARF_CB_ABORT;
	/* a return address: the call is the instruction before it */
	if (!activation && pc)
		pc--;
	if (!pc)
		return DWARF_CB_ABORT;
	if (u->n < UNWIND_MAX_FRAMES)
		u->pcs[u->n] = pc;
	resolve(u, pc, &u->out[u->n++]);
	return u->n < u->max ? DWARF_CB_OK : DWARF_CB_ABORT;
}

/* ---- which registers an unwind used, for the cache ---- */

/* The registers a CFI rule's expression names; all of them if it names one beyond the PC. */
static uint32_t op_regs(const Dwarf_Op *ops, size_t nops)
{
	uint32_t mask = 0;
	uint64_t reg;

	for (size_t i = 0; i < nops; i++) {
		uint8_t a = ops[i].atom;

		if (a >= DW_OP_reg0 && a <= DW_OP_reg31)
			reg = a - DW_OP_reg0;
		else if (a >= DW_OP_breg0 && a <= DW_OP_breg31)
			reg = a - DW_OP_breg0;
		else if (a == DW_OP_regx || a == DW_OP_bregx)
			reg = ops[i].number;
		else
			continue;
		if (reg >= UWC_NREGS)
			return UWC_ALL_REGS;
		mask |= 1u << reg;
	}
	return mask;
}

/* The registers the rules of CFI at PC read: the CFA's and every register's. */
static uint32_t cfi_regs(Dwarf_CFI *cfi, Dwarf_Addr bias, Dwarf_Addr pc)
{
	Dwarf_Op mem[3], *ops;
	Dwarf_Frame *f;
	uint32_t mask = 0;
	size_t nops;

	if (!cfi || dwarf_cfi_addrframe(cfi, pc - bias, &f))
		return 0;	/* no rules here: libdwfl falls back on SP and the frame pointer */
	if (dwarf_frame_cfa(f, &ops, &nops))
		mask = UWC_ALL_REGS;
	else
		mask |= op_regs(ops, nops);
	for (int r = 0; r < UWC_NREGS && mask != UWC_ALL_REGS; r++) {
		if (dwarf_frame_register(f, r, mem, &ops, &nops))
			mask = UWC_ALL_REGS;
		else if (ops)
			mask |= op_regs(ops, nops);
	}
	free(f);
	return mask;
}

/*
 * The first frame's registers the last unwind may have read: those any rule
 * of its frames names, in either CFI libdwfl may take (.eh_frame, then
 * .debug_frame), whichever frame it sits in (a register passes outwards
 * unchanged until a rule reads it). SP, the frame pointer and the PC are
 * always keyed (unwind_cache.c).
 */
static uint32_t regs_used(struct unwinder *u)
{
	uint32_t mask = 0;

	if (u->n > UNWIND_MAX_FRAMES)
		return UWC_ALL_REGS;
	for (int i = 0; i < u->n && mask != UWC_ALL_REGS; i++) {
		Dwfl_Module *mod = dwfl_addrmodule(u->dwfl, u->pcs[i]);
		Dwarf_Addr bias;
		Dwarf_CFI *cfi;

		if (!mod)
			continue;
		cfi = dwfl_module_eh_cfi(mod, &bias);
		mask |= cfi_regs(cfi, bias, u->pcs[i]);
		cfi = dwfl_module_dwarf_cfi(mod, &bias);
		mask |= cfi_regs(cfi, bias, u->pcs[i]);
	}
	return mask;
}

int unwinder__unwind(struct unwinder *u, uint32_t pid, const struct ps_ustack *s,
		     struct stack_frame *out, int max)
{
	struct uwc_key key;
	struct uw_proc *p;
	int err, n;

	if (s->abi != PS_STK_ABI_X86_64 || max <= 0)
		return 0;
	p = idmap__get(&u->procs, pid);
	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p || idmap__set(&u->procs, pid, p)) {
			free(p);
			return -ENOMEM;
		}
	}
	if (!p->dwfl) {
		err = build(u, pid, p);
		if (err)
			return err;
	}
	u->cur = s;
	u->bytes = (const uint8_t *)(s + 1) + s->nkframes * 8;
	key = (struct uwc_key){
		.pid = pid, .max = max, .epoch = p->epoch,
		.vm_gen = vm_model__generation(u->vm, pid),
	};
	memcpy(key.regs, s->regs, sizeof(key.regs));
	n = unwind_cache__get(u->cache, &key, u->bytes, s->ustack_len, out);
	if (n >= 0)
		return n;
	u->out = out;
	u->n = 0;
	u->max = max;
	u->dwfl = p->dwfl;
	u->pid = pid;
	u->nreads = 0;
	if (p->attached)
		dwfl_getthread_frames(p->dwfl, s->h.tid ? s->h.tid : pid, frame_cb, u);
	if (u->n == 0) {
		resolve(u, s->regs[16], &out[u->n++]);
		u->pcs[0] = s->regs[16];
	}
	if (u->nreads <= UWC_MAX_READS)
		unwind_cache__put(u->cache, &key, regs_used(u), u->reads, u->nreads, out, u->n);
	return u->n;
}
