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
 * lane's events interleaved, so each lane collects its events, 16 bytes
 * each (struct lane_ev), in a small buffer that spills, in chunks, to one
 * unnamed temporary file; finish() writes each lane's chunks in order as
 * JSON through the one writer. Memory: a buffer of at most 64 KiB per live
 * thread's lane (an exited thread's is spilled and freed), a chunk list
 * per lane (16 bytes per chunk), the names.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "export.h"
#include "export_stacks.h"
#include "json_writer.h"
#include "sched_model.h"

#define LANE_BUF	(64 * 1024)	/* bytes of events a lane keeps before spilling */
#define LANE_BUF_MIN	1024		/* a lane's first buffer: most threads write little */
#define CPU_NAMES_MAX	65536		/* CPU numbers whose "running on CPU n" id is kept */

enum lane_kind { LANE_THREAD, LANE_SAMPLES, LANE_CPU };

/*
 * One event of a lane: a frame opened ('O') or closed ('C') at AT; or a
 * CPU sample ('S', AT its time) of FRAME frames, which follow as 'F'
 * entries, outermost first.
 */
struct lane_ev {
	uint64_t at;
	int32_t frame;
	uint32_t type;
};

struct chunk {
	int64_t off;		/* in the spill file */
	uint64_t len;
};

struct lane {
	enum lane_kind kind;
	uint32_t pid, tid;
	char name[2 * PS_COMM_LEN + 64];
	char pcomm[PS_COMM_LEN], tcomm[PS_COMM_LEN];	/* the comms NAME was made of */
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
	int64_t state_id[TS_MAX];	/* frame name id of each state but running; -1 until used */
	int64_t *running_id;		/* [cpu]: of "running on CPU n"; -1 until used */
	uint32_t nrunning_ids;
	struct json_writer jw;
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

/* Appends one event to the lane; COUNTS: an event of its own, not a sample's frame. */
static void lane_put(struct speedscope *sp, struct lane *l, uint64_t at, uint32_t type,
		     int64_t frame, bool counts)
{
	struct lane_ev *e;

	if (frame < 0 || frame > INT32_MAX) {
		sp->err = sp->err ?: -ENOMEM;	/* the name table failed */
		return;
	}
	if (!room(sp, l, sizeof(*e)))
		return;		/* sp->err says why */
	if (counts) {
		if (!l->events++)
			l->first_at = at;
		l->last_at = at;
	}
	e = (struct lane_ev *)(l->buf + l->len);
	*e = (struct lane_ev){ .at = at, .frame = (int32_t)frame, .type = type };
	l->len += sizeof(*e);
}

static void frame_event(struct speedscope *sp, struct lane *l, char type, int64_t frame, uint64_t at)
{
	lane_put(sp, l, at, type, frame, true);
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

/* The lane's name from T's (NULL: unknown) names, made again only when they changed. */
static void thread_lane_name(struct lane *l, const struct ps_thread *t,
			     const char *what)
{
	static const char none[PS_COMM_LEN];
	const char *pc = t ? t->proc->comm : none, *tc = t ? t->comm : none;
	char pname[PS_COMM_LEN + 16], tname[PS_COMM_LEN + 16];

	if (l->name[0] && !memcmp(l->pcomm, pc, PS_COMM_LEN) && !memcmp(l->tcomm, tc, PS_COMM_LEN))
		return;
	memcpy(l->pcomm, pc, PS_COMM_LEN);
	memcpy(l->tcomm, tc, PS_COMM_LEN);
	export__process_name(pname, sizeof(pname), t ? t->proc : NULL, l->pid);
	export__thread_name(tname, sizeof(tname), t, l->tid);
	snprintf(l->name, sizeof(l->name), "%s (pid %u), %s (tid %u)%s", pname, l->pid, tname,
		 l->tid, what);
}

/* The frame name id of IV's state ("running on CPU n", "sleeping", ...), looked up once. */
static int64_t state_name_id(struct speedscope *sp, const struct sched_interval *iv)
{
	char name[32];
	int64_t *id;

	if (iv->state != TS_RUNNING) {
		id = &sp->state_id[iv->state];
	} else if (iv->cpu < 0 || iv->cpu >= CPU_NAMES_MAX) {
		id = NULL;	/* not a CPU number: looked up each time */
	} else {
		if ((uint32_t)iv->cpu >= sp->nrunning_ids) {
			uint32_t n = (uint32_t)iv->cpu + 1;
			int64_t *p = realloc(sp->running_id, n * sizeof(*p));

			if (!p)
				return -1;
			for (uint32_t i = sp->nrunning_ids; i < n; i++)
				p[i] = -1;
			sp->running_id = p;
			sp->nrunning_ids = n;
		}
		id = &sp->running_id[iv->cpu];
	}
	if (id && *id >= 0)
		return *id;
	if (iv->state == TS_RUNNING)
		snprintf(name, sizeof(name), "running on CPU %d", iv->cpu);
	else
		snprintf(name, sizeof(name), "%s", sched_model__state_name(iv->state));
	if (!id)
		return export_stacks__name_id(sp->x, name);
	return *id = export_stacks__name_id(sp->x, name);
}

static void on_interval(void *ctx, const struct sched_interval *iv)
{
	struct speedscope *sp = ctx;
	const struct ps_thread *t = iv->thread;
	uint64_t start = iv->start_ns, end = iv->end_ns;
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
	slice(sp, l, state_name_id(sp, iv), sp->offcpu_stack, start, end);
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
	export__thread_name(name, sizeof(name), iv->thread ?: proc_model__thread(sp->c->pm, iv->tid),
			    iv->tid);
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
	lane_put(sp, l, s->h.ts_ns - sp->c->origin_ns, 'S', n, true);
	while (n--)
		lane_put(sp, l, 0, 'F', export_stacks__frame_name_id(sp->x, &f[n]), false);
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
	for (int i = 0; i < TS_MAX; i++)
		sp->state_id[i] = -1;
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

/* N events of a lane as JSON; *SAMPLE_LEFT: frames of an open sample still to come. */
static void write_events(struct json_writer *w, const struct lane_ev *e, size_t n,
			 uint32_t *sample_left)
{
	for (size_t i = 0; i < n; i++) {
		switch (e[i].type) {
		case 'O':
		case 'C':
			json_writer__begin_object(w);
			if (e[i].type == 'O')
				json_writer__kv_lit(w, "type", "O");
			else
				json_writer__kv_lit(w, "type", "C");
			json_writer__kv_int_lit(w, "frame", e[i].frame);
			json_writer__kv_uint_lit(w, "at", e[i].at);
			json_writer__end_object(w);
			break;
		case 'S':
			json_writer__begin_array(w);
			*sample_left = (uint32_t)e[i].frame;
			break;
		case 'F':
			json_writer__int(w, e[i].frame);
			(*sample_left)--;
			break;
		}
		if (e[i].type != 'O' && e[i].type != 'C' && !*sample_left)
			json_writer__end_array(w);	/* the sample's last frame, or none */
	}
}

/* The lane's events as they were collected: the spilled chunks, then the buffer. */
static int copy_lane(struct speedscope *sp, struct lane *l)
{
	struct lane_ev buf[LANE_BUF / sizeof(struct lane_ev)];
	uint32_t sample_left = 0;

	for (size_t i = 0; i < l->nchunks; i++) {
		if (fseeko(sp->spill, l->chunks[i].off, SEEK_SET) ||
		    fread(buf, 1, l->chunks[i].len, sp->spill) != l->chunks[i].len)
			return -EIO;
		write_events(&sp->jw, buf, l->chunks[i].len / sizeof(*buf), &sample_left);
	}
	write_events(&sp->jw, (const struct lane_ev *)l->buf, l->len / sizeof(*buf), &sample_left);
	return json_writer__error(&sp->jw);
}

static int sp_finish(void *st)
{
	struct speedscope *sp = st;
	struct json_writer *w = &sp->jw;
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
	json_writer__init(w, sp->c->out);
	json_writer__begin_object(w);
	json_writer__kv_lit(w, "$schema", "https://www.speedscope.app/file-format-schema.json");
	json_writer__kv_lit(w, "exporter", "procscope");
	json_writer__key_lit(w, "name");
	json_writer__string(w, sp->c->cmdline);
	json_writer__kv_uint_lit(w, "activeProfileIndex", active);
	json_writer__break(w);
	json_writer__key_lit(w, "profiles");
	json_writer__begin_array(w);
	for (size_t i = 0; i < sp->nlanes && !err; i++) {
		struct lane *l = sp->lanes[i];
		bool sampled = l->kind == LANE_SAMPLES;

		json_writer__break(w);
		json_writer__begin_object(w);
		if (sampled)
			json_writer__kv_lit(w, "type", "sampled");
		else
			json_writer__kv_lit(w, "type", "evented");
		json_writer__key_lit(w, "name");
		json_writer__string(w, l->name);
		if (sampled)
			json_writer__kv_lit(w, "unit", "none");
		else
			json_writer__kv_lit(w, "unit", "nanoseconds");
		json_writer__kv_uint_lit(w, "startValue", sampled ? 0 : l->first_at);
		json_writer__kv_uint_lit(w, "endValue", sampled ? l->events : l->last_at);
		if (sampled)
			json_writer__key_lit(w, "samples");
		else
			json_writer__key_lit(w, "events");
		json_writer__begin_array(w);
		err = copy_lane(sp, l);
		json_writer__end_array(w);
		if (sampled) {	/* one sample each */
			json_writer__key_lit(w, "weights");
			json_writer__begin_array(w);
			for (uint64_t k = 0; k < l->events; k++)
				json_writer__uint(w, 1);
			json_writer__end_array(w);
		}
		json_writer__end_object(w);
	}
	json_writer__end_array(w);
	json_writer__break(w);
	json_writer__key_lit(w, "shared");
	json_writer__begin_object(w);
	json_writer__key_lit(w, "frames");
	json_writer__begin_array(w);
	for (uint32_t i = 0; i < export_stacks__nnames(sp->x); i++) {
		json_writer__break(w);
		json_writer__begin_object(w);
		json_writer__key_lit(w, "name");
		json_writer__string(w, export_stacks__name(sp->x, i));
		json_writer__end_object(w);
	}
	json_writer__end_array(w);
	json_writer__end_object(w);
	json_writer__end_object(w);
	fputc('\n', sp->c->out);
	return err ?: sp->err ?: json_writer__error(w);
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
	free(sp->running_id);
	idmap__free(&sp->lane_of);
	if (sp->spill)
		fclose(sp->spill);
	export_stacks__free(sp->x);
	free(sp);
}

const struct export_format export_speedscope = {
	.name = "speedscope",
	.default_output = "procscope.speedscope.json",
	/* stacks unwind in the layout of their time; lanes keep no thread: dead ones released */
	.models = SESSION_SCHED | SESSION_VM | SESSION_RELEASE,
	.begin = sp_begin,
	.record = sp_record,
	.finish = sp_finish,
	.free = sp_free,
};
