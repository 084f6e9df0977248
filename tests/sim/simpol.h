/* Policies for the simulator: the three built-in Windows 2000 policies (loaded by the real
 * loader, src/policy/builtin.c), a policy file (YAML, real loader), or a compact inline
 * form built here as an ss_policy value.  The agent gets them with the real compiled classifier
 * (simpol_agent_policy); simpol_classify is an independent naive matcher (a test oracle)
 * that the simulator uses to check rule 8 on every clear packet, so that the check does
 * not share a bug with the code it checks. */
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
	ss_classifier *cls; /* built on first use; add no rules after that */
	ss_policy *loaded;  /* built-in or file: the loader's policy (then p is unused) */
	char source[256];   /* built-in name or file path, to load a copy */
	bool is_file;
} sim_policy;

/* "client", "server", "secure-server" through the real loader; NULL if unknown. */
sim_policy *simpol_builtin(const char *name);
/* A YAML policy file through the real loader (key files not read); NULL with a message. */
sim_policy *simpol_file(const char *path);
/* The model the agent sees. */
ss_policy *simpol_model(sim_policy *sp);
/* An empty policy with defaults (downgrade 7 days, default retransmission, no default response). */
sim_policy *simpol_new(const char *name);
sim_policy *simpol_clone(const sim_policy *sp);
/* Inline policies only.  Option token for the policy: default-response, downgrade=S, gap=MS, floor=MS, attempts=N,
 * final=MS.  false if unknown. */
bool simpol_option(sim_policy *sp, const char *tok);
/* Adds a rule: "permit" | "block" | "negotiate"; then tokens via simpol_rule_option. */
ss_rule *simpol_add_rule(sim_policy *sp, const char *action);
/* accept, fallback, discovery, after-secured, lifetime=S, peer=PREFIX, proto=udp|tcp|icmp|N,
 * dport=N.  false if unknown. */
bool simpol_rule_option(sim_policy *sp, ss_rule *r, const char *tok);
void simpol_free(sim_policy *sp);

bool simpol_classify(const void *ctx, const ss_pkt_key *k, ss_match *out);
/* The policy with its compiled classifier, for ss_agent_new/ss_agent_reload. */
ss_agent_policy simpol_agent_policy(sim_policy *sp);

#endif
