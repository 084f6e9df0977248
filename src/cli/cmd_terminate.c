/* softsa terminate PEER: delete the IKE SAs (and their CHILD SAs) with a peer. */
#include "cli/ctl.h"

int cmd_terminate(const cli_cmd *cmd, int argc, char **argv)
{
	json_t *r = NULL;
	cli_ctl_opts o;
	int rc = cli_peer_command(cmd, argc, argv, "terminate", &r, &o);
	if (rc != CLI_OK)
		return rc;
	if (o.json) {
		cli_print_json(r);
		return CLI_OK;
	}
	long long n = cli_int(r, "terminated");
	printf("%lld IKE SA%s terminated\n", n, n == 1 ? "" : "s");
	json_decref(r);
	return CLI_OK;
}
