// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "rec_info.h"
#include "util.h"

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
	[PS_REC_LOST]		= { "lost", sizeof(struct ps_lost) },
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
};

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
		off += snprintf(buf + off, len - off, "%s%s", off ? "|" : "", f[i].name);
		v &= ~f[i].bit;
	}
	if (v && off < len)
		off += snprintf(buf + off, len - off, "%s0x%llx", off ? "|" : "",
				(unsigned long long)v);
	if (!off)
		snprintf(buf, len, "%s", none);
	return buf;
}

const char *rec_info__prot(char *buf, size_t len, __u64 prot)
{
	static const struct flag_name f[] = {
		{ 1, "PROT_READ" }, { 2, "PROT_WRITE" }, { 4, "PROT_EXEC" },
		{ 0x01000000, "PROT_GROWSDOWN" }, { 0x02000000, "PROT_GROWSUP" },
	};
	return fmt_flags(buf, len, prot, f, PS_ARRAY_SIZE(f), "PROT_NONE");
}

const char *rec_info__mmap_flags(char *buf, size_t len, __u64 flags)
{
	static const struct flag_name f[] = {
		{ 0x01, "MAP_SHARED" }, { 0x02, "MAP_PRIVATE" }, { 0x10, "MAP_FIXED" },
		{ 0x20, "MAP_ANONYMOUS" }, { 0x100, "MAP_GROWSDOWN" }, { 0x800, "MAP_DENYWRITE" },
		{ 0x1000, "MAP_EXECUTABLE" }, { 0x2000, "MAP_LOCKED" }, { 0x4000, "MAP_NORESERVE" },
		{ 0x8000, "MAP_POPULATE" }, { 0x10000, "MAP_NONBLOCK" }, { 0x20000, "MAP_STACK" },
		{ 0x40000, "MAP_HUGETLB" }, { 0x80000, "MAP_SYNC" },
		{ 0x100000, "MAP_FIXED_NOREPLACE" },
	};
	return fmt_flags(buf, len, flags, f, PS_ARRAY_SIZE(f), "0");
}

const char *rec_info__clone_flags(char *buf, size_t len, __u64 flags)
{
	static const struct flag_name f[] = {
		{ 0x100, "CLONE_VM" }, { 0x200, "CLONE_FS" }, { 0x400, "CLONE_FILES" },
		{ 0x800, "CLONE_SIGHAND" }, { 0x1000, "CLONE_PIDFD" }, { 0x2000, "CLONE_PTRACE" },
		{ 0x4000, "CLONE_VFORK" }, { 0x8000, "CLONE_PARENT" }, { 0x10000, "CLONE_THREAD" },
		{ 0x20000, "CLONE_NEWNS" }, { 0x40000, "CLONE_SYSVSEM" }, { 0x80000, "CLONE_SETTLS" },
		{ 0x100000, "CLONE_PARENT_SETTID" }, { 0x200000, "CLONE_CHILD_CLEARTID" },
		{ 0x400000, "CLONE_DETACHED" }, { 0x800000, "CLONE_UNTRACED" },
		{ 0x1000000, "CLONE_CHILD_SETTID" }, { 0x2000000, "CLONE_NEWCGROUP" },
		{ 0x4000000, "CLONE_NEWUTS" }, { 0x8000000, "CLONE_NEWIPC" },
		{ 0x10000000, "CLONE_NEWUSER" }, { 0x20000000, "CLONE_NEWPID" },
		{ 0x40000000, "CLONE_NEWNET" }, { 0x80000000ull, "CLONE_IO" },
	};
	char sig[16] = "";
	size_t off;

	/* the low byte is the exit signal, not a flag */
	fmt_flags(buf, len, flags & ~0xffull, f, PS_ARRAY_SIZE(f), "0");
	if (flags & 0xff) {
		snprintf(sig, sizeof(sig), "%s", (flags & 0xff) == 17 ? "SIGCHLD" : "");
		off = strlen(buf);
		if (sig[0])
			snprintf(buf + off, len - off, "|%s", sig);
		else
			snprintf(buf + off, len - off, "|sig%llu", (unsigned long long)(flags & 0xff));
	}
	return buf;
}

const char *rec_info__task_state(char *buf, size_t len, __u32 state)
{
	static const struct flag_name f[] = {
		{ 0x1, "S" }, { 0x2, "D" }, { 0x4, "T" }, { 0x8, "t" }, { 0x10, "EXIT_DEAD" },
		{ 0x20, "EXIT_ZOMBIE" }, { 0x40, "PARKED" }, { 0x80, "DEAD" }, { 0x100, "WAKEKILL" },
		{ 0x200, "WAKING" }, { 0x400, "NOLOAD" }, { 0x800, "NEW" },
		{ 0x1000, "RTLOCK_WAIT" }, { 0x2000, "FREEZABLE" },
	};
	return fmt_flags(buf, len, state, f, PS_ARRAY_SIZE(f), "R");
}

char rec_info__state_char(__u32 state)
{
	/* TASK_IDLE is TASK_UNINTERRUPTIBLE|TASK_NOLOAD: idle, not blocked */
	if ((state & 0x402) == 0x402)
		return 'I';
	if (state & 0x1)
		return 'S';
	if (state & 0x2)
		return 'D';
	if (state & 0x4)
		return 'T';
	if (state & 0x8)
		return 't';
	if (state & 0x80)
		return 'X';
	if (state & 0x10)
		return 'X';
	if (state & 0x20)
		return 'Z';
	if (state & 0x40)
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
