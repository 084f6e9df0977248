/* Known-answer tests for the IKE crypto primitives: suite tables, HMAC-SHA2 PRFs and
 * truncated integrity (RFC 4868), prf+ (RFC 7296 §2.13), DH groups 14/19/20/31
 * (RFC 5903 §8, RFC 7748 §5.2/§6.1) and the validation of peer public values. */
#include "crypto_test.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "ike/crypto.h"

/* ---- Suite tables ---- */

static void suite_tables_give_lengths(void **state)
{
	assert_null(ss_crypto_preload());
	assert_null(ss_crypto_preload());  /* idempotent */

	const ss_encr_desc *e = ss_encr_find(SS_ENCR_AES_GCM_16, 256);
	assert_non_null(e);
	assert_int_equal(e->key_len, 32);
	assert_int_equal(e->salt_len, 4);
	assert_int_equal(e->keymat_len, 36);
	assert_int_equal(e->iv_len, 8);
	assert_int_equal(e->icv_len, 16);
	assert_true(e->aead);
	e = ss_encr_find(SS_ENCR_AES_CBC, 128);
	assert_non_null(e);
	assert_int_equal(e->keymat_len, 16);
	assert_int_equal(e->iv_len, 16);
	assert_int_equal(e->pad_align, 16);
	assert_false(e->aead);
	assert_null(ss_encr_find(SS_ENCR_AES_CBC, 192));
	assert_null(ss_encr_find(3, 128));

	assert_int_equal(ss_integ_key_len(SS_INTEG_HMAC_SHA2_384_192), 48);
	assert_int_equal(ss_integ_icv_len(SS_INTEG_HMAC_SHA2_384_192), 24);
	assert_int_equal(ss_integ_icv_len(SS_INTEG_HMAC_SHA2_512_256), 32);
	assert_int_equal(ss_integ_icv_len(SS_INTEG_NONE), 0);
	assert_int_equal(ss_prf_len(SS_PRF_HMAC_SHA2_512), 64);
	assert_int_equal(ss_prf_len(2 /* HMAC-SHA1 */), 0);

	assert_int_equal(ss_dh_pub_len(SS_DH_MODP_2048), 256);
	assert_int_equal(ss_dh_pub_len(SS_DH_ECP_256), 64);
	assert_int_equal(ss_dh_pub_len(SS_DH_ECP_384), 96);
	assert_int_equal(ss_dh_pub_len(SS_DH_CURVE25519), 32);
	assert_int_equal(ss_dh_secret_len(SS_DH_ECP_384), 48);
	assert_int_equal(ss_dh_pub_len(2), 0);

	size_t n;
	assert_non_null(ss_encr_all(&n));
	assert_int_equal(n, 4);
	assert_non_null(ss_dh_all(&n));
	assert_int_equal(n, 4);
}

static void suite_check_rejects_bad_combinations(void **state)
{
	ss_ike_suite ok1 = { SS_ENCR_AES_GCM_16, 128, SS_INTEG_NONE, SS_PRF_HMAC_SHA2_256,
	                     SS_DH_ECP_256 };
	ss_ike_suite ok2 = { SS_ENCR_AES_CBC, 256, SS_INTEG_HMAC_SHA2_256_128,
	                     SS_PRF_HMAC_SHA2_256, SS_DH_MODP_2048 };
	assert_null(ss_ike_suite_check(&ok1));
	assert_null(ss_ike_suite_check(&ok2));
	ss_ike_suite bad = ok1;
	bad.integ = SS_INTEG_HMAC_SHA2_256_128;   /* AEAD + integrity */
	assert_non_null(ss_ike_suite_check(&bad));
	bad = ok2;
	bad.integ = SS_INTEG_NONE;                /* CBC without integrity */
	assert_non_null(ss_ike_suite_check(&bad));
	bad = ok2;
	bad.prf = 2;
	assert_non_null(ss_ike_suite_check(&bad));
	bad = ok2;
	bad.dh = 5;
	assert_non_null(ss_ike_suite_check(&bad));
	bad = ok2;
	bad.encr_bits = 0;
	assert_non_null(ss_ike_suite_check(&bad));

	ss_esp_suite esp = { SS_ENCR_AES_GCM_16, 256, SS_INTEG_NONE, SS_DH_NONE };
	assert_null(ss_esp_suite_check(&esp));
	esp.dh = SS_DH_CURVE25519;
	assert_null(ss_esp_suite_check(&esp));
	esp.dh = 1;
	assert_non_null(ss_esp_suite_check(&esp));
}

/* ---- PRF (RFC 4868 §2.7.1 = RFC 4231 test cases 1 and 2) ---- */

struct prf_kat {
	uint16_t prf;
	const char *key, *data, *out;
};

static const struct prf_kat prf_kats[] = {
	{ SS_PRF_HMAC_SHA2_256, "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "4869205468657265",
	  "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7" },
	{ SS_PRF_HMAC_SHA2_384, "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "4869205468657265",
	  "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59c"
	  "faea9ea9076ede7f4af152e8b2fa9cb6" },
	{ SS_PRF_HMAC_SHA2_512, "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "4869205468657265",
	  "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
	  "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854" },
	/* "Jefe", "what do ya want for nothing?" */
	{ SS_PRF_HMAC_SHA2_256, "4a656665",
	  "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
	  "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },
	{ SS_PRF_HMAC_SHA2_384, "4a656665",
	  "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
	  "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e"
	  "8e2240ca5e69e2c78b3239ecfab21649" },
	{ SS_PRF_HMAC_SHA2_512, "4a656665",
	  "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
	  "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
	  "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737" },
};

static void prf_known_answers(void **state)
{
	for (size_t i = 0; i < sizeof(prf_kats) / sizeof(prf_kats[0]); i++) {
		const struct prf_kat *k = &prf_kats[i];
		uint8_t key[64], data[64], out[SS_PRF_MAX];
		size_t kl = unhex(k->key, key, sizeof(key)), dl = unhex(k->data, data, sizeof(data));
		assert_true(ss_prf(k->prf, key, kl, data, dl, out));
		assert_hex(out, ss_prf_len(k->prf), k->out);
		/* The same input split into chunks, including an empty one. */
		ss_chunk parts[] = { SS_CHUNK(data, 3), SS_CHUNK(data, 0), SS_CHUNK(data + 3, dl - 3) };
		memset(out, 0, sizeof(out));
		assert_true(ss_prf_v(k->prf, key, kl, parts, 3, out));
		assert_hex(out, ss_prf_len(k->prf), k->out);
	}
	uint8_t out[SS_PRF_MAX];
	assert_false(ss_prf(2, (const uint8_t *)"k", 1, (const uint8_t *)"d", 1, out));
	/* Empty key and empty data are legal HMAC inputs (RFC 2104). */
	assert_true(ss_prf(SS_PRF_HMAC_SHA2_256, NULL, 0, NULL, 0, out));
	assert_hex(out, 32, "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

/* ---- Integrity (RFC 4868 §2.7.2: key = digest length, "Hi There", truncated) ---- */

struct integ_kat {
	uint16_t integ;
	size_t key_len;
	const char *icv;
};

static const struct integ_kat integ_kats[] = {
	{ SS_INTEG_HMAC_SHA2_256_128, 32, "198a607eb44bfbc69903a0f1cf2bbdc5" },
	{ SS_INTEG_HMAC_SHA2_384_192, 48, "b6a8d5636f5c6a7224f9977dcf7ee6c7fb6d0c48cbdee973" },
	{ SS_INTEG_HMAC_SHA2_512_256, 64,
	  "637edc6e01dce7e6742a99451aae82df23da3e92439e590e43e761b33e910fb8" },
};

static void integ_known_answers_and_verify(void **state)
{
	static const uint8_t msg[] = "Hi There";
	for (size_t i = 0; i < sizeof(integ_kats) / sizeof(integ_kats[0]); i++) {
		const struct integ_kat *k = &integ_kats[i];
		uint8_t key[64], icv[SS_ICV_MAX];
		memset(key, 0x0b, sizeof(key));
		ss_chunk data = SS_CHUNK(msg, 8);
		size_t n = ss_integ_icv_len(k->integ);
		assert_true(ss_integ_compute(k->integ, key, k->key_len, &data, 1, icv));
		assert_hex(icv, n, k->icv);
		assert_true(ss_integ_verify(k->integ, key, k->key_len, &data, 1, icv, n));
		/* Every bit of the ICV matters; so does its length and the key length. */
		for (size_t b = 0; b < n * 8; b++) {
			icv[b / 8] ^= (uint8_t)(1u << (b % 8));
			assert_false(ss_integ_verify(k->integ, key, k->key_len, &data, 1, icv, n));
			icv[b / 8] ^= (uint8_t)(1u << (b % 8));
		}
		assert_false(ss_integ_verify(k->integ, key, k->key_len, &data, 1, icv, n - 1));
		assert_false(ss_integ_verify(k->integ, key, k->key_len - 1, &data, 1, icv, n));
		assert_false(ss_integ_compute(k->integ, key, k->key_len + 1, &data, 1, icv));
	}
	uint8_t key[32] = { 0 }, icv[16] = { 0 };
	ss_chunk data = SS_CHUNK(key, 1);
	assert_false(ss_integ_verify(SS_INTEG_NONE, key, 0, &data, 1, icv, 0));
}

/* ---- prf+ (§2.13) ---- */

static void prf_plus_blocks_chain_as_specified(void **state)
{
	static const uint8_t key[] = "prf+ key", s1[] = "seed-part-1", s2[] = "part-2";
	const uint16_t prf = SS_PRF_HMAC_SHA2_256;
	ss_chunk seed[] = { SS_CHUNK(s1, 11), SS_CHUNK(s2, 6) };
	uint8_t out[100], t1[32], t2[32], t3[32];
	assert_true(ss_prf_plus(prf, key, 8, seed, 2, out, sizeof(out)));

	/* T1 = prf(K, S | 0x01), T2 = prf(K, T1 | S | 0x02), T3 = prf(K, T2 | S | 0x03) */
	static const uint8_t c1 = 1, c2 = 2, c3 = 3;
	ss_chunk b1[] = { seed[0], seed[1], SS_CHUNK(&c1, 1) };
	assert_true(ss_prf_v(prf, key, 8, b1, 3, t1));
	ss_chunk b2[] = { SS_CHUNK(t1, 32), seed[0], seed[1], SS_CHUNK(&c2, 1) };
	assert_true(ss_prf_v(prf, key, 8, b2, 4, t2));
	ss_chunk b3[] = { SS_CHUNK(t2, 32), seed[0], seed[1], SS_CHUNK(&c3, 1) };
	assert_true(ss_prf_v(prf, key, 8, b3, 4, t3));
	assert_memory_equal(out, t1, 32);
	assert_memory_equal(out + 32, t2, 32);
	assert_memory_equal(out + 64, t3, 32);

	/* A shorter request is a prefix of a longer one. */
	uint8_t shorter[33];
	assert_true(ss_prf_plus(prf, key, 8, seed, 2, shorter, sizeof(shorter)));
	assert_memory_equal(shorter, out, sizeof(shorter));
}

static void prf_plus_refuses_more_than_255_blocks(void **state)
{
	static const uint8_t key[] = "k", s[] = "s";
	ss_chunk seed = SS_CHUNK(s, 1);
	static uint8_t out[255 * 64 + 1];
	for (size_t i = 0; i < 3; i++) {
		uint16_t prf = SS_PRF_HMAC_SHA2_256 + (uint16_t)i;
		size_t max = 255 * ss_prf_len(prf);
		assert_true(ss_prf_plus(prf, key, 1, &seed, 1, out, max));
		memset(out, 0xaa, sizeof(out));
		assert_false(ss_prf_plus(prf, key, 1, &seed, 1, out, max + 1));
		for (size_t j = 0; j < max + 1; j++)
			assert_int_equal(out[j], 0);  /* wiped, never half-written */
	}
	assert_true(ss_prf_plus(SS_PRF_HMAC_SHA2_256, key, 1, &seed, 1, out, 0));
	assert_false(ss_prf_plus(2, key, 1, &seed, 1, out, 16));
}

/* ---- DH known answers ---- */

static void dh_check_kat(uint16_t group, const char *i, const char *gi, const char *r,
                         const char *gr, const char *gir)
{
	uint8_t priv[64], pub[SS_DH_PUB_MAX], peer[SS_DH_PUB_MAX], sec[SS_DH_SECRET_MAX];
	size_t pl = ss_dh_pub_len(group), sl = ss_dh_secret_len(group);
	ss_dh *a = ss_dh_from_private(group, priv, unhex(i, priv, sizeof(priv)));
	ss_dh *b = ss_dh_from_private(group, priv, unhex(r, priv, sizeof(priv)));
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(ss_dh_group(a), group);
	assert_true(ss_dh_public(a, pub, pl));
	assert_hex(pub, pl, gi);
	assert_true(ss_dh_public(b, pub, pl));
	assert_hex(pub, pl, gr);
	assert_false(ss_dh_public(a, pub, pl - 1));

	assert_int_equal(unhex(gr, peer, sizeof(peer)), pl);
	assert_int_equal(ss_dh_derive(a, peer, pl, sec, sl), SS_DH_OK);
	assert_hex(sec, sl, gir);
	assert_int_equal(unhex(gi, peer, sizeof(peer)), pl);
	assert_int_equal(ss_dh_derive(b, peer, pl, sec, sl), SS_DH_OK);
	assert_hex(sec, sl, gir);
	ss_dh_free(a);
	ss_dh_free(b);
}

static void ecp256_rfc5903_vectors(void **state)
{
	dh_check_kat(SS_DH_ECP_256,
	             "C88F01F510D9AC3F70A292DAA2316DE544E9AAB8AFE84049C62A9C57862D1433",
	             "DAD0B65394221CF9B051E1FECA5787D098DFE637FC90B9EF945D0C3772581180"
	             "5271A0461CDB8252D61F1C456FA3E59AB1F45B33ACCF5F58389E0577B8990BB3",
	             "C6EF9C5D78AE012A011164ACB397CE2088685D8F06BF9BE0B283AB46476BEE53",
	             "D12DFB5289C8D4F81208B70270398C342296970A0BCCB74C736FC7554494BF63"
	             "56FBF3CA366CC23E8157854C13C58D6AAC23F046ADA30F8353E74F33039872AB",
	             "D6840F6B42F6EDAFD13116E0E12565202FEF8E9ECE7DCE03812464D04B9442DE");
}

static void ecp384_rfc5903_vectors(void **state)
{
	dh_check_kat(SS_DH_ECP_384,
	             "099F3C7034D4A2C699884D73A375A67F7624EF7C6B3C0F160647B67414DCE655"
	             "E35B538041E649EE3FAEF896783AB194",
	             "667842D7D180AC2CDE6F74F37551F55755C7645C20EF73E31634FE72B4C55EE6"
	             "DE3AC808ACB4BDB4C88732AEE95F41AA"
	             "9482ED1FC0EEB9CAFC4984625CCFC23F65032149E0E144ADA024181535A0F38E"
	             "EB9FCFF3C2C947DAE69B4C634573A81C",
	             "41CB0779B4BDB85D47846725FBEC3C9430FAB46CC8DC5060855CC9BDA0AA2942"
	             "E0308312916B8ED2960E4BD55A7448FC",
	             "E558DBEF53EECDE3D3FCCFC1AEA08A89A987475D12FD950D83CFA41732BC509D"
	             "0D1AC43A0336DEF96FDA41D0774A3571"
	             "DCFBEC7AACF3196472169E838430367F66EEBE3C6E70C416DD5F0C68759DD1FF"
	             "F83FA40142209DFF5EAAD96DB9E6386C",
	             "11187331C279962D93D604243FD592CB9D0A926F422E47187521287E7156C5C4"
	             "D603135569B9E9D09CF5D4A270F59746");
}

static void x25519_rfc7748_vectors(void **state)
{
	/* §6.1: Alice and Bob. */
	dh_check_kat(SS_DH_CURVE25519,
	             "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
	             "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
	             "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
	             "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
	             "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");

	/* §5.2, first test vector: an arbitrary scalar and u-coordinate. */
	uint8_t k[32], u[32], out[32];
	unhex("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4", k, 32);
	unhex("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c", u, 32);
	ss_dh *dh = ss_dh_from_private(SS_DH_CURVE25519, k, 32);
	assert_non_null(dh);
	assert_int_equal(ss_dh_derive(dh, u, 32, out, 32), SS_DH_OK);
	assert_hex(out, 32, "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
	ss_dh_free(dh);
}

/* MODP has no RFC vector for IKE; tiny exponents make the expected values obvious and
 * exercise the padding to the prime length (§2.14). */
static void modp_small_exponents_are_padded(void **state)
{
	uint8_t two = 2, three = 3, pub[256], sec[256], want[256] = { 0 };
	ss_dh *a = ss_dh_from_private(SS_DH_MODP_2048, &two, 1);
	ss_dh *b = ss_dh_from_private(SS_DH_MODP_2048, &three, 1);
	assert_non_null(a);
	assert_non_null(b);
	assert_true(ss_dh_public(a, pub, 256));
	want[255] = 4;   /* 2^2 */
	assert_memory_equal(pub, want, 256);
	assert_true(ss_dh_public(b, pub, 256));   /* 2^3 */
	assert_int_equal(ss_dh_derive(a, pub, 256, sec, 256), SS_DH_OK);
	want[255] = 64;  /* (2^3)^2 */
	assert_memory_equal(sec, want, 256);
	ss_dh_free(a);
	ss_dh_free(b);
}

static void every_group_agrees_with_itself(void **state)
{
	size_t n;
	const ss_dh_desc *all = ss_dh_all(&n);
	for (size_t g = 0; g < n; g++) {
		uint16_t id = all[g].id;
		ss_dh *a = ss_dh_new(id), *b = ss_dh_new(id);
		assert_non_null(a);
		assert_non_null(b);
		uint8_t pa[SS_DH_PUB_MAX], pb[SS_DH_PUB_MAX];
		uint8_t sa[SS_DH_SECRET_MAX], sb[SS_DH_SECRET_MAX];
		size_t pl = ss_dh_pub_len(id), sl = ss_dh_secret_len(id);
		assert_true(ss_dh_public(a, pa, pl));
		assert_true(ss_dh_public(b, pb, pl));
		assert_memory_not_equal(pa, pb, pl);
		assert_int_equal(ss_dh_derive(a, pb, pl, sa, sl), SS_DH_OK);
		assert_int_equal(ss_dh_derive(b, pa, pl, sb, sl), SS_DH_OK);
		assert_memory_equal(sa, sb, sl);
		/* Wrong output size is refused. */
		assert_int_equal(ss_dh_derive(a, pb, pl, sa, sl - 1), SS_DH_FAILED);
		ss_dh_free(a);
		ss_dh_free(b);
	}
	assert_null(ss_dh_new(2));
	assert_null(ss_dh_new(SS_DH_NONE));
	ss_dh_free(NULL);
}

/* ---- Validation of peer public values ---- */

static void wrong_lengths_are_refused(void **state)
{
	size_t n;
	const ss_dh_desc *all = ss_dh_all(&n);
	for (size_t g = 0; g < n; g++) {
		ss_dh *a = ss_dh_new(all[g].id);
		assert_non_null(a);
		uint8_t peer[SS_DH_PUB_MAX + 1], sec[SS_DH_SECRET_MAX];
		size_t pl = all[g].pub_len, sl = all[g].secret_len;
		assert_true(ss_dh_public(a, peer, pl));
		peer[pl] = 0;
		memset(sec, 0xaa, sizeof(sec));
		assert_int_equal(ss_dh_derive(a, peer, pl - 1, sec, sl), SS_DH_BAD_LENGTH);
		assert_int_equal(ss_dh_derive(a, peer, pl + 1, sec, sl), SS_DH_BAD_LENGTH);
		assert_int_equal(ss_dh_derive(a, peer, 0, sec, sl), SS_DH_BAD_LENGTH);
		for (size_t i = 0; i < sl; i++)
			assert_int_equal(sec[i], 0);  /* wiped on error */
		ss_dh_free(a);
	}
}

static void ecp_points_off_the_curve_are_refused(void **state)
{
	uint16_t groups[] = { SS_DH_ECP_256, SS_DH_ECP_384 };
	for (size_t g = 0; g < 2; g++) {
		ss_dh *a = ss_dh_new(groups[g]), *b = ss_dh_new(groups[g]);
		uint8_t peer[96], sec[48];
		size_t pl = ss_dh_pub_len(groups[g]), sl = ss_dh_secret_len(groups[g]);
		assert_true(ss_dh_public(b, peer, pl));
		peer[pl - 1] ^= 1;  /* y changed: (x, y') is not on the curve */
		assert_int_equal(ss_dh_derive(a, peer, pl, sec, sl), SS_DH_BAD_VALUE);
		peer[pl - 1] ^= 1;
		peer[0] ^= 0x80;    /* x changed */
		assert_int_equal(ss_dh_derive(a, peer, pl, sec, sl), SS_DH_BAD_VALUE);
		memset(peer, 0, pl);  /* (0, 0): what an encoder of infinity might send */
		assert_int_equal(ss_dh_derive(a, peer, pl, sec, sl), SS_DH_BAD_VALUE);
		memset(peer, 0xff, pl);  /* coordinates beyond the field */
		assert_int_equal(ss_dh_derive(a, peer, pl, sec, sl), SS_DH_BAD_VALUE);
		ss_dh_free(a);
		ss_dh_free(b);
	}
}

static void x25519_low_order_points_are_refused(void **state)
{
	/* u = 0 and u = 1 have small order: every clamped scalar maps them to zero. */
	static const char *low[] = {
		"0000000000000000000000000000000000000000000000000000000000000000",
		"0100000000000000000000000000000000000000000000000000000000000000",
		"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", /* p - 1 */
	};
	ss_dh *a = ss_dh_new(SS_DH_CURVE25519);
	for (size_t i = 0; i < sizeof(low) / sizeof(low[0]); i++) {
		uint8_t u[32], sec[32];
		unhex(low[i], u, 32);
		memset(sec, 0xaa, 32);
		assert_int_equal(ss_dh_derive(a, u, 32, sec, 32), SS_DH_BAD_VALUE);
		for (size_t j = 0; j < 32; j++)
			assert_int_equal(sec[j], 0);
	}
	ss_dh_free(a);
}

/* p of the MODP-2048 group, from OpenSSL, so the test can build edge values. */
static BIGNUM *modp2048_p(void)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL);
	OSSL_PARAM prm[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)"modp_2048", 0),
		OSSL_PARAM_construct_end(),
	};
	EVP_PKEY *k = NULL;
	BIGNUM *p = NULL;
	if (ctx && EVP_PKEY_paramgen_init(ctx) == 1 && EVP_PKEY_CTX_set_params(ctx, prm) == 1 &&
	    EVP_PKEY_generate(ctx, &k) == 1)
		EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_FFC_P, &p);
	EVP_PKEY_free(k);
	EVP_PKEY_CTX_free(ctx);
	return p;
}

static void modp_out_of_range_values_are_refused(void **state)
{
	BIGNUM *p = modp2048_p();
	assert_non_null(p);
	ss_dh *a = ss_dh_new(SS_DH_MODP_2048);
	assert_non_null(a);
	/* 0, 1, p - 1 (order 2), p, p + 1, all ones.  (p - 2, outside the prime-order
	 * subgroup, is accepted on purpose: with a safe prime and ephemeral keys it can leak
	 * at most one bit, and RFC 6989 §2.2 asks only for the range check.) */
	long deltas[] = { -1, 0, 1 };
	uint8_t v[256], sec[256];
	memset(v, 0, sizeof(v));
	assert_int_equal(ss_dh_derive(a, v, 256, sec, 256), SS_DH_BAD_VALUE);
	v[255] = 1;
	assert_int_equal(ss_dh_derive(a, v, 256, sec, 256), SS_DH_BAD_VALUE);
	for (size_t i = 0; i < sizeof(deltas) / sizeof(deltas[0]); i++) {
		BIGNUM *x = BN_dup(p);
		assert_non_null(x);
		if (deltas[i] < 0)
			assert_true(BN_sub_word(x, (BN_ULONG)-deltas[i]));
		else
			assert_true(BN_add_word(x, (BN_ULONG)deltas[i]));
		assert_int_equal(BN_bn2binpad(x, v, 256), 256);
		assert_int_equal(ss_dh_derive(a, v, 256, sec, 256), SS_DH_BAD_VALUE);
		BN_free(x);
	}
	memset(v, 0xff, sizeof(v));
	assert_int_equal(ss_dh_derive(a, v, 256, sec, 256), SS_DH_BAD_VALUE);
	BIGNUM *pm2 = BN_dup(p);
	assert_true(pm2 && BN_sub_word(pm2, 2));
	assert_int_equal(BN_bn2binpad(pm2, v, 256), 256);
	assert_int_equal(ss_dh_derive(a, v, 256, sec, 256), SS_DH_OK);
	BN_free(pm2);
	BN_free(p);
	ss_dh_free(a);
}

/* Random KE data: any 32 octets are an X25519 u-coordinate and almost any 256 octets a MODP
 * value in range, but a random x || y is essentially never on the curve. */
static void random_peer_values(void **state)
{
	uint64_t x = 0x0123456789abcdefu;
	size_t n;
	const ss_dh_desc *all = ss_dh_all(&n);
	for (size_t g = 0; g < n; g++) {
		ss_dh *a = ss_dh_new(all[g].id);
		int rounds = all[g].kind == SS_DH_KIND_MODP || all[g].id == SS_DH_ECP_384 ? 10 : 100;
		for (int r = 0; r < rounds; r++) {
			uint8_t v[SS_DH_PUB_MAX], sec[SS_DH_SECRET_MAX];
			for (size_t i = 0; i < all[g].pub_len; i++) {
				x ^= x << 13, x ^= x >> 7, x ^= x << 17;
				v[i] = (uint8_t)x;
			}
			enum ss_dh_err e = ss_dh_derive(a, v, all[g].pub_len, sec, all[g].secret_len);
			if (all[g].kind == SS_DH_KIND_ECP)
				assert_int_equal(e, SS_DH_BAD_VALUE);
			else
				assert_true(e == SS_DH_OK || e == SS_DH_BAD_VALUE);
		}
		ss_dh_free(a);
	}
}

static void from_private_rejects_nonsense(void **state)
{
	uint8_t k[32] = { 1 };
	assert_null(ss_dh_from_private(2, k, 32));
	assert_null(ss_dh_from_private(SS_DH_ECP_256, k, 0));
	assert_null(ss_dh_from_private(SS_DH_CURVE25519, k, 31));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(suite_tables_give_lengths),
		cmocka_unit_test(suite_check_rejects_bad_combinations),
		cmocka_unit_test(prf_known_answers),
		cmocka_unit_test(integ_known_answers_and_verify),
		cmocka_unit_test(prf_plus_blocks_chain_as_specified),
		cmocka_unit_test(prf_plus_refuses_more_than_255_blocks),
		cmocka_unit_test(ecp256_rfc5903_vectors),
		cmocka_unit_test(ecp384_rfc5903_vectors),
		cmocka_unit_test(x25519_rfc7748_vectors),
		cmocka_unit_test(modp_small_exponents_are_padded),
		cmocka_unit_test(every_group_agrees_with_itself),
		cmocka_unit_test(wrong_lengths_are_refused),
		cmocka_unit_test(ecp_points_off_the_curve_are_refused),
		cmocka_unit_test(x25519_low_order_points_are_refused),
		cmocka_unit_test(modp_out_of_range_values_are_refused),
		cmocka_unit_test(random_peer_values),
		cmocka_unit_test(from_private_rejects_nonsense),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
