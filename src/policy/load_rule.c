/* Rules: a filter list, a filter action, authentication methods and a tunnel endpoint,
 * in file order (which breaks ties between equally specific filters). */
#include "policy/load_int.h"

#include <stdlib.h>
#include <string.h>

static const char *const rule_keys[] = { "name", "filter_list", "filter_action", "auth", "tunnel", NULL };

/* Finds a named list or action; a dangling name gets a "did you mean". */
static bool ld_ref(struct ld *l, const ynode *n, const char *what, const char *const *names, size_t count,
	size_t *idx)
{
	if (!ld_scalar(l, n, what))
		return false;
	for (size_t i = 0; i < count; i++)
		if (strcmp(names[i], n->str) == 0) {
			*idx = i;
			return true;
		}
	const char *near = ld_suggest(n->str, names, count);
	if (near)
		return ld_fail(l, n, "unknown %s '%s' (did you mean '%s'?)", what, n->str, near);
	return ld_fail(l, n, "unknown %s '%s'", what, n->str);
}

static bool ld_rule(struct ld *l, const ynode *n, ss_rule *r, const char **list_names,
	const char **action_names)
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
	for (ss_rule *o = p->rules; o < r; o++)
		if (strcmp(o->name, r->name) == 0)
			return ld_fail(l, name, "duplicate rule name '%s' (first at line %u)", r->name, o->loc.line);
	if (!fl)
		return ld_fail(l, n, "rule '%s' needs a filter_list", r->name);
	if (!fa)
		return ld_fail(l, n, "rule '%s' needs a filter_action", r->name);
	size_t li, ai;
	if (!ld_ref(l, fl, "filter list", list_names, p->n_lists, &li) ||
		!ld_ref(l, fa, "filter action", action_names, p->n_actions, &ai))
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
	if (auth)
		return ld_auth_list(l, auth, &r->auth, &r->n_auth);
	if (neg && !p->n_auth)
		return ld_fail(l, n, "rule '%s' negotiates but has no auth (give auth here, or auth or psk_file at top level)",
			r->name);
	return !neg || ld_auth_copy(l, n, p->auth, p->n_auth, &r->auth, &r->n_auth);
}

bool ld_rules(struct ld *l, const ynode *n)
{
	ss_policy *p = l->p;
	if (!ld_seq(l, n, "rules"))
		return false;
	const char **ln = ld_calloc(l, n, p->n_lists, sizeof(*ln));
	const char **an = ld_calloc(l, n, p->n_actions, sizeof(*an));
	bool ok = ln && an;
	for (size_t i = 0; ok && i < p->n_lists; i++)
		ln[i] = p->lists[i].name;
	for (size_t i = 0; ok && i < p->n_actions; i++)
		an[i] = p->actions[i].name;
	if (ok)
		ok = (p->rules = ld_calloc(l, n, n->n, sizeof(*p->rules))) != NULL;
	for (size_t i = 0; ok && i < n->n; i++) {
		p->n_rules++; /* counted first so that a failure frees what was read */
		ok = ld_rule(l, n->items[i], &p->rules[i], ln, an);
	}
	free(ln);
	free(an);
	return ok;
}
