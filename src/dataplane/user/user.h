/* The userspace dataplane backend: a TUN device, an nftables table `inet softsa`, policy
 * routing by firewall mark, raw sockets and NFLOG.  See doc/dataplane.md for the design and
 * why it fails closed when the process dies. */
#ifndef SS_DATAPLANE_USER_H
#define SS_DATAPLANE_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/user/port.h"

#define SS_DP_TUN_DEFAULT "softsa0"
#define SS_DP_TABLE_NAME "softsa" /* nftables: table inet softsa */

typedef struct ss_dp_user_config {
	char tun_name[16];      /* IFNAMSIZ; default softsa0 */
	int tun_mtu;            /* default 1400, room for ESP overhead on a 1500 path */
	uint32_t capture_mark;  /* fwmark bits steering packets into the TUN */
	uint32_t bypass_mark;   /* fwmark bits on packets and sockets that skip the capture */
	uint32_t route_table;   /* the policy routing table holding the TUN route */
	uint32_t rule_priority; /* of the ip rule "fwmark capture lookup route_table" */
	uint16_t nflog_group;   /* nfnetlink_log group for inbound clear packets */
	uint32_t notice_rate;   /* notices per second per source at most (0 = every packet) */
	/* UDP-encapsulated ESP (RFC 3948): the daemon's NAT-T sockets to send from (they own
	 * port 4500 and receive ESP-in-UDP themselves), or -1; or a port the backend binds its
	 * own sockets to (tests, tools), 0 = none. */
	int esp_udp_fd4, esp_udp_fd6;
	uint16_t esp_udp_port;
	bool ipv6;              /* also install IPv6 routing and sockets (default true) */
	/* IFF_VNET_HDR with checksum and TCP segmentation offloads: the kernel hands us TCP
	 * super-packets (up to 64 KB per read) and we split them (dataplane/gso.h). */
	bool vnet_hdr;
} ss_dp_user_config;

void ss_dp_user_config_default(ss_dp_user_config *cfg);

/* Creates the TUN (which fails, EBUSY, while another instance holds it), flushes whatever
 * an earlier run left (table, rules, routes), then installs its own.  Needs CAP_NET_ADMIN
 * and CAP_NET_RAW.  On failure returns a negative errno with a sentence in err; if it got
 * as far as the TUN it removes everything, otherwise it touches nothing (a crashed run's
 * leftovers keep failing closed). */
int ss_dp_user_open(const ss_dp_user_config *cfg, ss_dpu **out, char *err, size_t errlen);

/* Removes everything a run with this configuration may have left (for tools and tests;
 * ss_dp_user_open does it too).  Returns 0 or a negative errno. */
int ss_dp_user_flush(const ss_dp_user_config *cfg, char *err, size_t errlen);

#endif
