/* softsa initiate PEER: negotiate with a peer now, as its first packet would. */
#include "cli/ctl.h"

#include "base/addr.h"

int cli_peer_command(const cli_cmd *cmd, int argc, char **argv, const char *name, json_t **result,
		     cli_ctl_opts *o)
{
	int rc, i = cli_ctl_getopt(cmd, argc, argv, 0, 1, 1, o, &rc);
	if (i < 0)
		return rc;
	ss_addr a;
	if (!ss_addr_parse(argv[i], &a))
		return cli_usage_error(cmd, "'%s' is not an IP address", argv[i]);
	*result = cli_ctl_request(cmd, o, name, json_pack("{s:s}", "peer", argv[i]));
	return *result ? CLI_OK : CLI_FAIL;
}

int cmd_initiate(const cli_cmd *cmd, int argc, char **argv)
{
	json_t *r = NULL;
	cli_ctl_opts o;
	int rc = cli_peer_command(cmd, argc, argv, "initiate", &r, &o);
	if (rc != CLI_OK)
		return rc;
	if (o.json) {
		cli_print_json(r);
		return CLI_OK;
	}
	bool started = json_is_true(json_object_get(r, "started"));
	printf("%s\n", started ? "negotiation started ('softsa peers' follows it)"
			       : "no negotiation started (one is under way or the pair is already associated, "
				 "or no route to the peer)");
	json_decref(r);
	return CLI_OK;
}
