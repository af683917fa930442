// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include "cpu_sampler.h"
#include "util.h"

struct cpu_sampler {
	struct bpf_link **links;	/* each owns its perf event fd */
	int n;
};

void cpu_sampler__free(struct cpu_sampler *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->n; i++)
		bpf_link__destroy(s->links[i]);
	free(s->links);
	free(s);
}

struct cpu_sampler *cpu_sampler__open(struct bpf_program *prog, unsigned hz)
{
	int ncpus = libbpf_num_possible_cpus(), err;
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.sample_freq = hz,
		.freq = 1,
	};
	struct cpu_sampler *s;

	if (ncpus <= 0) {
		errno = -ncpus;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->links = calloc(ncpus, sizeof(*s->links));
	if (!s->links) {
		err = -ENOMEM;
		goto err_free;
	}
	for (int cpu = 0; cpu < ncpus; cpu++) {
		int fd = syscall(__NR_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);

		if (fd < 0) {
			if (errno == ENODEV)
				continue;	/* a possible CPU that is not online */
			err = -errno;
			ps_err("cannot open the CPU-clock sampling event on CPU %d: %s (--sample 0 turns sampling off)",
			       cpu, strerror(-err));
			goto err_free;
		}
		s->links[s->n] = bpf_program__attach_perf_event(prog, fd);
		if (!s->links[s->n]) {
			err = -errno;
			close(fd);
			ps_err("cannot attach the CPU sampler on CPU %d: %s", cpu, strerror(-err));
			goto err_free;
		}
		s->n++;
	}
	return s;

err_free:
	cpu_sampler__free(s);
	errno = -err;
	return NULL;
}
