// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Region kinds. The rules follow what the kernel prints in /proc/PID/maps
 * ([heap] is any anonymous area overlapping [start_brk, brk), [stack] the
 * area holding start_stack) and add what maps does not say:
 * - a file area is text, rodata or data by the PT_LOAD segment its file
 *   offset falls in (PF_X text, PF_W data, else rodata), read with libelf.
 *   A RELRO page made read-only is still data: that is what it holds. A
 *   file that is not ELF, or was replaced since (inode differs), is "file".
 * - PROT_NONE pieces of an ELF mapping (the holes ld.so leaves between
 *   segments) and the PROT_NONE area right below a thread stack are guards.
 * - the writable anonymous area that starts where an image's data ends is
 *   its bss (the kernel and ld.so map it just there), if the image has
 *   bss pages at all (a JVM maps its own areas right after small libraries).
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "idmap.h"
#include "vm_classify.h"

#define MAX_LOADS 16

struct elf_info {
	bool is_elf;
	/*
	 * A writable PT_LOAD whose memsz reaches a page past its file bytes:
	 * ld.so maps those pages anonymous (the bss). Without one, the
	 * writable area right after the image is something else's.
	 */
	bool has_bss;
	int nloads;
	struct {
		uint64_t off;	/* page-aligned down */
		uint64_t end;	/* file bytes, page-aligned up */
		uint32_t flags;	/* PF_* */
	} load[MAX_LOADS];
};

struct vm_classifier {
	struct idmap files;	/* interned path pointer -> struct elf_info */
};

struct vm_classifier *vm_classify__new(void)
{
	struct vm_classifier *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	if (elf_version(EV_CURRENT) == EV_NONE) {
		free(c);
		errno = EINVAL;
		return NULL;
	}
	return c;
}

static void read_elf(const char *path, uint64_t ino, struct elf_info *info)
{
	size_t nph = 0;
	struct stat st;
	Elf *elf;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fstat(fd, &st) || (ino && st.st_ino != ino))
		goto close_fd;	/* replaced since it was mapped: its headers would lie */
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf)
		goto close_fd;
	if (elf_kind(elf) != ELF_K_ELF || elf_getphdrnum(elf, &nph))
		goto end_elf;
	info->is_elf = true;
	for (size_t i = 0; i < nph && info->nloads < MAX_LOADS; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		info->load[info->nloads].off = ph.p_offset & ~(VM_PAGE_SIZE - 1);
		info->load[info->nloads].end = VM_PAGE_UP(ph.p_offset + ph.p_filesz);
		info->load[info->nloads].flags = ph.p_flags;
		info->nloads++;
		if ((ph.p_flags & PF_W) &&
		    VM_PAGE_UP(ph.p_vaddr + ph.p_memsz) > VM_PAGE_UP(ph.p_vaddr + ph.p_filesz))
			info->has_bss = true;
	}
end_elf:
	elf_end(elf);
close_fd:
	close(fd);
}

static const struct elf_info *elf_of(struct vm_classifier *c, const struct vm_area *a)
{
	static const struct elf_info none;
	struct elf_info *info = idmap__get(&c->files, (uintptr_t)a->r.path);

	if (info)
		return info;
	info = calloc(1, sizeof(*info));
	if (!info)
		return &none;
	read_elf(a->r.path, a->ino, info);
	if (idmap__set(&c->files, (uintptr_t)a->r.path, info)) {
		free(info);
		return &none;
	}
	return info;
}

static enum vm_kind file_kind(struct vm_classifier *c, const struct vm_area *a)
{
	const struct elf_info *e;

	if (a->r.path[0] != '/')
		return VK_OTHER;
	e = elf_of(c, a);
	if (!e->is_elf)
		return VK_FILE;
	if (!a->r.prot)
		return VK_GUARD;
	if (a->r.prot & 4)
		return VK_TEXT;
	for (int i = 0; i < e->nloads; i++) {
		if (a->r.pgoff < e->load[i].off || a->r.pgoff >= e->load[i].end)
			continue;
		if (e->load[i].flags & PF_W)
			return VK_DATA;
		if (e->load[i].flags & PF_X)
			return VK_TEXT;
		return VK_RODATA;
	}
	return VK_FILE;	/* an ELF mapped some other way */
}

static enum vm_kind special_kind(const char *name)
{
	if (!strcmp(name, "[vdso]"))
		return VK_VDSO;
	if (!strncmp(name, "[vvar", 5))
		return VK_VVAR;
	if (!strcmp(name, "[stack]"))
		return VK_STACK;
	return VK_OTHER;
}

/* The kind of area I, given that a[i - 1] is labelled already. */
static enum vm_kind kind_of(struct vm_classifier *c, const struct vm_area *a, size_t n, size_t i,
			    const struct vm_facts *f)
{
	const struct vm_region *r = &a[i].r;

	if (r->path && r->path[0] == '[')
		return special_kind(r->path);
	if (r->path)
		return file_kind(c, &a[i]);
	if (r->start < f->brk && r->end > f->start_brk)
		return VK_HEAP;
	if ((a[i].flags & VMF_GROWSDOWN) || (r->start <= f->start_stack && r->end >= f->start_stack))
		return VK_STACK;
	if (r->tid)
		return VK_THREAD_STACK;
	/* the guard looks up at the next area's owner, bss down at the previous area's kind */
	if (!r->prot && i + 1 < n && a[i + 1].r.tid && a[i + 1].r.start == r->end && !a[i + 1].r.path)
		return VK_GUARD;
	if ((r->prot & 2) && !r->shared && i > 0 && a[i - 1].r.end == r->start &&
	    a[i - 1].r.kind == VK_DATA && elf_of(c, &a[i - 1])->has_bss)
		return VK_BSS;
	return VK_ANON;
}

void vm_classify__range(struct vm_classifier *c, struct vm_area *a, size_t n, size_t lo, size_t hi,
			const struct vm_facts *f)
{
	for (size_t i = lo; i < hi && i < n; i++)
		a[i].r.kind = kind_of(c, a, n, i, f);
}

void vm_classify__space(struct vm_classifier *c, struct vm_area *a, size_t n,
			const struct vm_facts *f)
{
	vm_classify__range(c, a, n, 0, n, f);
}

void vm_classify__free(struct vm_classifier *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->files.cap; i++)
		free(c->files.vals[i]);
	idmap__free(&c->files);
	free(c);
}
