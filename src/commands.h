/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The verbs: each takes its own argv (argv[0] is the verb) and returns the exit status. */
#ifndef PROCSCOPE_COMMANDS_H
#define PROCSCOPE_COMMANDS_H

int cmd_record(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_timeline(int argc, char **argv);
int cmd_layout(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_sql(int argc, char **argv);

#endif
