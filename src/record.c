// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * procscope record: loads the probes, starts or attaches to the targets and
 * drains the ring buffer into the session file until they are gone.
 *
 * The probes' rings, one per CPU, are drained on a timer (every
 * PS_DRAIN_MS) and merged by time (ring_set.h): probes submit without
 * wakeups (see bpf/procscope.bpf.c), and a chunk is written at least once
 * a second, so a recorder killed with SIGKILL loses at most the last
 * second. Where the records go (one file, a capped series, the flight
 * recorder) and the keyframes that let each file decode alone: rec_output.h.
 */
#include <argp.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include "commands.h"
#include "coro_attach.h"
#include "kernel_features.h"
#include "rec_filter.h"
#include "rec_output.h"
#include "rec_status.h"
#include "ring_set.h"
#include "procscope.skel.h"
#include "buildid.h"
#include "cpu_sampler.h"
#include "snapshot.h"
#include "trace_writer.h"
#include "util.h"

#define PS_DRAIN_MS	10
/*
 * Drain interval while a ring fills fast (an eighth of it or more since the
 * last drain): the probes leave stacks out past half full (stacks.bpf.h),
 * so draining sooner keeps more of them, for a wakeup a millisecond.
 */
#define PS_DRAIN_BUSY_MS	1
#define PS_FLUSH_NS	1000000000ull
#define PS_MAX_PIDS	64
#define PS_TRACED_LIVE	1	/* as in bpf/procscope.bpf.c */
#define PS_TRACED_GONE	2
/*
 * The kernel keeps a ring buffer's size in a u32 and wants a power of 2;
 * past 1 GiB of locked kernel memory a recorder draining every
 * PS_DRAIN_MS gains nothing.
 */
#define PS_RINGBUF_MAX	(1ull << 30)

static struct env {
	const char *output;
	pid_t pids[PS_MAX_PIDS];
	int npids;
	bool all;
	uint64_t duration_ns;	/* 0: until the targets are gone */
	uint64_t buffer_bytes;	/* per CPU; 0: ring_set__default_bytes() */
	uint64_t max_size;	/* bytes per file; 0: one file */
	unsigned max_files;	/* 0: every file kept */
	uint64_t ring_bytes;	/* flight recorder; 0: off */
	struct rec_filter filter;
	bool quiet;
	bool no_stacks;
	unsigned sample_hz;	/* CPU samples per CPU and second, 0: none */
	uint64_t stack_bytes;	/* user stack copied per stack, at most */
	bool coroutines;	/* --coroutines: uprobes on makecontext/swapcontext/... */
	char **cmd;
} env = {
	.output = "procscope.data",
	.sample_hz = 99,
	.stack_bytes = 8192,
};

static volatile sig_atomic_t exiting;
static volatile sig_atomic_t save_requested;	/* SIGUSR1 */

static const char doc[] =
"Record memory-layout and scheduling events of processes into a session file.\n"
"\n"
"USAGE: procscope record [-o FILE] [-p PID[,PID...]] [-a] [-d SECONDS] [-- CMD ARGS]\n"
"\n"
"EXAMPLES:\n"
"    procscope record -- ./myprog arg   # start ./myprog, trace it and its children\n"
"    procscope record -p 1234 -d 10     # attach to running PID 1234 for 10 s\n"
"    procscope record -a -d 5           # every process on the machine, 5 s\n"
"    procscope record -a --cgroup /sys/fs/cgroup/app.slice   # one container\n"
"    procscope record -a --ring 64M     # keep the last 64 MiB; kill -USR1 writes it out\n"
"    procscope record -a --max-size 1G --max-files 4   # at most 4 files of 1 GiB\n";

enum { OPT_RING = 0x200, OPT_MAX_SIZE, OPT_MAX_FILES, OPT_CGROUP, OPT_COMM };

enum { OPT_SAMPLE = 0x100, OPT_NO_STACKS, OPT_STACK_SIZE };

/* long-only options of --coroutines */
enum { OPT_COROUTINES = 0x300 };

static const struct argp_option opts[] = {
	{ "output", 'o', "FILE", 0, "Session file (default ./procscope.data; an old one is kept as .old)", 0 },
	{ "pid", 'p', "PID[,PID]", 0, "Attach to running processes", 0 },
	{ "all", 'a', NULL, 0, "Trace every process on the machine", 0 },
	{ "duration", 'd', "SECONDS", 0, "Stop after SECONDS", 0 },
	{ "buffer-size", 'b', "SIZE", 0,
	  "Ring buffer per CPU (a power of 2; default 8M per CPU up to 32 CPUs, 256M in all beyond;"
	  " twice that with call stacks)", 0 },
	{ "ring", OPT_RING, "SIZE", 0,
	  "Flight recorder: keep the newest SIZE (compressed) in memory; written at the end and"
	  " at each SIGUSR1 (FILE, FILE.1, ...)", 0 },
	{ "max-size", OPT_MAX_SIZE, "SIZE", 0, "Start a new file (FILE.1, FILE.2, ...) when one reaches SIZE", 0 },
	{ "max-files", OPT_MAX_FILES, "N", 0, "With --max-size: keep only the newest N files", 0 },
	{ "cgroup", OPT_CGROUP, "PATH", 0, "Trace the tasks of a cgroup v2 directory and of those below it", 0 },
	{ "comm", OPT_COMM, "NAME", 0, "Trace tasks named NAME and their children", 0 },
	{ "quiet", 'q', NULL, 0, "No live status line", 0 },
	{ "coroutines", OPT_COROUTINES, NULL, 0,
	  "Exact coroutine switches: uprobes on makecontext/swapcontext/setcontext and boost.context "
	  "(a trap per switch: README, Coroutines)", 0 },
	{ "verbose", 'v', NULL, 0, "Say more; -vv adds libbpf's messages", 0 },
	{ "sample", OPT_SAMPLE, "HZ", 0, "CPU samples with stacks, per CPU and second (default 99, 0: off)", 0 },
	{ "no-stacks", OPT_NO_STACKS, NULL, 0, "No call stacks (memory calls, off-CPU waits, CPU samples)", 0 },
	{ "stack-size", OPT_STACK_SIZE, "SIZE", 0, "User stack bytes copied per stack (default 8K, 512..32K)", 0 },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	char *tok, *save;
	long v;
	int err;

	switch (key) {
	case 'o':
		env.output = arg;
		break;
	case 'p':
		for (tok = strtok_r(arg, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			if (ps_parse_pid(tok, &v))
				argp_error(state, "invalid PID '%s' (1..4194304)", tok);
			if (env.npids == PS_MAX_PIDS)
				argp_error(state, "too many PIDs (at most %d)", PS_MAX_PIDS);
			env.pids[env.npids++] = v;
		}
		break;
	case OPT_COROUTINES:
		env.coroutines = true;
		break;
	case 'a':
		env.all = true;
		break;
	case 'd':
		if (ps_parse_seconds(arg, &env.duration_ns))
			argp_error(state, "invalid duration '%s' (seconds, more than 0: 10, 1.5, 500ms)",
				   arg);
		break;
	case 'b':
		err = ps_parse_size(arg, &env.buffer_bytes);
		if (err == -ERANGE || (!err && env.buffer_bytes > PS_RINGBUF_MAX))
			argp_error(state, "buffer size '%s' too large (at most 1G)", arg);
		if (err || env.buffer_bytes < 4096 || (env.buffer_bytes & (env.buffer_bytes - 1)))
			argp_error(state, "invalid buffer size '%s' (a power of 2, 4K..1G)", arg);
		break;
	case OPT_RING:
		if (ps_parse_size(arg, &env.ring_bytes) || env.ring_bytes < (64 << 10) ||
		    env.ring_bytes > (64ull << 30))
			argp_error(state, "invalid --ring size '%s' (64K..64G)", arg);
		break;
	case OPT_MAX_SIZE:
		if (ps_parse_size(arg, &env.max_size) || env.max_size < (64 << 10))
			argp_error(state, "invalid --max-size '%s' (at least 64K)", arg);
		break;
	case OPT_MAX_FILES:
		errno = 0;
		v = strtol(arg, &tok, 10);
		if (errno || tok == arg || *tok || v < 1 || v > 1000)
			argp_error(state, "invalid --max-files '%s' (1..1000)", arg);
		env.max_files = v;
		break;
	case OPT_CGROUP:
		if (rec_filter__set_cgroup(&env.filter, arg))
			exit(1);
		break;
	case OPT_COMM:
		if (!*arg)
			argp_error(state, "empty --comm");
		rec_filter__set_comm(&env.filter, arg);
		break;
	case 'q':
		env.quiet = true;
		break;
	case 'v':
		ps_verbose++;
		break;
	case OPT_SAMPLE: {
		char *end;

		errno = 0;
		v = strtol(arg, &end, 10);
		if (errno || end == arg || *end || v < 0 || v > 10000)
			argp_error(state, "invalid sample rate '%s' (0..10000 Hz)", arg);
		env.sample_hz = v;
		break;
	}
	case OPT_NO_STACKS:
		env.no_stacks = true;
		break;
	case OPT_STACK_SIZE:
		if (ps_parse_size(arg, &env.stack_bytes) || env.stack_bytes < 512 ||
		    env.stack_bytes > PS_USTACK_MAX)
			argp_error(state, "invalid stack size '%s' (512..32K)", arg);
		break;
	case ARGP_KEY_ARG:
		env.cmd = state->argv + state->next - 1;
		state->next = state->argc;
		break;
	case ARGP_KEY_END:
		if (!env.cmd && !env.npids && !env.all && !env.filter.on)
			argp_error(state, "nothing to trace: give -- CMD, -p PID, -a, --cgroup or --comm");
		if (env.max_files && !env.max_size)
			argp_error(state, "--max-files needs --max-size");
		if (env.ring_bytes && env.max_size)
			argp_error(state, "give --ring or --max-size, not both");
		if (!!env.cmd + !!env.npids + env.all > 1)
			argp_error(state, "give only one of -- CMD, -p PID and -a");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG && ps_verbose < 2)
		return 0;
	if (ps_verbose < 1)
		return 0;
	return vfprintf(stderr, fmt, args);
}

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		save_requested = 1;
	else
		exiting = 1;
}

/* The kernel resolves tracepoint ids through tracefs, which may not be mounted. */
static void ensure_tracefs(void)
{
	struct stat st;

	if (!stat("/sys/kernel/tracing/events", &st) || !stat("/sys/kernel/debug/tracing/events", &st))
		return;
	if (mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL))
		ps_dbg("cannot mount tracefs on /sys/kernel/tracing: %s", strerror(errno));
}

/* The process a thread id belongs to, from /proc/TID/status; -1 if unknown. */
static pid_t tgid_of(pid_t tid)
{
	char path[64], line[256];
	pid_t tgid = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", tid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %d", &tgid) == 1)
			break;
	fclose(f);
	return tgid;
}

/* execvp's lookup, done up front so a typo is one clear error, not a dead child. */
static int find_command(const char *name)
{
	char *path, *dir, *save, buf[4096];

	if (strchr(name, '/'))
		return access(name, X_OK) ? -errno : 0;
	path = strdup(getenv("PATH") ?: "/usr/local/bin:/usr/bin:/bin");
	if (!path)
		return -ENOMEM;
	for (dir = strtok_r(path, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		snprintf(buf, sizeof(buf), "%s/%s", dir, name);
		if (!access(buf, X_OK)) {
			free(path);
			return 0;
		}
	}
	free(path);
	return -ENOENT;
}

struct child {
	pid_t pid;
	int go_fd;	/* write end: closing it lets the child exec */
	int err_fd;	/* read end: the child's exec errno, or EOF on success */
};

/* Forks CMD stopped before exec, so its first instruction can be traced. */
static int start_child(char **cmd, struct child *c)
{
	int go[2], errp[2];

	if (pipe2(go, O_CLOEXEC) || pipe2(errp, O_CLOEXEC))
		return -errno;
	c->pid = fork();
	if (c->pid < 0)
		return -errno;
	if (c->pid == 0) {
		char b;
		int e;

		close(go[1]);
		close(errp[0]);
		if (read(go[0], &b, 1) < 0)
			_exit(127);
		execvp(cmd[0], cmd);
		e = errno;
		if (write(errp[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(go[0]);
	close(errp[1]);
	c->go_fd = go[1];
	c->err_fd = errp[0];
	return 0;
}

static int release_child(struct child *c)
{
	ssize_t n;
	int e;

	close(c->go_fd);
	n = read(c->err_fd, &e, sizeof(e));
	close(c->err_fd);
	if (n == sizeof(e))
		return -e;
	return 0;
}

struct recorder {
	struct procscope_bpf *skel;
	struct ring_set *rs;
	struct rec_output *out;
	/* where records the recorder makes go: rec_output__writer(), after each tick */
	struct trace_writer *w;
	int err;		/* first write error: recording stops */
	__u64 lost[PS_REC_MAX];	/* summed over CPUs */
	__u64 lost_total;
	__u64 missed;		/* of lost_total: probe runs the kernel skipped */
	__u64 skipped[PS_STK_SLOTS];	/* stacks left out under load, by PS_STK_* kind */
	__u64 stacks;		/* stack records written */
	__u32 gone[PS_MAX_PIDS * 16];	/* tgids seen exited at the previous tick */
	int ngone;
	struct features feat;
	struct coro_links *coro;	/* --coroutines */
	struct buildid_notes buildids;	/* mapped files whose build-ids are written */
	struct cpu_sampler *sampler;
	/* without the VMA iterator: processes to snapshot after this drain */
	__u32 exec_pids[256];
	int nexec;
	unsigned nrings;
	__u64 snap_drain_ns;	/* last drain while snapshotting */
};

/*
 * Without the VMA iterator: a process whose mappings the records alone do
 * not tell, to snapshot after this drain. An exec'd one, and a forked one:
 * it starts as a copy of its parent, which may have been copied before the
 * parent's own snapshot.
 */
static void note_new_image(struct recorder *rec, const struct ps_hdr *h)
{
	__u32 pid;

	if (h->type == PS_REC_EXEC)
		pid = h->tgid;
	else if (h->type == PS_REC_FORK && ((const struct ps_fork *)h)->child_tgid != h->tgid)
		pid = ((const struct ps_fork *)h)->child_tgid;
	else
		return;
	if (rec->nexec < (int)PS_ARRAY_SIZE(rec->exec_pids))
		rec->exec_pids[rec->nexec++] = pid;
}

static int on_record(void *ctx, const struct ps_hdr *data, size_t len)
{
	struct recorder *rec = ctx;
	int err;

	if (rec->err || data->size > len)
		return 0;
	err = rec_output__add(rec->out, data);
	rec->stacks += data->type == PS_REC_USTACK;
	if (!err && !env.no_stacks)
		err = buildid__note(&rec->buildids, rec->w, data);
	if (!err && !rec->feat.vma_iter)
		note_new_image(rec, data);
	if (err && err != -EINVAL)
		rec->err = err;
	return 0;
}

/*
 * --cgroup, --comm: processes the probes admitted since the last drain
 * (they joined without a fork record: already running, moved into the
 * cgroup, renamed): their state from /proc, as for those running at start.
 * After the drain, so the snapshot follows their first records.
 */
static void snapshot_admitted(struct recorder *rec)
{
	int fd = bpf_map__fd(rec->skel->maps.admitted);
	__u32 pid;

	while (!rec->err && !bpf_map_lookup_and_delete_elem(fd, NULL, &pid)) {
		int err = snapshot__process(rec->w, pid, true);

		if (err && err != -ENOENT && err != -ESRCH && err != -EACCES && err != -EPERM)
			rec->err = err;
	}
}

/*
 * Drains the ring buffer. Without the VMA iterator, then reads
 * /proc/PID/maps of each process noted by note_new_image(): after the drain,
 * so the snapshot follows every record of that process before it in the
 * file and in time. A process gone by then keeps only what its own
 * syscalls built (its image's mappings are missing).
 */
static void drain(struct recorder *rec)
{
	ring_set__drain(rec->rs, on_record, rec);
	if (env.filter.on)
		snapshot_admitted(rec);
	for (int i = 0; i < rec->nexec && !rec->err; i++) {
		int err = snapshot__maps(rec->w, rec->exec_pids[i], ps_now_ns(CLOCK_MONOTONIC));

		if (err && err != -ENOENT && err != -ESRCH)
			rec->err = err;
	}
	rec->nexec = 0;
}

/* The record type each program emits, for charging its skipped runs. */
static unsigned prog_record_type(const struct bpf_program *prog)
{
	static const struct {
		const char *name;
		unsigned type;
	} t[] = {
		{ "sys_exit_brk", PS_REC_BRK }, { "sys_exit_mmap", PS_REC_MMAP },
		{ "sys_exit_munmap", PS_REC_MUNMAP }, { "sys_exit_mremap", PS_REC_MREMAP },
		{ "sys_exit_mprotect", PS_REC_MPROTECT }, { "sys_exit_clone", PS_REC_CLONE },
		{ "sys_exit_clone3", PS_REC_CLONE }, { "sys_exit_fork", PS_REC_CLONE },
		{ "sys_exit_vfork", PS_REC_CLONE }, { "sys_exit_execve", PS_REC_EXECVE },
		{ "cpu_sample", PS_REC_USTACK },
		{ "sched_switch", PS_REC_SWITCH }, { "sched_waking", PS_REC_WAKEUP },
		{ "sched_wakeup_new", PS_REC_WAKEUP }, { "sched_process_fork", PS_REC_FORK },
		{ "sched_process_exec", PS_REC_EXEC }, { "sched_process_exit", PS_REC_EXIT },
		{ "task_rename", PS_REC_RENAME }, { "rss_stat", PS_REC_RSS },
	};
	const char *name = bpf_program__name(prog);

	for (size_t i = 0; i < PS_ARRAY_SIZE(t); i++)
		if (!strcmp(name, t[i].name))
			return t[i].type;
	return PS_REC_NONE;
}

/*
 * Reads the lost counters: records the ring buffer could not take (counted
 * by the probes per CPU) plus runs the kernel skipped because the same
 * program was already running on that CPU (its recursion guard, e.g. a
 * wakeup from an interrupt nested in a wakeup probe). Such a run may have
 * concerned an untraced task, but nothing tells, so it counts as lost.
 * With them, the stacks the probes skipped under load. Writes a PS_REC_LOST
 * record if the counters moved.
 */
static int update_lost(struct recorder *rec, bool force)
{
	int ncpus = libbpf_num_possible_cpus(), fd = bpf_map__fd(rec->skel->maps.lost);
	int skip_fd = bpf_map__fd(rec->skel->maps.stk_skipped);
	__u64 vals[ncpus > 0 ? ncpus : 1], now[PS_REC_MAX] = { 0 }, total = 0, missed = 0;
	__u64 skipped[PS_STK_SLOTS] = { 0 };
	struct bpf_program *prog;
	struct ps_lost l = {};

	for (__u32 t = 0; t < PS_REC_MAX; t++) {
		if (bpf_map_lookup_elem(fd, &t, vals))
			continue;
		for (int c = 0; c < ncpus; c++)
			now[t] += vals[c];
	}
	for (__u32 k = 0; k < PS_STK_SLOTS; k++) {
		if (bpf_map_lookup_elem(skip_fd, &k, vals))
			continue;
		for (int c = 0; c < ncpus; c++)
			skipped[k] += vals[c];
	}
	bpf_object__for_each_program(prog, rec->skel->obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);

		if (bpf_program__fd(prog) < 0 ||
		    bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len))
			continue;
		now[prog_record_type(prog)] += info.recursion_misses;
		missed += info.recursion_misses;
	}
	for (int t = 0; t < PS_REC_MAX; t++)
		total += now[t];
	rec->missed = missed;
	if (!force && !memcmp(now, rec->lost, sizeof(now)) &&
	    !memcmp(skipped, rec->skipped, sizeof(skipped)))
		return 0;
	memcpy(rec->lost, now, sizeof(now));
	memcpy(rec->skipped, skipped, sizeof(skipped));
	memcpy(l.stacks_skipped, skipped, sizeof(skipped));
	rec->lost_total = total;
	l.h.type = PS_REC_LOST;
	l.h.size = sizeof(l);
	l.h.ts_ns = ps_now_ns(CLOCK_MONOTONIC);
	l.lost_total = total;
	memcpy(l.lost_by_type, rec->lost, sizeof(rec->lost));
	return rec_output__lost(rec->out, &l);
}

static __u64 stacks_skipped(const struct recorder *rec)
{
	__u64 n = 0;

	for (int k = 0; k < PS_STK_SLOTS; k++)
		n += rec->skipped[k];
	return n;
}

/*
 * Counts traced processes still alive. Exited ones are dropped from the
 * filter one tick after they were seen gone, so their last switch-out is
 * still recorded.
 */
static int live_targets(struct recorder *rec)
{
	int fd = bpf_map__fd(rec->skel->maps.traced), live = 0, ngone = 0;
	__u32 key, next, *prev = NULL;
	__u32 gone[PS_ARRAY_SIZE(rec->gone)];
	__u8 val;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &val))
			continue;
		if (val == PS_TRACED_LIVE) {
			live++;
			continue;
		}
		if (ngone < (int)PS_ARRAY_SIZE(gone))
			gone[ngone++] = key;
	}
	for (int i = 0; i < ngone; i++)
		for (int j = 0; j < rec->ngone; j++)
			if (gone[i] == rec->gone[j])
				bpf_map_delete_elem(fd, &gone[i]);
	memcpy(rec->gone, gone, ngone * sizeof(gone[0]));
	rec->ngone = ngone;
	return live;
}

/*
 * The command line as typed, for the header: built before argp_parse(),
 * which tokenises -p's list in place. An argument with anything but
 * [A-Za-z0-9_@%+=:,./-] in it is single-quoted the way sh reads it back.
 */
static void build_cmdline(int argc, char **argv, char *cmdline, size_t clen)
{
	static const char plain[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "0123456789_@%+=:,./-";
	size_t off = 0;

	cmdline[0] = '\0';
	for (int i = 0; i < argc && off + 1 < clen; i++) {
		const char *a = argv[i];

		if (i)
			cmdline[off++] = ' ';
		if (a[0] && !a[strspn(a, plain)]) {
			off += snprintf(cmdline + off, clen - off, "%s", a);
			continue;
		}
		off += snprintf(cmdline + off, clen - off, "'");
		for (; *a && off < clen; a++)
			off += snprintf(cmdline + off, clen - off, *a == '\'' ? "'\\''" : "%c", *a);
		if (off < clen)
			off += snprintf(cmdline + off, clen - off, "'");
	}
	cmdline[off < clen ? off : clen - 1] = '\0';
}

static void build_targets(char *targets, size_t tlen)
{
	size_t off = 0;

	targets[0] = '\0';
	if (env.all) {
		snprintf(targets, tlen, "all");
	} else if (env.npids) {
		off = snprintf(targets, tlen, "pid:");
		for (int i = 0; i < env.npids && off < tlen; i++)
			off += snprintf(targets + off, tlen - off, "%s%d", i ? "," : "", env.pids[i]);
	} else if (env.cmd) {
		off = snprintf(targets, tlen, "cmd:");
		for (int i = 0; env.cmd[i] && off < tlen; i++)
			off += snprintf(targets + off, tlen - off, "%s%s", i ? " " : "", env.cmd[i]);
	}
	/* the filters narrow -a, or add to -p and CMD */
	if (env.filter.cgroup_id && off < tlen)
		off += snprintf(targets + off, tlen - off, "%scgroup:%s", off ? " " : "",
				env.filter.cgroup_path);
	if (env.filter.comm[0] && off < tlen)
		snprintf(targets + off, tlen - off, "%scomm:%s", off ? " " : "", env.filter.comm);
}

/*
 * Where the session is recorded, for fleets (export --format clickhouse):
 * the host name (PROCSCOPE_HOSTNAME overrides it, for tests that load two
 * "hosts" recorded on one machine) and the boot id, which with the start
 * time names the session uniquely. "" when unknown.
 */
static void host_facts(char *host, size_t hlen, char *boot_id, size_t blen)
{
	const char *env_host = getenv("PROCSCOPE_HOSTNAME");
	struct utsname uts;
	ssize_t n = -1;
	int fd;

	if (env_host)
		snprintf(host, hlen, "%s", env_host);
	else
		snprintf(host, hlen, "%s", uname(&uts) ? "" : uts.nodename);
	fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, boot_id, blen - 1);
		close(fd);
	}
	boot_id[n > 0 ? n : 0] = '\0';
	boot_id[strcspn(boot_id, "\n")] = '\0';
}

static int load_probes(struct recorder *rec)
{
	struct stat st;
	int err;

	if (stat("/sys/kernel/btf/vmlinux", &st)) {
		ps_err("this kernel has no BTF (/sys/kernel/btf/vmlinux): it needs CONFIG_DEBUG_INFO_BTF=y");
		return -ENOENT;
	}
	rec->skel = procscope_bpf__open();
	if (!rec->skel) {
		err = -errno;
		ps_err("cannot open BPF object: %s", strerror(-err));
		return err;
	}
	rec->skel->rodata->targ_all = env.all;
	rec->skel->rodata->targ_self_tgid = getpid();
	rec->skel->rodata->targ_stacks = !env.no_stacks;
	rec->skel->rodata->targ_ustack_bytes = env.stack_bytes;
	rec->skel->rodata->targ_all = env.all && !env.filter.on;
	rec->skel->rodata->targ_filter = env.filter.on;
	rec->skel->rodata->targ_cgroup_id = env.filter.cgroup_id;
	rec->skel->rodata->targ_cgroup_level = env.filter.cgroup_level;
	memcpy((char *)rec->skel->rodata->targ_comm, env.filter.comm, sizeof(env.filter.comm));
	rec->nrings = libbpf_num_possible_cpus();
	if (!env.buffer_bytes)
		/*
		 * Stacks stop at half a ring (bpf/stacks.bpf.h): twice the ring,
		 * so the records themselves keep the room they have without them.
		 */
		env.buffer_bytes = ring_set__default_bytes(rec->nrings) * (env.no_stacks ? 1 : 2);
	rec->rs = ring_set__new(rec->skel->maps.rings, rec->nrings, env.buffer_bytes);
	if (!rec->rs) {
		err = -errno;
		if (err == -EPERM || err == -EACCES)
			ps_err("cannot load BPF programs: %s (run as root, or with CAP_BPF and CAP_PERFMON)",
			       strerror(-err));
		return err;
	}
	/* the probes build a stack in a slot per CPU and context (task, CPU-clock interrupt) */
	err = bpf_map__set_max_entries(rec->skel->maps.stk_scratch,
				       env.no_stacks ? 1 : rec->nrings * 2);
	if (err)
		return err;
	ensure_tracefs();	/* the feature checks look for tracepoints there */
	err = features__check(rec->skel, &rec->feat);
	if (err)
		return err;
	coro_attach__setup(rec->skel, env.coroutines);
	err = procscope_bpf__load(rec->skel);
	if (err) {
		if (err == -EPERM || err == -EACCES)
			ps_err("cannot load BPF programs: %s (run as root, or with CAP_BPF and CAP_PERFMON)",
			       strerror(-err));
		else
			ps_err("cannot load BPF programs: %s (run with -vv for the verifier's log)",
			       strerror(-err));
		return err;
	}
	/* the rings are in place before any probe fires */
	err = ring_set__attach(rec->rs, rec->skel->maps.rings);
	if (err)
		return err;
	err = procscope_bpf__attach(rec->skel);
	if (err) {
		ps_err("cannot attach probes: %s%s", strerror(-err),
		       err == -ENOENT ? " (is tracefs mounted at /sys/kernel/tracing?)" : "");
		return err;
	}
	if (env.coroutines) {
		err = coro_attach__attach(rec->skel, env.pids, env.npids, &rec->coro);
		if (err)
			return err;
	}
	if (env.sample_hz && !env.no_stacks) {
		rec->sampler = cpu_sampler__open(rec->skel->progs.cpu_sample, env.sample_hz);
		if (!rec->sampler)
			return -errno;
	}
	return 0;
}

static int add_target(struct recorder *rec, pid_t pid)
{
	__u8 live = PS_TRACED_LIVE;
	__u32 key = pid;

	if (bpf_map_update_elem(bpf_map__fd(rec->skel->maps.traced), &key, &live, BPF_ANY))
		return -errno;
	return 0;
}

static int exit_status_of(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return 1;
}

/*
 * Processes in the trace now, for the keyframes and the status line: the
 * live ones in the probes' filter, or every process with -a alone. Calls
 * FN on each (if given); returns how many, or FN's -errno.
 */
static long each_target(struct recorder *rec, int (*fn)(void *ctx, pid_t pid), void *ctx)
{
	int fd = bpf_map__fd(rec->skel->maps.traced), err;
	__u32 key, next, *prev = NULL;
	struct dirent *de;
	long n = 0;
	__u8 val;
	DIR *d;

	if (env.all && !env.filter.on) {
		d = opendir("/proc");
		if (!d)
			return -errno;
		while ((de = readdir(d))) {
			pid_t pid = atoi(de->d_name);

			if (pid <= 0 || pid == getpid())
				continue;
			err = fn ? fn(ctx, pid) : 0;
			if (err) {
				closedir(d);
				return err;
			}
			n++;
		}
		closedir(d);
		return n;
	}
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &val) || val != PS_TRACED_LIVE)
			continue;
		err = fn ? fn(ctx, key) : 0;
		if (err)
			return err;
		n++;
	}
	return n;
}

/*
 * Snapshots PID into rec->w. Reading /proc for many processes takes long
 * (smaps: about a millisecond a process): the rings are drained between
 * processes as on the timer, so a busy CPU's ring does not fill meanwhile.
 */
static int snapshot_one(void *ctx, pid_t pid)
{
	struct recorder *rec = ctx;
	int err = snapshot__process(rec->w, pid, true);
	__u64 now = ps_now_ns(CLOCK_MONOTONIC);

	/* gone meanwhile, or hidden from us: the file does without it */
	if (err == -ENOENT || err == -ESRCH || err == -EACCES || err == -EPERM)
		err = 0;
	if (!err && now - rec->snap_drain_ns >= PS_DRAIN_MS * 1000000ull) {
		drain(rec);
		rec->snap_drain_ns = now;
		err = rec->err;
	}
	return err;
}

/*
 * A keyframe (rec_output.h): the kernel's state of every traced process,
 * read from /proc now, as an attached recording starts from.
 */
static int keyframe(void *ctx, struct trace_writer *w)
{
	struct recorder *rec = ctx;
	long n;

	rec->w = w;
	n = each_target(rec, snapshot_one, rec);
	return n < 0 ? n : 0;
}

/* --cgroup, --comm: the processes running now that match join the trace, with a snapshot. */
static int admit_running(struct recorder *rec)
{
	struct dirent *de;
	int err = 0;
	DIR *d = opendir("/proc");

	if (!d)
		return -errno;
	while ((de = readdir(d)) && !err) {
		pid_t pid = atoi(de->d_name);

		if (pid <= 0 || pid == getpid() || !rec_filter__match(&env.filter, pid))
			continue;
		err = add_target(rec, pid);
		if (!err)
			err = snapshot_one(rec, pid);
	}
	closedir(d);
	return err;
}

int cmd_record(int argc, char **argv)
{
	static const struct argp argp = { opts, parse_arg, NULL, doc, NULL, NULL, NULL };
	char cmdline[4096], targets[4096], sz[32], host[256], boot_id[64];
	struct ps_file_header hdr = {};
	struct rec_output_opts oo = {};
	struct rec_status st;
	struct recorder rec = {};
	struct child child = { .pid = -1 };
	struct utsname uts;
	struct timespec tick = { 0, PS_DRAIN_MS * 1000000L };
	__u64 start_ns, last_flush;
	int err, wstatus, status = 0;
	bool child_done = true;

	build_cmdline(argc, argv, cmdline, sizeof(cmdline));
	err = argp_parse(&argp, argc, argv, ARGP_IN_ORDER, NULL, NULL);
	if (err)
		return PS_EXIT_USAGE;
	libbpf_set_print(libbpf_print);

	for (int i = 0; i < env.npids; i++) {
		pid_t tgid;

		if (kill(env.pids[i], 0) && errno == ESRCH) {
			ps_err("no process with PID %d", env.pids[i]);
			return 1;
		}
		/* a thread's id names its process: the filter works on processes */
		tgid = tgid_of(env.pids[i]);
		if (tgid > 0 && tgid != env.pids[i]) {
			fprintf(stderr, "procscope: %d is a thread of process %d: tracing the process\n",
				env.pids[i], tgid);
			env.pids[i] = tgid;
		}
	}
	if (env.cmd) {
		err = find_command(env.cmd[0]);
		if (err) {
			ps_err("cannot run '%s': %s", env.cmd[0],
			       err == -ENOENT ? "command not found" : strerror(-err));
			return 127;
		}
	}
	if (geteuid() != 0 && access("/proc/self", F_OK) == 0)
		ps_dbg("not root: loading BPF may be refused");

	/*
	 * Before the probes load, which takes seconds on a loaded machine: a
	 * SIGUSR1 or SIGINT sent meanwhile is taken at the first tick instead
	 * of killing the recorder by its default action.
	 */
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGUSR1, env.ring_bytes ? on_signal : SIG_IGN);
	signal(SIGPIPE, SIG_IGN);

	err = load_probes(&rec);
	if (err)
		goto out;

	build_targets(targets, sizeof(targets));
	uname(&uts);
	hdr.page_size = sysconf(_SC_PAGESIZE);
	hdr.ncpus = libbpf_num_possible_cpus();
	hdr.target_all = env.all;
	snprintf(hdr.procscope_version, sizeof(hdr.procscope_version), "%s", PROCSCOPE_VERSION);
	snprintf(hdr.kernel_release, sizeof(hdr.kernel_release), "%s", uts.release);
	start_ns = ps_now_ns(CLOCK_MONOTONIC);
	hdr.realtime_offset_ns = (__s64)(ps_now_ns(CLOCK_REALTIME) - start_ns);
	hdr.start_ns = start_ns;
	host_facts(host, sizeof(host), boot_id, sizeof(boot_id));
	oo = (struct rec_output_opts){
		.path = env.output, .hdr = &hdr, .cmdline = cmdline, .targets = targets,
		.hostname = host, .boot_id = boot_id, .max_size = env.max_size,
		.max_files = env.max_files, .ring_bytes = env.ring_bytes,
		.keyframe = keyframe, .ctx = &rec,
	};
	rec.out = rec_output__open(&oo);
	if (!rec.out) {
		err = -errno;
		goto out;
	}
	rec.w = rec_output__writer(rec.out);

	if (env.cmd && exiting) {
		/* interrupted while the probes loaded: CMD never ran */
		status = 130;
	} else if (env.cmd) {
		err = start_child(env.cmd, &child);
		/* traced from its exec on: the probes add it to the filter there */
		if (!err)
			rec.skel->bss->targ_exec_pid = child.pid;
		if (err) {
			ps_err("cannot start '%s': %s", env.cmd[0], strerror(-err));
			goto out;
		}
		child_done = false;
		err = release_child(&child);
		if (err) {
			ps_err("cannot run '%s': %s", env.cmd[0], strerror(-err));
			waitpid(child.pid, NULL, 0);
			status = 127;
			goto out;
		}
	} else if (env.npids) {
		for (int i = 0; i < env.npids; i++) {
			err = add_target(&rec, env.pids[i]);
			if (!err)
				err = snapshot__process(rec.w, env.pids[i], true);
			if (err == -ENOENT || err == -ESRCH) {
				ps_err("PID %d exited before recording started", env.pids[i]);
				err = 0;
			} else if (err) {
				ps_err("cannot snapshot PID %d: %s", env.pids[i], strerror(-err));
				goto out;
			}
		}
	} else if (!env.filter.on) {
		err = keyframe(&rec, rec.w);
		if (err < 0) {
			ps_err("cannot snapshot processes: %s", strerror(-err));
			goto out;
		}
		err = 0;
	}
	if (env.filter.on) {
		err = admit_running(&rec);
		if (err) {
			ps_err("cannot snapshot processes: %s", strerror(-err));
			goto out;
		}
	}
	ps_dbg("recording to %s", env.output);
	rec_status__init(&st, env.quiet);

	last_flush = ps_now_ns(CLOCK_MONOTONIC);
	while (!exiting && !rec.err) {
		__u64 now;

		tick.tv_nsec = (ring_set__fullest(rec.rs) >= env.buffer_bytes / 8 ?
				 PS_DRAIN_BUSY_MS : PS_DRAIN_MS) * 1000000L;
		nanosleep(&tick, NULL);
		drain(&rec);
		now = ps_now_ns(CLOCK_MONOTONIC);
		if (!child_done && waitpid(child.pid, &wstatus, WNOHANG) == child.pid) {
			child_done = true;
			status = exit_status_of(wstatus);
		}
		if (!rec.err)
			rec.err = rec_output__tick(rec.out);
		/*
		 * Every second, and at every tick until the file has its first
		 * chunk and so is in place: a recorder killed early leaves it too.
		 */
		if ((now - last_flush >= PS_FLUSH_NS ||
		     (!env.ring_bytes && !rec_output__in_place(rec.out))) && !rec.err) {
			int e = update_lost(&rec, false);

			if (!e)
				e = rec_output__flush(rec.out);
			if (e)
				rec.err = e;
			last_flush = now;
		}
		if (save_requested && !rec.err) {
			save_requested = 0;
			update_lost(&rec, true);
			rec.err = rec_output__save(rec.out, -1);
			if (!rec.err)
				fprintf(stderr, "%sprocscope: flight recorder written to '%s'\n",
					st.shown ? "\n" : "", rec_output__last_path(rec.out));
		}
		rec.w = rec_output__writer(rec.out);
		if (rec_status__due(&st, now))
			rec_status__update(&st, now, &(struct rec_status_figures){
				.elapsed_ns = now - start_ns, .records = rec_output__records(rec.out),
				.lost = rec.lost_total, .bytes = rec_output__bytes(rec.out),
				.files = rec_output__files(rec.out),
				.processes = each_target(&rec, NULL, NULL) });
		if (env.duration_ns && now - start_ns >= env.duration_ns)
			break;
		if (!env.all && !env.filter.on && child_done && live_targets(&rec) == 0)
			break;
	}
	rec_status__clear(&st);
	/* what the probes wrote up to now, then close the file */
	drain(&rec);
	if (!rec.err)
		rec.err = update_lost(&rec, true);
	if (!rec.err)
		rec.err = rec_output__finish(rec.out, env.cmd ? status : -1);
	if (rec.err) {
		err = rec.err;
		ps_err("cannot write '%s': %s: recording stopped; %s", rec_output__last_path(rec.out),
		       err == -ENOSPC ? "disk full" : strerror(-err),
		       rec_output__in_place(rec.out) ?
		       "the file keeps everything up to its last whole chunk" :
		       "nothing was recorded and the previous file is as it was");
	} else if (rec_output__files(rec.out) > 1) {
		fprintf(stderr, "procscope: %llu records in %u files, the last '%s' (%s)\n",
			(unsigned long long)rec_output__records(rec.out), rec_output__files(rec.out),
			rec_output__last_path(rec.out),
			ps_fmt_size(sz, sizeof(sz), rec_output__bytes(rec.out)));
	} else {
		fprintf(stderr, "procscope: %llu records, %s written to '%s'\n",
			(unsigned long long)rec_output__records(rec.out),
			ps_fmt_size(sz, sizeof(sz), rec_output__bytes(rec.out)), env.output);
	}
	if (rec.lost_total)
		fprintf(stderr, "procscope: lost %llu records (ring buffer full: %llu, try a larger -b;"
			" probe runs skipped by the kernel's recursion guard: %llu)\n",
			(unsigned long long)rec.lost_total,
			(unsigned long long)(rec.lost_total - rec.missed), (unsigned long long)rec.missed);
	if (stacks_skipped(&rec))
		fprintf(stderr, "procscope: call stacks: %llu recorded, %llu skipped under load (their"
			" records kept; a larger -b keeps more)\n", (unsigned long long)rec.stacks,
			(unsigned long long)stacks_skipped(&rec));
	else if (rec.stacks)
		fprintf(stderr, "procscope: call stacks: %llu recorded\n", (unsigned long long)rec.stacks);

out:
	/* stop tracing before waiting, so a long-running CMD is not traced into the void */
	ring_set__free(rec.rs);
	cpu_sampler__free(rec.sampler);
	coro_attach__free(rec.coro);
	procscope_bpf__destroy(rec.skel);
	buildid__notes_free(&rec.buildids);
	rec_output__free(rec.out);
	if (!child_done && child.pid > 0) {
		if (waitpid(child.pid, &wstatus, 0) == child.pid)
			status = exit_status_of(wstatus);
	}
	if (err)
		return status ? status : 1;
	return status;
}
