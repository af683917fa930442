// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Attaching the coroutine uprobes (coro_attach.h). Each library file is
 * probed once, however many targets map it (one inode, one uprobe).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "coro_attach.h"
#include "procscope.skel.h"
#include "util.h"

#define MAX_FILES	8
#define MAX_LINKS	(MAX_FILES * 3)

struct coro_links {
	struct bpf_link *l[MAX_LINKS];
	int n;
	dev_t dev[MAX_FILES];	/* files probed, by identity */
	ino_t ino[MAX_FILES];
	int nfiles;
};

struct probe {
	const char *func;
	struct bpf_program *prog;
};

void coro_attach__setup(struct procscope_bpf *skel, bool on)
{
	struct bpf_program *progs[] = {
		skel->progs.coro_makecontext, skel->progs.coro_swapcontext,
		skel->progs.coro_setcontext, skel->progs.coro_make_fcontext,
		skel->progs.coro_jump_fcontext, skel->progs.coro_ontop_fcontext,
	};

#if !defined(__x86_64__)
	on = false;	/* the probes read glibc's x86_64 ucontext_t */
#endif
	for (size_t i = 0; i < PS_ARRAY_SIZE(progs); i++)
		bpf_program__set_autoload(progs[i], on);
}

/* libc.so.6 / libc-2.31.so, libboost_context.so.1.74.0: 1 libc, 2 boost, 0 other */
static int lib_kind(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	if (!strncmp(base, "libc.so", 7) || (!strncmp(base, "libc-", 5) && strstr(base, ".so")))
		return 1;
	if (!strncmp(base, "libboost_context", 16) && strstr(base, ".so"))
		return 2;
	return 0;
}

/* Attaches PROBES to PATH's functions; how many attached. */
static int attach_file(struct coro_links *cl, const char *path, const struct probe *probes,
		       size_t n)
{
	struct stat st;
	int done = 0;

	if (stat(path, &st))
		return 0;
	for (int i = 0; i < cl->nfiles; i++)
		if (cl->dev[i] == st.st_dev && cl->ino[i] == st.st_ino)
			return 1;	/* probed already (another target, another path) */
	if (cl->nfiles == MAX_FILES)
		return 0;
	cl->dev[cl->nfiles] = st.st_dev;
	cl->ino[cl->nfiles++] = st.st_ino;
	for (size_t i = 0; i < n && cl->n < MAX_LINKS; i++) {
		LIBBPF_OPTS(bpf_uprobe_opts, opts, .func_name = probes[i].func);
		struct bpf_link *l = bpf_program__attach_uprobe_opts(probes[i].prog, -1, path, 0,
								    &opts);

		if (!l) {
			ps_dbg("no uprobe on %s in %s: %s", probes[i].func, path, strerror(errno));
			continue;
		}
		cl->l[cl->n++] = l;
		done++;
		ps_dbg("uprobe on %s in %s", probes[i].func, path);
	}
	return done;
}

static int attach_path(struct procscope_bpf *skel, struct coro_links *cl, const char *path)
{
	const struct probe libc[] = {
		{ "makecontext", skel->progs.coro_makecontext },
		{ "swapcontext", skel->progs.coro_swapcontext },
		{ "setcontext", skel->progs.coro_setcontext },
	};
	const struct probe boost[] = {
		{ "make_fcontext", skel->progs.coro_make_fcontext },
		{ "jump_fcontext", skel->progs.coro_jump_fcontext },
		{ "ontop_fcontext", skel->progs.coro_ontop_fcontext },
	};

	switch (lib_kind(path)) {
	case 1:
		return attach_file(cl, path, libc, PS_ARRAY_SIZE(libc)) ? 1 : 0;
	case 2:
		attach_file(cl, path, boost, PS_ARRAY_SIZE(boost));
		return 0;
	default:
		return 0;
	}
}

/* The libraries PID maps (seen through its root, which may be a container's). */
static int attach_maps(struct procscope_bpf *skel, struct coro_links *cl, pid_t pid,
		       const char *root)
{
	char line[PATH_MAX + 128], path[PATH_MAX + 64];
	int libc = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char *p = strchr(line, '/');

		if (!p)
			continue;
		p[strcspn(p, "\n")] = '\0';
		if (!lib_kind(p))
			continue;
		snprintf(path, sizeof(path), "%s%s", root, p);
		libc += attach_path(skel, cl, path);
	}
	fclose(f);
	return libc;
}

/* boost.context where Debian and most distributions install it. */
static void attach_boost_dirs(struct procscope_bpf *skel, struct coro_links *cl)
{
	static const char *const dirs[] = { "/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu",
					    "/usr/lib64", "/usr/lib", "/usr/local/lib" };
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d;

	for (size_t i = 0; i < PS_ARRAY_SIZE(dirs); i++) {
		d = opendir(dirs[i]);
		if (!d)
			continue;
		while ((e = readdir(d))) {
			if (lib_kind(e->d_name) != 2)
				continue;
			snprintf(path, sizeof(path), "%s/%s", dirs[i], e->d_name);
			attach_path(skel, cl, path);	/* symlinks to one file: probed once */
		}
		closedir(d);
	}
}

int coro_attach__attach(struct procscope_bpf *skel, const pid_t *pids, int npids,
			struct coro_links **out)
{
	struct coro_links *cl = calloc(1, sizeof(*cl));
	char root[64];
	int libc = 0;

	*out = NULL;
	if (!cl)
		return -ENOMEM;
#if !defined(__x86_64__)
	ps_err("--coroutines: only x86_64 is supported (the probes read glibc's x86_64 ucontext_t)");
	free(cl);
	return -EOPNOTSUPP;
#endif
	for (int i = 0; i < npids; i++) {
		snprintf(root, sizeof(root), "/proc/%d/root", (int)pids[i]);
		libc += attach_maps(skel, cl, pids[i], root);
	}
	if (!npids) {
		libc += attach_maps(skel, cl, getpid(), "");
		attach_boost_dirs(skel, cl);
	}
	if (!libc) {
		ps_err("--coroutines: no C library to probe for makecontext/swapcontext (%s)",
		       npids ? "a target maps none: statically linked?" : "procscope's own not found");
		coro_attach__free(cl);
		return -ENOENT;
	}
	*out = cl;
	return 0;
}

void coro_attach__free(struct coro_links *l)
{
	if (!l)
		return;
	for (int i = 0; i < l->n; i++)
		bpf_link__destroy(l->l[i]);
	free(l);
}
