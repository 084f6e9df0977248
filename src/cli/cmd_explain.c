/* softsa explain: which rule and filter a packet matches and what softsa does with it
 * (src/policy/explain.c decides; this prints it as text or JSON). */
#include <getopt.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "policy/explain.h"

/* The text form, from the same JSON object the control socket returns. */
static void print_text(json_t *j)
{
	json_t *pk = json_object_get(j, "packet");
	printf("packet: %s %s -> %s", strcmp(json_string_value(json_object_get(pk, "dir")), "in") == 0 ? "inbound" : "outbound",
		json_string_value(json_object_get(pk, "src")), json_string_value(json_object_get(pk, "dst")));
	json_t *proto = json_object_get(pk, "proto");
	if (json_is_string(proto))
		printf(" %s", json_string_value(proto));
	else if (proto)
		printf(" proto %lld", (long long)json_integer_value(proto));
	if (json_object_get(pk, "sport"))
		printf(" port %lld -> %lld", (long long)json_integer_value(json_object_get(pk, "sport")),
			(long long)json_integer_value(json_object_get(pk, "dport")));
	printf("\n");
	if (json_is_true(json_object_get(j, "matched"))) {
		json_t *f = json_object_get(j, "filter");
		char where[32] = "built-in";
		if (json_object_get(f, "line"))
			snprintf(where, sizeof(where), "line %lld", (long long)json_integer_value(json_object_get(f, "line")));
		printf("match: rule '%s', filter %lld of list '%s' (%s): %s%s\n",
			json_string_value(json_object_get(j, "rule")),
			(long long)json_integer_value(json_object_get(j, "filter_index")),
			json_string_value(json_object_get(j, "filter_list")), where,
			json_string_value(json_object_get(f, "text")),
			json_is_true(json_object_get(j, "mirrored")) ? " (mirrored)" : "");
	} else {
		printf("match: none\n");
	}
	json_t *lines = json_object_get(j, "explanation");
	for (size_t i = 0; i < json_array_size(lines); i++)
		printf("  - %s\n", json_string_value(json_array_get(lines, i)));
}

static bool parse_port(const char *s, long *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (*s < '0' || *s > '9' || *end || v > 65535)
		return false;
	*out = (long)v;
	return true;
}

/* SRC DST [PROTO [[SPORT] DPORT]]: a destination port alone is the usual question. */
static int parse_packet(const cli_cmd *cmd, const char *dir, int n, char **a, ss_pkt_key *k)
{
	if (n < 2 || n > 5)
		return cli_usage_error(cmd, n < 2 ? "expected SRC DST after the policy (SRC DST [PROTO [[SPORT] DPORT]])"
						  : "too many operands: SRC DST [PROTO [[SPORT] DPORT]]");
	long sport = -1, dport = -1;
	if ((n == 4 && !parse_port(a[3], &dport)) ||
	    (n == 5 && (!parse_port(a[3], &sport) || !parse_port(a[4], &dport))))
		return cli_usage_error(cmd, "ports must be 0-65535");
	const char *why = NULL;
	if (!ss_explain_packet(dir, a[0], a[1], n >= 3 ? a[2] : NULL, sport, dport, k, &why))
		return cli_usage_error(cmd, "%s", why);
	return CLI_OK;
}

/* Is a one of this host's addresses?  (explain describes the host it runs on: `me`.) */
static bool host_has(const ss_addr *a)
{
	struct ifaddrs *ifs, *i;
	if (getifaddrs(&ifs) != 0)
		return false;
	bool found = false;
	for (i = ifs; i && !found; i = i->ifa_next) {
		ss_addr x;
		if (i->ifa_addr && ss_addr_from_sockaddr(i->ifa_addr, &x, NULL))
			found = ss_addr_eq(&x, a);
	}
	freeifaddrs(ifs);
	return found;
}

int cmd_explain(const cli_cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_SOURCE_OPTS, { "in", no_argument, NULL, 'i' }, { "out", no_argument, NULL, 'o' },
		{ "live", no_argument, NULL, 'L' }, { "control", required_argument, NULL, 'c' }, { 0, 0, 0, 0 }
	};
	cli_source src = { 0 };
	const char *dir = "out", *control = NULL;
	bool live = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "hj", opts, NULL)) != -1) {
		if (c == 'h') {
			cli_usage(cmd, stdout);
			fputs("\n", stdout);
			fputs(cmd->help, stdout);
			return CLI_OK;
		}
		if (c == 'i' || c == 'o')
			dir = c == 'i' ? "in" : "out";
		else if (c == 'L')
			live = true;
		else if (c == 'c')
			control = optarg;
		else if (!cli_source_opt(&src, c, optarg))
			return cli_usage_error(cmd, "bad option");
	}
	char **rest = argv + optind;
	int n = argc - optind;
	if (control && !live)
		return cli_usage_error(cmd, "--control goes with --live");
	if (live) {
		if (src.builtin || src.psk_file)
			return cli_usage_error(cmd, "--live asks the running softsad: no policy file or --builtin");
		ss_pkt_key k;
		int rc = parse_packet(cmd, dir, n, rest, &k);
		return rc != CLI_OK ? rc : cli_explain_live(cmd, control, src.json, dir, n, rest);
	}
	if (!src.builtin) {
		if (n < 1)
			return cli_usage_error(cmd, "expected a policy FILE (or --builtin NAME)");
		src.file = rest[0];
		rest++;
		n--;
	}
	ss_pkt_key k;
	int rc = parse_packet(cmd, dir, n, rest, &k);
	if (rc != CLI_OK)
		return rc;
	ss_policy *p = cli_load(&src);
	if (!p)
		return CLI_FAIL;
	ss_classifier *cl = ss_classifier_build(p);
	ss_explain_ctx x = { .sport_assumed = n == 4, .peer_is_local = host_has(k.dir == SS_DIR_OUT ? &k.dst : &k.src) };
	json_t *j = cl ? ss_explain_ex(p, cl, &k, &x) : NULL;
	if (!j) {
		fprintf(stderr, "softsa explain: out of memory\n");
	} else if (src.json) {
		cli_print_json(j);
	} else {
		print_text(j);
		json_decref(j);
	}
	ss_classifier_free(cl);
	ss_policy_free(p);
	return j ? CLI_OK : CLI_FAIL;
}
