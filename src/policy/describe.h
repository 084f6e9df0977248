/* Policy elements in words and in JSON: one wording for `softsa check`, `softsa explain` and
 * the daemon's control socket (doc/control.md). */
#ifndef SS_POLICY_DESCRIBE_H
#define SS_POLICY_DESCRIBE_H

#include <stddef.h>

#include <jansson.h>

#include "policy/policy.h"

/* "me", "any", "192.0.2.7", "10.0.0.0/8". */
const char *ss_endpoint_fmt(const ss_endpoint *e, char *buf, size_t n);
/* "me <-> 192.0.2.0/24 tcp dport 80" (<-> mirrored, -> one way). */
const char *ss_filter_fmt(const ss_filter *f, char *buf, size_t n);
/* {"src","dst","proto","mirrored","line","col","src_port":[lo,hi],"dst_port":[lo,hi],"text"}. */
json_t *ss_filter_json(const ss_filter *f);
/* {"name","action"} plus, for negotiate, methods, pfs and the soft-association switches. */
json_t *ss_action_json(const ss_filter_action *a);
/* "negotiate 'secure' (aes256gcm16, aes128gcm16; pfs ecp256; accept unsecured; ...)". */
const char *ss_action_fmt(const ss_filter_action *a, char *buf, size_t n);

#endif
