/* Certificate authentication between two engines (harness): every key type, every way a
 * peer's certificate can be refused (on the responder's and the initiator's side), the
 * ordered authentication methods, peer_id patterns, and the signature layer's older methods. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "harness.h"
#include "ike/cert_internal.h"
#include "ike/sig.h"
#include "pki.h"

static const ss_ike_suite SUITE = { SS_ENCR_AES_GCM_16, 128, SS_INTEG_NONE, SS_PRF_HMAC_SHA2_256,
				    SS_DH_ECP_256 };
static const ss_esp_suite ESP = { SS_ENCR_AES_GCM_16, 128, SS_INTEG_NONE, SS_DH_NONE };
#define PSK "secret-0123456789"
#define DAY 86400L

static harness H;
static EVP_PKEY *ca_key, *other_ca_key;
static X509 *ca, *other_ca;

static int setup(void **state)
{
	ss_log_set_level(getenv("IKE_DEBUG") ? SS_LOG_DEBUG : SS_LOG_ERR);
	ca_key = pki_key("P-256");
	other_ca_key = pki_key("P-256");
	pki_spec s = { "softsa test CA", true, -DAY, 10 * DAY, NULL, "critical,keyCertSign,cRLSign", 1 };
	ca = pki_cert(ca_key, &s, NULL, NULL);
	s.cn = "another CA";
	other_ca = pki_cert(other_ca_key, &s, NULL, NULL);
	return ca && other_ca ? 0 : -1;
}

static int teardown(void **state)
{
	X509_free(ca);
	X509_free(other_ca);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(other_ca_key);
	pki_cleanup();
	return 0;
}

/* One side's certificate and credential, as the spec says (defaults: valid, SAN = its
 * harness address and name, digitalSignature). */
typedef struct host {
	const char *key_type;
	long from, to;
	const char *san, *ku, *peer_id;
	bool other_ca;         /* issued by a CA the peer does not trust */
	int intermediates;
	long crl_revoke;       /* the peer's CRL revokes this serial; -1: no CRL */
	long crl_to;           /* the peer's CRL nextUpdate (relative), 0: a day */
	bool wrong_key;        /* signs with a key that is not the certificate's */
} host;

static ss_ike_cred *make_cred(int side, const host *me, const host *peer)
{
	char cn[16], san[64];
	snprintf(cn, sizeof(cn), "%c.example", side ? 'b' : 'a');
	snprintf(san, sizeof(san), "IP:10.0.0.%d,DNS:%s", side + 1, cn);
	EVP_PKEY *key = pki_key(me->key_type ? me->key_type : "P-256");
	X509 *issuer = me->other_ca ? other_ca : ca;
	EVP_PKEY *ikey = me->other_ca ? other_ca_key : ca_key;
	X509 *chain[8] = { 0 };
	EVP_PKEY *ckeys[8] = { 0 };
	for (int i = 0; i < me->intermediates && i < 8; i++) {
		pki_spec is = { "intermediate", true, -DAY, DAY, NULL, "critical,keyCertSign,cRLSign", 100 + i };
		ckeys[i] = pki_key("P-256");
		chain[i] = pki_cert(ckeys[i], &is, issuer, ikey);
		issuer = chain[i];
		ikey = ckeys[i];
	}
	pki_spec s = { cn, false, me->from ? me->from : -DAY, me->to ? me->to : DAY,
		       me->san ? me->san : san, me->ku ? me->ku : "critical,digitalSignature",
		       10 + side };
	X509 *cert = pki_cert(key, &s, issuer, ikey);
	/* Our chain in CERT payloads is nearest-first: reverse the order of creation. */
	X509 *send[8];
	for (int i = 0; i < me->intermediates; i++)
		send[i] = chain[me->intermediates - 1 - i];
	X509_CRL *crl = peer->crl_revoke >= 0 && (peer->crl_revoke || peer->crl_to) ?
		pki_crl(ca, ca_key, peer->crl_revoke, -DAY, peer->crl_to ? peer->crl_to : DAY) : NULL;
	ss_ike_cred *c = pki_cred(ca, cert, send, (size_t)me->intermediates, key, crl, me->peer_id);
	assert_non_null(c);
	if (me->wrong_key) {
		EVP_PKEY_free(c->key);
		c->key = pki_key(me->key_type ? me->key_type : "P-256");
	}
	X509_CRL_free(crl);
	X509_free(cert);
	EVP_PKEY_free(key);
	for (int i = 0; i < 8; i++) {
		X509_free(chain[i]);
		EVP_PKEY_free(ckeys[i]);
	}
	return c;
}

static void set_auth(ss_ike_config *c, const char *methods, ss_ike_cred *cred)
{
	c->n_auth = 0;
	for (const char *m = methods; *m && c->n_auth < SS_IKE_MAX_AUTH; m++)
		c->auth[c->n_auth++] = *m == 'c' ? SS_IKE_AUTH_CERT : SS_IKE_AUTH_PSK;
	c->cred = cred;
}

/* Both sides with certificates as described ("c" = certificate, "p" = PSK, in order). */
static void start(const host *a, const host *b, const char *ma, const char *mb)
{
	h_init(&H, NULL);
	h_config(&H.side[0].cfg, &SUITE, &ESP, "a.example", "b.example", PSK);
	h_config(&H.side[1].cfg, &SUITE, &ESP, "b.example", "a.example", PSK);
	set_auth(&H.side[0].cfg, ma, strchr(ma, 'c') ? make_cred(0, a, b) : NULL);
	set_auth(&H.side[1].cfg, mb, strchr(mb, 'c') ? make_cred(1, b, a) : NULL);
}

static void finish(void)
{
	h_free(&H);
	for (int i = 0; i < 2; i++)
		ss_ike_cred_unref(H.side[i].cfg.cred);
}

static const ss_ike_peer_auth *peer_of(int side)
{
	static ss_ike_sa_info info;
	for (uint32_t h = 1; h < 10; h++)
		if (ss_ike_sa_get(H.side[side].eng, h, &info))
			return &info.peer;
	return NULL;
}

static void assert_up(void)
{
	h_side *a = &H.side[0], *b = &H.side[1];
	assert_int_equal(a->outcome, SS_IKE_SECURED);
	assert_int_equal(b->outcome, SS_IKE_SECURED);
	assert_int_equal(a->n_child_up, 1);
	assert_int_equal(b->n_child_up, 1);
	assert_int_equal(a->child.spi_out, b->child.spi_in);
	assert_true(a->child.key_out.encr_len > 0);
	assert_memory_equal(a->child.key_out.encr, b->child.key_in.encr, a->child.key_out.encr_len);
}

static void every_key_type(void **state)
{
	static const struct { const char *a, *b; } rows[] = {
		{ "P-256", "P-256" }, { "P-384", "P-384" }, { "RSA", "RSA" }, { "ED25519", "ED25519" },
		{ "RSA", "P-256" }, { "P-521", "ED25519" },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		host a = { .key_type = rows[i].a, .crl_revoke = -1 }, b = { .key_type = rows[i].b, .crl_revoke = -1 };
		start(&a, &b, "c", "c");
		h_initiate(&H, 0);
		h_run(&H, SS_SEC(60));
		assert_up();
		assert_int_equal(H.n_log, 4);
		/* IKE_SA_INIT: both announce hashes; the responder asks for a certificate. */
		ss_ike_msg m;
		assert_int_equal(ss_ike_parse(H.log[0].data, H.log[0].len, &m, NULL), SS_CODEC_OK);
		assert_non_null(ss_ike_find_notify(&m, SS_N_SIGNATURE_HASH_ALGORITHMS));
		assert_int_equal(m.n_certreq, 0);
		assert_int_equal(ss_ike_parse(H.log[1].data, H.log[1].len, &m, NULL), SS_CODEC_OK);
		assert_non_null(ss_ike_find_notify(&m, SS_N_SIGNATURE_HASH_ALGORITHMS));
		assert_int_equal(m.n_certreq, 1);
		assert_int_equal(m.certreq[0].data.len, 20);
		const ss_ike_peer_auth *pa = peer_of(0);
		assert_non_null(pa);
		assert_int_equal(pa->method, SS_AUTH_DIGITAL_SIG);
		assert_int_equal(pa->local_method, SS_AUTH_DIGITAL_SIG);
		assert_string_equal(pa->id, "CN=b.example,O=softsa test");
		assert_string_equal(pa->cert.issuer, "CN=softsa test CA,O=softsa test");
		assert_true(pa->cert.not_after > pa->cert.not_before);
		const ss_ike_peer_auth *pb = peer_of(1);
		assert_string_equal(pb->cert.subject, "CN=a.example,O=softsa test");
		finish();
	}
}

/* The responder refuses the initiator's certificate: both see PEER_REFUSED, the responder
 * with the reason, no CHILD SA anywhere. */
static void responder_refuses(void **state)
{
	static const struct { host a, b; const char *why; } rows[] = {
		{ { .other_ca = true, .crl_revoke = -1 }, { .crl_revoke = -1 }, "certificate from an unknown CA" },
		{ { .from = -2 * DAY, .to = -60, .crl_revoke = -1 }, { .crl_revoke = -1 }, "certificate expired" },
		{ { .from = 3600, .to = DAY, .crl_revoke = -1 }, { .crl_revoke = -1 }, "certificate not yet valid" },
		{ { .crl_revoke = 10 }, { .crl_revoke = -1 }, "certificate revoked" },
		{ { .crl_revoke = 77, .crl_to = -60 }, { .crl_revoke = -1 }, "CRL past its nextUpdate" },
		{ { .san = "IP:10.0.0.9,DNS:a.example", .crl_revoke = -1 }, { .crl_revoke = -1 },
		  "certificate identity does not match the rule's peer_id" },
		{ { .crl_revoke = -1 }, { .peer_id = "dns:*.elsewhere", .crl_revoke = -1 },
		  "certificate identity does not match the rule's peer_id" },
		{ { .wrong_key = true, .crl_revoke = -1 }, { .crl_revoke = -1 }, "bad signature" },
		{ { .key_type = "RSA", .wrong_key = true, .crl_revoke = -1 }, { .crl_revoke = -1 }, "bad signature" },
		{ { .ku = "keyEncipherment", .crl_revoke = -1 }, { .crl_revoke = -1 },
		  "certificate with the wrong key usage (no digitalSignature)" },
		{ { .intermediates = SS_CERT_MAX_DEPTH + 1, .crl_revoke = -1 }, { .crl_revoke = -1 },
		  "certificate chain too long" },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		/* The CRL row's revocation is for the responder's trust store: it checks A. */
		host a = rows[i].a, b = rows[i].b;
		start(&a, &b, "c", "c");
		/* make_cred(1, b, a) gave B the CRL described in a; re-run is not needed. */
		h_initiate(&H, 0);
		h_run(&H, SS_SEC(60));
		h_side *sa = &H.side[0], *sb = &H.side[1];
		assert_int_equal(sb->outcome, SS_IKE_PEER_REFUSED);
		assert_int_equal(sb->outcome_notify, SS_N_AUTHENTICATION_FAILED);
		assert_non_null(sb->outcome_reason);
		assert_string_equal(sb->outcome_reason, rows[i].why);
		assert_int_equal(sa->outcome, SS_IKE_PEER_REFUSED);
		assert_int_equal(sa->outcome_notify, SS_N_AUTHENTICATION_FAILED);
		assert_int_equal(sa->n_child_up + sb->n_child_up, 0);
		finish();
	}
}

/* The initiator refuses the responder's certificate after the responder thought the SA up:
 * it says so with a DELETE, so that neither keeps a CHILD SA. */
static void initiator_refuses(void **state)
{
	static const struct { host b; const char *why; } rows[] = {
		{ { .to = -60, .from = -DAY, .crl_revoke = -1 }, "certificate expired" },
		{ { .other_ca = true, .crl_revoke = -1 }, "certificate from an unknown CA" },
		{ { .san = "DNS:b.example", .crl_revoke = -1 }, "certificate identity does not match the rule's peer_id" },
		{ { .wrong_key = true, .key_type = "ED25519", .crl_revoke = -1 }, "bad signature" },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		host a = { .crl_revoke = -1 }, b = rows[i].b;
		start(&a, &b, "c", "c");
		h_initiate(&H, 0);
		h_run(&H, SS_SEC(60));
		h_side *sa = &H.side[0], *sb = &H.side[1];
		assert_int_equal(sa->outcome, SS_IKE_PEER_REFUSED);
		assert_string_equal(sa->outcome_reason, rows[i].why);
		assert_int_equal(sa->n_child_up, 0);
		/* B had installed its CHILD SA; A's DELETE removed it with the IKE SA. */
		assert_int_equal(sb->n_alive, 0);
		assert_int_equal(sb->n_ike_deleted, 1);
		finish();
	}
}

/* Ordered methods: each side uses the first one the other can verify. */
static void method_order(void **state)
{
	static const struct { const char *ma, *mb; uint8_t a_used, b_used; bool up; const char *why; } rows[] = {
		{ "cp", "p", SS_AUTH_PSK, SS_AUTH_PSK, true, NULL },
		{ "p", "cp", SS_AUTH_PSK, SS_AUTH_PSK, true, NULL },
		{ "cp", "cp", SS_AUTH_DIGITAL_SIG, SS_AUTH_DIGITAL_SIG, true, NULL },
		{ "pc", "cp", SS_AUTH_PSK, SS_AUTH_DIGITAL_SIG, true, NULL },
		{ "c", "p", 0, 0, false, "peer authenticated with a certificate, which this rule does not accept" },
		{ "p", "c", 0, 0, false, "peer authenticated with a pre-shared key, which this rule does not accept" },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		host a = { .crl_revoke = -1 }, b = { .crl_revoke = -1 };
		start(&a, &b, rows[i].ma, rows[i].mb);
		h_initiate(&H, 0);
		h_run(&H, SS_SEC(60));
		if (!rows[i].up) {
			assert_int_equal(H.side[1].outcome, SS_IKE_PEER_REFUSED);
			assert_string_equal(H.side[1].outcome_reason, rows[i].why);
			assert_int_equal(H.side[0].outcome, SS_IKE_PEER_REFUSED);
			finish();
			continue;
		}
		assert_up();
		/* What B saw A use, and what A saw B use. */
		assert_int_equal(peer_of(1)->method, rows[i].a_used);
		assert_int_equal(peer_of(0)->method, rows[i].b_used);
		if (rows[i].a_used == SS_AUTH_PSK)
			assert_string_equal(peer_of(1)->id, "a.example");
		finish();
	}
}

static void peer_id_patterns(void **state)
{
	static const struct { const char *pattern; bool ok; } rows[] = {
		{ NULL, true }, { "dns:a.example", true }, { "dns:*.example", true }, { "a.example", true },
		{ "dn:CN=a.example,*", true }, { "CN=a.*", true }, { "ip:10.0.0.1", true }, { "10.0.0.1", true },
		{ "dns:b.example", false }, { "dn:CN=b.example,*", false }, { "ip:10.0.0.2", false },
		{ "email:*@example", false },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		host a = { .crl_revoke = -1 }, b = { .peer_id = rows[i].pattern, .crl_revoke = -1 };
		start(&a, &b, "c", "c");
		h_initiate(&H, 0);
		h_run(&H, SS_SEC(60));
		assert_int_equal(H.side[1].outcome, rows[i].ok ? SS_IKE_SECURED : SS_IKE_PEER_REFUSED);
		finish();
	}
}

/* A rekeyed IKE SA keeps the peer's authenticated identity (it is not authenticated again)
 * and its reference to the credential. */
static void rekey_keeps_identity(void **state)
{
	host a = { .crl_revoke = -1 }, b = { .key_type = "RSA", .crl_revoke = -1 };
	start(&a, &b, "c", "c");
	uint32_t ha = h_initiate(&H, 0);
	h_run(&H, SS_SEC(60));
	assert_up();
	assert_true(ss_ike_rekey_ike(H.side[0].eng, ha, H.now));
	h_run(&H, H.now + SS_SEC(60));
	assert_int_equal(H.side[0].n_ike_rekeyed, 1);
	ss_ike_sa_info info;
	assert_true(ss_ike_sa_get(H.side[0].eng, ha, &info));
	assert_true(info.established);
	assert_string_equal(info.peer.id, "CN=b.example,O=softsa test");
	assert_int_equal(info.peer.method, SS_AUTH_DIGITAL_SIG);
	finish();
}

/* A CRL that does not list the peer, within its validity, lets it in. */
static void crl_not_revoked(void **state)
{
	host a = { .crl_revoke = 99 }, b = { .crl_revoke = -1 };
	start(&a, &b, "c", "c");
	h_initiate(&H, 0);
	h_run(&H, SS_SEC(60));
	assert_up();
	finish();
}

/* The signature layer alone: RFC 7427 with each hash set, the older methods when the peer
 * announced none, and tampering. */
static void signature_methods(void **state)
{
	static const struct { const char *key; ss_hash_set hashes; uint8_t method; size_t len; } rows[] = {
		{ "P-256", 0, SS_AUTH_ECDSA_256, 64 },
		{ "P-384", 0, SS_AUTH_ECDSA_384, 96 },
		{ "P-521", 0, SS_AUTH_ECDSA_521, 132 },
		{ "RSA", 0, SS_AUTH_RSA_SIG, 256 },
		{ "P-256", 1u << SS_HASH_SHA2_384, SS_AUTH_DIGITAL_SIG, 0 },
		{ "RSA", 1u << SS_HASH_SHA2_512, SS_AUTH_DIGITAL_SIG, 0 },
		{ "ED25519", 1u << SS_HASH_IDENTITY, SS_AUTH_DIGITAL_SIG, 0 },
	};
	uint8_t msg[300];
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)i;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		EVP_PKEY *k = pki_key(rows[i].key);
		uint8_t out[SS_SIG_MAX], method = 0;
		size_t len = 0;
		const char *why = NULL;
		assert_true(ss_sig_sign(k, rows[i].hashes, msg, sizeof(msg), &method, out, sizeof(out), &len, &why));
		assert_int_equal(method, rows[i].method);
		if (rows[i].len)
			assert_int_equal(len, rows[i].len);
		assert_true(ss_sig_verify(k, method, out, len, msg, sizeof(msg), &why));
		msg[7] ^= 1;
		assert_false(ss_sig_verify(k, method, out, len, msg, sizeof(msg), &why));
		msg[7] ^= 1;
		out[len - 1] ^= 0x40;
		assert_false(ss_sig_verify(k, method, out, len, msg, sizeof(msg), &why));
		EVP_PKEY_free(k);
	}
	/* Ed25519 has no older method, and needs the Identity hash. */
	EVP_PKEY *ed = pki_key("ED25519"), *ec = pki_key("P-256");
	uint8_t out[SS_SIG_MAX], method;
	size_t len;
	const char *why = NULL;
	assert_false(ss_sig_sign(ed, 0, msg, 10, &method, out, sizeof(out), &len, &why));
	assert_false(ss_sig_sign(ed, 1u << SS_HASH_SHA2_256, msg, 10, &method, out, sizeof(out), &len, &why));
	assert_string_equal(why, "no signature hash in common with the peer");
	/* An ECDSA AlgorithmIdentifier against an Ed25519 certificate key. */
	assert_true(ss_sig_sign(ec, 1u << SS_HASH_SHA2_256, msg, 10, &method, out, sizeof(out), &len, &why));
	assert_false(ss_sig_verify(ed, method, out, len, msg, 10, &why));
	assert_string_equal(why, "signature algorithm does not match the certificate's key");
	/* Malformed AlgorithmIdentifier lengths. */
	out[0] = (uint8_t)(len + 5);
	assert_false(ss_sig_verify(ec, method, out, len, msg, 10, &why));
	out[0] = 3;
	assert_false(ss_sig_verify(ec, method, out, len, msg, 10, &why));
	/* Hash sets on the wire. */
	uint8_t d[16];
	size_t n = ss_sig_hashes_encode(ss_sig_hashes_ours(), d, sizeof(d));
	assert_int_equal(n, 8);
	assert_int_equal(ss_sig_hashes_decode(d, n), ss_sig_hashes_ours());
	assert_int_equal(ss_sig_hashes_decode((const uint8_t *)"\x00\x02\x77\x77\x00", 5), 1u << SS_HASH_SHA2_256);
	EVP_PKEY_free(ed);
	EVP_PKEY_free(ec);
}

/* Loading refuses what cannot work, with a message. */
static void cred_load_errors(void **state)
{
	EVP_PKEY *k = pki_key("P-256"), *k2 = pki_key("P-256");
	pki_spec s = { "x.example", false, -DAY, DAY, "IP:10.0.0.5", "digitalSignature", 5 };
	X509 *x = pki_cert(k, &s, ca, ca_key);
	const char *cap = pki_write_certs("l-ca.pem", &ca, 1), *cp = pki_write_certs("l-cert.pem", &x, 1);
	size_t kl, k2l;
	unsigned char *kp = pki_key_pem(k, &kl), *k2p = pki_key_pem(k2, &k2l);
	char err[256];
	ss_cred_files f = { .ca = cap, .cert = cp, .key_pem = k2p, .key_len = k2l };
	assert_null(ss_ike_cred_load(&f, err, sizeof(err)));
	assert_string_equal(err, "the private key does not match the certificate");
	f.key_pem = kp;
	f.key_len = kl;
	f.ca = "/nonexistent/ca.pem";
	assert_null(ss_ike_cred_load(&f, err, sizeof(err)));
	assert_non_null(strstr(err, "cannot read CA file"));
	f.ca = cap;
	f.crl = cp;  /* a certificate is not a CRL */
	assert_null(ss_ike_cred_load(&f, err, sizeof(err)));
	assert_non_null(strstr(err, "holds no PEM CRL"));
	f.crl = NULL;
	f.peer_id = "ip:not-an-address";
	assert_null(ss_ike_cred_load(&f, err, sizeof(err)));
	f.peer_id = NULL;
	f.key_pem = (const uint8_t *)"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
	f.key_len = strlen((const char *)f.key_pem);
	assert_null(ss_ike_cred_load(&f, err, sizeof(err)));
	assert_string_equal(err, "the key file holds no unencrypted PEM private key");
	f.key_pem = kp;
	f.key_len = kl;
	/* A CA directory works like a file; check() verifies our own certificate. */
	char cadir[256];
	snprintf(cadir, sizeof(cadir), "%s/cadir", pki_dir());
	assert_int_equal(mkdir(cadir, 0700), 0);
	char cafile[300];
	snprintf(cafile, sizeof(cafile), "%s/root.pem", cadir);
	FILE *cf = fopen(cafile, "w");
	assert_non_null(cf);
	PEM_write_X509(cf, ca);
	fclose(cf);
	f.ca = cadir;
	ss_ike_cred *c = ss_ike_cred_load(&f, err, sizeof(err));
	assert_non_null(c);
	assert_true(ss_ike_cred_check(c, (int64_t)time(NULL), err, sizeof(err)));
	assert_false(ss_ike_cred_check(c, (int64_t)time(NULL) + 2 * DAY, err, sizeof(err)));
	assert_string_equal(err, "certificate expired");
	ss_cert_info info;
	ss_ike_cred_info(c, &info);
	assert_string_equal(info.subject, "CN=x.example,O=softsa test");
	ss_ike_cred_unref(c);
	unlink(cafile);
	rmdir(cadir);
	free(kp);
	free(k2p);
	X509_free(x);
	EVP_PKEY_free(k);
	EVP_PKEY_free(k2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_key_type),
		cmocka_unit_test(responder_refuses),
		cmocka_unit_test(initiator_refuses),
		cmocka_unit_test(method_order),
		cmocka_unit_test(peer_id_patterns),
		cmocka_unit_test(crl_not_revoked),
		cmocka_unit_test(rekey_keeps_identity),
		cmocka_unit_test(signature_methods),
		cmocka_unit_test(cred_load_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
