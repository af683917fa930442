/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What each record type is called and how small it may be. */
#ifndef PROCSCOPE_REC_INFO_H
#define PROCSCOPE_REC_INFO_H

#include <stddef.h>
#include <linux/types.h>
#include "records.h"

const char *rec_info__name(unsigned type);
/*
 * A PS_REC_LOST record of any format (H checked by rec_info__check) as the
 * newest layout: counters the record's format had no room for read as 0.
 */
void rec_info__lost(const struct ps_hdr *h, struct ps_lost *out);
/* "mem", "offcpu", "sample" for a PS_STK_* kind, "?" for another */
const char *rec_info__stack_kind(unsigned kind);
/* Smallest valid hdr.size for TYPE; 0 for an unknown type. */
size_t rec_info__min_size(unsigned type);
/*
 * Checks a record of a known type whose hdr.size bytes are all readable:
 * at least min_size, and every string NUL-terminated within its field (or,
 * for a snapshot map's path, within the record). 0, or -EBADMSG with *why
 * set to a short reason.
 */
int rec_info__check(const struct ps_hdr *h, const char **why);

/* Flag decoders for dump: write "PROT_READ|PROT_WRITE" style text into buf. */
const char *rec_info__prot(char *buf, size_t len, __u64 prot);
const char *rec_info__mmap_flags(char *buf, size_t len, __u64 flags);
const char *rec_info__clone_flags(char *buf, size_t len, __u64 flags);
const char *rec_info__task_state(char *buf, size_t len, __u32 state);
/*
 * Joins leaf-first path components (ps_mmap.path, ps_vma.path) into
 * "/a/b/c"; a lone "[name]" (vdso, vvar) is kept as it is. Returns buf.
 */
const char *rec_info__path(char *buf, size_t len, const char (*comp)[PS_PATH_COMP]);
/* "madvise", "mlock", ... for a PS_MEMOP_* */
const char *rec_info__memop_name(unsigned op);
/* "MADV_HUGEPAGE" style name of a madvise advice, else its number. Returns buf. */
const char *rec_info__advice(char *buf, size_t len, __u64 advice);
/* One-letter task state as ps(1) shows it: R, S, D, T, t, X, Z, P, I */
char rec_info__state_char(__u32 state);

#endif
