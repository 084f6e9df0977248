/* nfnetlink_log over libmnl: the inbound clear packets that the table logs, as notices. */
#ifndef SS_DATAPLANE_NFLOG_H
#define SS_DATAPLANE_NFLOG_H

#include <stddef.h>
#include <stdint.h>

#include "dataplane/user/port.h"

struct mnl_socket;

/* Binds to group, copying the first copy_range bytes of each packet; non-blocking. */
struct mnl_socket *ss_nflog_open(uint16_t group, uint32_t copy_range, int *err);
void ss_nflog_close(struct mnl_socket *nl, uint16_t group);

/* Parses one buffer of netlink messages as received, appending up to max notices to out;
 * returns how many, and counts unusable messages in *malformed.  Pure: tests and the fuzz
 * target feed it bytes. */
size_t ss_nflog_parse(const uint8_t *buf, size_t len, ss_dp_notice *out, size_t max,
		      uint64_t *malformed);

#endif
