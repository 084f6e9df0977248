/* softsa flush-soft: removes every soft association; the next packet to each of those
 * peers negotiates again. */
#include "cli/ctl.h"

static void print(json_t *r, FILE *out)
{
	long long n = cli_int(r, "flushed");
	fprintf(out, "%lld soft association%s removed\n", n, n == 1 ? "" : "s");
}

int cmd_flush_soft(const cli_cmd *cmd, int argc, char **argv)
{
	return cli_ctl_simple(cmd, argc, argv, "flush-soft", print);
}
