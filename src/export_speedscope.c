// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * speedscope export, in speedscope's own file format
 * (https://www.speedscope.app/file-format-schema.json): shared frames and
 * a list of profiles, which is the one speedscope input that holds both
 * timelines and sampled stacks (its Chrome-JSON importer takes either
 * slices or samples, never both).
 *
 *   per thread, an evented profile: one frame per thread-state interval
 *     ("running on CPU 1", "runnable", "sleeping", ...), and under a
 *     sleeping or blocked interval the stack it waited in, outermost frame
 *     first, so the slice opens into the function that slept;
 *   per thread with CPU samples, a sampled profile of those samples in
 *     time order (unit: samples);
 *   per CPU, an evented profile of the threads that ran on it.
 *
 * Times are integer nanoseconds since the recording start. A profile's
 * events must be contiguous in the file but the models deliver every
 * lane's events interleaved, so each lane collects its events as JSON text
 * in a small buffer that spills, in chunks, to one unnamed temporary file;
 * finish() writes each lane's chunks in order. Memory: a buffer of at most
 * 64 KiB per live thread's lane (an exited thread's is spilled and freed),
 * a chunk list per lane (16 bytes per chunk), the names.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "export.h"
#include "export_stacks.h"
#include "json_writer.h"
#include "sched_model.h"

#define LANE_BUF	(64 * 1024)	/* bytes of JSON text a lane keeps before spilling */
#define LANE_BUF_MIN	1024		/* a lane's first buffer: most threads write little */

enum lane_kind { LANE_THREAD, LANE_SAMPLES, LANE_CPU };

struct chunk {
	int64_t off;		/* in the spill file */
	uint64_t len;
};

struct lane {
	enum lane_kind kind;
	uint32_t pid, tid;
	char name[2 * PS_COMM_LEN + 64];
	uint64_t first_at, last_at;	/* ns since the start */
	uint64_t events;	/* events or samples written */
	char *buf;
	size_t len, cap;
	struct chunk *chunks;
	size_t nchunks;
};

struct speedscope {
	struct export_ctx *c;
	struct sched_callbacks scb;
	struct export_stacks *x;
	struct idmap lane_of;	/* kind << 56 | pid << 32 | tid -> lane */
	struct lane **lanes;	/* in order of first appearance */
	size_t nlanes, lanes_cap;
	FILE *spill;
	int64_t spill_len;
	int64_t offcpu_stack;	/* the interval being written waited in it; -1: none */
	struct json_writer jw;	/* for strings: put_str() */
	int err;
};

static struct lane *lane_of(struct speedscope *sp, enum lane_kind kind, uint32_t pid, uint32_t tid)
{
	uint64_t key = (uint64_t)kind << 56 | (uint64_t)pid << 32 | tid;
	struct lane *l = idmap__get(&sp->lane_of, key);

	if (l)
		return l;
	if (sp->nlanes == sp->lanes_cap) {
		size_t cap = sp->lanes_cap ? 2 * sp->lanes_cap : 64;
		struct lane **n = realloc(sp->lanes, cap * sizeof(*n));

		if (!n)
			goto fail;
		sp->lanes = n;
		sp->lanes_cap = cap;
	}
	l = calloc(1, sizeof(*l));
	if (!l || idmap__set(&sp->lane_of, key, l)) {
		free(l);
		goto fail;
	}
	l->kind = kind;
	l->pid = pid;
	l->tid = tid;
	sp->lanes[sp->nlanes++] = l;
	return l;
fail:
	sp->err = -ENOMEM;
	return NULL;
}

/* The lane's buffer to the spill file, as one more chunk. */
static void spill(struct speedscope *sp, struct lane *l)
{
	struct chunk *c;

	if (!l->len)
		return;
	if (!sp->spill && !(sp->spill = tmpfile())) {
		sp->err = -errno;
		return;
	}
	c = realloc(l->chunks, (l->nchunks + 1) * sizeof(*c));
	if (!c) {
		sp->err = -ENOMEM;
		return;
	}
	l->chunks = c;
	if (fwrite(l->buf, 1, l->len, sp->spill) != l->len) {
		sp->err = -EIO;
		return;
	}
	c[l->nchunks++] = (struct chunk){ .off = sp->spill_len, .len = l->len };
	sp->spill_len += l->len;
	l->len = 0;
}

/* Room for NEED more bytes in the lane's buffer: grown up to LANE_BUF, then spilled. */
static bool room(struct speedscope *sp, struct lane *l, size_t need)
{
	while (l->cap - l->len < need && l->cap < LANE_BUF) {
		size_t cap = l->cap ? 2 * l->cap : LANE_BUF_MIN;
		char *b = realloc(l->buf, cap);

		if (!b) {
			sp->err = -ENOMEM;
			return false;
		}
		l->buf = b;
		l->cap = cap;
	}
	if (l->cap - l->len < need)
		spill(sp, l);
	return !sp->err && l->cap - l->len >= need;
}

/* Appends one event (JSON text, at most 100 bytes) at AT to the lane. */
static void lane_put(struct speedscope *sp, struct lane *l, uint64_t at, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void lane_put(struct speedscope *sp, struct lane *l, uint64_t at, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!room(sp, l, 128))
		return;		/* sp->err says why */
	if (l->events++)
		l->buf[l->len++] = ',';
	else
		l->first_at = at;
	l->last_at = at;
	va_start(ap, fmt);
	n = vsnprintf(l->buf + l->len, l->cap - l->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		l->len += n;
}

static void frame_event(struct speedscope *sp, struct lane *l, char type, int64_t frame, uint64_t at)
{
	if (frame < 0) {
		sp->err = -ENOMEM;
		return;
	}
	lane_put(sp, l, at, "{\"type\":\"%c\",\"frame\":%" PRId64 ",\"at\":%" PRIu64 "}", type, frame,
		 at);
}

/* FRAME from START to END on lane L, with stack STACK (-1: none) under it. */
static void slice(struct speedscope *sp, struct lane *l, int64_t frame, int64_t stack,
		  uint64_t start, uint64_t end)
{
	struct stack_model *sm = export_stacks__model(sp->x);
	const struct stack_frame *f = NULL;
	int64_t ids[PS_KSTACK_MAX + 128];
	uint32_t n = 0;

	start -= sp->c->origin_ns;
	end -= sp->c->origin_ns;
	if (stack >= 0)
		f = stack_model__frames(sm, stack, &n);
	if (n > sizeof(ids) / sizeof(ids[0]))
		n = sizeof(ids) / sizeof(ids[0]);
	frame_event(sp, l, 'O', frame, start);
	for (uint32_t i = n; i--;) {	/* outermost first */
		ids[i] = export_stacks__frame_name_id(sp->x, &f[i]);
		frame_event(sp, l, 'O', ids[i], start);
	}
	for (uint32_t i = 0; i < n; i++)
		frame_event(sp, l, 'C', ids[i], end);
	frame_event(sp, l, 'C', frame, end);
}

static void thread_lane_name(struct lane *l, const struct ps_thread *t,
			     const char *what)
{
	char pname[PS_COMM_LEN + 16], tname[PS_COMM_LEN + 16];

	export__process_name(pname, sizeof(pname), t ? t->proc : NULL, l->pid);
	export__thread_name(tname, sizeof(tname), t, l->tid);
	snprintf(l->name, sizeof(l->name), "%s (pid %u), %s (tid %u)%s", pname, l->pid, tname,
		 l->tid, what);
}

static void on_interval(void *ctx, const struct sched_interval *iv)
{
	struct speedscope *sp = ctx;
	const struct ps_thread *t = proc_model__thread(sp->c->pm, iv->tid);
	uint64_t start = iv->start_ns, end = iv->end_ns;
	char name[32];
	struct lane *l;

	sp->offcpu_stack = -1;
	export_stacks__interval(sp->x, iv);	/* a wait's stack comes as a sample, now */
	if (iv->state == TS_UNKNOWN || iv->state == TS_DEAD || !export__want_pid(sp->c, iv->tgid))
		return;
	if (!export__clip(sp->c, &start, &end))
		return;
	if (t && t->tgid != iv->tgid)
		t = NULL;
	l = lane_of(sp, LANE_THREAD, iv->tgid, iv->tid);
	if (!l)
		return;
	if (t || !l->name[0])	/* the latest name: renames and exec show */
		thread_lane_name(l, t, "");
	if (iv->state == TS_RUNNING)
		snprintf(name, sizeof(name), "running on CPU %d", iv->cpu);
	else
		snprintf(name, sizeof(name), "%s", sched_model__state_name(iv->state));
	slice(sp, l, export_stacks__name_id(sp->x, name), sp->offcpu_stack, start, end);
}

static void on_cpu_interval(void *ctx, const struct sched_cpu_interval *iv)
{
	struct speedscope *sp = ctx;
	uint64_t start = iv->start_ns, end = iv->end_ns;
	char name[PS_COMM_LEN + 16];
	struct lane *l;

	if (!iv->tid || !export__want_pid(sp->c, iv->tgid))
		return;		/* idle is the gaps between slices */
	if (!export__clip(sp->c, &start, &end))
		return;
	l = lane_of(sp, LANE_CPU, EXPORT_CPU_PID, iv->cpu);
	if (!l)
		return;
	if (!l->name[0])
		snprintf(l->name, sizeof(l->name), "CPUs, CPU %u", iv->cpu);
	export__thread_name(name, sizeof(name), proc_model__thread(sp->c->pm, iv->tid), iv->tid);
	slice(sp, l, export_stacks__name_id(sp->x, name), -1, start, end);
}

static void on_sample(void *ctx, const struct stack_sample *s)
{
	struct speedscope *sp = ctx;

	if (s->kind == SK_OFFCPU)
		sp->offcpu_stack = s->stack;
}

/* A CPU-clock sample: its stack, outermost first, on the thread's sampled profile. */
static void on_stack(void *ctx, const struct ps_ustack *s, uint32_t id)
{
	struct speedscope *sp = ctx;
	struct stack_model *sm = export_stacks__model(sp->x);
	const struct ps_thread *t;
	const struct stack_frame *f;
	uint32_t n;
	struct lane *l;

	if (s->kind != PS_STK_SAMPLE || !export__want_pid(sp->c, s->h.tgid) ||
	    !export__want_ts(sp->c, s->h.ts_ns))
		return;
	l = lane_of(sp, LANE_SAMPLES, s->h.tgid, s->h.tid);
	if (!l)
		return;
	t = proc_model__thread(sp->c->pm, s->h.tid);
	if (t && t->tgid != s->h.tgid)
		t = NULL;
	if (t || !l->name[0])
		thread_lane_name(l, t, " CPU samples");
	f = stack_model__frames(sm, id, &n);
	lane_put(sp, l, s->h.ts_ns - sp->c->origin_ns, "[");
	while (n--) {
		int64_t name = export_stacks__frame_name_id(sp->x, &f[n]);

		if (name < 0) {
			sp->err = -ENOMEM;
			return;
		}
		if (!room(sp, l, 32))
			return;
		l->len += snprintf(l->buf + l->len, l->cap - l->len, "%" PRId64 "%s", name,
				   n ? "," : "");
	}
	if (room(sp, l, 8))
		l->buf[l->len++] = ']';
}

static void ignore_mem_call(void *ctx, const struct ps_hdr *h, int64_t stack)
{
	(void)ctx;
	(void)h;
	(void)stack;
}

static void *sp_begin(struct export_ctx *c, struct session_callbacks *cb)
{
	struct speedscope *sp = calloc(1, sizeof(*sp));
	struct export_stacks_callbacks xcb = {
		.mem_call = ignore_mem_call, .stack = on_stack, .sample = on_sample,
	};

	if (!sp)
		return NULL;
	sp->c = c;
	sp->offcpu_stack = -1;
	xcb.ctx = sp;
	sp->x = export_stacks__new(c->s, &xcb);
	if (!sp->x) {
		free(sp);
		return NULL;
	}
	sp->scb = (struct sched_callbacks){ .interval = on_interval, .cpu_interval = on_cpu_interval,
					    .ctx = sp };
	cb->sched = &sp->scb;
	return sp;
}

/* A thread's lanes are complete once it exits: to the spill file, their buffers freed. */
static void thread_done(struct speedscope *sp, uint32_t pid, uint32_t tid)
{
	for (enum lane_kind k = LANE_THREAD; k <= LANE_SAMPLES; k++) {
		struct lane *l = idmap__get(&sp->lane_of, (uint64_t)k << 56 | (uint64_t)pid << 32 | tid);

		if (!l || !l->buf)
			continue;
		spill(sp, l);
		free(l->buf);
		l->buf = NULL;
		l->cap = 0;
	}
}

static int sp_record(void *st, const struct session_event *ev)
{
	struct speedscope *sp = st;

	if (ev->h->type == PS_REC_EXIT)
		thread_done(sp, ev->h->tgid, ev->h->tid);
	return sp->err ?: export_stacks__record(sp->x, ev);
}

/* The lane's events as they were written: the spilled chunks, then the buffer. */
static int copy_lane(struct speedscope *sp, struct lane *l, FILE *out)
{
	char buf[LANE_BUF];

	for (size_t i = 0; i < l->nchunks; i++) {
		if (fseeko(sp->spill, l->chunks[i].off, SEEK_SET) ||
		    fread(buf, 1, l->chunks[i].len, sp->spill) != l->chunks[i].len)
			return -EIO;
		fwrite(buf, 1, l->chunks[i].len, out);
	}
	if (l->len)
		fwrite(l->buf, 1, l->len, out);
	return ferror(out) ? -EIO : 0;
}

/*
 * A JSON string as a value of its own: the writer hands a complete
 * outermost value to the FILE, so it mixes with the text written here.
 */
static void put_str(struct speedscope *sp, const char *key, const char *str)
{
	FILE *out = sp->c->out;

	fprintf(out, "\"%s\":", key);
	json_writer__init(&sp->jw, out);
	json_writer__string(&sp->jw, str);
	sp->err = sp->err ?: json_writer__error(&sp->jw);
}

static int sp_finish(void *st)
{
	struct speedscope *sp = st;
	FILE *out = sp->c->out;
	size_t active = 0;
	int err = sp->err ?: export_stacks__finish(sp->x);

	if (err)
		return err;
	if (sp->spill && fflush(sp->spill))
		return -EIO;
	for (size_t i = 0; i < sp->nlanes; i++) {
		if (sp->lanes[i]->kind == LANE_THREAD) {	/* open on the first thread */
			active = i;
			break;
		}
	}
	fputc('{', out);
	put_str(sp, "$schema", "https://www.speedscope.app/file-format-schema.json");
	fputc(',', out);
	put_str(sp, "exporter", "procscope");
	fputc(',', out);
	put_str(sp, "name", sp->c->cmdline);
	fprintf(out, ",\"activeProfileIndex\":%zu,\n\"profiles\":[", active);
	for (size_t i = 0; i < sp->nlanes && !err; i++) {
		struct lane *l = sp->lanes[i];
		bool sampled = l->kind == LANE_SAMPLES;

		fputs(i ? ",\n{" : "\n{", out);
		put_str(sp, "type", sampled ? "sampled" : "evented");
		fputc(',', out);
		put_str(sp, "name", l->name);
		fprintf(out, ",\"unit\":\"%s\",\"startValue\":%" PRIu64 ",\"endValue\":%" PRIu64
			",\"%s\":[", sampled ? "none" : "nanoseconds", sampled ? 0 : l->first_at,
			sampled ? l->events : l->last_at, sampled ? "samples" : "events");
		err = copy_lane(sp, l, out);
		fputc(']', out);
		if (sampled) {	/* one sample each */
			fputs(",\"weights\":[", out);
			for (uint64_t k = 0; k < l->events; k++)
				fputs(k ? ",1" : "1", out);
			fputc(']', out);
		}
		fputc('}', out);
	}
	fputs("],\n\"shared\":{\"frames\":[", out);
	for (uint32_t i = 0; i < export_stacks__nnames(sp->x); i++) {
		fputs(i ? ",\n{" : "\n{", out);
		put_str(sp, "name", export_stacks__name(sp->x, i));
		fputc('}', out);
	}
	fputs("]}}\n", out);
	return err ?: sp->err ?: ferror(out) ? -EIO : 0;
}

static void sp_free(void *st)
{
	struct speedscope *sp = st;

	if (!sp)
		return;
	for (size_t i = 0; i < sp->nlanes; i++) {
		free(sp->lanes[i]->buf);
		free(sp->lanes[i]->chunks);
		free(sp->lanes[i]);
	}
	free(sp->lanes);
	idmap__free(&sp->lane_of);
	if (sp->spill)
		fclose(sp->spill);
	export_stacks__free(sp->x);
	free(sp);
}

const struct export_format export_speedscope = {
	.name = "speedscope",
	.default_output = "procscope.speedscope.json",
	.models = SESSION_SCHED | SESSION_VM,	/* stacks unwind in the layout of their time */
	.begin = sp_begin,
	.record = sp_record,
	.finish = sp_finish,
	.free = sp_free,
};
