/* The Encrypted (SK) payload: known answers for AES-GCM (McGrew/Viega test cases 4 and 16,
 * as RFC 5282 frames them: salt | explicit IV) and AES-CBC (RFC 3602 §4), round trips for
 * every suite, and tamper detection on every byte. */
#include "crypto_test.h"

#include "ike/crypto.h"

static const ss_ike_suite suites[] = {
	{ SS_ENCR_AES_CBC, 128, SS_INTEG_HMAC_SHA2_256_128, SS_PRF_HMAC_SHA2_256, SS_DH_ECP_256 },
	{ SS_ENCR_AES_CBC, 128, SS_INTEG_HMAC_SHA2_384_192, SS_PRF_HMAC_SHA2_384, SS_DH_ECP_384 },
	{ SS_ENCR_AES_CBC, 128, SS_INTEG_HMAC_SHA2_512_256, SS_PRF_HMAC_SHA2_512, SS_DH_MODP_2048 },
	{ SS_ENCR_AES_CBC, 256, SS_INTEG_HMAC_SHA2_256_128, SS_PRF_HMAC_SHA2_256, SS_DH_MODP_2048 },
	{ SS_ENCR_AES_CBC, 256, SS_INTEG_HMAC_SHA2_384_192, SS_PRF_HMAC_SHA2_384, SS_DH_CURVE25519 },
	{ SS_ENCR_AES_CBC, 256, SS_INTEG_HMAC_SHA2_512_256, SS_PRF_HMAC_SHA2_512, SS_DH_ECP_384 },
	{ SS_ENCR_AES_GCM_16, 128, SS_INTEG_NONE, SS_PRF_HMAC_SHA2_256, SS_DH_ECP_256 },
	{ SS_ENCR_AES_GCM_16, 256, SS_INTEG_NONE, SS_PRF_HMAC_SHA2_384, SS_DH_CURVE25519 },
};
#define N_SUITES (sizeof(suites) / sizeof(suites[0]))

/* Keys of one direction filled with a recognisable pattern. */
static void pattern_keys(const ss_ike_suite *s, ss_dir_keys *k, uint8_t seed)
{
	memset(k, 0, sizeof(*k));
	k->encr_len = ss_encr_find(s->encr, s->encr_bits)->keymat_len;
	k->integ_len = ss_integ_key_len(s->integ);
	for (size_t i = 0; i < sizeof(k->encr); i++)
		k->encr[i] = (uint8_t)(seed + i);
	for (size_t i = 0; i < sizeof(k->integ); i++)
		k->integ[i] = (uint8_t)(seed * 3 + i);
}

/* ---- Known answers ---- */

struct gcm_kat {
	uint16_t bits;
	const char *key, *salt_iv, *aad, *plain, *cipher, *tag;
	enum ss_sk_err expect;
};

static const struct gcm_kat gcm_kats[] = {
	/* Test case 3: no AAD; the plaintext ends in 0x55, an impossible Pad Length, so the tag
	 * verifies and the padding check fails. */
	{ 128, "feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888", "",
	  "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
	  "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
	  "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
	  "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
	  "4d5c2af327cd64a62cf35abd2ba6fab4", SS_SK_BAD_PADDING },
	/* Test case 4 */
	{ 128, "feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
	  "feedfacedeadbeeffeedfacedeadbeefabaddad2",
	  "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
	  "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
	  "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
	  "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
	  "5bc94fbc3221a5db94fae95ae7121a47", SS_SK_OK },
	/* Test case 16 */
	{ 256, "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
	  "cafebabefacedbaddecaf888", "feedfacedeadbeeffeedfacedeadbeefabaddad2",
	  "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
	  "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
	  "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
	  "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
	  "76fc6ece0f4e1768cddf8853bb2d551b", SS_SK_OK },
};

/* The GCM vectors (McGrew/Viega test cases 3, 4, 16) become an SK payload: AAD = "header",
 * salt = last 4 octets of the key material, explicit IV on the wire.  In cases 4 and 16
 * the plaintext ends in 0x39, which our framing reads as the Pad Length: 57 octets of
 * padding, 2 of payload. */
static void gcm_known_answers(void **state)
{
	for (size_t i = 0; i < sizeof(gcm_kats) / sizeof(gcm_kats[0]); i++) {
		const struct gcm_kat *k = &gcm_kats[i];
		ss_ike_suite s = { SS_ENCR_AES_GCM_16, k->bits, SS_INTEG_NONE, SS_PRF_HMAC_SHA2_256,
		                   SS_DH_ECP_256 };
		ss_dir_keys keys = { 0 };
		uint8_t salt_iv[12];
		keys.encr_len = unhex(k->key, keys.encr, sizeof(keys.encr));
		unhex(k->salt_iv, salt_iv, 12);
		memcpy(keys.encr + keys.encr_len, salt_iv, 4);
		keys.encr_len += 4;
		ss_sk sk;
		assert_true(ss_sk_init(&sk, &s, &keys));

		uint8_t msg[256], orig[256];
		size_t aad = unhex(k->aad, msg, sizeof(msg));
		memcpy(msg + aad, salt_iv + 4, 8);
		size_t ct = unhex(k->cipher, msg + aad + 8, 100);
		size_t tl = unhex(k->tag, msg + aad + 8 + ct, 16);
		size_t len = aad + 8 + ct + tl, off = 0, inner = 0;
		memcpy(orig, msg, len);

		/* A wrong tag: refused and nothing decrypted in place. */
		msg[len - 1] ^= 0x01;
		assert_int_equal(ss_sk_open(&sk, msg, len, aad, &off, &inner), SS_SK_AUTH_FAILED);
		msg[len - 1] ^= 0x01;
		assert_memory_equal(msg, orig, len);

		assert_int_equal(ss_sk_open(&sk, msg, len, aad, &off, &inner), k->expect);
		if (k->expect != SS_SK_OK) {
			ss_sk_wipe(&sk);
			continue;
		}
		assert_int_equal(off, aad + 8);
		assert_int_equal(inner, 2);
		assert_hex(msg + off, ct, k->plain);
		ss_sk_wipe(&sk);
	}
}

struct cbc_kat {
	const char *key, *iv, *plain, *cipher;
	enum ss_sk_err expect;
	size_t inner;
};

/* RFC 3602 §4 cases 1–4.  The last plaintext octet is read as the Pad Length, which is
 * impossible for cases 1 and 4 (0x67 > 15, 0xdf > 63): the ICV passes, the padding fails. */
static const struct cbc_kat cbc_kats[] = {
	{ "06a9214036b8a15b512e03d534120006", "3dafba429d9eb430b422da802c9fac41",
	  "53696e676c6520626c6f636b206d7367", "e353779c1079aeb82708942dbe77181a",
	  SS_SK_BAD_PADDING, 0 },
	{ "c286696d887c9aa0611bbb3e2025a45a", "562e17996d093d28ddb3ba695a2e6f58",
	  "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
	  "d296cd94c2cccf8a3a863028b5e1dc0a7586602d253cfff91b8266bea6d61ab1", SS_SK_OK, 0 },
	{ "6c3ea0477630ce21a2ce334aa746c2cd", "c782dc4c098c66cbd9cd27d825682c81",
	  "5468697320697320612034382d62797465206d657373616765202865786163746c7920332041455320"
	  "626c6f636b7329",
	  "d0a02b3836451753d493665d33f0e8862dea54cdb293abc7506939276772f8d5021c19216bad525c85"
	  "79695d83ba2684", SS_SK_OK, 48 - 0x29 - 1 },
	{ "56e47a38c5598974bc46903dba290349", "8ce82eefbea0da3c44699ed7db51b7d9",
	  "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9"
	  "cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf",
	  "c30e32ffedc0774e6aff6af0869f71aa0f3af07a9a31a9c684db207eb0ef8e4e35907aa632c3ffdf86"
	  "8bb7b29d3d46ad83ce9f9a102ee99d49a53e87f4c3da55", SS_SK_BAD_PADDING, 0 },
};

static void cbc_known_answers(void **state)
{
	const ss_ike_suite s = suites[0];
	for (size_t i = 0; i < sizeof(cbc_kats) / sizeof(cbc_kats[0]); i++) {
		const struct cbc_kat *k = &cbc_kats[i];
		ss_dir_keys keys = { 0 };
		keys.encr_len = unhex(k->key, keys.encr, sizeof(keys.encr));
		keys.integ_len = 32;
		memset(keys.integ, 0x42, 32);
		ss_sk sk;
		assert_true(ss_sk_init(&sk, &s, &keys));

		uint8_t msg[256];
		size_t aad = 32;
		memset(msg, 0x11, aad);
		unhex(k->iv, msg + aad, 16);
		size_t ct = unhex(k->cipher, msg + aad + 16, 100);
		size_t len = aad + 16 + ct + 16;
		ss_chunk all = SS_CHUNK(msg, len - 16);
		assert_true(ss_integ_compute(s.integ, keys.integ, 32, &all, 1, msg + len - 16));

		size_t off = 0, inner = 0;
		assert_int_equal(ss_sk_open(&sk, msg, len, aad, &off, &inner), k->expect);
		if (k->expect == SS_SK_OK) {
			assert_int_equal(off, aad + 16);
			assert_int_equal(inner, k->inner);
			assert_hex(msg + off, ct, k->plain);
		}
		ss_sk_wipe(&sk);
	}
}

/* ---- Round trips and tampering, every suite ---- */

/* Builds header | SK header | inner payloads as the engine would and seals them. */
static size_t seal_msg(ss_sk *sk, uint8_t *msg, size_t cap, size_t aad, size_t plain)
{
	for (size_t i = 0; i < aad; i++)
		msg[i] = (uint8_t)(0xa0 + i);
	uint8_t *inner = msg + aad + ss_sk_iv_len(sk);
	for (size_t i = 0; i < plain; i++)
		inner[i] = (uint8_t)(i * 7 + 1);
	size_t len = 0;
	assert_true(ss_sk_seal(sk, msg, cap, aad, plain, &len));
	assert_int_equal(len, aad + ss_sk_body_len(sk, plain));
	return len;
}

static void every_suite_round_trips_and_detects_tampering(void **state)
{
	static const size_t sizes[] = { 0, 1, 3, 4, 15, 16, 17, 200 };
	for (size_t s = 0; s < N_SUITES; s++) {
		const ss_encr_desc *e = ss_encr_find(suites[s].encr, suites[s].encr_bits);
		ss_dir_keys keys;
		pattern_keys(&suites[s], &keys, (uint8_t)s);
		ss_sk tx, rx;
		assert_true(ss_sk_init(&tx, &suites[s], &keys));
		assert_true(ss_sk_init(&rx, &suites[s], &keys));
		for (size_t z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++) {
			uint8_t msg[512], copy[512];
			const size_t aad = 32, plain = sizes[z];
			size_t len = seal_msg(&tx, msg, sizeof(msg), aad, plain);
			size_t ct = len - aad - e->iv_len - (e->aead ? e->icv_len : ss_integ_icv_len(suites[s].integ));
			assert_int_equal(ct % e->pad_align, 0);
			assert_true(ct >= plain + 1);
			assert_true(ct - plain - 1 < e->pad_align);  /* minimal padding */

			/* Every byte flipped, header and IV included: refused, message untouched. */
			for (size_t i = 0; i < len; i++) {
				memcpy(copy, msg, len);
				copy[i] ^= 0x5a;
				size_t off, inner;
				assert_int_equal(ss_sk_open(&rx, copy, len, aad, &off, &inner),
				                 SS_SK_AUTH_FAILED);
				copy[i] ^= 0x5a;
				assert_memory_equal(copy, msg, len);
			}
			/* Truncated or extended by one octet: refused. */
			size_t off = 0, inner = 0;
			assert_int_not_equal(ss_sk_open(&rx, msg, len - 1, aad, &off, &inner), SS_SK_OK);
			msg[len] = 0;
			assert_int_not_equal(ss_sk_open(&rx, msg, len + 1, aad, &off, &inner), SS_SK_OK);

			assert_int_equal(ss_sk_open(&rx, msg, len, aad, &off, &inner), SS_SK_OK);
			assert_int_equal(off, aad + e->iv_len);
			assert_int_equal(inner, plain);
			for (size_t i = 0; i < plain; i++)
				assert_int_equal(msg[off + i], (uint8_t)(i * 7 + 1));
		}
		ss_sk_wipe(&tx);
		ss_sk_wipe(&rx);
	}
}

static void wrong_key_or_aad_split_fails(void **state)
{
	for (size_t s = 0; s < N_SUITES; s++) {
		ss_dir_keys k1, k2;
		pattern_keys(&suites[s], &k1, 1);
		pattern_keys(&suites[s], &k2, 2);
		ss_sk tx, other;
		assert_true(ss_sk_init(&tx, &suites[s], &k1));
		assert_true(ss_sk_init(&other, &suites[s], &k2));
		uint8_t msg[256];
		size_t len = seal_msg(&tx, msg, sizeof(msg), 28, 40), off, inner;
		assert_int_equal(ss_sk_open(&other, msg, len, 28, &off, &inner), SS_SK_AUTH_FAILED);
		/* The receiver must agree on where the AAD ends (GCM) / the IV starts (CBC). */
		assert_int_not_equal(ss_sk_open(&tx, msg, len, 32, &off, &inner), SS_SK_OK);
		assert_int_equal(ss_sk_open(&tx, msg, len, 28, &off, &inner), SS_SK_OK);
		ss_sk_wipe(&tx);
		ss_sk_wipe(&other);
	}
}

static void malformed_lengths_are_refused(void **state)
{
	for (size_t s = 0; s < N_SUITES; s++) {
		ss_dir_keys k;
		pattern_keys(&suites[s], &k, 9);
		ss_sk sk;
		assert_true(ss_sk_init(&sk, &suites[s], &k));
		uint8_t msg[128] = { 0 };
		size_t off, inner;
		/* Shorter than IV + ICV + the Pad Length octet. */
		const ss_encr_desc *e = ss_encr_find(suites[s].encr, suites[s].encr_bits);
		size_t icv = e->aead ? e->icv_len : ss_integ_icv_len(suites[s].integ);
		for (size_t n = 0; n < e->iv_len + icv + 1; n++)
			assert_int_equal(ss_sk_open(&sk, msg, 20 + n, 20, &off, &inner), SS_SK_MALFORMED);
		/* AAD beyond the message. */
		assert_int_equal(ss_sk_open(&sk, msg, 10, 20, &off, &inner), SS_SK_MALFORMED);
		ss_sk_wipe(&sk);
	}
	/* CBC: ciphertext not a whole number of blocks. */
	ss_dir_keys k;
	pattern_keys(&suites[0], &k, 9);
	ss_sk sk;
	assert_true(ss_sk_init(&sk, &suites[0], &k));
	uint8_t msg[128] = { 0 };
	size_t off, inner;
	assert_int_equal(ss_sk_open(&sk, msg, 20 + 16 + 17 + 16, 20, &off, &inner), SS_SK_MALFORMED);
	ss_sk_wipe(&sk);
}

static void seal_refuses_small_buffers(void **state)
{
	for (size_t s = 0; s < N_SUITES; s++) {
		ss_dir_keys k;
		pattern_keys(&suites[s], &k, 3);
		ss_sk sk;
		assert_true(ss_sk_init(&sk, &suites[s], &k));
		uint8_t msg[256];
		size_t need = 28 + ss_sk_body_len(&sk, 50), len = 0;
		assert_false(ss_sk_seal(&sk, msg, need - 1, 28, 50, &len));
		assert_false(ss_sk_seal(&sk, msg, SIZE_MAX, 28, SIZE_MAX - 2, &len));
		assert_false(ss_sk_seal(&sk, msg, SIZE_MAX, SIZE_MAX - 8, 50, &len));
		assert_true(ss_sk_seal(&sk, msg, need, 28, 50, &len));
		assert_int_equal(len, need);
		ss_sk_wipe(&sk);
	}
}

static void gcm_ivs_never_repeat_and_cbc_ivs_are_random(void **state)
{
	for (size_t s = 0; s < N_SUITES; s++) {
		ss_dir_keys k;
		pattern_keys(&suites[s], &k, 5);
		ss_sk sk;
		assert_true(ss_sk_init(&sk, &suites[s], &k));
		uint8_t a[128], b[128];
		size_t la = seal_msg(&sk, a, sizeof(a), 28, 20);
		size_t lb = seal_msg(&sk, b, sizeof(b), 28, 20);
		assert_int_equal(la, lb);
		size_t ivl = ss_sk_iv_len(&sk);
		assert_memory_not_equal(a + 28, b + 28, ivl);
		assert_memory_not_equal(a + 28 + ivl, b + 28 + ivl, la - 28 - ivl);
		if (ss_encr_find(suites[s].encr, suites[s].encr_bits)->aead) {
			/* A counter: the first two messages carry IV 0 and 1. */
			assert_hex(a + 28, 8, "0000000000000000");
			assert_hex(b + 28, 8, "0000000000000001");
			/* Exhausted: refuse rather than reuse a nonce. */
			sk.next_iv = UINT64_MAX;
			size_t len;
			assert_false(ss_sk_seal(&sk, a, sizeof(a), 28, 20, &len));
		}
		ss_sk_wipe(&sk);
	}
}

static void init_refuses_mismatched_keys(void **state)
{
	ss_dir_keys k;
	ss_sk sk;
	pattern_keys(&suites[0], &k, 1);
	k.encr_len = 32;  /* AES-256 material for an AES-128 suite */
	assert_false(ss_sk_init(&sk, &suites[0], &k));
	pattern_keys(&suites[0], &k, 1);
	k.integ_len = 0;
	assert_false(ss_sk_init(&sk, &suites[0], &k));
	pattern_keys(&suites[6], &k, 1);
	k.encr_len = 16;  /* GCM without its salt */
	assert_false(ss_sk_init(&sk, &suites[6], &k));
	/* A wiped direction refuses to work rather than crash. */
	ss_sk none;
	memset(&none, 0, sizeof(none));
	uint8_t msg[64] = { 0 };
	size_t len, off, inner;
	assert_false(ss_sk_seal(&none, msg, sizeof(msg), 8, 8, &len));
	assert_int_equal(ss_sk_open(&none, msg, sizeof(msg), 8, &off, &inner), SS_SK_FAILED);
	ss_ike_suite bad = suites[6];
	bad.integ = SS_INTEG_HMAC_SHA2_256_128;
	pattern_keys(&suites[6], &k, 1);
	assert_false(ss_sk_init(&sk, &bad, &k));
}

/* A small deterministic generator, so that a failure replays. */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Garbage of every length and every AAD split: refused as malformed or unauthentic, never
 * a crash (ASan/UBSan watch the reads), never "ok". */
static void random_garbage_never_opens(void **state)
{
	for (size_t s = 0; s < N_SUITES; s++) {
		ss_dir_keys k;
		pattern_keys(&suites[s], &k, 11);
		ss_sk sk;
		assert_true(ss_sk_init(&sk, &suites[s], &k));
		for (int i = 0; i < 1500; i++) {
			uint8_t msg[300];
			size_t len = rnd() % sizeof(msg), aad = rnd() % (len + 8), off, inner;
			for (size_t j = 0; j < len; j++)
				msg[j] = (uint8_t)rnd();
			enum ss_sk_err e = ss_sk_open(&sk, msg, len, aad, &off, &inner);
			assert_true(e == SS_SK_MALFORMED || e == SS_SK_AUTH_FAILED);
		}
		ss_sk_wipe(&sk);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(gcm_known_answers),
		cmocka_unit_test(cbc_known_answers),
		cmocka_unit_test(every_suite_round_trips_and_detects_tampering),
		cmocka_unit_test(wrong_key_or_aad_split_fails),
		cmocka_unit_test(malformed_lengths_are_refused),
		cmocka_unit_test(seal_refuses_small_buffers),
		cmocka_unit_test(gcm_ivs_never_repeat_and_cbc_ivs_are_random),
		cmocka_unit_test(init_refuses_mismatched_keys),
		cmocka_unit_test(random_garbage_never_opens),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
