/* Authentication methods on the engine's side (§2.15, §3.6-3.8, RFC 7427): which method we
 * authenticate with, the payloads that go with it, and verifying the peer's AUTH with a
 * pre-shared key or with its certificate.  The credential (trust anchors, our key) was loaded
 * by the policy side; nothing here reads a file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "base/log.h"
#include "base/secure.h"
#include "ike/ike_internal.h"
#include "ike/sig.h"

bool cfg_allows(const ss_ike_config *c, uint8_t kind)
{
	if (c->n_auth == 0)
		return kind == SS_IKE_AUTH_PSK;
	for (size_t i = 0; i < c->n_auth && i < SS_IKE_MAX_AUTH; i++)
		if (c->auth[i] == kind)
			return kind != SS_IKE_AUTH_CERT || c->cred;
	return false;
}

/* Configurations are interned: the SAs of one rule share one copy (1.5 KB each would be a
 * third of an SA's memory), counted by reference.  Two configurations are the same copy
 * only when their bytes are equal; padding that differs only costs a second copy. */
typedef struct cfg_ref {
	ss_hnode node;
	uint32_t refs;
	ss_ike_config c;
} cfg_ref;

#define REF_OF(cfg) ((cfg_ref *)((char *)(cfg) - offsetof(cfg_ref, c)))

ss_ike_config *cfg_get(ss_ike_engine *e, const ss_ike_config *c)
{
	uint64_t key = ss_hmap_key_bytes((const uint8_t *)c, sizeof(*c));
	for (ss_hnode *n = ss_hmap_first(&e->configs, key); n; n = ss_hmap_next(n)) {
		cfg_ref *r = (cfg_ref *)((char *)n - offsetof(cfg_ref, node));
		if (r->refs < UINT32_MAX && memcmp(&r->c, c, sizeof(*c)) == 0) {
			r->refs++;
			return &r->c;
		}
	}
	cfg_ref *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->c = *c;
	r->refs = 1;
	if (!ss_hmap_insert(&e->configs, &r->node, key)) {
		free(r);
		return NULL;
	}
	ss_ike_cred_ref(r->c.cred);
	return &r->c;
}

ss_ike_config *cfg_share(ss_ike_config *c)
{
	if (c)
		REF_OF(c)->refs++;
	return c;
}

void cfg_put(ss_ike_engine *e, ss_ike_config *c)
{
	if (!c)
		return;
	cfg_ref *r = REF_OF(c);
	if (--r->refs)
		return;
	ss_hmap_remove(&e->configs, &r->node);
	ss_ike_cred_unref(r->c.cred);
	ss_free_secret(r, sizeof(*r));
}

void cert_init_payloads(ss_ike_writer *w, const ss_ike_config *c, bool responder)
{
	if (!c || !cfg_allows(c, SS_IKE_AUTH_CERT))
		return;
	if (responder) {
		size_t n;
		const uint8_t *h = ss_ike_cred_certreq(c->cred, &n);
		ss_ikew_cert(w, SS_PL_CERTREQ, SS_CERT_X509_SIG, h, n);
	}
	uint8_t d[16];
	size_t n = ss_sig_hashes_encode(ss_sig_hashes_ours(), d, sizeof(d));
	ss_ikew_notify(w, 0, NULL, 0, SS_N_SIGNATURE_HASH_ALGORITHMS, d, n);
}

void cert_note_peer(ike_sa *sa, const ss_ike_msg *m)
{
	const ss_ike_notify_pl *n = ss_ike_find_notify(m, SS_N_SIGNATURE_HASH_ALGORITHMS);
	if (n)
		sa->peer_hashes = ss_sig_hashes_decode(n->data.p, n->data.len);
	for (size_t i = 0; i < m->n_certreq && i < SS_IKE_MAX_CERTS; i++)
		if (m->certreq[i].enc == SS_CERT_X509_SIG)
			sa->peer_certreq = true;
}

/* The first method of our list the peer can verify; the first of the list when none is
 * (the peer then refuses it, a clear outcome). */
static uint8_t choose(const ike_sa *sa)
{
	const ss_ike_config *c = sa->cfg;
	if (c->n_auth == 0)
		return SS_IKE_AUTH_PSK;
	for (size_t i = 0; i < c->n_auth && i < SS_IKE_MAX_AUTH; i++) {
		if (c->auth[i] == SS_IKE_AUTH_CERT && c->cred && sa->peer_certreq)
			return SS_IKE_AUTH_CERT;
		if (c->auth[i] == SS_IKE_AUTH_PSK && c->psk_len)
			return SS_IKE_AUTH_PSK;
	}
	return c->auth[0];
}

/* The ID payload body the AUTH covers: type, three reserved octets, data. */
static size_t id_body(const ss_ike_id *id, uint8_t out[4 + 255])
{
	out[0] = id->type;
	out[1] = out[2] = out[3] = 0;
	memcpy(out + 4, id->data, id->len);
	return 4u + id->len;
}

/* §2.15: what the signer signs: its own IKE_SA_INIT message, the other side's nonce, and
 * prf(SK_p, its ID payload body). */
typedef struct auth_in {
	const uint8_t *msg, *nonce, *skp;
	size_t msg_len, nonce_len;
} auth_in;

static auth_in auth_inputs(const ike_sa *sa, bool signer_initiator)
{
	auth_in a;
	a.msg = signer_initiator ? sa->init_req : sa->init_resp;
	a.msg_len = signer_initiator ? sa->init_req_len : sa->init_resp_len;
	a.nonce = signer_initiator ? sa->nr : sa->ni;
	a.nonce_len = signer_initiator ? sa->nr_len : sa->ni_len;
	a.skp = signer_initiator ? sa->keys.sk_pi : sa->keys.sk_pr;
	return a;
}

static uint8_t *octets(const ike_sa *sa, bool signer_initiator, const uint8_t *idb, size_t idb_len,
		       size_t *len)
{
	auth_in a = auth_inputs(sa, signer_initiator);
	size_t n = ss_prf_len(sa->suite.prf);
	uint8_t *o = n ? malloc(a.msg_len + a.nonce_len + n) : NULL;
	if (!o)
		return NULL;
	memcpy(o, a.msg, a.msg_len);
	memcpy(o + a.msg_len, a.nonce, a.nonce_len);
	if (!ss_prf(sa->suite.prf, a.skp, sa->keys.sk_p_len, idb, idb_len, o + a.msg_len + a.nonce_len)) {
		free(o);
		return NULL;
	}
	*len = a.msg_len + a.nonce_len + n;
	return o;
}

static const char *sign(ike_sa *sa, uint8_t kind, const uint8_t *idb, size_t idb_len,
			uint8_t *method, uint8_t *out, size_t *out_len)
{
	if (kind == SS_IKE_AUTH_PSK) {
		auth_in a = auth_inputs(sa, sa->initiator);
		*method = SS_AUTH_PSK;
		*out_len = ss_prf_len(sa->suite.prf);
		return ss_auth_psk(sa->suite.prf, sa->cfg->psk, sa->cfg->psk_len, a.msg, a.msg_len,
				   a.nonce, a.nonce_len, a.skp, sa->keys.sk_p_len, idb, idb_len, out) ?
		       NULL : "cannot compute AUTH";
	}
	size_t olen = 0;
	uint8_t *o = octets(sa, sa->initiator, idb, idb_len, &olen);
	const char *why = "cannot compute AUTH";
	bool ok = o && ss_sig_sign(ss_ike_cred_key(sa->cfg->cred), sa->peer_hashes, o, olen, method,
				   out, SS_SIG_MAX, out_len, &why);
	free(o);
	return ok ? NULL : why;
}

const char *auth_write(ss_ike_engine *e, ike_sa *sa, ss_ike_writer *w)
{
	(void)e;
	const ss_ike_config *c = sa->cfg;
	uint8_t kind = choose(sa);
	if (kind == SS_IKE_AUTH_CERT && !c->cred)
		return "no certificate configured";
	ss_ike_id lid = c->local_id;
	if (kind == SS_IKE_AUTH_CERT) {
		/* Our identity is our certificate's subject: the peer checks the certificate
		 * vouches for the ID payload (RFC 4945 §3.1). */
		size_t n;
		const uint8_t *dn = ss_ike_cred_id(c->cred, &n);
		lid.type = SS_ID_DER_ASN1_DN;
		lid.len = (uint8_t)n;
		memcpy(lid.data, dn, n);
	}
	uint8_t idb[4 + 255], auth[SS_SIG_MAX];
	size_t idb_len = id_body(&lid, idb), alen = 0;
	uint8_t method = 0;
	const char *why = sign(sa, kind, idb, idb_len, &method, auth, &alen);
	if (why) {
		ss_wipe(auth, sizeof(auth));
		return why;
	}
	ss_ikew_id(w, sa->initiator ? SS_PL_IDI : SS_PL_IDR, lid.type, lid.data, lid.len);
	if (kind == SS_IKE_AUTH_CERT) {
		size_t n;
		const uint8_t *der;
		for (size_t i = 0; (der = ss_ike_cred_der(c->cred, i, &n)); i++)
			ss_ikew_cert(w, SS_PL_CERT, SS_CERT_X509_SIG, der, n);
	}
	if (sa->initiator && cfg_allows(c, SS_IKE_AUTH_CERT)) {
		size_t n;
		const uint8_t *h = ss_ike_cred_certreq(c->cred, &n);
		ss_ikew_cert(w, SS_PL_CERTREQ, SS_CERT_X509_SIG, h, n);
	}
	/* IDr names whom we expect; a certificate peer is named by its certificate instead
	 * (and a responder would look for a configuration under an address it does not use). */
	if (sa->initiator && kind == SS_IKE_AUTH_PSK && c->remote_id.type)
		ss_ikew_id(w, SS_PL_IDR, c->remote_id.type, c->remote_id.data, c->remote_id.len);
	ss_ikew_auth(w, method, auth, alen);
	ss_wipe(auth, sizeof(auth));
	sa->local_method = method;
	return NULL;
}

/* The identity of a PSK peer as text, for sas / peers. */
static void id_text(const ss_ike_id *id, char *out, size_t cap)
{
	if (id->type == SS_ID_IPV4_ADDR || id->type == SS_ID_IPV6_ADDR) {
		ss_addr a = { .family = id->type == SS_ID_IPV4_ADDR ? SS_AF_INET : SS_AF_INET6 };
		memcpy(a.a, id->data, id->len > 16 ? 16 : id->len);
		char b[SS_ADDR_STRLEN];
		snprintf(out, cap, "%s", ss_addr_fmt(&a, b));
		return;
	}
	size_t o = 0;
	const char *pre = id->type == SS_ID_KEY_ID ? "keyid:" : "";
	o = (size_t)snprintf(out, cap, "%s", pre);
	for (size_t i = 0; i < id->len && o + 1 < cap; i++)
		out[o++] = id->data[i] >= 0x20 && id->data[i] < 0x7f ? (char)id->data[i] : '?';
	out[o < cap ? o : cap - 1] = 0;
}

static const char *verify_psk(ike_sa *sa, const ss_ike_msg *m, const ss_ike_id_pl *idpl)
{
	const ss_ike_config *c = sa->cfg;
	ss_ike_id id = id_of_payload(idpl);
	if (!cfg_allows(c, SS_IKE_AUTH_PSK) || !c->psk_len)
		return "peer authenticated with a pre-shared key, which this rule does not accept";
	if (c->remote_id.type && !ss_ike_id_eq(&id, &c->remote_id))
		return "peer's identity does not match the rule";
#ifndef SS_IKE_FUZZING  /* fuzzing builds let arbitrary IKE_AUTH content reach the CHILD code */
	auth_in a = auth_inputs(sa, !sa->initiator);
	if (!ss_auth_psk_verify(sa->suite.prf, c->psk, c->psk_len, a.msg, a.msg_len, a.nonce,
				a.nonce_len, a.skp, sa->keys.sk_p_len, idpl->body.p, idpl->body.len,
				m->auth.data.p, m->auth.data.len))
		return sa->initiator ? "responder failed to authenticate" :
				       "initiator failed to authenticate";
#endif
	sa->peer_method = SS_AUTH_PSK;
	return NULL;
}

static const char *verify_cert(ss_ike_engine *e, ike_sa *sa, const ss_ike_msg *m,
			       const ss_ike_id_pl *idpl)
{
	const ss_ike_config *c = sa->cfg;
	if (!cfg_allows(c, SS_IKE_AUTH_CERT))
		return "peer authenticated with a certificate, which this rule does not accept";
	ss_cert_chain ch = { .n = 0 };
	for (size_t i = 0; i < m->n_cert && i < SS_IKE_MAX_CERTS && ch.n < 8; i++)
		if (m->cert[i].enc == SS_CERT_X509_SIG) {
			ch.der[ch.n] = m->cert[i].data.p;
			ch.len[ch.n++] = m->cert[i].data.len;
		}
	ss_cert_idpl id = { idpl->type, idpl->data.p, idpl->data.len };
	int64_t now = e->p.wall_clock ? e->p.wall_clock(e->p.wall_ctx) : (int64_t)time(NULL);
	EVP_PKEY *pub = NULL;
	ss_cert_info info;
	const char *why = ss_ike_cert_verify(c->cred, &ch, &id, &sa->remote.addr, now, &pub, &info);
	if (why)
		return why;
	size_t olen = 0;
	uint8_t *o = octets(sa, !sa->initiator, idpl->body.p, idpl->body.len, &olen);
	if (!o)
		why = "out of memory";
	else if (!ss_sig_verify(pub, m->auth.method, m->auth.data.p, m->auth.data.len, o, olen, &why))
		why = why ? why : "bad signature";
	else
		why = NULL;
	free(o);
	EVP_PKEY_free(pub);
	if (why)
		return why;
	free(sa->peer_cert);
	sa->peer_cert = malloc(sizeof(*sa->peer_cert));
	if (!sa->peer_cert)
		return "out of memory";
	*sa->peer_cert = info;
	sa->peer_method = m->auth.method;
	return NULL;
}

void auth_peer_info(const ike_sa *sa, ss_ike_peer_auth *out)
{
	memset(out, 0, sizeof(*out));
	out->method = sa->peer_method;
	out->local_method = sa->local_method;
	if (sa->peer_cert) {
		out->cert = *sa->peer_cert;
		snprintf(out->id, sizeof(out->id), "%s", sa->peer_cert->subject);
	} else if (sa->peer_method == SS_AUTH_PSK && sa->peer_id_data) {
		ss_ike_id id = sa_peer_id(sa);
		id_text(&id, out->id, sizeof(out->id));
	}
}

bool auth_peer_copy(ike_sa *to, const ike_sa *from)
{
	to->peer_method = from->peer_method;
	to->local_method = from->local_method;
	if (from->peer_cert) {
		to->peer_cert = malloc(sizeof(*to->peer_cert));
		if (!to->peer_cert)
			return false;
		*to->peer_cert = *from->peer_cert;
	}
	ss_ike_id id = sa_peer_id(from);
	return !from->peer_id_data || sa_set_peer_id(to, &id);
}

const char *auth_verify(ss_ike_engine *e, ike_sa *sa, const ss_ike_msg *m, const ss_ike_id_pl *id)
{
	if (m->auth.method == SS_AUTH_PSK)
		return verify_psk(sa, m, id);
	if (ss_sig_method(m->auth.method))
		return verify_cert(e, sa, m, id);
	return "peer used an authentication method we do not support";
}
