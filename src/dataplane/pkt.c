#include "dataplane/pkt.h"

#include <string.h>

#include "base/cursor.h"

/* How many IPv6 extension headers we walk before giving up: a packet with more is hostile
 * or absurd, and is treated as malformed rather than walked forever. */
enum { MAX_EXT_HDRS = 8 };

static void read_ports(ss_cur *c, ss_pkt_tuple *t)
{
	if (!ss_ipproto_has_ports(t->proto) || ss_cur_left(c) < 4)
		return;
	t->sport = ss_cur_be16(c);
	t->dport = ss_cur_be16(c);
}

/* RFC 791 §3.1 */
static bool parse_v4(ss_cur *c, ss_pkt_tuple *t)
{
	uint8_t vihl = ss_cur_u8(c);
	size_t ihl = (size_t)(vihl & 0x0f) * 4;
	ss_cur_skip(c, 1);
	t->total = ss_cur_be16(c);
	ss_cur_skip(c, 2);
	uint16_t frag = ss_cur_be16(c);
	ss_cur_skip(c, 1);
	t->proto = ss_cur_u8(c);
	ss_cur_skip(c, 2);
	uint8_t a[4];
	ss_cur_copy(c, a, 4);
	t->src = ss_addr_v4((uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3]);
	ss_cur_copy(c, a, 4);
	t->dst = ss_addr_v4((uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3]);
	if (!ss_cur_ok(c) || ihl < 20 || t->total < ihl)
		return false;
	if (!ss_cur_skip(c, ihl - 20))
		return false;
	t->l3len = ihl;
	if ((frag & 0x1fff) == 0) /* only the first fragment carries the ports */
		read_ports(c, t);
	return true;
}

/* RFC 8200 §3 and §4 */
static bool parse_v6(ss_cur *c, ss_pkt_tuple *t)
{
	ss_cur_skip(c, 4);
	t->total = (size_t)ss_cur_be16(c) + 40;
	uint8_t nh = ss_cur_u8(c);
	ss_cur_skip(c, 1);
	uint8_t a[16];
	ss_cur_copy(c, a, 16);
	t->src = ss_addr_v6(a);
	ss_cur_copy(c, a, 16);
	t->dst = ss_addr_v6(a);
	if (!ss_cur_ok(c))
		return false;
	size_t off = 40;
	bool first_frag = true;
	for (int i = 0; i < MAX_EXT_HDRS; i++) {
		if (nh != SS_IPPROTO_HOPOPTS && nh != SS_IPPROTO_ROUTING &&
		    nh != SS_IPPROTO_DSTOPTS && nh != SS_IPPROTO_FRAGMENT) {
			t->proto = nh;
			t->l3len = off;
			if (first_frag)
				read_ports(c, t);
			return true;
		}
		uint8_t next = ss_cur_u8(c);
		uint8_t hlen = ss_cur_u8(c);
		size_t len = nh == SS_IPPROTO_FRAGMENT ? 8 : ((size_t)hlen + 1) * 8;
		if (nh == SS_IPPROTO_FRAGMENT) {
			uint16_t fo = ss_cur_be16(c);
			first_frag = (fo & 0xfff8) == 0;
			ss_cur_skip(c, 4);
		} else {
			ss_cur_skip(c, len - 2);
		}
		if (!ss_cur_ok(c))
			return false;
		off += len;
		nh = next;
	}
	return false;
}

bool ss_pkt_tuple_parse(const uint8_t *p, size_t len, ss_pkt_tuple *out)
{
	memset(out, 0, sizeof *out);
	ss_cur c = ss_cur_init(p, len);
	uint8_t v = 0;
	if (!ss_cur_peek(&c, 0, &v, 1))
		return false;
	switch (v >> 4) {
	case 4: return parse_v4(&c, out);
	case 6: return parse_v6(&c, out);
	default: return false;
	}
}
