// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * procscope export: argument parsing, and the one replay of the session
 * file (session.c) shared by every format (export_perfetto.c,
 * export_chrome.c, export_folded.c, export_html.c).
 */
#include <argp.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include "commands.h"
#include "export.h"
#include "out_file.h"
#include "rec_info.h"
#include "stack_model.h"
#include "util.h"

static const struct export_format *const formats[] = {
	&export_perfetto, &export_chrome, &export_speedscope, &export_folded, &export_html,
	&export_sqlite, &export_clickhouse,
};

static struct {
	const char *input;
	const char *output;
	const struct export_format *fmt;
	long pid;
	const char *from, *to;
	int stacks;		/* enum stack_kind, -1: none */
} env;

enum { OPT_STACKS = 0x200, OPT_KALLSYMS, OPT_FROM = 0x100, OPT_TO };

static const struct argp_option opts[] = {
	{ "input", 'i', "FILE", 0, "Session file (default ./procscope.data)", 0 },
	{ "output", 'o', "FILE", 0, "Output file, '-' for stdout (default per format)", 0 },
	{ "format", 'f', "FMT", 0, "perfetto, chrome, speedscope, folded or html", 0 },
	{ "pid", 'p', "PID", 0, "Only this process (and the CPUs while it ran)", 0 },
	{ "from", OPT_FROM, "TIME", 0, "Start of the window, from the recording start (1.5, 200ms)", 0 },
	{ "to", OPT_TO, "TIME", 0, "End of the window, same units, or 'end'", 0 },
	{ "stacks", OPT_STACKS, "KIND", 0, "folded: call stacks of heap, mmap, mprotect, offcpu or oncpu; "
	  "html (any KIND): memory calls' stacks on hover", 0 },
	{ "kallsyms", OPT_KALLSYMS, "FILE", 0,
	  "Kernel symbols from FILE (the recording machine's /proc/kallsyms; /dev/null: none)", 0 },
	{},
};

static const char doc[] =
	"Export a session file for a trace viewer.\n"
	"\n"
	"  perfetto    protobuf trace for ui.perfetto.dev (default procscope.pftrace)\n"
	"  chrome      Chrome trace JSON for chrome://tracing or Perfetto (procscope.json)\n"
	"  speedscope  speedscope profiles: thread states over the stacks they waited in, CPU samples\n"
	"              (procscope.speedscope.json)\n"
	"  folded      folded stacks for flamegraph.pl and speedscope (procscope.folded)\n"
	"  html        one self-contained page: layout over time, threads, memory (procscope.html)\n"
	"  sqlite      SQLite database of the session's tables (procscope.db; procscope sql --schema)\n"
	"  clickhouse  directory of TABLE.sql (ClickHouse DDL) and TABLE.tsv per table (procscope-clickhouse)\n"
	"\n"
	"EXAMPLES:\n"
	"  procscope export --format perfetto -i run.data\n"
	"  procscope export --format chrome --pid 1234 --from 1s --to 2.5s -o out.json";

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	uint64_t ns;

	(void)state;
	switch (key) {
	case 'i':
		env.input = arg;
		break;
	case 'o':
		env.output = arg;
		break;
	case 'f':
		env.fmt = NULL;
		for (size_t i = 0; i < PS_ARRAY_SIZE(formats); i++)
			if (!strcmp(arg, formats[i]->name))
				env.fmt = formats[i];
		if (!env.fmt) {
			ps_err("unknown export format '%s' (perfetto, chrome, speedscope, folded, html)", arg);
			return EINVAL;
		}
		break;
	case 'p':
		if (ps_parse_pid(arg, &env.pid) || env.pid >= EXPORT_CPU_PID) {
			ps_err("invalid PID '%s'", arg);
			return EINVAL;
		}
		break;
	case OPT_FROM:
	case OPT_TO:
		/* checked here, a usage error; the window is placed once the file is open */
		if (ps_parse_time(arg, &ns) || (key == OPT_FROM && ns == UINT64_MAX)) {
			ps_err("invalid --%s time '%s' (e.g. 1.5, 1.5s, 200ms%s)",
			       key == OPT_FROM ? "from" : "to", arg, key == OPT_FROM ? "" : ", end");
			return EINVAL;
		}
		*(key == OPT_FROM ? &env.from : &env.to) = arg;
		break;
	case OPT_STACKS:
		env.stacks = stack_model__parse_kind(arg);
		if (env.stacks < 0) {
			ps_err("unknown --stacks '%s' (heap, mmap, mprotect, offcpu, oncpu)", arg);
			return EINVAL;
		}
		break;
	case OPT_KALLSYMS:
		symbols__set_kallsyms(arg);
		break;
	case ARGP_KEY_ARG:
		ps_err("unexpected argument '%s' (the session file goes after -i)", arg);
		return EINVAL;
	case ARGP_KEY_END:
		if (!env.fmt) {
			ps_err("export needs --format perfetto, chrome, speedscope, folded or html");
			return EINVAL;
		}
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* COMM (PS_COMM_LEN bytes, NUL-terminated unless full) in BUF, cut at LEN - 1 bytes. */
static void copy_comm(char *buf, size_t len, const char *comm)
{
	size_t n = strnlen(comm, PS_COMM_LEN);

	if (!len)
		return;
	if (n >= len)
		n = len - 1;
	memcpy(buf, comm, n);
	buf[n] = '\0';
}

/* "<ID>" in BUF, cut at LEN - 1 bytes as snprintf would: unnamed tasks are common under -a. */
static void unnamed(char *buf, size_t len, uint32_t id)
{
	char tmp[16], *p = tmp + sizeof(tmp);

	*--p = '\0';
	*--p = '>';
	do {
		*--p = '0' + id % 10;
		id /= 10;
	} while (id);
	*--p = '<';
	copy_comm(buf, len, p);	/* at most 13 bytes with the NUL: within PS_COMM_LEN */
}

/* Views call these per event: a copy, not printf. */
const char *export__thread_name(char *buf, size_t len, const struct ps_thread *t, uint32_t tid)
{
	if (t && t->comm[0])
		copy_comm(buf, len, t->comm);
	else
		unnamed(buf, len, tid);
	return buf;
}

const char *export__process_name(char *buf, size_t len, const struct ps_process *p, uint32_t pid)
{
	if (p && p->comm[0])
		copy_comm(buf, len, p->comm);
	else
		unnamed(buf, len, pid);
	return buf;
}

static void arg_ptr(struct export_mem_call *c, const char *name, uint64_t v)
{
	c->args[c->nargs++] = (struct export_arg){ .name = name, .kind = EA_PTR, .u = v };
}

static void arg_uint(struct export_mem_call *c, const char *name, uint64_t v)
{
	c->args[c->nargs++] = (struct export_arg){ .name = name, .kind = EA_UINT, .u = v };
}

static void arg_int(struct export_mem_call *c, const char *name, int64_t v)
{
	c->args[c->nargs++] = (struct export_arg){ .name = name, .kind = EA_INT, .i = v };
}

static void arg_str(struct export_mem_call *c, const char *name, const char *s)
{
	c->args[c->nargs++] = (struct export_arg){ .name = name, .kind = EA_STR, .s = s };
}

static void arg_ret(struct export_mem_call *c, __s64 ret)
{
	const char *e;

	if (!PS_IS_ERR(ret)) {
		arg_ptr(c, "ret", (uint64_t)ret);
		return;
	}
	e = strerrorname_np((int)-ret);
	arg_str(c, "error", e ? e : "unknown");
}

bool export__mem_call(const struct ps_hdr *h, struct export_mem_call *c)
{
	c->nargs = 0;
	switch (h->type) {
	case PS_REC_BRK: {
		const struct ps_brk *r = (const void *)h;

		c->name = "brk";
		arg_ptr(c, "addr", r->req);
		arg_ptr(c, "ret", r->ret);
		return true;
	}
	case PS_REC_MMAP: {
		const struct ps_mmap *r = (const void *)h;

		c->name = "mmap";
		arg_ptr(c, "addr", r->addr);
		arg_uint(c, "len", r->len);
		arg_str(c, "prot", rec_info__prot(c->prot, sizeof(c->prot), r->prot));
		arg_str(c, "flags", rec_info__mmap_flags(c->flags, sizeof(c->flags), r->flags));
		arg_int(c, "fd", r->fd);
		arg_uint(c, "offset", r->off);
		if (r->path[0][0])
			arg_str(c, "file", rec_info__path(c->path, sizeof(c->path), r->path));
		arg_ret(c, r->ret);
		return true;
	}
	case PS_REC_MUNMAP: {
		const struct ps_munmap *r = (const void *)h;

		c->name = "munmap";
		arg_ptr(c, "addr", r->addr);
		arg_uint(c, "len", r->len);
		arg_ret(c, r->ret);
		return true;
	}
	case PS_REC_MREMAP: {
		const struct ps_mremap *r = (const void *)h;

		c->name = "mremap";
		arg_ptr(c, "old_addr", r->old_addr);
		arg_uint(c, "old_len", r->old_len);
		arg_uint(c, "new_len", r->new_len);
		snprintf(c->flags, sizeof(c->flags), "0x%x", r->flags);
		arg_str(c, "flags", c->flags);
		if (r->flags & MREMAP_FIXED)	/* the new address was asked for */
			arg_ptr(c, "new_addr", r->new_addr_arg);
		arg_ret(c, r->ret);
		return true;
	}
	case PS_REC_MPROTECT: {
		const struct ps_mprotect *r = (const void *)h;

		c->name = "mprotect";
		arg_ptr(c, "addr", r->addr);
		arg_uint(c, "len", r->len);
		arg_str(c, "prot", rec_info__prot(c->prot, sizeof(c->prot), r->prot));
		arg_ret(c, r->ret);
		return true;
	}
	case PS_REC_MEMOP: {
		const struct ps_memop *r = (const void *)h;

		c->name = rec_info__memop_name(r->op);
		switch (r->op) {
		case PS_MEMOP_MLOCKALL:
			arg_uint(c, "flags", r->arg);
			break;
		case PS_MEMOP_MUNLOCKALL:
			break;
		case PS_MEMOP_SHMAT:
			arg_uint(c, "shmid", r->arg);
			arg_uint(c, "shmflg", (uint32_t)r->arg2);
			arg_uint(c, "len", r->len);
			break;
		case PS_MEMOP_SHMDT:
			arg_ptr(c, "addr", r->addr);
			break;
		default:
			arg_ptr(c, "addr", r->addr);
			arg_uint(c, "len", r->len);
			if (r->op == PS_MEMOP_MADVISE)
				arg_str(c, "advice", rec_info__advice(c->flags, sizeof(c->flags), r->arg));
			else if (r->op == PS_MEMOP_PKEY_MPROTECT)
				arg_str(c, "prot", rec_info__prot(c->prot, sizeof(c->prot), r->arg));
			else if (r->op == PS_MEMOP_REMAP_FILE_PAGES)
				arg_uint(c, "pgoff", r->arg);
			else if (r->op != PS_MEMOP_MLOCK && r->op != PS_MEMOP_MUNLOCK)
				arg_uint(c, "flags", r->arg);
			if (r->op == PS_MEMOP_PKEY_MPROTECT)
				arg_int(c, "pkey", r->arg2);
		}
		if (r->op == PS_MEMOP_SHMAT || PS_IS_ERR(r->ret))
			arg_ret(c, r->ret);
		return true;
	}
	}
	return false;
}

/* Parses --from/--to (relative to the recording start) into c's window. */
static int parse_window(struct export_ctx *c)
{
	uint64_t ns;

	c->from_ns = 0;
	c->to_ns = UINT64_MAX;
	if (env.from) {
		if (ps_parse_time(env.from, &ns) || ns == UINT64_MAX) {
			ps_err("invalid --from time '%s' (e.g. 1.5, 1.5s, 200ms)", env.from);
			return -EINVAL;
		}
		c->from_ns = c->origin_ns + ns;
	}
	if (env.to) {
		if (ps_parse_time(env.to, &ns)) {
			ps_err("invalid --to time '%s' (e.g. 2, 2s, 500ms, end)", env.to);
			return -EINVAL;
		}
		c->to_ns = ns == UINT64_MAX ? UINT64_MAX : c->origin_ns + ns;
	}
	if (c->from_ns >= c->to_ns) {
		ps_err("empty window: --from must come before --to");
		return -EINVAL;
	}
	return 0;
}

int cmd_export(int argc, char **argv)
{
	static const struct argp argp = { opts, parse_arg, NULL, doc, NULL, NULL, NULL };
	const struct export_format *fmt;
	struct session_callbacks cb = {};
	struct session_opts so = {};
	struct out_file of = { .fd = -1 };
	struct export_ctx c = {};
	bool to_stdout;
	void *st = NULL;
	int err;

	memset(&env, 0, sizeof(env));
	symbols__set_kallsyms(NULL);
	env.input = "procscope.data";
	env.stacks = -1;
	argv[0] = "procscope export";	/* how argp's own messages name us */
	if (argp_parse(&argp, argc, argv, 0, NULL, NULL))
		return 2;
	fmt = env.fmt;
	if (!env.output)
		env.output = fmt->default_output;
	to_stdout = !strcmp(env.output, "-");

	/* one pass: the models may forget what has exited once the format saw it */
	so.flags = fmt->models | SESSION_FORGET;
	if (env.stacks >= 0)	/* stacks unwind in the layout of their time; offcpu needs the waits */
		so.flags |= SESSION_VM | SESSION_SCHED;
	c.s = session__open(env.input, &so);
	if (!c.s)
		return 1;
	c.fh = session__header(c.s);
	c.cmdline = session__cmdline(c.s);
	c.pm = session__procs(c.s);
	c.origin_ns = session__time_zero(c.s);
	c.pid = env.pid;
	c.stacks = env.stacks;
	err = parse_window(&c);
	if (err)
		goto out_model;

	c.out_path = env.output;
	c.in_path = env.input;
	if (fmt->own_output) {
		/* the format creates and publishes its output itself */
	} else if (to_stdout) {
		c.out = stdout;
	} else {
		err = out_file__create(&of, env.output);
		if (err)
			goto out_model;
		c.out = out_file__stream(&of);
		if (!c.out) {
			err = -errno;
			ps_err("cannot create '%s': %s", env.output, strerror(errno));
			goto out_file;
		}
	}
	st = fmt->begin(&c, &cb);
	if (!st) {
		err = -errno;
		ps_err("cannot start the %s export: %s", fmt->name, strerror(errno));
		goto out_file;
	}
	cb.record = fmt->record;
	cb.ctx = st;
	err = session__replay(c.s, &cb);
	if (!err) {
		c.end_ns = session__end_ns(c.s);
		err = fmt->finish(st);
	}
	if (err == -EIO && of.err)
		err = -of.err;	/* the writers see only ferror(): the errno is the stream's */
	if (err)
		ps_err("cannot export '%s' to '%s': %s", env.input, env.output,
		       err == -ENOSPC ? "disk full" : strerror(-err));
	else if (fmt->own_output)
		err = 0;	/* finish() published it */
	else if (to_stdout && (fflush(c.out) || ferror(c.out)))
		err = -errno;
	else if (!to_stdout)
		err = out_file__publish(&of, false);
	fmt->free(st);
out_file:
	/* on failure only the temporary file goes: no half-written trace, nothing else touched */
	out_file__close(&of);
out_model:
	session__free(c.s);
	return err ? 1 : 0;
}
