/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Call stacks in the Perfetto export: the interned profiling data
 * (function names, mappings, frames, callstacks in InternedData, each
 * written once on the export's one sequence, in the packet that first
 * needs it) that PerfSample packets refer to, and a stack as a debug
 * annotation for a track event (innermost frame first).
 */
#ifndef PROCSCOPE_EXPORT_PERFETTO_STACKS_H
#define PROCSCOPE_EXPORT_PERFETTO_STACKS_H

#include <stdint.h>
#include "export_stacks.h"
#include "pb_writer.h"

struct pf_stacks;

/* NULL and errno. */
struct pf_stacks *pf_stacks__new(struct export_stacks *x);
void pf_stacks__free(struct pf_stacks *p);
/* In an open TracePacket: the InternedData stack ID needs that was not written yet. */
void pf_stacks__intern(struct pf_stacks *p, struct pb_writer *w, uint32_t id);
/* The callstack iid of stack ID (after pf_stacks__intern()). */
static inline uint64_t pf_stacks__iid(uint32_t id)
{
	return id + 1ull;
}
/* In an open TrackEvent: DebugAnnotation NAME, an array of the stack's frame names. */
void pf_stacks__annotation(struct pf_stacks *p, struct pb_writer *w, const char *name, uint32_t id);
/* The name of stack ID's innermost user frame ("" if none). */
const char *pf_stacks__user_leaf(struct pf_stacks *p, uint32_t id);
/* 0 or the first -errno. */
int pf_stacks__error(const struct pf_stacks *p);

#endif
