/* Loading X.509 credentials (cert.h): trust anchors, CRLs, our certificate, chain and key. */
#include "ike/cert.h"
#include "ike/cert_internal.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

static bool fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static bool fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	ERR_clear_error();
	return false;
}

static bool add_anchor(ss_ike_cred *c, X509 *x)
{
	if (!X509_STORE_add_cert(c->store, x))
		return false;
	/* §3.7: the CERTREQ names each anchor by SHA-1 of its SubjectPublicKeyInfo. */
	unsigned char *der = NULL;
	int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
	bool ok = len > 0 && (c->n_ca >= SS_CERT_MAX_CA ||
			      EVP_Digest(der, (size_t)len, c->certreq + SS_CERTREQ_HASH * c->n_ca, NULL,
					 EVP_sha1(), NULL) == 1);
	if (ok && c->n_ca < SS_CERT_MAX_CA)
		c->n_ca++;
	OPENSSL_free(der);
	return ok;
}

static bool load_anchor_file(ss_ike_cred *c, const char *path, bool in_dir, char *err,
			     size_t errlen)
{
	BIO *b = BIO_new_file(path, "r");
	if (!b)
		return fail(err, errlen, "cannot read CA file '%s'", path);
	size_t n = 0;
	X509 *x;
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
		bool ok = add_anchor(c, x);
		X509_free(x);
		if (!ok) {
			BIO_free(b);
			return fail(err, errlen, "CA file '%s': cannot use certificate %zu", path, n + 1);
		}
		n++;
	}
	BIO_free(b);
	ERR_clear_error();  /* the end of the file is reported as a PEM error */
	/* In a directory, a file without certificates (a CRL, a README.pem) is no anchor. */
	if (!n && !in_dir)
		return fail(err, errlen, "CA file '%s' holds no PEM certificate", path);
	return true;
}

static bool pem_name(const char *n)
{
	size_t l = strlen(n);
	return (l > 4 && (strcmp(n + l - 4, ".pem") == 0 || strcmp(n + l - 4, ".crt") == 0 ||
			  strcmp(n + l - 4, ".cer") == 0));
}

static bool load_anchors(ss_ike_cred *c, const char *path, char *err, size_t errlen)
{
	DIR *d = opendir(path);
	if (!d)
		return load_anchor_file(c, path, false, err, errlen);
	size_t n = 0;
	bool ok = true;
	struct dirent *de;
	while (ok && (de = readdir(d))) {
		if (de->d_name[0] == '.' || !pem_name(de->d_name))
			continue;
		char full[4096];
		int w = snprintf(full, sizeof(full), "%s/%s", path, de->d_name);
		if (w < 0 || (size_t)w >= sizeof(full))
			continue;
		ok = load_anchor_file(c, full, true, err, errlen);
		n++;
	}
	closedir(d);
	if (ok && !c->n_ca)
		return fail(err, errlen, "CA directory '%s' holds no certificate in a *.pem, *.crt or "
			    "*.cer file", path);
	return ok;
}

static bool load_crls(ss_ike_cred *c, const char *path, char *err, size_t errlen)
{
	BIO *b = BIO_new_file(path, "r");
	if (!b)
		return fail(err, errlen, "cannot read CRL file '%s'", path);
	size_t n = 0;
	X509_CRL *crl;
	while ((crl = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL))) {
		bool ok = X509_STORE_add_crl(c->store, crl) == 1;
		X509_CRL_free(crl);
		if (!ok) {
			BIO_free(b);
			return fail(err, errlen, "CRL file '%s': cannot use CRL %zu", path, n + 1);
		}
		n++;
	}
	BIO_free(b);
	if (!n)
		return fail(err, errlen, "CRL file '%s' holds no PEM CRL", path);
	ERR_clear_error();
	/* The CRL of the end-entity certificate's issuer must be there and current
	 * (X509_verify_cert refuses one past its nextUpdate). */
	X509_STORE_set_flags(c->store, X509_V_FLAG_CRL_CHECK);
	c->crl = true;
	return true;
}

static bool keep_der(ss_ike_cred *c, X509 *x)
{
	if (c->n_der >= SS_CRED_MAX_CHAIN)
		return false;
	int len = i2d_X509(x, NULL);
	unsigned char *p = len > 0 ? malloc((size_t)len) : NULL;
	if (!p)
		return false;
	c->der[c->n_der] = p;
	c->der_len[c->n_der++] = (size_t)i2d_X509(x, &p);
	return true;
}

static bool load_cert(ss_ike_cred *c, const char *path, char *err, size_t errlen)
{
	BIO *b = BIO_new_file(path, "r");
	if (!b)
		return fail(err, errlen, "cannot read certificate file '%s'", path);
	c->cert = PEM_read_bio_X509(b, NULL, NULL, NULL);
	bool ok = c->cert && keep_der(c, c->cert);
	X509 *x;
	while (ok && (x = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
		ok = sk_X509_push(c->chain, x) > 0 && keep_der(c, x);
		if (!ok)
			X509_free(x);
	}
	BIO_free(b);
	if (!c->cert)
		return fail(err, errlen, "certificate file '%s' holds no PEM certificate", path);
	if (!ok)
		return fail(err, errlen, "certificate file '%s': more than %d certificates", path,
			    SS_CRED_MAX_CHAIN);
	ERR_clear_error();
	unsigned char *p = c->id;
	int len = i2d_X509_NAME(X509_get_subject_name(c->cert), NULL);
	if (len <= 0 || len > (int)sizeof(c->id))
		return fail(err, errlen, "certificate '%s': subject DN longer than 255 bytes", path);
	c->id_len = (size_t)i2d_X509_NAME(X509_get_subject_name(c->cert), &p);
	return true;
}

/* An encrypted key would make OpenSSL ask for a passphrase on the terminal: refuse it. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return -1;
}

static bool load_key(ss_ike_cred *c, const ss_cred_files *f, char *err, size_t errlen)
{
	if (!f->key_pem || f->key_len == 0 || f->key_len > INT32_MAX)
		return fail(err, errlen, "no private key");
	BIO *b = BIO_new_mem_buf(f->key_pem, (int)f->key_len);
	c->key = b ? PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL) : NULL;
	BIO_free(b);
	if (!c->key)
		return fail(err, errlen, "the key file holds no unencrypted PEM private key");
	if (X509_check_private_key(c->cert, c->key) != 1)
		return fail(err, errlen, "the private key does not match the certificate");
	return true;
}

ss_ike_cred *ss_ike_cred_load(const ss_cred_files *f, char *err, size_t errlen)
{
	ss_ike_cred *c = calloc(1, sizeof(*c));
	if (!c) {
		fail(err, errlen, "out of memory");
		return NULL;
	}
	atomic_init(&c->refs, 1);
	c->store = X509_STORE_new();
	c->chain = sk_X509_new_null();
	bool ok = c->store && c->chain;
	if (!ok)
		fail(err, errlen, "out of memory");
	if (ok && (!f->ca || !f->cert))
		ok = fail(err, errlen, "a certificate method needs ca and cert");
	ok = ok && load_anchors(c, f->ca, err, errlen) && load_cert(c, f->cert, err, errlen) &&
	     load_key(c, f, err, errlen) && (!f->crl || load_crls(c, f->crl, err, errlen));
	ok = ok && cred_set_pattern(c, f->peer_id, err, errlen);
	if (!ok) {
		ss_ike_cred_unref(c);
		return NULL;
	}
	return c;
}

ss_ike_cred *ss_ike_cred_ref(ss_ike_cred *c)
{
	if (c)
		atomic_fetch_add(&c->refs, 1);
	return c;
}

void ss_ike_cred_unref(ss_ike_cred *c)
{
	if (!c || atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	X509_STORE_free(c->store);
	X509_free(c->cert);
	sk_X509_pop_free(c->chain, X509_free);
	EVP_PKEY_free(c->key);  /* OpenSSL clears the private key material (BN_clear_free) */
	for (size_t i = 0; i < c->n_der; i++)
		free(c->der[i]);
	free(c);
}

const uint8_t *ss_ike_cred_id(const ss_ike_cred *c, size_t *len)
{
	*len = c->id_len;
	return c->id;
}

EVP_PKEY *ss_ike_cred_key(const ss_ike_cred *c) { return c->key; }

const uint8_t *ss_ike_cred_der(const ss_ike_cred *c, size_t i, size_t *len)
{
	if (i >= c->n_der)
		return NULL;
	*len = c->der_len[i];
	return c->der[i];
}

const uint8_t *ss_ike_cred_certreq(const ss_ike_cred *c, size_t *len)
{
	*len = c->n_ca * SS_CERTREQ_HASH;
	return c->certreq;
}

void ss_ike_cred_info(const ss_ike_cred *c, ss_cert_info *out)
{
	cert_describe(c->cert, out);
}

bool ss_ike_cred_check(const ss_ike_cred *c, int64_t now, char *err, size_t errlen)
{
	const char *why = cert_chain_verify(c, c->cert, c->chain, now);
	if (why)
		return fail(err, errlen, "%s", why);
	return true;
}
