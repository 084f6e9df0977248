/* softsa soft: the soft associations, address pairs whose traffic goes in the clear because
 * the peer never answered IKE and the rule allows it, with their idle time and the packets
 * and bytes the datapath counted (both directions). */
#include "cli/ctl.h"

void cli_print_soft(json_t *r, FILE *out)
{
	json_t *arr = json_object_get(r, "soft"), *s;
	size_t i;
	if (!json_array_size(arr)) {
		fprintf(out, "no soft associations\n");
		return;
	}
	static const char *const h[] = { "LOCAL", "REMOTE", "RULE", "WHY", "AGE", "IDLE", "EXPIRES IN",
					 "IDLE LIFETIME", "PACKETS", "BYTES" };
	cli_table *t = cli_table_new(10, h);
	json_array_foreach(arr, i, s) {
		char age[32], exp[32], idle[32], idl[32] = "-", pk[32] = "-", by[32] = "-";
		if (json_object_get(s, "idle"))
			cli_fmt_dur(cli_int(s, "idle"), idl, sizeof(idl));
		if (json_object_get(s, "packets"))
			snprintf(pk, sizeof(pk), "%lld", cli_int(s, "packets"));
		if (json_object_get(s, "bytes"))
			cli_fmt_bytes(cli_int(s, "bytes"), by, sizeof(by));
		const char *row[] = { cli_str(s, "local", "?"), cli_str(s, "remote", "?"), cli_str(s, "rule", "-"),
				      cli_str(s, "reason", "-"), cli_fmt_dur(cli_int(s, "age"), age, sizeof(age)), idl,
				      cli_fmt_dur(cli_int(s, "expires_in"), exp, sizeof(exp)),
				      cli_fmt_dur(cli_int(s, "idle_lifetime"), idle, sizeof(idle)), pk, by };
		cli_table_add(t, row);
	}
	cli_table_print(t, out);
	cli_table_free(t);
}

int cmd_soft(const cli_cmd *cmd, int argc, char **argv)
{
	return cli_ctl_simple(cmd, argc, argv, "soft", cli_print_soft);
}
