/* IPv4 and IPv6 addresses and prefixes, one representation for both families. */
#ifndef SS_BASE_ADDR_H
#define SS_BASE_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sockaddr;
struct sockaddr_storage;

enum ss_family { SS_AF_NONE = 0, SS_AF_INET = 4, SS_AF_INET6 = 6 };

/* IPv4 lives in a[0..3], the rest zero, so that equality is a memcmp of the struct. */
typedef struct ss_addr {
	uint8_t family; /* enum ss_family */
	uint8_t a[16];
} ss_addr;

typedef struct ss_prefix {
	ss_addr addr; /* host bits are always zero */
	uint8_t len;  /* 0..32 or 0..128 */
} ss_prefix;

#define SS_ADDR_STRLEN 46   /* INET6_ADDRSTRLEN */
#define SS_PREFIX_STRLEN 50

static inline unsigned ss_addr_bits(const ss_addr *a) { return a->family == SS_AF_INET ? 32 : 128; }

bool ss_addr_parse(const char *s, ss_addr *out);
/* Accepts "A", "A/len"; rejects host bits set unless allow_host_bits (then clears them). */
bool ss_prefix_parse(const char *s, ss_prefix *out, bool allow_host_bits, const char **why);
const char *ss_addr_fmt(const ss_addr *a, char buf[SS_ADDR_STRLEN]);
const char *ss_prefix_fmt(const ss_prefix *p, char buf[SS_PREFIX_STRLEN]);

ss_addr ss_addr_v4(uint32_t host_order);
ss_addr ss_addr_v6(const uint8_t b[16]);
bool ss_addr_eq(const ss_addr *x, const ss_addr *y);
int ss_addr_cmp(const ss_addr *x, const ss_addr *y);
uint64_t ss_addr_hash(const ss_addr *a, uint64_t seed);
/* Bit i (0 = most significant) of the address. */
static inline unsigned ss_addr_bit(const ss_addr *a, unsigned i) { return (a->a[i >> 3] >> (7 - (i & 7))) & 1; }

ss_prefix ss_prefix_host(const ss_addr *a);
ss_prefix ss_prefix_make(const ss_addr *a, unsigned len);
bool ss_prefix_contains(const ss_prefix *p, const ss_addr *a);

/* sockaddr conversions; port in host order. */
bool ss_addr_from_sockaddr(const struct sockaddr *sa, ss_addr *out, uint16_t *port);
size_t ss_addr_to_sockaddr(const ss_addr *a, uint16_t port, struct sockaddr_storage *out);

#endif
