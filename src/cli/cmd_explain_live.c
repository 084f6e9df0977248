/* softsa explain --live: what the running softsad's policy does with a packet, and the
 * association it holds for the pair now ("explain" on the control socket). */
#include <stdlib.h>
#include <string.h>

#include "cli/ctl.h"

static const char *yes(json_t *r, const char *key)
{
	return json_is_true(json_object_get(r, key)) ? "yes" : "no";
}

static void print_live(json_t *r, const char *dir, int n, char **a)
{
	printf("packet: %s %s -> %s", strcmp(dir, "in") == 0 ? "inbound" : "outbound", a[0], a[1]);
	if (n >= 3)
		printf(" %s", a[2]);
	if (n == 5)
		printf(" port %s -> %s", a[3], a[4]);
	printf("\npolicy: %s (as softsad runs it now)\n", cli_str(r, "policy", "?"));
	if (!json_is_true(json_object_get(r, "matched"))) {
		printf("match: none: %s\n", cli_str(r, "action", "permit"));
	} else {
		printf("match: rule '%s', filter list '%s'", cli_str(r, "rule", "?"), cli_str(r, "filter_list", "?"));
		if (json_object_get(r, "line"))
			printf(" (line %lld)", cli_int(r, "line"));
		printf(", filter action '%s': %s%s\n", cli_str(r, "filter_action", "?"), cli_str(r, "action", "?"),
		       json_is_true(json_object_get(r, "mirrored")) ? " (mirrored)" : "");
		if (json_object_get(r, "fallback_to_clear")) {
			printf("  - IPsec in %s mode\n", cli_str(r, "mode", "transport"));
			printf("  - accept unsecured inbound: %s\n", yes(r, "accept_unsecured"));
			printf("  - fall back to clear (soft association) when the peer never answers: %s",
			       yes(r, "fallback_to_clear"));
			if (json_is_true(json_object_get(r, "fallback_to_clear")))
				printf(", idle lifetime %lld s", cli_int(r, "soft_idle_lifetime"));
			printf("\n  - discovery: %s\n", yes(r, "discovery"));
		}
	}
	printf("association now: %s\n", cli_str(r, "association", "none"));
}

int cli_explain_live(const cli_cmd *cmd, const char *control, bool json, const char *dir, int n, char **a)
{
	const char *env = getenv("SOFTSA_CONTROL");
	cli_ctl_opts o = { .control = control ? control : env && *env ? env : CLI_CONTROL_DEFAULT, .json = json };
	json_t *req = json_pack("{s:s, s:s, s:s}", "src", a[0], "dst", a[1], "dir", dir);
	if (n >= 3)
		json_object_set_new(req, "proto", json_string(a[2]));
	if (n == 5) {
		json_object_set_new(req, "sport", json_integer(atol(a[3])));
		json_object_set_new(req, "dport", json_integer(atol(a[4])));
	}
	json_t *r = cli_ctl_request(cmd, &o, "explain", req);
	if (!r)
		return CLI_FAIL;
	if (json)
		cli_print_json(r);
	else {
		print_live(r, dir, n, a);
		json_decref(r);
	}
	return CLI_OK;
}
