// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Memory calls and execs of the HTML page: each call a mark on the time
 * axis with its arguments ["M", puid, tid, t, "name", "args"], the first
 * HTML_CALLS_PER_COL of a process in a pixel column whole, the rest of
 * the column counted (["m", puid, col, n]); each exec ["X", puid, t,
 * "filename"].
 *
 * With --stacks, the recorded call stacks of the calls written whole (brk
 * that grew the heap, anonymous mmap, mprotect: what the stack model pairs
 * with a call) follow them: ["s", id, ["frame", ...]] once per distinct
 * stack, innermost frame first, then ["k", puid, tid, t, id] for the call
 * of thread TID at T. Opt-in: unwinding every stack of a busy session
 * costs more than the rest of the export (the folded export's --stacks
 * mmap took 8 CPU s and 1.1 GiB on a 60 s busy record -a), so only the
 * drawn processes' stacks are unwound.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "export_html.h"

void html_calls__flush(struct html *x, struct hx_proc *hp)
{
	if (hp->call_col < 0 || hp->call_n <= HTML_CALLS_PER_COL)
		return;
	json_writer__begin_array(&x->w);
	json_writer__string(&x->w, "m");
	json_writer__uint(&x->w, hp->uid);
	json_writer__int(&x->w, hp->call_col);
	json_writer__uint(&x->w, hp->call_n - HTML_CALLS_PER_COL);
	json_writer__end_array(&x->w);
	hp->call_col = -1;
}

void html_calls__call(struct html *x, const struct session_event *ev)
{
	const struct ps_hdr *h = ev->h;
	struct export_mem_call call;
	char args[1024], num[32], num2[256];
	struct hx_proc *hp;
	size_t len = 0;
	int64_t col;

	if (!html__want(x, ev->process) || !export__want_ts(x->c, h->ts_ns) ||
	    h->ts_ns < x->lo || h->ts_ns > x->hi || !export__mem_call(h, &call))
		return;
	hp = html__proc(x, ev->process);
	if (!hp)
		return;
	col = html__col_of(x, h->ts_ns);
	if (col != hp->call_col) {
		html_calls__flush(x, hp);
		hp->call_col = col;
		hp->call_n = 0;
	}
	if (hp->call_n++ >= HTML_CALLS_PER_COL)
		return;
	hp->kept_ts[hp->kept_next] = h->ts_ns;
	hp->kept_tid[hp->kept_next] = h->tid;
	hp->kept_next = (hp->kept_next + 1) % HTML_CALLS_PER_COL;
	args[0] = '\0';
	for (unsigned i = 0; i < call.nargs && len < sizeof(args) - 1; i++) {
		const struct export_arg *a = &call.args[i];
		const char *val = num;

		switch (a->kind) {
		case EA_PTR:
			snprintf(num, sizeof(num), "0x%llx", (unsigned long long)a->u);
			break;
		case EA_UINT:
			snprintf(num, sizeof(num), "%llu", (unsigned long long)a->u);
			break;
		case EA_INT:
			snprintf(num, sizeof(num), "%lld", (long long)a->i);
			break;
		case EA_STR:	/* flag names without their common prefix: the page is smaller */
			val = a->s;
			if (!strncmp(val, "PROT_", 5) || !strncmp(val, "MAP_", 4)) {
				char *o = num2;

				for (const char *q = val; *q && o < num2 + sizeof(num2) - 1;) {
					bool word = q == val || q[-1] == '|';

					if (word && !strncmp(q, "PROT_", 5))
						q += 5;
					else if (word && !strncmp(q, "MAP_", 4))
						q += 4;
					else
						*o++ = *q++;
				}
				*o = '\0';
				val = num2;
			}
			break;
		}
		len += snprintf(args + len, sizeof(args) - len, "%s%s=%s", i ? " " : "", a->name, val);
	}
	json_writer__begin_array(&x->w);
	json_writer__string(&x->w, "M");
	json_writer__uint(&x->w, hp->uid);
	json_writer__uint(&x->w, h->tid);
	json_writer__int(&x->w, html__rel(x, h->ts_ns));
	json_writer__string(&x->w, call.name);
	json_writer__string(&x->w, args);
	json_writer__end_array(&x->w);
}

void html_calls__exec(struct html *x, const struct session_event *ev)
{
	const struct ps_exec *r = (const void *)ev->h;
	struct hx_proc *hp;

	if (!html__want(x, ev->process))
		return;
	hp = html__proc(x, ev->process);
	if (!hp)
		return;
	json_writer__begin_array(&x->w);
	json_writer__string(&x->w, "X");
	json_writer__uint(&x->w, hp->uid);
	json_writer__int(&x->w, html__rel(x, r->h.ts_ns));
	json_writer__string_n(&x->w, r->filename, sizeof(r->filename));
	json_writer__end_array(&x->w);
}

/* ---- call stacks ---- */

static void on_sample(void *ctx, const struct stack_sample *smp)
{
	struct html *x = ctx;
	const struct ps_thread *t = proc_model__thread(x->c->pm, smp->tid);
	const struct stack_frame *fr;
	struct hx_proc *hp;
	uint32_t nf;
	unsigned i;

	if (smp->kind > SK_MPROTECT || !t || t->tgid != smp->tgid || !html__want(x, t->proc))
		return;
	hp = html__proc(x, t->proc);
	if (!hp)
		return;
	for (i = 0; i < HTML_CALLS_PER_COL; i++)
		if (hp->kept_ts[i] == smp->ts_ns && hp->kept_tid[i] == smp->tid)
			break;
	if (i == HTML_CALLS_PER_COL)
		return;	/* a call counted, not written */
	if (!idmap__get(&x->stacks_out, smp->stack + 1ULL)) {
		if (idmap__set(&x->stacks_out, smp->stack + 1ULL, (void *)1)) {
			x->oom = true;
			return;
		}
		fr = stack_model__frames(x->sm, smp->stack, &nf);
		json_writer__begin_array(&x->w);
		json_writer__string(&x->w, "s");
		json_writer__uint(&x->w, smp->stack);
		json_writer__begin_array(&x->w);
		for (uint32_t k = 0; k < nf; k++)
			json_writer__string(&x->w, stack_model__frame_name(x->sm, &fr[k], false));
		json_writer__end_array(&x->w);
		json_writer__end_array(&x->w);
	}
	json_writer__begin_array(&x->w);
	json_writer__string(&x->w, "k");
	json_writer__uint(&x->w, hp->uid);
	json_writer__uint(&x->w, smp->tid);
	json_writer__int(&x->w, html__rel(x, smp->ts_ns));
	json_writer__uint(&x->w, smp->stack);
	json_writer__end_array(&x->w);
}

int html_calls__stacks_begin(struct html *x)
{
	if (x->c->stacks < 0)
		return 0;
	x->stcb = (struct stack_callbacks){ .sample = on_sample, .ctx = x };
	x->sm = stack_model__new(x->c->s, &x->stcb);
	return x->sm ? 0 : -errno;
}

int html_calls__stack_apply(struct html *x, const struct session_event *ev)
{
	if (!x->sm || !html__want(x, ev->process))
		return 0;
	return stack_model__apply(x->sm, ev);
}

void html_calls__stacks_free(struct html *x)
{
	stack_model__free(x->sm);
	x->sm = NULL;
	idmap__free(&x->stacks_out);
}
