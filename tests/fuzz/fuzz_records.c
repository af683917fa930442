// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Harness 3: records, each in an allocation of exactly its hdr.size bytes,
 * through the models (process tree, address space with the memory report's
 * callbacks, scheduling) and the report views. A read past a record's end, which a chunk
 * buffer would hide, is an ASan finding here. The input is records back to
 * back; each passes the same checks the reader applies (rec_info__check())
 * or is skipped, as the reader would skip it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "coro_report.h"
#include "mem_report.h"
#include "proc_model.h"
#include "rec_info.h"
#include "sched_model.h"
#include "sched_report.h"
#include "vm_model.h"

static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	devnull = fopen("/dev/null", "w");
	return devnull ? 0 : -1;
}

static void on_interval(void *ctx, const struct sched_interval *iv)
{
	(void)ctx;
	fprintf(devnull, "%u", iv->tid);
}

static void on_region(void *ctx, const struct vm_region *r)
{
	(void)ctx;
	fprintf(devnull, "%llx %s", (unsigned long long)r->start, r->path ? r->path : "");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct sched_callbacks scb = { .interval = on_interval };
	struct proc_model pm;
	struct vm_model *vm;
	struct sched_model *sm;
	struct coro_model *cm;
	struct mem_report *mr;
	uint64_t last = 0;
	size_t off = 0;

	proc_model__init(&pm);
	mr = mem_report__new();
	if (!mr)
		abort();
	vm = vm_model__new(&pm, mem_report__vm_callbacks(mr));
	sm = sched_model__new(&pm, &scb);
	cm = coro_model__new(&pm, vm, NULL);
	if (!vm || !sm || !cm)
		abort();
	while (size - off >= sizeof(struct ps_hdr)) {
		struct ps_hdr hh;
		struct ps_hdr *h;
		const char *why;

		memcpy(&hh, data + off, sizeof(hh));
		/* the reader's framing rules: a bad size ends the chunk */
		if (hh.size < sizeof(hh) || hh.size % 8 || hh.size > size - off)
			break;
		h = malloc(hh.size);
		if (!h)
			abort();
		memcpy(h, data + off, hh.size);
		off += hh.size;
		if (!rec_info__min_size(h->type) || rec_info__check(h, &why)) {
			free(h);
			continue;
		}
		if (h->ts_ns > last)
			last = h->ts_ns;
		if (proc_model__apply(&pm, h) || vm_model__apply(vm, h, proc_model__resolve(&pm, h)) ||
		    sched_model__apply(sm, h, proc_model__resolve(&pm, h)) ||
		    coro_model__apply(cm, h, proc_model__resolve(&pm, h))) {
			free(h);
			break;
		}
		free(h);
	}
	sched_model__finish(sm, last);
	coro_model__finish(cm, last);
	for (size_t i = 0; i < pm.nprocs; i++) {
		struct vm_proc_stats st;

		sched_report__process(devnull, sm, pm.order[i]);
		coro_report__process(devnull, cm, pm.order[i]);
		vm_model__for_each_region(vm, pm.order[i]->pid, on_region, NULL);
		vm_model__proc_stats(vm, pm.order[i]->pid, &st);
	}
	sched_report__summary(devnull, sm, 0);
	sched_report__json(devnull, &pm, sm, vm, cm, 0, last);
	mem_report__free(mr);
	sched_model__free(sm);
	coro_model__free(cm);
	vm_model__free(vm);
	proc_model__free(&pm);
	return 0;
}
