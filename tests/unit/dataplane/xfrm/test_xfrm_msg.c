/* src/dataplane/xfrm/msg.h: the builders against messages composed here field by field from
 * the kernel's uapi structs (an independent layout), their refusals, the ownership ranges,
 * and the parser on messages as the kernel sends them and on broken ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <linux/netlink.h>
#include <linux/udp.h>
#include <linux/xfrm.h>
#include <netinet/in.h>

#include "dataplane/xfrm/msg.h"

/* The expected message, composed by hand: header, fixed part, attributes. */
typedef struct msg {
	_Alignas(8) uint8_t b[2048];
	size_t len;
} msg;

static void m_start(msg *m, uint16_t type, uint16_t flags, uint32_t seq, const void *fixed, size_t n)
{
	memset(m, 0, sizeof *m);
	struct nlmsghdr h = { .nlmsg_type = type, .nlmsg_flags = flags, .nlmsg_seq = seq };
	if (n)
		memcpy(m->b + sizeof h, fixed, n);
	m->len = NLMSG_ALIGN(sizeof h + n);
	h.nlmsg_len = (uint32_t)m->len;
	memcpy(m->b, &h, sizeof h);
}

static void m_attr(msg *m, uint16_t type, const void *p, size_t n)
{
	struct nlattr a = { .nla_len = (uint16_t)(sizeof a + n), .nla_type = type };
	memcpy(m->b + m->len, &a, sizeof a);
	memcpy(m->b + m->len + sizeof a, p, n);
	m->len += NLA_ALIGN(sizeof a + n);
	struct nlmsghdr h;
	memcpy(&h, m->b, sizeof h);
	h.nlmsg_len = (uint32_t)m->len;
	memcpy(m->b, &h, sizeof h);
}

static _Alignas(8) uint8_t out[2048];
static const char *why;

static ss_addr a4(const char *s)
{
	ss_addr a;
	assert_true(ss_addr_parse(s, &a));
	return a;
}

static void v4(xfrm_address_t *x, const char *s)
{
	memset(x, 0, sizeof *x);
	assert_int_equal(inet_pton(AF_INET, s, x), 1);
}

static void v6(xfrm_address_t *x, const char *s)
{
	memset(x, 0, sizeof *x);
	assert_int_equal(inet_pton(AF_INET6, s, x), 1);
}

static void inf_lft(struct xfrm_lifetime_cfg *l)
{
	l->soft_byte_limit = l->hard_byte_limit = XFRM_INF;
	l->soft_packet_limit = l->hard_packet_limit = XFRM_INF;
}

static const uint8_t key20[20] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20 };

/* 1. AES-GCM-16 transport SA with ESN and a 64-packet window (IPv4). */
static void test_sa_gcm_esn(void **state)
{
	(void)state;
	ss_xfrm_sa sa = { .src = a4("10.0.0.1"), .dst = a4("10.0.0.2"), .spi = 0xc0ffee01,
			  .reqid = SS_XFRM_REQID_BASE + 5, .enc = SS_XFRM_AES_GCM16, .enc_key_len = 20,
			  .esn = true, .replay_window = 64 };
	memcpy(sa.enc_key, key20, 20);
	size_t n = ss_xfrm_build_sa(out, sizeof out, 77, &sa, false);

	struct xfrm_usersa_info u;
	memset(&u, 0, sizeof u);
	u.sel.family = AF_INET;
	v4(&u.id.daddr, "10.0.0.2");
	u.id.spi = htonl(0xc0ffee01);
	u.id.proto = IPPROTO_ESP;
	v4(&u.saddr, "10.0.0.1");
	inf_lft(&u.lft);
	u.reqid = SS_XFRM_REQID_BASE + 5;
	u.family = AF_INET;
	u.mode = XFRM_MODE_TRANSPORT;
	u.flags = XFRM_STATE_ESN;
	msg m;
	m_start(&m, XFRM_MSG_NEWSA, NLM_F_REQUEST | NLM_F_ACK, 77, &u, sizeof u);
	struct { struct xfrm_algo_aead a; uint8_t k[20]; } aead;
	memset(&aead, 0, sizeof aead);
	strcpy(aead.a.alg_name, "rfc4106(gcm(aes))");
	aead.a.alg_key_len = 160;
	aead.a.alg_icv_len = 128;
	memcpy(aead.k, key20, 20);
	m_attr(&m, XFRMA_ALG_AEAD, &aead, sizeof aead.a + 20);
	struct { struct xfrm_replay_state_esn r; uint32_t bmp[2]; } esn;
	memset(&esn, 0, sizeof esn);
	esn.r.bmp_len = 2;
	esn.r.replay_window = 64;
	m_attr(&m, XFRMA_REPLAY_ESN_VAL, &esn, sizeof esn);

	assert_int_equal(n, m.len);
	assert_memory_equal(out, m.b, n);
	/* The header as bytes: length, NEWSA (16), REQUEST|ACK, seq 77 (little-endian host). */
	const uint8_t head[] = { (uint8_t)n, (uint8_t)(n >> 8), 0, 0, 0x10, 0, 0x05, 0, 77, 0, 0, 0 };
	assert_memory_equal(out, head, sizeof head);
}

/* 2. AES-CBC + HMAC-SHA-256 (RFC 4868: 128-bit ICV via AUTH_TRUNC), tunnel mode, IPv6,
 *    UDP encapsulation, byte/packet/time limits, an update. */
static void test_sa_cbc_v6_encap_limits(void **state)
{
	(void)state;
	ss_xfrm_sa sa = { .spi = 0x1234, .reqid = SS_XFRM_REQID_BASE, .mode = SS_XFRM_TUNNEL,
			  .enc = SS_XFRM_AES_CBC, .enc_key_len = 16, .integ = SS_XFRM_HMAC_SHA256_128,
			  .integ_key_len = 32, .replay_window = 32, .encap_sport = 4500,
			  .encap_dport = 4501, .soft = { .bytes = 1000, .packets = 10, .add_seconds = 50 },
			  .hard = { .bytes = 2000, .packets = 20, .add_seconds = 60, .use_seconds = 30 } };
	assert_true(ss_addr_parse("fd00::1", &sa.src));
	assert_true(ss_addr_parse("fd00::2", &sa.dst));
	memset(sa.enc_key, 0xaa, 16);
	memset(sa.integ_key, 0xbb, 32);
	size_t n = ss_xfrm_build_sa(out, sizeof out, 9, &sa, true);

	struct xfrm_usersa_info u;
	memset(&u, 0, sizeof u);
	u.sel.family = AF_INET6;
	v6(&u.id.daddr, "fd00::2");
	u.id.spi = htonl(0x1234);
	u.id.proto = IPPROTO_ESP;
	v6(&u.saddr, "fd00::1");
	u.lft.soft_byte_limit = 1000;
	u.lft.hard_byte_limit = 2000;
	u.lft.soft_packet_limit = 10;
	u.lft.hard_packet_limit = 20;
	u.lft.soft_add_expires_seconds = 50;
	u.lft.hard_add_expires_seconds = 60;
	u.lft.hard_use_expires_seconds = 30;
	u.reqid = SS_XFRM_REQID_BASE;
	u.family = AF_INET6;
	u.mode = XFRM_MODE_TUNNEL;
	msg m;
	m_start(&m, XFRM_MSG_UPDSA, NLM_F_REQUEST | NLM_F_ACK, 9, &u, sizeof u);
	struct { struct xfrm_algo a; uint8_t k[16]; } c;
	memset(&c, 0, sizeof c);
	strcpy(c.a.alg_name, "cbc(aes)");
	c.a.alg_key_len = 128;
	memset(c.k, 0xaa, 16);
	m_attr(&m, XFRMA_ALG_CRYPT, &c, sizeof c.a + 16);
	struct { struct xfrm_algo_auth a; uint8_t k[32]; } i;
	memset(&i, 0, sizeof i);
	strcpy(i.a.alg_name, "hmac(sha256)");
	i.a.alg_key_len = 256;
	i.a.alg_trunc_len = 128;
	memset(i.k, 0xbb, 32);
	m_attr(&m, XFRMA_ALG_AUTH_TRUNC, &i, sizeof i.a + 32);
	struct { struct xfrm_replay_state_esn r; uint32_t bmp[1]; } r;
	memset(&r, 0, sizeof r);
	r.r.bmp_len = 1;
	r.r.replay_window = 32;
	m_attr(&m, XFRMA_REPLAY_ESN_VAL, &r, sizeof r);
	struct xfrm_encap_tmpl e;
	memset(&e, 0, sizeof e);
	e.encap_type = UDP_ENCAP_ESPINUDP;
	e.encap_sport = htons(4500);
	e.encap_dport = htons(4501);
	m_attr(&m, XFRMA_ENCAP, &e, sizeof e);

	assert_int_equal(n, m.len);
	assert_memory_equal(out, m.b, n);
}

/* 3. Policies: ESP in tunnel mode with a template, block, bypass with an idle timeout. */
static void test_policies(void **state)
{
	(void)state;
	ss_xfrm_policy p = { .dir = SS_XFRM_FWD, .action = SS_XFRM_PROTECT, .slot = 3, .prio = 7,
			     .reqid = SS_XFRM_REQID_BASE + 1, .mode = SS_XFRM_TUNNEL,
			     .tsrc = a4("192.0.2.1"), .tdst = a4("192.0.2.2") };
	assert_true(ss_prefix_parse("10.1.0.0/16", &p.sel.src, false, &why));
	assert_true(ss_prefix_parse("10.2.0.0/16", &p.sel.dst, false, &why));
	p.sel.proto = IPPROTO_TCP;
	p.sel.dport = 443;
	size_t n = ss_xfrm_build_policy(out, sizeof out, 5, &p, false);

	struct xfrm_userpolicy_info u;
	memset(&u, 0, sizeof u);
	v4(&u.sel.saddr, "10.1.0.0");
	v4(&u.sel.daddr, "10.2.0.0");
	u.sel.prefixlen_s = u.sel.prefixlen_d = 16;
	u.sel.family = AF_INET;
	u.sel.proto = IPPROTO_TCP;
	u.sel.dport = htons(443);
	u.sel.dport_mask = 0xffff;
	inf_lft(&u.lft);
	u.priority = SS_XFRM_PRIO_BASE + 7;
	u.index = SS_XFRM_INDEX_BASE + 3 * 8 + XFRM_POLICY_FWD;
	u.dir = XFRM_POLICY_FWD;
	u.action = XFRM_POLICY_ALLOW;
	u.share = XFRM_SHARE_ANY;
	msg m;
	m_start(&m, XFRM_MSG_NEWPOLICY, NLM_F_REQUEST | NLM_F_ACK, 5, &u, sizeof u);
	struct xfrm_user_tmpl t;
	memset(&t, 0, sizeof t);
	v4(&t.id.daddr, "192.0.2.2");
	t.id.proto = IPPROTO_ESP;
	t.family = AF_INET;
	v4(&t.saddr, "192.0.2.1");
	t.reqid = SS_XFRM_REQID_BASE + 1;
	t.mode = XFRM_MODE_TUNNEL;
	t.share = XFRM_SHARE_ANY;
	t.aalgos = t.ealgos = t.calgos = ~0u;
	m_attr(&m, XFRMA_TMPL, &t, sizeof t);
	assert_int_equal(n, m.len);
	assert_memory_equal(out, m.b, n);

	/* Block: no template. */
	p.action = SS_XFRM_BLOCK;
	n = ss_xfrm_build_policy(out, sizeof out, 6, &p, true);
	u.action = XFRM_POLICY_BLOCK;
	m_start(&m, XFRM_MSG_UPDPOLICY, NLM_F_REQUEST | NLM_F_ACK, 6, &u, sizeof u);
	assert_int_equal(n, m.len);
	assert_memory_equal(out, m.b, n);

	/* Bypass that the kernel removes after 300 s without a packet. */
	p.action = SS_XFRM_BYPASS;
	p.idle_seconds = 300;
	n = ss_xfrm_build_policy(out, sizeof out, 7, &p, false);
	u.action = XFRM_POLICY_ALLOW;
	u.lft.hard_use_expires_seconds = 300;
	m_start(&m, XFRM_MSG_NEWPOLICY, NLM_F_REQUEST | NLM_F_ACK, 7, &u, sizeof u);
	assert_int_equal(n, m.len);
	assert_memory_equal(out, m.b, n);
}

/* 4. Requests by id, deletes, dumps. */
static void test_ids_and_dumps(void **state)
{
	(void)state;
	ss_addr d = a4("10.0.0.2");
	size_t n = ss_xfrm_build_sa_id(out, sizeof out, 3, true, &d, 0xabcd);
	struct xfrm_usersa_id id;
	memset(&id, 0, sizeof id);
	v4(&id.daddr, "10.0.0.2");
	id.spi = htonl(0xabcd);
	id.family = AF_INET;
	id.proto = IPPROTO_ESP;
	msg m;
	m_start(&m, XFRM_MSG_GETSA, NLM_F_REQUEST | NLM_F_ACK, 3, &id, sizeof id);
	assert_int_equal(n, m.len);
	assert_memory_equal(out, m.b, n);

	n = ss_xfrm_build_policy_del(out, sizeof out, 4, SS_XFRM_INDEX_BASE + 9, SS_XFRM_OUT);
	struct xfrm_userpolicy_id pid;
	memset(&pid, 0, sizeof pid);
	pid.index = SS_XFRM_INDEX_BASE + 9;
	pid.dir = XFRM_POLICY_OUT;
	m_start(&m, XFRM_MSG_DELPOLICY, NLM_F_REQUEST | NLM_F_ACK, 4, &pid, sizeof pid);
	assert_int_equal(n, m.len);
	assert_memory_equal(out, m.b, n);

	n = ss_xfrm_build_policy_id(out, sizeof out, 5, true, SS_XFRM_INDEX_BASE + 9, SS_XFRM_OUT);
	m_start(&m, XFRM_MSG_GETPOLICY, NLM_F_REQUEST | NLM_F_ACK, 5, &pid, sizeof pid);
	assert_int_equal(n, m.len);
	assert_memory_equal(out, m.b, n);

	/* ALLOCSPI: the larval state of (src, dst, reqid, transport) numbered in our range. */
	ss_addr src = a4("10.0.0.1"), dst = a4("10.0.0.2");
	n = ss_xfrm_build_allocspi(out, sizeof out, 6, &src, &dst, SS_XFRM_REQID_BASE + 7, SS_XFRM_TRANSPORT);
	struct xfrm_userspi_info us;
	memset(&us, 0, sizeof us);
	v4(&us.info.id.daddr, "10.0.0.2");
	us.info.id.proto = IPPROTO_ESP;
	v4(&us.info.saddr, "10.0.0.1");
	us.info.family = AF_INET;
	us.info.reqid = SS_XFRM_REQID_BASE + 7;
	us.info.mode = XFRM_MODE_TRANSPORT;
	us.min = SS_XFRM_LARVAL_SPI_MIN;
	us.max = SS_XFRM_LARVAL_SPI_MAX;
	m_start(&m, XFRM_MSG_ALLOCSPI, NLM_F_REQUEST | NLM_F_ACK, 6, &us, sizeof us);
	assert_int_equal(n, m.len);
	assert_memory_equal(out, m.b, n);
	/* Never for a reqid that is not ours, nor across families. */
	assert_int_equal(ss_xfrm_build_allocspi(out, sizeof out, 6, &src, &dst, 7, SS_XFRM_TRANSPORT), 0);
	ss_addr six = a4("10.0.0.3");
	six.family = SS_AF_INET6;
	assert_int_equal(ss_xfrm_build_allocspi(out, sizeof out, 6, &src, &six, SS_XFRM_REQID_BASE, SS_XFRM_TRANSPORT), 0);

	n = ss_xfrm_build_dump(out, sizeof out, 8, false);
	m_start(&m, XFRM_MSG_GETPOLICY, NLM_F_REQUEST | NLM_F_DUMP, 8, NULL, 0);
	assert_int_equal(n, m.len);
	assert_memory_equal(out, m.b, n);
}

/* 5. Refusals: numbered, each a reason the kernel would refuse too or a rule of ours. */
static void test_refusals(void **state)
{
	(void)state;
	ss_xfrm_sa ok = { .src = a4("10.0.0.1"), .dst = a4("10.0.0.2"), .spi = 1,
			  .reqid = SS_XFRM_REQID_BASE, .enc = SS_XFRM_AES_GCM16, .enc_key_len = 36,
			  .replay_window = 4096 };
	assert_true(ss_xfrm_build_sa(out, sizeof out, 1, &ok, false) > 0);
	struct { ss_xfrm_sa sa; const char *why; } bad[8];
	for (int i = 0; i < 8; i++)
		bad[i].sa = ok;
	bad[0].sa.reqid = 7;                     bad[0].why = "1 a reqid not ours";
	bad[1].sa.enc_key_len = 16;              bad[1].why = "2 GCM key without salt";
	bad[2].sa.replay_window = 4097;          bad[2].why = "3 window beyond the kernel's";
	bad[3].sa.replay_window = 0; bad[3].sa.esn = true; bad[3].why = "4 ESN without a window";
	assert_true(ss_addr_parse("::1", &bad[4].sa.dst)); bad[4].why = "5 mixed families";
	bad[5].sa.enc = SS_XFRM_AES_CBC; bad[5].sa.enc_key_len = 16; bad[5].why = "6 CBC without integrity";
	bad[6].sa.integ = SS_XFRM_HMAC_SHA256_128; bad[6].sa.integ_key_len = 32; bad[6].why = "7 GCM with an HMAC";
	bad[7].sa.enc = SS_XFRM_AES_CBC; bad[7].sa.enc_key_len = 16;
	bad[7].sa.integ = SS_XFRM_HMAC_SHA384_192; bad[7].sa.integ_key_len = 32; bad[7].why = "8 HMAC key of the wrong size";
	for (int i = 0; i < 8; i++) {
		size_t n = ss_xfrm_build_sa(out, sizeof out, 1, &bad[i].sa, false);
		if (n != 0)
			fail_msg("accepted: %s", bad[i].why);
	}
	assert_int_equal(ss_xfrm_build_sa(out, 100, 1, &ok, false), 0); /* buffer too small */

	ss_xfrm_policy p = { .dir = SS_XFRM_OUT, .action = SS_XFRM_BLOCK };
	assert_int_equal(ss_xfrm_build_policy(out, sizeof out, 1, &p, false), 0); /* no family */
	assert_true(ss_prefix_parse("0.0.0.0/0", &p.sel.src, false, &why));
	assert_true(ss_xfrm_build_policy(out, sizeof out, 1, &p, false) > 0);
	p.slot = SS_XFRM_SLOTS;
	assert_int_equal(ss_xfrm_build_policy(out, sizeof out, 1, &p, false), 0);
	p.slot = 0;
	p.action = SS_XFRM_PROTECT;
	p.reqid = 1;
	assert_int_equal(ss_xfrm_build_policy(out, sizeof out, 1, &p, false), 0); /* foreign reqid */
	p.reqid = SS_XFRM_REQID_BASE;
	p.mode = SS_XFRM_TUNNEL;
	assert_int_equal(ss_xfrm_build_policy(out, sizeof out, 1, &p, false), 0); /* tunnel, no ends */
	p.dir = 3;
	p.mode = SS_XFRM_TRANSPORT;
	assert_int_equal(ss_xfrm_build_policy(out, sizeof out, 1, &p, false), 0);
}

static void test_ownership(void **state)
{
	(void)state;
	assert_false(ss_xfrm_reqid_ours(SS_XFRM_REQID_BASE - 1));
	assert_true(ss_xfrm_reqid_ours(SS_XFRM_REQID_BASE));
	assert_true(ss_xfrm_reqid_ours(SS_XFRM_REQID_BASE + SS_XFRM_REQID_SPAN - 1));
	assert_false(ss_xfrm_reqid_ours(SS_XFRM_REQID_BASE + SS_XFRM_REQID_SPAN));
	assert_false(ss_xfrm_reqid_ours(0));
	uint32_t prio = SS_XFRM_PRIO_BASE + 1;
	uint32_t last = ss_xfrm_policy_index(SS_XFRM_SLOTS - 1, SS_XFRM_FWD);
	assert_true(ss_xfrm_policy_ours(SS_XFRM_INDEX_BASE, prio));
	assert_true(ss_xfrm_policy_ours(last, prio));
	assert_false(ss_xfrm_policy_ours(last + 6, prio));
	assert_false(ss_xfrm_policy_ours(SS_XFRM_INDEX_BASE - 8, prio));
	/* Our index with a foreign priority (or the reverse) is not ours. */
	assert_false(ss_xfrm_policy_ours(SS_XFRM_INDEX_BASE, 100));
	assert_false(ss_xfrm_policy_ours(SS_XFRM_INDEX_BASE, SS_XFRM_PRIO_BASE + SS_XFRM_PRIO_SPAN));
	assert_false(ss_xfrm_policy_ours(0x1000, prio));
	/* The direction lives in the low three bits, as the kernel checks. */
	assert_int_equal(ss_xfrm_policy_index(2, SS_XFRM_OUT) & 7, XFRM_POLICY_OUT);
}

/* --- parser: messages as the kernel sends them ------------------------------------ */

static void kernel_sa(struct xfrm_usersa_info *u)
{
	memset(u, 0, sizeof *u);
	u->sel.family = AF_INET;
	v4(&u->id.daddr, "10.0.0.2");
	u->id.spi = htonl(0x1001);
	u->id.proto = IPPROTO_ESP;
	v4(&u->saddr, "10.0.0.1");
	u->curlft.bytes = 12345;
	u->curlft.packets = 67;
	u->curlft.add_time = 1000;
	u->stats.replay = 3;
	u->stats.integrity_failed = 4;
	u->reqid = SS_XFRM_REQID_BASE + 2;
	u->family = AF_INET;
	u->mode = XFRM_MODE_TUNNEL;
}

static void test_parse_sa_and_ack(void **state)
{
	(void)state;
	struct xfrm_usersa_info u;
	kernel_sa(&u);
	msg m;
	m_start(&m, XFRM_MSG_NEWSA, 0, 42, &u, sizeof u);
	struct { struct xfrm_replay_state_esn r; uint32_t bmp[4]; } esn;
	memset(&esn, 0, sizeof esn);
	esn.r.bmp_len = 4;
	esn.r.oseq = 5;
	esn.r.oseq_hi = 1;
	esn.r.seq = 9;
	esn.r.replay_window = 128;
	m_attr(&m, XFRMA_REPLAY_ESN_VAL, &esn, sizeof esn);
	uint8_t unknown[3] = { 1, 2, 3 };
	m_attr(&m, 200, unknown, sizeof unknown); /* a newer kernel's attribute: ignored */
	/* An ACK after it in the same buffer. */
	struct nlmsgerr e = { .error = -17 };
	msg a;
	m_start(&a, NLMSG_ERROR, 0, 43, &e, sizeof e);
	memcpy(m.b + m.len, a.b, a.len);
	size_t len = m.len + a.len;

	ss_xfrm_event ev[4];
	uint64_t bad = 0;
	size_t used = 0;
	assert_int_equal(ss_xfrm_parse(m.b, len, ev, 4, &bad, &used), 2);
	assert_int_equal(bad, 0);
	assert_int_equal(used, len);
	assert_int_equal(ev[0].kind, SS_XFRM_EV_SA);
	assert_int_equal(ev[0].seq, 42);
	assert_int_equal(ev[0].sa.spi, 0x1001);
	assert_true(ss_addr_eq(&ev[0].sa.dst, &(ss_addr){ .family = SS_AF_INET, .a = { 10, 0, 0, 2 } }));
	assert_true(ss_addr_eq(&ev[0].sa.src, &(ss_addr){ .family = SS_AF_INET, .a = { 10, 0, 0, 1 } }));
	assert_int_equal(ev[0].sa.bytes, 12345);
	assert_int_equal(ev[0].sa.packets, 67);
	assert_int_equal(ev[0].sa.replay_drops, 3);
	assert_int_equal(ev[0].sa.integrity_failures, 4);
	assert_int_equal(ev[0].sa.reqid, SS_XFRM_REQID_BASE + 2);
	assert_int_equal(ev[0].sa.mode, SS_XFRM_TUNNEL);
	assert_int_equal(ev[0].sa.seq_out, (1ull << 32) | 5);
	assert_int_equal(ev[0].sa.seq_in, 9);
	assert_int_equal(ev[1].kind, SS_XFRM_EV_ACK);
	assert_int_equal(ev[1].seq, 43);
	assert_int_equal(ev[1].err, -17);

	/* Batches: with room for one event, the first call stops after the SA. */
	assert_int_equal(ss_xfrm_parse(m.b, len, ev, 1, &bad, &used), 1);
	assert_int_equal(used, m.len);
	assert_int_equal(ss_xfrm_parse(m.b + used, len - used, ev, 1, &bad, &used), 1);
	assert_int_equal(ev[0].kind, SS_XFRM_EV_ACK);
}

static void test_parse_events(void **state)
{
	(void)state;
	msg all, m;
	memset(&all, 0, sizeof all);
	/* EXPIRE (soft) */
	struct xfrm_user_expire ue;
	memset(&ue, 0, sizeof ue);
	kernel_sa(&ue.state);
	ue.hard = 0;
	m_start(&m, XFRM_MSG_EXPIRE, 0, 0, &ue, sizeof ue);
	memcpy(all.b, m.b, m.len);
	all.len = m.len;
	/* ACQUIRE with its template */
	struct xfrm_user_acquire aq;
	memset(&aq, 0, sizeof aq);
	v4(&aq.id.daddr, "10.0.0.2");
	aq.id.proto = IPPROTO_ESP;
	v4(&aq.saddr, "10.0.0.1");
	v4(&aq.sel.saddr, "10.0.0.1");
	v4(&aq.sel.daddr, "10.0.0.2");
	aq.sel.prefixlen_s = aq.sel.prefixlen_d = 32;
	aq.sel.family = AF_INET;
	aq.sel.proto = IPPROTO_UDP;
	aq.sel.dport = htons(7777);
	aq.sel.dport_mask = 0xffff;
	aq.policy.sel.family = AF_INET;
	aq.policy.index = SS_XFRM_INDEX_BASE + 17;
	aq.policy.priority = SS_XFRM_PRIO_BASE + 50;
	aq.policy.dir = XFRM_POLICY_OUT;
	aq.seq = 99;
	m_start(&m, XFRM_MSG_ACQUIRE, 0, 0, &aq, sizeof aq);
	struct xfrm_user_tmpl t;
	memset(&t, 0, sizeof t);
	t.id.proto = IPPROTO_ESP;
	t.family = AF_INET;
	t.reqid = SS_XFRM_REQID_BASE + 2;
	m_attr(&m, XFRMA_TMPL, &t, sizeof t);
	memcpy(all.b + all.len, m.b, m.len);
	all.len += m.len;
	/* POLEXPIRE (hard) of an idle bypass */
	struct xfrm_user_polexpire pe;
	memset(&pe, 0, sizeof pe);
	pe.pol.sel.family = AF_INET6;
	v6(&pe.pol.sel.daddr, "fd00::2");
	pe.pol.sel.prefixlen_d = 128;
	pe.pol.index = SS_XFRM_INDEX_BASE + 25;
	pe.pol.priority = SS_XFRM_PRIO_BASE;
	pe.pol.dir = XFRM_POLICY_OUT;
	pe.hard = 1;
	m_start(&m, XFRM_MSG_POLEXPIRE, 0, 0, &pe, sizeof pe);
	memcpy(all.b + all.len, m.b, m.len);
	all.len += m.len;
	/* DONE, then a message type we do not use (skipped, not malformed). */
	m_start(&m, NLMSG_DONE, 0, 5, &(int){ 0 }, sizeof(int));
	memcpy(all.b + all.len, m.b, m.len);
	all.len += m.len;
	m_start(&m, XFRM_MSG_DELSA, 0, 0, &ue, 16);
	memcpy(all.b + all.len, m.b, m.len);
	all.len += m.len;

	ss_xfrm_event ev[8];
	uint64_t bad = 0;
	assert_int_equal(ss_xfrm_parse(all.b, all.len, ev, 8, &bad, NULL), 4);
	assert_int_equal(bad, 0);
	assert_int_equal(ev[0].kind, SS_XFRM_EV_EXPIRE);
	assert_false(ev[0].hard);
	assert_int_equal(ev[0].sa.spi, 0x1001);
	assert_int_equal(ev[0].sa.packets, 67);
	assert_int_equal(ev[1].kind, SS_XFRM_EV_ACQUIRE);
	assert_int_equal(ev[1].seq, 99);
	assert_int_equal(ev[1].sa.reqid, SS_XFRM_REQID_BASE + 2);
	assert_int_equal(ev[1].sel.dport, 7777);
	assert_int_equal(ev[1].sel.proto, IPPROTO_UDP);
	assert_int_equal(ev[1].sel.dst.len, 32);
	assert_int_equal(ev[1].index, SS_XFRM_INDEX_BASE + 17);
	assert_int_equal(ev[1].dir, SS_XFRM_OUT);
	assert_true(ss_addr_eq(&ev[1].sa.dst, &(ss_addr){ .family = SS_AF_INET, .a = { 10, 0, 0, 2 } }));
	assert_int_equal(ev[2].kind, SS_XFRM_EV_POLEXPIRE);
	assert_true(ev[2].hard);
	assert_int_equal(ev[2].index, SS_XFRM_INDEX_BASE + 25);
	assert_int_equal(ev[2].sel.dst.addr.family, SS_AF_INET6);
	assert_int_equal(ev[2].sel.dst.len, 128);
	assert_int_equal(ev[3].kind, SS_XFRM_EV_DONE);
	assert_int_equal(ev[3].seq, 5);
}

/* Broken input: numbered; each is counted and nothing past it is trusted or read. */
static void test_parse_malformed(void **state)
{
	(void)state;
	ss_xfrm_event ev[4];
	uint64_t bad;
	struct xfrm_usersa_info u;
	kernel_sa(&u);
	msg m;

	/* 1. The SA struct cut short. */
	m_start(&m, XFRM_MSG_NEWSA, 0, 1, &u, sizeof u - 8);
	bad = 0;
	assert_int_equal(ss_xfrm_parse(m.b, m.len, ev, 4, &bad, NULL), 0);
	assert_int_equal(bad, 1);

	/* 2. nlmsg_len beyond the buffer. */
	m_start(&m, XFRM_MSG_NEWSA, 0, 1, &u, sizeof u);
	bad = 0;
	assert_int_equal(ss_xfrm_parse(m.b, m.len - 4, ev, 4, &bad, NULL), 0);
	assert_int_equal(bad, 1);

	/* 3. nlmsg_len below the header's own size. */
	struct nlmsghdr h = { .nlmsg_len = 8, .nlmsg_type = NLMSG_DONE };
	memcpy(m.b, &h, sizeof h);
	bad = 0;
	assert_int_equal(ss_xfrm_parse(m.b, 16, ev, 4, &bad, NULL), 0);
	assert_int_equal(bad, 1);

	/* 4. An attribute longer than its message. */
	m_start(&m, XFRM_MSG_NEWSA, 0, 1, &u, sizeof u);
	struct nlattr a = { .nla_len = 200, .nla_type = XFRMA_REPLAY_ESN_VAL };
	m_attr(&m, 1, &a, 0);
	memcpy(m.b + m.len - 4, &a, sizeof a);
	bad = 0;
	assert_int_equal(ss_xfrm_parse(m.b, m.len, ev, 4, &bad, NULL), 0);
	assert_int_equal(bad, 1);

	/* 5. An attribute length below 4. */
	a.nla_len = 2;
	memcpy(m.b + m.len - 4, &a, sizeof a);
	bad = 0;
	assert_int_equal(ss_xfrm_parse(m.b, m.len, ev, 4, &bad, NULL), 0);
	assert_int_equal(bad, 1);

	/* 6. An impossible prefix length or family in an ACQUIRE's selector. */
	struct xfrm_user_acquire aq;
	memset(&aq, 0, sizeof aq);
	aq.sel.family = AF_INET;
	aq.policy.sel.family = AF_INET;
	aq.sel.prefixlen_d = 33;
	m_start(&m, XFRM_MSG_ACQUIRE, 0, 0, &aq, sizeof aq);
	bad = 0;
	assert_int_equal(ss_xfrm_parse(m.b, m.len, ev, 4, &bad, NULL), 0);
	assert_int_equal(bad, 1);
	aq.sel.prefixlen_d = 32;
	aq.sel.family = 99;
	m_start(&m, XFRM_MSG_ACQUIRE, 0, 0, &aq, sizeof aq);
	bad = 0;
	assert_int_equal(ss_xfrm_parse(m.b, m.len, ev, 4, &bad, NULL), 0);
	assert_int_equal(bad, 1);

	/* 7. A positive error number is not something the kernel sends. */
	struct nlmsgerr e = { .error = 5 };
	m_start(&m, NLMSG_ERROR, 0, 1, &e, sizeof e);
	bad = 0;
	assert_int_equal(ss_xfrm_parse(m.b, m.len, ev, 4, &bad, NULL), 0);
	assert_int_equal(bad, 1);

	/* 8. A bad message followed by a good one: the good one still counts. */
	m_start(&m, XFRM_MSG_NEWSA, 0, 1, &u, 10);
	msg ok;
	m_start(&ok, NLMSG_DONE, 0, 2, &(int){ 0 }, sizeof(int));
	memcpy(m.b + m.len, ok.b, ok.len);
	bad = 0;
	assert_int_equal(ss_xfrm_parse(m.b, m.len + ok.len, ev, 4, &bad, NULL), 1);
	assert_int_equal(bad, 1);
	assert_int_equal(ev[0].kind, SS_XFRM_EV_DONE);

	/* 9. Nothing, and less than a header. */
	bad = 0;
	assert_int_equal(ss_xfrm_parse(m.b, 0, ev, 4, &bad, NULL), 0);
	assert_int_equal(ss_xfrm_parse(m.b, 15, ev, 4, &bad, NULL), 0);
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sa_gcm_esn),
		cmocka_unit_test(test_sa_cbc_v6_encap_limits),
		cmocka_unit_test(test_policies),
		cmocka_unit_test(test_ids_and_dumps),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_ownership),
		cmocka_unit_test(test_parse_sa_and_ack),
		cmocka_unit_test(test_parse_events),
		cmocka_unit_test(test_parse_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
