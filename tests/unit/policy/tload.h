/* Loader test support: load YAML text with a fake resolver (no network in tests). */
#ifndef SS_TESTS_TLOAD_H
#define SS_TESTS_TLOAD_H

#include "policy/load.h"

/* multi.test: 192.0.2.1, 192.0.2.2, 2001:db8::1; v4.test: 198.51.100.7; v6.test: 2001:db8::7;
 * anything else fails with "no such name (fake resolver)". */
size_t tl_resolve(void *ctx, const char *name, ss_addr *out, size_t max, const char **why);
ss_load_opts tl_opts(const char *base_dir);
/* Loads text as "t.yaml"; err may be NULL (then a failure aborts the test with the message). */
ss_policy *tl_load(const char *text, ss_load_error *err);

#endif
