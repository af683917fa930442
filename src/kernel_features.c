// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Kernel features the probes need, checked before the BPF object is loaded,
 * so a missing one costs what depends on it (said in one line) instead of
 * the whole load failing with a verifier log.
 *
 * The checks read the kernel's BTF and tracefs; they cost a few ms once per
 * recording. Hidden knobs force the fallbacks so tests can cover them:
 *	PROCSCOPE_NO_VMA_ITER=1		as if bpf_iter_task_vma_* were missing
 *	PROCSCOPE_NO_READ_DYNPTR=1	as if bpf_probe_read_user_dynptr were missing
 *	PROCSCOPE_NO_TP=name,name	as if these tracepoints were missing
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "kernel_features.h"
#include "procscope.skel.h"
#include "util.h"

/* What recording loses without each tracepoint. */
static const struct {
	const char *tp;
	const char *lost;
} tp_loss[] = {
	{ "sched_switch", "on-CPU time, context switches and CPU lanes" },
	{ "sched_waking", "wakeups and run-queue latency" },
	{ "sched_wakeup_new", "the wakeups of new tasks" },
	{ "sched_process_fork", "new processes and threads (children are not followed)" },
	{ "sched_process_exec", "execs (a command started by record is not traced)" },
	{ "sched_process_exit", "exits" },
	{ "task_rename", "thread renames" },
	{ "rss_stat", "RSS" },
	{ "sys_exit_brk", "brk (heap size)" },
	{ "sys_exit_mmap", "mmap" },
	{ "sys_exit_munmap", "munmap" },
	{ "sys_exit_mremap", "mremap" },
	{ "sys_exit_mprotect", "mprotect" },
	{ "sys_exit_clone", "clone flags and thread stacks" },
	{ "sys_exit_clone3", "clone3 flags and thread stacks" },
	{ "sys_exit_execve", "failed execs" },
	{ "sys_exit_madvise", "madvise (VMA flags: huge pages, fork, dump, KSM)" },
	{ "sys_exit_mlock", "mlock" },
	{ "sys_exit_mlock2", "mlock2" },
	{ "sys_exit_munlock", "munlock" },
	{ "sys_exit_mlockall", "mlockall" },
	{ "sys_exit_munlockall", "munlockall" },
	{ "sys_exit_pkey_mprotect", "pkey_mprotect" },
	{ "sys_exit_mseal", "mseal" },
	{ "sys_exit_remap_file_pages", "remap_file_pages" },
	{ "sys_exit_shmat", "shmat (SysV shared memory)" },
	{ "sys_exit_shmdt", "shmdt" },
};

static const char *loss_of(const char *tp)
{
	for (size_t i = 0; i < PS_ARRAY_SIZE(tp_loss); i++)
		if (!strcmp(tp_loss[i].tp, tp))
			return tp_loss[i].lost;
	return NULL;
}

/* Is TP in the comma-separated list of PROCSCOPE_NO_TP? */
static bool forced_off(const char *tp)
{
	const char *list = getenv("PROCSCOPE_NO_TP"), *p;
	size_t n = strlen(tp);

	for (p = list; p && *p; p += strcspn(p, ","), p += *p == ',') {
		if (!strncmp(p, tp, n) && (p[n] == ',' || !p[n]))
			return true;
	}
	return false;
}

/*
 * Can a tp_btf program be loaded at all (BPF_PROG_TYPE_TRACING attached to a
 * BTF tracepoint, Linux 5.5+)? libbpf 1.1's libbpf_probe_bpf_prog_type()
 * cannot tell for tracing programs (they need an attach target), so load
 * the smallest one against BTF_ID, a btf_trace_* typedef.
 */
static bool tp_btf_loads(int btf_id)
{
	const struct bpf_insn insns[] = {
		{ .code = 0xb7, .dst_reg = 0, .imm = 0 },	/* r0 = 0 */
		{ .code = 0x95 },				/* exit */
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_RAW_TP,
		    .attach_btf_id = btf_id);
	int fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, NULL, "GPL", insns, 2, &opts);

	/* not allowed to load anything: the real load will say so */
	if (fd < 0 && (errno == EPERM || errno == EACCES))
		return true;
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/*
 * A classic tracepoint exists if tracefs lists it (the caller mounts it).
 * Without tracefs nothing can be told: attaching will say what is wrong.
 */
static bool tracefs_has(const char *category, const char *tp)
{
	static const char *const roots[] = { "/sys/kernel/tracing", "/sys/kernel/debug/tracing" };
	char path[256];

	for (size_t i = 0; i < PS_ARRAY_SIZE(roots); i++) {
		snprintf(path, sizeof(path), "%s/events", roots[i]);
		if (access(path, F_OK))
			continue;
		snprintf(path, sizeof(path), "%s/events/%s/%s", roots[i], category, tp);
		return !access(path, F_OK);
	}
	return true;
}

int features__check(struct procscope_bpf *skel, struct features *f)
{
	struct btf *btf = btf__load_vmlinux_btf();
	struct bpf_program *prog;
	char name[128];
	int err = 0, id;

	memset(f, 0, sizeof(*f));
	if (!btf) {
		err = -errno;
		ps_err("cannot read the kernel's BTF: %s (procscope needs CONFIG_DEBUG_INFO_BTF=y)",
		       strerror(-err));
		return err;
	}

	/* the probe only tells whether tracing programs load; any tracepoint will do */
	id = btf__find_by_name_kind(btf, "btf_trace_sched_switch", BTF_KIND_TYPEDEF);
	if (id < 0 || !tp_btf_loads(id)) {
		ps_err("this kernel cannot load BTF tracepoint programs (tp_btf, Linux 5.5+): "
		       "scheduling and process lifecycle cannot be recorded");
		err = -EOPNOTSUPP;
		goto out;
	}

	f->vma_iter = btf__find_by_name_kind(btf, "bpf_iter_task_vma_new", BTF_KIND_FUNC) >= 0;
	if (getenv("PROCSCOPE_NO_VMA_ITER") && strcmp(getenv("PROCSCOPE_NO_VMA_ITER"), "0"))
		f->vma_iter = false;
	if (!f->vma_iter)
		fprintf(stderr, "procscope: no task VMA iterator in this kernel (bpf_iter_task_vma, "
			"Linux 6.7+): the mappings exec makes are read from /proc/PID/maps at the next "
			"drain (~10 ms), and are missing for a program that exits sooner\n");
	skel->rodata->targ_vma_iter = f->vma_iter;

	/* without it (before Linux 6.16) a stack is built aside and copied in: costs more, loses nothing */
	skel->rodata->targ_read_dynptr =
		btf__find_by_name_kind(btf, "bpf_probe_read_user_dynptr", BTF_KIND_FUNC) >= 0 &&
		!(getenv("PROCSCOPE_NO_READ_DYNPTR") && strcmp(getenv("PROCSCOPE_NO_READ_DYNPTR"), "0"));
	if (!skel->rodata->targ_read_dynptr)
		ps_dbg("no bpf_probe_read_user_dynptr: stacks are built aside and copied into the ring");

	bpf_object__for_each_program(prog, skel->obj) {
		const char *sec = bpf_program__section_name(prog), *tp;
		bool present;

		if (!strncmp(sec, "tp_btf/", 7)) {
			tp = sec + 7;
			snprintf(name, sizeof(name), "btf_trace_%s", tp);
			present = btf__find_by_name_kind(btf, name, BTF_KIND_TYPEDEF) >= 0;
		} else if (!strncmp(sec, "tracepoint/", 11)) {
			const char *slash = strchr(sec + 11, '/');

			if (!slash)
				continue;
			tp = slash + 1;
			snprintf(name, sizeof(name), "%.*s", (int)(slash - sec - 11), sec + 11);
			present = tracefs_has(name, tp);
		} else {
			continue;
		}
		if (present && !forced_off(tp))
			continue;
		bpf_program__set_autoload(prog, false);
		f->missing++;
		if (loss_of(tp))
			fprintf(stderr, "procscope: this kernel has no tracepoint %s: %s not recorded\n",
				tp, loss_of(tp));
		else	/* fork and vfork: syscalls some architectures do not have (clone does it) */
			ps_dbg("no tracepoint %s on this kernel", tp);
	}
out:
	btf__free(btf);
	return err;
}
