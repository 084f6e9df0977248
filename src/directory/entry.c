/* LDAP entries (as the client received them) to softsa policies; validate every value
 * before using any (STYLE: validate, then interpret). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/cursor.h"
#include "directory/entry.h"

static bool name_is(const char *attr, const char *want)
{
	size_t n = strcspn(attr, ";");
	return strlen(want) == n && strncasecmp(attr, want, n) == 0;
}

const ss_dir_attr *ss_dir_attr_get(const ss_dir_entry *e, const char *name)
{
	for (size_t i = 0; i < e->n_attrs; i++)
		if (e->attrs[i].name && name_is(e->attrs[i].name, name))
			return &e->attrs[i];
	return NULL;
}

bool ss_dir_has_class(const ss_dir_entry *e, const char *cls)
{
	const ss_dir_attr *a = ss_dir_attr_get(e, "objectClass");
	size_t n = strlen(cls);
	for (size_t i = 0; a && i < a->n; i++)
		if (a->vals[i].len == n && strncasecmp((const char *)a->vals[i].p, cls, n) == 0)
			return true;
	return false;
}

static bool fail(char *err, size_t errlen, const ss_dir_entry *e, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static bool fail(char *err, size_t errlen, const ss_dir_entry *e, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "%.400s: %s", e->dn ? e->dn : "(no DN)", msg);
	return false;
}

/* The one value of a single-valued attribute: NULL (and err) when absent or repeated, and
 * for a missing optional one NULL with *err untouched. */
static const ss_dir_val *single(const ss_dir_entry *e, const char *name, bool required, char *err,
				size_t errlen, bool *bad)
{
	const ss_dir_attr *a = ss_dir_attr_get(e, name);
	if (!a || a->n == 0) {
		if (required)
			*bad = !fail(err, errlen, e, "no %s", name);
		return NULL;
	}
	if (a->n != 1) {
		*bad = !fail(err, errlen, e, "%s has %zu values, expected 1", name, a->n);
		return NULL;
	}
	return &a->vals[0];
}

/* An INTEGER (RFC 4517 section 3.3.16): optional '-', decimal digits, no leading zeros. */
static bool parse_int(const ss_dir_val *v, int64_t lo, int64_t hi, int64_t *out)
{
	ss_cur c = ss_cur_init(v->p, v->len);
	bool neg = v->len > 1 && v->p[0] == '-';
	if (neg)
		ss_cur_u8(&c);
	size_t digits = ss_cur_left(&c);
	if (digits == 0 || digits > 18 || (digits > 1 && v->p[neg] == '0'))
		return false;
	int64_t x = 0;
	while (!ss_cur_done(&c)) {
		uint8_t d = ss_cur_u8(&c);
		if (d < '0' || d > '9')
			return false;
		x = x * 10 + (d - '0');
	}
	x = neg ? -x : x;
	if (x < lo || x > hi)
		return false;
	*out = x;
	return true;
}

/* For logs and `softsa status`: printable text, whatever the directory holds. */
static void printable(char *out, size_t cap, const ss_dir_val *v)
{
	size_t n = v->len < cap - 1 ? v->len : cap - 1;
	for (size_t i = 0; i < n; i++)
		out[i] = v->p[i] < 0x20 || v->p[i] == 0x7f ? '?' : (char)v->p[i];
	out[n] = '\0';
}

bool ss_dir_policy_parse(const ss_dir_entry *e, ss_dir_policy *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	const char *why = "no DN";
	if (!e->dn || !ss_dn_parse(e->dn, strlen(e->dn), &out->dn, &why))
		return fail(err, errlen, e, "bad DN: %s", why);
	if (!ss_dir_has_class(e, "softsaPolicy"))
		return fail(err, errlen, e, "not a softsaPolicy entry");
	const ss_dir_attr *cn = ss_dir_attr_get(e, "cn");
	if (!cn || cn->n == 0)
		return fail(err, errlen, e, "no cn");
	bool bad = false;
	const ss_dir_val *doc = single(e, "softsaPolicyDocument", true, err, errlen, &bad);
	const ss_dir_val *ver = bad ? NULL : single(e, "softsaPolicyVersion", true, err, errlen, &bad);
	const ss_dir_val *desc = bad ? NULL : single(e, "description", false, err, errlen, &bad);
	if (bad)
		return false;
	int64_t v;
	if (!parse_int(ver, 0, INT64_MAX, &v))
		return fail(err, errlen, e, "softsaPolicyVersion is not a number from 0 up");
	if (doc->len == 0 || doc->len > SS_DIR_DOC_MAX)
		return fail(err, errlen, e, "softsaPolicyDocument is %zu bytes, expected 1 to %u", doc->len,
			    SS_DIR_DOC_MAX);
	/* The loader takes a length, but a NUL would cut the text where a C string is made of it. */
	if (memchr(doc->p, 0, doc->len))
		return fail(err, errlen, e, "softsaPolicyDocument contains a NUL byte");
	out->version = (uint64_t)v;
	out->doc = doc->p;
	out->doc_len = doc->len;
	printable(out->name, sizeof(out->name), &cn->vals[0]);
	if (desc)
		printable(out->description, sizeof(out->description), desc);
	return true;
}

const char *ss_dir_via_name(enum ss_dir_via v)
{
	switch (v) {
	case SS_DIR_VIA_HOST: return "host";
	case SS_DIR_VIA_GROUP: return "group";
	case SS_DIR_VIA_OU: return "ou";
	case SS_DIR_VIA_NONE: break;
	}
	return "none";
}

/* Is host among the group's member or uniqueMember values?  (uniqueMember may carry an
 * "#'0101'B" unique identifier after the DN, RFC 4517 section 3.3.21: it does not parse
 * as a DN and such a value is not matched.) */
static bool is_member(const ss_dir_entry *e, const ss_dn *host)
{
	static const char *const attrs[] = { "member", "uniqueMember" };
	for (size_t k = 0; k < 2; k++) {
		const ss_dir_attr *a = ss_dir_attr_get(e, attrs[k]);
		for (size_t i = 0; a && i < a->n; i++) {
			ss_dn m;
			const char *why;
			if (ss_dn_parse((const char *)a->vals[i].p, a->vals[i].len, &m, &why) && ss_dn_eq(&m, host))
				return true;
		}
	}
	return false;
}

/* One assignment that applies: its kind, reference and priority. */
typedef struct cand {
	enum ss_dir_via via;
	ss_dn holder, policy;
	unsigned levels;
	int64_t priority;
} cand;

static bool read_cand(const ss_dir_entry *e, cand *c, char *err, size_t errlen)
{
	bool bad = false;
	const ss_dir_val *ref = single(e, "softsaPolicyRef", true, err, errlen, &bad);
	const ss_dir_val *pri = bad ? NULL : single(e, "softsaAssignmentPriority", false, err, errlen, &bad);
	if (bad)
		return false;
	const char *why;
	if (!ss_dn_parse((const char *)ref->p, ref->len, &c->policy, &why))
		return fail(err, errlen, e, "softsaPolicyRef is not a DN: %s", why);
	c->priority = 0;
	if (pri && !parse_int(pri, INT32_MIN, INT32_MAX, &c->priority))
		return fail(err, errlen, e, "softsaAssignmentPriority is not a 32-bit integer");
	return true;
}

/* Does a beat b?  Host over group over OU; among groups the lowest priority, then the lowest
 * DN; among OUs the nearest. */
static bool beats(const cand *a, const cand *b)
{
	if (a->via != b->via)
		return a->via < b->via;
	if (a->via == SS_DIR_VIA_GROUP) {
		if (a->priority != b->priority)
			return a->priority < b->priority;
		return strcmp(a->holder.s, b->holder.s) < 0;
	}
	return a->levels < b->levels;
}

bool ss_dir_resolve(const ss_dn *host, const ss_dir_entry *e, size_t n, ss_dir_choice *out, char *err,
		    size_t errlen)
{
	memset(out, 0, sizeof(*out));
	cand best = { .via = SS_DIR_VIA_NONE };
	bool tie = false;
	for (size_t i = 0; i < n; i++) {
		cand c = { 0 };
		const char *why;
		if (!e[i].dn || !ss_dn_parse(e[i].dn, strlen(e[i].dn), &c.holder, &why))
			continue; /* cannot be the host, above it, or a group we can name */
		if (ss_dn_eq(&c.holder, host))
			c.via = SS_DIR_VIA_HOST;
		else if ((c.levels = ss_dn_above(&c.holder, host)) > 0)
			c.via = SS_DIR_VIA_OU;
		else if (is_member(&e[i], host))
			c.via = SS_DIR_VIA_GROUP;
		else
			continue;
		if (!read_cand(&e[i], &c, err, errlen))
			return false;
		out->considered++;
		if (best.via == SS_DIR_VIA_NONE || beats(&c, &best)) {
			tie = best.via == SS_DIR_VIA_GROUP && c.via == SS_DIR_VIA_GROUP && c.priority == best.priority;
			best = c;
		} else if (c.via == SS_DIR_VIA_GROUP && best.via == SS_DIR_VIA_GROUP && c.priority == best.priority) {
			tie = true;
		}
	}
	out->via = best.via;
	out->holder = best.holder;
	out->policy = best.policy;
	out->levels = best.levels;
	out->priority = best.priority;
	if (tie)
		snprintf(out->warning, sizeof(out->warning),
			 "several groups of this host assign a policy at priority %lld; %.200s wins (lowest DN)",
			 (long long)best.priority, best.holder.s);
	return true;
}

/* An assertion value (RFC 4515 section 3): '*', '(', ')', the backslash and NUL as \XX. */
static bool put_value(char *out, size_t cap, size_t *n, const char *v, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];
		bool esc = c == '*' || c == '(' || c == ')' || c == '\\' || c == 0;
		if (*n + (esc ? 3 : 1) >= cap)
			return false;
		if (esc) {
			out[(*n)++] = '\\';
			out[(*n)++] = hex[c >> 4];
			out[(*n)++] = hex[c & 15];
		} else {
			out[(*n)++] = (char)c;
		}
	}
	return true;
}

static bool put_str(char *out, size_t cap, size_t *n, const char *s)
{
	size_t len = strlen(s);
	if (*n + len >= cap)
		return false;
	memcpy(out + *n, s, len);
	*n += len;
	return true;
}

static bool put_item(char *out, size_t cap, size_t *n, const char *attr, const char *v, size_t len)
{
	return put_str(out, cap, n, "(") && put_str(out, cap, n, attr) && put_str(out, cap, n, "=") &&
	       put_value(out, cap, n, v, len) && put_str(out, cap, n, ")");
}

bool ss_dir_assignment_filter(const ss_dn *host, const ss_dn *base, char *out, size_t cap)
{
	size_t n = 0;
	bool ok = put_str(out, cap, &n, "(&(objectClass=softsaPolicyAssignment)(|") &&
		  put_item(out, cap, &n, "member", host->s, host->len) &&
		  put_item(out, cap, &n, "uniqueMember", host->s, host->len);
	/* The host's own entry (level 0) and each one above it, while it is within base. */
	for (size_t i = 0; ok && i < host->n && host->n - i >= base->n; i++)
		ok = put_item(out, cap, &n, "entryDN", host->s + host->off[i], host->len - host->off[i]);
	ok = ok && put_str(out, cap, &n, "))");
	if (ok)
		out[n] = '\0';
	return ok;
}
