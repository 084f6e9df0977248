/* Reading back what the table counts.  The soft associations it holds: per element, the packets and bytes
 * that matched it (both directions) and the time left, from `nft -j list set` output.  The
 * daemon uses it to see whether a soft association is idle: its packets never reach us. */
#ifndef SS_DATAPLANE_SOFTLIST_H
#define SS_DATAPLANE_SOFTLIST_H

#include <stddef.h>

#include "dataplane/user/port.h"

/* The most time left an element's "expires" can honestly report: the element's timeout is
 * its class's soft_idle_lifetime, which the policy loader accepts up to 1 day
 * (src/policy/load_action.c).  A larger value is not a timeout softsad set; it is read as
 * this much (freshly refreshed), which never expires a live flow early, and never as
 * SS_SEC() of it, which wraps around to a few milliseconds for values near 2^64 / 1000
 * (issue 19, found by fuzz_dp_softlist). */
#define SS_SOFT_EXPIRES_MAX_S 86400

/* Appends the elements of every set in the JSON document to out (up to max); returns how
 * many, or -1 when the document is not nftables JSON.  expires_in is SS_NEVER or whole
 * seconds, at most SS_SEC(SS_SOFT_EXPIRES_MAX_S). */
int ss_nft_parse_soft_json(const char *json, ss_dp_soft_info *out, size_t max);

/* Named counters of a `nft -j list counters` document: packets[i] gets the count of the
 * counter named names[i] (untouched when absent).  -1 when the document is not nftables
 * JSON, else how many were found. */
int ss_nft_parse_counters_json(const char *json, const char *const *names, size_t n, uint64_t *packets);

#endif
