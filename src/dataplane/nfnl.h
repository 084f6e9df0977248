/* Walks over nfnetlink datagrams (NFLOG notices, NFQUEUE packets) as the kernel sends them,
 * through the bounds-checked cursor.  Our own walks, not libmnl's: mnl_nlmsg_ok compares the
 * 32-bit length as an int (a length of 2^31 or more passes and sends the walk astray), and
 * mnl_attr_parse runs to NLMSG_ALIGN(nlmsg_len), up to 3 bytes past an unaligned last message
 * and so past the end of the datagram (both found by fuzz_dp_nflog:
 * tests/fuzz/corpus/dp_nflog/nflog-oob-1071.bin). */
#ifndef SS_DATAPLANE_NFNL_H
#define SS_DATAPLANE_NFNL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nlmsghdr;

/* One attribute's payload (p NULL: absent). */
typedef struct ss_nlattr {
	const uint8_t *p;
	size_t len;
} ss_nlattr;

/* The attributes of one nfnetlink message of exactly ml bytes (after its nfgenmsg), by type
 * up to max_type into a[0..max_type]; a newer kernel's higher types are ignored.  False when
 * the message is cut short or an attribute overruns it. */
bool ss_nfnl_attrs(const struct nlmsghdr *nlh, size_t ml, ss_nlattr *a, unsigned max_type);

/* Calls msg for each message of buf whose type is not a netlink control type, with its exact
 * length and the number of messages used so far; msg returns whether it used the message
 * (else it counts in *malformed).  Stops at max used, at the end, or at a length that cannot
 * be (counted).  Returns how many were used. */
typedef bool (*ss_nfnl_msg_fn)(const struct nlmsghdr *nlh, size_t ml, size_t used, void *ctx);
size_t ss_nfnl_walk(const uint8_t *buf, size_t len, size_t max, uint64_t *malformed, ss_nfnl_msg_fn msg,
		    void *ctx);

#endif
