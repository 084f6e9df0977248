/* Where "most specific filter wins" (doc/policy.md, Ordering) gives a filter's traffic to
 * another filter with another action, for `softsa check`: the filters in effective order, and
 * the overrides an administrator should be told about.  Pure functions over a loaded policy.
 *
 * A filter stands for one or two one-way traffic sets ("instances"): as written, and reversed
 * when mirrored.  Instance b of filter B overrides instance a of filter A on a ∩ b when B
 * comes first in effective order and their actions differ:
 *   partial  neither contains the other: the surprise (a permit for DNS everywhere loses to a
 *            negotiate rule for a /16 on the DNS servers in it); a warning.
 *   whole    b contains a: A never applies there; a warning.
 *   nested   a contains b: B is an exception written inside A, the way Windows means
 *            exceptions to be written; a note only.
 * A mirror conflict: two filters one of which carries the other's replies (a one-way filter
 * and the reverse of another) with actions of different kinds, so that packets one way and
 * their replies are treated differently (permitted out, replies blocked); a warning.
 * `me` is the local address: statically it meets `any` and `me`, never a prefix (which
 * addresses the host has is not known here). */
#ifndef SS_POLICY_OVERRIDES_H
#define SS_POLICY_OVERRIDES_H

#include <stddef.h>

#include "policy/policy.h"

/* One filter in effective order: most specific first, ties in file order (rule, filter). */
typedef struct ss_ranked {
	const ss_rule *rule;
	size_t rule_idx, filter_idx;
	ss_weight w;
} ss_ranked;

/* The policy's filters in effective order (malloc'd, *n entries; NULL on no memory). */
ss_ranked *ss_policy_rank(const ss_policy *p, size_t *n);
const ss_filter *ss_ranked_filter(const ss_ranked *r);

enum ss_override_kind { SS_OV_PARTIAL, SS_OV_WHOLE, SS_OV_NESTED, SS_OV_MIRROR };

typedef struct ss_override {
	uint8_t kind;          /* enum ss_override_kind */
	size_t loser, winner;  /* positions in the ranked array (for a mirror conflict: the filter
				* whose replies the other takes, and the other) */
	ss_filter traffic;     /* the one-way traffic concerned (mirror: the replies) */
	ss_filter add;         /* partial/whole: the filter to add to the loser's list for the
				* loser's action there (it is more specific than the winner) */
} ss_override;

/* Every override and mirror conflict, in the loser's effective order (malloc'd; *n entries;
 * NULL with *n 0 when there are none or no memory). */
ss_override *ss_policy_overrides(const ss_policy *p, const ss_ranked *r, size_t n, size_t *n_out);
/* "warning" for partial, whole and mirror; "note" for nested. */
const char *ss_override_severity(const ss_override *o);

#endif
