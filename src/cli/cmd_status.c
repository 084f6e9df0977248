/* softsa status: the daemon's version, uptime, ports, policy and dataplane backend; in text also how many
 * associations it tracks, by state (from "peers"). */
#include "cli/ctl.h"

#include <string.h>

void cli_print_status(json_t *s, FILE *out)
{
	char up[32];
	json_t *ports = json_object_get(s, "ike_ports");
	fprintf(out, "softsad %s, pid %lld, up %s\n", cli_str(s, "version", "?"), cli_int(s, "pid"),
		cli_fmt_dur(cli_int(s, "uptime_ms") / 1000, up, sizeof(up)));
	if (ports)
		fprintf(out, "IKE on UDP %lld, NAT-T on UDP %lld\n", cli_int(ports, "ike"), cli_int(ports, "natt"));
	if (json_object_get(s, "policy"))
		fprintf(out, "policy: %s (%lld rules)\n", cli_str(s, "policy", "?"), cli_int(s, "rules"));
	json_t *dp = json_object_get(s, "dataplane");
	if (dp)
		fprintf(out, "dataplane: %s (%s)\n", cli_str(dp, "name", "?"), cli_str(dp, "why", ""));
}

/* "associations: 1 secured, 1 soft" from a peers result. */
static void print_counts(json_t *peers, FILE *out)
{
	static const char *const states[] = { "secured", "soft", "negotiating", "blocked", "idle" };
	long n[5] = { 0 };
	json_t *arr = json_object_get(peers, "peers"), *p;
	size_t i;
	json_array_foreach(arr, i, p) {
		const char *st = cli_str(p, "state", "");
		for (size_t k = 0; k < 5; k++)
			if (strcmp(st, states[k]) == 0)
				n[k]++;
	}
	fprintf(out, "associations: %zu", json_array_size(arr));
	const char *sep = " (";
	for (size_t k = 0; k < 5; k++)
		if (n[k]) {
			fprintf(out, "%s%ld %s", sep, n[k], states[k]);
			sep = ", ";
		}
	fprintf(out, "%s\n", json_array_size(arr) ? ")" : "");
}

int cmd_status(const cli_cmd *cmd, int argc, char **argv)
{
	cli_ctl_opts o;
	int rc;
	if (cli_ctl_getopt(cmd, argc, argv, 0, 0, 0, &o, &rc) < 0)
		return rc;
	json_t *r = cli_ctl_request(cmd, &o, "status", NULL);
	if (!r)
		return CLI_FAIL;
	if (o.json) {
		cli_print_json(r);
		return CLI_OK;
	}
	cli_print_status(r, stdout);
	json_decref(r);
	char err[256];
	json_t *p = cli_ctl_try(&o, "peers", NULL, err, sizeof(err));
	if (p)
		print_counts(p, stdout);
	json_decref(p);
	return CLI_OK;
}
