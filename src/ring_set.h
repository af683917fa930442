/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The probes' ring buffers, one per CPU (bpf/procscope.bpf.c: rings), read
 * as one stream in time order.
 *
 * Where the rings are merged: here, before anything is written. Each drain
 * takes what every ring holds at its start and hands the records out by
 * timestamp (a k-way merge over the rings, each ring in its own order), so
 * the file holds one stream whose disorder is what a single shared ring
 * had: a probe stamps its record just after reserving it, so a record
 * reserved on a CPU while an interrupt's probe runs there may be out of
 * order by that probe's run (microseconds), and a record still being
 * written when the drain reads its ring waits for the next drain while
 * later ones of other CPUs go out now (again a probe's run). Both are far
 * inside the replay's 10 ms reorder window (session.h), which therefore
 * need not grow with the drain interval or the number of CPUs; without the
 * merge here, records of one drain would be up to a whole drain interval
 * (or a stalled recorder's backlog) apart.
 */
#ifndef PROCSCOPE_RING_SET_H
#define PROCSCOPE_RING_SET_H

#include <stddef.h>
#include <stdint.h>
#include <bpf/libbpf.h>
#include "records.h"

struct ring_set;

/*
 * Bytes per ring when the user gives none: 8 MiB per CPU up to 32 CPUs,
 * then 256 MiB over all rings (a power of 2 per ring, at least 1 MiB):
 * 2 CPUs 2 x 8 MiB, 64 CPUs 64 x 4 MiB, 192 CPUs 192 x 1 MiB. Each ring's
 * data is mapped twice (the kernel's wrap-around view), but reading touches
 * the second copy only for records that cross the end, so the recorder's
 * RSS grows by about the total once the rings have wrapped (47 MiB in all
 * at 2 CPUs under load, bench/rss.sh).
 */
uint64_t ring_set__default_bytes(unsigned nrings);
/*
 * Before load: creates NRINGS rings of RING_BYTES, maps them, and sizes
 * OUTER (bpf map "rings") for them. NULL and errno, the message printed
 * unless the errno is EPERM or EACCES (no right to use BPF).
 */
struct ring_set *ring_set__new(struct bpf_map *outer, unsigned nrings, uint64_t ring_bytes);
/* After load, before attach: ring N at index N of OUTER. 0 or -errno, the message printed. */
int ring_set__attach(struct ring_set *rs, struct bpf_map *outer);

/* Gets each record, in time order; LEN is what the ring holds (>= h->size). */
typedef int (*ring_set_fn)(void *ctx, const struct ps_hdr *h, size_t len);
/*
 * Hands out every record the rings hold now, merged by timestamp, freeing
 * each one's room as it goes. Stops at the first nonzero return of FN and
 * returns it; else the number of records.
 */
long ring_set__drain(struct ring_set *rs, ring_set_fn fn, void *ctx);
/* Bytes the fullest ring held when the last drain started. */
uint64_t ring_set__fullest(const struct ring_set *rs);
/* Bytes the rings hold, not yet drained (all rings). */
uint64_t ring_set__pending(const struct ring_set *rs);
void ring_set__free(struct ring_set *rs);

#endif
