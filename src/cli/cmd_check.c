/* softsa check: validate a policy and print its filters in effective order. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "policy/overrides.h"

typedef ss_ranked ranked;

/* "line 12", or "built-in" for what a built-in policy brought. */
static const char *at(unsigned line, char buf[24])
{
	if (line)
		snprintf(buf, 24, "line %u", line);
	else
		snprintf(buf, 24, "built-in");
	return buf;
}

static void note(json_t *notes, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(json_t *notes, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json_array_append_new(notes, json_string(buf));
}

/* Lists and actions no rule uses are legal (Windows keeps them too) but worth a note. */
static void note_unused(const ss_policy *p, json_t *notes)
{
	for (size_t i = 0; i < p->n_lists; i++) {
		bool used = false;
		for (size_t j = 0; j < p->n_rules && !used; j++)
			used = p->rules[j].list == &p->lists[i];
		if (!used)
			note(notes, "filter list '%s' (%s) is not used by any rule", p->lists[i].name,
				at(p->lists[i].loc.line, (char[24]){ 0 }));
	}
	for (size_t i = 0; i < p->n_actions; i++) {
		bool used = false;
		for (size_t j = 0; j < p->n_rules && !used; j++)
			used = p->rules[j].action == &p->actions[i];
		if (!used)
			note(notes, "filter action '%s' (%s) is not used by any rule", p->actions[i].name,
				at(p->actions[i].loc.line, (char[24]){ 0 }));
	}
}

static const ss_filter *filter_of(const ranked *r)
{
	return ss_ranked_filter(r);
}

static int ep_cmp(const ss_endpoint *a, const ss_endpoint *b)
{
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	if (a->kind != SS_EP_PREFIX)
		return 0;
	if (a->prefix.len != b->prefix.len)
		return a->prefix.len < b->prefix.len ? -1 : 1;
	return ss_addr_cmp(&a->prefix.addr, &b->prefix.addr);
}

/* Same packets (one way): endpoints, protocol, ports. */
static int same_cmp(const ss_filter *a, const ss_filter *b)
{
	int c = ep_cmp(&a->src, &b->src);
	if (!c)
		c = ep_cmp(&a->dst, &b->dst);
	if (!c && a->proto != b->proto)
		c = a->proto < b->proto ? -1 : 1;
	if (!c)
		c = memcmp(&a->sport, &b->sport, sizeof(a->sport));
	if (!c)
		c = memcmp(&a->dport, &b->dport, sizeof(a->dport));
	return c;
}

/* Sorts pointers into the effective order by filter, then by position in that order. */
static int by_filter(const void *x, const void *y)
{
	const ranked *a = *(const ranked *const *)x, *b = *(const ranked *const *)y;
	int c = same_cmp(filter_of(a), filter_of(b));
	return c ? c : (a < b ? -1 : a > b);
}

/* A filter written again (in the same or another rule) never applies: the copy first in
 * effective order takes its packets.  Its mirror still may, when only the later one is
 * mirrored. */
static void note_shadowed(const ranked *r, size_t n, json_t *notes)
{
	const ranked **v = calloc(n ? n : 1, sizeof(*v));
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		v[i] = &r[i];
	qsort(v, n, sizeof(*v), by_filter);
	for (size_t i = 1; i < n; i++) {
		size_t first = i - 1;
		while (first > 0 && same_cmp(filter_of(v[first - 1]), filter_of(v[i])) == 0)
			first--;
		if (same_cmp(filter_of(v[first]), filter_of(v[i])) != 0)
			continue;
		const ss_filter *a = filter_of(v[first]), *b = filter_of(v[i]);
		if (b->mirrored && !a->mirrored)
			continue;
		char la[24], lb[24];
		note(notes, "filter %zu (rule '%s', %s) never applies: filter %zu (rule '%s', %s) "
			"matches the same packets first", (size_t)(v[i] - r) + 1, v[i]->rule->name, at(b->loc.line, lb),
			(size_t)(v[first] - r) + 1, v[first]->rule->name, at(a->loc.line, la));
	}
	free(v);
}

/* "filter 3 'me <-> any udp dport 53' (rule 'dns', line 12) -> permit 'allow'" */
static const char *who(const ranked *r, size_t i, char *buf, size_t len)
{
	char fb[200], ab[48], where[24];
	const ss_filter_action *a = r[i].rule->action;
	if (a->kind == SS_ACT_NEGOTIATE)
		snprintf(ab, sizeof(ab), "negotiate '%s'", a->name);
	else
		snprintf(ab, sizeof(ab), "%s", ss_action_kind_name(a->kind));
	snprintf(buf, len, "filter %zu '%s' (rule '%s', %s) -> %s", i + 1, ss_filter_fmt(ss_ranked_filter(&r[i]), fb,
		sizeof(fb)), r[i].rule->name, at(ss_ranked_filter(&r[i])->loc.line, where), ab);
	return buf;
}

static void override_text(const ranked *r, const ss_override *o, char *out, size_t len)
{
	char lose[400], win[400], t[200], add[200];
	who(r, o->loser, lose, sizeof(lose));
	who(r, o->winner, win, sizeof(win));
	ss_filter_fmt(&o->traffic, t, sizeof(t));
	ss_filter_fmt(&o->add, add, sizeof(add));
	const char *kind = ss_action_kind_name(r[o->loser].rule->action->kind);
	switch (o->kind) {
	case SS_OV_PARTIAL:
		snprintf(out, len, "%s loses %s to the more specific %s (most specific first); for %s there, "
			"add the filter '%s' to list '%s'", lose, t, win, kind, add, r[o->loser].rule->list->name);
		break;
	case SS_OV_WHOLE:
		snprintf(out, len, "%s never applies to %s: %s, as specific and written first, takes it; "
			"put rule '%s' first in the file or make its filter more specific", lose, t, win,
			r[o->loser].rule->name);
		break;
	case SS_OV_NESTED:
		snprintf(out, len, "%s gives way to %s for %s (an exception written inside it)", lose, win, t);
		break;
	default:
		snprintf(out, len, "%s, but its replies %s go to %s: one direction and its replies are treated "
			"differently; make the filter mirrored, or give both the same kind of action", lose, t, win);
	}
}

static const char *const ov_kinds[] = { "partial", "whole", "nested", "mirror" };

/* A soft association with a tunnel endpoint (doc/policy.md, Tunnel rules) routes the
 * networks' traffic in the clear, across whatever lies between the gateways: worth saying
 * each time, since a tunnel is usually there because that path is not trusted. */
static void tunnel_fallback_warnings(const ss_policy *p, json_t *w)
{
	for (size_t i = 0; i < p->n_rules; i++) {
		const ss_rule *r = &p->rules[i];
		if (!r->tunnel || !r->action || !r->action->fallback_to_clear)
			continue;
		char a[SS_ADDR_STRLEN], msg[600];
		snprintf(msg, sizeof msg,
			"rule '%s' (line %u) tunnels to %s with fallback_to_clear: when that gateway never answers "
			"IKE, the traffic between its networks is routed in the clear (across the path between the "
			"gateways) for soft_idle_lifetime; remove fallback_to_clear to block it instead",
			r->name, r->loc.line, ss_addr_fmt(&r->tunnel_endpoint, a));
		json_array_append_new(w, json_pack("{s:s, s:s, s:s, s:s}", "kind", "tunnel-fallback", "filter_rule",
						   r->name, "tunnel", a, "message", msg));
	}
}

/* Warnings as JSON objects; nested exceptions become notes. */
static json_t *warnings_of(const ss_policy *p, const ranked *r, size_t n, json_t *notes)
{
	json_t *w = json_array();
	size_t no = 0;
	ss_override *ov = ss_policy_overrides(p, r, n, &no);
	for (size_t i = 0; i < no; i++) {
		char msg[1400], t[200], add[200];
		override_text(r, &ov[i], msg, sizeof(msg));
		if (ov[i].kind == SS_OV_NESTED) {
			json_array_append_new(notes, json_string(msg));
			continue;
		}
		json_t *e = json_pack("{s:s, s:s, s:i, s:s, s:i, s:s, s:s}", "kind", ov_kinds[ov[i].kind], "filter_rule",
			r[ov[i].loser].rule->name, "filter", (int)ov[i].loser + 1, "winner_rule", r[ov[i].winner].rule->name,
			"winner", (int)ov[i].winner + 1, "traffic", ss_filter_fmt(&ov[i].traffic, t, sizeof(t)), "message", msg);
		if (ov[i].kind == SS_OV_PARTIAL)
			json_object_set_new(e, "add", json_pack("{s:s, s:s}", "filter_list", r[ov[i].loser].rule->list->name,
				"filter", ss_filter_fmt(&ov[i].add, add, sizeof(add))));
		json_array_append_new(w, e);
	}
	free(ov);
	tunnel_fallback_warnings(p, w);
	return w;
}

/* The kernel dataplane carries a tunnel only with its networks in the endpoint's family
 * (src/dataplane/xfrm/README.md): softsad refuses the policy there, so say it here first. */
static void note_tunnel_families(const ss_policy *p, json_t *notes)
{
	for (size_t i = 0; i < p->n_rules; i++) {
		const ss_rule *r = &p->rules[i];
		for (size_t k = 0; r->tunnel && r->list && k < r->list->n_filters; k++) {
			const ss_filter *f = &r->list->filters[k];
			if (f->src.kind != SS_EP_PREFIX || f->src.prefix.addr.family == r->tunnel_endpoint.family)
				continue;
			char a[SS_ADDR_STRLEN];
			note(notes, "rule '%s' (line %u) carries IPv%d networks inside its IPv%d tunnel to %s: "
			     "the userspace dataplane only (softsad --dataplane kernel refuses the policy)",
			     r->name, r->loc.line, f->src.prefix.addr.family == SS_AF_INET ? 4 : 6,
			     r->tunnel_endpoint.family == SS_AF_INET ? 4 : 6, ss_addr_fmt(&r->tunnel_endpoint, a));
			break;
		}
	}
}

static json_t *notes_of(const ss_policy *p, const ranked *r, size_t n)
{
	json_t *notes = json_array();
	note_unused(p, notes);
	note_shadowed(r, n, notes);
	note_tunnel_families(p, notes);
	return notes;
}

static void print_text(const ss_policy *p, const ranked *r, size_t n, json_t *notes, json_t *warns)
{
	printf("policy '%s' (%s): valid\n", p->name, p->source);
	if (p->description)
		printf("  %s\n", p->description);
	printf("\nFilters in effective order (most specific first):\n");
	if (!n)
		printf("  (none: no rule has filters)\n");
	for (size_t i = 0; i < n; i++) {
		const ss_filter *f = &r[i].rule->list->filters[r[i].filter_idx];
		char fb[200], ab[400];
		char where[24];
		printf("  %2zu. %-44s rule '%s' (list '%s' #%zu, %s) -> %s\n", i + 1,
			ss_filter_fmt(f, fb, sizeof(fb)), r[i].rule->name, r[i].rule->list->name,
			r[i].filter_idx + 1, at(f->loc.line, where), ss_action_fmt(r[i].rule->action, ab, sizeof(ab)));
	}
	printf("  %2zu. %-44s %s\n", n + 1, "anything else",
		p->default_response ? "permit in the clear; Default Response answers IKE, never initiates"
				    : "permit in the clear; IKE from unknown peers is not answered");
	for (size_t i = 0; i < p->n_rules; i++)
		if (p->rules[i].tunnel) {
			char a[SS_ADDR_STRLEN];
			printf("  rule '%s' uses tunnel mode to %s\n", p->rules[i].name,
				ss_addr_fmt(&p->rules[i].tunnel_endpoint, a));
		}
	for (size_t i = 0; i < p->n_rules; i++)
		if (p->rules[i].action->kind == SS_ACT_NEGOTIATE && ss_rule_udp_encap_always(p, &p->rules[i]))
			printf("  rule '%s' sends ESP in UDP 4500 always (udp_encap: always)\n", p->rules[i].name);
	for (size_t i = 0; i < json_array_size(notes); i++)
		printf("  note: %s\n", json_string_value(json_array_get(notes, i)));
	for (size_t i = 0; i < json_array_size(warns); i++)
		printf("  warning: %s\n", json_string_value(json_object_get(json_array_get(warns, i), "message")));
	printf("\nIKE: ");
	for (size_t i = 0; i < p->ike.n_proposals; i++) {
		char b[64];
		printf("%s%s", i ? ", " : "", ss_ike_method_fmt(&p->ike.proposals[i], b, sizeof(b)));
	}
	printf("; lifetime %u s; %u attempts, a silent peer is decided after %.1f s\n", p->ike.lifetime,
		p->ike.retx.attempts, ss_retx_silent_decision(&p->ike.retx) / 1000.0);
	printf("Downgrade protection: %u s (%.1f days)\n", p->downgrade_protection,
		p->downgrade_protection / 86400.0);
}

static json_t *to_json(const ss_policy *p, const ranked *r, size_t n, json_t *notes, json_t *warns)
{
	json_t *order = json_array();
	for (size_t i = 0; i < n; i++) {
		const ss_filter *f = &r[i].rule->list->filters[r[i].filter_idx];
		json_t *e = json_pack("{s:s, s:s, s:i, s:o, s:o}", "rule", r[i].rule->name, "filter_list",
			r[i].rule->list->name, "filter_index", (int)r[i].filter_idx + 1, "filter", ss_filter_json(f),
			"action", ss_action_json(r[i].rule->action));
		json_object_set_new(e, "weight", json_pack("{s:i, s:i, s:I}", "addr", r[i].w.addr, "proto",
			r[i].w.proto, "ports", (json_int_t)r[i].w.ports));
		if (r[i].rule->tunnel) {
			char a[SS_ADDR_STRLEN];
			json_object_set_new(e, "tunnel", json_string(ss_addr_fmt(&r[i].rule->tunnel_endpoint, a)));
		}
		json_array_append_new(order, e);
	}
	json_t *ike = json_array();
	for (size_t i = 0; i < p->ike.n_proposals; i++) {
		char b[64];
		json_array_append_new(ike, json_string(ss_ike_method_fmt(&p->ike.proposals[i], b, sizeof(b))));
	}
	json_t *j = json_pack("{s:b, s:s, s:s, s:o, s:b}", "valid", 1, "name", p->name, "source", p->source,
		"rules", order, "default_response", p->default_response);
	if (p->builtin)
		json_object_set_new(j, "builtin", json_string(p->builtin));
	json_object_set_new(j, "ike", json_pack("{s:o, s:i, s:i, s:I, s:s}", "proposals", ike, "lifetime",
		p->ike.lifetime, "attempts", p->ike.retx.attempts, "silent_decision_ms", (json_int_t)ss_retx_silent_decision(&p->ike.retx),
		"udp_encap", ss_udp_encap_name(p->ike.udp_encap)));
	json_object_set_new(j, "downgrade_protection", json_integer(p->downgrade_protection));
	json_object_set(j, "notes", notes);
	json_object_set(j, "warnings", warns);
	return j;
}

int cmd_check(const cli_cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = { CLI_SOURCE_OPTS, { "strict", no_argument, NULL, 'S' }, { 0, 0, 0, 0 } };
	cli_source src = { 0 };
	bool strict = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "hj", opts, NULL)) != -1) {
		if (c == 'h') {
			cli_usage(cmd, stdout);
			fputs("\n", stdout);
			fputs(cmd->help, stdout);
			return CLI_OK;
		}
		if (c == 'S')
			strict = true;
		else if (!cli_source_opt(&src, c, optarg))
			return cli_usage_error(cmd, "bad option");
	}
	int rest = argc - optind;
	if (src.builtin ? rest != 0 : rest != 1)
		return cli_usage_error(cmd, src.builtin ? "a FILE and --builtin do not go together"
							: "expected one policy FILE (or --builtin NAME)");
	src.file = src.builtin ? NULL : argv[optind];
	ss_policy *p = cli_load(&src);
	if (!p)
		return CLI_FAIL;
	size_t n = 0;
	ranked *r = ss_policy_rank(p, &n);
	if (!r) {
		fprintf(stderr, "softsa check: out of memory\n");
		ss_policy_free(p);
		return CLI_FAIL;
	}
	json_t *notes = notes_of(p, r, n), *certs = NULL;
	if (!cli_check_certs(p, src.json, &certs)) {
		json_decref(notes);
		free(r);
		ss_policy_free(p);
		return CLI_FAIL;
	}
	json_t *warns = warnings_of(p, r, n, notes);
	size_t nw = json_array_size(warns);
	if (src.json) {
		json_t *j = to_json(p, r, n, notes, warns);
		json_object_set(j, "certificates", certs);
		cli_print_json(j);
	} else {
		print_text(p, r, n, notes, warns);
		cli_print_certs(certs);
	}
	json_decref(certs);
	if (strict && nw)
		fprintf(stderr, "softsa check: %zu warning%s (--strict makes them errors)\n", nw, nw == 1 ? "" : "s");
	json_decref(notes);
	json_decref(warns);
	free(r);
	ss_policy_free(p);
	return strict && nw ? CLI_FAIL : CLI_OK;
}
