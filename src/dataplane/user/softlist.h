/* Reading back the soft associations the table holds: per element, the packets and bytes
 * that matched it (both directions) and the time left, from `nft -j list set` output.  The
 * daemon uses it to see whether a soft association is idle: its packets never reach us. */
#ifndef SS_DATAPLANE_SOFTLIST_H
#define SS_DATAPLANE_SOFTLIST_H

#include <stddef.h>

#include "dataplane/user/port.h"

/* Appends the elements of every set in the JSON document to out (up to max); returns how
 * many, or -1 when the document is not nftables JSON. */
int ss_nft_parse_soft_json(const char *json, ss_dp_soft_info *out, size_t max);

#endif
