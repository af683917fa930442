// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Call stacks on synthetic records, with no BPF:
 *  - corrupt stack and build-id records are skipped like any damaged
 *    record, the good ones around them read;
 *  - symbols: a binary with its symbols names its functions (no debug
 *    info and no separate debug file: no warning); a stripped binary, a
 *    missing file, an unreadable one, a file that is not ELF and a replaced
 *    one each give module+0xoffset (with their state) and at most one
 *    warning per module, never an error;
 *  - the stack model: a brk's stack unwinds through the committed
 *    tests/fixtures/stacks_tiny (no frame pointers) from the recorded
 *    registers and stack bytes into set_break and its caller grow_heap;
 *    stacks without their call, of unknown kinds, without registers or in
 *    no known file are taken without error.
 * Run from the repository (the fixture binary is read by path).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check.h"
#include "buildid.h"
#include "rec_info.h"
#include "session.h"
#include "stack_model.h"
#include "symbols.h"
#include "trace_reader.h"
#include "trace_writer.h"

#define TINY		"tests/fixtures/stacks_tiny"
#define STRIPPED	"tests/fixtures/stacks_tiny.stripped"
/* stacks_tiny's code (objdump -d): set_break's ret, grow_heap's return from its first call */
#define SET_BREAK_RET	0x401025ull
#define IN_GROW_HEAP	0x40103dull
#define ZERO_NS		5000000000ull
#define SP		0x7ffffff0000ull

static char dir[] = "/tmp/procscope-stacks-XXXXXX";

static void hdr(struct ps_hdr *h, unsigned type, unsigned size, uint64_t ts)
{
	memset(h, 0, size);
	h->type = type;
	h->size = size;
	h->ts_ns = ts;
	h->tgid = h->tid = 42;
}

union rec {
	struct ps_brk b;
	struct ps_ustack u;
	struct ps_buildid id;
	struct ps_snap_task t;
	struct ps_snap_map m;
	char raw[sizeof(struct ps_ustack) + 64 * 8 + 256];
};

/* A stack record: registers at IP and SP, then BYTES of user stack. */
static void ustack(union rec *r, uint16_t kind, uint16_t ref, uint64_t ts, uint64_t ip,
		   const uint64_t *words, unsigned nwords)
{
	unsigned size = sizeof(r->u) + nwords * 8;

	hdr(&r->u.h, PS_REC_USTACK, size, ts);
	r->u.kind = kind;
	r->u.ref_type = ref;
	r->u.abi = ip ? PS_STK_ABI_X86_64 : PS_STK_ABI_NONE;
	r->u.regs[7] = ip ? SP : 0;	/* rsp, in DWARF order */
	r->u.regs[16] = ip;		/* rip */
	r->u.ustack_len = nwords * 8;
	if (nwords)
		memcpy(&r->u + 1, words, nwords * 8);
}

/* ---- the reader's checks ---- */

static void test_corrupt_records(const char *path)
{
	struct ps_file_header fh = { .page_size = 4096, .ncpus = 1, .start_ns = ZERO_NS };
	struct ps_footer footer = { .exit_status = 0 };
	struct trace_writer *w = trace_writer__open(path, &fh, "cmd", "targets", NULL, NULL);
	const struct trace_reader_stats *st;
	uint64_t words[4] = { IN_GROW_HEAP };
	struct trace_reader *r;
	const struct ps_hdr *h;
	union rec u;
	int types[8], n = 0;

	CHECK(w != NULL);
	if (!w)
		return;
	ustack(&u, PS_STK_SAMPLE, 0, ZERO_NS + 1, SET_BREAK_RET, words, 1);	/* good */
	CHECK_EQ(trace_writer__add(w, &u.u.h), 0);
	ustack(&u, PS_STK_SAMPLE, 0, ZERO_NS + 2, SET_BREAK_RET, words, 1);
	u.u.nkframes = PS_KSTACK_MAX + 1;	/* more kernel frames than a record holds */
	CHECK_EQ(trace_writer__add(w, &u.u.h), 0);
	ustack(&u, PS_STK_SAMPLE, 0, ZERO_NS + 3, SET_BREAK_RET, words, 1);
	u.u.ustack_len = 4096;			/* more stack than the record */
	CHECK_EQ(trace_writer__add(w, &u.u.h), 0);
	ustack(&u, PS_STK_SAMPLE, 0, ZERO_NS + 4, SET_BREAK_RET, words, 4);
	u.u.nkframes = 4;			/* kernel frames and stack overlap */
	u.u.ustack_len = 32;
	CHECK_EQ(trace_writer__add(w, &u.u.h), 0);
	hdr(&u.id.h, PS_REC_BUILDID, sizeof(u.id) + 8, ZERO_NS + 5);
	u.id.len = PS_BUILDID_MAX + 1;		/* a build-id longer than any */
	CHECK_EQ(trace_writer__add(w, &u.id.h), 0);
	hdr(&u.id.h, PS_REC_BUILDID, sizeof(u.id) + 8, ZERO_NS + 6);
	memset(u.id.path, 'p', 8);		/* a path without its NUL */
	CHECK_EQ(trace_writer__add(w, &u.id.h), 0);
	hdr(&u.u.h, PS_REC_USTACK, sizeof(u.u) - 8, ZERO_NS + 7);	/* shorter than its type */
	CHECK_EQ(trace_writer__add(w, &u.u.h), 0);
	hdr(&u.b.h, PS_REC_BRK, sizeof(u.b), ZERO_NS + 8);	/* good */
	CHECK_EQ(trace_writer__add(w, &u.b.h), 0);
	CHECK_EQ(trace_writer__finish(w, &footer), 0);
	trace_writer__free(w);

	r = trace_reader__open(path);
	CHECK(r != NULL);
	if (!r)
		return;
	trace_reader__set_quiet(r, true);
	while ((h = trace_reader__next(r)) && n < 8)
		types[n++] = h->type;
	CHECK_EQ(n, 2);
	CHECK_EQ(types[0], PS_REC_USTACK);
	CHECK_EQ(types[1], PS_REC_BRK);
	st = trace_reader__stats(r);
	CHECK_EQ(st->bad_records, 6);
	CHECK_EQ(st->bad_chunks, 0);
	trace_reader__free(r);
}

/* ---- symbols of missing, unreadable, stripped, foreign and replaced files ---- */

static int warnings(const char *log)
{
	char line[512];
	int n = 0;
	FILE *f = fopen(log, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n += !strncmp(line, "procscope: ", 11);
	fclose(f);
	return n;
}

static const char *name_at(struct symbols *s, uint32_t mod, uint64_t addr, bool line)
{
	struct stack_frame f = { .module = mod, .addr = addr };

	return symbols__name(s, &f, line);
}

static void test_symbols(void)
{
	char tiny[PATH_MAX], stripped[PATH_MAX], gone[PATH_MAX + 16], text[PATH_MAX + 16];
	char replaced[PATH_MAX + 16], log[PATH_MAX + 16];
	union rec u;
	struct symbols *s;
	uint32_t m_tiny, m_stripped, m_gone, m_dir, m_text, m_replaced;
	int saved, fd;

	CHECK(realpath(TINY, tiny) && realpath(STRIPPED, stripped));
	snprintf(gone, sizeof(gone), "%s/libgone.so.1", dir);
	snprintf(text, sizeof(text), "%s/notelf.so", dir);
	snprintf(replaced, sizeof(replaced), "%s/replaced", dir);
	snprintf(log, sizeof(log), "%s/stderr", dir);
	fd = open(text, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	CHECK(fd >= 0 && write(fd, "not an ELF file\n", 16) == 16);
	close(fd);
	fd = open(replaced, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	CHECK(fd >= 0 && write(fd, "another file\n", 13) == 13);
	close(fd);

	/* the warnings go to stderr: keep them to count them */
	fflush(stderr);
	saved = dup(2);
	fd = open(log, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	CHECK(saved >= 0 && fd >= 0 && dup2(fd, 2) == 2);
	close(fd);

	s = symbols__new("not this kernel", "");
	CHECK(s != NULL);
	if (!s)
		goto out;
	/* the recorder saw a build-id for "replaced": the file there now has none */
	CHECK(strlen(replaced) < 200);
	hdr(&u.id.h, PS_REC_BUILDID, sizeof(u.id) + 200, ZERO_NS);
	u.id.len = 20;
	memset(u.id.id, 0xab, 20);
	memcpy(u.id.path, replaced, strlen(replaced) + 1);
	CHECK_EQ(symbols__note_buildid(s, &u.id), 0);
	m_tiny = symbols__module(s, tiny);
	m_stripped = symbols__module(s, stripped);
	m_gone = symbols__module(s, gone);
	m_dir = symbols__module(s, dir);
	m_text = symbols__module(s, text);
	m_replaced = symbols__module(s, replaced);
	CHECK(m_tiny >= SYM_MOD_FIRST && m_replaced >= SYM_MOD_FIRST);
	for (int pass = 0; pass < 2; pass++) {	/* twice: names cached, no second warning */
		uint64_t a = SET_BREAK_RET - pass;	/* both in set_break */
		char want[PATH_MAX + 64];

		/* no DWARF and no separate debug file: the name, without a line */
		CHECK(!strcmp(name_at(s, m_tiny, a, true), "set_break"));
		CHECK(!strcmp(name_at(s, m_tiny, IN_GROW_HEAP, false), "grow_heap"));
		snprintf(want, sizeof(want), "stacks_tiny.stripped+0x%llx", (unsigned long long)a);
		CHECK(!strcmp(name_at(s, m_stripped, a, true), want));
		snprintf(want, sizeof(want), "libgone.so.1 (deleted)+0x%llx", (unsigned long long)a);
		CHECK(!strcmp(name_at(s, m_gone, a, false), want));
		snprintf(want, sizeof(want), "%s+0x%llx", strrchr(dir, '/') + 1, (unsigned long long)a);
		CHECK(!strcmp(name_at(s, m_dir, a, false), want));
		snprintf(want, sizeof(want), "notelf.so+0x%llx", (unsigned long long)a);
		CHECK(!strcmp(name_at(s, m_text, a, true), want));
		snprintf(want, sizeof(want), "replaced (replaced)+0x%llx", (unsigned long long)a);
		CHECK(!strcmp(name_at(s, m_replaced, a, false), want));
		/* frames outside any module, and kernel frames of another kernel */
		CHECK(!strcmp(name_at(s, SYM_MOD_UNKNOWN, 0x1234, false), "[unknown] 0x1234"));
		CHECK(!strcmp(name_at(s, SYM_MOD_KERNEL, 0xffffffff81000000ull, false),
			      "[kernel]+0xffffffff81000000"));
		CHECK(!strcmp(name_at(s, 999, 1, false), "[bad frame]"));
	}
	CHECK(symbols__module_ok(s, m_tiny));
	CHECK(!symbols__module_ok(s, m_gone) && !symbols__module_ok(s, m_replaced));
	symbols__free(s);
out:
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	/* gone, the directory, not-ELF and replaced: one each; stripped and tiny: none */
	CHECK_EQ(warnings(log), 4);
	if (check_failures) {	/* what went to the redirected stderr, checks included */
		char line[512];
		FILE *f = fopen(log, "r");

		while (f && fgets(line, sizeof(line), f))
			fputs(line, stderr);
		if (f)
			fclose(f);
	}
	unlink(log);
	unlink(text);
	unlink(replaced);
}

/* ---- the stack model on a synthetic session ---- */

struct got {
	struct stack_sample s[8];
	int n;
};

static void on_sample(void *ctx, const struct stack_sample *s)
{
	struct got *g = ctx;

	if (g->n < 8)
		g->s[g->n++] = *s;
}

struct replay_ctx {
	struct stack_model *m;
	int err;
};

static int on_record(void *ctx, const struct session_event *ev)
{
	struct replay_ctx *r = ctx;

	r->err = r->err ?: stack_model__apply(r->m, ev);
	return 0;
}

static void snap_map(struct trace_writer *w, uint64_t start, uint64_t end, uint64_t off,
		     const char *perms, const char *path)
{
	union rec u;
	size_t len = strlen(path) + 1;

	hdr(&u.m.h, PS_REC_SNAP_MAP, (sizeof(u.m) + len + 7) & ~7u, ZERO_NS);
	u.m.start = start;
	u.m.end = end;
	u.m.offset = off;
	u.m.ino = 7;
	u.m.dev_major = 8;
	snprintf(u.m.perms, sizeof(u.m.perms), "%s", perms);
	memcpy(u.m.path, path, len);
	CHECK_EQ(trace_writer__add(w, &u.m.h), 0);
}

static void test_model(const char *path)
{
	struct ps_file_header fh = { .page_size = 4096, .ncpus = 1, .start_ns = ZERO_NS };
	struct ps_footer footer = { .end_ns = ZERO_NS + 100, .exit_status = 0 };
	/* at set_break's ret: the return into grow_heap on top, then grow_heap's saved rbx */
	uint64_t words[3] = { IN_GROW_HEAP, 0, 0 };
	struct trace_writer *w = trace_writer__open(path, &fh, "record -- x", "cmd:x", NULL, NULL);
	const struct stack_model_stats *st;
	struct got got = {};
	struct stack_callbacks cb = { .sample = on_sample, .ctx = &got };
	struct replay_ctx rc = {};
	struct session *s;
	char tiny[PATH_MAX];
	union rec u;

	CHECK(w != NULL && realpath(TINY, tiny));
	if (!w)
		return;
	hdr(&u.t.h, PS_REC_SNAP_TASK, sizeof(u.t), ZERO_NS);
	u.t.start_brk = 0x500000;
	u.t.start_stack = SP + 0x1000;
	memcpy(u.t.comm, "tiny", 5);
	CHECK_EQ(trace_writer__add(w, &u.t.h), 0);
	snap_map(w, 0x400000, 0x401000, 0, "r--p", tiny);
	snap_map(w, 0x401000, 0x402000, 0x1000, "r-xp", tiny);
	snap_map(w, 0x402000, 0x403000, 0x2000, "r--p", tiny);
	snap_map(w, SP - 0x10000, SP + 0x10000, 0, "rw-p", "[stack]");
	/* the first brk sets the base; the second grows the heap by 64 KiB, with its stack */
	hdr(&u.b.h, PS_REC_BRK, sizeof(u.b), ZERO_NS + 10);
	u.b.ret = 0x500000;
	CHECK_EQ(trace_writer__add(w, &u.b.h), 0);
	ustack(&u, PS_STK_MEM, PS_REC_BRK, ZERO_NS + 10, SET_BREAK_RET, words, 3);
	CHECK_EQ(trace_writer__add(w, &u.u.h), 0);
	hdr(&u.b.h, PS_REC_BRK, sizeof(u.b), ZERO_NS + 20);
	u.b.req = u.b.ret = 0x510000;
	CHECK_EQ(trace_writer__add(w, &u.b.h), 0);
	ustack(&u, PS_STK_MEM, PS_REC_BRK, ZERO_NS + 20, SET_BREAK_RET, words, 3);
	CHECK_EQ(trace_writer__add(w, &u.u.h), 0);
	/* a memory call's stack without its call: not paired, not an error */
	ustack(&u, PS_STK_MEM, PS_REC_MMAP, ZERO_NS + 30, SET_BREAK_RET, words, 3);
	CHECK_EQ(trace_writer__add(w, &u.u.h), 0);
	/* a kind this reader does not know: taken, never charged */
	ustack(&u, 77, 0, ZERO_NS + 40, SET_BREAK_RET, words, 3);
	CHECK_EQ(trace_writer__add(w, &u.u.h), 0);
	/* samples: without registers, in no known file, with no stack bytes */
	ustack(&u, PS_STK_SAMPLE, 0, ZERO_NS + 50, 0, NULL, 0);
	CHECK_EQ(trace_writer__add(w, &u.u.h), 0);
	ustack(&u, PS_STK_SAMPLE, 0, ZERO_NS + 60, 0x1234, NULL, 0);
	CHECK_EQ(trace_writer__add(w, &u.u.h), 0);
	ustack(&u, PS_STK_SAMPLE, 0, ZERO_NS + 70, SET_BREAK_RET, NULL, 0);
	u.u.ustack_err = -EFAULT;
	CHECK_EQ(trace_writer__add(w, &u.u.h), 0);
	CHECK_EQ(trace_writer__finish(w, &footer), 0);
	trace_writer__free(w);

	s = session__open(path, &(struct session_opts){ .flags = SESSION_VM });
	CHECK(s != NULL);
	if (!s)
		return;
	rc.m = stack_model__new(s, &cb);
	CHECK(rc.m != NULL);
	if (!rc.m)
		goto out;
	CHECK_EQ(session__replay(s, &(struct session_callbacks){ .record = on_record, .ctx = &rc }), 0);
	CHECK_EQ(rc.err, 0);
	st = stack_model__stats(rc.m);
	CHECK_EQ(st->stacks, 7);
	CHECK_EQ(st->unpaired, 1);
	CHECK_EQ(got.n, 4);	/* the heap growth and three samples */
	if (got.n == 4) {
		const struct stack_frame *f;
		uint32_t n;

		CHECK_EQ(got.s[0].kind, SK_HEAP);
		CHECK_EQ(got.s[0].value, 0x10000);
		f = stack_model__frames(rc.m, got.s[0].stack, &n);
		CHECK(n >= 2);
		if (n >= 2) {
			CHECK(!strcmp(stack_model__frame_name(rc.m, &f[0], false), "set_break"));
			CHECK(!strcmp(stack_model__frame_name(rc.m, &f[1], false), "grow_heap"));
		}
		CHECK_EQ(got.s[1].kind, SK_ONCPU);
		f = stack_model__frames(rc.m, got.s[1].stack, &n);
		CHECK_EQ(n, 0);		/* no registers: no frame */
		f = stack_model__frames(rc.m, got.s[2].stack, &n);
		CHECK(n == 1 && f[0].module == SYM_MOD_UNKNOWN && f[0].addr == 0x1234);
		f = stack_model__frames(rc.m, got.s[3].stack, &n);
		CHECK(n >= 1);		/* the sample's own pc, whatever the copy */
		if (n >= 1)
			CHECK(!strcmp(stack_model__frame_name(rc.m, &f[0], false), "set_break"));
	}
	stack_model__free(rc.m);
out:
	session__free(s);
}

int main(void)
{
	char path[64];

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/s.data", dir);
	test_corrupt_records(path);
	test_symbols();
	test_model(path);
	unlink(path);
	rmdir(dir);
	return CHECK_DONE();
}
