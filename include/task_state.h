/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Task state bits, as the kernel keeps them in task->__state and as
 * sched_switch hands them over in prev_state (ps_switch.prev_state holds
 * them raw). They are not in any uapi header and vmlinux.h has no #defines,
 * so this is their one definition, for the probes and the readers alike.
 *
 * Values of include/linux/sched.h since Linux 6.1 (TASK_FREEZABLE); bits up
 * to TASK_NEW have kept their values since 4.14. Recorded files keep the
 * bits of the kernel that wrote them.
 */
#ifndef PROCSCOPE_TASK_STATE_H
#define PROCSCOPE_TASK_STATE_H

#define TASK_RUNNING		0x0000	/* no bit: runnable (or preempted) */
#define TASK_INTERRUPTIBLE	0x0001	/* S */
#define TASK_UNINTERRUPTIBLE	0x0002	/* D */
#define __TASK_STOPPED		0x0004	/* T */
#define __TASK_TRACED		0x0008	/* t */
#define EXIT_DEAD		0x0010	/* X, in exit_state */
#define EXIT_ZOMBIE		0x0020	/* Z, in exit_state */
#define TASK_PARKED		0x0040	/* P: a parked kthread */
#define TASK_DEAD		0x0080	/* its last switch-out */
#define TASK_WAKEKILL		0x0100
#define TASK_WAKING		0x0200
#define TASK_NOLOAD		0x0400	/* with UNINTERRUPTIBLE: TASK_IDLE, not load */
#define TASK_NEW		0x0800	/* forked, not yet woken */
#define TASK_RTLOCK_WAIT	0x1000	/* PREEMPT_RT sleeping lock: shown as D */
#define TASK_FREEZABLE		0x2000

#define TASK_IDLE		(TASK_UNINTERRUPTIBLE | TASK_NOLOAD)

/*
 * The "report" encoding of the sched_switch trace event (ftrace, perf,
 * Perfetto): the low bits above, one pseudo-state for idle, one for
 * preempted (the R+ of ftrace output).
 */
#define TASK_REPORT		0x007f
#define TASK_REPORT_IDLE	(TASK_REPORT + 1)
#define TASK_REPORT_MAX		(TASK_REPORT_IDLE << 1)

#endif /* PROCSCOPE_TASK_STATE_H */
