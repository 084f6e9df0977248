#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/cursor.h"

static void reads_big_endian_fields(void **state)
{
	const uint8_t in[] = { 1, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 1, 2, 3, 4, 5, 6, 7, 8 };
	ss_cur c = ss_cur_init(in, sizeof(in));
	assert_int_equal(ss_cur_u8(&c), 1);
	assert_int_equal(ss_cur_be16(&c), 0x0203);
	assert_int_equal(ss_cur_be32(&c), 0x04050607u);
	assert_true(ss_cur_be64(&c) == 0x0102030405060708ULL);
	assert_true(ss_cur_done(&c));
}

static void short_read_is_sticky_and_safe(void **state)
{
	const uint8_t in[] = { 0xaa, 0xbb, 0xcc };
	ss_cur c = ss_cur_init(in, sizeof(in));
	assert_int_equal(ss_cur_be32(&c), 0);
	assert_false(ss_cur_ok(&c));
	/* Once failed, even a read that would fit fails: the caller checks once at the end. */
	assert_int_equal(ss_cur_u8(&c), 0);
	assert_int_equal(ss_cur_left(&c), 0);
	assert_null(ss_cur_take(&c, 0));
}

static void sub_cursor_confines_reads(void **state)
{
	const uint8_t in[] = { 0, 2, 9, 9, 7 };
	ss_cur c = ss_cur_init(in, sizeof(in));
	uint16_t n = ss_cur_be16(&c);
	ss_cur s = ss_cur_sub(&c, n);
	assert_true(ss_cur_ok(&s));
	assert_int_equal(ss_cur_be16(&s), 0x0909);
	assert_int_equal(ss_cur_u8(&s), 0);
	assert_false(ss_cur_ok(&s));
	assert_int_equal(ss_cur_u8(&c), 7);
	assert_true(ss_cur_done(&c));
	/* A length field larger than what is left fails without reading past the end. */
	ss_cur d = ss_cur_init(in, sizeof(in));
	ss_cur bad = ss_cur_sub(&d, 6);
	assert_false(ss_cur_ok(&bad));
	assert_false(ss_cur_ok(&d));
}

static void huge_length_does_not_wrap(void **state)
{
	const uint8_t in[] = { 1, 2, 3, 4 };
	ss_cur c = ss_cur_init(in, sizeof(in));
	ss_cur_u8(&c);
	assert_false(ss_cur_skip(&c, SIZE_MAX));
	uint8_t out[2];
	ss_cur e = ss_cur_init(in, sizeof(in));
	assert_false(ss_cur_peek(&e, SIZE_MAX, out, 2));
	assert_false(ss_cur_peek(&e, 3, out, 2));
	assert_true(ss_cur_peek(&e, 2, out, 2));
	assert_int_equal(out[0], 3);
}

static void writer_overflow_is_sticky(void **state)
{
	uint8_t out[6];
	ss_buf b = ss_buf_init(out, sizeof(out));
	size_t at = ss_buf_reserve(&b, 2);
	assert_true(ss_buf_be32(&b, 0xdeadbeef));
	ss_buf_set_be16(&b, at, 0x1234);
	assert_true(ss_buf_ok(&b));
	assert_int_equal(out[0], 0x12);
	assert_int_equal(out[5], 0xef);
	assert_false(ss_buf_u8(&b, 1));
	assert_false(ss_buf_ok(&b));
	assert_int_equal(b.len, 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reads_big_endian_fields),
		cmocka_unit_test(short_read_is_sticky_and_safe),
		cmocka_unit_test(sub_cursor_confines_reads),
		cmocka_unit_test(huge_length_does_not_wrap),
		cmocka_unit_test(writer_overflow_is_sticky),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
