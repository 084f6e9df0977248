/* softsa explain: which rule and filter a packet matches, through the compiled classifier,
 * and what softsa does with it, in words (the seed's table, rows decided by policy). */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

/* Protocol number used when PROTO is not given: reserved (IANA), so that only filters
 * with proto any match it. */
#define PROTO_UNSPECIFIED 255

typedef struct explain {
	const ss_policy *p;
	ss_pkt_key k;
	bool matched;
	ss_match m;
	char peer[SS_ADDR_STRLEN];
	json_t *lines; /* the explanation, one sentence per element */
} explain;

static void say(explain *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(explain *e, const char *fmt, ...)
{
	char buf[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json_array_append_new(e->lines, json_string(buf));
}

static bool parse_proto(const char *s, uint8_t *out)
{
	static const struct { const char *n; uint8_t v; } t[] = {
		{ "icmp", 1 }, { "tcp", 6 }, { "udp", 17 }, { "icmpv6", 58 }, { "sctp", 132 },
		{ "any", PROTO_UNSPECIFIED },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(s, t[i].n) == 0) {
			*out = t[i].v;
			return true;
		}
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (*s < '0' || *s > '9' || *end || v > 255)
		return false;
	*out = (uint8_t)v;
	return true;
}

static bool parse_port(const char *s, uint16_t *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (*s < '0' || *s > '9' || *end || v > 65535)
		return false;
	*out = (uint16_t)v;
	return true;
}

static void explain_negotiate(explain *e, const ss_filter_action *a, const ss_rule *r)
{
	const ss_policy *p = e->p;
	char ab[400];
	say(e, "Action %s.", cli_action_fmt(a, ab, sizeof(ab)));
	if (r->tunnel) {
		char t[SS_ADDR_STRLEN];
		say(e, "ESP in tunnel mode to %s.", ss_addr_fmt(&r->tunnel_endpoint, t));
	}
	if (a->discovery)
		say(e, "Outbound: softsa negotiates IKEv2 with %s; meanwhile (discovery) packets go in the clear, "
			"and each flow moves to ESP once the SA is up (never back).", e->peer);
	else
		say(e, "Outbound: packets to %s are held while softsa negotiates IKEv2, then sent in ESP; "
			"no packet goes in the clear.", e->peer);
	say(e, "If %s is IPsec-aware and agrees: traffic is protected by ESP.", e->peer);
	double silent = cli_silent_ms(p) / 1000.0;
	if (a->fallback_to_clear) {
		say(e, "If %s is not IPsec-aware (never answers IKE: %u attempts, decided after %.1f s): "
			"soft association - traffic with it goes in the clear until idle for %u s, then "
			"negotiation starts again.", e->peer, p->ike.retx.attempts, silent, a->soft_idle_lifetime);
		if (a->fallback_after_secured || !p->downgrade_protection)
			say(e, "Downgrade protection is off for this action: a peer that completed IKE before "
				"is soft-associated too when it falls silent.");
		else
			say(e, "Downgrade protection: a peer that completed IKE in the last %u s (%.1f days) is not "
				"soft-associated when it falls silent; its traffic is blocked.", p->downgrade_protection,
				p->downgrade_protection / 86400.0);
	} else {
		say(e, "If %s is not IPsec-aware (never answers IKE: %u attempts, decided after %.1f s): "
			"traffic with it is blocked (no fallback to clear).", e->peer, p->ike.retx.attempts, silent);
	}
	say(e, "If %s answers IKE but the negotiation fails (no common proposal, bad credentials): "
		"traffic is blocked; fallback is only for peers that never answer.", e->peer);
	if (a->accept_unsecured)
		say(e, "Unsecured inbound from %s: accepted, and softsa negotiates toward it "
			"(accept unsecured, always respond using IPsec); once secured, clear packets from it are dropped.",
			e->peer);
	else
		say(e, "Unsecured inbound from %s: dropped; softsa still negotiates toward it.", e->peer);
}

static void run_explain(explain *e)
{
	const ss_policy *p = e->p;
	if (!e->matched) {
		say(e, "No rule matches: the packet passes in the clear.");
		if (p->default_response)
			say(e, "Default Response rule: if %s starts IKE, softsa answers and secures the traffic "
				"it asks for; softsa never initiates toward it.", e->peer);
		else
			say(e, "IKE from %s is not answered (no Default Response rule).", e->peer);
		return;
	}
	const ss_filter_action *a = e->m.rule->action;
	if (a->kind == SS_ACT_PERMIT)
		say(e, "Action permit '%s': the packet passes in the clear, in both directions; no IKE.", a->name);
	else if (a->kind == SS_ACT_BLOCK)
		say(e, "Action block '%s': the packet is dropped, in both directions; no IKE.", a->name);
	else
		explain_negotiate(e, a, e->m.rule);
}

static json_t *packet_json(const ss_pkt_key *k)
{
	char s[SS_ADDR_STRLEN], d[SS_ADDR_STRLEN];
	json_t *j = json_pack("{s:s, s:s, s:s}", "direction", k->dir == SS_DIR_IN ? "in" : "out", "src",
		ss_addr_fmt(&k->src, s), "dst", ss_addr_fmt(&k->dst, d));
	if (k->proto != PROTO_UNSPECIFIED)
		json_object_set_new(j, "proto", json_integer(k->proto));
	if (k->sport || k->dport) {
		json_object_set_new(j, "src_port", json_integer(k->sport));
		json_object_set_new(j, "dst_port", json_integer(k->dport));
	}
	return j;
}

static void print(explain *e, bool json)
{
	if (json) {
		json_t *j = json_pack("{s:o, s:b}", "packet", packet_json(&e->k), "matched", e->matched);
		if (e->matched) {
			const ss_rule *r = e->m.rule;
			json_object_set_new(j, "rule", json_string(r->name));
			json_object_set_new(j, "filter_list", json_string(r->list->name));
			json_object_set_new(j, "filter_index", json_integer(e->m.filter - r->list->filters + 1));
			json_object_set_new(j, "filter", cli_filter_json(e->m.filter));
			json_object_set_new(j, "mirrored", json_boolean(e->m.mirrored));
			json_object_set_new(j, "action", cli_action_json(r->action));
		} else {
			json_object_set_new(j, "default_response", json_boolean(e->p->default_response));
		}
		json_object_set_new(j, "peer", json_string(e->peer));
		json_object_set_new(j, "explanation", json_incref(e->lines));
		cli_print_json(j);
		return;
	}
	char s[SS_ADDR_STRLEN], d[SS_ADDR_STRLEN];
	printf("packet: %s %s -> %s", e->k.dir == SS_DIR_IN ? "inbound" : "outbound", ss_addr_fmt(&e->k.src, s),
		ss_addr_fmt(&e->k.dst, d));
	const char *pn = ss_proto_name(e->k.proto);
	if (e->k.proto != PROTO_UNSPECIFIED)
		pn ? printf(" %s", pn) : printf(" proto %u", e->k.proto);
	if (e->k.sport || e->k.dport)
		printf(" port %u -> %u", e->k.sport, e->k.dport);
	printf("\n");
	if (e->matched) {
		char fb[200];
		const ss_rule *r = e->m.rule;
		printf("match: rule '%s', filter %td of list '%s' (line %u): %s%s\n", r->name,
			e->m.filter - r->list->filters + 1, r->list->name, e->m.filter->loc.line,
			cli_filter_fmt(e->m.filter, fb, sizeof(fb)), e->m.mirrored ? " (mirrored)" : "");
	} else {
		printf("match: none\n");
	}
	for (size_t i = 0; i < json_array_size(e->lines); i++)
		printf("  - %s\n", json_string_value(json_array_get(e->lines, i)));
}

static int parse_packet(const cli_cmd *cmd, int n, char **a, ss_pkt_key *k)
{
	if (n < 2 || n == 4 || n > 5)
		return cli_usage_error(cmd, "expected SRC DST [PROTO [SPORT DPORT]]");
	if (!ss_addr_parse(a[0], &k->src) || !ss_addr_parse(a[1], &k->dst))
		return cli_usage_error(cmd, "SRC and DST must be IP addresses");
	if (k->src.family != k->dst.family)
		return cli_usage_error(cmd, "SRC and DST must be of the same address family");
	k->proto = PROTO_UNSPECIFIED;
	if (n >= 3 && !parse_proto(a[2], &k->proto))
		return cli_usage_error(cmd, "unknown protocol '%s'", a[2]);
	if (n == 5) {
		if (k->proto != 6 && k->proto != 17 && k->proto != 132)
			return cli_usage_error(cmd, "ports need tcp, udp or sctp");
		if (!parse_port(a[3], &k->sport) || !parse_port(a[4], &k->dport))
			return cli_usage_error(cmd, "ports must be 0-65535");
	}
	return CLI_OK;
}

int cmd_explain(const cli_cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_SOURCE_OPTS, { "in", no_argument, NULL, 'i' }, { "out", no_argument, NULL, 'o' }, { 0, 0, 0, 0 }
	};
	cli_source src = { 0 };
	explain e = { .k = { .dir = SS_DIR_OUT } };
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+hj", opts, NULL)) != -1) {
		if (c == 'h') {
			cli_usage(cmd, stdout);
			fputs("\n", stdout);
			fputs(cmd->help, stdout);
			return CLI_OK;
		}
		if (c == 'i' || c == 'o')
			e.k.dir = c == 'i' ? SS_DIR_IN : SS_DIR_OUT;
		else if (!cli_source_opt(&src, c, optarg))
			return cli_usage_error(cmd, "bad option");
	}
	char **rest = argv + optind;
	int n = argc - optind;
	if (!src.builtin) {
		if (n < 1)
			return cli_usage_error(cmd, "expected a policy FILE (or --builtin NAME)");
		src.file = rest[0];
		rest++;
		n--;
	}
	int rc = parse_packet(cmd, n, rest, &e.k);
	if (rc != CLI_OK)
		return rc;
	ss_policy *p = cli_load(&src);
	if (!p)
		return CLI_FAIL;
	ss_classifier *cl = ss_classifier_build(p);
	if (!cl) {
		fprintf(stderr, "softsa explain: out of memory\n");
		ss_policy_free(p);
		return CLI_FAIL;
	}
	e.p = p;
	e.matched = ss_classify(cl, &e.k, &e.m);
	ss_addr_fmt(e.k.dir == SS_DIR_OUT ? &e.k.dst : &e.k.src, e.peer);
	e.lines = json_array();
	run_explain(&e);
	print(&e, src.json);
	json_decref(e.lines);
	ss_classifier_free(cl);
	ss_policy_free(p);
	return CLI_OK;
}
