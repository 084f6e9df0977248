/* ss_icmperr_needed / ss_icmperr_too_big: when a tunnel entry answers "too big", and the
 * exact bytes of the answer (checksums verified independently here, quote, MTU field). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/ip.h"
#include "dataplane/icmperr.h"

static uint8_t pkt[2000];

/* An IPv4 packet of len bytes, DF as given, protocol proto (ICMP: type in the first byte). */
static size_t v4(size_t len, bool df, uint8_t proto, uint16_t frag_off, const uint8_t src[4])
{
	memset(pkt, 0xab, sizeof pkt);
	uint8_t h[20] = { 0x45, 0x02, (uint8_t)(len >> 8), (uint8_t)len, 0x12, 0x34,
			  (uint8_t)((df ? 0x40 : 0) | frag_off >> 8), (uint8_t)frag_off, 63, proto, 0, 0,
			  src[0], src[1], src[2], src[3], 10, 2, 0, 2 };
	uint16_t c = ss_csum_finish(ss_csum_add(0, h, 20));
	h[10] = (uint8_t)(c >> 8);
	h[11] = (uint8_t)c;
	memcpy(pkt, h, 20);
	pkt[20] = proto == 1 ? 3 : 0x9c; /* ICMP: an error (dest unreachable); else ports */
	return len;
}

static size_t v6(size_t len, uint8_t nh, uint8_t first_src)
{
	memset(pkt, 0xcd, sizeof pkt);
	uint8_t h[40] = { 0x60, 0, 0, 0, (uint8_t)((len - 40) >> 8), (uint8_t)(len - 40), nh, 63,
			  first_src, 0x01, [15] = 2, [16] = 0xfd, 0x02, [39] = 2 };
	memcpy(pkt, h, 40);
	pkt[40] = nh == 58 ? 1 : 0x9c; /* ICMPv6: type 1 (an error); else ports */
	return len;
}

static const uint8_t lan1[4] = { 10, 1, 0, 2 };

static void test_needed_v4(void **state)
{
	(void)state;
	static const uint8_t mcast[4] = { 224, 0, 0, 1 }, zero[4] = { 0 }, lo[4] = { 127, 0, 0, 1 };
	static const struct { int n; const char *what; size_t len; bool df; uint8_t proto; uint16_t off;
			      const uint8_t *src; uint32_t mtu; bool want; } rows[] = {
		{ 1, "DF, over the MTU", 1400, true, 6, 0, lan1, 1242, true },
		{ 2, "DF, fits exactly", 1242, true, 6, 0, lan1, 1242, false },
		{ 3, "no DF: may be fragmented (outside)", 1400, false, 6, 0, lan1, 1242, false },
		{ 4, "an ICMP error itself", 1400, true, 1, 0, lan1, 1242, false },
		{ 5, "a later fragment", 1400, true, 17, 0x00b9, lan1, 1242, false },
		{ 6, "from a multicast source", 1400, true, 17, 0, mcast, 1242, false },
		{ 7, "from 0.0.0.0", 1400, true, 17, 0, zero, 1242, false },
		{ 8, "from loopback", 1400, true, 17, 0, lo, 1242, false },
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		size_t n = v4(rows[i].len, rows[i].df, rows[i].proto, rows[i].off, rows[i].src);
		if (ss_icmperr_needed(pkt, n, rows[i].mtu) != rows[i].want)
			fail_msg("row %d (%s)", rows[i].n, rows[i].what);
	}
	/* Malformed: the header claims more than there is. */
	size_t n = v4(1400, true, 6, 0, lan1);
	assert_false(ss_icmperr_needed(pkt, n - 1, 1000));
	assert_false(ss_icmperr_needed(pkt, 10, 1000));
}

static void test_too_big_v4(void **state)
{
	(void)state;
	size_t n = v4(1400, true, 6, 0, lan1);
	ss_addr gw;
	assert_true(ss_addr_parse("10.99.0.1", &gw));
	uint8_t out[SS_ICMPERR_MAX];
	size_t m = ss_icmperr_too_big(pkt, n, 1242, &gw, out, sizeof out);
	/* 576 bytes at most: 20 + 8 + 548 quoted. */
	assert_int_equal(m, 576);
	assert_int_equal(out[0], 0x45);
	assert_int_equal(out[2] << 8 | out[3], 576);
	assert_int_equal(out[8], 64);
	assert_int_equal(out[9], 1);
	assert_memory_equal(out + 12, gw.a, 4);
	assert_memory_equal(out + 16, lan1, 4);
	assert_int_equal(ss_csum_fold(ss_csum_add(0, out, 20)), 0xffff);
	assert_int_equal(out[20], 3);
	assert_int_equal(out[21], 4);
	assert_int_equal(out[26] << 8 | out[27], 1242);
	assert_int_equal(ss_csum_fold(ss_csum_add(0, out + 20, m - 20)), 0xffff);
	assert_memory_equal(out + 28, pkt, 548);
	/* A short packet is quoted whole (and the cap is checked). */
	n = v4(300, true, 17, 0, lan1);
	assert_int_equal(ss_icmperr_too_big(pkt, n, 200, &gw, out, sizeof out), 28 + 300);
	assert_int_equal(ss_icmperr_too_big(pkt, n, 200, &gw, out, 100), 0);
	/* Not needed, or the wrong family for the source: nothing. */
	assert_int_equal(ss_icmperr_too_big(pkt, n, 300, &gw, out, sizeof out), 0);
	ss_addr gw6;
	assert_true(ss_addr_parse("fd99::1", &gw6));
	assert_int_equal(ss_icmperr_too_big(pkt, n, 200, &gw6, out, sizeof out), 0);
}

static void test_too_big_v6(void **state)
{
	(void)state;
	ss_addr gw;
	assert_true(ss_addr_parse("fd99::1", &gw));
	uint8_t out[SS_ICMPERR_MAX];
	/* Every IPv6 packet is "DF": routers never fragment it. */
	size_t n = v6(1400, 6, 0xfd);
	assert_true(ss_icmperr_needed(pkt, n, 1222));
	assert_false(ss_icmperr_needed(pkt, n, 1400));
	size_t m = ss_icmperr_too_big(pkt, n, 1222, &gw, out, sizeof out);
	assert_int_equal(m, 1280);
	assert_int_equal(out[0] >> 4, 6);
	assert_int_equal(out[4] << 8 | out[5], 1240);
	assert_int_equal(out[6], 58);
	assert_int_equal(out[7], 64);
	assert_memory_equal(out + 8, gw.a, 16);
	assert_memory_equal(out + 24, pkt + 8, 16);
	assert_int_equal(out[40], 2);
	assert_int_equal(out[41], 0);
	assert_int_equal((uint32_t)out[44] << 24 | out[45] << 16 | out[46] << 8 | out[47], 1222);
	assert_memory_equal(out + 48, pkt, 1232);
	/* The checksum over the pseudo-header (RFC 8200 §8.1) and the message. */
	uint8_t ph[8] = { 0, 0, 1240 >> 8, 1240 & 255, 0, 0, 0, 58 };
	uint32_t sum = ss_csum_add(ss_csum_add(0, out + 8, 32), ph, 8);
	assert_int_equal(ss_csum_fold(ss_csum_add(sum, out + 40, 1240)), 0xffff);
	/* No error about an error, none to a multicast source. */
	n = v6(1400, 58, 0xfd);
	assert_false(ss_icmperr_needed(pkt, n, 1222));
	n = v6(1400, 17, 0xff);
	assert_false(ss_icmperr_needed(pkt, n, 1222));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_needed_v4),
		cmocka_unit_test(test_too_big_v4),
		cmocka_unit_test(test_too_big_v6),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
