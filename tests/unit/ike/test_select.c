/* Proposal selection and traffic-selector narrowing: numbered tables of edge cases over the
 * engine's pure helpers (ike_proposal.c, ike_ts.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ike/ike_internal.h"

static const ss_ike_suite GCM = { SS_ENCR_AES_GCM_16, 128, SS_INTEG_NONE, SS_PRF_HMAC_SHA2_256, SS_DH_ECP_256 };
static const ss_ike_suite CBC = { SS_ENCR_AES_CBC, 256, SS_INTEG_HMAC_SHA2_256_128, SS_PRF_HMAC_SHA2_256, SS_DH_MODP_2048 };

/* One peer proposal from a list of transforms. */
static ss_ike_sa_pl one(uint8_t proto, const ss_ike_transform *tr, size_t n)
{
	ss_ike_sa_pl sa = { .n = 1 };
	sa.prop[0].num = 1;
	sa.prop[0].proto = proto;
	sa.prop[0].spi_size = proto == SS_PROTO_ESP ? 4 : 0;
	sa.prop[0].spi[2] = 0x01;
	sa.prop[0].spi[3] = 0x42;
	sa.prop[0].n_transforms = (uint8_t)n;
	memcpy(sa.prop[0].tr, tr, n * sizeof(*tr));
	return sa;
}

#define T(type, id, bits) { type, id, bits, false }

static void ike_selection_table(void **state)
{
	static const struct {
		const char *what;
		ss_ike_transform tr[8];
		size_t n;
		int want;   /* -1 none, 0 GCM, 1 CBC */
	} rows[] = {
		/* 1 */ { "exact GCM", { T(1, 20, 128), T(2, 5, 0), T(4, 19, 0) }, 3, 0 },
		/* 2 */ { "GCM with explicit INTEG NONE", { T(1, 20, 128), T(2, 5, 0), T(3, 0, 0), T(4, 19, 0) }, 4, 0 },
		/* 3 */ { "GCM key length 256 only", { T(1, 20, 256), T(2, 5, 0), T(4, 19, 0) }, 3, -1 },
		/* 4 */ { "GCM with an integrity algorithm", { T(1, 20, 128), T(2, 5, 0), T(3, 12, 0), T(4, 19, 0) }, 4, -1 },
		/* 5 */ { "no PRF", { T(1, 20, 128), T(4, 19, 0) }, 2, -1 },
		/* 6 */ { "several of each, CBC among them", { T(1, 20, 256), T(1, 12, 256), T(2, 6, 0), T(2, 5, 0), T(3, 12, 0), T(4, 31, 0), T(4, 14, 0) }, 7, 1 },
		/* 7 */ { "CBC without key length", { T(1, 12, 0), T(2, 5, 0), T(3, 12, 0), T(4, 14, 0) }, 4, -1 },
		/* 8 */ { "CBC without integrity", { T(1, 12, 256), T(2, 5, 0), T(4, 14, 0) }, 3, -1 },
		/* 9 */ { "no DH", { T(1, 20, 128), T(2, 5, 0) }, 2, -1 },
	};
	const ss_ike_suite ours[2] = { GCM, CBC };
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		ss_ike_sa_pl peer = one(SS_PROTO_IKE, rows[i].tr, rows[i].n);
		ss_ike_suite got;
		uint8_t num = 0;
		bool ok = prop_select_ike(&peer, ours, 2, 0, &got, &num);
		if (ok != (rows[i].want >= 0))
			fail_msg("row %zu (%s): expected %s", i + 1, rows[i].what, ok ? "no match" : "a match");
		if (ok)
			assert_memory_equal(&got, &ours[rows[i].want], sizeof(got));
	}
	/* A transform with an attribute we do not know is unusable (§3.3.6). */
	ss_ike_transform tr[3] = { T(1, 20, 128), T(2, 5, 0), T(4, 19, 0) };
	tr[0].unknown_attr = true;
	ss_ike_sa_pl peer = one(SS_PROTO_IKE, tr, 3);
	ss_ike_suite got;
	uint8_t num;
	assert_false(prop_select_ike(&peer, &GCM, 1, 0, &got, &num));
	/* ESP proposal offered where IKE is wanted. */
	peer = one(SS_PROTO_ESP, (ss_ike_transform[]){ T(1, 20, 128), T(2, 5, 0), T(4, 19, 0) }, 3);
	assert_false(prop_select_ike(&peer, &GCM, 1, 0, &got, &num));
}

static void initiator_accepts_only_single_offered_choice(void **state)
{
	const ss_ike_suite ours[2] = { GCM, CBC };
	ss_ike_suite got;
	ss_ike_sa_pl ok = one(SS_PROTO_IKE, (ss_ike_transform[]){ T(1, 12, 256), T(2, 5, 0), T(3, 12, 0), T(4, 14, 0) }, 4);
	assert_true(prop_accept_ike(&ok, ours, 2, &got));
	assert_memory_equal(&got, &CBC, sizeof(got));
	/* Two DH groups in an answer: the responder must pick one. */
	ss_ike_sa_pl two = one(SS_PROTO_IKE, (ss_ike_transform[]){ T(1, 20, 128), T(2, 5, 0), T(4, 19, 0), T(4, 31, 0) }, 4);
	assert_false(prop_accept_ike(&two, ours, 2, &got));
	/* Two proposals in an answer. */
	ss_ike_sa_pl pair = ok;
	pair.n = 2;
	pair.prop[1] = ok.prop[0];
	pair.prop[1].num = 2;
	assert_false(prop_accept_ike(&pair, ours, 2, &got));
}

static void esp_selection(void **state)
{
	const ss_esp_suite pfs = { SS_ENCR_AES_GCM_16, 128, SS_INTEG_NONE, SS_DH_ECP_256 };
	ss_esp_suite got;
	uint8_t num;
	uint32_t spi;
	/* The peer's PFS group is ignored in IKE_AUTH, required in CREATE_CHILD_SA. */
	ss_ike_sa_pl peer = one(SS_PROTO_ESP, (ss_ike_transform[]){ T(1, 20, 128), T(4, 19, 0), T(5, 0, 0) }, 3);
	assert_true(prop_select_esp(&peer, &pfs, 1, true, &got, &num, &spi));
	assert_int_equal(got.dh, SS_DH_NONE);
	assert_int_equal(spi, 0x142);
	assert_true(prop_select_esp(&peer, &pfs, 1, false, &got, &num, &spi));
	assert_int_equal(got.dh, SS_DH_ECP_256);
	ss_ike_sa_pl nopfs = one(SS_PROTO_ESP, (ss_ike_transform[]){ T(1, 20, 128), T(5, 0, 0) }, 2);
	assert_false(prop_select_esp(&nopfs, &pfs, 1, false, &got, &num, &spi));
	/* ESN: we do not do extended sequence numbers, so "ESN only" is refused. */
	ss_ike_sa_pl esn = one(SS_PROTO_ESP, (ss_ike_transform[]){ T(1, 20, 128), T(5, 1, 0) }, 2);
	assert_false(prop_select_esp(&esn, &pfs, 1, true, &got, &num, &spi));
	ss_ike_sa_pl both = one(SS_PROTO_ESP, (ss_ike_transform[]){ T(1, 20, 128), T(5, 1, 0), T(5, 0, 0) }, 3);
	assert_true(prop_select_esp(&both, &pfs, 1, true, &got, &num, &spi));
	/* SPIs 0..255 are reserved (RFC 4303 §2.1): no ESP SA could be installed with one. */
	ss_ike_sa_pl low = peer;
	for (uint32_t v = 0; v < 256; v += 255) {
		low.prop[0].spi[2] = 0;
		low.prop[0].spi[3] = (uint8_t)v;
		assert_false(prop_select_esp(&low, &pfs, 1, true, &got, &num, &spi));
		assert_false(prop_accept_esp(&low, &pfs, 1, true, &got, &spi));
	}
	low.prop[0].spi[2] = 1;
	low.prop[0].spi[3] = 0;
	assert_true(prop_accept_esp(&low, &pfs, 1, true, &got, &spi));
	assert_int_equal(spi, 256);
	/* A 0-byte SPI is no ESP proposal. */
	both.prop[0].spi_size = 0;
	assert_false(prop_select_esp(&both, &pfs, 1, true, &got, &num, &spi));
}

static ss_ike_ts v4(uint8_t proto, uint16_t p0, uint16_t p1, uint32_t a, uint32_t b)
{
	return (ss_ike_ts){ .type = SS_TS_IPV4_ADDR_RANGE, .ip_proto = proto, .port_start = p0,
			    .port_end = p1, .start = ss_addr_v4(a), .end = ss_addr_v4(b) };
}

static void ts_table(void **state)
{
	static const struct {
		const char *what;
		int ours_proto, theirs_proto;
		uint16_t o0, o1, t0, t1;
		uint32_t oa, ob, ta, tb;
		bool match;
		uint8_t proto;
		uint16_t p0, p1;
		uint32_t a, b;
	} rows[] = {
		/* 1 */ { "same host, any", 0, 0, 0, 65535, 0, 65535, 0x0a000001, 0x0a000001, 0x0a000001, 0x0a000001, true, 0, 0, 65535, 0x0a000001, 0x0a000001 },
		/* 2 */ { "subnet narrowed to host", 0, 0, 0, 65535, 0, 65535, 0x0a000000, 0x0a0000ff, 0x0a000005, 0x0a000005, true, 0, 0, 65535, 0x0a000005, 0x0a000005 },
		/* 3 */ { "protocol taken from theirs", 0, 6, 0, 65535, 0, 65535, 0x0a000000, 0x0a0000ff, 0, 0xffffffff, true, 6, 0, 65535, 0x0a000000, 0x0a0000ff },
		/* 4 */ { "protocols differ", 17, 6, 0, 65535, 0, 65535, 0, 0xffffffff, 0, 0xffffffff, false, 0, 0, 0, 0, 0 },
		/* 5 */ { "ports intersect", 6, 6, 1000, 2000, 1500, 3000, 0, 0xffffffff, 0, 0xffffffff, true, 6, 1500, 2000, 0, 0xffffffff },
		/* 6 */ { "ports disjoint", 6, 6, 1000, 2000, 2001, 3000, 0, 0xffffffff, 0, 0xffffffff, false, 0, 0, 0, 0, 0 },
		/* 7 */ { "addresses disjoint", 0, 0, 0, 65535, 0, 65535, 0x0a000000, 0x0a0000ff, 0x0a000100, 0x0a0001ff, false, 0, 0, 0, 0, 0 },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		ss_ike_ts_pl ours = { .n = 1 }, theirs = { .n = 1 }, out;
		ours.ts[0] = v4((uint8_t)rows[i].ours_proto, rows[i].o0, rows[i].o1, rows[i].oa, rows[i].ob);
		theirs.ts[0] = v4((uint8_t)rows[i].theirs_proto, rows[i].t0, rows[i].t1, rows[i].ta, rows[i].tb);
		bool got = ts_narrow(&ours, &theirs, &out);
		if (got != rows[i].match)
			fail_msg("row %zu (%s): expected %s", i + 1, rows[i].what, rows[i].match ? "a match" : "none");
		if (!got)
			continue;
		ss_ike_ts want = v4(rows[i].proto, rows[i].p0, rows[i].p1, rows[i].a, rows[i].b);
		assert_int_equal(out.n, 1);
		assert_memory_equal(&out.ts[0], &want, sizeof(want));
		/* What narrowing yields always lies within both sides. */
		assert_true(ts_subset(&out, &ours));
		assert_true(ts_subset(&out, &theirs));
	}
	/* IPv4 against IPv6 never matches; an empty list is no subset. */
	uint8_t a6[16] = { 0x20, 0x01 };
	ss_ike_ts_pl ours = { .n = 1 }, theirs = { .n = 1 }, out = { 0 };
	ours.ts[0] = v4(0, 0, 65535, 0, 0xffffffff);
	theirs.ts[0] = (ss_ike_ts){ .type = SS_TS_IPV6_ADDR_RANGE, .port_end = 65535,
				    .start = ss_addr_v6(a6), .end = ss_addr_v6(a6) };
	assert_false(ts_narrow(&ours, &theirs, &out));
	assert_false(ts_subset(&out, &ours));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ike_selection_table),
		cmocka_unit_test(initiator_accepts_only_single_offered_choice),
		cmocka_unit_test(esp_selection),
		cmocka_unit_test(ts_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
