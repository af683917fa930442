// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <argp.h>
#include <stdio.h>
#include <string.h>
#include "commands.h"
#include "trace_reader.h"
#include "util.h"

static const struct verb {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} verbs[] = {
	{ "record", cmd_record, "record a command, running processes or the whole machine" },
	{ "report", cmd_report, "summary per process and thread" },
	{ "layout", cmd_layout, "address space of a process at a time, high addresses on top" },
	{ "dump", cmd_dump, "every record, one per line" },
	{ "timeline", cmd_timeline, "thread states over time in the terminal (--cpus: per CPU)" },
	{ "export", cmd_export, "timeline for Perfetto, chrome://tracing, speedscope, flame graphs" },
	{ "sql", cmd_sql, "SQL over the session (SQLite, cached next to it as FILE.db)" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: procscope <command> [options]   (procscope <command> --help)\n\n");
	for (size_t i = 0; i < PS_ARRAY_SIZE(verbs); i++)
		fprintf(f, "  %-9s %s\n", verbs[i].name, verbs[i].help);
}

int main(int argc, char **argv)
{
	/* argp's own usage errors (unknown option, argp_error) exit like ours */
	argp_err_exit_status = PS_EXIT_USAGE;
	if (argc < 2) {
		usage(stderr);
		return PS_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("procscope %s\n", PROCSCOPE_VERSION);
		return 0;
	}
	for (size_t i = 0; i < PS_ARRAY_SIZE(verbs); i++) {
		int status;

		if (strcmp(argv[1], verbs[i].name))
			continue;
		status = verbs[i].fn(argc - 1, argv + 1);
		/* a verb that did its job on a damaged or unfinished session says so */
		return status ? status : trace_reader__exit_status();
	}
	fprintf(stderr, "procscope: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return PS_EXIT_USAGE;
}
