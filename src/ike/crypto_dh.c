/* Diffie-Hellman for IKE KE payloads: MODP-2048 (RFC 3526), ECP-256/384 (RFC 5903),
 * Curve25519 (RFC 8031), through EVP_PKEY.  Peer values are validated before use: a
 * malicious KE payload must never reach the shared secret (small subgroups, invalid curve
 * points, the all-zero X25519 result). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/dh.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>

#include "base/secure.h"
#include "ike/crypto_internal.h"

struct ss_dh {
	const ss_dh_desc *d;
	EVP_PKEY *key;
	uint8_t pub[SS_DH_PUB_MAX];  /* KE payload format, computed once */
};

const char *ss_dh_err_name(enum ss_dh_err e)
{
	switch (e) {
	case SS_DH_OK: return "ok";
	case SS_DH_BAD_LENGTH: return "bad public value length";
	case SS_DH_BAD_VALUE: return "invalid public value";
	case SS_DH_FAILED: return "internal failure";
	}
	return "?";
}

size_t ss_dh_pub_len(uint16_t group)
{
	const ss_dh_desc *d = ss_dh_find(group);
	return d ? d->pub_len : 0;
}

size_t ss_dh_secret_len(uint16_t group)
{
	const ss_dh_desc *d = ss_dh_find(group);
	return d ? d->secret_len : 0;
}

uint16_t ss_dh_group(const ss_dh *dh)
{
	return dh->d->id;
}

/* Our public value into KE format (x || y for ECP, without the SEC1 0x04 prefix). */
static bool export_public(ss_dh *dh)
{
	const ss_dh_desc *d = dh->d;
	if (d->kind == SS_DH_KIND_MODP) {
		BIGNUM *y = NULL;
		bool ok = EVP_PKEY_get_bn_param(dh->key, OSSL_PKEY_PARAM_PUB_KEY, &y) == 1 &&
		          BN_bn2binpad(y, dh->pub, d->pub_len) == d->pub_len;
		BN_free(y);
		return ok;
	}
	if (d->kind == SS_DH_KIND_ECP) {
		uint8_t sec1[1 + SS_DH_PUB_MAX];
		size_t len = 0;
		if (EVP_PKEY_get_octet_string_param(dh->key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
		                                    sec1, sizeof(sec1), &len) != 1 ||
		    len != 1u + d->pub_len || sec1[0] != 0x04)
			return false;
		memcpy(dh->pub, sec1 + 1, d->pub_len);
		return true;
	}
	size_t len = d->pub_len;
	return EVP_PKEY_get_raw_public_key(dh->key, dh->pub, &len) == 1 && len == d->pub_len;
}

static ss_dh *wrap(const ss_dh_desc *d, EVP_PKEY *key)
{
	ss_dh *dh = key ? calloc(1, sizeof(*dh)) : NULL;
	if (!dh) {
		EVP_PKEY_free(key);
		return NULL;
	}
	dh->d = d;
	dh->key = key;
	if (!export_public(dh)) {
		ss_dh_free(dh);
		return NULL;
	}
	return dh;
}

/* Domain parameters of each MODP/ECP group, made once: keys generated from them skip the
 * group lookup by name, a third of an ECP-256 key generation. */
#define MAX_GROUPS 8
static pthread_once_t params_once = PTHREAD_ONCE_INIT;
static EVP_PKEY *group_params[MAX_GROUPS];

static const char *pkey_type(const ss_dh_desc *d)
{
	return d->kind == SS_DH_KIND_MODP ? "DH" : d->kind == SS_DH_KIND_ECP ? "EC" : "X25519";
}

static void release_params(void)
{
	for (size_t i = 0; i < MAX_GROUPS; i++) {
		EVP_PKEY_free(group_params[i]);
		group_params[i] = NULL;
	}
}

static void make_params(void)
{
	size_t n;
	const ss_dh_desc *all = ss_dh_all(&n);
	for (size_t i = 0; i < n && i < MAX_GROUPS; i++) {
		if (all[i].kind == SS_DH_KIND_X25519)
			continue;
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, pkey_type(&all[i]), NULL);
		OSSL_PARAM p[] = {
			OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
			                                 (char *)all[i].ossl, 0),
			OSSL_PARAM_construct_end(),
		};
		if (!ctx || EVP_PKEY_paramgen_init(ctx) != 1 || EVP_PKEY_CTX_set_params(ctx, p) != 1 ||
		    EVP_PKEY_generate(ctx, &group_params[i]) != 1)
			group_params[i] = NULL;
		EVP_PKEY_CTX_free(ctx);
	}
	atexit(release_params);
}

/* The group's parameters, NULL for X25519 (which has none) or on failure. */
static EVP_PKEY *params_of(const ss_dh_desc *d)
{
	size_t n;
	const ss_dh_desc *all = ss_dh_all(&n);
	pthread_once(&params_once, make_params);
	size_t i = (size_t)(d - all);
	return i < MAX_GROUPS ? group_params[i] : NULL;
}

const char *ss_dh_preload(void)
{
	size_t n;
	const ss_dh_desc *all = ss_dh_all(&n);
	for (size_t i = 0; i < n; i++) {
		if (all[i].kind != SS_DH_KIND_X25519) {
			if (!params_of(&all[i]))
				return all[i].name;
			continue;
		}
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "X25519", NULL);
		EVP_PKEY_CTX_free(ctx);
		if (!ctx)
			return all[i].name;
	}
	return NULL;
}

static EVP_PKEY *keygen(const ss_dh_desc *d)
{
	EVP_PKEY *key = NULL, *params = NULL;
	EVP_PKEY_CTX *ctx;
	if (d->kind == SS_DH_KIND_X25519)
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "X25519", NULL);
	else
		ctx = (params = params_of(d)) ? EVP_PKEY_CTX_new_from_pkey(NULL, params, NULL) : NULL;
	if (!ctx || EVP_PKEY_keygen_init(ctx) != 1 || EVP_PKEY_generate(ctx, &key) != 1)
		key = NULL;
	EVP_PKEY_CTX_free(ctx);
	return key;
}

ss_dh *ss_dh_new(uint16_t group)
{
	const ss_dh_desc *d = ss_dh_find(group);
	return d ? wrap(d, keygen(d)) : NULL;
}

void ss_dh_free(ss_dh *dh)
{
	if (!dh)
		return;
	EVP_PKEY_free(dh->key);  /* OpenSSL clears private key material on free */
	ss_free_secret(dh, sizeof(*dh));
}

bool ss_dh_public(const ss_dh *dh, uint8_t *out, size_t out_len)
{
	if (out_len != dh->d->pub_len)
		return false;
	memcpy(out, dh->pub, out_len);
	return true;
}

/* An EVP_PKEY from fromdata parameters (selection: public or full key pair). */
static EVP_PKEY *from_params(const char *type, OSSL_PARAM_BLD *bld, int selection)
{
	OSSL_PARAM *params = bld ? OSSL_PARAM_BLD_to_param(bld) : NULL;
	EVP_PKEY_CTX *ctx = params ? EVP_PKEY_CTX_new_from_name(NULL, type, NULL) : NULL;
	EVP_PKEY *key = NULL;
	if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &key, selection, params) != 1)
		key = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);  /* may hold a private scalar: OpenSSL clears secure BNs */
	return key;
}

/* The peer's public value in a copy of the group's parameters: cheaper than building a key
 * from the group's name, and it cannot end up in another group. */
static EVP_PKEY *peer_in_group(const ss_dh_desc *d, const uint8_t *enc, size_t len)
{
	EVP_PKEY *params = params_of(d), *key = params ? EVP_PKEY_dup(params) : NULL;
	if (key && EVP_PKEY_set1_encoded_public_key(key, enc, len) != 1) {
		EVP_PKEY_free(key);
		key = NULL;
	}
	return key;
}

/* MODP peer value: 1 < y < p - 1.  With a safe prime the only small subgroup is {1, p - 1}
 * (RFC 6989 §2.2), so the range check is the whole validation for ephemeral keys. */
static EVP_PKEY *peer_modp(const ss_dh *dh, const uint8_t *v, size_t len, enum ss_dh_err *err)
{
	BIGNUM *y = BN_bin2bn(v, (int)len, NULL), *p = NULL, *pm1 = NULL;
	EVP_PKEY *key = NULL;
	*err = SS_DH_FAILED;
	if (!y || EVP_PKEY_get_bn_param(dh->key, OSSL_PKEY_PARAM_FFC_P, &p) != 1 ||
	    !(pm1 = BN_dup(p)) || !BN_sub_word(pm1, 1))
		goto out;
	if (BN_is_zero(y) || BN_is_one(y) || BN_cmp(y, pm1) >= 0) {
		*err = SS_DH_BAD_VALUE;
		goto out;
	}
	key = peer_in_group(dh->d, v, len);
	*err = key ? SS_DH_OK : SS_DH_BAD_VALUE;
out:
	BN_free(y);
	BN_free(p);
	BN_free(pm1);
	return key;
}

/* ECP peer value: x || y becomes a SEC1 uncompressed point; OpenSSL's decoder refuses points
 * that are not on the curve (EC_POINT_oct2point), and the point at infinity has no x || y
 * encoding.  On a prime-order curve that is the whole validation (RFC 6989 §2.3). */
static EVP_PKEY *peer_ecp(const ss_dh *dh, const uint8_t *v, size_t len, enum ss_dh_err *err)
{
	uint8_t sec1[1 + SS_DH_PUB_MAX];
	sec1[0] = 0x04;
	memcpy(sec1 + 1, v, len);
	EVP_PKEY *key = peer_in_group(dh->d, sec1, 1 + len);
	*err = key ? SS_DH_OK : SS_DH_BAD_VALUE;
	return key;
}

static EVP_PKEY *peer_key(const ss_dh *dh, const uint8_t *v, size_t len, enum ss_dh_err *err)
{
	switch (dh->d->kind) {
	case SS_DH_KIND_MODP:
		return peer_modp(dh, v, len, err);
	case SS_DH_KIND_ECP:
		return peer_ecp(dh, v, len, err);
	case SS_DH_KIND_X25519: {
		/* Any 32 octets are a u-coordinate (RFC 7748 §5); bad ones show as a zero result. */
		EVP_PKEY *key = EVP_PKEY_new_raw_public_key_ex(NULL, "X25519", NULL, v, len);
		*err = key ? SS_DH_OK : SS_DH_FAILED;
		return key;
	}
	}
	*err = SS_DH_FAILED;
	return NULL;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;
	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

enum ss_dh_err ss_dh_derive(const ss_dh *dh, const uint8_t *peer, size_t peer_len,
                            uint8_t *secret, size_t secret_len)
{
	const ss_dh_desc *d = dh->d;
	enum ss_dh_err err = SS_DH_FAILED;
	EVP_PKEY *pk = NULL;
	EVP_PKEY_CTX *ctx = NULL, *check = NULL;
	if (secret_len != d->secret_len)
		goto out;
	if (peer_len != d->pub_len) {
		err = SS_DH_BAD_LENGTH;
		goto out;
	}
	pk = peer_key(dh, peer, peer_len, &err);
	if (!pk)
		goto out;
	err = SS_DH_FAILED;
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, dh->key, NULL);
	if (!ctx || EVP_PKEY_derive_init(ctx) != 1)
		goto out;
	/* §2.14: g^ir is padded to the prime length; OpenSSL strips leading zeros otherwise. */
	if (d->kind == SS_DH_KIND_MODP && EVP_PKEY_CTX_set_dh_pad(ctx, 1) != 1)
		goto out;
	/* The quick check is all a prime-order curve or a safe-prime group needs (RFC 6989
	 * §2.2, §2.3: on the curve and not infinity; 1 < y < p - 1); the full check costs a
	 * scalar multiplication by the group order, four times the derivation itself. */
	check = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
	if (!check)
		goto out;
	if (EVP_PKEY_public_check_quick(check) != 1 || EVP_PKEY_derive_set_peer_ex(ctx, pk, 0) != 1) {
		err = SS_DH_BAD_VALUE;
		goto out;
	}
	size_t len = secret_len;
	if (EVP_PKEY_derive(ctx, secret, &len) != 1) {
		/* X25519 derivation fails exactly when the result is all zero (RFC 7748 §6.1). */
		err = d->kind == SS_DH_KIND_X25519 ? SS_DH_BAD_VALUE : SS_DH_FAILED;
		goto out;
	}
	if (len != secret_len)
		goto out;
	err = all_zero(secret, len) ? SS_DH_BAD_VALUE : SS_DH_OK;
out:
	if (err != SS_DH_OK)
		ss_wipe(secret, secret_len);
	EVP_PKEY_CTX_free(check);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pk);
	return err;
}

/* ---- Test-only construction from a known private value ---- */

static EVP_PKEY *modp_from_private(const ss_dh_desc *d, BIGNUM *x)
{
	EVP_PKEY *params = params_of(d);  /* p and g of the named group */
	BIGNUM *p = NULL, *g = NULL, *y = BN_new();
	BN_CTX *bnctx = BN_CTX_new();
	OSSL_PARAM_BLD *bld = NULL;
	EVP_PKEY *key = NULL;
	if (params && y && bnctx &&
	    EVP_PKEY_get_bn_param(params, OSSL_PKEY_PARAM_FFC_P, &p) == 1 &&
	    EVP_PKEY_get_bn_param(params, OSSL_PKEY_PARAM_FFC_G, &g) == 1 &&
	    BN_mod_exp(y, g, x, p, bnctx) == 1 && (bld = OSSL_PARAM_BLD_new()) &&
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, d->ossl, 0) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, x) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PUB_KEY, y))
		key = from_params("DH", bld, EVP_PKEY_KEYPAIR);
	OSSL_PARAM_BLD_free(bld);
	BN_free(p);
	BN_free(g);
	BN_free(y);
	BN_CTX_free(bnctx);
	return key;
}

static EVP_PKEY *ecp_from_private(const ss_dh_desc *d, BIGNUM *x)
{
	EC_GROUP *grp = EC_GROUP_new_by_curve_name(EC_curve_nist2nid(d->ossl));
	EC_POINT *pt = grp ? EC_POINT_new(grp) : NULL;
	uint8_t sec1[1 + SS_DH_PUB_MAX];
	size_t len = 0;
	OSSL_PARAM_BLD *bld = NULL;
	EVP_PKEY *key = NULL;
	if (pt && EC_POINT_mul(grp, pt, x, NULL, NULL, NULL) == 1 &&
	    (len = EC_POINT_point2oct(grp, pt, POINT_CONVERSION_UNCOMPRESSED, sec1,
	                              sizeof(sec1), NULL)) == 1u + d->pub_len &&
	    (bld = OSSL_PARAM_BLD_new()) &&
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, d->ossl, 0) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, x) &&
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, sec1, len))
		key = from_params("EC", bld, EVP_PKEY_KEYPAIR);
	OSSL_PARAM_BLD_free(bld);
	EC_POINT_free(pt);
	EC_GROUP_free(grp);
	return key;
}

ss_dh *ss_dh_from_private(uint16_t group, const uint8_t *priv, size_t priv_len)
{
	const ss_dh_desc *d = ss_dh_find(group);
	if (!d || priv_len == 0 || priv_len > SS_DH_SECRET_MAX)
		return NULL;
	if (d->kind == SS_DH_KIND_X25519)
		return wrap(d, EVP_PKEY_new_raw_private_key_ex(NULL, "X25519", NULL, priv, priv_len));
	BIGNUM *x = BN_secure_new();
	EVP_PKEY *key = NULL;
	if (x && BN_bin2bn(priv, (int)priv_len, x))
		key = d->kind == SS_DH_KIND_MODP ? modp_from_private(d, x) : ecp_from_private(d, x);
	BN_clear_free(x);
	return wrap(d, key);
}
