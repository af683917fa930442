/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The call-stack part of `report`: per process, the top call sites of heap
 * growth, anonymous mmap bytes and mprotect, the top off-CPU stacks of each
 * thread and the top on-CPU stacks of the process.
 */
#ifndef PROCSCOPE_STACK_REPORT_H
#define PROCSCOPE_STACK_REPORT_H

#include <stdio.h>
#include "session.h"

struct stack_report;

/* NULL and errno. The session must run SESSION_VM and SESSION_SCHED. */
struct stack_report *stack_report__new(struct session *s);
void stack_report__free(struct stack_report *r);
/* Wire into the replay: CB's record and sched callbacks (CB->ctx becomes R). */
void stack_report__callbacks(struct stack_report *r, struct session_callbacks *cb);
/* 0 or the first error met during the replay. */
int stack_report__error(const struct stack_report *r);
/* Prints P's section; nothing if it has no stacks. */
void stack_report__process(FILE *f, struct stack_report *r, const struct ps_process *p);

#endif
