// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
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

int snapshot__maps(struct trace_writer *w, pid_t pid, uint64_t ts_ns)
{
	union {
		struct ps_snap_map m;
		char bytes[sizeof(struct ps_snap_map) + PS_SNAP_PATH + 8];
	} u;
	char path[64], line[PS_SNAP_PATH + 256];
	FILE *f;
	int err = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
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

		if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %n", &start, &end, perms, &off,
			   &major, &minor, &ino, &name_at) < 7)
			continue;
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
		if (err)
			break;
	}
	fclose(f);
	return err;
}

int snapshot__process(struct trace_writer *w, pid_t pid, bool maps)
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
	closedir(d);
	if (!err && maps) {
		err = snapshot__maps(w, pid, ps_now_ns(CLOCK_MONOTONIC));
		/* exited meanwhile, or a kernel thread's unreadable maps: threads suffice */
		if (err == -ENOENT || err == -ESRCH || err == -EACCES || err == -EPERM)
			err = 0;
	}
	return err;
}

int snapshot__all(struct trace_writer *w, pid_t skip)
{
	struct dirent *de;
	int n = 0, err;
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
		err = snapshot__process(w, pid, true);
		/* gone meanwhile, or hidden from us (another namespace): skip it */
		if (err == -ENOENT || err == -ESRCH || err == -EACCES || err == -EPERM)
			continue;
		if (err) {
			closedir(d);
			return err;
		}
		n++;
	}
	closedir(d);
	return n;
}
