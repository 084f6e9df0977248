#include "base/addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

bool ss_addr_parse(const char *s, ss_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, s, out->a) == 1) {
		out->family = SS_AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, s, out->a) == 1) {
		out->family = SS_AF_INET6;
		return true;
	}
	memset(out, 0, sizeof(*out));
	return false;
}

static void clear_host_bits(ss_addr *a, unsigned len)
{
	for (unsigned i = len; i < 128; i++)
		a->a[i >> 3] &= (uint8_t)~(1u << (7 - (i & 7)));
}

static bool has_host_bits(const ss_addr *a, unsigned len)
{
	for (unsigned i = len; i < ss_addr_bits(a); i++)
		if (ss_addr_bit(a, i))
			return true;
	return false;
}

bool ss_prefix_parse(const char *s, ss_prefix *out, bool allow_host_bits, const char **why)
{
	char tmp[SS_PREFIX_STRLEN + 8];
	const char *dummy;
	if (!why)
		why = &dummy;
	memset(out, 0, sizeof(*out));
	size_t n = strlen(s);
	if (n >= sizeof(tmp)) {
		*why = "address is too long";
		return false;
	}
	memcpy(tmp, s, n + 1);
	char *slash = strchr(tmp, '/');
	if (slash)
		*slash = '\0';
	if (!ss_addr_parse(tmp, &out->addr)) {
		*why = "not an IPv4 or IPv6 address";
		return false;
	}
	unsigned max = ss_addr_bits(&out->addr);
	unsigned len = max;
	if (slash) {
		const char *d = slash + 1;
		if (!*d || strlen(d) > 3) {
			*why = "bad prefix length";
			return false;
		}
		len = 0;
		for (; *d; d++) {
			if (*d < '0' || *d > '9') {
				*why = "bad prefix length";
				return false;
			}
			len = len * 10 + (unsigned)(*d - '0');
		}
		if (len > max) {
			*why = max == 32 ? "prefix length above 32 for IPv4" : "prefix length above 128 for IPv6";
			return false;
		}
	}
	if (has_host_bits(&out->addr, len)) {
		if (!allow_host_bits) {
			*why = "address has bits set beyond the prefix length";
			return false;
		}
		clear_host_bits(&out->addr, len);
	}
	out->len = (uint8_t)len;
	return true;
}

const char *ss_addr_fmt(const ss_addr *a, char buf[SS_ADDR_STRLEN])
{
	int af = a->family == SS_AF_INET ? AF_INET : AF_INET6;
	if (a->family == SS_AF_NONE || !inet_ntop(af, a->a, buf, SS_ADDR_STRLEN))
		snprintf(buf, SS_ADDR_STRLEN, "?");
	return buf;
}

const char *ss_prefix_fmt(const ss_prefix *p, char buf[SS_PREFIX_STRLEN])
{
	char ab[SS_ADDR_STRLEN];
	snprintf(buf, SS_PREFIX_STRLEN, "%s/%u", ss_addr_fmt(&p->addr, ab), p->len);
	return buf;
}

ss_addr ss_addr_v4(uint32_t h)
{
	ss_addr a;
	memset(&a, 0, sizeof(a));
	a.family = SS_AF_INET;
	a.a[0] = (uint8_t)(h >> 24);
	a.a[1] = (uint8_t)(h >> 16);
	a.a[2] = (uint8_t)(h >> 8);
	a.a[3] = (uint8_t)h;
	return a;
}

ss_addr ss_addr_v6(const uint8_t b[16])
{
	ss_addr a;
	a.family = SS_AF_INET6;
	memcpy(a.a, b, 16);
	return a;
}

bool ss_addr_eq(const ss_addr *x, const ss_addr *y)
{
	return x->family == y->family && memcmp(x->a, y->a, 16) == 0;
}

int ss_addr_cmp(const ss_addr *x, const ss_addr *y)
{
	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	return memcmp(x->a, y->a, 16);
}

uint64_t ss_addr_hash(const ss_addr *a, uint64_t seed)
{
	/* FNV-1a mixed with a per-table seed, finished with a 64-bit avalanche; good enough
	 * for tables whose keys a remote party influences because the seed is random. */
	uint64_t h = 0xcbf29ce484222325ULL ^ seed;
	h = (h ^ a->family) * 0x100000001b3ULL;
	unsigned n = a->family == SS_AF_INET ? 4 : 16;
	for (unsigned i = 0; i < n; i++)
		h = (h ^ a->a[i]) * 0x100000001b3ULL;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

ss_prefix ss_prefix_host(const ss_addr *a)
{
	ss_prefix p = { .addr = *a, .len = (uint8_t)ss_addr_bits(a) };
	return p;
}

ss_prefix ss_prefix_make(const ss_addr *a, unsigned len)
{
	ss_prefix p = { .addr = *a, .len = 0 };
	if (len > ss_addr_bits(a))
		len = ss_addr_bits(a);
	clear_host_bits(&p.addr, len);
	p.len = (uint8_t)len;
	return p;
}

bool ss_prefix_contains(const ss_prefix *p, const ss_addr *a)
{
	if (p->addr.family != a->family)
		return false;
	unsigned full = p->len >> 3, rest = p->len & 7;
	if (memcmp(p->addr.a, a->a, full) != 0)
		return false;
	if (!rest)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (p->addr.a[full] & mask) == (a->a[full] & mask);
}

bool ss_addr_from_sockaddr(const struct sockaddr *sa, ss_addr *out, uint16_t *port)
{
	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		out->family = SS_AF_INET;
		memcpy(out->a, &s4->sin_addr, 4);
		if (port)
			*port = ntohs(s4->sin_port);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		/* A v4-mapped address is the IPv4 peer it stands for. */
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			out->family = SS_AF_INET;
			memcpy(out->a, &s6->sin6_addr.s6_addr[12], 4);
		} else {
			out->family = SS_AF_INET6;
			memcpy(out->a, &s6->sin6_addr, 16);
		}
		if (port)
			*port = ntohs(s6->sin6_port);
		return true;
	}
	return false;
}

size_t ss_addr_to_sockaddr(const ss_addr *a, uint16_t port, struct sockaddr_storage *out)
{
	memset(out, 0, sizeof(*out));
	if (a->family == SS_AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)out;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, a->a, 4);
		return sizeof(*s4);
	}
	if (a->family == SS_AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)out;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, a->a, 16);
		return sizeof(*s6);
	}
	return 0;
}
