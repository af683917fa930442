// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * procscope dump: every record, one per line, times relative to the
 * session's time zero, in file order (the session's raw mode: what the
 * file holds, as it holds it).
 */
#include <argp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "commands.h"
#include "rec_info.h"
#include "session.h"
#include "util.h"

static const char *input = "procscope.data";

static const struct argp_option opts[] = {
	{ "input", 'i', "FILE", 0, "Session file (default ./procscope.data)", 0 },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	(void)state;
	if (key != 'i')
		return ARGP_ERR_UNKNOWN;
	input = arg;
	return 0;
}

static void print_ret(FILE *f, __s64 ret)
{
	if (PS_IS_ERR(ret))
		fprintf(f, " = -%s", strerror((int)-ret));
	else
		fprintf(f, " = 0x%llx", (unsigned long long)ret);
}

/* The kernel's totals of a task (format 3), as " PREFIXsum_exec=N PREFIXnvcsw=N ...". */
static void print_totals(FILE *f, const char *prefix, const struct ps_task_totals *t)
{
	fprintf(f, " %ssum_exec=%llu %snvcsw=%llu %snivcsw=%llu", prefix,
		(unsigned long long)t->sum_exec_ns, prefix, (unsigned long long)t->nvcsw, prefix,
		(unsigned long long)t->nivcsw);
}

static void dump_record(FILE *f, const struct ps_hdr *h, __u64 start_ns)
{
	char a[256], b[256], path[PS_PATH_DEPTH * PS_PATH_COMP + 1];
	__s64 rel = (__s64)(h->ts_ns - start_ns);

	fprintf(f, "%14lld %3u %7u/%-7u %-13s", (long long)rel, h->cpu, h->tgid, h->tid,
		rec_info__name(h->type));
	switch (h->type) {
	case PS_REC_BRK: {
		const struct ps_brk *r = (const void *)h;

		fprintf(f, " brk(0x%llx) = 0x%llx%s", (unsigned long long)r->req,
			(unsigned long long)r->ret, r->req && r->req != r->ret ? " (failed)" : "");
		break;
	}
	case PS_REC_MMAP: {
		const struct ps_mmap *r = (const void *)h;

		fprintf(f, " mmap(0x%llx, %llu, %s, %s, %d, 0x%llx)", (unsigned long long)r->addr,
			(unsigned long long)r->len, rec_info__prot(a, sizeof(a), r->prot),
			rec_info__mmap_flags(b, sizeof(b), r->flags), r->fd,
			(unsigned long long)r->off);
		print_ret(f, r->ret);
		if (r->path[0][0]) {
			rec_info__path(path, sizeof(path), r->path);
			fprintf(f, " %s", path);
		}
		break;
	}
	case PS_REC_MUNMAP: {
		const struct ps_munmap *r = (const void *)h;

		fprintf(f, " munmap(0x%llx, %llu)", (unsigned long long)r->addr,
			(unsigned long long)r->len);
		print_ret(f, r->ret);
		break;
	}
	case PS_REC_MREMAP: {
		const struct ps_mremap *r = (const void *)h;

		fprintf(f, " mremap(0x%llx, %llu, %llu, 0x%x, 0x%llx)",
			(unsigned long long)r->old_addr, (unsigned long long)r->old_len,
			(unsigned long long)r->new_len, r->flags,
			(unsigned long long)r->new_addr_arg);
		print_ret(f, r->ret);
		break;
	}
	case PS_REC_MPROTECT: {
		const struct ps_mprotect *r = (const void *)h;

		fprintf(f, " mprotect(0x%llx, %llu, %s)", (unsigned long long)r->addr,
			(unsigned long long)r->len, rec_info__prot(a, sizeof(a), r->prot));
		print_ret(f, r->ret);
		break;
	}
	case PS_REC_CLONE: {
		const struct ps_clone *r = (const void *)h;
		const char *name = r->syscall == PS_NR_CLONE3 ? "clone3" :
				   r->syscall == PS_NR_FORK ? "fork" :
				   r->syscall == PS_NR_VFORK ? "vfork" : "clone";

		fprintf(f, " %s(%s, stack=0x%llx, stack_size=%llu)", name,
			rec_info__clone_flags(a, sizeof(a), r->flags),
			(unsigned long long)r->stack, (unsigned long long)r->stack_size);
		if (PS_IS_ERR(r->ret))
			fprintf(f, " = -%s", strerror((int)-r->ret));
		else
			fprintf(f, " = %lld", (long long)r->ret);
		break;
	}
	case PS_REC_EXECVE: {
		const struct ps_execve *r = (const void *)h;

		fprintf(f, " execve() = %s", r->ret ? strerror((int)-r->ret) : "0");
		break;
	}
	case PS_REC_SWITCH: {
		const struct ps_switch *r = (const void *)h;

		fprintf(f, " prev_state=%s%s next=%u/%u prio=%d sp=0x%llx",
			rec_info__task_state(a, sizeof(a), r->prev_state),
			r->prev_state ? "" : "(preempted)", r->next_tgid, r->next_tid,
			r->next_prio, (unsigned long long)r->prev_user_sp);
		if (h->size >= sizeof(*r)) {
			print_totals(f, "prev_", &r->prev);
			fprintf(f, " next_sum_exec=%llu", (unsigned long long)r->next_sum_exec_ns);
		}
		break;
	}
	case PS_REC_WAKEUP: {
		const struct ps_wakeup *r = (const void *)h;

		fprintf(f, " %s %u/%u target_cpu=%u", r->is_new ? "new" : "woke", r->woken_tgid,
			r->woken_tid, r->target_cpu);
		break;
	}
	case PS_REC_FORK: {
		const struct ps_fork *r = (const void *)h;

		fprintf(f, " %s %u/%u comm=%.16s",
			r->child_tgid == h->tgid ? "thread" : "process", r->child_tgid,
			r->child_tid, r->child_comm);
		break;
	}
	case PS_REC_EXEC: {
		const struct ps_exec *r = (const void *)h;

		fprintf(f, " %.256s comm=%.16s old_tid=%u code=0x%llx-0x%llx data=0x%llx-0x%llx"
			" brk=0x%llx-0x%llx stack=0x%llx args=0x%llx-0x%llx env=0x%llx-0x%llx",
			r->filename, r->comm, r->old_tid, (unsigned long long)r->start_code,
			(unsigned long long)r->end_code, (unsigned long long)r->start_data,
			(unsigned long long)r->end_data, (unsigned long long)r->start_brk,
			(unsigned long long)r->brk, (unsigned long long)r->start_stack,
			(unsigned long long)r->arg_start, (unsigned long long)r->arg_end,
			(unsigned long long)r->env_start, (unsigned long long)r->env_end);
		if (h->size >= sizeof(*r))
			print_totals(f, "", &r->totals);
		break;
	}
	case PS_REC_EXIT: {
		const struct ps_exit *r = (const void *)h;

		fprintf(f, " comm=%.16s exit_code=0x%x%s", r->comm, r->exit_code,
			r->group_dead ? " group_dead" : "");
		if (h->size >= sizeof(*r))
			print_totals(f, "", &r->totals);
		break;
	}
	case PS_REC_RENAME: {
		const struct ps_rename *r = (const void *)h;

		fprintf(f, " %.16s -> %.16s", r->oldcomm, r->newcomm);
		break;
	}
	case PS_REC_VMA: {
		const struct ps_vma *r = (const void *)h;

		rec_info__path(path, sizeof(path), r->path);
		fprintf(f, " 0x%llx-0x%llx %c%c%c%c pgoff=0x%llx %s", (unsigned long long)r->start,
			(unsigned long long)r->end, r->vm_flags & 1 ? 'r' : '-',
			r->vm_flags & 2 ? 'w' : '-', r->vm_flags & 4 ? 'x' : '-',
			r->vm_flags & 8 ? 's' : 'p', (unsigned long long)r->pgoff, path);
		break;
	}
	case PS_REC_RSS: {
		static const char *names[] = { "file", "anon", "swap", "shmem" };
		const struct ps_rss *r = (const void *)h;

		fprintf(f, " %s=%lld", r->member < 4 ? names[r->member] : "?", (long long)r->bytes);
		break;
	}
	case PS_REC_STACK: {
		const struct ps_stack *r = (const void *)h;

		fprintf(f, " stack_vm=%llu pages start_stack=0x%llx",
			(unsigned long long)r->stack_vm_pages, (unsigned long long)r->start_stack);
		break;
	}
	case PS_REC_SNAP_TASK: {
		const struct ps_snap_task *r = (const void *)h;

		fprintf(f, " comm=%.16s state=%c ppid=%u nvcsw=%llu nivcsw=%llu oncpu_ns=%llu",
			r->comm, r->state, r->ppid, (unsigned long long)r->nvcsw,
			(unsigned long long)r->nivcsw, (unsigned long long)r->sum_exec_ns);
		break;
	}
	case PS_REC_SNAP_MAP: {
		const struct ps_snap_map *r = (const void *)h;
		size_t plen = h->size - sizeof(*r);

		fprintf(f, " 0x%llx-0x%llx %.4s %llx %.*s", (unsigned long long)r->start,
			(unsigned long long)r->end, r->perms, (unsigned long long)r->offset,
			(int)strnlen(r->path, plen), r->path);
		break;
	}
	case PS_REC_VMA_SYNC: {
		const struct ps_vma_sync *r = (const void *)h;

		fprintf(f, " after %s%s%s [0x%llx, 0x%llx):", rec_info__name(r->call),
			r->call == PS_REC_MEMOP ? "/" : "",
			r->call == PS_REC_MEMOP ? rec_info__memop_name(r->op) : "",
			(unsigned long long)r->lo, (unsigned long long)r->hi);
		for (__u32 i = 0; i < r->n && i < PS_SYNC_VMAS; i++)
			fprintf(f, " 0x%llx-0x%llx flags=0x%llx", (unsigned long long)r->vma[i].start,
				(unsigned long long)r->vma[i].end,
				(unsigned long long)r->vma[i].vm_flags);
		break;
	}
	case PS_REC_MEMOP: {
		const struct ps_memop *r = (const void *)h;

		fprintf(f, " %s(", rec_info__memop_name(r->op));
		switch (r->op) {
		case PS_MEMOP_MADVISE:
			fprintf(f, "0x%llx, %llu, %s)", (unsigned long long)r->addr,
				(unsigned long long)r->len, rec_info__advice(a, sizeof(a), r->arg));
			break;
		case PS_MEMOP_PKEY_MPROTECT:
			fprintf(f, "0x%llx, %llu, %s, %d)", (unsigned long long)r->addr,
				(unsigned long long)r->len, rec_info__prot(a, sizeof(a), r->arg), r->arg2);
			break;
		case PS_MEMOP_MLOCKALL:
			fprintf(f, "0x%llx)", (unsigned long long)r->arg);
			break;
		case PS_MEMOP_MUNLOCKALL:
			fprintf(f, ")");
			break;
		case PS_MEMOP_SHMAT:
			fprintf(f, "%llu, 0x%x) size=%llu", (unsigned long long)r->arg, r->arg2,
				(unsigned long long)r->len);
			break;
		case PS_MEMOP_SHMDT:
			fprintf(f, "0x%llx)", (unsigned long long)r->addr);
			break;
		case PS_MEMOP_REMAP_FILE_PAGES:
			fprintf(f, "0x%llx, %llu, pgoff=%llu, 0x%x)", (unsigned long long)r->addr,
				(unsigned long long)r->len, (unsigned long long)r->arg, r->arg2);
			break;
		default:	/* mlock, mlock2, munlock, mseal */
			fprintf(f, "0x%llx, %llu, 0x%llx)", (unsigned long long)r->addr,
				(unsigned long long)r->len, (unsigned long long)r->arg);
		}
		if (r->op == PS_MEMOP_SHMAT)
			print_ret(f, r->ret);
		else if (PS_IS_ERR(r->ret))
			fprintf(f, " = -%s", strerror((int)-r->ret));
		else
			fprintf(f, " = %lld", (long long)r->ret);
		break;
	}
	case PS_REC_COMM: {
		const struct ps_comm *r = (const void *)h;

		fprintf(f, " untraced task named %.16s", r->comm);
		break;
	}
	case PS_REC_SNAP_SP: {
		const struct ps_snap_sp *r = (const void *)h;

		fprintf(f, " sp=0x%llx%s", (unsigned long long)r->sp, r->sp ? "" : " (running)");
		break;
	}
	case PS_REC_SIGALTSTACK: {
		const struct ps_sigaltstack *r = (const void *)h;

		fprintf(f, " 0x%llx-0x%llx flags=0x%x ret=%d", (unsigned long long)r->sp,
			(unsigned long long)(r->sp + r->size), r->flags, r->ret);
		break;
	}
	case PS_REC_CORO_MAKE: {
		const struct ps_coro_make *r = (const void *)h;

		fprintf(f, " %s ctx=0x%llx stack=0x%llx-0x%llx entry=0x%llx",
			r->api == PS_CORO_FCONTEXT ? "make_fcontext" : "makecontext",
			(unsigned long long)r->ctx, (unsigned long long)r->stack_lo,
			(unsigned long long)(r->stack_lo + r->stack_size), (unsigned long long)r->entry);
		break;
	}
	case PS_REC_CORO_SWITCH: {
		static const char *const ops[] = { "?", "swapcontext", "setcontext", "jump_fcontext",
						   "ontop_fcontext" };
		const struct ps_coro_switch *r = (const void *)h;

		fprintf(f, " %s from_sp=0x%llx to_sp=0x%llx ctx=0x%llx",
			ops[r->op < PS_ARRAY_SIZE(ops) ? r->op : 0], (unsigned long long)r->from_sp,
			(unsigned long long)r->to_sp, (unsigned long long)r->to_ctx);
		break;
	}
	case PS_REC_USTACK: {
		const struct ps_ustack *r = (const void *)h;

		fprintf(f, " %s", rec_info__stack_kind(r->kind));
		if (r->ref_type)
			fprintf(f, " of=%s", rec_info__name(r->ref_type));
		fprintf(f, " kframes=%u ustack=%u bytes", r->nkframes, r->ustack_len);
		if (r->ustack_err)
			fprintf(f, " (copy failed: %s)", strerror(-r->ustack_err));
		break;
	}
	case PS_REC_LOST: {
		struct ps_lost r;

		rec_info__lost(h, &r);
		fprintf(f, " total=%llu", (unsigned long long)r.lost_total);
		for (size_t t = 0; t < PS_REC_SLOTS; t++)
			if (r.lost_by_type[t])
				fprintf(f, " %s=%llu", rec_info__name(t),
					(unsigned long long)r.lost_by_type[t]);
		for (size_t k = 0; k < PS_STK_SLOTS; k++)
			if (r.stacks_skipped[k])
				fprintf(f, " stacks_skipped_%s=%llu", rec_info__stack_kind(k),
					(unsigned long long)r.stacks_skipped[k]);
		break;
	}
	}
	fputc('\n', f);
}

static int on_record(void *ctx, const struct session_event *ev)
{
	dump_record(stdout, ev->h, session__time_zero(ctx));
	return 0;
}

int cmd_dump(int argc, char **argv)
{
	static const struct argp argp = { opts, parse_arg, NULL,
		"Print every record of a session file, one per line:\n"
		"ns since start, cpu, pid/tid, record, details.", NULL, NULL, NULL };
	struct session_opts so = { .flags = SESSION_RAW };
	struct session_callbacks cb = { .record = on_record };
	const struct ps_file_header *fh;
	struct session *s;

	if (argp_parse(&argp, argc, argv, 0, NULL, NULL))
		return 2;
	s = session__open(input, &so);
	if (!s)
		return 1;
	fh = session__header(s);
	printf("# procscope %s, format %u, kernel %s, %u CPUs, page %u\n# command: %s\n# targets: %s\n",
	       fh->procscope_version, fh->version, fh->kernel_release, fh->ncpus, fh->page_size,
	       session__cmdline(s), session__targets(s));
	if (session__hostname(s)[0] || session__boot_id(s)[0])
		printf("# host: %s, boot id %s\n", session__hostname(s), session__boot_id(s));
	cb.ctx = s;
	session__replay(s, &cb);	/* the callback cannot fail */
	if (!session__reader_stats(s)->has_footer)
		printf("# no footer: the recording did not finish (killed, or disk full)\n");
	session__free(s);
	/* damage: the reader warned; the exit status follows the rule in main.c */
	return 0;
}
