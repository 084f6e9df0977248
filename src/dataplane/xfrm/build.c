/* Builders of XFRM netlink requests (see msg.h): kernel structs in host order, addresses,
 * SPIs and ports in network order, as include/uapi/linux/xfrm.h lays them out. */
#include "dataplane/xfrm/msg.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/udp.h>
#include <linux/xfrm.h>

#include "base/secure.h"

/* The largest request: an SA with a 36-byte AEAD key, CBC + 64-byte HMAC key, a 4096-packet
 * replay bitmap and UDP encapsulation stays well below this. */
enum { MSG_MIN_CAP = 1024 };

bool ss_xfrm_reqid_ours(uint32_t reqid)
{
	return reqid - SS_XFRM_REQID_BASE < SS_XFRM_REQID_SPAN;
}

bool ss_xfrm_policy_ours(uint32_t index, uint32_t priority)
{
	return index - SS_XFRM_INDEX_BASE < SS_XFRM_SLOTS * 8 &&
	       priority - SS_XFRM_PRIO_BASE < SS_XFRM_PRIO_SPAN;
}

uint32_t ss_xfrm_policy_index(uint32_t slot, uint8_t dir)
{
	/* The kernel insists that an index given by userspace names its direction in the low
	 * three bits. */
	return SS_XFRM_INDEX_BASE + (slot << 3) + dir;
}

static uint16_t af(uint8_t family)
{
	return family == SS_AF_INET6 ? AF_INET6 : AF_INET;
}

static void put_addr(xfrm_address_t *x, const ss_addr *a)
{
	memset(x, 0, sizeof *x);
	memcpy(x, a->a, a->family == SS_AF_INET6 ? 16 : 4);
}

static struct nlmsghdr *start(uint8_t *buf, size_t cap, uint16_t type, uint16_t flags, uint32_t seq)
{
	if (cap < MSG_MIN_CAP)
		return NULL;
	memset(buf, 0, MSG_MIN_CAP);
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	return nlh;
}

/* Selector; family comes from the prefixes or, when both are "any", from fallback. */
static bool put_sel(struct xfrm_selector *s, const ss_xfrm_sel *in, uint8_t fallback)
{
	uint8_t fam = in->src.addr.family ? in->src.addr.family : in->dst.addr.family;
	if (!fam)
		fam = fallback;
	if ((in->src.addr.family && in->src.addr.family != fam) ||
	    (in->dst.addr.family && in->dst.addr.family != fam))
		return false;
	memset(s, 0, sizeof *s);
	s->family = af(fam);
	if (in->src.addr.family) {
		put_addr(&s->saddr, &in->src.addr);
		s->prefixlen_s = in->src.len;
	}
	if (in->dst.addr.family) {
		put_addr(&s->daddr, &in->dst.addr);
		s->prefixlen_d = in->dst.len;
	}
	s->proto = in->proto;
	s->user = in->tag;
	if (in->sport) {
		s->sport = htons(in->sport);
		s->sport_mask = 0xffff;
	}
	if (in->dport) {
		s->dport = htons(in->dport);
		s->dport_mask = 0xffff;
	}
	return true;
}

static uint64_t lim(uint64_t v)
{
	return v ? v : XFRM_INF;
}

static void put_lft(struct xfrm_lifetime_cfg *l, const ss_xfrm_limits *soft, const ss_xfrm_limits *hard)
{
	l->soft_byte_limit = lim(soft->bytes);
	l->hard_byte_limit = lim(hard->bytes);
	l->soft_packet_limit = lim(soft->packets);
	l->hard_packet_limit = lim(hard->packets);
	/* Seconds: 0 is "none" to the kernel already. */
	l->soft_add_expires_seconds = soft->add_seconds;
	l->hard_add_expires_seconds = hard->add_seconds;
	l->soft_use_expires_seconds = soft->use_seconds;
	l->hard_use_expires_seconds = hard->use_seconds;
}

static const char *integ_name(uint8_t integ, unsigned *trunc_bits, unsigned *key_len)
{
	switch (integ) {
	case SS_XFRM_HMAC_SHA256_128: *trunc_bits = 128; *key_len = 32; return "hmac(sha256)";
	case SS_XFRM_HMAC_SHA384_192: *trunc_bits = 192; *key_len = 48; return "hmac(sha384)";
	case SS_XFRM_HMAC_SHA512_256: *trunc_bits = 256; *key_len = 64; return "hmac(sha512)";
	}
	return NULL;
}

/* One algorithm attribute, built on the stack and wiped after copying into the message. */
static bool put_algs(struct nlmsghdr *nlh, size_t cap, const ss_xfrm_sa *sa)
{
	uint8_t tmp[sizeof(struct xfrm_algo_auth) + 64];
	bool ok = false;
	if (sa->enc == SS_XFRM_AES_GCM16) {
		unsigned k = sa->enc_key_len;
		if ((k != 20 && k != 28 && k != 36) || sa->integ != SS_XFRM_INTEG_NONE)
			return false;
		struct xfrm_algo_aead *a = (struct xfrm_algo_aead *)tmp;
		memset(a, 0, sizeof *a);
		strcpy(a->alg_name, "rfc4106(gcm(aes))");
		a->alg_key_len = k * 8;
		a->alg_icv_len = 128;
		memcpy(a->alg_key, sa->enc_key, k);
		ok = mnl_attr_put_check(nlh, cap, XFRMA_ALG_AEAD, sizeof *a + k, a);
		ss_wipe(tmp, sizeof tmp);
		return ok;
	}
	if (sa->enc != SS_XFRM_AES_CBC)
		return false;
	unsigned k = sa->enc_key_len, trunc, ik;
	const char *iname = integ_name(sa->integ, &trunc, &ik);
	if ((k != 16 && k != 24 && k != 32) || !iname || sa->integ_key_len != ik)
		return false;
	struct xfrm_algo *c = (struct xfrm_algo *)tmp;
	memset(c, 0, sizeof *c);
	strcpy(c->alg_name, "cbc(aes)");
	c->alg_key_len = k * 8;
	memcpy(c->alg_key, sa->enc_key, k);
	ok = mnl_attr_put_check(nlh, cap, XFRMA_ALG_CRYPT, sizeof *c + k, c);
	ss_wipe(tmp, sizeof tmp);
	if (!ok)
		return false;
	/* XFRMA_ALG_AUTH_TRUNC, not XFRMA_ALG_AUTH: the latter truncates SHA-256 to 96 bits
	 * (the pre-RFC 4868 draft) and would not interoperate. */
	struct xfrm_algo_auth *i = (struct xfrm_algo_auth *)tmp;
	memset(i, 0, sizeof *i);
	strcpy(i->alg_name, iname);
	i->alg_key_len = ik * 8;
	i->alg_trunc_len = trunc;
	memcpy(i->alg_key, sa->integ_key, ik);
	ok = mnl_attr_put_check(nlh, cap, XFRMA_ALG_AUTH_TRUNC, sizeof *i + ik, i);
	ss_wipe(tmp, sizeof tmp);
	return ok;
}

static bool put_replay(struct nlmsghdr *nlh, size_t cap, const ss_xfrm_sa *sa)
{
	/* The ESN form carries any window up to the kernel's 4096 (and is required for ESN);
	 * usersa_info.replay_window must then be 0. */
	uint32_t w = sa->replay_window;
	if (w == 0)
		return !sa->esn; /* the kernel refuses an ESN state without a window */
	if (w > 4096)
		return false;
	uint8_t tmp[sizeof(struct xfrm_replay_state_esn) + 4096 / 8];
	struct xfrm_replay_state_esn *r = (struct xfrm_replay_state_esn *)tmp;
	uint32_t words = (w + 31) / 32;
	memset(tmp, 0, sizeof tmp);
	r->bmp_len = words;
	r->replay_window = w;
	return mnl_attr_put_check(nlh, cap, XFRMA_REPLAY_ESN_VAL, sizeof *r + words * 4, r);
}

size_t ss_xfrm_build_sa(uint8_t *buf, size_t cap, uint32_t seq, const ss_xfrm_sa *sa, bool update)
{
	uint8_t fam = sa->src.family;
	if ((fam != SS_AF_INET && fam != SS_AF_INET6) || sa->dst.family != fam ||
	    sa->mode > SS_XFRM_TUNNEL || !ss_xfrm_reqid_ours(sa->reqid))
		return 0;
	struct nlmsghdr *nlh = start(buf, cap, update ? XFRM_MSG_UPDSA : XFRM_MSG_NEWSA, NLM_F_ACK, seq);
	if (!nlh)
		return 0;
	struct xfrm_usersa_info *u = mnl_nlmsg_put_extra_header(nlh, sizeof *u);
	if (!put_sel(&u->sel, &sa->sel, fam))
		return 0;
	put_addr(&u->id.daddr, &sa->dst);
	u->id.spi = htonl(sa->spi);
	u->id.proto = IPPROTO_ESP;
	put_addr(&u->saddr, &sa->src);
	put_lft(&u->lft, &sa->soft, &sa->hard);
	u->reqid = sa->reqid;
	u->seq = sa->acquire_seq;
	u->family = af(fam);
	u->mode = sa->mode;
	u->flags = sa->esn ? XFRM_STATE_ESN : 0;
	if (!put_algs(nlh, cap, sa) || !put_replay(nlh, cap, sa))
		goto fail;
	if (sa->encap_dport) {
		struct xfrm_encap_tmpl e = { .encap_type = UDP_ENCAP_ESPINUDP,
					     .encap_sport = htons(sa->encap_sport),
					     .encap_dport = htons(sa->encap_dport) };
		if (!mnl_attr_put_check(nlh, cap, XFRMA_ENCAP, sizeof e, &e))
			goto fail;
	}
	return nlh->nlmsg_len;
fail:
	ss_wipe(buf, nlh->nlmsg_len);
	return 0;
}

size_t ss_xfrm_build_sa_id(uint8_t *buf, size_t cap, uint32_t seq, bool get,
			   const ss_addr *dst, uint32_t spi)
{
	if (dst->family != SS_AF_INET && dst->family != SS_AF_INET6)
		return 0;
	struct nlmsghdr *nlh = start(buf, cap, get ? XFRM_MSG_GETSA : XFRM_MSG_DELSA, NLM_F_ACK, seq);
	if (!nlh)
		return 0;
	struct xfrm_usersa_id *id = mnl_nlmsg_put_extra_header(nlh, sizeof *id);
	put_addr(&id->daddr, dst);
	id->spi = htonl(spi);
	id->family = af(dst->family);
	id->proto = IPPROTO_ESP;
	return nlh->nlmsg_len;
}

size_t ss_xfrm_build_allocspi(uint8_t *buf, size_t cap, uint32_t seq, const ss_addr *src,
			      const ss_addr *dst, uint32_t reqid, uint8_t mode)
{
	if ((dst->family != SS_AF_INET && dst->family != SS_AF_INET6) || src->family != dst->family ||
	    !ss_xfrm_reqid_ours(reqid) || mode > SS_XFRM_TUNNEL)
		return 0;
	struct nlmsghdr *nlh = start(buf, cap, XFRM_MSG_ALLOCSPI, NLM_F_ACK, seq);
	if (!nlh)
		return 0;
	struct xfrm_userspi_info *u = mnl_nlmsg_put_extra_header(nlh, sizeof *u);
	put_addr(&u->info.id.daddr, dst);
	u->info.id.proto = IPPROTO_ESP;
	put_addr(&u->info.saddr, src);
	u->info.family = af(dst->family);
	u->info.reqid = reqid;
	u->info.mode = mode;
	u->min = SS_XFRM_LARVAL_SPI_MIN;
	u->max = SS_XFRM_LARVAL_SPI_MAX;
	return nlh->nlmsg_len;
}

size_t ss_xfrm_build_policy(uint8_t *buf, size_t cap, uint32_t seq, const ss_xfrm_policy *p,
			    bool update)
{
	/* prio needs no check: its type spans exactly SS_XFRM_PRIO_SPAN. */
	if (p->dir > SS_XFRM_FWD || p->action > SS_XFRM_BLOCK || p->slot >= SS_XFRM_SLOTS)
		return 0;
	uint8_t fam = p->sel.src.addr.family ? p->sel.src.addr.family : p->sel.dst.addr.family;
	if (p->action == SS_XFRM_PROTECT) {
		if (!ss_xfrm_reqid_ours(p->reqid) || p->mode > SS_XFRM_TUNNEL)
			return 0;
		if (p->mode == SS_XFRM_TUNNEL && (!p->tsrc.family || p->tdst.family != p->tsrc.family))
			return 0;
	}
	if (!fam)
		return 0; /* a policy names its family through its selector */
	struct nlmsghdr *nlh = start(buf, cap, update ? XFRM_MSG_UPDPOLICY : XFRM_MSG_NEWPOLICY,
				     NLM_F_ACK, seq);
	if (!nlh)
		return 0;
	struct xfrm_userpolicy_info *u = mnl_nlmsg_put_extra_header(nlh, sizeof *u);
	if (!put_sel(&u->sel, &p->sel, fam))
		return 0;
	ss_xfrm_limits none = { 0 }, idle = { .use_seconds = p->idle_seconds };
	put_lft(&u->lft, &none, &idle);
	u->priority = SS_XFRM_PRIO_BASE + p->prio;
	u->index = ss_xfrm_policy_index(p->slot, p->dir);
	u->dir = p->dir;
	u->action = p->action == SS_XFRM_BLOCK ? XFRM_POLICY_BLOCK : XFRM_POLICY_ALLOW;
	u->share = XFRM_SHARE_ANY;
	if (p->action != SS_XFRM_PROTECT)
		return nlh->nlmsg_len;
	struct xfrm_user_tmpl t;
	memset(&t, 0, sizeof t);
	t.id.proto = IPPROTO_ESP;
	if (p->mode == SS_XFRM_TUNNEL) {
		put_addr(&t.id.daddr, &p->tdst);
		put_addr(&t.saddr, &p->tsrc);
		t.family = af(p->tsrc.family);
	} else {
		t.family = af(fam);
	}
	t.reqid = p->reqid;
	t.mode = p->mode;
	t.share = XFRM_SHARE_ANY;
	t.aalgos = t.ealgos = t.calgos = ~0u;
	if (!mnl_attr_put_check(nlh, cap, XFRMA_TMPL, sizeof t, &t))
		return 0;
	return nlh->nlmsg_len;
}

size_t ss_xfrm_build_policy_del(uint8_t *buf, size_t cap, uint32_t seq, uint32_t index, uint8_t dir)
{
	return ss_xfrm_build_policy_id(buf, cap, seq, false, index, dir);
}

size_t ss_xfrm_build_policy_id(uint8_t *buf, size_t cap, uint32_t seq, bool get, uint32_t index,
			       uint8_t dir)
{
	struct nlmsghdr *nlh = start(buf, cap, get ? XFRM_MSG_GETPOLICY : XFRM_MSG_DELPOLICY, NLM_F_ACK, seq);
	if (!nlh || dir > SS_XFRM_FWD)
		return 0;
	struct xfrm_userpolicy_id *id = mnl_nlmsg_put_extra_header(nlh, sizeof *id);
	id->index = index;
	id->dir = dir;
	return nlh->nlmsg_len;
}

size_t ss_xfrm_build_dump(uint8_t *buf, size_t cap, uint32_t seq, bool states)
{
	struct nlmsghdr *nlh = start(buf, cap, states ? XFRM_MSG_GETSA : XFRM_MSG_GETPOLICY,
				     NLM_F_DUMP, seq);
	return nlh ? nlh->nlmsg_len : 0;
}
