/* Prints, as JSON, what the crypto layer derives and seals from fixed inputs, so that
 * crypto_xcheck.py can recompute every value independently (Python hmac/hashlib and the
 * cryptography package) — the cross-check RFC 7296 has no test vectors for.
 *
 * "crypto_vectors open" reads lines "<suite> <aad_len> <encr key hex> <integ key hex|-> <msg
 * hex>" sealed by Python and prints "ok <inner payloads hex>" or "err <reason>" for each. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ike/crypto.h"

static void hex(const char *name, const uint8_t *p, size_t n, const char *sep)
{
	printf("\"%s\": \"", name);
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
	printf("\"%s", sep);
}

static size_t unhex(const char *s, uint8_t *out)
{
	size_t n = 0;
	for (; s[0] && s[1]; s += 2)
		out[n++] = (uint8_t)strtoul((char[]){ s[0], s[1], 0 }, NULL, 16);
	return n;
}

/* Known private keys (RFC 5903 §8, RFC 7748 §6.1) so that Python redoes the DH too. */
struct dh_pair {
	uint16_t group;
	const char *i, *r;
};
static const struct dh_pair pairs[] = {
	{ SS_DH_ECP_256, "c88f01f510d9ac3f70a292daa2316de544e9aab8afe84049c62a9c57862d1433",
	  "c6ef9c5d78ae012a011164acb397ce2088685d8f06bf9be0b283ab46476bee53" },
	{ SS_DH_ECP_384,
	  "099f3c7034d4a2c699884d73a375a67f7624ef7c6b3c0f160647b67414dce655e35b538041e649ee3faef896783ab194",
	  "41cb0779b4bdb85d47846725fbec3c9430fab46cc8dc5060855cc9bda0aa2942e0308312916b8ed2960e4bd55a7448fc" },
	{ SS_DH_CURVE25519, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
	  "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb" },
	{ SS_DH_MODP_2048, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	  "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210" },
};

static const ss_ike_suite suites[] = {
	{ SS_ENCR_AES_GCM_16, 128, SS_INTEG_NONE, SS_PRF_HMAC_SHA2_256, SS_DH_ECP_256 },
	{ SS_ENCR_AES_CBC, 256, SS_INTEG_HMAC_SHA2_256_128, SS_PRF_HMAC_SHA2_256, SS_DH_MODP_2048 },
	{ SS_ENCR_AES_GCM_16, 256, SS_INTEG_NONE, SS_PRF_HMAC_SHA2_384, SS_DH_CURVE25519 },
	{ SS_ENCR_AES_CBC, 128, SS_INTEG_HMAC_SHA2_384_192, SS_PRF_HMAC_SHA2_384, SS_DH_ECP_384 },
	{ SS_ENCR_AES_CBC, 256, SS_INTEG_HMAC_SHA2_512_256, SS_PRF_HMAC_SHA2_512, SS_DH_ECP_256 },
};
#define N (sizeof(suites) / sizeof(suites[0]))

static bool shared(uint16_t group, uint8_t *pub_r, uint8_t *g_ir, const char **pi, const char **pr)
{
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		if (pairs[i].group != group)
			continue;
		uint8_t a[64], b[64];
		ss_dh *di = ss_dh_from_private(group, a, unhex(pairs[i].i, a));
		ss_dh *dr = ss_dh_from_private(group, b, unhex(pairs[i].r, b));
		bool ok = di && dr && ss_dh_public(dr, pub_r, ss_dh_pub_len(group)) &&
		          ss_dh_derive(di, pub_r, ss_dh_pub_len(group), g_ir,
		                       ss_dh_secret_len(group)) == SS_DH_OK;
		ss_dh_free(di);
		ss_dh_free(dr);
		*pi = pairs[i].i;
		*pr = pairs[i].r;
		return ok;
	}
	return false;
}

static bool one(size_t k)
{
	const ss_ike_suite *s = &suites[k], *next = &suites[(k + 1) % N];
	uint8_t ni[32], nr[48], spi_i[8], spi_r[8], pub_r[SS_DH_PUB_MAX], g_ir[SS_DH_SECRET_MAX];
	for (size_t i = 0; i < sizeof(ni); i++)
		ni[i] = (uint8_t)(i + k);
	for (size_t i = 0; i < sizeof(nr); i++)
		nr[i] = (uint8_t)(0x80 + i + k);
	for (size_t i = 0; i < 8; i++) {
		spi_i[i] = (uint8_t)(0x10 + i);
		spi_r[i] = (uint8_t)(0x20 + i);
	}
	const char *pi, *pr;
	if (!shared(s->dh, pub_r, g_ir, &pi, &pr))
		return false;
	size_t gl = ss_dh_secret_len(s->dh);

	ss_ike_keys ike, rekeyed;
	ss_child_keys child, child_pfs;
	ss_esp_suite esp = { next->encr, next->encr_bits, next->integ, SS_DH_NONE };
	uint8_t auth[SS_PRF_MAX];
	static const uint8_t psk[] = "a pre-shared key", id[] = { 1, 0, 0, 0, 192, 0, 2, 1 };
	uint8_t init_msg[300];
	for (size_t i = 0; i < sizeof(init_msg); i++)
		init_msg[i] = (uint8_t)(i * 13);
	if (!ss_ike_keys_derive(&ike, s, g_ir, gl, ni, sizeof(ni), nr, sizeof(nr), spi_i, spi_r) ||
	    !ss_ike_keys_rekey(&rekeyed, next, &ike, g_ir, gl, nr, sizeof(nr), ni, sizeof(ni),
	                       spi_r, spi_i) ||
	    !ss_child_keys_derive(&child, &esp, &ike, NULL, 0, ni, sizeof(ni), nr, sizeof(nr)) ||
	    !ss_child_keys_derive(&child_pfs, &esp, &ike, g_ir, gl, ni, sizeof(ni), nr,
	                          sizeof(nr)) ||
	    !ss_auth_psk(s->prf, psk, sizeof(psk) - 1, init_msg, sizeof(init_msg), nr, sizeof(nr),
	                 ike.sk_pi, ike.sk_p_len, id, sizeof(id), auth))
		return false;

	/* One message sealed in each direction. */
	ss_sk i_tx, i_rx;
	uint8_t msg_i[400], msg_r[400];
	size_t len_i, len_r, aad = 32;
	if (!ss_sk_init_pair(&i_tx, &i_rx, &ike, true))
		return false;
	ss_sk r_tx, r_rx;
	if (!ss_sk_init_pair(&r_tx, &r_rx, &ike, false))
		return false;
	uint8_t *bufs[] = { msg_i, msg_r };
	ss_sk *txs[] = { &i_tx, &r_tx };
	size_t *lens[] = { &len_i, &len_r };
	for (int d = 0; d < 2; d++) {
		for (size_t i = 0; i < aad; i++)
			bufs[d][i] = (uint8_t)(0xc0 + i + d);
		for (size_t i = 0; i < 200; i++)
			bufs[d][aad + ss_sk_iv_len(txs[d]) + i] = (uint8_t)(i ^ d);
		if (!ss_sk_seal(txs[d], bufs[d], sizeof(msg_i), aad, 200, lens[d]))
			return false;
	}

	printf("%s{\"suite\": [%u, %u, %u, %u, %u], ", k ? ",\n" : "", s->encr, s->encr_bits,
	       s->integ, s->prf, s->dh);
	printf("\"next\": [%u, %u, %u, %u, %u], ", next->encr, next->encr_bits, next->integ,
	       next->prf, next->dh);
	printf("\"priv_i\": \"%s\", \"priv_r\": \"%s\", ", pi, pr);
	hex("pub_r", pub_r, ss_dh_pub_len(s->dh), ", ");
	hex("g_ir", g_ir, gl, ", ");
	hex("ni", ni, sizeof(ni), ", ");
	hex("nr", nr, sizeof(nr), ", ");
	hex("spi_i", spi_i, 8, ", ");
	hex("spi_r", spi_r, 8, ",\n ");
	hex("sk_d", ike.sk_d, ike.sk_d_len, ", ");
	hex("sk_ai", ike.i2r.integ, ike.i2r.integ_len, ", ");
	hex("sk_ar", ike.r2i.integ, ike.r2i.integ_len, ", ");
	hex("sk_ei", ike.i2r.encr, ike.i2r.encr_len, ", ");
	hex("sk_er", ike.r2i.encr, ike.r2i.encr_len, ", ");
	hex("sk_pi", ike.sk_pi, ike.sk_p_len, ", ");
	hex("sk_pr", ike.sk_pr, ike.sk_p_len, ",\n ");
	hex("rekey_sk_d", rekeyed.sk_d, rekeyed.sk_d_len, ", ");
	hex("rekey_sk_ei", rekeyed.i2r.encr, rekeyed.i2r.encr_len, ", ");
	hex("rekey_sk_pr", rekeyed.sk_pr, rekeyed.sk_p_len, ",\n ");
	hex("child_ei", child.i2r.encr, child.i2r.encr_len, ", ");
	hex("child_ai", child.i2r.integ, child.i2r.integ_len, ", ");
	hex("child_er", child.r2i.encr, child.r2i.encr_len, ", ");
	hex("child_ar", child.r2i.integ, child.r2i.integ_len, ", ");
	hex("pfs_ei", child_pfs.i2r.encr, child_pfs.i2r.encr_len, ", ");
	hex("pfs_ar", child_pfs.r2i.integ, child_pfs.r2i.integ_len, ",\n ");
	hex("init_msg", init_msg, sizeof(init_msg), ", ");
	hex("auth_i", auth, ss_prf_len(s->prf), ",\n ");
	printf("\"aad_len\": %zu, ", aad);
	hex("sealed_i2r", msg_i, len_i, ", ");
	hex("sealed_r2i", msg_r, len_r, "}");
	ss_ike_keys_wipe(&ike);
	ss_ike_keys_wipe(&rekeyed);
	ss_child_keys_wipe(&child);
	ss_child_keys_wipe(&child_pfs);
	ss_sk_wipe(&i_tx);
	ss_sk_wipe(&i_rx);
	ss_sk_wipe(&r_tx);
	ss_sk_wipe(&r_rx);
	return true;
}

static size_t unhex_n(const char *s, uint8_t *out, size_t cap)
{
	size_t n = strlen(s) / 2;
	if (n > cap || strlen(s) % 2)
		return SIZE_MAX;
	return unhex(s, out);
}

/* Opens messages sealed elsewhere, one per input line. */
static int open_mode(void)
{
	static char line[8192], ek[128], ak[160], hex[4096];
	while (fgets(line, sizeof(line), stdin)) {
		size_t k, aad;
		if (sscanf(line, "%zu %zu %127s %159s %4095s", &k, &aad, ek, ak, hex) != 5 || k >= N)
			return 1;
		ss_dir_keys keys = { 0 };
		uint8_t msg[2048];
		keys.encr_len = unhex_n(ek, keys.encr, sizeof(keys.encr));
		keys.integ_len = strcmp(ak, "-") == 0 ? 0 : unhex_n(ak, keys.integ, sizeof(keys.integ));
		size_t len = unhex_n(hex, msg, sizeof(msg)), off, inner;
		ss_sk sk;
		if (len == SIZE_MAX || !ss_sk_init(&sk, &suites[k], &keys))
			return 1;
		enum ss_sk_err e = ss_sk_open(&sk, msg, len, aad, &off, &inner);
		if (e == SS_SK_OK) {
			printf("ok ");
			for (size_t i = 0; i < inner; i++)
				printf("%02x", msg[off + i]);
			printf("\n");
		} else {
			printf("err %s\n", ss_sk_err_name(e));
		}
		ss_sk_wipe(&sk);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "open") == 0)
		return open_mode();
	printf("[\n");
	for (size_t k = 0; k < N; k++)
		if (!one(k)) {
			fprintf(stderr, "crypto_vectors: suite %zu failed\n", k);
			return 1;
		}
	printf("\n]\n");
	return 0;
}
