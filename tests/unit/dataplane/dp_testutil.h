/* Helpers the dataplane's unit tests share: a prefix from its text, and whether generated
 * nftables text holds a line (printing the whole text when it does not, so a failure shows what
 * was generated).  Include after <cmocka.h>. */
#ifndef SS_TEST_DP_TESTUTIL_H
#define SS_TEST_DP_TESTUTIL_H

#include <stdbool.h>
#include <string.h>

#include "base/addr.h"
#include "dataplane/user/ruleset.h" /* ss_sb */

static inline ss_prefix pfx(const char *t)
{
	ss_prefix p;
	const char *why;
	assert_true(ss_prefix_parse(t, &p, false, &why));
	return p;
}

static inline bool has(const ss_sb *s, const char *needle)
{
	if (!s->p || !strstr(s->p, needle)) {
		print_message("missing: %s\nin:\n%s\n", needle, s->p ? s->p : "(empty)");
		return false;
	}
	return true;
}

#endif
