// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The rings are read in place, without libbpf's ring_buffer (1.1 has no
 * per-ring consume): the merge needs every ring's head at once, and a
 * record's room is given back only once the record was handed out, so
 * nothing is copied twice and no staging buffer grows with a backlog.
 *
 * A BPF ring buffer maps as: one read-write page holding the consumer
 * position, one read-only page holding the producer position, then the
 * data area mapped twice in a row, so a record that wraps reads as one
 * piece. Each record has an 8-byte kernel header (length with BUSY and
 * DISCARD bits, page offset) and is padded to 8 bytes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include "ring_set.h"
#include "util.h"

#define RING_TOTAL_DEFAULT	(256ull << 20)
#define RING_MAX_DEFAULT	(8ull << 20)
#define RING_MIN_DEFAULT	(1ull << 20)

struct ring {
	int fd;
	uint64_t mask;		/* data bytes - 1 */
	uint64_t *consumer;	/* page 0, ours to write */
	const uint64_t *producer;	/* page 1 */
	const uint8_t *data;	/* mapped twice */
	uint64_t cons, prod;	/* this drain: next to read, end */
	const struct ps_hdr *head;	/* next record to hand out, NULL if none */
	uint32_t head_len;
};

struct ring_set {
	struct ring *rings;
	unsigned nrings;
	size_t page;
	unsigned *heap;		/* ring indexes with a head, smallest head ts first */
	unsigned nheap;
	uint64_t fullest;	/* bytes, at the last drain's start */
};

uint64_t ring_set__default_bytes(unsigned nrings)
{
	uint64_t b = RING_MAX_DEFAULT;

	while (b > RING_MIN_DEFAULT && b * (nrings ? nrings : 1) > RING_TOTAL_DEFAULT)
		b >>= 1;
	return b;
}

static int ring_map(struct ring *r, size_t page, uint64_t bytes)
{
	void *p;

	r->mask = bytes - 1;
	p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	r->consumer = p;
	p = mmap(NULL, page + 2 * bytes, PROT_READ, MAP_SHARED, r->fd, page);
	if (p == MAP_FAILED)
		return -errno;
	r->producer = p;
	r->data = (const uint8_t *)p + page;
	return 0;
}

struct ring_set *ring_set__new(struct bpf_map *outer, unsigned nrings, uint64_t ring_bytes)
{
	struct ring_set *rs = calloc(1, sizeof(*rs));
	int err = -ENOMEM;

	if (!rs)
		goto err_out;
	rs->page = sysconf(_SC_PAGESIZE);
	rs->rings = calloc(nrings, sizeof(*rs->rings));
	rs->heap = calloc(nrings, sizeof(*rs->heap));
	if (!rs->rings || !rs->heap)
		goto err_free;
	for (unsigned i = 0; i < nrings; i++)
		rs->rings[i].fd = -1;
	rs->nrings = nrings;
	for (unsigned i = 0; i < nrings; i++) {
		struct ring *r = &rs->rings[i];

		r->fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "ps_ring", 0, 0, ring_bytes, NULL);
		if (r->fd < 0) {
			err = -errno;
			goto err_free;
		}
		err = ring_map(r, rs->page, ring_bytes);
		if (err)
			goto err_free;
	}
	/* the template the verifier checks the probes' use against: one of them */
	err = bpf_map__set_inner_map_fd(outer, rs->rings[0].fd);
	if (!err)
		err = bpf_map__set_max_entries(outer, nrings);
	if (err)
		goto err_free;
	return rs;

err_free:
	/* not allowed to use BPF at all: the caller says so as for the probes */
	if (err != -EPERM && err != -EACCES)
		ps_err("cannot set up %u ring buffers of %llu bytes: %s%s", nrings,
		       (unsigned long long)ring_bytes, strerror(-err),
		       err == -ENOMEM ? " (try a smaller -b)" : "");
	ring_set__free(rs);
err_out:
	errno = -err;
	return NULL;
}

int ring_set__attach(struct ring_set *rs, struct bpf_map *outer)
{
	int outer_fd = bpf_map__fd(outer);

	for (unsigned i = 0; i < rs->nrings; i++) {
		__u32 key = i;

		if (bpf_map_update_elem(outer_fd, &key, &rs->rings[i].fd, BPF_ANY)) {
			int err = -errno;

			ps_err("cannot install ring buffer %u: %s", i, strerror(-err));
			return err;
		}
	}
	return 0;
}

/* Moves R's head to its next whole record this drain, skipping discarded ones. */
static void ring_next(struct ring *r)
{
	r->head = NULL;
	while (r->cons < r->prod) {
		const uint32_t *kh = (const void *)(r->data + (r->cons & r->mask));
		uint32_t len = __atomic_load_n(kh, __ATOMIC_ACQUIRE);

		if (len & BPF_RINGBUF_BUSY_BIT)
			return;	/* still being written: the next drain takes it */
		if (!(len & BPF_RINGBUF_DISCARD_BIT) && (len & ~BPF_RINGBUF_DISCARD_BIT) >=
		    sizeof(struct ps_hdr)) {
			r->head = (const void *)(kh + 2);
			r->head_len = len;
			return;
		}
		len &= ~BPF_RINGBUF_DISCARD_BIT;
		r->cons += (len + BPF_RINGBUF_HDR_SZ + 7) & ~7ull;
		__atomic_store_n(r->consumer, r->cons, __ATOMIC_RELEASE);
	}
}

/* Gives the head's room back to the probes and moves on. */
static void ring_pop(struct ring *r)
{
	r->cons += (r->head_len + BPF_RINGBUF_HDR_SZ + 7) & ~7ull;
	__atomic_store_n(r->consumer, r->cons, __ATOMIC_RELEASE);
	ring_next(r);
}

static uint64_t head_ts(const struct ring_set *rs, unsigned i)
{
	return rs->rings[rs->heap[i]].head->ts_ns;
}

static void heap_down(struct ring_set *rs, unsigned i)
{
	for (;;) {
		unsigned l = 2 * i + 1, m = i, t;

		if (l < rs->nheap && head_ts(rs, l) < head_ts(rs, m))
			m = l;
		if (l + 1 < rs->nheap && head_ts(rs, l + 1) < head_ts(rs, m))
			m = l + 1;
		if (m == i)
			return;
		t = rs->heap[i];
		rs->heap[i] = rs->heap[m];
		rs->heap[m] = t;
		i = m;
	}
}

long ring_set__drain(struct ring_set *rs, ring_set_fn fn, void *ctx)
{
	long n = 0;
	int err = 0;

	/* every ring's end first, so what is merged is one instant's contents */
	for (unsigned i = 0; i < rs->nrings; i++)
		rs->rings[i].prod = __atomic_load_n(rs->rings[i].producer, __ATOMIC_ACQUIRE);
	rs->nheap = 0;
	rs->fullest = 0;
	for (unsigned i = 0; i < rs->nrings; i++) {
		struct ring *r = &rs->rings[i];

		r->cons = __atomic_load_n(r->consumer, __ATOMIC_ACQUIRE);
		if (r->prod - r->cons > rs->fullest)
			rs->fullest = r->prod - r->cons;
		ring_next(r);
		if (r->head)
			rs->heap[rs->nheap++] = i;
	}
	for (unsigned i = rs->nheap / 2; i-- > 0;)
		heap_down(rs, i);
	while (rs->nheap) {
		struct ring *r = &rs->rings[rs->heap[0]];

		err = fn(ctx, r->head, r->head_len);
		if (err)
			break;
		n++;
		ring_pop(r);
		if (!r->head)
			rs->heap[0] = rs->heap[--rs->nheap];
		heap_down(rs, 0);
	}
	return err ? err : n;
}

uint64_t ring_set__fullest(const struct ring_set *rs)
{
	return rs->fullest;
}

uint64_t ring_set__pending(const struct ring_set *rs)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < rs->nrings; i++)
		sum += __atomic_load_n(rs->rings[i].producer, __ATOMIC_ACQUIRE) -
		       __atomic_load_n(rs->rings[i].consumer, __ATOMIC_ACQUIRE);
	return sum;
}

void ring_set__free(struct ring_set *rs)
{
	if (!rs)
		return;
	for (unsigned i = 0; i < rs->nrings; i++) {
		struct ring *r = &rs->rings[i];

		if (r->consumer)
			munmap(r->consumer, rs->page);
		if (r->producer)
			munmap((void *)r->producer, rs->page + 2 * (r->mask + 1));
		if (r->fd >= 0)
			close(r->fd);
	}
	free(rs->rings);
	free(rs->heap);
	free(rs);
}
