/* softsa stats: the daemon's counters since start, as indented text, the result object
 * (--json), or the Prometheus text format (--prometheus). */
#include "cli/ctl.h"

#include <string.h>

/* Members in the daemon's order (jansson keeps insertion order); names with '_' as ' '. */
static void print_obj(json_t *o, int depth, FILE *out)
{
	const char *key;
	json_t *v;
	json_object_foreach(o, key, v) {
		char name[64];
		snprintf(name, sizeof(name), "%s", key);
		for (char *p = name; *p; p++)
			if (*p == '_')
				*p = ' ';
		if (json_is_object(v)) {
			fprintf(out, "%*s%s:\n", depth * 2, "", name);
			print_obj(v, depth + 1, out);
		} else if (json_is_integer(v)) {
			fprintf(out, "%*s%-*s %12lld\n", depth * 2, "", 28 - depth * 2, name,
				(long long)json_integer_value(v));
		} else if (json_is_real(v)) {
			fprintf(out, "%*s%-*s %12.3f\n", depth * 2, "", 28 - depth * 2, name, json_real_value(v));
		} else if (json_is_string(v)) {
			fprintf(out, "%*s%-*s %12s\n", depth * 2, "", 28 - depth * 2, name, json_string_value(v));
		}
	}
}

void cli_print_stats(json_t *stats, FILE *out)
{
	print_obj(stats, 0, out);
}

int cmd_stats(const cli_cmd *cmd, int argc, char **argv)
{
	cli_ctl_opts o;
	int rc;
	if (cli_ctl_getopt(cmd, argc, argv, CLI_OPT_PROMETHEUS, 0, 0, &o, &rc) < 0)
		return rc;
	if (o.prometheus && o.json)
		return cli_usage_error(cmd, "--json and --prometheus exclude each other");
	if (o.prometheus) {
		/* softsa_up 0 even when the daemon is away: the collector reports it. */
		char err[800];
		json_t *st = cli_ctl_try(&o, "stats", NULL, err, sizeof(err));
		if (!st)
			fprintf(stderr, "softsa stats: %s\n", err);
		json_t *status = st ? cli_ctl_try(&o, "status", NULL, err, sizeof(err)) : NULL;
		cli_print_prometheus(st, status, stdout);
		json_decref(st);
		json_decref(status);
		return st ? CLI_OK : CLI_FAIL;
	}
	json_t *r = cli_ctl_request(cmd, &o, "stats", NULL);
	if (!r)
		return CLI_FAIL;
	if (o.json) {
		cli_print_json(r);
	} else {
		cli_print_stats(r, stdout);
		json_decref(r);
	}
	return CLI_OK;
}
