// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Memory calls and execs of the HTML page: each call a mark on the time
 * axis with its arguments ["M", puid, tid, t, "name", "args"], the first
 * HTML_CALLS_PER_COL of a process in a pixel column whole, the rest of
 * the column counted (["m", puid, col, n]); each exec ["X", puid, t,
 * "filename"].
 */
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
