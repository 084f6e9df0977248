/* Userspace offloads: TCP and UDP segmentation, the virtio frame reader and checksum completion, checked against a naive
 * ones'-complement sum written here independently. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/ip.h"
#include "dataplane//gso.h"
#include "dataplane/pkt.h"

/* RFC 1071, the slow obvious way. */
static uint16_t naive_sum(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	uint64_t s = 0;
	for (size_t i = 0; i < alen; i++)
		s += (i & 1) ? a[i] : (uint64_t)a[i] << 8;
	for (size_t i = 0; i < blen; i++)
		s += (i & 1) ? b[i] : (uint64_t)b[i] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* A checksum is valid when the sum over everything it covers is 0xffff. */
static bool l4_ok(const uint8_t *pkt, size_t len, bool v4, size_t iphl, uint8_t proto)
{
	uint8_t pseudo[40];
	size_t alen = v4 ? 4 : 16, l4len = len - iphl;
	memcpy(pseudo, pkt + (v4 ? 12 : 8), 2 * alen);
	size_t k = 2 * alen;
	pseudo[k++] = 0, pseudo[k++] = 0, pseudo[k++] = (uint8_t)(l4len >> 8), pseudo[k++] = (uint8_t)l4len;
	pseudo[k++] = 0, pseudo[k++] = 0, pseudo[k++] = 0, pseudo[k++] = proto;
	return naive_sum(pseudo, k, pkt + iphl, l4len) == 0xffff;
}

static uint8_t big[70000], seg[2048];

/* A TCP super-packet: IP header, 20-byte TCP header + 12 bytes of options, payload. */
static size_t make_super(bool v4, size_t payload, uint8_t flags)
{
	size_t iphl = v4 ? 20 : 40, hl = iphl + 32, len = hl + payload;
	memset(big, 0, hl);
	if (v4) {
		big[0] = 0x45;
		big[2] = (uint8_t)(len >> 8), big[3] = (uint8_t)len;
		big[4] = 0x12, big[5] = 0x34;
		big[6] = 0x40, big[8] = 64, big[9] = 6;
		memcpy(big + 12, "\x0a\x4d\x00\x01\x0a\x4d\x00\x03", 8);
	} else {
		big[0] = 0x60;
		big[4] = (uint8_t)((len - 40) >> 8), big[5] = (uint8_t)(len - 40);
		big[6] = 6, big[7] = 64;
		big[8] = 0xfd, big[9] = 0x77, big[23] = 1, big[24] = 0xfd, big[25] = 0x77, big[39] = 3;
	}
	uint8_t *t = big + iphl;
	t[0] = 0x9c, t[1] = 0x40, t[2] = 0x1b, t[3] = 0x58;
	t[4] = 0xff, t[5] = 0xff, t[6] = 0xff, t[7] = 0x00; /* seq near the wrap */
	t[12] = 8 << 4, t[13] = flags, t[14] = 0xff, t[15] = 0xff;
	for (size_t i = 20; i < 32; i++)
		t[i] = 1; /* NOPs */
	for (size_t i = 0; i < payload; i++)
		big[hl + i] = (uint8_t)(i * 7 + 3);
	return len;
}

static void check_split(bool v4, size_t payload, size_t mss, uint8_t flags)
{
	size_t len = make_super(v4, payload, flags), iphl = v4 ? 20 : 40, hl = iphl + 32;
	ss_tso t;
	assert_true(ss_tso_init(&t, big, len, mss));
	size_t off = 0;
	unsigned n = 0, want = (unsigned)((payload + mss - 1) / mss);
	uint32_t seq0 = 0xffffff00u;
	while (!ss_tso_done(&t)) {
		size_t sl = ss_tso_next(&t, seg, sizeof seg);
		assert_true(sl > hl);
		ss_pkt_tuple tu;
		assert_true(ss_pkt_tuple_parse(seg, sl, &tu));
		assert_int_equal(tu.total, sl);
		assert_int_equal(tu.sport, 40000);
		assert_int_equal(tu.dport, 7000);
		if (v4) {
			assert_int_equal(naive_sum(seg, 20, NULL, 0), 0xffff);
			assert_int_equal(seg[4] << 8 | seg[5], 0x1234 + n);
		}
		assert_true(l4_ok(seg, sl, v4, iphl, 6));
		const uint8_t *tcp = seg + iphl;
		uint32_t seq = (uint32_t)tcp[4] << 24 | (uint32_t)tcp[5] << 16 | (uint32_t)tcp[6] << 8 | tcp[7];
		assert_int_equal(seq, (uint32_t)(seq0 + off));
		bool last = off + (sl - hl) == payload;
		assert_int_equal(!!(tcp[13] & 0x01), last && (flags & 0x01));
		assert_int_equal(!!(tcp[13] & 0x08), last && (flags & 0x08));
		assert_int_equal(!!(tcp[13] & 0x80), n == 0 && (flags & 0x80));
		assert_true(tcp[13] & 0x10); /* ACK everywhere */
		assert_memory_equal(seg + hl, big + hl + off, sl - hl);
		off += sl - hl;
		n++;
	}
	assert_int_equal(off, payload);
	assert_int_equal(n, want);
	assert_int_equal(ss_tso_next(&t, seg, sizeof seg), 0);
}

static void test_split(void **state)
{
	(void)state;
	check_split(true, 10000, 1348, 0x18 | 0x01 | 0x80); /* ACK PSH FIN CWR */
	check_split(false, 10000, 1328, 0x18);
	check_split(true, 65000, 1448, 0x10);
	check_split(true, 1348, 1348, 0x18); /* exactly one segment */
	check_split(false, 1, 1000, 0x19);
}

static void test_refusals(void **state)
{
	(void)state;
	ss_tso t;
	size_t len = make_super(true, 3000, 0x10);
	assert_false(ss_tso_init(&t, big, len, 0));      /* no MSS */
	assert_false(ss_tso_init(&t, big, len - 1, 1000)); /* IP length disagrees */
	big[9] = 17;
	assert_false(ss_tso_init(&t, big, len, 1000));   /* not TCP */
	len = make_super(true, 3000, 0x10);
	big[20 + 12] = 4 << 4;
	assert_false(ss_tso_init(&t, big, len, 1000));   /* TCP header below 20 bytes */
	len = make_super(true, 3000, 0x10);
	assert_true(ss_tso_init(&t, big, len, 1000));
	assert_int_equal(ss_tso_next(&t, seg, 100), 0);  /* does not fit: nothing written */
	assert_int_equal(t.off, 0);
}

static void test_csum_complete(void **state)
{
	(void)state;
	/* A UDP packet as a CHECKSUM_PARTIAL skb leaves it: the pseudo-header sum, not
	 * inverted, in the checksum field. */
	uint8_t p[28 + 5] = { 0x45, 0, 0, 33, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 77, 0, 1, 10, 77, 0, 2,
			      0x9c, 0x40, 0x1e, 0x61, 0, 13, 0, 0, 'h', 'e', 'l', 'l', 'o' };
	uint8_t pseudo[12] = { 10, 77, 0, 1, 10, 77, 0, 2, 0, 17, 0, 13 };
	uint16_t ps = naive_sum(pseudo, sizeof pseudo, NULL, 0);
	p[26] = (uint8_t)(ps >> 8), p[27] = (uint8_t)ps;
	assert_true(ss_csum_complete(p, sizeof p, 20, 6));
	assert_true(l4_ok(p, sizeof p, true, 20, 17));
	assert_false(ss_csum_complete(p, sizeof p, 20, 12));  /* field past the end */
	assert_false(ss_csum_complete(p, sizeof p, 40, 0));   /* start past the end */
	assert_false(ss_csum_complete(p, sizeof p, 32, 0xffff));
}

static void test_vnet_hdr(void **state)
{
	(void)state;
	const uint8_t b[10] = { 1, 0x81, 66, 0, 0xa8, 0x05, 34, 0, 16, 0 };
	ss_vnet_hdr h;
	assert_true(ss_vnet_hdr_parse(b, sizeof b, &h));
	assert_int_equal(h.flags, SS_VNET_F_NEEDS_CSUM);
	assert_int_equal(h.gso_type, SS_VNET_GSO_TCPV4 | SS_VNET_GSO_ECN);
	assert_int_equal(h.hdr_len, 66);
	assert_int_equal(h.gso_size, 1448);
	assert_int_equal(h.csum_start, 34);
	assert_int_equal(h.csum_offset, 16);
	assert_false(ss_vnet_hdr_parse(b, 9, &h));
}

/* A UDP super-packet (USO): IP header, UDP header, payload. */
static size_t make_udp_super(bool v4, size_t payload)
{
	size_t len = make_super(v4, payload + 24, 0x10), iphl = v4 ? 20 : 40;
	big[v4 ? 9 : 6] = 17;
	uint8_t *u = big + iphl;
	u[4] = (uint8_t)((len - iphl) >> 8), u[5] = (uint8_t)(len - iphl); /* as given: ignored */
	u[6] = 0x12, u[7] = 0x34;
	return len;
}

static void check_uso(bool v4, size_t payload, size_t mss)
{
	size_t len = make_udp_super(v4, payload), iphl = v4 ? 20 : 40, hl = iphl + 8, total = len - hl;
	ss_tso t;
	assert_true(ss_uso_init(&t, big, len, mss));
	size_t off = 0;
	unsigned n = 0;
	while (!ss_tso_done(&t)) {
		size_t sl = ss_tso_next(&t, seg, sizeof seg);
		assert_true(sl > hl);
		ss_pkt_tuple tu;
		assert_true(ss_pkt_tuple_parse(seg, sl, &tu));
		assert_int_equal(tu.total, sl);
		assert_int_equal(tu.proto, 17);
		assert_int_equal(seg[iphl + 4] << 8 | seg[iphl + 5], sl - iphl); /* UDP length */
		assert_true(sl - hl == mss || off + (sl - hl) == total);
		if (v4) {
			assert_int_equal(naive_sum(seg, 20, NULL, 0), 0xffff);
			assert_int_equal(seg[4] << 8 | seg[5], 0x1234 + n);
		}
		assert_true(l4_ok(seg, sl, v4, iphl, 17));
		assert_false(seg[iphl + 6] == 0 && seg[iphl + 7] == 0);
		assert_memory_equal(seg + hl, big + hl + off, sl - hl);
		off += sl - hl;
		n++;
	}
	assert_int_equal(off, total);
	assert_int_equal(n, (total + mss - 1) / mss);
}

static void test_uso(void **state)
{
	(void)state;
	check_uso(true, 10000, 1200);
	check_uso(false, 10000, 1232);
	check_uso(true, 1152, 1200); /* exactly one datagram (1152 + 48 bytes) */
	ss_tso t;
	size_t len = make_super(true, 3000, 0x10);
	assert_false(ss_uso_init(&t, big, len, 1000));   /* TCP is not split as UDP */
	len = make_udp_super(true, 3000);
	assert_false(ss_tso_init(&t, big, len, 1000));   /* nor UDP as TCP */
	assert_false(ss_uso_init(&t, big, len, 0));
}

/* A frame as the TUN reads it: virtio header, then the packet. */
static size_t frame(uint8_t *f, uint8_t flags, uint8_t type, uint16_t gso, uint16_t cs, uint16_t co,
		    const uint8_t *pkt, size_t len)
{
	const uint8_t h[10] = { flags, type, 0, 0, (uint8_t)gso, (uint8_t)(gso >> 8), (uint8_t)cs,
				(uint8_t)(cs >> 8), (uint8_t)co, (uint8_t)(co >> 8) };
	memcpy(f, h, 10);
	memmove(f + 10, pkt, len);
	return len + 10;
}

static uint8_t fr[70010];

static void test_vnet_frame(void **state)
{
	(void)state;
	ss_tso t;
	size_t off = 0, plen = 0, len = make_super(true, 5000, 0x10);
	size_t n = frame(fr, 0, SS_VNET_GSO_TCPV4, 1348, 0, 0, big, len);
	assert_int_equal(ss_vnet_frame(&t, fr, n, &off, &plen), SS_VNET_SPLIT);
	assert_false(t.udp);
	assert_int_equal(t.mss, 1348);
	n = frame(fr, 0, SS_VNET_GSO_TCPV6, 1348, 0, 0, big, len);
	assert_int_equal(ss_vnet_frame(&t, fr, n, &off, &plen), SS_VNET_BAD); /* v6 type, v4 packet */
	n = frame(fr, 0, 3 /* UFO */, 1348, 0, 0, big, len);
	assert_int_equal(ss_vnet_frame(&t, fr, n, &off, &plen), SS_VNET_BAD);
	n = frame(fr, 0, SS_VNET_GSO_TCPV4, 1348, 0, 0, big, len);
	assert_int_equal(ss_vnet_frame(&t, fr, n - 1, &off, &plen), SS_VNET_BAD); /* cut short */
	len = make_udp_super(false, 4000);
	n = frame(fr, 1, SS_VNET_GSO_UDP_L4, 1200, 40, 6, big, len);
	assert_int_equal(ss_vnet_frame(&t, fr, n, &off, &plen), SS_VNET_SPLIT);
	assert_true(t.udp);
	/* one packet with a partial checksum: completed in place */
	len = make_udp_super(true, 100);
	n = frame(fr, 1, 0, 0, 20, 6, big, len);
	assert_int_equal(ss_vnet_frame(&t, fr, n, &off, &plen), SS_VNET_ONE);
	assert_int_equal(off, 10);
	assert_int_equal(plen, len);
	n = frame(fr, 1, 0, 0, 20, 0xfff0, big, len);
	assert_int_equal(ss_vnet_frame(&t, fr, n, &off, &plen), SS_VNET_BAD); /* offset outside */
	n = frame(fr, 0, 0, 0, 0, 0, big, len);
	assert_int_equal(ss_vnet_frame(&t, fr, n + 1, &off, &plen), SS_VNET_BAD); /* IP length */
	assert_int_equal(ss_vnet_frame(&t, fr, 9, &off, &plen), SS_VNET_BAD);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_csum_complete),
		cmocka_unit_test(test_vnet_hdr),
		cmocka_unit_test(test_uso),
		cmocka_unit_test(test_vnet_frame),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
