/* Distinguished names (RFC 4514 section 3) read from untrusted text into one canonical form,
 * so that a DN the administrator typed into the bootstrap file, a member value and a DN the
 * server returned compare equal when they name the same entry. */
#include <string.h>

#include "base/cursor.h"
#include "directory/entry.h"

typedef struct dn_out {
	ss_dn *dn;
	bool full;
} dn_out;

static void put(dn_out *o, char c)
{
	if (o->dn->len + 1 >= SS_DN_MAX) {
		o->full = true;
		return;
	}
	o->dn->s[o->dn->len++] = c;
}

static char lower(uint8_t c)
{
	return (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
}

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (uint8_t)lower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static bool peek(const ss_cur *c, uint8_t *b)
{
	return ss_cur_peek(c, 0, b, 1);
}

static void skip_spaces(ss_cur *c)
{
	uint8_t b;
	while (peek(c, &b) && b == ' ')
		ss_cur_u8(c);
}

/* An attribute type: a descriptor (letter, then letters, digits, '-') or a numeric OID. */
static bool parse_type(ss_cur *c, dn_out *o, const char **why)
{
	uint8_t b;
	size_t n = 0;
	bool numeric = peek(c, &b) && b >= '0' && b <= '9';
	while (peek(c, &b) && b != '=' && b != ' ') {
		bool ok = (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') ||
			  (numeric ? b == '.' : b == '-' && n > 0);
		if (!ok) {
			*why = "bad character in an attribute type";
			return false;
		}
		put(o, lower(ss_cur_u8(c)));
		n++;
	}
	skip_spaces(c);
	if (!n || !peek(c, &b) || b != '=') {
		*why = n ? "attribute type without '='" : "empty attribute type";
		return false;
	}
	ss_cur_u8(c);
	put(o, '=');
	return true;
}

static void put_value_byte(dn_out *o, uint8_t b, bool first, bool last)
{
	static const char hex[] = "0123456789abcdef";
	if (b < 0x20 || b == 0x7f) {
		put(o, '\\');
		put(o, hex[b >> 4]);
		put(o, hex[b & 15]);
		return;
	}
	if (strchr(",+\"\\<>;=", b) || (first && (b == '#' || b == ' ')) || (last && b == ' '))
		put(o, '\\');
	put(o, lower(b));
}

/* "#" and hex digits: the BER encoding of a value, kept as lowercase hex. */
static bool parse_hexstring(ss_cur *c, dn_out *o, const char **why)
{
	uint8_t b;
	size_t n = 0;
	put(o, (char)ss_cur_u8(c));
	while (peek(c, &b) && hexval(b) >= 0) {
		put(o, lower(ss_cur_u8(c)));
		n++;
	}
	skip_spaces(c);
	if (!n || n % 2) {
		*why = "bad hex string value";
		return false;
	}
	return true;
}

/* One escape after '\': a special character or two hex digits. */
static bool parse_escape(ss_cur *c, uint8_t *out, const char **why)
{
	uint8_t a, d;
	if (!peek(c, &a)) {
		*why = "'\\' at the end";
		return false;
	}
	if (strchr(" \"#+,;<=>\\", a)) {
		*out = ss_cur_u8(c);
		return true;
	}
	if (hexval(a) < 0 || !ss_cur_peek(c, 1, &d, 1) || hexval(d) < 0) {
		*why = "bad escape";
		return false;
	}
	ss_cur_skip(c, 2);
	*out = (uint8_t)(hexval(a) << 4 | hexval(d));
	return true;
}

/* The decoded value goes into a buffer first, so that trailing unescaped spaces can be
 * dropped and the first and last byte escaped as RFC 4514 requires. */
static bool parse_value(ss_cur *c, dn_out *o, const char **why)
{
	uint8_t b;
	if (peek(c, &b) && b == '#')
		return parse_hexstring(c, o, why);
	uint8_t v[SS_DN_MAX];
	size_t n = 0, keep = 0; /* keep: length up to the last byte that is not a plain space */
	while (peek(c, &b) && b != ',' && b != '+') {
		ss_cur_u8(c);
		bool escaped = b == '\\';
		if (escaped && !parse_escape(c, &b, why))
			return false;
		if (!escaped && (b == '"' || b == ';' || b == '<' || b == '>' || b == 0)) {
			*why = "unescaped special character in a value";
			return false;
		}
		if (n == sizeof(v)) {
			*why = "value too long";
			return false;
		}
		v[n++] = b;
		if (escaped || b != ' ')
			keep = n;
	}
	for (size_t i = 0; i < keep; i++)
		put_value_byte(o, v[i], i == 0, i + 1 == keep);
	return true;
}

bool ss_dn_parse(const char *in, size_t len, ss_dn *out, const char **why)
{
	memset(out, 0, sizeof(*out));
	ss_cur c = ss_cur_init(in, len);
	dn_out o = { .dn = out };
	skip_spaces(&c);
	if (ss_cur_done(&c))
		return true; /* the root DN */
	for (;;) {
		if (out->n == SS_DN_MAX_RDNS) {
			*why = "more than 32 RDNs";
			return false;
		}
		out->off[out->n++] = (uint16_t)out->len;
		uint8_t sep = 0;
		do { /* the AVAs of one RDN, joined by '+' */
			if (sep)
				put(&o, '+');
			skip_spaces(&c);
			if (!parse_type(&c, &o, why))
				return false;
			skip_spaces(&c);
			if (!parse_value(&c, &o, why))
				return false;
			sep = 0;
			if (!peek(&c, &sep))
				break;
			ss_cur_u8(&c);
		} while (sep == '+');
		if (o.full) {
			*why = "longer than 1024 bytes";
			return false;
		}
		if (!sep)
			break;
		put(&o, ',');
	}
	out->off[out->n] = (uint16_t)(out->len + 1);
	out->s[out->len] = '\0';
	return true;
}

bool ss_dn_eq(const ss_dn *a, const ss_dn *b)
{
	return a->len == b->len && memcmp(a->s, b->s, a->len) == 0;
}

unsigned ss_dn_above(const ss_dn *anc, const ss_dn *dn)
{
	if (anc->n >= dn->n)
		return 0;
	unsigned levels = (unsigned)(dn->n - anc->n);
	if (anc->n == 0)
		return levels; /* the root is above everything */
	size_t at = dn->off[levels];
	return dn->len - at == anc->len && memcmp(dn->s + at, anc->s, anc->len) == 0 ? levels : 0;
}

bool ss_dn_within(const ss_dn *dn, const ss_dn *base)
{
	return ss_dn_eq(dn, base) || ss_dn_above(base, dn) > 0;
}
