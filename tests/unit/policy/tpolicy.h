/* Test support for the classifier: policies built in code (no loader needed) and the naive
 * "most specific match" oracle the compiled classifier is compared against. */
#ifndef SS_TESTS_TPOLICY_H
#define SS_TESTS_TPOLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "policy/classify.h"
#include "policy/policy.h"

/* A policy whose arrays have room for that many lists, actions and rules (pointers into
 * them stay valid while it grows).  Aborts on allocation failure: tests only. */
ss_policy *tp_new(size_t max_lists, size_t max_actions, size_t max_rules);
ss_filter_list *tp_list(ss_policy *p, const char *name);
ss_filter_action *tp_action(ss_policy *p, const char *name, enum ss_action_kind kind);
ss_rule *tp_rule(ss_policy *p, const char *name, const ss_filter_list *l, const ss_filter_action *a);
/* Appends a filter; returns its index in the list.  Ports 0..65535 when not narrowed. */
size_t tp_filter(ss_filter_list *l, ss_endpoint src, ss_endpoint dst, int proto, bool mirrored);
ss_filter *tp_last(ss_filter_list *l);

ss_endpoint tp_any(void);
ss_endpoint tp_me(void);
/* "10.0.0.0/8", "2001:db8::1"; aborts if it does not parse. */
ss_endpoint tp_pfx(const char *s);
ss_addr tp_addr(const char *s);

ss_pkt_key tp_key(enum ss_dir dir, const char *src, const char *dst, uint8_t proto,
		  uint16_t sport, uint16_t dport);

/* The oracle: a straightforward scan of every rule, filter and mirror. */
bool tp_oracle(const ss_policy *p, const ss_pkt_key *k, ss_match *out);

/* Small deterministic generator (xorshift64*). */
typedef struct tp_rng {
	uint64_t s;
} tp_rng;
uint64_t tp_next(tp_rng *r);
static inline uint32_t tp_below(tp_rng *r, uint32_t n) { return (uint32_t)(tp_next(r) % n); }

#endif
