/* Coalescing TCP segments (ss_gro) is the inverse of splitting them (ss_tso): split a
 * super-packet, coalesce the pieces, and the original comes back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/ip.h"
#include "dataplane//gro.h"
#include "dataplane/gso.h"

static uint8_t big[70000], back[70000], segs[64][2048];
static size_t seglen[64];

/* IP header, 20-byte TCP header + 12 bytes of timestamp-like options, payload. */
static size_t make_super(bool v4, size_t payload, uint8_t flags)
{
	size_t iphl = v4 ? 20 : 40, hl = iphl + 32, len = hl + payload;
	memset(big, 0, hl);
	if (v4) {
		big[0] = 0x45, big[2] = (uint8_t)(len >> 8), big[3] = (uint8_t)len;
		big[4] = 0x12, big[5] = 0x34, big[6] = 0x40, big[8] = 64, big[9] = 6;
		memcpy(big + 12, "\x0a\x4d\x00\x02\x0a\x4d\x00\x01", 8);
	} else {
		big[0] = 0x60, big[4] = (uint8_t)((len - 40) >> 8), big[5] = (uint8_t)(len - 40);
		big[6] = 6, big[7] = 64, big[8] = 0xfd, big[9] = 0x77, big[23] = 2;
		big[24] = 0xfd, big[25] = 0x77, big[39] = 1;
	}
	uint8_t *t = big + iphl;
	t[0] = 0x1b, t[1] = 0x58, t[2] = 0x9c, t[3] = 0x40;
	t[4] = 0x7f, t[5] = 0xff, t[6] = 0xff, t[7] = 0xf0;
	t[8] = 0, t[9] = 0, t[10] = 0x10, t[11] = 0x01; /* ack */
	t[12] = 8 << 4, t[13] = flags, t[14] = 0x01, t[15] = 0xf5;
	t[20] = 1, t[21] = 1, t[22] = 8, t[23] = 10; /* NOP NOP TS */
	for (size_t i = 24; i < 32; i++)
		t[i] = (uint8_t)i;
	for (size_t i = 0; i < payload; i++)
		big[hl + i] = (uint8_t)(i * 13 + 5);
	return len;
}

static size_t split(size_t len, size_t mss)
{
	ss_tso t;
	assert_true(ss_tso_init(&t, big, len, mss));
	size_t n = 0;
	while (!ss_tso_done(&t)) {
		seglen[n] = ss_tso_next(&t, segs[n], sizeof segs[n]);
		assert_true(seglen[n] > 0);
		n++;
	}
	return n;
}

static void round_trip(bool v4, size_t payload, size_t mss)
{
	size_t len = make_super(v4, payload, 0x18), iphl = v4 ? 20 : 40;
	size_t n = split(len, mss);
	ss_gro g;
	assert_true(ss_gro_start(&g, back, sizeof back, segs[0], seglen[0]));
	for (size_t i = 1; i < n; i++)
		assert_true(ss_gro_append(&g, segs[i], seglen[i]));
	uint8_t hdr[SS_VNET_HDR_LEN];
	assert_int_equal(ss_gro_finish(&g, hdr), len);
	/* Same packet but for the fields a GSO packet carries differently. */
	assert_memory_equal(back + iphl + 32, big + iphl + 32, payload);
	assert_memory_equal(back + iphl, big + iphl, 16); /* ports, seq, ack, flags (PSH back) */
	if (v4) {
		assert_memory_equal(back, big, 10);           /* incl. total length and first id */
		assert_int_equal(ss_csum_finish(ss_csum_add(0, back, 20)), 0);
	} else {
		assert_memory_equal(back, big, 40);
	}
	ss_vnet_hdr h;
	assert_true(ss_vnet_hdr_parse(hdr, sizeof hdr, &h));
	assert_int_equal(h.flags, SS_VNET_F_NEEDS_CSUM);
	assert_int_equal(h.gso_type, v4 ? SS_VNET_GSO_TCPV4 : SS_VNET_GSO_TCPV6);
	assert_int_equal(h.gso_size, mss);
	assert_int_equal(h.hdr_len, iphl + 32);
	assert_int_equal(h.csum_start, iphl);
	assert_int_equal(h.csum_offset, 16);
	/* CHECKSUM_PARTIAL: completing it gives a checksum valid over the whole packet. */
	assert_true(ss_csum_complete(back, len, h.csum_start, h.csum_offset));
	uint8_t pseudo[40] = { 0 };
	size_t alen = v4 ? 4 : 16;
	memcpy(pseudo, back + (v4 ? 12 : 8), 2 * alen);
	uint32_t acc = ss_csum_add(0, pseudo, 2 * alen) + 6 + (uint32_t)(len - iphl);
	acc = ss_csum_add(acc, back + iphl, len - iphl);
	assert_int_equal(ss_csum_finish(acc), 0);
}

static void test_round_trip(void **state)
{
	(void)state;
	round_trip(true, 20000, 1348);
	round_trip(false, 20000, 1328);
	round_trip(true, 1348 * 3, 1348); /* all full */
	round_trip(true, 64 * 1000, 1000); /* the segment limit exactly */
}

static void test_single(void **state)
{
	(void)state;
	size_t len = make_super(true, 500, 0x18);
	ss_gro g;
	assert_true(ss_gro_start(&g, back, sizeof back, big, len));
	uint8_t hdr[SS_VNET_HDR_LEN], zero[SS_VNET_HDR_LEN] = { 0 };
	assert_int_equal(ss_gro_finish(&g, hdr), len);
	assert_memory_equal(hdr, zero, sizeof hdr);
	assert_memory_equal(back, big, len); /* untouched */
}

static void test_breaks(void **state)
{
	(void)state;
	size_t len = make_super(true, 5000, 0x10);
	size_t n = split(len, 1000);
	assert_int_equal(n, 5);
	ss_gro g;
	/* 1: a gap in the sequence */
	assert_true(ss_gro_start(&g, back, sizeof back, segs[0], seglen[0]));
	assert_false(ss_gro_append(&g, segs[2], seglen[2]));
	assert_true(ss_gro_append(&g, segs[1], seglen[1]));
	/* 2: another ack number */
	segs[2][20 + 11] ^= 1;
	assert_false(ss_gro_append(&g, segs[2], seglen[2]));
	segs[2][20 + 11] ^= 1;
	/* 3: other options (a new timestamp) */
	segs[2][20 + 30] ^= 1;
	assert_false(ss_gro_append(&g, segs[2], seglen[2]));
	segs[2][20 + 30] ^= 1;
	/* 4: another TTL */
	segs[2][8] = 63;
	assert_false(ss_gro_append(&g, segs[2], seglen[2]));
	segs[2][8] = 64;
	assert_true(ss_gro_append(&g, segs[2], seglen[2]));
	assert_int_equal(g.segs, 3);

	/* 5: nothing joins after a short segment */
	len = make_super(true, 2500, 0x10);
	n = split(len, 1000); /* 1000, 1000, 500 */
	assert_true(ss_gro_start(&g, back, sizeof back, segs[2], seglen[2]));
	assert_false(ss_gro_append(&g, segs[0], seglen[0]));

	/* 6: SYN, FIN or no data never start a run */
	len = make_super(true, 100, 0x12);
	assert_false(ss_gro_start(&g, back, sizeof back, big, len));
	len = make_super(true, 100, 0x11);
	assert_false(ss_gro_start(&g, back, sizeof back, big, len));
	len = make_super(true, 0, 0x10);
	assert_false(ss_gro_start(&g, back, sizeof back, big, len));

	/* 7: a PSH segment closes the run */
	len = make_super(true, 3000, 0x18);
	n = split(len, 1000);
	assert_true(ss_gro_start(&g, back, sizeof back, segs[0], seglen[0]));
	assert_true(ss_gro_append(&g, segs[1], seglen[1]));
	assert_true(ss_gro_append(&g, segs[2], seglen[2])); /* the PSH one */
	assert_true(g.closed);

	/* 8: a buffer too small for the next one */
	len = make_super(true, 3000, 0x10);
	n = split(len, 1000);
	assert_true(ss_gro_start(&g, back, seglen[0] + 500, segs[0], seglen[0]));
	assert_false(ss_gro_append(&g, segs[1], seglen[1]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_single),
		cmocka_unit_test(test_breaks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
