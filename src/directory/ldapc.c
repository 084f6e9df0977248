/* libldap calls: connect + TLS + bind, the fetch of a host's assignments and policy, the
 * RFC 4533 refreshAndPersist search, and publish.  Every decision about what the entries
 * mean is in entry.c; this file only moves them. */
#include <ldap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/secure.h"
#include "directory/ldapc.h"

#define SUB "directory"
#define MAX_ATTRS 8
#define MAX_ENTRIES 100000

struct ss_dir_conn {
	LDAP *ld;
	char uri[256];
	int sync_msgid;
	bool refreshed;
	struct timeval tmo;
};

void ss_dir_result_clear(ss_dir_result *r)
{
	free(r->doc);
	memset(r, 0, sizeof(*r));
}

bool ss_dir_result_same(const ss_dir_result *a, const ss_dir_result *b)
{
	return a->doc && b->doc && a->version == b->version && strcmp(a->policy_dn, b->policy_dn) == 0 &&
	       a->doc_len == b->doc_len && memcmp(a->doc, b->doc, a->doc_len) == 0;
}

const char *ss_dir_conn_uri(const ss_dir_conn *k) { return k->uri; }

static bool opt(LDAP *ld, int o, const void *v, const char *what, char *err, size_t errlen)
{
	if (ldap_set_option(ld, o, v) == LDAP_OPT_SUCCESS)
		return true;
	snprintf(err, errlen, "cannot set %s", what);
	return false;
}

static bool tls_options(LDAP *ld, const ss_dir_config *c, char *err, size_t errlen)
{
	int demand = LDAP_OPT_X_TLS_DEMAND, zero = 0;
	bool ok = opt(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand, "TLS certificate checks", err, errlen) &&
		  opt(ld, LDAP_OPT_X_TLS_CACERTFILE, c->ca_file, "ca_file", err, errlen);
	if (ok && c->bind == SS_DIR_BIND_EXTERNAL)
		ok = opt(ld, LDAP_OPT_X_TLS_CERTFILE, c->cert_file, "cert_file", err, errlen) &&
		     opt(ld, LDAP_OPT_X_TLS_KEYFILE, c->key_file, "key_file", err, errlen);
	/* Options on a handle take effect in a TLS context made after them. */
	return ok && opt(ld, LDAP_OPT_X_TLS_NEWCTX, &zero, "a TLS context", err, errlen);
}

static bool do_bind(LDAP *ld, const ss_dir_config *c, char *err, size_t errlen)
{
	int rc;
	if (c->bind == SS_DIR_BIND_EXTERNAL) {
		/* An empty initial response (RFC 4422 appendix A): no authorisation identity
		 * other than the certificate's.  An absent one would make slapd ask for it. */
		struct berval none = { .bv_len = 0, .bv_val = "" };
		rc = ldap_sasl_bind_s(ld, NULL, "EXTERNAL", &none, NULL, NULL, NULL);
	} else {
		char pw[512];
		long n = ss_dir_read_password(c->password_file, pw, sizeof(pw), err, errlen);
		if (n < 0)
			return false;
		struct berval cred = { .bv_len = (ber_len_t)n, .bv_val = pw };
		rc = ldap_sasl_bind_s(ld, c->bind_dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
		ss_wipe(pw, sizeof(pw));
	}
	if (rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR) {
		/* libldap says no more than "Can't contact LDAP server" when the handshake fails. */
		snprintf(err, errlen, "cannot connect: %s%s", ldap_err2string(rc),
			 c->tls ? " (or the TLS handshake failed: was the server's certificate, for this "
				  "host name, signed by the CA in ca_file?)" : "");
	} else if (rc != LDAP_SUCCESS) {
		char *diag = NULL;
		ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
		snprintf(err, errlen, "bind (%s) refused: %s%s%s", c->bind == SS_DIR_BIND_EXTERNAL ? "SASL EXTERNAL" : "simple",
			 ldap_err2string(rc), diag && *diag ? ": " : "", diag ? diag : "");
		ldap_memfree(diag);
	}
	return rc == LDAP_SUCCESS;
}

static LDAP *connect_one(const ss_dir_config *c, const char *uri, const struct timeval *tmo, char *err,
			 size_t errlen)
{
	LDAP *ld = NULL;
	int rc = ldap_initialize(&ld, uri);
	if (rc != LDAP_SUCCESS) {
		snprintf(err, errlen, "%s: %s", uri, ldap_err2string(rc));
		return NULL;
	}
	int v3 = LDAP_VERSION3;
	bool ok = opt(ld, LDAP_OPT_PROTOCOL_VERSION, &v3, "LDAPv3", err, errlen) &&
		  opt(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF, "referrals off", err, errlen) &&
		  opt(ld, LDAP_OPT_NETWORK_TIMEOUT, tmo, "the timeout", err, errlen) &&
		  opt(ld, LDAP_OPT_TIMEOUT, tmo, "the timeout", err, errlen) &&
		  (!c->tls || tls_options(ld, c, err, errlen));
	if (ok && c->tls && strncasecmp(uri, "ldap://", 7) == 0) {
		rc = ldap_start_tls_s(ld, NULL, NULL);
		if (rc != LDAP_SUCCESS) {
			char *diag = NULL;
			ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
			snprintf(err, errlen, "StartTLS failed: %s%s%s", ldap_err2string(rc), diag && *diag ? ": " : "",
				 diag ? diag : "");
			ldap_memfree(diag);
			ok = false;
		}
	}
	if (ok && !do_bind(ld, c, err, errlen))
		ok = false;
	if (!ok) {
		char e[400];
		snprintf(e, sizeof(e), "%s", err);
		snprintf(err, errlen, "%s: %s", uri, e);
		ldap_unbind_ext_s(ld, NULL, NULL);
		return NULL;
	}
	return ld;
}

ss_dir_conn *ss_dir_connect(const ss_dir_config *c, char *err, size_t errlen)
{
	ss_dir_conn *k = calloc(1, sizeof(*k));
	if (!k) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	k->tmo = (struct timeval){ .tv_sec = c->timeout_s };
	k->sync_msgid = -1;
	for (size_t i = 0; i < c->n_uris && !k->ld; i++) {
		k->ld = connect_one(c, c->uris[i], &k->tmo, err, errlen);
		if (k->ld)
			snprintf(k->uri, sizeof(k->uri), "%s", c->uris[i]);
		else if (i + 1 < c->n_uris)
			SS_WARN(SUB, "%s; trying the next URI", err);
	}
	if (!k->ld) {
		free(k);
		return NULL;
	}
	return k;
}

void ss_dir_close(ss_dir_conn *k)
{
	if (!k)
		return;
	ldap_unbind_ext_s(k->ld, NULL, NULL);
	free(k);
}

/* ---- entries from a search result, as entry.h's types ---- */

typedef struct held {
	ss_dir_entry *e;
	size_t n;
	ss_dir_attr *attrs;           /* n * MAX_ATTRS */
	struct berval ***bv;          /* n * MAX_ATTRS, for ldap_value_free_len */
	ss_dir_val **vals;
	char **names, **dns;
} held;

static void held_free(held *h)
{
	for (size_t i = 0; i < h->n * MAX_ATTRS; i++) {
		ldap_value_free_len(h->bv[i]);
		free(h->vals[i]);
		ldap_memfree(h->names[i]);
	}
	for (size_t i = 0; i < h->n; i++)
		ldap_memfree(h->dns[i]);
	free(h->e), free(h->attrs), free(h->bv), free(h->vals), free(h->names), free(h->dns);
	memset(h, 0, sizeof(*h));
}

static bool held_entry(LDAP *ld, LDAPMessage *m, held *h, size_t i)
{
	ss_dir_entry *e = &h->e[i];
	h->dns[i] = ldap_get_dn(ld, m);
	e->dn = h->dns[i];
	e->attrs = &h->attrs[i * MAX_ATTRS];
	BerElement *ber = NULL;
	for (char *a = ldap_first_attribute(ld, m, &ber); a; a = ldap_next_attribute(ld, m, ber)) {
		size_t k = i * MAX_ATTRS + e->n_attrs;
		if (e->n_attrs == MAX_ATTRS) {
			ldap_memfree(a);
			continue; /* we asked for fewer: a server sending more is not followed */
		}
		h->names[k] = a;
		h->bv[k] = ldap_get_values_len(ld, m, a);
		size_t nv = ldap_count_values_len(h->bv[k]);
		h->vals[k] = calloc(nv ? nv : 1, sizeof(ss_dir_val));
		if (!h->vals[k]) {
			ber_free(ber, 0);
			return false;
		}
		for (size_t v = 0; v < nv; v++)
			h->vals[k][v] = (ss_dir_val){ (const uint8_t *)h->bv[k][v]->bv_val, h->bv[k][v]->bv_len };
		h->attrs[k] = (ss_dir_attr){ .name = a, .vals = h->vals[k], .n = nv };
		e->n_attrs++;
	}
	ber_free(ber, 0);
	return true;
}

static bool held_from(LDAP *ld, LDAPMessage *res, held *h)
{
	memset(h, 0, sizeof(*h));
	int n = ldap_count_entries(ld, res);
	if (n < 0 || n > MAX_ENTRIES)
		return false;
	size_t cap = (size_t)(n ? n : 1);
	h->e = calloc(cap, sizeof(*h->e));
	h->attrs = calloc(cap * MAX_ATTRS, sizeof(*h->attrs));
	h->bv = calloc(cap * MAX_ATTRS, sizeof(*h->bv));
	h->vals = calloc(cap * MAX_ATTRS, sizeof(*h->vals));
	h->names = calloc(cap * MAX_ATTRS, sizeof(*h->names));
	h->dns = calloc(cap, sizeof(*h->dns));
	if (!h->e || !h->attrs || !h->bv || !h->vals || !h->names || !h->dns)
		return false;
	for (LDAPMessage *m = ldap_first_entry(ld, res); m && h->n < (size_t)n; m = ldap_next_entry(ld, m)) {
		h->n++;
		if (!held_entry(ld, m, h, h->n - 1))
			return false;
	}
	return true;
}

static bool is_lost(int rc)
{
	return rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR || rc == LDAP_TIMEOUT || rc == LDAP_UNAVAILABLE ||
	       rc == LDAP_BUSY || rc == LDAP_OTHER || rc == LDAP_LOCAL_ERROR;
}

static int search(ss_dir_conn *k, const char *base, int scope, const char *filter, char **attrs, LDAPMessage **res)
{
	*res = NULL;
	return ldap_search_ext_s(k->ld, base, scope, filter, attrs, 0, NULL, NULL, &k->tmo, 0, res);
}

/* The winning assignment's policy entry. */
static bool fetch_policy(ss_dir_conn *k, const ss_dir_choice *ch, ss_dir_result *out, bool *lost, char *err,
			 size_t errlen)
{
	char *attrs[] = { "objectClass", "cn", "description", "softsaPolicyDocument", "softsaPolicyVersion", NULL };
	LDAPMessage *res;
	int rc = search(k, ch->policy.s, LDAP_SCOPE_BASE, "(objectClass=*)", attrs, &res);
	held h;
	bool ok = false;
	if (rc != LDAP_SUCCESS) {
		*lost = is_lost(rc);
		snprintf(err, errlen, "assigned policy %.400s (by %s %.300s): %s", ch->policy.s, ss_dir_via_name(ch->via),
			 ch->holder.s, ldap_err2string(rc));
	} else if (!held_from(k->ld, res, &h) || h.n != 1) {
		snprintf(err, errlen, "assigned policy %.400s: %zu entries", ch->policy.s, h.n);
		held_free(&h);
	} else {
		ss_dir_policy p;
		ok = ss_dir_policy_parse(&h.e[0], &p, err, errlen);
		if (ok && !(out->doc = malloc(p.doc_len + 1))) {
			snprintf(err, errlen, "out of memory");
			ok = false;
		}
		if (ok) {
			memcpy(out->doc, p.doc, p.doc_len);
			out->doc[p.doc_len] = '\0';
			out->doc_len = p.doc_len;
			out->version = p.version;
			snprintf(out->name, sizeof(out->name), "%s", p.name);
			snprintf(out->policy_dn, sizeof(out->policy_dn), "%s", p.dn.s);
			snprintf(out->origin, sizeof(out->origin), "%s (version %llu)", h.e[0].dn,
				 (unsigned long long)p.version);
		}
		held_free(&h);
	}
	ldap_msgfree(res);
	return ok;
}

static bool use_default(const ss_dir_config *c, ss_dir_result *out, char *err, size_t errlen)
{
	const char *text = ss_dir_default_text(c->default_policy);
	if (!text || !(out->doc = strdup(text))) {
		snprintf(err, errlen, "no default policy text");
		return false;
	}
	out->doc_len = strlen(text);
	snprintf(out->name, sizeof(out->name), "%s", c->default_policy);
	snprintf(out->origin, sizeof(out->origin), "default %s (no assignment in the directory)", c->default_policy);
	return true;
}

bool ss_dir_fetch(ss_dir_conn *k, const ss_dir_config *c, ss_dir_result *out, bool *lost, char *err,
		  size_t errlen)
{
	memset(out, 0, sizeof(*out));
	*lost = false;
	char *none[] = { "1.1", NULL };
	LDAPMessage *res;
	/* The host itself must be there: a host_dn nobody created is a mistake, not "no policy". */
	int rc = search(k, c->host_dn, LDAP_SCOPE_BASE, "(objectClass=*)", none, &res);
	ldap_msgfree(res);
	if (rc != LDAP_SUCCESS) {
		*lost = is_lost(rc);
		snprintf(err, errlen, "host entry %.400s: %s", c->host_dn, ldap_err2string(rc));
		return false;
	}
	ss_dn host, base;
	const char *why;
	char filter[12 * SS_DN_MAX];
	if (!ss_dn_parse(c->host_dn, strlen(c->host_dn), &host, &why) ||
	    !ss_dn_parse(c->base_dn, strlen(c->base_dn), &base, &why) ||
	    !ss_dir_assignment_filter(&host, &base, filter, sizeof(filter))) {
		snprintf(err, errlen, "host_dn %.400s: no search filter for it", c->host_dn);
		return false;
	}
	char *attrs[] = { "objectClass", "softsaPolicyRef", "softsaAssignmentPriority", "member", "uniqueMember", NULL };
	rc = search(k, c->base_dn, LDAP_SCOPE_SUBTREE, filter, attrs, &res);
	if (rc != LDAP_SUCCESS) {
		ldap_msgfree(res);
		*lost = is_lost(rc);
		snprintf(err, errlen, "searching assignments under %.400s: %s", c->base_dn, ldap_err2string(rc));
		return false;
	}
	held h;
	ss_dir_choice ch;
	bool ok = held_from(k->ld, res, &h);
	if (!ok)
		snprintf(err, errlen, "out of memory reading %zu assignments", h.n);
	ok = ok && ss_dir_resolve(&host, h.e, h.n, &ch, err, errlen);
	held_free(&h);
	ldap_msgfree(res);
	if (!ok)
		return false;
	if (ch.via == SS_DIR_VIA_NONE)
		ok = use_default(c, out, err, errlen);
	else
		ok = fetch_policy(k, &ch, out, lost, err, errlen);
	if (!ok) {
		ss_dir_result_clear(out);
		return false;
	}
	out->via = ch.via;
	snprintf(out->holder, sizeof(out->holder), "%s", ch.holder.s);
	snprintf(out->warning, sizeof(out->warning), "%s", ch.warning);
	return true;
}

/* ---- RFC 4533 ---- */

bool ss_dir_sync_offered(ss_dir_conn *k)
{
	char *attrs[] = { "supportedControl", NULL };
	LDAPMessage *res;
	int rc = search(k, "", LDAP_SCOPE_BASE, "(objectClass=*)", attrs, &res);
	bool yes = false;
	LDAPMessage *m = rc == LDAP_SUCCESS ? ldap_first_entry(k->ld, res) : NULL;
	struct berval **v = m ? ldap_get_values_len(k->ld, m, "supportedControl") : NULL;
	for (size_t i = 0; v && v[i]; i++)
		yes = yes || (v[i]->bv_len == strlen(LDAP_CONTROL_SYNC) &&
			      memcmp(v[i]->bv_val, LDAP_CONTROL_SYNC, v[i]->bv_len) == 0);
	ldap_value_free_len(v);
	ldap_msgfree(res);
	return yes;
}

bool ss_dir_sync_start(ss_dir_conn *k, const ss_dir_config *c, char *err, size_t errlen)
{
	/* syncRequestValue ::= SEQUENCE { mode ENUMERATED, cookie OPTIONAL, reloadHint DEFAULT FALSE }
	 * (RFC 4533 section 2.2), encoded by liblber.  No cookie: every start is a full refresh,
	 * after which the fetch reads the host's policy afresh. */
	BerElement *ber = ber_alloc_t(LBER_USE_DER);
	struct berval bv = { 0 };
	LDAPControl *ctrl = NULL;
	int rc = LDAP_NO_MEMORY;
	if (ber && ber_printf(ber, "{e}", (ber_int_t)LDAP_SYNC_REFRESH_AND_PERSIST) >= 0 && ber_flatten2(ber, &bv, 0) == 0)
		rc = ldap_control_create(LDAP_CONTROL_SYNC, 1, &bv, 1, &ctrl);
	if (rc == LDAP_SUCCESS) {
		LDAPControl *ctrls[] = { ctrl, NULL };
		char *none[] = { "1.1", NULL };
		rc = ldap_search_ext(k->ld, c->base_dn, LDAP_SCOPE_SUBTREE,
				     "(|(objectClass=softsaPolicy)(objectClass=softsaPolicyAssignment))", none, 0, ctrls,
				     NULL, NULL, 0, &k->sync_msgid);
	}
	ldap_control_free(ctrl);
	ber_free(ber, 1);
	if (rc != LDAP_SUCCESS) {
		snprintf(err, errlen, "sync search: %s", ldap_err2string(rc));
		return false;
	}
	k->refreshed = false;
	return true;
}

enum ss_dir_sync_event ss_dir_sync_wait(ss_dir_conn *k, int timeout_ms)
{
	struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
	LDAPMessage *m = NULL;
	int t = ldap_result(k->ld, k->sync_msgid, LDAP_MSG_ONE, &tv, &m);
	enum ss_dir_sync_event ev = SS_DIR_SYNC_NONE;
	if (t == LDAP_RES_SEARCH_RESULT && !k->refreshed) {
		/* An answer before any refresh: the server will not sync with us (an ACL on the
		 * control, a size limit...). */
		ev = SS_DIR_SYNC_REFUSED;
	} else if (t < 0 || t == LDAP_RES_SEARCH_RESULT) {
		/* The connection broke, or the server ended the persist phase. */
		ev = SS_DIR_SYNC_LOST;
	} else if (t == LDAP_RES_INTERMEDIATE) {
		/* A Sync Info Message: the end of the refresh phase, or a new cookie. */
		ev = k->refreshed ? SS_DIR_SYNC_CHANGED : SS_DIR_SYNC_REFRESHED;
		k->refreshed = true;
	} else if (t == LDAP_RES_SEARCH_ENTRY || t == LDAP_RES_SEARCH_REFERENCE) {
		ev = k->refreshed ? SS_DIR_SYNC_CHANGED : SS_DIR_SYNC_NONE;
	}
	ldap_msgfree(m);
	return ev;
}

/* ---- publish ---- */

static int current_version(ss_dir_conn *k, const char *dn, int64_t *v)
{
	char *attrs[] = { "softsaPolicyVersion", NULL };
	LDAPMessage *res;
	int rc = search(k, dn, LDAP_SCOPE_BASE, "(objectClass=softsaPolicy)", attrs, &res);
	*v = -1;
	LDAPMessage *m = rc == LDAP_SUCCESS ? ldap_first_entry(k->ld, res) : NULL;
	struct berval **bv = m ? ldap_get_values_len(k->ld, m, "softsaPolicyVersion") : NULL;
	if (bv && bv[0] && bv[0]->bv_len < 20) {
		char s[24];
		memcpy(s, bv[0]->bv_val, bv[0]->bv_len);
		s[bv[0]->bv_len] = '\0';
		*v = strtoll(s, NULL, 10);
	}
	ldap_value_free_len(bv);
	ldap_msgfree(res);
	return rc == LDAP_NO_SUCH_OBJECT ? LDAP_SUCCESS : rc;
}

bool ss_dir_publish(ss_dir_conn *k, const char *dn, const char *name, const char *description, const char *doc,
		    size_t len, uint64_t *version, char *err, size_t errlen)
{
	int64_t old;
	int rc = current_version(k, dn, &old);
	if (rc != LDAP_SUCCESS) {
		snprintf(err, errlen, "%s: %s", dn, ldap_err2string(rc));
		return false;
	}
	char oldv[24], newv[24];
	snprintf(oldv, sizeof(oldv), "%lld", (long long)old);
	snprintf(newv, sizeof(newv), "%lld", (long long)(old < 0 ? 1 : old + 1));
	struct berval dv = { .bv_len = (ber_len_t)len, .bv_val = (char *)doc };
	struct berval *docv[] = { &dv, NULL };
	char *oc[] = { "softsaPolicy", NULL }, *cn[] = { (char *)name, NULL }, *nv[] = { newv, NULL },
	     *ov[] = { oldv, NULL }, *de[] = { (char *)description, NULL };
	LDAPMod m_oc = { LDAP_MOD_ADD, "objectClass", { .modv_strvals = oc } };
	LDAPMod m_cn = { LDAP_MOD_ADD, "cn", { .modv_strvals = cn } };
	LDAPMod m_doc = { (old < 0 ? LDAP_MOD_ADD : LDAP_MOD_REPLACE) | LDAP_MOD_BVALUES, "softsaPolicyDocument",
			  { .modv_bvals = docv } };
	LDAPMod m_new = { LDAP_MOD_ADD, "softsaPolicyVersion", { .modv_strvals = nv } };
	/* Deleting the exact old value first makes the modify fail when someone published in
	 * between: the version never goes back and no publish is silently lost. */
	LDAPMod m_old = { LDAP_MOD_DELETE, "softsaPolicyVersion", { .modv_strvals = ov } };
	LDAPMod m_desc = { description ? (old < 0 ? LDAP_MOD_ADD : LDAP_MOD_REPLACE) : LDAP_MOD_REPLACE, "description",
			   { .modv_strvals = description ? de : NULL } };
	if (old < 0) {
		LDAPMod *mods[] = { &m_oc, &m_cn, &m_doc, &m_new, description ? &m_desc : NULL, NULL };
		rc = ldap_add_ext_s(k->ld, dn, mods, NULL, NULL);
	} else {
		LDAPMod *mods[] = { &m_old, &m_new, &m_doc, &m_desc, NULL };
		rc = ldap_modify_ext_s(k->ld, dn, mods, NULL, NULL);
	}
	if (rc != LDAP_SUCCESS) {
		snprintf(err, errlen, "%s: %s%s", dn, ldap_err2string(rc),
			 rc == LDAP_NO_SUCH_ATTRIBUTE ? " (published by someone else meanwhile: try again)" : "");
		return false;
	}
	*version = (uint64_t)(old < 0 ? 1 : old + 1);
	return true;
}
