// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include "vm_memop.h"
#include "vm_space.h"

/* <linux/mman.h>, not always in <sys/mman.h> */
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT	0x01
#endif
#ifndef MCL_ONFAULT
#define MCL_ONFAULT	4
#endif

/* madvise advice -> flags set and cleared; false for advice that touches only pages */
static bool advice_flags(uint64_t advice, struct vm_memop_effect *e)
{
	switch (advice) {
	case MADV_NORMAL:
		e->clear = VMF_SEQ_READ | VMF_RAND_READ;
		return true;
	case MADV_RANDOM:
		e->set = VMF_RAND_READ;
		e->clear = VMF_SEQ_READ;
		return true;
	case MADV_SEQUENTIAL:
		e->set = VMF_SEQ_READ;
		e->clear = VMF_RAND_READ;
		return true;
	case MADV_DONTFORK:
		e->set = VMF_DONTCOPY;
		return true;
	case MADV_DOFORK:
		e->clear = VMF_DONTCOPY;
		return true;
	case MADV_MERGEABLE:
		/* ksm_madvise() leaves shared, special and hugetlb areas as they are */
		e->set = VMF_MERGEABLE;
		e->skip = VMF_SHARED | VMF_SPECIAL | VMF_HUGETLB;
		return true;
	case MADV_UNMERGEABLE:
		e->clear = VMF_MERGEABLE;
		return true;
	case MADV_HUGEPAGE:
		e->set = VMF_HUGEPAGE;
		e->clear = VMF_NOHUGEPAGE;
		return true;
	case MADV_NOHUGEPAGE:
		e->set = VMF_NOHUGEPAGE;
		e->clear = VMF_HUGEPAGE;
		return true;
	case MADV_DONTDUMP:
		e->set = VMF_DONTDUMP;
		return true;
	case MADV_DODUMP:
		e->clear = VMF_DONTDUMP;
		return true;
	case MADV_WIPEONFORK:
		e->set = VMF_WIPEONFORK;
		return true;
	case MADV_KEEPONFORK:
		e->clear = VMF_WIPEONFORK;
		return true;
	default:	/* DONTNEED, FREE, WILLNEED, COLD, PAGEOUT, POPULATE_*, GUARD_*, ... */
		return false;
	}
}

bool vm_memop__effect(const struct ps_memop *r, struct vm_memop_effect *e)
{
	/* ENOMEM: a hole in the range; the areas around it were changed */
	bool ok = r->ret == 0 || r->ret == -ENOMEM;

	memset(e, 0, sizeof(*e));
	e->start = r->addr & ~(VM_PAGE_SIZE - 1);
	e->end = VM_PAGE_UP(r->addr + r->len);
	/* mlock_fixup() leaves these alone */
	e->skip = VMF_SPECIAL | VMF_HUGETLB;
	switch (r->op) {
	case PS_MEMOP_MADVISE:
		e->skip = 0;
		return ok && advice_flags(r->arg, e);
	case PS_MEMOP_MLOCK:
		e->set = VMF_LOCKED;
		e->clear = VMF_LOCKONFAULT;
		return ok;
	case PS_MEMOP_MLOCK2:
		e->set = VMF_LOCKED | (r->arg & MLOCK_ONFAULT ? VMF_LOCKONFAULT : 0);
		e->clear = VMF_LOCKED | VMF_LOCKONFAULT;
		return ok;
	case PS_MEMOP_MUNLOCK:
		e->clear = VMF_LOCKED | VMF_LOCKONFAULT;
		return ok;
	case PS_MEMOP_MLOCKALL:
	case PS_MEMOP_MUNLOCKALL:
		if (r->ret)
			return false;
		e->all = true;
		e->start = 0;
		e->end = UINT64_MAX;
		e->def_flags = true;
		e->clear = VMF_LOCKED | VMF_LOCKONFAULT;
		if (r->op == PS_MEMOP_MUNLOCKALL)
			return true;
		if (r->arg & MCL_FUTURE)
			e->def_set = VMF_LOCKED | (r->arg & MCL_ONFAULT ? VMF_LOCKONFAULT : 0);
		if (r->arg & MCL_CURRENT)
			e->set = VMF_LOCKED | (r->arg & MCL_ONFAULT ? VMF_LOCKONFAULT : 0);
		else
			e->clear = 0;	/* MCL_FUTURE alone: the areas stay as they are */
		return true;
	case PS_MEMOP_MSEAL:
		e->set = VMF_SEALED;
		e->skip = 0;
		return r->ret == 0;
	case PS_MEMOP_PKEY_MPROTECT:
		/* the protection is vm_space__protect()'s; this is the key */
		if (r->ret || r->arg2 < 0)
			return false;
		e->set = (uint64_t)(r->arg2 & 0xf) << 32;
		e->clear = VMF_PKEY_MASK;
		e->skip = 0;
		return true;
	default:
		return false;
	}
}
