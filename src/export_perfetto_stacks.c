// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "export_perfetto_stacks.h"
#include "idmap.h"

/* TracePacket.interned_data, InternedData and its entries (profile_common.proto) */
#define TP_INTERNED_DATA	12
#define ID_FUNCTION_NAMES	5
#define ID_FRAMES		6
#define ID_CALLSTACKS		7
#define ID_MAPPING_PATHS	17
#define ID_MAPPINGS		19
#define IS_IID			1
#define IS_STR			2
#define MAP_IID			1
#define MAP_PATH_STRING_IDS	7
#define FR_IID			1
#define FR_FUNCTION_NAME_ID	2
#define FR_MAPPING_ID		3
#define FR_REL_PC		4
#define CS_IID			1
#define CS_FRAME_IDS		2
/* DebugAnnotation and its NestedValue */
#define DA_NAME			10
#define DA_NESTED		8
#define NV_TYPE			1
#define NV_TYPE_ARRAY		2
#define NV_ARRAY_VALUES		4
#define NV_STRING		8

struct pf_stacks {
	struct export_stacks *x;
	struct stack_model *sm;
	struct idmap callstacks;	/* stack id + 1 -> 1 once written */
	struct idmap functions;		/* name id + 1 -> 1 once written */
	struct idmap path_parts;	/* name id + 1 -> 1 once written */
	struct idmap mappings;		/* module + 1 -> 1 once written */
	struct idmap frames[2];		/* frame key -> iid: [0] user, [1] kernel */
	uint64_t nframes;
	int err;
};

struct pf_stacks *pf_stacks__new(struct export_stacks *x)
{
	struct pf_stacks *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->x = x;
	p->sm = export_stacks__model(x);
	return p;
}

void pf_stacks__free(struct pf_stacks *p)
{
	if (!p)
		return;
	idmap__free(&p->callstacks);
	idmap__free(&p->functions);
	idmap__free(&p->path_parts);
	idmap__free(&p->mappings);
	idmap__free(&p->frames[0]);
	idmap__free(&p->frames[1]);
	free(p);
}

int pf_stacks__error(const struct pf_stacks *p)
{
	return p->err;
}

/* True the first time KEY is seen in M. */
static bool first_time(struct pf_stacks *p, struct idmap *m, uint64_t key)
{
	if (idmap__get(m, key))
		return false;
	if (idmap__set(m, key, (void *)1)) {
		p->err = -ENOMEM;
		return false;
	}
	return true;
}

static void interned_string(struct pb_writer *w, uint32_t field, uint64_t iid, const char *s)
{
	pb_writer__begin(w, field);
	pb_writer__varint(w, IS_IID, iid);
	pb_writer__bytes(w, IS_STR, s, strlen(s));
	pb_writer__end(w);
}

/* The module's Mapping (its path as interned components), once. */
static void intern_mapping(struct pf_stacks *p, struct pb_writer *w, uint32_t module)
{
	const char *path = stack_model__module_path(p->sm, module);
	char part[256];
	int64_t ids[64];
	int n = 0;

	if (!first_time(p, &p->mappings, module + 1ull))
		return;
	for (const char *s = path; *s && n < 64;) {
		size_t len = strcspn(s, "/");

		if (len && len < sizeof(part)) {
			memcpy(part, s, len);
			part[len] = '\0';
			ids[n] = export_stacks__name_id(p->x, part);
			if (ids[n] < 0) {
				p->err = -ENOMEM;
				return;
			}
			if (first_time(p, &p->path_parts, ids[n] + 1ull))
				interned_string(w, ID_MAPPING_PATHS, ids[n] + 1, part);
			n++;
		}
		s += len + (s[len] == '/');
	}
	pb_writer__begin(w, ID_MAPPINGS);
	pb_writer__varint(w, MAP_IID, module + 1ull);
	for (int i = 0; i < n; i++)
		pb_writer__varint(w, MAP_PATH_STRING_IDS, ids[i] + 1);
	pb_writer__end(w);
}

/* The iid of frame F, writing it (and its name and mapping) the first time; 0 on failure. */
static uint64_t intern_frame(struct pf_stacks *p, struct pb_writer *w, const struct stack_frame *f)
{
	bool kernel = f->module == SYM_MOD_KERNEL;
	uint64_t key = kernel ? f->addr : f->addr ^ ((uint64_t)f->module << 48);
	uintptr_t iid = (uintptr_t)idmap__get(&p->frames[kernel], key);
	int64_t name;

	if (iid)
		return iid;
	name = export_stacks__frame_name_id(p->x, f);
	if (name < 0) {
		p->err = -ENOMEM;
		return 0;
	}
	if (first_time(p, &p->functions, name + 1ull))
		interned_string(w, ID_FUNCTION_NAMES, name + 1, export_stacks__name(p->x, name));
	intern_mapping(p, w, f->module);
	iid = ++p->nframes;
	if (idmap__set(&p->frames[kernel], key, (void *)iid)) {
		p->err = -ENOMEM;
		return 0;
	}
	pb_writer__begin(w, ID_FRAMES);
	pb_writer__varint(w, FR_IID, iid);
	pb_writer__varint(w, FR_FUNCTION_NAME_ID, name + 1);
	pb_writer__varint(w, FR_MAPPING_ID, f->module + 1ull);
	pb_writer__varint(w, FR_REL_PC, f->addr);
	pb_writer__end(w);
	return iid;
}

void pf_stacks__intern(struct pf_stacks *p, struct pb_writer *w, uint32_t id)
{
	const struct stack_frame *f;
	uint64_t iids[PS_KSTACK_MAX + 128];
	uint32_t n;

	if (!first_time(p, &p->callstacks, id + 1ull))
		return;
	f = stack_model__frames(p->sm, id, &n);
	if (n > sizeof(iids) / sizeof(iids[0]))
		n = sizeof(iids) / sizeof(iids[0]);
	pb_writer__begin(w, TP_INTERNED_DATA);
	for (uint32_t i = 0; i < n; i++)
		iids[i] = intern_frame(p, w, &f[i]);
	pb_writer__begin(w, ID_CALLSTACKS);
	pb_writer__varint(w, CS_IID, pf_stacks__iid(id));
	for (uint32_t i = n; i--;)	/* the root (outermost) frame first */
		if (iids[i])
			pb_writer__varint(w, CS_FRAME_IDS, iids[i]);
	pb_writer__end(w);
	pb_writer__end(w);
}

void pf_stacks__annotation(struct pf_stacks *p, struct pb_writer *w, const char *name, uint32_t id)
{
	const struct stack_frame *f;
	uint32_t n;

	f = stack_model__frames(p->sm, id, &n);
	pb_writer__begin(w, 4);	/* TrackEvent.debug_annotations */
	pb_writer__string(w, DA_NAME, name, SIZE_MAX);
	pb_writer__begin(w, DA_NESTED);
	pb_writer__varint(w, NV_TYPE, NV_TYPE_ARRAY);
	for (uint32_t i = 0; i < n; i++) {
		int64_t nm = export_stacks__frame_name_id(p->x, &f[i]);

		if (nm < 0) {
			p->err = -ENOMEM;
			break;
		}
		pb_writer__begin(w, NV_ARRAY_VALUES);
		pb_writer__string(w, NV_STRING, export_stacks__name(p->x, nm), SIZE_MAX);
		pb_writer__end(w);
	}
	pb_writer__end(w);
	pb_writer__end(w);
}

const char *pf_stacks__user_leaf(struct pf_stacks *p, uint32_t id)
{
	const struct stack_frame *f;
	uint32_t n;

	f = stack_model__frames(p->sm, id, &n);
	for (uint32_t i = 0; i < n; i++) {
		if (f[i].module != SYM_MOD_KERNEL) {
			int64_t nm = export_stacks__frame_name_id(p->x, &f[i]);

			return nm < 0 ? "" : export_stacks__name(p->x, nm);
		}
	}
	return "";
}
