/* Policy elements in words and in JSON, for softsa check/explain and the control socket. */
#include <stdio.h>
#include <string.h>

#include "policy/describe.h"

const char *ss_endpoint_fmt(const ss_endpoint *e, char *buf, size_t n)
{
	char p[SS_PREFIX_STRLEN];
	if (e->kind == SS_EP_ANY)
		snprintf(buf, n, "any");
	else if (e->kind == SS_EP_ME)
		snprintf(buf, n, "me");
	else if (e->prefix.len == ss_addr_bits(&e->prefix.addr))
		snprintf(buf, n, "%s", ss_addr_fmt(&e->prefix.addr, p));
	else
		snprintf(buf, n, "%s", ss_prefix_fmt(&e->prefix, p));
	return buf;
}

static int ports_fmt(char *buf, size_t n, const char *what, ss_port_range r)
{
	if (r.lo == 0 && r.hi == 65535)
		return snprintf(buf, n, "%s", "");
	if (r.lo == r.hi)
		return snprintf(buf, n, " %s %u", what, r.lo);
	return snprintf(buf, n, " %s %u-%u", what, r.lo, r.hi);
}

static const char *proto_fmt(int proto, char *buf, size_t n)
{
	const char *name = ss_proto_name(proto);
	if (name)
		return name;
	snprintf(buf, n, "%d", proto);
	return buf;
}

/* "me <-> 192.0.2.0/24 tcp dport 80" (<-> mirrored, -> one way). */
const char *ss_filter_fmt(const ss_filter *f, char *buf, size_t n)
{
	char s[SS_PREFIX_STRLEN + 8], d[SS_PREFIX_STRLEN + 8], pr[8], sp[24], dp[24];
	ports_fmt(sp, sizeof(sp), "sport", f->sport);
	ports_fmt(dp, sizeof(dp), "dport", f->dport);
	snprintf(buf, n, "%s %s %s %s%s%s", ss_endpoint_fmt(&f->src, s, sizeof(s)), f->mirrored ? "<->" : "->",
		ss_endpoint_fmt(&f->dst, d, sizeof(d)), proto_fmt(f->proto, pr, sizeof(pr)), sp, dp);
	return buf;
}

json_t *ss_filter_json(const ss_filter *f)
{
	char s[SS_PREFIX_STRLEN + 8], d[SS_PREFIX_STRLEN + 8], pr[8];
	json_t *j = json_pack("{s:s, s:s, s:s, s:b}", "src", ss_endpoint_fmt(&f->src, s, sizeof(s)),
		"dst", ss_endpoint_fmt(&f->dst, d, sizeof(d)), "proto", proto_fmt(f->proto, pr, sizeof(pr)),
		"mirrored", f->mirrored);
	if (f->loc.line) { /* none for a built-in policy's filters */
		json_object_set_new(j, "line", json_integer(f->loc.line));
		json_object_set_new(j, "col", json_integer(f->loc.col));
	}
	json_object_set_new(j, "src_port", json_pack("[i, i]", f->sport.lo, f->sport.hi));
	json_object_set_new(j, "dst_port", json_pack("[i, i]", f->dport.lo, f->dport.hi));
	if (f->description)
		json_object_set_new(j, "description", json_string(f->description));
	char text[200];
	json_object_set_new(j, "text", json_string(ss_filter_fmt(f, text, sizeof(text))));
	return j;
}

json_t *ss_action_json(const ss_filter_action *a)
{
	json_t *j = json_pack("{s:s, s:s}", "name", a->name, "action", ss_action_kind_name(a->kind));
	if (a->kind != SS_ACT_NEGOTIATE)
		return j;
	json_t *m = json_array();
	for (size_t i = 0; i < a->n_methods; i++) {
		char b[32];
		json_array_append_new(m, json_pack("{s:s, s:I, s:I}", "esp",
			ss_sec_method_fmt(&a->methods[i], b, sizeof(b)), "lifetime", (json_int_t)a->methods[i].life_seconds,
			"lifetime_bytes", (json_int_t)a->methods[i].life_bytes));
	}
	json_object_set_new(j, "methods", m);
	const char *pfs = ss_dh_name(a->pfs_group);
	json_object_set_new(j, "pfs", json_string(pfs ? pfs : "?"));
	json_object_set_new(j, "accept_unsecured", json_boolean(a->accept_unsecured));
	json_object_set_new(j, "fallback_to_clear", json_boolean(a->fallback_to_clear));
	json_object_set_new(j, "discovery", json_boolean(a->discovery));
	json_object_set_new(j, "fallback_after_secured", json_boolean(a->fallback_after_secured));
	json_object_set_new(j, "soft_idle_lifetime", json_integer(a->soft_idle_lifetime));
	return j;
}

const char *ss_action_fmt(const ss_filter_action *a, char *buf, size_t n)
{
	size_t k = (size_t)snprintf(buf, n, "%s '%s'", ss_action_kind_name(a->kind), a->name);
	if (a->kind != SS_ACT_NEGOTIATE || k >= n)
		return buf;
	for (size_t i = 0; i < a->n_methods && k < n; i++) {
		char m[32];
		k += (size_t)snprintf(buf + k, n - k, "%s%s", i ? ", " : " (", ss_sec_method_fmt(&a->methods[i], m, sizeof(m)));
	}
	if (k < n && a->pfs_group)
		k += (size_t)snprintf(buf + k, n - k, "; pfs %s", ss_dh_name(a->pfs_group));
	if (k < n && a->accept_unsecured)
		k += (size_t)snprintf(buf + k, n - k, "; accept unsecured");
	if (k < n && a->fallback_to_clear)
		k += (size_t)snprintf(buf + k, n - k, "; fallback to clear, idle %u s", a->soft_idle_lifetime);
	if (k < n && a->discovery)
		k += (size_t)snprintf(buf + k, n - k, "; discovery");
	if (k < n && a->fallback_after_secured)
		k += (size_t)snprintf(buf + k, n - k, "; fallback after secured");
	if (k < n)
		snprintf(buf + k, n - k, ")");
	return buf;
}
