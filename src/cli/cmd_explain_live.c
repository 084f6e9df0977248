/* softsa explain --live: what the running softsad's policy does with a packet, and the
 * association it holds for the pair now ("explain" on the control socket). */
#include <stdlib.h>
#include <string.h>

#include "cli/ctl.h"

static const char *yes(json_t *o, const char *key)
{
	return json_is_true(json_object_get(o, key)) ? "yes" : "no";
}

/* The reply is `softsa explain --json`'s object (doc/control.md): the packet, the match with
 * its filter and action objects, and the agent's association with the peer. */
void cli_print_explain_live(json_t *r, const char *dir, int n, char **a, FILE *out)
{
	fprintf(out, "packet: %s %s -> %s", strcmp(dir, "in") == 0 ? "inbound" : "outbound", a[0], a[1]);
	if (n >= 3)
		fprintf(out, " %s", a[2]);
	if (n == 5)
		fprintf(out, " port %s -> %s", a[3], a[4]);
	else if (n == 4)
		fprintf(out, " port %s", a[3]);
	fprintf(out, "\npolicy: %s (as softsad runs it now)\n", cli_str(r, "policy", "?"));
	json_t *act = json_object_get(r, "action");
	if (!json_is_true(json_object_get(r, "matched"))) {
		fprintf(out, "match: none: %s\n", json_is_true(json_object_get(r, "default_response"))
			? "clear; IKE from the peer is answered (Default Response)" : "clear");
	} else {
		json_t *f = json_object_get(r, "filter");
		fprintf(out, "match: rule '%s', filter %lld of list '%s'", cli_str(r, "rule", "?"), cli_int(r, "filter_index"),
		       cli_str(r, "filter_list", "?"));
		if (json_object_get(f, "line"))
			fprintf(out, " (line %lld)", cli_int(f, "line"));
		if (json_object_get(f, "text"))
			fprintf(out, ": %s", cli_str(f, "text", ""));
		fprintf(out, "%s\n", json_is_true(json_object_get(r, "mirrored")) ? " (mirrored)" : "");
		fprintf(out, "action: %s '%s'\n", cli_str(act, "action", "?"), cli_str(act, "name", "?"));
	}
	json_t *lines = json_object_get(r, "explanation"), *l;
	size_t i;
	if (json_array_size(lines)) {
		json_array_foreach(lines, i, l) fprintf(out, "  - %s\n", json_string_value(l) ? json_string_value(l) : "");
	} else if (json_is_object(act) && strcmp(cli_str(act, "action", ""), "negotiate") == 0) {
		fprintf(out, "  - accept unsecured inbound: %s\n", yes(act, "accept_unsecured"));
		fprintf(out, "  - fall back to clear (soft association) when the peer never answers: %s",
		       yes(act, "fallback_to_clear"));
		if (json_is_true(json_object_get(act, "fallback_to_clear")))
			fprintf(out, ", idle lifetime %lld s", cli_int(act, "soft_idle_lifetime"));
		fprintf(out, "\n  - discovery: %s\n", yes(act, "discovery"));
	}
	fprintf(out, "association now with %s: %s\n", cli_str(r, "peer", "the peer"), cli_str(r, "association", "none"));
}

int cli_explain_live(const cli_cmd *cmd, const char *control, bool json, const char *dir, int n, char **a)
{
	const char *env = getenv("SOFTSA_CONTROL");
	cli_ctl_opts o = { .control = control ? control : env && *env ? env : CLI_CONTROL_DEFAULT, .json = json };
	json_t *req = json_pack("{s:s, s:s, s:s}", "src", a[0], "dst", a[1], "dir", dir);
	if (n >= 3)
		json_object_set_new(req, "proto", json_string(a[2]));
	if (n == 5)
		json_object_set_new(req, "sport", json_integer(atol(a[3])));
	if (n >= 4) /* a destination port alone: softsad takes an ephemeral source port */
		json_object_set_new(req, "dport", json_integer(atol(a[n - 1])));
	json_t *r = cli_ctl_request(cmd, &o, "explain", req);
	if (!r)
		return CLI_FAIL;
	if (json)
		cli_print_json(r);
	else {
		cli_print_explain_live(r, dir, n, a, stdout);
		json_decref(r);
	}
	return CLI_OK;
}
