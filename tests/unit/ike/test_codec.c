/* IKEv2 codec: every payload round-trips, and malformed input is rejected with the right
 * reason, counted, and never read out of bounds (the ASan build runs these too). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ike/codec.h"

static const ss_ike_hdr HDR = {
	.spi_i = 0x0102030405060708ull, .spi_r = 0, .exchange = SS_IKE_SA_INIT,
	.flags = SS_IKE_FLAG_INITIATOR, .msg_id = 0,
};

static ss_ike_sa_pl sample_sa(void)
{
	ss_ike_sa_pl sa = { 0 };
	sa.n = 2;
	sa.prop[0] = (ss_ike_proposal){ .num = 1, .proto = SS_PROTO_IKE, .n_transforms = 4, .tr = {
		{ SS_TR_ENCR, 20, 128, false }, { SS_TR_PRF, 5, 0, false },
		{ SS_TR_DH, 19, 0, false }, { SS_TR_DH, 31, 0, false } } };
	sa.prop[1] = (ss_ike_proposal){ .num = 2, .proto = SS_PROTO_ESP, .spi_size = 4,
		.spi = { 0xde, 0xad, 0xbe, 0xef }, .n_transforms = 3, .tr = {
		{ SS_TR_ENCR, 12, 256, false }, { SS_TR_INTEG, 12, 0, false },
		{ SS_TR_ESN, 0, 0, false } } };
	return sa;
}

static ss_ike_ts_pl sample_ts(void)
{
	ss_ike_ts_pl ts = { 0 };
	ts.n = 2;
	ts.ts[0].type = SS_TS_IPV4_ADDR_RANGE;
	ts.ts[0].ip_proto = 17;
	ts.ts[0].port_start = 500;
	ts.ts[0].port_end = 4500;
	ts.ts[0].start = ss_addr_v4(0x0a000001);
	ts.ts[0].end = ss_addr_v4(0x0a0000ff);
	uint8_t a[16] = { 0x20, 0x01, 0x0d, 0xb8 }, b[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0xff };
	ts.ts[1].type = SS_TS_IPV6_ADDR_RANGE;
	ts.ts[1].port_end = 65535;
	ts.ts[1].start = ss_addr_v6(a);
	ts.ts[1].end = ss_addr_v6(b);
	return ts;
}

static const uint8_t NONCE[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17 };
static const uint8_t KE[64] = { 0xaa, 0xbb };

/* Builds a message holding one of every payload. */
static size_t build_all(uint8_t *buf, size_t cap)
{
	ss_ike_writer w;
	ss_ike_sa_pl sa = sample_sa();
	ss_ike_ts_pl ts = sample_ts();
	ss_ikew_init(&w, buf, cap, &HDR);
	ss_ikew_sa(&w, &sa);
	ss_ikew_ke(&w, 19, KE, sizeof(KE));
	ss_ikew_nonce(&w, NONCE, sizeof(NONCE));
	ss_ikew_id(&w, SS_PL_IDI, SS_ID_FQDN, (const uint8_t *)"a.example", 9);
	ss_ikew_id(&w, SS_PL_IDR, SS_ID_IPV4_ADDR, (const uint8_t *)"\x0a\x00\x00\x02", 4);
	ss_ikew_auth(&w, SS_AUTH_PSK, NONCE, 32);
	uint8_t spi[4] = { 1, 2, 3, 4 };
	ss_ikew_notify(&w, SS_PROTO_ESP, spi, 4, SS_N_REKEY_SA, NULL, 0);
	ss_ikew_notify(&w, 0, NULL, 0, SS_N_COOKIE, NONCE, 20);
	ss_ikew_delete(&w, SS_PROTO_ESP, 4, 1, spi);
	ss_ikew_ts(&w, SS_PL_TSI, &ts);
	ss_ikew_ts(&w, SS_PL_TSR, &ts);
	ss_ikew_cert(&w, SS_PL_CERT, SS_CERT_X509_SIG, NONCE, 8);
	ss_ikew_cert(&w, SS_PL_CERTREQ, SS_CERT_X509_SIG, NONCE, 20);
	ss_ikew_vendor(&w, (const uint8_t *)"softsa", 6);
	ss_ikew_raw(&w, 200, false, NONCE, 3);  /* unknown, not critical: skipped */
	return ss_ikew_finish(&w);
}

static void every_payload_round_trips(void **state)
{
	uint8_t buf[2048];
	size_t n = build_all(buf, sizeof(buf));
	assert_true(n > SS_IKE_HDR_LEN);
	ss_ike_msg m;
	ss_ike_codec_stats st = { 0 };
	assert_int_equal(ss_ike_parse(buf, n, &m, &st), SS_CODEC_OK);
	assert_int_equal(st.parsed, 1);
	assert_int_equal(st.unknown_skipped, 1);
	assert_true(m.hdr.spi_i == HDR.spi_i);
	assert_int_equal(m.hdr.exchange, SS_IKE_SA_INIT);
	assert_int_equal(m.hdr.version, SS_IKE_VERSION);
	assert_int_equal(m.hdr.length, n);

	ss_ike_sa_pl want = sample_sa();
	assert_int_equal(m.sa.n, 2);
	for (unsigned i = 0; i < 2; i++) {
		assert_int_equal(m.sa.prop[i].num, i + 1);
		assert_int_equal(m.sa.prop[i].proto, want.prop[i].proto);
		assert_int_equal(m.sa.prop[i].spi_size, want.prop[i].spi_size);
		assert_memory_equal(m.sa.prop[i].spi, want.prop[i].spi, want.prop[i].spi_size);
		assert_int_equal(m.sa.prop[i].n_transforms, want.prop[i].n_transforms);
		assert_memory_equal(m.sa.prop[i].tr, want.prop[i].tr,
				    want.prop[i].n_transforms * sizeof(ss_ike_transform));
	}
	assert_int_equal(m.ke.group, 19);
	assert_int_equal(m.ke.data.len, 64);
	assert_memory_equal(m.ke.data.p, KE, 64);
	assert_int_equal(m.nonce.len, 32);
	assert_memory_equal(m.nonce.p, NONCE, 32);
	assert_int_equal(m.idi.type, SS_ID_FQDN);
	assert_int_equal(m.idi.data.len, 9);
	assert_memory_equal(m.idi.data.p, "a.example", 9);
	assert_int_equal(m.idi.body.len, 13);
	assert_int_equal(m.idi.body.p[0], SS_ID_FQDN);
	assert_int_equal(m.idr.type, SS_ID_IPV4_ADDR);
	assert_int_equal(m.auth.method, SS_AUTH_PSK);
	assert_int_equal(m.auth.data.len, 32);
	assert_int_equal(m.n_notify, 2);
	assert_int_equal(m.notify[0].type, SS_N_REKEY_SA);
	assert_int_equal(m.notify[0].proto, SS_PROTO_ESP);
	assert_int_equal(m.notify[0].spi_size, 4);
	assert_memory_equal(m.notify[0].spi, "\x01\x02\x03\x04", 4);
	const ss_ike_notify_pl *ck = ss_ike_find_notify(&m, SS_N_COOKIE);
	assert_non_null(ck);
	assert_int_equal(ck->data.len, 20);
	assert_null(ss_ike_first_error(&m));
	assert_int_equal(m.n_delete, 1);
	assert_int_equal(m.del[0].n_spi, 1);
	ss_ike_ts_pl ts = sample_ts();
	assert_int_equal(m.tsi.n, 2);
	assert_int_equal(m.tsr.n, 2);
	assert_memory_equal(m.tsi.ts, ts.ts, 2 * sizeof(ss_ike_ts));
	assert_memory_equal(m.tsr.ts, ts.ts, 2 * sizeof(ss_ike_ts));
	assert_int_equal(m.n_cert, 1);
	assert_int_equal(m.n_certreq, 1);
	assert_int_equal(m.n_vendor, 1);
	for (uint8_t t = SS_PL_SA; t <= SS_PL_TSR; t++)
		if (t != SS_PL_SK)
			assert_true(ss_ike_has(&m, t) || t == SS_PL_CERT || t == SS_PL_CERTREQ ||
				    t == SS_PL_NOTIFY || t == SS_PL_DELETE || t == SS_PL_VENDOR);

	/* Every strict prefix is rejected, whatever the header length says. */
	for (size_t cut = 0; cut < n; cut++) {
		assert_int_not_equal(ss_ike_parse(buf, cut, &m, &st), SS_CODEC_OK);
	}
}

static void sk_payload_is_last_and_recorded(void **state)
{
	uint8_t buf[256], body[40];
	memset(body, 0x5a, sizeof(body));
	ss_ike_writer w;
	ss_ike_hdr h = HDR;
	h.exchange = SS_IKE_AUTH;
	ss_ikew_init(&w, buf, sizeof(buf), &h);
	ss_ikew_raw(&w, SS_PL_SK, false, body, sizeof(body));
	/* The SK header's next payload names the first inner payload. */
	buf[SS_IKE_HDR_LEN] = SS_PL_IDI;
	size_t n = ss_ikew_finish(&w);
	ss_ike_msg m;
	ss_ike_codec_stats st = { 0 };
	assert_int_equal(ss_ike_parse(buf, n, &m, &st), SS_CODEC_OK);
	assert_true(ss_ike_has(&m, SS_PL_SK));
	assert_int_equal(m.sk.first_inner, SS_PL_IDI);
	assert_int_equal(m.sk.offset, SS_IKE_HDR_LEN);
	assert_int_equal(m.sk.body.len, sizeof(body));

	/* A payload after SK is refused. */
	ss_ikew_init(&w, buf, sizeof(buf), &h);
	ss_ikew_raw(&w, SS_PL_SK, false, body, sizeof(body));
	ss_ikew_vendor(&w, body, 4);
	n = ss_ikew_finish(&w);
	assert_int_equal(ss_ike_parse(buf, n, &m, &st), SS_CODEC_SK_NOT_LAST);
	assert_int_equal(st.rejected[SS_CODEC_SK_NOT_LAST], 1);
}

static void inner_chain_parses_into_same_message(void **state)
{
	uint8_t inner[256];
	ss_ike_writer w;
	ss_ikew_init_inner(&w, inner, sizeof(inner));
	ss_ikew_id(&w, SS_PL_IDI, SS_ID_KEY_ID, (const uint8_t *)"k1", 2);
	ss_ikew_auth(&w, SS_AUTH_PSK, NONCE, 32);
	size_t n = ss_ikew_finish(&w);
	assert_int_equal(w.first, SS_PL_IDI);
	ss_ike_msg m = { 0 };
	ss_cur c = ss_cur_init(inner, n);
	assert_int_equal(ss_ike_parse_payloads(&c, w.first, NULL, &m, NULL), SS_CODEC_OK);
	assert_int_equal(m.idi.type, SS_ID_KEY_ID);
	assert_int_equal(m.auth.data.len, 32);
	/* Parsing the same chain again into the same message is a duplicate. */
	c = ss_cur_init(inner, n);
	assert_int_equal(ss_ike_parse_payloads(&c, w.first, NULL, &m, NULL), SS_CODEC_DUPLICATE);
}

static void duplicate_unique_payloads_rejected(void **state)
{
	static const uint8_t dups[] = { SS_PL_SA, SS_PL_KE, SS_PL_NONCE, SS_PL_IDI, SS_PL_IDR,
					SS_PL_AUTH, SS_PL_TSI, SS_PL_TSR };
	ss_ike_sa_pl sa = sample_sa();
	ss_ike_ts_pl ts = sample_ts();
	for (size_t i = 0; i < sizeof(dups); i++) {
		uint8_t buf[1024];
		ss_ike_writer w;
		ss_ikew_init(&w, buf, sizeof(buf), &HDR);
		for (int k = 0; k < 2; k++) {
			switch (dups[i]) {
			case SS_PL_SA: ss_ikew_sa(&w, &sa); break;
			case SS_PL_KE: ss_ikew_ke(&w, 19, KE, 64); break;
			case SS_PL_NONCE: ss_ikew_nonce(&w, NONCE, 32); break;
			case SS_PL_AUTH: ss_ikew_auth(&w, 2, NONCE, 32); break;
			case SS_PL_TSI: case SS_PL_TSR: ss_ikew_ts(&w, dups[i], &ts); break;
			default: ss_ikew_id(&w, dups[i], SS_ID_FQDN, (const uint8_t *)"x", 1); break;
			}
		}
		size_t n = ss_ikew_finish(&w);
		ss_ike_msg m;
		ss_ike_codec_stats st = { 0 };
		assert_int_equal(ss_ike_parse(buf, n, &m, &st), SS_CODEC_DUPLICATE);
		assert_int_equal(st.rejected[SS_CODEC_DUPLICATE], 1);
	}
	/* Notifies, deletes and vendor IDs may repeat. */
	uint8_t buf[256];
	ss_ike_writer w;
	ss_ikew_init(&w, buf, sizeof(buf), &HDR);
	ss_ikew_notify(&w, 0, NULL, 0, SS_N_INITIAL_CONTACT, NULL, 0);
	ss_ikew_notify(&w, 0, NULL, 0, SS_N_INITIAL_CONTACT, NULL, 0);
	ss_ikew_vendor(&w, NONCE, 4);
	ss_ikew_vendor(&w, NONCE, 4);
	ss_ike_msg m;
	assert_int_equal(ss_ike_parse(buf, ss_ikew_finish(&w), &m, NULL), SS_CODEC_OK);
	assert_int_equal(m.n_notify, 2);
}

static void unknown_critical_payload_named(void **state)
{
	uint8_t buf[128];
	ss_ike_writer w;
	ss_ikew_init(&w, buf, sizeof(buf), &HDR);
	ss_ikew_nonce(&w, NONCE, 32);
	ss_ikew_raw(&w, 211, true, NONCE, 5);
	size_t n = ss_ikew_finish(&w);
	ss_ike_msg m;
	ss_ike_codec_stats st = { 0 };
	assert_int_equal(ss_ike_parse(buf, n, &m, &st), SS_CODEC_CRITICAL);
	assert_int_equal(m.unsupported_critical, 211);
	assert_int_equal(st.rejected[SS_CODEC_CRITICAL], 1);
	/* The critical bit on a payload we know is not an error (§2.5). */
	ss_ikew_init(&w, buf, sizeof(buf), &HDR);
	ss_ikew_raw(&w, SS_PL_VENDOR, true, NONCE, 5);
	assert_int_equal(ss_ike_parse(buf, ss_ikew_finish(&w), &m, &st), SS_CODEC_OK);
}

/* A table of single-field corruptions of a valid message, each with its expected reason. */
struct corruption {
	const char *what;
	size_t at;            /* offset into the message */
	uint8_t value;
	enum ss_ike_codec_err want;
};

static void malformed_fields_rejected(void **state)
{
	uint8_t good[1024];
	ss_ike_writer w;
	ss_ike_sa_pl sa = { .n = 1 };
	sa.prop[0] = (ss_ike_proposal){ .num = 1, .proto = SS_PROTO_IKE, .n_transforms = 2, .tr = {
		{ SS_TR_ENCR, 20, 128, false }, { SS_TR_DH, 19, 0, false } } };
	ss_ikew_init(&w, good, sizeof(good), &HDR);
	ss_ikew_sa(&w, &sa);           /* at 28: gen hdr 4, proposal hdr 8, tr1 12, tr2 8 = 32 */
	ss_ikew_nonce(&w, NONCE, 16);  /* at 60: 4 + 16 */
	ss_ike_ts_pl ts = sample_ts();
	ts.n = 1;
	ss_ikew_ts(&w, SS_PL_TSI, &ts); /* at 80: 4 + 4 + 16 */
	size_t n = ss_ikew_finish(&w);
	assert_int_equal(n, 104);
	ss_ike_msg m;
	assert_int_equal(ss_ike_parse(good, n, &m, NULL), SS_CODEC_OK);

	static const struct corruption table[] = {
		/*  1 */ { "major version 3", 17, 0x30, SS_CODEC_BAD_VERSION },
		/*  2 */ { "header length too long", 27, 105, SS_CODEC_TRUNCATED },
		/*  3 */ { "header length too short", 27, 103, SS_CODEC_BAD_LENGTH },
		/*  4 */ { "SA payload length 3", 31, 3, SS_CODEC_BAD_LENGTH },
		/*  5 */ { "SA payload length beyond message", 30, 1, SS_CODEC_TRUNCATED },
		/*  6 */ { "proposal says more follow", 32, 2, SS_CODEC_BAD_VALUE },
		/*  7 */ { "proposal length short", 35, 7, SS_CODEC_BAD_LENGTH },
		/*  8 */ { "proposal number 0", 36, 0, SS_CODEC_BAD_COUNT },
		/*  9 */ { "proposal transform count 3", 39, 3, SS_CODEC_BAD_VALUE },
		/* 10 */ { "proposal transform count 1", 39, 1, SS_CODEC_BAD_VALUE },
		/* 11 */ { "proposal transform count 0", 39, 0, SS_CODEC_BAD_COUNT },
		/* 12 */ { "proposal SPI size 9", 38, 9, SS_CODEC_BAD_LENGTH },
		/* 13 */ { "transform length 7", 43, 7, SS_CODEC_BAD_LENGTH },
		/* 14 */ { "transform length past proposal", 43, 40, SS_CODEC_BAD_LENGTH },
		/* 15 */ { "last transform says more", 52, 3, SS_CODEC_BAD_VALUE },
		/* 16 */ { "attribute TLV length past transform", 48, 0x00, SS_CODEC_TRUNCATED },
		/* 17 */ { "nonce 15 bytes", 63, 19, SS_CODEC_BAD_LENGTH },
		/* 18 */ { "TS count 0", 84, 0, SS_CODEC_BAD_COUNT },
		/* 19 */ { "TS count 2", 84, 2, SS_CODEC_TRUNCATED },
		/* 20 */ { "TS type 9", 88, 9, SS_CODEC_BAD_VALUE },
		/* 21 */ { "TS length 17", 91, 17, SS_CODEC_BAD_LENGTH },
		/* 22 */ { "next payload after last: KE", 80, SS_PL_KE, SS_CODEC_TRUNCATED },
	};
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		uint8_t bad[1024];
		memcpy(bad, good, n);
		bad[table[i].at] = table[i].value;
		ss_ike_codec_stats st = { 0 };
		enum ss_ike_codec_err e = ss_ike_parse(bad, n, &m, &st);
		if (e != table[i].want)
			fail_msg("row %zu (%s): expected %s, got %s", i + 1, table[i].what,
				 ss_ike_codec_err_name(table[i].want), ss_ike_codec_err_name(e));
		assert_int_equal(st.rejected[e], 1);
		assert_int_equal(st.parsed, 0);
	}
}

static void bounded_counts_ignore_excess(void **state)
{
	/* 20 notifies: the first 16 are kept, the rest counted as ignored, not an error. */
	uint8_t buf[1024];
	ss_ike_writer w;
	ss_ikew_init(&w, buf, sizeof(buf), &HDR);
	for (int i = 0; i < 20; i++)
		ss_ikew_notify(&w, 0, NULL, 0, (uint16_t)(SS_N_INITIAL_CONTACT + i), NULL, 0);
	ss_ike_msg m;
	ss_ike_codec_stats st = { 0 };
	assert_int_equal(ss_ike_parse(buf, ss_ikew_finish(&w), &m, &st), SS_CODEC_OK);
	assert_int_equal(m.n_notify, SS_IKE_MAX_NOTIFIES);
	assert_int_equal(st.excess_ignored, 4);
}

static void delete_spi_sizes_checked(void **state)
{
	uint8_t buf[128], spis[8] = { 0 };
	ss_ike_writer w;
	ss_ike_msg m;
	ss_ikew_init(&w, buf, sizeof(buf), &HDR);
	ss_ikew_delete(&w, SS_PROTO_IKE, 0, 0, NULL);
	ss_ikew_delete(&w, SS_PROTO_ESP, 4, 2, spis);
	assert_int_equal(ss_ike_parse(buf, ss_ikew_finish(&w), &m, NULL), SS_CODEC_OK);
	assert_int_equal(m.n_delete, 2);
	assert_int_equal(m.del[1].spis.len, 8);
	ss_ikew_init(&w, buf, sizeof(buf), &HDR);
	ss_ikew_delete(&w, SS_PROTO_ESP, 8, 1, spis);
	assert_int_equal(ss_ike_parse(buf, ss_ikew_finish(&w), &m, NULL), SS_CODEC_BAD_VALUE);
}

static void writer_overflow_is_sticky(void **state)
{
	uint8_t buf[40];
	ss_ike_writer w;
	ss_ikew_init(&w, buf, sizeof(buf), &HDR);
	ss_ikew_nonce(&w, NONCE, 32);
	assert_int_equal(ss_ikew_finish(&w), 0);
}

/* Identification data beyond 255 bytes would be looked up and compared by a prefix. */
static void id_longer_than_255_rejected(void **state)
{
	uint8_t buf[1024], id[256];
	memset(id, 'a', sizeof(id));
	ss_ike_writer w;
	ss_ike_msg m;
	ss_ike_codec_stats st = { 0 };
	ss_ikew_init(&w, buf, sizeof(buf), &HDR);
	ss_ikew_id(&w, SS_PL_IDI, SS_ID_FQDN, id, 255);
	assert_int_equal(ss_ike_parse(buf, ss_ikew_finish(&w), &m, &st), SS_CODEC_OK);
	assert_int_equal(m.idi.data.len, 255);
	ss_ikew_init(&w, buf, sizeof(buf), &HDR);
	ss_ikew_id(&w, SS_PL_IDR, SS_ID_KEY_ID, id, 256);
	assert_int_equal(ss_ike_parse(buf, ss_ikew_finish(&w), &m, &st), SS_CODEC_BAD_LENGTH);
	assert_int_equal(st.rejected[SS_CODEC_BAD_LENGTH], 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_payload_round_trips),
		cmocka_unit_test(sk_payload_is_last_and_recorded),
		cmocka_unit_test(inner_chain_parses_into_same_message),
		cmocka_unit_test(duplicate_unique_payloads_rejected),
		cmocka_unit_test(unknown_critical_payload_named),
		cmocka_unit_test(malformed_fields_rejected),
		cmocka_unit_test(id_longer_than_255_rejected),
		cmocka_unit_test(bounded_counts_ignore_excess),
		cmocka_unit_test(delete_spi_sizes_checked),
		cmocka_unit_test(writer_overflow_is_sticky),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
