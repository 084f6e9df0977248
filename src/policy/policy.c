/* Freeing a policy (secrets wiped) and the names of its enumerations in text form. */
#include "policy/policy.h"

#include <stdio.h>
#include <stdlib.h>

#include "base/secure.h"

void ss_policy_free(ss_policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_lists; i++) {
		for (size_t j = 0; j < p->lists[i].n_filters; j++)
			free(p->lists[i].filters[j].description);
		free(p->lists[i].filters);
		free(p->lists[i].name);
	}
	free(p->lists);
	for (size_t i = 0; i < p->n_actions; i++) {
		free(p->actions[i].methods);
		free(p->actions[i].name);
	}
	free(p->actions);
	for (size_t i = 0; i < p->n_rules; i++) {
		ss_auth_methods_free(p->rules[i].auth, p->rules[i].n_auth);
		free(p->rules[i].name);
	}
	free(p->rules);
	ss_auth_methods_free(p->auth, p->n_auth);
	ss_auth_methods_free(p->default_response_auth, p->n_default_response_auth);
	free(p->ike.proposals);
	free(p->name);
	free(p->description);
	free(p->source);
	free(p->builtin);
	free(p);
}

const char *ss_action_kind_name(unsigned kind)
{
	switch (kind) {
	case SS_ACT_PERMIT: return "permit";
	case SS_ACT_BLOCK: return "block";
	case SS_ACT_NEGOTIATE: return "negotiate";
	}
	return "?";
}

const char *ss_proto_name(int proto)
{
	switch (proto) {
	case SS_PROTO_ANY: return "any";
	case 1: return "icmp";
	case 6: return "tcp";
	case 17: return "udp";
	case 58: return "icmpv6";
	case 132: return "sctp";
	}
	return NULL;
}

const char *ss_dh_name(unsigned group)
{
	switch (group) {
	case SS_DH_NONE: return "none";
	case SS_DH_MODP_2048: return "modp2048";
	case SS_DH_ECP_256: return "ecp256";
	case SS_DH_ECP_384: return "ecp384";
	case SS_DH_CURVE25519: return "curve25519";
	}
	return NULL;
}

static const char *integ_name(unsigned integ)
{
	switch (integ) {
	case SS_INTEG_HMAC_SHA2_256_128: return "sha256";
	case SS_INTEG_HMAC_SHA2_384_192: return "sha384";
	case SS_INTEG_HMAC_SHA2_512_256: return "sha512";
	}
	return "?";
}

static const char *prf_name(unsigned prf)
{
	switch (prf) {
	case SS_PRF_HMAC_SHA2_256: return "prfsha256";
	case SS_PRF_HMAC_SHA2_384: return "prfsha384";
	case SS_PRF_HMAC_SHA2_512: return "prfsha512";
	}
	return "?";
}

static int fmt_cipher(char *buf, size_t n, unsigned encr, unsigned bits, unsigned integ)
{
	if (encr == SS_ENCR_AES_GCM_16)
		return snprintf(buf, n, "aes%ugcm16", bits);
	return snprintf(buf, n, "aes%u-%s", bits, integ_name(integ));
}

const char *ss_sec_method_fmt(const ss_sec_method *m, char *buf, size_t n)
{
	fmt_cipher(buf, n, m->encr, m->key_bits, m->integ);
	return buf;
}

const char *ss_ike_method_fmt(const ss_ike_method *p, char *buf, size_t n)
{
	int k = fmt_cipher(buf, n, p->encr, p->key_bits, p->integ);
	if (k > 0 && (size_t)k < n) {
		const char *dh = ss_dh_name(p->dh);
		snprintf(buf + k, n - (size_t)k, "-%s-%s", prf_name(p->prf), dh ? dh : "?");
	}
	return buf;
}

uint32_t ss_rule_dpd_delay(const ss_rule *r)
{
	if (!r || r->dpd_delay == 0)
		return SS_DEFAULT_DPD_DELAY;
	return r->dpd_delay == SS_DPD_NEVER ? 0 : r->dpd_delay;
}

bool ss_rule_udp_encap_always(const ss_policy *p, const ss_rule *r)
{
	if (r && r->udp_encap != SS_UDP_ENCAP_INHERIT)
		return r->udp_encap == SS_UDP_ENCAP_ALWAYS;
	return p && p->ike.udp_encap == SS_UDP_ENCAP_ALWAYS;
}

const char *ss_udp_encap_name(unsigned v)
{
	return v == SS_UDP_ENCAP_ALWAYS ? "always" : "auto";
}

const ss_rule *ss_policy_tunnel_rule(const ss_policy *p, const ss_addr *endpoint)
{
	for (size_t i = 0; p && i < p->n_rules; i++) {
		const ss_rule *r = &p->rules[i];
		if (r->tunnel && r->action && r->action->kind == SS_ACT_NEGOTIATE &&
		    ss_addr_eq(&r->tunnel_endpoint, endpoint))
			return r;
	}
	return NULL;
}
