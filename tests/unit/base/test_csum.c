/* The Internet checksum (base/ip.h) against RFC 1071 written out the slow way: every length
 * and alignment up to a few hundred bytes, chained calls, and the all-zero and all-ones
 * corners where a ones'-complement sum has two zeros. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/ip.h"

static uint16_t naive(uint32_t start, const uint8_t *p, size_t n)
{
	uint64_t s = start;
	for (size_t i = 0; i < n; i++)
		s += (i & 1) ? p[i] : (uint64_t)p[i] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static uint8_t buf[70000 + 8];

static void test_lengths_alignments(void **state)
{
	(void)state;
	uint32_t x = 0x12345678;
	for (size_t i = 0; i < sizeof buf; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (uint8_t)(x >> 16);
	}
	for (size_t al = 0; al < 8; al++)
		for (size_t n = 0; n < 300; n++)
			assert_int_equal(ss_csum_fold(ss_csum_add(0, buf + al, n)), naive(0, buf + al, n));
	assert_int_equal(ss_csum_fold(ss_csum_add(0, buf + 3, 65535)), naive(0, buf + 3, 65535));
	/* chained, as a pseudo-header then a segment; and a start value near the top */
	assert_int_equal(ss_csum_fold(ss_csum_add(ss_csum_add(0, buf, 12), buf + 12, 1400)),
			 naive(naive(0, buf, 12), buf + 12, 1400));
	assert_int_equal(ss_csum_fold(ss_csum_add(0xfffffff0u, buf, 1401)), naive(0xfffffff0u, buf, 1401));
}

static void test_corners(void **state)
{
	(void)state;
	uint8_t z[64] = { 0 }, f[64];
	memset(f, 0xff, sizeof f);
	assert_int_equal(ss_csum_fold(ss_csum_add(0, z, sizeof z)), 0);
	assert_int_equal(ss_csum_fold(ss_csum_add(0, f, sizeof f)), 0xffff);
	assert_int_equal(ss_csum_fold(ss_csum_add(0, f, 1)), 0xff00);
	assert_int_equal(ss_csum_fold(ss_csum_add(0, NULL, 0)), 0);
	/* RFC 1071 §3's example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2 */
	const uint8_t ex[8] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	assert_int_equal(ss_csum_fold(ss_csum_add(0, ex, 8)), 0xddf2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lengths_alignments),
		cmocka_unit_test(test_corners),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
