/* The few rtnetlink requests the userspace backend makes, over libmnl: bring the TUN up,
 * add and remove the "fwmark -> table" rule and the routes of that table. */
#ifndef SS_DATAPLANE_RTNL_H
#define SS_DATAPLANE_RTNL_H

#include <stdbool.h>
#include <stdint.h>

struct mnl_socket;

struct mnl_socket *ss_rtnl_open(void);
void ss_rtnl_close(struct mnl_socket *nl);

/* Each returns 0 or a negative errno from the kernel's acknowledgement. */
/* No IPv6 link-local address on the device: the TUN then sends no router solicitations or
 * MLD reports of its own, which would otherwise come back to us as "captured" packets. */
int ss_rtnl_link_no_ipv6_addr(struct mnl_socket *nl, unsigned ifindex);
int ss_rtnl_link_up(struct mnl_socket *nl, unsigned ifindex, unsigned mtu);
/* family: AF_INET or AF_INET6.  The rule: "fwmark mark/mark lookup table priority prio". */
int ss_rtnl_rule(struct mnl_socket *nl, bool add, int family, uint32_t mark, uint32_t table,
		 uint32_t prio);
/* A default route in table: through ifindex, or (ifindex 0) a blackhole. */
int ss_rtnl_default_route(struct mnl_socket *nl, bool add, int family, uint32_t table,
			  unsigned ifindex, uint32_t metric);

/* Removes every copy of our rule and every default route of table, for both families. */
int ss_rtnl_flush(struct mnl_socket *nl, uint32_t mark, uint32_t table, uint32_t prio);

#endif
