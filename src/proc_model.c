// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stddef.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include "proc_model.h"
#include "rec_info.h"

void proc_model__init(struct proc_model *m)
{
	memset(m, 0, sizeof(*m));
}

struct ps_process *proc_model__process(const struct proc_model *m, uint32_t pid)
{
	return idmap__get(&m->procs, pid);
}

struct ps_thread *proc_model__thread(const struct proc_model *m, uint32_t tid)
{
	struct ps_thread *t = idmap__get(&m->threads, tid);

	/* a thread that exec'd from a non-leader moved to the leader's tid */
	return t && t->tid == tid ? t : NULL;
}

struct ps_thread *proc_model__resolve(const struct proc_model *m, const struct ps_hdr *h)
{
	struct ps_thread *t = h->tid ? proc_model__thread(m, h->tid) : NULL;

	return t && t->tgid == h->tgid ? t : NULL;
}

static int add_order(struct proc_model *m, struct ps_process *p)
{
	if (m->nprocs == m->order_cap) {
		size_t cap = m->order_cap ? m->order_cap * 2 : 64;
		struct ps_process **o = realloc(m->order, cap * sizeof(*o));

		if (!o)
			return -ENOMEM;
		m->order = o;
		m->order_cap = cap;
	}
	m->order[m->nprocs++] = p;
	return 0;
}

/* FRESH: a fork made PID, so an exited process with that pid is an older one. */
static struct ps_process *get_process(struct proc_model *m, uint32_t pid, uint64_t ts, bool fresh)
{
	struct ps_process *p = idmap__get(&m->procs, pid);

	if (p && !(fresh && p->exited))
		return p;	/* even exited: its last switch-out comes after the exit */
	p = calloc(1, sizeof(*p));
	if (!p || add_order(m, p)) {
		free(p);
		return NULL;
	}
	if (idmap__set(&m->procs, pid, p)) {
		m->nprocs--;
		free(p);
		return NULL;
	}
	p->pid = pid;
	p->start_ns = ts;
	p->born_in_trace = true;	/* until a snapshot says it was there before */
	p->exit_code = -1;
	return p;
}

static struct ps_thread *get_thread(struct proc_model *m, struct ps_process *p, uint32_t tid,
				    uint64_t ts, bool fresh)
{
	struct ps_thread *t = proc_model__thread(m, tid);

	if (t && t->proc == p && !(fresh && t->exited))
		return t;
	if (p->nthreads == p->threads_cap) {
		size_t cap = p->threads_cap ? p->threads_cap * 2 : 8;
		struct ps_thread **a = realloc(p->threads, cap * sizeof(*a));

		if (!a)
			return NULL;
		p->threads = a;
		p->threads_cap = cap;
	}
	t = calloc(1, sizeof(*t));
	if (!t || idmap__set(&m->threads, tid, t)) {
		free(t);
		return NULL;
	}
	t->tid = tid;
	t->tgid = p->pid;
	t->start_ns = ts;
	t->born_in_trace = true;	/* until a snapshot says it was there before */
	t->proc = p;
	memcpy(t->comm, p->comm, sizeof(t->comm));
	p->threads[p->nthreads++] = t;
	return t;
}

static void set_comm(char *dst, const char *src)
{
	memcpy(dst, src, PS_COMM_LEN);
	dst[PS_COMM_LEN - 1] = '\0';
}

/* Records emitted only for traced tasks: they make a process known. */
static bool names_traced_task(unsigned type)
{
	return type != PS_REC_SWITCH && type != PS_REC_WAKEUP && type != PS_REC_LOST &&
	       type != PS_REC_COMM;
}

/* An untraced task that woke a traced one: its name, nothing more. */
static int name_untraced(struct proc_model *m, const struct ps_comm *r)
{
	char *name = idmap__get(&m->untraced, r->h.tid);

	if (!name) {
		name = malloc(PS_COMM_LEN);
		if (!name || idmap__set(&m->untraced, r->h.tid, name)) {
			free(name);
			return -ENOMEM;
		}
	}
	memcpy(name, r->comm, PS_COMM_LEN);
	name[PS_COMM_LEN - 1] = '\0';
	return 0;
}

const char *proc_model__task_name(const struct proc_model *m, uint32_t tid)
{
	const struct ps_thread *t;

	if (!tid)
		return "idle/irq";
	t = proc_model__thread(m, tid);
	if (t)
		return t->comm;
	return idmap__get(&m->untraced, tid);
}

int proc_model__apply(struct proc_model *m, const struct ps_hdr *h)
{
	struct ps_process *p = NULL;
	struct ps_thread *t = NULL;

	if (!m->records++ || h->ts_ns < m->first_ns)
		m->first_ns = h->ts_ns;
	if (h->ts_ns > m->last_ns)
		m->last_ns = h->ts_ns;
	if (h->type == PS_REC_LOST) {
		struct ps_lost l;

		rec_info__lost(h, &l);
		m->lost_total = l.lost_total;
		memcpy(m->lost_by_type, l.lost_by_type, sizeof(m->lost_by_type));
		memcpy(m->stacks_skipped, l.stacks_skipped, sizeof(m->stacks_skipped));
		return 0;
	}
	if (!h->tid)
		return 0;	/* the idle task */
	if (h->type == PS_REC_COMM)
		return name_untraced(m, (const void *)h);
	if (names_traced_task(h->type)) {
		p = get_process(m, h->tgid, h->ts_ns, false);
		if (!p)
			return -ENOMEM;
		t = get_thread(m, p, h->tid, h->ts_ns, false);
		if (!t)
			return -ENOMEM;
	} else {
		p = proc_model__process(m, h->tgid);
		t = proc_model__thread(m, h->tid);
		if (t && t->proc != p)
			t = NULL;
	}
	if (p)
		p->records[h->type]++;

	switch (h->type) {
	case PS_REC_SNAP_TASK: {
		const struct ps_snap_task *r = (const void *)h;

		set_comm(t->comm, r->comm);
		t->born_in_trace = false;
		if (h->tid == h->tgid) {
			set_comm(p->comm, r->comm);
			p->ppid = r->ppid;
			p->born_in_trace = false;
		}
		break;
	}
	case PS_REC_FORK: {
		const struct ps_fork *r = (const void *)h;
		struct ps_process *cp = p;
		struct ps_thread *ct;

		if (r->child_tgid != h->tgid) {
			cp = get_process(m, r->child_tgid, h->ts_ns, true);
			if (!cp)
				return -ENOMEM;
			cp->ppid = h->tgid;
			cp->creator_tid = h->tid;
			cp->born_in_trace = true;
			cp->start_ns = h->ts_ns;
			set_comm(cp->comm, r->child_comm);
		}
		ct = get_thread(m, cp, r->child_tid, h->ts_ns, true);
		if (!ct)
			return -ENOMEM;
		ct->is_thread = cp == p;
		ct->born_in_trace = true;
		ct->start_ns = h->ts_ns;
		ct->creator_tid = h->tid;
		set_comm(ct->comm, r->child_comm);
		break;
	}
	case PS_REC_CLONE: {
		const struct ps_clone *r = (const void *)h;
		struct ps_thread *ct;

		/* the parent's syscall returns after the child's sched_process_fork */
		if (PS_IS_ERR(r->ret) || r->ret <= 0)
			break;
		ct = proc_model__thread(m, r->ret);
		if (!ct || ct->creator_tid != h->tid)
			break;
		ct->clone_flags = r->flags;
		ct->clone_syscall = r->syscall;
		if (!ct->is_thread) {
			ct->proc->vfork = r->flags & CLONE_VFORK;
			ct->proc->shares_vm = r->flags & CLONE_VM;
		}
		break;
	}
	case PS_REC_EXEC: {
		const struct ps_exec *r = (const void *)h;

		/*
		 * exec from a non-leader: the other threads (the old leader
		 * included) exited in de_thread, and the exec'ing thread took the
		 * leader's tid; the same ps_thread carries on under the new tid.
		 */
		if (r->old_tid && r->old_tid != h->tid) {
			struct ps_thread *ot = proc_model__thread(m, r->old_tid);

			if (ot && ot->proc == p && ot != t) {
				if (!t->exited) {
					t->exited = true;
					t->end_ns = h->ts_ns;
				}
				if (idmap__set(&m->threads, h->tid, ot))
					return -ENOMEM;
				ot->old_tid = ot->tid;
				ot->tid = h->tid;
				t = ot;
			}
		}
		set_comm(p->comm, r->comm);
		set_comm(t->comm, r->comm);
		memcpy(p->exe, r->filename, sizeof(p->exe));
		p->exe[sizeof(p->exe) - 1] = '\0';
		p->nexecs++;
		break;
	}
	case PS_REC_RENAME: {
		const struct ps_rename *r = (const void *)h;

		set_comm(t->comm, r->newcomm);
		if (h->tid == h->tgid)
			set_comm(p->comm, r->newcomm);
		break;
	}
	case PS_REC_EXIT: {
		const struct ps_exit *r = (const void *)h;

		t->exited = true;
		t->end_ns = h->ts_ns;
		t->exit_code = r->exit_code;
		if (r->group_dead) {
			p->exited = true;
			p->end_ns = h->ts_ns;
			p->exit_code = r->exit_code;
		}
		break;
	}
	}
	return 0;
}

bool proc_model__last_thread(const struct ps_thread *t)
{
	const struct ps_process *p = t->proc;

	return p->exited && p->nthreads == 1 && p->threads[0] == t;
}

/* Removes the I-th of N pointers in A, keeping the others' order. O(N). */
static void remove_at(void **a, size_t *n, size_t i)
{
	memmove(&a[i], &a[i + 1], (*n - i - 1) * sizeof(*a));
	(*n)--;
}

void proc_model__release_thread(struct proc_model *m, struct ps_thread *t)
{
	struct ps_process *p = t->proc;
	bool last = proc_model__last_thread(t);

	if (idmap__get(&m->threads, t->tid) == t)
		idmap__del(&m->threads, t->tid);
	if (t->old_tid && idmap__get(&m->threads, t->old_tid) == t)
		idmap__del(&m->threads, t->old_tid);	/* an exec from a non-leader moved it */
	for (size_t i = 0; i < p->nthreads; i++) {
		if (p->threads[i] == t) {
			remove_at((void **)p->threads, &p->nthreads, i);
			break;
		}
	}
	free(t);
	if (!last)
		return;
	if (idmap__get(&m->procs, p->pid) == p)
		idmap__del(&m->procs, p->pid);
	/* most often among the latest: searched from the end */
	for (size_t i = m->nprocs; i--;) {
		if (m->order[i] == p) {
			remove_at((void **)m->order, &m->nprocs, i);
			break;
		}
	}
	free(p->threads);
	free(p);
}

void proc_model__free(struct proc_model *m)
{
	for (size_t i = 0; i < m->nprocs; i++) {
		struct ps_process *p = m->order[i];

		for (size_t j = 0; j < p->nthreads; j++)
			free(p->threads[j]);
		free(p->threads);
		free(p);
	}
	free(m->order);
	for (size_t i = 0; i < m->untraced.cap; i++)
		free(m->untraced.vals[i]);
	idmap__free(&m->procs);
	idmap__free(&m->threads);
	idmap__free(&m->untraced);
	memset(m, 0, sizeof(*m));
}
