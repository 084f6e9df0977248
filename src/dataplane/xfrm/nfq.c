/* nfnetlink_queue (nfq.h): binding a queue, reading its packets through base/cursor.h, and
 * the batch verdict. */
#include "dataplane/xfrm/nfq.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>

#include "base/cursor.h"
#include "dataplane/nfnl.h"

enum { COPY_RANGE = 0xffff, QUEUE_MAXLEN = 4096 };

static struct nlmsghdr *header(void *buf, uint16_t type, uint16_t queue, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (uint16_t)(NFNL_SUBSYS_QUEUE << 8 | type);
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = 1;
	struct nfgenmsg *g = mnl_nlmsg_put_extra_header(nlh, sizeof *g);
	g->nfgen_family = AF_UNSPEC;
	g->version = NFNETLINK_V0;
	g->res_id = htons(queue);
	return nlh;
}

/* One configuration message, acknowledged. */
static int config(struct mnl_socket *nl, uint16_t queue, uint8_t cmd, bool params)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = header(buf, NFQNL_MSG_CONFIG, queue, NLM_F_ACK);
	struct nfqnl_msg_config_cmd c = { .command = cmd };
	mnl_attr_put(nlh, NFQA_CFG_CMD, sizeof c, &c);
	if (params) {
		struct nfqnl_msg_config_params p = { .copy_range = htonl(COPY_RANGE),
						     .copy_mode = NFQNL_COPY_PACKET };
		mnl_attr_put(nlh, NFQA_CFG_PARAMS, sizeof p, &p);
		mnl_attr_put_u32(nlh, NFQA_CFG_QUEUE_MAXLEN, htonl(QUEUE_MAXLEN));
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

struct mnl_socket *ss_nfq_open(uint16_t queue, int *err)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (!nl) {
		*err = -errno;
		return NULL;
	}
	/* A stream held for seconds arrives as fast as it is sent: room for a few MiB, so that
	 * the socket does not overrun (the kernel would drop what it cannot deliver). */
	int sz = 8 << 20;
	if (setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) < 0)
		setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
	/* The acknowledgements are queued before sendto returns: a non-blocking read finds them. */
	int r = mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ? -errno : 0;
	if (r == 0)
		r = config(nl, queue, NFQNL_CFG_CMD_BIND, true);
	if (r < 0) {
		mnl_socket_close(nl);
		*err = r;
		return NULL;
	}
	return nl;
}

void ss_nfq_close(struct mnl_socket *nl, uint16_t queue)
{
	if (!nl)
		return;
	config(nl, queue, NFQNL_CFG_CMD_UNBIND, false);
	mnl_socket_close(nl);
}

size_t ss_nfq_build_drop(uint8_t *buf, size_t cap, uint16_t queue, uint32_t id)
{
	if (cap < SS_NFQ_VERDICT_LEN)
		return 0;
	memset(buf, 0, SS_NFQ_VERDICT_LEN);
	struct nlmsghdr *nlh = header(buf, NFQNL_MSG_VERDICT_BATCH, queue, 0);
	struct nfqnl_msg_verdict_hdr v = { .verdict = htonl(NF_DROP), .id = htonl(id) };
	mnl_attr_put(nlh, NFQA_VERDICT_HDR, sizeof v, &v);
	return nlh->nlmsg_len;
}

int ss_nfq_drop_upto(struct mnl_socket *nl, uint16_t queue, uint32_t id)
{
	_Alignas(8) uint8_t buf[SS_NFQ_VERDICT_LEN];
	size_t n = ss_nfq_build_drop(buf, sizeof buf, queue, id);
	return mnl_socket_sendto(nl, buf, n) < 0 ? -errno : 0;
}

static uint32_t be32_of(const ss_nlattr *a)
{
	ss_cur c = ss_cur_init(a->p, a->len);
	return ss_cur_be32(&c);
}

/* One NFQNL_MSG_PACKET of exactly ml bytes.  1: a packet; 0: unusable (its id, when it has
 * one, still raises *max_id). */
typedef struct walk {
	ss_nfq_pkt *out;
	uint32_t *max_id;
} walk;

static bool parse_packet(const struct nlmsghdr *nlh, size_t ml, size_t used, void *ctx)
{
	walk *w = ctx;
	ss_nfq_pkt *out = &w->out[used];
	uint32_t *max_id = w->max_id;
	if (nlh->nlmsg_type != (NFNL_SUBSYS_QUEUE << 8 | NFQNL_MSG_PACKET))
		return 0;
	ss_nlattr a[NFQA_MAX + 1];
	if (!ss_nfnl_attrs(nlh, ml, a, NFQA_MAX))
		return 0;
	/* struct nfqnl_msg_packet_hdr: the id (big-endian) first, then protocol and hook. */
	const ss_nlattr *hdr = &a[NFQA_PACKET_HDR], *pl = &a[NFQA_PAYLOAD], *cap = &a[NFQA_CAP_LEN];
	if (!hdr->p || hdr->len < sizeof(struct nfqnl_msg_packet_hdr))
		return 0;
	uint32_t id = be32_of(hdr);
	if (id > *max_id)
		*max_id = id;
	if (!pl->p || !pl->len)
		return 0;
	*out = (ss_nfq_pkt){ .id = id, .data = pl->p, .len = pl->len };
	if (cap->p && cap->len >= 4 && be32_of(cap) > pl->len)
		out->truncated = true;
	return 1;
}

size_t ss_nfq_parse(const uint8_t *buf, size_t len, ss_nfq_pkt *out, size_t max, uint64_t *malformed,
		    uint32_t *max_id)
{
	walk w = { out, max_id };
	return ss_nfnl_walk(buf, len, max, malformed, parse_packet, &w);
}
