// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include "rec_info.h"
#include "task_state.h"
#include "util.h"

/* a flag and its name as the headers spell it */
#define FLAG(x)	{ (x), #x }

/*
 * size: the smallest a record of the type may be, i.e. its size in the
 * oldest format that has it; fields appended later (format 3's task totals)
 * are used only where hdr.size covers them.
 */
static const struct {
	const char *name;
	size_t size;
} info[PS_REC_MAX] = {
	[PS_REC_BRK]		= { "brk", sizeof(struct ps_brk) },
	[PS_REC_MMAP]		= { "mmap", sizeof(struct ps_mmap) },
	[PS_REC_MUNMAP]		= { "munmap", sizeof(struct ps_munmap) },
	[PS_REC_MREMAP]		= { "mremap", sizeof(struct ps_mremap) },
	[PS_REC_MPROTECT]	= { "mprotect", sizeof(struct ps_mprotect) },
	[PS_REC_CLONE]		= { "clone", sizeof(struct ps_clone) },
	[PS_REC_EXECVE]		= { "execve", sizeof(struct ps_execve) },
	[PS_REC_SWITCH]		= { "sched_switch", offsetof(struct ps_switch, prev) },
	[PS_REC_WAKEUP]		= { "sched_wakeup", sizeof(struct ps_wakeup) },
	[PS_REC_FORK]		= { "process_fork", sizeof(struct ps_fork) },
	[PS_REC_EXEC]		= { "process_exec", offsetof(struct ps_exec, totals) },
	[PS_REC_EXIT]		= { "process_exit", offsetof(struct ps_exit, totals) },
	[PS_REC_RENAME]		= { "task_rename", sizeof(struct ps_rename) },
	[PS_REC_VMA]		= { "exec_vma", sizeof(struct ps_vma) },
	[PS_REC_RSS]		= { "rss_stat", sizeof(struct ps_rss) },
	[PS_REC_STACK]		= { "stack_grow", sizeof(struct ps_stack) },
	[PS_REC_SNAP_TASK]	= { "snap_task", sizeof(struct ps_snap_task) },
	[PS_REC_SNAP_MAP]	= { "snap_map", sizeof(struct ps_snap_map) + 8 },
	[PS_REC_LOST]		= { "lost", offsetof(struct ps_lost, lost_by_type) + PS_REC_SLOTS_V3 * 8 },
	[PS_REC_SIGALTSTACK]	= { "sigaltstack", sizeof(struct ps_sigaltstack) },
	[PS_REC_CORO_MAKE]	= { "coro_make", sizeof(struct ps_coro_make) },
	[PS_REC_CORO_SWITCH]	= { "coro_switch", sizeof(struct ps_coro_switch) },
	[PS_REC_USTACK]		= { "ustack", sizeof(struct ps_ustack) },
	[PS_REC_BUILDID]	= { "buildid", sizeof(struct ps_buildid) + 8 },
	[PS_REC_VMA_SYNC]	= { "vma_sync", offsetof(struct ps_vma_sync, vma) },
	[PS_REC_MEMOP]		= { "memop", sizeof(struct ps_memop) },
	[PS_REC_COMM]		= { "comm", sizeof(struct ps_comm) },
	[PS_REC_SNAP_SP]	= { "snap_sp", sizeof(struct ps_snap_sp) },
};

/* Fixed-size string fields, each of which must hold its NUL. */
struct str_field {
	unsigned short type, off, len, count;
};

#define STR(t, s, f) { t, offsetof(struct s, f), sizeof(((struct s *)0)->f), 1 }
#define COMPS(t, s) { t, offsetof(struct s, path), PS_PATH_COMP, PS_PATH_DEPTH }

static const struct str_field str_fields[] = {
	COMPS(PS_REC_MMAP, ps_mmap),
	COMPS(PS_REC_VMA, ps_vma),
	STR(PS_REC_FORK, ps_fork, child_comm),
	STR(PS_REC_EXEC, ps_exec, comm),
	STR(PS_REC_EXEC, ps_exec, filename),
	STR(PS_REC_EXIT, ps_exit, comm),
	STR(PS_REC_RENAME, ps_rename, oldcomm),
	STR(PS_REC_RENAME, ps_rename, newcomm),
	STR(PS_REC_SNAP_TASK, ps_snap_task, comm),
	STR(PS_REC_SNAP_MAP, ps_snap_map, perms),
	STR(PS_REC_COMM, ps_comm, comm),
};

const char *rec_info__stack_kind(unsigned kind)
{
	static const char *const names[] = {
		[PS_STK_MEM] = "mem", [PS_STK_OFFCPU] = "offcpu", [PS_STK_SAMPLE] = "sample",
	};

	return kind < PS_ARRAY_SIZE(names) && names[kind] ? names[kind] : "?";
}

void rec_info__lost(const struct ps_hdr *h, struct ps_lost *out)
{
	/* every format's record is a prefix of the newest (records.h, trace_format.h) */
	memset(out, 0, sizeof(*out));
	memcpy(out, h, h->size < sizeof(*out) ? h->size : sizeof(*out));
}

int rec_info__check(const struct ps_hdr *h, const char **why)
{
	const char *p = (const char *)h;

	if (!rec_info__min_size(h->type)) {
		*why = "unknown type";
		return -EBADMSG;
	}
	if (h->size < rec_info__min_size(h->type) || h->size < sizeof(*h)) {
		*why = "shorter than its type";
		return -EBADMSG;
	}
	for (size_t i = 0; i < PS_ARRAY_SIZE(str_fields); i++) {
		const struct str_field *f = &str_fields[i];

		/* a field appended after an old, short record's end is not there */
		if (f->type != h->type || f->off + f->len * f->count > h->size)
			continue;
		for (unsigned c = 0; c < f->count; c++) {
			if (!memchr(p + f->off + c * f->len, '\0', f->len)) {
				*why = "unterminated string";
				return -EBADMSG;
			}
		}
	}
	if (h->type == PS_REC_VMA_SYNC) {
		const struct ps_vma_sync *v = (const void *)h;

		if (v->n > PS_SYNC_VMAS ||
		    offsetof(struct ps_vma_sync, vma) + v->n * sizeof(v->vma[0]) > h->size) {
			*why = "more VMAs than its record holds";
			return -EBADMSG;
		}
	}
	if (h->type == PS_REC_USTACK) {
		const struct ps_ustack *u = (const void *)h;

		if (u->nkframes > PS_KSTACK_MAX || u->ustack_len > PS_USTACK_MAX ||
		    sizeof(*u) + u->nkframes * 8ul + u->ustack_len > h->size) {
			*why = "stack larger than its record";
			return -EBADMSG;
		}
	}
	if (h->type == PS_REC_BUILDID) {
		const struct ps_buildid *b = (const void *)h;
		size_t off = offsetof(struct ps_buildid, path);

		if (b->len > PS_BUILDID_MAX || !memchr(p + off, '\0', h->size - off)) {
			*why = "bad build-id or path";
			return -EBADMSG;
		}
	}
	if (h->type == PS_REC_SNAP_MAP) {
		size_t off = offsetof(struct ps_snap_map, path);

		if (!memchr(p + off, '\0', h->size - off)) {
			*why = "unterminated path";
			return -EBADMSG;
		}
	}
	return 0;
}

const char *rec_info__name(unsigned type)
{
	return type < PS_REC_MAX && info[type].name ? info[type].name : "unknown";
}

size_t rec_info__min_size(unsigned type)
{
	return type < PS_REC_MAX ? info[type].size : 0;
}

const char *rec_info__memop_name(unsigned op)
{
	static const char *const names[PS_MEMOP_MAX] = {
		[PS_MEMOP_MADVISE] = "madvise", [PS_MEMOP_MLOCK] = "mlock",
		[PS_MEMOP_MLOCK2] = "mlock2", [PS_MEMOP_MUNLOCK] = "munlock",
		[PS_MEMOP_MLOCKALL] = "mlockall", [PS_MEMOP_MUNLOCKALL] = "munlockall",
		[PS_MEMOP_PKEY_MPROTECT] = "pkey_mprotect", [PS_MEMOP_MSEAL] = "mseal",
		[PS_MEMOP_REMAP_FILE_PAGES] = "remap_file_pages", [PS_MEMOP_SHMAT] = "shmat",
		[PS_MEMOP_SHMDT] = "shmdt",
	};
	return op < PS_MEMOP_MAX && names[op] ? names[op] : "memop?";
}

/*
 * snprintf(BUF + OFF, LEN - OFF, "%s", S) without printf (exports name
 * the flags of every call): as much of S as fits, NUL-terminated if OFF <
 * LEN; returns OFF plus the whole length of S, as snprintf's count would.
 */
static size_t put_str(char *buf, size_t len, size_t off, const char *s)
{
	size_t n = strlen(s);

	if (off < len) {
		size_t k = n < len - off - 1 ? n : len - off - 1;

		memcpy(buf + off, s, k);
		buf[off + k] = '\0';
	}
	return off + n;
}

const char *rec_info__advice(char *buf, size_t len, __u64 advice)
{
	/* <sys/mman.h> of older libcs lacks the newer ones: the kernel's numbers */
	static const struct {
		unsigned v;
		const char *name;
	} a[] = {
		{ MADV_NORMAL, "NORMAL" }, { MADV_RANDOM, "RANDOM" },
		{ MADV_SEQUENTIAL, "SEQUENTIAL" }, { MADV_WILLNEED, "WILLNEED" },
		{ MADV_DONTNEED, "DONTNEED" }, { 8, "FREE" }, { 9, "REMOVE" },
		{ 10, "DONTFORK" }, { 11, "DOFORK" }, { 12, "MERGEABLE" }, { 13, "UNMERGEABLE" },
		{ 14, "HUGEPAGE" }, { 15, "NOHUGEPAGE" }, { 16, "DONTDUMP" }, { 17, "DODUMP" },
		{ 18, "WIPEONFORK" }, { 19, "KEEPONFORK" }, { 20, "COLD" }, { 21, "PAGEOUT" },
		{ 22, "POPULATE_READ" }, { 23, "POPULATE_WRITE" }, { 24, "DONTNEED_LOCKED" },
		{ 25, "COLLAPSE" }, { 100, "HWPOISON" }, { 101, "SOFT_OFFLINE" },
		{ 102, "GUARD_INSTALL" }, { 103, "GUARD_REMOVE" },
	};

	for (size_t i = 0; i < PS_ARRAY_SIZE(a); i++)
		if (a[i].v == advice) {
			put_str(buf, len, put_str(buf, len, 0, "MADV_"), a[i].name);
			return buf;
		}
	snprintf(buf, len, "%llu", (unsigned long long)advice);
	return buf;
}

struct flag_name {
	__u64 bit;
	const char *name;
};

static const char *fmt_flags(char *buf, size_t len, __u64 v, const struct flag_name *f,
			     size_t n, const char *none)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && off < len; i++) {
		if (!(v & f[i].bit))
			continue;
		off = put_str(buf, len, off ? put_str(buf, len, off, "|") : off, f[i].name);
		v &= ~f[i].bit;
	}
	if (v && off < len) {	/* bits without a name, in hex */
		char hex[24], *p = hex + sizeof(hex);

		*--p = '\0';
		do {
			*--p = "0123456789abcdef"[v & 0xf];
			v >>= 4;
		} while (v);
		*--p = 'x';
		*--p = '0';
		off = put_str(buf, len, off ? put_str(buf, len, off, "|") : off, p);
	}
	if (!off)
		put_str(buf, len, 0, none);
	return buf;
}

const char *rec_info__prot(char *buf, size_t len, __u64 prot)
{
	static const struct flag_name f[] = {
		FLAG(PROT_READ), FLAG(PROT_WRITE), FLAG(PROT_EXEC),
		FLAG(PROT_GROWSDOWN), FLAG(PROT_GROWSUP),
	};
	return fmt_flags(buf, len, prot, f, PS_ARRAY_SIZE(f), "PROT_NONE");
}

const char *rec_info__mmap_flags(char *buf, size_t len, __u64 flags)
{
	static const struct flag_name f[] = {
		FLAG(MAP_SHARED), FLAG(MAP_PRIVATE), FLAG(MAP_FIXED), FLAG(MAP_ANONYMOUS),
		FLAG(MAP_GROWSDOWN), FLAG(MAP_DENYWRITE), FLAG(MAP_EXECUTABLE), FLAG(MAP_LOCKED),
		FLAG(MAP_NORESERVE), FLAG(MAP_POPULATE), FLAG(MAP_NONBLOCK), FLAG(MAP_STACK),
		FLAG(MAP_HUGETLB), FLAG(MAP_SYNC), FLAG(MAP_FIXED_NOREPLACE),
	};
	return fmt_flags(buf, len, flags, f, PS_ARRAY_SIZE(f), "0");
}

const char *rec_info__clone_flags(char *buf, size_t len, __u64 flags)
{
	static const struct flag_name f[] = {
		FLAG(CLONE_VM), FLAG(CLONE_FS), FLAG(CLONE_FILES), FLAG(CLONE_SIGHAND),
		FLAG(CLONE_PIDFD), FLAG(CLONE_PTRACE), FLAG(CLONE_VFORK), FLAG(CLONE_PARENT),
		FLAG(CLONE_THREAD), FLAG(CLONE_NEWNS), FLAG(CLONE_SYSVSEM), FLAG(CLONE_SETTLS),
		FLAG(CLONE_PARENT_SETTID), FLAG(CLONE_CHILD_CLEARTID), FLAG(CLONE_DETACHED),
		FLAG(CLONE_UNTRACED), FLAG(CLONE_CHILD_SETTID), FLAG(CLONE_NEWCGROUP),
		FLAG(CLONE_NEWUTS), FLAG(CLONE_NEWIPC), FLAG(CLONE_NEWUSER), FLAG(CLONE_NEWPID),
		FLAG(CLONE_NEWNET), FLAG(CLONE_IO),
	};
	char sig[16] = "";
	size_t off;

	/* the low byte is the exit signal, not a flag */
	fmt_flags(buf, len, flags & ~(__u64)CSIGNAL, f, PS_ARRAY_SIZE(f), "0");
	if (flags & CSIGNAL) {
		snprintf(sig, sizeof(sig), "%s", (flags & CSIGNAL) == SIGCHLD ? "SIGCHLD" : "");
		off = strlen(buf);
		if (sig[0])
			snprintf(buf + off, len - off, "|%s", sig);
		else
			snprintf(buf + off, len - off, "|sig%llu", (unsigned long long)(flags & CSIGNAL));
	}
	return buf;
}

const char *rec_info__task_state(char *buf, size_t len, __u32 state)
{
	static const struct flag_name f[] = {
		{ TASK_INTERRUPTIBLE, "S" }, { TASK_UNINTERRUPTIBLE, "D" }, { __TASK_STOPPED, "T" },
		{ __TASK_TRACED, "t" }, { EXIT_DEAD, "EXIT_DEAD" }, { EXIT_ZOMBIE, "EXIT_ZOMBIE" },
		{ TASK_PARKED, "PARKED" }, { TASK_DEAD, "DEAD" }, { TASK_WAKEKILL, "WAKEKILL" },
		{ TASK_WAKING, "WAKING" }, { TASK_NOLOAD, "NOLOAD" }, { TASK_NEW, "NEW" },
		{ TASK_RTLOCK_WAIT, "RTLOCK_WAIT" }, { TASK_FREEZABLE, "FREEZABLE" },
	};
	return fmt_flags(buf, len, state, f, PS_ARRAY_SIZE(f), "R");
}

char rec_info__state_char(__u32 state)
{
	/* TASK_IDLE: idle, not blocked */
	if ((state & TASK_IDLE) == TASK_IDLE)
		return 'I';
	if (state & TASK_INTERRUPTIBLE)
		return 'S';
	if (state & TASK_UNINTERRUPTIBLE)
		return 'D';
	if (state & __TASK_STOPPED)
		return 'T';
	if (state & __TASK_TRACED)
		return 't';
	if (state & (TASK_DEAD | EXIT_DEAD))
		return 'X';
	if (state & EXIT_ZOMBIE)
		return 'Z';
	if (state & TASK_PARKED)
		return 'P';
	return 'R';
}

const char *rec_info__path(char *buf, size_t len, const char (*comp)[PS_PATH_COMP])
{
	size_t off = 0;
	int n = 0;

	while (n < PS_PATH_DEPTH && comp[n][0])
		n++;
	buf[0] = '\0';
	if (n == 1 && comp[0][0] == '[') {
		snprintf(buf, len, "%.*s", PS_PATH_COMP, comp[0]);
		return buf;
	}
	for (int i = n - 1; i >= 0 && off < len; i--)
		off += snprintf(buf + off, len - off, "/%.*s", PS_PATH_COMP, comp[i]);
	return buf;
}
