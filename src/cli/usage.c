/* The usage lines and usage errors every subcommand prints (cli.h). */
#include <stdarg.h>
#include <stdio.h>

#include "cli/cli.h"

void cli_usage(const cli_cmd *cmd, FILE *out)
{
	fprintf(out, "usage: softsa %s %s\n", cmd->name, cmd->args);
}

int cli_usage_error(const cli_cmd *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "softsa %s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	cli_usage(cmd, stderr);
	fprintf(stderr, "Try 'softsa %s --help'.\n", cmd->name);
	return CLI_USAGE;
}
