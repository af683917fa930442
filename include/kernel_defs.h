/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * uapi constants the probes need. The BPF side has only vmlinux.h, which
 * holds types but no #defines, and cannot include the system's uapi
 * headers (they are the build host's, and pull in libc types); the user
 * side takes the same constants from <sys/mman.h>, <sched.h> and <signal.h>
 * and must not include this file. The values are the asm-generic ones
 * (x86, arm64, riscv, s390, powerpc share them; mips, parisc, alpha and
 * sparc differ in some MAP_* bits).
 */
#ifndef PROCSCOPE_KERNEL_DEFS_H
#define PROCSCOPE_KERNEL_DEFS_H

/* <sys/mman.h> */
#define MAP_ANONYMOUS	0x20

/* <sched.h> */
#define CLONE_VM	0x00000100
#define CLONE_VFORK	0x00004000

/* <signal.h> */
#define SIGCHLD		17

/* task->flags (include/linux/sched.h), not uapi: a kernel thread */
#define PF_KTHREAD	0x00200000

#endif /* PROCSCOPE_KERNEL_DEFS_H */
