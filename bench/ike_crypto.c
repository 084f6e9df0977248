/* Throughput of the IKE crypto layer (src/ike/crypto.h): the cost floor under an IKE
 * handshake.  Usage: bench_ike_crypto [seconds-per-row, default 0.3]
 *
 * Each row runs its operation repeatedly for the given time on one core (five windows,
 * the best one reported) and prints operations per second and microseconds per operation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "ike/crypto.h"
#include "ike/sig.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef bool (*op_fn)(void *ctx);

/* Best of five windows: the machine is shared, and the fastest window is the one least
 * disturbed by other processes. */
static void row(const char *name, op_fn fn, void *ctx, double secs)
{
	double best = 0;
	for (int w = 0; w < 5; w++) {
		unsigned long n = 0;
		double start = now_s(), end;
		do {
			for (int i = 0; i < 8; i++) {
				if (!fn(ctx)) {
					printf("%-60s FAILED\n", name);
					return;
				}
			}
			n += 8;
			end = now_s();
		} while (end - start < secs / 5);
		double rate = (double)n / (end - start);
		if (rate > best)
			best = rate;
	}
	printf("%-60s %10.0f ops/s %10.2f us/op\n", name, best, 1e6 / best);
}

/* ---- DH: a fresh key pair and one derivation, i.e. one side of a KE exchange ---- */

struct dh_ctx {
	uint16_t group;
	uint8_t peer[SS_DH_PUB_MAX];
	ss_dh *mine;
};

static bool dh_derive_only(void *p)
{
	struct dh_ctx *c = p;
	uint8_t sec[SS_DH_SECRET_MAX];
	return ss_dh_derive(c->mine, c->peer, ss_dh_pub_len(c->group), sec,
	                    ss_dh_secret_len(c->group)) == SS_DH_OK;
}

static bool dh_side(void *p)
{
	struct dh_ctx *c = p;
	uint8_t pub[SS_DH_PUB_MAX], sec[SS_DH_SECRET_MAX];
	ss_dh *dh = ss_dh_new(c->group);
	bool ok = dh && ss_dh_public(dh, pub, ss_dh_pub_len(c->group)) &&
	          ss_dh_derive(dh, c->peer, ss_dh_pub_len(c->group), sec,
	                       ss_dh_secret_len(c->group)) == SS_DH_OK;
	ss_dh_free(dh);
	return ok;
}

static bool dh_keygen_only(void *p)
{
	struct dh_ctx *c = p;
	ss_dh *dh = ss_dh_new(c->group);
	ss_dh_free(dh);
	return dh != NULL;
}

/* The floor: OpenSSL's own derivation with the context and the peer key prepared once,
 * as `openssl speed ecdh...` measures it. */
struct raw_ctx {
	EVP_PKEY_CTX *ctx;
	size_t len;
};

static bool raw_derive(void *p)
{
	struct raw_ctx *c = p;
	uint8_t sec[SS_DH_SECRET_MAX];
	size_t len = c->len;
	return EVP_PKEY_derive(c->ctx, sec, &len) == 1;
}

static void raw_row(const char *group, const char *type, double secs)
{
	EVP_PKEY *a = strcmp(type, "EC") == 0 ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", group)
	                                      : EVP_PKEY_Q_keygen(NULL, NULL, type);
	EVP_PKEY *b = strcmp(type, "EC") == 0 ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", group)
	                                      : EVP_PKEY_Q_keygen(NULL, NULL, type);
	struct raw_ctx c = { EVP_PKEY_CTX_new_from_pkey(NULL, a, NULL), SS_DH_SECRET_MAX };
	char name[64];
	snprintf(name, sizeof(name), "  floor: raw EVP derive %s (prepared)", group);
	if (c.ctx && EVP_PKEY_derive_init(c.ctx) == 1 && EVP_PKEY_derive_set_peer_ex(c.ctx, b, 0) == 1)
		row(name, raw_derive, &c, secs);
	EVP_PKEY_CTX_free(c.ctx);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
}

/* ---- Key derivation ---- */

struct kd_ctx {
	ss_ike_suite suite;
	ss_esp_suite esp;
	uint8_t g_ir[SS_DH_SECRET_MAX], ni[32], nr[32], spi_i[8], spi_r[8];
	ss_ike_keys ike;
};

static bool ike_keys(void *p)
{
	struct kd_ctx *c = p;
	ss_ike_keys k;
	bool ok = ss_ike_keys_derive(&k, &c->suite, c->g_ir, ss_dh_secret_len(c->suite.dh), c->ni,
	                             32, c->nr, 32, c->spi_i, c->spi_r);
	ss_ike_keys_wipe(&k);
	return ok;
}

static bool child_keys(void *p)
{
	struct kd_ctx *c = p;
	ss_child_keys k;
	bool ok = ss_child_keys_derive(&k, &c->esp, &c->ike, NULL, 0, c->ni, 32, c->nr, 32);
	ss_child_keys_wipe(&k);
	return ok;
}

static bool psk_auth(void *p)
{
	struct kd_ctx *c = p;
	static const uint8_t psk[] = "benchmark pre-shared key", id[] = { 1, 0, 0, 0, 10, 0, 0, 1 };
	uint8_t msg[400] = { 0 }, auth[SS_PRF_MAX];
	return ss_auth_psk(c->suite.prf, psk, sizeof(psk) - 1, msg, sizeof(msg), c->nr, 32,
	                   c->ike.sk_pi, c->ike.sk_p_len, id, sizeof(id), auth);
}

/* ---- SK payload: a 200-octet IKE_AUTH-sized body ---- */

struct sk_ctx {
	ss_sk tx, rx;
	uint8_t msg[512];
	size_t len;
};

static bool sk_seal(void *p)
{
	struct sk_ctx *c = p;
	return ss_sk_seal(&c->tx, c->msg, sizeof(c->msg), 32, 200, &c->len);
}

static bool sk_seal_open(void *p)
{
	struct sk_ctx *c = p;
	size_t off, inner;
	return ss_sk_seal(&c->tx, c->msg, sizeof(c->msg), 32, 200, &c->len) &&
	       ss_sk_open(&c->rx, c->msg, c->len, 32, &off, &inner) == SS_SK_OK;
}

/* Everything a PSK responder computes for IKE_SA_INIT + IKE_AUTH with one CHILD SA: its
 * key pair and g^ir, SKEYSEED and SK_*, CHILD SA keys, the peer's AUTH checked and its own
 * made, IKE_AUTH request opened and response sealed.  The floor under a handshake. */
struct hs_ctx {
	ss_ike_suite suite;
	uint8_t peer[SS_DH_PUB_MAX];
	uint8_t req[512];
	size_t req_len;
	ss_sk sealer;  /* the initiator's sending direction, to make a request to open */
};

static bool responder_handshake(void *p)
{
	struct hs_ctx *c = p;
	static const uint8_t psk[] = "benchmark pre-shared key", id[] = { 1, 0, 0, 0, 10, 0, 0, 1 };
	uint8_t pub[SS_DH_PUB_MAX], g[SS_DH_SECRET_MAX], ni[32] = { 1 }, nr[32] = { 2 };
	uint8_t spi_i[8] = { 3 }, spi_r[8] = { 4 }, auth[SS_PRF_MAX], msg[512];
	uint16_t grp = c->suite.dh;
	ss_dh *dh = ss_dh_new(grp);
	ss_ike_keys k;
	ss_child_keys ck;
	ss_esp_suite esp = { c->suite.encr, c->suite.encr_bits, c->suite.integ, SS_DH_NONE };
	ss_sk tx, rx;
	size_t off, inner, len;
	bool ok = dh && ss_dh_public(dh, pub, ss_dh_pub_len(grp)) &&
	          ss_dh_derive(dh, c->peer, ss_dh_pub_len(grp), g, ss_dh_secret_len(grp)) == SS_DH_OK &&
	          ss_ike_keys_derive(&k, &c->suite, g, ss_dh_secret_len(grp), ni, 32, nr, 32, spi_i,
	                             spi_r) &&
	          ss_sk_init_pair(&tx, &rx, &k, false);
	ss_dh_free(dh);
	if (!ok)
		return false;
	/* The request was sealed under other keys: open it with the sealer's own keys so the
	 * cost is the same and the check passes. */
	rx = c->sealer;
	memcpy(msg, c->req, c->req_len);
	ok = ss_sk_open(&rx, msg, c->req_len, 32, &off, &inner) == SS_SK_OK &&
	     ss_auth_psk(c->suite.prf, psk, sizeof(psk) - 1, msg, 300, nr, 32, k.sk_pi, k.sk_p_len,
	                 id, sizeof(id), auth) &&
	     ss_auth_psk(c->suite.prf, psk, sizeof(psk) - 1, msg, 300, ni, 32, k.sk_pr, k.sk_p_len,
	                 id, sizeof(id), auth) &&
	     ss_child_keys_derive(&ck, &esp, &k, NULL, 0, ni, 32, nr, 32) &&
	     ss_sk_seal(&tx, msg, sizeof(msg), 32, 200, &len);
	ss_child_keys_wipe(&ck);
	ss_ike_keys_wipe(&k);
	ss_sk_wipe(&tx);
	ss_sk_wipe(&rx);
	return ok;
}

static void handshake_row(const ss_ike_suite *s, double secs)
{
	struct hs_ctx c = { .suite = *s };
	ss_dh *peer = ss_dh_new(s->dh);
	ss_ike_keys k;
	uint8_t g[SS_DH_SECRET_MAX] = { 0 }, n[32] = { 0 }, spi[8] = { 0 };
	ss_sk unused;
	if (!peer || !ss_dh_public(peer, c.peer, ss_dh_pub_len(s->dh)) ||
	    !ss_ike_keys_derive(&k, s, g, 32, n, 32, n, 32, spi, spi) ||
	    !ss_sk_init_pair(&c.sealer, &unused, &k, true) ||
	    !ss_sk_seal(&c.sealer, c.req, sizeof(c.req), 32, 250, &c.req_len))
		return;
	ss_dh_free(peer);
	char name[64];
	snprintf(name, sizeof(name), "responder crypto per handshake %s-%s-%s",
	         ss_encr_find(s->encr, s->encr_bits)->name, ss_prf_find(s->prf)->name,
	         ss_dh_find(s->dh)->name);
	row(name, responder_handshake, &c, secs);
	ss_ike_keys_wipe(&k);
	ss_sk_wipe(&c.sealer);
	ss_sk_wipe(&unused);
}

/* ---- certificate authentication: what an ECDSA P-256 responder must pay ---- */

struct sig_ctx {
	EVP_PKEY *mine, *peer;   /* our key, the peer's (its public half verifies) */
	uint8_t msg[400];        /* about an IKE_SA_INIT message + nonce + prf output */
	uint8_t sig[SS_SIG_MAX];
	size_t sig_len;
	uint8_t method;
	struct dh_ctx dh;
};

static bool sig_sign(void *p)
{
	struct sig_ctx *c = p;
	const char *why;
	return ss_sig_sign(c->mine, 1u << 2, c->msg, sizeof(c->msg), &c->method, c->sig, sizeof(c->sig),
			   &c->sig_len, &why);
}

static bool sig_verify(void *p)
{
	struct sig_ctx *c = p;
	const char *why;
	return ss_sig_verify(c->mine, c->method, c->sig, c->sig_len, c->msg, sizeof(c->msg), &why);
}

/* One responder handshake's public-key work: DH key pair + derivation, our AUTH signature,
 * the peer's AUTH and its certificate's signature verified (a chain of one below the CA). */
static bool cert_floor(void *p)
{
	struct sig_ctx *c = p;
	return dh_side(&c->dh) && sig_sign(c) && sig_verify(c) && sig_verify(c);
}

static void cert_rows(double secs)
{
	struct sig_ctx c = { .mine = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"), .dh = { .group = SS_DH_ECP_256 } };
	ss_dh *peer = ss_dh_new(SS_DH_ECP_256);
	memset(c.msg, 0x42, sizeof(c.msg));
	if (!c.mine || !peer || !ss_dh_public(peer, c.dh.peer, ss_dh_pub_len(SS_DH_ECP_256)) || !sig_sign(&c))
		return;
	ss_dh_free(peer);
	row("ECDSA P-256 sign (RFC 7427, SHA2-256)", sig_sign, &c, secs);
	row("ECDSA P-256 verify (RFC 7427, SHA2-256)", sig_verify, &c, secs);
	row("cert responder floor ecp256 (DH + sign + 2 verify)", cert_floor, &c, secs);
	EVP_PKEY_free(c.mine);
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 0.3;
	if (secs <= 0)
		secs = 0.3;
	printf("%-60s %16s %16s\n", "operation", "rate", "cost");

	static const uint16_t groups[] = { SS_DH_ECP_256, SS_DH_CURVE25519, SS_DH_ECP_384,
	                                   SS_DH_MODP_2048 };
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		struct dh_ctx c = { .group = groups[i] };
		ss_dh *peer = ss_dh_new(groups[i]);
		if (!peer || !ss_dh_public(peer, c.peer, ss_dh_pub_len(groups[i])))
			return 1;
		ss_dh_free(peer);
		char name[64];
		snprintf(name, sizeof(name), "DH %s keygen", ss_dh_find(groups[i])->name);
		row(name, dh_keygen_only, &c, secs);
		c.mine = ss_dh_new(groups[i]);
		snprintf(name, sizeof(name), "DH %s derive (validate peer + g^ir)",
		         ss_dh_find(groups[i])->name);
		row(name, dh_derive_only, &c, secs);
		ss_dh_free(c.mine);
		if (groups[i] == SS_DH_ECP_256)
			raw_row("P-256", "EC", secs);
		else if (groups[i] == SS_DH_ECP_384)
			raw_row("P-384", "EC", secs);
		else if (groups[i] == SS_DH_CURVE25519)
			raw_row("X25519", "X25519", secs);
		snprintf(name, sizeof(name), "DH %s keygen + derive (one side)",
		         ss_dh_find(groups[i])->name);
		row(name, dh_side, &c, secs);
	}

	static const ss_ike_suite suites[] = {
		{ SS_ENCR_AES_GCM_16, 128, SS_INTEG_NONE, SS_PRF_HMAC_SHA2_256, SS_DH_ECP_256 },
		{ SS_ENCR_AES_CBC, 256, SS_INTEG_HMAC_SHA2_256_128, SS_PRF_HMAC_SHA2_256, SS_DH_MODP_2048 },
		{ SS_ENCR_AES_GCM_16, 256, SS_INTEG_NONE, SS_PRF_HMAC_SHA2_384, SS_DH_CURVE25519 },
	};
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
		struct kd_ctx c = { .suite = suites[i] };
		c.esp = (ss_esp_suite){ suites[i].encr, suites[i].encr_bits, suites[i].integ, SS_DH_NONE };
		memset(c.g_ir, 0x5a, sizeof(c.g_ir));
		memset(c.ni, 1, 32);
		memset(c.nr, 2, 32);
		if (!ss_ike_keys_derive(&c.ike, &c.suite, c.g_ir, ss_dh_secret_len(c.suite.dh), c.ni,
		                        32, c.nr, 32, c.spi_i, c.spi_r))
			return 1;
		const char *en = ss_encr_find(suites[i].encr, suites[i].encr_bits)->name;
		const char *pn = ss_prf_find(suites[i].prf)->name;
		char name[64];
		snprintf(name, sizeof(name), "IKE SA keys (SKEYSEED+prf+) %s-%s", en, pn);
		row(name, ike_keys, &c, secs);
		snprintf(name, sizeof(name), "CHILD SA keys %s-%s", en, pn);
		row(name, child_keys, &c, secs);
		snprintf(name, sizeof(name), "PSK AUTH %s", pn);
		row(name, psk_auth, &c, secs);

		struct sk_ctx s;
		memset(&s, 0, sizeof(s));
		if (!ss_sk_init_pair(&s.tx, &s.rx, &c.ike, true))
			return 1;
		s.rx = s.tx;  /* open what we seal: same direction's keys */
		snprintf(name, sizeof(name), "SK seal 200 B %s", en);
		row(name, sk_seal, &s, secs);
		snprintf(name, sizeof(name), "SK seal+open 200 B %s", en);
		row(name, sk_seal_open, &s, secs);
		ss_sk_wipe(&s.tx);
		ss_sk_wipe(&s.rx);
		ss_ike_keys_wipe(&c.ike);
	}
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		handshake_row(&suites[i], secs);
	cert_rows(secs);
	return 0;
}
