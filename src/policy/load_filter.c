/* Filter lists: named sequences of filters.  A filter names its endpoints (me, any, an
 * address, a prefix, or a DNS name resolved now), a protocol and ports.  A DNS name with
 * several addresses becomes several filters, one per address (and per pair when both
 * sides are names), each at the filter's position in the file. */
#include "policy/load_int.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define MAX_NAME_ADDRS 16

static const char *const filter_keys[] = {
	"src", "dst", "proto", "src_port", "dst_port", "mirrored", "description", NULL
};

static size_t resolve_getaddrinfo(void *ctx, const char *name, ss_addr *out, size_t max,
	const char **why)
{
	(void)ctx;
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM };
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(name, NULL, &hints, &res);
	if (rc != 0) {
		*why = gai_strerror(rc);
		return 0;
	}
	size_t n = 0;
	for (struct addrinfo *ai = res; ai && n < max; ai = ai->ai_next) {
		ss_addr a;
		if (!ss_addr_from_sockaddr(ai->ai_addr, &a, NULL))
			continue;
		bool dup = false;
		for (size_t i = 0; i < n && !dup; i++)
			dup = ss_addr_eq(&out[i], &a);
		if (!dup)
			out[n++] = a;
	}
	freeaddrinfo(res);
	if (!n)
		*why = "no IPv4 or IPv6 address";
	return n;
}

/* A host name as RFC 1123 allows it: labels of letters, digits and hyphens. */
static bool is_hostname(const char *s)
{
	size_t len = strlen(s), label = 0;
	if (len == 0 || len > 253)
		return false;
	bool alpha = false;
	for (const char *c = s; *c; c++) {
		if (*c == '.') {
			if (label == 0 || c[-1] == '-')
				return false;
			label = 0;
			continue;
		}
		bool ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
			(*c == '-' && label > 0);
		if (!ok || ++label > 63)
			return false;
		if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z'))
			alpha = true;
	}
	/* All digits and dots is a mistyped IPv4 address, not a name. */
	return alpha && s[len - 1] != '-';
}

/* One side of a filter into 1..MAX_NAME_ADDRS endpoints. */
static bool ld_endpoint(struct ld *l, const ynode *n, const char *what, ss_endpoint *out, size_t *n_out)
{
	if (!ld_scalar(l, n, what))
		return false;
	const char *s = n->str;
	memset(out, 0, sizeof(*out));
	*n_out = 1;
	if (strcmp(s, "any") == 0) {
		out[0].kind = SS_EP_ANY;
		return true;
	}
	if (strcmp(s, "me") == 0) {
		out[0].kind = SS_EP_ME;
		return true;
	}
	const char *why = NULL;
	if (ss_prefix_parse(s, &out[0].prefix, false, &why)) {
		out[0].kind = SS_EP_PREFIX;
		return true;
	}
	if (strchr(s, '/') || strchr(s, ':') || !is_hostname(s))
		return ld_fail(l, n, "%s: bad address or prefix '%s': %s", what, s, why ? why : "not an address");
	if (l->o->no_resolve)
		return ld_fail(l, n, "%s: DNS name '%s' not resolved (name resolution is off)", what, s);
	ss_addr addrs[MAX_NAME_ADDRS];
	const char *rwhy = "no address";
	ss_resolve_fn fn = l->o->resolve ? l->o->resolve : resolve_getaddrinfo;
	size_t k = fn(l->o->resolve_ctx, s, addrs, MAX_NAME_ADDRS, &rwhy);
	if (k == 0)
		return ld_fail(l, n, "%s: cannot resolve DNS name '%s': %s", what, s, rwhy);
	if (k > MAX_NAME_ADDRS)
		k = MAX_NAME_ADDRS;
	for (size_t i = 0; i < k; i++) {
		out[i].kind = SS_EP_PREFIX;
		out[i].prefix = ss_prefix_host(&addrs[i]);
	}
	*n_out = k;
	return true;
}

static const struct {
	const char *name;
	int num;
} protos[] = {
	{ "any", SS_PROTO_ANY }, { "icmp", 1 }, { "tcp", 6 }, { "udp", 17 }, { "icmpv6", 58 },
	{ "sctp", 132 },
};

static bool ld_proto(struct ld *l, const ynode *n, int *out)
{
	if (!ld_scalar(l, n, "proto"))
		return false;
	const char *names[sizeof(protos) / sizeof(protos[0])];
	for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++) {
		names[i] = protos[i].name;
		if (strcmp(n->str, protos[i].name) == 0) {
			*out = protos[i].num;
			return true;
		}
	}
	if (n->str[0] >= '0' && n->str[0] <= '9') {
		uint64_t v;
		if (!ld_uint(l, n, "proto", 0, 255, &v))
			return false;
		*out = (int)v;
		return true;
	}
	const char *near = ld_suggest(n->str, names, sizeof(names) / sizeof(names[0]));
	if (near)
		return ld_fail(l, n, "unknown protocol '%s' (did you mean '%s'?)", n->str, near);
	return ld_fail(l, n, "unknown protocol '%s' (expected any, tcp, udp, icmp, icmpv6, sctp or 0-255)",
		n->str);
}

static bool proto_has_ports(int proto)
{
	return proto == 6 || proto == 17 || proto == 132;
}

/* "80" or "1024-65535". */
static bool ld_ports(struct ld *l, const ynode *n, const char *what, ss_port_range *out)
{
	if (!ld_scalar(l, n, what))
		return false;
	unsigned long lo, hi;
	char *end;
	const char *s = n->str;
	if (*s < '0' || *s > '9')
		goto bad;
	lo = strtoul(s, &end, 10);
	hi = lo;
	if (*end == '-') {
		if (end[1] < '0' || end[1] > '9')
			goto bad;
		hi = strtoul(end + 1, &end, 10);
	}
	if (*end)
		goto bad;
	if (lo > 65535 || hi > 65535)
		return ld_fail(l, n, "%s out of range: '%s' (ports are 0-65535)", what, s);
	if (lo > hi)
		return ld_fail(l, n, "%s range '%s' is reversed (low-high)", what, s);
	out->lo = (uint16_t)lo;
	out->hi = (uint16_t)hi;
	return true;
bad:
	return ld_fail(l, n, "%s must be a port or a range 'low-high', got '%s'", what, s);
}

/* Which families the endpoint admits: bit 0 IPv4, bit 1 IPv6. */
static unsigned ep_families(const ss_endpoint *e)
{
	if (e->kind != SS_EP_PREFIX)
		return 3;
	return e->prefix.addr.family == SS_AF_INET ? 1 : 2;
}

static bool add_filters(struct ld *l, const ynode *fn, ss_filter_list *fl, const ss_filter *tmpl,
	const ss_endpoint *src, size_t n_src, const ss_endpoint *dst, size_t n_dst)
{
	/* ICMP is IPv4's, ICMPv6 IPv6's: a filter that can only meet the other family is a mistake. */
	unsigned fam = tmpl->proto == 1 ? 1 : tmpl->proto == 58 ? 2 : 3;
	size_t added = 0;
	for (size_t i = 0; i < n_src; i++)
		for (size_t j = 0; j < n_dst; j++) {
			if (!(ep_families(&src[i]) & ep_families(&dst[j]) & fam))
				continue;
			ss_filter *f = ld_push(l, fn, (void **)&fl->filters, &fl->n_filters, sizeof(*f));
			if (!f)
				return false;
			*f = *tmpl;
			f->src = src[i];
			f->dst = dst[j];
			f->description = NULL;
			if (tmpl->description && !(f->description = ld_strdup(l, fn, tmpl->description)))
				return false;
			added++;
		}
	if (added)
		return true;
	if (fam != 3 && (ep_families(&src[0]) & ep_families(&dst[0])))
		return ld_fail(l, fn, "proto %s cannot match %s addresses", fam == 1 ? "icmp" : "icmpv6",
			fam == 1 ? "IPv6" : "IPv4");
	return ld_fail(l, fn, "src and dst are of different address families");
}

static bool ld_filter(struct ld *l, const ynode *fn, ss_filter_list *fl)
{
	if (!ld_map(l, fn, "filter", filter_keys))
		return false;
	ss_filter t = {
		.proto = SS_PROTO_ANY,
		.sport = { 0, 65535 },
		.dport = { 0, 65535 },
		.mirrored = true,
		.loc = { fn->line, fn->col },
	};
	ss_endpoint src[MAX_NAME_ADDRS] = { { .kind = SS_EP_ME } };
	ss_endpoint dst[MAX_NAME_ADDRS] = { { .kind = SS_EP_ANY } };
	size_t n_src = 1, n_dst = 1;
	const ynode *v;
	if ((v = yn_get(fn, "src")) && !ld_endpoint(l, v, "src", src, &n_src))
		return false;
	if ((v = yn_get(fn, "dst")) && !ld_endpoint(l, v, "dst", dst, &n_dst))
		return false;
	if ((v = yn_get(fn, "proto")) && !ld_proto(l, v, &t.proto))
		return false;
	const char *pk[2] = { "src_port", "dst_port" };
	ss_port_range *pr[2] = { &t.sport, &t.dport };
	for (int i = 0; i < 2; i++) {
		if (!(v = yn_get(fn, pk[i])))
			continue;
		if (!ld_ports(l, v, pk[i], pr[i]))
			return false;
		if (!proto_has_ports(t.proto)) {
			const char *pn = ss_proto_name(t.proto);
			char num[8];
			snprintf(num, sizeof(num), "%d", t.proto);
			return ld_fail(l, v, "%s needs proto tcp, udp or sctp (proto is %s, which has no ports)",
				pk[i], pn ? pn : num);
		}
	}
	if ((v = yn_get(fn, "mirrored")) && !ld_bool(l, v, "mirrored", &t.mirrored))
		return false;
	if ((v = yn_get(fn, "description"))) {
		if (!ld_scalar(l, v, "description"))
			return false;
		t.description = v->str; /* copied per filter */
	}
	/* Traffic from this host to itself never leaves it: such a filter is a mistake. */
	if (src[0].kind == SS_EP_ME && dst[0].kind == SS_EP_ME)
		return ld_fail(l, fn, "src and dst cannot both be me");
	return add_filters(l, fn, fl, &t, src, n_src, dst, n_dst);
}

bool ld_filter_lists(struct ld *l, const ynode *n)
{
	if (n->kind != YN_MAP)
		return ld_fail(l, n, "filter_lists must be a mapping of names to filter sequences, got %s",
			yn_kind_name(n->kind));
	ss_policy *p = l->p;
	if (!ld_unique_keys(l, n, "filter list"))
		return false;
	p->lists = ld_calloc(l, n, n->n, sizeof(*p->lists));
	if (!p->lists)
		return false;
	for (size_t i = 0; i < n->n; i++) {
		const ynode *k = yn_key(n, i), *v = yn_val(n, i);
		ss_filter_list *fl = &p->lists[p->n_lists++];
		fl->loc = (ss_srcloc){ k->line, k->col };
		if (!(fl->name = ld_strdup(l, k, k->str)))
			return false;
		if (yn_is_null(v) || (v->kind == YN_SEQ && v->n == 0))
			return ld_fail(l, v, "filter list '%s' is empty", k->str);
		if (!ld_seq(l, v, "a filter list"))
			return false;
		if (v->n == 0)
			return ld_fail(l, v, "filter list '%s' is empty", k->str);
		for (size_t j = 0; j < v->n; j++)
			if (!ld_filter(l, v->items[j], fl))
				return false;
	}
	return true;
}
