#include "simpol.h"

#include "policy/load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fix_pointers(sim_policy *sp)
{
	sp->p.name = sp->name;
	sp->p.rules = sp->rules;
	sp->p.lists = sp->lists;
	sp->p.actions = sp->actions;
	for (size_t i = 0; i < sp->p.n_rules; i++) {
		sp->lists[i].filters = &sp->filters[i];
		sp->lists[i].n_filters = 1;
		sp->lists[i].name = sp->rule_names[i];
		sp->actions[i].name = sp->rule_names[i];
		sp->rules[i].name = sp->rule_names[i];
		sp->rules[i].list = &sp->lists[i];
		sp->rules[i].action = &sp->actions[i];
	}
}

sim_policy *simpol_new(const char *name)
{
	sim_policy *sp = calloc(1, sizeof(*sp));
	if (!sp)
		return NULL;
	strncpy(sp->name, name, sizeof(sp->name) - 1);
	sp->p.downgrade_protection = 7 * 24 * 3600;
	ss_retx_params_default(&sp->p.ike.retx);
	sp->p.ike.lifetime = 28800;
	fix_pointers(sp);
	return sp;
}

static ss_policy *load(const char *source, bool is_file)
{
	/* Key files are not read: the stand-in negotiator carries its own credential. */
	ss_load_opts o = { .no_resolve = true, .skip_key_files = true, .psk_file = "sim.psk" };
	ss_load_error err;
	ss_policy *p = is_file ? ss_policy_load_file(source, &o, &err) : ss_policy_builtin(source, &o, &err);
	if (!p && is_file)
		fprintf(stderr, "sim: %s\n", err.text);
	return p;
}

static sim_policy *wrap_loaded(const char *source, bool is_file)
{
	ss_policy *p = load(source, is_file);
	if (!p)
		return NULL;
	sim_policy *sp = simpol_new(source);
	if (!sp) {
		ss_policy_free(p);
		return NULL;
	}
	sp->loaded = p;
	sp->is_file = is_file;
	snprintf(sp->source, sizeof(sp->source), "%s", source);
	return sp;
}

sim_policy *simpol_builtin(const char *name)
{
	return wrap_loaded(name, false);
}

sim_policy *simpol_file(const char *path)
{
	return wrap_loaded(path, true);
}

ss_policy *simpol_model(sim_policy *sp)
{
	return sp->loaded ? sp->loaded : &sp->p;
}

sim_policy *simpol_clone(const sim_policy *src)
{
	if (src->loaded)
		return wrap_loaded(src->source, src->is_file);
	sim_policy *sp = malloc(sizeof(*sp));
	if (!sp)
		return NULL;
	*sp = *src;
	sp->cls = NULL;
	fix_pointers(sp);
	return sp;
}

void simpol_free(sim_policy *sp)
{
	if (sp) {
		ss_classifier_free(sp->cls);
		ss_policy_free(sp->loaded);
	}
	free(sp);
}

ss_agent_policy simpol_agent_policy(sim_policy *sp)
{
	if (!sp->cls)
		sp->cls = ss_classifier_build(simpol_model(sp));
	if (!sp->cls)
		abort();
	return ss_agent_policy_compiled(simpol_model(sp), sp->cls);
}

bool simpol_option(sim_policy *sp, const char *tok)
{
	ss_retx_params *r = &sp->p.ike.retx;
	if (sp->loaded)
		return false;
	const char *eq = strchr(tok, '=');
	unsigned long v = eq ? strtoul(eq + 1, NULL, 10) : 0;
	if (!strcmp(tok, "default-response"))
		sp->p.default_response = true;
	else if (!strncmp(tok, "downgrade=", 10))
		sp->p.downgrade_protection = (uint32_t)v;
	else if (!strncmp(tok, "gap=", 4))
		r->icmp_gap_ms = (uint32_t)v;
	else if (!strncmp(tok, "floor=", 6))
		r->min_fallback_ms = (uint32_t)v;
	else if (!strncmp(tok, "attempts=", 9))
		r->attempts = (uint32_t)v;
	else if (!strncmp(tok, "final=", 6))
		r->final_wait_ms = (uint32_t)v;
	else
		return false;
	return true;
}

ss_rule *simpol_add_rule(sim_policy *sp, const char *action)
{
	size_t i = sp->p.n_rules;
	if (i >= SIMPOL_MAX_RULES || sp->loaded || sp->cls)
		return NULL;
	ss_filter_action *a = &sp->actions[i];
	memset(a, 0, sizeof(*a));
	if (!strcmp(action, "permit"))
		a->kind = SS_ACT_PERMIT;
	else if (!strcmp(action, "block"))
		a->kind = SS_ACT_BLOCK;
	else if (!strcmp(action, "negotiate"))
		a->kind = SS_ACT_NEGOTIATE;
	else
		return NULL;
	a->soft_idle_lifetime = 300;
	ss_filter *f = &sp->filters[i];
	memset(f, 0, sizeof(*f));
	f->src.kind = SS_EP_ME;
	f->dst.kind = SS_EP_ANY;
	f->proto = SS_PROTO_ANY;
	f->sport.hi = f->dport.hi = 65535;
	f->mirrored = true;
	snprintf(sp->rule_names[i], sizeof(sp->rule_names[i]), "r%zu", i);
	sp->p.n_rules++;
	fix_pointers(sp);
	return &sp->rules[i];
}

bool simpol_rule_option(sim_policy *sp, ss_rule *r, const char *tok)
{
	size_t i = (size_t)(r - sp->rules);
	ss_filter_action *a = &sp->actions[i];
	ss_filter *f = &sp->filters[i];
	const char *eq = strchr(tok, '=');
	const char *val = eq ? eq + 1 : "";
	if (!strcmp(tok, "accept"))
		a->accept_unsecured = true;
	else if (!strcmp(tok, "fallback"))
		a->fallback_to_clear = true;
	else if (!strcmp(tok, "discovery"))
		a->discovery = true;
	else if (!strcmp(tok, "after-secured"))
		a->fallback_after_secured = true;
	else if (!strcmp(tok, "icmp-full"))
		a->icmp_fallback = SS_ICMP_FALLBACK_FULL;
	else if (!strncmp(tok, "lifetime=", 9))
		a->soft_idle_lifetime = (uint32_t)strtoul(val, NULL, 10);
	else if (!strncmp(tok, "peer=", 5)) {
		f->dst.kind = SS_EP_PREFIX;
		if (!ss_prefix_parse(val, &f->dst.prefix, true, NULL))
			return false;
	} else if (!strncmp(tok, "proto=", 6)) {
		f->proto = !strcmp(val, "udp") ? 17 : !strcmp(val, "tcp") ? 6 : !strcmp(val, "icmp") ? 1
												    : atoi(val);
	} else if (!strncmp(tok, "dport=", 6)) {
		f->dport.lo = f->dport.hi = (uint16_t)atoi(val);
	} else
		return false;
	return true;
}

/* --- naive classifier (test double) ------------------------------------------------------- */

static bool ep_match(const ss_endpoint *e, const ss_addr *a, bool is_local)
{
	switch (e->kind) {
	case SS_EP_ANY:
		return true;
	case SS_EP_ME:
		return is_local;
	default:
		return ss_prefix_contains(&e->prefix, a);
	}
}

static unsigned ep_bits(const ss_endpoint *e)
{
	if (e->kind == SS_EP_ME)
		return 128;
	if (e->kind == SS_EP_PREFIX)
		return e->prefix.addr.family == SS_AF_INET ? 96u + e->prefix.len : e->prefix.len;
	return 0;
}

static bool filter_match(const ss_filter *f, const ss_pkt_key *k, bool mirror)
{
	const ss_endpoint *s = mirror ? &f->dst : &f->src, *d = mirror ? &f->src : &f->dst;
	const ss_port_range *sp = mirror ? &f->dport : &f->sport, *dp = mirror ? &f->sport : &f->dport;
	bool src_local = k->dir == SS_DIR_OUT;
	if (!ep_match(s, &k->src, src_local) || !ep_match(d, &k->dst, !src_local))
		return false;
	if (f->proto != SS_PROTO_ANY && f->proto != k->proto)
		return false;
	return k->sport >= sp->lo && k->sport <= sp->hi && k->dport >= dp->lo && k->dport <= dp->hi;
}

bool simpol_classify(const void *ctx, const ss_pkt_key *k, ss_match *out)
{
	sim_policy *sp = (sim_policy *)ctx;
	const ss_policy *p = simpol_model(sp);
	long best = -1;
	for (size_t i = 0; i < p->n_rules; i++) {
		const ss_filter_list *fl = p->rules[i].list;
		for (size_t j = 0; fl && j < fl->n_filters; j++) {
			const ss_filter *f = &fl->filters[j];
			for (int m = 0; m < (f->mirrored ? 2 : 1); m++) {
				if (!filter_match(f, k, m))
					continue;
				long w = (long)(ep_bits(&f->src) + ep_bits(&f->dst)) * 1000000L +
					 (f->proto != SS_PROTO_ANY) * 200000L +
					 (65536 - (f->sport.hi - f->sport.lo + 1)) +
					 (65536 - (f->dport.hi - f->dport.lo + 1));
				if (w > best) {
					best = w;
					out->rule = &p->rules[i];
					out->filter = f;
					out->mirrored = m;
				}
			}
		}
	}
	return best >= 0;
}
