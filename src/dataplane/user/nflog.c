#include "dataplane/user/nflog.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>

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

struct attrs {
	const struct nlattr *a[NFULA_MAX + 1];
};

static int attr_cb(const struct nlattr *attr, void *data)
{
	struct attrs *t = data;
	if (mnl_attr_type_valid(attr, NFULA_MAX) < 0)
		return MNL_CB_OK; /* newer kernel attribute: ignore it */
	t->a[mnl_attr_get_type(attr)] = attr;
	return MNL_CB_OK;
}

/* One NFULNL_MSG_PACKET; false when it cannot be used. */
static bool parse_packet(const struct nlmsghdr *nlh, ss_dp_notice *out)
{
	if (nlh->nlmsg_type != ((NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET))
		return false;
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct nfgenmsg)))
		return false;
	struct attrs t = { 0 };
	if (mnl_attr_parse(nlh, sizeof(struct nfgenmsg), attr_cb, &t) < 0)
		return false;
	const struct nlattr *pl = t.a[NFULA_PAYLOAD], *pfx = t.a[NFULA_PREFIX];
	if (!pl)
		return false;
	ss_pkt_tuple tu;
	if (!ss_pkt_tuple_parse(mnl_attr_get_payload(pl), mnl_attr_get_payload_len(pl), &tu))
		return false;
	*out = (ss_dp_notice){ .src = tu.src, .dst = tu.dst, .proto = tu.proto,
			       .sport = tu.sport, .dport = tu.dport };
	/* The table's log prefixes: "softsa:a" accepted, "softsa:d" dropped.  Anything else
	 * counts as dropped, the safe reading. */
	const char *p = pfx ? mnl_attr_get_payload(pfx) : "";
	size_t plen = pfx ? mnl_attr_get_payload_len(pfx) : 0;
	out->accepted = plen >= 8 && memcmp(p, "softsa:a", 8) == 0;
	return true;
}

size_t ss_nflog_parse(const uint8_t *buf, size_t len, ss_dp_notice *out, size_t max,
		      uint64_t *malformed)
{
	/* The message walk is ours, not mnl_nlmsg_ok/next: those compare the 32-bit length as
	 * an int, so a length of 2^31 or more passes the check and sends the walk astray (found
	 * by fuzz_dp_nflog). */
	size_t n = 0, off = 0;
	while (n < max && len - off >= sizeof(struct nlmsghdr)) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)(buf + off);
		size_t ml = nlh->nlmsg_len;
		if (ml < sizeof *nlh || ml > len - off) {
			(*malformed)++;
			break;
		}
		if (nlh->nlmsg_type >= NLMSG_MIN_TYPE) {
			if (parse_packet(nlh, &out[n]))
				n++;
			else
				(*malformed)++;
		}
		size_t step = NLMSG_ALIGN(ml);
		if (step > len - off)
			break;
		off += step;
	}
	return n;
}
