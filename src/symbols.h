/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Symbols of recorded stacks, at read time, with elfutils: function names
 * (C++ demangled), file:line where DWARF exists (separate debug info found
 * by build-id under /usr/lib/debug), kernel names from /proc/kallsyms.
 *
 * One entry per module file, opened once and only when a frame in it is
 * first named; each name is cached, so a long session opens no ELF file per
 * record. A file whose build-id (or, without one, size and mtime) differs
 * from what the recorder saw, or which is gone, is never read: its frames
 * show as "name (replaced)+0xoffset" or "name (deleted)+0xoffset", and each
 * module gets at most one warning.
 */
#ifndef PROCSCOPE_SYMBOLS_H
#define PROCSCOPE_SYMBOLS_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>
#include "records.h"

/* stack_frame.module values below the first file module */
#define SYM_MOD_KERNEL	0	/* addr: a kernel address */
#define SYM_MOD_UNKNOWN	1	/* addr: a user address in no known file */
#define SYM_MOD_FIRST	2

struct stack_frame {
	uint32_t module;	/* SYM_MOD_* or a module id */
	uint32_t pad;
	uint64_t addr;		/* in a module: the address in the file's own terms */
};

struct symbols;

/*
 * RELEASE, BOOT_ID: the recording's kernel release and boot id. Kernel
 * addresses are named from /proc/kallsyms only if that kernel runs now, in
 * the same boot (KASLR moves it at every boot; an empty BOOT_ID, from an
 * older file, is not checked). NULL and errno.
 */
struct symbols *symbols__new(const char *release, const char *boot_id);
/*
 * Kernel names from PATH instead (a copy of the recording machine's
 * /proc/kallsyms, or /dev/null for none), unchecked: export --kallsyms.
 * For every symbols__new() after it.
 */
void symbols__set_kallsyms(const char *path);
void symbols__free(struct symbols *s);
/* Takes what the recorder saw of a file (PS_REC_BUILDID). 0 or -ENOMEM. */
int symbols__note_buildid(struct symbols *s, const struct ps_buildid *b);
/* Module id of the file at PATH (registered on first use); 0 on -ENOMEM. */
uint32_t symbols__module(struct symbols *s, const char *path);
/* The path of module ID; "[kernel]" and "[unknown]" for the pseudo-modules. */
const char *symbols__module_path(const struct symbols *s, uint32_t id);
/* The build-id the recorder read from module ID's file; its length, 0 if none is known. */
uint32_t symbols__module_buildid(const struct symbols *s, uint32_t id, const uint8_t **bytes);
/* True if the file at the module's path is the one recorded (checked once). */
bool symbols__module_ok(struct symbols *s, uint32_t id);
/*
 * The frame's name: "function", "function (file.c:12)" with WITH_LINE,
 * "module+0xoffset" when unknown. Cached: valid until symbols__free().
 */
const char *symbols__name(struct symbols *s, const struct stack_frame *f, bool with_line);

#endif
