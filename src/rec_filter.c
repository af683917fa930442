// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include "rec_filter.h"
#include "util.h"

int rec_filter__set_cgroup(struct rec_filter *f, const char *path)
{
	char real[PATH_MAX], up[PATH_MAX + 4];
	struct statfs sfs;
	struct stat st, pst;
	unsigned level = 0;
	char *root_end;

	if (!realpath(path, real) || stat(real, &st)) {
		ps_err("cannot use cgroup '%s': %s", path, strerror(errno));
		return -ENOENT;
	}
	if (statfs(real, &sfs) || sfs.f_type != CGROUP2_SUPER_MAGIC || !S_ISDIR(st.st_mode)) {
		ps_err("'%s' is not a cgroup v2 directory (--cgroup needs the unified hierarchy,"
		       " mounted at /sys/fs/cgroup on most systems)", path);
		return -EINVAL;
	}
	/* the root of the cgroup v2 mount: climb while the parent is the same file system */
	root_end = real + strlen(real);
	for (;;) {
		char *slash;

		snprintf(up, sizeof(up), "%.*s", (int)(root_end - real), real);
		slash = strrchr(up, '/');
		if (!slash || slash == up)
			break;
		*slash = '\0';
		if (stat(up, &pst) || pst.st_dev != st.st_dev)
			break;
		root_end = real + (slash - up);
		level++;
	}
	f->on = true;
	f->cgroup_path = path;
	f->cgroup_id = st.st_ino;	/* kernfs: a cgroup's id is its directory's inode */
	f->cgroup_level = level;
	snprintf(f->cgroup_rel, sizeof(f->cgroup_rel), "%s", *root_end ? root_end : "/");
	return 0;
}

void rec_filter__set_comm(struct rec_filter *f, const char *name)
{
	f->on = true;
	snprintf(f->comm, sizeof(f->comm), "%s", name);	/* the kernel keeps 15 bytes */
}

static bool in_cgroup(const struct rec_filter *f, pid_t pid)
{
	char path[64], line[PATH_MAX + 16];
	size_t n = strlen(f->cgroup_rel);
	bool in = false;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	fp = fopen(path, "re");
	if (!fp)
		return false;
	while (fgets(line, sizeof(line), fp)) {
		const char *rel;

		if (strncmp(line, "0::", 3))
			continue;
		rel = line + 3;
		line[strcspn(line, "\n")] = '\0';
		in = !strcmp(f->cgroup_rel, "/") ||
		     (!strncmp(rel, f->cgroup_rel, n) && (rel[n] == '\0' || rel[n] == '/'));
		break;
	}
	fclose(fp);
	return in;
}

static bool comm_in(const struct rec_filter *f, pid_t pid)
{
	char path[320], comm[64];
	struct dirent *de;
	bool found = false;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return false;
	while (!found && (de = readdir(d))) {
		FILE *fp;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/comm", pid, de->d_name);
		fp = fopen(path, "re");
		if (!fp)
			continue;
		if (fgets(comm, sizeof(comm), fp)) {
			comm[strcspn(comm, "\n")] = '\0';
			found = !strncmp(comm, f->comm, PS_COMM_LEN - 1);
		}
		fclose(fp);
	}
	closedir(d);
	return found;
}

bool rec_filter__match(const struct rec_filter *f, pid_t pid)
{
	if (f->comm[0] && !comm_in(f, pid))
		return false;
	if (f->cgroup_id && !in_cgroup(f, pid))
		return false;
	return true;
}
