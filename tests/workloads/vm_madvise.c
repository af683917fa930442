// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The calls that change VMAs besides mmap and friends: madvise advice that
 * sets vm_flags (HUGEPAGE/NOHUGEPAGE, DONTFORK/DOFORK, DONTDUMP, WIPEONFORK,
 * RANDOM/SEQUENTIAL/NORMAL), mlock, mlock2(MLOCK_ONFAULT), munlock,
 * mlockall/munlockall, mseal, pkey_mprotect (where the CPU has keys),
 * remap_file_pages, shmat/shmdt, and a brk that fails. Each splits or
 * merges areas; the layout must still equal /proc/self/maps, dumped last.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include "vm_dump.h"

#define PG 4096ul

#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif

int main(void)
{
	char path[] = "/tmp/vm_madvise.XXXXXX";
	char *a, *b, *f, *s, *keep;
	int fd, shm, pkey;

	a = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	b = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (a == MAP_FAILED || b == MAP_FAILED)
		return 1;
	madvise(a + 2 * PG, 2 * PG, MADV_HUGEPAGE);
	madvise(a + 6 * PG, 2 * PG, MADV_NOHUGEPAGE);
	madvise(a + 6 * PG, 2 * PG, MADV_HUGEPAGE);	/* now like its left neighbour: merges */
	madvise(a + 10 * PG, PG, MADV_DONTFORK);
	madvise(a + 12 * PG, PG, MADV_DONTDUMP);
	madvise(a + 13 * PG, 2 * PG, MADV_WIPEONFORK);
	madvise(a + 14 * PG, PG, MADV_KEEPONFORK);
	madvise(a + 10 * PG, PG, MADV_DOFORK);	/* back as it was: merges again */
	madvise(b, 4 * PG, MADV_RANDOM);
	madvise(b + 4 * PG, 4 * PG, MADV_SEQUENTIAL);
	madvise(b, 2 * PG, MADV_NORMAL);
	madvise(b, 16 * PG, MADV_DONTNEED);	/* pages only: no VMA change */
	mlock(b + 8 * PG, 2 * PG);
	syscall(SYS_mlock2, b + 11 * PG, PG, MLOCK_ONFAULT);
	munlock(b + 9 * PG, PG);
	mlockall(MCL_CURRENT | MCL_FUTURE);
	keep = mmap(NULL, 3 * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);	/* locked */
	munlockall();
#ifdef SYS_mseal
	{
		char *m = mmap(NULL, 4 * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		syscall(SYS_mseal, m + PG, PG, 0);
	}
#else
	{
		char *m = mmap(NULL, 4 * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		syscall(462, m + PG, PG, 0);	/* mseal on x86_64 */
	}
#endif
	pkey = pkey_alloc(0, 0);
	if (pkey >= 0)
		pkey_mprotect(a + 4 * PG, PG, PROT_READ, pkey);
	/* remap_file_pages: page 0 of a shared file map shows file page 2 */
	fd = mkstemp(path);
	if (fd < 0 || ftruncate(fd, 4 * PG))
		return 1;
	unlink(path);
	f = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (f == MAP_FAILED)
		return 1;
	remap_file_pages(f, PG, 0, 2, 0);
	/* SysV shared memory: one segment stays attached, one comes and goes */
	shm = shmget(IPC_PRIVATE, 8 * PG, IPC_CREAT | 0600);
	if (shm >= 0) {
		s = shmat(shm, NULL, 0);
		shmdt(s);
		shmat(shm, NULL, SHM_RDONLY);
		shmctl(shm, IPC_RMID, NULL);
	}
	syscall(SYS_brk, 1ul << 46);	/* refused: brk returns the old break */
	vm_fact("anon %lx\n", (unsigned long)a);
	(void)keep;
	vm_dump_and_exit(0);
}
