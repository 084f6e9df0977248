/* libFuzzer target: CERT, CERTREQ, AUTH, ID and SIGNATURE_HASH_ALGORITHMS payloads as IKE_AUTH
 * carries them inside SK.  Byte 0 names the first payload of an inner chain, the rest is the
 * chain (seeds: make_cert_seeds.py).  After the codec: the peer certificates go through
 * ss_ike_cert_verify against a fixed credential (two peer_id patterns); the credential's
 * own valid certificate, whose chain verifies the same way every time (checked once, at
 * init), goes through the identity half only (ss_ike_cert_identity) with the fuzzed ID
 * payload, against every kind of peer_id pattern (cheap without the chain); the AUTH data is verified (ss_sig_verify) with each received certificate's key
 * and with fixed ECDSA / RSA / Ed25519 keys over the seeds' signed octets. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "base/log.h"
#include "ike/cert.h"
#include "ike/codec.h"
#include "ike/sig.h"
#include "pki.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* cred[0] and cred[1] verify the input's chains too; all of them the identity checks. */
enum { N_FULL = 2, N_CRED = 6 };
static ss_ike_cred *cred[N_CRED];
static EVP_PKEY *keys[3];
static X509 *own_leaf;

static void init(void)
{
	ss_log_set_level(SS_LOG_ERR);
	EVP_PKEY *cak = pki_key("P-256"), *k = pki_key("P-256");
	pki_spec cs = { "CA", true, -86400, 86400 * 3650L, NULL, "critical,keyCertSign,cRLSign", 1 };
	X509 *ca = pki_cert(cak, &cs, NULL, NULL);
	pki_spec hs = { "a", false, -86400, 86400 * 3650L, "IP:10.0.0.1,DNS:a.example,email:a@example",
			"critical,digitalSignature", 2 };
	X509 *leaf = pki_cert(k, &hs, ca, cak);
	cred[0] = pki_cred(ca, leaf, NULL, 0, k, NULL, NULL);
	cred[1] = pki_cred(ca, leaf, NULL, 0, k, NULL, "dns:*.example");
	cred[2] = pki_cred(ca, leaf, NULL, 0, k, NULL, "dn:CN=a*");
	cred[3] = pki_cred(ca, leaf, NULL, 0, k, NULL, "email:*@example");
	cred[4] = pki_cred(ca, leaf, NULL, 0, k, NULL, "ip:10.0.0.2");
	cred[5] = pki_cred(ca, leaf, NULL, 0, k, NULL, "CN=b");
	/* The valid certificate verifies once here (through the DER a peer would send); per
	 * input only the identity half runs on it. */
	uint8_t *der = NULL;
	int n = i2d_X509(leaf, &der);
	ss_cert_chain own = { .der = { der }, .len = { n > 0 ? (size_t)n : 0 }, .n = 1 };
	EVP_PKEY *pub = NULL;
	ss_cert_info info;
	static const uint8_t ip[] = { 10, 0, 0, 1 };
	ss_cert_idpl id = { SS_ID_IPV4_ADDR, ip, sizeof(ip) };
	ss_addr peer = ss_addr_v4(0x0a000001);
	if (n > 0 && !ss_ike_cert_verify(cred[0], &own, &id, &peer, 1800000000, &pub, &info))
		own_leaf = X509_dup(leaf);
	EVP_PKEY_free(pub);
	OPENSSL_free(der);
	keys[0] = k;
	keys[1] = pki_key("RSA");
	keys[2] = pki_key("ED25519");
	X509_free(ca);
	X509_free(leaf);
	EVP_PKEY_free(cak);
	pki_cleanup();  /* the credentials hold everything they read */
}

static void auth_with(EVP_PKEY *pub, const ss_ike_msg *m)
{
	static const uint8_t octets[] = "signed octets";
	const char *why;
	ss_sig_verify(pub, m->auth.method, m->auth.data.p, m->auth.data.len, octets, sizeof(octets) - 1, &why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static ss_ike_codec_stats st;
	static bool inited, ready;
	if (!inited) {
		inited = true;
		init();
		ready = own_leaf != NULL;
		for (int k = 0; k < N_CRED; k++)
			ready = ready && cred[k];
		if (!ready)
			abort(); /* the fixed credentials must load, or nothing is fuzzed */
	}
	if (size < 1)
		return 0;
	static ss_ike_msg m;
	memset(&m, 0, sizeof(m));
	ss_cur c = ss_cur_init(data + 1, size - 1);
	if (ss_ike_parse_payloads(&c, data[0], NULL, &m, &st) != SS_CODEC_OK)
		return 0;
	const ss_ike_notify_pl *n = ss_ike_find_notify(&m, SS_N_SIGNATURE_HASH_ALGORITHMS);
	if (n)
		ss_sig_hashes_decode(n->data.p, n->data.len);
	ss_cert_idpl id = { m.idi.type, m.idi.data.p, m.idi.data.len };
	ss_addr peer = ss_addr_v4(0x0a000001);
	ss_cert_chain ch = { .n = 0 };
	for (size_t i = 0; i < m.n_cert && i < SS_IKE_MAX_CERTS && ch.n < 8; i++) {
		ch.der[ch.n] = m.cert[i].data.p;
		ch.len[ch.n++] = m.cert[i].data.len;
		const unsigned char *p = m.cert[i].data.p;
		X509 *x = d2i_X509(NULL, &p, (long)m.cert[i].data.len);
		EVP_PKEY *pub = x ? X509_get_pubkey(x) : NULL;
		if (pub && ss_ike_has(&m, SS_PL_AUTH))
			auth_with(pub, &m);
		EVP_PKEY_free(pub);
		X509_free(x);
	}
	for (int k = 0; k < N_CRED; k++) {
		ss_cert_info info;
		if (k < N_FULL) {
			EVP_PKEY *pub = NULL;
			ss_ike_cert_verify(cred[k], &ch, &id, &peer, 1800000000, &pub, &info);
			EVP_PKEY_free(pub);
		}
		ss_ike_cert_identity(cred[k], own_leaf, &id, &peer, &info);
	}
	if (ss_ike_has(&m, SS_PL_AUTH))
		for (int k = 0; k < 3; k++)
			auth_with(keys[k], &m);
	return 0;
}
