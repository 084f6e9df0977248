/* softsa reload: softsad loads its policy file again (as SIGHUP does); an invalid file
 * leaves the running policy in force and the reply says why (exit 1). */
#include "cli/ctl.h"

static void print(json_t *r, FILE *out)
{
	fprintf(out, "policy reloaded: %s (%lld rules)\n", cli_str(r, "policy", "?"), cli_int(r, "rules"));
}

int cmd_reload(const cli_cmd *cmd, int argc, char **argv)
{
	return cli_ctl_simple(cmd, argc, argv, "reload", print);
}
