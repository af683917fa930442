// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The state of running processes, read from /proc when recording starts:
 * threads (stat, status, schedstat, and where each one's stack pointer is),
 * mappings with the kernel's own VMA flags (smaps), and resident memory.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "buildid.h"
#include "snapshot.h"
#include "util.h"

static void fill_hdr(struct ps_hdr *h, unsigned type, size_t size, pid_t tgid, pid_t tid,
		     uint64_t ts_ns)
{
	h->type = type;
	h->size = size;
	h->cpu = 0;
	h->ts_ns = ts_ns;
	h->tgid = tgid;
	h->tid = tid;
}

static int read_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return -errno;
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
	return n;
}

/* /proc/PID/task/TID/stat: comm, state, ppid and the layout fields 26-28, 45-51. */
static int read_stat(const char *dir, struct ps_snap_task *t)
{
	unsigned long long v[52] = { 0 };
	char path[192], buf[2048], *open_paren, *close_paren, *p, *end;
	int field, n;

	snprintf(path, sizeof(path), "%s/stat", dir);
	n = read_file(path, buf, sizeof(buf));
	if (n < 0)
		return n;
	open_paren = strchr(buf, '(');
	close_paren = strrchr(buf, ')');
	if (!open_paren || !close_paren || close_paren < open_paren || close_paren[1] != ' ')
		return -EINVAL;
	n = close_paren - open_paren - 1;
	if (n >= PS_COMM_LEN)
		n = PS_COMM_LEN - 1;
	memcpy(t->comm, open_paren + 1, n);
	t->state = close_paren[2];
	p = close_paren + 4;
	for (field = 4; field < 52 && *p; field++) {
		v[field] = strtoull(p, &end, 10);
		if (end == p)
			break;
		p = end + (*end == ' ');
	}
	t->ppid = v[4];
	t->start_code = v[26];
	t->end_code = v[27];
	t->start_stack = v[28];
	t->start_data = v[45];
	t->end_data = v[46];
	t->start_brk = v[47];
	t->arg_start = v[48];
	t->arg_end = v[49];
	t->env_start = v[50];
	t->env_end = v[51];
	return 0;
}

static void read_counters(const char *dir, struct ps_snap_task *t)
{
	char path[192], buf[4096], *p;
	unsigned long long ns;

	snprintf(path, sizeof(path), "%s/status", dir);
	if (read_file(path, buf, sizeof(buf)) > 0) {
		p = strstr(buf, "\nvoluntary_ctxt_switches:");
		if (p)
			t->nvcsw = strtoull(strchr(p, ':') + 1, NULL, 10);
		p = strstr(buf, "\nnonvoluntary_ctxt_switches:");
		if (p)
			t->nivcsw = strtoull(strchr(p, ':') + 1, NULL, 10);
	}
	snprintf(path, sizeof(path), "%s/schedstat", dir);
	if (read_file(path, buf, sizeof(buf)) > 0 && sscanf(buf, "%llu", &ns) == 1)
		t->sum_exec_ns = ns;
}

/* smaps' VmFlags mnemonics (fs/proc/task_mmu.c) and the VM_* bits they stand for */
static const struct {
	char name[3];
	uint64_t bit;
} vmflag_names[] = {
	{ "rd", 0x1 }, { "wr", 0x2 }, { "ex", 0x4 }, { "sh", 0x8 }, { "mr", 0x10 },
	{ "mw", 0x20 }, { "me", 0x40 }, { "ms", 0x80 }, { "gd", 0x100 }, { "um", 0x200 },
	{ "pf", 0x400 }, { "uw", 0x1000 }, { "lo", 0x2000 }, { "io", 0x4000 },
	{ "sr", 0x8000 }, { "rr", 0x10000 }, { "dc", 0x20000 }, { "de", 0x40000 },
	{ "lf", 0x80000 }, { "ac", 0x100000 }, { "nr", 0x200000 }, { "ht", 0x400000 },
	{ "sf", 0x800000 }, { "wf", 0x2000000 }, { "dd", 0x4000000 }, { "sd", 0x8000000 },
	{ "mm", 0x10000000 }, { "hg", 0x20000000 }, { "nh", 0x40000000 },
	{ "mg", 0x80000000 }, { "sl", 1ull << 42 },
};

static uint64_t parse_vmflags(const char *s)
{
	uint64_t flags = 0;

	while (*s) {
		while (*s == ' ')
			s++;
		for (size_t i = 0; i < PS_ARRAY_SIZE(vmflag_names); i++)
			if (s[0] == vmflag_names[i].name[0] && s[1] == vmflag_names[i].name[1] &&
			    (s[2] == ' ' || s[2] == '\n' || !s[2]))
				flags |= vmflag_names[i].bit;
		s += strcspn(s, " ");
	}
	return flags;
}

/*
 * The VMAs of a snapshot with their flags, as PS_REC_VMA_SYNC records
 * covering the whole space (ranges chained from 0 to the top), so the
 * model starts with the flags the kernel merges by (VM_NORESERVE,
 * VM_LOCKED, VM_HUGEPAGE, ...), not with guesses.
 */
struct sync_batch {
	struct ps_vma_sync r;
	pid_t pid;
	uint64_t ts_ns;
	uint64_t lo;
};

static int sync_flush(struct trace_writer *w, struct sync_batch *b, uint64_t hi)
{
	size_t size = offsetof(struct ps_vma_sync, vma) + b->r.n * sizeof(b->r.vma[0]);
	int err;

	fill_hdr(&b->r.h, PS_REC_VMA_SYNC, size, b->pid, b->pid, b->ts_ns);
	b->r.lo = b->lo;
	b->r.hi = hi;
	b->r.call = PS_REC_SNAP_MAP;
	b->r.op = 0;
	err = trace_writer__add(w, &b->r.h);
	b->lo = hi;
	b->r.n = 0;
	return err;
}

static int sync_add(struct trace_writer *w, struct sync_batch *b, const struct ps_vma_ent *e)
{
	int err = 0;

	if (b->r.n == PS_SYNC_VMAS)
		err = sync_flush(w, b, b->r.vma[PS_SYNC_VMAS - 1].end);
	b->r.vma[b->r.n++] = *e;
	return err;
}

/* The maps of PID; NOTES: the files whose build-ids this snapshot wrote already. */
static int maps(struct trace_writer *w, pid_t pid, uint64_t ts_ns, struct buildid_notes *notes)
{
	union {
		struct ps_snap_map m;
		char bytes[sizeof(struct ps_snap_map) + PS_SNAP_PATH + 8];
	} u;
	char path[64], line[PS_SNAP_PATH + 256];
	struct sync_batch b = { .pid = pid, .ts_ns = ts_ns };
	struct ps_vma_ent e = { 0 };
	bool have = false;
	FILE *f;
	int err = 0;

	/* smaps: the maps lines, each followed by the VMA's details, VmFlags last */
	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long start, end, off, ino;
		unsigned major, minor;
		char perms[8];
		int name_at = 0;
		size_t plen, size;
		char *name;

		if (!strncmp(line, "VmFlags:", 8)) {
			e.vm_flags |= parse_vmflags(line + 8);
			/* [vsyscall] lives in the kernel half, not among the process's VMAs */
			if (have && e.start < 0xffff800000000000ull)
				err = sync_add(w, &b, &e);
			have = false;
			if (err)
				break;
			continue;
		}
		if (!strncmp(line, "ProtectionKey:", 14)) {
			/* x86 protection key: VM_PKEY_BIT0-3 are bits 32-35 */
			e.vm_flags |= (strtoull(line + 14, NULL, 10) & 0xf) << 32;
			continue;
		}
		if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %n", &start, &end, perms, &off,
			   &major, &minor, &ino, &name_at) < 7)
			continue;
		memset(&e, 0, sizeof(e));
		e.start = start;
		e.end = end;
		/* maps shows no vm_pgoff for anonymous VMAs: unknown */
		e.pgoff = ino ? off / 4096 : PS_VMA_PGOFF_UNKNOWN;
		have = true;
		name = line + name_at;
		name[strcspn(name, "\n")] = '\0';
		plen = strnlen(name, PS_SNAP_PATH - 1);
		size = (sizeof(u.m) + plen + 1 + 7) & ~7ul;
		memset(&u, 0, size);
		fill_hdr(&u.m.h, PS_REC_SNAP_MAP, size, pid, pid, ts_ns);
		u.m.start = start;
		u.m.end = end;
		u.m.offset = off;
		u.m.ino = ino;
		u.m.dev_major = major;
		u.m.dev_minor = minor;
		memcpy(u.m.perms, perms, sizeof(u.m.perms));
		memcpy(u.m.path, name, plen);
		err = trace_writer__add(w, &u.m.h);
		/* files mapped before the recording: their build-ids, as at an mmap */
		if (!err)
			err = buildid__note(notes, w, &u.m.h);
		if (err)
			break;
	}
	fclose(f);
	if (!err && (b.r.n || b.lo))
		err = sync_flush(w, &b, UINT64_MAX);
	return err;
}

/* RSS as the kernel counts it (status: RssAnon, RssFile, RssShmem), as PS_REC_RSS records. */
static int snapshot_rss(struct trace_writer *w, pid_t pid, uint64_t ts_ns)
{
	static const struct {
		const char *key;
		unsigned member;
	} keys[] = { { "\nRssAnon:", PS_RSS_ANON }, { "\nRssFile:", PS_RSS_FILE },
		     { "\nRssShmem:", PS_RSS_SHMEM } };
	char path[64], buf[8192], *p;
	int err = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (read_file(path, buf, sizeof(buf)) <= 0)
		return 0;	/* gone meanwhile */
	for (size_t i = 0; i < PS_ARRAY_SIZE(keys) && !err; i++) {
		struct ps_rss r = { 0 };

		p = strstr(buf, keys[i].key);
		if (!p)
			continue;	/* a kernel thread: no mm */
		fill_hdr(&r.h, PS_REC_RSS, sizeof(r), pid, pid, ts_ns);
		r.bytes = strtoll(p + strlen(keys[i].key), NULL, 10) * 1024;	/* kB */
		r.member = keys[i].member;
		err = trace_writer__add(w, &r.h);
	}
	return err;
}

/*
 * Where a thread's stack is: /proc/PID/task/TID/syscall ends with the user
 * SP of a blocked thread ("nr args... sp pc", or "-1 sp pc" outside a
 * syscall); a running thread shows "running" (SP 0: unknown). stat's
 * kstkesp (field 29) is 0 unless the thread is exiting, so no help.
 */
static int snapshot_sp(struct trace_writer *w, pid_t pid, pid_t tid, uint64_t ts_ns)
{
	struct ps_snap_sp r = { 0 };
	char path[96], buf[512], *tok[10], *save, *t;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", pid, tid);
	if (read_file(path, buf, sizeof(buf)) <= 0)
		return 0;
	for (t = strtok_r(buf, " \n", &save); t && n < 10; t = strtok_r(NULL, " \n", &save))
		tok[n++] = t;
	fill_hdr(&r.h, PS_REC_SNAP_SP, sizeof(r), pid, tid, ts_ns);
	if (n >= 3)
		r.sp = strtoull(tok[n - 2], NULL, 16);
	return trace_writer__add(w, &r.h);
}

int snapshot__maps(struct trace_writer *w, pid_t pid, uint64_t ts_ns)
{
	struct buildid_notes notes = {};
	int err = maps(w, pid, ts_ns, &notes);

	buildid__notes_free(&notes);
	return err;
}

static int process(struct trace_writer *w, pid_t pid, bool with_maps, struct buildid_notes *notes)
{
	char dir[64], tdir[128];
	struct dirent *de;
	DIR *d;
	int err = 0;

	snprintf(dir, sizeof(dir), "/proc/%d/task", pid);
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		struct ps_snap_task t;
		pid_t tid;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		tid = atoi(de->d_name);
		memset(&t, 0, sizeof(t));
		/*
		 * Stamp before reading: a switch between the stamp and the read is
		 * then both in the counters and after the stamp, which a model can
		 * tell; the other order would lose it.
		 */
		fill_hdr(&t.h, PS_REC_SNAP_TASK, sizeof(t), pid, tid, ps_now_ns(CLOCK_MONOTONIC));
		snprintf(tdir, sizeof(tdir), "%s/%d", dir, tid);
		if (read_stat(tdir, &t))
			continue;	/* exited meanwhile */
		read_counters(tdir, &t);
		err = trace_writer__add(w, &t.h);
		if (err)
			break;
	}
	if (!err && with_maps) {
		uint64_t ts = ps_now_ns(CLOCK_MONOTONIC);

		err = maps(w, pid, ts, notes);
		if (!err)
			err = snapshot_rss(w, pid, ts);
		/* the stacks, once the areas that hold them are known */
		rewinddir(d);
		while (!err && (de = readdir(d)))
			if (isdigit((unsigned char)de->d_name[0]))
				err = snapshot_sp(w, pid, atoi(de->d_name), ts);
		/* exited meanwhile, or a kernel thread's unreadable maps: threads suffice */
		if (err == -ENOENT || err == -ESRCH || err == -EACCES || err == -EPERM)
			err = 0;
	}
	closedir(d);
	return err;
}

int snapshot__process(struct trace_writer *w, pid_t pid, bool with_maps)
{
	struct buildid_notes notes = {};
	int err = process(w, pid, with_maps, &notes);

	buildid__notes_free(&notes);
	return err;
}

int snapshot__all(struct trace_writer *w, pid_t skip)
{
	struct buildid_notes notes = {};	/* each file once, however many map it */
	struct dirent *de;
	int n = 0, err = 0;
	DIR *d;

	d = opendir("/proc");
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		pid_t pid;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = atoi(de->d_name);
		if (pid == skip)
			continue;
		err = process(w, pid, true, &notes);
		/* gone meanwhile, or hidden from us (another namespace): skip it */
		if (err == -ENOENT || err == -ESRCH || err == -EACCES || err == -EPERM) {
			err = 0;
			continue;
		}
		if (err)
			break;
		n++;
	}
	closedir(d);
	buildid__notes_free(&notes);
	return err ?: n;
}
