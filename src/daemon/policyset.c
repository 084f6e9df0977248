/* The live policy: loading it (file or built-in), installing it (classifier, dataplane
 * filters, agent), reloading it on SIGHUP without ever running with a half-loaded one, and
 * turning its rules into negotiation parameters for the IKE side. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "agent/agent.h"
#include "agent/statefile.h"
#include "base/log.h"
#include "base/secure.h"
#include "daemon/ctlargs.h"
#include "daemon/daemon.h"
#include "node/node.h"
#include "dataplane/dataplane.h"
#include "policy/classify.h"
#include "policy/describe.h"
#include "policy/explain.h"
#include "policy/load.h"
#include "policy/policy.h"

enum { MAX_FILTERS = 4096 };

/* What the agent classifies with: the compiled classifier, and the policy for tunnel rules.
 * The dataplane reports a tunnel's traffic under the gateways' pair (dataplane.h,
 * ss_dp_filter.tunnel), so a key whose remote is a tunnel endpoint belongs to that tunnel's
 * rule; every other key goes to the classifier. */
typedef struct dm_cls {
	const ss_policy *p;
	const ss_classifier *c;
} dm_cls;

static bool classify_fn(const void *ctx, const ss_pkt_key *k, ss_match *out)
{
	const dm_cls *x = ctx;
	const ss_rule *t = ss_policy_tunnel_rule(x->p, k->dir == SS_DIR_OUT ? &k->dst : &k->src);
	if (t) {
		*out = (ss_match){ .rule = t, .filter = t->list && t->list->n_filters ? &t->list->filters[0] : NULL };
		return true;
	}
	return ss_classify(x->c, k, out);
}

bool dm_classify(const ss_daemon *d, const ss_pkt_key *k, ss_match *out)
{
	dm_cls x = { d->pol, d->cls };
	return classify_fn(&x, k, out);
}

static ss_policy *load(const ss_daemon *d, char *err, size_t errlen)
{
	ss_load_opts o = { .psk_file = d->o.psk_file };
	ss_load_error e;
	ss_policy *p = d->src ? dm_policysrc_load(d, &o, &e)
		     : d->o.builtin ? ss_policy_builtin(d->o.builtin, &o, &e)
				    : ss_policy_load_file(d->o.policy_file, &o, &e);
	if (!p)
		snprintf(err, errlen, "%s", e.text);
	return p;
}

/* Classifier and dataplane filters for p; on success the agent moves to p and the old
 * policy is freed.  On failure nothing changes. */
static bool install(ss_daemon *d, ss_policy *p, ss_time now, char *err, size_t errlen)
{
	ss_classifier *c = ss_classifier_build(p);
	ss_dp_filter *f = calloc(MAX_FILTERS, sizeof(*f));
	if (!c || !f) {
		snprintf(err, errlen, "out of memory compiling the policy");
		goto fail;
	}
	size_t nf = dm_compile_filters(p, f, MAX_FILTERS);
	if (nf == (size_t)-1) {
		snprintf(err, errlen, "the policy needs more than %d dataplane filters", MAX_FILTERS);
		goto fail;
	}
	/* Both backends route tunnel rules for networks (doc/dataplane.md, Tunnels); one that
	 * could not would refuse them here, in set_filters: accepted but not routed would be
	 * worse than refused (issue 16). */
	int r = ss_dp_set_filters(d->dp, f, nf);
	if (r < 0) {
		snprintf(err, errlen, "the dataplane refused the policy's filters: %s", strerror(-r));
		goto fail;
	}
	free(f);
	dm_cls *cx = malloc(sizeof(*cx));
	if (!cx) {
		snprintf(err, errlen, "out of memory compiling the policy");
		ss_classifier_free(c);
		return false;
	}
	*cx = (dm_cls){ p, c };
	ss_agent_policy ap = { .policy = p, .classify = classify_fn, .ctx = cx };
	if (!d->agent) {
		ss_agent_config cfg;
		ss_agent_config_default(&cfg);
		d->agent = ss_agent_new(&cfg, &ap);
		if (!d->agent) {
			snprintf(err, errlen, "out of memory creating the policy agent");
			ss_classifier_free(c);
			free(cx);
			return false;
		}
		dm_agent_attach(d);
	} else {
		ss_agent_reload(d->agent, now, &ap);
	}
	ss_classifier_free(d->cls);
	ss_policy_free(d->pol);
	free(d->cls_ctx);
	d->cls_ctx = cx;
	d->cls = c;
	d->pol = p;
	SS_INFO(SUB, "policy \"%s\" in force (%s): %zu rules, %zu dataplane filters%s", p->name,
		p->source ? p->source : "?", p->n_rules, nf, p->default_response ? ", default response" : "");
	return true;
fail:
	free(f);
	ss_classifier_free(c);
	return false;
}

bool dm_policy_start(ss_daemon *d, char *err, size_t errlen)
{
	ss_policy *p = load(d, err, errlen);
	if (!p)
		return false;
	ss_time now = ss_now_ms();
	if (!install(d, p, now, err, errlen)) {
		ss_policy_free(p);
		return false;
	}
	if (d->o.state_dir) {
		if (mkdir(d->o.state_dir, 0700) != 0 && errno != EEXIST)
			SS_WARN(SUB, "cannot create %s: %s (downgrade memory not kept)", d->o.state_dir,
				strerror(errno));
		snprintf(d->state_path, sizeof(d->state_path), "%s/downgrade.state", d->o.state_dir);
		int n = ss_statefile_load(d->agent, now, (uint64_t)time(NULL), d->state_path);
		SS_INFO(SUB, "downgrade memory: %d peers restored from %s", n, d->state_path);
	}
	return true;
}

bool dm_reload(ss_daemon *d, char *err, size_t errlen)
{
	ss_policy *p = load(d, err, errlen);
	ss_time now = ss_now_ms();
	if (p && install(d, p, now, err, errlen)) {
		d->st.reloads++;
		dm_event(d, "policy-reloaded", NULL, NULL,
			 json_pack("{s:s, s:i}", "policy", p->name, "rules", (int)p->n_rules));
		dm_drain(d, now);
		return true;
	}
	ss_policy_free(p);
	d->st.reload_failures++;
	SS_ERR(SUB, "reload failed, keeping policy \"%s\": %s", d->pol ? d->pol->name : "?", err);
	return false;
}

void dm_state_save(ss_daemon *d, ss_time now)
{
	if (d->agent && d->state_path[0])
		ss_statefile_save(d->agent, now, (uint64_t)time(NULL), d->state_path);
}

void dm_policy_stop(ss_daemon *d)
{
	dm_state_save(d, ss_now_ms());
	if (d->node)
		ss_node_attach_agent(d->node, NULL);
	ss_agent_free(d->agent);
	d->agent = NULL;
	ss_classifier_free(d->cls);
	d->cls = NULL;
	free(d->cls_ctx);
	d->cls_ctx = NULL;
	ss_policy_free(d->pol);
	d->pol = NULL;
}

const char *dm_policy_name(const ss_daemon *d) { return d->pol ? d->pol->name : ""; }
size_t dm_policy_rules(const ss_daemon *d) { return d->pol ? d->pol->n_rules : 0; }

/* ---- rule -> negotiation parameters ---- */

static void neg_id(const ss_identity *id, ss_neg_id *out)
{
	memset(out, 0, sizeof(*out));
	if (id->type == SS_ID_NONE || !id->value)
		return; /* the address of that side */
	ss_addr a;
	if ((id->type == SS_ID_IPV4_ADDR || id->type == SS_ID_IPV6_ADDR) && ss_addr_parse(id->value, &a)) {
		out->type = id->type;
		out->len = a.family == SS_AF_INET ? 4 : 16;
		memcpy(out->data, a.a, out->len);
		return;
	}
	size_t n = strlen(id->value);
	out->type = id->type;
	out->len = (uint8_t)(n > sizeof(out->data) ? sizeof(out->data) : n);
	memcpy(out->data, id->value, out->len);
}

static void auth_params(const ss_auth_method *a, ss_neg_params *out)
{
	/* The loader refuses keys longer than SS_PSK_MAX_LEN; should one get here anyway, no key
	 * at all (authentication fails) is safer than a silently shortened one. */
	_Static_assert(sizeof(out->psk) >= SS_PSK_MAX_LEN, "PSK buffer shorter than the loader's limit");
	size_t n = a->secret_len <= sizeof(out->psk) ? a->secret_len : 0;
	memcpy(out->psk, a->secret, n);
	out->psk_len = n;
	neg_id(&a->local_id, &out->local_id);
	neg_id(&a->remote_id, &out->remote_id);
}

/* Every method of the list, in order: the engine picks the first the peer can use.  The
 * first PSK method gives the key and identities, the first certificate the credential. */
static void auth_list_params(const ss_auth_method *a, size_t n, ss_neg_params *out)
{
	bool psk = false;
	for (size_t i = 0; i < n && out->n_auth < sizeof(out->auth); i++) {
		if (a[i].kind == SS_AUTH_KIND_CERT && a[i].cert.cred && !out->cred) {
			out->auth[out->n_auth++] = SS_NEG_AUTH_CERT;
			out->cred = a[i].cert.cred;
		} else if (a[i].kind == SS_AUTH_KIND_PSK && !psk) {
			out->auth[out->n_auth++] = SS_NEG_AUTH_PSK;
			auth_params(&a[i], out);
			psk = true;
		}
	}
}

static void ike_params(const ss_policy *p, ss_neg_params *out)
{
	for (size_t i = 0; i < p->ike.n_proposals && out->n_ike < SS_NEG_MAX; i++) {
		const ss_ike_method *q = &p->ike.proposals[i];
		out->ike[out->n_ike].encr = q->encr;
		out->ike[out->n_ike].bits = q->key_bits;
		out->ike[out->n_ike].integ = q->integ;
		out->ike[out->n_ike].prf = q->prf;
		out->ike[out->n_ike].dh = q->dh;
		out->n_ike++;
	}
	out->ike_lifetime_s = p->ike.lifetime;
	out->retx = p->ike.retx;
}

static void esp_params(const ss_sec_method *m, size_t n, uint16_t pfs, ss_neg_params *out)
{
	for (size_t i = 0; i < n && out->n_esp < SS_NEG_MAX; i++) {
		out->esp[out->n_esp].encr = m[i].encr;
		out->esp[out->n_esp].bits = m[i].key_bits;
		out->esp[out->n_esp].integ = m[i].integ;
		out->esp[out->n_esp].dh = pfs;
		out->n_esp++;
	}
	out->child_lifetime_s = n && m[0].life_seconds ? (uint32_t)m[0].life_seconds : SS_DEFAULT_SA_LIFETIME;
	out->child_life_bytes = n ? m[0].life_bytes : 0;
}

/* A tunnel's traffic selectors are its networks (filters' src ours, dst the peer's), with
 * the filter's protocol; the engine narrows them with the peer's (RFC 7296 §2.9) both as
 * initiator and as responder. */
static void tunnel_ts(const ss_rule *r, ss_neg_params *out)
{
	for (size_t i = 0; r->list && i < r->list->n_filters; i++) {
		const ss_filter *f = &r->list->filters[i];
		if (f->src.kind != SS_EP_PREFIX || f->dst.kind != SS_EP_PREFIX || out->n_ts >= SS_NEG_MAX_TS)
			continue;
		out->ts[out->n_ts++] = (ss_neg_ts){ f->src.prefix, f->dst.prefix,
						   f->proto == SS_PROTO_ANY ? 0 : (uint8_t)f->proto };
	}
}

void dm_neg_params_rule(const ss_daemon *d, const ss_rule *r, const ss_addr *local,
			const ss_addr *remote, ss_neg_params *out)
{
	memset(out, 0, sizeof(*out));
	const ss_policy *p = d->pol;
	ike_params(p, out);
	if (r && r->action && r->action->kind == SS_ACT_NEGOTIATE) {
		const ss_filter_action *a = r->action;
		out->retx = ss_action_retx(p, a);
		esp_params(a->methods, a->n_methods, a->pfs_group, out);
		auth_list_params(r->auth, r->n_auth, out);
		out->tunnel = r->tunnel;
		if (r->tunnel)
			tunnel_ts(r, out);
		out->dpd_delay_s = ss_rule_dpd_delay(r);
		out->udp_encap_always = ss_rule_udp_encap_always(p, r);
		snprintf(out->rule, sizeof(out->rule), "%s", r->name);
		return;
	}
	/* The Default Response rule: the defaults of a negotiate action (doc/policy.md). */
	static const ss_sec_method dflt[] = {
		{ SS_ENCR_AES_GCM_16, 256, SS_INTEG_NONE, SS_DEFAULT_SA_LIFETIME, 0, { 0, 0 } },
		{ SS_ENCR_AES_GCM_16, 128, SS_INTEG_NONE, SS_DEFAULT_SA_LIFETIME, 0, { 0, 0 } },
		{ SS_ENCR_AES_CBC, 256, SS_INTEG_HMAC_SHA2_256_128, SS_DEFAULT_SA_LIFETIME, 0, { 0, 0 } },
	};
	esp_params(dflt, 3, SS_DH_NONE, out);
	out->dpd_delay_s = SS_DEFAULT_DPD_DELAY;
	out->udp_encap_always = ss_rule_udp_encap_always(p, NULL);
	if (p->n_default_response_auth)
		auth_list_params(p->default_response_auth, p->n_default_response_auth, out);
	else
		auth_list_params(p->auth, p->n_auth, out);
	snprintf(out->rule, sizeof(out->rule), "default-response");
}

/* Does the identity the peer sent match what auth method a expects of it? */
static bool id_matches(const ss_auth_method *a, const ss_addr *remote, const ss_neg_id *idi)
{
	ss_neg_id want;
	neg_id(&a->remote_id, &want);
	if (want.type == 0) {
		/* No remote_id: the peer identifies as its own address. */
		want.type = remote->family == SS_AF_INET ? 1 : 5;
		want.len = remote->family == SS_AF_INET ? 4 : 16;
		memcpy(want.data, remote->a, want.len);
	}
	return want.type == idi->type && want.len == idi->len && memcmp(want.data, idi->data, want.len) == 0;
}

bool dm_neg_params_responder(ss_daemon *d, ss_time now, const ss_addr *local, const ss_addr *remote,
			     const ss_neg_id *idi, ss_neg_params *out)
{
	ss_pkt_key k = { .dir = SS_DIR_IN, .src = *remote, .dst = *local };
	ss_match m;
	const ss_rule *r = NULL;
	if (dm_classify(d, &k, &m) && m.rule && m.rule->action->kind == SS_ACT_NEGOTIATE)
		r = m.rule;
	else if (!d->pol->default_response)
		return false;
	dm_neg_params_rule(d, r, local, remote, out);
	if (!idi) {
		out->any_remote_id = true;
		return true;
	}
	const ss_auth_method *am = r ? r->auth : d->pol->n_default_response_auth ? d->pol->default_response_auth : d->pol->auth;
	size_t n = r ? r->n_auth : d->pol->n_default_response_auth ? d->pol->n_default_response_auth : d->pol->n_auth;
	/* A PSK peer is known by its identity: the key of the PSK method it names.  A
	 * certificate peer is known by its certificate, which the engine checks (peer_id). */
	ss_wipe(out->psk, sizeof(out->psk));
	out->psk_len = 0;
	for (size_t i = 0; i < n; i++) {
		if (am[i].kind == SS_AUTH_KIND_PSK && id_matches(&am[i], remote, idi)) {
			auth_params(&am[i], out);
			out->remote_id = *idi;
			return true;
		}
	}
	if (out->cred) {
		out->any_remote_id = true;
		return true;
	}
	char rb[SS_ADDR_STRLEN];
	SS_WARN(SUB, "IKE from %s: its identity matches no authentication method of rule %s",
		ss_addr_fmt(remote, rb), out->rule);
	ss_wipe(out, sizeof(*out));
	return false;
}

uint64_t dm_pair_life_bytes(ss_daemon *d, const ss_addr *local, const ss_addr *remote, uint16_t encr,
			    uint16_t bits, uint16_t integ)
{
	ss_pkt_key k = { .dir = SS_DIR_OUT, .src = *local, .dst = *remote };
	ss_match m;
	if (!dm_classify(d, &k, &m) || !m.rule || m.rule->action->kind != SS_ACT_NEGOTIATE)
		return 0;
	const ss_filter_action *a = m.rule->action;
	for (size_t i = 0; i < a->n_methods; i++)
		if (a->methods[i].encr == encr && a->methods[i].key_bits == bits && a->methods[i].integ == integ)
			return a->methods[i].life_bytes;
	return 0;
}

/* ---- explain ---- */

json_t *dm_explain(ss_daemon *d, json_t *req, const char **err)
{
	/* The same object as `softsa explain --json` (policy/explain.h), plus the association
	 * the agent holds for the pair now. */
	ss_pkt_key k;
	if (!dm_arg_packet(req, &k, err))
		return NULL;
	json_t *j = ss_explain(d->pol, d->cls, &k);
	if (!j) {
		*err = "out of memory";
		return NULL;
	}
	const ss_addr *local = k.dir == SS_DIR_OUT ? &k.src : &k.dst;
	const ss_addr *remote = k.dir == SS_DIR_OUT ? &k.dst : &k.src;
	enum ss_assoc_state st;
	uint32_t attempt;
	if (ss_agent_state(d->agent, local, remote, &st, &attempt))
		json_object_set_new(j, "association", json_string(ss_assoc_state_name(st)));
	return j;
}
