/* The nftables text for the table `inet softsa`, built as pure functions so that unit tests
 * read it without a kernel.  The layout is explained in doc/dataplane.md. */
#ifndef SS_DATAPLANE_RULESET_H
#define SS_DATAPLANE_RULESET_H

#include <stddef.h>

#include "dataplane/user/port.h"
#include "dataplane/user/user.h"

/* A growable string; on allocation failure err is set and appends do nothing. */
typedef struct ss_sb {
	char *p;
	size_t len, cap;
	bool err;
} ss_sb;

void ss_sb_printf(ss_sb *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ss_sb_free(ss_sb *s);

/* Deletes the table if it exists (valid whether or not it does). */
void ss_nft_delete_table(ss_sb *s);
/* Flushes any leftover table and creates the whole table, with no filters and empty sets. */
void ss_nft_table(ss_sb *s, const ss_dp_user_config *cfg);
/* Replaces the filter rules; returns false (and writes nothing) for a filter it refuses:
 * mixed families, or ports without a protocol that has ports. */
bool ss_nft_filters(ss_sb *s, const ss_dp_filter *f, size_t n, const char **why);
/* Moves peer into the set for st (out of all others); timeout for SOFT only. */
bool ss_nft_peer(ss_sb *s, const ss_addr *peer, enum ss_dp_peer_state st, ss_time timeout);

#endif
