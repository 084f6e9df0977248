/* Key material (RFC 7296 §2.14, §2.17, §2.18) and PSK AUTH (§2.15): lengths and layout per
 * suite, both ends of an SA agreeing, failures leaving nothing behind.  The values
 * themselves are cross-checked against an independent Python computation by
 * crypto_xcheck.py (test ike-crypto-xcheck). */
#include "crypto_test.h"

#include "ike/crypto.h"

static const uint8_t ni[32] = { 1, 2, 3 }, nr[16] = { 9, 8, 7 };
static const uint8_t spi_i[8] = { 0xaa, 1 }, spi_r[8] = { 0xbb, 2 };
static const uint8_t g_ir[32] = { 0x42, 0x43 };

static bool all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static void ike_key_lengths_follow_the_suite(void **state)
{
	struct { ss_ike_suite s; size_t d, a, e; } cases[] = {
		{ { SS_ENCR_AES_GCM_16, 128, SS_INTEG_NONE, SS_PRF_HMAC_SHA2_256, SS_DH_ECP_256 }, 32, 0, 20 },
		{ { SS_ENCR_AES_GCM_16, 256, SS_INTEG_NONE, SS_PRF_HMAC_SHA2_384, SS_DH_CURVE25519 }, 48, 0, 36 },
		{ { SS_ENCR_AES_CBC, 128, SS_INTEG_HMAC_SHA2_256_128, SS_PRF_HMAC_SHA2_512, SS_DH_ECP_384 }, 64, 32, 16 },
		{ { SS_ENCR_AES_CBC, 256, SS_INTEG_HMAC_SHA2_512_256, SS_PRF_HMAC_SHA2_256, SS_DH_MODP_2048 }, 32, 64, 32 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ss_ike_keys k;
		assert_true(ss_ike_keys_derive(&k, &cases[i].s, g_ir, sizeof(g_ir), ni, sizeof(ni), nr,
		                               sizeof(nr), spi_i, spi_r));
		assert_int_equal(k.sk_d_len, cases[i].d);
		assert_int_equal(k.sk_p_len, cases[i].d);
		assert_int_equal(k.i2r.integ_len, cases[i].a);
		assert_int_equal(k.r2i.integ_len, cases[i].a);
		assert_int_equal(k.i2r.encr_len, cases[i].e);
		assert_int_equal(k.r2i.encr_len, cases[i].e);
		assert_memory_not_equal(k.i2r.encr, k.r2i.encr, cases[i].e);
		assert_memory_not_equal(k.sk_pi, k.sk_pr, cases[i].d);
		assert_memory_equal(&k.suite, &cases[i].s, sizeof(k.suite));

		/* The layout is prf+(SKEYSEED, Ni | Nr | SPIi | SPIr) cut in order. */
		uint8_t key[48], seed[SS_PRF_MAX], km[1024];
		memcpy(key, ni, 32);
		memcpy(key + 32, nr, 16);
		assert_true(ss_prf(cases[i].s.prf, key, 48, g_ir, sizeof(g_ir), seed));
		ss_chunk s[] = { SS_CHUNK(ni, 32), SS_CHUNK(nr, 16), SS_CHUNK(spi_i, 8), SS_CHUNK(spi_r, 8) };
		size_t d = cases[i].d, a = cases[i].a, e = cases[i].e;
		assert_true(ss_prf_plus(cases[i].s.prf, seed, d, s, 4, km, 3 * d + 2 * a + 2 * e));
		assert_memory_equal(k.sk_d, km, d);
		assert_memory_equal(k.r2i.integ, km + d + a, a);
		assert_memory_equal(k.i2r.encr, km + d + 2 * a, e);
		assert_memory_equal(k.sk_pr, km + 2 * d + 2 * a + 2 * e, d);
		ss_ike_keys_wipe(&k);
		assert_true(all_zero(&k, sizeof(k)));
	}
}

static void unsupported_suite_leaves_nothing(void **state)
{
	ss_ike_suite bad = { SS_ENCR_AES_CBC, 128, SS_INTEG_NONE, SS_PRF_HMAC_SHA2_256, SS_DH_ECP_256 };
	ss_ike_keys k;
	memset(&k, 0x77, sizeof(k));
	assert_false(ss_ike_keys_derive(&k, &bad, g_ir, sizeof(g_ir), ni, sizeof(ni), nr,
	                                sizeof(nr), spi_i, spi_r));
	assert_true(all_zero(&k, sizeof(k)));

	ss_esp_suite esp = { SS_ENCR_AES_GCM_16, 128, SS_INTEG_HMAC_SHA2_256_128, SS_DH_NONE };
	ss_ike_suite good = { SS_ENCR_AES_GCM_16, 128, SS_INTEG_NONE, SS_PRF_HMAC_SHA2_256,
	                      SS_DH_ECP_256 };
	assert_true(ss_ike_keys_derive(&k, &good, g_ir, sizeof(g_ir), ni, sizeof(ni), nr,
	                               sizeof(nr), spi_i, spi_r));
	ss_child_keys c;
	memset(&c, 0x77, sizeof(c));
	assert_false(ss_child_keys_derive(&c, &esp, &k, NULL, 0, ni, sizeof(ni), nr, sizeof(nr)));
	assert_true(all_zero(&c, sizeof(c)));
	ss_ike_keys_wipe(&k);
}

static void rekey_uses_old_sk_d_and_new_lengths(void **state)
{
	ss_ike_suite old_s = { SS_ENCR_AES_CBC, 256, SS_INTEG_HMAC_SHA2_512_256,
	                       SS_PRF_HMAC_SHA2_512, SS_DH_ECP_384 };
	ss_ike_suite new_s = { SS_ENCR_AES_GCM_16, 128, SS_INTEG_NONE, SS_PRF_HMAC_SHA2_256,
	                       SS_DH_CURVE25519 };
	ss_ike_keys old, a, b;
	assert_true(ss_ike_keys_derive(&old, &old_s, g_ir, sizeof(g_ir), ni, sizeof(ni), nr,
	                               sizeof(nr), spi_i, spi_r));
	assert_true(ss_ike_keys_rekey(&a, &new_s, &old, g_ir, sizeof(g_ir), nr, sizeof(nr), ni,
	                              sizeof(ni), spi_r, spi_i));
	assert_int_equal(a.sk_d_len, 32);
	assert_int_equal(a.i2r.encr_len, 20);
	assert_int_equal(a.i2r.integ_len, 0);
	/* SKEYSEED = prf_old(SK_d(old), g^ir | Ni | Nr), prf+ with the old PRF. */
	uint8_t seed[64], km[32];
	ss_chunk d[] = { SS_CHUNK(g_ir, sizeof(g_ir)), SS_CHUNK(nr, sizeof(nr)), SS_CHUNK(ni, sizeof(ni)) };
	assert_true(ss_prf_v(SS_PRF_HMAC_SHA2_512, old.sk_d, 64, d, 3, seed));
	ss_chunk s[] = { SS_CHUNK(nr, sizeof(nr)), SS_CHUNK(ni, sizeof(ni)), SS_CHUNK(spi_r, 8),
	                 SS_CHUNK(spi_i, 8) };
	assert_true(ss_prf_plus(SS_PRF_HMAC_SHA2_512, seed, 64, s, 4, km, 32));
	assert_memory_equal(a.sk_d, km, 32);

	/* A different old SK_d gives different keys. */
	old.sk_d[0] ^= 1;
	assert_true(ss_ike_keys_rekey(&b, &new_s, &old, g_ir, sizeof(g_ir), nr, sizeof(nr), ni,
	                              sizeof(ni), spi_r, spi_i));
	assert_memory_not_equal(a.sk_d, b.sk_d, 32);
	ss_ike_keys_wipe(&old);
	ss_ike_keys_wipe(&a);
	ss_ike_keys_wipe(&b);
}

static void child_keys_layout_and_pfs(void **state)
{
	ss_ike_suite is = { SS_ENCR_AES_GCM_16, 256, SS_INTEG_NONE, SS_PRF_HMAC_SHA2_384,
	                    SS_DH_ECP_384 };
	ss_ike_keys ike;
	assert_true(ss_ike_keys_derive(&ike, &is, g_ir, sizeof(g_ir), ni, sizeof(ni), nr,
	                               sizeof(nr), spi_i, spi_r));
	ss_esp_suite cbc = { SS_ENCR_AES_CBC, 128, SS_INTEG_HMAC_SHA2_256_128, SS_DH_NONE };
	ss_esp_suite gcm = { SS_ENCR_AES_GCM_16, 128, SS_INTEG_NONE, SS_DH_NONE };
	ss_child_keys c, p, g;
	assert_true(ss_child_keys_derive(&c, &cbc, &ike, NULL, 0, ni, sizeof(ni), nr, sizeof(nr)));
	assert_true(ss_child_keys_derive(&p, &cbc, &ike, g_ir, sizeof(g_ir), ni, sizeof(ni), nr,
	                                 sizeof(nr)));
	assert_true(ss_child_keys_derive(&g, &gcm, &ike, NULL, 0, ni, sizeof(ni), nr, sizeof(nr)));
	assert_int_equal(c.i2r.encr_len, 16);
	assert_int_equal(c.i2r.integ_len, 32);
	assert_int_equal(g.i2r.encr_len, 20);   /* key + 4-byte salt (RFC 4106 §8.1) */
	assert_int_equal(g.r2i.integ_len, 0);

	/* KEYMAT = prf+(SK_d, Ni | Nr): encr_i | integ_i | encr_r | integ_r. */
	uint8_t km[96];
	ss_chunk s[] = { SS_CHUNK(ni, sizeof(ni)), SS_CHUNK(nr, sizeof(nr)) };
	assert_true(ss_prf_plus(SS_PRF_HMAC_SHA2_384, ike.sk_d, 48, s, 2, km, 96));
	assert_memory_equal(c.i2r.encr, km, 16);
	assert_memory_equal(c.i2r.integ, km + 16, 32);
	assert_memory_equal(c.r2i.encr, km + 48, 16);
	assert_memory_equal(c.r2i.integ, km + 64, 32);
	/* The GCM layout is a prefix of the same stream: key|salt (i), key|salt (r). */
	assert_memory_equal(g.i2r.encr, km, 20);
	assert_memory_equal(g.r2i.encr, km + 20, 20);
	/* PFS changes everything. */
	assert_memory_not_equal(p.i2r.encr, c.i2r.encr, 16);
	assert_memory_not_equal(p.r2i.integ, c.r2i.integ, 32);
	ss_child_keys_wipe(&c);
	ss_child_keys_wipe(&p);
	ss_child_keys_wipe(&g);
	ss_ike_keys_wipe(&ike);
}

/* Initiator and responder derive the same keys; each one's sending direction is the
 * other's receiving direction. */
static void both_ends_talk(void **state)
{
	ss_ike_suite suites[] = {
		{ SS_ENCR_AES_GCM_16, 128, SS_INTEG_NONE, SS_PRF_HMAC_SHA2_256, SS_DH_ECP_256 },
		{ SS_ENCR_AES_CBC, 256, SS_INTEG_HMAC_SHA2_384_192, SS_PRF_HMAC_SHA2_384, SS_DH_MODP_2048 },
	};
	for (size_t i = 0; i < 2; i++) {
		ss_dh *di = ss_dh_new(suites[i].dh), *dr = ss_dh_new(suites[i].dh);
		uint8_t kei[SS_DH_PUB_MAX], ker[SS_DH_PUB_MAX];
		uint8_t si[SS_DH_SECRET_MAX], sr[SS_DH_SECRET_MAX];
		size_t pl = ss_dh_pub_len(suites[i].dh), sl = ss_dh_secret_len(suites[i].dh);
		assert_true(ss_dh_public(di, kei, pl));
		assert_true(ss_dh_public(dr, ker, pl));
		assert_int_equal(ss_dh_derive(di, ker, pl, si, sl), SS_DH_OK);
		assert_int_equal(ss_dh_derive(dr, kei, pl, sr, sl), SS_DH_OK);
		ss_ike_keys ki, kr;
		assert_true(ss_ike_keys_derive(&ki, &suites[i], si, sl, ni, 32, nr, 16, spi_i, spi_r));
		assert_true(ss_ike_keys_derive(&kr, &suites[i], sr, sl, ni, 32, nr, 16, spi_i, spi_r));
		assert_memory_equal(&ki, &kr, sizeof(ki));

		ss_sk i_tx, i_rx, r_tx, r_rx;
		assert_true(ss_sk_init_pair(&i_tx, &i_rx, &ki, true));
		assert_true(ss_sk_init_pair(&r_tx, &r_rx, &kr, false));
		uint8_t msg[256];
		size_t len, off, inner;
		memset(msg, 0x33, sizeof(msg));
		assert_true(ss_sk_seal(&i_tx, msg, sizeof(msg), 32, 60, &len));
		assert_int_equal(ss_sk_open(&i_rx, msg, len, 32, &off, &inner), SS_SK_AUTH_FAILED);
		assert_int_equal(ss_sk_open(&r_rx, msg, len, 32, &off, &inner), SS_SK_OK);
		assert_true(ss_sk_seal(&r_tx, msg, sizeof(msg), 32, 60, &len));
		assert_int_equal(ss_sk_open(&r_rx, msg, len, 32, &off, &inner), SS_SK_AUTH_FAILED);
		assert_int_equal(ss_sk_open(&i_rx, msg, len, 32, &off, &inner), SS_SK_OK);
		ss_sk_wipe(&i_tx);
		ss_sk_wipe(&i_rx);
		ss_sk_wipe(&r_tx);
		ss_sk_wipe(&r_rx);
		ss_ike_keys_wipe(&ki);
		ss_ike_keys_wipe(&kr);
		ss_dh_free(di);
		ss_dh_free(dr);
	}
}

static void psk_auth_composition_and_verify(void **state)
{
	static const uint8_t psk[] = "correct horse", msg[] = "IKE_SA_INIT request bytes";
	static const uint8_t id[] = { 2, 0, 0, 0, 'h', 'o', 's', 't' }, skp[32] = { 5 };
	const uint16_t prf = SS_PRF_HMAC_SHA2_256;
	uint8_t auth[32], pad[32], mid[32], want[32];
	assert_true(ss_auth_psk(prf, psk, 13, msg, sizeof(msg), nr, sizeof(nr), skp, 32, id,
	                        sizeof(id), auth));
	/* prf(prf(PSK, "Key Pad for IKEv2"), msg | nonce | prf(SK_p, ID body)) */
	assert_true(ss_prf(prf, psk, 13, (const uint8_t *)"Key Pad for IKEv2", 17, pad));
	assert_true(ss_prf(prf, skp, 32, id, sizeof(id), mid));
	ss_chunk octets[] = { SS_CHUNK(msg, sizeof(msg)), SS_CHUNK(nr, sizeof(nr)), SS_CHUNK(mid, 32) };
	assert_true(ss_prf_v(prf, pad, 32, octets, 3, want));
	assert_memory_equal(auth, want, 32);

	assert_true(ss_auth_psk_verify(prf, psk, 13, msg, sizeof(msg), nr, sizeof(nr), skp, 32,
	                               id, sizeof(id), auth, 32));
	/* Wrong key, wrong nonce, wrong identity, wrong length, any flipped bit: refused. */
	assert_false(ss_auth_psk_verify(prf, psk, 12, msg, sizeof(msg), nr, sizeof(nr), skp, 32,
	                                id, sizeof(id), auth, 32));
	assert_false(ss_auth_psk_verify(prf, psk, 13, msg, sizeof(msg), ni, sizeof(nr), skp, 32,
	                                id, sizeof(id), auth, 32));
	assert_false(ss_auth_psk_verify(prf, psk, 13, msg, sizeof(msg), nr, sizeof(nr), skp, 32,
	                                id, sizeof(id) - 1, auth, 32));
	assert_false(ss_auth_psk_verify(prf, psk, 13, msg, sizeof(msg), nr, sizeof(nr), skp, 32,
	                                id, sizeof(id), auth, 31));
	for (size_t i = 0; i < 32; i++) {
		auth[i] ^= 0x10;
		assert_false(ss_auth_psk_verify(prf, psk, 13, msg, sizeof(msg), nr, sizeof(nr), skp,
		                                32, id, sizeof(id), auth, 32));
		auth[i] ^= 0x10;
	}
	assert_false(ss_auth_psk(2, psk, 13, msg, sizeof(msg), nr, sizeof(nr), skp, 32, id,
	                         sizeof(id), auth));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ike_key_lengths_follow_the_suite),
		cmocka_unit_test(unsupported_suite_leaves_nothing),
		cmocka_unit_test(rekey_uses_old_sk_d_and_new_lengths),
		cmocka_unit_test(child_keys_layout_and_pfs),
		cmocka_unit_test(both_ends_talk),
		cmocka_unit_test(psk_auth_composition_and_verify),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
