// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The SQL tables of a session: see sql_schema.h. */
#include <string.h>
#include "sql_schema.h"
#include "util.h"

#define I(n, d)		{ n, SQL_INT, false, d }
#define IN(n, d)	{ n, SQL_INT, true, d }
#define T(n, d)		{ n, SQL_TEXT, false, d }
#define TN(n, d)	{ n, SQL_TEXT, true, d }
#define R(n, d)		{ n, SQL_REAL, false, d }
#define TABLE(c)	c, PS_ARRAY_SIZE(c)

static const struct sql_column session_cols[] = {
	T("key", "hostname, boot_id, session_id, start_ns (CLOCK_MONOTONIC at time zero), "
		 "realtime_offset_ns (add to a monotonic ns for wall-clock ns since the epoch), "
		 "wall_clock_start_ns, end_ts, duration_ns, cmdline, targets, target_all, "
		 "kernel_release, recorder_version, format_version, ncpus, page_size, records, "
		 "lost_records, exit_status, complete"),
	T("value", "its value, as text"),
};

static const struct sql_column process_cols[] = {
	I("upid", "unique process id in this session (pids are reused); 0 is the idle task"),
	I("pid", "process id"),
	TN("name", "comm of the main thread (after its last exec or rename)"),
	TN("cmdline", "file name of its last exec (argv is not recorded); NULL if none seen"),
	IN("parent_upid", "upid of its parent, NULL if not in the session"),
	IN("start_ts", "fork, or first record for processes alive before recording"),
	IN("end_ts", "exit of its last thread, NULL if alive at the end"),
	IN("exit_code", "exit status (0-255), or 128 + signal if killed; NULL if alive or unknown"),
	I("born_in_trace", "1 if forked during the recording"),
};

static const struct sql_column thread_cols[] = {
	I("utid", "unique thread id in this session (tids are reused); 0 is the idle task"),
	I("tid", "thread id"),
	IN("upid", "its process"),
	TN("name", "comm (after its last rename or exec)"),
	IN("start_ts", "birth, or first record for threads alive before recording"),
	IN("end_ts", "exit, NULL if alive at the end"),
	IN("is_main_thread", "1 if tid == pid"),
	I("born_in_trace", "1 if created during the recording"),
	IN("creator_utid", "thread that created it, NULL if unknown"),
	I("oncpu_ns", "on-CPU time in the recording: the kernel's own per-run sum_exec_runtime "
		      "deltas (report --json oncpu_ns)"),
	I("oncpu_total_ns", "the kernel's sum_exec_runtime at the end, time before recording included"),
	I("running_ns", "time in state Running on its timeline = SUM(dur) of its sched_slice rows"),
	I("runnable_ns", "time in states R and R+"),
	I("sleep_ns", "time in state S"),
	I("blocked_ns", "time in state D"),
	I("nvcsw", "voluntary context switches (the kernel's counter)"),
	I("nivcsw", "involuntary context switches (the kernel's counter)"),
	I("migrations", "CPU changes seen"),
	I("wakeups", "times it was woken"),
	I("unreported", "switches the kernel did not report, rebuilt from its totals"),
};

static const struct sql_column sched_slice_cols[] = {
	I("ts", "start of a run on a CPU"),
	I("dur", "its length"),
	I("cpu", "the CPU"),
	I("utid", "the thread; 0 for the idle task (untraced tasks' runs are not listed)"),
	TN("end_state", "state it left the CPU in: R (preempted: R+), S, D, T, X (exited); NULL at "
			"the end of the recording, for idle, or if unknown"),
	IN("priority", "kernel priority at its switch-in (0-139, lower runs first), NULL if unknown"),
};

static const struct sql_column thread_state_cols[] = {
	I("ts", "start of the state"),
	I("dur", "its length; a thread's rows cover its life without gaps or overlaps"),
	I("utid", "the thread"),
	T("state", "Running, R (runnable after a wakeup), R+ (preempted), S (sleeping), D "
		   "(uninterruptible), T (stopped), ? (unknown: before its first record, or records lost)"),
	IN("cpu", "Running: the CPU; R/R+: the CPU it waits for; else NULL"),
	IN("waker_utid", "R: the thread that woke it, NULL if unknown or untraced"),
};

static const struct sql_column counter_track_cols[] = {
	I("id", "track id, counter.track_id"),
	T("name", "heap (brk - start_brk), anon (private anonymous maps), main_stack, "
		  "thread_stacks, rss (file + anon + shmem resident), stack_depth (stack top - "
		  "user SP at each switch-out)"),
	T("type", "process or thread"),
	IN("upid", "process tracks: the process"),
	IN("utid", "thread tracks: the thread"),
	T("unit", "bytes"),
};

static const struct sql_column counter_cols[] = {
	I("ts", "when the value changed"),
	I("track_id", "counter_track.id"),
	R("value", "new value, from then on (exact below 2^53)"),
};

static const struct sql_column mem_call_cols[] = {
	I("ts", "syscall exit"),
	IN("utid", "calling thread"),
	IN("upid", "its process"),
	T("call", "brk, mmap, munmap, mremap, mprotect, madvise, mlock, mlock2, munlock, mlockall, "
		  "munlockall, pkey_mprotect, mseal, remap_file_pages, shmat, shmdt"),
	IN("addr", "address argument (brk: requested break; mremap: old address)"),
	IN("len", "length argument (mremap: old length)"),
	IN("new_len", "mremap: new length"),
	TN("prot", "PROT_* names, e.g. PROT_READ|PROT_WRITE"),
	TN("flags", "MAP_* names (mmap), MADV_* advice (madvise), else the flags argument in hex"),
	IN("fd", "mmap: file descriptor (-1 anonymous)"),
	IN("offset", "mmap: file offset"),
	TN("path", "mmap: the mapped file"),
	IN("ret", "result: the address (mmap, mremap, brk, shmat), else 0; NULL on error"),
	TN("errno", "error name, e.g. ENOMEM; NULL on success"),
};

static const struct sql_column vma_cols[] = {
	I("id", "row id"),
	I("upid", "the process"),
	I("start", "first address"),
	I("end", "address after the last (exclusive), as /proc/PID/maps shows it"),
	T("kind", "text, rodata, data, bss, heap, stack, thread_stack, anon, file, vdso, vvar, "
		  "guard, other"),
	T("perms", "rwxp / rwxs as in /proc/PID/maps"),
	TN("path", "mapped file or [vdso]-style name"),
	I("offset", "file offset in bytes"),
	IN("tid", "thread_stack: the thread whose stack it is"),
	I("created_ts", "when the region took this shape (mapped, split, resized, re-protected, "
			"relabelled); layout at T: created_ts <= T AND (removed_ts IS NULL OR "
			"removed_ts > T)"),
	IN("removed_ts", "when that shape ended (unmapped, changed, exec, process exit); NULL if "
			 "alive at the end"),
	IN("created_by_utid", "thread whose call made this shape; NULL for exec and the initial "
			      "snapshot"),
};

static const struct sql_column lost_cols[] = {
	I("ts", "when the recorder saw the count grow"),
	IN("cpu", "NULL: counts are summed over CPUs"),
	T("type", "record type lost (sched_switch, mmap, ...)"),
	I("count", "records of that type lost since the previous row"),
};

static const struct sql_column mapping_cols[] = {
	I("id", "stack_profile_frame.mapping: 0 the kernel, 1 addresses in no known file, 2 and "
		"up a mapped file (one row per file, whichever processes mapped it)"),
	TN("build_id", "the file's GNU build-id in hex, as the recorder read it; NULL if none"),
	IN("exact_offset", "file offset of the executable mapping below (the offset of its "
			   "/proc/PID/maps line)"),
	IN("start_offset", "offset of the ELF image in the file: 0 (NULL for the kernel and "
			   "[unknown])"),
	IN("start", "first address of the file's executable mapping in the process whose stack "
		    "first ran in it (upid), as /proc/PID/maps shows it"),
	IN("end", "address after its last"),
	IN("load_bias", "in that process, a frame's address = rel_pc + load_bias; NULL if the "
			"file changed since the recording"),
	T("name", "the file's path; [kernel], [unknown]"),
	IN("upid", "the process start, end and load_bias describe"),
};

static const struct sql_column frame_cols[] = {
	I("id", "frame id"),
	T("name", "function (demangled), kernel functions with a _[k] suffix, or module+0xoffset "
		  "when no symbol is known"),
	I("mapping", "stack_profile_mapping.id: the file (kernel, unknown) it ran in"),
	I("rel_pc", "address in the file's own terms: its ELF virtual address (a file changed "
		    "since the recording: the offset in it; kernel, [unknown]: the address)"),
};

static const struct sql_column callsite_cols[] = {
	I("id", "callsite id: one frame reached through one chain of callers"),
	I("depth", "0 for the outermost frame (e.g. _start), +1 per callee"),
	IN("parent_id", "the caller's callsite, NULL at depth 0"),
	I("frame_id", "stack_profile_frame.id"),
};

static const struct sql_column sample_cols[] = {
	I("ts", "the call, switch-out or CPU sample"),
	IN("utid", "the thread"),
	T("kind", "heap (bytes brk grew the heap by), mmap (bytes of an anonymous mmap), mprotect "
		  "(bytes), offcpu (ns slept or blocked after a switch-out), oncpu (a CPU-clock sample)"),
	I("callsite_id", "innermost callsite of the stack: walk parent_id up for its callers"),
	I("value", "bytes, ns or 1 (see kind)"),
};

/*
 * thread_state's Running rows are its sched_slice rows (utid != 0): the
 * same ts, dur, cpu (NULL there, -1 here, if unknown), utid (sql_rows.c
 * writes a slice for every Running interval). SQLite stores only the other states: a third
 * of the rows fewer to write (about 1 row per record less on a busy
 * session), and queries on waiting states read a smaller table.
 */
static bool thread_state_running(const struct sql_val *row)
{
	const struct sql_val *state = &row[3];	/* thread_state_cols: ts, dur, utid, state */

	return !state->null && state->len == 7 && !memcmp(state->s, "Running", 7);
}

static const struct sql_derived thread_state_derived = {
	.store = "_procscope_thread_wait",
	.view = "SELECT ts, dur, utid, 'Running' AS state, CASE WHEN cpu >= 0 THEN cpu END AS "
		"cpu, NULL AS waker_utid FROM sched_slice WHERE utid != 0 "
		"UNION ALL SELECT * FROM _procscope_thread_wait",
	.derived = thread_state_running,
};

const struct sql_table sql_tables[SQL_NTABLES] = {
	[SQL_SESSION] = { "session", "facts of the recording, one per row", TABLE(session_cols),
			  {}, "key", NULL },
	[SQL_PROCESS] = { "process", "every process seen", TABLE(process_cols), {}, "upid", NULL },
	[SQL_THREAD] = { "thread", "every thread seen, with its scheduling totals",
			 TABLE(thread_cols), {}, "utid", NULL },
	[SQL_SCHED_SLICE] = { "sched_slice", "runs on a CPU: traced threads and idle",
			      TABLE(sched_slice_cols),
			      { "utid, ts, dur", "cpu, ts, dur, utid" }, "utid, ts", NULL },
	[SQL_THREAD_STATE] = { "thread_state", "each traced thread's states, back to back",
			       TABLE(thread_state_cols), {}, "utid, ts", &thread_state_derived },
	[SQL_COUNTER_TRACK] = { "counter_track", "memory counters of a process or thread",
				TABLE(counter_track_cols), {}, "id", NULL },
	[SQL_COUNTER] = { "counter", "counter values when they changed", TABLE(counter_cols),
			  { "track_id, ts" }, "track_id, ts", NULL },
	[SQL_MEM_CALL] = { "mem_call", "memory syscalls with their arguments and results",
			   TABLE(mem_call_cols), { "utid" }, "ts", NULL },
	[SQL_VMA] = { "vma", "every shape of every mapped region, with its life",
		      TABLE(vma_cols), { "upid, created_ts" }, "upid, start, created_ts",
		      NULL },
	[SQL_LOST] = { "lost", "records the kernel could not hand to the recorder",
		       TABLE(lost_cols), {}, "ts", NULL },
	[SQL_STACK_MAPPING] = { "stack_profile_mapping", "the files the recorded stacks ran in",
				TABLE(mapping_cols), {}, "id", NULL },
	[SQL_STACK_FRAME] = { "stack_profile_frame", "frames of the recorded call stacks",
			      TABLE(frame_cols), {}, "id", NULL },
	[SQL_STACK_CALLSITE] = { "stack_profile_callsite", "call stacks as a tree of callsites",
				 TABLE(callsite_cols), {}, "id", NULL },
	[SQL_STACK_SAMPLE] = { "stack_sample", "what each recorded stack was the stack of",
			       TABLE(sample_cols), { "callsite_id" }, "kind, ts", NULL },
};

struct sql_val sql_text_n(const char *s, size_t max)
{
	const char *nul = memchr(s, '\0', max);

	return (struct sql_val){ .type = SQL_TEXT, .s = s, .len = nul ? (size_t)(nul - s) : max };
}

struct sql_val sql_text(const char *s)
{
	if (!s)
		return (struct sql_val){ .type = SQL_TEXT, .null = true };
	return (struct sql_val){ .type = SQL_TEXT, .s = s, .len = strlen(s) };
}

static const char *type_name(enum sql_type t)
{
	return t == SQL_INT ? "INTEGER" : t == SQL_REAL ? "REAL" : "TEXT";
}

void sql_schema__print(FILE *f)
{
	fprintf(f, "Tables of `procscope sql` (schema %d). Times are ns from the recording's start;\n"
		   "names follow Perfetto's trace processor where the concept is the same.\n"
		   "ClickHouse tables (export --format clickhouse) have the same columns after\n"
		   "host and session_id.\n", SQL_SCHEMA_VERSION);
	for (int t = 0; t < SQL_NTABLES; t++) {
		const struct sql_table *tb = &sql_tables[t];

		fprintf(f, "\n%s: %s\n", tb->name, tb->doc);
		for (unsigned c = 0; c < tb->ncols; c++)
			fprintf(f, "  %-16s %-7s %s%s\n", tb->cols[c].name, type_name(tb->cols[c].type),
				tb->cols[c].nullable ? "(NULL) " : "", tb->cols[c].doc);
	}
}
