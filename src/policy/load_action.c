/* Filter actions (permit, block, negotiate with ordered ESP security methods and the
 * soft-association switches) and the policy-wide IKE settings. */
#include "policy/load_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const action_keys[] = {
	"action", "methods", "pfs", "accept_unsecured", "fallback_to_clear", "discovery",
	"soft_idle_lifetime", "fallback_after_secured", "icmp_fallback", "description", NULL
};
/* Keys that only mean something when the action negotiates. */
static const char *const negotiate_only[] = {
	"methods", "pfs", "accept_unsecured", "fallback_to_clear", "discovery",
	"soft_idle_lifetime", "fallback_after_secured", "icmp_fallback", NULL
};
static const char *const method_keys[] = { "esp", "lifetime", "lifetime_bytes", NULL };

/* ESP and IKE cipher names: aes128gcm16, aes256gcm16, aes128, aes256 (CBC). */
static bool parse_encr(const char *s, uint16_t *encr, uint16_t *bits)
{
	static const struct { const char *n; uint16_t e, b; } t[] = {
		{ "aes128gcm16", SS_ENCR_AES_GCM_16, 128 }, { "aes256gcm16", SS_ENCR_AES_GCM_16, 256 },
		{ "aes128", SS_ENCR_AES_CBC, 128 }, { "aes256", SS_ENCR_AES_CBC, 256 },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(s, t[i].n) == 0) {
			*encr = t[i].e;
			*bits = t[i].b;
			return true;
		}
	return false;
}

static bool parse_integ(const char *s, uint16_t *integ)
{
	if (strcmp(s, "sha256") == 0)
		*integ = SS_INTEG_HMAC_SHA2_256_128;
	else if (strcmp(s, "sha384") == 0)
		*integ = SS_INTEG_HMAC_SHA2_384_192;
	else if (strcmp(s, "sha512") == 0)
		*integ = SS_INTEG_HMAC_SHA2_512_256;
	else
		return false;
	return true;
}

static bool parse_dh(const char *s, uint16_t *dh)
{
	static const uint16_t groups[] = { SS_DH_MODP_2048, SS_DH_ECP_256, SS_DH_ECP_384, SS_DH_CURVE25519 };
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		if (strcmp(s, ss_dh_name(groups[i])) == 0) {
			*dh = groups[i];
			return true;
		}
	if (strcmp(s, "x25519") == 0) {
		*dh = SS_DH_CURVE25519;
		return true;
	}
	return false;
}

/* "aes256gcm16" or "aes128-sha256": a cipher, then an integrity algorithm unless AEAD. */
static bool parse_esp(const char *s, ss_sec_method *m)
{
	char buf[32];
	if (strlen(s) >= sizeof(buf))
		return false;
	strcpy(buf, s);
	char *dash = strchr(buf, '-');
	if (dash)
		*dash = 0;
	if (!parse_encr(buf, &m->encr, &m->key_bits))
		return false;
	if (m->encr == SS_ENCR_AES_GCM_16) {
		m->integ = SS_INTEG_NONE;
		return dash == NULL;
	}
	return dash && parse_integ(dash + 1, &m->integ);
}

static bool ld_method(struct ld *l, const ynode *n, ss_filter_action *a)
{
	const ynode *esp = n, *v;
	if (n->kind == YN_MAP) {
		if (!ld_map(l, n, "security method", method_keys))
			return false;
		if (!(esp = yn_get(n, "esp")))
			return ld_fail(l, n, "security method needs 'esp'");
	}
	if (!ld_scalar(l, esp, "esp"))
		return false;
	ss_sec_method m = { .life_seconds = SS_DEFAULT_SA_LIFETIME, .loc = { n->line, n->col } };
	if (!parse_esp(esp->str, &m))
		return ld_fail(l, esp, "unknown ESP method '%s' (expected aes128gcm16, aes256gcm16, "
			"or aes128/aes256 with -sha256, -sha384 or -sha512)", esp->str);
	if (n->kind == YN_MAP) {
		uint32_t secs;
		if ((v = yn_get(n, "lifetime"))) {
			if (!ld_duration(l, v, "lifetime", 60, 172800, &secs))
				return false;
			m.life_seconds = secs;
		}
		if ((v = yn_get(n, "lifetime_bytes"))) {
			if (!ld_bytes(l, v, "lifetime_bytes", &m.life_bytes))
				return false;
			if (m.life_bytes < 1024 * 1024)
				return ld_fail(l, v, "lifetime_bytes must be at least 1M, got '%s'", v->str);
		}
	}
	for (size_t i = 0; i < a->n_methods; i++) {
		const ss_sec_method *o = &a->methods[i];
		if (o->encr == m.encr && o->key_bits == m.key_bits && o->integ == m.integ)
			return ld_fail(l, esp, "duplicate security method '%s' (first at line %u)", esp->str,
				o->loc.line);
	}
	ss_sec_method *slot = ld_push(l, n, (void **)&a->methods, &a->n_methods, sizeof(*slot));
	if (!slot)
		return false;
	*slot = m;
	return true;
}

/* Without `methods`, a negotiate action offers these, in this order (doc/policy.md). */
static bool default_methods(struct ld *l, const ynode *at, ss_filter_action *a)
{
	static const ss_sec_method d[] = {
		{ SS_ENCR_AES_GCM_16, 256, SS_INTEG_NONE, SS_DEFAULT_SA_LIFETIME, 0, { 0, 0 } },
		{ SS_ENCR_AES_GCM_16, 128, SS_INTEG_NONE, SS_DEFAULT_SA_LIFETIME, 0, { 0, 0 } },
		{ SS_ENCR_AES_CBC, 256, SS_INTEG_HMAC_SHA2_256_128, SS_DEFAULT_SA_LIFETIME, 0, { 0, 0 } },
	};
	a->methods = ld_calloc(l, at, 3, sizeof(*a->methods));
	if (!a->methods)
		return false;
	memcpy(a->methods, d, sizeof(d));
	a->n_methods = 3;
	return true;
}

static bool ld_pfs(struct ld *l, const ynode *n, uint16_t *out)
{
	if (!ld_scalar(l, n, "pfs"))
		return false;
	if (strcmp(n->str, "none") == 0 || strcmp(n->str, "false") == 0) {
		*out = SS_DH_NONE;
		return true;
	}
	if (parse_dh(n->str, out))
		return true;
	return ld_fail(l, n, "unknown pfs group '%s' (expected none, modp2048, ecp256, ecp384 or curve25519)",
		n->str);
}

static bool ld_negotiate(struct ld *l, const ynode *n, ss_filter_action *a)
{
	const ynode *v;
	if ((v = yn_get(n, "methods"))) {
		if (!ld_seq(l, v, "methods"))
			return false;
		if (v->n == 0)
			return ld_fail(l, v, "methods is empty: a negotiate action needs at least one");
		for (size_t i = 0; i < v->n; i++)
			if (!ld_method(l, v->items[i], a))
				return false;
	} else if (!default_methods(l, n, a)) {
		return false;
	}
	if ((v = yn_get(n, "pfs")) && !ld_pfs(l, v, &a->pfs_group))
		return false;
	static const char *const bk[] = { "accept_unsecured", "fallback_to_clear", "discovery",
		"fallback_after_secured" };
	bool *bv[] = { &a->accept_unsecured, &a->fallback_to_clear, &a->discovery, &a->fallback_after_secured };
	for (size_t i = 0; i < 4; i++)
		if ((v = yn_get(n, bk[i])) && !ld_bool(l, v, bk[i], bv[i]))
			return false;
	if ((v = yn_get(n, "soft_idle_lifetime")) &&
		!ld_duration(l, v, "soft_idle_lifetime", 1, 86400, &a->soft_idle_lifetime))
		return false;
	if ((v = yn_get(n, "icmp_fallback"))) {
		if (!ld_scalar(l, v, "icmp_fallback"))
			return false;
		if (strcmp(v->str, "fast") == 0)
			a->icmp_fallback = SS_ICMP_FALLBACK_FAST;
		else if (strcmp(v->str, "full") == 0)
			a->icmp_fallback = SS_ICMP_FALLBACK_FULL;
		else
			return ld_fail(l, v, "unknown icmp_fallback '%s' (expected fast or full)", v->str);
	}
	/* Switches that only refine fallback are errors without it: they would read as if they
	 * allowed clear traffic, and the seed's row 8 promises not one clear packet. */
	if (!a->fallback_to_clear) {
		const char *bad = a->discovery ? "discovery"
			: a->fallback_after_secured ? "fallback_after_secured"
			: yn_get(n, "soft_idle_lifetime") ? "soft_idle_lifetime"
			: yn_get(n, "icmp_fallback") ? "icmp_fallback" : NULL;
		if (bad)
			return ld_fail(l, yn_get_key(n, bad), "%s needs fallback_to_clear: true", bad);
	}
	return true;
}

bool ld_filter_actions(struct ld *l, const ynode *n)
{
	if (n->kind != YN_MAP)
		return ld_fail(l, n, "filter_actions must be a mapping of names to actions, got %s",
			yn_kind_name(n->kind));
	ss_policy *p = l->p;
	if (!ld_unique_keys(l, n, "filter action"))
		return false;
	p->actions = ld_calloc(l, n, n->n, sizeof(*p->actions));
	if (!p->actions)
		return false;
	for (size_t i = 0; i < n->n; i++) {
		const ynode *k = yn_key(n, i), *v = yn_val(n, i), *kind;
		ss_filter_action *a = &p->actions[p->n_actions++];
		a->loc = (ss_srcloc){ k->line, k->col };
		a->soft_idle_lifetime = SS_DEFAULT_SOFT_IDLE;
		if (!(a->name = ld_strdup(l, k, k->str)))
			return false;
		if (!ld_map(l, v, "filter action", action_keys))
			return false;
		if (!(kind = yn_get(v, "action")))
			return ld_fail(l, v, "filter action '%s' needs 'action' (permit, block or negotiate)", k->str);
		if (!ld_scalar(l, kind, "action"))
			return false;
		if (strcmp(kind->str, "permit") == 0)
			a->kind = SS_ACT_PERMIT;
		else if (strcmp(kind->str, "block") == 0)
			a->kind = SS_ACT_BLOCK;
		else if (strcmp(kind->str, "negotiate") == 0)
			a->kind = SS_ACT_NEGOTIATE;
		else
			return ld_fail(l, kind, "unknown action '%s' (expected permit, block or negotiate)", kind->str);
		if (a->kind == SS_ACT_NEGOTIATE) {
			if (!ld_negotiate(l, v, a))
				return false;
			continue;
		}
		for (size_t j = 0; negotiate_only[j]; j++)
			for (size_t q = 0; q < v->n; q++)
				if (strcmp(yn_key(v, q)->str, negotiate_only[j]) == 0)
					return ld_fail(l, yn_key(v, q), "%s applies only to negotiate actions, not %s",
						negotiate_only[j], kind->str);
	}
	return true;
}

static const char *const ike_keys[] = { "proposals", "lifetime", "retransmit", "udp_encap", NULL };
static const char *const retx_keys[] = {
	"attempts", "delays_ms", "final_wait_ms", "icmp_gap_ms", "min_fallback_ms", NULL
};

static bool parse_prf(const char *s, uint16_t *prf)
{
	if (strcmp(s, "prfsha256") == 0)
		*prf = SS_PRF_HMAC_SHA2_256;
	else if (strcmp(s, "prfsha384") == 0)
		*prf = SS_PRF_HMAC_SHA2_384;
	else if (strcmp(s, "prfsha512") == 0)
		*prf = SS_PRF_HMAC_SHA2_512;
	else
		return false;
	return true;
}

/* "ENCR[-INTEG][-PRF]-DH": aes256gcm16-prfsha384-ecp384, aes128-sha256-modp2048.  Integrity
 * is required with CBC and refused with GCM; the PRF defaults to the integrity hash (CBC)
 * or to SHA-256/SHA-384 for AES-128/256-GCM. */
static bool parse_proposal(const char *s, ss_ike_method *p)
{
	char buf[64], *tok[5], *save = NULL;
	size_t n = 0;
	if (strlen(s) >= sizeof(buf))
		return false;
	strcpy(buf, s);
	for (char *t = strtok_r(buf, "-", &save); t; t = strtok_r(NULL, "-", &save)) {
		if (n == 5)
			return false;
		tok[n++] = t;
	}
	size_t i = 0;
	if (n < 2 || !parse_encr(tok[i++], &p->encr, &p->key_bits))
		return false;
	p->integ = SS_INTEG_NONE;
	if (p->encr == SS_ENCR_AES_CBC && !parse_integ(tok[i++], &p->integ))
		return false;
	if (i < n - 1) {
		if (!parse_prf(tok[i++], &p->prf))
			return false;
	} else if (p->integ == SS_INTEG_NONE) {
		p->prf = p->key_bits == 128 ? SS_PRF_HMAC_SHA2_256 : SS_PRF_HMAC_SHA2_384;
	} else {
		p->prf = p->integ == SS_INTEG_HMAC_SHA2_256_128 ? SS_PRF_HMAC_SHA2_256
			: p->integ == SS_INTEG_HMAC_SHA2_384_192 ? SS_PRF_HMAC_SHA2_384 : SS_PRF_HMAC_SHA2_512;
	}
	return i == n - 1 && parse_dh(tok[i], &p->dh);
}

static bool ld_proposals(struct ld *l, const ynode *n, ss_ike_settings *ike)
{
	if (!ld_seq(l, n, "proposals"))
		return false;
	if (n->n == 0)
		return ld_fail(l, n, "proposals is empty: IKE needs at least one");
	free(ike->proposals);
	ike->proposals = ld_calloc(l, n, n->n, sizeof(*ike->proposals));
	ike->n_proposals = 0;
	if (!ike->proposals)
		return false;
	for (size_t i = 0; i < n->n; i++) {
		const ynode *v = n->items[i];
		if (!ld_scalar(l, v, "an IKE proposal"))
			return false;
		ss_ike_method *p = &ike->proposals[ike->n_proposals];
		if (!parse_proposal(v->str, p))
			return ld_fail(l, v, "bad IKE proposal '%s' (expected ENCR[-INTEG][-PRF]-DH, "
				"like aes256gcm16-prfsha384-ecp384 or aes128-sha256-modp2048)", v->str);
		for (size_t j = 0; j < ike->n_proposals; j++)
			if (memcmp(&ike->proposals[j], p, sizeof(*p)) == 0)
				return ld_fail(l, v, "duplicate IKE proposal '%s'", v->str);
		ike->n_proposals++;
	}
	return true;
}

static bool ld_retx(struct ld *l, const ynode *n, ss_retx_params *r)
{
	if (!ld_map(l, n, "retransmit", retx_keys))
		return false;
	const ynode *v;
	uint64_t x;
	if ((v = yn_get(n, "attempts"))) {
		if (!ld_uint(l, v, "attempts", 1, 16, &x))
			return false;
		r->attempts = (uint32_t)x;
	}
	if ((v = yn_get(n, "delays_ms"))) {
		if (!ld_seq(l, v, "delays_ms"))
			return false;
		if (v->n == 0 || v->n > SS_RETX_MAX_DELAYS)
			return ld_fail(l, v, "delays_ms needs between 1 and %d delays, got %zu",
				SS_RETX_MAX_DELAYS, v->n);
		for (size_t i = 0; i < v->n; i++) {
			if (!ld_uint(l, v->items[i], "a delay", 0, 3600000, &x))
				return false;
			r->delay_ms[i] = (uint32_t)x;
		}
		r->n_delays = (uint32_t)v->n;
	}
	static const char *const mk[] = { "final_wait_ms", "icmp_gap_ms", "min_fallback_ms" };
	uint32_t *mv[] = { &r->final_wait_ms, &r->icmp_gap_ms, &r->min_fallback_ms };
	for (size_t i = 0; i < 3; i++)
		if ((v = yn_get(n, mk[i]))) {
			if (!ld_uint(l, v, mk[i], 0, 3600000, &x))
				return false;
			*mv[i] = (uint32_t)x;
		}
	/* The schedule module owns the limits; one place decides what is sane. */
	const char *why = ss_retx_params_check(r);
	if (why)
		return ld_fail(l, n, "bad retransmit schedule: %s", why);
	return true;
}

static bool default_proposals(struct ld *l, const ynode *at, ss_ike_settings *ike)
{
	static const ss_ike_method d[] = {
		{ SS_ENCR_AES_GCM_16, 256, SS_INTEG_NONE, SS_PRF_HMAC_SHA2_384, SS_DH_ECP_384 },
		{ SS_ENCR_AES_GCM_16, 128, SS_INTEG_NONE, SS_PRF_HMAC_SHA2_256, SS_DH_CURVE25519 },
		{ SS_ENCR_AES_CBC, 256, SS_INTEG_HMAC_SHA2_256_128, SS_PRF_HMAC_SHA2_256, SS_DH_MODP_2048 },
	};
	ike->proposals = ld_calloc(l, at, 3, sizeof(*ike->proposals));
	if (!ike->proposals)
		return false;
	memcpy(ike->proposals, d, sizeof(d));
	ike->n_proposals = 3;
	return true;
}

bool ld_ike(struct ld *l, const ynode *n)
{
	ss_ike_settings *ike = &l->p->ike;
	ike->lifetime = SS_DEFAULT_IKE_LIFETIME;
	ike->udp_encap = SS_UDP_ENCAP_AUTO;
	ss_retx_params_default(&ike->retx);
	if (!default_proposals(l, n, ike))
		return false;
	if (!n)
		return true;
	if (!ld_map(l, n, "ike", ike_keys))
		return false;
	const ynode *v;
	if ((v = yn_get(n, "proposals")) && !ld_proposals(l, v, ike))
		return false;
	if ((v = yn_get(n, "lifetime")) && !ld_duration(l, v, "lifetime", 300, 604800, &ike->lifetime))
		return false;
	if ((v = yn_get(n, "retransmit")) && !ld_retx(l, v, &ike->retx))
		return false;
	if ((v = yn_get(n, "udp_encap")) && !ld_udp_encap(l, v, &ike->udp_encap))
		return false;
	return true;
}

bool ld_udp_encap(struct ld *l, const ynode *v, uint8_t *out)
{
	if (!ld_scalar(l, v, "udp_encap"))
		return false;
	if (strcmp(v->str, "auto") == 0)
		*out = SS_UDP_ENCAP_AUTO;
	else if (strcmp(v->str, "always") == 0)
		*out = SS_UDP_ENCAP_ALWAYS;
	else
		return ld_fail(l, v, "unknown udp_encap '%s' (expected auto or always)", v->str);
	return true;
}

ss_retx_params ss_action_retx(const ss_policy *p, const ss_filter_action *a)
{
	ss_retx_params r = p->ike.retx;
	if (a && a->kind == SS_ACT_NEGOTIATE && a->icmp_fallback == SS_ICMP_FALLBACK_FULL) {
		ss_time full = ss_retx_silent_decision(&r);
		if (r.min_fallback_ms < full)
			r.min_fallback_ms = (uint32_t)full;
	}
	return r;
}
