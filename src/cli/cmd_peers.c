/* softsa peers: every association the agent tracks, whatever its state. */
#include "cli/ctl.h"

void cli_print_peers(json_t *r, FILE *out)
{
	json_t *arr = json_object_get(r, "peers"), *p;
	size_t i;
	if (!json_array_size(arr)) {
		fprintf(out, "no peers\n");
		return;
	}
	static const char *const h[] = { "LOCAL", "REMOTE", "STATE", "ATTEMPT", "SINCE", "RULE", "HELD",
					 "LAST OUTCOME", "WHY", "IDENTITY" };
	cli_table *t = cli_table_new(10, h);
	json_array_foreach(arr, i, p) {
		char att[24], since[32], held[24];
		snprintf(att, sizeof(att), "%lld", cli_int(p, "attempt"));
		snprintf(held, sizeof(held), "%lld", cli_int(p, "held"));
		const char *row[] = { cli_str(p, "local", "?"), cli_str(p, "remote", "?"), cli_str(p, "state", "?"), att,
				      cli_fmt_dur(cli_int(p, "since"), since, sizeof(since)), cli_str(p, "rule", "-"), held,
				      cli_str(p, "last_outcome", "-"), cli_str(p, "reason", "-"),
				      cli_str(p, "identity", "-") };
		cli_table_add(t, row);
	}
	cli_table_print(t, out);
	cli_table_free(t);
}

int cmd_peers(const cli_cmd *cmd, int argc, char **argv)
{
	return cli_ctl_simple(cmd, argc, argv, "peers", cli_print_peers);
}
