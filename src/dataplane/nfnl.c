/* nfnetlink datagram walks (nfnl.h says why they are ours). */
#include "dataplane/nfnl.h"

#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include "base/cursor.h"

bool ss_nfnl_attrs(const struct nlmsghdr *nlh, size_t ml, ss_nlattr *a, unsigned max_type)
{
	ss_cur c = ss_cur_init(nlh, ml);
	if (!ss_cur_skip(&c, NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg))))
		return false;
	for (unsigned i = 0; i <= max_type; i++)
		a[i] = (ss_nlattr){ 0 };
	while (ss_cur_left(&c) >= sizeof(struct nlattr)) {
		struct nlattr h;
		ss_cur_copy(&c, &h, sizeof h);
		if (h.nla_len < sizeof h || h.nla_len - sizeof h > ss_cur_left(&c))
			return false;
		size_t plen = h.nla_len - sizeof h;
		const uint8_t *p = ss_cur_take(&c, plen);
		unsigned type = h.nla_type & NLA_TYPE_MASK;
		if (type <= max_type)
			a[type] = (ss_nlattr){ .p = p, .len = plen };
		/* The padding after the last attribute may be missing: the message ends there. */
		size_t pad = NLA_ALIGN(h.nla_len) - h.nla_len;
		ss_cur_skip(&c, pad < ss_cur_left(&c) ? pad : ss_cur_left(&c));
	}
	return ss_cur_ok(&c);
}

size_t ss_nfnl_walk(const uint8_t *buf, size_t len, size_t max, uint64_t *malformed, ss_nfnl_msg_fn msg,
		    void *ctx)
{
	size_t n = 0, off = 0;
	while (n < max && off <= len && len - off >= sizeof(struct nlmsghdr)) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)(buf + off);
		size_t ml = nlh->nlmsg_len;
		if (ml < sizeof *nlh || ml > len - off) {
			(*malformed)++;
			break;
		}
		if (nlh->nlmsg_type >= NLMSG_MIN_TYPE) {
			if (msg(nlh, ml, n, ctx))
				n++;
			else
				(*malformed)++;
		}
		/* An unaligned last message has no padding after it: the walk ends with it, and
		 * the offset never passes len (len - off would wrap and the walk go on). */
		size_t step = NLMSG_ALIGN(ml);
		if (step >= len - off)
			break;
		off += step;
	}
	return n;
}
