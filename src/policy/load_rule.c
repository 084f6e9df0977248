/* Rules: a filter list, a filter action, authentication methods and a tunnel endpoint,
 * in file order (which breaks ties between equally specific filters). */
#include "policy/load_int.h"

#include <stdlib.h>
#include <string.h>

static const char *const rule_keys[] = { "name", "filter_list", "filter_action", "auth", "tunnel", "tcp_mss_clamp", "dpd_delay", "udp_encap", NULL };

/* Names of the lists and actions, sorted for lookups. */
typedef struct ld_refs {
	ld_name *lists, *actions;
	size_t n_lists, n_actions;
} ld_refs;

/* Finds a named list or action; a dangling name gets a "did you mean". */
static bool ld_ref(struct ld *l, const ynode *n, const char *what, const ld_name *v, size_t count,
	size_t *idx)
{
	if (!ld_scalar(l, n, what))
		return false;
	const ld_name *hit = ld_find(v, count, n->str);
	if (hit) {
		*idx = hit->i;
		return true;
	}
	const char **names = ld_calloc(l, n, count, sizeof(*names));
	if (!names)
		return false;
	for (size_t i = 0; i < count; i++)
		names[i] = v[i].s;
	const char *near = ld_suggest(n->str, names, count);
	if (near)
		ld_fail(l, n, "unknown %s '%s' (did you mean '%s'?)", what, n->str, near);
	else
		ld_fail(l, n, "unknown %s '%s'", what, n->str);
	free(names);
	return false;
}

/* dpd_delay: a duration, or "never" (no liveness checks with these peers). */
static bool ld_dpd_delay(struct ld *l, const ynode *n, ss_rule *r, bool neg)
{
	const ynode *v = yn_get(n, "dpd_delay");
	if (!v)
		return true;
	if (!neg)
		return ld_fail(l, yn_get_key(n, "dpd_delay"),
			"dpd_delay applies only to rules whose action negotiates ('%s' is %s)", r->action->name,
			ss_action_kind_name(r->action->kind));
	if (!ld_scalar(l, v, "dpd_delay"))
		return false;
	if (strcmp(v->str, "never") == 0) {
		r->dpd_delay = SS_DPD_NEVER;
		return true;
	}
	return ld_duration(l, v, "dpd_delay", 1, 86400, &r->dpd_delay);
}

static bool ld_rule(struct ld *l, const ynode *n, ss_rule *r, const ld_refs *refs)
{
	ss_policy *p = l->p;
	if (!ld_map(l, n, "rule", rule_keys))
		return false;
	r->loc = (ss_srcloc){ n->line, n->col };
	const ynode *name = yn_get(n, "name"), *fl = yn_get(n, "filter_list"),
		*fa = yn_get(n, "filter_action"), *auth = yn_get(n, "auth"), *tun = yn_get(n, "tunnel");
	if (!name)
		return ld_fail(l, n, "rule needs a name");
	if (!ld_scalar(l, name, "name") || !(r->name = ld_strdup(l, name, name->str)))
		return false;
	if (!fl)
		return ld_fail(l, n, "rule '%s' needs a filter_list", r->name);
	if (!fa)
		return ld_fail(l, n, "rule '%s' needs a filter_action", r->name);
	size_t li, ai;
	if (!ld_ref(l, fl, "filter list", refs->lists, refs->n_lists, &li) ||
		!ld_ref(l, fa, "filter action", refs->actions, refs->n_actions, &ai))
		return false;
	r->list = &p->lists[li];
	r->action = &p->actions[ai];
	bool neg = r->action->kind == SS_ACT_NEGOTIATE;
	if (!neg && (auth || tun))
		return ld_fail(l, yn_get_key(n, auth ? "auth" : "tunnel"),
			"%s applies only to rules whose action negotiates ('%s' is %s)", auth ? "auth" : "tunnel",
			r->action->name, ss_action_kind_name(r->action->kind));
	if (tun) {
		if (!ld_scalar(l, tun, "tunnel"))
			return false;
		if (!ss_addr_parse(tun->str, &r->tunnel_endpoint))
			return ld_fail(l, tun, "tunnel must be the IP address of the tunnel endpoint, got '%s'",
				tun->str);
		r->tunnel = true;
	}
	const ynode *mss = yn_get(n, "tcp_mss_clamp");
	if (mss) {
		/* Only a gateway's forwarded TCP needs it: the host's own is clamped to the TUN
		 * always (doc/policy.md, Tunnel rules). */
		if (!tun)
			return ld_fail(l, yn_get_key(n, "tcp_mss_clamp"), "tcp_mss_clamp applies only to tunnel rules");
		uint64_t v;
		/* 536: the smallest MSS every IPv4 host must accept (RFC 9293 §3.7.1). */
		if (!ld_uint(l, mss, "tcp_mss_clamp", 536, 65495, &v))
			return false;
		r->tcp_mss_clamp = (uint16_t)v;
	}
	if (!ld_dpd_delay(l, n, r, neg))
		return false;
	const ynode *ue = yn_get(n, "udp_encap");
	if (ue && !neg)
		return ld_fail(l, yn_get_key(n, "udp_encap"),
			"udp_encap applies only to rules whose action negotiates ('%s' is %s)", r->action->name,
			ss_action_kind_name(r->action->kind));
	if (ue && !ld_udp_encap(l, ue, &r->udp_encap))
		return false;
	if (auth)
		return ld_auth_list(l, auth, &r->auth, &r->n_auth);
	if (neg && !p->n_auth)
		return ld_fail(l, n, "rule '%s' negotiates but has no auth (give auth here, or auth or psk_file at top level)",
			r->name);
	return !neg || ld_auth_copy(l, n, p->auth, p->n_auth, &r->auth, &r->n_auth);
}

static ld_name *sorted_names(struct ld *l, const ynode *at, size_t n, const char *(*name)(const ss_policy *, size_t))
{
	ld_name *v = ld_calloc(l, at, n, sizeof(*v));
	for (size_t i = 0; v && i < n; i++)
		v[i] = (ld_name){ name(l->p, i), i, at };
	/* Names are unique already (checked with their maps): this only sorts. */
	if (v)
		ld_unique(l, v, n, "");
	return v;
}

static const char *list_name(const ss_policy *p, size_t i) { return p->lists[i].name; }
static const char *action_name(const ss_policy *p, size_t i) { return p->actions[i].name; }

bool ld_rules(struct ld *l, const ynode *n)
{
	ss_policy *p = l->p;
	if (!ld_seq(l, n, "rules"))
		return false;
	ld_refs r = { .n_lists = p->n_lists, .n_actions = p->n_actions };
	r.lists = sorted_names(l, n, p->n_lists, list_name);
	r.actions = sorted_names(l, n, p->n_actions, action_name);
	bool ok = r.lists && r.actions;
	if (ok)
		ok = (p->rules = ld_calloc(l, n, n->n, sizeof(*p->rules))) != NULL;
	for (size_t i = 0; ok && i < n->n; i++) {
		p->n_rules++; /* counted first so that a failure frees what was read */
		ok = ld_rule(l, n->items[i], &p->rules[i], &r);
	}
	free(r.lists);
	free(r.actions);
	/* One rule per tunnel endpoint: the gateways' pair is one association and one CHILD SA,
	 * negotiated with the selectors of one rule (a second rule's networks would be captured
	 * but never carried). */
	for (size_t i = 0; ok && i < p->n_rules; i++)
		for (size_t j = 0; ok && j < i && p->rules[i].tunnel; j++)
			if (p->rules[j].tunnel && ss_addr_eq(&p->rules[j].tunnel_endpoint, &p->rules[i].tunnel_endpoint))
				ok = ld_fail(l, yn_get(n->items[i], "tunnel"),
					"rule '%s' tunnels to the same endpoint as rule '%s' (line %u): one rule per "
					"tunnel endpoint; put all its networks in that rule's filter list",
					p->rules[i].name, p->rules[j].name, p->rules[j].loc.line);
	/* Rule names are unique; checked once all are read, in O(n log n). */
	ld_name *names = ok ? ld_calloc(l, n, p->n_rules, sizeof(*names)) : NULL;
	for (size_t i = 0; names && i < p->n_rules; i++)
		names[i] = (ld_name){ p->rules[i].name, i, yn_get(n->items[i], "name") };
	if (names)
		ok = ld_unique(l, names, p->n_rules, "rule");
	else
		ok = false;
	free(names);
	return ok;
}
