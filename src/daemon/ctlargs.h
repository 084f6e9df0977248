/* The arguments of softsad's control commands (doc/control.md), read from a request object
 * without the daemon: commands.c and policyset.c use them, and so does fuzz_ctl_request. */
#ifndef SS_DAEMON_CTLARGS_H
#define SS_DAEMON_CTLARGS_H

#include <jansson.h>
#include <stdbool.h>

#include "base/addr.h"
#include "policy/classify.h"

/* initiate, terminate: "peer", an address. */
bool dm_arg_peer(json_t *req, ss_addr *out);
/* explain: "dir", "src", "dst" and the optional "proto" (name or number), "sport", "dport";
 * false with *err saying what is wrong. */
bool dm_arg_packet(json_t *req, ss_pkt_key *k, const char **err);

#endif
