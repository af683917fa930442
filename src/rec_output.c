// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The recorder's output (rec_output.h): one file, a capped series, or the
 * flight recorder, with the keyframe split at each new file or group.
 *
 * A rotation is two steps, one drain apart: start() opens the next file or
 * group, stamps K and writes the keyframe; from then on a probe record goes
 * to the new one if stamped at or after K, to the one before if older.
 * complete() at the next tick closes the one before (a file gets its
 * footer; a flight-recorder group is sealed and the oldest groups past the
 * size go).
 *
 * Flight recorder: groups of about a quarter of --ring each, so between
 * three quarters and all of SIZE is kept, always at least the newest group
 * whole. Saving flushes the open groups (a chunk boundary, nothing else)
 * and writes the kept ones after one header whose start is the first kept
 * group's K.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "rec_output.h"
#include "util.h"

#define GROUPS_PER_RING	4
#define MAX_GROUPS	64	/* more would mean groups smaller than their keyframes */
#define KEEP_MAX	1024	/* files of a series remembered for --max-files */
/* a compressed chunk is about a fifth of its records (zstd -1 on these records) */
#define RAW_PER_STORED	4

struct group {
	struct trace_writer *w;
	uint64_t start_ns;	/* K: its keyframe's instant */
};

struct rec_output {
	struct rec_output_opts o;
	char *path;		/* the current file's name */
	char *prev_path;	/* the file before, while it takes older records */
	struct ps_file_header hdr;
	/* one file or a series: cur, and prev until the next tick */
	struct trace_writer *cur, *prev;
	struct ps_lost base_cur, base_prev;	/* counters when cur, prev started (a series) */
	struct ps_lost lost;		/* the newest counters */
	uint64_t split_ns;	/* K of cur: older probe records go to prev */
	unsigned seq;		/* number of the current (or next saved) file */
	struct {
		dev_t dev;
		ino_t ino;
	} kept[KEEP_MAX];	/* files of the series by seq % KEEP_MAX */
	/* flight recorder: groups[0] oldest; the last is cur, the one before may be prev */
	struct group groups[MAX_GROUPS];
	unsigned ngroups;
	bool rotating;		/* prev still takes older records */
	uint64_t gone_records;	/* in files closed, groups dropped */
	bool in_place;
};

static char *seq_path(const char *path, unsigned seq)
{
	char *p;

	if (!seq)
		return strdup(path);
	if (asprintf(&p, "%s.%u", path, seq) < 0)
		return NULL;
	return p;
}

static bool ring_mode(const struct rec_output *out)
{
	return out->o.ring_bytes;
}

static uint64_t writer_records(const struct trace_writer *w)
{
	const __u64 *c = trace_writer__counts(w);
	uint64_t n = 0;

	for (int t = 0; t < PS_REC_MAX; t++)
		n += c[t];
	return n;
}

/* A file of a series: its footer, cumulative counters less those at its start. */
static int close_file(struct rec_output *out, struct trace_writer *w, uint64_t end_ns,
		      const struct ps_lost *base, int exit_status)
{
	struct ps_footer f = { .end_ns = end_ns, .exit_status = exit_status };
	int err;

	f.lost_total = out->lost.lost_total - base->lost_total;
	for (int t = 0; t < PS_REC_SLOTS; t++)
		f.lost_by_type[t] = out->lost.lost_by_type[t] - base->lost_by_type[t];
	for (int k = 0; k < PS_STK_SLOTS; k++)
		f.stacks_skipped[k] = out->lost.stacks_skipped[k] - base->stacks_skipped[k];
	err = trace_writer__finish(w, &f);
	if (trace_writer__in_place(w))
		out->in_place = true;
	return err;
}

/* --max-files: the file that fell out of the window, if it is still the one this run made. */
static void drop_old_file(struct rec_output *out, unsigned seq)
{
	char *p = seq_path(out->o.path, seq);
	struct stat st;

	if (p && !lstat(p, &st) && S_ISREG(st.st_mode) && st.st_dev == out->kept[seq % KEEP_MAX].dev &&
	    st.st_ino == out->kept[seq % KEEP_MAX].ino && unlink(p))
		ps_dbg("cannot remove '%s': %s", p, strerror(errno));
	free(p);
}

static void remember_file(struct rec_output *out, unsigned seq, const char *path)
{
	struct stat st;

	if (!stat(path, &st)) {
		out->kept[seq % KEEP_MAX].dev = st.st_dev;
		out->kept[seq % KEEP_MAX].ino = st.st_ino;
	}
}

static struct trace_writer *open_file(struct rec_output *out, unsigned seq)
{
	struct trace_writer *w;
	char *p = seq_path(out->o.path, seq);

	if (!p)
		return NULL;
	w = trace_writer__open(p, &out->hdr, out->o.cmdline, out->o.targets, out->o.hostname,
			       out->o.boot_id);
	if (!w) {
		free(p);
		return NULL;
	}
	free(out->path);
	out->path = p;
	return w;
}

struct rec_output *rec_output__open(const struct rec_output_opts *o)
{
	struct rec_output *out = calloc(1, sizeof(*out));
	int err = -ENOMEM;

	if (!out)
		goto err_out;
	out->o = *o;
	out->hdr = *o->hdr;
	out->split_ns = o->hdr->start_ns;
	if (ring_mode(out)) {
		out->path = strdup(o->path);
		out->cur = trace_writer__open_mem();
		if (!out->path || !out->cur)
			goto err_free;
		out->groups[0] = (struct group){ out->cur, o->hdr->start_ns };
		out->ngroups = 1;
		return out;
	}
	out->cur = open_file(out, 0);
	if (!out->cur) {
		err = -errno;
		goto err_free;
	}
	return out;

err_free:
	rec_output__free(out);
err_out:
	errno = -err;
	return NULL;
}

int rec_output__add(struct rec_output *out, const struct ps_hdr *h)
{
	if (out->rotating && h->ts_ns < out->split_ns)
		return trace_writer__add(out->prev, h);
	return trace_writer__add(out->cur, h);
}

struct trace_writer *rec_output__writer(struct rec_output *out)
{
	return out->cur;
}

int rec_output__lost(struct rec_output *out, const struct ps_lost *l)
{
	struct ps_lost rel = *l;

	out->lost = *l;
	if (!ring_mode(out)) {
		rel.lost_total -= out->base_cur.lost_total;
		for (int t = 0; t < PS_REC_SLOTS; t++)
			rel.lost_by_type[t] -= out->base_cur.lost_by_type[t];
		for (int k = 0; k < PS_STK_SLOTS; k++)
			rel.stacks_skipped[k] -= out->base_cur.stacks_skipped[k];
	}
	return trace_writer__add(out->cur, &rel.h);
}

/* Step 1: the next file or group, K, its keyframe. */
static int start(struct rec_output *out)
{
	struct trace_writer *w;
	uint64_t k;
	int err;

	if (ring_mode(out) && out->ngroups == MAX_GROUPS) {
		/* groups came out smaller than planned: the oldest goes early */
		out->gone_records += writer_records(out->groups[0].w);
		trace_writer__free(out->groups[0].w);
		memmove(out->groups, out->groups + 1, --out->ngroups * sizeof(out->groups[0]));
	}
	k = ps_now_ns(CLOCK_MONOTONIC);
	if (ring_mode(out)) {
		w = trace_writer__open_mem();
		if (!w)
			return -errno;
		out->groups[out->ngroups++] = (struct group){ w, k };
	} else {
		char *prev_path = out->path;

		out->path = NULL;
		out->hdr.start_ns = k;
		w = open_file(out, out->seq + 1);
		if (!w) {
			out->path = prev_path;
			return -errno;
		}
		out->prev_path = prev_path;
		out->seq++;
		/* the new file counts losses from its start on */
		out->base_prev = out->base_cur;
		out->base_cur = out->lost;
	}
	out->prev = out->cur;
	out->cur = w;
	out->split_ns = k;
	out->rotating = true;
	err = out->o.keyframe(out->o.ctx, w);
	return err;
}

/* Step 2, a drain later: the one before has all its records. */
static int complete(struct rec_output *out)
{
	uint64_t total = 0;
	int err;

	out->rotating = false;
	if (ring_mode(out)) {
		err = trace_writer__seal(out->prev);
		out->prev = NULL;
		for (unsigned i = 0; i < out->ngroups; i++)
			total += trace_writer__bytes(out->groups[i].w);
		while (out->ngroups > 1 && total > out->o.ring_bytes) {
			total -= trace_writer__bytes(out->groups[0].w);
			out->gone_records += writer_records(out->groups[0].w);
			trace_writer__free(out->groups[0].w);
			memmove(out->groups, out->groups + 1, --out->ngroups * sizeof(out->groups[0]));
		}
		return err;
	}
	trace_writer__no_sync(out->prev);	/* the recording goes on: no stall */
	err = close_file(out, out->prev, out->split_ns, &out->base_prev, -1);
	if (!err)
		remember_file(out, out->seq - 1, out->prev_path);
	out->gone_records += writer_records(out->prev);
	trace_writer__free(out->prev);
	out->prev = NULL;
	free(out->prev_path);
	out->prev_path = NULL;
	if (!err && out->o.max_files && out->seq >= out->o.max_files)
		drop_old_file(out, out->seq - out->o.max_files);
	return err;
}

/*
 * The current file or group reached its size. Buffered records count at a
 * guess (RAW_PER_STORED) until the guess says full; then they are written
 * as a chunk and the real size decides, so a file passes SIZE by at most
 * what one drain brought.
 */
static int full(struct rec_output *out)
{
	uint64_t limit = ring_mode(out) ? out->o.ring_bytes / GROUPS_PER_RING : out->o.max_size;
	int err;

	if (!limit || trace_writer__bytes(out->cur) +
		      trace_writer__raw_bytes(out->cur) / RAW_PER_STORED < limit)
		return 0;
	err = trace_writer__flush(out->cur);
	if (err)
		return err;
	return trace_writer__bytes(out->cur) >= limit;
}

int rec_output__tick(struct rec_output *out)
{
	int err;

	if (out->rotating)
		return complete(out);
	err = full(out);
	return err > 0 ? start(out) : err;
}

int rec_output__flush(struct rec_output *out)
{
	int err = 0;

	if (out->prev)
		err = trace_writer__flush(out->prev);
	if (!err)
		err = trace_writer__flush(out->cur);
	if (!err && !ring_mode(out) && trace_writer__in_place(out->cur))
		out->in_place = true;
	return err;
}

int rec_output__save(struct rec_output *out, int exit_status)
{
	struct trace_writer *ws[MAX_GROUPS];
	struct ps_footer f = { .exit_status = exit_status };
	struct ps_file_header h = out->hdr;
	char *p;
	int err;

	if (!ring_mode(out))
		return 0;
	err = rec_output__flush(out);
	if (err)
		return err;
	for (unsigned i = 0; i < out->ngroups; i++)
		ws[i] = out->groups[i].w;
	h.start_ns = out->groups[0].start_ns;
	f.end_ns = ps_now_ns(CLOCK_MONOTONIC);
	f.lost_total = out->lost.lost_total;
	memcpy(f.lost_by_type, out->lost.lost_by_type, sizeof(f.lost_by_type));
	memcpy(f.stacks_skipped, out->lost.stacks_skipped, sizeof(f.stacks_skipped));
	p = seq_path(out->o.path, out->seq);
	if (!p)
		return -ENOMEM;
	err = trace_writer__save(p, &h, out->o.cmdline, out->o.targets, out->o.hostname,
				 out->o.boot_id, ws, out->ngroups, &f);
	if (err) {
		free(p);
		return err;
	}
	free(out->path);
	out->path = p;
	out->seq++;
	out->in_place = true;
	return 0;
}

int rec_output__finish(struct rec_output *out, int exit_status)
{
	int err = 0;

	if (ring_mode(out)) {
		if (out->rotating)
			err = complete(out);
		return err ? err : rec_output__save(out, exit_status);
	}
	if (out->rotating)
		err = complete(out);
	if (!err)
		err = close_file(out, out->cur, ps_now_ns(CLOCK_MONOTONIC), &out->base_cur,
				 exit_status);
	return err;
}

void rec_output__free(struct rec_output *out)
{
	if (!out)
		return;
	if (ring_mode(out)) {
		for (unsigned i = 0; i < out->ngroups; i++)
			trace_writer__free(out->groups[i].w);
	} else {
		trace_writer__free(out->prev);
		trace_writer__free(out->cur);
	}
	free(out->path);
	free(out->prev_path);
	free(out);
}

uint64_t rec_output__records(const struct rec_output *out)
{
	uint64_t n = out->gone_records;

	if (ring_mode(out)) {
		for (unsigned i = 0; i < out->ngroups; i++)
			n += writer_records(out->groups[i].w);
		return n;
	}
	return n + writer_records(out->cur) + (out->prev ? writer_records(out->prev) : 0);
}

uint64_t rec_output__bytes(const struct rec_output *out)
{
	uint64_t total = 0;

	if (!ring_mode(out))
		return trace_writer__bytes(out->cur);
	for (unsigned i = 0; i < out->ngroups; i++)
		total += trace_writer__bytes(out->groups[i].w);
	return total;
}

unsigned rec_output__files(const struct rec_output *out)
{
	return ring_mode(out) ? out->seq : out->seq + 1;
}

const char *rec_output__last_path(const struct rec_output *out)
{
	return out->path;
}

bool rec_output__in_place(const struct rec_output *out)
{
	return out->in_place || (!ring_mode(out) && trace_writer__in_place(out->cur));
}
