/* softsa status: the daemon's version, uptime, ports, policy and dataplane backend; in text also how many
 * associations it tracks, by state (from "peers"). */
#include "cli/ctl.h"

#include <string.h>
#include <time.h>

static void fmt_time(json_t *o, const char *key, char *buf, size_t len)
{
	time_t t = (time_t)cli_int(o, key);
	struct tm tm;
	if (!json_is_integer(json_object_get(o, key)) || !gmtime_r(&t, &tm) ||
	    !strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(buf, len, "never");
}

/* Where the policy comes from; for a directory (doc/directory.md) also the version in
 * force, how it was assigned, when the directory was last read, and the last error. */
static void print_source(json_t *src, FILE *out)
{
	const char *kind = cli_str(src, "kind", "");
	if (strcmp(kind, "file") == 0)
		fprintf(out, "policy source: file %s\n", cli_str(src, "path", "?"));
	else if (strcmp(kind, "builtin") == 0)
		fprintf(out, "policy source: built-in %s\n", cli_str(src, "name", "?"));
	if (strcmp(kind, "directory") != 0)
		return;
	char fetched[40], err_t[40];
	fmt_time(src, "fetched", fetched, sizeof(fetched));
	fmt_time(src, "last_error_time", err_t, sizeof(err_t));
	const char *uri = cli_str(src, "uri", "");
	fprintf(out, "policy source: directory %s (%s), host %s\n", uri[0] ? uri : "-", cli_str(src, "state", "?"),
		cli_str(src, "host_dn", "?"));
	fprintf(out, "  in force: %s%s, assigned by %s %s\n", cli_str(src, "origin", "?"),
		json_is_true(json_object_get(src, "from_cache")) ? " (from the cache)" : "", cli_str(src, "via", "?"),
		cli_str(src, "holder", "(no assignment: the default)"));
	fprintf(out, "  last fetched: %s\n", fetched);
	if (json_is_string(json_object_get(src, "warning")))
		fprintf(out, "  warning: %s\n", cli_str(src, "warning", ""));
	if (json_is_string(json_object_get(src, "last_error")))
		fprintf(out, "  last error (%s): %s\n", err_t, cli_str(src, "last_error", ""));
}

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
	print_source(json_object_get(s, "policy_source"), out);
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
