/* nfnetlink_queue over libmnl, for the kernel backend's held packets (hold.h): the packets an
 * nftables rule queues (copy mode, whole packets), and one batch verdict that drops the
 * kernel's copies once softsad has its own. */
#ifndef SS_DATAPLANE_XFRM_NFQ_H
#define SS_DATAPLANE_XFRM_NFQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mnl_socket;

/* One queued packet as parsed: the kernel's id (for the verdict) and the IP packet, a view
 * into the receive buffer.  truncated: the kernel copied less than the whole packet (its
 * NFQA_CAP_LEN is larger), so it cannot be sent again. */
typedef struct ss_nfq_pkt {
	uint32_t id;
	const uint8_t *data;
	size_t len;
	bool truncated;
} ss_nfq_pkt;

/* Binds queue number queue, whole packets (up to 64 KiB), non-blocking; *err on failure.
 * No fail-open flag: with a full queue, or no softsad, the kernel drops (fails closed). */
struct mnl_socket *ss_nfq_open(uint16_t queue, int *err);
void ss_nfq_close(struct mnl_socket *nl, uint16_t queue);

/* Parses one receive buffer of netlink messages, appending up to max packets to out;
 * returns how many; unusable messages counted in *malformed.  *max_id is raised to the
 * highest packet id seen, also of a packet that was unusable beyond its header (so that it
 * is dropped too).  Pure: unit tests and the fuzz target feed it bytes. */
size_t ss_nfq_parse(const uint8_t *buf, size_t len, ss_nfq_pkt *out, size_t max, uint64_t *malformed,
		    uint32_t *max_id);

/* Drops every packet of the queue with an id up to id (NFQNL_MSG_VERDICT_BATCH). */
int ss_nfq_drop_upto(struct mnl_socket *nl, uint16_t queue, uint32_t id);

/* The batch verdict as bytes (pure, unit-tested): its length, 0 when cap is under
 * SS_NFQ_VERDICT_LEN. */
#define SS_NFQ_VERDICT_LEN 64
size_t ss_nfq_build_drop(uint8_t *buf, size_t cap, uint16_t queue, uint32_t id);

#endif
