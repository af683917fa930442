/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Kernel feature checks before the probes load: each missing feature is
 * said in one line with what recording loses, and the probes that need it
 * are left out (bpf_program__set_autoload) or told to fall back (rodata).
 */
#ifndef PROCSCOPE_FEATURES_H
#define PROCSCOPE_FEATURES_H

#include <stdbool.h>

struct procscope_bpf;

struct features {
	/*
	 * bpf_iter_task_vma_* kfuncs (Linux 6.7+): the probes list the VMAs of
	 * a fresh exec. Without them the recorder reads /proc/PID/maps when it
	 * sees the exec record (snapshot__maps()).
	 */
	bool vma_iter;
	int missing;	/* programs left out: their tracepoint does not exist */
};

/*
 * Checks the kernel against SKEL (opened, not loaded yet), sets its rodata
 * and autoload flags and fills F. 0, or -errno when recording cannot work
 * at all (no BTF, or tp_btf programs cannot load); the message is printed.
 */
int features__check(struct procscope_bpf *skel, struct features *f);

#endif
