/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * CPU samples: one software cpu-clock perf event per CPU (hardware cycles
 * are missing in many VMs), each running the probes' cpu_sample program,
 * which records the stack of a traced thread on that CPU.
 */
#ifndef PROCSCOPE_CPU_SAMPLER_H
#define PROCSCOPE_CPU_SAMPLER_H

#include <bpf/libbpf.h>

struct cpu_sampler;

/* Samples every CPU HZ times a second. NULL and errno, with the message printed. */
struct cpu_sampler *cpu_sampler__open(struct bpf_program *prog, unsigned hz);
void cpu_sampler__free(struct cpu_sampler *s);

#endif
