/* Freeing a policy and naming its enums. */
#include <stdlib.h>

#include "base/secure.h"
#include "policy/policy.h"

static void free_auth(ss_auth_method *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		ss_free_secret(a[i].secret, a[i].secret_len);
		free(a[i].local_id.value);
		free(a[i].remote_id.value);
	}
	free(a);
}

void ss_policy_free(ss_policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_lists; i++) {
		ss_filter_list *l = &p->lists[i];
		for (size_t j = 0; j < l->n_filters; j++)
			free(l->filters[j].description);
		free(l->filters);
		free(l->name);
	}
	free(p->lists);
	for (size_t i = 0; i < p->n_actions; i++) {
		free(p->actions[i].name);
		free(p->actions[i].methods);
	}
	free(p->actions);
	for (size_t i = 0; i < p->n_rules; i++) {
		free(p->rules[i].name);
		free_auth(p->rules[i].auth, p->rules[i].n_auth);
	}
	free(p->rules);
	free_auth(p->default_response_auth, p->n_default_response_auth);
	free(p->ike.proposals);
	free(p->name);
	free(p->description);
	free(p);
}

const char *ss_action_kind_name(unsigned kind)
{
	static const char *const names[] = {
		[SS_ACT_PERMIT] = "permit",
		[SS_ACT_BLOCK] = "block",
		[SS_ACT_NEGOTIATE] = "negotiate",
	};
	return kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "?";
}
