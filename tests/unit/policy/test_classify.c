/* Classifier tests: the weight function, a numbered table of edge cases, and the compiled
 * classifier compared against the naive oracle on random policies and packets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tpolicy.h"

/* ---------------------------------------------------------------- weights */

static ss_filter mkf(ss_endpoint s, ss_endpoint d, int proto, uint16_t slo, uint16_t shi,
		     uint16_t dlo, uint16_t dhi)
{
	ss_filter f = { .src = s, .dst = d, .proto = proto, .sport = { slo, shi },
			.dport = { dlo, dhi }, .mirrored = true };
	return f;
}

static void weight_table(void **state)
{
	static const struct {
		const char *src, *dst; /* "any", "me" or a prefix */
		int proto;
		uint16_t slo, shi, dlo, dhi;
		uint16_t addr;
		uint8_t proto_w;
		uint32_t ports;
	} t[] = {
		/* 1 */ { "any", "any", SS_PROTO_ANY, 0, 65535, 0, 65535, 0, 0, 0 },
		/* 2 */ { "me", "any", SS_PROTO_ANY, 0, 65535, 0, 65535, 128, 0, 0 },
		/* 3 */ { "me", "10.1.2.3", SS_PROTO_ANY, 0, 65535, 0, 65535, 256, 0, 0 },
		/* 4 */ { "me", "2001:db8::1", SS_PROTO_ANY, 0, 65535, 0, 65535, 256, 0, 0 },
		/* 5 */ { "10.0.0.0/8", "any", SS_PROTO_ANY, 0, 65535, 0, 65535, 104, 0, 0 },
		/* 6 */ { "0.0.0.0/0", "any", SS_PROTO_ANY, 0, 65535, 0, 65535, 96, 0, 0 },
		/* 7 */ { "2001:db8::/32", "10.0.0.0/24", SS_PROTO_ANY, 0, 65535, 0, 65535, 152, 0, 0 },
		/* 8 */ { "any", "any", 6, 0, 65535, 0, 65535, 0, 1, 0 },
		/* 9 */ { "any", "any", 6, 0, 65535, 80, 80, 0, 1, 65535 },
		/* 10 */ { "any", "any", 6, 1024, 65535, 443, 443, 0, 1, 1024 + 65535 },
		/* 11 */ { "any", "any", SS_PROTO_ANY, 0, 0, 0, 0, 0, 0, 2 * 65535 },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ss_endpoint s = !strcmp(t[i].src, "any") ? tp_any() : !strcmp(t[i].src, "me") ? tp_me() : tp_pfx(t[i].src);
		ss_endpoint d = !strcmp(t[i].dst, "any") ? tp_any() : !strcmp(t[i].dst, "me") ? tp_me() : tp_pfx(t[i].dst);
		ss_filter f = mkf(s, d, t[i].proto, t[i].slo, t[i].shi, t[i].dlo, t[i].dhi);
		ss_weight w = ss_filter_weight(&f);
		if (w.addr != t[i].addr || w.proto != t[i].proto_w || w.ports != t[i].ports)
			fail_msg("row %zu: got %u/%u/%u", i + 1, w.addr, w.proto, w.ports);
	}
}

static void weight_order_is_lexicographic(void **state)
{
	ss_weight a = { 200, 0, 0 }, b = { 199, 1, 131070 }, c = { 200, 1, 0 }, d = { 200, 1, 5 };
	assert_true(ss_weight_cmp(a, b) > 0);
	assert_true(ss_weight_cmp(b, a) < 0);
	assert_true(ss_weight_cmp(c, a) > 0);
	assert_true(ss_weight_cmp(d, c) > 0);
	assert_int_equal(ss_weight_cmp(d, d), 0);
}

/* ------------------------------------------------------------ edge cases */

/* One policy exercising each rule of the semantics; each row names the expected rule
 * ("-" for no match), filter index in its list and whether the mirror matched. */
static void edge_cases(void **state)
{
	ss_policy *p = tp_new(4, 2, 5);
	ss_filter_action *neg = tp_action(p, "neg", SS_ACT_NEGOTIATE);
	ss_filter_list *a = tp_list(p, "a"), *b = tp_list(p, "b"), *c = tp_list(p, "c");
	ss_filter_list *unused = tp_list(p, "unused");
	tp_filter(a, tp_me(), tp_pfx("10.0.0.5"), SS_PROTO_ANY, true);             /* a0 */
	tp_filter(a, tp_pfx("10.0.0.0/24"), tp_pfx("10.9.0.0/16"), SS_PROTO_ANY, false); /* a1 */
	tp_filter(a, tp_any(), tp_any(), SS_PROTO_ANY, true);                      /* a2 */
	tp_filter(b, tp_me(), tp_pfx("10.0.0.5"), SS_PROTO_ANY, true);             /* b0: tie with a0 */
	tp_filter(b, tp_me(), tp_any(), SS_PROTO_ANY, false);                      /* b1 */
	tp_filter(b, tp_any(), tp_any(), SS_PROTO_ANY, true);                      /* b2 */
	tp_last(b)->dport = (ss_port_range){ 80, 80 };
	tp_filter(c, tp_pfx("2001:db8::/32"), tp_me(), 58, true);                  /* c0 */
	tp_filter(c, tp_me(), tp_me(), SS_PROTO_ANY, true);                        /* c1 */
	tp_filter(c, tp_pfx("10.0.0.7"), tp_any(), 17, true);                      /* c2 */
	tp_last(c)->sport = (ss_port_range){ 500, 500 };
	tp_filter(unused, tp_any(), tp_pfx("10.7.7.7"), SS_PROTO_ANY, true);
	tp_rule(p, "r0", a, neg);
	tp_rule(p, "r1", b, neg);
	tp_rule(p, "r2", c, neg);
	tp_rule(p, "r3", a, neg); /* the same list again: never wins a tie against r0 */
	tp_rule(p, "r4", NULL, neg);

	static const struct {
		uint8_t dir;
		const char *src, *dst;
		uint8_t proto;
		uint16_t sport, dport;
		const char *rule;
		size_t filter;
		bool mirrored;
	} t[] = {
		/* 1: me -> host outbound; tie between a0 and b0 goes to the earlier rule */
		{ SS_DIR_OUT, "192.168.1.1", "10.0.0.5", 6, 1000, 22, "r0", 0, false },
		/* 2: the mirror of me -> host matches inbound host -> me */
		{ SS_DIR_IN, "10.0.0.5", "192.168.1.1", 6, 22, 1000, "r0", 0, true },
		/* 3: `me` is only the local side: inbound me->host shape is not the forward filter */
		{ SS_DIR_IN, "192.168.1.1", "10.0.0.5", 6, 1000, 22, "r0", 2, false },
		/* 4: subnet pair, not mirrored: forward only */
		{ SS_DIR_IN, "10.0.0.9", "10.9.3.3", 1, 0, 0, "r0", 1, false },
		/* 5: ...its reverse falls to the next most specific: b1 (me -> any) outbound */
		{ SS_DIR_OUT, "10.9.3.3", "10.0.0.9", 1, 0, 0, "r1", 1, false },
		/* 6: any -> any mirrored: forward before its mirror */
		{ SS_DIR_IN, "10.1.1.1", "10.2.2.2", 1, 0, 0, "r0", 2, false },
		/* 7: port filter beats the bare any -> any */
		{ SS_DIR_IN, "10.1.1.1", "10.2.2.2", 6, 1234, 80, "r1", 2, false },
		/* 8: its mirror: source port 80 */
		{ SS_DIR_IN, "10.1.1.1", "10.2.2.2", 6, 80, 1234, "r1", 2, true },
		/* 9: proto any with a port range requires TCP/UDP/SCTP: ICMP never has port 80 */
		{ SS_DIR_IN, "10.1.1.1", "10.2.2.2", 1, 0, 80, "r0", 2, false },
		/* 10: SCTP counts as a protocol with ports */
		{ SS_DIR_IN, "10.1.1.1", "10.2.2.2", 132, 5, 80, "r1", 2, false },
		/* 11: IPv6 prefix -> me ICMPv6 inbound */
		{ SS_DIR_IN, "2001:db8:5::1", "2001:db8:9::9", 58, 0, 0, "r2", 0, false },
		/* 12: outbound: the mirror (me -> prefix) needs dst in the prefix; no */
		{ SS_DIR_OUT, "2001:db8:5::1", "2001:db9::9", 58, 0, 0, "r1", 1, false },
		/* 13: mirror of c0: outbound me -> 2001:db8::/32 */
		{ SS_DIR_OUT, "2001:db9::1", "2001:db8::1", 58, 0, 0, "r2", 0, true },
		/* 14: an IPv4 prefix never matches IPv6; any and me do */
		{ SS_DIR_IN, "::ffff:10.0.0.7", "::1", 17, 500, 500, "r0", 2, false },
		/* 15: host:500 udp -> any (c2: 128, proto, port) beats me -> any (b1: 128) */
		{ SS_DIR_OUT, "10.0.0.7", "10.3.3.3", 17, 500, 4500, "r2", 2, false },
		/* 16: me -> any (128) beats c2 when the port differs */
		{ SS_DIR_OUT, "10.0.0.7", "10.3.3.3", 17, 501, 4500, "r1", 1, false },
		/* 17: inbound to 10.0.0.7:500 — the mirror of c2 */
		{ SS_DIR_IN, "10.3.3.3", "10.0.0.7", 17, 4500, 500, "r2", 2, true },
		/* 18: the unused list's filter never matches */
		{ SS_DIR_IN, "10.3.3.3", "10.7.7.7", 1, 0, 0, "r0", 2, false },
	};
	ss_classifier *cl = ss_classifier_build(p);
	assert_non_null(cl);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ss_pkt_key k = tp_key(t[i].dir, t[i].src, t[i].dst, t[i].proto, t[i].sport, t[i].dport);
		ss_match m, o;
		bool got = ss_classify(cl, &k, &m), want = tp_oracle(p, &k, &o);
		if (got != want || (got && (m.rule != o.rule || m.filter != o.filter || m.mirrored != o.mirrored)))
			fail_msg("row %zu: classifier and oracle disagree", i + 1);
		if (!strcmp(t[i].rule, "-")) {
			if (got)
				fail_msg("row %zu: expected no match, got %s", i + 1, m.rule->name);
			continue;
		}
		if (!got)
			fail_msg("row %zu: expected %s, got no match", i + 1, t[i].rule);
		if (strcmp(m.rule->name, t[i].rule) || m.filter != &m.rule->list->filters[t[i].filter] ||
		    m.mirrored != t[i].mirrored)
			fail_msg("row %zu: expected %s/%zu%s, got %s/%zu%s", i + 1, t[i].rule, t[i].filter,
				 t[i].mirrored ? " mirrored" : "", m.rule->name,
				 (size_t)(m.filter - m.rule->list->filters), m.mirrored ? " mirrored" : "");
	}
	/* Keys the classifier refuses: mixed families, no family. */
	ss_pkt_key k = tp_key(SS_DIR_OUT, "10.0.0.1", "2001:db8::1", 6, 1, 2);
	ss_match m;
	assert_false(ss_classify(cl, &k, &m));
	memset(&k, 0, sizeof(k));
	assert_false(ss_classify(cl, &k, &m));
	assert_true(ss_classifier_memory(cl) > 0);
	ss_classifier_free(cl);
	ss_policy_free(p);
}

static void empty_policy_matches_nothing(void **state)
{
	ss_policy *p = tp_new(0, 0, 0);
	ss_classifier *cl = ss_classifier_build(p);
	assert_non_null(cl);
	ss_pkt_key k = tp_key(SS_DIR_OUT, "10.0.0.1", "10.0.0.2", 6, 1, 2);
	ss_match m;
	assert_false(ss_classify(cl, &k, &m));
	ss_classifier_free(cl);
	ss_classifier_free(NULL);
	ss_policy_free(p);
}

/* Filters the loader would refuse never match, and never crash the compiler. */
static void malformed_filters_match_nothing(void **state)
{
	ss_policy *p = tp_new(1, 1, 1);
	ss_filter_list *l = tp_list(p, "bad");
	tp_rule(p, "r", l, tp_action(p, "a", SS_ACT_BLOCK));
	ss_endpoint long4 = tp_pfx("10.0.0.0/8"), long6 = tp_pfx("2001:db8::/32"), odd = tp_any();
	long4.prefix.len = 33;
	long6.prefix.len = 255;
	odd.kind = 9;
	ss_endpoint nofam = tp_pfx("10.0.0.0/8");
	nofam.prefix.addr.family = SS_AF_NONE;
	tp_filter(l, long4, tp_any(), SS_PROTO_ANY, true);
	tp_filter(l, tp_me(), long6, SS_PROTO_ANY, true);
	tp_filter(l, odd, tp_any(), SS_PROTO_ANY, true);
	tp_filter(l, tp_any(), nofam, SS_PROTO_ANY, true);
	tp_filter(l, tp_pfx("10.0.0.0/8"), tp_pfx("2001:db8::/32"), SS_PROTO_ANY, true);
	ss_classifier *cl = ss_classifier_build(p);
	assert_non_null(cl);
	static const char *const addrs[][2] = { { "10.1.2.3", "10.3.2.1" }, { "2001:db8::1", "2001:db8::2" } };
	for (int i = 0; i < 2; i++)
		for (uint8_t dir = 0; dir < 2; dir++) {
			ss_pkt_key k = tp_key(dir, addrs[i][0], addrs[i][1], 6, 1, 2);
			ss_match m;
			assert_false(ss_classify(cl, &k, &m));
		}
	ss_classifier_free(cl);
	ss_policy_free(p);
}

/* ------------------------------------------------------ random differential */

/* Addresses come from a small pool so that filters overlap, nest and tie often. */
static ss_addr pool_addr(tp_rng *r, int family)
{
	uint8_t b[16] = { 0 };
	if (family == SS_AF_INET) {
		uint32_t v = 0x0a000000u | tp_below(r, 2) << 16 | tp_below(r, 3) << 8 | tp_below(r, 4);
		if (tp_below(r, 8) == 0)
			v = (uint32_t)tp_next(r);
		return ss_addr_v4(v);
	}
	b[0] = 0x20, b[1] = 0x01, b[2] = 0x0d, b[3] = 0xb8;
	b[5] = (uint8_t)tp_below(r, 2);
	b[15] = (uint8_t)tp_below(r, 4);
	if (tp_below(r, 8) == 0)
		for (int i = 0; i < 16; i++)
			b[i] = (uint8_t)tp_next(r);
	return ss_addr_v6(b);
}

static ss_endpoint rand_endpoint(tp_rng *r, int family)
{
	static const uint8_t len4[] = { 0, 8, 16, 22, 24, 30, 31, 32, 32, 32 };
	static const uint8_t len6[] = { 0, 32, 40, 48, 64, 120, 126, 127, 128, 128 };
	uint32_t x = tp_below(r, 10);
	if (x < 2)
		return tp_any();
	if (x < 4)
		return tp_me();
	ss_endpoint e = { .kind = SS_EP_PREFIX };
	ss_addr a = pool_addr(r, family);
	unsigned len = family == SS_AF_INET ? len4[tp_below(r, 10)] : len6[tp_below(r, 10)];
	e.prefix = ss_prefix_make(&a, len);
	return e;
}

static ss_port_range rand_range(tp_rng *r)
{
	static const ss_port_range ranges[] = { { 22, 22 }, { 80, 80 }, { 500, 500 },
						{ 1024, 65535 }, { 0, 1023 }, { 80, 443 } };
	if (tp_below(r, 2))
		return (ss_port_range){ 0, 65535 };
	return ranges[tp_below(r, sizeof(ranges) / sizeof(ranges[0]))];
}

static const int protos[] = { 1, 6, 17, 58, 132, 50 };
static bool has_ports(int proto) { return proto == 6 || proto == 17 || proto == 132; }

static void rand_filter(tp_rng *r, ss_filter_list *l, int families)
{
	if (l->n_filters && tp_below(r, 8) == 0) {
		/* An exact duplicate of an earlier filter: ties by order. */
		ss_filter dup = l->filters[tp_below(r, (uint32_t)l->n_filters)];
		tp_filter(l, dup.src, dup.dst, dup.proto, dup.mirrored);
		*tp_last(l) = dup;
		return;
	}
	int fam = families != 3 ? families * 2 + 2 : tp_below(r, 2) ? SS_AF_INET : SS_AF_INET6;
	ss_endpoint s = rand_endpoint(r, fam);
	/* Now and then a family mix, which can never match anything. */
	ss_endpoint d = rand_endpoint(r, tp_below(r, 30) ? fam : (fam == SS_AF_INET ? SS_AF_INET6 : SS_AF_INET));
	int proto = tp_below(r, 5) < 2 ? SS_PROTO_ANY : protos[tp_below(r, 6)];
	tp_filter(l, s, d, proto, tp_below(r, 10) < 7);
	if (proto == SS_PROTO_ANY || has_ports(proto)) {
		tp_last(l)->sport = rand_range(r);
		tp_last(l)->dport = rand_range(r);
	}
}

static ss_policy *rand_policy(tp_rng *r)
{
	size_t nl = 1 + tp_below(r, 4), nr = 1 + tp_below(r, 5);
	int families = 1 + (int)tp_below(r, 3); /* 1: IPv4, 2: IPv6, 3: both */
	ss_policy *p = tp_new(nl, 1, nr);
	ss_filter_action *act = tp_action(p, "act", SS_ACT_NEGOTIATE);
	for (size_t i = 0; i < nl; i++) {
		ss_filter_list *l = tp_list(p, "l");
		size_t nf = tp_below(r, 14);
		for (size_t j = 0; j < nf; j++)
			rand_filter(r, l, families);
	}
	for (size_t i = 0; i < nr; i++)
		tp_rule(p, "r", tp_below(r, 20) ? &p->lists[tp_below(r, (uint32_t)nl)] : NULL, act);
	return p;
}

/* An address inside the endpoint, or anywhere when it has no prefix. */
static ss_addr addr_in(tp_rng *r, const ss_endpoint *e, int family)
{
	if (e->kind != SS_EP_PREFIX)
		return pool_addr(r, family);
	ss_addr a = e->prefix.addr;
	for (unsigned i = e->prefix.len; i < ss_addr_bits(&a); i++)
		if (tp_below(r, 2))
			a.a[i >> 3] |= (uint8_t)(0x80 >> (i & 7));
	return a;
}

static uint16_t port_in(tp_rng *r, ss_port_range pr)
{
	if (pr.lo == 0 && pr.hi == 65535 && tp_below(r, 2)) {
		static const uint16_t common[] = { 0, 22, 80, 443, 500, 1023, 1024, 65535 };
		return common[tp_below(r, 8)];
	}
	return (uint16_t)(pr.lo + tp_below(r, (uint32_t)pr.hi - pr.lo + 1));
}

static ss_pkt_key rand_key(tp_rng *r, const ss_policy *p)
{
	ss_pkt_key k = { .dir = (uint8_t)tp_below(r, 2) };
	const ss_filter *f = NULL;
	const ss_filter_list *l = p->n_lists ? &p->lists[tp_below(r, (uint32_t)p->n_lists)] : NULL;
	if (l && l->n_filters && tp_below(r, 3))
		f = &l->filters[tp_below(r, (uint32_t)l->n_filters)];
	int fam = tp_below(r, 2) ? SS_AF_INET : SS_AF_INET6;
	if (f && f->src.kind == SS_EP_PREFIX)
		fam = f->src.prefix.addr.family;
	else if (f && f->dst.kind == SS_EP_PREFIX)
		fam = f->dst.prefix.addr.family;
	ss_endpoint any = tp_any();
	k.src = addr_in(r, f ? &f->src : &any, fam);
	k.dst = addr_in(r, f ? &f->dst : &any, fam);
	k.proto = (uint8_t)(f && f->proto != SS_PROTO_ANY ? f->proto
			    : tp_below(r, 10) ? protos[tp_below(r, 6)] : (int)tp_below(r, 256));
	if (has_ports(k.proto)) {
		k.sport = port_in(r, f ? f->sport : (ss_port_range){ 0, 65535 });
		k.dport = port_in(r, f ? f->dport : (ss_port_range){ 0, 65535 });
	}
	if (f && f->mirrored && tp_below(r, 2)) {
		ss_addr t = k.src;
		k.src = k.dst;
		k.dst = t;
		uint16_t u = k.sport;
		k.sport = k.dport;
		k.dport = u;
	}
	if (tp_below(r, 200) == 0)
		k.dst = pool_addr(r, fam == SS_AF_INET ? SS_AF_INET6 : SS_AF_INET);
	return k;
}

static void describe(const ss_policy *p, const ss_pkt_key *k)
{
	char a[SS_PREFIX_STRLEN], b[SS_PREFIX_STRLEN];
	for (size_t i = 0; i < p->n_rules; i++) {
		const ss_filter_list *l = p->rules[i].list;
		fprintf(stderr, "rule %zu: list %td\n", i, l ? l - p->lists : -1);
	}
	for (size_t i = 0; i < p->n_lists; i++)
		for (size_t j = 0; j < p->lists[i].n_filters; j++) {
			const ss_filter *f = &p->lists[i].filters[j];
			fprintf(stderr, "  list %zu filter %zu: %s -> %s proto %d sport %u-%u dport %u-%u%s\n", i, j,
				f->src.kind == SS_EP_ANY ? "any" : f->src.kind == SS_EP_ME ? "me" : ss_prefix_fmt(&f->src.prefix, a),
				f->dst.kind == SS_EP_ANY ? "any" : f->dst.kind == SS_EP_ME ? "me" : ss_prefix_fmt(&f->dst.prefix, b),
				f->proto, f->sport.lo, f->sport.hi, f->dport.lo, f->dport.hi,
				f->mirrored ? " mirrored" : "");
		}
	fprintf(stderr, "packet %s: %s -> %s proto %u %u -> %u\n", k->dir ? "in" : "out",
		ss_addr_fmt(&k->src, a), ss_addr_fmt(&k->dst, b), k->proto, k->sport, k->dport);
}

static void report(const char *who, bool ok, const ss_match *m, const ss_policy *p)
{
	if (!ok) {
		fprintf(stderr, "%s: no match\n", who);
		return;
	}
	fprintf(stderr, "%s: rule %td filter %td%s\n", who, m->rule - p->rules,
		m->filter - m->rule->list->filters, m->mirrored ? " mirrored" : "");
}

static void random_policies_agree_with_oracle(void **state)
{
	uint64_t seed = 0x5eed5a1e2026ULL;
	const char *env = getenv("SS_TEST_SEED");
	if (env)
		seed = strtoull(env, NULL, 0);
	tp_rng r = { seed | 1 };
	size_t matched = 0, mirrored = 0, total = 0;
	enum { KEYS = 1000 };
	ss_pkt_key *keys = malloc(KEYS * sizeof(*keys));
	ss_match *bm = malloc(KEYS * sizeof(*bm));
	bool *bf = malloc(KEYS * sizeof(*bf));
	assert_non_null(keys);
	assert_non_null(bm);
	assert_non_null(bf);
	for (int pi = 0; pi < 1000; pi++) {
		ss_policy *p = rand_policy(&r);
		ss_classifier *cl = ss_classifier_build(p);
		assert_non_null(cl);
		for (int ki = 0; ki < KEYS; ki++)
			keys[ki] = rand_key(&r, p);
		/* The batch interface answers like the single one (odd size: a partial group). */
		size_t batch_hits = ss_classify_batch(cl, keys, KEYS - 3, bm, bf);
		size_t want_hits = 0;
		for (int ki = 0; ki < KEYS; ki++) {
			const ss_pkt_key *k = &keys[ki];
			ss_match m = { 0 }, o = { 0 };
			bool got = ss_classify(cl, k, &m), want = tp_oracle(p, k, &o);
			total++;
			matched += want;
			mirrored += want && o.mirrored;
			if (ki < KEYS - 3) {
				want_hits += want;
				if (bf[ki] != want || (want && (bm[ki].rule != o.rule || bm[ki].filter != o.filter ||
							 bm[ki].mirrored != o.mirrored)))
					fail_msg("seed %#llx policy %d packet %d: batch disagrees",
						 (unsigned long long)seed, pi, ki);
			}
			if (got != want || (got && (m.rule != o.rule || m.filter != o.filter ||
						    m.mirrored != o.mirrored))) {
				describe(p, k);
				report("classifier", got, &m, p);
				report("oracle", want, &o, p);
				fail_msg("seed %#llx policy %d packet %d: disagreement",
					 (unsigned long long)seed, pi, ki);
			}
		}
		assert_int_equal(batch_hits, want_hits);
		ss_classifier_free(cl);
		ss_policy_free(p);
	}
	free(keys);
	free(bm);
	free(bf);
	/* The generator must exercise both outcomes and the mirrors, or the test proves little. */
	assert_true(matched > total / 4);
	assert_true(matched < total - total / 20);
	assert_true(mirrored > total / 50);
}

static void compare_all(const ss_policy *p, const ss_pkt_key *keys, size_t n, const char *what)
{
	ss_classifier *cl = ss_classifier_build(p);
	assert_non_null(cl);
	for (size_t i = 0; i < n; i++) {
		ss_match m = { 0 }, o = { 0 };
		bool got = ss_classify(cl, &keys[i], &m), want = tp_oracle(p, &keys[i], &o);
		if (got != want || (got && (m.rule != o.rule || m.filter != o.filter || m.mirrored != o.mirrored))) {
			describe(p, &keys[i]);
			report("classifier", got, &m, p);
			report("oracle", want, &o, p);
			fail_msg("%s: packet %zu disagrees", what, i);
		}
	}
	ss_classifier_free(cl);
}

/* Every prefix length of both families on both sides at once: the longest chains a lookup
 * can build (129 IPv6 lengths, plus `me` and `any`). */
static void every_prefix_length(void **state)
{
	ss_policy *p = tp_new(1, 1, 1);
	ss_filter_list *l = tp_list(p, "all");
	tp_rule(p, "r", l, tp_action(p, "a", SS_ACT_NEGOTIATE));
	ss_addr a6 = tp_addr("2001:db8:aaaa:5555:ffff:0:1234:8765"), a4 = tp_addr("10.170.85.255");
	for (unsigned len = 0; len <= 128; len++) {
		ss_endpoint e = { .kind = SS_EP_PREFIX, .prefix = ss_prefix_make(&a6, len) };
		tp_filter(l, e, len % 2 ? tp_any() : tp_me(), len % 3 ? SS_PROTO_ANY : 17, len % 5 != 0);
		if (len <= 32) {
			e.prefix = ss_prefix_make(&a4, len);
			tp_filter(l, tp_me(), e, SS_PROTO_ANY, len % 4 != 0);
		}
	}
	tp_rng r = { 0x1234567 };
	enum { N = 2000 };
	ss_pkt_key *keys = calloc(N, sizeof(*keys));
	assert_non_null(keys);
	for (size_t i = 0; i < N; i++) {
		ss_pkt_key *k = &keys[i];
		bool v6 = i % 2;
		k->dir = (uint8_t)tp_below(&r, 2);
		k->proto = tp_below(&r, 2) ? 17 : 6;
		k->sport = (uint16_t)tp_below(&r, 65536);
		k->dport = (uint16_t)tp_below(&r, 65536);
		/* Near the addresses: flip one random bit, so every length is someone's longest. */
		for (int side = 0; side < 2; side++) {
			ss_addr x = v6 ? a6 : a4;
			unsigned bit = tp_below(&r, v6 ? 129 : 33);
			if (bit < ss_addr_bits(&x))
				x.a[bit >> 3] ^= (uint8_t)(0x80 >> (bit & 7));
			if (side)
				k->dst = x;
			else
				k->src = x;
		}
	}
	compare_all(p, keys, N, "every prefix length");
	free(keys);
	ss_policy_free(p);
}

/* A policy large enough that the pair table has long probe sequences and the Bloom
 * filters give false positives: thousands of hosts packed into one /20. */
static void large_dense_policy(void **state)
{
	tp_rng r = { 0xfeedULL };
	ss_policy *p = tp_new(3, 1, 4);
	ss_filter_action *act = tp_action(p, "a", SS_ACT_BLOCK);
	ss_filter_list *ls[3] = { tp_list(p, "a"), tp_list(p, "b"), tp_list(p, "c") };
	for (int i = 0; i < 4000; i++) {
		ss_filter_list *l = ls[tp_below(&r, 3)];
		ss_addr x = ss_addr_v4(0x0a000000u | tp_below(&r, 4096)), y = ss_addr_v4(0x0a000000u | tp_below(&r, 4096));
		ss_endpoint ex = { .kind = SS_EP_PREFIX, .prefix = ss_prefix_make(&x, 24 + tp_below(&r, 9)) };
		ss_endpoint ey = { .kind = SS_EP_PREFIX, .prefix = ss_prefix_make(&y, 28 + tp_below(&r, 5)) };
		switch (tp_below(&r, 4)) {
		case 0: tp_filter(l, tp_me(), ey, SS_PROTO_ANY, true); break;
		case 1: tp_filter(l, ex, ey, SS_PROTO_ANY, tp_below(&r, 2)); break;
		case 2:
			tp_filter(l, tp_any(), ey, 6, true);
			tp_last(l)->dport = (ss_port_range){ 80, (uint16_t)(80 + tp_below(&r, 3)) };
			break;
		default: tp_filter(l, ex, tp_any(), SS_PROTO_ANY, true); break;
		}
	}
	tp_rule(p, "r0", ls[0], act);
	tp_rule(p, "r1", ls[1], act);
	tp_rule(p, "r2", ls[2], act);
	tp_rule(p, "r3", ls[0], act);
	enum { N = 1500 };
	ss_pkt_key *keys = calloc(N, sizeof(*keys));
	assert_non_null(keys);
	for (size_t i = 0; i < N; i++) {
		ss_pkt_key *k = &keys[i];
		k->dir = (uint8_t)tp_below(&r, 2);
		k->proto = tp_below(&r, 4) ? 6 : 17;
		k->sport = (uint16_t)(1024 + tp_below(&r, 4));
		k->dport = (uint16_t)(79 + tp_below(&r, 5));
		k->src = ss_addr_v4(0x0a000000u | tp_below(&r, 4096));
		k->dst = ss_addr_v4(0x0a000000u | tp_below(&r, 4096));
	}
	compare_all(p, keys, N, "large dense policy");
	free(keys);
	ss_policy_free(p);
}

/* Many kinds of (src, dst) prefix pair, all nested around two addresses: a packet near
 * them has an endpoint at most lengths on both sides, so its search visits dozens of kinds
 * and the winner is often far down the order, sometimes tied with heavier-looking kinds
 * visited before it.  Single and batched lookups are both compared with the oracle. */
static void many_nested_kinds_single_and_batched(void **state)
{
	(void)state;
	static const uint8_t lens[] = { 32, 31, 30, 28, 24, 20, 16, 8 };
	enum { NL = sizeof(lens) / sizeof(lens[0]) };
	ss_policy *p = tp_new(2, 1, 2);
	ss_filter_list *ls[2] = { tp_list(p, "a"), tp_list(p, "b") };
	ss_filter_action *act = tp_action(p, "a", SS_ACT_NEGOTIATE);
	tp_rule(p, "r0", ls[0], act);
	tp_rule(p, "r1", ls[1], act);
	ss_addr a = ss_addr_v4(0x0a0b0c0du), b = ss_addr_v4(0xac10fe01u);
	tp_rng r = { 0xe6e7ULL };
	for (unsigned i = 0; i < NL + 2; i++)
		for (unsigned j = 0; j < NL + 2; j++) {
			if (tp_below(&r, 3) == 0)
				continue; /* not every kind exists */
			ss_endpoint e[2];
			for (int side = 0; side < 2; side++) {
				unsigned x = side ? j : i;
				if (x == NL)
					e[side] = tp_me();
				else if (x == NL + 1)
					e[side] = tp_any();
				else
					e[side] = (ss_endpoint){ .kind = SS_EP_PREFIX,
								 .prefix = ss_prefix_make(side ? &b : &a, lens[x]) };
			}
			ss_filter_list *l = ls[tp_below(&r, 2)];
			tp_filter(l, e[0], e[1], tp_below(&r, 2) ? SS_PROTO_ANY : 6, tp_below(&r, 2));
			if (tp_below(&r, 3) == 0)
				tp_last(l)->dport = (ss_port_range){ 80, (uint16_t)(80 + tp_below(&r, 2)) };
		}
	enum { N = 3000 };
	ss_pkt_key *keys = calloc(N, sizeof(*keys));
	ss_match *bm = calloc(N, sizeof(*bm));
	bool *bf = calloc(N, sizeof(*bf));
	assert_non_null(keys);
	assert_non_null(bm);
	assert_non_null(bf);
	for (size_t i = 0; i < N; i++) {
		ss_pkt_key *k = &keys[i];
		k->dir = (uint8_t)tp_below(&r, 2);
		k->proto = tp_below(&r, 2) ? 6 : 17;
		k->sport = (uint16_t)(1024 + tp_below(&r, 4));
		k->dport = (uint16_t)(79 + tp_below(&r, 4));
		/* Near a and b (either way round): flip one bit, or none. */
		ss_addr x = a, y = b;
		unsigned bx = tp_below(&r, 40), by = tp_below(&r, 40);
		if (bx < 32)
			x.a[bx >> 3] ^= (uint8_t)(0x80 >> (bx & 7));
		if (by < 32)
			y.a[by >> 3] ^= (uint8_t)(0x80 >> (by & 7));
		bool swap = tp_below(&r, 2);
		k->src = swap ? y : x;
		k->dst = swap ? x : y;
	}
	compare_all(p, keys, N, "many kinds");
	ss_classifier *cl = ss_classifier_build(p);
	assert_non_null(cl);
	size_t hits = ss_classify_batch(cl, keys, N, bm, bf), want_hits = 0;
	for (size_t i = 0; i < N; i++) {
		ss_match o = { 0 };
		bool want = tp_oracle(p, &keys[i], &o);
		want_hits += want;
		assert_int_equal(bf[i], want);
		if (want) {
			assert_ptr_equal(bm[i].rule, o.rule);
			assert_ptr_equal(bm[i].filter, o.filter);
			assert_int_equal(bm[i].mirrored, o.mirrored);
		}
	}
	assert_int_equal(hits, want_hits);
	assert_true(want_hits > N / 2);
	ss_classifier_free(cl);
	free(keys);
	free(bm);
	free(bf);
	ss_policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(weight_table),
		cmocka_unit_test(weight_order_is_lexicographic),
		cmocka_unit_test(edge_cases),
		cmocka_unit_test(empty_policy_matches_nothing),
		cmocka_unit_test(malformed_filters_match_nothing),
		cmocka_unit_test(random_policies_agree_with_oracle),
		cmocka_unit_test(every_prefix_length),
		cmocka_unit_test(large_dense_policy),
		cmocka_unit_test(many_nested_kinds_single_and_batched),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
