#include "pktbuild.h"

#include "base/cursor.h"

static uint32_t sum(uint32_t acc, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		acc += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		acc += (uint32_t)p[n - 1] << 8;
	return acc;
}

static uint16_t fold(uint32_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)~acc;
}

size_t pb_udp(uint8_t *out, size_t cap, const ss_addr *src, const ss_addr *dst, uint16_t sport,
	      uint16_t dport, const void *payload, size_t plen)
{
	bool v4 = src->family == SS_AF_INET;
	size_t alen = v4 ? 4 : 16, hl = v4 ? 20 : 40, ulen = 8 + plen;
	ss_buf b = ss_buf_init(out, cap);
	if (v4) {
		ss_buf_u8(&b, 0x45);
		ss_buf_u8(&b, 0);
		ss_buf_be16(&b, (uint16_t)(hl + ulen));
		ss_buf_be32(&b, 0x00004000); /* id 0, DF */
		ss_buf_u8(&b, 64);
		ss_buf_u8(&b, 17);
		ss_buf_be16(&b, 0);
	} else {
		ss_buf_be32(&b, 0x60000000);
		ss_buf_be16(&b, (uint16_t)ulen);
		ss_buf_u8(&b, 17);
		ss_buf_u8(&b, 64);
	}
	ss_buf_put(&b, src->a, alen);
	ss_buf_put(&b, dst->a, alen);
	ss_buf_be16(&b, sport);
	ss_buf_be16(&b, dport);
	ss_buf_be16(&b, (uint16_t)ulen);
	ss_buf_be16(&b, 0);
	ss_buf_put(&b, payload, plen);
	if (!ss_buf_ok(&b))
		return 0;
	if (v4)
		ss_buf_set_be16(&b, 10, fold(sum(0, out, hl)));
	/* Pseudo-header (RFC 768; RFC 8200 §8.1) + UDP header + payload. */
	uint32_t acc = sum(0, src->a, alen);
	acc = sum(acc, dst->a, alen);
	acc += 17 + (uint32_t)ulen;
	acc = sum(acc, out + hl, ulen);
	uint16_t c = fold(acc);
	ss_buf_set_be16(&b, hl + 6, c ? c : 0xffff);
	return b.len;
}
