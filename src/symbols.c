// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <elfutils/libdwfl.h>
#include <libiberty/demangle.h>
#include "buildid.h"
#include "idmap.h"
#include "symbols.h"
#include "util.h"

/* sym_module.status */
#define MOD_UNCHECKED	0
#define MOD_OK		1
#define MOD_DELETED	2	/* no file at the path any more */
#define MOD_REPLACED	3	/* another file at the path */
#define MOD_UNREADABLE	4	/* there, but it cannot be opened */

struct sym_module {
	char *path;		/* NULL for the kernel and unknown pseudo-modules */
	int status;
	bool have_rec;		/* the recorder's PS_REC_BUILDID for this path */
	bool warned;
	struct file_id rec;
	int rec_err;
	Dwfl *dwfl;		/* this file alone, at its own addresses; opened on first name */
	Dwfl_Module *mod;
	struct idmap names[2];	/* addr -> name; [1] with file:line */
};

struct ksym {
	uint64_t addr;
	char *name;
};

struct symbols {
	struct sym_module *mods;
	size_t n, cap;
	struct idmap by_path;	/* path hash (+ probe) -> id + 1 */
	bool kernel_ok;		/* the recording's kernel is this one */
	bool ksyms_loaded;
	struct ksym *ksyms;
	size_t nksyms;
};

static uint64_t path_hash(const char *p)
{
	uint64_t h = 0xcbf29ce484222325ull;	/* FNV-1a */

	for (; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
	return h;
}

static const char *kallsyms_path;	/* symbols__set_kallsyms(), NULL: /proc/kallsyms if it fits */

void symbols__set_kallsyms(const char *path)
{
	kallsyms_path = path;
}

/* Is the kernel that ran the recording (RELEASE, BOOT_ID) the one running now? */
static bool same_kernel(const char *release, const char *boot_id)
{
	char now[64] = "";
	struct utsname uts;
	FILE *f;

	if (uname(&uts) || !release || strcmp(uts.release, release))
		return false;
	if (!boot_id || !boot_id[0])
		return true;
	f = fopen("/proc/sys/kernel/random/boot_id", "re");
	if (!f)
		return false;
	if (!fgets(now, sizeof(now), f))
		now[0] = '\0';
	fclose(f);
	now[strcspn(now, "\n")] = '\0';
	return !strcmp(now, boot_id);
}

struct symbols *symbols__new(const char *release, const char *boot_id)
{
	struct symbols *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->cap = 16;
	s->mods = calloc(s->cap, sizeof(*s->mods));
	if (!s->mods) {
		free(s);
		return NULL;
	}
	s->n = SYM_MOD_FIRST;	/* the kernel and unknown pseudo-modules */
	s->kernel_ok = kallsyms_path || same_kernel(release, boot_id);
	return s;
}

static void module_free(struct sym_module *m)
{
	for (int w = 0; w < 2; w++) {
		for (size_t i = 0; i < m->names[w].cap; i++)
			free(m->names[w].vals[i]);
		idmap__free(&m->names[w]);
	}
	if (m->dwfl)
		dwfl_end(m->dwfl);
	free(m->path);
}

void symbols__free(struct symbols *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		module_free(&s->mods[i]);
	for (size_t i = 0; i < s->nksyms; i++)
		free(s->ksyms[i].name);
	free(s->ksyms);
	free(s->mods);
	idmap__free(&s->by_path);
	free(s);
}

uint32_t symbols__module(struct symbols *s, const char *path)
{
	uint64_t key = path_hash(path);
	uintptr_t v;

	/* a hash collision takes the next key: ids are found by comparing paths */
	while ((v = (uintptr_t)idmap__get(&s->by_path, key))) {
		if (!strcmp(s->mods[v - 1].path, path))
			return v - 1;
		key++;
	}
	if (s->n == s->cap) {
		struct sym_module *m = realloc(s->mods, 2 * s->cap * sizeof(*m));

		if (!m)
			return 0;
		memset(m + s->cap, 0, s->cap * sizeof(*m));
		s->mods = m;
		s->cap *= 2;
	}
	s->mods[s->n].path = strdup(path);
	if (!s->mods[s->n].path || idmap__set(&s->by_path, key, (void *)(uintptr_t)(s->n + 1))) {
		free(s->mods[s->n].path);
		s->mods[s->n].path = NULL;
		return 0;
	}
	return s->n++;
}

int symbols__note_buildid(struct symbols *s, const struct ps_buildid *b)
{
	uint32_t id = symbols__module(s, b->path);
	struct sym_module *m;

	if (!id)
		return -ENOMEM;
	m = &s->mods[id];
	if (m->have_rec)
		return 0;	/* the first the recorder saw: what the earliest stacks ran */
	m->have_rec = true;
	m->rec_err = b->err;
	m->rec.len = b->len;
	memcpy(m->rec.id, b->id, b->len);
	m->rec.size = b->size;
	m->rec.mtime_ns = b->mtime_ns;
	return 0;
}

/* Is the file at the path the one that ran? Checked once per module. */
static int check_module(struct sym_module *m)
{
	struct file_id now;
	int err;

	if (m->status != MOD_UNCHECKED)
		return m->status;
	err = buildid__read(m->path, &now);
	if (err == -ENOENT || err == -ENOTDIR)
		m->status = MOD_DELETED;
	else if (err)
		m->status = MOD_UNREADABLE;
	else if (!m->have_rec || m->rec_err)
		m->status = MOD_OK;	/* nothing to compare with (older file, -p snapshot) */
	else if (m->rec.len)
		m->status = now.len == m->rec.len && !memcmp(now.id, m->rec.id, now.len) ?
			    MOD_OK : MOD_REPLACED;
	else
		m->status = now.size == m->rec.size && now.mtime_ns == m->rec.mtime_ns ?
			    MOD_OK : MOD_REPLACED;
	if (m->status != MOD_OK && !m->warned) {
		/* /proc's maps say " (deleted)": gone (or a memfd, /dev/zero) while it ran */
		size_t n = strlen(m->path), k = sizeof(" (deleted)") - 1;
		bool gone_then = n > k && !strcmp(m->path + n - k, " (deleted)");

		m->warned = true;
		fprintf(stderr, "procscope: %s %s: its frames are shown as offsets\n", m->path,
			gone_then ? "had no file on disk while it ran" :
			m->status == MOD_DELETED ? "was deleted since the recording" :
			m->status == MOD_REPLACED ? "was replaced since the recording" :
			"cannot be read");
	}
	return m->status;
}

const char *symbols__module_path(const struct symbols *s, uint32_t id)
{
	if (id == SYM_MOD_KERNEL)
		return "[kernel]";
	return id < s->n && s->mods[id].path ? s->mods[id].path : "[unknown]";
}

uint32_t symbols__module_buildid(const struct symbols *s, uint32_t id, const uint8_t **bytes)
{
	const struct sym_module *m = id >= SYM_MOD_FIRST && id < s->n ? &s->mods[id] : NULL;

	if (!m || !m->have_rec || m->rec_err)
		return 0;
	*bytes = m->rec.id;
	return m->rec.len;
}

bool symbols__module_ok(struct symbols *s, uint32_t id)
{
	return id >= SYM_MOD_FIRST && id < s->n && check_module(&s->mods[id]) == MOD_OK;
}

static const Dwfl_Callbacks file_callbacks = {
	.find_elf = dwfl_linux_proc_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,	/* build-id under /usr/lib/debug, debuglink */
};

static Dwfl_Module *open_module(struct sym_module *m)
{
	const char *base;

	if (m->mod || m->dwfl)
		return m->mod;
	m->dwfl = dwfl_begin(&file_callbacks);
	if (!m->dwfl)
		return NULL;
	base = strrchr(m->path, '/');
	dwfl_report_begin(m->dwfl);
	/* base 0: the module sits at the addresses the file itself names */
	m->mod = dwfl_report_elf(m->dwfl, base ? base + 1 : m->path, m->path, -1, 0, false);
	dwfl_report_end(m->dwfl, NULL, NULL);
	if (!m->mod && !m->warned) {
		m->warned = true;
		fprintf(stderr, "procscope: cannot read symbols of %s: %s: its frames are shown as offsets\n",
			m->path, dwfl_errmsg(-1));
	}
	return m->mod;
}

static int ksym_cmp(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* Text symbols of the running kernel; none when kallsyms hides addresses. */
static void load_ksyms(struct symbols *s)
{
	char line[512], name[256], type;
	unsigned long long addr;
	size_t cap = 0;
	FILE *f;

	s->ksyms_loaded = true;
	if (!s->kernel_ok || !(f = fopen(kallsyms_path ? kallsyms_path : "/proc/kallsyms", "re")))
		return;
	while (fgets(line, sizeof(line), f)) {
		struct ksym *k;

		if (sscanf(line, "%llx %c %255s", &addr, &type, name) != 3 || !addr ||
		    !strchr("tTwW", type))
			continue;
		if (s->nksyms == cap) {
			cap = cap ? 2 * cap : 65536;
			k = realloc(s->ksyms, cap * sizeof(*k));
			if (!k)
				break;
			s->ksyms = k;
		}
		s->ksyms[s->nksyms].addr = addr;
		/*
		 * A BPF program's address names what is loaded there now, maybe not
		 * what ran at the recording (the recorder's own probes come and go):
		 * all are "bpf_prog"
		 */
		s->ksyms[s->nksyms].name = strdup(strstr(line, "[bpf]") ? "bpf_prog" : name);
		if (s->ksyms[s->nksyms].name)
			s->nksyms++;
	}
	fclose(f);
	if (s->nksyms)
		qsort(s->ksyms, s->nksyms, sizeof(*s->ksyms), ksym_cmp);
}

static char *kernel_name(struct symbols *s, uint64_t addr)
{
	size_t lo = 0, hi;
	char *out;

	if (!s->ksyms_loaded)
		load_ksyms(s);
	hi = s->nksyms;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (s->ksyms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return asprintf(&out, "[kernel]+0x%llx", (unsigned long long)addr) < 0 ? NULL : out;
	return strdup(s->ksyms[lo - 1].name);
}

static char *file_name(struct sym_module *m, uint64_t addr, bool with_line)
{
	const char *base = strrchr(m->path, '/'), *fn = NULL, *src = NULL, *state = "";
	char *dem = NULL, *out = NULL;
	Dwfl_Module *mod = NULL;
	GElf_Addr bias = 0;
	GElf_Off off;
	GElf_Sym sym;
	int line = 0;

	base = base ? base + 1 : m->path;
	if (check_module(m) == MOD_OK)
		mod = open_module(m);
	else
		state = m->status == MOD_DELETED ? " (deleted)" :
			m->status == MOD_REPLACED ? " (replaced)" : "";
	if (mod && dwfl_module_getelf(mod, &bias)) {
		fn = dwfl_module_addrinfo(mod, addr + bias, &off, &sym, NULL, NULL, NULL);
		if (fn && fn[0] == '_' && fn[1] == 'Z')
			dem = cplus_demangle(fn, DMGL_PARAMS | DMGL_ANSI);
		if (fn && with_line) {
			Dwfl_Line *l = dwfl_module_getsrc(mod, addr + bias);

			if (l)
				src = dwfl_lineinfo(l, NULL, &line, NULL, NULL, NULL);
		}
	}
	if (!fn) {
		if (asprintf(&out, "%s%s+0x%llx", base, state, (unsigned long long)addr) < 0)
			out = NULL;
	} else if (src) {
		const char *sb = strrchr(src, '/');

		if (asprintf(&out, "%s (%s:%d)", dem ? dem : fn, sb ? sb + 1 : src, line) < 0)
			out = NULL;
	} else {
		out = strdup(dem ? dem : fn);
	}
	free(dem);
	return out;
}

const char *symbols__name(struct symbols *s, const struct stack_frame *f, bool with_line)
{
	struct sym_module *m;
	char *name;

	if (f->module >= s->n)
		return "[bad frame]";
	m = &s->mods[f->module];
	name = idmap__get(&m->names[with_line], f->addr);
	if (name)
		return name;
	if (f->module == SYM_MOD_KERNEL)
		name = kernel_name(s, f->addr);
	else if (f->module == SYM_MOD_UNKNOWN)
		name = asprintf(&name, "[unknown] 0x%llx", (unsigned long long)f->addr) < 0 ? NULL : name;
	else
		name = file_name(m, f->addr, with_line);
	if (!name)
		return "[no memory]";
	/* ';' splits folded frames and '\n' lines: names may hold neither */
	for (char *c = name; *c; c++)
		if (*c == ';' || *c == '\n')
			*c = ':';
	if (idmap__set(&m->names[with_line], f->addr, name)) {
		free(name);
		return "[no memory]";
	}
	return name;
}
