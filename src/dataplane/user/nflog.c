#include "dataplane/user/nflog.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>

#include "base/cursor.h"
#include "dataplane/nfnl.h"
#include "dataplane/pkt.h"

static int config(struct mnl_socket *nl, uint16_t group, uint8_t cmd, uint32_t copy_range)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = 1;
	struct nfgenmsg *g = mnl_nlmsg_put_extra_header(nlh, sizeof *g);
	g->nfgen_family = AF_UNSPEC;
	g->version = NFNETLINK_V0;
	g->res_id = htons(group);
	struct nfulnl_msg_config_cmd c = { .command = cmd };
	mnl_attr_put(nlh, NFULA_CFG_CMD, sizeof c, &c);
	if (copy_range) {
		struct nfulnl_msg_config_mode m = { .copy_range = htonl(copy_range),
						    .copy_mode = NFULNL_COPY_PACKET };
		mnl_attr_put(nlh, NFULA_CFG_MODE, sizeof m, &m);
		/* Send each notice at once: the kernel otherwise gathers up to 100 of them or
		 * waits a second, and a negotiation should not start a second late. */
		mnl_attr_put_u32(nlh, NFULA_CFG_QTHRESH, htonl(1));
	}
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof buf);
	if (n < 0)
		return -errno;
	if (mnl_cb_run(buf, (size_t)n, 1, mnl_socket_get_portid(nl), NULL, NULL) < 0)
		return -errno;
	return 0;
}

struct mnl_socket *ss_nflog_open(uint16_t group, uint32_t copy_range, int *err)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (!nl) {
		*err = -errno;
		return NULL;
	}
	int r = mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ? -errno : 0;
	if (r == 0) {
		/* The acknowledgement is read on a non-blocking socket: it is queued before
		 * sendto returns, so it is there to read. */
		r = config(nl, group, NFULNL_CFG_CMD_BIND, copy_range);
	}
	if (r < 0) {
		mnl_socket_close(nl);
		*err = r;
		return NULL;
	}
	int sz = 1 << 20;
	setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
	return nl;
}

void ss_nflog_close(struct mnl_socket *nl, uint16_t group)
{
	if (!nl)
		return;
	config(nl, group, NFULNL_CFG_CMD_UNBIND, 0);
	mnl_socket_close(nl);
}

/* The SPI of a sampled ESP packet: right after the IP headers, or after the UDP header of
 * ESP in UDP (RFC 3948: a zero there is the non-ESP marker of IKE, which is no sample).
 * False when the snapshot holds no SPI: counted as malformed. */
static bool esp_sample(const uint8_t *p, size_t len, const ss_pkt_tuple *tu, ss_dp_notice *out)
{
	size_t off = tu->l3len;
	if (tu->proto == 17)
		off += 8;
	else if (tu->proto != 50)
		return false;
	ss_cur c = ss_cur_init(p, len);
	ss_cur_skip(&c, off);
	uint32_t spi = ss_cur_be32(&c);
	if (!ss_cur_ok(&c) || spi == 0)
		return false;
	out->esp = true;
	out->spi = spi;
	return true;
}

/* One NFULNL_MSG_PACKET of exactly ml bytes; false when it cannot be used. */
static bool parse_packet(const struct nlmsghdr *nlh, size_t ml, size_t used, void *ctx)
{
	ss_dp_notice *out = (ss_dp_notice *)ctx + used;
	if (nlh->nlmsg_type != ((NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET))
		return false;
	ss_nlattr a[NFULA_MAX + 1];
	if (!ss_nfnl_attrs(nlh, ml, a, NFULA_MAX))
		return false;
	const ss_nlattr *pl = &a[NFULA_PAYLOAD], *pfx = &a[NFULA_PREFIX];
	if (!pl->p)
		return false;
	ss_pkt_tuple tu;
	if (!ss_pkt_tuple_parse(pl->p, pl->len, &tu))
		return false;
	*out = (ss_dp_notice){ .src = tu.src, .dst = tu.dst, .proto = tu.proto,
			       .sport = tu.sport, .dport = tu.dport };
	/* The table's log prefixes: "softsa:a" accepted, "softsa:d" dropped, "softsa:s" a
	 * sample of ESP.  Anything else counts as dropped clear traffic, the safe reading. */
	if (pfx->len >= 8 && memcmp(pfx->p, "softsa:s", 8) == 0)
		return esp_sample(pl->p, pl->len, &tu, out);
	out->accepted = pfx->len >= 8 && memcmp(pfx->p, "softsa:a", 8) == 0;
	return true;
}

size_t ss_nflog_parse(const uint8_t *buf, size_t len, ss_dp_notice *out, size_t max,
		      uint64_t *malformed)
{
	return ss_nfnl_walk(buf, len, max, malformed, parse_packet, out);
}
