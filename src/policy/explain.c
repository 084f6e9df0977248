/* Explaining one packet: the classifier's answer and the consequences in words. */
#include "policy/explain.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/describe.h"

static const struct {
	const char *name;
	uint8_t num;
} protos[] = {
	{ "icmp", 1 }, { "tcp", 6 }, { "udp", 17 }, { "icmpv6", 58 }, { "sctp", 132 },
	{ "any", SS_PROTO_UNSPECIFIED },
};

static bool parse_proto(const char *s, uint8_t *out)
{
	for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		if (strcmp(s, protos[i].name) == 0) {
			*out = protos[i].num;
			return true;
		}
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (*s < '0' || *s > '9' || *end || v > 255)
		return false;
	*out = (uint8_t)v;
	return true;
}

bool ss_explain_packet(const char *dir, const char *src, const char *dst, const char *proto,
	long sport, long dport, ss_pkt_key *k, const char **why)
{
	memset(k, 0, sizeof(*k));
	k->dir = SS_DIR_OUT;
	if (dir && strcmp(dir, "in") == 0)
		k->dir = SS_DIR_IN;
	else if (dir && strcmp(dir, "out") != 0)
		return *why = "direction must be in or out", false;
	if (!src || !dst || !ss_addr_parse(src, &k->src) || !ss_addr_parse(dst, &k->dst))
		return *why = "source and destination must be IP addresses", false;
	if (k->src.family != k->dst.family)
		return *why = "source and destination must be of the same address family", false;
	k->proto = SS_PROTO_UNSPECIFIED;
	if (proto && !parse_proto(proto, &k->proto))
		return *why = "unknown protocol (tcp, udp, icmp, icmpv6, sctp, any or 0-255)", false;
	if ((sport < 0) != (dport < 0))
		return *why = "give both ports or neither", false;
	if (sport >= 0) {
		if (k->proto != 6 && k->proto != 17 && k->proto != 132)
			return *why = "ports need tcp, udp or sctp", false;
		if (sport > 65535 || dport > 65535)
			return *why = "ports must be 0-65535", false;
		k->sport = (uint16_t)sport;
		k->dport = (uint16_t)dport;
	}
	return true;
}

typedef struct ctx {
	const ss_policy *p;
	const ss_pkt_key *k;
	char peer[SS_ADDR_STRLEN];
	json_t *lines;
} ctx;

static void say(ctx *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(ctx *e, const char *fmt, ...)
{
	char buf[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json_array_append_new(e->lines, json_string(buf));
}

static void say_inbound(ctx *e, const ss_filter_action *a)
{
	if (a->accept_unsecured)
		say(e, "Unsecured inbound from %s: accepted, and softsa negotiates toward it "
			"(accept unsecured, always respond using IPsec); once secured, clear packets from it are dropped.",
			e->peer);
	else
		say(e, "Unsecured inbound from %s: dropped; softsa still negotiates toward it.", e->peer);
}

static void say_fallback(ctx *e, const ss_filter_action *a)
{
	const ss_policy *p = e->p;
	double silent = ss_retx_silent_decision(&p->ike.retx) / 1000.0;
	if (!a->fallback_to_clear) {
		say(e, "If %s is not IPsec-aware (never answers IKE: %u attempts, decided after %.1f s): "
			"traffic with it is blocked (no fallback to clear).", e->peer, p->ike.retx.attempts, silent);
		return;
	}
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
}

static void say_negotiate(ctx *e, const ss_rule *r)
{
	const ss_filter_action *a = r->action;
	char ab[400];
	say(e, "Action %s.", ss_action_fmt(a, ab, sizeof(ab)));
	if (r->tunnel) {
		char t[SS_ADDR_STRLEN];
		say(e, "ESP in tunnel mode to %s.", ss_addr_fmt(&r->tunnel_endpoint, t));
	}
	/* For an inbound packet, what happens to it comes first. */
	if (e->k->dir == SS_DIR_IN) {
		say(e, "Secured inbound (ESP from %s under an SA for this rule): accepted.", e->peer);
		say_inbound(e, a);
	}
	if (a->discovery)
		say(e, "Outbound: softsa negotiates IKEv2 with %s; meanwhile (discovery) packets go in the clear, "
			"and each flow moves to ESP once the SA is up (never back).", e->peer);
	else
		say(e, "Outbound: packets to %s are held while softsa negotiates IKEv2, then sent in ESP; "
			"no packet goes in the clear.", e->peer);
	say(e, "If %s is IPsec-aware and agrees: traffic is protected by ESP.", e->peer);
	say_fallback(e, a);
	say(e, "If %s answers IKE but the negotiation fails (no common proposal, bad credentials): "
		"traffic is blocked; fallback is only for peers that never answer.", e->peer);
	if (e->k->dir == SS_DIR_OUT)
		say_inbound(e, a);
}

static void say_all(ctx *e, const ss_match *m, bool matched)
{
	if (!matched) {
		say(e, "No rule matches: the packet passes in the clear.");
		if (e->p->default_response)
			say(e, "Default Response rule: if %s starts IKE, softsa answers and secures the traffic "
				"it asks for; softsa never initiates toward it.", e->peer);
		else
			say(e, "IKE from %s is not answered (no Default Response rule).", e->peer);
		return;
	}
	const ss_filter_action *a = m->rule->action;
	if (a->kind == SS_ACT_PERMIT)
		say(e, "Action permit '%s': the packet passes in the clear, in both directions; no IKE.", a->name);
	else if (a->kind == SS_ACT_BLOCK)
		say(e, "Action block '%s': the packet is dropped, in both directions; no IKE.", a->name);
	else
		say_negotiate(e, m->rule);
}

static json_t *packet_json(const ss_pkt_key *k)
{
	char s[SS_ADDR_STRLEN], d[SS_ADDR_STRLEN];
	json_t *j = json_pack("{s:s, s:s, s:s}", "dir", k->dir == SS_DIR_IN ? "in" : "out", "src",
		ss_addr_fmt(&k->src, s), "dst", ss_addr_fmt(&k->dst, d));
	if (!j || k->proto == SS_PROTO_UNSPECIFIED)
		return j;
	const char *name = ss_proto_name(k->proto);
	json_object_set_new(j, "proto", name ? json_string(name) : json_integer(k->proto));
	if (k->proto == 6 || k->proto == 17 || k->proto == 132) {
		json_object_set_new(j, "sport", json_integer(k->sport));
		json_object_set_new(j, "dport", json_integer(k->dport));
	}
	return j;
}

json_t *ss_explain(const ss_policy *p, const ss_classifier *c, const ss_pkt_key *k)
{
	ss_match m;
	bool matched = ss_classify(c, k, &m);
	ctx e = { .p = p, .k = k, .lines = json_array() };
	ss_addr_fmt(k->dir == SS_DIR_OUT ? &k->dst : &k->src, e.peer);
	json_t *j = json_pack("{s:o, s:s, s:b}", "packet", packet_json(k), "policy", p->name, "matched", matched);
	if (!j || !e.lines) {
		json_decref(j);
		json_decref(e.lines);
		return NULL;
	}
	if (matched) {
		const ss_rule *r = m.rule;
		json_object_set_new(j, "rule", json_string(r->name));
		json_object_set_new(j, "filter_list", json_string(r->list->name));
		json_object_set_new(j, "filter_index", json_integer(m.filter - r->list->filters + 1));
		json_object_set_new(j, "filter", ss_filter_json(m.filter));
		json_object_set_new(j, "mirrored", json_boolean(m.mirrored));
		json_object_set_new(j, "action", ss_action_json(r->action));
		if (r->tunnel) {
			char t[SS_ADDR_STRLEN];
			json_object_set_new(j, "tunnel", json_string(ss_addr_fmt(&r->tunnel_endpoint, t)));
		}
	} else {
		json_object_set_new(j, "default_response", json_boolean(p->default_response));
	}
	json_object_set_new(j, "peer", json_string(e.peer));
	say_all(&e, &m, matched);
	json_object_set_new(j, "explanation", e.lines);
	return j;
}
