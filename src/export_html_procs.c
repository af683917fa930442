// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Which processes the HTML page draws (export_html.c draws them).
 *
 * Without --pid, the processes drawn in full are the busiest by records (a
 * process's own records: its calls, switches, forks, exits; a fair proxy
 * for its CPU and memory activity). A busy machine makes thousands of
 * short processes (17 k in 3 minutes of a build); each drawn one costs a
 * layout, lanes and counters, so the others go in the header by name
 * (how many, how many records) and the page says so. --pid draws that
 * process and its tree whatever its rank.
 *
 * The ranking needs the whole session, so it is a first pass of its own
 * (the process tree alone, about a third of the export's CPU time); the
 * second replay makes the same processes in the same order, so a process
 * is known by its index in the model's order.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "export_html.h"

#define HTML_PROCS_DRAWN	64
#define HTML_NAMES_MAX		100	/* names listed for the others; the rest summed as one */

/* Processes not drawn, by name. */
struct hx_name {
	char comm[PS_COMM_LEN];
	uint64_t procs, records;
};

bool html__want(struct html *x, const struct ps_process *p)
{
	const struct proc_model *pm = x->c->pm;

	if (!p || !export__want_pid(x->c, p->pid))
		return false;
	if (!x->full)
		return true;
	/* the replay makes processes in the same order as the first pass did */
	for (; x->nindexed < pm->nprocs; x->nindexed++)
		if (x->nindexed < x->nfull && x->full[x->nindexed] &&
		    idmap__set(&x->drawn, (uintptr_t)pm->order[x->nindexed], (void *)1))
			x->oom = true;
	return idmap__get(&x->drawn, (uintptr_t)p) != NULL;
}

static uint64_t records_of(const struct ps_process *p)
{
	uint64_t n = 0;

	for (int i = 0; i < PS_REC_MAX; i++)
		n += p->records[i];
	return n;
}

struct rank {
	uint64_t records;
	size_t idx;
};

static int by_records(const void *a, const void *b)
{
	const struct rank *x = a, *y = b;

	if (x->records != y->records)
		return x->records > y->records ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int by_procs(const void *a, const void *b)
{
	const struct hx_name *x = a, *y = b;

	if (x->procs != y->procs)
		return x->procs > y->procs ? -1 : 1;
	return strcmp(x->comm, y->comm);
}

int html_procs__pick(struct html *x)
{
	struct session_opts so = { .flags = SESSION_QUIET };	/* the export's own pass warns */
	const struct proc_model *pm;
	struct session *s;
	struct rank *rank = NULL;
	struct idmap byname = { 0 };
	size_t n;
	int err;

	if (x->c->pid || !x->c->in_path || !strcmp(x->c->in_path, "-"))
		return 0;
	s = session__open(x->c->in_path, &so);
	if (!s)
		return -errno;
	err = session__replay(s, NULL);
	if (err)
		goto out_session;
	pm = session__procs(s);
	n = pm->nprocs;
	if (n <= HTML_PROCS_DRAWN)
		goto out_session;
	err = -ENOMEM;
	rank = malloc(n * sizeof(*rank));
	x->full = calloc(n, sizeof(*x->full));
	x->names = calloc(HTML_NAMES_MAX + 1, sizeof(*x->names));
	if (!rank || !x->full || !x->names)
		goto out_rank;
	x->nfull = n;
	for (size_t i = 0; i < n; i++)
		rank[i] = (struct rank){ records_of(pm->order[i]), i };
	qsort(rank, n, sizeof(*rank), by_records);
	for (size_t i = 0, drawn = 0; i < n; i++) {
		const struct ps_process *p = pm->order[rank[i].idx];
		uintptr_t k, h = 5381;
		struct hx_name *nm;

		if (!p->pid)
			continue;
		if (drawn < HTML_PROCS_DRAWN) {
			x->full[rank[i].idx] = true;
			drawn++;
			continue;
		}
		x->summarised++;
		x->summarised_records += rank[i].records;
		for (const char *c = p->comm; *c && c < p->comm + PS_COMM_LEN; c++)
			h = h * 33 + (unsigned char)*c;
		/* names hash to a slot + 1; a collision or a full list goes to the last, "others" */
		k = (uintptr_t)idmap__get(&byname, h);
		if (!k || strncmp(x->names[k - 1].comm, p->comm, PS_COMM_LEN)) {
			if (k || x->nnames == HTML_NAMES_MAX) {
				k = HTML_NAMES_MAX + 1;
			} else {
				k = ++x->nnames;
				if (idmap__set(&byname, h, (void *)k))
					goto out_rank;
				memcpy(x->names[k - 1].comm, p->comm, PS_COMM_LEN);
				x->names[k - 1].comm[PS_COMM_LEN - 1] = '\0';
			}
		}
		nm = &x->names[k - 1];
		nm->procs++;
		nm->records += rank[i].records;
	}
	qsort(x->names, x->nnames, sizeof(*x->names), by_procs);
	err = 0;
out_rank:
	free(rank);
	idmap__free(&byname);
out_session:
	session__free(s);
	return err;
}

void html_procs__header(struct html *x)
{
	if (!x->full)
		return;
	/* processes not drawn: how many, by name ("" the rest) */
	json_writer__kv_uint(&x->w, "drawn", HTML_PROCS_DRAWN);
	json_writer__kv_uint(&x->w, "summarised", x->summarised);
	json_writer__kv_uint(&x->w, "summarised_records", x->summarised_records);
	json_writer__key(&x->w, "names");
	json_writer__begin_array(&x->w);
	for (size_t i = 0; i <= HTML_NAMES_MAX; i++) {
		const struct hx_name *nm = &x->names[i];

		if (i >= x->nnames && (i < HTML_NAMES_MAX || !nm->procs))
			continue;
		json_writer__begin_array(&x->w);
		json_writer__string(&x->w, nm->comm);
		json_writer__uint(&x->w, nm->procs);
		json_writer__uint(&x->w, nm->records);
		json_writer__end_array(&x->w);
	}
	json_writer__end_array(&x->w);
}
