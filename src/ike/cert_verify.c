/* Verifying a peer's certificate (cert.h): the chain with X509_verify_cert, key usage, the
 * identity it vouches for, and the rule's pattern.  Every refusal has its own reason: it
 * ends up in the log and in `softsa peers`. */
#include "ike/cert_internal.h"

#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

static bool pfail(char *err, size_t errlen, const char *msg)
{
	snprintf(err, errlen, "%s", msg);
	return false;
}

bool cred_set_pattern(ss_ike_cred *c, const char *p, char *err, size_t errlen)
{
	c->pat = PAT_DEFAULT;
	if (!p || !*p)
		return true;
	static const struct { const char *prefix; enum pattern_kind k; } pre[] = {
		{ "dn:", PAT_DN }, { "dns:", PAT_DNS }, { "email:", PAT_EMAIL }, { "ip:", PAT_IP },
	};
	const char *v = p;
	for (size_t i = 0; i < sizeof(pre) / sizeof(pre[0]); i++)
		if (strncmp(p, pre[i].prefix, strlen(pre[i].prefix)) == 0) {
			c->pat = pre[i].k;
			v = p + strlen(pre[i].prefix);
		}
	if (c->pat == PAT_DEFAULT)
		c->pat = strchr(v, '=') ? PAT_DN : strchr(v, '@') ? PAT_EMAIL :
			 ss_addr_parse(v, &c->pat_addr) ? PAT_IP : PAT_DNS;
	if (!*v || strlen(v) >= sizeof(c->pattern))
		return pfail(err, errlen, "peer_id must be 1 to 255 characters after its prefix");
	if (c->pat == PAT_IP && !ss_addr_parse(v, &c->pat_addr))
		return pfail(err, errlen, "peer_id ip: expects an IPv4 or IPv6 address");
	snprintf(c->pattern, sizeof(c->pattern), "%s", v);
	return true;
}

static void name_text(const X509_NAME *n, char *out, size_t cap)
{
	out[0] = 0;
	BIO *b = BIO_new(BIO_s_mem());
	if (!b)
		return;
	/* RFC 2253 order and escaping, UTF-8 kept as is (not as \XX escapes). */
	if (X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
		int l = BIO_read(b, out, (int)cap - 1);
		out[l > 0 ? l : 0] = 0;
	}
	BIO_free(b);
}

static int64_t asn1_unix(const ASN1_TIME *t)
{
	struct tm tm;
	if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return (int64_t)timegm(&tm);
}

void cert_describe(X509 *x, ss_cert_info *out)
{
	memset(out, 0, sizeof(*out));
	if (!x)
		return;
	name_text(X509_get_subject_name(x), out->subject, sizeof(out->subject));
	name_text(X509_get_issuer_name(x), out->issuer, sizeof(out->issuer));
	out->not_before = asn1_unix(X509_get0_notBefore(x));
	out->not_after = asn1_unix(X509_get0_notAfter(x));
}

static const char *verify_reason(int e)
{
	switch (e) {
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
		return "certificate from an unknown CA";
	case X509_V_ERR_CERT_HAS_EXPIRED: return "certificate expired";
	case X509_V_ERR_CERT_NOT_YET_VALID: return "certificate not yet valid";
	case X509_V_ERR_CERT_REVOKED: return "certificate revoked";
	case X509_V_ERR_CERT_CHAIN_TOO_LONG: return "certificate chain too long";
	case X509_V_ERR_UNABLE_TO_GET_CRL: return "no CRL for the certificate's issuer";
	case X509_V_ERR_CRL_HAS_EXPIRED: return "CRL past its nextUpdate";
	case X509_V_ERR_CRL_NOT_YET_VALID: return "CRL not yet valid";
	case X509_V_ERR_CRL_SIGNATURE_FAILURE: return "CRL signature does not verify";
	case X509_V_ERR_CERT_SIGNATURE_FAILURE: return "certificate signature does not verify";
	case X509_V_ERR_INVALID_CA:
	case X509_V_ERR_KEYUSAGE_NO_CERTSIGN: return "certificate issued by a certificate that is not a CA";
	case X509_V_ERR_INVALID_PURPOSE: return "certificate with the wrong key usage";
	default: return "certificate does not verify";
	}
}

const char *cert_chain_verify(const ss_ike_cred *c, X509 *leaf, STACK_OF(X509) *untrusted,
			      int64_t now)
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	if (!ctx || X509_STORE_CTX_init(ctx, c->store, leaf, untrusted) != 1) {
		X509_STORE_CTX_free(ctx);
		return "out of memory";
	}
	X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_time(vp, (time_t)now);
	X509_VERIFY_PARAM_set_depth(vp, SS_CERT_MAX_DEPTH);
	const char *why = NULL;
	if (X509_verify_cert(ctx) != 1)
		why = verify_reason(X509_STORE_CTX_get_error(ctx));
	X509_STORE_CTX_free(ctx);
	ERR_clear_error();
	if (!why && (X509_get_extension_flags(leaf) & EXFLAG_KUSAGE) &&
	    !(X509_get_key_usage(leaf) & KU_DIGITAL_SIGNATURE))
		why = "certificate with the wrong key usage (no digitalSignature)";
	return why;
}

/* §3.5 / RFC 4945 §3.1: the ID payload must be one the certificate holds. */
static bool id_confirmed(X509 *x, const ss_cert_idpl *id)
{
	unsigned flags = X509_CHECK_FLAG_NEVER_CHECK_SUBJECT | X509_CHECK_FLAG_NO_WILDCARDS;
	switch (id->type) {
	case SS_ID_DER_ASN1_DN: {
		const unsigned char *p = id->data;
		X509_NAME *n = d2i_X509_NAME(NULL, &p, (long)id->len);
		bool ok = n && (size_t)(p - id->data) == id->len &&
			  X509_NAME_cmp(n, X509_get_subject_name(x)) == 0;
		X509_NAME_free(n);
		return ok;
	}
	case SS_ID_IPV4_ADDR:
	case SS_ID_IPV6_ADDR:
		return id->len == (id->type == SS_ID_IPV4_ADDR ? 4u : 16u) &&
		       X509_check_ip(x, id->data, id->len, 0) == 1;
	case SS_ID_FQDN:
		return id->len && !memchr(id->data, 0, id->len) &&
		       X509_check_host(x, (const char *)id->data, id->len, flags, NULL) == 1;
	case SS_ID_RFC822_ADDR:
		return id->len && !memchr(id->data, 0, id->len) &&
		       X509_check_email(x, (const char *)id->data, id->len, flags) == 1;
	default:
		return false;
	}
}

/* Any SAN of this type (GEN_DNS, GEN_EMAIL) matches the glob. */
static bool san_glob(X509 *x, int type, const char *glob)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	bool hit = false;
	for (int i = 0; gens && !hit && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		if (g->type != type)
			continue;
		const ASN1_IA5STRING *s = type == GEN_DNS ? g->d.dNSName : g->d.rfc822Name;
		char v[256];
		int l = ASN1_STRING_length(s);
		if (l <= 0 || l >= (int)sizeof(v))
			continue;
		memcpy(v, ASN1_STRING_get0_data(s), (size_t)l);
		v[l] = 0;
		hit = strlen(v) == (size_t)l && fnmatch(glob, v, FNM_CASEFOLD) == 0;
	}
	GENERAL_NAMES_free(gens);
	return hit;
}

static bool pattern_ok(const ss_ike_cred *c, X509 *x, const ss_cert_info *info, const ss_addr *peer)
{
	const ss_addr *a = c->pat == PAT_IP ? &c->pat_addr : peer;
	switch (c->pat) {
	case PAT_DN: return fnmatch(c->pattern, info->subject, FNM_CASEFOLD) == 0;
	case PAT_DNS: return san_glob(x, GEN_DNS, c->pattern);
	case PAT_EMAIL: return san_glob(x, GEN_EMAIL, c->pattern);
	case PAT_IP:
	case PAT_DEFAULT:
	default:
		return X509_check_ip(x, a->a,
				     a->family == SS_AF_INET ? 4 : 16, 0) == 1;
	}
}

const char *ss_ike_cert_identity(const ss_ike_cred *c, X509 *leaf, const ss_cert_idpl *id,
				 const ss_addr *peer_addr, ss_cert_info *info)
{
	cert_describe(leaf, info);
	if (!id_confirmed(leaf, id))
		return "identity not in the peer's certificate";
	if (!pattern_ok(c, leaf, info, peer_addr))
		return "certificate identity does not match the rule's peer_id";
	return NULL;
}

const char *ss_ike_cert_verify(const ss_ike_cred *c, const ss_cert_chain *chain,
			       const ss_cert_idpl *id, const ss_addr *peer_addr, int64_t now,
			       EVP_PKEY **pub, ss_cert_info *info)
{
	*pub = NULL;
	memset(info, 0, sizeof(*info));
	if (!chain->n)
		return "no certificate from the peer";
	X509 *leaf = NULL;
	STACK_OF(X509) *rest = sk_X509_new_null();
	const char *why = rest ? NULL : "out of memory";
	for (size_t i = 0; !why && i < chain->n; i++) {
		const unsigned char *p = chain->der[i];
		X509 *x = d2i_X509(NULL, &p, (long)chain->len[i]);
		if (!x || (size_t)(p - chain->der[i]) != chain->len[i]) {
			X509_free(x);
			why = "malformed certificate from the peer";
		} else if (i == 0) {
			leaf = x;
		} else if (sk_X509_push(rest, x) <= 0) {
			X509_free(x);
			why = "out of memory";
		}
	}
	if (!why)
		why = cert_chain_verify(c, leaf, rest, now);
	if (!why)
		why = ss_ike_cert_identity(c, leaf, id, peer_addr, info);
	if (!why && !(*pub = X509_get_pubkey(leaf)))
		why = "certificate with an unusable public key";
	X509_free(leaf);
	sk_X509_pop_free(rest, X509_free);
	ERR_clear_error();
	return why;
}
