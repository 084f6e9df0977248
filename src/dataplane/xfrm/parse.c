/* Parser of the kernel's XFRM netlink messages (see msg.h).  Every byte is read through the
 * cursor: a message's length is checked against what is left before anything in it is used,
 * and each fixed struct is copied out only when all of it is there. */
#include "dataplane/xfrm/msg.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>

#include <linux/netlink.h>
#include <linux/xfrm.h>

#include "base/cursor.h"

static size_t align4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

static bool get_addr(const xfrm_address_t *x, uint16_t family, ss_addr *out)
{
	memset(out, 0, sizeof *out);
	if (family == AF_INET) {
		out->family = SS_AF_INET;
		memcpy(out->a, x, 4);
	} else if (family == AF_INET6) {
		out->family = SS_AF_INET6;
		memcpy(out->a, x, 16);
	} else {
		return false;
	}
	return true;
}

static bool get_sel(const struct xfrm_selector *s, ss_xfrm_sel *out)
{
	memset(out, 0, sizeof *out);
	unsigned max = s->family == AF_INET6 ? 128 : 32;
	if (s->prefixlen_s > max || s->prefixlen_d > max)
		return false;
	if (!get_addr(&s->saddr, s->family, &out->src.addr) ||
	    !get_addr(&s->daddr, s->family, &out->dst.addr))
		return false;
	out->src.len = s->prefixlen_s;
	out->dst.len = s->prefixlen_d;
	out->proto = s->proto;
	out->sport = s->sport_mask ? ntohs(s->sport) : 0;
	out->dport = s->dport_mask ? ntohs(s->dport) : 0;
	return true;
}

/* Walks the attributes after a message's fixed part; fn sees each (type, value cursor).
 * False when an attribute's length is impossible. */
typedef void attr_fn(uint16_t type, ss_cur *val, ss_xfrm_event *ev);

static bool walk_attrs(ss_cur *c, attr_fn *fn, ss_xfrm_event *ev)
{
	while (ss_cur_left(c) >= 4) {
		struct nlattr a;
		ss_cur_copy(c, &a, sizeof a);
		if (a.nla_len < sizeof a || a.nla_len - sizeof a > ss_cur_left(c))
			return false;
		ss_cur val = ss_cur_sub(c, a.nla_len - sizeof a);
		fn(a.nla_type & NLA_TYPE_MASK, &val, ev);
		/* The last attribute's padding may be missing. */
		size_t pad = align4(a.nla_len) - a.nla_len;
		ss_cur_skip(c, pad < ss_cur_left(c) ? pad : ss_cur_left(c));
	}
	return ss_cur_ok(c);
}

static void sa_attr(uint16_t type, ss_cur *val, ss_xfrm_event *ev)
{
	if (type == XFRMA_REPLAY_ESN_VAL) {
		struct xfrm_replay_state_esn r;
		if (!ss_cur_copy(val, &r, sizeof r))
			return;
		ev->sa.seq_out = (uint64_t)r.oseq_hi << 32 | r.oseq;
		ev->sa.seq_in = (uint64_t)r.seq_hi << 32 | r.seq;
	} else if (type == XFRMA_REPLAY_VAL) {
		struct xfrm_replay_state r;
		if (!ss_cur_copy(val, &r, sizeof r))
			return;
		ev->sa.seq_out = r.oseq;
		ev->sa.seq_in = r.seq;
	}
}

static bool sa_info(const struct xfrm_usersa_info *u, ss_xfrm_sa_info *out)
{
	memset(out, 0, sizeof *out);
	if (!get_addr(&u->saddr, u->family, &out->src) || !get_addr(&u->id.daddr, u->family, &out->dst))
		return false;
	out->spi = ntohl(u->id.spi);
	out->proto = u->id.proto;
	out->mode = u->mode;
	out->reqid = u->reqid;
	out->bytes = u->curlft.bytes;
	out->packets = u->curlft.packets;
	out->add_time = u->curlft.add_time;
	out->use_time = u->curlft.use_time;
	out->replay_drops = u->stats.replay;
	out->integrity_failures = u->stats.integrity_failed;
	return true;
}

static bool policy_info(const struct xfrm_userpolicy_info *p, ss_xfrm_event *ev)
{
	if (!get_sel(&p->sel, &ev->sel) || p->dir > XFRM_POLICY_FWD)
		return false;
	ev->index = p->index;
	ev->priority = p->priority;
	ev->sa.add_time = p->curlft.add_time;
	ev->sa.use_time = p->curlft.use_time;
	ev->dir = p->dir;
	ev->action = p->action == XFRM_POLICY_BLOCK ? SS_XFRM_BLOCK : SS_XFRM_BYPASS;
	return true;
}

static void policy_attr(uint16_t type, ss_cur *val, ss_xfrm_event *ev)
{
	if (type != XFRMA_TMPL || ss_cur_left(val) < sizeof(struct xfrm_user_tmpl))
		return;
	struct xfrm_user_tmpl t;
	ss_cur_copy(val, &t, sizeof t);
	if (ev->action == SS_XFRM_BYPASS)
		ev->action = SS_XFRM_PROTECT;
	ev->sa.reqid = t.reqid;
	ev->sa.mode = t.mode;
	ev->sa.proto = t.id.proto;
	if (t.mode == XFRM_MODE_TUNNEL) {
		get_addr(&t.saddr, t.family, &ev->sa.src);
		get_addr(&t.id.daddr, t.family, &ev->sa.dst);
	}
}

static bool parse_sa(ss_cur *c, ss_xfrm_event *ev)
{
	struct xfrm_usersa_info u;
	if (!ss_cur_copy(c, &u, sizeof u) || !sa_info(&u, &ev->sa))
		return false;
	ev->kind = SS_XFRM_EV_SA;
	return walk_attrs(c, sa_attr, ev);
}

static bool parse_expire(ss_cur *c, ss_xfrm_event *ev)
{
	struct xfrm_user_expire e;
	if (!ss_cur_copy(c, &e, sizeof e) || !sa_info(&e.state, &ev->sa))
		return false;
	ev->kind = SS_XFRM_EV_EXPIRE;
	ev->hard = e.hard != 0;
	return true;
}

static bool parse_policy(ss_cur *c, ss_xfrm_event *ev)
{
	struct xfrm_userpolicy_info p;
	if (!ss_cur_copy(c, &p, sizeof p) || !policy_info(&p, ev))
		return false;
	ev->kind = SS_XFRM_EV_POLICY;
	return walk_attrs(c, policy_attr, ev);
}

static bool parse_polexpire(ss_cur *c, ss_xfrm_event *ev)
{
	struct xfrm_user_polexpire e;
	if (!ss_cur_copy(c, &e, sizeof e) || !policy_info(&e.pol, ev))
		return false;
	ev->kind = SS_XFRM_EV_POLEXPIRE;
	ev->hard = e.hard != 0;
	return true;
}

static bool parse_acquire(ss_cur *c, ss_xfrm_event *ev)
{
	struct xfrm_user_acquire a;
	if (!ss_cur_copy(c, &a, sizeof a) || !policy_info(&a.policy, ev))
		return false;
	/* The selector of the packet that needed the SA, not the policy's. */
	if (!get_sel(&a.sel, &ev->sel))
		return false;
	ev->kind = SS_XFRM_EV_ACQUIRE;
	ev->action = SS_XFRM_PROTECT;
	if (!walk_attrs(c, policy_attr, ev))
		return false;
	/* The SA's endpoints as the kernel resolved them (in transport mode the packet's). */
	if (!get_addr(&a.saddr, a.sel.family, &ev->sa.src) ||
	    !get_addr(&a.id.daddr, a.sel.family, &ev->sa.dst))
		return false;
	ev->sa.spi = ntohl(a.id.spi);
	ev->seq = a.seq;
	return true;
}

static bool parse_one(uint16_t type, ss_cur *c, ss_xfrm_event *ev)
{
	switch (type) {
	case NLMSG_ERROR: {
		struct nlmsgerr e;
		/* The error and at least the header of the request it answers. */
		if (!ss_cur_copy(c, &e, sizeof e) || e.error > 0)
			return false;
		ev->kind = SS_XFRM_EV_ACK;
		ev->err = e.error;
		return true;
	}
	case NLMSG_DONE:
		ev->kind = SS_XFRM_EV_DONE;
		return true;
	case XFRM_MSG_NEWSA:
		return parse_sa(c, ev);
	case XFRM_MSG_EXPIRE:
		return parse_expire(c, ev);
	case XFRM_MSG_NEWPOLICY:
		return parse_policy(c, ev);
	case XFRM_MSG_POLEXPIRE:
		return parse_polexpire(c, ev);
	case XFRM_MSG_ACQUIRE:
		return parse_acquire(c, ev);
	}
	ev->kind = 0; /* a message we do not use (NOOP, notifications of others' changes) */
	return true;
}

size_t ss_xfrm_parse(const uint8_t *buf, size_t len, ss_xfrm_event *out, size_t max,
		     uint64_t *malformed, size_t *used)
{
	ss_cur c = ss_cur_init(buf, len);
	size_t n = 0;
	while (n < max && ss_cur_left(&c) >= sizeof(struct nlmsghdr)) {
		struct nlmsghdr h;
		ss_cur_copy(&c, &h, sizeof h);
		size_t body = h.nlmsg_len >= sizeof h ? h.nlmsg_len - sizeof h : SIZE_MAX;
		if (body > ss_cur_left(&c)) {
			/* A length that does not fit leaves nothing trustworthy after it. */
			(*malformed)++;
			break;
		}
		ss_cur m = ss_cur_sub(&c, body);
		size_t pad = align4(h.nlmsg_len) - h.nlmsg_len;
		ss_cur_skip(&c, pad < ss_cur_left(&c) ? pad : ss_cur_left(&c));
		ss_xfrm_event ev;
		memset(&ev, 0, sizeof ev);
		ev.seq = h.nlmsg_seq;
		if (!parse_one(h.nlmsg_type, &m, &ev) || !ss_cur_ok(&m)) {
			(*malformed)++;
			continue;
		}
		if (ev.kind)
			out[n++] = ev;
	}
	if (used)
		*used = n < max ? len : c.off;
	return n;
}
