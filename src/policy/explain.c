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
	if (sport >= 0 && dport < 0)
		return *why = "a source port needs a destination port", false;
	if (sport < 0 && dport >= 0)
		sport = SS_EXPLAIN_EPHEMERAL_PORT;
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
	ss_explain_ctx x;
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
	if (ss_rule_udp_encap_always(e->p, r))
		say(e, "ESP in UDP 4500 always (udp_encap: always): softsa tells %s that this host is behind a NAT "
			"(RFC 7296 2.23), so both sides encapsulate even without one.", e->peer);
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

static bool is_ike_port(uint16_t port) { return port == 500 || port == 4500; }

static bool is_loopback(const ss_addr *a)
{
	static const uint8_t v6_lo[16] = { [15] = 1 };
	if (a->family == SS_AF_INET)
		return a->a[0] == 127;
	return memcmp(a->a, v6_lo, 16) == 0;
}

/* What the datapath decides before any filter sees the packet (doc/dataplane.md, the table
 * `inet softsa`): NULL when the policy decides. */
static const char *bypass(const ctx *e)
{
	const ss_pkt_key *k = e->k;
	const ss_addr *peer = k->dir == SS_DIR_OUT ? &k->dst : &k->src;
	const ss_addr *local = k->dir == SS_DIR_OUT ? &k->src : &k->dst;
	if (e->x.peer_is_local || is_loopback(peer) || is_loopback(local))
		return "loopback";
	if (k->proto == 17 && (is_ike_port(k->dport) || (k->dir == SS_DIR_OUT && is_ike_port(k->sport))))
		return "ike";
	if (k->proto == 50 && k->dir == SS_DIR_IN)
		return "esp";
	return NULL;
}

/* Sentences for what bypasses the policy, and for what might (ICMPv6 discovery). */
static void say_datapath(ctx *e, const char *by, bool matched)
{
	const ss_addr *peer = e->k->dir == SS_DIR_OUT ? &e->k->dst : &e->k->src;
	if (by && strcmp(by, "loopback") == 0)
		say(e, "%s is %s: the packet goes over loopback, which softsa never filters or secures; it "
			"passes in the clear whatever the policy says.", e->x.peer_is_local || is_loopback(peer) ? e->peer
			: "The local address", e->x.peer_is_local ? "this host's own address" : "a loopback address");
	else if (by && strcmp(by, "ike") == 0)
		say(e, "UDP port %s is IKE%s: the datapath always lets it through in the clear, before any "
			"filter, so that negotiations can happen at all; the policy does not apply to it.",
			is_ike_port(e->k->dport) ? (e->k->dport == 500 ? "500" : "4500")
						 : (e->k->sport == 500 ? "500" : "4500"),
			e->k->dport == 4500 || e->k->sport == 4500 ? " (NAT-T, and ESP in UDP)" : "");
	else if (by)
		say(e, "Inbound ESP is always accepted by the datapath and handed to softsad: it is decrypted "
			"under the SA its SPI names, or dropped and counted when there is none; filters do not apply.");
	if (by && matched)
		say(e, "(The filter above would match it, but never sees it.)");
	if (!by && e->k->proto == 58)
		say(e, "If this is IPv6 neighbour or router discovery (ICMPv6 types 133-137), the datapath "
			"lets it through in the clear whatever the policy says (without it no peer is reachable "
			"at all); other ICMPv6 follows what comes next.");
	if (e->x.sport_assumed && !by)
		say(e, "No source port given: taken as %u, an ephemeral port; a filter for another source "
			"port would need SPORT DPORT.", SS_EXPLAIN_EPHEMERAL_PORT);
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
	return ss_explain_ex(p, c, k, NULL);
}

json_t *ss_explain_ex(const ss_policy *p, const ss_classifier *c, const ss_pkt_key *k, const ss_explain_ctx *x)
{
	ss_match m;
	bool matched = ss_classify(c, k, &m);
	ctx e = { .p = p, .k = k, .lines = json_array() };
	if (x)
		e.x = *x;
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
		if (r->action->kind == SS_ACT_NEGOTIATE)
			json_object_set_new(j, "udp_encap",
				json_string(ss_udp_encap_name(ss_rule_udp_encap_always(p, r) ? SS_UDP_ENCAP_ALWAYS
												: SS_UDP_ENCAP_AUTO)));
		if (r->tunnel) {
			char t[SS_ADDR_STRLEN];
			json_object_set_new(j, "tunnel", json_string(ss_addr_fmt(&r->tunnel_endpoint, t)));
		}
	} else {
		json_object_set_new(j, "default_response", json_boolean(p->default_response));
	}
	json_object_set_new(j, "peer", json_string(e.peer));
	const char *by = bypass(&e);
	json_object_set_new(j, "datapath", json_string(by ? by : "policy"));
	say_datapath(&e, by, matched);
	if (!by)
		say_all(&e, &m, matched);
	json_object_set_new(j, "explanation", e.lines);
	return j;
}
