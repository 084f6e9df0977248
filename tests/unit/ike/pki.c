/* Test PKI (pki.h) over OpenSSL's X509 API. */
#include "pki.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

EVP_PKEY *pki_key(const char *type)
{
	if (strcmp(type, "RSA") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	if (strcmp(type, "ED25519") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", type);
}

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (e) {
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
}

X509 *pki_cert(EVP_PKEY *key, const pki_spec *s, X509 *issuer, EVP_PKEY *issuer_key)
{
	X509 *x = X509_new();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), s->serial ? s->serial : 1);
	X509_gmtime_adj(X509_getm_notBefore(x), s->from);
	X509_gmtime_adj(X509_getm_notAfter(x), s->to);
	X509_NAME *n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)"softsa test", -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)s->cn, -1, -1, 0);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
	X509_set_pubkey(x, key);
	add_ext(x, issuer, NID_basic_constraints, s->ca ? "critical,CA:TRUE" : "CA:FALSE");
	add_ext(x, issuer, NID_subject_key_identifier, "hash");
	if (issuer)
		add_ext(x, issuer, NID_authority_key_identifier, "keyid");
	if (s->ku)
		add_ext(x, issuer, NID_key_usage, s->ku);
	if (s->san)
		add_ext(x, issuer, NID_subject_alt_name, s->san);
	EVP_PKEY *sk = issuer_key ? issuer_key : key;
	bool eddsa = EVP_PKEY_is_a(sk, "ED25519");
	X509_sign(x, sk, eddsa ? NULL : EVP_sha256());
	return x;
}

X509_CRL *pki_crl(X509 *ca, EVP_PKEY *ca_key, long serial, long from, long to)
{
	X509_CRL *c = X509_CRL_new();
	X509_CRL_set_version(c, 1);
	X509_CRL_set_issuer_name(c, X509_get_subject_name(ca));
	ASN1_TIME *t = X509_gmtime_adj(NULL, from);
	X509_CRL_set1_lastUpdate(c, t);
	X509_gmtime_adj(t, to);
	X509_CRL_set1_nextUpdate(c, t);
	if (serial) {
		X509_REVOKED *r = X509_REVOKED_new();
		ASN1_INTEGER *sn = ASN1_INTEGER_new();
		ASN1_INTEGER_set(sn, serial);
		X509_REVOKED_set_serialNumber(r, sn);
		X509_gmtime_adj(t, from);
		X509_REVOKED_set_revocationDate(r, t);
		X509_CRL_add0_revoked(c, r);
		ASN1_INTEGER_free(sn);
	}
	ASN1_TIME_free(t);
	X509_CRL_sort(c);
	X509_CRL_sign(c, ca_key, EVP_PKEY_is_a(ca_key, "ED25519") ? NULL : EVP_sha256());
	return c;
}

static char dir[64];
static char paths[512][128];
static int n_paths;

const char *pki_dir(void)
{
	static bool registered;
	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/ss-pki-XXXXXX");
		if (!mkdtemp(dir))
			abort();
		/* A failed assertion leaves the test early: the files go at exit all the same. */
		if (!registered)
			registered = atexit(pki_cleanup) == 0;
	}
	return dir;
}

void pki_cleanup(void)
{
	for (int i = 0; i < n_paths; i++)
		unlink(paths[i]);
	n_paths = 0;
	if (dir[0])
		rmdir(dir);
	dir[0] = 0;
}

static const char *path_for(const char *name)
{
	if (n_paths >= 512)
		abort();
	char *p = paths[n_paths++];
	snprintf(p, 128, "%s/%s", pki_dir(), name);
	return p;
}

const char *pki_write_certs(const char *name, X509 *const *x, size_t n)
{
	const char *p = path_for(name);
	FILE *f = fopen(p, "w");
	for (size_t i = 0; f && i < n; i++)
		PEM_write_X509(f, x[i]);
	if (f)
		fclose(f);
	return p;
}

const char *pki_write_crl(const char *name, X509_CRL *crl)
{
	const char *p = path_for(name);
	FILE *f = fopen(p, "w");
	if (f) {
		PEM_write_X509_CRL(f, crl);
		fclose(f);
	}
	return p;
}

unsigned char *pki_key_pem(EVP_PKEY *k, size_t *len)
{
	BIO *b = BIO_new(BIO_s_mem());
	PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
	char *data;
	long l = BIO_get_mem_data(b, &data);
	unsigned char *out = malloc((size_t)l);
	memcpy(out, data, (size_t)l);
	*len = (size_t)l;
	BIO_free(b);
	return out;
}

ss_ike_cred *pki_cred(X509 *ca, X509 *cert, X509 *const *chain, size_t n_chain, EVP_PKEY *key,
		      X509_CRL *crl, const char *peer_id)
{
	static int seq;
	char name[32];
	X509 *all[9] = { cert };
	for (size_t i = 0; i < n_chain && i < 8; i++)
		all[1 + i] = chain[i];
	snprintf(name, sizeof(name), "ca%d.pem", seq);
	const char *cap = pki_write_certs(name, &ca, 1);
	snprintf(name, sizeof(name), "cert%d.pem", seq);
	const char *cp = pki_write_certs(name, all, 1 + n_chain);
	const char *crlp = NULL;
	if (crl) {
		snprintf(name, sizeof(name), "crl%d.pem", seq);
		crlp = pki_write_crl(name, crl);
	}
	seq++;
	size_t kl;
	unsigned char *kp = pki_key_pem(key, &kl);
	ss_cred_files f = { .ca = cap, .cert = cp, .key_pem = kp, .key_len = kl, .crl = crlp,
			    .peer_id = peer_id };
	char err[256];
	ss_ike_cred *c = ss_ike_cred_load(&f, err, sizeof(err));
	if (!c)
		fprintf(stderr, "pki_cred: %s\n", err);
	OPENSSL_cleanse(kp, kl);
	free(kp);
	return c;
}
