/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What the probes need that the libbpf they are built with may lack, kept
 * here so procscope.bpf.c reads the same on every architecture and libbpf.
 *
 * Syscall arguments are read at syscall exit from the task's saved user
 * registers (bpf_task_pt_regs()), through libbpf's
 * PT_REGS_PARMn_CORE_SYSCALL(): they know which register holds argument n
 * on each architecture and, where the first one is overwritten by the
 * return value (arm64's x0, s390's gpr2), read the saved original. libbpf
 * 1.1 has them for arguments 1-5 only; mmap's offset is the 6th.
 */
#ifndef PROCSCOPE_CORE_FIXES_BPF_H
#define PROCSCOPE_CORE_FIXES_BPF_H

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

/*
 * Only architectures where PARM1_CORE_SYSCALL survives the syscall's return
 * (libbpf 1.1 reads a0/gpr3 on riscv/powerpc, which hold the result by then).
 */
#if !defined(bpf_target_x86) && !defined(bpf_target_arm64) && !defined(bpf_target_s390)
#error "procscope: syscall arguments are read at syscall exit; check PT_REGS_PARMn_CORE_SYSCALL for this architecture in bpf/core_fixes.bpf.h"
#endif

#ifndef PT_REGS_PARM6_CORE_SYSCALL
#if defined(bpf_target_x86)
#define PT_REGS_PARM6_CORE_SYSCALL(x) BPF_CORE_READ((x), r9)
#elif defined(bpf_target_arm64)
#define PT_REGS_PARM6_CORE_SYSCALL(x) BPF_CORE_READ((const struct user_pt_regs *)(x), regs[5])
#elif defined(bpf_target_s390)
#define PT_REGS_PARM6_CORE_SYSCALL(x) BPF_CORE_READ((const user_pt_regs *)(x), gprs[7])
#endif
#endif

#endif /* PROCSCOPE_CORE_FIXES_BPF_H */
