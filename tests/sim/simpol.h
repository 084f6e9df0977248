/* Policies for the simulator: the three built-in Windows 2000 policies and a compact inline
 * form, built as ss_policy values, plus a naive classifier over them.
 *
 * TEST DOUBLE: the naive classifier stands in for the compiled one (src/policy/classify.c,
 * another branch) until it lands; it follows the header's semantics closely enough for the
 * simulator's small policies (most specific filter wins, ties to the first). */
#ifndef SS_SIM_SIMPOL_H
#define SS_SIM_SIMPOL_H

#include <stdbool.h>

#include "agent/agent.h"
#include "policy/classify.h"
#include "policy/policy.h"

#define SIMPOL_MAX_RULES 8

typedef struct sim_policy {
	ss_policy p;
	char name[32];
	ss_rule rules[SIMPOL_MAX_RULES];
	ss_filter_list lists[SIMPOL_MAX_RULES];
	ss_filter filters[SIMPOL_MAX_RULES];
	ss_filter_action actions[SIMPOL_MAX_RULES];
	char rule_names[SIMPOL_MAX_RULES][16];
} sim_policy;

/* "client", "server", "secure-server"; NULL if unknown. */
sim_policy *simpol_builtin(const char *name);
/* An empty policy with defaults (downgrade 7 days, default retransmission, no default response). */
sim_policy *simpol_new(const char *name);
sim_policy *simpol_clone(const sim_policy *sp);
/* Option token for the policy: default-response, downgrade=S, gap=MS, floor=MS, attempts=N,
 * final=MS.  false if unknown. */
bool simpol_option(sim_policy *sp, const char *tok);
/* Adds a rule: "permit" | "block" | "negotiate"; then tokens via simpol_rule_option. */
ss_rule *simpol_add_rule(sim_policy *sp, const char *action);
/* accept, fallback, discovery, after-secured, lifetime=S, peer=PREFIX, proto=udp|tcp|icmp|N,
 * dport=N.  false if unknown. */
bool simpol_rule_option(sim_policy *sp, ss_rule *r, const char *tok);
void simpol_free(sim_policy *sp);

bool simpol_classify(const void *ctx, const ss_pkt_key *k, ss_match *out);
static inline ss_agent_policy simpol_agent_policy(const sim_policy *sp)
{
	return (ss_agent_policy){ .policy = &sp->p, .classify = simpol_classify, .ctx = sp };
}

#endif
